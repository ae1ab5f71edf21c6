//! What every function's `main` does first: JSON logs, and one SDK configuration per cold
//! start (honouring `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`).

use aws_config::{BehaviorVersion, SdkConfig};

/// JSON lines to CloudWatch Logs, redacted; level from `RUST_LOG` (default `info`).
pub fn init_telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    crate::telemetry::init(filter, true, true);
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}
