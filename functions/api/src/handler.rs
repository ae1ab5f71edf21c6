//! Builds the router's state from the serverless adapters. Requests go through
//! `lambda_http`, which turns API Gateway proxy events into HTTP requests for the router.

use aws_config::SdkConfig;
use baton_aws::config::Config;
use baton_aws::platform_state::DynamoPlatformState;
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::{ActionQueue, ActionStore, SystemClock};
use baton_domain::usecases::Submitter;
use baton_http::{AppState, HealthSource};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use std::sync::Arc;

/// The router's state on AWS. WebSocket connections are API Gateway's, so there is no hub.
pub fn state(config: &Config, sdk: &SdkConfig) -> AppState {
    let store: Arc<dyn ActionStore> = Arc::new(DynamoActionStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.store.actions_table,
        config.store.retention,
    ));
    let queue: Arc<dyn ActionQueue> =
        Arc::new(SqsActionQueue::new(aws_sdk_sqs::Client::new(sdk), config.queue_urls.clone(), config.capacity));
    let health = HealthSource {
        states: Arc::new(DynamoPlatformState::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &config.store.platform_state_table,
        )),
        limits: config.store.limits.clone(),
        configured: config.configured_platforms.clone(),
    };
    with_ports(store, queue, health)
}

pub fn with_ports(store: Arc<dyn ActionStore>, queue: Arc<dyn ActionQueue>, health: HealthSource) -> AppState {
    AppState {
        submitter: Submitter { store: store.clone(), queue: queue.clone(), clock: Arc::new(SystemClock) },
        store,
        queue,
        hub: None,
        health,
    }
}

/// The router behind API Gateway. A REST API's event names the path with its stage
/// (`/prod/api/actions`); the routes are the same as `baton serve`'s, so the stage goes —
/// before routing, hence around the router rather than as one of its layers.
pub type App = tower::util::MapRequest<axum::Router, fn(lambda_http::Request) -> lambda_http::Request>;

pub fn app(state: AppState) -> App {
    tower::ServiceExt::map_request(baton_http::router(state), strip_stage as fn(_) -> _)
}

fn strip_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") else { return request };
    let prefix = format!("/{stage}");
    let path_and_query = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if let Some(rest) = path_and_query.strip_prefix(&prefix)
        && (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    {
        let rest = if rest.is_empty() || rest.starts_with('?') { format!("/{rest}") } else { rest.to_owned() };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(pq) = rest.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}
