//! The contract's `Feedback` (`POST /api/actions/{id}/feedback`) and the `feedback` ingress
//! event (`{"actionId", "feedback": {...}}`, or the fields beside `actionId`).
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::checker::Checker;
use crate::error::FieldError;
use crate::model::{Feedback, FeedbackOutcome};

/// The longest `notes`, bytes.
pub const MAX_NOTES_BYTES: usize = 4 * 1024;
/// The most `learningPoints`.
pub const MAX_LEARNING_POINTS: usize = 20;
/// The longest learning point, characters.
pub const MAX_POINT_LEN: usize = 1_000;

const FIELDS: &[&str] = &["outcome", "executionQuality", "userModifications", "notes", "learningPoints"];

/// Parses a feedback object; paths start at `prefix` (empty: the body).
/// `receivedAt` is stamped when the feedback is stored.
pub fn parse_feedback(value: &Value, prefix: &str) -> Result<Feedback, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Value::Object(obj) = value else {
        let at = if prefix.is_empty() { "body" } else { prefix };
        return Err(vec![FieldError::new(at, "must be an object {outcome, executionQuality, ...}")]);
    };
    let feedback = fields(obj, &mut Checker { errors: &mut errors, prefix: prefix.to_owned() }, &[]);
    match feedback {
        Some(f) if errors.is_empty() => Ok(f),
        _ => Err(errors),
    }
}

fn fields(obj: &Map<String, Value>, c: &mut Checker<'_>, also: &[&str]) -> Option<Feedback> {
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) && !also.contains(&key.as_str()) {
            c.err(key, format!("unknown field; allowed: {}", FIELDS.join(", ")));
        }
    }
    let outcome = c.req_enum(obj, "outcome", FeedbackOutcome::parse, FeedbackOutcome::allowed());
    let quality = match obj.get("executionQuality") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|q| (1..=5).contains(&q)) => n.as_u64().map(|q| q as u8),
        None | Some(Value::Null) => {
            c.err("executionQuality", "required");
            None
        }
        Some(_) => {
            c.err("executionQuality", "must be a whole number from 1 to 5");
            None
        }
    };
    let user_modifications = match obj.get("userModifications") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            c.err("userModifications", "must be an object");
            None
        }
    };
    let notes = match obj.get("notes") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() > MAX_NOTES_BYTES => {
            c.err("notes", format!("is {} bytes; at most {MAX_NOTES_BYTES}", s.len()));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            c.err("notes", "must be a string");
            None
        }
    };
    let learning_points = c.str_array(obj, "learningPoints", false).unwrap_or_default();
    if learning_points.len() > MAX_LEARNING_POINTS {
        c.err("learningPoints", format!("at most {MAX_LEARNING_POINTS} learning points"));
    }
    if learning_points.iter().any(|p| p.chars().count() > MAX_POINT_LEN) {
        c.err("learningPoints", format!("each learning point must be at most {MAX_POINT_LEN} characters"));
    }
    Some(Feedback {
        outcome: outcome?,
        execution_quality: quality?,
        user_modifications,
        notes,
        learning_points,
        received_at: DateTime::<Utc>::UNIX_EPOCH,
    })
}

/// The `feedback` ingress event's data: the action's id and its feedback (nested under
/// `feedback`, as the contract's examples have it, or beside `actionId`).
pub fn parse_feedback_event(data: &Value) -> Result<(String, Feedback), Vec<FieldError>> {
    let Value::Object(obj) = data else {
        return Err(vec![FieldError::new("data", "must be an object {actionId, feedback}")]);
    };
    let mut errors = Vec::new();
    let action_id = match obj.get("actionId") {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= 255 => Some(id.clone()),
        None | Some(Value::Null) => {
            errors.push(FieldError::new("actionId", "required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("actionId", "must be a non-empty string of at most 255 characters"));
            None
        }
    };
    let feedback = match obj.get("feedback") {
        Some(nested) => {
            for key in obj.keys().filter(|k| *k != "actionId" && *k != "feedback") {
                errors.push(FieldError::new(key.clone(), "unknown field; allowed: actionId, feedback"));
            }
            parse_feedback(nested, "feedback").map_err(|mut e| errors.append(&mut e)).ok()
        }
        None => fields(obj, &mut Checker { errors: &mut errors, prefix: String::new() }, &["actionId"]),
    };
    match (action_id, feedback) {
        (Some(id), Some(f)) if errors.is_empty() => Ok((id, f)),
        _ => Err(errors),
    }
}
