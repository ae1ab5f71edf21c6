//! The local change feed: every successful write to the actions table hands its old and new
//! image to the one pure event derivation, and the events to the notifier, in write order.
//!
//! On AWS, DynamoDB Streams play this part; the emulator's own stream table is not used for a
//! long-lived database because it grows without bound and slows every write (DESIGN §8).

use async_trait::async_trait;
use baton_domain::StoreError;
use baton_domain::events::{Event, derive_events};
use baton_domain::limits::{PlatformState, derive_health_events};
use baton_domain::model::{Action, Priority};
use baton_domain::ports::{
    ActionStore, ChangeListener, Notifier, Page, PendingEntry, PlatformStateStore, RecentPage, RecentQuery,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// An `ActionStore` that reports each successful write to a `ChangeListener`.
pub struct FeedingStore {
    inner: Arc<dyn ActionStore>,
    listener: Arc<dyn ChangeListener>,
}

impl FeedingStore {
    pub fn new(inner: Arc<dyn ActionStore>, listener: Arc<dyn ChangeListener>) -> Self {
        Self { inner, listener }
    }
}

#[async_trait]
impl ActionStore for FeedingStore {
    async fn insert(&self, action: &Action) -> Result<(), StoreError> {
        self.inner.insert(action).await?;
        self.listener.changed(None, action);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Action>, StoreError> {
        self.inner.get(id).await
    }

    async fn replace(&self, old: &Action, new: &Action) -> Result<(), StoreError> {
        self.inner.replace(old, new).await?;
        self.listener.changed(Some(old), new);
        Ok(())
    }

    async fn recent(&self, query: &RecentQuery) -> Result<RecentPage, StoreError> {
        self.inner.recent(query).await
    }

    async fn pending(
        &self,
        priority: Priority,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<PendingEntry>, StoreError> {
        self.inner.pending(priority, limit, after).await
    }

    async fn mark_redriven(
        &self,
        id: &str,
        seen: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.mark_redriven(id, seen, now).await
    }
}

/// Derives events from changes and queues them, in order, for one dispatcher task.
///
/// The channel is unbounded on purpose: a write must never wait on delivery, and the
/// dispatcher only hands frames to bounded per-connection buffers, so it never falls behind
/// for long.
pub struct ChangeFeed {
    events: mpsc::UnboundedSender<Vec<Event>>,
}

impl ChangeFeed {
    /// The feed, and the task that delivers its events to `notifier`.
    pub fn start(notifier: Arc<dyn Notifier>) -> (Arc<Self>, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Event>>();
        let task = tokio::spawn(async move {
            while let Some(events) = rx.recv().await {
                notifier.notify(events).await;
            }
        });
        (Arc::new(Self { events: tx }), task)
    }

    pub fn emit(&self, events: Vec<Event>) {
        if !events.is_empty() {
            let _ = self.events.send(events);
        }
    }
}

impl ChangeListener for ChangeFeed {
    fn changed(&self, old: Option<&Action>, new: &Action) {
        self.emit(derive_events(old, new));
    }

    fn platform_changed(&self, old: Option<&PlatformState>, new: &PlatformState) {
        self.emit(derive_health_events(old, new));
    }
}

/// A `PlatformStateStore` that reports each successful write, as `FeedingStore` does.
pub struct FeedingPlatformState {
    inner: Arc<dyn PlatformStateStore>,
    listener: Arc<dyn ChangeListener>,
}

impl FeedingPlatformState {
    pub fn new(inner: Arc<dyn PlatformStateStore>, listener: Arc<dyn ChangeListener>) -> Self {
        Self { inner, listener }
    }
}

#[async_trait]
impl PlatformStateStore for FeedingPlatformState {
    async fn get(&self, key: &str) -> Result<Option<PlatformState>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(&self, old: Option<&PlatformState>, new: &PlatformState) -> Result<(), StoreError> {
        self.inner.put(old, new).await?;
        self.listener.platform_changed(old, new);
        Ok(())
    }
}
