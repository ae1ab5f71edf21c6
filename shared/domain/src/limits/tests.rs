//! Buckets, breakers and the overrides of the published limits.

use super::*;
use crate::error::ErrorCode;
use crate::model::Platform;
use chrono::{DateTime, Utc};
use std::time::Duration;

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

#[test]
fn limits_are_overridable() {
    let l = Limits::default().with_overrides("notion=10/2s, trello=100/10s").expect("valid");
    assert_eq!(l.bucket(Platform::Notion), BucketLimit { capacity: 10.0, per_second: 5.0 });
    assert_eq!(l.bucket(Platform::Slack), published_limit(Platform::Slack));
    assert!(Limits::default().with_overrides("jira=1/1s").is_err());
    assert!(Limits::default().with_overrides("notion=0/1s").is_err());
}
