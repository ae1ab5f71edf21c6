//! Composition root of `ExecutorFunction`.

use baton_aws::config::{Config, Needs};
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::SystemClock;
use baton_domain::usecases::Executor;
use baton_platforms::PlatformSettings;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let store = DynamoActionStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        &config.store.actions_table,
        config.store.retention,
    );
    let queue = SqsActionQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_urls.clone(), config.capacity);
    let executor = Executor {
        store: Arc::new(store),
        platforms: Arc::new(PlatformSettings::from_env().registry()),
        clock: Arc::new(SystemClock),
        // One sandbox runs one invocation at a time; its log stream names it.
        worker_id: std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "executor".into()),
        lease_grace: Duration::from_secs(5),
    };
    let (executor, queue) = (&executor, &queue);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(executor::handler::handle(executor, queue, event.payload).await)
    }))
    .await
}
