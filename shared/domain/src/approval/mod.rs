//! The approval record: an action held for people to decide on, the decisions they made,
//! and the exact requests it will send once approved.
//!
//! Pure data and pure transitions ([`transitions`]); the store writes each new image pinned
//! to the version it came from, so of two racing decisions exactly one lands. Must not
//! import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorCode;
use crate::model::{Action, ActionError, Platform};

pub mod notice;
mod transitions;
pub use transitions::{DecisionOutcome, Refusal};

#[cfg(test)]
mod tests;

/// The default time an approval waits for its decisions (the contract's default `timeout`).
pub const DEFAULT_APPROVAL_TIMEOUT_MS: u64 = 60 * 60 * 1000;
/// The shortest and longest `timeout` accepted.
pub const MIN_APPROVAL_TIMEOUT_MS: u64 = 1_000;
pub const MAX_APPROVAL_TIMEOUT_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// The most approvers one approval may name.
pub const MAX_APPROVERS: usize = 50;
/// The largest quorum when no approvers are named (any distinct users may decide).
pub const MAX_OPEN_QUORUM: u32 = 20;
/// How long after its request an approval not yet announced (its Slack message not yet
/// posted) is looked at again by the sweep.
pub const ANNOUNCE_CHECK_SECS: i64 = 30;

/// The reason recorded when an action asks for approval itself (`requiresApproval: true`).
pub const REASON_FROM_ACTION: &str = "approval requested by the action";

macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(
    /// `pending → approved | rejected | expired | cancelled`.
    ApprovalStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Expired => "expired",
        Cancelled => "cancelled",
    }
);

words!(
    /// What one person decided.
    Verdict {
        Approve => "approve",
        Reject => "reject",
    }
);

words!(
    /// Where a decision came from.
    Via {
        Rest => "rest",
        Slack => "slack",
    }
);

impl ApprovalStatus {
    pub fn is_resolved(self) -> bool {
        self != ApprovalStatus::Pending
    }

    /// The word `approval:resolved` uses (`timeout` for an expiry, as the contract spells it).
    pub fn event_word(self) -> &'static str {
        match self {
            ApprovalStatus::Expired => "timeout",
            other => other.as_str(),
        }
    }
}

/// One person's decision, kept on the record whatever became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub user_id: String,
    pub decision: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub via: Via,
    pub at: DateTime<Utc>,
    /// The JSON merge patch this decision applied to the action's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Value>,
    /// The digest of the data this decision saw: an approval counts toward the quorum only
    /// while the data is still what it approved.
    pub digest: String,
}

/// A decision as asked for, before it is checked against the record.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRequest {
    pub user_id: String,
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub patch: Option<Value>,
    pub via: Via,
}

/// An action held for approval, as stored in the approvals table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// `apv-<actionId>`.
    pub id: String,
    pub action_id: String,
    /// The held action as it will run if approved: its data carries every approved patch.
    pub action: Action,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// Slack user ids allowed to decide; empty: anyone with the `approvals:write` scope.
    #[serde(default)]
    pub approvers: Vec<String>,
    pub required_approvals: u32,
    /// The action's own `userId`: never an approver of it (four eyes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// The Slack channel the request goes to (none: REST only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Set once the Slack message is posted: the channel id Slack answered with and the
    /// message's ts, which `chat.update` needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_message_ts: Option<String>,
    pub status: ApprovalStatus,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    /// The exact platform request(s) the action sends (its dry run, secrets redacted).
    pub preview: Value,
    /// Digest of `action.data`: what executes must hash to this.
    pub digest: String,
    /// `approval:pending` has gone out (after the Slack post when there is one).
    #[serde(default)]
    pub announced: bool,
    /// Everything its resolution calls for is done (the action released or ended, the Slack
    /// message updated): it leaves the open index.
    #[serde(default)]
    pub settled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_reason: Option<String>,
    pub version: u64,
}

/// The id of the approval of action `action_id`: `apv-<actionId>`, short enough that the ids
/// of its Slack actions (`<approvalId>-request`, `-update`) are valid action ids too.
pub fn approval_id(action_id: &str) -> String {
    if action_id.len() <= 100 {
        format!("apv-{action_id}")
    } else {
        format!("apv-{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, action_id.as_bytes()))
    }
}

/// The digest of an action's data: hex SHA-256 of its JSON text (keys are kept sorted).
pub fn digest(data: &Value) -> String {
    crate::usecases::idempotency::fingerprint(data)
}

/// Why an action that was held for approval may not run: its data is not what was approved
/// (or it was never released). `None` for an action that was never held, or runs as approved.
pub fn unapproved(action: &Action) -> Option<ActionError> {
    action.approval_id.as_ref()?;
    if action.approved_digest.as_deref() == Some(digest(&action.data).as_str()) {
        return None;
    }
    Some(ActionError {
        code: ErrorCode::PermissionDenied,
        message: "the action's data is not what was approved; it is not run".into(),
        retriable: false,
    })
}

impl Approval {
    pub fn platform(&self) -> Platform {
        self.action.platform
    }

    /// The time the sweep must look at this approval next, while it is open: its expiry; a
    /// resolution not yet carried out, at once; an announcement still awaited, shortly.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        if self.settled {
            return None;
        }
        Some(match (self.status, self.announced) {
            (ApprovalStatus::Pending, true) => self.expires_at,
            (ApprovalStatus::Pending, false) => {
                (self.created_at + chrono::Duration::seconds(ANNOUNCE_CHECK_SECS)).min(self.expires_at)
            }
            _ => self.resolved_at.unwrap_or(self.updated_at),
        })
    }

    /// Distinct users whose approval counts now: they approved the data as it is.
    pub fn approvals(&self) -> Vec<&Decision> {
        let mut seen: Vec<&Decision> = Vec::new();
        for d in &self.decisions {
            if d.decision == Verdict::Approve && d.digest == self.digest && !seen.iter().any(|s| s.user_id == d.user_id)
            {
                seen.push(d);
            }
        }
        seen
    }

    /// The id of the Slack action that posts the request, and of the one that updates it.
    pub fn request_notice_id(&self) -> String {
        format!("{}-request", self.id)
    }

    pub fn update_notice_id(&self) -> String {
        format!("{}-update", self.id)
    }
}
