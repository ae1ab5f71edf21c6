//! Approvals in Slack on `baton serve`: the request posted through the Slack client, signed
//! button clicks, the message updated in place, forged or stale callbacks refused, and a
//! pending approval that outlives a restart.

use baton_cli::DataLocation;
use baton_domain::auth::slack::sign;
use baton_tests::{Platforms, TestApp, WsClient, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);
const SECRET: &str = "test-signing-secret-5b1e";
const TS: &str = "1700000000.000100";

async fn app(platforms: &Platforms, data: DataLocation) -> TestApp {
    let settings = platforms.settings_with(&[("SLACK_SIGNING_SECRET", SECRET.into())]);
    spawn_app_with(platforms, |opts| {
        opts.platforms = settings;
        opts.data = data;
        opts.store.approval_channel = Some("#approvals".into());
    })
    .await
    .expect("runtime starts")
}

async fn slack_answers(platforms: &Platforms) {
    let ok = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C0APPROVALS", "ts": TS}));
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ok.clone())
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST")).and(path("/api/chat.update")).respond_with(ok).mount(&platforms.slack).await;
    Mock::given(method("POST"))
        .and(path("/respond"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"object": "page", "id": "page-1"})))
        .mount(&platforms.notion)
        .await;
}

fn request(id: &str) -> Value {
    json!({"action": {"id": id, "type": "create", "platform": "notion", "priority": "high",
                      "data": {"database_id": "db1", "title": "Q4 plan"}},
           "reason": "creates a page in the board", "approvers": ["U12345", "U67890"]})
}

/// A click as Slack posts it: the form body and its signature headers at `at` (epoch s).
fn click(platforms: &Platforms, user: &str, verb: &str, approval: &str, at: i64) -> (String, String, String) {
    let payload = json!({"type": "block_actions", "user": {"id": user}, "response_url": format!("{}/respond", platforms.slack.uri()),
                         "actions": [{"action_id": verb, "block_id": "baton_approval", "value": approval}]});
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
    let ts = at.to_string();
    let signature = sign(SECRET, &ts, body.as_bytes());
    (body, ts, signature)
}

async fn post_click(app: &TestApp, (body, ts, signature): (String, String, String)) -> u16 {
    app.http
        .post(format!("{}/api/slack/interactions", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .expect("send")
        .status()
        .as_u16()
}

async fn requests_to(platforms: &Platforms, route: &str) -> Vec<Value> {
    let all = platforms.slack.received_requests().await.unwrap_or_default();
    all.iter().filter(|r| r.url.path() == route).filter_map(|r| serde_json::from_slice(&r.body).ok()).collect()
}

async fn pending_event(ws: &mut WsClient, action_id: &str) -> Value {
    let frames = ws
        .collect_until(WITHIN, |f| f["event"] == "approval:pending" && f["data"]["actionId"] == action_id)
        .await
        .expect("approval:pending");
    frames.last().expect("frame")["data"].clone()
}

#[tokio::test]
async fn a_signed_click_approves_and_the_message_is_updated_in_place() {
    let platforms = Platforms::start().await;
    slack_answers(&platforms).await;
    let app = app(&platforms, DataLocation::Memory).await;
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["approval:*"], &[]).await.expect("subscribed");
    let (status, r) = app.post("/api/approvals", &request("slack-1")).await.expect("post");
    assert_eq!(status, 202, "{r}");
    let id = r["approvalId"].as_str().expect("id").to_owned();
    // approval:pending waits for the post, so it carries the message's ts.
    let pending = pending_event(&mut ws, "slack-1").await;
    assert_eq!(pending["slackMessageTs"], TS);
    let posted = requests_to(&platforms, "/api/chat.postMessage").await;
    let message = posted.iter().find(|m| m["channel"] == "#approvals").expect("the request was posted");
    let text = message.to_string();
    assert!(
        text.contains("creates a page in the board") && text.contains("POST") && text.contains("/v1/pages"),
        "{text}"
    );
    assert!(text.contains("<@U12345>"), "approvers named: {text}");
    let buttons =
        message["blocks"].as_array().expect("blocks").iter().find(|b| b["type"] == "actions").expect("buttons");
    assert_eq!(buttons["elements"][0]["value"], id.as_str());

    let now = chrono::Utc::now().timestamp();
    assert_eq!(post_click(&app, click(&platforms, "U99999", "approve", &id, now)).await, 200);
    let replies = requests_to(&platforms, "/respond").await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["response_type"], "ephemeral");
    assert!(replies[0]["text"].as_str().unwrap_or_default().contains("not allowed"), "{replies:?}");
    let (_, still) = app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!((still["status"].as_str(), still["decisions"].as_array().map(Vec::len)), (Some("pending"), Some(0)));

    assert_eq!(post_click(&app, click(&platforms, "U12345", "approve", &id, now)).await, 200);
    assert_eq!(app.wait_terminal("slack-1", WITHIN).await.expect("ran")["status"], "success");
    let (_, done) = app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!((done["status"].as_str(), done["decisions"][0]["via"].as_str()), (Some("approved"), Some("slack")));
    let deadline = tokio::time::Instant::now() + WITHIN;
    let update = loop {
        if let Some(u) = requests_to(&platforms, "/api/chat.update").await.into_iter().next() {
            break u;
        }
        assert!(tokio::time::Instant::now() < deadline, "the message was never updated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((update["channel"].as_str(), update["ts"].as_str()), (Some("C0APPROVALS"), Some(TS)));
    assert!(update["text"].as_str().unwrap_or_default().starts_with("Approved by <@U12345>"), "{update}");
    assert!(update["blocks"].as_array().expect("blocks").iter().all(|b| b["type"] != "actions"), "no buttons left");
}

#[tokio::test]
async fn a_slack_rejection_says_who_and_forged_or_stale_clicks_change_nothing() {
    let platforms = Platforms::start().await;
    slack_answers(&platforms).await;
    let app = app(&platforms, DataLocation::Memory).await;
    let (_, r) = app.post("/api/approvals", &request("slack-2")).await.expect("post");
    let id = r["approvalId"].as_str().expect("id").to_owned();
    let now = chrono::Utc::now().timestamp();
    let (body, ts, _) = click(&platforms, "U67890", "reject", &id, now);
    let forged = (body.clone(), ts.clone(), format!("v0={}", "0".repeat(64)));
    assert_eq!(post_click(&app, forged).await, 401);
    let unsigned = (body.clone(), ts, String::new());
    assert_eq!(post_click(&app, unsigned).await, 401);
    assert_eq!(post_click(&app, click(&platforms, "U67890", "reject", &id, now - 301)).await, 401, "stale");
    let (_, still) = app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!((still["status"].as_str(), still["decisions"].as_array().map(Vec::len)), (Some("pending"), Some(0)));

    assert_eq!(post_click(&app, click(&platforms, "U67890", "reject", &id, now)).await, 200);
    assert_eq!(app.wait_terminal("slack-2", WITHIN).await.expect("ended")["status"], "rejected");
    let (_, done) = app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!(done["resolutionReason"], "rejected in Slack by U67890");
    assert!(platforms.notion.received_requests().await.unwrap_or_default().is_empty(), "never ran");
}

#[tokio::test]
async fn a_pending_approval_survives_a_restart() {
    let platforms = Platforms::start().await;
    slack_answers(&platforms).await;
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .and(body_partial_json(json!({"parent": {"database_id": "db1"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "page-2"})))
        .mount(&platforms.notion)
        .await;
    let dir = std::env::temp_dir().join(format!("baton-approvals-{}", uuid::Uuid::new_v4()));
    let first = app(&platforms, DataLocation::Dir(dir.clone())).await;
    let (status, r) = first.post("/api/approvals", &request("restart-1")).await.expect("post");
    assert_eq!(status, 202, "{r}");
    first.runtime.stop().await;

    let second = app(&platforms, DataLocation::Dir(dir.clone())).await;
    let (_, inbox) = second.get("/api/approvals?status=pending").await.expect("inbox");
    assert_eq!(inbox["approvals"][0]["actionId"], "restart-1", "{inbox}");
    let (_, held) = second.get("/api/actions/restart-1").await.expect("get");
    assert_eq!(held["status"], "pending_approval", "a restart does not run a held action");
    let id = r["approvalId"].as_str().expect("id");
    let (status, _) =
        second.post(&format!("/api/approvals/{id}/approve"), &json!({"userId": "U67890"})).await.expect("post");
    assert_eq!(status, 200);
    assert_eq!(second.wait_terminal("restart-1", WITHIN).await.expect("ran")["status"], "success");
    second.runtime.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
