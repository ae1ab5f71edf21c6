//! Carrying out what an approval's state calls for, idempotently, so any step can be run
//! again after a crash: release or end the held action, update the Slack message, record the
//! posted request; and the sweep that expires overdue approvals and finishes the rest.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use std::time::Duration;
use tracing::{info, warn};

use super::Approvals;
use crate::approval::{Approval, ApprovalStatus, notice};
use crate::error::{DomainError, ErrorCode, StoreError};
use crate::model::{Action, ActionError, Status, WorkItem};
use crate::validation::{Submission, parse_action};

/// Approvals looked at per sweep page, and pages per sweep.
const SWEEP_PAGE: usize = 100;
const SWEEP_PAGES: usize = 10;
/// Conditional writes tried on one item before leaving it to the next sweep.
const ATTEMPTS: usize = 5;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub settled: usize,
    pub announced: usize,
    /// Steps that failed and are left to the next sweep.
    pub failed: usize,
}

fn ending(status: ApprovalStatus, a: &Approval) -> Option<(Status, ActionError)> {
    let (status, code, message) = match status {
        ApprovalStatus::Rejected => (
            Status::Rejected,
            ErrorCode::PermissionDenied,
            format!(
                "rejected by {}: {}",
                a.resolved_by.as_deref().unwrap_or("an approver"),
                a.resolution_reason.as_deref().unwrap_or("no reason given")
            ),
        ),
        ApprovalStatus::Expired => {
            (Status::Expired, ErrorCode::TimeoutError, "the approval expired without a decision".to_owned())
        }
        ApprovalStatus::Cancelled => {
            (Status::Cancelled, ErrorCode::PermissionDenied, "the approval was cancelled".into())
        }
        ApprovalStatus::Pending | ApprovalStatus::Approved => return None,
    };
    Some((status, ActionError { code, message, retriable: false }))
}

impl Approvals {
    /// Carries out a resolved approval: the held action is released into the queue with the
    /// approved data (approved) or ended (rejected, expired, cancelled); the Slack message, if
    /// one was posted, is updated; then the approval is marked settled.
    pub async fn settle(&self, approval: &Approval) -> Result<(), DomainError> {
        if !approval.status.is_resolved() || approval.settled {
            return Ok(());
        }
        self.store_held(approval).await?;
        self.conclude_action(approval).await?;
        if let Some(spec) = notice::outcome_notice(approval) {
            match parse_action(&spec, "notice") {
                Ok(new) => match self.submitter.ensure(Submission { action: new, context: None }).await {
                    Ok(_) | Err(DomainError::Duplicate(_)) => {}
                    Err(e) => return Err(e),
                },
                Err(e) => warn!(approval_id = %approval.id, error = ?e, "the Slack update is not a valid action"),
            }
        }
        let mut current = approval.clone();
        for _ in 0..ATTEMPTS {
            let Ok(next) = current.settle(self.clock.now()) else { return Ok(()) };
            match self.approvals.replace(&current, &next).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => match self.approvals.get(&approval.id).await? {
                    Some(again) => current = again,
                    None => return Ok(()),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Moves the held action out of `pending_approval` as the approval decided.
    async fn conclude_action(&self, approval: &Approval) -> Result<(), DomainError> {
        for _ in 0..ATTEMPTS {
            let Some(action) = self.actions.get(&approval.action_id).await? else { return Ok(()) };
            if action.approval_id.as_deref() != Some(approval.id.as_str()) || action.status != Status::PendingApproval {
                return Ok(());
            }
            let now = self.clock.now();
            let next = match ending(approval.status, approval) {
                None => action.release(approval.action.data.clone(), approval.digest.clone(), now),
                Some((status, error)) => action.end_hold(status, error, now),
            };
            let Ok(next) = next else { return Ok(()) };
            match self.actions.replace(&action, &next).await {
                Ok(()) => {
                    if next.status == Status::Queued {
                        self.enqueue(&next).await;
                    }
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn enqueue(&self, action: &Action) {
        let item = WorkItem::new(action.id.clone(), action.priority);
        if let Err(e) = self.submitter.queue.enqueue(item, Duration::ZERO).await {
            // Stored as queued: the re-drive delivers it.
            warn!(action_id = %action.id, error = %e, "queueing the approved action failed; it waits for re-drive");
        }
    }

    /// A Slack request action ended: record the posted message (or that there is none), so
    /// `approval:pending` goes out; a message posted after the resolution is then updated.
    pub async fn on_notice_finished(&self, notice: &Action) -> Result<(), DomainError> {
        let Some(id) = notice.notice_of.as_deref() else { return Ok(()) };
        let posted = match (notice.status, notice.result.as_ref()) {
            (Status::Success, Some(result)) => {
                let text = |k: &str| result.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
                text("channel").zip(text("ts"))
            }
            _ => None,
        };
        if posted.is_none() {
            warn!(approval_id = id, "the Slack request was not posted; the approval goes on over REST");
        }
        for _ in 0..ATTEMPTS {
            let Some(current) = self.approvals.get(id).await? else { return Ok(()) };
            let Ok(next) = current.announce(posted.clone(), self.clock.now()) else { return Ok(()) };
            match self.approvals.replace(&current, &next).await {
                Ok(()) => return self.settle(&next).await,
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Expires overdue approvals and finishes whatever is left of open ones: resolutions not
    /// carried out, Slack requests never submitted or whose end was not recorded. Reads only
    /// the approvals due by `now` from the sparse index.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport, DomainError> {
        let mut report = SweepReport::default();
        let mut after = None;
        for _ in 0..SWEEP_PAGES {
            let page = self.approvals.open(Some(now), SWEEP_PAGE, after).await?;
            for approval in page.items {
                self.sweep_one(approval, now, &mut report).await;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        if report != SweepReport::default() {
            info!(?report, "approvals swept");
        }
        Ok(report)
    }

    async fn sweep_one(&self, approval: Approval, now: DateTime<Utc>, report: &mut SweepReport) {
        if approval.is_overdue(now) {
            if self.expire(&approval, now).await.is_some() {
                report.expired += 1;
            }
            return;
        }
        let step = if approval.status.is_resolved() {
            report.settled += 1;
            self.settle(&approval).await
        } else if !approval.announced {
            self.follow_request(&approval, report).await
        } else {
            Ok(())
        };
        if let Err(e) = step {
            report.failed += 1;
            warn!(approval_id = %approval.id, error = %e, "approval step failed; the next sweep retries");
        }
    }

    /// A pending approval whose Slack request has not been recorded: store the held action if
    /// a crash left it out, submit the request if it never was, record its end if it ended.
    async fn follow_request(&self, approval: &Approval, report: &mut SweepReport) -> Result<(), DomainError> {
        self.store_held(approval).await?;
        match self.actions.get(&approval.request_notice_id()).await? {
            None => match approval.channel.as_deref() {
                Some(channel) => self.post_request(approval, channel).await,
                None => {
                    report.announced += 1;
                    self.record_unposted(approval).await?;
                }
            },
            Some(notice) if notice.status.is_terminal() => {
                report.announced += 1;
                self.on_notice_finished(&notice).await?;
            }
            Some(_) => {}
        }
        Ok(())
    }

    async fn record_unposted(&self, approval: &Approval) -> Result<(), DomainError> {
        if let Ok(next) = approval.announce(None, self.clock.now()) {
            match self.approvals.replace(approval, &next).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
