//! `baton replay` against a running `baton serve`: one action by id, a filtered set counted
//! with `--dry-run`, and `--dlq` where there are no dead-letter queues.
#![allow(clippy::zombie_processes)] // a test that fails may leave its server to the harness

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

const KEY: &str = "bk_operator_replay-cli-test-key-0123456789abcdef0123456";

fn baton(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .args(["--url", url, "--key", KEY])
        .output()
        .expect("baton runs")
}

fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test]
async fn replay_by_id_in_bulk_and_the_dead_letters_a_local_runtime_does_not_have() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--memory", "--port", "0"])
        .env("BATON_ADMIN_KEY", KEY)
        .env("BATON_LOG", "warn")
        .env_remove("SLACK_BOT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(rest) = line.strip_prefix("Baton is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    // Slack has no credentials here: the action fails for good, which is what replay is for.
    let body = r##"{"action": {"id": "cli-1", "type": "notify", "platform": "slack", "priority": "normal",
        "data": {"channel": "#ops", "text": "hello"}}}"##;
    let submitted = http
        .post(format!("{url}/api/actions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("submit");
    assert_eq!(submitted.status().as_u16(), 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let a: serde_json::Value = http
            .get(format!("{url}/api/actions/cli-1"))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if a["status"] == "failed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not failed: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let counted = baton(&url, &["replay", "--dry-run", "--platform", "slack", "--json"]);
    assert!(counted.status.success(), "{}", out(&counted));
    let report: serde_json::Value = serde_json::from_slice(&counted.stdout).expect("json");
    assert_eq!(report["matched"], 1, "{report}");
    let one = baton(&url, &["replay", "cli-1"]);
    assert!(one.status.success(), "{}", out(&one));
    assert!(out(&one).contains("cli-1 → cli-1.r1"), "{}", out(&one));
    let dlq = baton(&url, &["replay", "--dlq", "normal"]);
    assert_eq!(dlq.status.code(), Some(1), "{}", out(&dlq));
    assert!(out(&dlq).contains("no dead-letter queues"), "{}", out(&dlq));
    let usage = baton(&url, &["replay", "cli-1", "--dlq", "normal"]);
    assert_eq!(usage.status.code(), Some(2), "ids and --dlq do not go together");
    server.kill().expect("stop");
    let _ = server.wait();
}
