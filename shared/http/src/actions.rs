//! The `/api/actions` and `/api/events` routes: parse the request, call one use case or
//! store query, shape the contract's answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_domain::events::timestamp;
use baton_domain::model::{Platform, Priority};
use baton_domain::policy::estimated_wait;
use baton_domain::ports::{Page, PendingEntry};
use baton_domain::usecases::idempotency::{self, derived_id};
use baton_domain::validation::{ApprovalRequest, Ingress, Submission, parse_ingress, parse_submission};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, idempotency_key, json_body, keyed_response};

/// Entries listed per priority by `GET /api/actions/queue` (the stats count them all).
pub const QUEUE_LIST_LIMIT: usize = 100;

/// What an accepting route takes in: an action to queue, or one to hold for approval.
enum Intake {
    Submit(Submission),
    Hold(ApprovalRequest),
}

impl Intake {
    /// An action submitted with `requiresApproval: true` is held, as the approvals route holds it.
    fn of(submission: Submission) -> Self {
        if submission.action.requires_approval {
            Intake::Hold(ApprovalRequest::for_action(submission))
        } else {
            Intake::Submit(submission)
        }
    }

    fn id(&mut self) -> &mut Option<String> {
        match self {
            Intake::Submit(s) => &mut s.action.id,
            Intake::Hold(r) => &mut r.action.id,
        }
    }

    async fn run(self, state: &AppState, idempotent: bool) -> Result<Value, baton_domain::DomainError> {
        let answer = match self {
            Intake::Submit(s) if idempotent => serde_json::to_value(state.submitter.ensure(s).await?),
            Intake::Submit(s) => serde_json::to_value(state.submitter.submit(s).await?),
            Intake::Hold(r) => serde_json::to_value(state.approvals.request(r).await?),
        };
        Ok(answer.unwrap_or(Value::Null))
    }
}

/// Accepts once per `Idempotency-Key` when the request carries one.
async fn accept_once(
    state: &AppState,
    headers: &HeaderMap,
    body: &Value,
    mut intake: Intake,
) -> Result<Response, ApiError> {
    let Some(key) = idempotency_key(headers)? else {
        return Ok((StatusCode::ACCEPTED, Json(intake.run(state, false).await?)).into_response());
    };
    let scope = format!("request:{key}");
    let target = intake.id().clone().unwrap_or_else(|| derived_id("key", &scope));
    let keyed = idempotency::once(state.keys.as_ref(), &scope, body, target, |id| async move {
        *intake.id() = Some(id);
        intake.run(state, true).await
    })
    .await?;
    Ok(keyed_response(keyed))
}

/// Holds an approval request: once per `Idempotency-Key` when the request carries one.
pub(crate) async fn hold_once(
    state: &AppState,
    headers: &HeaderMap,
    body: &Value,
    request: ApprovalRequest,
) -> Result<Response, ApiError> {
    accept_once(state, headers, body, Intake::Hold(request)).await
}

/// The `Idempotency-Key` header, as the document describes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyHeader {
    /// The same key and body again: the original receipt (`200`, `Idempotent-Replayed: true`);
    /// another body: `409`. Kept 24 h.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// `POST /api/actions`: `{action, context?, correlationId?}` → 202 with the queue position.
#[utoipa::path(post, path = "/api/actions", tag = "actions", operation_id = "submitAction",
    description = "Submit an action (the contract's `action:ready` payload).",
    params(IdempotencyHeader), request_body = crate::schemas::Submission,
    responses(
        (status = 202, description = "Accepted and queued (with `requiresApproval`: held, as `POST /api/approvals` answers)", body = crate::approval_schemas::Accepted),
        (status = 200, description = "Replayed: the receipt of the first request with this Idempotency-Key", body = crate::approval_schemas::Accepted),
        (status = 409, description = "The id, or the Idempotency-Key, is taken by something else: DUPLICATE_ERROR", body = crate::schemas::ErrorEnvelope),
        (status = 413, description = "The body exceeds 256 KiB", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let submission = parse_submission(&body).map_err(ApiError::invalid)?;
    accept_once(&state, &headers, &body, Intake::of(submission)).await
}

/// `POST /api/events`: the ingress envelope `{event, data}`, as on the SQS ingress queue.
#[utoipa::path(post, path = "/api/events", tag = "actions", operation_id = "postEvent",
    description = "The ingress envelope, as on the SQS ingress queue.",
    params(IdempotencyHeader), request_body = crate::schemas::IngressEnvelope,
    responses(
        (status = 202, description = "Accepted", body = crate::approval_schemas::Accepted),
        (status = 200, description = "Replayed (Idempotency-Key)", body = crate::approval_schemas::Accepted),
        (status = 201, description = "Feedback kept (the `feedback` event)", body = crate::operate_schemas::FeedbackReceipt),
        (status = 404, description = "Feedback on an unknown action", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "DUPLICATE_ERROR", body = crate::schemas::ErrorEnvelope),
        (status = 413, description = "The body exceeds 256 KiB", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    match parse_ingress(&body).map_err(ApiError::invalid)? {
        Ingress::ActionReady(submission) => accept_once(&state, &headers, &body, Intake::of(submission)).await,
        Ingress::RequiresApproval(request) => hold_once(&state, &headers, &body, request).await,
        Ingress::WorkflowReady(request) => crate::workflows::start(&state, &headers, request).await,
        Ingress::Feedback { action_id, feedback } => crate::operate::keep_feedback(&state, &action_id, feedback).await,
    }
}

/// `GET /api/actions/{id}`: the stored action with its whole lifecycle.
#[utoipa::path(get, path = "/api/actions/{id}", tag = "actions", operation_id = "getAction",
    params(("id" = String, Path, description = "The action's id")),
    responses(
        (status = 200, description = "The action", body = crate::schemas::Action),
        (status = 404, description = "No such action", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match state.store.get(&id).await.map_err(baton_domain::DomainError::from)? {
        Some(action) => Ok(Json(action).into_response()),
        None => Err(ApiError::not_found(format!("action {id} not found"))),
    }
}

/// `GET /api/actions/queue`: what waits, per priority, and how busy the workers are.
#[utoipa::path(get, path = "/api/actions/queue", tag = "actions", operation_id = "queueStatus",
    responses((status = 200, description = "The queues (first 100 of each) and their stats", body = crate::schemas::QueueStatus)))]
pub async fn queue(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stats = state.queue.stats().await;
    let mut queues = serde_json::Map::new();
    for (p, page) in Priority::ALL.iter().copied().zip(first_pending(&state, QUEUE_LIST_LIMIT).await?) {
        let waiting: Vec<Value> = page
            .items
            .iter()
            .filter(|a| a.status.is_runnable())
            .enumerate()
            .map(|(ahead, a)| {
                json!({
                    "actionId": a.id,
                    "type": a.action_type,
                    "platform": a.platform,
                    "queuedAt": timestamp(a.ready_at()),
                    "estimatedWait": estimated_wait(ahead as u64, stats.capacity[p.index()], stats.avg_execution_ms),
                })
            })
            .collect();
        queues.insert(p.as_str().into(), Value::Array(waiting));
    }
    let by_priority: serde_json::Map<String, Value> =
        Priority::ALL.iter().map(|p| (p.as_str().to_owned(), json!(stats.depth[p.index()]))).collect();
    Ok(Json(json!({
        "queues": queues,
        "stats": {
            "totalQueued": stats.depth.iter().sum::<u64>(),
            "byPriority": by_priority,
            "avgWaitTime": stats.avg_wait_ms,
            "workerUtilization": stats.utilization(),
        }
    }))
    .into_response())
}

/// The first `limit` unfinished actions of each priority, most urgent priority first, read
/// at once (each page is a query and a read of its items).
async fn first_pending(state: &AppState, limit: usize) -> Result<Vec<Page<PendingEntry>>, ApiError> {
    let reads = Priority::ALL.iter().map(|p| state.store.pending(*p, limit, None));
    Ok(futures_util::future::try_join_all(reads).await.map_err(baton_domain::DomainError::from)?)
}

/// `GET /api/actions/health`: each platform's breaker, rate limit and health, and the queue.
#[utoipa::path(get, path = "/api/actions/health", tag = "actions", operation_id = "health",
    responses((status = 200, description = "Every platform's breaker, rate limit and health", body = crate::schemas::HealthStatus)))]
pub async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut states = Vec::new();
    for p in Platform::ALL.iter().copied() {
        let s = state.health.states.get(p.as_str()).await.map_err(baton_domain::DomainError::from)?;
        states.push((p, s));
    }
    let stats = state.queue.stats().await;
    let mut oldest = None;
    for page in first_pending(&state, 10).await? {
        if let Some(first) = page.items.iter().filter(|a| a.status.is_runnable()).map(|a| a.ready_at()).min() {
            oldest = Some(oldest.map_or(first, |o: DateTime<Utc>| o.min(first)));
        }
    }
    let report = baton_domain::limits::health_report(
        &states,
        &state.health.limits,
        &state.health.configured,
        &stats,
        oldest,
        Utc::now(),
    );
    Ok(Json(report).into_response())
}
