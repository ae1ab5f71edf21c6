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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::published_limit;

    fn start() -> (PlatformState, DateTime<Utc>) {
        let now = Utc::now();
        (PlatformState::fresh("notion", Platform::Notion, published_limit(Platform::Notion), now), now)
    }

    fn fail(s: &PlatformState, p: &BreakerPolicy, code: ErrorCode, now: DateTime<Utc>) -> PlatformState {
        s.record(p, Err(code), false, now).expect("counted")
    }

    #[test]
    fn a_bucket_spends_its_burst_then_reserves_slots_one_refill_apart() {
        let (mut s, now) = start();
        let limit = BucketLimit { capacity: 3.0, per_second: 3.0 };
        for _ in 0..3 {
            let Taken::Now(next) = s.take(limit, 1, now) else { panic!("burst") };
            s = next;
        }
        let mut slots = Vec::new();
        for _ in 0..4 {
            let Taken::At(next, at) = s.take(limit, 1, now) else { panic!("reserved") };
            slots.push(((at - now).num_microseconds().unwrap_or(0) as f64 / 1000.0).round() as i64);
            s = next;
        }
        assert_eq!(slots, [333, 667, 1000, 1333], "each waiter gets its own slot");
        assert!(!s.has_tokens(limit, 1, now + Duration::from_millis(1300)), "the slots are owed");
        assert!(s.has_tokens(limit, 1, now + Duration::from_millis(1700)));
    }

    #[test]
    fn n_calls_take_n_tokens_and_a_far_booking_is_not_reserved() {
        let now = Utc::now();
        let limit = BucketLimit { capacity: 10.0, per_second: 1.0 };
        let s = PlatformState::fresh("trello", Platform::Trello, limit, now);
        let Taken::At(s, at) = s.take(limit, 12, now) else { panic!("reserved") };
        assert_eq!((at - now).num_seconds(), 2);
        assert!(matches!(s.take(limit, 1000, now), Taken::TooFar(_)));
    }

    #[test]
    fn the_breaker_opens_after_the_threshold_within_the_window() {
        let (mut s, now) = start();
        let policy = BreakerPolicy {
            threshold: 3,
            window: Duration::from_secs(10),
            cool_down: Duration::from_secs(5),
            ..BreakerPolicy::default()
        };
        for _ in 0..2 {
            s = fail(&s, &policy, ErrorCode::ServiceDown, now);
        }
        assert_eq!((s.breaker, s.health()), (BreakerState::Closed, HealthStatus::Degraded));
        assert!(s.record(&policy, Err(ErrorCode::ValidationError), false, now).is_none(), "a 4xx does not count");
        assert!(s.record(&policy, Err(ErrorCode::RateLimited), false, now).is_none(), "a 429 does not count");
        s = fail(&s, &policy, ErrorCode::ServiceDown, now);
        assert_eq!((s.breaker, s.health()), (BreakerState::Open, HealthStatus::Down));
        let look = s.breaker_look(&policy, now + Duration::from_secs(1));
        assert_eq!(look, BreakerLook::Wait { until: now + Duration::from_secs(5) });
    }

    #[test]
    fn a_busy_platforms_stray_errors_do_not_open_the_breaker_but_a_failing_share_does() {
        let (mut s, now) = start();
        let policy = BreakerPolicy { threshold: 5, ..BreakerPolicy::default() };
        for i in 0..200 {
            s = match i % 40 {
                0 => fail(&s, &policy, ErrorCode::ServiceDown, now),
                _ => s.record(&policy, Ok(Duration::from_millis(50)), false, now).unwrap_or(s),
            };
        }
        assert_eq!((s.breaker, s.failures), (BreakerState::Closed, 5), "5 of 200 failed: 2.5 %");
        assert_eq!(s.health(), HealthStatus::Degraded, "failures are counting");
        let mut more = 0;
        while s.breaker == BreakerState::Closed {
            s = fail(&s, &policy, ErrorCode::TimeoutError, now);
            more += 1;
        }
        assert_eq!(more, 17, "it opens once 10 % of the window's calls failed: 22 of 217");
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let (mut s, now) = start();
        let policy = BreakerPolicy {
            threshold: 2,
            window: Duration::from_secs(10),
            cool_down: Duration::from_secs(5),
            ..BreakerPolicy::default()
        };
        s = fail(&s, &policy, ErrorCode::TimeoutError, now);
        s = fail(&s, &policy, ErrorCode::TimeoutError, now + Duration::from_secs(11));
        assert_eq!((s.breaker, s.failures), (BreakerState::Closed, 1));
    }

    #[test]
    fn a_failure_reported_while_open_does_not_restart_the_cool_down() {
        let (s, now) = start();
        let policy = BreakerPolicy {
            threshold: 1,
            window: Duration::from_secs(10),
            cool_down: Duration::from_secs(5),
            ..BreakerPolicy::default()
        };
        let open = fail(&s, &policy, ErrorCode::ServiceDown, now);
        let late = now + Duration::from_secs(4);
        assert!(open.record(&policy, Err(ErrorCode::ServiceDown), false, late).is_none());
        assert!(open.record(&policy, Ok(Duration::from_millis(5)), false, late).is_none(), "nor closes it");
        assert_eq!(open.breaker_look(&policy, now + Duration::from_secs(5)), BreakerLook::ProbeDue);
    }

    #[test]
    fn after_the_cool_down_exactly_one_probe_goes_and_any_answer_proves_the_platform_alive() {
        let (s, now) = start();
        let policy = BreakerPolicy {
            threshold: 1,
            window: Duration::from_secs(10),
            cool_down: Duration::from_secs(5),
            ..BreakerPolicy::default()
        };
        let open = fail(&s, &policy, ErrorCode::ServiceDown, now);
        let t = now + Duration::from_secs(5);
        let probing = open.claim_probe(&policy, t, Duration::from_secs(30)).expect("probe");
        assert_eq!(probing.breaker, BreakerState::HalfOpen);
        assert!(probing.claim_probe(&policy, t, Duration::from_secs(30)).is_none(), "only one probe");
        assert!(
            matches!(probing.breaker_look(&policy, t), BreakerLook::Wait { until } if until >= t + Duration::from_secs(1))
        );
        let reopened = probing.record(&policy, Err(ErrorCode::ServiceDown), true, t).expect("reopen");
        assert_eq!((reopened.breaker, reopened.opened_at), (BreakerState::Open, Some(t)));
        for answer in [Ok(Duration::from_millis(80)), Err(ErrorCode::ValidationError), Err(ErrorCode::RateLimited)] {
            let closed = probing.record(&policy, answer, true, t).expect("close");
            assert_eq!(
                (closed.breaker, closed.failures, closed.health()),
                (BreakerState::Closed, 0, HealthStatus::Healthy)
            );
        }
    }

    #[test]
    fn a_probe_that_never_reports_back_frees_the_way_after_its_lease() {
        let (s, now) = start();
        let policy = BreakerPolicy { threshold: 1, ..BreakerPolicy::default() };
        let open = fail(&s, &policy, ErrorCode::ServiceDown, now);
        let t = now + policy.cool_down;
        let probing = open.claim_probe(&policy, t, Duration::from_secs(10)).expect("probe");
        assert_eq!(probing.breaker_look(&policy, t + Duration::from_secs(11)), BreakerLook::ProbeDue);
    }
}
