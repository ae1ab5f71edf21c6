//! Builds the router's state from the serverless adapters. Requests go through
//! `lambda_http`, which turns API Gateway proxy events into HTTP requests for the router.

use aws_config::SdkConfig;
use baton_aws::config::Config;
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::{ActionQueue, ActionStore, SystemClock};
use baton_domain::usecases::Submitter;
use baton_http::AppState;
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
    with_ports(store, queue)
}

pub fn with_ports(store: Arc<dyn ActionStore>, queue: Arc<dyn ActionQueue>) -> AppState {
    AppState {
        submitter: Submitter { store: store.clone(), queue: queue.clone(), clock: Arc::new(SystemClock) },
        store,
        queue,
        hub: None,
    }
}
