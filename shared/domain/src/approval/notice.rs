//! The Slack actions an approval sends: the request (the platform client's `approve`
//! operation, with Approve / Reject buttons) and, once resolved, the update of that message
//! in place. They are ordinary actions, so the rate limit, breaker and retries apply.
//!
//! Pure; must not import any adapter crate.

use serde_json::{Value, json};

use super::{Approval, ApprovalStatus};
use crate::events::timestamp;

/// The most preview lines summarised in a Slack message.
const SUMMARY_LINES: usize = 5;
const SUMMARY_BODY_CHARS: usize = 600;

/// One line per platform request of the preview: method, URL and an excerpt of the body.
pub fn preview_summary(preview: &Value) -> String {
    let requests: Vec<&Value> = match (preview.get("request"), preview.get("requests")) {
        (Some(r), _) => vec![r],
        (None, Some(Value::Array(all))) => all.iter().map(|r| r.get("request").unwrap_or(r)).collect(),
        _ => Vec::new(),
    };
    if requests.is_empty() {
        return "(no request preview)".into();
    }
    let mut lines: Vec<String> = requests
        .iter()
        .take(SUMMARY_LINES)
        .map(|r| {
            let method = r.get("method").and_then(Value::as_str).unwrap_or("?");
            let url = r.get("url").and_then(Value::as_str).unwrap_or("?");
            let body = match r.get("body") {
                None | Some(Value::Null) => String::new(),
                Some(b) => {
                    let text = b.to_string();
                    let mut cut: String = text.chars().take(SUMMARY_BODY_CHARS).collect();
                    if cut.len() < text.len() {
                        cut.push('…');
                    }
                    format!(" {cut}")
                }
            };
            format!("{method} {url}{body}")
        })
        .collect();
    if requests.len() > SUMMARY_LINES {
        lines.push(format!("… and {} more requests", requests.len() - SUMMARY_LINES));
    }
    lines.join("\n")
}

/// The action that posts the request to `channel`.
pub fn request_notice(a: &Approval, channel: &str) -> Value {
    let held = &a.action;
    json!({
        "id": a.request_notice_id(),
        "type": "approve",
        "platform": "slack",
        "priority": held.priority,
        "correlationId": held.correlation_id,
        "data": {
            "channel": channel,
            "reason": a.reason,
            "action": {"id": held.id, "type": held.action_type, "platform": held.platform,
                       "priority": held.priority, "data": held.data},
            "approvalId": a.id,
            "approvers": a.approvers,
            "requiredApprovals": a.required_approvals,
            "expiresAt": timestamp(a.expires_at),
            "summary": preview_summary(&a.preview),
        }
    })
}

fn outcome_line(a: &Approval) -> String {
    let when = timestamp(a.resolved_at.unwrap_or(a.updated_at));
    let who = a.resolved_by.as_deref().map(|u| format!(" by <@{u}>")).unwrap_or_default();
    let why = a.resolution_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    let word = match a.status {
        ApprovalStatus::Approved => "Approved",
        ApprovalStatus::Rejected => "Rejected",
        ApprovalStatus::Expired => "Expired",
        ApprovalStatus::Cancelled => "Cancelled",
        ApprovalStatus::Pending => "Pending",
    };
    format!("{word}{who} at {when}{why}")
}

/// The action that updates the posted request in place once the approval is resolved: the
/// outcome, who, when, and no buttons. `None` while there is no message to update.
pub fn outcome_notice(a: &Approval) -> Option<Value> {
    let (channel, ts) = (a.slack_channel_id.as_ref()?, a.slack_message_ts.as_ref()?);
    if !a.status.is_resolved() {
        return None;
    }
    let held = &a.action;
    let what = format!("{} on {} ({} priority)", held.action_type, held.platform, held.priority);
    let outcome = outcome_line(a);
    Some(json!({
        "id": a.update_notice_id(),
        "type": "update",
        "platform": "slack",
        "priority": held.priority,
        "correlationId": held.correlation_id,
        "data": {
            "channel": channel,
            "ts": ts,
            "text": format!("{outcome}. {what}. {}", a.reason),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{what}*\n{}", a.reason)}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]}
            ]
        }
    }))
}
