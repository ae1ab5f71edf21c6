//! The local change feed: every successful write to the actions, approvals, workflows and
//! platform state tables hands its old and new image to the one pure event derivation, and the events to the
//! notifier, in write order; the action changes that set something in motion go to the
//! `Reactor`, on their own task.
//!
//! On AWS, DynamoDB Streams play this part; the emulator's own stream table is not used for a
//! long-lived database because it grows without bound and slows every write (DESIGN §8).

use async_trait::async_trait;
use baton_domain::StoreError;
use baton_domain::approval::{Approval, ApprovalStatus};
use baton_domain::events::{Change, Event, derive_events};
use baton_domain::limits::{PlatformState, derive_health_events};
use baton_domain::model::{Action, Priority};
use baton_domain::ports::{
    ActionStore, ApprovalStore, ChangeListener, Notifier, Page, PendingEntry, PlatformStateStore, RecentPage,
    RecentQuery, WorkflowStore,
};
use baton_domain::usecases::Reactor;
use baton_domain::workflow::{Workflow, WorkflowStatus};
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

/// Events handed to the notifier at once at most, when many are waiting.
const MAX_PUBLICATION: usize = 512;

/// Derives events from changes and queues them, in order, for one dispatcher task.
///
/// The channel is unbounded on purpose: a write must never wait on delivery, and the
/// dispatcher only hands frames to bounded per-connection buffers, so it never falls behind
/// for long.
pub struct ChangeFeed {
    events: mpsc::UnboundedSender<Vec<Event>>,
    reactions: mpsc::UnboundedSender<(Option<Action>, Action)>,
    ended: mpsc::UnboundedSender<(Option<Action>, Action)>,
}

/// The action changes waiting for the `Reactor` (see [`react`]), or for the metrics (see
/// [`count`]).
pub type Reactions = mpsc::UnboundedReceiver<(Option<Action>, Action)>;

impl ChangeFeed {
    /// The feed, the task that delivers its events to `notifier`, the changes to react to,
    /// and the actions that ended (for the metrics).
    pub fn start(notifier: Arc<dyn Notifier>) -> (Arc<Self>, JoinHandle<()>, Reactions, Reactions) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Event>>();
        let (reactions, pending) = mpsc::unbounded_channel();
        let (ended, to_count) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(mut events) = rx.recv().await {
                // What piled up while the last publication went out goes out as one.
                while events.len() < MAX_PUBLICATION
                    && let Ok(mut more) = rx.try_recv()
                {
                    events.append(&mut more);
                }
                notifier.notify(events).await;
            }
        });
        (Arc::new(Self { events: tx, reactions, ended }), task, pending, to_count)
    }

    pub fn emit(&self, events: Vec<Event>) {
        if !events.is_empty() {
            let _ = self.events.send(events);
        }
    }
}

impl ChangeListener for ChangeFeed {
    fn changed(&self, old: Option<&Action>, new: &Action) {
        self.emit(derive_events(Change::Action { old, new }));
        if Reactor::wants(old, new) {
            let _ = self.reactions.send((old.cloned(), new.clone()));
        }
        if baton_domain::metrics::counts(old, new) {
            let _ = self.ended.send((old.cloned(), new.clone()));
        }
    }

    fn platform_changed(&self, old: Option<&PlatformState>, new: &PlatformState) {
        self.emit(derive_health_events(old, new));
    }

    fn approval_changed(&self, old: Option<&Approval>, new: &Approval) {
        self.emit(derive_events(Change::Approval { old, new }));
    }

    fn workflow_changed(&self, old: Option<&Workflow>, new: &Workflow) {
        self.emit(derive_events(Change::Workflow { old, new }));
    }
}

/// Runs the reactions, in order. A failed one is logged and left to the approvals sweep,
/// which finds the same work from the tables.
pub async fn react(mut pending: Reactions, reactor: Reactor) {
    while let Some((old, new)) = pending.recv().await {
        if let Err(e) = reactor.react(old.as_ref(), &new).await {
            tracing::warn!(action_id = %new.id, error = %e, "reaction failed; the sweep retries it");
        }
    }
}

/// Counts the actions that ended, in batches of what has arrived (one ADD per bucket touched).
pub async fn count(mut ended: Reactions, metrics: baton_domain::usecases::Metrics) {
    while let Some(first) = ended.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1_000
            && let Ok(next) = ended.try_recv()
        {
            batch.push(next);
        }
        if let Err(e) = metrics.record(batch.iter().map(|(o, n)| (o.as_ref(), n))).await {
            tracing::warn!(error = %e, actions = batch.len(), "metrics not counted");
        }
    }
}

/// An `ApprovalStore` that reports each successful write, as `FeedingStore` does.
pub struct FeedingApprovals {
    inner: Arc<dyn ApprovalStore>,
    listener: Arc<dyn ChangeListener>,
}

impl FeedingApprovals {
    pub fn new(inner: Arc<dyn ApprovalStore>, listener: Arc<dyn ChangeListener>) -> Self {
        Self { inner, listener }
    }
}

#[async_trait]
impl ApprovalStore for FeedingApprovals {
    async fn insert(&self, approval: &Approval) -> Result<(), StoreError> {
        self.inner.insert(approval).await?;
        self.listener.approval_changed(None, approval);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        self.inner.get(id).await
    }

    async fn replace(&self, old: &Approval, new: &Approval) -> Result<(), StoreError> {
        self.inner.replace(old, new).await?;
        self.listener.approval_changed(Some(old), new);
        Ok(())
    }

    async fn open(
        &self,
        until: Option<DateTime<Utc>>,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<Approval>, StoreError> {
        self.inner.open(until, limit, after).await
    }

    async fn recent(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, StoreError> {
        self.inner.recent(status, limit).await
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

/// A `WorkflowStore` that reports each successful write, as `FeedingStore` does.
pub struct FeedingWorkflows {
    inner: Arc<dyn WorkflowStore>,
    listener: Arc<dyn ChangeListener>,
}

impl FeedingWorkflows {
    pub fn new(inner: Arc<dyn WorkflowStore>, listener: Arc<dyn ChangeListener>) -> Self {
        Self { inner, listener }
    }
}

#[async_trait]
impl WorkflowStore for FeedingWorkflows {
    async fn insert(&self, workflow: &Workflow) -> Result<(), StoreError> {
        self.inner.insert(workflow).await?;
        self.listener.workflow_changed(None, workflow);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Workflow>, StoreError> {
        self.inner.get(id).await
    }

    async fn replace(&self, old: &Workflow, new: &Workflow) -> Result<(), StoreError> {
        self.inner.replace(old, new).await?;
        self.listener.workflow_changed(Some(old), new);
        Ok(())
    }

    async fn open(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Workflow>, StoreError> {
        self.inner.open(until, limit).await
    }

    async fn recent(&self, status: Option<WorkflowStatus>, limit: usize) -> Result<Vec<Workflow>, StoreError> {
        self.inner.recent(status, limit).await
    }
}
