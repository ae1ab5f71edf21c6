//! `approval:pending` and `approval:resolved`, from an approval's change (called by the one
//! derivation, [`super::derive_events`]). Pure; must not import any adapter crate.

use serde_json::{Value, json};

use super::*;
use crate::approval::{Approval, ApprovalStatus};

fn approval_event(name: &str, new: &Approval, data: Value) -> Event {
    Event {
        event: name.to_owned(),
        data,
        id: format!("{}:{}:{}", new.id, new.version, name),
        ts: timestamp(new.updated_at),
        platform: Some(new.platform()),
    }
}

/// The contract's `approval:pending`, plus what a decider needs to see: the preview of the
/// exact requests, who may decide and how many must.
pub fn pending_payload(a: &Approval) -> Value {
    json!({
        "approvalId": a.id,
        "actionId": a.action_id,
        "action": a.action,
        "reason": a.reason,
        "context": a.context,
        "slackMessageTs": a.slack_message_ts,
        "expiresAt": timestamp(a.expires_at),
        "preview": a.preview,
        "approvers": a.approvers,
        "requiredApprovals": a.required_approvals,
        "timestamp": timestamp(a.updated_at),
    })
}

/// The events of an approval's change: `approval:pending` when it is announced (once its
/// Slack message is posted, when there is one), `approval:resolved` when it leaves `pending`.
pub fn approval_events(old: Option<&Approval>, new: &Approval) -> Vec<Event> {
    if old.is_some_and(|o| o.version >= new.version) {
        return Vec::new();
    }
    let was_announced = old.is_some_and(|o| o.announced);
    let was_resolved = old.is_some_and(|o| o.status.is_resolved());
    let mut events = Vec::new();
    if new.announced && !was_announced && new.status == ApprovalStatus::Pending {
        events.push(approval_event(APPROVAL_PENDING, new, pending_payload(new)));
    }
    if new.status.is_resolved() && !was_resolved {
        events.push(approval_event(
            APPROVAL_RESOLVED,
            new,
            json!({
                "approvalId": new.id,
                "actionId": new.action_id,
                "status": new.status.event_word(),
                "resolvedBy": new.resolved_by,
                "reason": new.resolution_reason,
                "approvals": new.approvals().iter().map(|d| &d.user_id).collect::<Vec<_>>(),
                "timestamp": timestamp(new.resolved_at.unwrap_or(new.updated_at)),
            }),
        ));
    }
    events
}
