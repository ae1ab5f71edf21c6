//! The workflow record: a DAG of steps, each an ordinary action, with what each step came to
//! and what undid it.
//!
//! Pure data ([`Workflow`]), step outputs ([`refs`]) and the one pure function that decides
//! what happens next ([`plan`]). The store writes each new image pinned to the version it came
//! from, so two steps finishing at once never both start the same successor. Must not import
//! any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{ActionError, string_enum};
use crate::validation::WorkflowRequest;

mod plan;
pub mod refs;
pub use plan::Launch;

#[cfg(test)]
mod tests;

/// The most steps one workflow may have.
pub const MAX_STEPS: usize = 100;
/// The longest step name.
pub const MAX_STEP_NAME: usize = 64;

/// Characters a step name may use (it is part of references and of action ids).
pub fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

string_enum!(
    /// Where a workflow is.
    WorkflowStatus {
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        RollingBack => "rolling_back",
        RolledBack => "rolled_back",
        RollbackFailed => "rollback_failed",
        Cancelled => "cancelled",
    }
);

impl WorkflowStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, WorkflowStatus::Running | WorkflowStatus::RollingBack)
    }
}

string_enum!(
    /// Where a step is. The record keeps `waiting`, `queued` (its action submitted) and the
    /// ends; `pending_approval` and `executing` are read from the step's action.
    StepStatus {
        Waiting => "waiting",
        Queued => "queued",
        PendingApproval => "pending_approval",
        Executing => "executing",
        Success => "success",
        Failed => "failed",
        Skipped => "skipped",
        Cancelled => "cancelled",
        Compensated => "compensated",
        CompensationFailed => "compensation_failed",
    }
);

impl StepStatus {
    /// Its action is submitted and has not ended.
    pub fn in_flight(self) -> bool {
        matches!(self, StepStatus::Queued | StepStatus::PendingApproval | StepStatus::Executing)
    }

    /// Done for good, one way or another.
    pub fn is_final(self) -> bool {
        !self.in_flight() && self != StepStatus::Waiting
    }
}

string_enum!(
    /// Where a compensation's action came from.
    CompensationSource {
        Rollback => "rollback",
        Inverse => "inverse",
    }
);

/// The action that undoes a succeeded step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Compensation {
    pub action_id: String,
    pub source: CompensationSource,
    /// `queued` while it runs, then `success` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
}

/// One step: an action (as submitted, references unresolved), what it waits for, and how far
/// it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    pub action: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Value>,
    pub action_id: String,
    pub status: StepStatus,
    /// Its action was submitted (a step that failed before, e.g. on a reference, has none).
    #[serde(default)]
    pub submitted: bool,
    /// Order of success among the workflow's steps: compensation runs in reverse of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_seq: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensation: Option<Compensation>,
    /// Succeeded, but nothing is known to undo it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_compensable: bool,
}

/// A workflow as Baton stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: WorkflowStatus,
    pub transactional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    #[serde(default)]
    pub dry_run: bool,
    pub steps: Vec<Step>,
    /// Digest of the submitted body: the same body again is a replay, another a conflict.
    pub fingerprint: String,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The first step that failed, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
    /// Successes so far (the next `succeeded_seq`).
    #[serde(default)]
    pub successes: u32,
}

impl Workflow {
    /// A new workflow from a valid request: every step waiting, with its action's id (given,
    /// or derived from the workflow id and the step name).
    pub fn new(id: String, request: WorkflowRequest, fingerprint: String, now: DateTime<Utc>) -> Self {
        let steps = request
            .steps
            .into_iter()
            .map(|s| Step {
                action_id: s
                    .action
                    .get("id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| step_action_id(&id, &s.name)),
                name: s.name,
                action: s.action,
                depends_on: s.depends_on,
                rollback: s.rollback,
                status: StepStatus::Waiting,
                submitted: false,
                succeeded_seq: None,
                finished_at: None,
                error: None,
                compensation: None,
                not_compensable: false,
            })
            .collect();
        Workflow {
            id,
            name: request.name,
            status: WorkflowStatus::Running,
            transactional: request.transactional,
            idempotency_key: request.idempotency_key,
            context: request.context,
            dry_run: request.dry_run,
            steps,
            fingerprint,
            version: 1,
            created_at: now,
            updated_at: now,
            completed_at: None,
            cancelled_at: None,
            failed_step: None,
            error: None,
            successes: 0,
        }
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }

    /// When the sweep should look at it next, while it is not finished.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        (!self.status.is_terminal()).then(|| self.updated_at + chrono::Duration::seconds(STALE_SECS))
    }

    /// Names of the steps that were undone, and of those that could not be.
    pub fn compensated(&self) -> (Vec<&str>, Vec<&str>) {
        let done = self.steps.iter().filter(|s| s.status == StepStatus::Compensated).map(|s| s.name.as_str());
        let not = self
            .steps
            .iter()
            .filter(|s| {
                s.status == StepStatus::CompensationFailed || (s.not_compensable && s.status == StepStatus::Success)
            })
            .map(|s| s.name.as_str());
        (done.collect(), not.collect())
    }
}

/// A workflow not written for this long is looked at by the sweep (a lost reaction, a crash).
pub const STALE_SECS: i64 = 30;

/// The deterministic id of a step's action: from the workflow id and the step name.
pub fn step_action_id(workflow_id: &str, step: &str) -> String {
    let id = format!("{workflow_id}.{step}");
    if id.len() <= 100 { id } else { format!("wfs-{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, id.as_bytes())) }
}

/// The deterministic id of the action that undoes a step.
pub fn compensation_id(step_action_id: &str) -> String {
    let id = format!("{step_action_id}.undo");
    if id.len() <= 100 { id } else { format!("wfc-{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, id.as_bytes())) }
}
