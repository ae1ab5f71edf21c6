//! `Reactor`: what a change of the actions table sets in motion besides its events — an
//! approval's Slack request that ended is recorded on the approval (so `approval:pending`
//! goes out with its ts), and a workflow step (or compensation) that ended advances its
//! workflow. Locally the change feed calls it; on AWS the stream function, for the same
//! records it derives events from. Every reaction is idempotent: records come at least once.
//!
//! Must not import any adapter crate.

use crate::error::DomainError;
use crate::model::Action;
use crate::usecases::approvals::Approvals;
use crate::usecases::workflows::Workflows;

#[derive(Clone)]
pub struct Reactor {
    pub approvals: Approvals,
    pub workflows: Workflows,
}

impl Reactor {
    /// Whether this change calls for a reaction (cheap: decides what is handed over at all).
    pub fn wants(old: Option<&Action>, new: &Action) -> bool {
        (new.notice_of.is_some() || new.workflow_id.is_some())
            && new.status.is_terminal()
            && old.is_none_or(|o| !o.status.is_terminal())
    }

    pub async fn react(&self, old: Option<&Action>, new: &Action) -> Result<(), DomainError> {
        if !Self::wants(old, new) {
            return Ok(());
        }
        if new.notice_of.is_some() {
            self.approvals.on_notice_finished(new).await?;
        }
        if new.workflow_id.is_some() {
            self.workflows.on_action(new).await?;
        }
        Ok(())
    }
}
