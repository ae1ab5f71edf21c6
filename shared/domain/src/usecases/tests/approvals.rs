//! `Approvals` against the in-memory ports: holds, decisions, races, edits, expiry, the Slack
//! request and its update, and the sweep finishing what a crash left.

use super::*;
use crate::approval::{ApprovalStatus, DecisionRequest, Verdict, Via};
use crate::error::DomainError;
use crate::ports::ApprovalStore;
use crate::usecases::{Approvals, Reactor, SlackNotices};
use crate::validation::parse_approval_request;

struct Held {
    w: World,
    approvals: Arc<MemoryApprovals>,
    uc: Approvals,
}

fn held(slack: bool) -> Held {
    let w = World::new(vec![Ok(json!({"ok": true, "channel": "C0CHAN", "ts": "1700000000.000100"}))]);
    let approvals = Arc::new(MemoryApprovals::default());
    let uc = Approvals {
        approvals: approvals.clone(),
        actions: w.store.clone(),
        submitter: w.submitter(),
        platforms: Arc::new(PlatformRegistry::new().with(w.platform.clone())),
        clock: w.clock.clone(),
        slack: SlackNotices { configured: slack, default_channel: Some("#approvals".into()) },
    };
    Held { w, approvals, uc }
}

fn request(extra: Value) -> crate::validation::ApprovalRequest {
    let mut body = json!({"action": {"id": "a-1", "type": "notify", "platform": "slack", "priority": "high",
                                     "userId": "U0ASKER", "data": {"channel": "#ops", "text": "deploy?"}},
                          "reason": "needs a human", "approvers": ["U1", "U2", "U3"]});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    parse_approval_request(&body).expect("valid request")
}

fn decide(user: &str, verdict: Verdict, reason: Option<&str>, patch: Option<Value>) -> DecisionRequest {
    DecisionRequest { user_id: user.into(), verdict, reason: reason.map(Into::into), patch, via: Via::Rest }
}

#[tokio::test]
async fn a_held_action_is_never_queued_until_approved_then_runs_with_the_approved_data() {
    let h = held(false);
    let receipt = h.uc.request(request(json!({}))).await.expect("held");
    assert_eq!(receipt.approval_id, "apv-a-1");
    assert_eq!(h.w.store.snapshot("a-1").expect("stored").status, Status::PendingApproval);
    assert!(lock_items(&h.w).is_empty(), "nothing queued");
    assert_eq!(h.w.executor("w").execute(&item("a-1")).await.expect("ran"), Outcome::Skipped("not runnable"));
    let a = h.approvals.snapshot("apv-a-1").expect("approval");
    assert!(a.announced, "no Slack: announced at once");
    assert_eq!(a.preview["request"]["url"], "scripted://post_message");

    let patch = json!({"text": "deploy v2?"});
    let answer =
        h.uc.decide("apv-a-1", decide("U1", Verdict::Approve, Some("ok"), Some(patch))).await.expect("approve");
    assert!(answer.resolved);
    assert_eq!(answer.approval.preview["request"]["body"]["text"], "deploy v2?", "rendered again");
    let action = h.w.store.snapshot("a-1").expect("stored");
    assert_eq!(action.status, Status::Queued);
    assert_eq!(action.data["text"], "deploy v2?");
    assert_eq!(lock_items(&h.w), ["a-1"]);
    assert!(h.approvals.snapshot("apv-a-1").expect("approval").settled);
    assert_eq!(h.w.executor("w").execute(&item("a-1")).await.expect("ran"), Outcome::Completed);
}

fn lock_items(w: &World) -> Vec<String> {
    crate::sync::lock(&w.queue.items).iter().map(|(i, _)| i.action_id.clone()).collect()
}

#[tokio::test]
async fn who_may_decide_and_what_a_bad_edit_does() {
    let h = held(false);
    h.uc.request(request(json!({"approvers": []}))).await.expect("held");
    let own = h.uc.decide("apv-a-1", decide("U0ASKER", Verdict::Approve, None, None)).await;
    assert!(matches!(own, Err(DomainError::Forbidden(_))), "{own:?}");
    let bad = h.uc.decide("apv-a-1", decide("U1", Verdict::Approve, None, Some(json!({"text": 7})))).await;
    let Err(DomainError::Invalid(fields)) = bad else { panic!("expected invalid: {bad:?}") };
    assert_eq!(fields[0].field, "patch.text");
    assert_eq!(h.approvals.snapshot("apv-a-1").expect("approval").status, ApprovalStatus::Pending);
    let missing = h.uc.decide("apv-nope", decide("U1", Verdict::Approve, None, None)).await;
    assert!(matches!(missing, Err(DomainError::NotFound(_))));

    let h = held(false);
    h.uc.request(request(json!({}))).await.expect("held");
    let stranger = h.uc.decide("apv-a-1", decide("U9", Verdict::Approve, None, None)).await;
    assert!(matches!(stranger, Err(DomainError::Forbidden(_))));
    h.uc.decide("apv-a-1", decide("U2", Verdict::Reject, Some("no"), None)).await.expect("reject");
    let action = h.w.store.snapshot("a-1").expect("stored");
    assert_eq!(action.status, Status::Rejected);
    assert!(action.error.expect("error").message.contains("rejected by U2: no"));
    let late = h.uc.decide("apv-a-1", decide("U1", Verdict::Approve, None, None)).await;
    let Err(DomainError::AlreadyResolved { status, .. }) = late else { panic!("expected 409: {late:?}") };
    assert_eq!(status, "rejected");
}

#[tokio::test]
async fn a_quorum_of_two_waits_for_two_different_people() {
    let h = held(false);
    h.uc.request(request(json!({"requiredApprovals": 2}))).await.expect("held");
    let first = h.uc.decide("apv-a-1", decide("U1", Verdict::Approve, None, None)).await.expect("first");
    assert!(!first.resolved);
    let again = h.uc.decide("apv-a-1", decide("U1", Verdict::Approve, None, None)).await.expect("again");
    assert!(!again.resolved && again.decision.is_none(), "one user counts once");
    assert_eq!(h.w.store.snapshot("a-1").expect("stored").status, Status::PendingApproval);
    let second = h.uc.decide("apv-a-1", decide("U3", Verdict::Approve, None, None)).await.expect("second");
    assert!(second.resolved);
    assert_eq!(h.w.store.snapshot("a-1").expect("stored").status, Status::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_twenty_racing_decisions_exactly_one_resolves() {
    let h = held(false);
    h.uc.request(request(json!({"approvers": []}))).await.expect("held");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let uc = h.uc.clone();
            tokio::spawn(async move {
                let verdict = if i % 2 == 0 { Verdict::Approve } else { Verdict::Reject };
                uc.decide("apv-a-1", decide(&format!("U{i}"), verdict, Some("race"), None)).await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(answer) => {
                assert!(answer.resolved);
                won += 1;
            }
            Err(DomainError::AlreadyResolved { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    let a = h.approvals.snapshot("apv-a-1").expect("approval");
    assert_eq!(a.decisions.len(), 1, "one decision landed");
}

#[tokio::test]
async fn an_approval_not_decided_in_time_expires_and_the_action_never_runs() {
    let h = held(false);
    h.uc.request(request(json!({"timeout": 1000}))).await.expect("held");
    assert_eq!(h.uc.sweep(h.w.clock.now()).await.expect("sweep").expired, 0);
    h.w.clock.advance(Duration::from_millis(1500));
    assert_eq!(h.uc.sweep(h.w.clock.now()).await.expect("sweep").expired, 1);
    assert_eq!(h.approvals.snapshot("apv-a-1").expect("approval").status, ApprovalStatus::Expired);
    assert_eq!(h.w.store.snapshot("a-1").expect("stored").status, Status::Expired);
    assert!(h.approvals.snapshot("apv-a-1").expect("approval").settled);
    assert_eq!(h.w.platform.call_count(), 0);
}

#[tokio::test]
async fn the_slack_request_is_posted_recorded_and_updated_once_resolved() {
    let h = held(true);
    h.uc.request(request(json!({}))).await.expect("held");
    assert!(!h.approvals.snapshot("apv-a-1").expect("approval").announced, "waits for the post");
    let notice = h.w.store.snapshot("apv-a-1-request").expect("request notice");
    assert_eq!(notice.data["channel"], "#approvals");
    assert_eq!(notice.data["approvalId"], "apv-a-1");
    assert_eq!(lock_items(&h.w), ["apv-a-1-request"], "through the queue like any Slack call");

    h.w.executor("w").execute(&item("apv-a-1-request")).await.expect("posted");
    let done = h.w.store.snapshot("apv-a-1-request").expect("notice");
    Reactor { approvals: h.uc.clone(), workflows: workflows_over(h.uc.clone()) }
        .react(None, &done)
        .await
        .expect("react");
    let a = h.approvals.snapshot("apv-a-1").expect("approval");
    assert!(a.announced);
    assert_eq!(
        (a.slack_channel_id.as_deref(), a.slack_message_ts.as_deref()),
        (Some("C0CHAN"), Some("1700000000.000100"))
    );

    h.uc.decide("apv-a-1", decide("U1", Verdict::Approve, None, None)).await.expect("approve");
    let update = h.w.store.snapshot("apv-a-1-update").expect("update notice");
    assert_eq!(update.data["ts"], "1700000000.000100");
    assert_eq!(update.data["channel"], "C0CHAN");
    assert!(update.data["text"].as_str().expect("text").starts_with("Approved by <@U1>"));
    assert!(!update.data.to_string().contains("button"), "no buttons once resolved");
}

#[tokio::test]
async fn the_sweep_finishes_what_a_crash_left_half_done() {
    let h = held(false);
    h.uc.request(request(json!({}))).await.expect("held");
    // A crash between the approval's write and the action's: the sweep stores the action.
    let a = h.approvals.snapshot("apv-a-1").expect("approval");
    let mut fresh = a.clone();
    fresh.id = "apv-b-1".into();
    fresh.action_id = "b-1".into();
    fresh.action.id = "b-1".into();
    fresh.action.approval_id = Some("apv-b-1".into());
    fresh.announced = false;
    h.approvals.insert(&fresh).await.expect("insert");
    h.w.clock.advance(Duration::from_secs(31));
    let report = h.uc.sweep(h.w.clock.now()).await.expect("sweep");
    assert_eq!(report.announced, 1);
    assert_eq!(h.w.store.snapshot("b-1").expect("stored by the sweep").status, Status::PendingApproval);
    assert!(h.approvals.snapshot("apv-b-1").expect("approval").announced, "nothing to post: announced");
    // A resolution written but not carried out: the sweep releases the action.
    let pending = h.approvals.snapshot("apv-b-1").expect("approval");
    let decided = pending.record(&decide("U1", Verdict::Approve, None, None), None, h.w.clock.now()).expect("record");
    h.approvals.replace(&pending, &decided.approval).await.expect("write");
    let report = h.uc.sweep(h.w.clock.now()).await.expect("sweep");
    assert_eq!(report.settled, 1);
    assert_eq!(h.w.store.snapshot("b-1").expect("stored").status, Status::Queued);
    assert!(h.approvals.snapshot("apv-b-1").expect("approval").settled);
}

#[tokio::test]
async fn the_same_request_again_is_replayed_and_a_different_one_refused() {
    let h = held(false);
    let first = h.uc.request(request(json!({}))).await.expect("held");
    let again = h.uc.request(request(json!({}))).await.expect("again");
    assert!(again.replayed && !first.replayed);
    assert_eq!(again.approval_id, first.approval_id);
    let other = h.uc.request(request(json!({"reason": "something else"}))).await;
    assert!(matches!(other, Err(DomainError::Duplicate(_))));
}
