//! Ports: the roles the use cases need from the outside world, in domain types only.
//!
//! Adapters (DynamoDB, SQS, the local scheduler, platform clients, WebSocket hubs) implement
//! them elsewhere. Must not import any adapter crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::approval::{Approval, ApprovalStatus};
use crate::auth::ApiKey;
use crate::auth::limits::Counter;
use crate::error::{PlatformError, StoreError};
use crate::events::{Event, Subscription};
use crate::limits::PlatformState;
use crate::model::{Action, Platform, Priority, Status, WorkItem};
use crate::validation::Operation;
use crate::workflow::{Workflow, WorkflowStatus};

/// The time, injectable so tests can pin it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Filters of `GET /api/actions/recent`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentQuery {
    pub limit: usize,
    pub offset: usize,
    pub platform: Option<Platform>,
    /// Any of these statuses (empty: all).
    pub statuses: Vec<Status>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Only this user's actions (read from the by-user index).
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentPage {
    /// Newest first.
    pub actions: Vec<Action>,
    /// How many actions match the filters in all (a lower bound when not `exact`).
    pub total: u64,
    pub exact: bool,
}

/// What the pending listing tells of an unfinished action: enough to list the queue, find the
/// oldest, re-drive and recover, without the action's data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: crate::model::ActionType,
    pub platform: Platform,
    pub priority: Priority,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub worker_id: Option<String>,
    #[serde(default)]
    pub redriven_at: Option<DateTime<Utc>>,
}

impl PendingEntry {
    /// The stored attributes an entry is read from (besides `id`).
    pub const FIELDS: &'static [&'static str] =
        &["type", "platform", "priority", "status", "createdAt", "notBefore", "leaseUntil", "workerId", "redrivenAt"];

    pub fn of(a: &Action) -> Self {
        Self {
            id: a.id.clone(),
            action_type: a.action_type,
            platform: a.platform,
            priority: a.priority,
            status: a.status,
            created_at: a.created_at,
            not_before: a.not_before,
            lease_until: a.lease_until,
            worker_id: a.worker_id.clone(),
            redriven_at: a.redriven_at,
        }
    }

    pub fn ready_at(&self) -> DateTime<Utc> {
        self.not_before.unwrap_or(self.created_at)
    }
}

/// One page of a longer listing; `next` resumes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The actions table. Every transition is a conditional write pinned to the image it replaces.
#[async_trait]
pub trait ActionStore: Send + Sync {
    /// Stores a new action; `AlreadyExists` if its id is taken.
    async fn insert(&self, action: &Action) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<Action>, StoreError>;
    /// Writes `new` only if the stored item is still `old` (same version); `Conflict` otherwise.
    async fn replace(&self, old: &Action, new: &Action) -> Result<(), StoreError>;
    async fn recent(&self, query: &RecentQuery) -> Result<RecentPage, StoreError>;
    /// Unfinished work of one priority, oldest first: queued, retrying and executing actions,
    /// and finished ones whose fallback is not yet known to be submitted.
    async fn pending(
        &self,
        priority: Priority,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<PendingEntry>, StoreError>;
    /// Notes that the scheduler re-sent this action's work item at `now`, if nobody did since
    /// `seen` (the mark it read). `false` when another run marked it first. The mark is
    /// advisory: it does not change the action's version.
    async fn mark_redriven(
        &self,
        id: &str,
        seen: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// A claimed idempotency key: the request's fingerprint, the id of what it creates, and the
/// answer once there is one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub fingerprint: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

/// Idempotency keys (kept for a day): claimed by a conditional write, so of two racing
/// requests with one key exactly one does the work.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` with `record`; `Some(existing)` when it was claimed before.
    async fn claim(&self, key: &str, record: &KeyRecord, ttl: Duration) -> Result<Option<KeyRecord>, StoreError>;
    /// Stores the answer given under `key`.
    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError>;
}

/// Per-priority numbers a queue can tell about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueStats {
    /// Waiting (not yet taken) work items, by `Priority::index()`.
    pub depth: [u64; 4],
    /// Workers serving each priority.
    pub capacity: [u32; 4],
    /// Workers busy right now, all priorities.
    pub busy: u32,
    /// Recent average execution time, ms.
    pub avg_execution_ms: u64,
    /// Recent average time from ready to taken, ms.
    pub avg_wait_ms: u64,
}

impl QueueStats {
    pub fn total_capacity(&self) -> u32 {
        self.capacity.iter().sum()
    }

    pub fn utilization(&self) -> f64 {
        match self.total_capacity() {
            0 => 0.0,
            cap => (f64::from(self.busy) / f64::from(cap)).min(1.0),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("queue unavailable: {0}")]
pub struct QueueError(pub String);

/// Carries "work on action X" to the executors, by priority.
#[async_trait]
pub trait ActionQueue: Send + Sync {
    /// Delivers `item` to a worker of its priority no sooner than `delay` from now.
    async fn enqueue(&self, item: WorkItem, delay: Duration) -> Result<(), QueueError>;
    /// Many at once (batched where the queue can); one result per item, in order.
    async fn enqueue_many(&self, items: Vec<(WorkItem, Duration)>) -> Vec<Result<(), QueueError>> {
        let mut results = Vec::with_capacity(items.len());
        for (item, delay) in items {
            results.push(self.enqueue(item, delay).await);
        }
        results
    }
    async fn stats(&self) -> QueueStats;
}

/// The dead-letter queues of the priority queues (on AWS): the work items that could not be
/// delivered.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Moves up to `max` messages of `priority`'s dead-letter queue back into its queue; how
    /// many were moved.
    async fn redrive(&self, priority: Priority, max: usize) -> Result<usize, QueueError>;
}

/// Hands derived events to whoever shows them (WebSocket connections, the events queue).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, events: Vec<Event>);
}

/// The durable event channel (the SQS events queue). Unlike a `Notifier`, a failure is
/// reported, so the caller can have the change delivered again.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn publish(&self, events: &[Event]) -> Result<(), String>;
}

/// Told of every successful write to the actions table, in write order per action.
/// Locally this is the change feed; on AWS DynamoDB Streams plays the part.
pub trait ChangeListener: Send + Sync {
    fn changed(&self, old: Option<&Action>, new: &Action);
    /// A write to the platform state table (breakers and buckets).
    fn platform_changed(&self, _old: Option<&PlatformState>, _new: &PlatformState) {}
    /// A write to the approvals table.
    fn approval_changed(&self, _old: Option<&Approval>, _new: &Approval) {}
    /// A write to the workflows table.
    fn workflow_changed(&self, _old: Option<&Workflow>, _new: &Workflow) {}
}

pub use crate::metrics::MetricsStore;

/// The workflows table. Every write is conditional on the version it replaces, so two steps
/// finishing at once never both start the same successor.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Stores a new workflow; `AlreadyExists` if its id is taken.
    async fn insert(&self, workflow: &Workflow) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<Workflow>, StoreError>;
    /// Writes `new` only if the stored item is still `old` (same version); `Conflict` otherwise.
    async fn replace(&self, old: &Workflow, new: &Workflow) -> Result<(), StoreError>;
    /// Unfinished workflows not written since they fell due (`Workflow::due_at` by `until`),
    /// oldest first. Read from the sparse index.
    async fn open(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Workflow>, StoreError>;
    /// The newest workflows with `status` (any, for `None`), newest first, within retention.
    async fn recent(&self, status: Option<WorkflowStatus>, limit: usize) -> Result<Vec<Workflow>, StoreError>;
}

/// The approvals table. Every write is conditional on the version it replaces, so of two
/// racing decisions exactly one lands.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a new approval; `AlreadyExists` if its id is taken.
    async fn insert(&self, approval: &Approval) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<Approval>, StoreError>;
    /// Writes `new` only if the stored item is still `old` (same version); `Conflict` otherwise.
    async fn replace(&self, old: &Approval, new: &Approval) -> Result<(), StoreError>;
    /// Open approvals (not settled: pending, or resolved with something left to do), soonest
    /// due first; only those due by `until` when given. Read from the sparse index.
    async fn open(
        &self,
        until: Option<DateTime<Utc>>,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<Approval>, StoreError>;
    /// The newest approvals with `status` (any, for `None`), newest first, within retention.
    async fn recent(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, StoreError>;
}

/// The platform state table: one item per platform (breaker, bucket) and per Slack channel
/// (bucket). Writes are conditional on the version the new state was computed from.
#[async_trait]
pub trait PlatformStateStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<PlatformState>, StoreError>;
    /// Stores `new` if the item is still `old` (or absent, for `None`); `Conflict` otherwise.
    async fn put(&self, old: Option<&PlatformState>, new: &PlatformState) -> Result<(), StoreError>;
}

/// Paces the platform requests of one attempt after its first (whose token the admission
/// took): pages of a query, cards of a bulk delete, permissions of an upload. N requests
/// take N tokens.
#[async_trait]
pub trait Pacer: Send + Sync {
    async fn before_call(&self) -> Result<(), PlatformError>;
}

/// No pacing: dry runs, and platforms called without a guard.
pub struct Unpaced;

#[async_trait]
impl Pacer for Unpaced {
    async fn before_call(&self) -> Result<(), PlatformError> {
        Ok(())
    }
}

/// One platform's API. A client builds the exact request for `operation`; with
/// `action.dry_run` it returns that request (secrets redacted) instead of sending it. Every
/// request after the first asks `pacer` first.
#[async_trait]
pub trait PlatformClient: Send + Sync {
    fn platform(&self) -> Platform;
    async fn execute(&self, action: &Action, operation: Operation, pacer: &dyn Pacer) -> Result<Value, PlatformError>;
}

/// Answers a Slack interaction through the `response_url` Slack gave with it: a message only
/// the clicking user sees (the button's outcome when the message itself does not change).
#[async_trait]
pub trait SlackResponder: Send + Sync {
    async fn ephemeral(&self, response_url: &str, text: &str) -> Result<(), PlatformError>;
}

/// The platform clients, by platform.
#[derive(Clone, Default)]
pub struct PlatformRegistry {
    clients: HashMap<Platform, Arc<dyn PlatformClient>>,
}

impl PlatformRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, client: Arc<dyn PlatformClient>) -> Self {
        self.clients.insert(client.platform(), client);
        self
    }

    pub fn get(&self, platform: Platform) -> Option<&Arc<dyn PlatformClient>> {
        self.clients.get(&platform)
    }
}

/// A WebSocket connection held by API Gateway (on AWS) and what it subscribed to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: String,
    #[serde(default)]
    pub subscription: Subscription,
    pub connected_at: DateTime<Utc>,
}

/// The connections table.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put(&self, connection: &Connection) -> Result<(), StoreError>;
    /// Idempotent: deleting a connection that is gone is not an error.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
    async fn subscribe(&self, id: &str, subscription: &Subscription) -> Result<(), StoreError>;
    async fn all(&self) -> Result<Vec<Connection>, StoreError>;
}

/// The API keys table: records found by the hash of the presented key.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    /// Stores a key; `AlreadyExists` if a key with its hash is there.
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Every key, newest first (records only: no secret exists to list).
    async fn list(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Marks key `id` revoked at `at`; the record as it is now, `None` if there is no such key.
    async fn revoke(&self, id: &str, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError>;
    /// Notes a use at `at`, if the last noted one is older than a minute (best effort).
    async fn touch(&self, hash: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// The API's rate-limit counters, shared by every process.
#[async_trait]
pub trait RateCounter: Send + Sync {
    /// Counts `n` requests on `counter` if they all fit under its limit: its count now, or
    /// `None` when they do not (and nothing is counted).
    async fn take(&self, counter: &Counter, n: u64) -> Result<Option<u64>, StoreError>;
}
