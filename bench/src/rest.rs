//! A dashboard polling the REST API: `GET /api/actions/recent?status=success&limit=1` at a
//! fixed pace, each answer's latency in an HdrHistogram — while the load runs, and idle after.

use hdrhistogram::Histogram;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::openloop::{histogram, ms};

/// What the polls saw.
#[derive(Default)]
pub struct Polls {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The last answer's `total`, and whether it said it was exact.
    pub last_total: u64,
    pub last_exact: bool,
}

const QUERY: &str = "/api/actions/recent?status=success&limit=1";
const PACE: Duration = Duration::from_millis(200);

async fn poll(http: &reqwest::Client, url: &str, key: &str, hist: &mut Histogram<u64>) -> anyhow::Result<(u64, bool)> {
    let begin = Instant::now();
    let resp = http.get(url).bearer_auth(key).send().await?;
    anyhow::ensure!(resp.status().is_success(), "recent answered {}", resp.status());
    let body: serde_json::Value = resp.json().await?;
    hist.record((begin.elapsed().as_micros() as u64).max(1))?;
    Ok((body["total"].as_u64().unwrap_or(0), body["totalExact"].as_bool().unwrap_or(true)))
}

fn summary(hist: &Histogram<u64>, last: (u64, bool)) -> Polls {
    Polls {
        count: hist.len(),
        p50_ms: ms(hist, 0.50),
        p99_ms: ms(hist, 0.99),
        max_ms: hist.max() as f64 / 1000.0,
        last_total: last.0,
        last_exact: last.1,
    }
}

/// Polls `base` every 200 ms until `stop` turns true.
pub fn during(base: &str, key: String, mut stop: watch::Receiver<bool>) -> JoinHandle<anyhow::Result<Polls>> {
    let url = format!("{base}{QUERY}");
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut hist = histogram()?;
        let mut last = (0, true);
        let mut tick = tokio::time::interval(PACE);
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(summary(&hist, last)),
                _ = tick.tick() => last = poll(&http, &url, &key, &mut hist).await?,
            }
        }
    })
}

/// `n` polls one after another, nothing else running.
pub async fn idle(base: &str, key: &str, n: usize) -> anyhow::Result<Polls> {
    let (http, url) = (reqwest::Client::new(), format!("{base}{QUERY}"));
    let mut hist = histogram()?;
    let mut last = (0, true);
    for _ in 0..n {
        last = poll(&http, &url, key, &mut hist).await?;
    }
    Ok(summary(&hist, last))
}
