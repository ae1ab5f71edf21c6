//! Baton's HTTP surface: the axum router used by the `api` Lambda and by `baton serve`.
//!
//! - [`actions`]: `/api/actions/*` and `/api/events`.
//! - [`ws`]: `/ws`, the WebSocket protocol (local runtime; API Gateway serves it on AWS).
//! - [`hub`]: the local WebSocket connections as a `Notifier`.
//! - [`error`]: the one failure → HTTP mapping, always in the contract's envelope.
//!
//! Routes parse, call one use case or query, and shape the answer; no workflow lives here.

pub mod actions;
pub mod error;
pub mod hub;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use baton_domain::ErrorCode;
use baton_domain::limits::Limits;
use baton_domain::model::Platform;
use baton_domain::ports::{ActionQueue, ActionStore, IdempotencyStore, PlatformStateStore};
use baton_domain::usecases::Submitter;
use std::any::Any;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::{ApiError, MAX_BODY_BYTES};
use crate::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    pub submitter: Submitter,
    pub store: Arc<dyn ActionStore>,
    pub queue: Arc<dyn ActionQueue>,
    /// Idempotency keys of requests that carry one.
    pub keys: Arc<dyn IdempotencyStore>,
    /// The WebSocket hub, where this process holds the connections (the local runtime).
    pub hub: Option<Arc<Hub>>,
    /// What `GET /api/actions/health` reads.
    pub health: HealthSource,
}

/// The platform state behind the health report.
#[derive(Clone)]
pub struct HealthSource {
    pub states: Arc<dyn PlatformStateStore>,
    pub limits: Limits,
    /// Platforms with credentials.
    pub configured: Vec<Platform>,
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::ValidationError, "method not allowed on this route")
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::UnknownError, "internal error").into_response()
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/actions", post(actions::submit))
        .route("/api/events", post(actions::ingest))
        .route("/api/actions/recent", get(actions::recent))
        .route("/api/actions/queue", get(actions::queue))
        .route("/api/actions/health", get(actions::health))
        .route("/api/actions/{id}", get(actions::get_one))
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}
