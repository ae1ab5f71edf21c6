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

fn platform_image(version: u64, breaker: &str, failures: u32) -> serde_json::Value {
    serde_json::json!({
        "id": {"S": "slack"}, "key": {"S": "slack"}, "platform": {"S": "slack"}, "version": {"N": version.to_string()},
        "tokens": {"N": "1"}, "refilledAt": {"S": "2026-11-24T07:00:00Z"}, "breaker": {"S": breaker},
        "failures": {"N": failures.to_string()}, "avgResponseMs": {"N": "0"}, "updatedAt": {"S": "2026-11-24T07:00:01Z"}
    })
}

#[tokio::test]
async fn platform_state_records_become_health_changed() {
    let event = serde_json::json!({"Records": [{
        "eventName": "MODIFY", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/baton-platform-state/stream/2026-11-24T00:00:00.000",
        "dynamodb": {"Keys": {"id": {"S": "slack"}}, "SequenceNumber": "200000000000000000001", "StreamViewType": "NEW_AND_OLD_IMAGES",
                     "OldImage": platform_image(4, "CLOSED", 4), "NewImage": platform_image(5, "OPEN", 5)}
    }]});
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    let response = stream::handler::handle(&sink, &sockets, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sink.names(), ["health:changed"]);
    let e = sink.events.lock().expect("lock")[0].clone();
    assert_eq!(e.data["previousStatus"], "degraded");
    assert_eq!(e.data["currentStatus"], "down");
    assert_eq!(e.data["circuitBreaker"]["state"], "OPEN");
}
