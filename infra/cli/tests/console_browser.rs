//! The console in a real browser: `tests/console/console.test.mjs` (playwright-core driving
//! Debian's chromium, both installed by `scripts/browser-tools.sh`) against a real
//! `baton serve` whose Slack is a wiremock stand-in this test takes down and brings back when
//! the script asks (`control: slack down` on its stdout, `ok` on its stdin). Screenshots of
//! every view land in `target/console-screenshots/`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::{slack_down, slack_env, slack_up};
use wiremock::MockServer;

const KEY: &str = "bk_operator_console-browser-test-key-0123456789abcdef0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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
    let mut env = slack_env(&slack);
    env.push(("BATON_BREAKER_COOL_DOWN", "2s".into()));
    let served = support::serve(KEY, &env);
    let url = served.url.clone();
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
    drop(served);
    assert!(status.success(), "the browser test failed:\n{}", transcript.join("\n"));
    for view in ["live", "queue", "health", "metrics", "approvals", "workflows", "failed", "phone-live"] {
        assert!(shots.join(format!("{view}.png")).exists(), "a screenshot of {view}");
    }
}
