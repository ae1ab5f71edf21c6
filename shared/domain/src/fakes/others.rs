//! Queues, clocks, platforms, platform state, connections and event sinks in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{PlatformError, StoreError};
use crate::events::{Event, Subscription};
use crate::model::{Action, Platform, WorkItem};
use crate::ports::{
    ActionQueue, Clock, Connection, ConnectionStore, EventSink, Notifier, Pacer, PlatformClient, QueueError, QueueStats,
};
use crate::sync::lock;
use crate::validation::Operation;

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

    /// A dry run is described (`scripted://<operation>` with the data as body) and neither
    /// recorded nor answered from the script.
    async fn execute(&self, action: &Action, operation: Operation, pacer: &dyn Pacer) -> Result<Value, PlatformError> {
        if action.dry_run {
            return Ok(serde_json::json!({"dryRun": true, "request": {
                "method": "POST", "url": format!("scripted://{}", operation.name()), "body": action.data}}));
        }
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
