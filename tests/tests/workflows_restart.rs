//! Workflows survive a crash of `baton serve`: restarted on the same data directory, every
//! workflow goes on from where it was, and no step is submitted twice or sent more often
//! than its action was attempted.

use baton_cli::DataLocation;
use baton_tests::{Platforms, TestApp, spawn_app_on};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(60);
const WORKFLOWS: usize = 20;

async fn slack(platforms: &Platforms, delay: Duration) {
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"}))
                .set_delay(delay),
        )
        .mount(&platforms.slack)
        .await;
}

fn notify(text: &str, approval: bool) -> Value {
    json!({"type": "notify", "platform": "slack", "priority": "normal", "requiresApproval": approval,
           "data": {"channel": "#ops", "text": text}})
}

async fn sent(server: &MockServer, text: &str) -> usize {
    let needle = format!("\"text\":\"{text}\"");
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(&needle))
        .count()
}

fn dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("baton-wf-restart-{}", uuid::Uuid::new_v4()))
}

async fn watch(app: &TestApp) -> baton_tests::WsClient {
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["workflow:*"], &[]).await.expect("subscribed");
    ws
}

#[tokio::test]
async fn a_step_held_for_approval_across_a_crash_is_approved_after_it_and_the_rest_runs_once() {
    let (platforms, dir) = (Platforms::start().await, dir());
    slack(&platforms, Duration::ZERO).await;
    let first = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("first run");
    let mut ws = watch(&first).await;
    let body = json!({"workflowId": "wf-held", "steps": [
        {"name": "a", "action": notify("held-a", false)},
        {"name": "b", "dependsOn": "a", "action": notify("held-b", true)},
        {"name": "c", "dependsOn": "b", "action": notify("held-c", false)}]});
    assert_eq!(first.post("/api/workflows", &body).await.expect("post").0, 202);
    ws.collect_until(WITHIN, |f| f["data"]["step"] == "b" && f["data"]["status"] == "pending_approval")
        .await
        .expect("b is held");
    first.runtime.crash().await;

    let second = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("second run");
    let mut ws = watch(&second).await;
    let (status, answer) =
        second.post("/api/approvals/apv-wf-held.b/approve", &json!({"userId": "U1"})).await.expect("approve");
    assert_eq!(status, 200, "{answer}");
    ws.collect_until(WITHIN, |f| f["event"] == "workflow:completed" && f["data"]["workflowId"] == "wf-held")
        .await
        .expect("completed after the restart");
    for text in ["held-a", "held-b", "held-c"] {
        assert_eq!(sent(&platforms.slack, text).await, 1, "{text}");
    }
    second.runtime.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_crash_among_running_workflows_loses_none_and_runs_no_step_twice() {
    let (platforms, dir) = (Platforms::start().await, dir());
    slack(&platforms, Duration::from_millis(150)).await;
    let first = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("first run");
    let mut ws = watch(&first).await;
    for i in 0..WORKFLOWS {
        let body = json!({"workflowId": format!("wf-r-{i}"), "steps": [
            {"name": "a", "action": notify(&format!("r{i}-a"), false)},
            {"name": "b", "dependsOn": "a", "action": notify(&format!("r{i}-b"), false)},
            {"name": "c", "dependsOn": "b", "action": notify(&format!("r{i}-c"), false)}]});
        assert_eq!(first.post("/api/workflows", &body).await.expect("post").0, 202);
    }
    let mut done: HashSet<String> = HashSet::new();
    let mut steps_done = 0;
    while steps_done < WORKFLOWS {
        let f = ws.next(WITHIN).await.expect("a frame");
        if f["event"] == "workflow:step" && f["data"]["status"] == "success" {
            steps_done += 1;
        }
        if f["event"] == "workflow:completed" {
            done.insert(f["data"]["workflowId"].as_str().unwrap_or_default().to_owned());
        }
    }
    first.runtime.crash().await;
    assert!(done.len() < WORKFLOWS, "the crash must come mid-run");

    let second = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("second run");
    let mut ws = watch(&second).await;
    let mut pending: HashSet<String> = (0..WORKFLOWS).map(|i| format!("wf-r-{i}")).collect();
    for id in pending.clone() {
        let (_, w) = second.get(&format!("/api/workflows/{id}")).await.expect("get");
        if w["status"] == "completed" {
            pending.remove(&id);
        }
    }
    while !pending.is_empty() {
        let f = ws.next(WITHIN).await.unwrap_or_else(|e| panic!("still running {pending:?}: {e}"));
        assert_ne!(f["event"], "workflow:failed", "{f}");
        if f["event"] == "workflow:completed" {
            pending.remove(f["data"]["workflowId"].as_str().unwrap_or_default());
        }
    }
    for i in 0..WORKFLOWS {
        for s in ["a", "b", "c"] {
            let (_, action) = second.get(&format!("/api/actions/wf-r-{i}.{s}")).await.expect("action");
            assert_eq!(action["status"], "success", "{action}");
            let attempts = action["attempts"].as_u64().unwrap_or(0) as usize;
            let n = sent(&platforms.slack, &format!("r{i}-{s}")).await;
            assert!(n >= 1 && n <= attempts, "step {s} of {i}: sent {n} times in {attempts} attempts");
        }
    }
    second.runtime.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
