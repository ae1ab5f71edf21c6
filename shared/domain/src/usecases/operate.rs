//! `Operator`: what operators and the reasoning engine do to actions after submitting them —
//! cancel what has not started, replay what ended badly (one, or a filtered set), and give
//! feedback. Every change is a conditional write on the action's version, so the events
//! (`action:cancelled`, `feedback:received`) come from the one derivation.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

use crate::error::{DomainError, ErrorCode, StoreError};
use crate::model::{Action, Feedback, Platform, Status};
use crate::ports::{ActionStore, Clock, RecentQuery};
use crate::usecases::approvals::Approvals;
use crate::usecases::submit::{Receipt, Submitter};
use crate::validation::{Submission, parse_action};

/// Conditional writes tried before giving up on a busy action.
const ATTEMPTS: usize = 8;
/// The most actions one bulk replay submits.
pub const MAX_REPLAY: usize = 1_000;
/// How many matching ids a dry-run bulk replay lists.
pub const DRY_RUN_IDS: usize = 20;

/// How deep a bulk replay pages into the by-day index.
const MAX_SCAN_OFFSET: usize = 10_000;

/// The states a replay starts from.
pub const REPLAYABLE: &[Status] = &[Status::Failed, Status::Cancelled, Status::Rejected, Status::Expired];

#[derive(Clone)]
pub struct Operator {
    pub store: Arc<dyn ActionStore>,
    pub submitter: Submitter,
    /// Cancels the approval of a held action.
    pub approvals: Approvals,
    pub clock: Arc<dyn Clock>,
}

/// Which actions a bulk replay takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayFilter {
    pub platform: Option<Platform>,
    pub error_code: Option<ErrorCode>,
    /// One of [`REPLAYABLE`]; all of them when `None`.
    pub status: Option<Status>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// The answer to a bulk replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    pub matched: usize,
    pub dry_run: bool,
    /// The first matching ids (a dry run), or the ids of the new actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replayed: Vec<String>,
}

fn busy(id: &str) -> DomainError {
    DomainError::Conflict(format!("action {id} changed too often; try again"))
}

impl Operator {
    /// The operator over the ports `approvals` uses.
    pub fn over(approvals: &Approvals) -> Self {
        Self {
            store: approvals.actions.clone(),
            submitter: approvals.submitter.clone(),
            approvals: approvals.clone(),
            clock: approvals.clock.clone(),
        }
    }

    async fn require(&self, id: &str) -> Result<Action, DomainError> {
        self.store.get(id).await?.ok_or_else(|| DomainError::NotFound(format!("action {id}")))
    }

    /// The platform request(s) the action sends: what a dry run stored, else its data rendered
    /// as a dry run now (nothing is sent; secrets redacted) — the request as sent, or as it
    /// would be. Data its platform would refuse is `Invalid` under `action.data`.
    pub async fn request(&self, id: &str) -> Result<serde_json::Value, DomainError> {
        let action = self.require(id).await?;
        if action.dry_run
            && let Some(result) = &action.result
        {
            return Ok(result.clone());
        }
        self.approvals.preview(&action, &action.data, "action.data").await
    }

    /// `queued`, `retrying` or `pending_approval` → `cancelled`; anything else is `409` with
    /// the status it has.
    pub async fn cancel(&self, id: &str, reason: Option<String>) -> Result<Action, DomainError> {
        for _ in 0..ATTEMPTS {
            let action = self.require(id).await?;
            if action.status == Status::PendingApproval
                && let Some(approval) = &action.approval_id
            {
                match self.approvals.cancel(approval, None, reason.clone()).await {
                    Ok(_) | Err(DomainError::AlreadyResolved { .. }) => return self.require(id).await,
                    Err(e) => return Err(e),
                }
            }
            if !action.status.is_runnable() {
                return Err(DomainError::InState {
                    what: "action",
                    id: id.to_owned(),
                    status: action.status.to_string(),
                });
            }
            let mut next = action.cancel(self.clock.now()).map_err(|e| DomainError::Conflict(e.to_string()))?;
            next.cancel_reason = reason.clone();
            match self.store.replace(&action, &next).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy(id))
    }

    /// Submits a `failed`, `cancelled`, `rejected` or `expired` action again as a new action
    /// (`<id>.r<n>`, `replayOf` → the original, which lists it in `replayedBy`).
    pub async fn replay(&self, id: &str) -> Result<Receipt, DomainError> {
        for _ in 0..ATTEMPTS {
            let original = self.require(id).await?;
            if !REPLAYABLE.contains(&original.status) {
                return Err(DomainError::InState {
                    what: "action",
                    id: id.to_owned(),
                    status: original.status.to_string(),
                });
            }
            let new_id = replay_id(&original);
            let mut value = serde_json::json!({
                "id": new_id, "type": original.action_type, "platform": original.platform,
                "priority": original.priority, "data": original.data, "tags": original.tags,
            });
            for (key, field) in [("userId", &original.user_id), ("source", &original.source)] {
                if let Some(v) = field {
                    value[key] = serde_json::json!(v);
                }
            }
            if let Some(c) = &original.correlation_id {
                value["correlationId"] = serde_json::json!(c);
            }
            let mut new = parse_action(&value, "action").map_err(DomainError::Invalid)?;
            new.replay_of = Some(original.id.clone());
            // The new action first (idempotent under its id), then the link on the original:
            // a crash in between is repaired by the next replay, which finds the same id.
            let receipt = self.submitter.ensure(Submission { action: new, context: original.context.clone() }).await?;
            let mut linked = original.clone();
            linked.replayed_by.push(new_id);
            linked.version += 1;
            linked.updated_at = self.clock.now();
            match self.store.replace(&original, &linked).await {
                Ok(()) => return Ok(receipt),
                // A racing replay of the same original linked this very replay: one replay.
                Err(StoreError::Conflict)
                    if self.require(id).await?.replayed_by.iter().any(|r| r == &receipt.action_id) =>
                {
                    return Ok(receipt);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy(id))
    }

    /// The actions `filter` matches, newest first, up to `limit` (read page by page from the
    /// by-day index); with `dry_run`, only counted.
    pub async fn replay_many(
        &self,
        filter: &ReplayFilter,
        dry_run: bool,
        limit: usize,
    ) -> Result<ReplayReport, DomainError> {
        let limit = limit.clamp(1, MAX_REPLAY);
        let statuses = filter.status.map(|s| vec![s]).unwrap_or_else(|| REPLAYABLE.to_vec());
        let mut matched = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .recent(&RecentQuery {
                    limit: 500,
                    offset,
                    platform: filter.platform,
                    statuses: statuses.clone(),
                    start: filter.start,
                    end: filter.end,
                    user_id: None,
                })
                .await?;
            let n = page.actions.len();
            matched.extend(
                page.actions
                    .into_iter()
                    .filter(|a| filter.error_code.is_none_or(|c| a.error.as_ref().is_some_and(|e| e.code == c)))
                    .filter(|a| a.replayed_by.is_empty())
                    .map(|a| a.id),
            );
            offset += n;
            if n < 500 || matched.len() >= limit || offset >= MAX_SCAN_OFFSET {
                break;
            }
        }
        matched.truncate(limit);
        if dry_run {
            let ids = matched.iter().take(DRY_RUN_IDS).cloned().collect();
            return Ok(ReplayReport { matched: matched.len(), dry_run, ids, replayed: Vec::new() });
        }
        let mut replayed = Vec::with_capacity(matched.len());
        for id in &matched {
            match self.replay(id).await {
                Ok(receipt) => replayed.push(receipt.action_id),
                // Replayed or changed meanwhile: not this run's to replay.
                Err(DomainError::InState { .. } | DomainError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ReplayReport { matched: matched.len(), dry_run, ids: Vec::new(), replayed })
    }

    /// Adds feedback to an action (any state). Unknown action → `NotFound`.
    pub async fn feedback(&self, id: &str, mut feedback: Feedback) -> Result<Action, DomainError> {
        feedback.received_at = self.clock.now();
        for _ in 0..ATTEMPTS {
            let action = self.require(id).await?;
            let next = action.with_feedback(feedback.clone(), self.clock.now());
            match self.store.replace(&action, &next).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy(id))
    }
}

/// The id of the next replay of `original`.
fn replay_id(original: &Action) -> String {
    let id = format!("{}.r{}", original.id, original.replayed_by.len() + 1);
    if id.len() <= 100 { id } else { format!("rpl-{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, id.as_bytes())) }
}
