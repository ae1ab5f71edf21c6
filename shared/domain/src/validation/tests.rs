use super::*;
use serde_json::json;

fn submit(action: Value) -> Result<Submission, Vec<FieldError>> {
    parse_submission(&json!({ "action": action }))
}

fn errors_of(action: Value) -> Vec<String> {
    submit(action).expect_err("should be invalid").iter().map(|e| e.to_string()).collect()
}

fn action(platform: &str, ty: &str, data: Value) -> Value {
    json!({"type": ty, "platform": platform, "priority": "normal", "data": data})
}

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../../../../../shared/fixtures/contract-examples.json")).expect("fixture json")
}

#[test]
fn the_contract_action_ready_example_parses() {
    let sub = parse_submission(&fixtures()["action_ready"]).expect("valid");
    assert_eq!(sub.action.operation, Operation::NotionCreatePage);
    assert_eq!(sub.action.id.as_deref(), Some("action-notion-001"));
    assert_eq!(sub.action.correlation_id.as_deref(), Some("email-123"));
    assert!(sub.context.is_some());
}

#[test]
fn every_platform_data_example_of_the_contract_is_valid() {
    let f = fixtures();
    let cases = [
        ("notion", "update", "notion_update", Operation::NotionUpdatePage),
        ("trello", "create", "trello_create", Operation::TrelloCreateCard),
        ("trello", "update", "trello_move", Operation::TrelloMoveCard),
        ("slack", "notify", "slack_notify", Operation::SlackPostMessage),
        ("slack", "approve", "slack_approval", Operation::SlackApprovalRequest),
        ("drive", "file", "drive_upload", Operation::DriveUpload),
        ("sheets", "log", "sheets_append", Operation::SheetsAppend),
        ("sheets", "update", "sheets_update", Operation::SheetsUpdate),
    ];
    for (platform, ty, key, op) in cases {
        let data = f["platform_data"][key].clone();
        let sub = submit(action(platform, ty, data)).unwrap_or_else(|e| panic!("{key}: {e:?}"));
        assert_eq!(sub.action.operation, op, "{key}");
    }
    let bulk = f["action_requires_approval"]["action"].clone();
    assert_eq!(submit(bulk).expect("bulk delete").action.operation, Operation::TrelloBulkDelete);
    for step in f["workflow_ready"]["steps"].as_array().expect("steps") {
        submit(step["action"].clone()).unwrap_or_else(|e| panic!("{}: {e:?}", step["name"]));
    }
}

#[test]
fn a_missing_required_data_field_is_named_by_path() {
    let errs = errors_of(action("notion", "create", json!({"title": "x"})));
    assert_eq!(errs, ["action.data.database_id: required"]);
}

#[test]
fn unknown_enum_values_list_the_allowed_ones() {
    let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
    a["priority"] = json!("urgent");
    a["platform"] = json!("jira");
    let errs = errors_of(a);
    assert!(
        errs.contains(&"action.platform: 'jira' is not allowed; allowed: notion, trello, slack, drive, sheets".into())
    );
    assert!(errs.contains(&"action.priority: 'urgent' is not allowed; allowed: critical, high, normal, low".into()));
    let mut a = action("slack", "notify", json!({}));
    a["type"] = json!("explode");
    assert!(errors_of(a)[0].starts_with("action.type: 'explode' is not allowed; allowed: create, update"));
}

#[test]
fn each_schema_rejects_its_failure_modes() {
    let cases: Vec<(Value, &str)> = vec![
        (action("notion", "update", json!({"page_id": "p"})), "action.data.properties: required"),
        (
            action("notion", "create", json!({"database_id": 7, "title": "t"})),
            "action.data.database_id: must be a string, got a number",
        ),
        (
            action("trello", "create", json!({"name": "n", "listId": "l", "due": "next tuesday"})),
            "action.data.due: must be an ISO 8601 date or timestamp",
        ),
        (
            action("trello", "create", json!({"name": "n", "listId": "l", "labels": ["ok", 3]})),
            "action.data.labels[1]: must be a string, got a number",
        ),
        (action("trello", "update", json!({"listId": "l"})), "action.data.cardId: required"),
        (action("trello", "delete", json!({"cardIds": []})), "action.data.cardIds: must not be empty"),
        (action("slack", "notify", json!({"channel": "#a"})), "action.data.text: required"),
        (action("slack", "notify", json!({"channel": "", "text": "t"})), "action.data.channel: must not be empty"),
        (
            action("slack", "notify", json!({"channel": "#a", "text": "t", "blocks": {}})),
            "action.data.blocks: must be an array of Block Kit blocks",
        ),
        (action("slack", "approve", json!({"channel": "#a", "reason": "r"})), "action.data.action: required"),
        (action("drive", "file", json!({"name": "n", "mimeType": "text/plain"})), "action.data.content: required"),
        (
            action(
                "drive",
                "file",
                json!({"name": "n", "content": "c", "mimeType": "m", "permissions": [{"type": "robot", "role": "reader"}]}),
            ),
            "action.data.permissions[0].type: 'robot' is not allowed; allowed: user, group, domain, anyone",
        ),
        (
            action(
                "drive",
                "file",
                json!({"name": "n", "content": "c", "mimeType": "m", "permissions": [{"type": "user", "role": "reader"}]}),
            ),
            "action.data.permissions[0].emailAddress: required for type user or group",
        ),
        (
            action("sheets", "log", json!({"spreadsheetId": "s", "range": "A:E", "values": ["flat"]})),
            "action.data.values[0]: must be an array (a row), got a string",
        ),
        (
            action("sheets", "update", json!({"spreadsheetId": "s", "range": "A1"})),
            "action.data.value: required (or values)",
        ),
        (
            action("sheets", "update", json!({"spreadsheetId": "s", "range": "A1", "value": {"a": 1}})),
            "action.data.value: must be a string or a number, got an object",
        ),
        (
            action("notion", "notify", json!({})),
            "action.type: 'notify' is not supported on notion; supported: create, update, delete, log, query",
        ),
        (
            action("slack", "notify", json!({"operation": "shout", "channel": "#a", "text": "t"})),
            "action.data.operation: 'shout' is not an operation of slack; allowed: post_message, update_message, delete_message, approval_request",
        ),
    ];
    for (a, expected) in cases {
        let errs = errors_of(a.clone());
        assert!(errs.contains(&expected.to_owned()), "{a}\n expected {expected}\n got {errs:?}");
    }
}

#[test]
fn action_level_fields_are_checked() {
    let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
    a["timeout"] = json!(0);
    a["retryConfig"] = json!({"maxRetries": -1, "initialDelay": 5000, "maxDelay": 10});
    a["tags"] = json!("urgent");
    a["requiresApproval"] = json!("yes");
    a["priorty"] = json!("high");
    a["id"] = json!("has spaces");
    let errs = errors_of(a);
    for expected in [
        "action.timeout: must be a whole number from 1 to 840000",
        "action.retryConfig.maxRetries: must be a whole number from 0 to 20",
        "action.retryConfig.maxDelay: must not be less than initialDelay",
        "action.tags: must be an array of strings, got a string",
        "action.requiresApproval: must be a boolean, got a string",
        "action.id: may contain only letters, digits and - _ . :",
    ] {
        assert!(errs.contains(&expected.to_owned()), "missing {expected} in {errs:?}");
    }
    assert!(errs.iter().any(|e| e.starts_with("action.priorty: unknown field")));
}

#[test]
fn a_partial_retry_config_keeps_the_other_defaults() {
    let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
    a["retryConfig"] = json!({"maxRetries": 5});
    let rc = submit(a).expect("valid").action.retry_config.expect("given");
    assert_eq!(rc, RetryConfig { max_retries: 5, ..RetryConfig::default() });
}

#[test]
fn the_body_must_be_an_object_with_an_action() {
    assert_eq!(parse_submission(&json!([1])).expect_err("array")[0].field, "body");
    assert_eq!(parse_submission(&json!({})).expect_err("empty")[0].to_string(), "action: required");
    assert_eq!(
        parse_submission(&json!({"action": "x"})).expect_err("string")[0].to_string(),
        "action: must be an object, got a string"
    );
}

#[test]
fn a_fallback_is_validated_as_an_action() {
    let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
    a["fallback"] = json!({"type": "create", "platform": "notion", "priority": "low", "data": {"title": "t"}});
    assert_eq!(errors_of(a), ["action.fallback.data.database_id: required"]);
}
#[test]
fn the_ingress_envelope_routes_action_ready_and_names_fields_under_data() {
    let ok = parse_ingress(&json!({"event": "action:ready", "data": fixtures()["action_ready"]})).expect("valid");
    assert_eq!(ok.event(), "action:ready");
    let bad = parse_ingress(&json!({"event": "action:ready", "data": {"action": {"type": "create",
        "platform": "notion", "priority": "normal", "data": {"title": "t"}}}}))
    .expect_err("invalid");
    assert_eq!(bad[0].to_string(), "data.action.data.database_id: required");
    assert_eq!(parse_ingress(&json!({"event": "explode", "data": {}})).expect_err("unknown")[0].field, "event");
    assert_eq!(parse_ingress(&json!({"data": {}})).expect_err("missing")[0].to_string(), "event: required");
}

#[test]
fn ids_that_go_into_platform_urls_must_be_one_plain_segment() {
    let cases = [
        ("notion", "update", json!({"page_id": "../databases/X", "properties": {}}), "action.data.page_id"),
        ("notion", "query", json!({"database_id": "db?filter=1"}), "action.data.database_id"),
        ("trello", "update", json!({"cardId": "c#frag", "listId": "l"}), "action.data.cardId"),
        ("trello", "update", json!({"cardId": "c", "listId": "l/../x"}), "action.data.listId"),
        ("trello", "delete", json!({"cardIds": ["ok-1", "bad/2"]}), "action.data.cardIds[1]"),
        ("drive", "delete", json!({"fileId": "f%2F"}), "action.data.fileId"),
        ("drive", "query", json!({"folderId": "x' or '1'='1"}), "action.data.folderId"),
        ("sheets", "query", json!({"spreadsheetId": "s s", "range": "A1"}), "action.data.spreadsheetId"),
    ];
    for (platform, ty, data, field) in cases {
        let errs = submit(action(platform, ty, data.clone())).expect_err("refused");
        assert!(errs.iter().any(|e| e.field == field && e.reason.contains("platform id")), "{data}: {errs:?}");
    }
    let ok = submit(action("trello", "update", json!({"cardId": "card-1", "listId": "list_2"})));
    assert!(ok.is_ok(), "the contract's own ids stay valid");
}

#[test]
fn the_contract_requires_approval_example_parses_on_the_ingress_and_alone() {
    let f = fixtures();
    let request = parse_approval_request(&f["action_requires_approval"]).expect("valid");
    assert_eq!(request.action.id.as_deref(), Some("action-trello-bulk-001"));
    assert_eq!(request.approvers, ["U12345", "U67890"]);
    assert_eq!(request.timeout, 1_800_000);
    assert_eq!(request.required_approvals, 1);
    let envelope = json!({"event": "action:requires_approval", "data": f["action_requires_approval"]});
    assert!(matches!(parse_ingress(&envelope), Ok(Ingress::RequiresApproval(_))));
    let decision = parse_decision(&f["approve"], crate::approval::Verdict::Approve).expect("approve");
    assert_eq!(decision.user_id, "U12345");
    assert_eq!(
        parse_decision(&f["reject"], crate::approval::Verdict::Reject).expect("reject").reason.as_deref(),
        Some("Insufficient budget")
    );
}

#[test]
fn approval_requests_check_timeout_approvers_and_quorum() {
    let base = || json!({"action": action("slack", "notify", json!({"channel": "#a", "text": "t"})), "reason": "r"});
    let fields = |body: Value| -> Vec<String> {
        parse_approval_request(&body).expect_err("invalid").into_iter().map(|e| e.field).collect()
    };
    let mut b = base();
    b["timeout"] = json!(999);
    assert_eq!(fields(b), ["timeout"]);
    let mut b = base();
    b["timeout"] = json!(7 * 24 * 3_600_000u64 + 1);
    assert_eq!(fields(b), ["timeout"]);
    let mut b = base();
    b["approvers"] = json!(["U1", "bob", "U1"]);
    assert_eq!(fields(b), ["approvers[1]", "approvers[2]"]);
    let mut b = base();
    b["approvers"] = json!(["U1", "W2"]);
    b["requiredApprovals"] = json!(3);
    assert_eq!(fields(b), ["requiredApprovals"]);
    let mut b = base();
    b.as_object_mut().expect("object").remove("reason");
    b["action"]["data"]["text"] = json!(5);
    assert_eq!(fields(b), ["reason", "action.data.text"]);
    let ok = parse_approval_request(&base()).expect("defaults");
    assert_eq!((ok.timeout, ok.required_approvals), (3_600_000, 1));
    assert!(is_slack_user_id("W0ABC9") && !is_slack_user_id("u123") && !is_slack_user_id("U"));
}

#[test]
fn a_rejection_needs_a_reason_and_only_an_approval_carries_a_patch() {
    use crate::approval::Verdict;
    let no_reason = parse_decision(&json!({"userId": "U1"}), Verdict::Reject).expect_err("reason");
    assert_eq!(no_reason[0].field, "reason");
    let patched = parse_decision(&json!({"userId": "U1", "patch": {"a": 1}}), Verdict::Reject).expect_err("patch");
    assert_eq!(patched[0].field, "patch");
    let bad = parse_decision(&json!({"userId": "U1", "patch": [1]}), Verdict::Approve).expect_err("array");
    assert_eq!(bad[0].field, "patch");
    assert!(parse_decision(&json!({"userId": "U1"}), Verdict::Approve).is_ok());
}

#[test]
fn feedback_comes_nested_as_the_contract_examples_have_it_or_beside_the_action_id() {
    let f = crate::validation::parse_feedback_event(&json!({"actionId": "a-1",
        "feedback": {"outcome": "modified", "executionQuality": 3, "learningPoints": ["x"]}}))
    .expect("nested");
    assert_eq!((f.0.as_str(), f.1.execution_quality, f.1.learning_points.len()), ("a-1", 3, 1));
    let flat = crate::validation::parse_feedback_event(&json!({"actionId": "a-1", "outcome": "success",
        "executionQuality": 5}))
    .expect("flat");
    assert_eq!(flat.1.outcome, crate::model::FeedbackOutcome::Success);
    let errors = crate::validation::parse_feedback_event(&json!({"feedback": {"outcome": "success",
        "executionQuality": 0, "extra": 1}}))
    .expect_err("invalid");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["actionId", "feedback.extra", "feedback.executionQuality"]);
}
