//! Composition root of `ExecutorFunction`.

use baton_aws::config::{Config, Needs};
use baton_aws::platform_state::DynamoPlatformState;
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::SystemClock;
use baton_domain::usecases::{Executor, ExecutorParts};
use baton_platforms::PlatformSettings;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    // Credentials: the stack's secret (once per cold start), else the environment.
    let secret = baton_aws::secrets::platform_secret(&sdk).await?;
    let platforms = PlatformSettings::from_lookup(|k| secret.get(k).cloned().or_else(|| std::env::var(k).ok()));
    for s in platforms.secret_values() {
        baton_aws::telemetry::Redactor::global().remember(&s);
    }
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let queue = SqsActionQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_urls.clone(), config.capacity);
    let executor = Executor::compose(ExecutorParts {
        store: Arc::new(DynamoActionStore::new(dynamodb.clone(), &config.store.actions_table, config.store.retention)),
        queue: Arc::new(queue.clone()),
        platform_state: Arc::new(DynamoPlatformState::new(dynamodb, &config.store.platform_state_table)),
        platforms: platforms.registry(),
        limits: config.store.limits.clone(),
        clock: Arc::new(SystemClock),
        // One sandbox runs one invocation at a time; its log stream names it.
        worker_id: std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "executor".into()),
    });
    let (executor, queue) = (&executor, &queue);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        let deadline = executor::handler::deadline_of(&event.context);
        Ok::<_, lambda_runtime::Error>(executor::handler::handle(executor, queue, event.payload, Some(deadline)).await)
    }))
    .await
}
