//! Decisions: approve (with an optional edit), reject, cancel. Each is a conditional write on
//! the approval's version; a write that loses reads the approval again and decides on what it
//! finds, so of any number of racing decisions exactly one resolves it.
//!
//! Must not import any adapter crate.

use std::time::Duration;
use tracing::warn;

use super::Approvals;
use crate::approval::{Approval, Decision, DecisionRequest, Refusal};
use crate::error::{DomainError, StoreError};

/// Conditional writes tried before a decision gives up on a contended approval.
const ATTEMPTS: usize = 12;

/// What a decision did: the approval as it is now, and the decision as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionAnswer {
    pub approval: Approval,
    /// `None` when nothing new was recorded (the same user approving the same data again).
    pub decision: Option<Decision>,
    pub resolved: bool,
}

fn refused(refusal: Refusal) -> DomainError {
    match refusal {
        Refusal::Resolved { id, status } => DomainError::AlreadyResolved { id, status: status.as_str().to_owned() },
        Refusal::NotAnApprover { .. } | Refusal::OwnAction { .. } => DomainError::Forbidden(refusal.to_string()),
        Refusal::Repeated { .. } | Refusal::NotAllowed { .. } => DomainError::Conflict(refusal.to_string()),
    }
}

/// A short random pause before reading a contended approval again.
async fn back_off(attempt: usize) {
    let ms = fastrand::u64(2..=10) * (attempt as u64 + 1);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl Approvals {
    /// Records `request` on approval `id`; resolves it when the decision does (a rejection, or
    /// the approval that completes the quorum), and carries the resolution out.
    pub async fn decide(&self, id: &str, request: DecisionRequest) -> Result<DecisionAnswer, DomainError> {
        for attempt in 0..ATTEMPTS {
            let current = self.get(id).await?;
            let now = self.clock.now();
            match current.refusal(&request, now) {
                Some(Refusal::Repeated { .. }) => {
                    return Ok(DecisionAnswer { approval: current, decision: None, resolved: false });
                }
                Some(refusal @ Refusal::Resolved { .. }) => {
                    // Overdue but not yet written so: expire it now rather than wait for the sweep.
                    if current.is_overdue(now) {
                        self.expire(&current, now).await;
                    }
                    return Err(refused(refusal));
                }
                Some(refusal) => return Err(refused(refusal)),
                None => {}
            }
            let edited = match &request.patch {
                None => None,
                Some(patch) => {
                    let mut data = current.action.data.clone();
                    json_patch::merge(&mut data, patch);
                    Self::revalidate(&current.action, &data, "patch")?;
                    let preview = self.preview(&current.action, &data, "patch").await?;
                    Some((data, preview))
                }
            };
            let outcome = current.record(&request, edited, now).map_err(refused)?;
            match self.approvals.replace(&current, &outcome.approval).await {
                Ok(()) => {
                    if outcome.resolved
                        && let Err(e) = self.settle(&outcome.approval).await
                    {
                        warn!(approval_id = id, error = %e, "resolution not carried out yet; the sweep finishes it");
                    }
                    let decision = outcome.approval.decisions.last().cloned();
                    return Ok(DecisionAnswer { approval: outcome.approval, decision, resolved: outcome.resolved });
                }
                Err(StoreError::Conflict) => back_off(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Conflict(format!("approval {id} is being decided by many at once; try again")))
    }

    /// Withdraws a pending approval: the action is cancelled and never runs.
    pub async fn cancel(&self, id: &str, by: Option<String>, reason: Option<String>) -> Result<Approval, DomainError> {
        for attempt in 0..ATTEMPTS {
            let current = self.get(id).await?;
            let next = current.cancel(by.clone(), reason.clone(), self.clock.now()).map_err(refused)?;
            match self.approvals.replace(&current, &next).await {
                Ok(()) => {
                    if let Err(e) = self.settle(&next).await {
                        warn!(approval_id = id, error = %e, "cancellation not carried out yet; the sweep finishes it");
                    }
                    return Ok(next);
                }
                Err(StoreError::Conflict) => back_off(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Conflict(format!("approval {id} is being changed by many at once; try again")))
    }

    /// Writes the expiry of an approval overdue at `now` and carries it out; a lost race is
    /// fine (the winner resolved it).
    pub(crate) async fn expire(&self, current: &Approval, now: chrono::DateTime<chrono::Utc>) -> Option<Approval> {
        let next = current.expire(now).ok()?;
        match self.approvals.replace(current, &next).await {
            Ok(()) => {
                if let Err(e) = self.settle(&next).await {
                    warn!(approval_id = %next.id, error = %e, "expiry not carried out yet; the sweep finishes it");
                }
                Some(next)
            }
            Err(StoreError::Conflict) => None,
            Err(e) => {
                warn!(approval_id = %current.id, error = %e, "expiry not written; the sweep retries");
                None
            }
        }
    }
}
