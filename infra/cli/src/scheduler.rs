//! `LocalQueue`: the in-process stand-in for the four SQS priority queues and their event
//! source mappings. Each priority is a lane with its own workers, so a backlog of `low`
//! never delays `critical` — priority is capacity, not ordering (DESIGN §2).
//!
//! It holds only "work on action X"; the table is the truth, and on start the runtime
//! re-enqueues every non-terminal action it finds there.

use async_trait::async_trait;
use baton_domain::model::{Priority, WorkItem};
use baton_domain::policy::{ewma, redelivery_after_error};
use baton_domain::ports::{ActionQueue, QueueError, QueueStats};
use baton_domain::sync::lock;
use baton_domain::usecases::{Executor, Outcome};
use futures_util::FutureExt;
use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{error, warn};

/// Workers per priority unless configured: critical, high, normal, low.
pub const DEFAULT_WORKERS: [u32; 4] = [8, 8, 16, 8];
/// A work item and how many times the executor itself failed on it (for its backoff).
#[derive(Debug, Clone)]
struct Entry {
    item: WorkItem,
    failures: u32,
}

struct Delayed {
    at: Instant,
    seq: u64,
    entry: Entry,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    /// Reversed, so the `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
struct LaneState {
    /// Items ready now, with the moment they became ready.
    ready: VecDeque<(Entry, Instant)>,
    delayed: BinaryHeap<Delayed>,
    seq: u64,
}

enum Take {
    Item(Entry, Instant),
    /// Nothing ready; the earliest delayed item falls due then (if any).
    Wait(Option<Instant>),
}

impl LaneState {
    fn take(&mut self, now: Instant) -> Take {
        while self.delayed.peek().is_some_and(|d| d.at <= now) {
            if let Some(d) = self.delayed.pop() {
                self.ready.push_back((d.entry, d.at));
            }
        }
        match self.ready.pop_front() {
            Some((entry, since)) => Take::Item(entry, since),
            None => Take::Wait(self.delayed.peek().map(|d| d.at)),
        }
    }

    fn depth(&self) -> u64 {
        (self.ready.len() + self.delayed.len()) as u64
    }
}

#[derive(Default)]
struct Lane {
    state: Mutex<LaneState>,
    wake: Notify,
}

pub struct LocalQueue {
    lanes: [Lane; 4],
    capacity: [u32; 4],
    busy: AtomicU32,
    avg_execution_ms: Mutex<Option<f64>>,
    avg_wait_ms: Mutex<Option<f64>>,
}

impl LocalQueue {
    pub fn new(capacity: [u32; 4]) -> Self {
        Self {
            lanes: Default::default(),
            capacity: capacity.map(|c| c.max(1)),
            busy: AtomicU32::new(0),
            avg_execution_ms: Mutex::new(None),
            avg_wait_ms: Mutex::new(None),
        }
    }

    fn push(&self, item: WorkItem, delay: Duration) {
        self.push_entry(Entry { item, failures: 0 }, delay);
    }

    fn push_entry(&self, entry: Entry, delay: Duration) {
        let lane = &self.lanes[entry.item.priority.index()];
        {
            let mut state = lock(&lane.state);
            let now = Instant::now();
            if delay.is_zero() {
                state.ready.push_back((entry, now));
            } else {
                state.seq += 1;
                let seq = state.seq;
                state.delayed.push(Delayed { at: now + delay, seq, entry });
            }
        }
        lane.wake.notify_one();
    }

    /// Starts `capacity` workers per priority, each with its own worker id.
    pub fn spawn_workers(
        self: &Arc<Self>,
        executor: &Executor,
        worker_prefix: &str,
        go: watch::Receiver<bool>,
        shutdown: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let mut handles = Vec::new();
        for p in Priority::ALL.iter().copied() {
            for n in 0..self.capacity[p.index()] {
                let mut executor = executor.clone();
                executor.worker_id = format!("{worker_prefix}{p}-{n}");
                let queue = Arc::clone(self);
                let shutdown = shutdown.clone();
                let mut go = go.clone();
                handles.push(tokio::spawn(async move {
                    // Held until released (a runtime started paused, e.g. to measure a drain).
                    if go.wait_for(|go| *go).await.is_err() {
                        return;
                    }
                    queue.work(p, executor, shutdown).await
                }));
            }
        }
        handles
    }

    async fn work(self: Arc<Self>, priority: Priority, executor: Executor, mut shutdown: watch::Receiver<bool>) {
        let lane = &self.lanes[priority.index()];
        loop {
            if *shutdown.borrow() {
                return;
            }
            let taken = lock(&lane.state).take(Instant::now());
            let (entry, ready_since) = match taken {
                Take::Item(entry, since) => {
                    // More may be waiting: pass the wake-up on rather than rely on one permit.
                    if lock(&lane.state).depth() > 0 {
                        lane.wake.notify_one();
                    }
                    (entry, since)
                }
                Take::Wait(deadline) => {
                    let sleep = async {
                        match deadline {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = lane.wake.notified() => {}
                        _ = sleep => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            };
            let started = Instant::now();
            {
                let mut w = lock(&self.avg_wait_ms);
                *w = Some(ewma(*w, (started - ready_since).as_secs_f64() * 1000.0));
            }
            self.busy.fetch_add(1, Ordering::Relaxed);
            // A panic anywhere in an attempt ends that attempt, not the worker: the item is
            // driven again after a backoff (the action's lease, if it took one, is waited out).
            let outcome = std::panic::AssertUnwindSafe(executor.execute(&entry.item)).catch_unwind().await;
            self.busy.fetch_sub(1, Ordering::Relaxed);
            {
                let mut e = lock(&self.avg_execution_ms);
                *e = Some(ewma(*e, started.elapsed().as_secs_f64() * 1000.0));
            }
            let item = &entry.item;
            match outcome {
                // The image it carried is old now: the next delivery reads the table.
                Ok(Ok(Outcome::RetryIn(delay) | Outcome::NotYet(delay))) => {
                    self.push(WorkItem { snapshot: None, ..entry.item }, delay)
                }
                Ok(Ok(Outcome::Completed | Outcome::Failed(_) | Outcome::Skipped(_))) => {}
                Ok(Err(e)) => {
                    let failures = entry.failures + 1;
                    let delay = redelivery_after_error(&e, failures);
                    warn!(action_id = %item.action_id, error = %e, ?delay, "execution did not finish; will try again");
                    self.push_entry(Entry { failures, ..entry }, delay);
                }
                Err(_) => {
                    let failures = entry.failures + 1;
                    let delay = Duration::from_secs(1 << failures.min(6));
                    error!(action_id = %item.action_id, ?delay, "a worker panicked during an attempt; driving it again");
                    self.push_entry(Entry { failures, ..entry }, delay);
                }
            }
        }
    }
}

#[async_trait]
impl ActionQueue for LocalQueue {
    async fn enqueue(&self, item: WorkItem, delay: Duration) -> Result<(), QueueError> {
        self.push(item, delay);
        Ok(())
    }

    async fn stats(&self) -> QueueStats {
        let mut depth = [0u64; 4];
        for p in Priority::ALL {
            depth[p.index()] = lock(&self.lanes[p.index()].state).depth();
        }
        QueueStats {
            depth,
            capacity: self.capacity,
            busy: self.busy.load(Ordering::Relaxed),
            avg_execution_ms: lock(&self.avg_execution_ms).unwrap_or(0.0).round() as u64,
            avg_wait_ms: lock(&self.avg_wait_ms).unwrap_or(0.0).round() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, p: Priority) -> WorkItem {
        WorkItem::new(id, p)
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_items_come_out_in_due_order_after_ready_ones() {
        let q = LocalQueue::new([1, 1, 1, 1]);
        q.push(item("late", Priority::Low), Duration::from_secs(5));
        q.push(item("soon", Priority::Low), Duration::from_secs(1));
        q.push(item("now", Priority::Low), Duration::ZERO);
        let lane = &q.lanes[Priority::Low.index()];
        let start = Instant::now();
        let ids = |t: Take| match t {
            Take::Item(e, _) => e.item.action_id,
            Take::Wait(_) => "wait".into(),
        };
        assert_eq!(ids(lock(&lane.state).take(start)), "now");
        assert_eq!(ids(lock(&lane.state).take(start)), "wait");
        assert_eq!(ids(lock(&lane.state).take(start + Duration::from_secs(6))), "soon");
        assert_eq!(ids(lock(&lane.state).take(start + Duration::from_secs(6))), "late");
        assert_eq!(q.stats().await.depth, [0, 0, 0, 0]);
    }

    #[tokio::test]
    async fn depth_is_counted_per_priority() {
        let q = LocalQueue::new(DEFAULT_WORKERS);
        q.push(item("a", Priority::Critical), Duration::ZERO);
        q.push(item("b", Priority::Low), Duration::from_secs(9));
        q.push(item("c", Priority::Low), Duration::ZERO);
        let stats = q.stats().await;
        assert_eq!(stats.depth, [1, 0, 0, 2]);
        assert_eq!(stats.capacity, DEFAULT_WORKERS);
    }

    /// A store whose first read panics, as a bug in an attempt would.
    struct PanicsOnce {
        inner: Arc<baton_domain::fakes::MemoryStore>,
        panicked: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl baton_domain::ports::ActionStore for PanicsOnce {
        async fn insert(&self, a: &baton_domain::model::Action) -> Result<(), baton_domain::StoreError> {
            self.inner.insert(a).await
        }
        async fn get(&self, id: &str) -> Result<Option<baton_domain::model::Action>, baton_domain::StoreError> {
            if !self.panicked.swap(true, Ordering::SeqCst) {
                panic!("a bug in an attempt");
            }
            self.inner.get(id).await
        }
        async fn replace(
            &self,
            o: &baton_domain::model::Action,
            n: &baton_domain::model::Action,
        ) -> Result<(), baton_domain::StoreError> {
            self.inner.replace(o, n).await
        }
        async fn recent(
            &self,
            q: &baton_domain::ports::RecentQuery,
        ) -> Result<baton_domain::ports::RecentPage, baton_domain::StoreError> {
            self.inner.recent(q).await
        }
        async fn pending(
            &self,
            p: Priority,
            l: usize,
            a: Option<String>,
        ) -> Result<baton_domain::ports::Page<baton_domain::ports::PendingEntry>, baton_domain::StoreError> {
            self.inner.pending(p, l, a).await
        }
        async fn mark_redriven(
            &self,
            id: &str,
            s: Option<chrono::DateTime<chrono::Utc>>,
            n: chrono::DateTime<chrono::Utc>,
        ) -> Result<bool, baton_domain::StoreError> {
            self.inner.mark_redriven(id, s, n).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_that_panics_lives_on_and_its_action_is_driven_again() {
        use baton_domain::fakes::{MemoryStore, ScriptedPlatform};
        use baton_domain::model::Platform;
        use baton_domain::ports::{PlatformRegistry, SystemClock};
        let memory = Arc::new(MemoryStore::default());
        let queue = Arc::new(LocalQueue::new([1, 1, 1, 1]));
        let submitter = baton_domain::usecases::Submitter {
            store: memory.clone(),
            queue: queue.clone(),
            clock: Arc::new(SystemClock),
            handoff: baton_domain::usecases::Handoff::NONE,
        };
        for id in ["first", "second"] {
            let body = serde_json::json!({"action": {"id": id, "type": "notify", "platform": "slack", "priority": "low",
                "data": {"channel": "#a", "text": "t"}}});
            submitter.submit(baton_domain::validation::parse_submission(&body).expect("valid")).await.expect("ok");
        }
        let platform = Arc::new(ScriptedPlatform::new(Platform::Slack, vec![Ok(serde_json::json!({}))]));
        let executor = Executor {
            store: Arc::new(PanicsOnce { inner: memory.clone(), panicked: false.into() }),
            platforms: Arc::new(PlatformRegistry::new().with(platform.clone())),
            clock: Arc::new(SystemClock),
            worker_id: String::new(),
            lease_grace: Duration::from_secs(5),
            guard: None,
            fallbacks: None,
        };
        let (_go_tx, go) = watch::channel(true);
        let (stop, shutdown) = watch::channel(false);
        let workers = queue.spawn_workers(&executor, "boot/", go, shutdown);
        for _ in 0..200 {
            let done = ["first", "second"]
                .iter()
                .all(|id| memory.snapshot(id).is_some_and(|a| a.status == baton_domain::model::Status::Success));
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(platform.call_count(), 2, "both ran, the one that met the panic too");
        assert!(workers.iter().all(|w| !w.is_finished()), "no worker died");
        let _ = stop.send(true);
    }
}
