//! Approvals on the serverless path (moto for SQS and DynamoDB Streams): the ingress holds,
//! the Slack request goes through the executor, the stream function announces, the api
//! function decides, the scheduler expires.

use baton_domain::auth::{KeyRequest, Scope};
use baton_domain::fakes::{ManualClock, RecordingSink};
use baton_tests::Platforms;
use baton_tests::stack::{Stack, StackOptions};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(60);
const TS: &str = "1700000000.000200";

async fn slack(platforms: &Platforms) {
    let ok = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C0APPROVALS", "ts": TS}));
    for route in ["/api/chat.postMessage", "/api/chat.update"] {
        Mock::given(method("POST")).and(path(route)).respond_with(ok.clone()).mount(&platforms.slack).await;
    }
}

fn named<'a>(events: &'a [Value], name: &str, action: &str) -> Option<&'a Value> {
    events.iter().find(|e| e["event"] == name && e["data"]["actionId"] == action)
}

#[tokio::test]
async fn requires_approval_on_the_ingress_is_announced_approved_over_rest_and_executed() {
    let platforms = Platforms::start().await;
    slack(&platforms).await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let request = KeyRequest {
        name: "dashboard".into(),
        scopes: vec![Scope::ApprovalsWrite, Scope::ActionsRead],
        expires_at: None,
        rate_limit: None,
    };
    let (_, key) = stack.access.create_key(request).await.expect("key");
    let message = json!({"event": "action:requires_approval", "data": {
        "action": {"id": "moto-apv-1", "type": "notify", "platform": "slack", "priority": "high",
                   "data": {"channel": "#ops", "text": "deploy to prod"}},
        "reason": "production deploy", "approvers": ["U12345"]}});
    stack.send_ingress(&message.to_string()).await;

    let mut events: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + WITHIN;
    while named(&events, "approval:pending", "moto-apv-1").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no approval:pending: {events:?}");
        stack.pump().await;
        events.extend(stack.drain_events().await);
    }
    let pending = named(&events, "approval:pending", "moto-apv-1").expect("pending")["data"].clone();
    assert_eq!(pending["slackMessageTs"], TS, "announced once the Slack request was posted");
    assert_eq!(pending["preview"]["request"]["body"]["text"], "deploy to prod");
    let id = pending["approvalId"].as_str().expect("id").to_owned();
    let (status, held) = stack.rest("GET", "/api/actions/moto-apv-1", Some(&key), None).await;
    assert_eq!((status, held["status"].as_str()), (200, Some("pending_approval")));

    let (status, answer) = stack
        .rest("POST", &format!("/api/approvals/{id}/approve"), Some(&key), Some(&json!({"userId": "U12345"})))
        .await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let done = stack.pump_until_terminal(&["moto-apv-1".into()], WITHIN).await.expect("executed");
    assert_eq!(done[0].status, baton_domain::model::Status::Success);
    stack.pump_until_terminal(&[format!("{id}-update")], WITHIN).await.expect("message updated");
    for _ in 0..3 {
        stack.pump().await;
        events.extend(stack.drain_events().await);
    }
    let resolved = named(&events, "approval:resolved", "moto-apv-1").expect("approval:resolved");
    assert_eq!(resolved["data"]["status"], "approved");
    assert!(named(&events, "action:completed", "moto-apv-1").is_some(), "{events:?}");
    // Each table's stream is in order; the two streams are not ordered with each other.
    let order = |prefix: &str| -> Vec<&str> {
        events
            .iter()
            .filter(|e| e["data"]["actionId"] == "moto-apv-1")
            .filter_map(|e| e["event"].as_str())
            .filter(|n| n.starts_with(prefix))
            .collect()
    };
    assert_eq!(order("approval:"), ["approval:pending", "approval:resolved"]);
    assert_eq!(order("action:"), ["action:queued", "action:executing", "action:completed"]);
    let updates: Vec<Value> = platforms
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/chat.update")
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect();
    assert_eq!(updates.len(), 1);
    assert_eq!((updates[0]["channel"].as_str(), updates[0]["ts"].as_str()), (Some("C0APPROVALS"), Some(TS)));
    assert_eq!(stack.dead_letters().await.iter().sum::<u64>(), 0);
}

#[tokio::test]
async fn the_scheduler_expires_an_overdue_approval_through_the_index() {
    let platforms = Platforms::start().await;
    slack(&platforms).await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let message = json!({"event": "action:requires_approval", "data": {
        "action": {"id": "moto-late-1", "type": "notify", "platform": "slack", "priority": "low",
                   "data": {"channel": "#ops", "text": "maybe"}},
        "reason": "no rush", "timeout": 60000}});
    stack.send_ingress(&message.to_string()).await;
    stack.pump_until(WITHIN, |_| true).await.expect("ingested");
    let clock = ManualClock::new(chrono::Utc::now() + chrono::Duration::seconds(61));
    let (sink, notifier) = (RecordingSink::default(), RecordingSink::default());
    let last_depth = std::sync::Mutex::new(None);
    stack.calls.reset();
    let run = scheduler::handler::Scheduler {
        store: stack.store.as_ref(),
        queue: stack.queue.as_ref(),
        clock: &clock,
        sink: &sink,
        notifier: &notifier,
        last_depth: &last_depth,
        approvals: &stack.approvals,
        workflows: Some(&stack.workflows),
        metrics: Some(&stack.metrics),
    };
    let summary = run.run().await.expect("run");
    assert_eq!(summary.approvals_expired, 1);
    assert_eq!(stack.calls.get("Scan"), 0, "found through the sparse index, never a Scan");
    let ended = stack.pump_until_terminal(&["moto-late-1".into()], WITHIN).await.expect("ended");
    assert_eq!(ended[0].status, baton_domain::model::Status::Expired);
    let mut events = Vec::new();
    for _ in 0..3 {
        stack.pump().await;
        events.extend(stack.drain_events().await);
    }
    assert_eq!(named(&events, "approval:resolved", "moto-late-1").expect("resolved")["data"]["status"], "timeout");
}
