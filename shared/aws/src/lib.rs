//! Baton's AWS adapters.
//!
//! - [`access`]: `DynamoKeyStore` and `DynamoRateCounter`, the API keys and rate limits.
//! - [`approvals`]: `DynamoApprovalStore`, the approvals table and its sparse open index.
//! - [`telemetry`]: logs, redacted on their way out, in every format.
//! - [`tables`]: the table definitions shared by the local runtime and the SAM template.
//! - [`calls`]: `CallCounter`, an SDK interceptor counting API calls by operation.
//! - [`codec`]: JSON ⇄ DynamoDB attribute values; [`items`]: the versioned put / get every table shares.
//! - [`store`]: `DynamoActionStore`, the actions table (the one place DynamoDB errors are classified).
//! - [`sqs`]: `SqsActionQueue`, one queue per priority.
//! - [`config`]: typed configuration from the environment.
//! - [`connections`]: `DynamoConnections`, the WebSocket connections table.
//! - [`apigw`]: `ApiGwNotifier`, events to WebSocket clients via `PostToConnection`.
//! - [`events_queue`]: `SqsEventPublisher`, events onto the FIFO events queue.
//! - [`stream`]: DynamoDB Streams records → action images.
//! - [`platform_state`]: `DynamoPlatformState`, breakers and buckets.
//! - [`keys`]: `DynamoKeys`, idempotency keys.
//!
//! Depends on the domain only; never on the HTTP layer or a platform client.

pub mod access;
pub mod apigw;
pub mod approvals;
pub mod calls;
pub mod codec;
pub mod config;
pub mod connections;
pub mod dead_letters;
pub mod events_queue;
pub mod items;
pub mod keys;
pub mod metrics;
pub mod platform_state;
pub mod runtime;
pub mod secrets;
pub mod sqs;
pub mod store;
pub mod stream;
pub mod tables;
pub mod telemetry;
pub mod workflows;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

/// A DynamoDB client for a local endpoint (the embedded emulator): fixed region and
/// throwaway credentials, since the emulator checks neither.
pub fn local_dynamodb_client(endpoint: &str, counter: Option<calls::CallCounter>) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("baton-local", "baton-local", None, None, "baton-local"));
    if let Some(counter) = counter {
        config = config.interceptor(counter);
    }
    let config = config.build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// An SQS client for a local endpoint (an emulator such as moto).
pub fn local_sqs_client(endpoint: &str, counter: Option<calls::CallCounter>) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "baton-local"));
    if let Some(counter) = counter {
        config = config.interceptor(counter);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}
