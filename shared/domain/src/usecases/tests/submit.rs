//! `Submitter`.

use super::*;

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
async fn ensuring_the_same_action_again_replays_its_first_receipt() {
    let w = World::new(vec![]);
    let body = json!({"action": {"id": "same", "type": "notify", "platform": "slack", "priority": "low",
        "data": {"channel": "#a", "text": "t"}}});
    let first = w.submitter().ensure(parse_submission(&body).expect("valid")).await.expect("accepted");
    let again = w.submitter().ensure(parse_submission(&body).expect("valid")).await.expect("replayed");
    assert!(!first.replayed && again.replayed);
    assert_eq!((again.action_id.as_str(), again.queue_position), ("same", first.queue_position));
    assert_eq!(w.queue.items.lock().expect("lock").len(), 1, "queued once");
    let mut other = body.clone();
    other["action"]["data"]["text"] = json!("different");
    let err = w.submitter().ensure(parse_submission(&other).expect("valid")).await.expect_err("conflict");
    assert_eq!(err.code(), ErrorCode::DuplicateError);
}
