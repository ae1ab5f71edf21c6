//! `Workflows`: DAGs of ordinary actions — submit (idempotently), advance from the change
//! feed, cancel, compensate, read — on both paths, through the same calls.
//!
//! - here: submission, reads, cancel and the sweep;
//! - [`advance`]: fold a step's end into the record, plan, write conditionally, submit what
//!   the plan launched (steps and compensations, by deterministic ids: idempotent).
//!
//! Must not import any adapter crate.

mod advance;
mod view;

pub use view::{StepView, WorkflowView};

use serde::Serialize;
use std::sync::Arc;
use tracing::warn;

use crate::error::{DomainError, StoreError};
use crate::model::{Action, Status};
use crate::ports::{ActionStore, Clock, IdempotencyStore, KeyRecord, WorkflowStore};
use crate::usecases::approvals::Approvals;
use crate::usecases::idempotency::{KEY_TTL, derived_id, fingerprint};
use crate::usecases::submit::Submitter;
use crate::validation::WorkflowRequest;
use crate::workflow::{StepStatus, Workflow, WorkflowStatus};

#[derive(Clone)]
pub struct Workflows {
    pub workflows: Arc<dyn WorkflowStore>,
    /// The idempotency keys' items (conditional: two racing submissions make one workflow).
    pub keys: Arc<dyn IdempotencyStore>,
    pub actions: Arc<dyn ActionStore>,
    pub submitter: Submitter,
    /// Holds the steps that require approval.
    pub approvals: Approvals,
    pub clock: Arc<dyn Clock>,
}

/// The answer to a submission: `202` with the new workflow, or `200` with the original.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub workflow: Workflow,
    pub replayed: bool,
}

/// The `202` body: the workflow and its steps' action ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowReceipt {
    pub workflow_id: String,
    pub status: WorkflowStatus,
    pub steps: Vec<StepReceipt>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReceipt {
    pub name: String,
    pub action_id: String,
    pub status: StepStatus,
}

impl WorkflowReceipt {
    pub fn of(w: &Workflow) -> Self {
        Self {
            workflow_id: w.id.clone(),
            status: w.status,
            steps: w
                .steps
                .iter()
                .map(|s| StepReceipt { name: s.name.clone(), action_id: s.action_id.clone(), status: s.status })
                .collect(),
        }
    }
}

/// Which key item holds a workflow idempotency key.
fn key_item(key: &str) -> String {
    format!("workflow-key:{key}")
}

impl Workflows {
    /// A new workflow, its roots queued. The same `idempotencyKey` (or `workflowId`) with the
    /// same body is the original (`replayed`); with another body, `Duplicate`.
    pub async fn submit(&self, request: WorkflowRequest) -> Result<Submitted, DomainError> {
        let now = self.clock.now();
        let print = fingerprint(&request.body);
        let mut id = request.workflow_id.clone();
        if let Some(key) = &request.idempotency_key {
            let target = id.clone().unwrap_or_else(|| derived_id("wf", key));
            let record = KeyRecord { fingerprint: print.clone(), target: target.clone(), response: None };
            id = Some(match self.keys.claim(&key_item(key), &record, KEY_TTL).await? {
                None => target,
                Some(existing) if existing.fingerprint != print => {
                    return Err(DomainError::Duplicate(format!(
                        "idempotencyKey {key} was used for workflow {} with a different body",
                        existing.target
                    )));
                }
                Some(existing) => existing.target,
            });
        }
        let id = id.unwrap_or_else(|| format!("wf-{}", uuid::Uuid::new_v4()));
        let workflow = Workflow::new(id.clone(), request, print.clone(), now);
        let replayed = match self.workflows.insert(&workflow).await {
            Ok(()) => false,
            Err(StoreError::AlreadyExists) => {
                let existing = self.require(&id).await?;
                if existing.fingerprint != print {
                    return Err(DomainError::Duplicate(format!("workflow {id} exists with a different body")));
                }
                true
            }
            Err(e) => return Err(e.into()),
        };
        // Queues the roots (a replay finishes what a crashed first submission left undone).
        let workflow = self.advance(&id, None).await?;
        Ok(Submitted { workflow, replayed })
    }

    async fn require(&self, id: &str) -> Result<Workflow, DomainError> {
        self.workflows.get(id).await?.ok_or_else(|| DomainError::NotFound(format!("workflow {id}")))
    }

    /// One workflow with its steps' live state, results and errors.
    pub async fn get(&self, id: &str) -> Result<WorkflowView, DomainError> {
        let workflow = self.require(id).await?;
        self.view(workflow).await
    }

    /// The newest workflows, from the record alone.
    pub async fn list(&self, status: Option<WorkflowStatus>, limit: usize) -> Result<Vec<Workflow>, DomainError> {
        Ok(self.workflows.recent(status, limit).await?)
    }

    /// Stops it: waiting steps are cancelled, queued ones too (held ones with their approval),
    /// running ones finish; a transactional workflow then undoes what succeeded.
    pub async fn cancel(&self, id: &str) -> Result<WorkflowView, DomainError> {
        let now = self.clock.now();
        loop {
            let old = self.require(id).await?;
            let mut next = old.clone();
            if !next.cancel(now) {
                if old.status.is_terminal() {
                    return Err(DomainError::Conflict(format!("workflow {id} is already {}", old.status)));
                }
                break;
            }
            next.version += 1;
            next.updated_at = now;
            match self.workflows.replace(&old, &next).await {
                Ok(()) => break,
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let workflow = self.advance(id, None).await?;
        for step in workflow.steps.iter().filter(|s| s.status.in_flight() && s.submitted) {
            if let Err(e) = self.stop_action(&step.action_id).await {
                warn!(workflow_id = %id, step = %step.name, error = %e, "could not cancel the step's action");
            }
        }
        self.get(id).await
    }

    /// Cancels an action that has not started (a held one with its approval).
    async fn stop_action(&self, action_id: &str) -> Result<(), DomainError> {
        for _ in 0..5 {
            let Some(action) = self.actions.get(action_id).await? else { return Ok(()) };
            if let Some(approval) = action.approval_id.clone().filter(|_| action.status == Status::PendingApproval) {
                return match self.approvals.cancel(&approval, None, Some("its workflow was cancelled".into())).await {
                    Ok(_) | Err(DomainError::AlreadyResolved { .. }) => Ok(()),
                    Err(e) => Err(e),
                };
            }
            if !action.status.is_runnable() {
                return Ok(());
            }
            let cancelled = action.cancel(self.clock.now()).map_err(|e| DomainError::Conflict(e.to_string()))?;
            match self.actions.replace(&action, &cancelled).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// What the change feed calls for a step action (or a compensation) that ended.
    pub async fn on_action(&self, action: &Action) -> Result<(), DomainError> {
        let Some(id) = action.workflow_id.as_deref() else { return Ok(()) };
        match self.advance(id, Some(action)).await {
            Ok(_) | Err(DomainError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Looks again at unfinished workflows nobody wrote for a while (a lost reaction, a
    /// crash): each is reconciled with its steps' actions. How many were looked at.
    pub async fn sweep(&self, until: chrono::DateTime<chrono::Utc>) -> Result<usize, DomainError> {
        let due = self.workflows.open(until, 100).await?;
        for w in &due {
            if let Err(e) = self.reconcile(w).await {
                warn!(workflow_id = %w.id, error = %e, "reconciling the workflow failed; the next sweep retries");
            }
        }
        Ok(due.len())
    }
}
