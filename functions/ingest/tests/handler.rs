//! An SQS batch on the ingress queue: good, not JSON, invalid.

use aws_lambda_events::event::sqs::SqsEvent;
use baton_domain::fakes::{ManualClock, MemoryQueue, MemoryStore, RecordingSink, approvals_over};
use baton_domain::ports::PlatformRegistry;
use baton_domain::usecases::Ingestor;
use std::sync::Arc;

fn batch() -> SqsEvent {
    serde_json::from_str(include_str!("../../../tests/fixtures/lambda/sqs-ingress-batch.json")).expect("fixture")
}

fn ingestor(store: &Arc<MemoryStore>, queue: &Arc<MemoryQueue>) -> Ingestor {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let approvals = approvals_over(store.clone(), queue.clone(), clock, PlatformRegistry::new());
    let workflows = baton_domain::fakes::workflows_over(approvals.clone());
    let operator = baton_domain::usecases::Operator::over(&approvals);
    Ingestor { submitter: approvals.submitter.clone(), approvals, workflows, operator }
}

#[tokio::test]
async fn bad_messages_are_recorded_and_acknowledged_without_replaying_their_neighbours() {
    let (store, queue, sink) =
        (Arc::new(MemoryStore::default()), Arc::new(MemoryQueue::default()), RecordingSink::default());
    let response = ingest::handler::handle(&ingestor(&store, &queue), &sink, batch()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert!(store.snapshot("ingest-ok-1").is_some());
    assert_eq!(queue.items.lock().expect("lock").len(), 1);
    let events = sink.events.lock().expect("lock").clone();
    assert_eq!(sink.names(), ["ingest:rejected", "ingest:rejected"]);
    assert_eq!(events[0].data["messageId"], "2e1424d4-f796-459a-8184-9c92662be6da");
    assert!(events[0].data["reason"].as_str().unwrap_or_default().starts_with("not JSON"));
    assert_eq!(events[1].data["fields"][0]["field"], "data.action.data.database_id");

    // Redelivered as a whole: the good one is not accepted twice, the bad ones are recorded again.
    let again = ingest::handler::handle(&ingestor(&store, &queue), &sink, batch()).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(queue.items.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_rejection_that_cannot_be_published_is_retried_not_lost() {
    let (store, queue, sink) =
        (Arc::new(MemoryStore::default()), Arc::new(MemoryQueue::default()), RecordingSink::default());
    *sink.fail_next.lock().expect("lock") = 1;
    let response = ingest::handler::handle(&ingestor(&store, &queue), &sink, batch()).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["2e1424d4-f796-459a-8184-9c92662be6da"]);
}
