//! Composition root of `WsFunction`.

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use baton_aws::apigw::ApiGwNotifier;
use baton_aws::config::{Config, Needs};
use baton_aws::connections::DynamoConnections;
use baton_aws::runtime::{init_telemetry, sdk_config};
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { ws_endpoint: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let connections = Arc::new(DynamoConnections::new(aws_sdk_dynamodb::Client::new(&sdk), &config.connections_table));
    let management = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(&config.ws_endpoint).build(),
    );
    let replies = ApiGwNotifier::new(management, connections.clone());
    let (connections, replies) = (connections.as_ref(), &replies);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<_, lambda_runtime::Error>(ws::handler::handle(connections, replies, event.payload).await)
    }))
    .await
}
