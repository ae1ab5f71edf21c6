//! The actions table and the idempotency keys in memory, with the stores' conditions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::StoreError;
use crate::model::{Action, Priority};
use crate::ports::{ActionStore, IdempotencyStore, KeyRecord, Page, RecentPage, RecentQuery};
use crate::sync::lock;

#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, Action>>,
    /// Every successful write, in order: (old, new).
    pub writes: Mutex<Vec<(Option<Action>, Action)>>,
    /// Reads by id.
    pub reads: std::sync::atomic::AtomicUsize,
}

impl MemoryStore {
    pub fn snapshot(&self, id: &str) -> Option<Action> {
        lock(&self.items).get(id).cloned()
    }

    pub fn write_count(&self) -> usize {
        lock(&self.writes).len()
    }
}

#[async_trait]
impl ActionStore for MemoryStore {
    async fn insert(&self, action: &Action) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        if items.contains_key(&action.id) {
            return Err(StoreError::AlreadyExists);
        }
        items.insert(action.id.clone(), action.clone());
        lock(&self.writes).push((None, action.clone()));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Action>, StoreError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(lock(&self.items).get(id).cloned())
    }

    async fn replace(&self, old: &Action, new: &Action) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        match items.get(&old.id) {
            Some(current) if current.version == old.version => {
                items.insert(new.id.clone(), new.clone());
                lock(&self.writes).push((Some(old.clone()), new.clone()));
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn recent(&self, q: &RecentQuery) -> Result<RecentPage, StoreError> {
        let mut all: Vec<Action> = lock(&self.items)
            .values()
            .filter(|a| q.platform.is_none_or(|p| a.platform == p))
            .filter(|a| q.statuses.is_empty() || q.statuses.contains(&a.status))
            .filter(|a| q.start.is_none_or(|s| a.created_at >= s))
            .filter(|a| q.end.is_none_or(|e| a.created_at <= e))
            .filter(|a| q.user_id.is_none() || a.user_id == q.user_id)
            .cloned()
            .collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let total = all.len() as u64;
        let actions = all.into_iter().skip(q.offset).take(q.limit).collect();
        Ok(RecentPage { actions, total, exact: true })
    }

    async fn pending(
        &self,
        priority: Priority,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<crate::ports::PendingEntry>, StoreError> {
        // As the sparse index: unfinished (or a fallback to settle), and not held for approval.
        let mut all: Vec<Action> = lock(&self.items)
            .values()
            .filter(|a| {
                let open = !a.status.is_terminal() && a.status != crate::model::Status::PendingApproval;
                a.priority == priority && (open || a.fallback_pending)
            })
            .cloned()
            .collect();
        all.sort_by(|a, b| a.ready_at().cmp(&b.ready_at()).then(a.id.cmp(&b.id)));
        let skip = after.and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
        let items: Vec<crate::ports::PendingEntry> =
            all.iter().skip(skip).take(limit).map(crate::ports::PendingEntry::of).collect();
        let next = (skip + items.len() < all.len()).then(|| (skip + items.len()).to_string());
        Ok(Page { items, next })
    }

    async fn mark_redriven(
        &self,
        id: &str,
        seen: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut items = lock(&self.items);
        match items.get_mut(id) {
            Some(a) if a.redriven_at == seen => {
                a.redriven_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Idempotency keys in a map (no expiry: tests are short).
#[derive(Default)]
pub struct MemoryKeys {
    pub items: Mutex<HashMap<String, KeyRecord>>,
}

#[async_trait]
impl IdempotencyStore for MemoryKeys {
    async fn claim(&self, key: &str, record: &KeyRecord, _ttl: Duration) -> Result<Option<KeyRecord>, StoreError> {
        let mut items = lock(&self.items);
        if let Some(existing) = items.get(key) {
            return Ok(Some(existing.clone()));
        }
        items.insert(key.to_owned(), record.clone());
        Ok(None)
    }

    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError> {
        if let Some(r) = lock(&self.items).get_mut(key) {
            r.response = Some(response.clone());
        }
        Ok(())
    }
}

/// A store that is never there (throttled, unreachable).
pub struct UnavailableStore;

#[async_trait]
impl ActionStore for UnavailableStore {
    async fn insert(&self, _: &Action) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("unreachable".into()))
    }
    async fn get(&self, _: &str) -> Result<Option<Action>, StoreError> {
        Err(StoreError::Unavailable("unreachable".into()))
    }
    async fn replace(&self, _: &Action, _: &Action) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("unreachable".into()))
    }
    async fn recent(&self, _: &RecentQuery) -> Result<RecentPage, StoreError> {
        Err(StoreError::Unavailable("unreachable".into()))
    }
    async fn pending(
        &self,
        _: Priority,
        _: usize,
        _: Option<String>,
    ) -> Result<Page<crate::ports::PendingEntry>, StoreError> {
        Err(StoreError::Unavailable("unreachable".into()))
    }
    async fn mark_redriven(&self, _: &str, _: Option<DateTime<Utc>>, _: DateTime<Utc>) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("unreachable".into()))
    }
}
