//! `Submitter`: stores a new action and queues it for its priority's workers.
//!
//! Must not import any adapter crate.

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tracing::{instrument, warn};

use crate::error::{DomainError, FieldError, StoreError};
use crate::model::{Action, Status, WorkItem};
use crate::policy::estimated_wait;
use crate::ports::{ActionQueue, ActionStore, Clock};
use crate::validation::{NewAction, Submission};

/// The answer to an accepted submission (`202`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub action_id: String,
    pub status: Status,
    pub queue_position: u64,
    pub estimated_wait: u64,
    /// The same action was accepted before under this id: this is its first receipt again.
    #[serde(skip)]
    pub replayed: bool,
}

impl Receipt {
    pub fn of(action: &Action, replayed: bool) -> Self {
        Self {
            action_id: action.id.clone(),
            status: if action.status.is_terminal() || action.status == Status::PendingApproval {
                action.status
            } else {
                Status::Queued
            },
            queue_position: action.queue_position,
            estimated_wait: action.estimated_wait,
            replayed,
        }
    }
}

/// Whether a stored action is the one `new` describes (a resubmission, not a conflict).
pub fn same_action(existing: &Action, new: &NewAction) -> bool {
    existing.action_type == new.action_type
        && existing.platform == new.platform
        && existing.priority == new.priority
        && existing.data == new.data
        && existing.dry_run == new.dry_run
        && existing.fallback == new.fallback
}

#[derive(Clone)]
pub struct Submitter {
    pub store: Arc<dyn ActionStore>,
    pub queue: Arc<dyn ActionQueue>,
    pub clock: Arc<dyn Clock>,
    /// The priorities whose first delivery the actions table's stream makes.
    pub handoff: super::Handoff,
}

impl Submitter {
    /// A new action; an id that is taken is `Duplicate`.
    pub async fn submit(&self, submission: Submission) -> Result<Receipt, DomainError> {
        self.accept(submission, false).await
    }

    /// The same, idempotently: if this very action was accepted under its id before (a
    /// redelivered message, a retried request, a fallback queued twice), its first receipt
    /// comes back with `replayed`. A different action under the id is still `Duplicate`.
    pub async fn ensure(&self, submission: Submission) -> Result<Receipt, DomainError> {
        self.accept(submission, true).await
    }

    #[instrument(skip_all, fields(platform = %submission.action.platform, priority = %submission.action.priority))]
    async fn accept(&self, submission: Submission, idempotent: bool) -> Result<Receipt, DomainError> {
        let new = submission.action;
        if new.requires_approval {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "action.requiresApproval",
                "approval holds are not available in this Baton version; submit with requiresApproval: false",
            )]));
        }
        let now = self.clock.now();
        let stats = self.queue.stats().await;
        let ahead = stats.depth[new.priority.index()];
        let wait = estimated_wait(ahead, stats.capacity[new.priority.index()], stats.avg_execution_ms);
        let wanted = idempotent.then(|| new.clone());
        let action = Action::accepted(new, submission.context, now, ahead + 1, wait);
        match self.store.insert(&action).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                if let Some(wanted) = wanted
                    && let Some(existing) = self.store.get(&action.id).await?
                    && same_action(&existing, &wanted)
                {
                    return Ok(Receipt::of(&existing, true));
                }
                return Err(DomainError::Duplicate(format!("action {} already exists", action.id)));
            }
            Err(e) => return Err(e.into()),
        }
        if self.handoff.covers(action.priority) {
            // Stored is accepted: the stream queues it, and the re-drive if the stream does not.
            return Ok(Receipt::of(&action, false));
        }
        let item = WorkItem::of(&action);
        if let Err(e) = self.queue.enqueue(item, Duration::ZERO).await {
            // The action is stored as queued: the re-drive (restart or scheduler) will deliver it.
            warn!(action_id = %action.id, error = %e, "queueing failed; the action waits for re-drive");
        }
        Ok(Receipt::of(&action, false))
    }
}
