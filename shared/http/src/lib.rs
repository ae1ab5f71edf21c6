//! Baton's HTTP surface: the axum router used by the `api` Lambda and by `baton serve`.
//!
//! - [`actions`]: `/api/actions/*` and `/api/events`.
//! - [`approvals`]: `/api/approvals/*`; [`slack`]: Slack's signed button clicks.
//! - [`ws`]: `/ws`, the WebSocket protocol (local runtime; API Gateway serves it on AWS).
//! - [`hub`]: the local WebSocket connections as a `Notifier`.
//! - [`error`]: the one failure → HTTP mapping, always in the contract's envelope.
//! - [`auth`]: API keys, scopes, rate limits, JSON-only POSTs, WebSocket origins.
//! - [`keys`]: the key management routes.
//! - [`console`]: the operator's console, embedded assets at `GET /`.
//! - [`openapi`], [`schemas`], [`approval_schemas`], [`event_schemas`]: the OpenAPI document,
//!   generated from the routes.
//!
//! Routes parse, call one use case or query, and shape the answer; no workflow lives here.

pub mod actions;
pub mod approval_schemas;
pub mod approvals;
pub mod auth;
pub mod console;
pub mod context;
pub mod context_schemas;
pub mod error;
pub mod event_schemas;
pub mod hub;
pub mod key_schemas;
pub mod keys;
pub mod listing;
pub mod metrics;
pub mod openapi;
pub mod operate;
pub mod operate_schemas;
pub mod query;
pub mod queues;
pub mod recent;
pub mod schemas;
pub mod slack;
pub mod workflow_schemas;
pub mod workflows;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::ErrorCode;
use baton_domain::auth::Scope;
use baton_domain::limits::Limits;
use baton_domain::model::Platform;
use baton_domain::ports::{ActionQueue, ActionStore, IdempotencyStore, PlatformStateStore, SlackResponder};
use baton_domain::usecases::{Access, Approvals, History, Metrics, Operator, Submitter, Workflows};
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
    /// API keys, scopes and rate limits.
    pub access: Access,
    /// Origins a browser page may call the API from.
    pub cors_origins: Vec<String>,
    /// Holds, decisions and the inbox.
    pub approvals: Approvals,
    /// Slack's interaction callbacks.
    pub slack: SlackSettings,
    /// Workflows: start, read, cancel.
    pub workflows: Workflows,
    /// Cancel, replay, feedback.
    pub operator: Operator,
    /// The context aggregator's history.
    pub history: History,
    /// The dashboard's metrics.
    pub metrics: Metrics,
    /// The priority queues' dead-letter queues, where there are any (on AWS).
    pub dead_letters: Option<Arc<dyn baton_domain::ports::DeadLetters>>,
    /// Where the console's page finds the WebSocket.
    pub console: console::ConsoleSettings,
}

/// What the Slack interactions route needs.
#[derive(Clone, Default)]
pub struct SlackSettings {
    /// `SLACK_SIGNING_SECRET`: without it, every interaction is refused (401).
    pub signing_secret: Option<String>,
    /// Replies to the clicking user alone.
    pub responder: Option<Arc<dyn SlackResponder>>,
}

/// The platform state behind the health report.
#[derive(Clone)]
pub struct HealthSource {
    pub states: Arc<dyn PlatformStateStore>,
    pub limits: Limits,
    /// Platforms with credentials.
    pub configured: Vec<Platform>,
}

/// No such route: a 404, counted (and answered with the rate-limit headers) per client address.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> Response {
    let (path, addr) = (req.uri().path().to_owned(), auth::address(&req));
    match auth::count_address(&state, &addr, &path).await {
        Err(limited) => limited,
        Ok(v) => auth::with_verdict(ApiError::not_found(format!("no route for {path}")).into_response(), v.as_ref()),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::ValidationError, "method not allowed on this route")
}

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = schemas::Healthz)))]
async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::UnknownError, "internal error").into_response()
}

type Routes = utoipa_axum::router::UtoipaMethodRouter<AppState>;

/// A route guarded: the caller's key must have `scope`. The document says so too.
fn scoped(state: &AppState, scope: Scope, (schemas, mut paths, route): Routes) -> Routes {
    openapi::guarded(&mut paths, scope.as_str());
    (schemas, paths, route.route_layer(axum::middleware::from_fn_with_state((state.clone(), scope), auth::require)))
}

/// A route anyone may call, counted per client address.
fn open(state: &AppState, (schemas, mut paths, route): Routes) -> Routes {
    openapi::public(&mut paths);
    (schemas, paths, route.route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::public)))
}

fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("idempotency-key")])
        .expose_headers([
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            HeaderName::from_static("idempotent-replayed"),
            header::RETRY_AFTER,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

pub fn router(state: AppState) -> Router {
    use utoipa::OpenApi;
    use utoipa_axum::routes;
    let s = &state;
    let (router, doc) = utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(scoped(s, Scope::ActionsWrite, routes!(actions::submit)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(actions::ingest)))
        .routes(scoped(s, Scope::ActionsRead, routes!(recent::recent)))
        .routes(scoped(s, Scope::ActionsRead, routes!(actions::queue)))
        .routes(scoped(s, Scope::ActionsRead, routes!(actions::health)))
        .routes(scoped(s, Scope::ActionsRead, routes!(actions::get_one)))
        .routes(scoped(s, Scope::ActionsRead, routes!(metrics::metrics)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(operate::cancel)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(operate::replay)))
        .routes(scoped(s, Scope::ActionsRead, routes!(operate::request)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(operate::replay_many)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(operate::feedback)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(approvals::request)))
        .routes(scoped(s, Scope::ActionsRead, routes!(approvals::list)))
        .routes(scoped(s, Scope::ActionsRead, routes!(approvals::get_one)))
        .routes(scoped(s, Scope::ApprovalsWrite, routes!(approvals::approve)))
        .routes(scoped(s, Scope::ApprovalsWrite, routes!(approvals::reject)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(approvals::cancel)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(workflows::submit)))
        .routes(scoped(s, Scope::ActionsRead, routes!(workflows::list)))
        .routes(scoped(s, Scope::ActionsRead, routes!(workflows::get_one)))
        .routes(scoped(s, Scope::ActionsWrite, routes!(workflows::cancel)))
        .routes(scoped(s, Scope::ContextRead, routes!(context::actions)))
        .routes(open(s, routes!(slack::interactions)))
        .routes(scoped(s, Scope::Admin, routes!(keys::create, keys::list)))
        .routes(scoped(s, Scope::Admin, routes!(keys::revoke)))
        .routes(scoped(s, Scope::Admin, routes!(queues::redrive)))
        .routes(scoped(s, Scope::ActionsRead, routes!(ws::upgrade)))
        .routes(open(s, routes!(healthz)))
        .routes(open(s, routes!(openapi::document)))
        .split_for_parts();
    let doc = Arc::new(serde_json::to_value(&doc).unwrap_or_default());
    router
        .merge(console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(doc))
        .layer(axum::middleware::from_fn(auth::json_only))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors(&state.cors_origins))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}
