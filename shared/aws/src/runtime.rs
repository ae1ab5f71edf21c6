//! What every function's `main` does first: JSON logs, and one SDK configuration per cold
//! start (honouring `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`).

use aws_config::{BehaviorVersion, SdkConfig};
use baton_domain::model::Platform;
use baton_domain::ports::{PlatformRegistry, SystemClock};
use baton_domain::usecases::{Approvals, SlackNotices, Submitter};
use std::sync::Arc;

use crate::approvals::DynamoApprovalStore;
use crate::config::Config;
use crate::sqs::SqsActionQueue;
use crate::store::DynamoActionStore;

/// JSON lines to CloudWatch Logs, redacted; level from `RUST_LOG` (default `info`).
pub fn init_telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    crate::telemetry::init(filter, true, true);
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The approvals use case on the serverless path (every function that holds, decides,
/// settles or sweeps approvals builds it here). `platforms` renders previews: the registry of
/// a function that accepts approval requests or edits, an empty one elsewhere.
pub fn approvals(sdk: &SdkConfig, config: &Config, platforms: PlatformRegistry) -> Approvals {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let store = Arc::new(DynamoActionStore::new(dynamodb.clone(), &config.store.actions_table, config.store.retention));
    let queue =
        Arc::new(SqsActionQueue::new(aws_sdk_sqs::Client::new(sdk), config.queue_urls.clone(), config.capacity));
    let clock = Arc::new(SystemClock);
    Approvals {
        approvals: Arc::new(DynamoApprovalStore::new(dynamodb, &config.store.approvals_table, config.store.retention)),
        actions: store.clone(),
        submitter: Submitter { store, queue, clock: clock.clone(), handoff: config.handoff },
        platforms: Arc::new(platforms),
        clock,
        slack: SlackNotices {
            configured: config.configured_platforms.contains(&Platform::Slack),
            default_channel: config.store.approval_channel.clone(),
        },
    }
}

/// The workflows use case on the serverless path (every function that submits, advances or
/// sweeps workflows builds it here), on the approvals use case `approvals` gave.
pub fn workflows(sdk: &SdkConfig, config: &Config, approvals: Approvals) -> baton_domain::usecases::Workflows {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table = &config.store.workflows_table;
    baton_domain::usecases::Workflows {
        workflows: Arc::new(crate::workflows::DynamoWorkflowStore::new(
            dynamodb.clone(),
            table,
            config.store.retention,
        )),
        keys: Arc::new(crate::keys::DynamoKeys::new(dynamodb, table)),
        actions: approvals.actions.clone(),
        submitter: approvals.submitter.clone(),
        clock: approvals.clock.clone(),
        approvals,
    }
}
