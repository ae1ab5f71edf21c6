//! The action model: the contract's Action schema plus Baton's lifecycle.
//!
//! Pure data and pure transitions. Nothing here talks to a store, a queue or a network;
//! it must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

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

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

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

fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    (to - from).num_milliseconds().max(0) as u64
}

impl Action {
    /// A freshly accepted action: `queued`, version 1, nothing run yet.
    pub fn accepted(
        new: crate::validation::NewAction,
        context: Option<Value>,
        now: DateTime<Utc>,
        queue_position: u64,
        estimated_wait: u64,
    ) -> Action {
        Action {
            id: new.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            action_type: new.action_type,
            platform: new.platform,
            priority: new.priority,
            requires_approval: new.requires_approval,
            data: new.data,
            correlation_id: new.correlation_id,
            user_id: new.user_id,
            source: new.source,
            timeout: new.timeout,
            retry_config: new.retry_config,
            tags: new.tags,
            dry_run: new.dry_run,
            fallback: new.fallback,
            fallback_of: new.fallback_of,
            fallback_action_id: None,
            workflow_id: new.workflow_id,
            step: new.step,
            context,
            status: Status::Queued,
            version: 1,
            created_at: now,
            updated_at: now,
            queue_position,
            estimated_wait,
            not_before: None,
            worker_id: None,
            lease_until: None,
            first_started_at: None,
            started_at: None,
            completed_at: None,
            attempts: 0,
            retries: 0,
            result: None,
            result_truncated: false,
            error: None,
            execution_time: None,
            queue_time: None,
        }
    }

    pub fn retry_config(&self) -> RetryConfig {
        self.retry_config.unwrap_or_default()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout.unwrap_or(DEFAULT_TIMEOUT_MS))
    }

    /// The time the action last became runnable: its acceptance, or the end of its backoff.
    pub fn ready_at(&self) -> DateTime<Utc> {
        self.not_before.unwrap_or(self.created_at)
    }

    fn bumped(&self, now: DateTime<Utc>) -> Action {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = now;
        next
    }

    /// Whether `worker` may take this action now: it is runnable, or a previous lease ran out.
    pub fn can_lease(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            Status::Queued | Status::Retrying => true,
            Status::Executing => self.lease_until.is_none_or(|until| until <= now),
            _ => false,
        }
    }

    /// `queued | retrying | expired executing → executing`, owned by `worker` until the lease ends.
    pub fn lease(&self, worker: &str, now: DateTime<Utc>, lease: Duration) -> Result<Action, TransitionRefused> {
        if !self.can_lease(now) {
            return Err(self.refuse("lease"));
        }
        let mut next = self.bumped(now);
        next.status = Status::Executing;
        next.worker_id = Some(worker.to_owned());
        next.lease_until = Some(now + lease);
        next.started_at = Some(now);
        next.first_started_at = Some(self.first_started_at.unwrap_or(now));
        next.queue_time = Some(millis_between(self.created_at, next.first_started_at.unwrap_or(now)));
        next.attempts = self.attempts + 1;
        next.not_before = None;
        Ok(next)
    }

    fn require_owned_by(&self, worker: &str, wanted: &'static str) -> Result<(), TransitionRefused> {
        if self.status == Status::Executing && self.worker_id.as_deref() == Some(worker) {
            Ok(())
        } else {
            Err(self.refuse(wanted))
        }
    }

    fn refuse(&self, wanted: &'static str) -> TransitionRefused {
        TransitionRefused { id: self.id.clone(), status: self.status, wanted }
    }

    fn finish(&self, now: DateTime<Utc>) -> Action {
        let mut next = self.bumped(now);
        next.lease_until = None;
        next.completed_at = Some(now);
        next.execution_time = self.started_at.map(|s| millis_between(s, now));
        next
    }

    /// `executing → success`, storing the platform's result (truncated beyond 64 KiB).
    pub fn succeed(&self, worker: &str, result: Value, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "success")?;
        let mut next = self.finish(now);
        next.status = Status::Success;
        next.error = None;
        let (result, truncated) = cap_result(result);
        next.result = Some(result);
        next.result_truncated = truncated;
        Ok(next)
    }

    /// `executing → failed` for good.
    pub fn fail(&self, worker: &str, error: ActionError, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "failure")?;
        let mut next = self.finish(now);
        next.status = Status::Failed;
        next.error = Some(error);
        Ok(next)
    }

    /// `executing → retrying`: the attempt failed and another one is due after `delay`.
    pub fn retry(
        &self,
        worker: &str,
        error: ActionError,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "retry")?;
        let mut next = self.bumped(now);
        next.status = Status::Retrying;
        next.retries = self.retries + 1;
        next.lease_until = None;
        next.worker_id = None;
        next.error = Some(error);
        next.execution_time = self.started_at.map(|s| millis_between(s, now));
        next.not_before = Some(now + delay);
        Ok(next)
    }

    /// `executing → retrying` for an attempt whose worker is known to be gone (a restart of
    /// the local runtime). Not counted as a retry: the platform never reported a failure.
    pub fn recover_interrupted(&self, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if self.status != Status::Executing {
            return Err(self.refuse("recovery"));
        }
        let mut next = self.bumped(now);
        next.status = Status::Retrying;
        next.lease_until = None;
        next.worker_id = None;
        next.not_before = Some(now);
        next.error = Some(ActionError {
            code: ErrorCode::UnknownError,
            message: "the worker stopped during this attempt; running it again".into(),
            retriable: true,
        });
        Ok(next)
    }

    /// A waiting action (`queued | retrying`) fails without being run: its platform stayed
    /// unavailable past the action's timeout.
    pub fn give_up(&self, error: ActionError, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if !self.status.is_runnable() {
            return Err(self.refuse("giving up"));
        }
        let mut next = self.bumped(now);
        next.status = Status::Failed;
        next.completed_at = Some(now);
        next.not_before = None;
        next.error = Some(error);
        Ok(next)
    }

    /// Any non-terminal state → `cancelled`.
    pub fn cancel(&self, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if self.status.is_terminal() {
            return Err(self.refuse("cancellation"));
        }
        let mut next = self.finish(now);
        next.execution_time = None;
        next.status = Status::Cancelled;
        Ok(next)
    }
}

/// Keeps a result under [`MAX_STORED_RESULT_BYTES`]; beyond it, keeps a prefix of its JSON text.
fn cap_result(result: Value) -> (Value, bool) {
    let text = result.to_string();
    if text.len() <= MAX_STORED_RESULT_BYTES {
        return (result, false);
    }
    let mut end = MAX_STORED_RESULT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (serde_json::json!({ "truncated": true, "bytes": text.len(), "prefix": &text[..end] }), true)
}

/// What travels on a queue: "work on action X" — never the action itself (the table is the truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItem {
    pub action_id: String,
    pub priority: Priority,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
