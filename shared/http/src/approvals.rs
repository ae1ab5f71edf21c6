//! The `/api/approvals` routes: request an approval, read the inbox and one approval, and
//! decide (approve, reject, cancel). Each parses, calls the one use case, shapes the answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::approval::{Approval, ApprovalStatus, DecisionRequest, Verdict};
use baton_domain::events::timestamp;
use baton_domain::usecases::DecisionAnswer;
use baton_domain::validation::{parse_approval_request, parse_decision};
use serde_json::{Value, json};

use crate::AppState;
use crate::actions::hold_once;
use crate::error::{ApiError, json_body};
use crate::query::QueryPairs;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// `POST /api/approvals`: the `action:requires_approval` payload itself.
#[utoipa::path(post, path = "/api/approvals", tag = "approvals", operation_id = "requestApproval",
    description = "Hold an action for approval (the contract's `action:requires_approval` payload). \
It is stored as `pending_approval` and never queued before it is approved.",
    params(crate::actions::IdempotencyHeader), request_body = crate::approval_schemas::ApprovalRequest,
    responses(
        (status = 202, description = "Held for approval", body = crate::approval_schemas::HoldReceipt),
        (status = 200, description = "Replayed (Idempotency-Key)", body = crate::approval_schemas::HoldReceipt),
        (status = 409, description = "The action id is taken by something else: DUPLICATE_ERROR", body = crate::schemas::ErrorEnvelope),
        (status = 413, description = "The body exceeds 256 KiB", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn request(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let request = parse_approval_request(&body).map_err(ApiError::invalid)?;
    hold_once(&state, &headers, &body, request).await
}

/// The query of `GET /api/approvals`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// `pending` (default: the inbox, soonest expiry first), `approved`, `rejected`, `expired`,
    /// `cancelled` or `all` (newest first).
    status: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
}

const LISTING: crate::listing::Listing<ApprovalStatus> = crate::listing::Listing {
    default: Some(ApprovalStatus::Pending),
    parse: ApprovalStatus::parse,
    allowed: "pending, approved, rejected, expired, cancelled",
    default_limit: DEFAULT_LIMIT,
    max_limit: MAX_LIMIT,
};

/// `GET /api/approvals`: the dashboard's inbox.
#[utoipa::path(get, path = "/api/approvals", tag = "approvals", operation_id = "listApprovals",
    params(ListParams),
    responses((status = 200, description = "Pending: soonest expiry first; otherwise newest first", body = crate::approval_schemas::ApprovalList)))]
pub async fn list(State(state): State<AppState>, QueryPairs(params): QueryPairs) -> Result<Response, ApiError> {
    let (status, limit) = LISTING.parse(&params).map_err(ApiError::invalid)?;
    let approvals = state.approvals.list(status, limit).await?;
    Ok(Json(json!({ "approvals": approvals })).into_response())
}

/// `GET /api/approvals/{id}`: the approval with its decisions, preview and action (as it is now).
#[utoipa::path(get, path = "/api/approvals/{id}", tag = "approvals", operation_id = "getApproval",
    params(("id" = String, Path, description = "The approval's id")),
    responses(
        (status = 200, description = "The approval", body = crate::approval_schemas::Approval),
        (status = 404, description = "No such approval", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let approval = state.approvals.get(&id).await?;
    let mut body = serde_json::to_value(&approval).unwrap_or(Value::Null);
    if let Some(action) = state.store.get(&approval.action_id).await.map_err(baton_domain::DomainError::from)? {
        body["action"] = serde_json::to_value(action).unwrap_or(Value::Null);
    }
    Ok(Json(body).into_response())
}

fn counted(a: &Approval) -> Vec<Value> {
    a.approvals().iter().map(|d| json!({"userId": d.user_id, "at": timestamp(d.at)})).collect()
}

/// The answer to a decision, in the contract's shapes.
pub fn decision_body(answer: &DecisionAnswer, verdict: Verdict) -> Value {
    let a = &answer.approval;
    let at = answer.decision.as_ref().map_or(a.updated_at, |d| d.at);
    match (verdict, a.status) {
        (Verdict::Reject, _) => json!({
            "status": "rejected", "approvalId": a.id, "actionId": a.action_id,
            "rejectedBy": a.resolved_by, "reason": a.resolution_reason, "timestamp": timestamp(at),
        }),
        (Verdict::Approve, ApprovalStatus::Approved) => json!({
            "status": "approved", "approvalId": a.id, "actionId": a.action_id, "approvedBy": a.resolved_by,
            "approvals": counted(a), "requiredApprovals": a.required_approvals, "timestamp": timestamp(at),
        }),
        (Verdict::Approve, _) => json!({
            "status": "pending", "approvalId": a.id, "actionId": a.action_id,
            "approvals": counted(a), "requiredApprovals": a.required_approvals, "timestamp": timestamp(at),
        }),
    }
}

async fn decide(
    state: &AppState,
    id: &str,
    body: Result<Bytes, BytesRejection>,
    verdict: Verdict,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let request: DecisionRequest = parse_decision(&body, verdict).map_err(ApiError::invalid)?;
    let answer = state.approvals.decide(id, request).await?;
    Ok((StatusCode::OK, Json(decision_body(&answer, verdict))).into_response())
}

/// `POST /api/approvals/{id}/approve`.
#[utoipa::path(post, path = "/api/approvals/{id}/approve", tag = "approvals", operation_id = "approve",
    description = "Approve, optionally after editing the data (`patch`, a JSON merge patch: validated again, \
rendered again, and what runs). Only the named approvers decide; the action's own `userId` never approves it; \
each user counts once toward the quorum.",
    params(("id" = String, Path, description = "The approval's id")),
    request_body = crate::approval_schemas::ApproveRequest,
    responses(
        (status = 200, description = "Approved, or pending while the quorum is not met", body = crate::approval_schemas::ApproveAnswer),
        (status = 404, description = "No such approval", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "Already resolved or expired: DUPLICATE_ERROR with its status", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    decide(&state, &id, body, Verdict::Approve).await
}

/// `POST /api/approvals/{id}/reject`.
#[utoipa::path(post, path = "/api/approvals/{id}/reject", tag = "approvals", operation_id = "reject",
    description = "Reject (a reason is required). The action never runs.",
    params(("id" = String, Path, description = "The approval's id")),
    request_body = crate::approval_schemas::RejectRequest,
    responses(
        (status = 200, description = "Rejected", body = crate::approval_schemas::RejectAnswer),
        (status = 404, description = "No such approval", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "Already resolved or expired: DUPLICATE_ERROR with its status", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    decide(&state, &id, body, Verdict::Reject).await
}

/// `POST /api/approvals/{id}/cancel`.
#[utoipa::path(post, path = "/api/approvals/{id}/cancel", tag = "approvals", operation_id = "cancelApproval",
    description = "Withdraw a pending approval request: the action is cancelled and never runs.",
    params(("id" = String, Path, description = "The approval's id")),
    request_body = crate::approval_schemas::CancelRequest,
    responses(
        (status = 200, description = "Cancelled", body = crate::approval_schemas::Approval),
        (status = 404, description = "No such approval", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "Already resolved: DUPLICATE_ERROR with its status", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let Value::Object(obj) = &body else { return Err(ApiError::field("body", "must be a JSON object")) };
    let mut errors = Vec::new();
    let mut text = |key: &str| match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 2000 => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(key, "must be a non-empty string of at most 2000 characters"));
            None
        }
    };
    let (by, reason) = (text("userId"), text("reason"));
    for key in obj.keys().filter(|k| !["userId", "reason"].contains(&k.as_str())) {
        errors.push(FieldError::new(key.clone(), "unknown field; allowed: userId, reason"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let approval = state.approvals.cancel(&id, by, reason).await?;
    Ok(Json(approval).into_response())
}
