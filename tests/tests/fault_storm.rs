//! A fault storm: for a while the platform answers 30 % of requests with a 500, a 429 with
//! `Retry-After`, or a hang past the action's timeout, then recovers. No action is stuck,
//! every one is finished soon after the recovery, the breaker opened and closed (both
//! `health:changed` seen), and on the serverless path no message reached a dead-letter queue.

use baton_domain::limits::{BreakerPolicy, Limits};
use baton_tests::stack::{Stack, StackOptions};
use baton_tests::{Platforms, spawn_app_with};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const STORM: Duration = Duration::from_secs(60);
const PRIORITIES: [&str; 4] = ["critical", "high", "normal", "low"];

/// Slack, stormy while `storm` is set.
async fn stormy_slack(platforms: &Platforms, storm: Arc<AtomicBool>) {
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(move |_: &Request| {
            let ok = ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"}));
            if !storm.load(Ordering::SeqCst) {
                return ok;
            }
            match fastrand::u32(0..10) {
                0 => ResponseTemplate::new(500),
                1 => ResponseTemplate::new(429).insert_header("retry-after", "1"),
                2 => ok.set_delay(Duration::from_secs(5)),
                _ => ok,
            }
        })
        .mount(&platforms.slack)
        .await;
}

fn limits() -> Limits {
    Limits {
        breaker: BreakerPolicy {
            threshold: 5,
            window: Duration::from_secs(30),
            cool_down: Duration::from_secs(3),
            ..BreakerPolicy::default()
        },
        ..Limits::default()
    }
    .with_overrides("slack=1000/1s")
    .expect("limits")
}

fn stormy_action(i: usize) -> Value {
    json!({"type": "notify", "platform": "slack", "priority": PRIORITIES[i % 4],
           "timeout": 1500, "retryConfig": {"maxRetries": 6, "initialDelay": 200, "maxDelay": 2000},
           "data": {"channel": format!("#c{}", i % 7), "text": format!("storm {i}")}})
}

#[tokio::test]
async fn after_a_fault_storm_on_the_local_runtime_every_action_finishes_and_the_breaker_closed_again() {
    let platforms = Platforms::start().await;
    let storm = Arc::new(AtomicBool::new(true));
    stormy_slack(&platforms, storm.clone()).await;
    let app = spawn_app_with(&platforms, |opts| opts.store.limits = limits()).await.expect("runtime");
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["health:changed"], &[]).await.expect("subscribed");
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Ok(frame) = ws.next(Duration::from_secs(300)).await {
            seen.push(frame["data"]["currentStatus"].as_str().unwrap_or_default().to_owned());
            if seen.iter().any(|s| s == "down") && seen.last().is_some_and(|s| s == "healthy") {
                break;
            }
        }
        seen
    });
    let started = tokio::time::Instant::now();
    let mut ids = Vec::new();
    let mut i = 0;
    while started.elapsed() < STORM {
        ids.push(app.submit(stormy_action(i)).await.expect("accepted"));
        i += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    storm.store(false, Ordering::SeqCst);
    let recovered = tokio::time::Instant::now();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for id in &ids {
        let a = app.wait_terminal(id, Duration::from_secs(60)).await.expect("finished soon after the recovery");
        *outcomes.entry(a["state"].as_str().or(a["status"].as_str()).unwrap_or_default().to_owned()).or_default() += 1;
    }
    let health =
        tokio::time::timeout(Duration::from_secs(30), watcher).await.expect("health settles").expect("watcher");
    eprintln!(
        "{} actions through the storm: {outcomes:?}; all finished {:?} after recovery; health: {health:?}",
        ids.len(),
        recovered.elapsed()
    );
    assert!(health.iter().any(|s| s == "down"), "the breaker opened: {health:?}");
    assert_eq!(health.last().map(String::as_str), Some("healthy"), "and closed again");
    assert!(outcomes.get("success").copied().unwrap_or(0) > ids.len() / 2, "{outcomes:?}");
    app.runtime.stop().await;
}

#[tokio::test]
async fn after_a_fault_storm_on_the_serverless_path_every_action_finishes_and_no_message_is_dead_lettered() {
    let platforms = Platforms::start().await;
    let storm = Arc::new(AtomicBool::new(true));
    stormy_slack(&platforms, storm.clone()).await;
    let options = StackOptions { max_receive: 3, limits: limits(), ..StackOptions::default() };
    let mut stack = Stack::start(&platforms, options).await.expect("stack");
    let submitter = stack.ingestor.submitter.clone();
    let started = tokio::time::Instant::now();
    let mut ids = Vec::new();
    let mut i = 0;
    while started.elapsed() < STORM {
        for _ in 0..3 {
            let mut a = stormy_action(i);
            a["id"] = json!(format!("storm-{i}"));
            let sub = baton_domain::validation::parse_submission(&json!({ "action": a })).expect("valid");
            ids.push(submitter.submit(sub).await.expect("accepted").action_id);
            i += 1;
        }
        stack.pump().await;
    }
    storm.store(false, Ordering::SeqCst);
    let finals = stack.pump_until_terminal(&ids, Duration::from_secs(120)).await.expect("every action finishes");
    let ok = finals.iter().filter(|a| a.status == baton_domain::model::Status::Success).count();
    eprintln!("{} actions through the storm on the serverless path: {ok} succeeded", ids.len());
    assert!(ok > ids.len() / 2);
    assert_eq!(stack.dead_letters().await, [0, 0, 0, 0, 0], "no dead letters while the system was healthy");
    let events = stack.drain_events().await;
    let health: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "health:changed")
        .filter_map(|e| e["data"]["currentStatus"].as_str())
        .collect();
    assert!(health.contains(&"down"), "the breaker opened: {health:?}");
}
