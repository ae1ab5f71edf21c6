//! The plan against hand-made step outcomes: readiness, skips, the end states, the order
//! of compensation, and cancellation.

use super::*;
use crate::error::ErrorCode;
use crate::model::{Action, Status};
use crate::validation::{parse_action, parse_workflow};
use chrono::Utc;
use serde_json::{Value, json};

fn step(name: &str, deps: &[&str]) -> Value {
    json!({"name": name, "dependsOn": deps,
        "action": {"type": "notify", "platform": "slack", "priority": "normal", "data": {"channel": "#c", "text": name}}})
}

fn workflow(transactional: bool, steps: Vec<Value>) -> Workflow {
    let body = json!({"workflowId": "wf-1", "transactional": transactional, "steps": steps});
    Workflow::new("wf-1".into(), parse_workflow(&body).expect("valid"), "fp".into(), Utc::now())
}

/// The step's action, ended with `status`.
fn ended(w: &Workflow, name: &str, status: Status, compensation: bool) -> Action {
    let s = w.step(name).expect("step");
    let mut new = parse_action(&s.action, "action").expect("valid");
    new.id = Some(if compensation { compensation_id(&s.action_id) } else { s.action_id.clone() });
    new.workflow_id = Some(w.id.clone());
    new.step = Some(name.into());
    new.compensates = compensation;
    let mut a = Action::accepted(new, None, Utc::now(), 0, 0);
    a.status = status;
    if status == Status::Failed {
        a.error = Some(ActionError { code: ErrorCode::ServiceDown, message: "down".into(), retriable: false });
    }
    a
}

fn names(w: &Workflow, launches: &[Launch]) -> Vec<String> {
    launches
        .iter()
        .map(|l| match l {
            Launch::Step(i) => w.steps[*i].name.clone(),
            Launch::Compensate(i) => format!("undo {}", w.steps[*i].name),
        })
        .collect()
}

fn planned(w: &mut Workflow) -> Vec<String> {
    let l = w.plan(Utc::now());
    names(w, &l)
}

fn finish(w: &mut Workflow, name: &str, status: Status) -> Vec<String> {
    let a = ended(w, name, status, false);
    assert!(w.record(&a, Utc::now()));
    let l = w.plan(Utc::now());
    names(w, &l)
}

#[test]
fn roots_start_first_and_a_join_waits_for_both_parents() {
    let mut w = workflow(false, vec![step("a", &[]), step("b", &["a"]), step("c", &["a"]), step("d", &["b", "c"])]);
    assert_eq!(names(&w, &w.clone().plan(Utc::now())), ["a"]);
    w.plan(Utc::now());
    assert_eq!(finish(&mut w, "a", Status::Success), ["b", "c"]);
    assert_eq!(finish(&mut w, "b", Status::Success), Vec::<String>::new());
    assert_eq!(finish(&mut w, "c", Status::Success), ["d"]);
    assert!(!w.record(&ended(&w, "c", Status::Success, false), Utc::now()), "a repeated end is nothing new");
    assert_eq!(finish(&mut w, "d", Status::Success), Vec::<String>::new());
    assert_eq!(w.status, WorkflowStatus::Completed);
}

#[test]
fn without_a_transaction_a_failure_skips_its_dependents_and_the_rest_goes_on() {
    let mut w = workflow(false, vec![step("a", &[]), step("b", &["a"]), step("c", &["b"]), step("x", &[])]);
    assert_eq!(planned(&mut w), ["a", "x"]);
    assert_eq!(finish(&mut w, "a", Status::Failed), Vec::<String>::new());
    assert_eq!(w.step("b").expect("present").status, StepStatus::Skipped);
    assert_eq!(w.step("c").expect("present").status, StepStatus::Skipped, "skips cascade");
    assert_eq!(w.status, WorkflowStatus::Running, "x is still running");
    finish(&mut w, "x", Status::Success);
    assert_eq!(w.status, WorkflowStatus::Failed);
    assert_eq!(w.failed_step.as_deref(), Some("a"));
}

#[test]
fn a_transaction_waits_for_steps_in_flight_then_undoes_successes_latest_first() {
    let mut w = workflow(
        true,
        vec![step("a", &[]), step("b", &["a"]), step("slow", &["a"]), step("c", &["b"]), step("z", &["c"])],
    );
    w.plan(Utc::now());
    finish(&mut w, "a", Status::Success);
    finish(&mut w, "b", Status::Success);
    assert_eq!(finish(&mut w, "c", Status::Failed), Vec::<String>::new(), "slow is still running");
    assert_eq!(w.status, WorkflowStatus::RollingBack);
    assert_eq!(w.step("z").expect("present").status, StepStatus::Skipped);
    assert_eq!(finish(&mut w, "slow", Status::Success), ["undo slow"], "the latest success first");
    let i = w.index_of("slow").expect("present");
    let comp = |w: &Workflow, n: &str| Compensation {
        action_id: compensation_id(&w.step(n).expect("present").action_id),
        source: CompensationSource::Inverse,
        status: "queued".into(),
        error: None,
    };
    let c = comp(&w, "slow");
    w.compensating(i, c);
    assert!(w.plan(Utc::now()).is_empty(), "one compensation at a time");
    assert!(w.record(&ended(&w, "slow", Status::Success, true), Utc::now()));
    assert_eq!(planned(&mut w), ["undo b"]);
    let i = w.index_of("b").expect("present");
    w.steps[i].not_compensable = true;
    assert_eq!(planned(&mut w), ["undo a"]);
    let (i, c) = (w.index_of("a").expect("present"), comp(&w, "a"));
    w.compensating(i, c);
    assert!(w.record(&ended(&w, "a", Status::Failed, true), Utc::now()));
    assert!(w.plan(Utc::now()).is_empty());
    assert_eq!(w.status, WorkflowStatus::RollbackFailed);
    assert_eq!(w.compensated(), (vec!["slow"], vec!["a", "b"]));
}

#[test]
fn cancelling_stops_new_steps_and_ends_once_the_running_ones_finish() {
    let mut w = workflow(false, vec![step("a", &[]), step("b", &["a"])]);
    w.plan(Utc::now());
    assert!(w.cancel(Utc::now()));
    assert!(!w.cancel(Utc::now()), "once");
    assert!(finish(&mut w, "a", Status::Success).is_empty());
    assert_eq!(w.step("b").expect("present").status, StepStatus::Cancelled);
    assert_eq!(w.status, WorkflowStatus::Cancelled);
}

#[test]
fn a_dry_run_has_nothing_to_undo() {
    let mut w = workflow(true, vec![step("a", &[]), step("b", &["a"])]);
    w.dry_run = true;
    w.plan(Utc::now());
    finish(&mut w, "a", Status::Success);
    assert!(finish(&mut w, "b", Status::Failed).is_empty());
    assert_eq!(w.status, WorkflowStatus::RolledBack);
}
