//! API keys and rate-limit counters in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::auth::ApiKey;
use crate::auth::limits::Counter;
use crate::error::StoreError;
use crate::ports::{KeyStore, RateCounter};
use crate::sync::lock;

#[derive(Default)]
pub struct MemoryKeyStore {
    pub items: Mutex<HashMap<String, ApiKey>>,
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(lock(&self.items).get(hash).cloned())
    }

    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        if items.contains_key(&key.hash) {
            return Err(StoreError::AlreadyExists);
        }
        items.insert(key.hash.clone(), key.clone());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut all: Vec<ApiKey> = lock(&self.items).values().cloned().collect();
        all.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(all)
    }

    async fn revoke(&self, id: &str, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        let mut items = lock(&self.items);
        let mut found = None;
        for key in items.values_mut().filter(|k| k.id == id) {
            key.revoked_at.get_or_insert(at);
            found = Some(key.clone());
        }
        Ok(found)
    }

    async fn touch(&self, hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(k) = lock(&self.items).get_mut(hash) {
            k.last_used_at = Some(at);
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryCounters {
    pub counts: Mutex<HashMap<String, u64>>,
}

#[async_trait]
impl RateCounter for MemoryCounters {
    async fn take(&self, counter: &Counter, n: u64) -> Result<Option<u64>, StoreError> {
        let mut counts = lock(&self.counts);
        let count = counts.entry(counter.id.clone()).or_insert(0);
        if *count + n > counter.limit {
            return Ok(None);
        }
        *count += n;
        Ok(Some(*count))
    }
}
