//! Open loop: actions offered at a fixed rate whatever the runtime does (each POST on its own
//! task), latency from the moment each was *due* to be sent (so a late generator cannot hide
//! queueing: no coordinated omission) to its `action:completed` on a WebSocket, recorded in
//! an HdrHistogram.

use anyhow::anyhow;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::{Opts, PRIORITIES, action_body, cleanup, key, peak_rss_mib, started, watch};

pub struct OpenLoop {
    pub offered: f64,
    pub achieved: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub peak_rss_mib: f64,
}

/// A histogram of microseconds, 1 µs to 10 minutes, 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).map_err(|e| anyhow!("histogram: {e}"))
}

/// The `p` quantile of sorted samples (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// `rate` actions a second for `seconds`.
pub async fn run(opts: &Opts, rate: f64, seconds: f64) -> anyhow::Result<OpenLoop> {
    let (loc, _calls, runtime) = started(opts, "open-loop", false).await?;
    let mut frames = watch(&format!("ws://{}/ws", runtime.addr)).await?;
    let http = reqwest::Client::new();
    let n = (rate * seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<anyhow::Result<(String, Instant)>>();
    let url = format!("{}/api/actions", runtime.url());
    let begin = Instant::now() + Duration::from_millis(50);
    let generator = tokio::spawn(async move {
        for i in 0..n {
            let due = begin + interval.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
            let (http, url, tx) = (http.clone(), url.clone(), sent_tx.clone());
            let body = action_body(i, PRIORITIES[i % 4]);
            tokio::spawn(async move {
                let sent = async {
                    let resp = http.post(&url).bearer_auth(key()).json(&body).send().await?;
                    if resp.status().as_u16() != 202 {
                        anyhow::bail!("submit answered {}", resp.status());
                    }
                    let v: serde_json::Value = resp.json().await?;
                    Ok((v["actionId"].as_str().ok_or_else(|| anyhow!("no id"))?.to_owned(), due))
                };
                let _ = tx.send(sent.await);
            });
        }
    });
    let mut due_by_id: HashMap<String, Instant> = HashMap::with_capacity(n);
    let mut done_by_id: HashMap<String, Instant> = HashMap::with_capacity(n);
    let mut hist = histogram()?;
    let mut last = begin;
    let mut accepted = 0usize;
    while accepted < n || hist.len() < n as u64 {
        tokio::select! {
            sent = sent_rx.recv(), if accepted < n => {
                let (id, due) = sent.ok_or_else(|| anyhow!("generator ended early"))??;
                accepted += 1;
                if let Some(at) = done_by_id.remove(&id) {
                    hist.record(at.saturating_duration_since(due).as_micros().max(1) as u64)?;
                } else {
                    due_by_id.insert(id, due);
                }
            }
            frame = tokio::time::timeout(Duration::from_secs(60), frames.recv()) => {
                let (at, f) = frame.map_err(|_| anyhow!("stalled: {} of {n} completed", hist.len()))?
                    .ok_or_else(|| anyhow!("WebSocket closed"))?;
                match f["event"].as_str() {
                    Some("action:completed") => {
                        let id = f["data"]["actionId"].as_str().unwrap_or_default().to_owned();
                        last = last.max(at);
                        match due_by_id.remove(&id) {
                            Some(due) => hist.record(at.saturating_duration_since(due).as_micros().max(1) as u64)?,
                            None => { done_by_id.insert(id, at); }
                        }
                    }
                    Some("action:failed") => anyhow::bail!("action failed: {f}"),
                    _ => {}
                }
            }
        }
    }
    generator.await?;
    let result = OpenLoop {
        offered: rate,
        achieved: n as f64 / (last - begin).as_secs_f64(),
        p50_ms: ms(&hist, 0.50),
        p99_ms: ms(&hist, 0.99),
        p999_ms: ms(&hist, 0.999),
        max_ms: hist.max() as f64 / 1000.0,
        peak_rss_mib: peak_rss_mib(),
    };
    runtime.stop().await;
    cleanup(&loc);
    Ok(result)
}
