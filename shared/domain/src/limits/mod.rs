//! Limits every worker shares: a token bucket per platform (per channel for Slack messages)
//! and a circuit breaker per platform, as pure functions over the `platform_state` item they
//! live in. The store writes each new state conditionally on the version it was computed
//! from, so concurrent workers (Lambdas or local tasks) see one state.
//!
//! - [`state`]: the item, its bucket (with reservations) and its breaker.
//! - [`health`]: `health:changed` and the health report, derived from the items.
//!
//! Must not import any adapter crate.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

use crate::model::Platform;

mod health;
mod state;

pub use crate::events::HEALTH_CHANGED;
pub use health::{derive_health_events, health_report};
pub use state::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Down,
}

/// A token bucket: `capacity` tokens, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLimit {
    pub capacity: f64,
    pub per_second: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// Failures (server errors, network failures, timeouts) within `window` that open the
    /// breaker — when they are also at least `min_failure_rate` of the window's calls, so a
    /// busy, healthy platform's stray error does not.
    pub threshold: u32,
    pub window: Duration,
    pub min_failure_rate: f64,
    /// How long an open breaker waits before letting one probe through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::from_secs(60),
            min_failure_rate: 0.1,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The published limits, as defaults. Each keeps any window of the platform's own
/// accounting within its quota: `capacity + per_second × window ≤ quota`.
pub fn published_limit(platform: Platform) -> BucketLimit {
    match platform {
        // "an average of three requests per second", short bursts allowed
        Platform::Notion => BucketLimit { capacity: 3.0, per_second: 3.0 },
        // 100 requests per 10 seconds per token
        Platform::Trello => BucketLimit { capacity: 50.0, per_second: 5.0 },
        // about one message per second per channel
        Platform::Slack => BucketLimit { capacity: 1.0, per_second: 1.0 },
        // per-user quotas of thousands per minute: be a good citizen
        Platform::Drive => BucketLimit { capacity: 20.0, per_second: 10.0 },
        // 60 requests per minute per user
        Platform::Sheets => BucketLimit { capacity: 10.0, per_second: 50.0 / 60.0 },
    }
}

/// The limits in force: published defaults, overridden per platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub buckets: HashMap<Platform, BucketLimit>,
    pub breaker: BreakerPolicy,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            buckets: Platform::ALL.iter().map(|p| (*p, published_limit(*p))).collect(),
            breaker: BreakerPolicy::default(),
        }
    }
}

impl Limits {
    pub fn bucket(&self, platform: Platform) -> BucketLimit {
        self.buckets.get(&platform).copied().unwrap_or_else(|| published_limit(platform))
    }

    /// `BATON_RATE_LIMITS`: `platform=COUNT/SECONDSs,...`, e.g. `notion=3/1s,trello=100/10s`
    /// (COUNT tokens of burst, refilled over SECONDS).
    pub fn with_overrides(mut self, text: &str) -> Result<Self, String> {
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, spec) =
                part.split_once('=').ok_or_else(|| format!("'{part}': expected platform=COUNT/SECONDSs"))?;
            let platform = Platform::parse(name.trim()).ok_or_else(|| format!("'{name}' is not a platform"))?;
            let (count, secs) = spec.split_once('/').ok_or_else(|| format!("'{spec}': expected COUNT/SECONDSs"))?;
            let count: f64 = count.trim().parse().map_err(|_| format!("'{count}' is not a number"))?;
            let secs: f64 = secs
                .trim()
                .trim_end_matches('s')
                .parse()
                .map_err(|_| format!("'{secs}' is not a number of seconds"))?;
            if count < 1.0 || secs <= 0.0 {
                return Err(format!("'{part}': at least 1 request over a positive time"));
            }
            self.buckets.insert(platform, BucketLimit { capacity: count, per_second: count / secs });
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
