//! `baton-load`: an external load generator. It starts `baton serve` as a process of its own
//! (or takes the URL and key of one already running), posts dry-run actions over HTTP from
//! many connections, and watches them finish as a dashboard would: by polling the REST API
//! (`GET /api/actions/queue`, until nothing is queued and no worker is busy — dry runs are
//! not counted by the metrics), then reads every action back (`GET /api/actions/{id}`) to
//! check each one ended and how. Nothing here shares memory with the runtime, so it sees
//! what a client sees.
//!
//! Usage: `cargo build --release -p baton-cli -p baton-bench &&
//! target/release/baton-load [--actions N] [--concurrency C] [--memory] [--baton PATH]`
//! or `baton-load --url http://127.0.0.1:3000 --key <admin key> [--actions N]`.

use anyhow::{Context, anyhow, bail, ensure};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod bodies;
use bodies::{PRIORITIES, action_body};

const POLL: Duration = Duration::from_millis(100);
const QUEUE: &str = "/api/actions/queue";

struct Opts {
    actions: usize,
    concurrency: usize,
    memory: bool,
    baton: Option<PathBuf>,
    url: Option<String>,
    key: Option<String>,
}

fn parse_args() -> anyhow::Result<Opts> {
    let mut o = Opts { actions: 10_000, concurrency: 64, memory: false, baton: None, url: None, key: None };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--actions" => o.actions = value()?.parse()?,
            "--concurrency" => o.concurrency = value()?.parse()?,
            "--memory" => o.memory = true,
            "--baton" => o.baton = Some(value()?.into()),
            "--url" => o.url = Some(value()?),
            "--key" => o.key = Some(value()?),
            other => bail!(
                "unknown argument {other}; usage: baton-load [--actions N] [--concurrency C] [--memory] [--baton PATH] | --url URL --key KEY"
            ),
        }
    }
    ensure!(o.url.is_some() == o.key.is_some(), "--url and --key go together");
    Ok(o)
}

/// A `baton serve` of our own: the child process, its URL and its data directory.
struct Served {
    child: Child,
    url: String,
    dir: Option<PathBuf>,
}

impl Served {
    fn start(opts: &Opts, admin_key: &str) -> anyhow::Result<Self> {
        let exe = match &opts.baton {
            Some(p) => p.clone(),
            None => std::env::current_exe()?.with_file_name("baton"),
        };
        let mut cmd = Command::new(&exe);
        cmd.args(["serve", "--port", "0"]).env("BATON_ADMIN_KEY", admin_key).env("BATON_LOG", "warn");
        let dir = (!opts.memory).then(|| std::env::temp_dir().join(format!("baton-load-{}", std::process::id())));
        match &dir {
            Some(d) => cmd.arg("--data-dir").arg(d),
            None => cmd.arg("--memory"),
        };
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().with_context(|| {
                format!("starting {} (build it: cargo build --release -p baton-cli)", exe.display())
            })?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let url = loop {
            let line = lines.next().context("baton serve ended before listening")??;
            if let Some(rest) = line.strip_prefix("Baton is listening on ") {
                break rest.split_whitespace().next().context("no URL")?.to_owned();
            }
        };
        // Keep reading its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, url, dir })
    }

    /// The server process's peak resident set size, MiB.
    fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// Ctrl-C, as an operator stops it: running attempts finish, then it exits.
    fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        self.child.wait()?;
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        Ok(())
    }
}

/// A key for the load: the actions scopes, limits above the load.
async fn load_key(http: &reqwest::Client, base: &str, admin: &str) -> anyhow::Result<String> {
    let body = json!({"name": "load", "scopes": ["actions:write", "actions:read"],
                      "rateLimit": {"perMinute": 10_000_000u64, "perHour": 10_000_000u64}});
    let resp: Value = http.post(format!("{base}/api/keys")).bearer_auth(admin).json(&body).send().await?.json().await?;
    Ok(resp["key"].as_str().ok_or_else(|| anyhow!("no key in {resp}"))?.to_owned())
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).map_err(|e| anyhow!("histogram: {e}"))
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Whether the runtime is idle (nothing queued, no worker busy), and how long the answer took.
async fn idle(http: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<(bool, Duration)> {
    let begin = Instant::now();
    let resp = http.get(format!("{base}{QUEUE}")).bearer_auth(key).send().await?;
    ensure!(resp.status().is_success(), "queue answered {}", resp.status());
    let v: Value = resp.json().await?;
    let stats = &v["stats"];
    let idle = stats["totalQueued"].as_u64() == Some(0) && stats["workerUtilization"].as_f64() == Some(0.0);
    Ok((idle, begin.elapsed()))
}

/// Each action read back: how many ended in success, and how many have not ended.
async fn outcomes(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    ids: &[String],
    c: usize,
) -> anyhow::Result<(usize, usize)> {
    let mut reads = futures_util::stream::iter(ids)
        .map(|id| async move {
            let v: Value = http.get(format!("{base}/api/actions/{id}")).bearer_auth(key).send().await?.json().await?;
            anyhow::Ok(v["status"].as_str().unwrap_or_default().to_owned())
        })
        .buffer_unordered(c);
    let (mut success, mut open) = (0, 0);
    while let Some(status) = reads.next().await {
        match status?.as_str() {
            "success" => success += 1,
            "failed" | "cancelled" | "rejected" | "expired" => {}
            _ => open += 1,
        }
    }
    Ok((success, open))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(opts.concurrency).build()?;
    // The operator's key of the runtime started here (loopback only, a scratch database).
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let admin = format!("bk_operator_load-{:x}-{nanos:x}", std::process::id());
    let served = match &opts.url {
        Some(_) => None,
        None => Some(Served::start(&opts, &admin)?),
    };
    let base = served.as_ref().map_or_else(|| opts.url.clone().unwrap_or_default(), |s| s.url.clone());
    let admin = opts.key.clone().unwrap_or(admin);
    let key = load_key(&http, &base, &admin).await?;

    let start = Instant::now();
    // Polled all along (its latency under load is measured too); idle counts once all are in.
    let submitted_all = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (poller, submitter) = (http.clone(), http.clone());
    let (pbase, pkey, done_submitting) = (base.clone(), key.clone(), submitted_all.clone());
    let watching = tokio::spawn(async move {
        let mut polls = histogram()?;
        let mut tick = tokio::time::interval(POLL);
        loop {
            tick.tick().await;
            let all_in = done_submitting.load(std::sync::atomic::Ordering::Acquire);
            let (idle, took) = idle(&poller, &pbase, &pkey).await?;
            polls.record((took.as_micros() as u64).max(1))?;
            if all_in && idle {
                return anyhow::Ok((start.elapsed(), polls));
            }
            ensure!(start.elapsed() < Duration::from_secs(600), "still busy after ten minutes");
        }
    });
    let url = format!("{base}/api/actions");
    let mut submits = histogram()?;
    let mut answers = futures_util::stream::iter(0..opts.actions)
        .map(|i| {
            let (http, url, key) = (submitter.clone(), url.clone(), key.clone());
            async move {
                let sent = Instant::now();
                let resp = http.post(&url).bearer_auth(key).json(&action_body(i, PRIORITIES[i % 4])).send().await?;
                ensure!(resp.status().as_u16() == 202, "submit answered {}", resp.status());
                let v: Value = resp.json().await?;
                let id = v["actionId"].as_str().context("no actionId")?.to_owned();
                anyhow::Ok((sent.elapsed(), id))
            }
        })
        .buffer_unordered(opts.concurrency);
    let mut ids = Vec::with_capacity(opts.actions);
    while let Some(answer) = answers.next().await {
        let (took, id) = answer?;
        submits.record((took.as_micros() as u64).max(1))?;
        ids.push(id);
    }
    let submitted = start.elapsed();
    submitted_all.store(true, std::sync::atomic::Ordering::Release);
    let (seen, polls) = watching.await??;
    let (success, open) = outcomes(&http, &base, &key, &ids, opts.concurrency).await?;
    ensure!(open == 0, "{open} actions had not ended when the queue was idle");
    let rate = success as f64 / ids.len() as f64;
    let rss = served.as_ref().map(Served::peak_rss_mib);
    if let Some(s) = served {
        s.stop()?;
    }
    let n = opts.actions as f64;
    println!(
        "| actions | connections | submitted in | accepted/s | all finished (seen by polling) | actions/s end to end | success rate | POST p50 / p99 | queue poll p50 / p99 | server peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.2} s | {:.0} | {:.2} s | **{:.0}** | {:.3} | {:.1} / {:.1} ms | {:.1} / {:.1} ms ({} polls) | {} |",
        opts.actions,
        opts.concurrency,
        submitted.as_secs_f64(),
        n / submitted.as_secs_f64(),
        seen.as_secs_f64(),
        n / seen.as_secs_f64(),
        rate,
        ms(&submits, 0.5),
        ms(&submits, 0.99),
        ms(&polls, 0.5),
        ms(&polls, 0.99),
        polls.len(),
        rss.map_or("(external)".into(), |r| format!("{r:.0} MiB")),
    );
    Ok(())
}
