//! The contract's metrics (`GET /api/actions/metrics`) and `metrics:updated`, from the buckets
//! a store read. Rates are 0–1; times are ms.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::{Counters, Grain};
use crate::events::timestamp;

/// A series' buckets, oldest first.
pub type Buckets = Vec<(DateTime<Utc>, Counters)>;

/// The windows `GET /api/actions/metrics` answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWindow {
    H1,
    H6,
    H24,
    D7,
}

impl TimeWindow {
    pub const ALLOWED: &'static str = "1h, 6h, 24h, 7d";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "1h" => TimeWindow::H1,
            "6h" => TimeWindow::H6,
            "24h" => TimeWindow::H24,
            "7d" => TimeWindow::D7,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeWindow::H1 => "1h",
            TimeWindow::H6 => "6h",
            TimeWindow::H24 => "24h",
            TimeWindow::D7 => "7d",
        }
    }

    pub fn length(self) -> ChronoDuration {
        match self {
            TimeWindow::H1 => ChronoDuration::hours(1),
            TimeWindow::H6 => ChronoDuration::hours(6),
            TimeWindow::H24 => ChronoDuration::hours(24),
            TimeWindow::D7 => ChronoDuration::days(7),
        }
    }

    /// The buckets read: minutes up to a day, hours beyond.
    pub fn grain(self) -> Grain {
        if self == TimeWindow::D7 { Grain::Hour } else { Grain::Minute }
    }

    /// One timeline point per this much.
    pub fn step(self) -> ChronoDuration {
        match self {
            TimeWindow::H1 => ChronoDuration::minutes(1),
            TimeWindow::H6 => ChronoDuration::minutes(5),
            TimeWindow::H24 => ChronoDuration::minutes(15),
            TimeWindow::D7 => ChronoDuration::hours(1),
        }
    }

    /// The first bucket of the window ending at `now`.
    pub fn start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.grain().floor(now - self.length()) + self.grain().step()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overall {
    pub total_actions: u64,
    pub success_rate: f64,
    pub avg_execution_time: u64,
    pub avg_queue_time: u64,
    pub retry_rate: f64,
    pub fallback_rate: f64,
    pub p50_execution_time: u64,
    pub p95_execution_time: u64,
    pub p99_execution_time: u64,
    /// Feedback received in the window: count, mean quality, mean quality per action type.
    pub feedback: FeedbackMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackMetrics {
    pub count: u64,
    pub avg_quality: Option<f64>,
    pub avg_quality_by_type: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSummary {
    pub total: u64,
    pub success_rate: f64,
    pub avg_execution_time: u64,
    pub p95_execution_time: u64,
    pub avg_quality: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub timestamp: String,
    pub actions_per_minute: f64,
    pub success_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsAnswer {
    pub time_window: &'static str,
    pub metrics: Overall,
    pub by_platform: BTreeMap<String, PlatformSummary>,
    pub timeline: Vec<Point>,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0 }
}

fn mean(sum: u64, n: u64) -> u64 {
    sum.checked_div(n).unwrap_or(0)
}

fn total(buckets: &[(DateTime<Utc>, Counters)]) -> Counters {
    let mut all = Counters::default();
    for (_, c) in buckets {
        all.add(c);
    }
    all
}

/// The answer for `window` ending at `now`, from the `all` series' buckets and each platform's.
pub fn summarize(
    window: TimeWindow,
    now: DateTime<Utc>,
    all: &[(DateTime<Utc>, Counters)],
    platforms: &[(String, Buckets)],
) -> MetricsAnswer {
    let sum = total(all);
    let metrics = Overall {
        total_actions: sum.total,
        success_rate: ratio(sum.success, sum.total),
        avg_execution_time: mean(sum.execution_ms, sum.total),
        avg_queue_time: mean(sum.queue_ms, sum.total),
        retry_rate: ratio(sum.retried, sum.total),
        fallback_rate: ratio(sum.fallbacks, sum.total),
        p50_execution_time: sum.percentile(0.50),
        p95_execution_time: sum.percentile(0.95),
        p99_execution_time: sum.percentile(0.99),
        feedback: FeedbackMetrics {
            count: sum.feedback,
            avg_quality: sum.avg_quality(),
            avg_quality_by_type: sum
                .by_type
                .iter()
                .filter(|(_, (n, _))| *n > 0)
                .map(|(t, (n, q))| (t.clone(), ((*q as f64 / *n as f64) * 100.0).round() / 100.0))
                .collect(),
        },
    };
    let by_platform = platforms
        .iter()
        .map(|(p, buckets)| {
            let s = total(buckets);
            let summary = PlatformSummary {
                total: s.total,
                success_rate: ratio(s.success, s.total),
                avg_execution_time: mean(s.execution_ms, s.total),
                p95_execution_time: s.percentile(0.95),
                avg_quality: s.avg_quality(),
            };
            (p.clone(), summary)
        })
        .collect();
    let step = window.step();
    let minutes = step.num_minutes().max(1) as f64;
    let mut timeline = Vec::new();
    let mut at = window.start(now);
    let mut i = 0;
    let mut sorted: Vec<&(DateTime<Utc>, Counters)> = all.iter().collect();
    sorted.sort_by_key(|(t, _)| *t);
    while at <= now {
        let mut c = Counters::default();
        while i < sorted.len() && sorted[i].0 < at + step {
            if sorted[i].0 >= at {
                c.add(&sorted[i].1);
            }
            i += 1;
        }
        timeline.push(Point {
            timestamp: timestamp(at),
            actions_per_minute: ((c.total as f64 / minutes) * 100.0).round() / 100.0,
            success_rate: ratio(c.success, c.total),
        });
        at += step;
    }
    MetricsAnswer { time_window: window.as_str(), metrics, by_platform, timeline }
}

/// How many of the last minutes `metrics:updated` looks at.
pub const LIVE_MINUTES: i64 = 5;

/// `metrics:updated`'s payload, from the `all` series' minute buckets of the last
/// [`LIVE_MINUTES`] minutes and the queue's depth now.
pub fn live_snapshot(minutes: &[(DateTime<Utc>, Counters)], queue_depth: u64, now: DateTime<Utc>) -> Value {
    let sum = total(minutes);
    json!({
        "actionsPerMinute": ((sum.total as f64 / LIVE_MINUTES as f64) * 100.0).round() / 100.0,
        "successRate": ratio(sum.success, sum.total),
        "avgExecutionTime": mean(sum.execution_ms, sum.total),
        "queueDepth": queue_depth,
        "timestamp": timestamp(now),
    })
}
