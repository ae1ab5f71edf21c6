use super::*;
use crate::events::{APPROVAL_PENDING, APPROVAL_RESOLVED, Change, derive_events};
use chrono::Duration;
use serde_json::json;

fn approval(approvers: &[&str], required: u32) -> Approval {
    let now = Utc::now();
    let action: Action = serde_json::from_value(json!({
        "id": "a-1", "type": "delete", "platform": "trello", "priority": "critical",
        "data": {"operation": "bulk_delete", "cardIds": ["c1", "c2"]}, "userId": "U0ASKER",
        "status": "pending_approval", "version": 1, "createdAt": now, "updatedAt": now,
        "queuePosition": 0, "estimatedWait": 0, "approvalId": "apv-a-1"
    }))
    .expect("action");
    Approval {
        id: "apv-a-1".into(),
        action_id: "a-1".into(),
        digest: digest(&action.data),
        action,
        reason: "bulk delete".into(),
        context: None,
        approvers: approvers.iter().map(|s| s.to_string()).collect(),
        required_approvals: required,
        requested_by: Some("U0ASKER".into()),
        channel: None,
        slack_channel_id: None,
        slack_message_ts: None,
        status: ApprovalStatus::Pending,
        decisions: Vec::new(),
        preview: json!({"request": {"method": "DELETE", "url": "https://api.trello.com/1/cards/c1"}}),
        announced: true,
        settled: false,
        created_at: now,
        updated_at: now,
        expires_at: now + Duration::minutes(30),
        resolved_at: None,
        resolved_by: None,
        resolution_reason: None,
        version: 1,
    }
}

fn ask(user: &str, verdict: Verdict) -> DecisionRequest {
    DecisionRequest { user_id: user.into(), verdict, reason: None, patch: None, via: Via::Rest }
}

#[test]
fn a_quorum_counts_each_user_once() {
    let a = approval(&["U1", "U2", "U3"], 2);
    let now = a.created_at;
    let first = a.record(&ask("U1", Verdict::Approve), None, now).expect("first");
    assert!(!first.resolved);
    assert_eq!(first.approval.status, ApprovalStatus::Pending);
    assert!(matches!(first.approval.refusal(&ask("U1", Verdict::Approve), now), Some(Refusal::Repeated { .. })));
    let second = first.approval.record(&ask("U2", Verdict::Approve), None, now).expect("second");
    assert!(second.resolved);
    assert_eq!(second.approval.status, ApprovalStatus::Approved);
    assert_eq!(second.approval.resolved_by.as_deref(), Some("U2"));
    assert_eq!(second.approval.version, 3);
    assert!(matches!(
        second.approval.refusal(&ask("U3", Verdict::Reject), now),
        Some(Refusal::Resolved { status: ApprovalStatus::Approved, .. })
    ));
}

#[test]
fn only_named_approvers_decide_and_never_on_their_own_action() {
    let a = approval(&["U1"], 1);
    let now = a.created_at;
    assert!(matches!(a.refusal(&ask("U9", Verdict::Approve), now), Some(Refusal::NotAnApprover { .. })));
    let open = approval(&[], 1);
    assert!(matches!(open.refusal(&ask("U0ASKER", Verdict::Approve), now), Some(Refusal::OwnAction { .. })));
    assert!(open.refusal(&ask("U0ASKER", Verdict::Reject), now).is_none(), "withdrawing by rejecting is fine");
    assert!(open.refusal(&ask("U5", Verdict::Approve), now).is_none());
}

#[test]
fn an_edit_sets_a_new_digest_and_earlier_approvals_stop_counting() {
    let a = approval(&["U1", "U2"], 2);
    let now = a.created_at;
    let first = a.record(&ask("U1", Verdict::Approve), None, now).expect("first").approval;
    let data = json!({"operation": "bulk_delete", "cardIds": ["c1"]});
    let mut edit = ask("U2", Verdict::Approve);
    edit.patch = Some(json!({"cardIds": ["c1"]}));
    let edited = first.record(&edit, Some((data.clone(), json!({"new": true}))), now).expect("edit");
    assert!(!edited.resolved, "U1 approved other data");
    assert_eq!(edited.approval.digest, digest(&data));
    assert_eq!(edited.approval.action.data, data);
    assert_eq!(edited.approval.preview, json!({"new": true}));
    assert_eq!(edited.approval.approvals().len(), 1);
    let again = edited.approval.record(&ask("U1", Verdict::Approve), None, now).expect("U1 again");
    assert!(again.resolved);
    assert_eq!(again.approval.decisions.len(), 3);
}

#[test]
fn overdue_counts_as_expired_and_expiry_resolves() {
    let a = approval(&[], 1);
    let late = a.expires_at + Duration::seconds(1);
    assert!(matches!(
        a.refusal(&ask("U1", Verdict::Approve), late),
        Some(Refusal::Resolved { status: ApprovalStatus::Expired, .. })
    ));
    assert!(a.expire(a.created_at).is_err(), "not before its time");
    let expired = a.expire(late).expect("expire");
    assert_eq!(expired.status, ApprovalStatus::Expired);
    assert_eq!(expired.status.event_word(), "timeout");
    assert_eq!(expired.due_at(), expired.resolved_at, "due at once: to be settled");
    let settled = expired.settle(late).expect("settle");
    assert_eq!(settled.due_at(), None, "leaves the open index");
    assert!(settled.settle(late).is_err());
}

#[test]
fn the_open_index_key_follows_what_the_sweep_must_do_next() {
    let mut a = approval(&[], 1);
    assert_eq!(a.due_at(), Some(a.expires_at));
    a.announced = false;
    assert_eq!(a.due_at(), Some(a.created_at + Duration::seconds(ANNOUNCE_CHECK_SECS)));
    let posted = a.announce(Some(("C1".into(), "1.2".into())), a.created_at).expect("announce");
    assert_eq!(posted.due_at(), Some(posted.expires_at));
    assert!(posted.announce(Some(("C1".into(), "1.2".into())), a.created_at).is_err(), "twice is nothing");
    let rejected = posted.record(&ask("U1", Verdict::Reject), None, a.created_at).expect("reject").approval;
    let settled = rejected.settle(a.created_at).expect("settled");
    assert!(settled.settled);
}

#[test]
fn a_message_posted_after_the_resolution_reopens_it_to_be_updated() {
    let mut a = approval(&[], 1);
    a.announced = false;
    let now = a.created_at;
    let rejected = a.record(&ask("U1", Verdict::Reject), None, now).expect("reject").approval;
    let settled = rejected.settle(now).expect("settle");
    let posted = settled.announce(Some(("C1".into(), "9.9".into())), now).expect("late post");
    assert!(!posted.settled);
    assert_eq!(posted.slack_message_ts.as_deref(), Some("9.9"));
}

#[test]
fn events_pending_when_announced_and_resolved_once() {
    let mut a = approval(&["U1"], 1);
    a.announced = false;
    assert!(derive_events(Change::Approval { old: None, new: &a }).is_empty(), "waits for the Slack post");
    let posted = a.announce(Some(("C1".into(), "1.5".into())), a.created_at).expect("announce");
    let ev = derive_events(Change::Approval { old: Some(&a), new: &posted });
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].event, APPROVAL_PENDING);
    assert_eq!(ev[0].data["slackMessageTs"], "1.5");
    assert_eq!(ev[0].data["approvers"], json!(["U1"]));
    assert_eq!(ev[0].data["preview"]["request"]["method"], "DELETE");
    assert_eq!(ev[0].data["action"]["id"], "a-1");
    let mut no = ask("U1", Verdict::Reject);
    no.reason = Some("too many".into());
    let done = posted.record(&no, None, a.created_at).expect("reject").approval;
    let ev = derive_events(Change::Approval { old: Some(&posted), new: &done });
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].event, APPROVAL_RESOLVED);
    assert_eq!(ev[0].data["status"], "rejected");
    assert_eq!(ev[0].data["resolvedBy"], "U1");
    assert_eq!(ev[0].data["reason"], "too many");
    let settled = done.settle(a.created_at).expect("settle");
    assert!(derive_events(Change::Approval { old: Some(&done), new: &settled }).is_empty());
    assert!(derive_events(Change::Approval { old: Some(&done), new: &done }).is_empty(), "redelivery");
}

#[test]
fn an_action_runs_only_as_approved() {
    let a = approval(&[], 1);
    let released = a.action.release(a.action.data.clone(), a.digest.clone(), a.created_at).expect("release");
    assert_eq!(released.status, crate::model::Status::Queued);
    assert!(unapproved(&released).is_none());
    let mut tampered = released.clone();
    tampered.data = json!({"operation": "bulk_delete", "cardIds": ["everything"]});
    assert_eq!(unapproved(&tampered).map(|e| e.code), Some(ErrorCode::PermissionDenied));
    assert!(unapproved(&a.action).is_some(), "held, never released");
}
