//! The action's transitions, tested one by one.

use super::*;
use crate::error::ErrorCode;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

pub(crate) fn sample(now: DateTime<Utc>) -> Action {
    let body = json!({"action": {"id": "a-1", "type": "notify", "platform": "slack", "priority": "normal",
                                 "data": {"channel": "#ops", "text": "hi"}}});
    let submission = crate::validation::parse_submission(&body).expect("valid");
    Action::accepted(submission.action, None, now, 1, 0)
}

#[test]
fn a_lease_is_granted_once_and_again_only_after_it_expires() {
    let now = Utc::now();
    let queued = sample(now);
    let leased = queued.lease("w1", now, Duration::from_secs(30)).expect("queued is leasable");
    assert_eq!(leased.status, Status::Executing);
    assert_eq!(leased.version, 2);
    assert!(leased.lease("w2", now, Duration::from_secs(30)).is_err());
    let later = now + Duration::from_secs(31);
    let taken_over = leased.lease("w2", later, Duration::from_secs(30)).expect("expired lease");
    assert_eq!(taken_over.attempts, 2);
    assert_eq!(taken_over.worker_id.as_deref(), Some("w2"));
}

#[test]
fn only_the_lease_owner_can_finish_an_action() {
    let now = Utc::now();
    let leased = sample(now).lease("w1", now, Duration::from_secs(30)).expect("lease");
    assert!(leased.succeed("w2", json!({}), now).is_err());
    let done = leased.succeed("w1", json!({"ok": true}), now).expect("owner");
    assert_eq!(done.status, Status::Success);
    assert!(done.cancel(now).is_err(), "terminal actions stay terminal");
}

#[test]
fn a_retry_counts_and_sets_the_backoff_deadline() {
    let now = Utc::now();
    let leased = sample(now).lease("w1", now, Duration::from_secs(30)).expect("lease");
    let err = ActionError { code: ErrorCode::ServiceDown, message: "503".into(), retriable: true };
    let retrying = leased.retry("w1", err, Duration::from_millis(1500), now).expect("retry");
    assert_eq!(retrying.status, Status::Retrying);
    assert_eq!(retrying.retries, 1);
    assert_eq!(retrying.ready_at(), now + Duration::from_millis(1500));
    assert!(retrying.can_lease(now));
}

#[test]
fn oversized_results_are_truncated_not_dropped() {
    let now = Utc::now();
    let leased = sample(now).lease("w1", now, Duration::from_secs(30)).expect("lease");
    let big = json!({"blob": "x".repeat(MAX_STORED_RESULT_BYTES * 2)});
    let done = leased.succeed("w1", big, now).expect("owner");
    assert!(done.result_truncated);
    assert!(done.result.expect("result").to_string().len() < MAX_STORED_RESULT_BYTES + 200);
}

#[test]
fn priorities_sort_most_urgent_first() {
    let mut all = vec![Priority::Low, Priority::Critical, Priority::Normal, Priority::High];
    all.sort();
    assert_eq!(all, Priority::ALL.to_vec());
}

#[test]
fn taking_over_an_expired_lease_counts_an_interruption_and_too_many_end_the_action() {
    let now = Utc::now();
    let mut a = sample(now);
    let lease = Duration::from_secs(1);
    let mut t = now;
    for n in 0..=MAX_INTERRUPTED {
        assert!(!a.interruptions_exhausted(t), "attempt {n}");
        a = a.lease(&format!("w{n}"), t, lease).expect("lease");
        t += Duration::from_secs(2);
    }
    assert_eq!(a.interrupted, MAX_INTERRUPTED);
    assert!(a.interruptions_exhausted(t), "the next takeover would be one too many");
    let failed = a.exhaust(t).expect("exhausted");
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.interrupted, MAX_INTERRUPTED + 1);
    let err = failed.error.expect("error");
    assert_eq!((err.code, err.retriable), (ErrorCode::UnknownError, false));
    assert!(err.message.contains("cut short"), "{}", err.message);
}

#[test]
fn a_reservation_is_silent_and_the_lease_uses_it_up() {
    let now = Utc::now();
    let queued = sample(now);
    let slot = Slot { key: "slack#channel:#ops".into(), at: now + Duration::from_secs(3) };
    let waiting = queued.reserve(slot.clone(), now).expect("reserve");
    assert_eq!((waiting.status, waiting.ready_at()), (Status::Queued, slot.at));
    assert_eq!(waiting.slot.as_ref(), Some(&slot));
    let leased = waiting.lease("w", slot.at, Duration::from_secs(30)).expect("lease");
    assert!(leased.slot.is_none());
}

#[test]
fn a_deferral_undoes_the_lease() {
    let now = Utc::now();
    let queued = sample(now);
    let leased = queued.lease("w", now, Duration::from_secs(30)).expect("lease");
    let later = now + Duration::from_secs(2);
    let back = leased.defer("w", &queued, later, None, now).expect("defer");
    assert_eq!((back.status, back.attempts, back.version), (Status::Queued, 0, 3));
    assert_eq!((back.started_at, back.first_started_at, back.worker_id.as_deref()), (None, None, None));
    assert_eq!(back.ready_at(), later);
    assert!(leased.defer("other", &queued, later, None, now).is_err(), "only the owner defers");
}

#[test]
fn a_failure_with_a_fallback_names_it_and_stays_pending_until_settled() {
    let now = Utc::now();
    let mut a = sample(now);
    a.fallback = Some(json!({"type": "notify"}));
    let leased = a.lease("w", now, Duration::from_secs(30)).expect("lease");
    let err = ActionError { code: ErrorCode::NotFound, message: "gone".into(), retriable: false };
    let failed = leased.fail("w", err, now).expect("fail");
    assert_eq!(failed.fallback_action_id.as_deref(), Some("a-1-fallback"));
    assert!(failed.fallback_pending);
    let settled = failed.fallback_settled(now).expect("settle");
    assert!(!settled.fallback_pending);
    assert!(settled.fallback_settled(now).is_err());
}
