//! Composition root of `ApiFunction`.

use baton_aws::config::{Config, Needs};
use baton_aws::runtime::{init_telemetry, sdk_config};
use baton_platforms::PlatformSettings;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_telemetry();
    let config = Config::from_env(Needs { queues: true, ..Needs::default() })?;
    let sdk = sdk_config().await;
    // Credentials and Slack's signing secret: the stack's secret (once per cold start), else
    // the environment.
    let secret = baton_aws::secrets::platform_secret(&sdk).await?;
    let platforms = PlatformSettings::from_lookup(|k| secret.get(k).cloned().or_else(|| std::env::var(k).ok()));
    for s in platforms.secret_values() {
        baton_aws::telemetry::Redactor::global().remember(&s);
    }
    let mut state = api::handler::state(&config, &sdk, &platforms);
    if let Ok(endpoint) = std::env::var("BATON_WS_ENDPOINT") {
        state.console = baton_http::console::ConsoleSettings::from_ws_endpoint(&endpoint);
    }
    let app = api::handler::app(state);
    lambda_http::run(app).await
}
