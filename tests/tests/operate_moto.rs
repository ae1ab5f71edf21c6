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

#[tokio::test]
async fn a_dead_lettered_work_item_goes_back_into_its_queue_and_runs() {
    let platforms = Platforms::start().await;
    platforms.slack_answers().await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let request = KeyRequest { name: "ops".into(), scopes: vec![Scope::Admin], expires_at: None, rate_limit: None };
    let (_, admin) = stack.access.create_key(request).await.expect("key");
    let value = json!({"id": "dl-1", "type": "notify", "platform": "slack", "priority": "normal",
                       "data": {"channel": "#ops", "text": "back from the dead letters"}});
    let new = baton_domain::validation::parse_action(&value, "action").expect("valid");
    let action = baton_domain::model::Action::accepted(new, None, chrono::Utc::now(), 0, 0);
    baton_domain::ports::ActionStore::insert(stack.store.as_ref(), &action).await.expect("stored");
    let item = baton_domain::model::WorkItem::new("dl-1", baton_domain::model::Priority::Normal);
    let body = serde_json::to_string(&item).expect("json");
    stack.sqs.send_message().queue_url(&stack.urls.dlq[2]).message_body(body).send().await.expect("dead-lettered");
    assert_eq!(stack.dead_letters().await.iter().sum::<u64>(), 1);

    let (status, moved) =
        stack.rest("POST", "/api/queues/normal/redrive", Some(&admin), Some(&json!({"max": 10}))).await;
    assert_eq!((status, moved["moved"].as_u64()), (200, Some(1)), "{moved}");
    assert_eq!(stack.dead_letters().await.iter().sum::<u64>(), 0);
    let done = stack.pump_until_terminal(&["dl-1".into()], WITHIN).await.expect("ran");
    assert_eq!(done[0].status, Status::Success);
    let (status, _) = stack.rest("POST", "/api/queues/sideways/redrive", Some(&admin), Some(&json!({}))).await;
    assert_eq!(status, 400);
}
