//! Composition root of `ApiFunction`.

use baton_aws::config::{Config, Needs};
use baton_aws::runtime::{init_telemetry, sdk_config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    let app = api::handler::app(api::handler::state(&config, &sdk));
    lambda_http::run(app).await
}
