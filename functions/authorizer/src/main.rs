//! Composition root of `AuthorizerFunction`.

use baton_aws::access::{DynamoKeyStore, DynamoRateCounter};
use baton_aws::config::{Config, Needs};
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_domain::ports::SystemClock;
use baton_domain::usecases::Access;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs::default())?;
    let sdk = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let access = Access::serving(
        Arc::new(DynamoKeyStore::new(dynamodb.clone(), &config.store.api_keys_table)),
        Arc::new(DynamoRateCounter::new(dynamodb, &config.store.rate_limits_table)),
        config.store.api_limits,
        Arc::new(SystemClock),
    );
    let (access, origins) = (&access, &config.store.cors_origins);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        match authorizer::handler::decide(access, origins, &event.payload).await {
            authorizer::handler::Decision::Policy(p) => Ok(p),
            // The exact message API Gateway turns into a 401.
            authorizer::handler::Decision::Unauthorized => Err(lambda_runtime::Error::from("Unauthorized")),
        }
    }))
    .await
}
