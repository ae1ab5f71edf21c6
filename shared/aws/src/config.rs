//! Typed configuration from the environment. `from_lookup` takes any lookup so tests never
//! touch the process environment; every problem is reported at once.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Physical name of the actions table (`BATON_ACTIONS_TABLE`, default `baton-actions`).
    pub actions_table: String,
    /// How long finished actions are kept (`BATON_RETENTION_DAYS`, default 30).
    pub retention: Duration,
    /// `BATON_PLATFORM_STATE_TABLE`, default `baton-platform-state`.
    pub platform_state_table: String,
    /// Published platform limits, overridden by `BATON_RATE_LIMITS` (`notion=3/1s,...`); the
    /// breaker's cool-down by `BATON_BREAKER_COOL_DOWN` (`30s`).
    pub limits: baton_domain::limits::Limits,
    /// `BATON_IDEMPOTENCY_TABLE`, default `baton-idempotency`.
    pub idempotency_table: String,
    /// `BATON_API_KEYS_TABLE`, default `baton-api-keys`.
    pub api_keys_table: String,
    /// `BATON_RATE_LIMITS_TABLE`, default `baton-rate-limits`.
    pub rate_limits_table: String,
    /// The API's rate limits: the contract's, overridden by `BATON_API_RATE_LIMITS`.
    pub api_limits: baton_domain::auth::limits::ApiLimits,
    /// `BATON_CORS_ORIGINS`: origins a browser may call the API from (comma-separated).
    pub cors_origins: Vec<String>,
    /// `BATON_APPROVALS_TABLE`, default `baton-approvals`.
    pub approvals_table: String,
    /// `BATON_WORKFLOWS_TABLE`: workflows and their idempotency keys.
    pub workflows_table: String,
    /// `BATON_METRICS_TABLE`: counters per series and minute (and hour).
    pub metrics_table: String,
    /// `BATON_APPROVAL_CHANNEL`: the Slack channel of approval requests that name none.
    pub approval_channel: Option<String>,
}

/// What one function needs besides the actions table; checked at cold start, all at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub queues: bool,
    pub events_queue: bool,
    pub ws_endpoint: bool,
    pub stream_failures: bool,
}

/// The serverless path's configuration: `Config::from_env()` in every function's `main`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub store: StoreConfig,
    /// `BATON_CONNECTIONS_TABLE`, default `baton-connections`.
    pub connections_table: String,
    /// `BATON_{CRITICAL,HIGH,NORMAL,LOW}_QUEUE_URL`, by `Priority::index()`.
    pub queue_urls: [String; 4],
    /// The priority queues' dead-letter queues, by priority (empty where unset).
    pub dlq_urls: [String; 4],
    /// `BATON_EVENTS_QUEUE_URL` (FIFO).
    pub events_queue_url: String,
    /// `BATON_WS_ENDPOINT`: `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`.
    pub ws_endpoint: String,
    /// `BATON_STREAM_FAILURE_QUEUE_URL`: where undecodable stream records are parked whole.
    pub stream_failure_queue_url: String,
    /// `BATON_CAPACITY`: the executor mappings' maximum concurrency per priority, for estimates.
    pub capacity: [u32; 4],
    /// `BATON_CONFIGURED_PLATFORMS`: which platforms have credentials (for the health report
    /// of functions that do not hold the credentials themselves), e.g. `slack,notion`.
    pub configured_platforms: Vec<baton_domain::model::Platform>,
    /// `BATON_QUEUE_FROM_STREAM`: the priorities whose new actions the stream function
    /// queues, batched (e.g. `normal,low`); unset or empty, the submitters queue every one.
    pub handoff: baton_domain::usecases::Handoff,
}

pub const QUEUE_VARS: [&str; 4] =
    ["BATON_CRITICAL_QUEUE_URL", "BATON_HIGH_QUEUE_URL", "BATON_NORMAL_QUEUE_URL", "BATON_LOW_QUEUE_URL"];
/// Their dead-letter queues (optional: where set, `POST /api/queues/{priority}/redrive` works).
pub const DLQ_VARS: [&str; 4] =
    ["BATON_CRITICAL_DLQ_URL", "BATON_HIGH_DLQ_URL", "BATON_NORMAL_DLQ_URL", "BATON_LOW_DLQ_URL"];

impl Config {
    pub fn from_env(needs: Needs) -> Result<Self, ConfigError> {
        Self::from_lookup(needs, |k| std::env::var(k).ok())
    }

    pub fn from_lookup(needs: Needs, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = match StoreConfig::from_lookup(&lookup) {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        };
        let mut required = |name: &str, needed: bool| -> String {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                Some(v) => v,
                None => {
                    if needed {
                        problems.push(format!("{name} is required"));
                    }
                    String::new()
                }
            }
        };
        let queue_urls = QUEUE_VARS.map(|name| required(name, needs.queues));
        let dlq_urls = DLQ_VARS.map(|name| lookup(name).map(|v| v.trim().to_owned()).unwrap_or_default());
        let events_queue_url = required("BATON_EVENTS_QUEUE_URL", needs.events_queue);
        let ws_endpoint = required("BATON_WS_ENDPOINT", needs.ws_endpoint);
        let stream_failure_queue_url = required("BATON_STREAM_FAILURE_QUEUE_URL", needs.stream_failures);
        let connections_table = lookup("BATON_CONNECTIONS_TABLE").unwrap_or_else(|| "baton-connections".into());
        let capacity = match lookup("BATON_CAPACITY") {
            None => [10, 10, 10, 5],
            Some(text) => match parse_capacity(&text) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("BATON_CAPACITY: {e}"));
                    [10, 10, 10, 5]
                }
            },
        };
        let mut configured_platforms = Vec::new();
        for name in
            lookup("BATON_CONFIGURED_PLATFORMS").unwrap_or_default().split(',').map(str::trim).filter(|n| !n.is_empty())
        {
            match baton_domain::model::Platform::parse(name) {
                Some(p) => configured_platforms.push(p),
                None => problems.push(format!("BATON_CONFIGURED_PLATFORMS: '{name}' is not a platform")),
            }
        }
        let handoff = baton_domain::usecases::Handoff::parse(&lookup("BATON_QUEUE_FROM_STREAM").unwrap_or_default())
            .unwrap_or_else(|e| {
                problems.push(format!("BATON_QUEUE_FROM_STREAM: {e}"));
                baton_domain::usecases::Handoff::NONE
            });
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        let store = StoreConfig::from_lookup(&lookup)?;
        Ok(Self {
            store,
            connections_table,
            queue_urls,
            dlq_urls,
            events_queue_url,
            ws_endpoint,
            stream_failure_queue_url,
            capacity,
            configured_platforms,
            handoff,
        })
    }
}

/// `critical,high,normal,low` counts, e.g. `10,10,10,5`.
fn parse_capacity(text: &str) -> Result<[u32; 4], String> {
    let parts: Vec<u32> = text
        .split(',')
        .map(|p| p.trim().parse::<u32>().map_err(|_| format!("'{p}' is not a count")))
        .collect::<Result<_, _>>()?;
    <[u32; 4]>::try_from(parts).map_err(|_| "give four counts: critical,high,normal,low".into())
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl StoreConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems: Vec<String> = Vec::new();
        let actions_table = lookup("BATON_ACTIONS_TABLE").unwrap_or_else(|| "baton-actions".into());
        if actions_table.trim().is_empty() {
            problems.push("BATON_ACTIONS_TABLE must not be empty".into());
        }
        let retention_days = match lookup("BATON_RETENTION_DAYS") {
            None => 30,
            Some(v) => match v.parse::<u64>() {
                Ok(d) if (1..=3650).contains(&d) => d,
                _ => {
                    problems
                        .push(format!("BATON_RETENTION_DAYS must be a whole number of days from 1 to 3650, got {v:?}"));
                    30
                }
            },
        };
        let limits = match lookup("BATON_RATE_LIMITS") {
            None => baton_domain::limits::Limits::default(),
            Some(text) => baton_domain::limits::Limits::default().with_overrides(&text).unwrap_or_else(|e| {
                problems.push(format!("BATON_RATE_LIMITS: {e}"));
                baton_domain::limits::Limits::default()
            }),
        };
        let mut limits = limits;
        if let Some(v) = lookup("BATON_BREAKER_COOL_DOWN") {
            match v.trim().trim_end_matches('s').parse::<u64>() {
                Ok(secs) if (1..=3600).contains(&secs) => limits.breaker.cool_down = Duration::from_secs(secs),
                _ => problems.push(format!("BATON_BREAKER_COOL_DOWN must be 1s to 3600s, got {v:?}")),
            }
        }
        let platform_state_table =
            lookup("BATON_PLATFORM_STATE_TABLE").unwrap_or_else(|| "baton-platform-state".into());
        let idempotency_table = lookup("BATON_IDEMPOTENCY_TABLE").unwrap_or_else(|| "baton-idempotency".into());
        let api_keys_table = lookup("BATON_API_KEYS_TABLE").unwrap_or_else(|| "baton-api-keys".into());
        let rate_limits_table = lookup("BATON_RATE_LIMITS_TABLE").unwrap_or_else(|| "baton-rate-limits".into());
        let api_limits = match lookup("BATON_API_RATE_LIMITS") {
            None => Default::default(),
            Some(text) => baton_domain::auth::limits::ApiLimits::default().with_overrides(&text).unwrap_or_else(|e| {
                problems.push(format!("BATON_API_RATE_LIMITS: {e}"));
                Default::default()
            }),
        };
        let cors_origins = lookup("BATON_CORS_ORIGINS")
            .unwrap_or_else(|| "http://localhost:3000".into())
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        let approvals_table = lookup("BATON_APPROVALS_TABLE").unwrap_or_else(|| "baton-approvals".into());
        let workflows_table = lookup("BATON_WORKFLOWS_TABLE").unwrap_or_else(|| "baton-workflows".into());
        let metrics_table = lookup("BATON_METRICS_TABLE").unwrap_or_else(|| "baton-metrics".into());
        let approval_channel = lookup("BATON_APPROVAL_CHANNEL").map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Self {
            approvals_table,
            workflows_table,
            metrics_table,
            approval_channel,
            actions_table,
            retention: Duration::from_secs(retention_days * 86_400),
            platform_state_table,
            limits,
            idempotency_table,
            api_keys_table,
            rate_limits_table,
            api_limits,
            cors_origins,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_apply_and_every_problem_is_reported() {
        let ok = StoreConfig::from_lookup(|_| None).expect("defaults");
        assert_eq!(ok.actions_table, "baton-actions");
        assert_eq!(ok.retention, Duration::from_secs(30 * 86_400));
        let env: HashMap<&str, &str> = [("BATON_ACTIONS_TABLE", " "), ("BATON_RETENTION_DAYS", "forever")].into();
        let err = StoreConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect_err("bad");
        assert_eq!(err.0.len(), 2);
        let quick = StoreConfig::from_lookup(|k| (k == "BATON_BREAKER_COOL_DOWN").then(|| "2s".into())).expect("2s");
        assert_eq!(quick.limits.breaker.cool_down, Duration::from_secs(2));
        let never = StoreConfig::from_lookup(|k| (k == "BATON_BREAKER_COOL_DOWN").then(|| "0".into()));
        assert!(never.is_err(), "a breaker that never cools down is refused");
    }

    #[test]
    fn a_function_hears_of_every_missing_variable_at_once() {
        let needs = Needs { queues: true, events_queue: true, ..Needs::default() };
        let err = Config::from_lookup(needs, |_| None).expect_err("missing");
        assert_eq!(err.0.len(), 5, "{err}");
        assert!(err.to_string().contains("BATON_LOW_QUEUE_URL is required"));
        let env: HashMap<&str, &str> = [
            ("BATON_CRITICAL_QUEUE_URL", "c"),
            ("BATON_HIGH_QUEUE_URL", "h"),
            ("BATON_NORMAL_QUEUE_URL", "n"),
            ("BATON_LOW_QUEUE_URL", "l"),
            ("BATON_EVENTS_QUEUE_URL", "e"),
            ("BATON_CAPACITY", "1,2,3,4"),
        ]
        .into();
        let ok = Config::from_lookup(needs, |k| env.get(k).map(|v| v.to_string())).expect("complete");
        assert_eq!(ok.queue_urls, ["c", "h", "n", "l"]);
        assert_eq!(ok.capacity, [1, 2, 3, 4]);
        assert!(Config::from_lookup(Needs::default(), |k| (k == "BATON_CAPACITY").then(|| "1,2".into())).is_err());
        assert_eq!(ok.handoff, baton_domain::usecases::Handoff::NONE, "unset: every submitter queues itself");
        let stream = |v: &'static str| {
            Config::from_lookup(Needs::default(), move |k| (k == "BATON_QUEUE_FROM_STREAM").then(|| v.into()))
        };
        use baton_domain::model::Priority;
        assert_eq!(
            stream("normal,low").expect("ok").handoff,
            baton_domain::usecases::Handoff::of(&[Priority::Normal, Priority::Low])
        );
        assert!(stream("soon").is_err());
    }
}
