//! Composition root of `StreamFunction`.

use baton_aws::apigw::ApiGwNotifier;
use baton_aws::config::{Config, Needs};
use baton_aws::connections::DynamoConnections;
use baton_aws::events_queue::SqsEventPublisher;
use baton_aws::runtime::{init_telemetry, sdk_config};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { events_queue: true, ws_endpoint: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let connections = Arc::new(DynamoConnections::new(aws_sdk_dynamodb::Client::new(&sdk), &config.connections_table));
    let management = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(&config.ws_endpoint).build(),
    );
    let notifier = ApiGwNotifier::new(management, connections);
    let sink = SqsEventPublisher::new(aws_sdk_sqs::Client::new(&sdk), &config.events_queue_url);
    let (sink, notifier) = (&sink, &notifier);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, lambda_runtime::Error>(stream::handler::handle(sink, notifier, event.payload).await)
    }))
    .await
}
