//! `baton-bench`: throughput, latency, store writes and memory of the local runtime, and the
//! embedded emulator's own write ceiling, measured in one run on one machine.
//!
//! Usage: `cargo run --release -p baton-bench -- [--actions N] [--memory]` — prints a
//! Markdown report (bench/run.sh writes it to BENCHMARKS.md).

use anyhow::{Context, anyhow, bail};
use baton_aws::calls::CallCounter;
use baton_cli::{DataLocation, Runtime, ServeOptions};
use baton_domain::model::Action;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

mod args;
use args::{Opts, parse_args};
mod bodies;
use bodies::{PRIORITIES, action_body};
mod ceiling;
mod fanout;
mod openloop;
use openloop::percentile;
mod report;
mod rest;

/// The operator's key of the runtimes the benchmark starts (only to make the bench's own key).
const OPERATOR_KEY: &str = "bk_operator_bench-operator-key-0123456789abcdef0123456789";

/// The key the load runs with: an ordinary key (rate limited, so its counters are paid for)
/// with limits raised above the load.
static KEY: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn key() -> String {
    KEY.lock().map(|k| k.clone()).unwrap_or_default()
}

/// Makes the load's key on the runtime at `base` (each run has its own database).
async fn make_key(base: &str) -> anyhow::Result<()> {
    let body = json!({"name": "bench", "scopes": ["actions:write", "actions:read"],
                      "rateLimit": {"perMinute": 10_000_000u64, "perHour": 10_000_000u64}});
    let resp: Value = reqwest::Client::new()
        .post(format!("{base}/api/keys"))
        .bearer_auth(OPERATOR_KEY)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let text = resp["key"].as_str().ok_or_else(|| anyhow!("no key in {resp}"))?.to_owned();
    if let Ok(mut k) = KEY.lock() {
        *k = text;
    }
    Ok(())
}
const CONCURRENCY: usize = 64;

fn scratch_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("baton-bench-{name}-{}", std::process::id()))
}

fn location(opts: &Opts, name: &str) -> DataLocation {
    if opts.memory { DataLocation::Memory } else { DataLocation::Dir(scratch_dir(name)) }
}

fn cleanup(loc: &DataLocation) {
    if let DataLocation::Dir(d) = loc {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Peak resident set size of this process since the last reset, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn reset_peak_rss() {
    // Linux: writing 5 resets the peak RSS (VmHWM) to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn per_action(calls: &CallCounter, n: usize) -> Vec<(String, f64)> {
    calls.snapshot_by_table().into_iter().map(|(op, c)| (op, c as f64 / n as f64)).collect()
}

/// A WebSocket reader: every frame, with the moment it arrived.
async fn watch(url: &str) -> anyhow::Result<mpsc::UnboundedReceiver<(Instant, Value)>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}?token={}", key())).await?;
    ws.send(Message::Text(
        json!({"action": "subscribe", "events": ["action:executing", "action:completed", "action:failed"]})
            .to_string()
            .into(),
    ))
    .await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg
                && let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                && tx.send((Instant::now(), v)).is_err()
            {
                return;
            }
        }
    });
    Ok(rx)
}

async fn submit_all(
    http: &reqwest::Client,
    base: &str,
    bodies: Vec<Value>,
) -> anyhow::Result<HashMap<String, Instant>> {
    let url = format!("{base}/api/actions");
    let results: Vec<anyhow::Result<(String, Instant)>> = futures_util::stream::iter(bodies)
        .map(|body| {
            let url = url.clone();
            async move {
                let sent = Instant::now();
                let resp = http.post(&url).bearer_auth(key()).json(&body).send().await?;
                if resp.status().as_u16() != 202 {
                    bail!("submit answered {}", resp.status());
                }
                let v: Value = resp.json().await?;
                Ok((v["actionId"].as_str().ok_or_else(|| anyhow!("no id"))?.to_owned(), sent))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Waits until every id in `ids` completed; returns completion instants by id.
async fn await_completions(
    frames: &mut mpsc::UnboundedReceiver<(Instant, Value)>,
    ids: &HashMap<String, Instant>,
    extra: &mut HashMap<String, Value>,
) -> anyhow::Result<HashMap<String, Instant>> {
    let mut done = HashMap::new();
    while done.len() < ids.len() {
        let (at, f) = tokio::time::timeout(Duration::from_secs(120), frames.recv())
            .await
            .map_err(|_| anyhow!("stalled: {} of {} completed", done.len(), ids.len()))?
            .ok_or_else(|| anyhow!("WebSocket closed"))?;
        let id = f["data"]["actionId"].as_str().unwrap_or_default().to_owned();
        match f["event"].as_str() {
            Some("action:completed") if ids.contains_key(&id) => {
                done.insert(id, at);
            }
            Some("action:failed") => bail!("action failed: {f}"),
            Some("action:executing") if !ids.contains_key(&id) => {
                extra.insert(id, f["data"].clone());
            }
            _ => {}
        }
    }
    Ok(done)
}

fn options(loc: DataLocation, calls: &CallCounter, paused: bool) -> ServeOptions {
    let mut opts = ServeOptions::ephemeral();
    opts.data = loc;
    opts.hooks.dynamodb_calls = Some(calls.clone());
    opts.hooks.start_paused = paused;
    opts.admin_key = Some(OPERATOR_KEY.into());
    opts
}

struct Steady {
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
    writes_per_action: f64,
    calls_per_action: f64,
    peak_rss_mib: f64,
    /// `GET /api/actions/recent?status=success&limit=1` while the load ran, and idle after.
    polls: (rest::Polls, rest::Polls),
}

/// A runtime of its own for one measure (`paused`: workers held), with the load's key made
/// and the peak RSS reset: its data location, call counter and the runtime.
async fn started(opts: &Opts, name: &str, paused: bool) -> anyhow::Result<(DataLocation, CallCounter, Runtime)> {
    let loc = location(opts, name);
    let calls = CallCounter::default();
    reset_peak_rss();
    let runtime = Runtime::start(options(loc.clone(), &calls, paused)).await?;
    make_key(&runtime.url()).await?;
    Ok((loc, calls, runtime))
}

async fn steady(opts: &Opts) -> anyhow::Result<Steady> {
    let (loc, calls, runtime) = started(opts, "steady", false).await?;
    let mut frames = watch(&format!("ws://{}/ws", runtime.addr)).await?;
    let http = reqwest::Client::new();
    let bodies = (0..opts.actions).map(|i| action_body(i, PRIORITIES[i % 4])).collect();
    calls.reset();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let polling = rest::during(&runtime.url(), key(), stopped);
    let start = Instant::now();
    let submitted = submit_all(&http, &runtime.url(), bodies).await?;
    let done = await_completions(&mut frames, &submitted, &mut HashMap::new()).await?;
    let _ = stop.send(true);
    let busy = polling.await??;
    let end = done.values().max().copied().unwrap_or(start);
    let mut latencies: Vec<f64> =
        submitted.iter().map(|(id, sent)| (done[id] - *sent).as_secs_f64() * 1000.0).collect();
    latencies.sort_by(f64::total_cmp);
    eprintln!("calls per action by operation: {:?}", per_action(&calls, opts.actions));
    let writes = calls.writes() as f64;
    let all_calls: u64 = calls.snapshot().values().sum();
    let result = Steady {
        throughput: opts.actions as f64 / (end - start).as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        writes_per_action: writes / opts.actions as f64,
        calls_per_action: all_calls as f64 / opts.actions as f64,
        peak_rss_mib: peak_rss_mib(),
        polls: (busy, rest::idle(&runtime.url(), &key(), 50).await?),
    };
    runtime.stop().await;
    cleanup(&loc);
    Ok(result)
}

struct Backlog {
    drain_s: f64,
    /// Seconds from the release to the 10k-th, 50k-th and 100k-th completion (those reached).
    marks: Vec<(usize, f64)>,
    probe_queue_ms: u64,
    probe_observed_ms: f64,
}

/// `priorities` of the backlog; a critical probe is submitted the moment the workers start.
async fn backlog(opts: &Opts, name: &str, priorities: &[&str], count: usize) -> anyhow::Result<Backlog> {
    let (loc, _calls, runtime) = started(opts, name, true).await?;
    let mut frames = watch(&format!("ws://{}/ws", runtime.addr)).await?;
    let http = reqwest::Client::new();
    let bodies = (0..count).map(|i| action_body(i, priorities[i % priorities.len()])).collect();
    let mut submitted = submit_all(&http, &runtime.url(), bodies).await?;
    let resumed = Instant::now();
    runtime.resume_workers();
    let probe = submit_all(&http, &runtime.url(), vec![action_body(1, "critical")]).await?;
    let (probe_id, probe_sent) = probe.iter().next().map(|(k, v)| (k.clone(), *v)).context("probe")?;
    submitted.insert(probe_id.clone(), probe_sent);
    let mut executing = HashMap::new();
    let done = await_completions(&mut frames, &submitted, &mut executing).await?;
    let drain = done.values().max().copied().unwrap_or(resumed) - resumed;
    let mut times: Vec<f64> = done.values().map(|t| (*t - resumed).as_secs_f64()).collect();
    times.sort_by(f64::total_cmp);
    let marks =
        [10_000, 50_000, 100_000].into_iter().filter(|&m| m <= times.len()).map(|m| (m, times[m - 1])).collect();
    // The probe's own executing frame may have been recorded under `executing` only if it was
    // not in `submitted` yet when it arrived; look it up either way.
    let probe_exec = executing.get(&probe_id).cloned();
    let probe_queue_ms = match probe_exec {
        Some(data) => data["queueTime"].as_u64().unwrap_or(0),
        None => {
            let (_, a) = runtime_get(&http, &runtime.url(), &probe_id).await?;
            a.queue_time.unwrap_or(0)
        }
    };
    let result = Backlog {
        drain_s: drain.as_secs_f64(),
        marks,
        probe_queue_ms,
        probe_observed_ms: (done[&probe_id] - probe_sent).as_secs_f64() * 1000.0,
    };
    runtime.stop().await;
    cleanup(&loc);
    Ok(result)
}

async fn runtime_get(http: &reqwest::Client, base: &str, id: &str) -> anyhow::Result<(u16, Action)> {
    let resp = http.get(format!("{base}/api/actions/{id}")).bearer_auth(key()).send().await?;
    Ok((resp.status().as_u16(), resp.json().await?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    if opts.only_steady {
        let s = steady(&opts).await?;
        let (busy, idle) = &s.polls;
        eprintln!(
            "{:.0} actions/s, {:.2} writes, {:.2} calls per action; recent polled p50/p99/max {:.1}/{:.1}/{:.1} ms busy ({} polls, total {} exact {}), {:.1}/{:.1} ms idle",
            s.throughput,
            s.writes_per_action,
            s.calls_per_action,
            busy.p50_ms,
            busy.p99_ms,
            busy.max_ms,
            busy.count,
            busy.last_total,
            busy.last_exact,
            idle.p50_ms,
            idle.p99_ms
        );
        return Ok(());
    }
    if opts.only_fanout {
        let f = fanout::run(&opts, opts.clients, 1000.0 / 3.0, 15.0).await?;
        eprintln!(
            "{} connected, {:.0} frames/s, p50 / p99 / p99.9 {:.1} / {:.1} / {:.1} ms, {} dropped, peak RSS {:.0} MiB",
            f.connected, f.delivered_per_s, f.p50_ms, f.p99_ms, f.p999_ms, f.dropped_clients, f.peak_rss_mib
        );
        return Ok(());
    }
    if let Some(rate) = opts.only_open {
        let o = openloop::run(&opts, rate, 15.0).await?;
        eprintln!(
            "{:.0}/s offered, {:.0}/s achieved; submit → completed p50 / p99 / p99.9 / max {:.1} / {:.1} / {:.1} / {:.1} ms",
            o.offered, o.achieved, o.p50_ms, o.p99_ms, o.p999_ms, o.max_ms
        );
        return Ok(());
    }
    eprintln!("emulator ceiling...");
    let ceiling = ceiling::sdk(&opts).await?;
    eprintln!("emulator's own API ceiling...");
    let api_ceiling = ceiling::api(&opts).await?;
    eprintln!("steady run...");
    let steady = steady(&opts).await?;
    let mut open = Vec::new();
    for share in [0.5, 0.8] {
        eprintln!("open loop at {:.0} % of {:.0} actions/s...", share * 100.0, steady.throughput);
        open.push(openloop::run(&opts, steady.throughput * share, 15.0).await?);
    }
    eprintln!("backlog, all priorities...");
    let mixed = backlog(&opts, "backlog-mixed", &PRIORITIES, opts.actions).await?;
    eprintln!("backlog, no critical...");
    let lower = backlog(&opts, "backlog-lower", &PRIORITIES[1..], opts.actions).await?;
    let big = if opts.backlog > 0 {
        eprintln!("backlog of {}, no critical...", opts.backlog);
        Some(backlog(&opts, "backlog-big", &PRIORITIES[1..], opts.backlog).await?)
    } else {
        None
    };
    let fanout = if opts.clients > 0 {
        eprintln!("fan-out to {} dashboards...", opts.clients);
        Some(fanout::run(&opts, opts.clients, 1000.0 / 3.0, 15.0).await?)
    } else {
        None
    };
    report::print(&report::Results {
        opts: &opts,
        machine: report::machine(),
        ceiling,
        api_ceiling,
        steady,
        open,
        mixed,
        lower,
        big,
        fanout,
    });
    Ok(())
}
