//! The action's transitions: pure functions from one image to the next, each refusing a
//! state it does not allow. The store writes the result pinned to the version it came from.
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

use super::*;
use crate::error::ErrorCode;

fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    (to - from).num_milliseconds().max(0) as u64
}

impl Action {
    /// A freshly accepted action: `queued`, version 1, nothing run yet.
    pub fn accepted(
        new: crate::validation::NewAction,
        context: Option<Value>,
        now: DateTime<Utc>,
        queue_position: u64,
        estimated_wait: u64,
    ) -> Action {
        Action {
            id: new.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            action_type: new.action_type,
            platform: new.platform,
            priority: new.priority,
            requires_approval: new.requires_approval,
            data: new.data,
            correlation_id: new.correlation_id,
            user_id: new.user_id,
            source: new.source,
            timeout: new.timeout,
            retry_config: new.retry_config,
            tags: new.tags,
            dry_run: new.dry_run,
            fallback: new.fallback,
            fallback_of: new.fallback_of,
            fallback_action_id: None,
            workflow_id: new.workflow_id,
            step: new.step,
            context,
            approval_id: None,
            approved_digest: None,
            approved_at: None,
            notice_of: new.notice_of,
            compensates: new.compensates,
            replay_of: new.replay_of,
            replayed_by: Vec::new(),
            cancel_reason: None,
            feedback: Vec::new(),
            status: Status::Queued,
            version: 1,
            created_at: now,
            updated_at: now,
            queue_position,
            estimated_wait,
            not_before: None,
            worker_id: None,
            lease_until: None,
            first_started_at: None,
            started_at: None,
            completed_at: None,
            attempts: 0,
            retries: 0,
            interrupted: 0,
            slot: None,
            fallback_pending: false,
            redriven_at: None,
            result: None,
            result_truncated: false,
            error: None,
            execution_time: None,
            queue_time: None,
        }
    }

    pub fn retry_config(&self) -> RetryConfig {
        self.retry_config.unwrap_or_default()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout.unwrap_or(DEFAULT_TIMEOUT_MS))
    }

    /// The time the action last became runnable: its acceptance (or approval), or the end of
    /// its backoff.
    pub fn ready_at(&self) -> DateTime<Utc> {
        self.not_before.unwrap_or(self.queued_at())
    }

    /// When it entered the queue: accepted, or released by its approval.
    pub fn queued_at(&self) -> DateTime<Utc> {
        self.approved_at.unwrap_or(self.created_at)
    }

    /// A freshly accepted action held for approval `approval_id` instead of queued.
    pub fn held(mut self, approval_id: String) -> Action {
        self.status = Status::PendingApproval;
        self.approval_id = Some(approval_id);
        self.queue_position = 0;
        self.estimated_wait = 0;
        self
    }

    /// `pending_approval → queued`: approved, with the data as approved (and its digest).
    pub fn release(&self, data: Value, digest: String, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if self.status != Status::PendingApproval {
            return Err(self.refuse("release"));
        }
        let mut next = self.bumped(now);
        next.status = Status::Queued;
        next.data = data;
        next.approved_digest = Some(digest);
        next.approved_at = Some(now);
        Ok(next)
    }

    /// `pending_approval → rejected | expired | cancelled`: it will never run.
    pub fn end_hold(
        &self,
        status: Status,
        error: ActionError,
        now: DateTime<Utc>,
    ) -> Result<Action, TransitionRefused> {
        if self.status != Status::PendingApproval
            || !matches!(status, Status::Rejected | Status::Expired | Status::Cancelled)
        {
            return Err(self.refuse("ending the hold"));
        }
        let mut next = self.finish(now);
        next.execution_time = None;
        next.status = status;
        next.error = Some(error);
        Ok(next)
    }

    pub(crate) fn bumped(&self, now: DateTime<Utc>) -> Action {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = now;
        next
    }

    /// Whether `worker` may take this action now: it is runnable, or a previous lease ran out.
    pub fn can_lease(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            Status::Queued | Status::Retrying => true,
            Status::Executing => self.lease_until.is_none_or(|until| until <= now),
            _ => false,
        }
    }

    /// Whether this action's attempts were cut short too often to try again.
    pub fn interruptions_exhausted(&self, now: DateTime<Utc>) -> bool {
        let taking_over = self.status == Status::Executing && self.can_lease(now);
        self.interrupted + u32::from(taking_over) > MAX_INTERRUPTED
    }

    /// `queued | retrying | expired executing → executing`, owned by `worker` until the lease
    /// ends. Taking over an expired lease counts the attempt it replaces as interrupted. A
    /// reserved slot is used up by the lease.
    pub fn lease(&self, worker: &str, now: DateTime<Utc>, lease: Duration) -> Result<Action, TransitionRefused> {
        if !self.can_lease(now) {
            return Err(self.refuse("lease"));
        }
        let mut next = self.bumped(now);
        if self.status == Status::Executing {
            next.interrupted = self.interrupted + 1;
        }
        next.status = Status::Executing;
        next.worker_id = Some(worker.to_owned());
        next.lease_until = Some(now + lease);
        next.started_at = Some(now);
        next.first_started_at = Some(self.first_started_at.unwrap_or(now));
        next.queue_time = Some(millis_between(self.queued_at(), next.first_started_at.unwrap_or(now)));
        next.attempts = self.attempts + 1;
        next.not_before = None;
        next.slot = None;
        Ok(next)
    }

    /// A waiting action (`queued | retrying`) books a slot of its platform's bucket and sleeps
    /// until then. Its status does not change, so waiting is silent.
    pub fn reserve(&self, slot: Slot, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if !self.status.is_runnable() {
            return Err(self.refuse("a reservation"));
        }
        let mut next = self.bumped(now);
        next.not_before = Some(slot.at);
        next.slot = Some(slot);
        Ok(next)
    }

    /// The lease was taken but the platform may not be called yet (its probe was taken by
    /// another worker, or the token went to someone else first): back to `queued` until
    /// `until`, as if this lease had never been — `before` is the image the lease replaced.
    pub fn defer(
        &self,
        worker: &str,
        before: &Action,
        until: DateTime<Utc>,
        slot: Option<Slot>,
        now: DateTime<Utc>,
    ) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "deferral")?;
        let mut next = before.clone();
        next.version = self.version + 1;
        next.updated_at = now;
        next.status = Status::Queued;
        next.interrupted = self.interrupted;
        next.worker_id = None;
        next.lease_until = None;
        next.not_before = Some(until);
        next.slot = slot;
        Ok(next)
    }

    fn require_owned_by(&self, worker: &str, wanted: &'static str) -> Result<(), TransitionRefused> {
        if self.status == Status::Executing && self.worker_id.as_deref() == Some(worker) {
            Ok(())
        } else {
            Err(self.refuse(wanted))
        }
    }

    fn refuse(&self, wanted: &'static str) -> TransitionRefused {
        TransitionRefused { id: self.id.clone(), status: self.status, wanted }
    }

    fn finish(&self, now: DateTime<Utc>) -> Action {
        let mut next = self.bumped(now);
        next.lease_until = None;
        next.completed_at = Some(now);
        next.not_before = None;
        next.slot = None;
        next.execution_time = self.started_at.map(|s| millis_between(s, now));
        next
    }

    /// `executing → success`, storing the platform's result (truncated beyond 64 KiB).
    pub fn succeed(&self, worker: &str, result: Value, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "success")?;
        let mut next = self.finish(now);
        next.status = Status::Success;
        next.error = None;
        let (result, truncated) = cap_result(result);
        next.result = Some(result);
        next.result_truncated = truncated;
        Ok(next)
    }

    /// `executing → failed` for good. With a fallback, the failure names it (its id is
    /// derived from this one's) and stays pending until it is known to be submitted.
    pub fn fail(&self, worker: &str, error: ActionError, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "failure")?;
        let mut next = self.finish(now);
        next.status = Status::Failed;
        next.error = Some(error);
        next.name_fallback();
        Ok(next)
    }

    /// The id this action's fallback is submitted under: derived, so a repeated attempt finds
    /// it there already.
    pub fn fallback_id(&self) -> String {
        if self.id.len() <= 110 {
            format!("{}-fallback", self.id)
        } else {
            format!("fallback-{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, self.id.as_bytes()))
        }
    }

    fn name_fallback(&mut self) {
        if self.fallback.is_some() {
            self.fallback_action_id = Some(self.fallback_id());
            self.fallback_pending = true;
        }
    }

    /// The fallback named by the failure is submitted: the action leaves the pending index.
    pub fn fallback_settled(&self, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if !self.status.is_terminal() || !self.fallback_pending {
            return Err(self.refuse("settling a fallback"));
        }
        let mut next = self.bumped(now);
        next.fallback_pending = false;
        Ok(next)
    }

    /// `executing → retrying`: the attempt failed and another one is due after `delay`.
    pub fn retry(
        &self,
        worker: &str,
        error: ActionError,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Result<Action, TransitionRefused> {
        self.require_owned_by(worker, "retry")?;
        let mut next = self.bumped(now);
        next.status = Status::Retrying;
        next.retries = self.retries + 1;
        next.lease_until = None;
        next.worker_id = None;
        next.error = Some(error);
        next.execution_time = self.started_at.map(|s| millis_between(s, now));
        next.not_before = Some(now + delay);
        Ok(next)
    }

    /// `executing → retrying` for an attempt whose worker is known to be gone (a restart of
    /// the local runtime). Not counted as a retry: the platform never reported a failure; it
    /// counts as interrupted.
    pub fn recover_interrupted(&self, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if self.status != Status::Executing {
            return Err(self.refuse("recovery"));
        }
        let mut next = self.bumped(now);
        next.status = Status::Retrying;
        next.interrupted = self.interrupted + 1;
        next.lease_until = None;
        next.worker_id = None;
        next.not_before = Some(now);
        next.error = Some(ActionError {
            code: ErrorCode::UnknownError,
            message: "the worker stopped during this attempt; running it again".into(),
            retriable: true,
        });
        Ok(next)
    }

    /// A waiting action (`queued | retrying`) fails without being run: its platform stayed
    /// unavailable past the action's timeout.
    pub fn give_up(&self, error: ActionError, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if !self.status.is_runnable() {
            return Err(self.refuse("giving up"));
        }
        let mut next = self.finish(now);
        next.execution_time = None;
        next.status = Status::Failed;
        next.error = Some(error);
        next.name_fallback();
        Ok(next)
    }

    /// Fails an action whose attempts were cut short more than [`MAX_INTERRUPTED`] times (a
    /// crash, a killed sandbox or an out-of-memory kill each time): it is not tried again.
    pub fn exhaust(&self, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if !self.can_lease(now) {
            return Err(self.refuse("giving up"));
        }
        let mut next = self.finish(now);
        next.execution_time = None;
        next.worker_id = None;
        next.status = Status::Failed;
        next.interrupted = self.interrupted + u32::from(self.status == Status::Executing);
        next.error = Some(ActionError {
            code: ErrorCode::UnknownError,
            message: format!(
                "gave up: {} attempts were cut short (a crash, a timeout of the worker or an out-of-memory kill); \
                 not run again",
                next.interrupted
            ),
            retriable: false,
        });
        next.name_fallback();
        Ok(next)
    }

    /// Any non-terminal state → `cancelled`.
    pub fn cancel(&self, now: DateTime<Utc>) -> Result<Action, TransitionRefused> {
        if self.status.is_terminal() {
            return Err(self.refuse("cancellation"));
        }
        let mut next = self.finish(now);
        next.execution_time = None;
        next.status = Status::Cancelled;
        Ok(next)
    }
}

/// Keeps a result under [`MAX_STORED_RESULT_BYTES`]; beyond it, keeps a prefix of its JSON text.
fn cap_result(result: Value) -> (Value, bool) {
    let text = result.to_string();
    if text.len() <= MAX_STORED_RESULT_BYTES {
        return (result, false);
    }
    let mut end = MAX_STORED_RESULT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (serde_json::json!({ "truncated": true, "bytes": text.len(), "prefix": &text[..end] }), true)
}
