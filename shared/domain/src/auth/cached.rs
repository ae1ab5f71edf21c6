//! `CachedKeys`: a verified key is remembered for a few seconds, so a busy caller does not cost
//! a read per request. Creating or revoking a key here forgets them all at once; a revocation
//! made by another process takes effect here within the cache's lifetime (on AWS the gateway
//! caches the authorizer's answer for longer still). Unknown keys are never remembered: a key
//! made elsewhere works at once.
//!
//! Pure; must not import any adapter crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::ApiKey;
use crate::error::StoreError;
use crate::ports::KeyStore;

/// How long a verified key is remembered.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Keys remembered at most (the oldest go first beyond it).
const MAX_KEYS: usize = 1024;

pub struct CachedKeys {
    inner: Arc<dyn KeyStore>,
    ttl: Duration,
    known: Mutex<HashMap<String, (Instant, ApiKey)>>,
}

impl CachedKeys {
    pub fn new(inner: Arc<dyn KeyStore>, ttl: Duration) -> Self {
        Self { inner, ttl, known: Mutex::new(HashMap::new()) }
    }

    fn known(&self) -> MutexGuard<'_, HashMap<String, (Instant, ApiKey)>> {
        self.known.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl KeyStore for CachedKeys {
    async fn by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        if let Some((at, key)) = self.known().get(hash)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(key.clone()));
        }
        let found = self.inner.by_hash(hash).await?;
        let mut known = self.known();
        match &found {
            Some(key) => {
                if known.len() >= MAX_KEYS {
                    let ttl = self.ttl;
                    known.retain(|_, (at, _)| at.elapsed() < ttl);
                    if known.len() >= MAX_KEYS {
                        known.clear();
                    }
                }
                known.insert(hash.to_owned(), (Instant::now(), key.clone()));
            }
            None => {
                known.remove(hash);
            }
        }
        Ok(found)
    }

    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.known().clear();
        self.inner.create(key).await
    }

    async fn list(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list().await
    }

    async fn revoke(&self, id: &str, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        let revoked = self.inner.revoke(id, at).await;
        self.known().clear();
        revoked
    }

    async fn touch(&self, hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some((_, key)) = self.known().get_mut(hash) {
            key.last_used_at = Some(at);
        }
        self.inner.touch(hash, at).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Scope, generate, hash_key};
    use crate::fakes::MemoryKeyStore;

    #[derive(Default)]
    struct Reads(std::sync::atomic::AtomicUsize);

    fn counting(keys: Arc<MemoryKeyStore>, reads: Arc<Reads>) -> Arc<dyn KeyStore> {
        struct Counting(Arc<MemoryKeyStore>, Arc<Reads>);
        #[async_trait]
        impl KeyStore for Counting {
            async fn by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
                self.1.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.0.by_hash(hash).await
            }
            async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
                self.0.create(key).await
            }
            async fn list(&self) -> Result<Vec<ApiKey>, StoreError> {
                self.0.list().await
            }
            async fn revoke(&self, id: &str, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
                self.0.revoke(id, at).await
            }
            async fn touch(&self, hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                self.0.touch(hash, at).await
            }
        }
        Arc::new(Counting(keys, reads))
    }

    #[tokio::test]
    async fn a_verified_key_is_read_once_and_a_revocation_here_is_seen_at_once() {
        let (keys, reads) = (Arc::new(MemoryKeyStore::default()), Arc::new(Reads::default()));
        let cached = CachedKeys::new(counting(keys.clone(), reads.clone()), KEY_CACHE_TTL);
        let (key, text) = generate("k", vec![Scope::ActionsRead], None, None, Utc::now()).expect("key");
        let hash = hash_key(&text);
        assert_eq!(cached.by_hash(&hash).await.expect("read"), None, "not there yet");
        cached.create(&key).await.expect("create");
        for _ in 0..5 {
            assert!(cached.by_hash(&hash).await.expect("read").is_some());
        }
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::Relaxed), 2, "the unknown key, then the key once");
        cached.revoke(&key.id, Utc::now()).await.expect("revoke");
        let after = cached.by_hash(&hash).await.expect("read").expect("the record");
        assert!(after.revoked_at.is_some(), "the revocation is seen at once");
    }

    #[tokio::test]
    async fn a_remembered_key_expires() {
        let (keys, reads) = (Arc::new(MemoryKeyStore::default()), Arc::new(Reads::default()));
        let cached = CachedKeys::new(counting(keys.clone(), reads.clone()), Duration::ZERO);
        let (key, text) = generate("k", vec![Scope::ActionsRead], None, None, Utc::now()).expect("key");
        keys.create(&key).await.expect("create");
        cached.by_hash(&hash_key(&text)).await.expect("read");
        cached.by_hash(&hash_key(&text)).await.expect("read");
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}
