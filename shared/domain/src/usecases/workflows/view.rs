//! What `GET /api/workflows/{id}` shows: the record, with each submitted step's live state,
//! result and error read from its action.

use serde::Serialize;
use serde_json::Value;

use super::Workflows;
use crate::error::DomainError;
use crate::events::timestamp;
use crate::model::{Action, ActionError, Status};
use crate::workflow::{Compensation, Step, StepStatus, Workflow, WorkflowStatus};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView {
    pub workflow_id: String,
    pub name: Option<String>,
    pub status: WorkflowStatus,
    pub transactional: bool,
    pub idempotency_key: Option<String>,
    pub context: Option<Value>,
    pub dry_run: bool,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub failed_step: Option<String>,
    pub error: Option<ActionError>,
    pub compensated: Vec<String>,
    pub not_compensated: Vec<String>,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    pub name: String,
    pub action_id: String,
    pub depends_on: Vec<String>,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compensation: Option<Compensation>,
}

/// A step's status as its action shows it now (the record catches up when the change feed
/// delivers the action's end).
fn live(step: &Step, action: Option<&Action>) -> StepStatus {
    match (step.status, action) {
        (s, Some(a)) if s.in_flight() => match a.status {
            Status::PendingApproval => StepStatus::PendingApproval,
            Status::Executing => StepStatus::Executing,
            Status::Queued | Status::Retrying => StepStatus::Queued,
            Status::Success => StepStatus::Success,
            Status::Cancelled => StepStatus::Cancelled,
            Status::Failed | Status::Rejected | Status::Expired => StepStatus::Failed,
        },
        (s, _) => s,
    }
}

impl WorkflowView {
    /// The view of `w`, with `actions[i]` the action of step `i` where it was read.
    pub fn of(w: &Workflow, actions: &[Option<Action>]) -> Self {
        let (compensated, not) = w.compensated();
        let steps = w
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let a = actions.get(i).and_then(Option::as_ref);
                StepView {
                    name: s.name.clone(),
                    action_id: s.action_id.clone(),
                    depends_on: s.depends_on.clone(),
                    status: live(s, a),
                    result: a.and_then(|a| a.result.clone()),
                    error: s.error.clone().or_else(|| a.and_then(|a| a.error.clone())),
                    started_at: a.and_then(|a| a.first_started_at).map(timestamp),
                    completed_at: a.and_then(|a| a.completed_at).or(s.finished_at).map(timestamp),
                    compensation: s.compensation.clone(),
                }
            })
            .collect();
        Self {
            workflow_id: w.id.clone(),
            name: w.name.clone(),
            status: w.status,
            transactional: w.transactional,
            idempotency_key: w.idempotency_key.clone(),
            context: w.context.clone(),
            dry_run: w.dry_run,
            created_at: timestamp(w.created_at),
            updated_at: timestamp(w.updated_at),
            completed_at: w.completed_at.map(timestamp),
            cancelled_at: w.cancelled_at.map(timestamp),
            failed_step: w.failed_step.clone(),
            error: w.error.clone(),
            compensated: compensated.into_iter().map(str::to_owned).collect(),
            not_compensated: not.into_iter().map(str::to_owned).collect(),
            steps,
        }
    }
}

impl Workflows {
    pub(crate) async fn view(&self, w: Workflow) -> Result<WorkflowView, DomainError> {
        let mut actions = Vec::with_capacity(w.steps.len());
        for s in &w.steps {
            actions.push(if s.submitted { self.actions.get(&s.action_id).await? } else { None });
        }
        Ok(WorkflowView::of(&w, &actions))
    }
}
