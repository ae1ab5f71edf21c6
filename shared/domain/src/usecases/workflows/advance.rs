//! The advance: fold a step's end into the workflow, plan, submit what the plan launched,
//! write the new image conditionally on the version it came from — again on a conflict.
//!
//! Submission comes before the write and is idempotent (deterministic ids, the same resolved
//! data), so a crash or a lost race in between starts nothing twice: the next advance plans
//! the same launches and finds them submitted.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

use super::Workflows;
use crate::error::{DomainError, ErrorCode, StoreError};
use crate::model::{Action, ActionError};
use crate::validation::{ApprovalRequest, NewAction, Submission, parse_action};
use crate::workflow::refs::{Reference, references, resolve};
use crate::workflow::{Compensation, CompensationSource, Launch, MAX_STEPS, Workflow, compensation_id};

/// Conditional writes tried before the advance is left to the sweep.
const ATTEMPTS: usize = 20;

/// Why a launch did not happen: it never can (the step fails), or not just now (retried).
enum Failure {
    Invalid(ActionError),
    Transient(DomainError),
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::Invalid(ActionError { code: ErrorCode::ValidationError, message: message.into(), retriable: false })
}

fn classify(e: DomainError) -> Failure {
    match e {
        DomainError::Invalid(fields) => invalid(fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
        DomainError::Duplicate(m) => {
            Failure::Invalid(ActionError { code: ErrorCode::DuplicateError, message: m, retriable: false })
        }
        other => Failure::Transient(other),
    }
}

fn transient(e: StoreError) -> Failure {
    Failure::Transient(e.into())
}

/// `value` (an action object) with `fields` set.
fn with(mut value: Value, fields: &[(&str, Value)]) -> Value {
    if let Value::Object(map) = &mut value {
        for (k, v) in fields {
            map.insert((*k).to_owned(), v.clone());
        }
    }
    value
}

impl Workflows {
    /// Folds `finished` in (without it, reads the actions of the steps in flight), plans,
    /// submits what the plan launched, and writes the result. The workflow as it now stands.
    pub(crate) async fn advance(&self, id: &str, finished: Option<&Action>) -> Result<Workflow, DomainError> {
        for _ in 0..ATTEMPTS {
            let old = self.require(id).await?;
            let mut next = old.clone();
            let now = self.clock.now();
            match finished {
                Some(action) => {
                    next.record(action, now);
                }
                None => self.fold_actions(&mut next, now).await?,
            }
            self.run_plan(&mut next, now).await?;
            if next == old {
                return Ok(old);
            }
            next.version = old.version + 1;
            next.updated_at = now;
            match self.workflows.replace(&old, &next).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DomainError::Conflict(format!("workflow {id} changed too often to advance now; the sweep retries")))
    }

    /// The sweep's visit: an advance from the actions, written even when nothing changed so
    /// the workflow is not due again for a while.
    pub(crate) async fn reconcile(&self, seen: &Workflow) -> Result<(), DomainError> {
        let after = self.advance(&seen.id, None).await?;
        if after.version != seen.version || after.status.is_terminal() {
            return Ok(());
        }
        let mut touched = after.clone();
        touched.version += 1;
        touched.updated_at = self.clock.now();
        match self.workflows.replace(&after, &touched).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Records every step action and compensation in flight that has ended.
    async fn fold_actions(&self, w: &mut Workflow, now: DateTime<Utc>) -> Result<(), DomainError> {
        let mut ids = Vec::new();
        for s in &w.steps {
            if s.status.in_flight() {
                ids.push(s.action_id.clone());
            }
            if let Some(c) = s.compensation.as_ref().filter(|c| c.status == "queued") {
                ids.push(c.action_id.clone());
            }
        }
        for id in ids {
            if let Some(action) = self.actions.get(&id).await? {
                w.record(&action, now);
            }
        }
        Ok(())
    }

    async fn run_plan(&self, w: &mut Workflow, now: DateTime<Utc>) -> Result<(), DomainError> {
        for _ in 0..(2 * MAX_STEPS + 2) {
            let launches = w.plan(now);
            if launches.is_empty() {
                return Ok(());
            }
            for launch in launches {
                match launch {
                    Launch::Step(i) => match self.launch_step(w, i).await {
                        Ok(()) => w.steps[i].submitted = true,
                        Err(Failure::Invalid(e)) => w.fail_step(i, e, now),
                        Err(Failure::Transient(e)) => return Err(e),
                    },
                    Launch::Compensate(i) => match self.launch_compensation(w, i).await {
                        Ok(Some(c)) => w.compensating(i, c),
                        Ok(None) => w.steps[i].not_compensable = true,
                        Err(Failure::Transient(e)) => return Err(e),
                        Err(Failure::Invalid(e)) => {
                            let action_id = compensation_id(&w.steps[i].action_id);
                            let source = match w.steps[i].rollback {
                                Some(_) => CompensationSource::Rollback,
                                None => CompensationSource::Inverse,
                            };
                            w.compensating(
                                i,
                                Compensation { action_id, source, status: "failed".into(), error: Some(e) },
                            );
                            w.steps[i].status = crate::workflow::StepStatus::CompensationFailed;
                        }
                    },
                }
            }
        }
        Ok(())
    }

    /// `value` with its references resolved from the results of the steps they name (in a dry
    /// run, placeholders naming them).
    async fn resolved(&self, w: &Workflow, value: &Value) -> Result<Value, Failure> {
        if w.dry_run {
            return resolve(value, &|r: &Reference| Some(r.placeholder())).map_err(invalid);
        }
        let mut results: HashMap<String, Value> = HashMap::new();
        for (_, r) in references(value, "") {
            let Ok(r) = r else { continue };
            if results.contains_key(&r.step) {
                continue;
            }
            if let Some(s) = w.step(&r.step) {
                let action = self.actions.get(&s.action_id).await.map_err(transient)?;
                results.insert(r.step.clone(), action.and_then(|a| a.result).unwrap_or(Value::Null));
            }
        }
        resolve(value, &|r: &Reference| results.get(&r.step).and_then(|res| r.pick(res))).map_err(invalid)
    }

    fn new_action(w: &Workflow, step: &str, value: &Value, path: &str) -> Result<NewAction, Failure> {
        let mut new = parse_action(value, path)
            .map_err(|errors| invalid(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
        new.workflow_id = Some(w.id.clone());
        new.step = Some(step.to_owned());
        Ok(new)
    }

    /// Submits step `i`'s action (held for approval when it asks for it).
    async fn launch_step(&self, w: &Workflow, i: usize) -> Result<(), Failure> {
        let step = &w.steps[i];
        let mut value = with(self.resolved(w, &step.action).await?, &[("id", json!(step.action_id))]);
        if w.dry_run {
            value = with(value, &[("dryRun", json!(true)), ("requiresApproval", json!(false))]);
        }
        let new = Self::new_action(w, &step.name, &value, "action")?;
        let submission = Submission { action: new, context: w.context.clone() };
        let result = if submission.action.requires_approval {
            self.approvals.request(ApprovalRequest::for_action(submission)).await.map(|_| ())
        } else {
            self.submitter.ensure(submission).await.map(|_| ())
        };
        result.map_err(classify)
    }

    /// Submits what undoes step `i`: its declared rollback, else the inverse its action
    /// reported. `None` when there is neither.
    async fn launch_compensation(&self, w: &Workflow, i: usize) -> Result<Option<Compensation>, Failure> {
        let step = &w.steps[i];
        let (value, source) = match &step.rollback {
            Some(rollback) => (self.resolved(w, rollback).await?, CompensationSource::Rollback),
            None => {
                let action = self.actions.get(&step.action_id).await.map_err(transient)?;
                let Some(inverse) = action.and_then(|a| a.result).and_then(|r| r.get("inverse").cloned()) else {
                    return Ok(None);
                };
                let value = json!({"type": inverse["type"], "platform": inverse["platform"], "data": inverse["data"]});
                (value, CompensationSource::Inverse)
            }
        };
        let action_id = compensation_id(&step.action_id);
        let value =
            with(value, &[("id", json!(action_id)), ("priority", json!("high")), ("requiresApproval", json!(false))]);
        let mut new = Self::new_action(w, &step.name, &value, "rollback")?;
        new.compensates = true;
        self.submitter.ensure(Submission { action: new, context: w.context.clone() }).await.map_err(classify)?;
        Ok(Some(Compensation { action_id, source, status: "queued".into(), error: None }))
    }
}
