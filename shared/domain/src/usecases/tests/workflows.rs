//! `Workflows` against the in-memory ports: submission and replay, the advance through the
//! reactor, the sweep making good a lost reaction, references failing a step, cancel.

use super::*;
use crate::error::DomainError;
use crate::usecases::Workflows;
use crate::validation::parse_workflow;
use crate::workflow::{StepStatus, WorkflowStatus};

fn posted() -> Result<Value, PlatformError> {
    Ok(json!({"ok": true, "channel": "C1", "ts": "1.1"}))
}

fn notify(text: &str) -> Value {
    json!({"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": "#ops", "text": text}})
}

fn two_steps(b_text: &str) -> Value {
    json!({"workflowId": "wf-1", "steps": [{"name": "a", "action": notify("a")},
        {"name": "b", "dependsOn": "a", "action": notify(b_text)}]})
}

fn queued(w: &World) -> Vec<String> {
    crate::sync::lock(&w.queue.items).iter().map(|(i, _)| i.action_id.clone()).collect()
}

async fn run(w: &World, uc: &Workflows, id: &str) {
    w.executor("w").execute(&item(id)).await.expect("executed");
    let done = w.store.snapshot(id).expect("stored");
    uc.on_action(&done).await.expect("advanced");
}

#[tokio::test]
async fn roots_are_queued_at_once_and_a_replay_queues_nothing_more() {
    let w = World::new(vec![posted(), posted()]);
    let uc = workflows_over(w.approvals());
    let first = uc.submit(parse_workflow(&two_steps("b")).expect("valid")).await.expect("submitted");
    assert!(!first.replayed);
    assert_eq!(queued(&w), ["wf-1.a"]);
    let again = uc.submit(parse_workflow(&two_steps("b")).expect("valid")).await.expect("replayed");
    assert!(again.replayed);
    assert_eq!(queued(&w), ["wf-1.a"], "nothing is queued twice");
    let other = uc.submit(parse_workflow(&two_steps("other")).expect("valid")).await;
    assert!(matches!(other, Err(DomainError::Duplicate(_))), "{other:?}");
}

#[tokio::test]
async fn a_lost_reaction_is_made_good_by_the_sweep() {
    let w = World::new(vec![posted(), posted()]);
    let uc = workflows_over(w.approvals());
    uc.submit(parse_workflow(&two_steps("b after {{steps.a.result.ts}}")).expect("valid")).await.expect("submitted");
    w.executor("w").execute(&item("wf-1.a")).await.expect("executed");
    // No reaction: the record still has `a` in flight.
    assert_eq!(uc.sweep(w.clock.now()).await.expect("sweep"), 0, "not stale yet");
    w.clock.advance(Duration::from_secs(31));
    assert_eq!(uc.sweep(w.clock.now()).await.expect("sweep"), 1);
    assert_eq!(w.store.snapshot("wf-1.b").expect("b submitted").data["text"], "b after 1.1");
    run(&w, &uc, "wf-1.b").await;
    assert_eq!(uc.get("wf-1").await.expect("get").status, WorkflowStatus::Completed);
}

#[tokio::test]
async fn a_reference_without_a_value_fails_its_step_with_the_reference_named() {
    let w = World::new(vec![posted()]);
    let uc = workflows_over(w.approvals());
    uc.submit(parse_workflow(&two_steps("{{steps.a.result.missing}}")).expect("valid")).await.expect("submitted");
    run(&w, &uc, "wf-1.a").await;
    let view = uc.get("wf-1").await.expect("get");
    assert_eq!(view.status, WorkflowStatus::Failed);
    assert_eq!(view.steps[1].status, StepStatus::Failed);
    let error = view.steps[1].error.clone().expect("error");
    assert_eq!(error.code, ErrorCode::ValidationError);
    assert!(error.message.contains("steps.a.result.missing"), "{}", error.message);
    assert!(w.store.snapshot("wf-1.b").is_none(), "no action was submitted");
}

#[tokio::test]
async fn a_cancel_cancels_the_queued_step_and_ends_the_workflow() {
    let w = World::new(vec![]);
    let uc = workflows_over(w.approvals());
    uc.submit(parse_workflow(&two_steps("b")).expect("valid")).await.expect("submitted");
    uc.cancel("wf-1").await.expect("cancelled");
    let a = w.store.snapshot("wf-1.a").expect("a");
    assert_eq!(a.status, Status::Cancelled);
    uc.on_action(&a).await.expect("advanced");
    let view = uc.get("wf-1").await.expect("get");
    assert_eq!(view.status, WorkflowStatus::Cancelled);
    assert_eq!((view.steps[0].status, view.steps[1].status), (StepStatus::Cancelled, StepStatus::Cancelled));
    assert!(matches!(uc.cancel("wf-1").await, Err(DomainError::Conflict(_))), "over already");
    assert_eq!(w.platform.call_count(), 0);
}
