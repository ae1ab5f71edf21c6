//! The workflow routes' edges on `baton serve`: the events route, racing submissions under one
//! key, cancel with a held step, and step actions' own events naming their workflow.

use baton_tests::{Platforms, TestApp, WsClient, spawn_app_on};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(60);

async fn app() -> (Platforms, TestApp) {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&platforms.slack)
        .await;
    let app = spawn_app_on(&platforms, baton_cli::DataLocation::Memory).await.expect("runtime starts");
    (platforms, app)
}

fn notify(text: &str, approval: bool) -> Value {
    json!({"type": "notify", "platform": "slack", "priority": "normal", "requiresApproval": approval,
           "data": {"channel": "#ops", "text": text}})
}

async fn watching(app: &TestApp, events: &[&str]) -> WsClient {
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(events, &[]).await.expect("subscribed");
    ws
}

#[tokio::test]
async fn the_events_route_starts_a_workflow_and_its_steps_events_name_it() {
    let (_platforms, app) = app().await;
    let mut ws = watching(&app, &["workflow:*", "action:*"]).await;
    let body = json!({"event": "workflow:ready", "data": {"name": "hello", "steps": [
        {"name": "hi", "action": notify("hi", false)}]}});
    let (status, receipt) = app.post("/api/events", &body).await.expect("post");
    assert_eq!(status, 202, "{receipt}");
    let id = receipt["workflowId"].as_str().expect("an id is assigned").to_owned();
    assert_eq!(receipt["steps"][0]["actionId"], format!("{id}.hi"), "derived from the workflow id and step");
    let frames = ws
        .collect_until(WITHIN, |f| f["event"] == "workflow:completed" && f["data"]["workflowId"] == id.as_str())
        .await
        .expect("completed");
    let completed = frames.iter().find(|f| f["event"] == "action:completed").expect("action:completed");
    assert_eq!(
        (completed["data"]["workflowId"].as_str(), completed["data"]["step"].as_str()),
        (Some(id.as_str()), Some("hi"))
    );
    let step_words: Vec<&str> =
        frames.iter().filter(|f| f["event"] == "workflow:step").filter_map(|f| f["data"]["status"].as_str()).collect();
    assert_eq!(step_words, ["queued", "executing", "success"]);
    let invalid = json!({"event": "workflow:ready", "data": {"steps": [{"name": "log", "action":
        {"type": "log", "platform": "sheets", "priority": "normal", "data": {"spreadsheetId": "s", "values": [["a"]]}}}]}});
    let (status, err) = app.post("/api/events", &invalid).await.expect("post");
    assert_eq!(status, 400);
    assert_eq!(err["error"]["details"]["fields"][0]["field"], "data.steps[0].action.data.range", "{err}");
}

#[tokio::test]
async fn racing_submissions_under_one_key_make_one_workflow() {
    let (platforms, app) = app().await;
    let body = json!({"idempotencyKey": "race-1", "steps": [{"name": "once", "action": notify("only once", false)}]});
    let posts = (0..10).map(|_| app.post("/api/workflows", &body));
    let answers = futures_util::future::join_all(posts).await;
    let mut ids = std::collections::HashSet::new();
    for answer in answers {
        let (status, body) = answer.expect("post");
        assert!(status == 202 || status == 200, "{status}: {body}");
        ids.insert(body["workflowId"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 1, "one workflow: {ids:?}");
    let id = ids.into_iter().next().expect("id");
    let mut ws = watching(&app, &["workflow:*"]).await;
    let (_, now) = app.get(&format!("/api/workflows/{id}")).await.expect("get");
    if now["status"] != "completed" {
        ws.collect_until(WITHIN, |f| f["event"] == "workflow:completed").await.expect("completed");
    }
    let sent = platforms.slack.received_requests().await.unwrap_or_default().len();
    assert_eq!(sent, 1, "its step ran once");
}

#[tokio::test]
async fn cancelling_withdraws_a_held_step_and_ends_the_workflow() {
    let (platforms, app) = app().await;
    let mut ws = watching(&app, &["workflow:*", "approval:*"]).await;
    let body = json!({"workflowId": "wf-cancel", "steps": [
        {"name": "ask", "action": notify("ask", true)},
        {"name": "after", "dependsOn": "ask", "action": notify("after", false)}]});
    assert_eq!(app.post("/api/workflows", &body).await.expect("post").0, 202);
    ws.collect_until(WITHIN, |f| f["event"] == "workflow:step" && f["data"]["status"] == "pending_approval")
        .await
        .expect("held");
    let (status, view) = app.post("/api/workflows/wf-cancel/cancel", &json!({})).await.expect("cancel");
    assert_eq!(status, 200, "{view}");
    let frames = ws.collect_until(WITHIN, |f| f["event"] == "workflow:cancelled").await.expect("cancelled");
    assert!(frames.iter().any(|f| f["event"] == "approval:resolved" && f["data"]["status"] == "cancelled"));
    let (_, w) = app.get("/api/workflows/wf-cancel").await.expect("get");
    assert_eq!(w["status"], "cancelled");
    assert_eq!(
        (w["steps"][0]["status"].as_str(), w["steps"][1]["status"].as_str()),
        (Some("cancelled"), Some("cancelled"))
    );
    let (status, again) = app.post("/api/workflows/wf-cancel/cancel", &json!({})).await.expect("cancel");
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("DUPLICATE_ERROR")));
    let (status, _) = app.post("/api/workflows/nope/cancel", &json!({})).await.expect("cancel");
    assert_eq!(status, 404);
    assert!(platforms.slack.received_requests().await.unwrap_or_default().is_empty(), "nothing was sent");
}
