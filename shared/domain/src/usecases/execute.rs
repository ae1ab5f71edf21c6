//! `Executor`: one delivery of a work item — look at the platform's limits, lease the action,
//! admit it, call the platform within the lease, record the result, a retry or the failure.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, instrument, warn};

use crate::error::{DomainError, ErrorCode, PlatformError, StoreError};
use crate::guard::{Admission, Booking, Look, PlatformGuard};
use crate::limits::Limits;
use crate::model::{Action, ActionError, Status, WorkItem};
use crate::policy::{RetryDecision, decide_retry};
use crate::ports::{ActionQueue, ActionStore, Clock, Pacer, PlatformRegistry, PlatformStateStore, Unpaced};
use crate::usecases::submit::Submitter;
use crate::validation::{Operation, Submission, parse_action};

/// Added to an action's timeout to form its lease.
pub const LEASE_GRACE: Duration = Duration::from_secs(5);
/// Kept between the end of a platform call's time and the end of its lease (or invocation),
/// so an expired lease never overlaps a call still running.
pub const CALL_MARGIN: Duration = Duration::from_secs(2);

/// Skipped: another worker (or a newer image) was first.
pub const TAKEN: &str = "another worker took it";

/// What became of one delivery of a work item.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The action succeeded.
    Completed,
    /// The action failed for good.
    Failed(ErrorCode),
    /// The attempt failed; deliver the item again after this delay.
    RetryIn(Duration),
    /// Not now (backoff not over, a live lease elsewhere, the platform's limit): deliver the
    /// item again after this delay. Waiting is not failing: nothing is counted.
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

/// What both paths hand over to build their executor: the one composition.
pub struct ExecutorParts {
    pub store: Arc<dyn ActionStore>,
    pub queue: Arc<dyn ActionQueue>,
    pub platform_state: Arc<dyn PlatformStateStore>,
    pub platforms: PlatformRegistry,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    pub worker_id: String,
}

impl Executor {
    /// The executor of `baton serve` and of `ExecutorFunction`: guarded by the shared limits,
    /// submitting fallbacks through the same store and queues.
    pub fn compose(parts: ExecutorParts) -> Self {
        let guard = PlatformGuard { store: parts.platform_state, limits: parts.limits, clock: parts.clock.clone() };
        // A fallback is queued here even where new actions are handed to the stream: it is rare,
        // and the stream's copy of its delivery, if any, finds it leased and is dropped.
        let fallbacks = Submitter {
            store: parts.store.clone(),
            queue: parts.queue,
            clock: parts.clock.clone(),
            handoff: super::Handoff::NONE,
        };
        Self {
            store: parts.store,
            platforms: Arc::new(parts.platforms),
            clock: parts.clock,
            worker_id: parts.worker_id,
            lease_grace: LEASE_GRACE,
            guard: Some(guard),
            fallbacks: Some(fallbacks),
        }
    }
}

fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (then - now).to_std().unwrap_or(Duration::ZERO)
}

fn refused(e: crate::model::TransitionRefused) -> DomainError {
    DomainError::Conflict(e.to_string())
}

/// A lease obtained, with what the admission said about the call.
struct Leased {
    leased: Action,
    probe: bool,
    guarded: bool,
}

impl Executor {
    pub async fn execute(&self, item: &WorkItem) -> Result<Outcome, DomainError> {
        self.execute_within(item, None).await
    }

    /// As `execute`, inside an invocation that ends at `deadline` (a Lambda's): an attempt
    /// that would not fit is handed to a fresh delivery instead of being cut short.
    #[instrument(skip_all, fields(action_id = %item.action_id))]
    pub async fn execute_within(
        &self,
        item: &WorkItem,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Outcome, DomainError> {
        // The item's image, if ready to lease: no read. A lost race: the table decides.
        if let Some(snapshot) =
            item.snapshot.as_deref().filter(|a| a.status.is_runnable() && a.can_lease(self.clock.now()))
        {
            match self.decide(snapshot, deadline).await {
                Ok(Outcome::Skipped(TAKEN)) | Err(DomainError::Store(StoreError::Conflict)) => {}
                outcome => return outcome,
            }
        }
        let Some(action) = self.store.get(&item.action_id).await? else {
            return Ok(Outcome::Skipped("unknown action"));
        };
        self.decide(&action, deadline).await
    }

    /// What to do with `action` as it is read (or as its item carries it).
    async fn decide(&self, action: &Action, deadline: Option<tokio::time::Instant>) -> Result<Outcome, DomainError> {
        let now = self.clock.now();
        if action.status.is_terminal() {
            if action.fallback_pending {
                return self.settle_fallback(action).await;
            }
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
        if action.status.is_runnable()
            && let Some(error) = crate::approval::unapproved(action)
        {
            warn!("refusing to run data that was not approved");
            let failed = action.give_up(error, now).map_err(refused)?;
            return self.finish(action, failed, Outcome::Failed(ErrorCode::PermissionDenied)).await;
        }
        if action.interruptions_exhausted(now) {
            let failed = action.exhaust(now).map_err(refused)?;
            return self.finish(action, failed, Outcome::Failed(ErrorCode::UnknownError)).await;
        }
        let lease = action.timeout() + self.lease_grace;
        if let Some(deadline) = deadline
            && tokio::time::Instant::now() + lease + CALL_MARGIN > deadline
        {
            return Ok(Outcome::NotYet(Duration::ZERO));
        }
        let operation = Operation::resolve(action.platform, action.action_type, &action.data).ok();
        let leased = match (&self.guard, operation) {
            (Some(guard), Some(op)) if !action.dry_run => match self.lease_guarded(guard, action, op, lease).await? {
                Ok(leased) => leased,
                Err(outcome) => return Ok(outcome),
            },
            _ => match self.lease(action, lease).await? {
                Some(leased) => Leased { leased, probe: false, guarded: false },
                None => return Ok(Outcome::Skipped(TAKEN)),
            },
        };
        self.run(leased, operation, deadline).await
    }

    /// Writes the lease; `None` when another worker took the action first.
    async fn lease(&self, action: &Action, lease: Duration) -> Result<Option<Action>, DomainError> {
        let leased = action.lease(&self.worker_id, self.clock.now(), lease).map_err(refused)?;
        match self.store.replace(action, &leased).await {
            Ok(()) => Ok(Some(leased)),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Looks at the platform's limits, then leases, then takes the probe and the token: a
    /// worker that loses the lease has spent neither. `Err(outcome)` when the action waits.
    async fn lease_guarded(
        &self,
        guard: &PlatformGuard,
        action: &Action,
        op: Operation,
        lease: Duration,
    ) -> Result<Result<Leased, Outcome>, DomainError> {
        let now = self.clock.now();
        let (seen, probe, paid) = match guard.look(action, op).await? {
            Look::Wait { until: open_until } => {
                let waited = now - action.created_at;
                if waited > chrono::Duration::from_std(action.timeout()).unwrap_or_default()
                    && action.fallback.is_some()
                {
                    return self.fail_over(action).await.map(Err);
                }
                // Many actions wait on one breaker: spread their return over part of a cool-down.
                let spread = (guard.limits.breaker.cool_down / 2).min(Duration::from_secs(10));
                return Ok(Err(Outcome::NotYet(until(now, open_until) + spread.mul_f64(fastrand::f64()))));
            }
            Look::Book { seen } => return self.book(guard, action, seen).await.map(Err),
            Look::Go { seen, probe, paid } => (seen, probe, paid),
        };
        let Some(leased) = self.lease(action, lease).await? else {
            return Ok(Err(Outcome::Skipped(TAKEN)));
        };
        match guard.admit(seen, probe, paid, lease).await? {
            Admission::Go { probe } => Ok(Ok(Leased { leased, probe, guarded: true })),
            Admission::Defer { until: at, slot } => {
                let back = leased.defer(&self.worker_id, action, at, slot, self.clock.now()).map_err(refused)?;
                self.store.replace(&leased, &back).await?;
                Ok(Err(Outcome::NotYet(until(self.clock.now(), at))))
            }
        }
    }

    /// No token now: book the next free one and sleep until then, silently (the status stays).
    async fn book(
        &self,
        guard: &PlatformGuard,
        action: &Action,
        seen: crate::guard::Seen,
    ) -> Result<Outcome, DomainError> {
        let key = seen.key().to_owned();
        match guard.book(seen, 1).await? {
            Booking::Later(wait) => Ok(Outcome::NotYet(wait)),
            Booking::Slot(slot) => {
                let at = slot.at;
                let reserved = action.reserve(slot, self.clock.now()).map_err(refused)?;
                match self.store.replace(action, &reserved).await {
                    Ok(()) => Ok(Outcome::NotYet(until(self.clock.now(), at))),
                    Err(e) => {
                        // Not ours to wait for: give the token back.
                        guard.release(action.platform, &key, 1).await;
                        match e {
                            StoreError::Conflict => Ok(Outcome::Skipped(TAKEN)),
                            other => Err(other.into()),
                        }
                    }
                }
            }
        }
    }

    /// The leased attempt: the call, bounded by the lease (and the invocation), then its record.
    async fn run(
        &self,
        lease: Leased,
        operation: Option<Operation>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Outcome, DomainError> {
        let Leased { leased, probe, guarded, .. } = lease;
        // The clock is read again after the admission, which may have taken a while.
        let now = self.clock.now();
        let mut bound = leased.lease_until.map(|l| until(now, l)).unwrap_or_default().saturating_sub(CALL_MARGIN);
        if let Some(deadline) = deadline {
            bound =
                bound.min(deadline.saturating_duration_since(tokio::time::Instant::now()).saturating_sub(CALL_MARGIN));
        }
        let bound = bound.min(leased.timeout());
        let started = std::time::Instant::now();
        let attempt = self.attempt(&leased, operation, bound).await;
        if guarded && let Some(guard) = &self.guard {
            let outcome = attempt.as_ref().map(|_| started.elapsed()).map_err(|e| e.code);
            guard.record(leased.platform, outcome, probe).await;
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
                        info!(code = %err.code, error = %err.message, ?delay, "attempt failed; retrying");
                        (leased.retry(&self.worker_id, error, delay, now), Outcome::RetryIn(delay))
                    }
                    RetryDecision::GiveUp => {
                        warn!(code = %err.code, error = %err.message, "action failed for good");
                        (leased.fail(&self.worker_id, error, now), Outcome::Failed(err.code))
                    }
                }
            }
        };
        let next = next.map_err(refused)?;
        match self.finish(&leased, next, outcome).await {
            // Our lease ran out and another worker took over; its result stands.
            Err(DomainError::Store(StoreError::Conflict)) => Ok(Outcome::Skipped("lease lost")),
            other => other,
        }
    }

    /// Writes the attempt's end; a failure that names a fallback then makes sure of it.
    async fn finish(&self, old: &Action, next: Action, outcome: Outcome) -> Result<Outcome, DomainError> {
        self.store.replace(old, &next).await?;
        if next.fallback_pending {
            self.settle_fallback(&next).await?;
        }
        Ok(outcome)
    }

    /// The platform stayed down past the action's timeout: fail it and queue its fallback.
    async fn fail_over(&self, action: &Action) -> Result<Outcome, DomainError> {
        let error = ActionError {
            code: ErrorCode::ServiceDown,
            message: format!(
                "{}'s circuit stayed open past the action's timeout; the fallback runs instead",
                action.platform
            ),
            retriable: true,
        };
        let failed = action.give_up(error, self.clock.now()).map_err(refused)?;
        match self.finish(action, failed, Outcome::Failed(ErrorCode::ServiceDown)).await {
            Err(DomainError::Store(StoreError::Conflict)) => Ok(Outcome::Skipped(TAKEN)),
            other => other,
        }
    }

    /// Submits the fallback a failure named (idempotently: it may be there from an earlier
    /// try), then records that it is. A transient error is returned, and the delivery comes
    /// back; the action stays in the pending index until then.
    async fn settle_fallback(&self, primary: &Action) -> Result<Outcome, DomainError> {
        let code = primary.error.as_ref().map(|e| e.code).unwrap_or(ErrorCode::UnknownError);
        let Some(submitter) = &self.fallbacks else { return Ok(Outcome::Failed(code)) };
        if let Some(spec) = &primary.fallback {
            match parse_action(spec, "fallback") {
                Ok(mut new) => {
                    new.id = Some(primary.fallback_id());
                    new.fallback_of = Some(primary.id.clone());
                    new.correlation_id = new.correlation_id.or_else(|| primary.correlation_id.clone());
                    match submitter.ensure(Submission { action: new, context: primary.context.clone() }).await {
                        Ok(_) => {}
                        // Something else holds the id: nothing more can be done for it.
                        Err(DomainError::Duplicate(m)) => warn!(action_id = %primary.id, m, "the fallback id is taken"),
                        Err(DomainError::Invalid(f)) => warn!(action_id = %primary.id, ?f, "the fallback is invalid"),
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => warn!(action_id = %primary.id, error = ?e, "the fallback is not a valid action"),
            }
        }
        let settled = primary.fallback_settled(self.clock.now()).map_err(refused)?;
        match self.store.replace(primary, &settled).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(Outcome::Failed(code)),
            Err(e) => Err(e.into()),
        }
    }

    /// One platform call, bounded by `bound`.
    async fn attempt(
        &self,
        action: &Action,
        operation: Option<Operation>,
        bound: Duration,
    ) -> Result<serde_json::Value, PlatformError> {
        let operation = match operation {
            Some(op) => op,
            None => Operation::resolve(action.platform, action.action_type, &action.data)
                .map_err(|e| PlatformError::new(ErrorCode::ValidationError, e.to_string()))?,
        };
        let Some(client) = self.platforms.get(action.platform) else {
            return Err(PlatformError::new(
                ErrorCode::ValidationError,
                format!("no {} client is configured in this Baton build", action.platform),
            ));
        };
        let ends = tokio::time::Instant::now() + bound;
        let guard_pacer;
        let pacer: &dyn Pacer = match &self.guard {
            Some(guard) if !action.dry_run => {
                guard_pacer = guard.pacer(action, operation, ends);
                &guard_pacer
            }
            _ => &Unpaced,
        };
        match tokio::time::timeout_at(ends, client.execute(action, operation, pacer)).await {
            Ok(result) => result,
            Err(_) => Err(PlatformError::new(
                ErrorCode::TimeoutError,
                format!("{} did not answer within {} ms", action.platform, bound.as_millis()),
            )),
        }
    }
}
