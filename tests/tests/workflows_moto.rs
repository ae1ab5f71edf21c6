//! Workflows on the serverless path (moto for SQS and DynamoDB Streams): `workflow:ready` on
//! the ingress, steps through the executor, the stream function advancing, compensations in
//! reverse order, the workflow events on the events queue, the api function reading it.

use baton_domain::auth::{KeyRequest, Scope};
use baton_tests::Platforms;
use baton_tests::stack::{Stack, StackOptions};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(90);

fn notify(channel: &str, text: &str) -> Value {
    json!({"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": channel, "text": text}})
}

#[tokio::test]
async fn a_transactional_diamond_from_the_ingress_fails_at_its_join_and_is_undone_latest_first() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_string_contains("#broken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"})))
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    // Each message's ts is its text, so the deletes say which step they undo.
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(|req: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": body["text"]}))
        })
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.delete"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&platforms.slack)
        .await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let request =
        KeyRequest { name: "dashboard".into(), scopes: vec![Scope::ActionsRead], expires_at: None, rate_limit: None };
    let (_, key) = stack.access.create_key(request).await.expect("key");
    let message = json!({"event": "workflow:ready", "data": {"workflowId": "wf-moto", "name": "diamond",
        "transactional": true, "idempotencyKey": "moto-1", "steps": [
            {"name": "a", "action": notify("#ops", "a")},
            {"name": "b", "dependsOn": "a", "action": notify("#ops", "b")},
            {"name": "c", "dependsOn": "a", "action": notify("#ops", "c")},
            {"name": "d", "dependsOn": ["b", "c"], "action": notify("#broken", "d")}]}});
    stack.send_ingress(&message.to_string()).await;
    // Redelivered: the same workflow, nothing twice.
    stack.send_ingress(&message.to_string()).await;

    let mut events: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !events.iter().any(|e| e["event"] == "workflow:rolled_back") {
        assert!(tokio::time::Instant::now() < deadline, "not rolled back: {events:#?}");
        stack.pump().await;
        events.extend(stack.drain_events().await);
    }
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["data"]["workflowId"] == "wf-moto")
        .filter_map(|e| e["event"].as_str())
        .filter(|n| *n != "workflow:step" && n.starts_with("workflow:"))
        .collect();
    assert_eq!(names, ["workflow:started", "workflow:failed", "workflow:rolled_back"]);
    let end = events.iter().find(|e| e["event"] == "workflow:rolled_back").expect("end");
    assert_eq!(end["data"]["status"], "rolled_back");
    assert_eq!(end["data"]["failedStep"], "d");
    let step_events = events.iter().filter(|e| e["event"] == "workflow:step" && e["data"]["step"] == "a").count();
    assert!(step_events >= 3, "queued, executing, success, compensated for a: {step_events}");

    let (status, w) = stack.rest("GET", "/api/workflows/wf-moto", Some(&key), None).await;
    assert_eq!((status, w["status"].as_str()), (200, Some("rolled_back")), "{w}");
    let step = |n: usize| w["steps"][n].clone();
    assert_eq!(step(3)["status"], "failed");
    assert_eq!(step(3)["error"]["code"], "NOT_FOUND");
    for n in 0..3 {
        assert_eq!(step(n)["status"], "compensated", "{}", step(n));
        assert_eq!(step(n)["compensation"]["source"], "inverse");
    }
    let posts = |route: &str| {
        let route = route.to_owned();
        let slack = &platforms.slack;
        async move { slack.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == route).count() }
    };
    assert_eq!(posts("/api/chat.postMessage").await, 4, "a, b, c once each and d's one refused attempt");
    let undone: Vec<String> = platforms
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/chat.delete")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|b| b["ts"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(undone.len(), 3, "b, c and a undone: {undone:?}");
    assert_eq!(undone[2], "a", "a, the first to succeed, is undone last: {undone:?}");
    let (_, list) = stack.rest("GET", "/api/workflows?status=rolled_back", Some(&key), None).await;
    assert_eq!(list["workflows"][0]["workflowId"], "wf-moto", "{list}");
    assert_eq!(stack.dead_letters().await.iter().sum::<u64>(), 0);
}
