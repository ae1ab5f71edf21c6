//! `baton replay` against a running `baton serve`: one action by id, a filtered set counted
//! with `--dry-run`, and `--dlq` where there are no dead-letter queues.

mod support;

const KEY: &str = "bk_operator_replay-cli-test-key-0123456789abcdef0123456";

#[tokio::test]
async fn replay_by_id_in_bulk_and_the_dead_letters_a_local_runtime_does_not_have() {
    // Slack has no credentials here: the action fails for good, which is what replay is for.
    let served = support::serve(KEY, &[]);
    let url = served.url.clone();
    let baton = |_: &str, args: &[&str]| served.baton(args);
    let out = support::out;
    let http = reqwest::Client::new();
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
}
