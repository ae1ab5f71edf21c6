//! Cancel, replay and feedback on `baton serve`: real HTTP, a real WebSocket client,
//! wiremock as Slack.

use baton_tests::{Platforms, TestApp, WsClient, contract_examples, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);

async fn app(paused: bool) -> (Platforms, TestApp) {
    let platforms = Platforms::start().await;
    platforms.slack_answers().await;
    let app = spawn_app_with(&platforms, |opts| {
        opts.hooks.start_paused = paused;
        opts.store.limits =
            baton_domain::limits::Limits::default().with_overrides("slack=10000/1s").unwrap_or_default();
    })
    .await
    .expect("runtime starts");
    (platforms, app)
}

fn notify(id: &str, channel: &str) -> Value {
    json!({"id": id, "type": "notify", "platform": "slack", "priority": "normal",
           "data": {"channel": channel, "text": format!("text of {id}")}})
}

async fn watching(app: &TestApp) -> WsClient {
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["action:*", "feedback:*"], &[]).await.expect("subscribed");
    ws
}

#[tokio::test]
async fn cancel_takes_queued_and_held_actions_and_refuses_the_rest_with_their_status() {
    let (platforms, app) = app(true).await;
    let mut ws = watching(&app).await;
    app.submit(notify("c-queued", "#ops")).await.expect("queued");
    let (status, held) = app
        .post("/api/approvals", &json!({"action": notify("c-held", "#ops"), "reason": "check"}))
        .await
        .expect("held");
    assert_eq!(status, 202, "{held}");
    let (status, cancelled) =
        app.post("/api/actions/c-queued/cancel", &json!({"reason": "not needed"})).await.expect("cancel");
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    assert_eq!(cancelled["cancelReason"], "not needed");
    let frames = ws.collect_until(WITHIN, |f| f["event"] == "action:cancelled").await.expect("action:cancelled");
    assert_eq!(frames.last().expect("frame")["data"]["actionId"], "c-queued");
    let (status, cancelled) = app.post_raw("/api/actions/c-held/cancel", "").await.expect("cancel");
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let (_, approval) =
        app.get(&format!("/api/approvals/{}", held["approvalId"].as_str().expect("id"))).await.expect("get");
    assert_eq!(approval["status"], "cancelled");
    let (status, again) = app.post("/api/actions/c-queued/cancel", &json!({})).await.expect("cancel");
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("DUPLICATE_ERROR")));
    assert_eq!(again["error"]["details"]["status"], "cancelled");
    assert_eq!(app.post("/api/actions/nope/cancel", &json!({})).await.expect("cancel").0, 404);
    let (status, bad) = app.post("/api/actions/c-queued/cancel", &json!({"why": 1})).await.expect("cancel");
    assert_eq!((status, bad["error"]["details"]["fields"][0]["field"].as_str()), (400, Some("why")));
    // The queued message of the cancelled action is dropped when it arrives.
    app.runtime.resume_workers();
    app.submit(notify("c-after", "#ops")).await.expect("queued");
    app.wait_terminal("c-after", WITHIN).await.expect("ran");
    let texts: Vec<String> = platforms
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert!(texts.iter().all(|t| !t.contains("text of c-queued") && !t.contains("text of c-held")), "{texts:?}");
}

#[tokio::test]
async fn a_failed_action_is_replayed_alone_and_failures_in_bulk_after_a_dry_run() {
    let (platforms, app) = app(false).await;
    for i in 0..5 {
        app.submit(notify(&format!("f-{i}"), "#broken")).await.expect("queued");
    }
    app.submit(notify("ok-1", "#ops")).await.expect("queued");
    for id in ["f-0", "f-1", "f-2", "f-3", "f-4", "ok-1"] {
        app.wait_terminal(id, WITHIN).await.expect("finished");
    }
    let (status, running) = app.post("/api/actions/ok-1/replay", &json!({})).await.expect("replay");
    assert_eq!((status, running["error"]["details"]["status"].as_str()), (409, Some("success")));
    // Slack is fixed: what failed can now succeed.
    platforms.slack.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&platforms.slack)
        .await;
    let (status, receipt) = app.post("/api/actions/f-0/replay", &json!({})).await.expect("replay");
    assert_eq!((status, receipt["actionId"].as_str()), (202, Some("f-0.r1")), "{receipt}");
    let replay = app.wait_terminal("f-0.r1", WITHIN).await.expect("replayed");
    assert_eq!((replay["status"].as_str(), replay["replayOf"].as_str()), (Some("success"), Some("f-0")));
    assert_eq!(replay["data"]["text"], "text of f-0");
    let (_, original) = app.get("/api/actions/f-0").await.expect("get");
    assert_eq!(original["replayedBy"], json!(["f-0.r1"]));

    let filter = json!({"filter": {"platform": "slack", "errorCode": "NOT_FOUND"}, "dryRun": true});
    let (status, counted) = app.post("/api/actions/replay", &filter).await.expect("dry run");
    assert_eq!((status, counted["matched"].as_u64()), (200, Some(4)), "f-0 was replayed already: {counted}");
    assert_eq!(counted["ids"].as_array().map(Vec::len), Some(4));
    let (status, done) =
        app.post("/api/actions/replay", &json!({"filter": {"status": "failed"}, "limit": 3})).await.expect("replay");
    assert_eq!((status, done["replayed"].as_array().map(Vec::len)), (200, Some(3)), "{done}");
    for id in done["replayed"].as_array().expect("ids") {
        let a = app.wait_terminal(id.as_str().expect("id"), WITHIN).await.expect("replayed");
        assert_eq!(a["status"], "success");
    }
    let (_, left) = app.post("/api/actions/replay", &json!({"dryRun": true})).await.expect("dry run");
    assert_eq!(left["matched"], 1, "{left}");
    let (status, bad) = app.post("/api/actions/replay", &json!({"filter": {"status": "success"}})).await.expect("bad");
    assert_eq!((status, bad["error"]["details"]["fields"][0]["field"].as_str()), (400, Some("filter.status")));
}

#[tokio::test]
async fn feedback_is_kept_newest_first_announced_and_validated() {
    let (_platforms, app) = app(false).await;
    let mut ws = watching(&app).await;
    for example in contract_examples()["feedback"].as_array().expect("examples") {
        let id = example["actionId"].as_str().expect("id");
        app.submit(json!({"id": id, "type": "notify", "platform": "slack", "priority": "low", "dryRun": true,
                          "data": {"channel": "#ops", "text": "t"}}))
            .await
            .expect("submitted");
        app.wait_terminal(id, WITHIN).await.expect("finished");
        let (status, body) =
            app.post("/api/events", &json!({"event": "feedback", "data": example})).await.expect("feedback");
        assert_eq!(status, 201, "{body}");
    }
    let frames = ws
        .collect_until(WITHIN, |f| f["event"] == "feedback:received" && f["data"]["actionId"] == "action-789")
        .await
        .expect("feedback:received");
    assert!(frames.iter().any(|f| f["event"] == "feedback:received" && f["data"]["executionQuality"] == 3));
    let (status, body) = app
        .post("/api/actions/action-123/feedback", &json!({"outcome": "modified", "executionQuality": 2}))
        .await
        .expect("feedback");
    assert_eq!((status, body["feedbackCount"].as_u64()), (201, Some(2)), "{body}");
    let (_, action) = app.get("/api/actions/action-123").await.expect("get");
    assert_eq!(action["feedback"][0]["outcome"], "modified", "newest first");
    assert_eq!(action["feedback"][1]["executionQuality"], 5);
    let bad = json!({"outcome": "great", "executionQuality": 9, "notes": "x".repeat(5000),
                     "learningPoints": vec!["p"; 21]});
    let (status, err) = app.post("/api/actions/action-123/feedback", &bad).await.expect("bad");
    assert_eq!(status, 400);
    let fields: Vec<&str> = err["error"]["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    for f in ["outcome", "executionQuality", "notes", "learningPoints"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let (status, _) = app
        .post("/api/actions/unknown/feedback", &json!({"outcome": "success", "executionQuality": 4}))
        .await
        .expect("post");
    assert_eq!(status, 404);
}
