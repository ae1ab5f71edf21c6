//! Baton's events: their names, the `Event` every channel carries, and the few events that do
//! not come from an action's change (`queue:updated`, `ingest:rejected`).
//!
//! - [`derive`]: the ONE pure derivation of events from (old, new) images of the actions
//!   approvals and workflows tables ([`approvals`] and [`workflows`] shape theirs).
//! - [`protocol`]: the WebSocket protocol (subscriptions, client messages, frames).
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::FieldError;
use crate::model::{Platform, Priority};

pub const ACTION_QUEUED: &str = "action:queued";
pub const ACTION_EXECUTING: &str = "action:executing";
pub const ACTION_RETRYING: &str = "action:retrying";
pub const ACTION_COMPLETED: &str = "action:completed";
pub const ACTION_FAILED: &str = "action:failed";
pub const ACTION_CANCELLED: &str = "action:cancelled";
pub const QUEUE_UPDATED: &str = "queue:updated";
pub const INGEST_REJECTED: &str = "ingest:rejected";
pub const HEALTH_CHANGED: &str = "health:changed";
pub const APPROVAL_PENDING: &str = "approval:pending";
pub const APPROVAL_RESOLVED: &str = "approval:resolved";
pub const WORKFLOW_STARTED: &str = "workflow:started";
pub const WORKFLOW_STEP: &str = "workflow:step";
pub const WORKFLOW_COMPLETED: &str = "workflow:completed";
pub const WORKFLOW_FAILED: &str = "workflow:failed";
pub const WORKFLOW_ROLLED_BACK: &str = "workflow:rolled_back";
pub const WORKFLOW_CANCELLED: &str = "workflow:cancelled";
pub const FEEDBACK_RECEIVED: &str = "feedback:received";
pub const METRICS_UPDATED: &str = "metrics:updated";

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
    APPROVAL_PENDING,
    APPROVAL_RESOLVED,
    WORKFLOW_STARTED,
    WORKFLOW_STEP,
    WORKFLOW_COMPLETED,
    WORKFLOW_FAILED,
    WORKFLOW_ROLLED_BACK,
    WORKFLOW_CANCELLED,
    FEEDBACK_RECEIVED,
    METRICS_UPDATED,
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

/// The contract's `queue:updated` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSnapshot {
    pub total_queued: u64,
    pub by_priority: ByPriority,
    pub avg_wait_time: u64,
    pub worker_utilization: f64,
}

impl QueueSnapshot {
    /// What a queue says of itself, in the contract's shape (both paths build it here).
    pub fn of(stats: &crate::ports::QueueStats) -> Self {
        Self {
            total_queued: stats.depth.iter().sum(),
            by_priority: ByPriority::from_array(stats.depth),
            avg_wait_time: stats.avg_wait_ms,
            worker_utilization: stats.utilization(),
        }
    }
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
mod approvals;
mod derive;
mod protocol;
mod workflows;

pub(crate) use derive::metadata;
pub use derive::{Change, derive_events};
pub use protocol::*;
