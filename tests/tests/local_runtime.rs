//! `baton serve` end to end: real HTTP, a real WebSocket client, wiremock as Slack and Notion.

use baton_cli::DataLocation;
use baton_tests::{
    NOTION_TOKEN, Platforms, SLACK_TOKEN, TestApp, contract_examples, names, slack_notify, spawn_app_on,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);

async fn app(platforms: &Platforms) -> TestApp {
    spawn_app_on(platforms, DataLocation::Memory).await.expect("runtime starts")
}

fn slack_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C024BE91L", "ts": "1401383885.000061"}))
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a timestamp: {v}"))
}

#[tokio::test]
async fn actions_of_each_priority_go_queued_executing_completed_with_the_exact_platform_request() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", format!("Bearer {SLACK_TOKEN}").as_str()))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({"channel": "#ops", "text": "Deploy finished", "thread_ts": "1697529600.000100"})))
        .respond_with(slack_ok())
        .expect(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_json(json!({"channel": "#low", "text": "later"})))
        .respond_with(slack_ok())
        .expect(1)
        .mount(&platforms.slack)
        .await;
    // The contract's own action:ready example, as Notion must receive it.
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .and(header("authorization", format!("Bearer {NOTION_TOKEN}").as_str()))
        .and(header("notion-version", "2022-06-28"))
        .and(body_json(json!({
            "parent": {"database_id": "8a5b2c3d-0000-4000-8000-000000000001"},
            "properties": {
                "title": {"title": [{"text": {"content": "Review Q4 budget"}}]},
                "status": {"select": {"name": "To Do"}},
                "priority": {"select": {"name": "High"}}
            }
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "page", "id": "page-123", "url": "https://www.notion.so/page-123"})),
        )
        .expect(1)
        .mount(&platforms.notion)
        .await;

    let app = app(&platforms).await;
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["action:*"], &[]).await.expect("subscribed");

    let examples = contract_examples();
    let mut critical = json!({"type": "notify", "platform": "slack", "priority": "critical"});
    critical["data"] = examples["platform_data"]["slack_notify"].clone();
    let critical_id = app.submit(critical).await.expect("critical accepted");
    let (status, receipt) = app.post("/api/actions", &examples["action_ready"]).await.expect("post");
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["actionId"], "action-notion-001");
    assert_eq!(receipt["status"], "queued");
    assert!(receipt["queuePosition"].as_u64().is_some() && receipt["estimatedWait"].as_u64().is_some());
    let low_id = app.submit(slack_notify("low", "#low", "later")).await.expect("low accepted");

    let mut frames: Vec<Value> = Vec::new();
    let ids = [critical_id.as_str(), "action-notion-001", low_id.as_str()];
    let mut finished = 0;
    while finished < ids.len() {
        let frame = ws.next(WITHIN).await.expect("frame");
        if frame["event"] == "action:completed" || frame["event"] == "action:failed" {
            finished += 1;
        }
        frames.push(frame);
    }
    for id in ids {
        let mine: Vec<Value> = frames.iter().filter(|f| f["data"]["actionId"] == id).cloned().collect();
        assert_eq!(names(&mine), ["action:queued", "action:executing", "action:completed"], "{id}: {mine:?}");
        for f in &mine {
            assert!(f["id"].is_string() && f["ts"].is_string(), "frame shape: {f}");
        }
        let done = &mine[2]["data"];
        assert_eq!(done["retries"], 0);
        assert!(done["executionTime"].is_u64() && done["queueTime"].is_u64());
        assert!(mine[1]["data"]["workerId"].is_string());
    }
    let notion_done = frames
        .iter()
        .find(|f| f["event"] == "action:completed" && f["data"]["actionId"] == "action-notion-001")
        .expect("notion completed");
    assert_eq!(notion_done["data"]["result"]["id"], "page-123");
    assert_eq!(notion_done["data"]["metadata"]["correlationId"], "email-123");

    let (_, stored) = app.get("/api/actions/action-notion-001").await.expect("get");
    assert_eq!(stored["status"], "success");
    assert_eq!(stored["context"]["userRequest"], "Create task for budget review");
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_server_error_is_retried_and_the_action_completes_with_one_retry() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .expect(1)
        .mount(&platforms.slack)
        .await;
    let app = app(&platforms).await;
    let mut ws = app.ws().await.expect("ws");
    let id = app.submit(slack_notify("high", "#ops", "retry me")).await.expect("accepted");
    let frames = ws.lifecycle(&id, WITHIN).await.expect("lifecycle");
    assert_eq!(
        names(&frames),
        ["action:queued", "action:executing", "action:retrying", "action:executing", "action:completed"]
    );
    assert_eq!(frames[2]["data"]["errorCode"], "SERVICE_DOWN");
    assert_eq!(frames[4]["data"]["retries"], 1);
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_rate_limit_with_retry_after_is_honoured() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    let app = app(&platforms).await;
    let mut ws = app.ws().await.expect("ws");
    let id = app.submit(slack_notify("normal", "#ops", "busy")).await.expect("accepted");
    let frames = ws.lifecycle(&id, WITHIN).await.expect("lifecycle");
    assert_eq!(
        names(&frames),
        ["action:queued", "action:executing", "action:retrying", "action:executing", "action:completed"]
    );
    let retrying = &frames[2]["data"];
    assert_eq!(retrying["errorCode"], "RATE_LIMITED");
    let asked_wait = time(&retrying["nextAttemptAt"]) - time(&retrying["timestamp"]);
    assert!(asked_wait.num_milliseconds() >= 2000, "backoff {asked_wait} shorter than Retry-After");
    let second_start = time(&frames[3]["data"]["startTime"]);
    assert!(second_start >= time(&retrying["nextAttemptAt"]), "second attempt came early");
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_bad_request_fails_at_once_with_validation_error_and_no_retry() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"object": "error", "status": 400,
            "code": "validation_error", "message": "title is not a property that exists."})))
        .expect(1)
        .mount(&platforms.notion)
        .await;
    let app = app(&platforms).await;
    let mut ws = app.ws().await.expect("ws");
    let id = app
        .submit(json!({"type": "create", "platform": "notion", "priority": "high",
                       "data": {"database_id": "db-1", "title": "T"}}))
        .await
        .expect("accepted");
    let frames = ws.lifecycle(&id, WITHIN).await.expect("lifecycle");
    assert_eq!(names(&frames), ["action:queued", "action:executing", "action:failed"]);
    let failed = &frames[2]["data"];
    assert_eq!(failed["errorCode"], "VALIDATION_ERROR");
    assert_eq!(failed["retriable"], false);
    assert_eq!(failed["retries"], 0);
    assert!(failed["error"].as_str().unwrap_or_default().contains("title is not a property"));
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_critical_action_overtakes_a_backlog_of_two_thousand_low_ones() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok().set_delay(Duration::from_millis(200)))
        .mount(&platforms.slack)
        .await;
    let app = app(&platforms).await;
    let lows = futures_util::stream::iter(0..2000)
        .map(|i| app.submit(slack_notify("low", "#bulk", &format!("low {i}"))))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    assert!(lows.iter().all(Result::is_ok), "every low action accepted");

    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["action:completed"], &[]).await.expect("subscribed");
    let submitted_at = Utc::now();
    let critical = app.submit(slack_notify("critical", "#incident", "now")).await.expect("accepted");
    let frames =
        ws.collect_until(WITHIN, |f| f["data"]["actionId"] == critical.as_str()).await.expect("critical completes");
    let critical_done = time(&frames.last().expect("frame")["data"]["timestamp"]);
    let lows_meanwhile = frames
        .iter()
        .filter(|f| f["data"]["actionId"] != critical.as_str())
        .filter(|f| time(&f["data"]["timestamp"]) >= submitted_at)
        .count();
    assert!(lows_meanwhile < 20, "{lows_meanwhile} low actions completed before the critical one");
    let (_, queue) = app.get("/api/actions/queue").await.expect("queue");
    assert!(queue["stats"]["totalQueued"].as_u64().unwrap_or(0) > 1000, "the backlog is still there: {queue}");
    assert!(queue["queues"]["low"].as_array().is_some_and(|l| !l.is_empty()));
    assert!((critical_done - submitted_at).num_milliseconds() < 10_000);
    app.runtime.stop().await;
}

#[tokio::test]
async fn bad_input_gets_the_envelope_with_the_right_code_and_field() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    let expect = |status: u16, body: &Value, want_status: u16, code: &str, field: Option<&str>| {
        assert_eq!(status, want_status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string() && body["error"]["retriable"].is_boolean(), "{body}");
        if let Some(field) = field {
            let fields: Vec<&str> = body["error"]["details"]["fields"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
                .unwrap_or_default();
            assert!(fields.contains(&field), "{field} not in {body}");
        }
    };

    let (s, b) = app.post_raw("/api/actions", "{not json").await.expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    let (s, b) = app.post_raw("/api/actions", "").await.expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("body"));
    let (s, b) = app
        .post(
            "/api/actions",
            &json!({"action": {"type": "notify", "platform": "slack",
        "priority": 1, "data": {"channel": "#a", "text": "t"}}}),
        )
        .await
        .expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("action.priority"));
    let (s, b) = app
        .post(
            "/api/actions",
            &json!({"action": {"type": "create", "platform": "notion",
        "priority": "normal", "data": {"title": "t"}}}),
        )
        .await
        .expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("action.data.database_id"));
    let (s, b) = app
        .post(
            "/api/actions",
            &json!({"action": {"type": "notify", "platform": "myspace",
        "priority": "normal", "data": {}}}),
        )
        .await
        .expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("action.platform"));
    assert!(b["error"]["message"].as_str().unwrap_or_default().contains("notion, trello, slack, drive, sheets"));

    let big = json!({"action": slack_notify("low", "#a", &"x".repeat(300 * 1024))});
    let (s, b) = app.post("/api/actions", &big).await.expect("post");
    expect(s, &b, 413, "VALIDATION_ERROR", Some("body"));

    let (s, b) = app.get("/api/nothing-here").await.expect("get");
    expect(s, &b, 404, "NOT_FOUND", None);
    let (s, b) = app.get("/api/actions/no-such-action").await.expect("get");
    expect(s, &b, 404, "NOT_FOUND", None);
    let (s, b) = app.get("/api/actions/recent?limit=9999&status=sideways").await.expect("get");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("query.limit"));
    let (s, b) = app.post("/api/events", &json!({"event": "action:explode", "data": {}})).await.expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("event"));
    let (s, b) = app
        .post(
            "/api/events",
            &json!({"event": "action:ready", "data": {"action": {"type": "notify",
        "platform": "slack", "priority": "low", "data": {"channel": "#a"}}}}),
        )
        .await
        .expect("post");
    expect(s, &b, 400, "VALIDATION_ERROR", Some("data.action.data.text"));

    let id = app
        .submit(json!({"id": "dup-1", "type": "notify", "platform": "slack", "priority": "low",
        "dryRun": true, "data": {"channel": "#a", "text": "t"}}))
        .await
        .expect("first");
    let (s, b) = app
        .post(
            "/api/actions",
            &json!({"action": {"id": id, "type": "notify", "platform": "slack",
        "priority": "low", "data": {"channel": "#a", "text": "t"}}}),
        )
        .await
        .expect("post");
    expect(s, &b, 409, "DUPLICATE_ERROR", None);

    let resp = app.http.delete(format!("{}/api/actions", app.base)).send().await.expect("delete");
    assert_eq!(resp.status().as_u16(), 405);

    let mut ws = app.ws().await.expect("ws");
    let error_reply = async |ws: &mut baton_tests::WsClient| {
        let frames = ws.collect_until(WITHIN, |f| f["event"] == "error").await.expect("reply");
        frames.last().cloned().unwrap_or_default()
    };
    ws.send("{nope").await.expect("send");
    let reply = error_reply(&mut ws).await;
    assert_eq!(reply["data"]["error"]["code"], "VALIDATION_ERROR");
    ws.send(r#"{"action":"subscribe","events":["action:exploded"]}"#).await.expect("send");
    let reply = error_reply(&mut ws).await;
    assert_eq!(reply["data"]["error"]["details"]["fields"][0]["field"], "events[0]");
    app.runtime.stop().await;
}

#[tokio::test]
async fn dry_runs_store_the_exact_request_and_the_ingress_envelope_works_over_http() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    let mut ws = app.ws().await.expect("ws");
    let mut envelope = json!({"event": "action:ready", "data": contract_examples()["action_ready"].clone()});
    envelope["data"]["action"]["dryRun"] = json!(true);
    let (status, receipt) = app.post("/api/events", &envelope).await.expect("post");
    assert_eq!(status, 202, "{receipt}");
    let frames = ws.lifecycle("action-notion-001", WITHIN).await.expect("lifecycle");
    let request = &frames.last().expect("done")["data"]["result"]["request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], format!("{}/v1/pages", platforms.notion.uri()));
    assert_eq!(request["headers"]["authorization"], "[redacted]");
    assert_eq!(request["headers"]["notion-version"], "2022-06-28");
    assert_eq!(request["body"]["parent"]["database_id"], "8a5b2c3d-0000-4000-8000-000000000001");
    assert!(!frames.last().expect("done").to_string().contains(NOTION_TOKEN));
    assert!(platforms.notion.received_requests().await.unwrap_or_default().is_empty(), "nothing was sent");
    app.runtime.stop().await;
}

#[tokio::test]
async fn recent_lists_newest_first_with_filters_and_the_contract_shape() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_partial_json(json!({"channel": "#ok"})))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_partial_json(json!({"channel": "#gone"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"})))
        .mount(&platforms.slack)
        .await;
    let app = app(&platforms).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.submit(slack_notify("normal", "#ok", &format!("m{i}"))).await.expect("accepted"));
    }
    let gone = app.submit(slack_notify("normal", "#gone", "x")).await.expect("accepted");
    for id in ids.iter().chain([&gone]) {
        app.wait_terminal(id, WITHIN).await.expect("terminal");
    }
    let (s, page) = app.get("/api/actions/recent?limit=2&offset=1&platform=slack&status=success").await.expect("get");
    assert_eq!(s, 200, "{page}");
    assert_eq!((page["total"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()), (Some(5), Some(2), Some(1)));
    let listed: Vec<&str> =
        page["actions"].as_array().expect("actions").iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(listed, [ids[3].as_str(), ids[2].as_str()], "newest first, after the offset");
    let first = &page["actions"][0];
    for key in
        ["id", "type", "platform", "priority", "status", "retries", "timestamp", "executionTime", "queueTime", "result"]
    {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    let (_, failed) = app.get("/api/actions/recent?status=failed").await.expect("get");
    assert_eq!(failed["total"], 1);
    assert_eq!(failed["actions"][0]["errorCode"], "NOT_FOUND");
    assert_eq!(failed["actions"][0]["error"], "Slack error: channel_not_found");
    let (_, none) = app.get("/api/actions/recent?platform=notion").await.expect("get");
    assert_eq!(none["total"], 0);
    let (_, future) = app.get("/api/actions/recent?startDate=2099-01-01").await.expect("get");
    assert_eq!(future["total"], 0);
    app.runtime.stop().await;
}
