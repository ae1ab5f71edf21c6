//! Cancel, replay and feedback on the serverless path (moto): feedback on the SQS ingress,
//! cancel and replay through the api function behind the authorizer.

use baton_domain::auth::{KeyRequest, Scope};
use baton_domain::model::Status;
use baton_tests::Platforms;
use baton_tests::stack::{Stack, StackOptions};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn feedback_arrives_on_the_ingress_and_a_failure_is_replayed_through_the_api() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&platforms.slack)
        .await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let request = KeyRequest {
        name: "engine".into(),
        scopes: vec![Scope::ActionsWrite, Scope::ActionsRead],
        expires_at: None,
        rate_limit: None,
    };
    let (_, key) = stack.access.create_key(request).await.expect("key");
    let notify = |id: &str| {
        json!({"event": "action:ready", "data": {"action": {"id": id, "type": "notify",
        "platform": "slack", "priority": "normal", "data": {"channel": "#ops", "text": "hello"}}}})
    };
    stack.send_ingress(&notify("op-1").to_string()).await;
    let done = stack.pump_until_terminal(&["op-1".into()], WITHIN).await.expect("finished");
    assert_eq!(done[0].status, Status::Failed, "the first post is refused for good");

    let (status, receipt) = stack.rest("POST", "/api/actions/op-1/replay", Some(&key), Some(&json!({}))).await;
    assert_eq!((status, receipt["actionId"].as_str()), (202, Some("op-1.r1")), "{receipt}");
    let done = stack.pump_until_terminal(&["op-1.r1".into()], WITHIN).await.expect("replayed");
    assert_eq!(done[0].status, Status::Success);

    let feedback = json!({"event": "feedback", "data": {"actionId": "op-1.r1",
        "feedback": {"outcome": "success", "executionQuality": 4, "notes": "fine the second time"}}});
    stack.send_ingress(&feedback.to_string()).await;
    let mut events: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !events.iter().any(|e| e["event"] == "feedback:received") {
        assert!(tokio::time::Instant::now() < deadline, "no feedback:received: {events:?}");
        stack.pump().await;
        events.extend(stack.drain_events().await);
    }
    let (_, action) = stack.rest("GET", "/api/actions/op-1.r1", Some(&key), None).await;
    assert_eq!(action["feedback"][0]["notes"], "fine the second time");
    assert_eq!(action["replayOf"], "op-1");
    let (status, refused) = stack.rest("POST", "/api/actions/op-1.r1/cancel", Some(&key), Some(&json!({}))).await;
    assert_eq!((status, refused["error"]["details"]["status"].as_str()), (409, Some("success")));
    // The stream function counted both ends; the api function reads them back.
    let (status, m) = stack.rest("GET", "/api/actions/metrics?timeWindow=1h", Some(&key), None).await;
    assert_eq!((status, m["metrics"]["totalActions"].as_u64()), (200, Some(2)), "{m}");
    assert_eq!(m["metrics"]["successRate"], 0.5);
    assert_eq!(m["metrics"]["feedback"]["avgQualityByType"], json!({"notify": 4.0}), "{m}");
    let run = scheduler::handler::Scheduler {
        store: stack.store.as_ref(),
        queue: stack.queue.as_ref(),
        clock: &baton_domain::ports::SystemClock,
        sink: &stack.sink,
        notifier: &stack.notifier,
        last_depth: &std::sync::Mutex::new(None),
        approvals: &stack.approvals,
        workflows: Some(&stack.workflows),
        metrics: Some(&stack.metrics),
    };
    assert!(run.run().await.expect("scheduler").metrics_published);
    let published = stack.drain_events().await;
    let live = published.iter().find(|e| e["event"] == "metrics:updated").expect("metrics:updated on the events queue");
    assert_eq!(live["data"]["successRate"], 0.5);
    assert_eq!(stack.dead_letters().await.iter().sum::<u64>(), 0);
}
