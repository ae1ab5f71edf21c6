//! `Executor` without platform limits: leases, retries, timeouts, interruptions, fallbacks.

use super::*;

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
async fn the_item_a_submission_queues_runs_without_a_read_and_an_old_image_reads_the_table() {
    let w = World::new(vec![Ok(json!({"ok": true}))]);
    let id = w.submit(json!({})).await;
    let (queued, _) = w.queue.items.lock().expect("queue").pop_front().expect("queued");
    assert!(queued.action_id == id && queued.snapshot.is_some(), "the submission's image travels with the item");
    let reads = || w.store.reads.load(std::sync::atomic::Ordering::Relaxed);
    let ex = w.executor("w1");
    assert_eq!(ex.execute(&queued).await.expect("ran"), Outcome::Completed);
    assert_eq!(reads(), 0, "leased from the image");
    // The same item again: its image is old now; the lease loses and the table says done.
    assert_eq!(ex.execute(&queued).await.expect("ran"), Outcome::Skipped("already finished"));
    assert_eq!((reads(), w.platform.call_count()), (1, 1), "one read, and the platform was called once");
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
    assert_eq!(w.executor("w").execute(&item(&id)).await.expect("ran"), Outcome::Failed(ErrorCode::ValidationError));
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
async fn attempts_cut_short_are_counted_and_too_many_fail_the_action() {
    let w = World::new(vec![Ok(json!({}))]);
    let id = w.submit(json!({"timeout": 1000})).await;
    // Each worker leases the action and dies (its lease runs out): a crash, a killed sandbox.
    for n in 0..=crate::model::MAX_INTERRUPTED {
        let a = w.store.snapshot(&id).expect("stored");
        let leased = a.lease(&format!("dead-{n}"), w.clock.now(), Duration::from_secs(6)).expect("lease");
        w.store.replace(&a, &leased).await.expect("write");
        w.clock.advance(Duration::from_secs(7));
    }
    let outcome = w.executor("w").execute(&item(&id)).await.expect("ran");
    assert_eq!(outcome, Outcome::Failed(ErrorCode::UnknownError));
    let a = w.store.snapshot(&id).expect("stored");
    assert_eq!(a.status, Status::Failed);
    assert!(a.error.expect("error").message.contains("cut short"));
    assert_eq!(w.platform.call_count(), 0, "not called again");
}

#[tokio::test]
async fn an_attempt_that_would_outlast_its_invocation_is_handed_to_a_fresh_delivery() {
    let w = World::new(vec![Ok(json!({}))]);
    let id = w.submit(json!({"timeout": 60000})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let outcome = w.executor("w").execute_within(&item(&id), Some(deadline)).await.expect("ran");
    assert_eq!(outcome, Outcome::NotYet(Duration::ZERO));
    assert_eq!(w.platform.call_count(), 0);
    assert_eq!(w.store.snapshot(&id).expect("stored").status, Status::Queued, "nothing written");
}

/// A store whose inserts fail while `down` is set (the fallback's submission meets trouble).
struct FlakyInserts {
    inner: Arc<MemoryStore>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl ActionStore for FlakyInserts {
    async fn insert(&self, a: &crate::model::Action) -> Result<(), crate::error::StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::error::StoreError::Unavailable("throttled".into()));
        }
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
async fn the_failure_is_committed_before_its_fallback_and_the_fallback_is_submitted_exactly_once() {
    let w = World::new(vec![Err(PlatformError::new(ErrorCode::PermissionDenied, "no access"))]);
    let id = w
        .submit(json!({"id": "p-1", "fallback": {"type": "notify", "platform": "slack", "priority": "low",
        "data": {"channel": "#ops", "text": "fallback"}}}))
        .await;
    let flaky = Arc::new(FlakyInserts { inner: w.store.clone(), down: true.into() });
    let mut ex = w.executor("w");
    ex.fallbacks = Some(Submitter {
        store: flaky.clone(),
        queue: w.queue.clone(),
        clock: w.clock.clone(),
        handoff: crate::usecases::Handoff::NONE,
    });
    let err = ex.execute(&item(&id)).await.expect_err("the fallback could not be submitted yet");
    assert!(err.is_retriable());
    let primary = w.store.snapshot(&id).expect("primary");
    assert_eq!((primary.status, primary.fallback_pending), (Status::Failed, true), "committed first");
    assert_eq!(primary.fallback_action_id.as_deref(), Some("p-1-fallback"));
    assert!(w.store.snapshot("p-1-fallback").is_none());
    // Delivered again: the primary is not run again; the fallback is submitted, once.
    flaky.down.store(false, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        ex.execute(&item(&id)).await.expect("settled");
    }
    assert_eq!(w.platform.call_count(), 1, "the primary ran once");
    assert!(w.store.snapshot("p-1-fallback").is_some());
    let queued: Vec<String> = w.queue.items.lock().expect("lock").iter().map(|(i, _)| i.action_id.clone()).collect();
    assert_eq!(queued.iter().filter(|i| *i == "p-1-fallback").count(), 1, "queued once: {queued:?}");
    assert!(!w.store.snapshot(&id).expect("primary").fallback_pending);
}
