//! Limits every worker shares: a token bucket per platform (per channel for Slack messages)
//! and a circuit breaker per platform, as pure functions over the `platform_state` item they
//! live in. The store writes each new state conditionally on the version it was computed
//! from, so concurrent workers (Lambdas or local tasks) see one state.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

use crate::error::ErrorCode;
use crate::events::{Event, timestamp};
use crate::model::Platform;

pub use crate::events::HEALTH_CHANGED;

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
    /// Retriable failures within `window` that open the breaker.
    pub threshold: u32,
    pub window: Duration,
    /// How long an open breaker waits before letting one probe through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self { threshold: 5, window: Duration::from_secs(60), cool_down: Duration::from_secs(30) }
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

/// One `platform_state` item: a breaker (on the platform's own item) and a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformState {
    /// The item key: `slack`, or `slack#channel:#ops` for a channel's bucket.
    pub key: String,
    pub platform: Platform,
    pub version: u64,
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
    pub breaker: BreakerState,
    pub failures: u32,
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

/// How often workers look at a half-open breaker while its probe runs.
pub const HALF_OPEN_RECHECK: Duration = Duration::from_millis(500);

/// What a worker may do now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Go {
        probe: bool,
    },
    /// Come back after `delay`; `circuit_open` when the breaker (not the bucket) said so.
    Wait {
        delay: Duration,
        circuit_open: bool,
    },
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds().max(0) as f64 / 1000.0
}

fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (then - now).to_std().unwrap_or(Duration::ZERO)
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

    /// Tokens available at `now` (the bucket refills continuously).
    pub fn tokens_at(&self, limit: BucketLimit, now: DateTime<Utc>) -> f64 {
        (self.tokens + secs(now - self.refilled_at) * limit.per_second).min(limit.capacity)
    }

    /// The breaker's word. `probe_lease` bounds a half-open probe that never reports back.
    pub fn check_breaker(
        &self,
        policy: &BreakerPolicy,
        now: DateTime<Utc>,
        probe_lease: Duration,
    ) -> (Admission, Option<Self>) {
        let probe = |s: &Self| {
            let mut n = s.next(now);
            n.breaker = BreakerState::HalfOpen;
            n.probe_until = Some(now + probe_lease);
            (Admission::Go { probe: true }, Some(n))
        };
        match self.breaker {
            BreakerState::Closed => (Admission::Go { probe: false }, None),
            BreakerState::Open => {
                let reopen = self.opened_at.unwrap_or(now) + policy.cool_down;
                if now >= reopen {
                    probe(self)
                } else {
                    (Admission::Wait { delay: until(now, reopen), circuit_open: true }, None)
                }
            }
            // The probe usually settles within one call: look again soon rather than at the end
            // of its lease, or waiters would sleep through the recovery.
            BreakerState::HalfOpen => match self.probe_until {
                Some(lease) if lease > now => {
                    (Admission::Wait { delay: until(now, lease).min(HALF_OPEN_RECHECK), circuit_open: true }, None)
                }
                _ => probe(self),
            },
        }
    }

    /// Takes one token, or says how long until one is there.
    pub fn take_token(&self, limit: BucketLimit, now: DateTime<Utc>) -> Result<Self, Duration> {
        let available = self.tokens_at(limit, now);
        if available >= 1.0 {
            let mut n = self.next(now);
            n.tokens = available - 1.0;
            n.refilled_at = now;
            Ok(n)
        } else {
            Err(Duration::from_secs_f64(((1.0 - available) / limit.per_second.max(1e-6)).max(0.001)))
        }
    }

    /// After a successful call. `None` when nothing worth a write changed (a healthy platform
    /// refreshes its `lastSuccess` at most every few seconds).
    pub fn record_success(&self, now: DateTime<Utc>, elapsed: Duration) -> Option<Self> {
        const REFRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
        let healthy = self.breaker == BreakerState::Closed && self.failures == 0;
        if healthy && self.last_success.is_some_and(|t| now - t < REFRESH) {
            return None;
        }
        let mut n = self.next(now);
        n.breaker = BreakerState::Closed;
        n.failures = 0;
        n.window_started_at = None;
        n.opened_at = None;
        n.probe_until = None;
        n.last_success = Some(now);
        let sample = elapsed.as_secs_f64() * 1000.0;
        n.avg_response_ms =
            if self.avg_response_ms == 0.0 { sample } else { self.avg_response_ms * 0.8 + sample * 0.2 };
        Some(n)
    }

    /// After a failed call; `None` for failures that say nothing about the platform's health.
    pub fn record_failure(&self, policy: &BreakerPolicy, code: ErrorCode, now: DateTime<Utc>) -> Option<Self> {
        if !counts_against_breaker(code) {
            return None;
        }
        let mut n = self.next(now);
        n.last_failure = Some(now);
        match self.breaker {
            BreakerState::HalfOpen | BreakerState::Open => {
                // The probe failed: open again, for a whole cool-down.
                n.breaker = BreakerState::Open;
                n.opened_at = Some(now);
                n.probe_until = None;
                n.failures = self.failures.max(policy.threshold);
            }
            BreakerState::Closed => {
                let window = chrono::Duration::from_std(policy.window).unwrap_or(chrono::TimeDelta::seconds(60));
                let in_window = self.window_started_at.is_some_and(|t| now - t <= window);
                n.failures = if in_window { self.failures + 1 } else { 1 };
                n.window_started_at = if in_window { self.window_started_at } else { Some(now) };
                if n.failures >= policy.threshold {
                    n.breaker = BreakerState::Open;
                    n.opened_at = Some(now);
                }
            }
        }
        Some(n)
    }
}

/// `health:changed` (the contract's shape) when a platform's health status changes.
/// Channel buckets (keys other than the platform's name) carry no breaker: no event.
pub fn derive_health_events(old: Option<&PlatformState>, new: &PlatformState) -> Vec<Event> {
    if new.key != new.platform.as_str() {
        return Vec::new();
    }
    let previous = old.map(PlatformState::health).unwrap_or(HealthStatus::Healthy);
    let current = new.health();
    if previous == current && old.map(|o| o.breaker) == Some(new.breaker) {
        return Vec::new();
    }
    if old.is_none() && current == HealthStatus::Healthy {
        return Vec::new();
    }
    let ts = timestamp(new.updated_at);
    vec![Event {
        event: HEALTH_CHANGED.to_owned(),
        data: json!({
            "platform": new.platform,
            "previousStatus": previous,
            "currentStatus": current,
            "circuitBreaker": {"state": new.breaker, "failureCount": new.failures},
            "timestamp": ts,
        }),
        id: format!("health:{}:{}", new.key, new.version),
        ts,
        platform: Some(new.platform),
    }]
}

/// `GET /api/actions/health` in the contract's shape. `states` holds each platform's own
/// item (absent: never used, so healthy and full); `configured` says which have credentials.
pub fn health_report(
    states: &[(Platform, Option<PlatformState>)],
    limits: &Limits,
    configured: &[Platform],
    queue: &crate::ports::QueueStats,
    oldest_waiting: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let mut executors = serde_json::Map::new();
    let mut statuses = Vec::new();
    for (platform, state) in states {
        let limit = limits.bucket(*platform);
        let state = state.clone().unwrap_or_else(|| PlatformState::fresh(platform.as_str(), *platform, limit, now));
        let has_credentials = configured.contains(platform);
        let status = if has_credentials { state.health() } else { HealthStatus::Down };
        if has_credentials {
            statuses.push(status);
        }
        let current = state.tokens_at(limit, now);
        let full_in = ((limit.capacity - current) / limit.per_second.max(1e-6)).max(0.0);
        let mut entry = json!({
            "status": status,
            "configured": has_credentials,
            "circuitBreaker": {"state": state.breaker, "failureCount": state.failures},
            "rateLimit": {
                "current": (current * 100.0).floor() / 100.0,
                "limit": limit.capacity,
                "resetAt": timestamp(now + Duration::from_secs_f64(full_in)),
            },
            "avgResponseTime": state.avg_response_ms.round(),
        });
        if let Some(t) = state.last_failure {
            entry["circuitBreaker"]["lastFailure"] = json!(timestamp(t));
        }
        if let Some(t) = state.last_success {
            entry["lastSuccess"] = json!(timestamp(t));
        }
        if !has_credentials {
            entry["reason"] = json!("no credentials configured");
        }
        executors.insert(platform.as_str().into(), entry);
    }
    let down = statuses.iter().filter(|s| **s == HealthStatus::Down).count();
    let overall = if statuses.is_empty() || down == statuses.len() {
        "critical"
    } else if statuses.iter().all(|s| *s == HealthStatus::Healthy) {
        "healthy"
    } else {
        "degraded"
    };
    let mut queue_json = json!({
        "depth": queue.depth.iter().sum::<u64>(),
        "byPriority": crate::events::ByPriority::from_array(queue.depth),
        "workerUtilization": queue.utilization(),
    });
    if let Some(t) = oldest_waiting {
        queue_json["oldestAction"] = json!(timestamp(t));
    }
    json!({"overall": overall, "executors": executors, "queue": queue_json, "timestamp": timestamp(now)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> (PlatformState, DateTime<Utc>) {
        let now = Utc::now();
        (PlatformState::fresh("notion", Platform::Notion, published_limit(Platform::Notion), now), now)
    }

    #[test]
    fn a_bucket_spends_its_burst_then_waits_for_the_refill() {
        let (mut s, now) = start();
        let limit = BucketLimit { capacity: 3.0, per_second: 3.0 };
        for _ in 0..3 {
            s = s.take_token(limit, now).expect("burst");
        }
        let wait = s.take_token(limit, now).expect_err("empty");
        assert!((320..=340).contains(&wait.as_millis()), "{wait:?}");
        let later = now + Duration::from_millis(340);
        assert!(s.take_token(limit, later).is_ok(), "refilled");
    }

    #[test]
    fn the_breaker_opens_after_the_threshold_within_the_window() {
        let (mut s, now) = start();
        let policy = BreakerPolicy { threshold: 3, window: Duration::from_secs(10), cool_down: Duration::from_secs(5) };
        for _ in 0..2 {
            s = s.record_failure(&policy, ErrorCode::ServiceDown, now).expect("counted");
        }
        assert_eq!((s.breaker, s.health()), (BreakerState::Closed, HealthStatus::Degraded));
        assert!(s.record_failure(&policy, ErrorCode::ValidationError, now).is_none(), "a 4xx does not count");
        assert!(s.record_failure(&policy, ErrorCode::RateLimited, now).is_none(), "a 429 does not count");
        s = s.record_failure(&policy, ErrorCode::ServiceDown, now).expect("counted");
        assert_eq!((s.breaker, s.health()), (BreakerState::Open, HealthStatus::Down));
        let (adm, _) = s.check_breaker(&policy, now + Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(adm, Admission::Wait { delay: Duration::from_secs(4), circuit_open: true });
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let (mut s, now) = start();
        let policy = BreakerPolicy { threshold: 2, window: Duration::from_secs(10), cool_down: Duration::from_secs(5) };
        s = s.record_failure(&policy, ErrorCode::TimeoutError, now).expect("counted");
        s = s.record_failure(&policy, ErrorCode::TimeoutError, now + Duration::from_secs(11)).expect("counted");
        assert_eq!((s.breaker, s.failures), (BreakerState::Closed, 1));
    }

    #[test]
    fn after_the_cool_down_exactly_one_probe_goes_and_its_result_decides() {
        let (mut s, now) = start();
        let policy = BreakerPolicy { threshold: 1, window: Duration::from_secs(10), cool_down: Duration::from_secs(5) };
        s = s.record_failure(&policy, ErrorCode::ServiceDown, now).expect("open");
        let t = now + Duration::from_secs(5);
        let (adm, probing) = s.check_breaker(&policy, t, Duration::from_secs(30));
        assert_eq!(adm, Admission::Go { probe: true });
        let probing = probing.expect("half open");
        assert_eq!(probing.breaker, BreakerState::HalfOpen);
        let (second, _) = probing.check_breaker(&policy, t, Duration::from_secs(30));
        assert!(matches!(second, Admission::Wait { circuit_open: true, .. }), "only one probe");
        let reopened = probing.record_failure(&policy, ErrorCode::ServiceDown, t).expect("reopen");
        assert_eq!(reopened.breaker, BreakerState::Open);
        let closed = probing.record_success(t, Duration::from_millis(80)).expect("close");
        assert_eq!(
            (closed.breaker, closed.failures, closed.health()),
            (BreakerState::Closed, 0, HealthStatus::Healthy)
        );
    }

    #[test]
    fn a_probe_that_never_reports_back_frees_the_way_after_its_lease() {
        let (mut s, now) = start();
        let policy = BreakerPolicy { threshold: 1, ..BreakerPolicy::default() };
        s = s.record_failure(&policy, ErrorCode::ServiceDown, now).expect("open");
        let t = now + policy.cool_down;
        let probing = s.check_breaker(&policy, t, Duration::from_secs(10)).1.expect("probe");
        let (again, _) = probing.check_breaker(&policy, t + Duration::from_secs(11), Duration::from_secs(10));
        assert_eq!(again, Admission::Go { probe: true });
    }

    #[test]
    fn health_events_come_with_status_changes_only() {
        let (s, now) = start();
        let policy = BreakerPolicy { threshold: 2, ..BreakerPolicy::default() };
        assert!(derive_health_events(None, &s).is_empty(), "a healthy new platform is no news");
        let degraded = s.record_failure(&policy, ErrorCode::ServiceDown, now).expect("1");
        let ev = derive_health_events(Some(&s), &degraded);
        assert_eq!(ev[0].data["previousStatus"], "healthy");
        assert_eq!(ev[0].data["currentStatus"], "degraded");
        let down = degraded.record_failure(&policy, ErrorCode::ServiceDown, now).expect("2");
        let ev = derive_health_events(Some(&degraded), &down);
        assert_eq!(ev[0].event, HEALTH_CHANGED);
        assert_eq!(ev[0].data["circuitBreaker"], json!({"state": "OPEN", "failureCount": 2}));
        let mut bucket = down.clone();
        bucket.key = "slack#channel:#ops".into();
        assert!(derive_health_events(Some(&s), &bucket).is_empty());
    }

    #[test]
    fn the_health_report_says_which_platforms_are_down_and_which_unconfigured() {
        let (s, now) = start();
        let policy = BreakerPolicy { threshold: 1, ..BreakerPolicy::default() };
        let open = s.record_failure(&policy, ErrorCode::ServiceDown, now).expect("open");
        let states = vec![(Platform::Notion, Some(open)), (Platform::Slack, None), (Platform::Trello, None)];
        let queue =
            crate::ports::QueueStats { depth: [1, 0, 2, 0], capacity: [1, 1, 1, 1], busy: 2, ..Default::default() };
        let report =
            health_report(&states, &Limits::default(), &[Platform::Notion, Platform::Slack], &queue, Some(now), now);
        assert_eq!(report["overall"], "degraded");
        assert_eq!(report["executors"]["notion"]["status"], "down");
        assert_eq!(report["executors"]["notion"]["circuitBreaker"]["state"], "OPEN");
        assert!(report["executors"]["notion"]["circuitBreaker"]["lastFailure"].is_string());
        assert_eq!(report["executors"]["slack"]["status"], "healthy");
        assert_eq!(report["executors"]["slack"]["rateLimit"]["limit"], 1.0);
        assert_eq!(report["executors"]["trello"]["configured"], false);
        assert_eq!(report["queue"]["depth"], 3);
        assert_eq!(report["queue"]["workerUtilization"], 0.5);
        let none = health_report(&states, &Limits::default(), &[], &queue, None, now);
        assert_eq!(none["overall"], "critical", "nothing can run");
    }

    #[test]
    fn limits_are_overridable() {
        let l = Limits::default().with_overrides("notion=10/2s, trello=100/10s").expect("valid");
        assert_eq!(l.bucket(Platform::Notion), BucketLimit { capacity: 10.0, per_second: 5.0 });
        assert_eq!(l.bucket(Platform::Slack), published_limit(Platform::Slack));
        assert!(Limits::default().with_overrides("jira=1/1s").is_err());
        assert!(Limits::default().with_overrides("notion=0/1s").is_err());
    }
}
