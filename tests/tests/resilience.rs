//! Platform trouble, contained: a platform goes down, its breaker opens and says so on the
//! WebSocket, actions wait instead of failing, the platform recovers and everything completes;
//! rate limits delay rather than fail; a fallback runs when its primary cannot.

use baton_domain::limits::{BreakerPolicy, Limits};
use baton_tests::{Platforms, names, slack_notify, spawn_app_with};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(30);

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"}))
}

#[tokio::test]
async fn a_platform_outage_opens_the_breaker_actions_wait_and_all_complete_after_recovery() {
    let platforms = Platforms::start().await;
    // Slack answers 500 while `down` is set.
    let down = Arc::new(AtomicBool::new(true));
    let calls = Arc::new(AtomicUsize::new(0));
    let (is_down, seen) = (down.clone(), calls.clone());
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(move |_: &Request| {
            seen.fetch_add(1, Ordering::SeqCst);
            if is_down.load(Ordering::SeqCst) { ResponseTemplate::new(500) } else { ok() }
        })
        .mount(&platforms.slack)
        .await;
    let app = spawn_app_with(&platforms, |opts| {
        opts.store.limits = Limits {
            breaker: BreakerPolicy {
                threshold: 3,
                window: Duration::from_secs(60),
                cool_down: Duration::from_millis(1500),
                ..BreakerPolicy::default()
            },
            ..Limits::default()
        }
        .with_overrides("slack=100/1s")
        .expect("limits");
    })
    .await
    .expect("runtime");
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["health:changed", "action:completed", "action:failed"], &[]).await.expect("subscribed");

    let mut ids = Vec::new();
    for i in 0..10 {
        let mut a = slack_notify("high", &format!("#c{i}"), "hello");
        a["retryConfig"] = json!({"maxRetries": 20, "initialDelay": 100, "maxDelay": 400});
        ids.push(app.submit(a).await.expect("accepted"));
    }

    // The breaker opens and says so.
    let frames = ws
        .collect_until(WITHIN, |f| f["event"] == "health:changed" && f["data"]["currentStatus"] == "down")
        .await
        .expect("down");
    assert!(frames.iter().all(|f| f["event"] != "action:failed"), "nothing fails: {frames:?}");
    let (_, health) = app.get("/api/actions/health").await.expect("health");
    assert_eq!(health["executors"]["slack"]["status"], "down", "{health}");
    assert_eq!(health["executors"]["slack"]["circuitBreaker"]["state"], "OPEN");
    assert_eq!(health["overall"], "degraded", "notion is still fine");

    // While it is open, actions wait: Slack hears nothing until the cool-down ends.
    let at_open = calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(calls.load(Ordering::SeqCst), at_open, "no calls while the breaker is open");

    // Slack recovers: the next probe succeeds and everything completes.
    down.store(false, Ordering::SeqCst);
    let mut completed: Vec<String> = frames
        .iter()
        .filter(|f| f["event"] == "action:completed")
        .filter_map(|f| f["data"]["actionId"].as_str().map(str::to_owned))
        .collect();
    let rest = ws
        .collect_until(WITHIN, |f| {
            if f["event"] == "action:completed" {
                completed.push(f["data"]["actionId"].as_str().unwrap_or_default().to_owned());
            }
            assert_ne!(f["event"], "action:failed", "nothing fails: {f}");
            completed.len() == ids.len()
        })
        .await
        .expect("all complete");
    assert!(rest.iter().any(|f| f["event"] == "health:changed" && f["data"]["currentStatus"] == "healthy"));
    let (_, health) = app.get("/api/actions/health").await.expect("health");
    assert_eq!(health["executors"]["slack"]["status"], "healthy");
    assert!(health["executors"]["slack"]["lastSuccess"].is_string());
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_rate_limited_action_is_delayed_not_failed() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST")).and(path("/api/chat.postMessage")).respond_with(ok()).mount(&platforms.slack).await;
    let app = spawn_app_with(&platforms, |_| {}).await.expect("runtime");
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["action:*"], &[]).await.expect("subscribed");
    let started = tokio::time::Instant::now();
    let ids = [
        app.submit(slack_notify("critical", "#same", "1")).await.expect("accepted"),
        app.submit(slack_notify("critical", "#same", "2")).await.expect("accepted"),
        app.submit(slack_notify("critical", "#same", "3")).await.expect("accepted"),
    ];
    let mut done = 0;
    let frames = ws
        .collect_until(WITHIN, |f| {
            if f["event"] == "action:completed" {
                done += 1;
            }
            f["event"] == "action:failed" || done == 3
        })
        .await
        .expect("frames");
    assert_eq!(done, 3, "{:?}", names(&frames));
    // One message per second per channel: the third went out about two seconds in.
    assert!(started.elapsed() >= Duration::from_millis(1800), "{:?}", started.elapsed());
    for id in ids {
        let mine: Vec<Value> = frames.iter().filter(|f| f["data"]["actionId"] == id.as_str()).cloned().collect();
        // Waiting for a booked token is silent. Two workers that saw the same free token at
        // once both lease; the one that loses it at admission puts its action back
        // (executing → queued) and books the next: a race, never a failure or a retry.
        let seen = names(&mine);
        let mut expected = vec!["action:queued"];
        let lost = seen.windows(2).filter(|w| w == &["action:executing", "action:queued"]).count();
        for _ in 0..lost {
            expected.extend(["action:executing", "action:queued"]);
        }
        expected.extend(["action:executing", "action:completed"]);
        assert_eq!(seen, expected, "waiting is silent");
        assert!(lost <= 2, "{seen:?}");
    }
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_permanent_failure_queues_the_fallback_linked_to_its_primary() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"object": "error", "code": "restricted_resource", "message": "no access"})),
        )
        .mount(&platforms.notion)
        .await;
    Mock::given(method("POST")).and(path("/api/chat.postMessage")).respond_with(ok()).mount(&platforms.slack).await;
    let app = spawn_app_with(&platforms, |_| {}).await.expect("runtime");
    let mut ws = app.ws().await.expect("ws");
    let primary = app
        .submit(json!({"id": "primary-1", "type": "create", "platform": "notion", "priority": "normal",
                       "data": {"database_id": "db", "title": "Task"},
                       "fallback": {"type": "notify", "platform": "slack", "priority": "normal",
                                    "data": {"channel": "#ops", "text": "Could not create the Notion task"}}}))
        .await
        .expect("accepted");
    let failed = ws.lifecycle(&primary, WITHIN).await.expect("primary");
    let last = &failed.last().expect("terminal")["data"];
    assert_eq!(last["errorCode"], "PERMISSION_DENIED");
    assert_eq!(last["metadata"]["fallbackActionId"], "primary-1-fallback");
    let fallback = ws.lifecycle("primary-1-fallback", WITHIN).await.expect("fallback");
    let done = &fallback.last().expect("terminal");
    assert_eq!(done["event"], "action:completed");
    assert_eq!(done["data"]["metadata"]["fallbackOf"], "primary-1");
    app.runtime.stop().await;
}

#[tokio::test]
async fn the_health_report_has_the_contract_shape_and_names_unconfigured_platforms() {
    let platforms = Platforms::start().await;
    let app = spawn_app_with(&platforms, |_| {}).await.expect("runtime");
    let (status, health) = app.get("/api/actions/health").await.expect("health");
    assert_eq!(status, 200);
    assert_eq!(health["overall"], "healthy", "{health}");
    for p in ["notion", "trello", "slack", "drive", "sheets"] {
        let e = &health["executors"][p];
        for key in ["status", "circuitBreaker", "rateLimit", "avgResponseTime"] {
            assert!(!e[key].is_null(), "{p}.{key} in {e}");
        }
        assert!(
            e["rateLimit"]["current"].is_number()
                && e["rateLimit"]["limit"].is_number()
                && e["rateLimit"]["resetAt"].is_string()
        );
    }
    // The harness configures Slack and Notion only.
    assert_eq!(health["executors"]["slack"]["configured"], true);
    assert_eq!(health["executors"]["trello"]["configured"], false);
    assert_eq!(health["executors"]["trello"]["reason"], "no credentials configured");
    assert!(health["queue"]["depth"].is_number() && health["queue"]["workerUtilization"].is_number());
    app.runtime.stop().await;
}
