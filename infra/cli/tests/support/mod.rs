//! What the CLI's black-box tests share: a `baton serve` child with an admin key and a Slack
//! stand-in (wiremock), and running the `baton` binary against it.
#![allow(dead_code)] // each test binary uses its own part of it

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A runtime in memory, stopped when dropped.
pub struct Served {
    pub child: Child,
    pub url: String,
    pub key: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `baton serve --memory --port 0` with `key` as its admin key and `env` besides; returns once
/// it listens.
pub fn serve(key: &str, env: &[(&str, String)]) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["serve", "--memory", "--port", "0"])
        .env("BATON_ADMIN_KEY", key)
        .env("BATON_LOG", "error")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("BATON_APPROVAL_CHANNEL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("baton serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(rest) = line.strip_prefix("Baton is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Served { child, url, key: key.to_owned() }
}

/// The Slack variables that point a runtime at `slack`.
pub fn slack_env(slack: &MockServer) -> Vec<(&'static str, String)> {
    vec![("SLACK_BOT_TOKEN", "xoxb-cli-test".into()), ("SLACK_API_URL", format!("{}/api", slack.uri()))]
}

/// Slack as usual: messages are posted (and deleted), except to `#broken`, which does not exist.
pub async fn slack_up(slack: &MockServer) {
    slack.reset().await;
    let refused =
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": false, "error": "channel_not_found"}));
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_string_contains("#broken"))
        .respond_with(refused)
        .with_priority(1)
        .mount(slack)
        .await;
    let posted =
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true, "channel": "C1", "ts": "1.1"}));
    Mock::given(method("POST")).and(path("/api/chat.postMessage")).respond_with(posted).mount(slack).await;
    let deleted = ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true}));
    Mock::given(method("POST")).and(path("/api/chat.delete")).respond_with(deleted).mount(slack).await;
}

/// Slack down: every call a 503.
pub async fn slack_down(slack: &MockServer) {
    slack.reset().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(slack).await;
}

impl Served {
    /// `baton <args> --url <url> --key <key>` (global flags after the verb, as users type them).
    pub fn baton(&self, args: &[&str]) -> Output {
        self.baton_with(args, None, &[])
    }

    /// The same, with `stdin` and extra environment.
    pub fn baton_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        use std::io::Write;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
        cmd.args(args)
            .args(["--url", &self.url, "--key", &self.key])
            .env_remove("BATON_USER_ID")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("baton runs");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
        drop(input);
        child.wait_with_output().expect("baton ends")
    }
}

/// Standard output and error, together.
pub fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Standard output as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out(o)))
}
