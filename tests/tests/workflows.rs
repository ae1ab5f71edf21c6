//! Workflows on `baton serve`: real HTTP, a real WebSocket client, wiremock as the platforms.
//! Step outputs, rollback in reverse order, declared rollbacks, a diamond run many times,
//! idempotency, validation, approval steps, dry runs.

use baton_tests::google::google_settings;
use baton_tests::{Platforms, TestApp, WsClient, contract_examples, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WITHIN: Duration = Duration::from_secs(60);

struct World {
    platforms: Platforms,
    google: MockServer,
    app: TestApp,
}

async fn world() -> World {
    let platforms = Platforms::start().await;
    let google = MockServer::start().await;
    let settings = platforms.settings_with(&google_settings(&google).await);
    let app = spawn_app_with(&platforms, |opts| {
        opts.platforms = settings;
        opts.store.limits = baton_domain::limits::Limits::default()
            .with_overrides("slack=10000/1s,notion=10000/1s,drive=10000/1s,sheets=10000/1s")
            .unwrap_or_default();
    })
    .await
    .expect("runtime starts");
    Mock::given(method("POST"))
        .and(path("/upload/drive/v3/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "file-1", "name": "INV-001.txt", "webViewLink": "https://drive.example/file-1"}),
        ))
        .mount(&google)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/drive/v3/files/file-1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/sheets/v4/spreadsheets/sheet-invoices/values/.*:append$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"spreadsheetId": "sheet-invoices", "updates": {"updatedRange": "Sheet1!A7:E7", "updatedRows": 1}}),
        ))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/sheets/v4/spreadsheets/sheet-invoices/values/Sheet1!A7:E7:clear"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"clearedRange": "Sheet1!A7:E7"})))
        .mount(&google)
        .await;
    platforms.slack_answers().await;
    World { platforms, google, app }
}

async fn watching(app: &TestApp) -> WsClient {
    let mut ws = app.ws().await.expect("ws");
    ws.subscribe(&["workflow:*"], &[]).await.expect("subscribed");
    ws
}

/// Frames of `workflow_id` until one of `ends` arrives for it.
async fn until_end(ws: &mut WsClient, workflow_id: &str, ends: &[&str]) -> Vec<Value> {
    let frames = ws
        .collect_until(WITHIN, |f| {
            f["data"]["workflowId"] == workflow_id && ends.contains(&f["event"].as_str().unwrap_or(""))
        })
        .await
        .unwrap_or_else(|e| panic!("{workflow_id} did not end: {e}"));
    frames.into_iter().filter(|f| f["data"]["workflowId"] == workflow_id).collect()
}

async fn bodies(server: &MockServer, needle: &str) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| !r.url.path().ends_with("/token"))
        .map(|r| (format!("{} {}", r.method, r.url.path()), String::from_utf8_lossy(&r.body).to_string()))
        .filter(|(p, b)| p.contains(needle) || b.contains(needle))
        .collect()
}

#[tokio::test]
async fn the_contract_invoice_workflow_carries_the_file_link_into_the_sheet_and_slack() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let (status, receipt) = w.app.post("/api/workflows", &contract_examples()["workflow_ready"]).await.expect("post");
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["workflowId"], "wf-invoice-001");
    assert_eq!(receipt["steps"][0], json!({"name": "create_file", "actionId": "action-001", "status": "queued"}));
    let frames = until_end(&mut ws, "wf-invoice-001", &["workflow:completed", "workflow:failed"]).await;
    assert_eq!(frames.last().expect("end")["event"], "workflow:completed", "{frames:#?}");
    assert_eq!(frames[0]["event"], "workflow:started");
    let sheet = bodies(&w.google, ":append").await;
    assert_eq!(sheet.len(), 1);
    assert!(sheet[0].1.contains("https://drive.example/file-1"), "the row has the link: {}", sheet[0].1);
    let slack = bodies(&w.platforms.slack, "Invoice INV-001 filed: https://drive.example/file-1").await;
    assert_eq!(slack.len(), 1, "the Slack text has the link");
    let (_, got) = w.app.get("/api/workflows/wf-invoice-001").await.expect("get");
    assert_eq!(got["status"], "completed");
    assert_eq!(got["steps"][0]["result"]["webViewLink"], "https://drive.example/file-1");
    assert!(got["steps"].as_array().expect("steps").iter().all(|s| s["status"] == "success"), "{got}");
    // The same body again is the original workflow; nothing runs again.
    let (status, again) = w.app.post("/api/workflows", &contract_examples()["workflow_ready"]).await.expect("post");
    assert_eq!((status, again["status"].as_str()), (200, Some("completed")));
    assert_eq!(bodies(&w.google, ":append").await.len(), 1);
    let mut other = contract_examples()["workflow_ready"].clone();
    other["context"]["amount"] = json!("$6,000");
    let (status, conflict) = w.app.post("/api/workflows", &other).await.expect("post");
    assert_eq!((status, conflict["error"]["code"].as_str()), (409, Some("DUPLICATE_ERROR")), "{conflict}");
}

#[tokio::test]
async fn a_step_failing_for_good_rolls_back_the_sheet_row_then_the_file() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let mut body = contract_examples()["workflow_ready"].clone();
    body["workflowId"] = json!("wf-rollback");
    body["idempotencyKey"] = json!("invoice-rollback");
    for (i, s) in body["steps"].as_array_mut().expect("steps").iter_mut().enumerate() {
        s["action"]["id"] = json!(format!("rb-{i}"));
    }
    body["steps"][2]["action"]["data"]["channel"] = json!("#broken");
    let (status, _) = w.app.post("/api/workflows", &body).await.expect("post");
    assert_eq!(status, 202);
    let frames = until_end(&mut ws, "wf-rollback", &["workflow:rolled_back"]).await;
    let failed = frames.iter().find(|f| f["event"] == "workflow:failed").expect("workflow:failed");
    assert_eq!(failed["data"]["failedStep"], "notify");
    let end = frames.last().expect("end");
    assert_eq!(end["data"]["status"], "rolled_back");
    assert_eq!(end["data"]["compensated"], json!(["create_file", "update_sheet"]));
    let order: Vec<String> = w
        .google
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .filter(|p| p.ends_with(":clear") || p.starts_with("DELETE"))
        .collect();
    assert_eq!(
        order,
        ["POST /sheets/v4/spreadsheets/sheet-invoices/values/Sheet1!A7:E7:clear", "DELETE /drive/v3/files/file-1"],
        "the latest success is undone first"
    );
    let (_, got) = w.app.get("/api/workflows/wf-rollback").await.expect("get");
    assert_eq!(got["status"], "rolled_back");
    assert_eq!(got["steps"][2]["status"], "failed");
    assert_eq!(got["steps"][1]["compensation"]["source"], "inverse");
}

#[tokio::test]
async fn a_declared_rollback_is_used_instead_of_the_inverse() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let notify = |channel: &str, text: &str| json!({"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": channel, "text": text}});
    let body = json!({"workflowId": "wf-declared", "transactional": true, "steps": [
        {"name": "announce", "action": notify("#ops", "deploying"),
         "rollback": notify("#ops", "deploy withdrawn (was {{steps.announce.result.ts}})")},
        {"name": "deploy", "dependsOn": "announce", "action": notify("#broken", "go")}]});
    assert_eq!(w.app.post("/api/workflows", &body).await.expect("post").0, 202);
    let frames = until_end(&mut ws, "wf-declared", &["workflow:rolled_back"]).await;
    assert_eq!(frames.last().expect("end")["data"]["compensated"], json!(["announce"]));
    assert_eq!(bodies(&w.platforms.slack, "deploy withdrawn (was 1.1)").await.len(), 1);
    assert!(bodies(&w.platforms.slack, "chat.delete").await.is_empty(), "the inverse is not used");
}

#[tokio::test]
async fn a_diamond_sends_its_join_exactly_once_every_time() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let notify = |text: String| {
        json!({"type": "notify", "platform": "slack", "priority": "normal",
                                       "data": {"channel": "#ops", "text": text}})
    };
    for i in 0..50 {
        let body = json!({"workflowId": format!("wf-d-{i}"), "steps": [
            {"name": "a", "action": notify(format!("a-{i}."))},
            {"name": "b", "dependsOn": "a", "action": notify(format!("b-{i}."))},
            {"name": "c", "dependsOn": ["a"], "action": notify(format!("c-{i}."))},
            {"name": "d", "dependsOn": ["b", "c"], "action": notify(format!("d-{i}. after {{{{steps.b.result.ts}}}}"))}]});
        assert_eq!(w.app.post("/api/workflows", &body).await.expect("post").0, 202);
    }
    let mut done = std::collections::HashSet::new();
    while done.len() < 50 {
        let f = ws.next(WITHIN).await.expect("a frame");
        if f["event"] == "workflow:completed" {
            done.insert(f["data"]["workflowId"].as_str().unwrap_or_default().to_owned());
        }
        assert_ne!(f["event"], "workflow:failed", "{f}");
    }
    let sent: Vec<String> = bodies(&w.platforms.slack, "postMessage").await.into_iter().map(|(_, b)| b).collect();
    for i in 0..50 {
        for s in ["a", "b", "c", "d"] {
            let n = sent.iter().filter(|b| b.contains(&format!("\"{s}-{i}."))).count();
            assert_eq!(n, 1, "step {s} of workflow {i} was sent {n} times");
        }
    }
}

#[tokio::test]
async fn bad_workflows_are_refused_with_the_field_path() {
    let w = world().await;
    let step = |name: &str, deps: Value| {
        json!({"name": name, "dependsOn": deps,
        "action": {"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": "#c", "text": "x"}}})
    };
    let cases = [
        (
            json!({"steps": [step("a", json!("b")), step("b", json!(["c"])), step("c", json!("a"))]}),
            "steps[0].dependsOn",
            "cycle",
        ),
        (json!({"steps": [step("a", json!(null)), step("a", json!(null))]}), "steps[1].name", "unique"),
        (json!({"steps": [step("a", json!("zz"))]}), "steps[0].dependsOn", "no step"),
        (json!({"steps": []}), "steps", "at least one"),
        (
            json!({"steps": [step("a", json!(null)), {"name": "b", "action": {"type": "notify", "platform": "slack",
            "priority": "normal", "data": {"channel": "#c", "text": "{{steps.a.result.ts}}"}}}]}),
            "steps[1].action.data.text",
            "does not depend",
        ),
    ];
    for (body, field, reason) in cases {
        let (status, err) = w.app.post("/api/workflows", &body).await.expect("post");
        assert_eq!((status, err["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")), "{body}: {err}");
        let fields = err["error"]["details"]["fields"].as_array().cloned().unwrap_or_default();
        assert!(
            fields.iter().any(|f| f["field"] == field && f["reason"].as_str().unwrap_or("").contains(reason)),
            "{field} / {reason} in {err}"
        );
    }
    let big: Vec<Value> = (0..101).map(|i| step(&format!("s{i}"), json!(null))).collect();
    let (status, err) = w.app.post("/api/workflows", &json!({"steps": big})).await.expect("post");
    assert_eq!(status, 400, "{err}");
}

#[tokio::test]
async fn a_rejected_approval_step_skips_its_dependents_and_undoes_what_ran() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let notify = |text: &str, approval: bool| {
        json!({"type": "notify", "platform": "slack", "priority": "normal",
        "requiresApproval": approval, "data": {"channel": "#ops", "text": text}})
    };
    let body = json!({"workflowId": "wf-approve", "transactional": true, "steps": [
        {"name": "prepare", "action": notify("prepared", false)},
        {"name": "release", "dependsOn": "prepare", "action": notify("released", true)},
        {"name": "tell", "dependsOn": "release", "action": notify("told", false)}]});
    assert_eq!(w.app.post("/api/workflows", &body).await.expect("post").0, 202);
    let held = ws
        .collect_until(WITHIN, |f| f["event"] == "workflow:step" && f["data"]["status"] == "pending_approval")
        .await
        .expect("the release step is held");
    let action_id = held.last().expect("frame")["data"]["actionId"].as_str().expect("id").to_owned();
    let (status, _) = w
        .app
        .post(&format!("/api/approvals/apv-{action_id}/reject"), &json!({"userId": "U1", "reason": "not today"}))
        .await
        .expect("reject");
    assert_eq!(status, 200);
    let frames = until_end(&mut ws, "wf-approve", &["workflow:rolled_back"]).await;
    assert!(
        frames
            .iter()
            .any(|f| f["event"] == "workflow:step" && f["data"]["step"] == "tell" && f["data"]["status"] == "skipped")
    );
    assert_eq!(frames.last().expect("end")["data"]["compensated"], json!(["prepare"]));
    assert_eq!(bodies(&w.platforms.slack, "chat.delete").await.len(), 1, "the prepared message is deleted");
    assert!(bodies(&w.platforms.slack, "\"told\"").await.is_empty());
}

#[tokio::test]
async fn a_dry_run_renders_every_step_and_sends_nothing() {
    let w = world().await;
    let mut ws = watching(&w.app).await;
    let mut body = contract_examples()["workflow_ready"].clone();
    body["workflowId"] = json!("wf-dry");
    body["dryRun"] = json!(true);
    body.as_object_mut().expect("object").remove("idempotencyKey");
    for (i, s) in body["steps"].as_array_mut().expect("steps").iter_mut().enumerate() {
        s["action"]["id"] = json!(format!("dry-{i}"));
    }
    assert_eq!(w.app.post("/api/workflows", &body).await.expect("post").0, 202);
    until_end(&mut ws, "wf-dry", &["workflow:completed"]).await;
    let (_, got) = w.app.get("/api/workflows/wf-dry").await.expect("get");
    let text = got["steps"][2]["result"].to_string();
    assert!(text.contains("<steps.create_file.result.webViewLink>"), "a placeholder names the reference: {text}");
    assert!(got["steps"][1]["result"].to_string().contains("<steps.create_file.result.webViewLink>"));
    assert!(bodies(&w.google, "/").await.is_empty(), "nothing sent to Google");
    assert!(bodies(&w.platforms.slack, "postMessage").await.is_empty(), "nothing sent to Slack");
}
