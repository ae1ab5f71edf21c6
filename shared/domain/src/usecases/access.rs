//! `Access`: who is calling (API keys), what they may do (scopes), how often (the API's rate
//! limits), and the keys themselves. `baton serve` and the Lambdas (authorizer and api) call
//! the same functions.
//!
//! Must not import any adapter crate.

use chrono::Duration as ChronoDuration;
use std::sync::Arc;
use tracing::warn;

use crate::auth::blocks::BlockCounter;
use crate::auth::cached::{CachedKeys, KEY_CACHE_TTL};
use crate::auth::limits::{ApiLimits, Caller, RouteGroup, Verdict, counters, verdict};
use crate::auth::{ApiKey, AuthFailure, KeyRequest, Principal, Scope, check, generate, hash_key};
use crate::error::{DomainError, StoreError};
use crate::ports::{Clock, KeyStore, RateCounter};

/// The id and name of the key `BATON_ADMIN_KEY` gives.
pub const OPERATOR_KEY_ID: &str = "operator";
pub const OPERATOR_KEY_NAME: &str = "BATON_ADMIN_KEY";

#[derive(Clone)]
pub struct Access {
    pub keys: Arc<dyn KeyStore>,
    pub counters: Arc<dyn RateCounter>,
    pub limits: ApiLimits,
    pub clock: Arc<dyn Clock>,
}

impl Access {
    /// The access of a serving process (`baton serve`, the authorizer, the api function):
    /// verified keys remembered for a few seconds, rate-limit tokens taken in blocks.
    pub fn serving(
        keys: Arc<dyn KeyStore>,
        counters: Arc<dyn RateCounter>,
        limits: ApiLimits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys: Arc::new(CachedKeys::new(keys, KEY_CACHE_TTL)),
            counters: Arc::new(BlockCounter::new(counters)),
            limits,
            clock,
        }
    }

    /// The caller of a request that presented `key` (the text after `Bearer `).
    pub async fn authenticate(&self, key: Option<&str>) -> Result<Result<Principal, AuthFailure>, DomainError> {
        let Some(text) = key.map(str::trim).filter(|k| !k.is_empty()) else { return Ok(Err(AuthFailure::Missing)) };
        let hash = hash_key(text);
        let now = self.clock.now();
        let found = match check(self.keys.by_hash(&hash).await?, now) {
            Ok(k) => k,
            Err(why) => return Ok(Err(why)),
        };
        if found.last_used_at.is_none_or(|t| now - t >= ChronoDuration::minutes(1))
            && let Err(e) = self.keys.touch(&hash, now).await
        {
            warn!(key_id = %found.id, error = %e, "lastUsedAt not recorded");
        }
        Ok(Ok(Principal::of(&found)))
    }

    /// Counts the request against its caller's limits. `None`: not limited (an exempt key).
    /// When the counters cannot be reached the request goes (limits protect the service; an
    /// outage of their store must not take the service down) and it is logged.
    pub async fn limit(&self, caller: Caller<'_>, group: RouteGroup) -> Option<Verdict> {
        let now = self.clock.now();
        let counters = counters(&self.limits, caller, group, now);
        let mut counts = Vec::with_capacity(counters.len());
        for c in &counters {
            match self.counters.take(c, 1).await {
                Ok(n) => counts.push(n),
                Err(e) => {
                    warn!(counter = %c.id, error = %e, "rate-limit counter unavailable; not limiting");
                    counts.push(Some(0));
                }
            }
        }
        verdict(&counters, &counts, now)
    }

    /// A new key: its record and its text, shown this once.
    pub async fn create_key(&self, request: KeyRequest) -> Result<(ApiKey, String), DomainError> {
        let now = self.clock.now();
        let (key, text) = generate(&request.name, request.scopes, request.expires_at, request.rate_limit, now)
            .map_err(|e| DomainError::Store(StoreError::Unavailable(e)))?;
        self.keys.create(&key).await?;
        Ok((key, text))
    }

    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, DomainError> {
        Ok(self.keys.list().await?)
    }

    /// Revokes a key. The operator's key is the environment's (`BATON_ADMIN_KEY`): change or
    /// unset it there instead.
    pub async fn revoke_key(&self, id: &str) -> Result<ApiKey, DomainError> {
        if id == OPERATOR_KEY_ID {
            return Err(DomainError::Conflict(
                "the operator's key is set by BATON_ADMIN_KEY; change or unset it there to retire it".into(),
            ));
        }
        self.keys.revoke(id, self.clock.now()).await?.ok_or_else(|| DomainError::NotFound(format!("key {id}")))
    }

    /// `BATON_ADMIN_KEY`: that very text is an admin key, exempt from rate limits (the
    /// operator's automation). Kept hashed; a previous value stops working.
    pub async fn accept_operator_key(&self, text: &str) -> Result<(), DomainError> {
        let hash = hash_key(text);
        if self.keys.by_hash(&hash).await?.is_some_and(|k| k.revoked_at.is_none()) {
            return Ok(());
        }
        // A previous value stops working.
        if self.keys.list().await?.iter().any(|k| k.id == OPERATOR_KEY_ID && k.revoked_at.is_none()) {
            self.keys.revoke(OPERATOR_KEY_ID, self.clock.now()).await?;
        }
        let key = ApiKey {
            id: OPERATOR_KEY_ID.into(),
            name: OPERATOR_KEY_NAME.into(),
            scopes: vec![Scope::Admin],
            hash,
            created_at: self.clock.now(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            rate_limit: None,
            exempt: true,
        };
        match self.keys.create(&key).await {
            Ok(()) | Err(StoreError::AlreadyExists) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// On a first start (no key at all): an admin key, whose text is returned to be shown once.
    pub async fn first_admin_key(&self) -> Result<Option<String>, DomainError> {
        if !self.keys.list().await?.is_empty() {
            return Ok(None);
        }
        let request =
            KeyRequest { name: "admin".into(), scopes: vec![Scope::Admin], expires_at: None, rate_limit: None };
        let (_, text) = self.create_key(request).await?;
        Ok(Some(text))
    }
}
