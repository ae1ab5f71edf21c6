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
    ActionQueue, ActionStore, Clock, Connection, ConnectionStore, EventSink, Notifier, Page, PlatformClient,
    QueueError, QueueStats, RecentPage, RecentQuery,
};
use crate::validation::Operation;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
        Ok(RecentPage { actions, total })
    }

    async fn pending(
        &self,
        priority: Priority,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<crate::ports::PendingEntry>, StoreError> {
        // As the sparse index: unfinished, and not held for approval.
        let mut all: Vec<Action> = lock(&self.items)
            .values()
            .filter(|a| {
                a.priority == priority && !a.status.is_terminal() && a.status != crate::model::Status::PendingApproval
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
}

/// Records what was enqueued; reports a fixed capacity.
#[derive(Default)]
pub struct MemoryQueue {
    pub items: Mutex<VecDeque<(WorkItem, Duration)>>,
}

#[async_trait]
impl ActionQueue for MemoryQueue {
    async fn enqueue(&self, item: WorkItem, delay: Duration) -> Result<(), QueueError> {
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
    pub calls: Mutex<Vec<(String, Operation)>>,
}

impl ScriptedPlatform {
    pub fn new(platform: Platform, script: Vec<Result<Value, PlatformError>>) -> Self {
        Self {
            platform,
            script: Mutex::new(script.into()),
            last: Mutex::new(None),
            latency: Duration::ZERO,
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

    async fn execute(&self, action: &Action, operation: Operation) -> Result<Value, PlatformError> {
        lock(&self.calls).push((action.id.clone(), operation));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::Status;
    use crate::ports::PlatformRegistry;
    use crate::usecases::{Executor, IngestOutcome, Ingestor, Outcome, Submitter, recover, redrive};
    use crate::validation::parse_submission;
    use serde_json::json;
    use std::sync::Arc;

    struct World {
        store: Arc<MemoryStore>,
        queue: Arc<MemoryQueue>,
        clock: Arc<ManualClock>,
        platform: Arc<ScriptedPlatform>,
    }

    impl World {
        fn new(script: Vec<Result<Value, PlatformError>>) -> Self {
            Self {
                store: Arc::new(MemoryStore::default()),
                queue: Arc::new(MemoryQueue::default()),
                clock: Arc::new(ManualClock::new(Utc::now())),
                platform: Arc::new(ScriptedPlatform::new(Platform::Slack, script)),
            }
        }

        fn submitter(&self) -> Submitter {
            Submitter { store: self.store.clone(), queue: self.queue.clone(), clock: self.clock.clone() }
        }

        fn executor(&self, worker: &str) -> Executor {
            Executor {
                store: self.store.clone(),
                platforms: Arc::new(PlatformRegistry::new().with(self.platform.clone())),
                clock: self.clock.clone(),
                worker_id: worker.into(),
                lease_grace: Duration::from_secs(5),
                guard: None,
                fallbacks: None,
            }
        }

        async fn submit(&self, extra: Value) -> String {
            let mut action = json!({"type": "notify", "platform": "slack", "priority": "normal",
                                    "data": {"channel": "#ops", "text": "hi"}});
            if let (Some(a), Value::Object(e)) = (action.as_object_mut(), extra) {
                a.extend(e);
            }
            let sub = parse_submission(&json!({ "action": action })).expect("valid");
            self.submitter().submit(sub).await.expect("accepted").action_id
        }
    }

    fn item(id: &str) -> WorkItem {
        WorkItem { action_id: id.into(), priority: Priority::Normal }
    }

    fn down() -> Result<Value, PlatformError> {
        Err(PlatformError::new(ErrorCode::ServiceDown, "HTTP 500"))
    }

    #[tokio::test]
    async fn submitting_stores_queues_and_reports_the_position() {
        let w = World::new(vec![]);
        let first = w.submit(json!({})).await;
        let second = w.submit(json!({})).await;
        assert_ne!(first, second, "ids are assigned");
        let a = w.store.snapshot(&second).expect("stored");
        assert_eq!(a.status, Status::Queued);
        assert_eq!(a.queue_position, 2);
        assert_eq!(a.estimated_wait, 100, "one ahead, four workers, 100 ms each");
        assert_eq!(w.queue.items.lock().expect("lock").len(), 2);
    }

    #[tokio::test]
    async fn a_duplicate_id_is_refused() {
        let w = World::new(vec![]);
        w.submit(json!({"id": "same"})).await;
        let sub = parse_submission(&json!({"action": {"id": "same", "type": "notify", "platform": "slack",
            "priority": "low", "data": {"channel": "#a", "text": "t"}}}))
        .expect("valid");
        let err = w.submitter().submit(sub).await.expect_err("duplicate");
        assert_eq!(err.code(), ErrorCode::DuplicateError);
    }

    #[tokio::test]
    async fn a_success_takes_three_writes_and_records_timings() {
        let w = World::new(vec![Ok(json!({"ok": true, "ts": "1"}))]);
        let id = w.submit(json!({})).await;
        w.clock.advance(Duration::from_millis(70));
        assert_eq!(w.executor("w1").execute(&item(&id)).await.expect("ran"), Outcome::Completed);
        let a = w.store.snapshot(&id).expect("stored");
        assert_eq!(a.status, Status::Success);
        assert_eq!(a.queue_time, Some(70));
        assert_eq!(a.result, Some(json!({"ok": true, "ts": "1"})));
        assert_eq!(w.store.write_count(), 3);
    }

    #[tokio::test]
    async fn retriable_failures_retry_with_backoff_then_fail_when_spent() {
        let w = World::new(vec![down()]);
        let id = w.submit(json!({"retryConfig": {"maxRetries": 2, "initialDelay": 100}})).await;
        let ex = w.executor("w1");
        let Outcome::RetryIn(d) = ex.execute(&item(&id)).await.expect("ran") else { panic!("expected retry") };
        assert!((80..=120).contains(&d.as_millis()), "{d:?}");
        assert_eq!(ex.execute(&item(&id)).await.expect("early"), Outcome::NotYet(d));
        w.clock.advance(d);
        assert!(matches!(ex.execute(&item(&id)).await.expect("ran"), Outcome::RetryIn(_)));
        w.clock.advance(Duration::from_secs(1));
        assert_eq!(ex.execute(&item(&id)).await.expect("ran"), Outcome::Failed(ErrorCode::ServiceDown));
        let a = w.store.snapshot(&id).expect("stored");
        assert_eq!((a.status, a.retries, a.attempts), (Status::Failed, 2, 3));
        assert_eq!(w.platform.call_count(), 3);
    }

    #[tokio::test]
    async fn a_permanent_error_fails_at_once() {
        let w = World::new(vec![Err(PlatformError::new(ErrorCode::ValidationError, "bad"))]);
        let id = w.submit(json!({})).await;
        assert_eq!(
            w.executor("w").execute(&item(&id)).await.expect("ran"),
            Outcome::Failed(ErrorCode::ValidationError)
        );
        assert_eq!(w.store.snapshot(&id).expect("stored").retries, 0);
    }

    #[tokio::test]
    async fn a_duplicate_delivery_of_a_finished_action_does_nothing() {
        let w = World::new(vec![Ok(json!({}))]);
        let id = w.submit(json!({})).await;
        let ex = w.executor("w");
        ex.execute(&item(&id)).await.expect("ran");
        assert_eq!(ex.execute(&item(&id)).await.expect("ran"), Outcome::Skipped("already finished"));
        assert_eq!(w.platform.call_count(), 1);
        assert_eq!(ex.execute(&item("nope")).await.expect("ran"), Outcome::Skipped("unknown action"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_action_timeout_is_enforced() {
        let mut w = World::new(vec![Ok(json!({}))]);
        let mut slow = ScriptedPlatform::new(Platform::Slack, vec![Ok(json!({}))]);
        slow.latency = Duration::from_secs(60);
        w.platform = Arc::new(slow);
        let id = w.submit(json!({"timeout": 1000, "retryConfig": {"maxRetries": 0}})).await;
        assert_eq!(w.executor("w").execute(&item(&id)).await.expect("ran"), Outcome::Failed(ErrorCode::TimeoutError));
    }

    #[tokio::test]
    async fn recovery_turns_orphaned_executions_back_into_work() {
        let w = World::new(vec![]);
        let orphan = w.submit(json!({})).await;
        let waiting = w.submit(json!({})).await;
        let a = w.store.snapshot(&orphan).expect("stored");
        let leased = a.lease("old-boot/1", w.clock.now(), Duration::from_secs(30)).expect("lease");
        w.store.replace(&a, &leased).await.expect("write");
        let work = recover(w.store.as_ref(), w.clock.as_ref(), "new-boot/").await.expect("recovered");
        let ids: Vec<_> = work.iter().map(|(i, _)| i.action_id.clone()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&orphan) && ids.contains(&waiting));
        assert_eq!(w.store.snapshot(&orphan).expect("stored").status, Status::Retrying);
    }
    #[tokio::test]
    async fn ingest_accepts_once_acknowledges_redeliveries_and_rejects_with_reasons() {
        let w = World::new(vec![]);
        let ingestor = Ingestor { submitter: w.submitter() };
        let msg = json!({"event": "action:ready", "data": {"action": {"id": "in-1", "type": "notify",
            "platform": "slack", "priority": "low", "data": {"channel": "#a", "text": "t"}}}})
        .to_string();
        assert!(matches!(ingestor.ingest(&msg).await.expect("ok"), IngestOutcome::Accepted(_)));
        assert_eq!(ingestor.ingest(&msg).await.expect("ok"), IngestOutcome::AlreadyAccepted("in-1".into()));
        let other = msg.replace("\"t\"", "\"different\"");
        let IngestOutcome::Rejected { fields, .. } = ingestor.ingest(&other).await.expect("ok") else {
            panic!("a different action under a taken id is rejected")
        };
        assert_eq!(fields[0].field, "data.action.id");
        let IngestOutcome::Rejected { reason, .. } = ingestor.ingest("{oops").await.expect("ok") else {
            panic!("not JSON is rejected")
        };
        assert!(reason.starts_with("not JSON"));
        let IngestOutcome::Rejected { fields, .. } =
            ingestor.ingest(r#"{"event":"action:ready","data":{"action":{"type":"notify"}}}"#).await.expect("ok")
        else {
            panic!("invalid")
        };
        assert!(fields.iter().any(|f| f.field == "data.action.platform"), "{fields:?}");
    }

    #[tokio::test]
    async fn redrive_requeues_only_stranded_actions() {
        let w = World::new(vec![]);
        let fresh = w.submit(json!({})).await;
        w.clock.advance(Duration::from_secs(20 * 60));
        let stranded = w.submit(json!({})).await;
        let queue = MemoryQueue::default();
        let n = redrive(w.store.as_ref(), &queue, w.clock.as_ref(), Duration::from_secs(15 * 60)).await.expect("ok");
        assert_eq!(n, 1);
        let requeued = queue.items.lock().expect("lock")[0].0.action_id.clone();
        assert_eq!(requeued, fresh, "the one waiting past the threshold");
        assert_ne!(requeued, stranded);
    }
}
