//! The ONE pure function that derives events from a change of the actions, approvals or
//! workflows table.
//!
//! Events are never emitted by hand: the local change feed (old/new image of each
//! conditional write) and, on AWS, DynamoDB Streams both call [`derive_events`].
//! Pure; must not import any adapter crate.

use serde_json::{Value, json};

use super::*;
use crate::approval::Approval;
use crate::model::{Action, Status};
use crate::workflow::Workflow;

/// One successful write: the image it replaced (`None` for a new item) and the new one.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    Action { old: Option<&'a Action>, new: &'a Action },
    Approval { old: Option<&'a Approval>, new: &'a Approval },
    Workflow { old: Option<&'a Workflow>, new: &'a Workflow },
}

/// The events a change means. Only a change of state is an event; any other write (or a
/// repeated delivery of the same change) yields nothing, so it is safe to call on every
/// stream record.
pub fn derive_events(change: Change<'_>) -> Vec<Event> {
    match change {
        Change::Action { old, new } => {
            let mut events = action_events(old, new);
            events.extend(super::workflows::step_event(old, new));
            events
        }
        Change::Approval { old, new } => super::approvals::approval_events(old, new),
        Change::Workflow { old, new } => super::workflows::workflow_events(old, new),
    }
}

/// An action's event; a workflow step's carries its `workflowId` and `step` too.
fn action_event(name: &str, new: &Action, mut data: Value) -> Event {
    if let (Some(workflow_id), Some(step), Value::Object(map)) = (&new.workflow_id, &new.step, &mut data) {
        map.insert("workflowId".into(), json!(workflow_id));
        map.insert("step".into(), json!(step));
    }
    Event {
        event: name.to_owned(),
        data,
        id: format!("{}:{}:{}", new.id, new.version, name),
        ts: timestamp(new.updated_at),
        platform: Some(new.platform),
    }
}

/// The `metadata` the contract attaches to completion events: what the submitter told us.
pub(crate) fn metadata(a: &Action) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("priority".into(), json!(a.priority));
    if let Some(v) = &a.correlation_id {
        m.insert("correlationId".into(), json!(v));
    }
    if let Some(v) = &a.user_id {
        m.insert("userId".into(), json!(v));
    }
    if let Some(v) = &a.source {
        m.insert("source".into(), json!(v));
    }
    if !a.tags.is_empty() {
        m.insert("tags".into(), json!(a.tags));
    }
    if let Some(v) = &a.workflow_id {
        m.insert("workflowId".into(), json!(v));
    }
    if let Some(v) = &a.step {
        m.insert("step".into(), json!(v));
    }
    if a.dry_run {
        m.insert("dryRun".into(), json!(true));
    }
    if let Some(v) = &a.fallback_of {
        m.insert("fallbackOf".into(), json!(v));
    }
    if let Some(v) = &a.fallback_action_id {
        m.insert("fallbackActionId".into(), json!(v));
    }
    if a.result_truncated {
        m.insert("resultTruncated".into(), json!(true));
    }
    Value::Object(m)
}

fn action_events(old: Option<&Action>, new: &Action) -> Vec<Event> {
    if old.is_some_and(|o| o.status == new.status && o.version >= new.version) {
        return Vec::new();
    }
    if let (Some(o), Some(f)) = (old, new.feedback.first())
        && o.feedback.first() != Some(f)
    {
        return vec![action_event(
            FEEDBACK_RECEIVED,
            new,
            json!({
                "actionId": new.id,
                "type": new.action_type,
                "platform": new.platform,
                "outcome": f.outcome,
                "executionQuality": f.execution_quality,
                "notes": f.notes,
                "learningPoints": f.learning_points,
                "userModifications": f.user_modifications,
                "feedbackCount": new.feedback.len(),
                "timestamp": timestamp(f.received_at),
            }),
        )];
    }
    if old.is_some_and(|o| o.status == new.status && o.status != Status::Executing) {
        return Vec::new();
    }
    let ts = timestamp(new.updated_at);
    let event = match new.status {
        Status::Queued => action_event(
            ACTION_QUEUED,
            new,
            json!({
                "actionId": new.id,
                "type": new.action_type,
                "platform": new.platform,
                "priority": new.priority,
                "queuePosition": new.queue_position,
                "estimatedWait": new.estimated_wait,
                "timestamp": ts,
            }),
        ),
        Status::Executing => action_event(
            ACTION_EXECUTING,
            new,
            json!({
                "actionId": new.id,
                "type": new.action_type,
                "platform": new.platform,
                "priority": new.priority,
                "workerId": new.worker_id,
                "startTime": new.started_at.map(timestamp),
                "queueTime": new.queue_time.unwrap_or(0),
                "attempt": new.attempts,
                "timestamp": ts,
            }),
        ),
        Status::Retrying => {
            let err = new.error.as_ref();
            action_event(
                ACTION_RETRYING,
                new,
                json!({
                    "actionId": new.id,
                    "type": new.action_type,
                    "platform": new.platform,
                    "priority": new.priority,
                    "retries": new.retries,
                    "error": err.map(|e| e.message.as_str()),
                    "errorCode": err.map(|e| e.code),
                    "nextAttemptAt": new.not_before.map(timestamp),
                    "timestamp": ts,
                }),
            )
        }
        Status::Success => action_event(
            ACTION_COMPLETED,
            new,
            json!({
                "actionId": new.id,
                "type": new.action_type,
                "platform": new.platform,
                "result": new.result,
                "executionTime": new.execution_time.unwrap_or(0),
                "queueTime": new.queue_time.unwrap_or(0),
                "retries": new.retries,
                "timestamp": ts,
                "metadata": metadata(new),
            }),
        ),
        Status::Failed => {
            let err = new.error.as_ref();
            action_event(
                ACTION_FAILED,
                new,
                json!({
                    "actionId": new.id,
                    "type": new.action_type,
                    "platform": new.platform,
                    "error": err.map(|e| e.message.as_str()).unwrap_or("failed"),
                    "errorCode": err.map(|e| e.code.as_str()).unwrap_or("UNKNOWN_ERROR"),
                    "retriable": err.is_some_and(|e| e.retriable),
                    "retries": new.retries,
                    "timestamp": ts,
                    "metadata": metadata(new),
                }),
            )
        }
        Status::Cancelled => action_event(
            ACTION_CANCELLED,
            new,
            json!({
                "actionId": new.id,
                "type": new.action_type,
                "platform": new.platform,
                "reason": new.cancel_reason,
                "timestamp": ts,
                "metadata": metadata(new),
            }),
        ),
        // Held, rejected and expired actions are told by the approvals table's events.
        Status::PendingApproval | Status::Rejected | Status::Expired => return Vec::new(),
    };
    vec![event]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::ActionError;
    use chrono::{DateTime, Utc};
    use std::time::Duration;

    fn derive_action(old: Option<&Action>, new: &Action) -> Vec<Event> {
        derive_events(Change::Action { old, new })
    }

    fn sample(now: DateTime<Utc>) -> Action {
        serde_json::from_value(json!({
            "id": "a-1", "type": "notify", "platform": "slack", "priority": "high",
            "data": {"channel": "#ops", "text": "hi"}, "correlationId": "c-9",
            "status": "queued", "version": 1, "createdAt": now, "updatedAt": now,
            "queuePosition": 3, "estimatedWait": 1200
        }))
        .expect("sample action")
    }

    #[test]
    fn a_new_action_is_queued_with_its_position() {
        let now = Utc::now();
        let a = sample(now);
        let events = derive_action(None, &a);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, ACTION_QUEUED);
        assert_eq!(events[0].data["queuePosition"], 3);
        assert_eq!(events[0].data["estimatedWait"], 1200);
        assert_eq!(events[0].data["priority"], "high");
        assert_eq!(events[0].id, "a-1:1:action:queued");
    }

    #[test]
    fn the_whole_lifecycle_yields_the_contract_sequence() {
        let now = Utc::now();
        let queued = sample(now);
        let t1 = now + Duration::from_millis(40);
        let leased = queued.lease("w-1", t1, Duration::from_secs(30)).expect("lease");
        let ev = derive_action(Some(&queued), &leased);
        assert_eq!(ev[0].event, ACTION_EXECUTING);
        assert_eq!(ev[0].data["workerId"], "w-1");
        assert_eq!(ev[0].data["queueTime"], 40);

        let err = ActionError { code: ErrorCode::ServiceDown, message: "HTTP 503".into(), retriable: true };
        let retrying = leased.retry("w-1", err, Duration::from_secs(1), t1).expect("retry");
        let ev = derive_action(Some(&leased), &retrying);
        assert_eq!(ev[0].event, ACTION_RETRYING);
        assert_eq!(ev[0].data["errorCode"], "SERVICE_DOWN");

        let again = retrying.lease("w-2", t1 + Duration::from_secs(1), Duration::from_secs(30)).expect("lease");
        assert_eq!(derive_action(Some(&retrying), &again)[0].event, ACTION_EXECUTING);

        let done = again.succeed("w-2", json!({"ts": "1.2"}), t1 + Duration::from_millis(1250)).expect("done");
        let ev = derive_action(Some(&again), &done);
        assert_eq!(ev[0].event, ACTION_COMPLETED);
        assert_eq!(ev[0].data["retries"], 1);
        assert_eq!(ev[0].data["executionTime"], 250);
        assert_eq!(ev[0].data["result"]["ts"], "1.2");
        assert_eq!(ev[0].data["metadata"]["correlationId"], "c-9");
    }

    #[test]
    fn a_failure_carries_code_and_retriable_flag() {
        let now = Utc::now();
        let leased = sample(now).lease("w", now, Duration::from_secs(30)).expect("lease");
        let err = ActionError { code: ErrorCode::ValidationError, message: "bad".into(), retriable: false };
        let failed = leased.fail("w", err, now).expect("fail");
        let ev = derive_action(Some(&leased), &failed);
        assert_eq!(ev[0].event, ACTION_FAILED);
        assert_eq!(ev[0].data["errorCode"], "VALIDATION_ERROR");
        assert_eq!(ev[0].data["retriable"], false);
        assert_eq!(ev[0].data["error"], "bad");
    }

    #[test]
    fn writes_that_do_not_change_status_and_redeliveries_yield_nothing() {
        let now = Utc::now();
        let queued = sample(now);
        let mut touched = queued.clone();
        touched.version += 1;
        assert!(derive_action(Some(&queued), &touched).is_empty());
        let leased = queued.lease("w", now, Duration::from_secs(30)).expect("lease");
        assert!(derive_action(Some(&leased), &leased).is_empty(), "same image twice");
    }

    #[test]
    fn an_expired_lease_taken_over_is_a_new_execution() {
        let now = Utc::now();
        let leased = sample(now).lease("w1", now, Duration::from_secs(1)).expect("lease");
        let later = now + Duration::from_secs(2);
        let taken = leased.lease("w2", later, Duration::from_secs(1)).expect("takeover");
        let ev = derive_action(Some(&leased), &taken);
        assert_eq!(ev[0].event, ACTION_EXECUTING);
        assert_eq!(ev[0].data["attempt"], 2);
    }
}
