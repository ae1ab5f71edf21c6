//! The Markdown report of one run (bench/run.sh appends it to BENCHMARKS.md).

use chrono::Utc;

use crate::fanout::Fanout;
use crate::openloop::OpenLoop;
use crate::{Backlog, CONCURRENCY, Opts, Steady};

pub struct Results<'a> {
    pub opts: &'a Opts,
    pub machine: String,
    pub ceiling: f64,
    pub api_ceiling: f64,
    pub steady: Steady,
    pub open: Vec<OpenLoop>,
    pub mixed: Backlog,
    pub lower: Backlog,
    pub big: Option<Backlog>,
    pub fanout: Option<Fanout>,
}

fn row(measure: &str, result: String, target: &str) {
    println!("| {measure} | {result} | {target} |");
}

pub fn print(r: &Results<'_>) {
    let (opts, s) = (r.opts, &r.steady);
    let storage = if opts.memory { "in-memory database" } else { "file database (the default of `baton serve`)" };
    println!("### {} — {}", Utc::now().format("%Y-%m-%d"), storage);
    println!();
    println!("Machine: {}. Release build, runtime in-process with the load generator.", r.machine);
    println!();
    println!("| measure | result | target |");
    println!("|---|---|---|");
    row(
        &format!(
            "throughput, {} dry-run actions (Slack + Notion × 4 priorities, {CONCURRENCY} concurrent submitters)",
            opts.actions
        ),
        format!("**{:.0} actions/s**", s.throughput),
        "≥ 4,000",
    );
    row(
        "submit → completed, p50 / p99 (closed loop: mostly queueing)",
        format!("{:.1} ms / {:.1} ms", s.p50_ms, s.p99_ms),
        "",
    );
    let (busy, idle) = &s.polls;
    row(
        &format!(
            "`GET /api/actions/recent?status=success&limit=1` while the load ran ({} polls), p50 / p99 / max",
            busy.count
        ),
        format!("{:.1} ms / {:.1} ms / {:.1} ms", busy.p50_ms, busy.p99_ms, busy.max_ms),
        "",
    );
    row(
        &format!("the same idle after the run ({} polls), p50 / p99", idle.count),
        format!(
            "{:.1} ms / {:.1} ms (`total` {}{})",
            idle.p50_ms,
            idle.p99_ms,
            idle.last_total,
            if idle.last_exact { "" } else { ", a lower bound" }
        ),
        "",
    );
    row("store writes per action", format!("{:.2}", s.writes_per_action), "");
    row("DynamoDB calls per action (all kinds)", format!("{:.2}", s.calls_per_action), "");
    row("peak RSS (runtime + emulator + load generator)", format!("{:.0} MiB", s.peak_rss_mib), "");
    row(
        "emulator write ceiling through the SDK in process (conditional PutItem, 16 concurrent)",
        format!("{:.0} writes/s", r.ceiling),
        "",
    );
    row("emulator's own API ceiling (conditional put_item, no SDK)", format!("{:.0} writes/s", r.api_ceiling), "");
    row(
        "that ceiling in actions/s at this many writes per action; the runtime's fraction of it",
        format!(
            "{:.0} actions/s; **{:.0} %**",
            r.api_ceiling / s.writes_per_action,
            s.throughput * s.writes_per_action / r.api_ceiling * 100.0
        ),
        "",
    );
    for o in &r.open {
        row(
            &format!(
                "open loop at {:.0} actions/s offered: achieved; submit → completed p50 / p99 / p99.9 / max",
                o.offered
            ),
            format!(
                "{:.0}/s; {:.1} / **{:.1}** / {:.1} / {:.1} ms; peak RSS {:.0} MiB",
                o.achieved, o.p50_ms, o.p99_ms, o.p999_ms, o.max_ms, o.peak_rss_mib
            ),
            "p99 ≤ 25 ms at 50 %",
        );
    }
    let probe = |b: &Backlog| format!("{} ms / {:.0} ms", b.probe_queue_ms, b.probe_observed_ms);
    row(&format!("drain of {} queued (all 4 priorities)", opts.actions), format!("{:.2} s", r.mixed.drain_s), "");
    row("critical submitted into that backlog: start / completed", probe(&r.mixed), "");
    row(&format!("drain of {} queued (high, normal, low)", opts.actions), format!("{:.2} s", r.lower.drain_s), "");
    row("critical submitted into that backlog: start / completed", probe(&r.lower), "≤ 20 ms start");
    if let Some(b) = &r.big {
        let marks: Vec<String> = b.marks.iter().map(|(n, t)| format!("{}k {t:.1} s", n / 1000)).collect();
        row(
            &format!("backlog of {} queued (high, normal, low): completed by", opts.backlog),
            format!("{} (drain {:.1} s)", marks.join(", "), b.drain_s),
            "linear",
        );
        row("critical submitted into that backlog: start / completed", probe(b), "≤ 20 ms start");
    }
    if let Some(f) = &r.fanout {
        row(
            &format!(
                "WebSocket fan-out: {} dashboards ({} connected), {:.0} events/s each",
                f.clients, f.connected, f.events_per_s
            ),
            format!(
                "{:.0} frames/s delivered; delay p50 / p99 / p99.9 {:.1} / **{:.1}** / {:.1} ms; {} dropped as slow; peak RSS {:.0} MiB",
                f.delivered_per_s, f.p50_ms, f.p99_ms, f.p999_ms, f.dropped_clients, f.peak_rss_mib
            ),
            "p99 ≤ 50 ms",
        );
    }
    println!();
}

/// The CPU, cores and memory of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem} RAM")
}
