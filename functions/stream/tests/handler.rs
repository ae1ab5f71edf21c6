//! DynamoDB stream records of the actions table → events, in order, durable first.

use baton_domain::fakes::RecordingSink;

fn event() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/lambda/dynamodb-stream-actions.json")).expect("fixture")
}

#[tokio::test]
async fn records_become_the_contract_events_once_each_and_in_order() {
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    let response = stream::handler::handle(&sink, &sockets, event()).await;
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
    let response = stream::handler::handle(&sink, &sockets, event()).await;
    assert_eq!(response.failed_ids(), ["100000000000000000001"]);
    assert!(sockets.names().is_empty(), "nothing is pushed that was not made durable");
}

#[tokio::test]
async fn an_undecodable_record_is_skipped() {
    let mut e = event();
    e["Records"][0]["dynamodb"]["NewImage"] = serde_json::json!({"id": {"S": "x"}});
    let sink = RecordingSink::default();
    let response = stream::handler::handle(&sink, &RecordingSink::default(), e).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sink.names(), ["action:executing", "action:completed"]);
}
