//! A REST proxy event from API Gateway, through lambda_http, into the router: the
//! authorizer's context is the caller; its scopes and limits are enforced here.

use baton_domain::fakes::{
    ManualClock, MemoryCounters, MemoryKeyStore, MemoryKeys, MemoryQueue, MemoryStore, approvals_over,
};
use baton_domain::usecases::Access;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

struct World {
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    counters: Arc<MemoryCounters>,
}

impl World {
    fn new() -> Self {
        Self { store: Arc::default(), queue: Arc::default(), counters: Arc::default() }
    }

    fn app(&self) -> api::handler::App {
        let health = baton_http::HealthSource {
            states: Arc::new(baton_domain::fakes::MemoryPlatformState::default()),
            limits: Default::default(),
            configured: vec![],
        };
        let access = Access {
            keys: Arc::new(MemoryKeyStore::default()),
            counters: self.counters.clone(),
            limits: Default::default(),
            clock: Arc::new(ManualClock::new(chrono::Utc::now())),
        };
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let approvals =
            approvals_over(self.store.clone(), self.queue.clone(), clock, baton_domain::ports::PlatformRegistry::new());
        api::handler::app(api::handler::with_ports(api::handler::Ports {
            store: self.store.clone(),
            queue: self.queue.clone(),
            keys: Arc::new(MemoryKeys::default()),
            health,
            access,
            cors_origins: vec![],
            workflows: baton_domain::fakes::workflows_over(approvals.clone()),
            retention: std::time::Duration::from_secs(86_400),
            dead_letters: None,
            metrics: baton_domain::usecases::Metrics {
                store: Arc::new(baton_domain::fakes::MemoryMetrics::default()),
                clock: Arc::new(ManualClock::new(chrono::Utc::now())),
            },
            approvals,
            slack: Default::default(),
        }))
    }
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/lambda/rest-post-actions.json")).expect("fixture")
}

async fn send(world: &World, event: Value) -> (u16, Value, axum::http::HeaderMap) {
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway proxy event");
    let response = world.app().oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn a_rest_proxy_request_with_the_authorizers_context_submits_an_action() {
    let w = World::new();
    let (status, receipt, headers) = send(&w, fixture()).await;
    assert_eq!(status, 202, "{receipt}");
    let id = receipt["actionId"].as_str().expect("id");
    assert_eq!(w.store.snapshot(id).expect("stored").priority, baton_domain::Priority::Critical);
    assert_eq!(w.queue.items.lock().expect("lock").len(), 1);
    assert_eq!(headers["x-ratelimit-limit"], "1000", "the key's own limit, from the authorizer");
    assert_eq!(headers["x-ratelimit-remaining"], "999");
    let counted: Vec<String> = w.counters.counts.lock().expect("lock").keys().cloned().collect();
    assert!(counted.iter().any(|k| k.starts_with("key:7f3a9c21be04:actions:")), "{counted:?}");
}

#[tokio::test]
async fn the_scopes_the_authorizer_found_are_enforced_and_no_context_is_no_caller() {
    let w = World::new();
    let mut reader = fixture();
    reader["requestContext"]["authorizer"]["scopes"] = Value::from("actions:read");
    let (status, err, _) = send(&w, reader).await;
    assert_eq!((status, err["error"]["code"].as_str()), (403, Some("PERMISSION_DENIED")), "{err}");
    assert!(err["error"]["message"].as_str().unwrap_or_default().contains("actions:write"));
    let mut anonymous = fixture();
    anonymous["requestContext"].as_object_mut().expect("context").remove("authorizer");
    let (status, err, _) = send(&w, anonymous).await;
    assert_eq!((status, err["error"]["code"].as_str()), (401, Some("AUTH_ERROR")), "{err}");
    assert!(w.store.write_count() == 0, "nothing was submitted");
}
