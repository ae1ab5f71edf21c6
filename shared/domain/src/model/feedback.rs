//! What the reasoning engine says of an action after the fact (the contract's `Feedback`),
//! kept on the action, newest first.
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Action;

string_enum!(
    /// How the action turned out for its user.
    FeedbackOutcome {
        Success => "success",
        Failure => "failure",
        Modified => "modified",
    }
);

/// The most feedbacks kept on one action (the oldest go first).
pub const MAX_FEEDBACKS: usize = 50;

/// One feedback, as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    pub outcome: FeedbackOutcome,
    /// 1 (poor) to 5 (excellent).
    pub execution_quality: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_modifications: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learning_points: Vec<String>,
    pub received_at: DateTime<Utc>,
}

impl Action {
    /// The action with `feedback` added first (any state: feedback is about what happened).
    pub fn with_feedback(&self, feedback: Feedback, now: DateTime<Utc>) -> Action {
        let mut next = self.bumped(now);
        next.feedback.insert(0, feedback);
        next.feedback.truncate(MAX_FEEDBACKS);
        next
    }
}
