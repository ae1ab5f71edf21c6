//! Approvals over REST on `baton serve`: real HTTP, a real WebSocket client, wiremock as the
//! platforms. Holds, decisions, quorum, edits, the exact preview, races and timeouts.

use baton_tests::{ADMIN_KEY, Platforms, TestApp, WsClient, contract_examples, names, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);

struct World {
    platforms: Platforms,
    trello: MockServer,
    app: TestApp,
}

async fn world() -> World {
    let platforms = Platforms::start().await;
    let trello = MockServer::start().await;
    let settings = platforms.settings_with(&[
        ("TRELLO_KEY", "trello-key".into()),
        ("TRELLO_TOKEN", "trello-token".into()),
        ("TRELLO_API_URL", format!("{}/1", trello.uri())),
    ]);
    let app = spawn_app_with(&platforms, |opts| {
        opts.platforms = settings;
        opts.store.limits = baton_domain::limits::Limits::default()
            .with_overrides("slack=10000/1s,notion=10000/1s,trello=10000/1s")
            .unwrap_or_default();
    })
    .await
    .expect("runtime starts");
    Mock::given(method("DELETE"))
        .and(path_regex("^/1/cards/[a-z0-9-]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"limits": {}})))
        .mount(&trello)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&platforms.slack)
        .await;
    World { platforms, trello, app }
}

async fn watching(app: &TestApp) -> WsClient {
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["approval:*", "action:*"], &[]).await.expect("subscribed");
    ws
}

/// Frames until `event` arrives for `action_id`; all of them for that action, in order.
async fn until(ws: &mut WsClient, action_id: &str, event: &str) -> Vec<Value> {
    let frames = ws
        .collect_until(WITHIN, |f| f["data"]["actionId"] == action_id && f["event"] == event)
        .await
        .unwrap_or_else(|e| panic!("no {event} for {action_id}: {e}"));
    frames.into_iter().filter(|f| f["data"]["actionId"] == action_id).collect()
}

fn slack_request(id: &str, extra: Value) -> Value {
    let mut body = json!({"action": {"id": id, "type": "notify", "platform": "slack", "priority": "high",
                                     "userId": "U0ASKER", "data": {"channel": "#ops", "text": "ship it?"}},
                          "reason": "a human looks first", "approvers": ["U1", "U2", "U3"]});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    body
}

#[tokio::test]
async fn the_contract_example_is_held_previewed_approved_and_runs_exactly_what_was_shown() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let example = contract_examples()["action_requires_approval"].clone();
    let (status, receipt) = w.app.post("/api/approvals", &example).await.expect("post");
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["status"], "pending_approval");
    assert_eq!(receipt["actionId"], "action-trello-bulk-001");
    let approval_id = receipt["approvalId"].as_str().expect("approval id").to_owned();
    let pending = until(&mut ws, "action-trello-bulk-001", "approval:pending").await;
    let shown = &pending.last().expect("pending")["data"];
    assert_eq!(shown["approvers"], json!(["U12345", "U67890"]));
    assert_eq!(shown["reason"], "Bulk delete operation affects 20 cards");
    let preview = shown["preview"]["requests"].as_array().expect("three requests").clone();
    assert_eq!(preview.len(), 3);
    assert!(!shown["preview"].to_string().contains("trello-token"), "secrets are redacted");
    let (_, held) = w.app.get("/api/actions/action-trello-bulk-001").await.expect("get");
    assert_eq!(held["status"], "pending_approval");
    assert!(w.trello.received_requests().await.unwrap_or_default().is_empty(), "nothing runs before approval");

    let (status, inbox) = w.app.get("/api/approvals?status=pending").await.expect("inbox");
    assert_eq!(status, 200);
    assert_eq!(inbox["approvals"][0]["id"], approval_id.as_str());

    let approve = contract_examples()["approve"].clone();
    let (status, answer) =
        w.app.post(&format!("/api/approvals/{approval_id}/approve"), &approve).await.expect("approve");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "approved");
    assert_eq!(answer["approvedBy"], "U12345");
    assert_eq!(answer["actionId"], "action-trello-bulk-001");
    let frames = until(&mut ws, "action-trello-bulk-001", "action:completed").await;
    assert_eq!(names(&frames), ["approval:resolved", "action:queued", "action:executing", "action:completed"]);
    assert_eq!(frames[0]["data"]["status"], "approved");
    assert_eq!(frames[0]["data"]["resolvedBy"], "U12345");

    // What ran is what was shown: the same method and URL, request for request.
    let sent = w.trello.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 3);
    for (req, shown) in sent.iter().zip(&preview) {
        assert_eq!(req.method.as_str(), shown["method"]);
        let url = reqwest::Url::parse(shown["url"].as_str().expect("url")).expect("url");
        assert_eq!(req.url.path(), url.path());
    }
    let (_, again) = w
        .app
        .post(&format!("/api/approvals/{approval_id}/reject"), &contract_examples()["reject"])
        .await
        .expect("late");
    assert_eq!(again["error"]["code"], "DUPLICATE_ERROR", "{again}");
    assert_eq!(again["error"]["details"]["status"], "approved");
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_ends_the_action_unrun() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let (status, r) = w.app.post("/api/approvals", &slack_request("rej-1", json!({}))).await.expect("post");
    assert_eq!(status, 202, "{r}");
    let id = r["approvalId"].as_str().expect("id").to_owned();
    let (status, body) =
        w.app.post(&format!("/api/approvals/{id}/reject"), &json!({"userId": "U1"})).await.expect("post");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "reason");
    let (status, body) = w
        .app
        .post(&format!("/api/approvals/{id}/reject"), &json!({"userId": "U2", "reason": "not today"}))
        .await
        .expect("post");
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["rejectedBy"].as_str()), (Some("rejected"), Some("U2")));
    assert_eq!(body["reason"], "not today");
    let frames = until(&mut ws, "rej-1", "approval:resolved").await;
    assert_eq!(frames.last().expect("resolved")["data"]["status"], "rejected");
    let done = w.app.wait_terminal("rej-1", WITHIN).await.expect("terminal");
    assert_eq!(done["status"], "rejected");
    let posted = w.platforms.slack.received_requests().await.unwrap_or_default();
    assert!(posted.iter().all(|r| !String::from_utf8_lossy(&r.body).contains("ship it?")), "never sent");
}

#[tokio::test]
async fn only_approvers_decide_never_on_their_own_action_and_a_quorum_needs_two_people() {
    let w = world().await;
    let (_, r) =
        w.app.post("/api/approvals", &slack_request("q-1", json!({"requiredApprovals": 2}))).await.expect("post");
    let id = r["approvalId"].as_str().expect("id").to_owned();
    let url = format!("/api/approvals/{id}/approve");
    let (status, body) = w.app.post(&url, &json!({"userId": "U9"})).await.expect("post");
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("PERMISSION_DENIED")), "{body}");
    let (status, first) = w.app.post(&url, &json!({"userId": "U1"})).await.expect("post");
    assert_eq!((status, first["status"].as_str()), (200, Some("pending")), "{first}");
    assert_eq!(first["approvals"][0]["userId"], "U1");
    let (_, twice) = w.app.post(&url, &json!({"userId": "U1"})).await.expect("post");
    assert_eq!(twice["status"], "pending", "one user counts once");
    let (_, held) = w.app.get("/api/actions/q-1").await.expect("get");
    assert_eq!(held["status"], "pending_approval");
    let (_, second) = w.app.post(&url, &json!({"userId": "U3", "reason": "fine"})).await.expect("post");
    assert_eq!(second["status"], "approved", "{second}");
    assert_eq!(w.app.wait_terminal("q-1", WITHIN).await.expect("ran")["status"], "success");

    // The action's own user never approves it.
    let mut own = slack_request("own-1", json!({"approvers": ["U0ASKER", "U1"]}));
    own["action"]["userId"] = json!("U0ASKER");
    let (_, r) = w.app.post("/api/approvals", &own).await.expect("post");
    let (status, body) = w
        .app
        .post(
            &format!("/api/approvals/{}/approve", r["approvalId"].as_str().expect("id")),
            &json!({"userId": "U0ASKER"}),
        )
        .await
        .expect("post");
    assert_eq!(status, 403, "{body}");
    let (status, _) = w.app.post("/api/approvals/apv-nothing/approve", &json!({"userId": "U1"})).await.expect("post");
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_edit_is_validated_again_rendered_again_and_is_what_runs() {
    let w = world().await;
    let (_, r) = w.app.post("/api/approvals", &slack_request("edit-1", json!({}))).await.expect("post");
    let id = r["approvalId"].as_str().expect("id").to_owned();
    let url = format!("/api/approvals/{id}/approve");
    let (status, body) = w.app.post(&url, &json!({"userId": "U1", "patch": {"text": 42}})).await.expect("post");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "patch.text");
    let (_, still) = w.app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!(still["status"], "pending");
    let (status, body) = w
        .app
        .post(&url, &json!({"userId": "U1", "patch": {"text": "ship v2?", "thread_ts": "1.0"}}))
        .await
        .expect("post");
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.app.wait_terminal("edit-1", WITHIN).await.expect("ran")["status"], "success");
    let (_, approval) = w.app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!(approval["decisions"][0]["patch"], json!({"text": "ship v2?", "thread_ts": "1.0"}));
    let shown = approval["preview"]["request"]["body"].clone();
    assert_eq!(shown["text"], "ship v2?");
    let sent = w.platforms.slack.received_requests().await.unwrap_or_default();
    let ran: Vec<Value> = sent.iter().filter_map(|r| serde_json::from_slice(&r.body).ok()).collect();
    assert!(ran.contains(&shown), "the request sent is the preview approved: {ran:?} vs {shown}");
}

#[tokio::test]
async fn of_twenty_racing_decisions_exactly_one_wins() {
    let w = world().await;
    let (_, r) = w.app.post("/api/approvals", &slack_request("race-1", json!({"approvers": []}))).await.expect("post");
    let id = r["approvalId"].as_str().expect("id").to_owned();
    let calls = (0..20).map(|i| {
        let (http, base, id) = (w.app.http.clone(), w.app.base.clone(), id.clone());
        tokio::spawn(async move {
            let (verb, body) = if i % 2 == 0 {
                ("approve", json!({"userId": format!("U{i}")}))
            } else {
                ("reject", json!({"userId": format!("U{i}"), "reason": "race"}))
            };
            let resp = http
                .post(format!("{base}/api/approvals/{id}/{verb}"))
                .bearer_auth(ADMIN_KEY)
                .json(&body)
                .send()
                .await
                .expect("send");
            resp.status().as_u16()
        })
    });
    let mut statuses = Vec::new();
    for c in calls.collect::<Vec<_>>() {
        statuses.push(c.await.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let (_, approval) = w.app.get(&format!("/api/approvals/{id}")).await.expect("get");
    assert_eq!(approval["decisions"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_approval_not_decided_in_time_expires_and_never_runs() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let (_, r) = w.app.post("/api/approvals", &slack_request("late-1", json!({"timeout": 1000}))).await.expect("post");
    let frames = until(&mut ws, "late-1", "approval:resolved").await;
    assert_eq!(frames.last().expect("resolved")["data"]["status"], "timeout");
    assert_eq!(w.app.wait_terminal("late-1", WITHIN).await.expect("ended")["status"], "expired");
    let (status, body) = w
        .app
        .post(&format!("/api/approvals/{}/approve", r["approvalId"].as_str().expect("id")), &json!({"userId": "U1"}))
        .await
        .expect("post");
    assert_eq!((status, body["error"]["details"]["status"].as_str()), (409, Some("expired")));
}

#[tokio::test]
async fn requires_approval_on_actions_and_on_events_holds_with_the_same_answer() {
    let w = world().await;
    let action = json!({"id": "via-actions", "type": "notify", "platform": "slack", "priority": "low",
                        "requiresApproval": true, "data": {"channel": "#ops", "text": "t"}});
    let (status, body) = w.app.post("/api/actions", &json!({"action": action})).await.expect("post");
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["approvalId"].as_str()),
        (Some("pending_approval"), Some("apv-via-actions"))
    );
    assert!(body["expiresAt"].is_string());
    let (_, approval) = w.app.get("/api/approvals/apv-via-actions").await.expect("get");
    assert_eq!(approval["reason"], "approval requested by the action");
    let envelope = json!({"event": "action:requires_approval", "data": slack_request("via-events", json!({}))});
    let (status, body) = w.app.post("/api/events", &envelope).await.expect("post");
    assert_eq!((status, body["approvalId"].as_str()), (202, Some("apv-via-events")), "{body}");
    let mut bad = slack_request("bad-1", json!({"approvers": ["bob"], "timeout": 10}));
    bad["action"]["data"]["text"] = json!(null);
    let (status, body) = w.app.post("/api/approvals", &bad).await.expect("post");
    assert_eq!(status, 400);
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["timeout", "approvers[0]", "action.data.text"]);
}
