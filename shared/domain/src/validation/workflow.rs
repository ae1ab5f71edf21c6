//! The `workflow:ready` payload (`POST /api/workflows`, `POST /api/events`, the SQS ingress):
//! steps with unique names, known dependencies and no cycle, valid actions, and references
//! only to steps each depends on.
//!
//! Pure; must not import any adapter crate.

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

use super::checker::Checker;
use super::parse_action;
use crate::error::FieldError;
use crate::workflow::refs::references;
use crate::workflow::{MAX_STEP_NAME, MAX_STEPS, name_char};

const FIELDS: &[&str] = &["workflowId", "name", "steps", "transactional", "idempotencyKey", "context", "dryRun"];
const STEP_FIELDS: &[&str] = &["name", "action", "dependsOn", "rollback"];

/// A valid workflow submission.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowRequest {
    pub workflow_id: Option<String>,
    pub name: Option<String>,
    pub transactional: bool,
    pub idempotency_key: Option<String>,
    pub context: Option<Value>,
    pub dry_run: bool,
    pub steps: Vec<StepRequest>,
    /// The payload as submitted: what a resubmission is compared with.
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRequest {
    pub name: String,
    /// As submitted: references are resolved when the step is queued.
    pub action: Value,
    pub depends_on: Vec<String>,
    pub rollback: Option<Value>,
}

/// Parses a workflow payload; paths are from its root (`steps[2].dependsOn`).
pub fn parse_workflow(body: &Value) -> Result<WorkflowRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"steps\": [...], ...}")]);
    };
    let mut c = Checker { errors: &mut errors, prefix: String::new() };
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            c.err(key, format!("unknown field; allowed: {}", FIELDS.join(", ")));
        }
    }
    let workflow_id = c.opt_id(obj, "workflowId");
    if let Some(id) = &workflow_id
        && !id.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch))
    {
        c.err("workflowId", "may contain only letters, digits and - _ . :");
    }
    let name = c.opt_id(obj, "name");
    let idempotency_key = c.opt_id(obj, "idempotencyKey");
    let transactional = c.opt_bool(obj, "transactional");
    let dry_run = c.opt_bool(obj, "dryRun");
    let context = obj.get("context").filter(|v| !v.is_null()).cloned();
    let steps = match obj.get("steps") {
        Some(Value::Array(items)) if items.is_empty() => {
            c.err("steps", "must have at least one step");
            Vec::new()
        }
        Some(Value::Array(items)) if items.len() > MAX_STEPS => {
            c.err("steps", format!("at most {MAX_STEPS} steps; got {}", items.len()));
            Vec::new()
        }
        Some(Value::Array(items)) => parse_steps(items, &mut errors),
        None | Some(Value::Null) => {
            c.err("steps", "required");
            Vec::new()
        }
        Some(_) => {
            c.err("steps", "must be an array of steps");
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(WorkflowRequest {
        workflow_id,
        name,
        transactional,
        idempotency_key,
        context,
        dry_run,
        steps,
        body: body.clone(),
    })
}

fn parse_steps(items: &[Value], errors: &mut Vec<FieldError>) -> Vec<StepRequest> {
    let mut steps = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("steps[{i}]");
        let Value::Object(obj) = item else {
            errors.push(FieldError::new(&path, "must be an object {name, action, dependsOn?, rollback?}"));
            continue;
        };
        let mut c = Checker { errors, prefix: path.clone() };
        for key in obj.keys() {
            if !STEP_FIELDS.contains(&key.as_str()) {
                c.err(key, format!("unknown field; allowed: {}", STEP_FIELDS.join(", ")));
            }
        }
        let name = match obj.get("name") {
            Some(Value::String(n)) if n.is_empty() || n.len() > MAX_STEP_NAME || !n.chars().all(name_char) => {
                c.err("name", format!("must be 1 to {MAX_STEP_NAME} letters, digits, _ or -"));
                None
            }
            Some(Value::String(n)) => Some(n.clone()),
            None | Some(Value::Null) => {
                c.err("name", "required");
                None
            }
            Some(_) => {
                c.err("name", "must be a string");
                None
            }
        };
        if let Some(n) = &name
            && let Some(first) = seen.insert(n.clone(), i)
        {
            c.err("name", format!("'{n}' is also the name of steps[{first}]; step names must be unique"));
        }
        let depends_on = depends_on(obj, &mut c);
        let action = obj.get("action").filter(|v| !v.is_null()).cloned();
        if action.is_none() {
            c.err("action", "required");
        }
        let rollback = obj.get("rollback").filter(|v| !v.is_null()).cloned();
        if let Some(a) = &action {
            check_action(a, &format!("{path}.action"), errors);
        }
        if let Some(r) = &rollback {
            check_action(r, &format!("{path}.rollback"), errors);
        }
        let action = action.unwrap_or(Value::Null);
        steps.push(StepRequest { name: name.unwrap_or_default(), action, depends_on, rollback });
    }
    if errors.is_empty() {
        check_graph(&steps, errors);
    }
    steps
}

fn depends_on(obj: &Map<String, Value>, c: &mut Checker<'_>) -> Vec<String> {
    match obj.get("dependsOn") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(d)) => vec![d.clone()],
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (j, d) in items.iter().enumerate() {
                match d {
                    Value::String(d) => out.push(d.clone()),
                    _ => c.err(&format!("dependsOn[{j}]"), "must be a step name"),
                }
            }
            out
        }
        Some(_) => {
            c.err("dependsOn", "must be a step name or a list of step names");
            Vec::new()
        }
    }
}

/// Validates an action as any other, except where a reference stands in for a value that
/// is known only when the step runs (it is validated again then).
fn check_action(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let held: Vec<String> = references(value, path).into_iter().map(|(p, _)| p).collect();
    if let Err(found) = parse_action(value, path) {
        errors.extend(found.into_iter().filter(|e| {
            !held
                .iter()
                .any(|p| e.field == *p || e.field.strip_prefix(p.as_str()).is_some_and(|r| r.starts_with(['.', '['])))
        }));
    }
}

/// Dependencies name other steps, form no cycle, and references name only ancestors.
fn check_graph(steps: &[StepRequest], errors: &mut Vec<FieldError>) {
    let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    for (i, s) in steps.iter().enumerate() {
        for d in &s.depends_on {
            if d == &s.name {
                errors.push(FieldError::new(format!("steps[{i}].dependsOn"), "a step cannot depend on itself"));
            } else if !index.contains_key(d.as_str()) {
                errors.push(FieldError::new(format!("steps[{i}].dependsOn"), format!("no step is named '{d}'")));
            }
        }
    }
    if !errors.is_empty() {
        return;
    }
    if let Some(cycle) = find_cycle(steps, &index) {
        let (first, names) = cycle;
        errors.push(FieldError::new(format!("steps[{first}].dependsOn"), format!("the steps form a cycle: {names}")));
        return;
    }
    for (i, s) in steps.iter().enumerate() {
        let ancestors = ancestors(steps, &index, i);
        let mut check = |value: &Value, path: String, own: bool| {
            for (at, r) in references(value, &path) {
                match r {
                    Err(why) => errors.push(FieldError::new(at, why)),
                    Ok(r) if ancestors.contains(r.step.as_str()) || (own && r.step == s.name) => {}
                    Ok(r) => errors.push(FieldError::new(
                        at,
                        format!("{{{{{}}}}} names step '{}', which this step does not depend on", r.text, r.step),
                    )),
                }
            }
        };
        check(&s.action, format!("steps[{i}].action"), false);
        if let Some(r) = &s.rollback {
            check(r, format!("steps[{i}].rollback"), true);
        }
    }
}

fn ancestors<'a>(steps: &'a [StepRequest], index: &HashMap<&str, usize>, i: usize) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut stack: Vec<usize> = vec![i];
    while let Some(at) = stack.pop() {
        for d in &steps[at].depends_on {
            if seen.insert(d.as_str()) {
                stack.push(index[d.as_str()]);
            }
        }
    }
    seen
}

/// The first cycle found (the index of a step on it, and its names `a → b → a`).
fn find_cycle(steps: &[StepRequest], index: &HashMap<&str, usize>) -> Option<(usize, String)> {
    // 0 unvisited, 1 on the path, 2 done.
    let mut mark = vec![0u8; steps.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        at: usize,
        steps: &[StepRequest],
        index: &HashMap<&str, usize>,
        mark: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        mark[at] = 1;
        path.push(at);
        for d in &steps[at].depends_on {
            let next = index[d.as_str()];
            if mark[next] == 1 {
                let from = path.iter().position(|&p| p == next).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(next);
                return Some(cycle);
            }
            if mark[next] == 0
                && let Some(c) = visit(next, steps, index, mark, path)
            {
                return Some(c);
            }
        }
        path.pop();
        mark[at] = 2;
        None
    }
    for start in 0..steps.len() {
        if mark[start] == 0
            && let Some(cycle) = visit(start, steps, index, &mut mark, &mut path)
        {
            let names: Vec<&str> = cycle.iter().map(|&i| steps[i].name.as_str()).collect();
            return Some((cycle[0], names.join(" → ")));
        }
    }
    None
}
