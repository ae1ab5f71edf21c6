//! `Metrics`: count what ended (from the change feed, a batch at a time: one atomic ADD per
//! bucket touched) and read the contract's summary and `metrics:updated` back.
//!
//! Must not import any adapter crate.

use serde_json::Value;
use std::sync::Arc;

use crate::error::DomainError;
use crate::events::{Event, METRICS_UPDATED, timestamp};
use crate::metrics::summary::LIVE_MINUTES;
use crate::metrics::{ALL, Grain, MetricsAnswer, TimeWindow, additions, live_snapshot, summarize};
use crate::model::{Action, Platform};
use crate::ports::{Clock, MetricsStore};

#[derive(Clone)]
pub struct Metrics {
    pub store: Arc<dyn MetricsStore>,
    pub clock: Arc<dyn Clock>,
}

impl Metrics {
    /// Counts the actions of `changes` that ended. Counting is not idempotent (ADD): a caller
    /// hands each change over once (the stream function: only the records it acknowledges).
    pub async fn record<'a>(
        &self,
        changes: impl IntoIterator<Item = (Option<&'a Action>, &'a Action)>,
    ) -> Result<usize, DomainError> {
        let adds = additions(changes);
        for (key, counters) in &adds {
            self.store.add(key, counters).await?;
        }
        Ok(adds.len())
    }

    /// `GET /api/actions/metrics`: the window's totals, rates and percentiles, per platform,
    /// and the timeline. With `platform`, its series stands for `all`.
    pub async fn answer(&self, window: TimeWindow, platform: Option<Platform>) -> Result<MetricsAnswer, DomainError> {
        let now = self.clock.now();
        let (start, grain) = (window.start(now), window.grain());
        let main = platform.map_or(ALL, Platform::as_str);
        let all = self.store.range(main, grain, start, now).await?;
        let mut platforms = Vec::new();
        for p in Platform::ALL.iter().filter(|p| platform.is_none_or(|only| only == **p)) {
            platforms.push((p.to_string(), self.store.range(p.as_str(), grain, start, now).await?));
        }
        Ok(summarize(window, now, &all, &platforms))
    }

    /// `metrics:updated` now, with the queue's depth.
    pub async fn updated(&self, queue_depth: u64) -> Result<Event, DomainError> {
        let now = self.clock.now();
        let from = Grain::Minute.floor(now) - chrono::Duration::minutes(LIVE_MINUTES - 1);
        let minutes = self.store.range(ALL, Grain::Minute, from, now).await?;
        let data: Value = live_snapshot(&minutes, queue_depth, now);
        Ok(Event {
            event: METRICS_UPDATED.to_owned(),
            data,
            id: format!("metrics:{}", now.timestamp_millis()),
            ts: timestamp(now),
            platform: None,
        })
    }
}
