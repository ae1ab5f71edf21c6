//! The breaker and the token bucket shared by many concurrent executors through one table,
//! on the embedded emulator: exactly as many calls go as the limits allow, a worker that
//! loses the lease spends nothing, and waiters are given one slot each.

use baton_aws::platform_state::{DynamoPlatformState, PLATFORM_STATE};
use baton_aws::store::DynamoActionStore;
use baton_aws::tables::ACTIONS;
use baton_cli::DataLocation;
use baton_cli::embedded::EmbeddedDynamo;
use baton_domain::ErrorCode;
use baton_domain::error::PlatformError;
use baton_domain::fakes::{MemoryQueue, ScriptedPlatform};
use baton_domain::guard::PlatformGuard;
use baton_domain::limits::{BreakerPolicy, BreakerState, BucketLimit, Limits};
use baton_domain::model::{Action, Platform, Priority, WorkItem};
use baton_domain::ports::{ActionStore, Pacer, PlatformClient, PlatformRegistry, PlatformStateStore, SystemClock};
use baton_domain::usecases::{Executor, Outcome, Submitter};
use baton_domain::validation::{Operation, parse_submission};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct World {
    _db: EmbeddedDynamo,
    store: Arc<DynamoActionStore>,
    state: Arc<DynamoPlatformState>,
    platform: Arc<ScriptedPlatform>,
    limits: Limits,
}

async fn world(platform: Platform, limits: Limits) -> World {
    let db = EmbeddedDynamo::start(&DataLocation::Memory).expect("emulator");
    let client = db.client(None);
    PLATFORM_STATE.ensure(&client, "platform-state").await.expect("table");
    ACTIONS.ensure(&client, "actions").await.expect("table");
    World {
        store: Arc::new(DynamoActionStore::new(client.clone(), "actions", Duration::from_secs(86_400))),
        state: Arc::new(DynamoPlatformState::new(client, "platform-state")),
        platform: Arc::new(ScriptedPlatform::new(platform, vec![Ok(json!({"ok": true}))])),
        limits,
        _db: db,
    }
}

impl World {
    fn executor(&self, worker: &str) -> Executor {
        self.executor_on(worker, self.platform.clone())
    }

    fn executor_on(&self, worker: &str, platform: Arc<dyn PlatformClient>) -> Executor {
        let clock = Arc::new(SystemClock);
        Executor {
            store: self.store.clone(),
            platforms: Arc::new(PlatformRegistry::new().with(platform)),
            clock: clock.clone(),
            worker_id: worker.into(),
            lease_grace: Duration::from_secs(5),
            guard: Some(PlatformGuard { store: self.state.clone(), limits: self.limits.clone(), clock }),
            fallbacks: None,
        }
    }

    async fn submit(&self, id: &str, action: serde_json::Value) -> WorkItem {
        let mut a = action;
        a["id"] = json!(id);
        let submitter = Submitter {
            store: self.store.clone(),
            queue: Arc::new(MemoryQueue::default()),
            clock: Arc::new(SystemClock),
            handoff: baton_domain::usecases::Handoff::NONE,
        };
        submitter.submit(parse_submission(&json!({ "action": a })).expect("valid")).await.expect("accepted");
        WorkItem::new(id, Priority::Normal)
    }

    /// `n` workers executing `items` (item i by worker i) all at once.
    async fn race(&self, items: &[WorkItem]) -> Vec<Outcome> {
        self.race_timed(items).await.into_iter().map(|(o, _)| o).collect()
    }

    /// [`Self::race`], with the moment each worker had its answer.
    async fn race_timed(&self, items: &[WorkItem]) -> Vec<(Outcome, Instant)> {
        let tasks = items.iter().enumerate().map(|(i, item)| {
            let (ex, item) = (self.executor(&format!("w{i}")), item.clone());
            tokio::spawn(async move { (ex.execute(&item).await.expect("execute"), Instant::now()) })
        });
        futures_util::future::join_all(tasks).await.into_iter().map(|r| r.expect("task")).collect()
    }

    async fn tokens(&self, key: &str, platform: Platform) -> f64 {
        let s = self.state.get(key).await.expect("get").expect("item");
        s.tokens_at(self.limits.bucket(platform), chrono::Utc::now())
    }
}

/// The scripted platform behind a door: each call waits there until the test opens it.
struct Held {
    inner: Arc<ScriptedPlatform>,
    door: Arc<tokio::sync::Semaphore>,
}

#[async_trait::async_trait]
impl PlatformClient for Held {
    fn platform(&self) -> Platform {
        self.inner.platform
    }

    async fn execute(
        &self,
        action: &Action,
        operation: Operation,
        pacer: &dyn Pacer,
    ) -> Result<serde_json::Value, PlatformError> {
        self.door.acquire().await.expect("door").forget();
        self.inner.execute(action, operation, pacer).await
    }
}

fn notion_create() -> serde_json::Value {
    json!({"type": "create", "platform": "notion", "priority": "normal", "data": {"database_id": "d", "title": "t"}})
}

fn frozen(platform: Platform, capacity: f64) -> Limits {
    let mut limits = Limits::default();
    // Refilled so slowly that none comes back during the test.
    limits.buckets.insert(platform, BucketLimit { capacity, per_second: 0.001 });
    limits
}

#[tokio::test]
async fn thirty_two_concurrent_workers_make_exactly_the_buckets_calls_and_the_rest_wait_their_turn() {
    let w = world(Platform::Notion, frozen(Platform::Notion, 5.0)).await;
    let mut items = Vec::new();
    for i in 0..32 {
        items.push(w.submit(&format!("n-{i}"), notion_create()).await);
    }
    let outcomes = w.race(&items).await;
    let completed = outcomes.iter().filter(|o| **o == Outcome::Completed).count();
    assert_eq!(completed, 5, "exactly the bucket's capacity across every worker: {outcomes:?}");
    assert_eq!(w.platform.call_count(), 5);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Completed | Outcome::NotYet(_))), "delayed, not failed");
    for item in &items {
        let a = w.store.get(&item.action_id).await.expect("get").expect("stored");
        assert!(a.status.is_terminal() || a.status == baton_domain::model::Status::Queued, "waiting is silent");
    }
}

#[tokio::test]
async fn sixteen_deliveries_of_one_action_make_one_call_and_spend_one_token() {
    let w = world(Platform::Notion, frozen(Platform::Notion, 5.0)).await;
    let item = w.submit("dup", notion_create()).await;
    let outcomes = w.race(&vec![item; 16]).await;
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Completed).count(), 1, "{outcomes:?}");
    assert_eq!(w.platform.call_count(), 1);
    let left = w.tokens("notion", Platform::Notion).await;
    assert!((3.99..=4.01).contains(&left), "the losers spent nothing: {left} left");
}

#[tokio::test]
async fn waiting_messages_to_one_channel_book_one_slot_each_and_other_channels_are_free() {
    let mut limits = Limits::default();
    limits.buckets.insert(Platform::Slack, BucketLimit { capacity: 1.0, per_second: 2.0 });
    let w = world(Platform::Slack, limits).await;
    let mut items = Vec::new();
    for i in 0..6 {
        let a = json!({"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": "#ops", "text": "t"}});
        items.push(w.submit(&format!("ops-{i}"), a).await);
    }
    let dev = w
        .submit("dev-0", json!({"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": "#dev", "text": "t"}}))
        .await;
    let outcomes = w.race_timed(&items).await;
    // Each waiter's booked slot, as a moment: when it was told, plus how long to wait (the
    // workers run at different moments on a busy machine; their slots must not).
    let start = outcomes.iter().map(|(_, at)| *at).min().expect("outcomes");
    let mut slots: Vec<u128> = outcomes
        .iter()
        .filter_map(|(o, at)| match o {
            Outcome::NotYet(d) => Some((*at + *d - start).as_millis()),
            _ => None,
        })
        .collect();
    slots.sort();
    assert_eq!(slots.len(), 5, "{outcomes:?}");
    for (i, pair) in slots.windows(2).enumerate() {
        assert!((400..=600).contains(&(pair[1] - pair[0])), "slot {i} and the next are half a second apart: {slots:?}");
    }
    assert_eq!(w.executor("other").execute(&dev).await.expect("run"), Outcome::Completed, "#dev has its own bucket");
}

#[tokio::test]
async fn the_breaker_opens_under_concurrent_failures_and_lets_exactly_one_probe_through() {
    let limits = Limits {
        breaker: BreakerPolicy {
            threshold: 5,
            window: Duration::from_secs(60),
            cool_down: Duration::from_millis(400),
            ..BreakerPolicy::default()
        },
        ..Limits::default()
    };
    let w = world(Platform::Trello, limits).await;
    let guard = w.executor("g").guard.expect("guard");
    let failures = (0..16).map(|_| {
        let guard = guard.clone();
        tokio::spawn(async move { guard.record(Platform::Trello, Err(ErrorCode::ServiceDown), false).await })
    });
    futures_util::future::join_all(failures).await;
    assert_eq!(w.state.get("trello").await.expect("get").expect("state").breaker, BreakerState::Open);

    let mut items = Vec::new();
    for i in 0..16 {
        let a =
            json!({"type": "create", "platform": "trello", "priority": "normal", "data": {"name": "n", "listId": "l"}});
        items.push(w.submit(&format!("t-{i}"), a).await);
    }
    let while_open = w.race(&items[..8]).await;
    assert!(while_open.iter().all(|o| matches!(o, Outcome::NotYet(_))), "{while_open:?}");
    assert_eq!(w.platform.call_count(), 0, "no call while open");

    tokio::time::sleep(Duration::from_millis(450)).await;
    // The probe is held at the platform's door until every other worker has had its answer:
    // all of them find the breaker half-open with the probe in flight.
    let door = Arc::new(tokio::sync::Semaphore::new(0));
    let held: Arc<dyn PlatformClient> = Arc::new(Held { inner: w.platform.clone(), door: door.clone() });
    let (done, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    for (i, item) in items.iter().enumerate() {
        let (ex, item, done) = (w.executor_on(&format!("w{i}"), held.clone()), item.clone(), done.clone());
        tokio::spawn(async move { done.send(ex.execute(&item).await.expect("execute")).expect("send") });
    }
    let mut others = Vec::new();
    let answers = async {
        while others.len() < items.len() - 1 {
            others.push(outcomes.recv().await.expect("outcome"));
        }
    };
    // A second probe would wait at the door too, and its answer never come.
    tokio::time::timeout(Duration::from_secs(60), answers).await.expect("all but one answer while the probe is held");
    assert!(others.iter().all(|o| matches!(o, Outcome::NotYet(_))), "one probe, the rest wait: {others:?}");
    door.add_permits(items.len());
    assert_eq!(outcomes.recv().await.expect("the probe"), Outcome::Completed);
    assert_eq!(w.platform.call_count(), 1);
    let state = w.state.get("trello").await.expect("get").expect("state");
    assert_eq!((state.breaker, state.failures), (BreakerState::Closed, 0), "its success closed the breaker");
}
