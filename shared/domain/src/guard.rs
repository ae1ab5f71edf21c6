//! `PlatformGuard`: asks the shared breaker and bucket before a platform call, and tells the
//! breaker how the call went. Every decision is a conditional write on the platform state
//! item, retried on conflict, so any number of concurrent workers share one view.
//!
//! Must not import any adapter crate.

use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

use crate::error::{DomainError, ErrorCode, StoreError};
use crate::limits::{Admission, Limits, PlatformState};
use crate::model::{Action, Platform};
use crate::ports::{Clock, PlatformStateStore};
use crate::validation::Operation;

/// Attempts at a conditional write before giving up for now (the caller waits briefly).
const TRIES: usize = 8;
const CONTENDED: Duration = Duration::from_millis(25);

#[derive(Clone)]
pub struct PlatformGuard {
    pub store: Arc<dyn PlatformStateStore>,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
}

/// The bucket an action draws from: Slack messages are limited per channel, everything else
/// per platform (per token / per user, as the platforms count).
pub fn bucket_key(action: &Action, operation: Operation) -> String {
    match operation {
        Operation::SlackPostMessage | Operation::SlackUpdateMessage | Operation::SlackApprovalRequest => {
            let channel = action.data.get("channel").and_then(|c| c.as_str()).unwrap_or_default();
            format!("slack#channel:{channel}")
        }
        _ => action.platform.as_str().to_owned(),
    }
}

impl PlatformGuard {
    async fn load(&self, key: &str, platform: Platform) -> Result<(Option<PlatformState>, PlatformState), DomainError> {
        let stored = self.store.get(key).await?;
        let current = stored
            .clone()
            .unwrap_or_else(|| PlatformState::fresh(key, platform, self.limits.bucket(platform), self.clock.now()));
        Ok((stored, current))
    }

    /// May a call for `action` go now? `probe_lease` bounds a half-open probe.
    pub async fn admit(
        &self,
        action: &Action,
        operation: Operation,
        probe_lease: Duration,
    ) -> Result<Admission, DomainError> {
        let platform = action.platform;
        let main = platform.as_str();
        let mut probe = false;
        // The item read by the breaker check, when it wrote nothing: the bucket may reuse it.
        let mut unchanged: Option<(Option<PlatformState>, PlatformState)> = None;
        let mut decided = false;
        for _ in 0..TRIES {
            let (stored, state) = self.load(main, platform).await?;
            match state.check_breaker(&self.limits.breaker, self.clock.now(), probe_lease) {
                (wait @ Admission::Wait { .. }, _) => return Ok(wait),
                (Admission::Go { probe: p }, None) => {
                    probe = p;
                    unchanged = Some((stored, state));
                    decided = true;
                    break;
                }
                (Admission::Go { probe: p }, Some(next)) => match self.store.put(stored.as_ref(), &next).await {
                    Ok(()) => {
                        probe = p;
                        unchanged = Some((Some(next.clone()), next));
                        decided = true;
                        break;
                    }
                    Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                    Err(e) => return Err(e.into()),
                },
            }
        }
        if !decided {
            return Ok(Admission::Wait { delay: CONTENDED, circuit_open: false });
        }
        let key = bucket_key(action, operation);
        let limit = self.limits.bucket(platform);
        let mut first = if key == main { unchanged } else { None };
        for _ in 0..TRIES {
            let (stored, state) = match first.take() {
                Some(known) => known,
                None => self.load(&key, platform).await?,
            };
            match state.take_token(limit, self.clock.now()) {
                Err(delay) => return Ok(Admission::Wait { delay, circuit_open: false }),
                Ok(next) => match self.store.put(stored.as_ref(), &next).await {
                    Ok(()) => return Ok(Admission::Go { probe }),
                    Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Ok(Admission::Wait { delay: CONTENDED, circuit_open: false })
    }

    /// Tells the breaker how a call went. Best effort: a lost update only delays detection.
    pub async fn record(&self, platform: Platform, outcome: Result<Duration, ErrorCode>) {
        for _ in 0..TRIES {
            let (stored, state) = match self.load(platform.as_str(), platform).await {
                Ok(s) => s,
                Err(e) => {
                    warn!(%platform, error = %e, "breaker state unavailable");
                    return;
                }
            };
            let now = self.clock.now();
            let next = match outcome {
                Ok(elapsed) => state.record_success(now, elapsed),
                Err(code) => state.record_failure(&self.limits.breaker, code, now),
            };
            let Some(next) = next else { return };
            match self.store.put(stored.as_ref(), &next).await {
                Ok(()) => return,
                Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                Err(e) => {
                    warn!(%platform, error = %e, "breaker state not recorded");
                    return;
                }
            }
        }
    }
}
