//! The action model: the contract's Action schema plus Baton's lifecycle.
//!
//! Pure data and pure transitions. Nothing here talks to a store, a queue or a network;
//! it must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorCode;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire spelling; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The allowed spellings, for error messages.
            pub fn allowed() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// What an action does (the contract's `ActionType`).
    ActionType {
        Create => "create",
        Update => "update",
        Delete => "delete",
        Notify => "notify",
        File => "file",
        Log => "log",
        Query => "query",
        Approve => "approve",
    }
);

string_enum!(
    /// The platform an action targets.
    Platform {
        Notion => "notion",
        Trello => "trello",
        Slack => "slack",
        Drive => "drive",
        Sheets => "sheets",
    }
);

string_enum!(
    /// Execution priority. Declared from most to least urgent, so `Ord` sorts critical first.
    Priority {
        Critical => "critical",
        High => "high",
        Normal => "normal",
        Low => "low",
    }
);

string_enum!(
    /// Where an action is in its life.
    ///
    /// `queued → executing → (retrying → executing)* → success | failed`, and `cancelled`.
    /// `pending_approval`, `rejected` and `expired` belong to the approvals flow.
    Status {
        PendingApproval => "pending_approval",
        Queued => "queued",
        Executing => "executing",
        Retrying => "retrying",
        Success => "success",
        Failed => "failed",
        Cancelled => "cancelled",
        Rejected => "rejected",
        Expired => "expired",
    }
);

impl Priority {
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Success | Status::Failed | Status::Cancelled | Status::Rejected | Status::Expired)
    }

    /// Waiting for a worker (first attempt or a retry).
    pub fn is_runnable(self) -> bool {
        matches!(self, Status::Queued | Status::Retrying)
    }

    /// The contract's coarse view used by the dashboard (`pending | executing | success | failed`).
    pub fn contract_view(self) -> &'static str {
        match self {
            Status::PendingApproval | Status::Queued | Status::Retrying => "pending",
            Status::Executing => "executing",
            Status::Success => "success",
            Status::Failed | Status::Cancelled | Status::Rejected | Status::Expired => "failed",
        }
    }
}

/// Retry settings; every field falls back to the contract's default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfig {
    pub max_retries: u32,
    /// Milliseconds.
    pub initial_delay: u64,
    pub backoff_multiplier: f64,
    /// Milliseconds.
    pub max_delay: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self { max_retries: 3, initial_delay: 1_000, backoff_multiplier: 2.0, max_delay: 30_000 }
    }
}

/// The default execution timeout of an action (the contract's `timeout`, in ms).
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// The last error an action met, in the contract's vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionError {
    pub code: ErrorCode,
    pub message: String,
    pub retriable: bool,
}

/// An action as Baton stores it: the contract's fields, then its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    // --- the contract's Action schema ---
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: ActionType,
    pub platform: Platform,
    pub priority: Priority,
    #[serde(default)]
    pub requires_approval: bool,
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Execution timeout in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_config: Option<RetryConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Build the platform request and store it instead of sending it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Another action to run if this one fails for good (queued by a later issue's flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Value>,
    /// This action is the fallback of that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_of: Option<String>,
    /// The fallback queued when this action failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_action_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The submitter's `context`, kept for debugging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// The approval this action is (or was) held for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// Digest of the data as approved: the executor refuses to run anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_digest: Option<String>,
    /// When the approval released it into the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<Utc>>,
    /// This Slack action posts (or updates) the message of that approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_of: Option<String>,
    /// This action undoes what its workflow step (`step`) did: a compensation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub compensates: bool,
    /// This action is a replay of that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// The replays of this action, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replayed_by: Vec<String>,
    /// Why it was cancelled, when someone said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// Feedback on what it did, newest first (at most [`MAX_FEEDBACKS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<Feedback>,

    // --- lifecycle ---
    pub status: Status,
    /// Incremented by every write; the store's conditional writes are pinned to it.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Position and estimate given when the action was accepted.
    pub queue_position: u64,
    pub estimated_wait: u64,
    /// Earliest time a worker should pick it up (set by a retry's backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// Start of the first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_started_at: Option<DateTime<Utc>>,
    /// Start of the current (or last) attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Attempts started so far.
    #[serde(default)]
    pub attempts: u32,
    /// Retries scheduled so far (attempts after the first that a failure caused).
    #[serde(default)]
    pub retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub result_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
    /// Attempts cut short (a crash, a killed sandbox, an out-of-memory kill): their lease ran
    /// out, or a restart found them running. Bounded by [`MAX_INTERRUPTED`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted: u32,
    /// A token of the platform's bucket reserved for this action at a set time: when it comes
    /// back then, it goes without taking another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
    /// The fallback is named (`fallbackActionId`) but not yet known to be submitted: the item
    /// stays in the pending index until it is, so a crash in between cannot lose it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fallback_pending: bool,
    /// When the scheduler last re-sent this action's work item (at most once per period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redriven_at: Option<DateTime<Utc>>,
    /// Duration of the attempt that ended the action, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<u64>,
    /// Time from acceptance to the first attempt, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_time: Option<u64>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Attempts that may be cut short before the action fails instead of looping forever.
pub const MAX_INTERRUPTED: u32 = 3;

/// A reserved token: bucket `key` owes this action one call at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    pub key: String,
    pub at: DateTime<Utc>,
}

/// Results larger than this are stored truncated (DESIGN §5).
pub const MAX_STORED_RESULT_BYTES: usize = 64 * 1024;

/// Why a transition was refused: the action is not in a state that allows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("action {id} is {status}, which does not allow {wanted}")]
pub struct TransitionRefused {
    pub id: String,
    pub status: Status,
    pub wanted: &'static str,
}

/// What travels on a queue: "work on action X" — never the action itself (the table is the truth).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItem {
    pub action_id: String,
    pub priority: Priority,
    /// The action as it was queued, only on a queue inside this process (`baton serve`): the
    /// executor may lease from it without reading the table first. Every write from it is
    /// still pinned to its version, and a lost race reads the table. Never sent over SQS (a
    /// message's content is not trusted as an action's).
    #[serde(skip)]
    pub snapshot: Option<std::sync::Arc<Action>>,
}

impl WorkItem {
    pub fn new(action_id: impl Into<String>, priority: Priority) -> Self {
        Self { action_id: action_id.into(), priority, snapshot: None }
    }

    /// The item of an action just stored, carrying its image.
    pub fn of(action: &Action) -> Self {
        Self {
            action_id: action.id.clone(),
            priority: action.priority,
            snapshot: Some(std::sync::Arc::new(action.clone())),
        }
    }
}

/// Items are the same work whatever image they carry.
impl PartialEq for WorkItem {
    fn eq(&self, other: &Self) -> bool {
        self.action_id == other.action_id && self.priority == other.priority
    }
}

impl Eq for WorkItem {}

mod feedback;
mod lifecycle;
pub use feedback::{Feedback, FeedbackOutcome, MAX_FEEDBACKS};
#[cfg(test)]
mod tests;
