//! `GET /api/actions/metrics` and `metrics:updated` on `baton serve`: counts and rates after a
//! known mix of successes, failures, a retry and a fallback, per platform and window.

use baton_tests::{Platforms, TestApp, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);

async fn app(calls: baton_aws::calls::CallCounter) -> (Platforms, TestApp) {
    let platforms = Platforms::start().await;
    let refuse = ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"}));
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_string_contains("#broken"))
        .respond_with(refuse)
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_string_contains("#flaky"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&platforms.slack)
        .await;
    let app = spawn_app_with(&platforms, |opts| {
        opts.hooks.dynamodb_calls = Some(calls);
        opts.store.limits =
            baton_domain::limits::Limits::default().with_overrides("slack=10000/1s").unwrap_or_default();
    })
    .await
    .expect("runtime");
    (platforms, app)
}

fn notify(id: &str, channel: &str) -> Value {
    json!({"id": id, "type": "notify", "platform": "slack", "priority": "normal",
           "retryConfig": {"maxRetries": 2, "initialDelay": 50, "backoffMultiplier": 1.0, "maxDelay": 50},
           "data": {"channel": channel, "text": id}})
}

#[tokio::test]
async fn a_known_mix_gives_its_counts_rates_and_timeline_and_metrics_updated_goes_out() {
    let calls = baton_aws::calls::CallCounter::default();
    let (_platforms, app) = app(calls.clone()).await;
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["metrics:updated"], &[]).await.expect("subscribed");
    let mut ids: Vec<String> = Vec::new();
    for (id, channel) in
        [("s-1", "#ops"), ("s-2", "#ops"), ("s-3", "#ops"), ("f-1", "#broken"), ("f-2", "#broken"), ("r-1", "#flaky")]
    {
        app.submit(notify(id, channel)).await.expect("submitted");
        ids.push(id.into());
    }
    let mut with_fallback = notify("fb-1", "#broken");
    with_fallback["fallback"] = notify("fb-1-alt", "#ops");
    app.submit(with_fallback).await.expect("submitted");
    let dry = json!({"id": "dry-1", "type": "create", "platform": "notion", "priority": "low", "dryRun": true,
                     "data": {"database_id": "db", "title": "t"}});
    app.submit(dry).await.expect("submitted");
    ids.extend(["fb-1".to_owned(), "dry-1".to_owned()]);
    for id in &ids {
        app.wait_terminal(id, WITHIN).await.expect("finished");
    }
    let fallback =
        app.get("/api/actions/fb-1").await.expect("get").1["fallbackActionId"].as_str().expect("fallback").to_owned();
    app.wait_terminal(&fallback, WITHIN).await.expect("fallback finished");

    for (id, quality) in [("s-1", 4), ("f-1", 2)] {
        let fb = json!({"outcome": "success", "executionQuality": quality});
        assert_eq!(app.post(&format!("/api/actions/{id}/feedback"), &fb).await.expect("feedback").0, 201);
    }
    // Counting follows the change feed: wait until all eight and the feedback are in.
    let deadline = tokio::time::Instant::now() + WITHIN;
    let m = loop {
        let (status, m) = app.get("/api/actions/metrics?timeWindow=1h").await.expect("get");
        assert_eq!(status, 200, "{m}");
        if m["metrics"]["totalActions"] == 8 && m["metrics"]["feedback"]["count"] == 2 {
            break m;
        }
        assert!(tokio::time::Instant::now() < deadline, "not counted: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let o = &m["metrics"];
    assert_eq!(m["timeWindow"], "1h");
    assert_eq!(o["successRate"], 0.625, "5 of 8 (the dry run is not counted): {o}");
    assert_eq!((o["retryRate"].as_f64(), o["fallbackRate"].as_f64()), (Some(0.125), Some(0.125)), "{o}");
    assert!(
        o["p50ExecutionTime"].as_u64().is_some() && o["p99ExecutionTime"].as_u64() >= o["p50ExecutionTime"].as_u64()
    );
    assert!(o["avgQueueTime"].is_u64());
    assert_eq!(m["byPlatform"]["slack"]["total"], 8);
    assert_eq!(o["feedback"], json!({"count": 2, "avgQuality": 3.0, "avgQualityByType": {"notify": 3.0}}), "{o}");
    assert_eq!(m["byPlatform"]["slack"]["avgQuality"], 3.0);
    assert_eq!(m["byPlatform"]["notion"]["total"], 0);
    let timeline = m["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 60, "a point a minute");
    let counted: f64 = timeline.iter().filter_map(|p| p["actionsPerMinute"].as_f64()).sum();
    assert_eq!(counted, 8.0);
    for (window, points) in [("6h", 72), ("24h", 96), ("7d", 168)] {
        let (_, m) = app.get(&format!("/api/actions/metrics?timeWindow={window}")).await.expect("get");
        assert_eq!(m["timeline"].as_array().map(Vec::len), Some(points), "{window}");
        assert_eq!(m["metrics"]["totalActions"], 8, "{window}");
    }
    calls.reset();
    let (_, day) = app.get("/api/actions/metrics").await.expect("get");
    assert_eq!(day["metrics"]["totalActions"], 8);
    let used = calls.snapshot();
    // A Query per series (all and five platforms), never a Scan; a background sweep (one Query)
    // may fall inside the request.
    let queries = used.get("Query").copied().unwrap_or(0);
    assert!(!used.contains_key("Scan") && (6..=8).contains(&queries), "{used:?}");
    let (_, default) = app.get("/api/actions/metrics?platform=slack").await.expect("get");
    assert_eq!((default["timeWindow"].as_str(), default["metrics"]["totalActions"].as_u64()), (Some("24h"), Some(8)));
    let (status, bad) = app.get("/api/actions/metrics?timeWindow=2h").await.expect("get");
    assert_eq!(status, 400);
    assert!(bad["error"]["details"]["fields"][0]["reason"].as_str().unwrap_or("").contains("1h, 6h, 24h, 7d"), "{bad}");

    let frame =
        ws.collect_until(Duration::from_secs(15), |f| f["event"] == "metrics:updated").await.expect("within 15 s");
    let data = &frame.last().expect("frame")["data"];
    assert_eq!(data["successRate"], 0.625, "{data}");
    assert!(data["actionsPerMinute"].as_f64().expect("rate") > 0.0);
    assert!(data["queueDepth"].is_u64());
}
