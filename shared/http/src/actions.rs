//! The `/api/actions` and `/api/events` routes: parse the request, call one use case or
//! store query, shape the contract's answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::events::timestamp;
use baton_domain::model::{Action, Platform, Priority, Status};
use baton_domain::policy::estimated_wait;
use baton_domain::ports::RecentQuery;
use baton_domain::usecases::idempotency::{self, derived_id};
use baton_domain::validation::{ApprovalRequest, Ingress, Submission, parse_ingress, parse_submission};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::AppState;
use crate::error::{ApiError, idempotency_key, json_body, keyed_response};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// The deepest page `recent` serves; past it, narrow the window instead.
pub const MAX_OFFSET: usize = 10_000;
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

pub(crate) fn parse_time(field: &str, text: &str, end_of_day: bool) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let t = if end_of_day { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
        if let Some(t) = t {
            return Ok(t.and_utc());
        }
    }
    Err(FieldError::new(field, "must be an ISO 8601 timestamp or date"))
}

/// The contract's status words, and Baton's exact states, as filters.
fn statuses_for(word: &str) -> Option<Vec<Status>> {
    Some(match word {
        "pending" => vec![Status::PendingApproval, Status::Queued, Status::Retrying],
        "failed" => vec![Status::Failed, Status::Cancelled, Status::Rejected, Status::Expired],
        other => vec![Status::parse(other)?],
    })
}

/// Parses the query of `GET /api/actions/recent`. A parameter given twice must say the same
/// thing (`status` values are merged); repeated status values count once.
pub fn parse_recent_query(params: &[(String, String)]) -> Result<RecentQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut q = RecentQuery { limit: DEFAULT_LIMIT, ..RecentQuery::default() };
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (key, value) in params {
        if key != "status"
            && let Some(before) = seen.insert(key.as_str(), value.as_str())
            && before != value
        {
            errors.push(FieldError::new(format!("query.{key}"), "given twice with different values"));
            continue;
        }
        let field = format!("query.{key}");
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => errors.push(FieldError::new(field, format!("must be a whole number from 1 to {MAX_LIMIT}"))),
            },
            "offset" => match value.parse::<usize>() {
                Ok(n) if n <= MAX_OFFSET => q.offset = n,
                _ => errors.push(FieldError::new(
                    field,
                    format!("must be a whole number from 0 to {MAX_OFFSET}; narrow startDate/endDate to go deeper"),
                )),
            },
            "platform" => match Platform::parse(value) {
                Some(p) => q.platform = Some(p),
                None => errors.push(FieldError::new(
                    field,
                    format!("'{value}' is not allowed; allowed: {}", Platform::allowed()),
                )),
            },
            "status" => {
                for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                    match statuses_for(word) {
                        Some(s) => {
                            for status in s {
                                if !q.statuses.contains(&status) {
                                    q.statuses.push(status);
                                }
                            }
                        }
                        None => errors.push(FieldError::new(
                            field.clone(),
                            format!("'{word}' is not allowed; allowed: pending, executing, success, failed, or a state ({})", Status::allowed()),
                        )),
                    }
                }
            }
            "startDate" => match parse_time(&field, value, false) {
                Ok(t) => q.start = Some(t),
                Err(e) => errors.push(e),
            },
            "endDate" => match parse_time(&field, value, true) {
                Ok(t) => q.end = Some(t),
                Err(e) => errors.push(e),
            },
            _ => errors.push(FieldError::new(
                field,
                "unknown parameter; allowed: limit, offset, platform, status, startDate, endDate",
            )),
        }
    }
    if let (Some(s), Some(e)) = (q.start, q.end)
        && s > e
    {
        errors.push(FieldError::new("query.startDate", "must not be after endDate"));
    }
    if errors.is_empty() { Ok(q) } else { Err(errors) }
}

/// One entry of `GET /api/actions/recent`, as the contract shapes it; `state` adds Baton's
/// exact lifecycle state to the contract's coarse `status`.
fn recent_entry(a: &Action) -> Value {
    let mut v = json!({
        "id": a.id,
        "type": a.action_type,
        "platform": a.platform,
        "priority": a.priority,
        "status": a.status.contract_view(),
        "state": a.status,
        "retries": a.retries,
        "timestamp": timestamp(a.created_at),
    });
    let Some(obj) = v.as_object_mut() else { return v };
    if let Some(r) = &a.result {
        obj.insert("result".into(), r.clone());
    }
    if let Some(e) = &a.error {
        obj.insert("error".into(), json!(e.message));
        obj.insert("errorCode".into(), json!(e.code));
    }
    if let Some(t) = a.execution_time {
        obj.insert("executionTime".into(), json!(t));
    }
    if let Some(t) = a.queue_time {
        obj.insert("queueTime".into(), json!(t));
    }
    v
}

/// The query of `GET /api/actions/recent`, as the document describes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RecentParams {
    /// 1 to 500 (default 50).
    limit: Option<u32>,
    /// 0 to 10000.
    offset: Option<u32>,
    platform: Option<crate::schemas::Platform>,
    /// pending, executing, success, failed, or an exact state; comma-separated for several.
    status: Option<String>,
    /// ISO 8601 timestamp or date; at most the retention window back.
    #[param(rename = "startDate")]
    start_date: Option<String>,
    #[param(rename = "endDate")]
    end_date: Option<String>,
}

/// `GET /api/actions/recent`.
#[utoipa::path(get, path = "/api/actions/recent", tag = "actions", operation_id = "recentActions",
    params(RecentParams),
    responses((status = 200, description = "Newest first", body = crate::schemas::RecentPage)))]
pub async fn recent(
    State(state): State<AppState>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::field("query", e.body_text()))?;
    let q = parse_recent_query(&params).map_err(ApiError::invalid)?;
    let page = state.store.recent(&q).await.map_err(baton_domain::DomainError::from)?;
    let mut body = json!({
        "actions": page.actions.iter().map(recent_entry).collect::<Vec<_>>(),
        "total": page.total,
        "limit": q.limit,
        "offset": q.offset,
    });
    if !page.exact {
        // A very busy window: counting every match would cost too much; this is a lower bound.
        body["totalExact"] = json!(false);
    }
    Ok(Json(body).into_response())
}

/// `GET /api/actions/queue`: what waits, per priority, and how busy the workers are.
#[utoipa::path(get, path = "/api/actions/queue", tag = "actions", operation_id = "queueStatus",
    responses((status = 200, description = "The queues (first 100 of each) and their stats", body = crate::schemas::QueueStatus)))]
pub async fn queue(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stats = state.queue.stats().await;
    let mut queues = serde_json::Map::new();
    for p in Priority::ALL.iter().copied() {
        let page = state.store.pending(p, QUEUE_LIST_LIMIT, None).await.map_err(baton_domain::DomainError::from)?;
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
    for p in Priority::ALL.iter().copied() {
        let page = state.store.pending(p, 10, None).await.map_err(baton_domain::DomainError::from)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn recent_query_defaults_and_bounds() {
        let q = parse_recent_query(&params(&[])).expect("defaults");
        assert_eq!((q.limit, q.offset), (50, 0));
        let err = parse_recent_query(&params(&[("limit", "501")])).expect_err("too many");
        assert_eq!(err[0].field, "query.limit");
        let err = parse_recent_query(&params(&[("platform", "jira"), ("status", "meh")])).expect_err("bad");
        assert_eq!(err.len(), 2);
        let err = parse_recent_query(&params(&[("offset", "10001")])).expect_err("too deep");
        assert_eq!(err[0].field, "query.offset");
        assert!(parse_recent_query(&params(&[("offset", "10000")])).is_ok());
        let err = parse_recent_query(&params(&[("platform", "slack"), ("platform", "notion")])).expect_err("two");
        assert_eq!(err[0].field, "query.platform");
    }

    #[test]
    fn repeated_status_values_count_once() {
        let q =
            parse_recent_query(&params(&[("status", "success,success"), ("status", "success"), ("status", "failed")]))
                .expect("valid");
        assert_eq!(
            q.statuses,
            vec![Status::Success, Status::Failed, Status::Cancelled, Status::Rejected, Status::Expired]
        );
    }

    #[test]
    fn status_words_expand_to_states() {
        let q = parse_recent_query(&params(&[("status", "pending")])).expect("valid");
        assert_eq!(q.statuses, vec![Status::PendingApproval, Status::Queued, Status::Retrying]);
        let q = parse_recent_query(&params(&[("status", "success,retrying")])).expect("valid");
        assert_eq!(q.statuses, vec![Status::Success, Status::Retrying]);
    }

    #[test]
    fn dates_accept_timestamps_and_whole_days() {
        let q = parse_recent_query(&params(&[("startDate", "2025-10-17"), ("endDate", "2025-10-17")])).expect("valid");
        assert!(q.start < q.end);
        let err =
            parse_recent_query(&params(&[("startDate", "2025-10-18"), ("endDate", "2025-10-17")])).expect_err("order");
        assert_eq!(err[0].field, "query.startDate");
    }
}
