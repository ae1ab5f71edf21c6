//! Composition root of `StreamFunction`.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use baton_aws::apigw::ApiGwNotifier;
use baton_aws::config::{Config, Needs};
use baton_aws::connections::DynamoConnections;
use baton_aws::events_queue::{SqsEventPublisher, SqsParking};
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_domain::ports::PlatformRegistry;
use baton_domain::usecases::Reactor;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;
use stream::handler::Outlets;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config =
        Config::from_env(Needs { queues: true, events_queue: true, ws_endpoint: true, stream_failures: true })?;
    let sdk = sdk_config().await;
    let connections = Arc::new(DynamoConnections::new(aws_sdk_dynamodb::Client::new(&sdk), &config.connections_table));
    let management = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(&config.ws_endpoint).build(),
    );
    let notifier = ApiGwNotifier::new(management, connections);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let sink = SqsEventPublisher::new(sqs.clone(), &config.events_queue_url);
    let queue = baton_aws::sqs::SqsActionQueue::new(sqs.clone(), config.queue_urls.clone(), config.capacity);
    let parking = SqsParking::new(sqs, &config.stream_failure_queue_url);
    // Reactions settle approvals; they never render previews, so no platform client is needed.
    let approvals = baton_aws::runtime::approvals(&sdk, &config, PlatformRegistry::new());
    let workflows = baton_aws::runtime::workflows(&sdk, &config, approvals.clone());
    let reactor = Reactor { approvals, workflows };
    let metrics = baton_domain::usecases::Metrics {
        store: Arc::new(baton_aws::metrics::DynamoMetricsStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &config.store.metrics_table,
            config.store.retention,
        )),
        clock: Arc::new(baton_domain::ports::SystemClock),
    };
    let outlets = Outlets {
        sink: &sink,
        notifier: &notifier,
        parking: &parking,
        reactor: Some(&reactor),
        metrics: Some(&metrics),
        queue: Some((&queue, config.handoff)),
    };
    let outlets = &outlets;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| async move {
        Ok::<_, lambda_runtime::Error>(stream::handler::handle(outlets, event.payload).await)
    }))
    .await
}
