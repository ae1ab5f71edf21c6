//! Logs never hold an API key, a platform token, an e-mail address or a file's content — in
//! text or JSON, at debug level — while real flows carry all of them through Baton.
#![allow(clippy::zombie_processes)] // a test that fails may leave its server to the harness

use serde_json::json;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "bk_operator_redaction-test-key-0123456789abcdefghijklmnop";
const SLACK_TOKEN: &str = "xoxb-9876543210-redaction-token";
const NOTION_TOKEN: &str = "secret_RedactionNotionToken42";
const EMAIL: &str = "jane.doe@example.com";
const CONTENT: &str = "TOP-SECRET-FILE-CONTENT-7f3a";

async fn run_flows(format: &str) -> String {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "invalid_auth"})))
        .mount(&slack)
        .await;
    let notion = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"object": "error", "code": "validation_error", "message": format!("{EMAIL} is not a member; token {NOTION_TOKEN}")}),
        ))
        .mount(&notion)
        .await;
    let dir = std::env::temp_dir().join(format!("baton-redact-{}", uuid::Uuid::new_v4()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(&dir)
        .env("BATON_ADMIN_KEY", KEY)
        .env("BATON_LOG", "trace,dynoxide=info")
        .env("BATON_LOG_FORMAT", format)
        .env("SLACK_BOT_TOKEN", SLACK_TOKEN)
        .env("SLACK_API_URL", format!("{}/api", slack.uri()))
        .env("NOTION_TOKEN", NOTION_TOKEN)
        .env("NOTION_API_URL", notion.uri())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    // Both streams are drained as they come, so the child never blocks on a full pipe.
    let captured = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let drain = |mut from: Box<dyn Read + Send>, into: std::sync::Arc<std::sync::Mutex<String>>| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().expect("lock").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let threads = [
        drain(Box::new(child.stdout.take().expect("stdout")), captured.clone()),
        drain(Box::new(child.stderr.take().expect("stderr")), captured.clone()),
    ];
    let url = loop {
        let so_far = captured.lock().expect("lock").clone();
        if let Some(line) = so_far.lines().find(|l| l.starts_with("Baton is listening on ")) {
            break line.trim_start_matches("Baton is listening on ").split_whitespace().next().expect("url").to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!("{url}/api/actions"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let actions = [
        json!({"action": {"type": "notify", "platform": "slack", "priority": "high", "userId": EMAIL,
            "retryConfig": {"maxRetries": 0},
            "data": {"channel": "#ops", "text": format!("ping {EMAIL} with {SLACK_TOKEN} and {KEY}")}}}),
        json!({"action": {"type": "create", "platform": "notion", "priority": "high", "retryConfig": {"maxRetries": 0},
            "data": {"database_id": "db-1", "title": format!("Invite {EMAIL}")}}}),
        json!({"action": {"type": "file", "platform": "drive", "priority": "high", "dryRun": true,
            "data": {"name": "secret.txt", "content": CONTENT, "mimeType": "text/plain",
                     "permissions": [{"type": "user", "role": "reader", "emailAddress": EMAIL}]}}}),
        json!({"action": {"type": "notify", "platform": EMAIL, "priority": "high", "data": {"text": CONTENT}}}),
    ];
    let mut ids = Vec::new();
    for a in actions {
        let r: serde_json::Value = post(a).await.expect("post").json().await.expect("json");
        if let Some(id) = r["actionId"].as_str() {
            ids.push(id.to_owned());
        }
    }
    // An ingress message that is rejected, and a bad key.
    let _ = http
        .post(format!("{url}/api/events"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(json!({"event": "action:ready", "data": {"action": {"type": "x", "userId": EMAIL}}}).to_string())
        .send()
        .await;
    let _ = http.get(format!("{url}/api/actions/recent")).bearer_auth(format!("{KEY}-wrong")).send().await;
    for id in &ids {
        for _ in 0..200 {
            let a: serde_json::Value = http
                .get(format!("{url}/api/actions/{id}"))
                .bearer_auth(KEY)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            if ["success", "failed"].contains(&a["status"].as_str().unwrap_or_default()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    child.kill().expect("stop");
    let _ = child.wait();
    for t in threads {
        let _ = t.join();
    }
    let _ = std::fs::remove_dir_all(&dir);
    captured.lock().expect("lock").clone()
}
#[tokio::test]
async fn no_key_token_address_or_file_content_reaches_the_logs_in_text_or_json() {
    for format in ["text", "json"] {
        let logs = run_flows(format).await;
        assert!(logs.lines().count() > 20, "the flows were logged ({format}): {logs}");
        for secret in [KEY, SLACK_TOKEN, NOTION_TOKEN, EMAIL, CONTENT, "jane.doe"] {
            let leak = logs.lines().find(|l| l.contains(secret));
            assert!(leak.is_none(), "{secret} leaked in the {format} logs: {leak:?}");
        }
    }
}
