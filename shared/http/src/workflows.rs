//! The `/api/workflows` routes: start a workflow, read one and the newest, cancel. Each
//! parses, calls the one use case, shapes the answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_domain::usecases::{WorkflowReceipt, WorkflowView};
use baton_domain::validation::{WorkflowRequest, parse_workflow};
use baton_domain::workflow::WorkflowStatus;
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, idempotency_key, json_body};
use crate::listing::Listing;
use crate::query::QueryPairs;

const LISTING: Listing<WorkflowStatus> = Listing {
    default: None,
    parse: WorkflowStatus::parse,
    allowed: "running, completed, failed, rolling_back, rolled_back, rollback_failed, cancelled",
    default_limit: 50,
    max_limit: 200,
};

/// Starts `request`; an `Idempotency-Key` header stands for `idempotencyKey` when the body
/// has none. A replay answers `200` with the original workflow as it is now.
pub(crate) async fn start(
    state: &AppState,
    headers: &HeaderMap,
    mut request: WorkflowRequest,
) -> Result<Response, ApiError> {
    if request.idempotency_key.is_none() {
        request.idempotency_key = idempotency_key(headers)?;
    }
    let submitted = state.workflows.submit(request).await?;
    if submitted.replayed {
        let view = state.workflows.get(&submitted.workflow.id).await?;
        let mut response = Json(view).into_response();
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    }
    Ok((StatusCode::ACCEPTED, Json(WorkflowReceipt::of(&submitted.workflow))).into_response())
}

/// `POST /api/workflows`: the `workflow:ready` payload itself.
#[utoipa::path(post, path = "/api/workflows", tag = "workflows", operation_id = "startWorkflow",
    description = "Start a workflow (the contract's `workflow:ready` payload): a DAG of actions whose \
strings may reference earlier results (`{{steps.<name>.result.<path>}}`), with rollback when transactional.",
    params(crate::actions::IdempotencyHeader), request_body = crate::workflow_schemas::WorkflowRequest,
    responses(
        (status = 202, description = "Started: its roots are queued", body = crate::workflow_schemas::WorkflowReceipt),
        (status = 200, description = "The same idempotencyKey (or workflowId) and body again: the original workflow", body = crate::workflow_schemas::Workflow),
        (status = 409, description = "The idempotencyKey or workflowId was used with another body: DUPLICATE_ERROR", body = crate::schemas::ErrorEnvelope),
        (status = 413, description = "The body exceeds 256 KiB", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let request = parse_workflow(&body).map_err(ApiError::invalid)?;
    start(&state, &headers, request).await
}

/// The query of `GET /api/workflows`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// `running`, `completed`, `failed`, `rolling_back`, `rolled_back`, `rollback_failed`,
    /// `cancelled` or `all` (default).
    status: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
}

/// `GET /api/workflows`: the newest workflows.
#[utoipa::path(get, path = "/api/workflows", tag = "workflows", operation_id = "listWorkflows",
    params(ListParams),
    responses((status = 200, description = "Newest first, from the record (no results)", body = crate::workflow_schemas::WorkflowList)))]
pub async fn list(State(state): State<AppState>, QueryPairs(params): QueryPairs) -> Result<Response, ApiError> {
    let (status, limit) = LISTING.parse(&params).map_err(ApiError::invalid)?;
    let workflows: Vec<WorkflowView> =
        state.workflows.list(status, limit).await?.iter().map(|w| WorkflowView::of(w, &[])).collect();
    Ok(Json(json!({ "workflows": workflows })).into_response())
}

/// `GET /api/workflows/{id}`: the workflow with its steps' live state, results and errors.
#[utoipa::path(get, path = "/api/workflows/{id}", tag = "workflows", operation_id = "getWorkflow",
    params(("id" = String, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "The workflow", body = crate::workflow_schemas::Workflow),
        (status = 404, description = "No such workflow", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(state.workflows.get(&id).await?).into_response())
}

/// `POST /api/workflows/{id}/cancel`.
#[utoipa::path(post, path = "/api/workflows/{id}/cancel", tag = "workflows", operation_id = "cancelWorkflow",
    description = "Waiting and queued steps are cancelled, running ones finish; a transactional workflow \
then undoes what succeeded.",
    params(("id" = String, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "Stopping (or stopped): the workflow now", body = crate::workflow_schemas::Workflow),
        (status = 404, description = "No such workflow", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "It is over already: DUPLICATE_ERROR", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(state.workflows.cancel(&id).await?).into_response())
}
