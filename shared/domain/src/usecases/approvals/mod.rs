//! `Approvals`: hold an action for people to decide on, take their decisions, and carry out
//! the resolution — on both paths, through the same calls.
//!
//! - here: the request (hold the action, render its preview, post the Slack request) and reads;
//! - [`decide`]: approve, reject, cancel — conditional writes on the approval's version;
//! - [`settle`]: what a resolution calls for (release or end the action, update the Slack
//!   message), the announcement once the Slack request is posted, and the sweep that expires
//!   overdue approvals and finishes whatever a crash left half done.
//!
//! Must not import any adapter crate.

mod decide;
mod settle;

pub use decide::DecisionAnswer;
pub use settle::SweepReport;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tracing::warn;

use crate::approval::{Approval, ApprovalStatus, approval_id, digest, notice};
use crate::error::{DomainError, ErrorCode, FieldError, StoreError};
use crate::model::Action;
use crate::ports::{ActionStore, ApprovalStore, Clock, PlatformRegistry, Unpaced};
use crate::usecases::submit::Submitter;
use crate::validation::{ApprovalRequest, Operation, Submission, parse_action};

/// Where approval requests are posted.
#[derive(Debug, Clone, Default)]
pub struct SlackNotices {
    /// Slack has credentials: requests are posted, and the message updated once resolved.
    pub configured: bool,
    /// `BATON_APPROVAL_CHANNEL`: the channel when the request names none.
    pub default_channel: Option<String>,
}

/// The answer to an accepted approval request (`202`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldReceipt {
    pub action_id: String,
    pub approval_id: String,
    /// `pending_approval` while held; the action's status once the approval is resolved.
    pub status: crate::model::Status,
    #[serde(serialize_with = "iso")]
    pub expires_at: DateTime<Utc>,
    #[serde(skip)]
    pub replayed: bool,
}

fn iso<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::events::timestamp(*t))
}

#[derive(Clone)]
pub struct Approvals {
    pub approvals: Arc<dyn ApprovalStore>,
    pub actions: Arc<dyn ActionStore>,
    /// Submits the Slack notices and queues released actions.
    pub submitter: Submitter,
    /// Renders previews (dry runs: nothing is sent).
    pub platforms: Arc<PlatformRegistry>,
    pub clock: Arc<dyn Clock>,
    pub slack: SlackNotices,
}

/// The contract's Action fields of a held action: what a patch is validated against.
fn contract_view(action: &Action, data: &Value) -> Value {
    serde_json::json!({
        "id": action.id, "type": action.action_type, "platform": action.platform,
        "priority": action.priority, "data": data,
    })
}

impl Approvals {
    /// The exact platform request(s) `action` sends with `data`: its dry run, secrets redacted.
    /// Data its platform would refuse is `Invalid` under `path`.
    pub(crate) async fn preview(&self, action: &Action, data: &Value, path: &str) -> Result<Value, DomainError> {
        let operation = Operation::resolve(action.platform, action.action_type, data)
            .map_err(|e| DomainError::Invalid(vec![FieldError::new(format!("{path}.{}", e.field), e.reason)]))?;
        let Some(client) = self.platforms.get(action.platform) else {
            return Ok(serde_json::json!({"unavailable": format!("no {} client in this build", action.platform)}));
        };
        let mut dry = action.clone();
        dry.data = data.clone();
        dry.dry_run = true;
        match client.execute(&dry, operation, &Unpaced).await {
            Ok(preview) => Ok(preview),
            Err(e) if e.code == ErrorCode::ValidationError => {
                Err(DomainError::Invalid(vec![FieldError::new(path, e.message)]))
            }
            Err(e) => Ok(serde_json::json!({"unavailable": e.message})),
        }
    }

    /// Validates `data` as the held action's data again (a patched edit): errors name the path
    /// under `path` instead of `action.data`.
    pub(crate) fn revalidate(action: &Action, data: &Value, path: &str) -> Result<(), DomainError> {
        parse_action(&contract_view(action, data), "action").map(|_| ()).map_err(|errors| {
            DomainError::Invalid(
                errors
                    .into_iter()
                    .map(|e| match e.field.strip_prefix("action.data") {
                        Some(rest) => FieldError::new(format!("{path}{rest}"), e.reason),
                        None => e,
                    })
                    .collect(),
            )
        })
    }

    /// Holds the action of `request` for approval: the approval first (it carries the action,
    /// so a crash before the action is stored loses nothing), then the held action, then the
    /// Slack request. The same request again (a redelivered message) is `replayed`.
    pub async fn request(&self, request: ApprovalRequest) -> Result<HoldReceipt, DomainError> {
        let now = self.clock.now();
        let ApprovalRequest { mut action, reason, context, approvers, timeout, required_approvals, channel } = request;
        let action_id = action.id.get_or_insert_with(|| uuid::Uuid::new_v4().to_string()).clone();
        action.requires_approval = true;
        let id = approval_id(&action_id);
        let held = Action::accepted(action, context.clone(), now, 0, 0).held(id.clone());
        let preview = self.preview(&held, &held.data, "action.data").await?;
        // Posted only where Slack is configured; the record names a channel only then.
        let channel = channel.or_else(|| self.slack.default_channel.clone()).filter(|_| self.slack.configured);
        let posts = channel.is_some();
        let approval = Approval {
            id: id.clone(),
            action_id: action_id.clone(),
            reason,
            context,
            approvers,
            required_approvals,
            requested_by: held.user_id.clone(),
            channel: channel.clone(),
            slack_channel_id: None,
            slack_message_ts: None,
            status: ApprovalStatus::Pending,
            decisions: Vec::new(),
            digest: digest(&held.data),
            preview,
            announced: !posts,
            settled: false,
            created_at: now,
            updated_at: now,
            expires_at: now + chrono::Duration::milliseconds(timeout as i64),
            resolved_at: None,
            resolved_by: None,
            resolution_reason: None,
            version: 1,
            action: held.clone(),
        };
        if let Some(existing) = self.actions.get(&action_id).await?
            && existing.approval_id.as_deref() != Some(id.as_str())
        {
            return Err(DomainError::Duplicate(format!("action {action_id} already exists")));
        }
        match self.approvals.insert(&approval).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => return self.replay(&approval).await,
            Err(e) => return Err(e.into()),
        }
        self.store_held(&approval).await?;
        if let Some(channel) = &channel {
            self.post_request(&approval, channel).await;
        }
        Ok(receipt(&approval, false))
    }

    /// The same request arrived again: its first receipt, if it is the same request.
    async fn replay(&self, wanted: &Approval) -> Result<HoldReceipt, DomainError> {
        let Some(existing) = self.approvals.get(&wanted.id).await? else {
            return Err(DomainError::Store(StoreError::Unavailable("the approval vanished".into())));
        };
        let same = existing.reason == wanted.reason
            && existing.approvers == wanted.approvers
            && existing.required_approvals == wanted.required_approvals
            && existing.action.action_type == wanted.action.action_type
            && existing.action.platform == wanted.action.platform
            && existing.decisions.iter().all(|d| d.patch.is_none())
            && existing.action.data == wanted.action.data;
        if !same {
            return Err(DomainError::Duplicate(format!("approval {} already exists for another request", wanted.id)));
        }
        // A first try that stopped after the approval still gets its held action.
        self.store_held(&existing).await?;
        let mut answer = receipt(&existing, true);
        if let Some(action) = self.actions.get(&existing.action_id).await? {
            answer.status = action.status;
        }
        Ok(answer)
    }

    /// Stores the held action of `approval`, unless it is there already.
    pub(crate) async fn store_held(&self, approval: &Approval) -> Result<(), DomainError> {
        match self.actions.insert(&approval.action).await {
            Ok(()) | Err(StoreError::AlreadyExists) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Submits the Slack request (idempotently: its id derives from the approval's). A failure
    /// here is left to the sweep, which submits it again.
    pub(crate) async fn post_request(&self, approval: &Approval, channel: &str) {
        let spec = notice::request_notice(approval, channel);
        match parse_action(&spec, "notice") {
            Ok(mut new) => {
                new.notice_of = Some(approval.id.clone());
                let submission = Submission { action: new, context: None };
                if let Err(e) = self.submitter.ensure(submission).await {
                    warn!(approval_id = %approval.id, error = %e, "the Slack request was not submitted; the sweep retries");
                }
            }
            Err(e) => warn!(approval_id = %approval.id, error = ?e, "the Slack request is not a valid action"),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Approval, DomainError> {
        self.approvals.get(id).await?.ok_or_else(|| DomainError::NotFound(format!("approval {id}")))
    }

    /// The inbox: pending approvals, soonest expiry first; or the newest with another status.
    pub async fn list(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, DomainError> {
        if status != Some(ApprovalStatus::Pending) {
            return Ok(self.approvals.recent(status, limit).await?);
        }
        const PAGES: usize = 20;
        let mut out = Vec::new();
        let mut after = None;
        for _ in 0..PAGES {
            let page = self.approvals.open(None, 200, after).await?;
            out.extend(page.items.into_iter().filter(|a| a.status == ApprovalStatus::Pending));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        out.sort_by(|a, b| a.expires_at.cmp(&b.expires_at).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }
}

fn receipt(a: &Approval, replayed: bool) -> HoldReceipt {
    HoldReceipt {
        action_id: a.action_id.clone(),
        approval_id: a.id.clone(),
        status: crate::model::Status::PendingApproval,
        expires_at: a.expires_at,
        replayed,
    }
}
