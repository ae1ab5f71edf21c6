//! WebSocket fan-out: many dashboards connected at once while actions run at a steady rate;
//! each frame's delivery latency is its arrival (wall clock) minus its `ts` (the moment of the
//! transition it reports, ms precision), recorded per client in an HdrHistogram.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::watch as signal;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::openloop::{histogram, ms};
use crate::{Opts, PRIORITIES, action_body, cleanup, key, peak_rss_mib, started};

pub struct Fanout {
    pub clients: usize,
    pub connected: usize,
    pub events_per_s: f64,
    pub delivered_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub dropped_clients: usize,
    pub peak_rss_mib: f64,
}

/// Bytes a dashboard reads at most per read: a batch of frames (each well under 1 KiB).
const READ_BUFFER: usize = 4 * 1024;

/// The `ts` of a frame, found without parsing the rest: it is the frame's last field, so it is
/// looked for from the end (a search from the start was 5 % of this run's CPU).
fn frame_ts(text: &str) -> Option<DateTime<Utc>> {
    let rest = &text[text.rfind("\"ts\":\"")? + 6..];
    DateTime::parse_from_rfc3339(&rest[..rest.find('"')?]).ok().map(|t| t.with_timezone(&Utc))
}

/// A dashboard's own histogram (µs): two significant digits up to a minute, about 20 KiB.
/// With the three digits up to ten minutes of the others, each took 160 KiB, and a thousand
/// of them were most of this run's RSS and, through cache misses, 6 % of its CPU (perf).
fn client_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 2).map_err(|e| anyhow!("histogram: {e}"))
}

/// One dashboard: frames until told to stop; its histogram (µs), frame count, and whether the
/// server closed it (too slow).
async fn client(url: String, mut stop: signal::Receiver<bool>) -> anyhow::Result<(Histogram<u64>, u64, bool)> {
    // A stand-in for a browser on another machine, sharing the runtime's two cores: its read
    // buffer is kept small, because tungstenite zero-fills the whole buffer (128 KiB by
    // default) before every read, and that memset was a fifth of this run's CPU (perf).
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    let events = ["action:queued", "action:executing", "action:completed"];
    ws.send(Message::Text(json!({"action": "subscribe", "events": events}).to_string().into())).await?;
    let mut hist = client_histogram()?;
    let mut frames = 0u64;
    loop {
        tokio::select! {
            _ = stop.changed() => return Ok((hist, frames, false)),
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if let Some(ts) = frame_ts(t.as_str()) {
                        frames += 1;
                        let late = (Utc::now() - ts).num_microseconds().unwrap_or(0).max(1) as u64;
                        hist.record(late.min(60_000_000))?;
                    }
                }
                Some(Ok(Message::Close(reason))) => {
                    eprintln!("a dashboard was closed: {reason:?}");
                    return Ok((hist, frames, true));
                }
                None | Some(Err(_)) => return Ok((hist, frames, true)),
                Some(Ok(_)) => {}
            }
        }
    }
}

/// `clients` dashboards; `actions_per_s` dry-run actions (3 events each) for `seconds`.
pub async fn run(opts: &Opts, clients: usize, actions_per_s: f64, seconds: f64) -> anyhow::Result<Fanout> {
    let (loc, _calls, runtime) = started(opts, "fanout", false).await?;
    let (stop_tx, stop_rx) = signal::channel(false);
    let url = format!("ws://{}/ws?token={}", runtime.addr, key());
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        tasks.push(tokio::spawn(client(url.clone(), stop_rx.clone())));
    }
    // Let every client connect and subscribe before the load starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let http = reqwest::Client::new();
    let n = (actions_per_s * seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / actions_per_s);
    let submit = format!("{}/api/actions", runtime.url());
    let begin = Instant::now();
    let mut posts = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until((begin + interval.mul_f64(i as f64)).into()).await;
        let (http, submit, body) = (http.clone(), submit.clone(), action_body(i, PRIORITIES[i % 4]));
        posts.push(tokio::spawn(async move { http.post(&submit).bearer_auth(key()).json(&body).send().await }));
    }
    for p in posts {
        let resp = p.await??;
        if resp.status().as_u16() != 202 {
            anyhow::bail!("submit answered {}", resp.status());
        }
    }
    // The last actions' frames are on their way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = begin.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let mut all = histogram()?;
    let (mut connected, mut dropped, mut frames) = (0, 0, 0u64);
    for t in tasks {
        match t.await? {
            Ok((h, f, closed)) => {
                connected += 1;
                dropped += usize::from(closed);
                frames += f;
                all.add(h).map_err(|e| anyhow!("histogram: {e}"))?;
            }
            Err(e) => eprintln!("a client did not connect: {e}"),
        }
    }
    let result = Fanout {
        clients,
        connected,
        events_per_s: 3.0 * actions_per_s,
        delivered_per_s: frames as f64 / elapsed,
        p50_ms: ms(&all, 0.50),
        p99_ms: ms(&all, 0.99),
        p999_ms: ms(&all, 0.999),
        dropped_clients: dropped,
        peak_rss_mib: peak_rss_mib(),
    };
    runtime.stop().await;
    cleanup(&loc);
    Ok(result)
}
