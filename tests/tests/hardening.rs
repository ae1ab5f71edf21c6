//! Requests that could do more than they should, on the local runtime: idempotency keys,
//! bounded reads, absurd `Retry-After` answers, platform ids that would leave their path.

use baton_aws::calls::CallCounter;
use baton_cli::DataLocation;
use baton_tests::{Platforms, TestApp, slack_notify, spawn_app_on, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);

async fn post_keyed(app: &TestApp, route: &str, key: &str, body: &Value) -> (u16, Option<String>, Value) {
    let resp = app
        .http
        .post(format!("{}{route}", app.base))
        .header("content-type", "application/json")
        .bearer_auth(baton_tests::ADMIN_KEY)
        .header("idempotency-key", key)
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, replayed, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_request_return_the_original_receipt() {
    let platforms = Platforms::start().await;
    let app = spawn_app_on(&platforms, DataLocation::Memory).await.expect("runtime");
    let body = json!({"action": {"type": "notify", "platform": "slack", "priority": "low", "dryRun": true,
                                 "data": {"channel": "#ops", "text": "once"}}});
    let (first, replayed, receipt) = post_keyed(&app, "/api/actions", "order-42", &body).await;
    assert_eq!((first, replayed), (202, None), "{receipt}");
    let id = receipt["actionId"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        let (status, replayed, again) = post_keyed(&app, "/api/actions", "order-42", &body).await;
        assert_eq!((status, replayed.as_deref()), (200, Some("true")));
        assert_eq!(again, receipt, "the original receipt");
    }
    let mut other = body.clone();
    other["action"]["data"]["text"] = json!("something else");
    let (status, _, err) = post_keyed(&app, "/api/actions", "order-42", &other).await;
    assert_eq!((status, err["error"]["code"].as_str()), (409, Some("DUPLICATE_ERROR")), "{err}");
    // The same through the ingress envelope, with its own key.
    let envelope = json!({"event": "action:ready", "data": body});
    let (status, _, via_events) = post_keyed(&app, "/api/events", "evt-7", &envelope).await;
    assert_eq!(status, 202);
    let (status, replayed, again) = post_keyed(&app, "/api/events", "evt-7", &envelope).await;
    assert_eq!((status, replayed.as_deref(), &again), (200, Some("true"), &via_events));
    let (_, page) = app.get("/api/actions/recent?limit=10").await.expect("recent");
    assert_eq!(page["total"], 2, "two actions in all: {page}");
    app.wait_terminal(&id, WITHIN).await.expect("ran once");
    let (status, _, bad) = post_keyed(&app, "/api/actions", &"k".repeat(300), &body).await;
    assert_eq!((status, bad["error"]["details"]["fields"][0]["field"].as_str()), (400, Some("header.Idempotency-Key")));
    app.runtime.stop().await;
}

#[tokio::test]
async fn racing_requests_with_one_key_make_one_action() {
    let platforms = Platforms::start().await;
    let app = spawn_app_on(&platforms, DataLocation::Memory).await.expect("runtime");
    let body = json!({"action": {"type": "notify", "platform": "slack", "priority": "low", "dryRun": true,
                                 "data": {"channel": "#ops", "text": "race"}}});
    let answers =
        futures_util::future::join_all((0..12).map(|_| post_keyed(&app, "/api/actions", "race-1", &body))).await;
    let ids: std::collections::BTreeSet<String> =
        answers.iter().filter_map(|(_, _, r)| r["actionId"].as_str().map(str::to_owned)).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|(s, _, _)| *s == 202).count(), 1, "one first answer, the rest replays");
    app.runtime.stop().await;
}

#[tokio::test]
async fn recent_is_bounded_in_window_depth_and_store_calls() {
    let platforms = Platforms::start().await;
    let calls = CallCounter::default();
    let counter = calls.clone();
    let app = spawn_app_with(&platforms, |opts| opts.hooks.dynamodb_calls = Some(counter)).await.expect("runtime");
    for i in 0..5 {
        let mut a = slack_notify("low", "#ops", &format!("m{i}"));
        a["dryRun"] = json!(true);
        app.submit(a).await.expect("accepted");
    }
    let (status, err) = app.get("/api/actions/recent?offset=10001").await.expect("get");
    assert_eq!((status, err["error"]["details"]["fields"][0]["field"].as_str()), (400, Some("query.offset")));
    calls.reset();
    let (status, page) =
        app.get("/api/actions/recent?startDate=1970-01-01&status=pending,pending,queued&limit=2").await.expect("get");
    assert_eq!(status, 200, "{page}");
    let used = calls.snapshot().values().sum::<u64>();
    // Clamped to the 30 days kept: a count and at most a listing per day, and the page's items.
    assert!(used <= 2 * 31 + 2, "{used} store calls: {:?}", calls.snapshot());
    assert_eq!(calls.get("Scan"), 0);
    app.runtime.stop().await;
}

#[tokio::test]
async fn an_absurd_retry_after_is_clamped_and_the_action_waits_as_retrying() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1e300"))
        .mount(&platforms.slack)
        .await;
    let app = spawn_app_on(&platforms, DataLocation::Memory).await.expect("runtime");
    let mut ws = app.ws().await.expect("ws");
    let id = app.submit(slack_notify("high", "#ops", "later")).await.expect("accepted");
    let frames =
        ws.collect_until(WITHIN, |f| f["event"] == "action:retrying" && f["data"]["actionId"] == id.as_str()).await;
    let retrying = frames.expect("retrying").pop().expect("frame");
    let next: chrono::DateTime<chrono::Utc> =
        retrying["data"]["nextAttemptAt"].as_str().expect("time").parse().expect("ts");
    let wait = next - chrono::Utc::now();
    assert!(wait <= chrono::Duration::minutes(15) && wait > chrono::Duration::minutes(14), "clamped: {wait}");
    let (_, action) = app.get(&format!("/api/actions/{id}")).await.expect("get");
    assert_eq!(action["state"].as_str().or(action["status"].as_str()), Some("retrying"));
    app.runtime.stop().await;
}

#[tokio::test]
async fn an_id_that_would_leave_its_url_path_is_refused_naming_the_field() {
    let platforms = Platforms::start().await;
    let app = spawn_app_on(&platforms, DataLocation::Memory).await.expect("runtime");
    let cases = [
        json!({"type": "update", "platform": "notion", "priority": "low",
               "data": {"page_id": "../databases/X", "properties": {}}}),
        json!({"type": "delete", "platform": "trello", "priority": "low", "data": {"cardId": "a?b=c"}}),
        json!({"type": "delete", "platform": "drive", "priority": "low", "data": {"fileId": "f#x"}}),
        json!({"type": "query", "platform": "sheets", "priority": "low", "data": {"spreadsheetId": "s/1", "range": "A1"}}),
    ];
    for (action, field) in cases.iter().zip(["page_id", "cardId", "fileId", "spreadsheetId"]) {
        let (status, err) = app.post("/api/actions", &json!({"action": action})).await.expect("post");
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["details"]["fields"][0]["field"], format!("action.data.{field}"));
    }
    app.runtime.stop().await;
}
