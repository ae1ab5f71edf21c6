//! What happens next in a workflow: fold in how a step's action ended ([`Workflow::record`]),
//! then [`Workflow::plan`] decides, from the record alone, which steps start, which are
//! skipped, which success is undone next, and when the workflow is over.
//!
//! Pure; the use case writes the new image conditionally and then submits what it launched
//! (idempotently, by the steps' deterministic ids), so running it twice starts nothing twice.

use chrono::{DateTime, Utc};

use super::{Compensation, StepStatus, Workflow, WorkflowStatus};
use crate::error::ErrorCode;
use crate::model::{Action, ActionError, Status};

/// What the use case must submit after writing the planned image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// The step (by index) is due: resolve its references and submit its action.
    Step(usize),
    /// The step's success is the next to undo: submit its compensation.
    Compensate(usize),
}

const QUEUED: &str = "queued";

fn error_of(action: &Action) -> ActionError {
    action.error.clone().unwrap_or_else(|| ActionError {
        code: ErrorCode::UnknownError,
        message: format!("the step's action ended {}", action.status),
        retriable: false,
    })
}

impl Workflow {
    /// Folds in the end of one of its step actions or compensations. `false` when there is
    /// nothing new in it (not terminal, not this workflow's, or recorded already).
    pub fn record(&mut self, action: &Action, now: DateTime<Utc>) -> bool {
        if !action.status.is_terminal() || action.workflow_id.as_deref() != Some(self.id.as_str()) {
            return false;
        }
        let Some(i) = action.step.as_deref().and_then(|s| self.index_of(s)) else { return false };
        let step = &mut self.steps[i];
        if action.compensates {
            let Some(c) = step.compensation.as_mut().filter(|c| c.action_id == action.id && c.status == QUEUED) else {
                return false;
            };
            if action.status == Status::Success {
                c.status = "success".into();
                step.status = StepStatus::Compensated;
            } else {
                c.status = "failed".into();
                c.error = Some(error_of(action));
                step.status = StepStatus::CompensationFailed;
            }
            return true;
        }
        if step.action_id != action.id || step.status.is_final() {
            return false;
        }
        step.submitted = true;
        step.finished_at = Some(now);
        match action.status {
            Status::Success => {
                step.status = StepStatus::Success;
                step.succeeded_seq = Some(self.successes);
                self.successes += 1;
            }
            Status::Cancelled => step.status = StepStatus::Cancelled,
            _ => {
                step.status = StepStatus::Failed;
                step.error = Some(error_of(action));
            }
        }
        true
    }

    /// A step that fails before its action exists (a reference without a value).
    pub fn fail_step(&mut self, i: usize, error: ActionError, now: DateTime<Utc>) {
        let step = &mut self.steps[i];
        step.status = StepStatus::Failed;
        step.error = Some(error);
        step.finished_at = Some(now);
    }

    /// Notes its compensation as submitted.
    pub fn compensating(&mut self, i: usize, compensation: Compensation) {
        self.steps[i].compensation = Some(compensation);
    }

    /// Asks it to stop: no new step starts. `false` when it is over (or stopping) already.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> bool {
        if self.status.is_terminal() || self.cancelled_at.is_some() {
            return false;
        }
        self.cancelled_at = Some(now);
        true
    }

    /// Decides, from the record, what happens next, and changes the record to match: due steps
    /// become `queued`, unreachable ones `skipped` (or `cancelled`), the workflow's status
    /// follows. Returns what the caller must submit.
    pub fn plan(&mut self, now: DateTime<Utc>) -> Vec<Launch> {
        if self.status.is_terminal() {
            return Vec::new();
        }
        if self.failed_step.is_none()
            && let Some(failed) = self.steps.iter().find(|s| s.status == StepStatus::Failed)
        {
            self.failed_step = Some(failed.name.clone());
            self.error = failed.error.clone();
        }
        let cancelling = self.cancelled_at.is_some();
        let stopping = self.transactional && (self.failed_step.is_some() || cancelling);
        if stopping {
            self.status = WorkflowStatus::RollingBack;
        }
        self.settle_waiting(stopping, cancelling);
        let mut launches = Vec::new();
        if !stopping && !cancelling {
            for i in 0..self.steps.len() {
                let step = &self.steps[i];
                let ready = step.status == StepStatus::Waiting
                    && step.depends_on.iter().all(|d| self.step(d).is_some_and(|s| s.status == StepStatus::Success));
                if ready {
                    self.steps[i].status = StepStatus::Queued;
                    launches.push(Launch::Step(i));
                }
            }
        }
        if !launches.is_empty() || self.steps.iter().any(|s| s.status.in_flight()) {
            return launches;
        }
        if stopping {
            if self.steps.iter().any(|s| s.compensation.as_ref().is_some_and(|c| c.status == QUEUED)) {
                return Vec::new();
            }
            if let Some(next) = self.next_to_undo() {
                return vec![Launch::Compensate(next)];
            }
            let (_, not) = self.compensated();
            self.status = if not.is_empty() { WorkflowStatus::RolledBack } else { WorkflowStatus::RollbackFailed };
        } else {
            self.status = if self.steps.iter().all(|s| s.status == StepStatus::Success) {
                WorkflowStatus::Completed
            } else if cancelling {
                WorkflowStatus::Cancelled
            } else {
                WorkflowStatus::Failed
            };
        }
        self.completed_at = Some(now);
        Vec::new()
    }

    /// Waiting steps that can no longer run: all of them when stopping or cancelling, else
    /// those below a step that did not succeed (to a fixpoint: skips cascade).
    fn settle_waiting(&mut self, stopping: bool, cancelling: bool) {
        loop {
            let mut changed = false;
            for i in 0..self.steps.len() {
                if self.steps[i].status != StepStatus::Waiting {
                    continue;
                }
                let blocked = self.steps[i].depends_on.iter().any(|d| {
                    self.step(d).is_some_and(|s| {
                        matches!(s.status, StepStatus::Failed | StepStatus::Skipped | StepStatus::Cancelled)
                    })
                });
                let next = if cancelling {
                    StepStatus::Cancelled
                } else if stopping || blocked {
                    StepStatus::Skipped
                } else {
                    continue;
                };
                self.steps[i].status = next;
                changed = true;
            }
            if !changed {
                return;
            }
        }
    }

    /// The latest success not yet undone that has an effect to undo (a dry run and a query
    /// change nothing).
    fn next_to_undo(&self) -> Option<usize> {
        if self.dry_run {
            return None;
        }
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.status == StepStatus::Success && s.compensation.is_none() && !s.not_compensable)
            .filter(|(_, s)| s.action.get("type").and_then(|t| t.as_str()) != Some("query"))
            .max_by_key(|(_, s)| s.succeeded_seq)
            .map(|(i, _)| i)
    }
}
