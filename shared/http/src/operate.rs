//! What is done to actions after they are submitted: cancel, replay (one or a filtered set),
//! feedback, and the request an action sends. Each parses, calls the `Operator` use case, shapes the answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::error::ErrorCode;
use baton_domain::model::{Platform, Status};
use baton_domain::usecases::operate::{MAX_REPLAY, REPLAYABLE, ReplayFilter};
use baton_domain::validation::parse_feedback;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{ApiError, json_body};
use crate::recent::parse_time;

/// A body that may be empty (`{}` or nothing at all).
fn optional_body(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|e| ApiError::field("body", e.body_text()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match json_body(Ok(bytes))? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::field("body", "must be a JSON object")),
    }
}

/// `POST /api/actions/{id}/cancel`.
#[utoipa::path(post, path = "/api/actions/{id}/cancel", tag = "actions", operation_id = "cancelAction",
    description = "A `queued`, `retrying` or `pending_approval` action → `cancelled` (its queue message is \
dropped when it arrives; a held action's approval is cancelled with it).",
    params(("id" = String, Path, description = "The action's id")),
    request_body(content = crate::operate_schemas::CancelRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Cancelled: the action now", body = crate::schemas::Action),
        (status = 404, description = "No such action", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "Executing or finished: DUPLICATE_ERROR with `details.status`", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = optional_body(body)?;
    let mut errors = Vec::new();
    let mut reason = None;
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("reason", Value::String(r)) if !r.is_empty() && r.chars().count() <= 2_000 => reason = Some(r.clone()),
            ("reason", Value::Null) => {}
            ("reason", _) => errors.push(FieldError::new("reason", "must be a string of 1 to 2000 characters")),
            (other, _) => errors.push(FieldError::new(other, "unknown field; allowed: reason")),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    Ok(Json(state.operator.cancel(&id, reason).await?).into_response())
}

/// `POST /api/actions/{id}/replay`.
#[utoipa::path(post, path = "/api/actions/{id}/replay", tag = "actions", operation_id = "replayAction",
    description = "A `failed`, `cancelled`, `rejected` or `expired` action is submitted again as a new \
action (`<id>.r<n>`) with the same type, platform and data; `replayOf` links it, `replayedBy` lists it.",
    params(("id" = String, Path, description = "The action's id")),
    responses(
        (status = 202, description = "The replay is queued", body = crate::schemas::Receipt),
        (status = 404, description = "No such action", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "Not in a state to replay: DUPLICATE_ERROR with `details.status`", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn replay(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.operator.replay(&id).await?)).into_response())
}

/// `GET /api/actions/{id}/request`.
#[utoipa::path(get, path = "/api/actions/{id}/request", tag = "actions", operation_id = "actionRequest",
    description = "The platform request(s) the action sends, secrets redacted: what its dry run stored, \
else its data rendered as a dry run now (nothing is sent) — the request as sent, or as it would be.",
    params(("id" = String, Path, description = "The action's id")),
    responses(
        (status = 200, description = "`{dryRun: true, request}` (or `requests` for an operation of several)", body = Object),
        (status = 400, description = "Data its platform would refuse", body = crate::schemas::ErrorEnvelope),
        (status = 404, description = "No such action", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn request(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(state.operator.request(&id).await?).into_response())
}

fn parse_filter(value: Option<&Value>, errors: &mut Vec<FieldError>) -> ReplayFilter {
    let mut filter = ReplayFilter::default();
    let obj = match value {
        None | Some(Value::Null) => return filter,
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            errors.push(FieldError::new("filter", "must be an object"));
            return filter;
        }
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    for (key, value) in obj {
        let field = format!("filter.{key}");
        match key.as_str() {
            "platform" => match text(value).and_then(|p| Platform::parse(&p)) {
                Some(p) => filter.platform = Some(p),
                None => errors.push(FieldError::new(field, format!("allowed: {}", Platform::allowed()))),
            },
            "errorCode" => match serde_json::from_value::<ErrorCode>(value.clone()) {
                Ok(c) => filter.error_code = Some(c),
                Err(_) => errors.push(FieldError::new(field, "must be one of the contract's error codes")),
            },
            "status" => match text(value).and_then(|s| Status::parse(&s)).filter(|s| REPLAYABLE.contains(s)) {
                Some(s) => filter.status = Some(s),
                None => errors.push(FieldError::new(field, "allowed: failed, cancelled, rejected, expired")),
            },
            "startDate" | "endDate" => match text(value).map(|t| parse_time(&field, &t, key == "endDate")) {
                Some(Ok(t)) if key == "startDate" => filter.start = Some(t),
                Some(Ok(t)) => filter.end = Some(t),
                Some(Err(e)) => errors.push(e),
                None => errors.push(FieldError::new(field, "must be an ISO 8601 timestamp or date")),
            },
            _ => errors.push(FieldError::new(
                field,
                "unknown field; allowed: platform, errorCode, status, startDate, endDate",
            )),
        }
    }
    filter
}

/// `POST /api/actions/replay`: replay a filtered set, after counting it with `dryRun`.
#[utoipa::path(post, path = "/api/actions/replay", tag = "actions", operation_id = "replayActions",
    description = "Replays the failed (or cancelled, rejected, expired) actions a filter matches that were \
never replayed, newest first, up to `limit` (≤ 1,000). With `dryRun`, only counts them and lists the first ids.",
    request_body = crate::operate_schemas::BulkReplayRequest,
    responses((status = 200, description = "What matched, and what was replayed", body = crate::operate_schemas::ReplayReport)))]
pub async fn replay_many(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = optional_body(body)?;
    let mut errors = Vec::new();
    let filter = parse_filter(body.get("filter"), &mut errors);
    let dry_run = match body.get("dryRun") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("dryRun", "must be true or false"));
            false
        }
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => MAX_REPLAY,
        Some(v) => match v.as_u64().filter(|n| (1..=MAX_REPLAY as u64).contains(n)) {
            Some(n) => n as usize,
            None => {
                errors.push(FieldError::new("limit", format!("must be a whole number from 1 to {MAX_REPLAY}")));
                MAX_REPLAY
            }
        },
    };
    for key in body.keys().filter(|k| !["filter", "dryRun", "limit"].contains(&k.as_str())) {
        errors.push(FieldError::new(key.clone(), "unknown field; allowed: filter, dryRun, limit"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    Ok(Json(state.operator.replay_many(&filter, dry_run, limit).await?).into_response())
}

/// `POST /api/actions/{id}/feedback`: the contract's `provideFeedback`.
#[utoipa::path(post, path = "/api/actions/{id}/feedback", tag = "actions", operation_id = "provideFeedback",
    params(("id" = String, Path, description = "The action's id")),
    request_body = crate::operate_schemas::Feedback,
    responses(
        (status = 201, description = "Kept with the action (newest first)", body = crate::operate_schemas::FeedbackReceipt),
        (status = 404, description = "No such action", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let feedback = parse_feedback(&body, "").map_err(ApiError::invalid)?;
    keep_feedback(&state, &id, feedback).await
}

/// Keeps `feedback` on action `id`: `201` with what was stored.
pub(crate) async fn keep_feedback(
    state: &AppState,
    id: &str,
    feedback: baton_domain::model::Feedback,
) -> Result<Response, ApiError> {
    let action = state.operator.feedback(id, feedback).await?;
    let answer =
        json!({"actionId": action.id, "feedbackCount": action.feedback.len(), "feedback": action.feedback.first()});
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
