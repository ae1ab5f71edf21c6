//! Metrics: per-minute (and per-hour) counters per series (`all` and each platform), added to
//! from the change feed when an action ends, and the contract's summary read back from them.
//!
//! - here: the counters, what one change adds, the buckets and the latency histogram;
//! - [`summary`]: `GET /api/actions/metrics` and `metrics:updated` from the buckets read.
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Duration as ChronoDuration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::model::{Action, Status};

mod store;
pub mod summary;
pub use store::MetricsStore;
pub use summary::{MetricsAnswer, TimeWindow, live_snapshot, summarize};

#[cfg(test)]
mod tests;

/// Upper bounds (ms) of the execution-time histogram's buckets; the last bucket is open.
pub const LATENCY_BOUNDS_MS: [u64; 13] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000];
/// Buckets of the histogram: one per bound, and one above the last.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The series every action counts in, besides its platform's.
pub const ALL: &str = "all";

/// How fine a bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grain {
    Minute,
    Hour,
}

impl Grain {
    pub fn step(self) -> ChronoDuration {
        match self {
            Grain::Minute => ChronoDuration::minutes(1),
            Grain::Hour => ChronoDuration::hours(1),
        }
    }

    /// The start of the bucket holding `t`.
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        t.duration_trunc(self.step()).unwrap_or(t)
    }
}

/// What a series counted in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub total: u64,
    pub success: u64,
    pub failed: u64,
    /// Retries in all, and the actions that needed at least one.
    pub retries: u64,
    pub retried: u64,
    pub fallbacks: u64,
    /// Sums, ms.
    pub execution_ms: u64,
    pub queue_ms: u64,
    /// Actions per execution-time bucket ([`LATENCY_BOUNDS_MS`]).
    pub latency: Vec<u64>,
    /// Feedback received, and the sum of its `executionQuality`.
    #[serde(default)]
    pub feedback: u64,
    #[serde(default)]
    pub quality: u64,
    /// The same per action type: (count, quality sum).
    #[serde(default)]
    pub by_type: BTreeMap<String, (u64, u64)>,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.total += other.total;
        self.success += other.success;
        self.failed += other.failed;
        self.retries += other.retries;
        self.retried += other.retried;
        self.fallbacks += other.fallbacks;
        self.execution_ms += other.execution_ms;
        self.queue_ms += other.queue_ms;
        if self.latency.len() < other.latency.len() {
            self.latency.resize(other.latency.len(), 0);
        }
        for (i, n) in other.latency.iter().enumerate() {
            self.latency[i] += n;
        }
        self.feedback += other.feedback;
        self.quality += other.quality;
        for (t, (n, q)) in &other.by_type {
            let e = self.by_type.entry(t.clone()).or_default();
            e.0 += n;
            e.1 += q;
        }
    }

    /// Mean feedback quality; `None` without feedback.
    pub fn avg_quality(&self) -> Option<f64> {
        (self.feedback > 0).then(|| ((self.quality as f64 / self.feedback as f64) * 100.0).round() / 100.0)
    }

    /// The execution time below which `q` (0–1) of the actions finished, from the histogram
    /// (linear within a bucket); `0` without actions.
    pub fn percentile(&self, q: f64) -> u64 {
        let count: u64 = self.latency.iter().sum();
        if count == 0 {
            return 0;
        }
        let rank = (q * count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.latency.iter().enumerate() {
            if seen + n >= rank {
                let lo = if i == 0 { 0 } else { LATENCY_BOUNDS_MS[i - 1] };
                let hi = LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(lo * 2);
                let within = (rank - seen) as f64 / *n as f64;
                return lo + ((hi - lo) as f64 * within).round() as u64;
            }
            seen += n;
        }
        LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1]
    }
}

/// The histogram bucket of an execution time.
pub fn latency_bucket(ms: u64) -> usize {
    LATENCY_BOUNDS_MS.iter().position(|b| ms <= *b).unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// What an action's change adds: something only when it ends (`success` or `failed`) — a
/// write that finds it ended already adds nothing, so each end counts once per delivery.
pub fn delta(old: Option<&Action>, new: &Action) -> Option<Counters> {
    let ended = matches!(new.status, Status::Success | Status::Failed);
    if !ended || old.is_some_and(|o| o.status.is_terminal()) || new.dry_run {
        return None;
    }
    let execution = new.execution_time.unwrap_or(0);
    let mut latency = vec![0; LATENCY_BUCKETS];
    latency[latency_bucket(execution)] = 1;
    Some(Counters {
        total: 1,
        success: u64::from(new.status == Status::Success),
        failed: u64::from(new.status == Status::Failed),
        retries: u64::from(new.retries),
        retried: u64::from(new.retries > 0),
        fallbacks: u64::from(new.fallback_action_id.is_some()),
        execution_ms: execution,
        queue_ms: new.queue_time.unwrap_or(0),
        latency,
        ..Counters::default()
    })
}

/// What a feedback adds: its quality, counted for the action's type.
pub fn feedback_delta(old: Option<&Action>, new: &Action) -> Option<Counters> {
    let f = new.feedback.first()?;
    if old.is_some_and(|o| o.feedback.first() == Some(f)) {
        return None;
    }
    let q = u64::from(f.execution_quality);
    Some(Counters {
        feedback: 1,
        quality: q,
        by_type: BTreeMap::from([(new.action_type.to_string(), (1, q))]),
        ..Counters::default()
    })
}

/// Whether a change adds anything to the metrics.
pub fn counts(old: Option<&Action>, new: &Action) -> bool {
    delta(old, new).is_some() || feedback_delta(old, new).is_some()
}

/// One bucket of one series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketKey {
    pub series: String,
    pub grain: Grain,
    pub start: DateTime<Utc>,
}

/// The additions a batch of changes makes, one per bucket: the store writes each with one
/// atomic ADD. An action counts in `all` and in its platform's series, by minute and by hour,
/// in the bucket of when it ended.
pub fn additions<'a>(
    changes: impl IntoIterator<Item = (Option<&'a Action>, &'a Action)>,
) -> BTreeMap<BucketKey, Counters> {
    let mut out: BTreeMap<BucketKey, Counters> = BTreeMap::new();
    for (old, new) in changes {
        let (d, at) = match (delta(old, new), feedback_delta(old, new)) {
            (Some(d), _) => (d, new.completed_at.unwrap_or(new.updated_at)),
            (None, Some(f)) => (f, new.updated_at),
            (None, None) => continue,
        };
        for series in [ALL, new.platform.as_str()] {
            for grain in [Grain::Minute, Grain::Hour] {
                let key = BucketKey { series: series.to_owned(), grain, start: grain.floor(at) };
                out.entry(key).or_default().add(&d);
            }
        }
    }
    out
}
