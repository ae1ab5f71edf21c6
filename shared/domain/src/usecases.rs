//! The use cases every entry point calls: submit an action, execute a work item, recover
//! interrupted work. The Lambdas and the local runtime call these same functions.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tracing::{instrument, warn};

use crate::error::{DomainError, ErrorCode, FieldError, PlatformError, StoreError};
use crate::guard::PlatformGuard;
use crate::limits::Admission;
use crate::model::{Action, ActionError, Status, WorkItem};
use crate::policy::{RetryDecision, decide_retry, estimated_wait};
use crate::ports::{ActionQueue, ActionStore, Clock, PlatformRegistry};
use crate::validation::{Ingress, Operation, Submission, parse_action, parse_ingress};

/// The answer to an accepted submission (`202`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub action_id: String,
    pub status: Status,
    pub queue_position: u64,
    pub estimated_wait: u64,
}

/// Stores a new action and queues it for its priority's workers.
#[derive(Clone)]
pub struct Submitter {
    pub store: Arc<dyn ActionStore>,
    pub queue: Arc<dyn ActionQueue>,
    pub clock: Arc<dyn Clock>,
}

impl Submitter {
    #[instrument(skip_all, fields(platform = %submission.action.platform, priority = %submission.action.priority))]
    pub async fn submit(&self, submission: Submission) -> Result<Receipt, DomainError> {
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
        let action = Action::accepted(new, submission.context, now, ahead + 1, wait);
        match self.store.insert(&action).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                return Err(DomainError::Duplicate(format!("action {} already exists", action.id)));
            }
            Err(e) => return Err(e.into()),
        }
        let item = WorkItem { action_id: action.id.clone(), priority: action.priority };
        if let Err(e) = self.queue.enqueue(item, Duration::ZERO).await {
            // The action is stored as queued: the re-drive (restart or scheduler) will deliver it.
            warn!(action_id = %action.id, error = %e, "queueing failed; the action waits for re-drive");
        }
        Ok(Receipt {
            action_id: action.id,
            status: action.status,
            queue_position: action.queue_position,
            estimated_wait: action.estimated_wait,
        })
    }
}

/// What became of one delivery of a work item.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The action succeeded.
    Completed,
    /// The action failed for good.
    Failed(ErrorCode),
    /// The attempt failed; deliver the item again after this delay.
    RetryIn(Duration),
    /// The item came early (backoff not over, or another worker holds a live lease).
    NotYet(Duration),
    /// Nothing to do: unknown id, already terminal, or another worker won the lease.
    Skipped(&'static str),
}

/// Leases an action, calls its platform, and records the result, a retry, or the failure.
#[derive(Clone)]
pub struct Executor {
    pub store: Arc<dyn ActionStore>,
    pub platforms: Arc<PlatformRegistry>,
    pub clock: Arc<dyn Clock>,
    pub worker_id: String,
    /// Added to the action's timeout to form its lease.
    pub lease_grace: Duration,
    /// The shared breakers and buckets; `None` calls platforms unguarded.
    pub guard: Option<PlatformGuard>,
    /// Where the fallback of an action that failed for good is submitted.
    pub fallbacks: Option<Submitter>,
}

fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (then - now).to_std().unwrap_or(Duration::ZERO)
}

impl Executor {
    #[instrument(skip_all, fields(action_id = %item.action_id))]
    pub async fn execute(&self, item: &WorkItem) -> Result<Outcome, DomainError> {
        let Some(action) = self.store.get(&item.action_id).await? else {
            return Ok(Outcome::Skipped("unknown action"));
        };
        let now = self.clock.now();
        if action.status.is_terminal() {
            return Ok(Outcome::Skipped("already finished"));
        }
        if action.status.is_runnable()
            && let Some(nb) = action.not_before
            && nb > now
        {
            return Ok(Outcome::NotYet(until(now, nb)));
        }
        if !action.can_lease(now) {
            return Ok(match (action.status, action.lease_until) {
                (Status::Executing, Some(lease)) => Outcome::NotYet(until(now, lease)),
                _ => Outcome::Skipped("not runnable"),
            });
        }
        let lease = action.timeout() + self.lease_grace;
        let operation = Operation::resolve(action.platform, action.action_type, &action.data).ok();
        if !action.dry_run
            && let (Some(guard), Some(op)) = (&self.guard, operation)
        {
            match guard.admit(&action, op, lease).await? {
                Admission::Go { .. } => {}
                Admission::Wait { delay, circuit_open } => {
                    let waited_too_long =
                        now - action.created_at > chrono::Duration::from_std(action.timeout()).unwrap_or_default();
                    if circuit_open && waited_too_long && action.fallback.is_some() {
                        return self.fail_over(&action).await;
                    }
                    // Delayed, not failed: the platform (or its limit) is not ready yet.
                    return Ok(Outcome::NotYet(delay));
                }
            }
        }
        let leased = action.lease(&self.worker_id, now, lease).map_err(|e| DomainError::Conflict(e.to_string()))?;
        match self.store.replace(&action, &leased).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Outcome::Skipped("another worker took it")),
            Err(e) => return Err(e.into()),
        }

        let started = std::time::Instant::now();
        let attempt = self.attempt(&leased).await;
        if !leased.dry_run
            && let Some(guard) = &self.guard
        {
            guard.record(leased.platform, attempt.as_ref().map(|_| started.elapsed()).map_err(|e| e.code)).await;
        }
        let now = self.clock.now();
        let (next, outcome) = match attempt {
            Ok(result) => (leased.succeed(&self.worker_id, result, now), Outcome::Completed),
            Err(err) => {
                let retriable = err.code.is_retriable();
                let error = ActionError { code: err.code, message: err.message.clone(), retriable };
                let config = leased.retry_config();
                match decide_retry(&config, leased.retries, retriable, err.retry_after, fastrand::f64()) {
                    RetryDecision::Retry(delay) => {
                        (leased.retry(&self.worker_id, error, delay, now), Outcome::RetryIn(delay))
                    }
                    RetryDecision::GiveUp => {
                        let fallback = self.queue_fallback(&leased).await;
                        let failed = leased.fail(&self.worker_id, error, now).map(|mut f| {
                            f.fallback_action_id = fallback;
                            f
                        });
                        (failed, Outcome::Failed(err.code))
                    }
                }
            }
        };
        let next = next.map_err(|e| DomainError::Conflict(e.to_string()))?;
        match self.store.replace(&leased, &next).await {
            Ok(()) => Ok(outcome),
            // Our lease ran out and another worker took over; its result stands.
            Err(StoreError::Conflict) => Ok(Outcome::Skipped("lease lost")),
            Err(e) => Err(e.into()),
        }
    }

    /// The platform stayed down past the action's timeout: fail it and queue its fallback.
    async fn fail_over(&self, action: &Action) -> Result<Outcome, DomainError> {
        let fallback = self.queue_fallback(action).await;
        let error = ActionError {
            code: ErrorCode::ServiceDown,
            message: format!(
                "{}'s circuit stayed open past the action's timeout; the fallback runs instead",
                action.platform
            ),
            retriable: true,
        };
        let mut failed = action.give_up(error, self.clock.now()).map_err(|e| DomainError::Conflict(e.to_string()))?;
        failed.fallback_action_id = fallback;
        match self.store.replace(action, &failed).await {
            Ok(()) => Ok(Outcome::Failed(ErrorCode::ServiceDown)),
            Err(StoreError::Conflict) => Ok(Outcome::Skipped("another worker took it")),
            Err(e) => Err(e.into()),
        }
    }

    /// Submits the action's fallback, linked to it; its id is derived from the primary's, so
    /// a repeated attempt finds it queued already. `None` when there is none (or it failed to
    /// queue, which is logged).
    async fn queue_fallback(&self, primary: &Action) -> Option<String> {
        let (submitter, spec) = (self.fallbacks.as_ref()?, primary.fallback.as_ref()?);
        let mut new = match parse_action(spec, "fallback") {
            Ok(n) => n,
            Err(e) => {
                warn!(action_id = %primary.id, error = ?e, "the fallback is not a valid action");
                return None;
            }
        };
        let id =
            if primary.id.len() <= 110 { format!("{}-fallback", primary.id) } else { uuid::Uuid::new_v4().to_string() };
        new.id = Some(id.clone());
        new.fallback_of = Some(primary.id.clone());
        new.correlation_id = new.correlation_id.or_else(|| primary.correlation_id.clone());
        match submitter.submit(Submission { action: new, context: primary.context.clone() }).await {
            Ok(receipt) => Some(receipt.action_id),
            Err(DomainError::Duplicate(_)) => Some(id),
            Err(e) => {
                warn!(action_id = %primary.id, error = %e, "the fallback could not be queued");
                None
            }
        }
    }

    /// One platform call under the action's timeout.
    async fn attempt(&self, action: &Action) -> Result<serde_json::Value, PlatformError> {
        let operation = Operation::resolve(action.platform, action.action_type, &action.data)
            .map_err(|e| PlatformError::new(ErrorCode::ValidationError, e.to_string()))?;
        let Some(client) = self.platforms.get(action.platform) else {
            return Err(PlatformError::new(
                ErrorCode::ValidationError,
                format!("no {} client is configured in this Baton build", action.platform),
            ));
        };
        let timeout = action.timeout();
        match tokio::time::timeout(timeout, client.execute(action, operation)).await {
            Ok(result) => result,
            Err(_) => Err(PlatformError::new(
                ErrorCode::TimeoutError,
                format!("{} did not answer within {} ms", action.platform, timeout.as_millis()),
            )),
        }
    }
}

/// Makes every non-terminal action runnable again after the workers of a previous run are
/// gone (the local runtime's restart): an `executing` action whose worker is not one of
/// ours is turned back to `retrying`. Returns the work items to enqueue, with their delays.
pub async fn recover(
    store: &dyn ActionStore,
    clock: &dyn Clock,
    live_worker_prefix: &str,
) -> Result<Vec<(WorkItem, Duration)>, DomainError> {
    let mut work = Vec::new();
    for priority in crate::model::Priority::ALL.iter().copied() {
        let mut after = None;
        loop {
            let page = store.pending(priority, 1000, after.take()).await?;
            for entry in page.items {
                let now = clock.now();
                let mut ready_at = entry.ready_at();
                if entry.status == Status::Executing
                    && !entry.worker_id.as_deref().is_some_and(|w| w.starts_with(live_worker_prefix))
                {
                    // The index holds no data: read the whole action to write its next state.
                    let Some(action) = store.get(&entry.id).await? else { continue };
                    if action.status != Status::Executing {
                        continue;
                    }
                    let recovered =
                        action.recover_interrupted(now).map_err(|e| DomainError::Conflict(e.to_string()))?;
                    match store.replace(&action, &recovered).await {
                        Ok(()) => ready_at = recovered.ready_at(),
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                let delay = (ready_at - now).to_std().unwrap_or_default();
                work.push((WorkItem { action_id: entry.id.clone(), priority: entry.priority }, delay));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(work)
}

/// What became of one ingress message.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    Accepted(Receipt),
    /// The same action was accepted before (a redelivery of the message): nothing to do.
    AlreadyAccepted(String),
    /// The message can never be accepted; `fields` name what is wrong.
    Rejected {
        reason: String,
        fields: Vec<FieldError>,
    },
}

/// Turns ingress messages (SQS ingress queue, `POST /api/events`) into accepted actions.
#[derive(Clone)]
pub struct Ingestor {
    pub submitter: Submitter,
}

impl Ingestor {
    /// `Err` only for transient trouble (store or queue unavailable): the message is retried.
    pub async fn ingest(&self, body: &str) -> Result<IngestOutcome, DomainError> {
        let value: serde_json::Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(IngestOutcome::Rejected {
                    reason: format!("not JSON: {e}"),
                    fields: vec![FieldError::new("body", "must be a JSON object {\"event\", \"data\"}")],
                });
            }
        };
        let ingress = match parse_ingress(&value) {
            Ok(i) => i,
            Err(fields) => {
                let reason = fields.first().map(ToString::to_string).unwrap_or_else(|| "invalid".into());
                return Ok(IngestOutcome::Rejected { reason, fields });
            }
        };
        match ingress {
            Ingress::ActionReady(submission) => self.accept(submission).await,
        }
    }

    async fn accept(&self, submission: Submission) -> Result<IngestOutcome, DomainError> {
        let wanted = submission.action.clone();
        match self.submitter.submit(submission).await {
            Ok(receipt) => Ok(IngestOutcome::Accepted(receipt)),
            Err(DomainError::Duplicate(message)) => {
                let id = wanted.id.clone().unwrap_or_default();
                // Same id and same content: this message was delivered before. Anything else is
                // a real conflict the sender must hear about.
                match self.submitter.store.get(&id).await? {
                    Some(existing)
                        if existing.action_type == wanted.action_type
                            && existing.platform == wanted.platform
                            && existing.priority == wanted.priority
                            && existing.data == wanted.data =>
                    {
                        Ok(IngestOutcome::AlreadyAccepted(id))
                    }
                    _ => Ok(IngestOutcome::Rejected {
                        reason: message,
                        fields: vec![FieldError::new("data.action.id", "is taken by a different action")],
                    }),
                }
            }
            Err(DomainError::Invalid(fields)) => {
                let reason = fields.first().map(ToString::to_string).unwrap_or_else(|| "invalid".into());
                Ok(IngestOutcome::Rejected { reason, fields: prefix_data(fields) })
            }
            Err(e) => Err(e),
        }
    }
}

fn prefix_data(fields: Vec<FieldError>) -> Vec<FieldError> {
    fields.into_iter().map(|f| FieldError::new(format!("data.{}", f.field), f.reason)).collect()
}

/// The safety net of the serverless path: re-queues actions whose queue message may be lost —
/// runnable for longer than `stale_after` past their due time, or executing past their lease.
/// A duplicate message is harmless (the lease admits one worker); a lost one would strand
/// the action. Returns how many were re-queued.
pub async fn redrive(
    store: &dyn ActionStore,
    queue: &dyn ActionQueue,
    clock: &dyn Clock,
    stale_after: Duration,
) -> Result<usize, DomainError> {
    let now = clock.now();
    let stale = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::minutes(15));
    let mut count = 0;
    for priority in crate::model::Priority::ALL.iter().copied() {
        let mut after = None;
        loop {
            let page = store.pending(priority, 1000, after.take()).await?;
            for entry in &page.items {
                let stuck = match entry.status {
                    Status::Queued | Status::Retrying => entry.ready_at() + stale <= now,
                    Status::Executing => entry.lease_until.is_some_and(|l| l <= now),
                    _ => false,
                };
                if stuck {
                    let item = WorkItem { action_id: entry.id.clone(), priority };
                    queue.enqueue(item, Duration::ZERO).await.map_err(|e| DomainError::Queue(e.0))?;
                    count += 1;
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(count)
}
