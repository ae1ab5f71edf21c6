//! `PlatformGuard`: the shared breaker and bucket, asked around every real platform call.
//!
//! The executor *looks* first (reads only), leases the action, and only then *admits* it:
//! takes the half-open probe and the token. A worker that loses the lease has spent nothing.
//! A waiting action *books* a future token (the bucket goes below zero) and comes back exactly
//! then, so waiters return one by one. Every write is conditional on the item's version and
//! retried on conflict, so any number of concurrent workers share one view.
//!
//! Must not import any adapter crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

use crate::error::{DomainError, ErrorCode, PlatformError, StoreError};
use crate::limits::{BreakerLook, Limits, PlatformState, Taken};
use crate::model::{Action, Platform, Slot};
use crate::ports::{Clock, Pacer, PlatformStateStore};
use crate::validation::Operation;

/// Attempts at a conditional write before giving up for now (the caller waits briefly).
const TRIES: usize = 8;
const CONTENDED: Duration = Duration::from_millis(50);
/// A slot is honoured this early: queues deliver on whole milliseconds or seconds.
const SLOT_EARLY: chrono::TimeDelta = chrono::TimeDelta::milliseconds(50);

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

/// An item as read: what is stored (`None`: never written) and its current state.
#[derive(Debug, Clone)]
struct Known {
    stored: Option<PlatformState>,
    state: PlatformState,
}

impl Known {
    fn written(state: PlatformState) -> Self {
        Self { stored: Some(state.clone()), state }
    }
}

/// What a look found, kept for the admission so it does not read again.
#[derive(Debug, Clone)]
pub struct Seen {
    platform: Platform,
    key: String,
    main: Known,
    /// The bucket's own item, when it is not the platform's (Slack channels).
    bucket: Option<Known>,
}

impl Seen {
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// What the guard says before the lease (nothing written yet).
#[derive(Debug, Clone)]
pub enum Look {
    /// The breaker is open or its probe is in flight: come back at `until`.
    Wait { until: DateTime<Utc> },
    /// Lease the action, then admit it: a token is there (or paid by its slot).
    Go { seen: Seen, probe: bool, paid: bool },
    /// No token now: book one before waiting.
    Book { seen: Seen },
}

/// What the guard says after the lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    Go {
        probe: bool,
    },
    /// Give the lease back and come back at `until` (holding `slot`, when one was booked).
    Defer {
        until: DateTime<Utc>,
        slot: Option<Slot>,
    },
}

/// A booking for a waiting action.
#[derive(Debug, Clone, PartialEq)]
pub enum Booking {
    Slot(Slot),
    /// Booked too far ahead to reserve: look again after this.
    Later(Duration),
}

impl PlatformGuard {
    async fn load(&self, key: &str, platform: Platform) -> Result<Known, DomainError> {
        let stored = self.store.get(key).await?;
        let state = stored
            .clone()
            .unwrap_or_else(|| PlatformState::fresh(key, platform, self.limits.bucket(platform), self.clock.now()));
        Ok(Known { stored, state })
    }

    /// Reads the platform's item (and the bucket's, if separate) and says what may happen.
    pub async fn look(&self, action: &Action, operation: Operation) -> Result<Look, DomainError> {
        let platform = action.platform;
        let key = bucket_key(action, operation);
        let main = self.load(platform.as_str(), platform).await?;
        let now = self.clock.now();
        let probe = match main.state.breaker_look(&self.limits.breaker, now) {
            BreakerLook::Wait { until } => return Ok(Look::Wait { until }),
            BreakerLook::ProbeDue => true,
            BreakerLook::Pass => false,
        };
        let paid = action.slot.as_ref().is_some_and(|s| s.key == key && s.at <= now + SLOT_EARLY);
        let bucket = if key == platform.as_str() || paid { None } else { Some(self.load(&key, platform).await?) };
        let seen = Seen { platform, key, main, bucket };
        let state = &seen.bucket.as_ref().unwrap_or(&seen.main).state;
        if paid || state.has_tokens(self.limits.bucket(platform), 1, now) {
            Ok(Look::Go { seen, probe, paid })
        } else {
            Ok(Look::Book { seen })
        }
    }

    /// After the lease: takes the probe when it is due, then the token unless the action's
    /// slot paid for it. A lost probe or a token gone to another worker defers the action.
    pub async fn admit(
        &self,
        mut seen: Seen,
        probe: bool,
        paid: bool,
        probe_lease: Duration,
    ) -> Result<Admission, DomainError> {
        let platform = seen.platform;
        let mut probing = false;
        if probe {
            let mut tries = 0;
            loop {
                let now = self.clock.now();
                match seen.main.state.breaker_look(&self.limits.breaker, now) {
                    BreakerLook::Pass => break,
                    BreakerLook::Wait { until } => return Ok(Admission::Defer { until, slot: None }),
                    BreakerLook::ProbeDue => {}
                }
                let Some(next) = seen.main.state.claim_probe(&self.limits.breaker, now, probe_lease) else { break };
                match self.store.put(seen.main.stored.as_ref(), &next).await {
                    Ok(()) => {
                        seen.main = Known::written(next);
                        probing = true;
                        break;
                    }
                    Err(StoreError::Conflict | StoreError::AlreadyExists) if tries < TRIES => {
                        tries += 1;
                        seen.main = self.load(platform.as_str(), platform).await?;
                    }
                    Err(StoreError::Conflict | StoreError::AlreadyExists) => return Ok(self.contended()),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if paid {
            return Ok(Admission::Go { probe: probing });
        }
        let limit = self.limits.bucket(platform);
        let mut known = seen.bucket.take().unwrap_or(seen.main);
        for _ in 0..TRIES {
            let now = self.clock.now();
            let (next, admission) = match known.state.take(limit, 1, now) {
                Taken::Now(next) => (next, Admission::Go { probe: probing }),
                Taken::At(next, at) => {
                    (next, Admission::Defer { until: at, slot: Some(Slot { key: seen.key.clone(), at }) })
                }
                Taken::TooFar(wait) => {
                    return Ok(Admission::Defer { until: now + chrono_of(wait), slot: None });
                }
            };
            match self.store.put(known.stored.as_ref(), &next).await {
                Ok(()) => {
                    if probing && matches!(admission, Admission::Defer { .. }) {
                        // The probe waits for its token: let another worker probe meanwhile.
                        self.free_probe(platform).await;
                    }
                    return Ok(admission);
                }
                Err(StoreError::Conflict | StoreError::AlreadyExists) => known = self.load(&seen.key, platform).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.contended())
    }

    fn contended(&self) -> Admission {
        Admission::Defer { until: self.clock.now() + chrono_of(CONTENDED), slot: None }
    }

    /// Books `n` tokens for a waiting action: the slot at which they are its own.
    pub async fn book(&self, seen: Seen, n: u32) -> Result<Booking, DomainError> {
        let platform = seen.platform;
        let limit = self.limits.bucket(platform);
        let mut known = seen.bucket.unwrap_or(seen.main);
        for _ in 0..TRIES {
            let now = self.clock.now();
            let (next, at) = match known.state.take(limit, n, now) {
                Taken::Now(next) => (next, now),
                Taken::At(next, at) => (next, at),
                Taken::TooFar(wait) => return Ok(Booking::Later(wait)),
            };
            match self.store.put(known.stored.as_ref(), &next).await {
                Ok(()) => return Ok(Booking::Slot(Slot { key: seen.key.clone(), at })),
                Err(StoreError::Conflict | StoreError::AlreadyExists) => known = self.load(&seen.key, platform).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Booking::Later(CONTENDED))
    }

    /// Gives booked tokens back (the booking's action was taken by another worker). Best
    /// effort: a lost give-back only leaves a little capacity unused.
    pub async fn release(&self, platform: Platform, key: &str, n: u32) {
        for _ in 0..TRIES {
            let Ok(known) = self.load(key, platform).await else { return };
            let limit = self.limits.bucket(platform);
            let mut next = known.state.clone();
            next.version += 1;
            next.tokens = (known.state.tokens + f64::from(n)).min(limit.capacity);
            match self.store.put(known.stored.as_ref(), &next).await {
                Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                _ => return,
            }
        }
    }

    /// Lets another worker take a probe this one will not make.
    async fn free_probe(&self, platform: Platform) {
        for _ in 0..TRIES {
            let Ok(known) = self.load(platform.as_str(), platform).await else { return };
            let Some(next) = known.state.free_probe(self.clock.now()) else { return };
            match self.store.put(known.stored.as_ref(), &next).await {
                Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                _ => return,
            }
        }
    }

    /// Tells the breaker how a call went. Best effort: a lost update only delays detection.
    pub async fn record(&self, platform: Platform, outcome: Result<Duration, ErrorCode>, probe: bool) {
        for _ in 0..TRIES {
            let known = match self.load(platform.as_str(), platform).await {
                Ok(k) => k,
                Err(e) => {
                    warn!(%platform, error = %e, "breaker state unavailable");
                    return;
                }
            };
            let Some(next) = known.state.record(&self.limits.breaker, outcome, probe, self.clock.now()) else {
                return;
            };
            match self.store.put(known.stored.as_ref(), &next).await {
                Ok(()) => return,
                Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                Err(e) => {
                    warn!(%platform, error = %e, "breaker state not recorded");
                    return;
                }
            }
        }
    }

    /// Paces the further calls of one attempt (pages, cards of a bulk delete) through the
    /// bucket, waiting no later than `deadline`.
    pub fn pacer(&self, action: &Action, operation: Operation, deadline: tokio::time::Instant) -> GuardPacer {
        GuardPacer { guard: self.clone(), platform: action.platform, key: bucket_key(action, operation), deadline }
    }
}

fn chrono_of(d: Duration) -> chrono::TimeDelta {
    chrono::Duration::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// A `Pacer` backed by the shared bucket: every further call of an attempt takes a token.
pub struct GuardPacer {
    guard: PlatformGuard,
    platform: Platform,
    key: String,
    deadline: tokio::time::Instant,
}

#[async_trait]
impl Pacer for GuardPacer {
    async fn before_call(&self) -> Result<(), PlatformError> {
        let g = &self.guard;
        let known = g.load(&self.key, self.platform).await.map_err(store_trouble)?;
        let seen = Seen { platform: self.platform, key: self.key.clone(), main: known, bucket: None };
        let busy = |wait: Duration| {
            PlatformError::new(
                ErrorCode::RateLimited,
                format!("{}'s rate limit leaves no room in this attempt", self.platform),
            )
            .with_retry_after(Some(wait))
        };
        match g.book(seen, 1).await.map_err(store_trouble)? {
            Booking::Later(wait) => Err(busy(wait)),
            Booking::Slot(slot) => {
                let wait = (slot.at - g.clock.now()).to_std().unwrap_or_default();
                if tokio::time::Instant::now() + wait > self.deadline {
                    g.release(self.platform, &self.key, 1).await;
                    return Err(busy(wait));
                }
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }
}

fn store_trouble(e: DomainError) -> PlatformError {
    PlatformError::new(ErrorCode::ServiceDown, format!("rate-limit state unavailable: {e}"))
}
