//! An SQS batch on a priority queue: completion, retry by visibility, duplicate delivery.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use baton_domain::fakes::{ManualClock, MemoryQueue, MemoryStore, ScriptedPlatform};
use baton_domain::model::{Platform, Priority, Status};
use baton_domain::ports::PlatformRegistry;
use baton_domain::usecases::{Executor, Submitter};
use baton_domain::validation::parse_submission;
use baton_domain::{ErrorCode, PlatformError};
use executor::handler::{Redeliver, handle};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Visibility(Mutex<Vec<(Priority, String, Duration)>>);

#[async_trait]
impl Redeliver for Visibility {
    async fn redeliver_after(&self, p: Priority, receipt: &str, delay: Duration) -> Result<(), String> {
        self.0.lock().expect("lock").push((p, receipt.to_owned(), delay));
        Ok(())
    }
}

async fn world(script: Vec<Result<serde_json::Value, PlatformError>>) -> (Arc<MemoryStore>, Executor) {
    let store = Arc::new(MemoryStore::default());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let submitter = Submitter { store: store.clone(), queue: Arc::new(MemoryQueue::default()), clock: clock.clone() };
    let body = json!({"action": {"id": "exec-1", "type": "notify", "platform": "slack", "priority": "critical",
                                 "data": {"channel": "#ops", "text": "hi"}}});
    submitter.submit(parse_submission(&body).expect("valid")).await.expect("accepted");
    let executor = Executor {
        store: store.clone(),
        platforms: Arc::new(PlatformRegistry::new().with(Arc::new(ScriptedPlatform::new(Platform::Slack, script)))),
        clock,
        worker_id: "sandbox-1".into(),
        lease_grace: Duration::from_secs(5),
        guard: None,
        fallbacks: None,
    };
    (store, executor)
}

fn batch() -> SqsEvent {
    serde_json::from_str(include_str!("../../../tests/fixtures/lambda/sqs-executor-batch.json")).expect("fixture")
}

#[tokio::test]
async fn a_success_is_acknowledged_and_a_duplicate_delivery_too() {
    let (store, executor) = world(vec![Ok(json!({"ok": true}))]).await;
    let vis = Visibility::default();
    assert!(handle(&executor, &vis, batch()).await.batch_item_failures.is_empty());
    assert_eq!(store.snapshot("exec-1").expect("stored").status, Status::Success);
    assert!(handle(&executor, &vis, batch()).await.batch_item_failures.is_empty(), "terminal: acknowledged");
    assert!(vis.0.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_retriable_failure_sets_the_visibility_to_the_backoff_and_keeps_the_message() {
    let (store, executor) = world(vec![Err(
        PlatformError::new(ErrorCode::RateLimited, "429").with_retry_after(Some(Duration::from_secs(7)))
    )])
    .await;
    let vis = Visibility::default();
    let response = handle(&executor, &vis, batch()).await;
    assert_eq!(response.failed_ids(), ["c80e8021-a70a-42c7-a470-796e1186f753"]);
    let (priority, receipt, delay) = vis.0.lock().expect("lock")[0].clone();
    assert_eq!(priority, Priority::Critical);
    assert!(receipt.starts_with("AQEBJQ"));
    assert_eq!(delay, Duration::from_secs(7), "Retry-After wins over the shorter backoff");
    assert_eq!(store.snapshot("exec-1").expect("stored").status, Status::Retrying);
}

#[tokio::test]
async fn a_malformed_work_item_is_acknowledged() {
    let (_, executor) = world(vec![]).await;
    let mut event = batch();
    event.records[0].body = Some("{\"what\":1}".into());
    assert!(handle(&executor, &Visibility::default(), event).await.batch_item_failures.is_empty());
}
