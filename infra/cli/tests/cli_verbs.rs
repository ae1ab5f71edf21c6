//! Every verb of `baton` against a running `baton serve` (Slack a wiremock stand-in): submit
//! and --wait, tail, actions, approvals, workflows, replay with its count and --yes, metrics,
//! console, completions, --help, and the exit codes.

mod support;

use serde_json::{Value, json};
use support::{Served, json, out, slack_env, slack_up};
use wiremock::MockServer;

const KEY: &str = "bk_operator_cli-verbs-test-key-0123456789abcdef012345678";

fn action(id: &str, channel: &str, dry: bool) -> String {
    json!({"id": id, "type": "notify", "platform": "slack", "priority": "high", "dryRun": dry,
        "data": {"channel": channel, "text": format!("cli {id}")}})
    .to_string()
}

async fn runtime() -> (MockServer, Served) {
    let slack = MockServer::start().await;
    slack_up(&slack).await;
    let served = support::serve(KEY, &slack_env(&slack));
    (slack, served)
}

/// The action's status, by `baton actions get --json`.
fn status_of(s: &Served, id: &str) -> Value {
    let o = s.baton(&["actions", "get", id, "--json"]);
    serde_json::from_slice::<Value>(&o.stdout).map_or(Value::Null, |a| a["status"].clone())
}

#[tokio::test]
async fn submit_waits_for_the_end_and_says_how_it_went() {
    let (_slack, s) = runtime().await;
    let ok = s.baton_with(&["submit", "-", "--wait"], Some(&action("v-ok", "#ops", false)), &[]);
    assert!(ok.status.success(), "{}", out(&ok));
    let text = out(&ok);
    assert!(
        text.contains("v-ok queued") && text.contains("action:completed") && text.contains("v-ok succeeded"),
        "{text}"
    );
    let failed = s.baton_with(&["submit", "--wait"], Some(&action("v-bad", "#broken", false)), &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", out(&failed));
    assert!(out(&failed).contains("v-bad ended failed") && out(&failed).contains("NOT_FOUND"), "{}", out(&failed));
    // The contract's body form, from a file, with an idempotency key: the same receipt twice.
    let dir = std::env::temp_dir().join(format!("baton-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("body.json");
    let body = json!({"action": serde_json::from_str::<Value>(&action("v-file", "#ops", true)).expect("json"),
        "correlationId": "corr-1"});
    std::fs::write(&file, body.to_string()).expect("written");
    let path = file.to_string_lossy().into_owned();
    let first = json(&s.baton(&["submit", &path, "--idempotency-key", "k-1", "--json"]));
    let again = json(&s.baton(&["submit", &path, "--idempotency-key", "k-1", "--json"]));
    assert_eq!(first["actionId"], "v-file");
    assert_eq!(first, again, "the original receipt");
    let invalid = s.baton_with(&["submit"], Some(r#"{"type": "notify", "platform": "slack"}"#), &[]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(
        out(&invalid).contains("VALIDATION_ERROR") && out(&invalid).contains("action.priority"),
        "{}",
        out(&invalid)
    );
    let not_json = s.baton_with(&["submit"], Some("{"), &[]);
    assert_eq!(not_json.status.code(), Some(1), "{}", out(&not_json));
    // A held action that is rejected ends the wait with a failure.
    let held = json!({"type": "notify", "platform": "slack", "priority": "high", "requiresApproval": true,
        "id": "v-held", "data": {"channel": "#ops", "text": "needs a yes"}});
    let waiter = {
        let (url, held) = (s.url.clone(), held.to_string());
        std::thread::spawn(move || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_baton"));
            cmd.args(["submit", "--wait", "--timeout", "60", "--url", &url, "--key", KEY])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = cmd.spawn().expect("submit");
            std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), held.as_bytes()).expect("write");
            child.wait_with_output().expect("ends")
        })
    };
    let approval = loop {
        let list = json(&s.baton(&["approvals", "list", "--json"]));
        if let Some(a) = list["approvals"].as_array().and_then(|a| a.first()) {
            break a["id"].as_str().expect("id").to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let rejected = s.baton(&["approvals", "reject", &approval, "--reason", "not now", "--user", "U0REVIEW"]);
    assert!(rejected.status.success(), "{}", out(&rejected));
    let waited = waiter.join().expect("the waiter");
    assert_eq!(waited.status.code(), Some(1), "{}", out(&waited));
    assert!(out(&waited).contains("ended rejected"), "{}", out(&waited));
}

#[tokio::test]
async fn tail_prints_one_line_per_event_and_json_frames_on_request() {
    let (_slack, s) = runtime().await;
    let (url, key) = (s.url.clone(), KEY.to_owned());
    let tail = std::thread::spawn(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["tail", "--events", "action:completed,action:queued", "--platform", "slack", "--count", "2"])
            .args(["--url", &url, "--key", &key])
            .env("NO_COLOR", "1")
            .output()
            .expect("tail")
    });
    let json_tail = {
        let (url, key) = (s.url.clone(), KEY.to_owned());
        std::thread::spawn(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
                .args(["tail", "--events", "action:completed", "--count", "1", "--json", "--url", &url, "--key", &key])
                .output()
                .expect("tail")
        })
    };
    // Submit until both tails have subscribed and seen it (a tail subscribes before it reads).
    let mut n = 0;
    while !(tail.is_finished() && json_tail.is_finished()) {
        n += 1;
        let sent = s.baton_with(&["submit"], Some(&action(&format!("t-{n}"), "#ops", true)), &[]);
        assert!(sent.status.success(), "{}", out(&sent));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(n < 100, "the tails never ended");
    }
    let lines = tail.join().expect("tail");
    assert!(lines.status.success(), "{}", out(&lines));
    let text = String::from_utf8_lossy(&lines.stdout).into_owned();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().all(|l| l.contains("platform=slack") && l.contains(" t-")), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour off a terminal");
    let frame: Value = serde_json::from_slice(&json_tail.join().expect("tail").stdout).expect("a JSON frame");
    assert_eq!(frame["event"], "action:completed");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["tail", "--url", &s.url, "--key", "bk_000000000000_not-a-key"])
        .output()
        .expect("tail");
    assert_eq!(refused.status.code(), Some(1), "{}", out(&refused));
}

#[tokio::test]
async fn actions_approvals_and_workflows_read_and_decide() {
    let (_slack, s) = runtime().await;
    assert!(s.baton_with(&["submit", "--wait"], Some(&action("r-1", "#ops", true)), &[]).status.success());
    let recent = s.baton(&["actions", "recent", "--status", "success", "--since", "1h", "--platform", "slack"]);
    assert!(recent.status.success() && out(&recent).contains("r-1"), "{}", out(&recent));
    let got = s.baton(&["actions", "get", "r-1"]);
    assert!(
        out(&got).contains("r-1 notify on slack (high) success") && out(&got).contains("first started"),
        "{}",
        out(&got)
    );
    let missing = s.baton(&["actions", "get", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(out(&missing).contains("(NOT_FOUND, HTTP 404)"), "{}", out(&missing));
    // Approvals: show the preview, approve with an edit.
    let held = json!({"action": serde_json::from_str::<Value>(&action("h-1", "#ops", true)).expect("json"),
        "reason": "cli approval", "approvers": ["U0OK"]});
    let http = reqwest::Client::new();
    let receipt: Value = http
        .post(format!("{}/api/approvals", s.url))
        .bearer_auth(KEY)
        .json(&held)
        .send()
        .await
        .expect("held")
        .json()
        .await
        .expect("json");
    let id = receipt["approvalId"].as_str().unwrap_or_else(|| panic!("held: {receipt}")).to_owned();
    let listed = s.baton(&["approvals", "list"]);
    assert!(out(&listed).contains(&id) && out(&listed).contains("cli approval"), "{}", out(&listed));
    let shown = s.baton(&["approvals", "show", &id]);
    assert!(out(&shown).contains("chat.postMessage") && out(&shown).contains("U0OK"), "{}", out(&shown));
    let no_user = s.baton(&["approvals", "approve", &id]);
    assert_eq!(no_user.status.code(), Some(2), "the user id is required: {}", out(&no_user));
    let stranger = s.baton(&["approvals", "approve", &id, "--user", "U0OTHER"]);
    assert_eq!(stranger.status.code(), Some(1));
    assert!(out(&stranger).contains("PERMISSION_DENIED"), "{}", out(&stranger));
    let patch = std::env::temp_dir().join(format!("baton-patch-{}.json", std::process::id()));
    std::fs::write(&patch, r#"{"text": "edited by the cli"}"#).expect("patch");
    let approved = s.baton_with(
        &["approvals", "approve", &id, "--patch", &patch.to_string_lossy()],
        None,
        &[("BATON_USER_ID", "U0OK")],
    );
    assert!(approved.status.success(), "{}", out(&approved));
    assert!(out(&approved).contains("approved by U0OK"), "{}", out(&approved));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while status_of(&s, "h-1") != "success" {
        assert!(std::time::Instant::now() < deadline, "the approved action never ran");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ran = json(&s.baton(&["actions", "get", "h-1", "--json"]));
    assert_eq!(ran["data"]["text"], "edited by the cli");
    // Workflows: list, show, cancel one that waits on an approval.
    let wf = json!({"workflowId": "wf-cli", "name": "cli flow", "steps": [
        {"name": "hold", "action": {"type": "notify", "platform": "slack", "priority": "normal", "requiresApproval": true,
            "data": {"channel": "#ops", "text": "first"}}},
        {"name": "after", "dependsOn": "hold", "action": {"type": "notify", "platform": "slack", "priority": "normal",
            "data": {"channel": "#ops", "text": "then"}}}]});
    let started = http.post(format!("{}/api/workflows", s.url)).bearer_auth(KEY).json(&wf).send().await.expect("wf");
    assert_eq!(started.status().as_u16(), 202);
    let listed = s.baton(&["workflows", "list", "--status", "running"]);
    assert!(out(&listed).contains("wf-cli") && out(&listed).contains("cli flow"), "{}", out(&listed));
    let shown = s.baton(&["workflows", "show", "wf-cli"]);
    assert!(
        out(&shown).contains("hold") && out(&shown).contains("after") && out(&shown).contains("waiting"),
        "{}",
        out(&shown)
    );
    let cancelled = s.baton(&["workflows", "cancel", "wf-cli"]);
    assert!(cancelled.status.success(), "{}", out(&cancelled));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let w = json(&s.baton(&["workflows", "show", "wf-cli", "--json"]));
        if w["status"] == "cancelled" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not cancelled: {w}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn replay_counts_first_asks_for_yes_and_metrics_console_completions_and_help_work() {
    let (_slack, s) = runtime().await;
    for i in 0..3 {
        let failed = s.baton_with(&["submit", "--wait"], Some(&action(&format!("f-{i}"), "#broken", false)), &[]);
        assert_eq!(failed.status.code(), Some(1));
    }
    let unasked = s.baton(&["replay", "--failed", "--platform", "slack", "--since", "1h"]);
    assert_eq!(unasked.status.code(), Some(1), "{}", out(&unasked));
    assert!(out(&unasked).contains("3 action(s) match") && out(&unasked).contains("pass --yes"), "{}", out(&unasked));
    assert_eq!(status_of(&s, "f-0.r1"), Value::Null, "nothing was replayed without a yes");
    let done = s.baton(&["replay", "--failed", "--since", "1h", "--yes"]);
    assert!(done.status.success(), "{}", out(&done));
    assert!(out(&done).contains("replayed 3 of 3 matching"), "{}", out(&done));
    for i in 0..3 {
        assert_ne!(status_of(&s, &format!("f-{i}.r1")), Value::Null);
    }
    let metrics = json(&s.baton(&["metrics", "--window", "1h", "--json"]));
    assert_eq!(metrics["timeWindow"], "1h");
    let human = s.baton(&["metrics", "--platform", "slack"]);
    assert!(out(&human).contains("last 1h:") && out(&human).contains("p95"), "{}", out(&human));
    let link = s.baton(&["console", "--print"]);
    assert_eq!(String::from_utf8_lossy(&link.stdout).trim(), format!("{}/#key={KEY}", s.url));
    let opened = s.baton_with(&["console"], None, &[("BROWSER", "echo")]);
    assert!(opened.status.success() && out(&opened).contains("#key="), "{}", out(&opened));
    let bash = s.baton(&["completions", "bash"]);
    assert!(bash.status.success() && out(&bash).contains("approvals"), "completions");
    let help = s.baton(&["--help"]);
    assert!(
        out(&help).contains("Exit codes") && out(&help).contains("baton submit action.json --wait"),
        "{}",
        out(&help)
    );
    let unreachable = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["actions", "recent", "--url", "http://127.0.0.1:9", "--key", KEY])
        .output()
        .expect("runs");
    assert_eq!(unreachable.status.code(), Some(3), "{}", out(&unreachable));
    let bad_since = s.baton(&["actions", "recent", "--since", "soon"]);
    assert_eq!(bad_since.status.code(), Some(2), "{}", out(&bad_since));
}
