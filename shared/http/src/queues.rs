//! `POST /api/queues/{priority}/redrive`: what a priority queue dead-lettered, back into it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::error::ErrorCode;
use baton_domain::model::Priority;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, json_body};

/// The most messages one request moves.
pub const MAX_REDRIVE: usize = 10_000;

/// `POST /api/queues/{priority}/redrive`.
#[utoipa::path(post, path = "/api/queues/{priority}/redrive", tag = "actions", operation_id = "redriveDeadLetters",
    description = "Moves up to `max` (default and at most 10,000) messages of the priority queue's dead-letter \
queue back into it (on AWS; the local runtime has no dead-letter queues).",
    params(("priority" = String, Path, description = "critical, high, normal or low")),
    request_body(content = crate::operate_schemas::RedriveRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "How many were moved", body = crate::operate_schemas::RedriveAnswer),
        (status = 404, description = "No dead-letter queues here: NOT_FOUND", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn redrive(
    State(state): State<AppState>,
    Path(priority): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(priority) = Priority::parse(&priority) else {
        return Err(ApiError::field("path.priority", format!("allowed: {}", Priority::allowed())));
    };
    let bytes = body.map_err(|e| ApiError::field("body", e.body_text()))?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) { json!({}) } else { json_body(Ok(bytes))? };
    let max = match body.get("max") {
        None | Some(Value::Null) => MAX_REDRIVE,
        Some(v) => match v.as_u64().filter(|n| (1..=MAX_REDRIVE as u64).contains(n)) {
            Some(n) => n as usize,
            None => {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "max",
                    format!("must be a whole number from 1 to {MAX_REDRIVE}"),
                )]));
            }
        },
    };
    if let Some(other) = body.as_object().and_then(|o| o.keys().find(|k| *k != "max")) {
        return Err(ApiError::field(other.clone(), "unknown field; allowed: max"));
    }
    let Some(dead) = &state.dead_letters else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "this runtime has no dead-letter queues",
        ));
    };
    let moved = dead.redrive(priority, max).await.map_err(|e| baton_domain::DomainError::Queue(e.0))?;
    Ok(Json(json!({"priority": priority, "moved": moved})).into_response())
}
