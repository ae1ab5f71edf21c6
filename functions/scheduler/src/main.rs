//! Composition root of `SchedulerFunction`.

use baton_aws::apigw::ApiGwNotifier;
use baton_aws::config::{Config, Needs};
use baton_aws::connections::DynamoConnections;
use baton_aws::events_queue::SqsEventPublisher;
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::{PlatformRegistry, SystemClock};
use lambda_runtime::{LambdaEvent, service_fn};
use scheduler::handler::Scheduler;
use serde_json::Value;
use std::sync::{Arc, Mutex};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, events_queue: true, ws_endpoint: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let store = DynamoActionStore::new(dynamodb.clone(), &config.store.actions_table, config.store.retention);
    let queue = SqsActionQueue::new(sqs.clone(), config.queue_urls.clone(), config.capacity);
    let sink = SqsEventPublisher::new(sqs, &config.events_queue_url);
    let management = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(&config.ws_endpoint).build(),
    );
    let notifier =
        ApiGwNotifier::new(management, Arc::new(DynamoConnections::new(dynamodb, &config.connections_table)));
    let last_depth = Mutex::new(None);
    let approvals = baton_aws::runtime::approvals(&sdk, &config, PlatformRegistry::new());
    let workflows = baton_aws::runtime::workflows(&sdk, &config, approvals.clone());
    let metrics = baton_domain::usecases::Metrics {
        store: Arc::new(baton_aws::metrics::DynamoMetricsStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &config.store.metrics_table,
            config.store.retention,
        )),
        clock: Arc::new(SystemClock),
    };
    let scheduler = Scheduler {
        store: &store,
        queue: &queue,
        clock: &SystemClock,
        sink: &sink,
        notifier: &notifier,
        last_depth: &last_depth,
        approvals: &approvals,
        workflows: Some(&workflows),
        metrics: Some(&metrics),
    };
    let scheduler = &scheduler;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        scheduler.run().await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
