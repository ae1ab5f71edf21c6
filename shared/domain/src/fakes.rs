//! In-memory implementations of the ports, for use-case tests here and in other crates.
//!
//! They keep the ports' contracts (conditional writes pinned to versions, newest-first
//! listings) so a use case tested against them behaves the same on the real adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{PlatformError, StoreError};
use crate::events::{Event, Subscription};
use crate::model::{Action, Platform, Priority, WorkItem};
use crate::ports::{
    ActionQueue, ActionStore, Clock, Connection, ConnectionStore, EventSink, IdempotencyStore, KeyRecord, Notifier,
    Pacer, Page, PlatformClient, QueueError, QueueStats, RecentPage, RecentQuery,
};
use crate::validation::Operation;

use crate::sync::lock;

#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, Action>>,
    /// Every successful write, in order: (old, new).
    pub writes: Mutex<Vec<(Option<Action>, Action)>>,
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

/// Records what was enqueued; reports a fixed capacity. `fail_next` refuses that many sends.
#[derive(Default)]
pub struct MemoryQueue {
    pub items: Mutex<VecDeque<(WorkItem, Duration)>>,
    pub fail_next: Mutex<usize>,
}

#[async_trait]
impl ActionQueue for MemoryQueue {
    async fn enqueue(&self, item: WorkItem, delay: Duration) -> Result<(), QueueError> {
        let mut fail = lock(&self.fail_next);
        if *fail > 0 {
            *fail -= 1;
            return Err(QueueError("queue unavailable".into()));
        }
        lock(&self.items).push_back((item, delay));
        Ok(())
    }

    async fn stats(&self) -> QueueStats {
        let mut depth = [0u64; 4];
        for (item, _) in lock(&self.items).iter() {
            depth[item.priority.index()] += 1;
        }
        QueueStats { depth, capacity: [4, 4, 4, 4], busy: 0, avg_execution_ms: 100, avg_wait_ms: 0 }
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = lock(&self.0);
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

/// A platform that answers from a script, then with the last answer forever.
pub struct ScriptedPlatform {
    pub platform: Platform,
    script: Mutex<VecDeque<Result<Value, PlatformError>>>,
    last: Mutex<Option<Result<Value, PlatformError>>>,
    /// Delay before each answer.
    pub latency: Duration,
    /// Further requests each call makes (pages, cards): each asks the pacer first.
    pub extra_requests: usize,
    pub calls: Mutex<Vec<(String, Operation)>>,
}

impl ScriptedPlatform {
    pub fn new(platform: Platform, script: Vec<Result<Value, PlatformError>>) -> Self {
        Self {
            platform,
            script: Mutex::new(script.into()),
            last: Mutex::new(None),
            latency: Duration::ZERO,
            extra_requests: 0,
            calls: Mutex::new(Vec::new()),
        }
    }

    pub fn call_count(&self) -> usize {
        lock(&self.calls).len()
    }
}

#[async_trait]
impl PlatformClient for ScriptedPlatform {
    fn platform(&self) -> Platform {
        self.platform
    }

    async fn execute(&self, action: &Action, operation: Operation, pacer: &dyn Pacer) -> Result<Value, PlatformError> {
        lock(&self.calls).push((action.id.clone(), operation));
        for _ in 0..self.extra_requests {
            pacer.before_call().await?;
        }
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let next = lock(&self.script).pop_front();
        match next {
            Some(answer) => {
                *lock(&self.last) = Some(answer.clone());
                answer
            }
            None => lock(&self.last).clone().unwrap_or(Ok(Value::Null)),
        }
    }
}

/// Platform state in a map, with the store's version condition.
#[derive(Default)]
pub struct MemoryPlatformState {
    pub items: Mutex<HashMap<String, crate::limits::PlatformState>>,
}

#[async_trait]
impl crate::ports::PlatformStateStore for MemoryPlatformState {
    async fn get(&self, key: &str) -> Result<Option<crate::limits::PlatformState>, StoreError> {
        Ok(lock(&self.items).get(key).cloned())
    }

    async fn put(
        &self,
        old: Option<&crate::limits::PlatformState>,
        new: &crate::limits::PlatformState,
    ) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        let current = items.get(&new.key).map(|s| s.version);
        if current != old.map(|o| o.version) {
            return Err(StoreError::Conflict);
        }
        items.insert(new.key.clone(), new.clone());
        Ok(())
    }
}

/// Connections in a map.
#[derive(Default)]
pub struct MemoryConnections {
    pub items: Mutex<HashMap<String, Connection>>,
}

#[async_trait]
impl ConnectionStore for MemoryConnections {
    async fn put(&self, c: &Connection) -> Result<(), StoreError> {
        lock(&self.items).insert(c.id.clone(), c.clone());
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        lock(&self.items).remove(id);
        Ok(())
    }

    async fn subscribe(&self, id: &str, subscription: &Subscription) -> Result<(), StoreError> {
        match lock(&self.items).get_mut(id) {
            Some(c) => {
                c.subscription = subscription.clone();
                Ok(())
            }
            None => Err(StoreError::Conflict),
        }
    }

    async fn all(&self) -> Result<Vec<Connection>, StoreError> {
        Ok(lock(&self.items).values().cloned().collect())
    }
}

/// Keeps what it is given; fails the next `fail_next` publications.
#[derive(Default)]
pub struct RecordingSink {
    pub events: Mutex<Vec<Event>>,
    pub fail_next: Mutex<usize>,
}

impl RecordingSink {
    pub fn names(&self) -> Vec<String> {
        lock(&self.events).iter().map(|e| e.event.clone()).collect()
    }
}

#[async_trait]
impl EventSink for RecordingSink {
    async fn publish(&self, events: &[Event]) -> Result<(), String> {
        let mut fail = lock(&self.fail_next);
        if *fail > 0 {
            *fail -= 1;
            return Err("events queue unavailable".into());
        }
        lock(&self.events).extend_from_slice(events);
        Ok(())
    }
}

#[async_trait]
impl Notifier for RecordingSink {
    async fn notify(&self, events: Vec<Event>) {
        lock(&self.events).extend(events);
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
