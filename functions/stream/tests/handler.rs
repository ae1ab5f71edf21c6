//! DynamoDB stream records of the actions table → events, in order, durable first.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use baton_domain::fakes::RecordingSink;
use std::sync::Mutex;
use stream::handler::Outlets;

fn raw() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/lambda/dynamodb-stream-actions.json")).expect("fixture")
}

fn event() -> StreamEvent {
    typed(raw())
}

fn typed(v: serde_json::Value) -> StreamEvent {
    serde_json::from_value(v).expect("a DynamoDB stream event")
}

#[derive(Default)]
struct Parked(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl stream::handler::Parking for Parked {
    async fn park(&self, record: &str) -> Result<(), String> {
        self.0.lock().expect("lock").push(record.to_owned());
        Ok(())
    }
}

/// Outlets with no reactor, metrics or queue.
fn outlets<'a>(sink: &'a RecordingSink, notifier: &'a RecordingSink, parking: &'a Parked) -> Outlets<'a> {
    Outlets { sink, notifier, parking, reactor: None, metrics: None, queue: None }
}

fn failed(r: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    r.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect()
}

#[tokio::test]
async fn records_become_the_contract_events_once_each_and_in_order() {
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    let response = stream::handler::handle(&outlets(&sink, &sockets, &Parked::default()), event()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sink.names(), ["action:queued", "action:executing", "action:completed"]);
    assert_eq!(sockets.names(), sink.names(), "WebSocket clients get the same events");
    let events = sink.events.lock().expect("lock").clone();
    assert_eq!(events[2].data["result"]["ts"], "1401383885.000061");
    assert_eq!(events[2].data["executionTime"], 250);
    assert_eq!(events[2].id, "stream-1:3:action:completed");
}

#[tokio::test]
async fn a_publishing_failure_returns_the_first_unpublished_record() {
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    *sink.fail_next.lock().expect("lock") = 1;
    let response = stream::handler::handle(&outlets(&sink, &sockets, &Parked::default()), event()).await;
    assert_eq!(failed(&response), ["100000000000000000001"]);
    assert!(sockets.names().is_empty(), "nothing is pushed that was not made durable");
}

#[tokio::test]
async fn an_undecodable_record_is_parked_whole_and_the_batch_goes_on() {
    let mut e = raw();
    e["Records"][0]["dynamodb"]["NewImage"] = serde_json::json!({"id": {"S": "x"}});
    let (sink, parked) = (RecordingSink::default(), Parked::default());
    let response = stream::handler::handle(&outlets(&sink, &RecordingSink::default(), &parked), typed(e)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sink.names(), ["action:executing", "action:completed"]);
    let parked = parked.0.lock().expect("lock").clone();
    assert_eq!(parked.len(), 1);
    let record: serde_json::Value = serde_json::from_str(&parked[0]).expect("the record as JSON");
    assert_eq!(record["dynamodb"]["NewImage"]["id"]["S"], "x", "the record itself, not a log line");
}

fn platform_image(version: u64, breaker: &str, failures: u32) -> serde_json::Value {
    serde_json::json!({
        "id": {"S": "slack"}, "key": {"S": "slack"}, "platform": {"S": "slack"}, "version": {"N": version.to_string()},
        "tokens": {"N": "1"}, "refilledAt": {"S": "2026-11-24T07:00:00Z"}, "breaker": {"S": breaker},
        "failures": {"N": failures.to_string()}, "avgResponseMs": {"N": "0"}, "updatedAt": {"S": "2026-11-24T07:00:01Z"}
    })
}

#[tokio::test]
async fn platform_state_records_become_health_changed() {
    // A record of the fixture's shape, for the platform state table.
    let mut event = raw();
    let mut record = event["Records"][0].clone();
    record["eventName"] = serde_json::json!("MODIFY");
    record["eventSourceARN"] = serde_json::json!(
        "arn:aws:dynamodb:us-east-1:123456789012:table/baton-platform-state/stream/2026-11-24T00:00:00.000"
    );
    record["dynamodb"]["Keys"] = serde_json::json!({"id": {"S": "slack"}});
    record["dynamodb"]["SequenceNumber"] = serde_json::json!("200000000000000000001");
    record["dynamodb"]["OldImage"] = platform_image(4, "CLOSED", 4);
    record["dynamodb"]["NewImage"] = platform_image(5, "OPEN", 5);
    event["Records"] = serde_json::json!([record]);
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    let response = stream::handler::handle(&outlets(&sink, &sockets, &Parked::default()), typed(event)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sink.names(), ["health:changed"]);
    let e = sink.events.lock().expect("lock")[0].clone();
    assert_eq!(e.data["previousStatus"], "degraded");
    assert_eq!(e.data["currentStatus"], "down");
    assert_eq!(e.data["circuitBreaker"]["state"], "OPEN");
}

/// The accepted actions of the priorities handed off are queued (one batch), and a queue that
/// refuses them fails the batch from their record on, before any event is published (the
/// retry queues them and publishes everything once).
#[tokio::test]
async fn accepted_actions_handed_off_are_queued_before_anything_else() {
    use baton_domain::fakes::MemoryQueue;
    use baton_domain::model::Priority;
    use baton_domain::usecases::Handoff;
    let (sink, notifier, parked, queue) =
        (RecordingSink::default(), RecordingSink::default(), Parked::default(), MemoryQueue::default());
    let run = async |handoff: Handoff| {
        let outlets = Outlets {
            sink: &sink,
            notifier: &notifier,
            parking: &parked,
            reactor: None,
            metrics: None,
            queue: Some((&queue, handoff)),
        };
        stream::handler::handle(&outlets, event()).await
    };
    let response = run(Handoff::of(&[Priority::Low])).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(queue.items.lock().expect("lock").is_empty(), "a priority not handed off is queued by its submitter");

    let response = run(Handoff::of(&[Priority::High])).await;
    assert!(response.batch_item_failures.is_empty());
    let queued: Vec<(String, Priority, bool)> = queue
        .items
        .lock()
        .expect("lock")
        .iter()
        .map(|(w, _)| (w.action_id.clone(), w.priority, w.snapshot.is_some()))
        .collect();
    assert_eq!(queued.len(), 1, "only the insert, not the changes after it: {queued:?}");
    assert_eq!((queued[0].1, queued[0].2), (Priority::High, true), "with the image: the executor leases from it");
    let published = sink.names().len();

    *queue.fail_next.lock().expect("lock") = 1;
    let response = run(Handoff::of(&[Priority::High])).await;
    assert_eq!(failed(&response), ["100000000000000000001"], "retried from the insert");
    assert_eq!(sink.names().len(), published, "nothing published past the record not queued");
}
