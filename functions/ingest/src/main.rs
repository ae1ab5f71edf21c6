//! Composition root of `IngestFunction`.

use aws_lambda_events::event::sqs::SqsEvent;
use baton_aws::config::{Config, Needs};
use baton_aws::events_queue::SqsEventPublisher;
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_domain::usecases::Ingestor;
use baton_platforms::PlatformSettings;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, events_queue: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // Previews of held actions are dry runs: no credentials are needed to render them.
    let approvals = baton_aws::runtime::approvals(&sdk, &config, PlatformSettings::from_env().registry());
    let workflows = baton_aws::runtime::workflows(&sdk, &config, approvals.clone());
    let operator = baton_domain::usecases::Operator::over(&approvals);
    let ingestor = Ingestor { submitter: approvals.submitter.clone(), approvals, workflows, operator };
    let sink = SqsEventPublisher::new(sqs, &config.events_queue_url);
    let (ingestor, sink) = (&ingestor, &sink);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(ingest::handler::handle(ingestor, sink, event.payload).await)
    }))
    .await
}
