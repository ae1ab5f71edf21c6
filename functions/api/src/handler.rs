//! Builds the router's state from the serverless adapters. Requests go through
//! `lambda_http`, which turns API Gateway proxy events into HTTP requests for the router. The
//! function runs with `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` set (template.yaml), so paths
//! reach the router without the REST stage: the routes are exactly `baton serve`'s.

use aws_config::SdkConfig;
use baton_aws::config::Config;
use baton_aws::keys::DynamoKeys;
use baton_aws::platform_state::DynamoPlatformState;
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::{ActionQueue, ActionStore, IdempotencyStore, SystemClock};
use baton_domain::usecases::Submitter;
use baton_http::{AppState, HealthSource};
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
    let keys = Arc::new(DynamoKeys::new(aws_sdk_dynamodb::Client::new(sdk), &config.store.idempotency_table));
    with_ports(store, queue, keys, health)
}

pub fn with_ports(
    store: Arc<dyn ActionStore>,
    queue: Arc<dyn ActionQueue>,
    keys: Arc<dyn IdempotencyStore>,
    health: HealthSource,
) -> AppState {
    AppState {
        submitter: Submitter { store: store.clone(), queue: queue.clone(), clock: Arc::new(SystemClock) },
        store,
        queue,
        keys,
        hub: None,
        health,
    }
}

/// The router behind API Gateway.
pub fn app(state: AppState) -> axum::Router {
    baton_http::router(state)
}
