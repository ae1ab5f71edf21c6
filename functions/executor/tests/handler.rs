//! An SQS batch on a priority queue: completion, retries re-sent (not failed), duplicate
//! delivery, store trouble with a short visibility.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use baton_domain::fakes::{ManualClock, MemoryQueue, MemoryStore, ScriptedPlatform};
use baton_domain::model::{Platform, Priority, Status, WorkItem};
use baton_domain::ports::PlatformRegistry;
use baton_domain::usecases::{Executor, Submitter};
use baton_domain::validation::parse_submission;
use baton_domain::{ErrorCode, PlatformError};
use executor::handler::{Redeliver, handle};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Recorded {
    resent: Mutex<Vec<(String, Duration)>>,
    visibility: Mutex<Vec<(Priority, String, Duration)>>,
    resend_fails: bool,
}

#[async_trait]
impl Redeliver for Recorded {
    async fn resend(&self, item: &WorkItem, delay: Duration) -> Result<(), String> {
        if self.resend_fails {
            return Err("queue unavailable".into());
        }
        self.resent.lock().expect("lock").push((item.action_id.clone(), delay));
        Ok(())
    }

    async fn redeliver_after(&self, p: Priority, receipt: &str, delay: Duration) -> Result<(), String> {
        self.visibility.lock().expect("lock").push((p, receipt.to_owned(), delay));
        Ok(())
    }
}

async fn world(script: Vec<Result<serde_json::Value, PlatformError>>) -> (Arc<MemoryStore>, Executor) {
    let store = Arc::new(MemoryStore::default());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let submitter = Submitter {
        store: store.clone(),
        queue: Arc::new(MemoryQueue::default()),
        clock: clock.clone(),
        handoff: baton_domain::usecases::Handoff::NONE,
    };
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

fn failed(r: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<&str> {
    r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

#[tokio::test]
async fn a_success_is_acknowledged_and_a_duplicate_delivery_too() {
    let (store, executor) = world(vec![Ok(json!({"ok": true}))]).await;
    let r = Recorded::default();
    assert!(handle(&executor, &r, batch(), None).await.batch_item_failures.is_empty());
    assert_eq!(store.snapshot("exec-1").expect("stored").status, Status::Success);
    assert!(handle(&executor, &r, batch(), None).await.batch_item_failures.is_empty(), "terminal: acknowledged");
    assert!(r.visibility.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_retry_is_a_new_message_after_the_backoff_not_a_failed_delivery() {
    let (store, executor) = world(vec![Err(
        PlatformError::new(ErrorCode::RateLimited, "429").with_retry_after(Some(Duration::from_secs(7)))
    )])
    .await;
    let r = Recorded::default();
    let response = handle(&executor, &r, batch(), None).await;
    assert!(response.batch_item_failures.is_empty(), "acknowledged: the receive count is not used up");
    assert_eq!(r.resent.lock().expect("lock").as_slice(), [("exec-1".to_owned(), Duration::from_secs(7))]);
    assert_eq!(store.snapshot("exec-1").expect("stored").status, Status::Retrying);
}

#[tokio::test]
async fn when_re_sending_fails_the_message_itself_comes_back_after_the_delay() {
    let (_, executor) = world(vec![Err(PlatformError::new(ErrorCode::ServiceDown, "503"))]).await;
    let r = Recorded { resend_fails: true, ..Recorded::default() };
    let response = handle(&executor, &r, batch(), None).await;
    assert_eq!(failed(&response), ["c80e8021-a70a-42c7-a470-796e1186f753"]);
    let (priority, receipt, delay) = r.visibility.lock().expect("lock")[0].clone();
    assert_eq!(priority, Priority::Critical);
    assert!(receipt.starts_with("AQEBJQ"));
    assert!(delay <= Duration::from_secs(2), "the backoff, not the queue's visibility timeout: {delay:?}");
}

#[tokio::test]
async fn a_store_outage_comes_back_after_a_short_backed_off_visibility() {
    let (_, mut executor) = world(vec![]).await;
    executor.store = Arc::new(baton_domain::fakes::UnavailableStore);
    let r = Recorded::default();
    let response = handle(&executor, &r, batch(), None).await;
    assert_eq!(failed(&response).len(), 1);
    let (_, _, delay) = r.visibility.lock().expect("lock")[0].clone();
    assert_eq!(delay, Duration::from_secs(1), "first receive: one second");
}

#[tokio::test]
async fn a_malformed_work_item_is_acknowledged() {
    let (_, executor) = world(vec![]).await;
    let mut event = batch();
    event.records[0].body = Some("{\"what\":1}".into());
    assert!(handle(&executor, &Recorded::default(), event, None).await.batch_item_failures.is_empty());
}
