//! Baton's events and the ONE pure function that derives them from an action's change.
//!
//! Events are never emitted by hand: the local change feed (old/new image of each
//! conditional write) and, on AWS, DynamoDB Streams both call [`derive_events`].
//! Pure; must not import any adapter crate.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::FieldError;
use crate::model::{Action, Platform, Priority, Status};

pub const ACTION_QUEUED: &str = "action:queued";
pub const ACTION_EXECUTING: &str = "action:executing";
pub const ACTION_RETRYING: &str = "action:retrying";
pub const ACTION_COMPLETED: &str = "action:completed";
pub const ACTION_FAILED: &str = "action:failed";
pub const ACTION_CANCELLED: &str = "action:cancelled";
pub const QUEUE_UPDATED: &str = "queue:updated";
pub const INGEST_REJECTED: &str = "ingest:rejected";
pub const HEALTH_CHANGED: &str = "health:changed";

/// Every event name Baton emits today.
pub const EVENT_NAMES: &[&str] = &[
    ACTION_QUEUED,
    ACTION_EXECUTING,
    ACTION_RETRYING,
    ACTION_COMPLETED,
    ACTION_FAILED,
    ACTION_CANCELLED,
    QUEUE_UPDATED,
    INGEST_REJECTED,
    HEALTH_CHANGED,
];

/// One event, ready to be framed for a WebSocket or put on the events queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event: String,
    pub data: Value,
    /// Deterministic for action events (`<actionId>:<version>:<event>`), so a consumer can
    /// drop the duplicates an at-least-once stream delivers.
    pub id: String,
    pub ts: String,
    /// For subscription filtering; not part of the frame.
    #[serde(skip)]
    pub platform: Option<Platform>,
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn action_event(name: &str, new: &Action, data: Value) -> Event {
    Event {
        event: name.to_owned(),
        data,
        id: format!("{}:{}:{}", new.id, new.version, name),
        ts: timestamp(new.updated_at),
        platform: Some(new.platform),
    }
}

/// The `metadata` the contract attaches to completion events: what the submitter told us.
fn metadata(a: &Action) -> Value {
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

/// Derives the events an action's change means. `old` is `None` for a new item.
///
/// Only a change of `status` is an event; any other write (or a repeated delivery of the
/// same change) yields nothing, so the function is safe to call on every stream record.
pub fn derive_events(old: Option<&Action>, new: &Action) -> Vec<Event> {
    if old.is_some_and(|o| o.status == new.status && o.version >= new.version) {
        return Vec::new();
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
                "timestamp": ts,
                "metadata": metadata(new),
            }),
        ),
        // Approval states get their events from the approvals table (a later capability).
        Status::PendingApproval | Status::Rejected | Status::Expired => return Vec::new(),
    };
    vec![event]
}

/// What a WebSocket connection wants to receive. Empty lists mean everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub events: Vec<String>,
    pub platforms: Vec<Platform>,
}

impl Subscription {
    pub fn wants(&self, event: &Event) -> bool {
        let event_ok = self.events.is_empty() || self.events.iter().any(|p| pattern_matches(p, &event.event));
        let platform_ok = match event.platform {
            None => true,
            Some(p) => self.platforms.is_empty() || self.platforms.contains(&p),
        };
        event_ok && platform_ok
    }
}

/// A message a WebSocket client sends (API Gateway routes on its `action`).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Subscribe(Subscription),
    Ping,
}

/// Parses a client's WebSocket message; errors name the field.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, FieldError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| FieldError::new("message", format!("must be JSON: {e}")))?;
    match value.get("action").and_then(Value::as_str) {
        Some("ping") => Ok(ClientMessage::Ping),
        Some("subscribe") => {
            let mut sub = Subscription::default();
            match value.get("events") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let pattern = item.as_str().unwrap_or_default();
                        let known = pattern.ends_with('*') && EVENT_NAMES.iter().any(|n| pattern_matches(pattern, n))
                            || EVENT_NAMES.contains(&pattern);
                        if !known {
                            return Err(FieldError::new(
                                format!("events[{i}]"),
                                format!(
                                    "unknown event {item}; known: {} (a trailing * matches a prefix)",
                                    EVENT_NAMES.join(", ")
                                ),
                            ));
                        }
                        sub.events.push(pattern.to_owned());
                    }
                }
                Some(_) => return Err(FieldError::new("events", "must be an array of event names or patterns")),
            }
            match value.get("platforms") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str().and_then(Platform::parse) {
                            Some(p) => sub.platforms.push(p),
                            None => {
                                return Err(FieldError::new(
                                    format!("platforms[{i}]"),
                                    format!("unknown platform {item}; allowed: {}", Platform::allowed()),
                                ));
                            }
                        }
                    }
                }
                Some(_) => return Err(FieldError::new("platforms", "must be an array of platforms")),
            }
            Ok(ClientMessage::Subscribe(sub))
        }
        Some(other) => Err(FieldError::new("action", format!("unknown action '{other}'; allowed: subscribe, ping"))),
        None => Err(FieldError::new("action", "required (subscribe or ping)")),
    }
}

/// The contract's `queue:updated` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSnapshot {
    pub total_queued: u64,
    pub by_priority: ByPriority,
    pub avg_wait_time: u64,
    pub worker_utilization: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByPriority {
    pub critical: u64,
    pub high: u64,
    pub normal: u64,
    pub low: u64,
}

impl ByPriority {
    pub fn get(&self, p: Priority) -> u64 {
        match p {
            Priority::Critical => self.critical,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
    }

    pub fn from_array(counts: [u64; 4]) -> Self {
        Self { critical: counts[0], high: counts[1], normal: counts[2], low: counts[3] }
    }

    pub fn total(&self) -> u64 {
        self.critical + self.high + self.normal + self.low
    }
}

pub fn queue_updated(snapshot: &QueueSnapshot, now: DateTime<Utc>) -> Event {
    Event {
        event: QUEUE_UPDATED.to_owned(),
        data: serde_json::to_value(snapshot).unwrap_or(Value::Null),
        id: format!("queue:{}", now.timestamp_millis()),
        ts: timestamp(now),
        platform: None,
    }
}

/// An ingress message that was refused, with why, so its sender can see it on the events queue.
pub fn ingest_rejected(
    message_id: &str,
    reason: &str,
    fields: &[FieldError],
    excerpt: &str,
    now: DateTime<Utc>,
) -> Event {
    Event {
        event: INGEST_REJECTED.to_owned(),
        data: json!({
            "messageId": message_id,
            "reason": reason,
            "fields": fields,
            "body": excerpt,
            "timestamp": timestamp(now),
        }),
        id: format!("ingest:{message_id}:rejected"),
        ts: timestamp(now),
        platform: None,
    }
}

/// API Gateway's WebSocket frame limit is 32 KiB; frames are kept under this.
pub const MAX_FRAME_BYTES: usize = 32 * 1024 - 512;

/// The event as a frame of at most `max` bytes. An oversized result (the usual cause) is
/// replaced by a reference to `GET /api/actions/{id}`, where the whole of it can be read.
pub fn frame_within(event: &Event, max: usize) -> String {
    let text = serde_json::to_string(event).unwrap_or_default();
    if text.len() <= max {
        return text;
    }
    let mut slim = event.clone();
    let id = slim.data.get("actionId").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(obj) = slim.data.as_object_mut() {
        let reference = json!({"truncated": true, "bytes": text.len(), "ref": format!("/api/actions/{id}")});
        for key in ["result", "error"] {
            if obj.contains_key(key) {
                obj.insert(key.into(), reference.clone());
            }
        }
    }
    let text = serde_json::to_string(&slim).unwrap_or_default();
    if text.len() <= max {
        return text;
    }
    // Nothing left to trim safely: send the bare facts.
    let data = json!({"actionId": id, "truncated": true, "ref": format!("/api/actions/{id}")});
    serde_json::to_string(&Event { data, ..slim }).unwrap_or_default()
}

/// Whether `name` matches a subscription pattern (`*`, `action:*`, or an exact name).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::ActionError;
    use std::time::Duration;

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
        let events = derive_events(None, &a);
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
        let ev = derive_events(Some(&queued), &leased);
        assert_eq!(ev[0].event, ACTION_EXECUTING);
        assert_eq!(ev[0].data["workerId"], "w-1");
        assert_eq!(ev[0].data["queueTime"], 40);

        let err = ActionError { code: ErrorCode::ServiceDown, message: "HTTP 503".into(), retriable: true };
        let retrying = leased.retry("w-1", err, Duration::from_secs(1), t1).expect("retry");
        let ev = derive_events(Some(&leased), &retrying);
        assert_eq!(ev[0].event, ACTION_RETRYING);
        assert_eq!(ev[0].data["errorCode"], "SERVICE_DOWN");

        let again = retrying.lease("w-2", t1 + Duration::from_secs(1), Duration::from_secs(30)).expect("lease");
        assert_eq!(derive_events(Some(&retrying), &again)[0].event, ACTION_EXECUTING);

        let done = again.succeed("w-2", json!({"ts": "1.2"}), t1 + Duration::from_millis(1250)).expect("done");
        let ev = derive_events(Some(&again), &done);
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
        let ev = derive_events(Some(&leased), &failed);
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
        assert!(derive_events(Some(&queued), &touched).is_empty());
        let leased = queued.lease("w", now, Duration::from_secs(30)).expect("lease");
        assert!(derive_events(Some(&leased), &leased).is_empty(), "same image twice");
    }

    #[test]
    fn an_expired_lease_taken_over_is_a_new_execution() {
        let now = Utc::now();
        let leased = sample(now).lease("w1", now, Duration::from_secs(1)).expect("lease");
        let later = now + Duration::from_secs(2);
        let taken = leased.lease("w2", later, Duration::from_secs(1)).expect("takeover");
        let ev = derive_events(Some(&leased), &taken);
        assert_eq!(ev[0].event, ACTION_EXECUTING);
        assert_eq!(ev[0].data["attempt"], 2);
    }

    #[test]
    fn subscription_patterns_match_by_prefix_wildcard() {
        assert!(pattern_matches("action:*", "action:completed"));
        assert!(pattern_matches("*", "queue:updated"));
        assert!(pattern_matches("queue:updated", "queue:updated"));
        assert!(!pattern_matches("action:*", "queue:updated"));
        assert!(!pattern_matches("action:failed", "action:completed"));
    }
    #[test]
    fn subscriptions_filter_by_event_pattern_and_platform() {
        let ev = |name: &str, platform| Event {
            event: name.into(),
            data: json!({}),
            id: "x".into(),
            ts: "t".into(),
            platform,
        };
        let sub = Subscription { events: vec!["action:*".into()], platforms: vec![Platform::Notion] };
        assert!(sub.wants(&ev("action:completed", Some(Platform::Notion))));
        assert!(!sub.wants(&ev("action:completed", Some(Platform::Slack))));
        assert!(!sub.wants(&ev("queue:updated", None)));
        let platforms_only = Subscription { events: vec![], platforms: vec![Platform::Slack] };
        assert!(platforms_only.wants(&ev("queue:updated", None)), "platform-less events pass a platform filter");
    }

    #[test]
    fn oversized_frames_carry_a_reference_instead_of_the_result() {
        let event = Event {
            event: ACTION_COMPLETED.into(),
            data: json!({"actionId": "a-1", "result": {"blob": "x".repeat(100_000)}, "retries": 0}),
            id: "a-1:3:action:completed".into(),
            ts: "t".into(),
            platform: Some(Platform::Slack),
        };
        let frame = frame_within(&event, MAX_FRAME_BYTES);
        assert!(frame.len() <= MAX_FRAME_BYTES);
        let v: Value = serde_json::from_str(&frame).expect("json");
        assert_eq!(v["data"]["result"]["ref"], "/api/actions/a-1");
        assert_eq!(v["data"]["retries"], 0, "the rest of the event stays");
        let small = Event { data: json!({"actionId": "a-1"}), ..event };
        assert_eq!(frame_within(&small, MAX_FRAME_BYTES), serde_json::to_string(&small).expect("json"));
    }

    #[test]
    fn client_messages_parse_and_bad_ones_name_the_field() {
        let sub = parse_client_message(r#"{"action":"subscribe","events":["action:*"],"platforms":["notion"]}"#);
        assert_eq!(
            sub.expect("valid"),
            ClientMessage::Subscribe(Subscription {
                events: vec!["action:*".into()],
                platforms: vec![Platform::Notion]
            })
        );
        assert_eq!(parse_client_message(r#"{"action":"ping"}"#).expect("ping"), ClientMessage::Ping);
        assert_eq!(
            parse_client_message(r#"{"action":"subscribe","events":["nope"]}"#).expect_err("bad").field,
            "events[0]"
        );
        assert_eq!(
            parse_client_message(r#"{"action":"subscribe","platforms":["jira"]}"#).expect_err("bad").field,
            "platforms[0]"
        );
        assert_eq!(parse_client_message("{").expect_err("bad").field, "message");
        assert_eq!(parse_client_message(r#"{"action":"dance"}"#).expect_err("bad").field, "action");
    }
}
