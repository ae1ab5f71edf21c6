//! Parsing of submitted actions: every field of the contract's Action schema and every
//! platform-specific `data` schema, with errors that name the field path.
//!
//! "Parse, don't validate": the output is a [`NewAction`] with an [`Operation`] that the
//! platform clients trust. Pure; must not import any adapter crate.

mod approval;
mod checker;
mod data;
mod feedback;
mod ingress;
mod operation;
mod workflow;

use serde_json::Value;

use crate::error::FieldError;
use crate::model::{ActionType, Platform, Priority, RetryConfig};
use checker::{Checker, MAX_ID_LEN, kind};

pub use approval::{ApprovalRequest, MAX_REASON_LEN, is_slack_user_id, parse_approval_request, parse_decision};
pub use checker::is_iso8601;
pub use data::validate_data;
pub use feedback::{MAX_LEARNING_POINTS, MAX_NOTES_BYTES, parse_feedback, parse_feedback_event};
pub use ingress::{INGRESS_EVENTS, Ingress, parse_ingress};
pub use operation::Operation;
pub use workflow::{StepRequest, WorkflowRequest, parse_workflow};

const MAX_TAGS: usize = 50;
/// SQS can hold a message back for at most 12 hours; no delay may exceed it.
pub const MAX_DELAY_MS: u64 = 12 * 60 * 60 * 1000;
/// The executor function's own timeout (template.yaml says the same; a test checks it).
pub const EXECUTOR_TIMEOUT_MS: u64 = 15 * 60 * 1000;
/// The largest action `timeout`: the executor's, less a margin for its lease, the store
/// writes around the call and a slow start, so an attempt always ends inside its invocation.
pub const MAX_TIMEOUT_MS: u64 = EXECUTOR_TIMEOUT_MS - 60 * 1000;

/// A submitted action after parsing: every field known good, the operation resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub id: Option<String>,
    pub action_type: ActionType,
    pub platform: Platform,
    pub priority: Priority,
    pub requires_approval: bool,
    pub data: Value,
    pub operation: Operation,
    pub correlation_id: Option<String>,
    pub user_id: Option<String>,
    pub source: Option<String>,
    pub timeout: Option<u64>,
    pub retry_config: Option<RetryConfig>,
    pub tags: Vec<String>,
    pub dry_run: bool,
    pub fallback: Option<Value>,
    /// Set by the executor when it queues this action as another's fallback.
    pub fallback_of: Option<String>,
    /// Set by the approvals when this action posts or updates an approval's Slack message.
    pub notice_of: Option<String>,
    pub workflow_id: Option<String>,
    pub step: Option<String>,
    /// Set by the workflows when this action undoes its step's effect.
    pub compensates: bool,
    /// Set by a replay: the action this one repeats.
    pub replay_of: Option<String>,
}

/// `POST /api/actions` and the `action:ready` event: `{action, context?, correlationId?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub action: NewAction,
    pub context: Option<Value>,
}

const ACTION_FIELDS: &[&str] = &[
    "id",
    "type",
    "platform",
    "priority",
    "requiresApproval",
    "data",
    "correlationId",
    "userId",
    "source",
    "timeout",
    "retryConfig",
    "tags",
    "dryRun",
    "fallback",
    "workflowId",
    "step",
    "metadata",
];

fn valid_id_chars(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Parses the body of `POST /api/actions` (the `action:ready` payload).
pub fn parse_submission(body: &Value) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut root = Checker { errors: &mut errors, prefix: String::new() };
    let Some(obj) = root.object(Some(body), "body").cloned() else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"action\": {...}}")]);
    };
    let top_correlation = root.opt_id(&obj, "correlationId");
    let context = obj.get("context").filter(|v| !v.is_null()).cloned();
    let action = required_action(obj.get("action"), &mut errors);
    match action {
        Some(mut action) if errors.is_empty() => {
            if action.correlation_id.is_none() {
                action.correlation_id = top_correlation;
            }
            Ok(Submission { action, context })
        }
        _ => Err(errors),
    }
}

/// The required `action` field of a payload, parsed; its errors are added to `errors`.
pub(crate) fn required_action(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<NewAction> {
    match value {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("action", "required"));
            None
        }
        Some(v) => match parse_action(v, "action") {
            Ok(a) => Some(a),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        },
    }
}

/// Parses one Action object found at `path` (e.g. `action`, `steps[2].action`).
pub fn parse_action(value: &Value, path: &str) -> Result<NewAction, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(path, format!("must be an object, got {}", kind(value)))]);
    };
    let mut c = Checker { errors: &mut errors, prefix: path.to_owned() };

    for key in obj.keys() {
        if !ACTION_FIELDS.contains(&key.as_str()) {
            c.err(key, format!("unknown field; allowed: {}", ACTION_FIELDS.join(", ")));
        }
    }
    let id = c.opt_id(obj, "id");
    if let Some(id) = &id
        && !valid_id_chars(id)
    {
        c.err("id", "may contain only letters, digits and - _ . :");
    }
    let action_type = c.req_enum(obj, "type", ActionType::parse, ActionType::allowed());
    let platform = c.req_enum(obj, "platform", Platform::parse, Platform::allowed());
    let priority = c.req_enum(obj, "priority", Priority::parse, Priority::allowed());
    let requires_approval = c.opt_bool(obj, "requiresApproval");
    let correlation_id = c.opt_id(obj, "correlationId");
    let user_id = c.opt_id(obj, "userId");
    let source = c.opt_id(obj, "source");
    let workflow_id = c.opt_id(obj, "workflowId");
    let step = c.opt_id(obj, "step");
    let timeout = c.req_u64(obj, "timeout", 1, MAX_TIMEOUT_MS);
    let dry_run = c.opt_bool(obj, "dryRun");
    let tags = c.str_array(obj, "tags", false).unwrap_or_default();
    if tags.len() > MAX_TAGS {
        c.err("tags", format!("at most {MAX_TAGS} tags"));
    }
    if tags.iter().any(|t| t.len() > MAX_ID_LEN) {
        c.err("tags", format!("each tag must be at most {MAX_ID_LEN} characters"));
    }
    let retry_config = parse_retry_config(obj.get("retryConfig"), &mut c);
    let fallback = match obj.get("fallback") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let path = c.at("fallback");
            if let Err(mut e) = parse_action(v, &path) {
                c.errors.append(&mut e);
            }
            Some(v.clone())
        }
    };
    let data = c.object(obj.get("data"), "data").cloned();

    let (Some(action_type), Some(platform), Some(priority), Some(data)) = (action_type, platform, priority, data)
    else {
        return Err(errors);
    };
    let data = Value::Object(data);
    let operation = match Operation::resolve(platform, action_type, &data) {
        Ok(op) => op,
        Err(e) => {
            errors.push(FieldError::new(format!("{path}.{}", e.field), e.reason));
            return Err(errors);
        }
    };
    validate_data(operation, &data, &format!("{path}.data"), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewAction {
        id,
        action_type,
        platform,
        priority,
        requires_approval,
        data,
        operation,
        correlation_id,
        user_id,
        source,
        timeout,
        retry_config,
        tags,
        dry_run,
        fallback,
        fallback_of: None,
        notice_of: None,
        workflow_id,
        step,
        compensates: false,
        replay_of: None,
    })
}

fn parse_retry_config(value: Option<&Value>, c: &mut Checker<'_>) -> Option<RetryConfig> {
    let obj = match value {
        None | Some(Value::Null) => return None,
        Some(v) => c.object(Some(v), "retryConfig")?,
    };
    let prefix = c.at("retryConfig");
    let mut rc = Checker { errors: c.errors, prefix };
    for key in obj.keys() {
        if !["maxRetries", "initialDelay", "backoffMultiplier", "maxDelay"].contains(&key.as_str()) {
            rc.err(key, "unknown field; allowed: maxRetries, initialDelay, backoffMultiplier, maxDelay");
        }
    }
    let defaults = RetryConfig::default();
    let max_retries = rc.req_u64(obj, "maxRetries", 0, 20).map(|v| v as u32);
    let initial_delay = rc.req_u64(obj, "initialDelay", 0, MAX_DELAY_MS);
    let max_delay = rc.req_u64(obj, "maxDelay", 0, MAX_DELAY_MS);
    let backoff_multiplier = match obj.get("backoffMultiplier") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(m) if (1.0..=10.0).contains(&m) => Some(m),
            _ => {
                rc.err("backoffMultiplier", "must be a number from 1 to 10");
                None
            }
        },
    };
    let config = RetryConfig {
        max_retries: max_retries.unwrap_or(defaults.max_retries),
        initial_delay: initial_delay.unwrap_or(defaults.initial_delay),
        backoff_multiplier: backoff_multiplier.unwrap_or(defaults.backoff_multiplier),
        max_delay: max_delay.unwrap_or(defaults.max_delay.max(initial_delay.unwrap_or(0))),
    };
    if config.max_delay < config.initial_delay {
        rc.err("maxDelay", "must not be less than initialDelay");
    }
    Some(config)
}

#[cfg(test)]
mod tests;
