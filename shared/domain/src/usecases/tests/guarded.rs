//! `Executor` with the shared breaker and bucket: lease first, reserved slots, probes.

use super::*;
use crate::guard::PlatformGuard;
use crate::limits::{BreakerPolicy, BreakerState, BucketLimit, Limits};
use crate::ports::PlatformStateStore;

fn limits(capacity: f64, per_second: f64) -> Limits {
    let mut l = Limits {
        breaker: BreakerPolicy {
            threshold: 1,
            window: Duration::from_secs(60),
            cool_down: Duration::from_secs(10),
            ..BreakerPolicy::default()
        },
        ..Limits::default()
    };
    l.buckets.insert(Platform::Slack, BucketLimit { capacity, per_second });
    l
}

fn guarded(w: &World, worker: &str, state: &Arc<MemoryPlatformState>, limits: Limits) -> Executor {
    let mut ex = w.executor(worker);
    ex.guard = Some(PlatformGuard { store: state.clone(), limits, clock: w.clock.clone() });
    ex
}

async fn tokens(state: &MemoryPlatformState, key: &str, w: &World, l: &Limits) -> f64 {
    let s = state.get(key).await.expect("read").expect("bucket item");
    (s.tokens_at(l.bucket(Platform::Slack), w.clock.now()) * 1000.0).round() / 1000.0
}

#[tokio::test]
async fn waiting_actions_book_one_slot_each_and_wait_silently_until_it() {
    let w = World::new(vec![Ok(json!({"ok": true}))]);
    let state = Arc::new(MemoryPlatformState::default());
    let l = limits(1.0, 1.0);
    let ex = guarded(&w, "w", &state, l.clone());
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(w.submit(json!({})).await);
    }
    let mut waits = Vec::new();
    for id in &ids {
        match ex.execute(&item(id)).await.expect("ran") {
            Outcome::Completed => waits.push(0),
            Outcome::NotYet(d) => waits.push(d.as_millis()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(waits, [0, 1000, 2000, 3000, 4000], "each waiter its own slot, one refill apart");
    let writes_before = w.store.write_count();
    for id in &ids[1..] {
        let a = w.store.snapshot(id).expect("stored");
        assert_eq!(a.status, Status::Queued, "waiting is silent");
        assert!(a.slot.is_some());
    }
    // At its slot, an action goes without taking another token; early, it is told to wait.
    assert!(matches!(ex.execute(&item(&ids[1])).await.expect("early"), Outcome::NotYet(_)));
    w.clock.advance(Duration::from_secs(1));
    assert_eq!(ex.execute(&item(&ids[1])).await.expect("ran"), Outcome::Completed);
    assert_eq!(w.store.write_count(), writes_before + 2, "lease and completion, no second wait");
    assert_eq!(tokens(&state, "slack#channel:#ops", &w, &l).await, -3.0, "three slots still owed");
}

/// Lets the first lease write lose, as if another worker had taken the action first.
struct LosesFirstLease {
    inner: Arc<MemoryStore>,
    lost: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl ActionStore for LosesFirstLease {
    async fn insert(&self, a: &crate::model::Action) -> Result<(), crate::error::StoreError> {
        self.inner.insert(a).await
    }
    async fn get(&self, id: &str) -> Result<Option<crate::model::Action>, crate::error::StoreError> {
        self.inner.get(id).await
    }
    async fn replace(
        &self,
        o: &crate::model::Action,
        n: &crate::model::Action,
    ) -> Result<(), crate::error::StoreError> {
        if n.status == Status::Executing && !self.lost.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::error::StoreError::Conflict);
        }
        self.inner.replace(o, n).await
    }
    async fn recent(
        &self,
        q: &crate::ports::RecentQuery,
    ) -> Result<crate::ports::RecentPage, crate::error::StoreError> {
        self.inner.recent(q).await
    }
    async fn pending(
        &self,
        p: Priority,
        l: usize,
        a: Option<String>,
    ) -> Result<crate::ports::Page<crate::ports::PendingEntry>, crate::error::StoreError> {
        self.inner.pending(p, l, a).await
    }
    async fn mark_redriven(
        &self,
        id: &str,
        s: Option<chrono::DateTime<Utc>>,
        n: chrono::DateTime<Utc>,
    ) -> Result<bool, crate::error::StoreError> {
        self.inner.mark_redriven(id, s, n).await
    }
}

#[tokio::test]
async fn a_worker_that_loses_the_lease_has_spent_no_token_and_claimed_no_probe() {
    let w = World::new(vec![Ok(json!({"ok": true}))]);
    let state = Arc::new(MemoryPlatformState::default());
    let l = limits(2.0, 0.001);
    let id = w.submit(json!({})).await;
    let mut ex = guarded(&w, "loser", &state, l.clone());
    ex.store = Arc::new(LosesFirstLease { inner: w.store.clone(), lost: false.into() });
    assert_eq!(ex.execute(&item(&id)).await.expect("ran"), Outcome::Skipped("another worker took it"));
    assert!(state.get("slack#channel:#ops").await.expect("read").is_none(), "no token taken");
    // And with the breaker's probe due: the loser leaves it for the winner.
    let mut open =
        crate::limits::PlatformState::fresh("slack", Platform::Slack, l.bucket(Platform::Slack), w.clock.now());
    open = open.record(&l.breaker, Err(ErrorCode::ServiceDown), false, w.clock.now()).expect("open");
    state.put(None, &open).await.expect("stored");
    w.clock.advance(l.breaker.cool_down);
    ex.store = Arc::new(LosesFirstLease { inner: w.store.clone(), lost: false.into() });
    assert_eq!(ex.execute(&item(&id)).await.expect("ran"), Outcome::Skipped("another worker took it"));
    assert_eq!(state.get("slack").await.expect("read").expect("item").breaker, BreakerState::Open, "probe not taken");
    assert_eq!(w.platform.call_count(), 0);
}

#[tokio::test]
async fn any_answer_to_the_probe_proves_the_platform_alive() {
    let w = World::new(vec![Err(PlatformError::new(ErrorCode::ValidationError, "HTTP 400"))]);
    let state = Arc::new(MemoryPlatformState::default());
    let l = limits(10.0, 10.0);
    let mut open =
        crate::limits::PlatformState::fresh("slack", Platform::Slack, l.bucket(Platform::Slack), w.clock.now());
    open = open.record(&l.breaker, Err(ErrorCode::ServiceDown), false, w.clock.now()).expect("open");
    state.put(None, &open).await.expect("stored");
    let id = w.submit(json!({})).await;
    let ex = guarded(&w, "w", &state, l.clone());
    assert!(matches!(ex.execute(&item(&id)).await.expect("ran"), Outcome::NotYet(_)), "open: wait");
    assert_eq!(w.platform.call_count(), 0);
    w.clock.advance(l.breaker.cool_down);
    assert_eq!(ex.execute(&item(&id)).await.expect("ran"), Outcome::Failed(ErrorCode::ValidationError));
    assert_eq!(state.get("slack").await.expect("read").expect("item").breaker, BreakerState::Closed);
}

#[tokio::test]
async fn a_retry_after_of_any_size_is_clamped_and_the_action_waits_as_retrying() {
    let huge = PlatformError::new(ErrorCode::RateLimited, "HTTP 429").with_retry_after(Some(Duration::MAX));
    let w = World::new(vec![Err(huge)]);
    let id = w.submit(json!({})).await;
    let outcome = w.executor("w").execute(&item(&id)).await.expect("ran");
    assert_eq!(outcome, Outcome::RetryIn(crate::policy::MAX_RETRY_AFTER));
    assert_eq!(w.store.snapshot(&id).expect("stored").status, Status::Retrying);
}

#[tokio::test]
async fn an_operation_making_n_requests_takes_n_tokens() {
    let mut w = World::new(vec![Ok(json!({"ok": true}))]);
    let mut platform = ScriptedPlatform::new(Platform::Slack, vec![Ok(json!({"ok": true}))]);
    platform.extra_requests = 4;
    w.platform = Arc::new(platform);
    let state = Arc::new(MemoryPlatformState::default());
    let l = limits(10.0, 0.001);
    let id = w.submit(json!({})).await;
    assert_eq!(guarded(&w, "w", &state, l.clone()).execute(&item(&id)).await.expect("ran"), Outcome::Completed);
    assert_eq!(tokens(&state, "slack#channel:#ops", &w, &l).await, 5.0, "five requests, five tokens");
}
