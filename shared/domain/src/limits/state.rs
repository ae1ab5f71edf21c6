//! One `platform_state` item: a token bucket (the platform's, or a Slack channel's) and, on
//! the platform's own item, its circuit breaker. Pure functions from one state to the next.
//!
//! The bucket may go below zero: a worker that finds it empty *reserves* a future token and
//! is told exactly when it is due, so waiters come back one by one at the bucket's rate
//! instead of all together, and each waits once.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{BreakerPolicy, BreakerState, BucketLimit, HealthStatus};
use crate::error::ErrorCode;
use crate::model::Platform;

/// How far ahead a token may be reserved; a longer wait is looked at again later instead.
pub const MAX_RESERVATION: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformState {
    /// The item key: `slack`, or `slack#channel:#ops` for a channel's bucket.
    pub key: String,
    pub platform: Platform,
    pub version: u64,
    /// Below zero when tokens are promised to reserved slots.
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
    pub breaker: BreakerState,
    pub failures: u32,
    /// Successful calls since the window's first failure (while failures count).
    #[serde(default)]
    pub successes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
    /// While half-open: the probe's lease. Only one probe at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<DateTime<Utc>>,
    #[serde(default)]
    pub avg_response_ms: f64,
    pub updated_at: DateTime<Utc>,
}

/// What the breaker says, read without writing anything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakerLook {
    /// Closed: calls may go.
    Pass,
    /// The cool-down is over (or a probe never reported back): one worker may probe.
    ProbeDue,
    /// Come back at `until`: open and cooling down, or a probe is in flight.
    Wait { until: DateTime<Utc> },
}

/// What taking tokens gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// The tokens are taken; call now.
    Now(PlatformState),
    /// The tokens are reserved; call at `at`, without taking them again.
    At(PlatformState, DateTime<Utc>),
    /// The bucket is booked further ahead than [`MAX_RESERVATION`]: look again after `wait`.
    TooFar(Duration),
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds().max(0) as f64 / 1000.0
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// Failures that say the platform is in trouble. A 429 is answered by `Retry-After`, and a
/// 4xx is the request's fault: neither opens the breaker.
pub fn counts_against_breaker(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::ServiceDown | ErrorCode::NetworkError | ErrorCode::TimeoutError | ErrorCode::UnknownError)
}

impl PlatformState {
    pub fn fresh(key: &str, platform: Platform, limit: BucketLimit, now: DateTime<Utc>) -> Self {
        Self {
            key: key.to_owned(),
            platform,
            version: 0,
            tokens: limit.capacity,
            refilled_at: now,
            breaker: BreakerState::Closed,
            failures: 0,
            successes: 0,
            window_started_at: None,
            opened_at: None,
            probe_until: None,
            last_failure: None,
            last_success: None,
            avg_response_ms: 0.0,
            updated_at: now,
        }
    }

    fn next(&self, now: DateTime<Utc>) -> Self {
        Self { version: self.version + 1, updated_at: now, ..self.clone() }
    }

    pub fn health(&self) -> HealthStatus {
        match self.breaker {
            BreakerState::Open => HealthStatus::Down,
            BreakerState::HalfOpen => HealthStatus::Degraded,
            BreakerState::Closed if self.failures > 0 => HealthStatus::Degraded,
            BreakerState::Closed => HealthStatus::Healthy,
        }
    }

    /// Tokens at `now` (the bucket refills continuously); negative while slots are booked.
    pub fn tokens_at(&self, limit: BucketLimit, now: DateTime<Utc>) -> f64 {
        (self.tokens + secs(now - self.refilled_at) * limit.per_second).min(limit.capacity)
    }

    /// Whether `n` tokens are there right now.
    pub fn has_tokens(&self, limit: BucketLimit, n: u32, now: DateTime<Utc>) -> bool {
        self.tokens_at(limit, now) >= f64::from(n)
    }

    /// Takes `n` tokens now if they are there, else reserves them for the moment they will be.
    pub fn take(&self, limit: BucketLimit, n: u32, now: DateTime<Utc>) -> Taken {
        let left = self.tokens_at(limit, now) - f64::from(n);
        let mut next = self.next(now);
        next.tokens = left;
        next.refilled_at = now;
        if left >= 0.0 {
            return Taken::Now(next);
        }
        let wait = Duration::from_secs_f64((-left / limit.per_second.max(1e-6)).min(1e9));
        if wait > MAX_RESERVATION {
            return Taken::TooFar(wait - MAX_RESERVATION);
        }
        Taken::At(next, after(now, wait))
    }

    /// The breaker's word, without writing. A half-open probe in flight is looked at again
    /// after about twice the platform's usual answer time (1–10 s), not in a tight loop.
    pub fn breaker_look(&self, policy: &BreakerPolicy, now: DateTime<Utc>) -> BreakerLook {
        match self.breaker {
            BreakerState::Closed => BreakerLook::Pass,
            BreakerState::Open => {
                let reopen = after(self.opened_at.unwrap_or(now), policy.cool_down);
                if now >= reopen { BreakerLook::ProbeDue } else { BreakerLook::Wait { until: reopen } }
            }
            BreakerState::HalfOpen => match self.probe_until {
                Some(lease) if lease > now => {
                    let usual = Duration::from_millis((self.avg_response_ms * 2.0).clamp(1000.0, 10_000.0) as u64);
                    BreakerLook::Wait { until: lease.min(after(now, usual)) }
                }
                _ => BreakerLook::ProbeDue,
            },
        }
    }

    /// The half-open state with this worker's probe, when one is due.
    pub fn claim_probe(&self, policy: &BreakerPolicy, now: DateTime<Utc>, lease: Duration) -> Option<Self> {
        if self.breaker_look(policy, now) != BreakerLook::ProbeDue {
            return None;
        }
        let mut n = self.next(now);
        n.breaker = BreakerState::HalfOpen;
        n.probe_until = Some(after(now, lease));
        Some(n)
    }

    /// The probe given up before it was made (its worker must wait for a token).
    pub fn free_probe(&self, now: DateTime<Utc>) -> Option<Self> {
        if self.breaker != BreakerState::HalfOpen {
            return None;
        }
        let mut n = self.next(now);
        n.probe_until = None;
        Some(n)
    }

    /// After a call. `probe` says whether it was the half-open probe: then any answer from the
    /// platform — a success, a 4xx, a 429 — proves it alive and closes the breaker, and only a
    /// server error, a network failure or a timeout opens it again for a new cool-down. Calls
    /// that are not the probe and end while the breaker is open or half-open change nothing
    /// (they started before it opened): they neither close it nor restart its cool-down.
    /// `None` when nothing worth a write changed.
    pub fn record(
        &self,
        policy: &BreakerPolicy,
        outcome: Result<Duration, ErrorCode>,
        probe: bool,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let failed = matches!(outcome, Err(code) if counts_against_breaker(code));
        let elapsed = outcome.ok();
        match (self.breaker, probe) {
            (BreakerState::HalfOpen, true) if failed => Some(self.reopen(policy, now)),
            (BreakerState::HalfOpen, true) => Some(self.close(now, elapsed)),
            (BreakerState::Open | BreakerState::HalfOpen, _) => None,
            (BreakerState::Closed, _) if failed => Some(self.count_failure(policy, now)),
            // A 4xx or a 429 is the request's or the rate's business: nothing to record.
            (BreakerState::Closed, _) if elapsed.is_none() => None,
            // Failures are counting: a success counts too, until the window is over.
            (BreakerState::Closed, _) if self.failures > 0 && self.in_window(policy, now) => {
                let mut n = self.close(now, elapsed);
                (n.failures, n.successes, n.window_started_at) =
                    (self.failures, self.successes + 1, self.window_started_at);
                Some(n)
            }
            (BreakerState::Closed, _) => {
                const REFRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
                let fresh = self.last_success.is_some_and(|t| now - t < REFRESH);
                // A success is refreshed at most every few seconds, so a healthy platform
                // costs no write per call.
                if self.failures == 0 && fresh { None } else { Some(self.close(now, elapsed)) }
            }
        }
    }

    fn in_window(&self, policy: &BreakerPolicy, now: DateTime<Utc>) -> bool {
        let window = chrono::Duration::from_std(policy.window).unwrap_or(chrono::TimeDelta::seconds(60));
        self.window_started_at.is_some_and(|t| now - t <= window)
    }

    fn close(&self, now: DateTime<Utc>, elapsed: Option<Duration>) -> Self {
        let mut n = self.next(now);
        n.breaker = BreakerState::Closed;
        n.failures = 0;
        n.successes = 0;
        n.window_started_at = None;
        n.opened_at = None;
        n.probe_until = None;
        n.last_success = Some(now);
        if let Some(elapsed) = elapsed {
            let sample = elapsed.as_secs_f64() * 1000.0;
            n.avg_response_ms =
                if self.avg_response_ms == 0.0 { sample } else { self.avg_response_ms * 0.8 + sample * 0.2 };
        }
        n
    }

    fn reopen(&self, policy: &BreakerPolicy, now: DateTime<Utc>) -> Self {
        let mut n = self.next(now);
        n.last_failure = Some(now);
        n.breaker = BreakerState::Open;
        n.opened_at = Some(now);
        n.probe_until = None;
        n.failures = self.failures.max(policy.threshold);
        n
    }

    fn count_failure(&self, policy: &BreakerPolicy, now: DateTime<Utc>) -> Self {
        let mut n = self.next(now);
        n.last_failure = Some(now);
        let in_window = self.in_window(policy, now);
        n.failures = if in_window { self.failures + 1 } else { 1 };
        n.successes = if in_window { self.successes } else { 0 };
        n.window_started_at = if in_window { self.window_started_at } else { Some(now) };
        let rate = f64::from(n.failures) / f64::from(n.failures + n.successes);
        if n.failures >= policy.threshold && rate >= policy.min_failure_rate {
            n.breaker = BreakerState::Open;
            n.opened_at = Some(now);
        }
        n
    }
}
