//! `workflow:*` events, from a workflow's change (called by the one derivation,
//! [`super::derive_events`]) and, for `workflow:step`, from its step actions' changes.
//! Pure; must not import any adapter crate.

use serde_json::{Value, json};

use super::*;
use crate::model::{Action, Status};
use crate::workflow::{StepStatus, Workflow, WorkflowStatus};

fn workflow_event(name: &str, new: &Workflow, suffix: &str, data: Value) -> Event {
    Event {
        event: name.to_owned(),
        data,
        id: format!("{}:{}:{name}{suffix}", new.id, new.version),
        ts: timestamp(new.updated_at),
        platform: None,
    }
}

fn step_payload(workflow_id: &str, step: &str, action_id: &str, status: &str, ts: &str) -> Value {
    json!({"workflowId": workflow_id, "step": step, "actionId": action_id, "status": status, "timestamp": ts})
}

/// The step status an action's own status means.
fn step_word(status: Status) -> StepStatus {
    match status {
        Status::PendingApproval => StepStatus::PendingApproval,
        Status::Queued | Status::Retrying => StepStatus::Queued,
        Status::Executing => StepStatus::Executing,
        Status::Success => StepStatus::Success,
        Status::Cancelled => StepStatus::Cancelled,
        Status::Failed | Status::Rejected | Status::Expired => StepStatus::Failed,
    }
}

/// `workflow:step` for a step action whose status changed (compensations show on their
/// workflow's change instead).
pub fn step_event(old: Option<&Action>, new: &Action) -> Option<Event> {
    let (Some(workflow_id), Some(step)) = (&new.workflow_id, &new.step) else { return None };
    let word = step_word(new.status);
    if new.compensates || old.is_some_and(|o| step_word(o.status) == word) {
        return None;
    }
    let ts = timestamp(new.updated_at);
    Some(Event {
        event: WORKFLOW_STEP.to_owned(),
        data: step_payload(workflow_id, step, &new.id, word.as_str(), &ts),
        id: format!("{}:{}:{WORKFLOW_STEP}", new.id, new.version),
        ts,
        platform: Some(new.platform),
    })
}

/// The events of a workflow's change.
pub fn workflow_events(old: Option<&Workflow>, new: &Workflow) -> Vec<Event> {
    if old.is_some_and(|o| o.version >= new.version) {
        return Vec::new();
    }
    let ts = timestamp(new.updated_at);
    let mut events = Vec::new();
    let Some(old) = old else {
        let steps: Vec<_> = new.steps.iter().map(|s| json!({"name": s.name, "actionId": s.action_id})).collect();
        events.push(workflow_event(
            WORKFLOW_STARTED,
            new,
            "",
            json!({"workflowId": new.id, "name": new.name, "transactional": new.transactional,
                "dryRun": new.dry_run, "steps": steps, "timestamp": ts}),
        ));
        return events;
    };
    // Steps whose change no action of theirs shows: skipped, cancelled before they ran,
    // failed before their action existed, and the compensations' outcomes.
    for (s, before) in new.steps.iter().zip(&old.steps) {
        let shown_by_action =
            s.submitted && !matches!(s.status, StepStatus::Compensated | StepStatus::CompensationFailed);
        if s.status != before.status && s.status.is_final() && !shown_by_action {
            events.push(workflow_event(
                WORKFLOW_STEP,
                new,
                &format!(":{}", s.name),
                step_payload(&new.id, &s.name, &s.action_id, s.status.as_str(), &ts),
            ));
        }
    }
    let was_failing = old.failed_step.is_some()
        && (old.status == WorkflowStatus::RollingBack || old.status == WorkflowStatus::Failed);
    let failing =
        matches!(new.status, WorkflowStatus::Failed | WorkflowStatus::RollingBack) && new.failed_step.is_some();
    if failing && !was_failing {
        events.push(workflow_event(
            WORKFLOW_FAILED,
            new,
            "",
            json!({"workflowId": new.id, "name": new.name, "failedStep": new.failed_step, "error": new.error,
                "transactional": new.transactional, "timestamp": ts}),
        ));
    }
    if new.status != old.status {
        let (compensated, not) = new.compensated();
        let done = match new.status {
            WorkflowStatus::Completed => Some((
                WORKFLOW_COMPLETED,
                json!({"workflowId": new.id, "name": new.name,
                "steps": new.steps.len(), "duration": (new.updated_at - new.created_at).num_milliseconds(), "timestamp": ts}),
            )),
            WorkflowStatus::RolledBack | WorkflowStatus::RollbackFailed => Some((
                WORKFLOW_ROLLED_BACK,
                json!({
                "workflowId": new.id, "name": new.name, "status": new.status, "failedStep": new.failed_step,
                "compensated": compensated, "notCompensated": not, "timestamp": ts}),
            )),
            WorkflowStatus::Cancelled => Some((
                WORKFLOW_CANCELLED,
                json!({"workflowId": new.id, "name": new.name,
                "timestamp": ts}),
            )),
            _ => None,
        };
        if let Some((name, data)) = done {
            events.push(workflow_event(name, new, "", data));
        }
    }
    events
}
