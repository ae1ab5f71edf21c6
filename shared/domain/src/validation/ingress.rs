//! The ingress envelope `{"event": ..., "data": {...}}` of the SQS queue and `POST /api/events`.
//!
//! Pure; must not import any adapter crate.

use serde_json::Value;

use super::approval::{ApprovalRequest, parse_approval_request};
use super::feedback::parse_feedback_event;
use super::workflow::{WorkflowRequest, parse_workflow};
use super::{Submission, parse_submission};
use crate::error::FieldError;
use crate::model::Feedback;

/// The events the ingress (SQS queue or `POST /api/events`) knows.
pub const INGRESS_EVENTS: &[&str] = &["action:ready", "action:requires_approval", "workflow:ready", "feedback"];

/// A parsed ingress message.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingress {
    ActionReady(Submission),
    RequiresApproval(ApprovalRequest),
    WorkflowReady(WorkflowRequest),
    Feedback { action_id: String, feedback: Feedback },
}

impl Ingress {
    pub fn event(&self) -> &'static str {
        match self {
            Ingress::ActionReady(_) => "action:ready",
            Ingress::RequiresApproval(_) => "action:requires_approval",
            Ingress::WorkflowReady(_) => "workflow:ready",
            Ingress::Feedback { .. } => "feedback",
        }
    }
}

/// The events this Baton version accepts.
const AVAILABLE: &str = "action:ready, action:requires_approval, workflow:ready, feedback";

/// Parses the ingress envelope `{"event": ..., "data": {...}}`; paths are from its root.
pub fn parse_ingress(body: &Value) -> Result<Ingress, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"event\": ..., \"data\": {...}}")]);
    };
    let event = match obj.get("event") {
        Some(Value::String(e)) => e.as_str(),
        None | Some(Value::Null) => return Err(vec![FieldError::new("event", "required")]),
        Some(_) => return Err(vec![FieldError::new("event", "must be a string")]),
    };
    let data = obj.get("data").unwrap_or(&Value::Null);
    let prefixed = |errors: Vec<FieldError>| -> Vec<FieldError> {
        errors.into_iter().map(|e| FieldError::new(format!("data.{}", e.field), e.reason)).collect()
    };
    match event {
        "action:ready" => match data {
            Value::Object(_) => parse_submission(data).map(Ingress::ActionReady).map_err(prefixed),
            Value::Null => Err(vec![FieldError::new("data", "required")]),
            _ => Err(vec![FieldError::new("data", "must be an object")]),
        },
        "action:requires_approval" => match data {
            Value::Object(_) => parse_approval_request(data).map(Ingress::RequiresApproval).map_err(prefixed),
            Value::Null => Err(vec![FieldError::new("data", "required")]),
            _ => Err(vec![FieldError::new("data", "must be an object")]),
        },
        "workflow:ready" => match data {
            Value::Object(_) => parse_workflow(data).map(Ingress::WorkflowReady).map_err(prefixed),
            Value::Null => Err(vec![FieldError::new("data", "required")]),
            _ => Err(vec![FieldError::new("data", "must be an object")]),
        },
        "feedback" => match data {
            Value::Object(_) => parse_feedback_event(data)
                .map(|(action_id, feedback)| Ingress::Feedback { action_id, feedback })
                .map_err(prefixed),
            Value::Null => Err(vec![FieldError::new("data", "required")]),
            _ => Err(vec![FieldError::new("data", "must be an object")]),
        },
        known if INGRESS_EVENTS.contains(&known) => Err(vec![FieldError::new(
            "event",
            format!("'{known}' is not available in this Baton version; available: {AVAILABLE}"),
        )]),
        other => Err(vec![FieldError::new(
            "event",
            format!("unknown event '{other}'; allowed: {}", INGRESS_EVENTS.join(", ")),
        )]),
    }
}
