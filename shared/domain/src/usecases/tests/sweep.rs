//! `recover` and `redrive`.

use super::*;

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
async fn redrive_requeues_only_stranded_actions() {
    let w = World::new(vec![]);
    let fresh = w.submit(json!({})).await;
    w.clock.advance(Duration::from_secs(20 * 60));
    let stranded = w.submit(json!({})).await;
    let queue = MemoryQueue::default();
    let n = redrive(w.store.as_ref(), &queue, w.clock.as_ref(), Duration::from_secs(15 * 60)).await.expect("ok");
    assert_eq!(n.sent, 1);
    let requeued = queue.items.lock().expect("lock")[0].0.action_id.clone();
    assert_eq!(requeued, fresh, "the one waiting past the threshold");
    assert_ne!(requeued, stranded);
}

#[tokio::test]
async fn each_overdue_action_is_redriven_at_most_once_per_period_and_a_failed_send_stops_nothing() {
    let w = World::new(vec![]);
    let mut ids = Vec::new();
    for _ in 0..1000 {
        ids.push(w.submit(json!({})).await);
    }
    let period = Duration::from_secs(15 * 60);
    w.clock.advance(period + Duration::from_secs(1));
    let queue = MemoryQueue::default();
    *queue.fail_next.lock().expect("lock") = 1;
    let first = redrive(w.store.as_ref(), &queue, w.clock.as_ref(), period).await.expect("run 1");
    assert_eq!((first.sent, first.failed), (999, 1), "one send failed; the rest went");
    w.clock.advance(Duration::from_secs(60));
    let second = redrive(w.store.as_ref(), &queue, w.clock.as_ref(), period).await.expect("run 2");
    w.clock.advance(Duration::from_secs(60));
    let third = redrive(w.store.as_ref(), &queue, w.clock.as_ref(), period).await.expect("run 3");
    assert_eq!((second.sent, third.sent), (0, 0), "not again within the period");
    let mut sends = std::collections::HashMap::new();
    for (item, _) in queue.items.lock().expect("lock").iter() {
        *sends.entry(item.action_id.clone()).or_insert(0) += 1;
    }
    assert!(sends.values().all(|n| *n == 1), "each at most once");
    w.clock.advance(period);
    let next_period = redrive(w.store.as_ref(), &queue, w.clock.as_ref(), period).await.expect("run 4");
    assert_eq!(next_period.sent, 1000, "a new period, a new send each");
}

#[tokio::test]
async fn recovery_settles_a_fallback_a_crash_left_unsubmitted() {
    let w = World::new(vec![]);
    let id = w
        .submit(json!({"fallback": {"type": "notify", "platform": "slack", "priority": "low",
        "data": {"channel": "#ops", "text": "fallback"}}}))
        .await;
    // A crash right after the failure was written: the fallback is named, not yet submitted.
    let a = w.store.snapshot(&id).expect("stored");
    let leased = a.lease("old-boot/1", w.clock.now(), Duration::from_secs(30)).expect("lease");
    w.store.replace(&a, &leased).await.expect("lease written");
    let err = crate::model::ActionError { code: ErrorCode::NotFound, message: "gone".into(), retriable: false };
    let failed = leased.fail("old-boot/1", err, w.clock.now()).expect("fail");
    w.store.replace(&leased, &failed).await.expect("failure written");
    let work = recover(w.store.as_ref(), w.clock.as_ref(), "new-boot/").await.expect("recovered");
    assert_eq!(work.iter().map(|(i, _)| i.action_id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let mut ex = w.executor("new-boot/1");
    ex.fallbacks = Some(w.submitter());
    assert_eq!(ex.execute(&work[0].0).await.expect("settled"), Outcome::Failed(ErrorCode::NotFound));
    let fallback = w.store.snapshot(&format!("{id}-fallback")).expect("the fallback exists");
    assert_eq!(fallback.fallback_of.as_deref(), Some(id.as_str()));
    assert!(!w.store.snapshot(&id).expect("primary").fallback_pending);
    let again = recover(w.store.as_ref(), w.clock.as_ref(), "new-boot/").await.expect("again");
    assert!(again.iter().all(|(i, _)| i.action_id != id), "the primary is settled; only its fallback waits");
}
