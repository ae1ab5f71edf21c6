//! Health, derived from the platform items: `health:changed` (the contract's shape) and the
//! `GET /api/actions/health` report.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

use super::{HEALTH_CHANGED, HealthStatus, Limits, PlatformState};
use crate::events::{Event, timestamp};
use crate::model::Platform;

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
    use crate::error::ErrorCode;
    use crate::limits::{BreakerPolicy, published_limit};

    fn start() -> (PlatformState, DateTime<Utc>) {
        let now = Utc::now();
        (PlatformState::fresh("notion", Platform::Notion, published_limit(Platform::Notion), now), now)
    }

    #[test]
    fn health_events_come_with_status_changes_only() {
        let (s, now) = start();
        let policy = BreakerPolicy { threshold: 2, ..BreakerPolicy::default() };
        assert!(derive_health_events(None, &s).is_empty(), "a healthy new platform is no news");
        let degraded = s.record(&policy, Err(ErrorCode::ServiceDown), false, now).expect("1");
        let ev = derive_health_events(Some(&s), &degraded);
        assert_eq!(ev[0].data["previousStatus"], "healthy");
        assert_eq!(ev[0].data["currentStatus"], "degraded");
        let down = degraded.record(&policy, Err(ErrorCode::ServiceDown), false, now).expect("2");
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
        let open = s.record(&policy, Err(ErrorCode::ServiceDown), false, now).expect("open");
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
}
