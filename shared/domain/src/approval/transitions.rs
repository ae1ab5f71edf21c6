//! The approval's transitions: pure functions from one image to the next, each refusing what
//! its state does not allow. Must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;

/// Why a decision (or another transition) is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("approval {id} is {status}; it can no longer be decided")]
    Resolved { id: String, status: ApprovalStatus },
    #[error("{user} is not one of this approval's approvers")]
    NotAnApprover { user: String },
    #[error("{user} asked for this action and cannot approve it (four eyes)")]
    OwnAction { user: String },
    #[error("{user} has already approved this")]
    Repeated { user: String },
    #[error("approval {id} is {status}, which does not allow {wanted}")]
    NotAllowed { id: String, status: ApprovalStatus, wanted: &'static str },
}

/// What a recorded decision did.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionOutcome {
    pub approval: Approval,
    /// The decision resolved the approval (it may also have left it pending: a quorum).
    pub resolved: bool,
}

impl Approval {
    fn bumped(&self, now: DateTime<Utc>) -> Approval {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = now;
        next
    }

    fn not_allowed(&self, wanted: &'static str) -> Refusal {
        Refusal::NotAllowed { id: self.id.clone(), status: self.status, wanted }
    }

    /// Whether this approval is past its expiry and still undecided.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == ApprovalStatus::Pending && self.expires_at <= now
    }

    /// Why `request` may not be decided on this approval now, if it may not. An overdue
    /// approval counts as expired even before the sweep has written it so.
    pub fn refusal(&self, request: &DecisionRequest, now: DateTime<Utc>) -> Option<Refusal> {
        if self.status.is_resolved() || self.is_overdue(now) {
            let status = if self.status.is_resolved() { self.status } else { ApprovalStatus::Expired };
            return Some(Refusal::Resolved { id: self.id.clone(), status });
        }
        let user = &request.user_id;
        if !self.approvers.is_empty() && !self.approvers.contains(user) {
            return Some(Refusal::NotAnApprover { user: user.clone() });
        }
        if request.verdict == Verdict::Approve && self.requested_by.as_ref() == Some(user) {
            return Some(Refusal::OwnAction { user: user.clone() });
        }
        if request.verdict == Verdict::Approve
            && request.patch.is_none()
            && self.approvals().iter().any(|d| &d.user_id == user)
        {
            return Some(Refusal::Repeated { user: user.clone() });
        }
        None
    }

    /// Records `request`. `edited` is the action's data after the request's patch and the
    /// preview rendered from it (checked by the caller); an edit sets a new digest, so
    /// approvals of the data as it was no longer count.
    pub fn record(
        &self,
        request: &DecisionRequest,
        edited: Option<(Value, Value)>,
        now: DateTime<Utc>,
    ) -> Result<DecisionOutcome, Refusal> {
        if let Some(refusal) = self.refusal(request, now) {
            return Err(refusal);
        }
        let mut next = self.bumped(now);
        if let Some((data, preview)) = edited {
            next.digest = digest(&data);
            next.action.data = data;
            next.preview = preview;
        }
        next.decisions.push(Decision {
            user_id: request.user_id.clone(),
            decision: request.verdict,
            reason: request.reason.clone(),
            via: request.via,
            at: now,
            patch: request.patch.clone(),
            digest: next.digest.clone(),
        });
        let resolution = match request.verdict {
            Verdict::Reject => Some(ApprovalStatus::Rejected),
            Verdict::Approve if next.approvals().len() >= next.required_approvals as usize => {
                Some(ApprovalStatus::Approved)
            }
            Verdict::Approve => None,
        };
        if let Some(status) = resolution {
            next.resolve(status, Some(request.user_id.clone()), request.reason.clone(), now);
        }
        Ok(DecisionOutcome { approval: next, resolved: resolution.is_some() })
    }

    fn resolve(&mut self, status: ApprovalStatus, by: Option<String>, reason: Option<String>, now: DateTime<Utc>) {
        self.status = status;
        self.resolved_at = Some(now);
        self.resolved_by = by;
        self.resolution_reason = reason;
        self.settled = false;
    }

    /// `pending → expired`, once `expiresAt` has passed.
    pub fn expire(&self, now: DateTime<Utc>) -> Result<Approval, Refusal> {
        if !self.is_overdue(now) {
            return Err(self.not_allowed("expiry"));
        }
        let mut next = self.bumped(now);
        let reason = format!("no decision before {}", crate::events::timestamp(self.expires_at));
        next.resolve(ApprovalStatus::Expired, None, Some(reason), now);
        Ok(next)
    }

    /// `pending → cancelled`: the request is withdrawn.
    pub fn cancel(&self, by: Option<String>, reason: Option<String>, now: DateTime<Utc>) -> Result<Approval, Refusal> {
        if self.status.is_resolved() {
            return Err(Refusal::Resolved { id: self.id.clone(), status: self.status });
        }
        let mut next = self.bumped(now);
        next.resolve(ApprovalStatus::Cancelled, by, reason.or_else(|| Some("cancelled".into())), now);
        Ok(next)
    }

    /// The request was posted to Slack (`ts` and the channel id it answered with), or will not
    /// be (`None`): `approval:pending` may go out. A message posted after the approval was
    /// resolved still has to be updated, so the approval is open again until it is.
    pub fn announce(&self, posted: Option<(String, String)>, now: DateTime<Utc>) -> Result<Approval, Refusal> {
        let same_message = posted.as_ref().map(|(c, t)| (Some(c), Some(t)))
            == Some((self.slack_channel_id.as_ref(), self.slack_message_ts.as_ref()));
        if self.announced && (posted.is_none() || same_message) {
            return Err(self.not_allowed("a second announcement"));
        }
        let mut next = self.bumped(now);
        next.announced = true;
        if let Some((channel, ts)) = posted {
            next.slack_channel_id = Some(channel);
            next.slack_message_ts = Some(ts);
            if self.status.is_resolved() {
                next.settled = false;
            }
        }
        Ok(next)
    }

    /// Everything the resolution called for is done.
    pub fn settle(&self, now: DateTime<Utc>) -> Result<Approval, Refusal> {
        if !self.status.is_resolved() || self.settled {
            return Err(self.not_allowed("settling"));
        }
        let mut next = self.bumped(now);
        next.settled = true;
        Ok(next)
    }
}
