//! `Ingestor`.

use super::*;

#[tokio::test]
async fn ingest_accepts_once_acknowledges_redeliveries_and_rejects_with_reasons() {
    let w = World::new(vec![]);
    let ingestor = Ingestor {
        submitter: w.submitter(),
        approvals: w.approvals(),
        workflows: workflows_over(w.approvals()),
        operator: crate::usecases::Operator::over(&w.approvals()),
    };
    let msg = json!({"event": "action:ready", "data": {"action": {"id": "in-1", "type": "notify",
        "platform": "slack", "priority": "low", "data": {"channel": "#a", "text": "t"}}}})
    .to_string();
    assert!(matches!(ingestor.ingest(&msg, None).await.expect("ok"), IngestOutcome::Accepted(_)));
    assert_eq!(ingestor.ingest(&msg, None).await.expect("ok"), IngestOutcome::AlreadyAccepted("in-1".into()));
    let other = msg.replace("\"t\"", "\"different\"");
    let IngestOutcome::Rejected { fields, .. } = ingestor.ingest(&other, None).await.expect("ok") else {
        panic!("a different action under a taken id is rejected")
    };
    assert_eq!(fields[0].field, "data.action.id");
    let IngestOutcome::Rejected { reason, .. } = ingestor.ingest("{oops", None).await.expect("ok") else {
        panic!("not JSON is rejected")
    };
    assert!(reason.starts_with("not JSON"));
    let IngestOutcome::Rejected { fields, .. } =
        ingestor.ingest(r#"{"event":"action:ready","data":{"action":{"type":"notify"}}}"#, None).await.expect("ok")
    else {
        panic!("invalid")
    };
    assert!(fields.iter().any(|f| f.field == "data.action.platform"), "{fields:?}");
}

#[tokio::test]
async fn a_redelivered_message_without_an_action_id_is_the_same_action_not_a_second() {
    let w = World::new(vec![]);
    let ingestor = Ingestor {
        submitter: w.submitter(),
        approvals: w.approvals(),
        workflows: workflows_over(w.approvals()),
        operator: crate::usecases::Operator::over(&w.approvals()),
    };
    let msg = json!({"event": "action:ready", "data": {"action": {"type": "notify",
        "platform": "slack", "priority": "low", "data": {"channel": "#a", "text": "t"}}}})
    .to_string();
    let IngestOutcome::Accepted(first) = ingestor.ingest(&msg, Some("5fea7756-0ea4-451a")).await.expect("ok") else {
        panic!("accepted")
    };
    assert_eq!(first.action_id, "msg-5fea7756-0ea4-451a");
    for _ in 0..3 {
        let again = ingestor.ingest(&msg, Some("5fea7756-0ea4-451a")).await.expect("ok");
        assert_eq!(again, IngestOutcome::AlreadyAccepted(first.action_id.clone()));
    }
    assert_eq!(w.store.write_count(), 1, "one action");
    assert_eq!(w.queue.items.lock().expect("lock").len(), 1, "queued once");
}

#[tokio::test]
async fn an_oversize_body_is_rejected_with_its_size() {
    let w = World::new(vec![]);
    let ingestor = Ingestor {
        submitter: w.submitter(),
        approvals: w.approvals(),
        workflows: workflows_over(w.approvals()),
        operator: crate::usecases::Operator::over(&w.approvals()),
    };
    let body = format!("{{\"event\": \"action:ready\", \"pad\": \"{}\"}}", "x".repeat(300 * 1024));
    let IngestOutcome::Rejected { fields, .. } = ingestor.ingest(&body, Some("m")).await.expect("ok") else {
        panic!("rejected")
    };
    assert_eq!(fields[0].field, "body");
    assert!(fields[0].reason.contains("limit"), "{}", fields[0].reason);
}

#[tokio::test]
async fn requires_approval_on_the_ingress_holds_the_action_once() {
    let w = World::new(vec![]);
    let ingestor = Ingestor {
        submitter: w.submitter(),
        approvals: w.approvals(),
        workflows: workflows_over(w.approvals()),
        operator: crate::usecases::Operator::over(&w.approvals()),
    };
    let msg = json!({"event": "action:requires_approval", "data": {"reason": "big", "action": {"type": "notify",
        "platform": "slack", "priority": "low", "data": {"channel": "#a", "text": "t"}}}})
    .to_string();
    let IngestOutcome::Held(first) = ingestor.ingest(&msg, Some("m-1")).await.expect("ok") else { panic!("held") };
    assert_eq!((first.action_id.as_str(), first.approval_id.as_str()), ("msg-m-1", "apv-msg-m-1"));
    assert_eq!(ingestor.ingest(&msg, Some("m-1")).await.expect("ok"), IngestOutcome::AlreadyAccepted("msg-m-1".into()));
    assert!(w.queue.items.lock().expect("lock").is_empty(), "held, not queued");
    let ready = json!({"event": "action:ready", "data": {"action": {"type": "notify", "requiresApproval": true,
        "platform": "slack", "priority": "low", "data": {"channel": "#a", "text": "t"}}}})
    .to_string();
    assert!(matches!(ingestor.ingest(&ready, Some("m-2")).await.expect("ok"), IngestOutcome::Held(_)));
}
