//! The console in a real browser: `tests/console/console.test.mjs` (playwright-core driving
//! Debian's chromium, both installed by `scripts/browser-tools.sh`) against a real
//! `baton serve` whose Slack is a wiremock stand-in this test takes down and brings back when
//! the script asks (`control: slack down` on its stdout, `ok` on its stdin). Screenshots of
//! every view land in `target/console-screenshots/`.
#![allow(clippy::zombie_processes)] // a test that fails may leave its children to the harness

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "bk_operator_console-browser-test-key-0123456789abcdef0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn slack_up(slack: &MockServer) {
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
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true, "channel": "C1", "ts": "1.1"})),
        )
        .mount(slack)
        .await;
}

async fn slack_down(slack: &MockServer) {
    slack.reset().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(slack).await;
}

fn serve(slack: &MockServer) -> (Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--memory", "--port", "0"])
        .env("BATON_ADMIN_KEY", KEY)
        .env("BATON_LOG", "error")
        .env("SLACK_BOT_TOKEN", "xoxb-console-test")
        .env("SLACK_API_URL", format!("{}/api", slack.uri()))
        .env("BATON_BREAKER_COOL_DOWN", "2s")
        .env_remove("BATON_APPROVAL_CHANNEL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("baton serve starts");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(rest) = line.strip_prefix("Baton is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (server, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_real_browser() {
    let root = root();
    let script = root.join("tests/console/console.test.mjs");
    assert!(
        root.join("tests/console/node_modules/playwright-core").exists() && PathBuf::from("/usr/bin/chromium").exists(),
        "the browser tests need chromium and playwright-core: run scripts/browser-tools.sh"
    );
    let slack = MockServer::start().await;
    slack_up(&slack).await;
    let (mut server, url) = serve(&slack);
    let shots = root.join("target/console-screenshots");
    let mut node = Command::new("node")
        .arg(&script)
        .current_dir(root.join("tests/console"))
        .env("BATON_URL", &url)
        .env("BATON_KEY", KEY)
        .env("SCREENSHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().expect("stdin");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = BufReader::new(node.stdout.take().expect("stdout"));
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut transcript = Vec::new();
    while let Some(line) = rx.recv().await {
        println!("{line}");
        match line.strip_prefix("control: ") {
            Some("slack down") => slack_down(&slack).await,
            Some("slack up") => slack_up(&slack).await,
            Some(other) => panic!("unknown control {other}"),
            None => {
                transcript.push(line);
                continue;
            }
        }
        writeln!(stdin, "ok").expect("the script listens");
    }
    let status = node.wait().expect("node ends");
    let _ = server.kill();
    let _ = server.wait();
    assert!(status.success(), "the browser test failed:\n{}", transcript.join("\n"));
    for view in ["live", "queue", "health", "metrics", "approvals", "workflows", "failed", "phone-live"] {
        assert!(shots.join(format!("{view}.png")).exists(), "a screenshot of {view}");
    }
}
