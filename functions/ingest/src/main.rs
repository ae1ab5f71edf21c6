//! Composition root of `IngestFunction`.

use aws_lambda_events::event::sqs::SqsEvent;
use baton_aws::config::{Config, Needs};
use baton_aws::events_queue::SqsEventPublisher;
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_domain::ports::SystemClock;
use baton_domain::usecases::{Ingestor, Submitter};
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, events_queue: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ingestor = Ingestor {
        submitter: Submitter {
            store: Arc::new(DynamoActionStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                &config.store.actions_table,
                config.store.retention,
            )),
            queue: Arc::new(SqsActionQueue::new(sqs.clone(), config.queue_urls.clone(), config.capacity)),
            clock: Arc::new(SystemClock),
        },
    };
    let sink = SqsEventPublisher::new(sqs, &config.events_queue_url);
    let (ingestor, sink) = (&ingestor, &sink);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(ingest::handler::handle(ingestor, sink, event.payload).await)
    }))
    .await
}
