//! Builds the router's state from the serverless adapters. Requests go through
//! `lambda_http`, which turns API Gateway proxy events into HTTP requests for the router. The
//! function runs with `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` set (template.yaml), so paths
//! reach the router without the REST stage: the routes are exactly `baton serve`'s.
//!
//! The authorizer has verified the caller's key; what it found (key id, scopes, limits) comes
//! in the request context and becomes the request's `Principal`, which the router's scope and
//! rate-limit checks read — the same checks as `baton serve`.

use aws_config::SdkConfig;
use baton_aws::access::{DynamoKeyStore, DynamoRateCounter};
use baton_aws::config::Config;
use baton_aws::keys::DynamoKeys;
use baton_aws::platform_state::DynamoPlatformState;
use baton_domain::auth::{KeyRateLimit, Principal, Scope};
use baton_domain::ports::{ActionQueue, ActionStore, IdempotencyStore, SystemClock};
use baton_domain::usecases::{Access, Approvals, Submitter, Workflows};
use baton_http::auth::ClientAddress;
use baton_http::{AppState, HealthSource, SlackSettings};
use baton_platforms::PlatformSettings;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What the router reads and writes on AWS; `with_ports` makes the router's state of it.
pub struct Ports {
    pub store: Arc<dyn ActionStore>,
    pub queue: Arc<dyn ActionQueue>,
    pub keys: Arc<dyn IdempotencyStore>,
    pub health: HealthSource,
    pub access: Access,
    pub cors_origins: Vec<String>,
    pub approvals: Approvals,
    pub slack: SlackSettings,
    pub workflows: Workflows,
    /// How long actions are kept: the history's window never reaches further back.
    pub retention: std::time::Duration,
    pub metrics: baton_domain::usecases::Metrics,
    pub dead_letters: Option<Arc<dyn baton_domain::ports::DeadLetters>>,
}

/// The router's state on AWS. WebSocket connections are API Gateway's, so there is no hub.
/// `platforms` (the stack's secret, else the environment) renders approval previews and holds
/// Slack's signing secret.
pub fn state(config: &Config, sdk: &SdkConfig, platforms: &PlatformSettings) -> AppState {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let approvals = baton_aws::runtime::approvals(sdk, config, platforms.registry());
    let health = HealthSource {
        states: Arc::new(DynamoPlatformState::new(dynamodb.clone(), &config.store.platform_state_table)),
        limits: config.store.limits.clone(),
        configured: config.configured_platforms.clone(),
    };
    let access = Access::serving(
        Arc::new(DynamoKeyStore::new(dynamodb.clone(), &config.store.api_keys_table)),
        Arc::new(DynamoRateCounter::new(dynamodb.clone(), &config.store.rate_limits_table)),
        config.store.api_limits,
        Arc::new(SystemClock),
    );
    with_ports(Ports {
        store: approvals.actions.clone(),
        queue: approvals.submitter.queue.clone(),
        keys: Arc::new(DynamoKeys::new(dynamodb.clone(), &config.store.idempotency_table)),
        health,
        access,
        cors_origins: config.store.cors_origins.clone(),
        slack: SlackSettings {
            signing_secret: platforms.signing_secret(),
            responder: Some(platforms.slack_responder()),
        },
        workflows: baton_aws::runtime::workflows(sdk, config, approvals.clone()),
        retention: config.store.retention,
        dead_letters: config.dlq_urls.iter().all(|u| !u.is_empty()).then(|| {
            Arc::new(baton_aws::dead_letters::SqsDeadLetters::new(
                aws_sdk_sqs::Client::new(sdk),
                config.dlq_urls.clone(),
                config.queue_urls.clone(),
            )) as Arc<dyn baton_domain::ports::DeadLetters>
        }),
        metrics: baton_domain::usecases::Metrics {
            store: Arc::new(baton_aws::metrics::DynamoMetricsStore::new(
                dynamodb.clone(),
                &config.store.metrics_table,
                config.store.retention,
            )),
            clock: Arc::new(SystemClock),
        },
        approvals,
    })
}

pub fn with_ports(ports: Ports) -> AppState {
    let Ports {
        store,
        queue,
        keys,
        health,
        access,
        cors_origins,
        approvals,
        slack,
        workflows,
        retention,
        metrics,
        dead_letters,
    } = ports;
    let operator = baton_domain::usecases::Operator::over(&approvals);
    let history = baton_domain::usecases::History { store: store.clone(), clock: Arc::new(SystemClock), retention };
    AppState {
        submitter: Submitter {
            store: store.clone(),
            queue: queue.clone(),
            clock: Arc::new(SystemClock),
            // As the deployment's other submitters: the approvals' is built from its configuration.
            handoff: approvals.submitter.handoff,
        },
        store,
        queue,
        keys,
        hub: None,
        health,
        access,
        cors_origins,
        approvals,
        slack,
        operator,
        history,
        metrics,
        dead_letters,
        workflows,
        console: baton_http::console::ConsoleSettings::default(),
    }
}

fn text(fields: &HashMap<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The principal the authorizer put in the context (values may arrive as strings).
pub fn principal_of(fields: &HashMap<String, Value>) -> Option<Principal> {
    let key_id = text(fields, "keyId")?;
    let scopes = text(fields, "scopes")?.split(',').filter_map(|s| Scope::parse(s.trim())).collect();
    let exempt = text(fields, "exempt").is_some_and(|v| v == "true");
    let n = |k: &str| text(fields, k).and_then(|v| v.parse::<u64>().ok());
    let rate_limit = match (n("perMinute"), n("perHour")) {
        (Some(per_minute), Some(per_hour)) => Some(KeyRateLimit { per_minute, per_hour }),
        _ => None,
    };
    Some(Principal { key_id, scopes, exempt, rate_limit })
}

/// Carries what API Gateway knows of the caller into the request: the authorizer's principal
/// and the client's address.
fn from_gateway(mut request: lambda_http::Request) -> lambda_http::Request {
    let (principal, address) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => {
            (principal_of(&ctx.authorizer.fields), ctx.identity.source_ip.clone())
        }
        _ => (None, None),
    };
    if let Some(p) = principal {
        request.extensions_mut().insert(p);
    }
    if let Some(a) = address {
        request.extensions_mut().insert(ClientAddress(a));
    }
    request
}

pub type App = tower::util::MapRequest<axum::Router, fn(lambda_http::Request) -> lambda_http::Request>;

/// The router behind API Gateway.
pub fn app(state: AppState) -> App {
    tower::ServiceExt::map_request(baton_http::router(state), from_gateway as fn(_) -> _)
}
