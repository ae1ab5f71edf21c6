//! The approval payloads: `action:requires_approval` (and `POST /api/approvals`), and the
//! decisions of `POST /api/approvals/{id}/approve|reject`. Errors name the field path.
//!
//! Pure; must not import any adapter crate.

use serde_json::Value;

use super::checker::{Checker, MAX_ID_LEN, kind};
use super::{NewAction, Submission, required_action};
use crate::approval::{
    DEFAULT_APPROVAL_TIMEOUT_MS, DecisionRequest, MAX_APPROVAL_TIMEOUT_MS, MAX_APPROVERS, MAX_OPEN_QUORUM,
    MIN_APPROVAL_TIMEOUT_MS, REASON_FROM_ACTION, Verdict, Via,
};
use crate::error::FieldError;

/// The longest reason kept.
pub const MAX_REASON_LEN: usize = 2_000;

/// A request for approval, parsed: the action to hold and who decides, how, by when.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    pub action: NewAction,
    pub reason: String,
    pub context: Option<Value>,
    pub approvers: Vec<String>,
    /// How long the approval waits, ms.
    pub timeout: u64,
    pub required_approvals: u32,
    /// The Slack channel for the request; `None`: the configured default.
    pub channel: Option<String>,
}

impl ApprovalRequest {
    /// An action submitted with `requiresApproval: true`: held with the defaults.
    pub fn for_action(submission: Submission) -> Self {
        Self {
            action: submission.action,
            reason: REASON_FROM_ACTION.to_owned(),
            context: submission.context,
            approvers: Vec::new(),
            timeout: DEFAULT_APPROVAL_TIMEOUT_MS,
            required_approvals: 1,
            channel: None,
        }
    }
}

const REQUEST_FIELDS: &[&str] =
    &["action", "reason", "context", "approvers", "timeout", "requiredApprovals", "channel", "correlationId"];

/// A Slack user id: `U` or `W`, then capital letters and digits.
pub fn is_slack_user_id(s: &str) -> bool {
    s.len() >= 2
        && s.len() <= 32
        && (s.starts_with('U') || s.starts_with('W'))
        && s[1..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn reason_text(c: &mut Checker<'_>, obj: &serde_json::Map<String, Value>, required: bool) -> Option<String> {
    let text = if required { c.req_str(obj, "reason") } else { c.opt_str(obj, "reason") }?;
    if text.chars().count() > MAX_REASON_LEN {
        c.err("reason", format!("must be at most {MAX_REASON_LEN} characters"));
        return None;
    }
    Some(text.to_owned())
}

/// Parses the `action:requires_approval` payload; paths are from its root.
pub fn parse_approval_request(body: &Value) -> Result<ApprovalRequest, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"action\": {...}, \"reason\": ...}")]);
    };
    let mut errors = Vec::new();
    let mut c = Checker { errors: &mut errors, prefix: String::new() };
    for key in obj.keys() {
        if !REQUEST_FIELDS.contains(&key.as_str()) {
            c.err(key, format!("unknown field; allowed: {}", REQUEST_FIELDS.join(", ")));
        }
    }
    let correlation = c.opt_id(obj, "correlationId");
    let reason = reason_text(&mut c, obj, true);
    let timeout = c.req_u64(obj, "timeout", MIN_APPROVAL_TIMEOUT_MS, MAX_APPROVAL_TIMEOUT_MS);
    let channel = c.opt_id(obj, "channel");
    let approvers = c.str_array(obj, "approvers", false).unwrap_or_default();
    if approvers.len() > MAX_APPROVERS {
        c.err("approvers", format!("at most {MAX_APPROVERS} approvers"));
    }
    for (i, id) in approvers.iter().enumerate() {
        if !is_slack_user_id(id) {
            c.err(&format!("approvers[{i}]"), "must be a Slack user id: U or W, then capital letters and digits");
        } else if approvers[..i].contains(id) {
            c.err(&format!("approvers[{i}]"), "is listed twice");
        }
    }
    let most = if approvers.is_empty() { u64::from(MAX_OPEN_QUORUM) } else { approvers.len() as u64 };
    let required = match obj.get("requiredApprovals") {
        None | Some(Value::Null) => Some(1),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| (1..=most).contains(&v)) => n.as_u64(),
        Some(Value::Number(_)) if !approvers.is_empty() => {
            c.err("requiredApprovals", format!("must be from 1 to the number of approvers ({most})"));
            None
        }
        Some(Value::Number(_)) => {
            c.err("requiredApprovals", format!("must be from 1 to {most}"));
            None
        }
        Some(other) => {
            c.err("requiredApprovals", format!("must be a number, got {}", kind(other)));
            None
        }
    };
    let context = obj.get("context").filter(|v| !v.is_null()).cloned();
    let action = required_action(obj.get("action"), &mut errors);
    match (action, reason, required) {
        (Some(mut action), Some(reason), Some(required)) if errors.is_empty() => {
            if action.correlation_id.is_none() {
                action.correlation_id = correlation;
            }
            Ok(ApprovalRequest {
                action,
                reason,
                context,
                approvers,
                timeout: timeout.unwrap_or(DEFAULT_APPROVAL_TIMEOUT_MS),
                required_approvals: required as u32,
                channel,
            })
        }
        _ => Err(errors),
    }
}

/// Parses the body of an approve or reject: `{userId, reason?, patch?}`. A rejection needs a
/// reason; only an approval may carry a patch (a JSON merge patch of the action's data).
pub fn parse_decision(body: &Value, verdict: Verdict) -> Result<DecisionRequest, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"userId\": ...}")]);
    };
    let mut errors = Vec::new();
    let mut c = Checker { errors: &mut errors, prefix: String::new() };
    let allowed: &[&str] = match verdict {
        Verdict::Approve => &["userId", "reason", "patch"],
        Verdict::Reject => &["userId", "reason"],
    };
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            c.err(key, format!("unknown field; allowed: {}", allowed.join(", ")));
        }
    }
    let user = c.req_str(obj, "userId").map(str::to_owned);
    if user.as_ref().is_some_and(|u| u.len() > MAX_ID_LEN) {
        c.err("userId", format!("must be at most {MAX_ID_LEN} characters"));
    }
    let reason = reason_text(&mut c, obj, verdict == Verdict::Reject);
    let patch = match obj.get("patch") {
        None | Some(Value::Null) => None,
        Some(p @ Value::Object(_)) => Some(p.clone()),
        Some(other) => {
            c.err("patch", format!("must be an object (a JSON merge patch of the action's data), got {}", kind(other)));
            None
        }
    };
    match user {
        Some(user_id) if errors.is_empty() => Ok(DecisionRequest { user_id, verdict, reason, patch, via: Via::Rest }),
        _ => Err(errors),
    }
}
