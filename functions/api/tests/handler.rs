//! A REST proxy event from API Gateway, through lambda_http, into the router.

use baton_domain::fakes::{MemoryKeys, MemoryQueue, MemoryStore};
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

#[tokio::test]
async fn a_rest_proxy_request_submits_an_action() {
    let store = Arc::new(MemoryStore::default());
    let queue = Arc::new(MemoryQueue::default());
    let health = baton_http::HealthSource {
        states: Arc::new(baton_domain::fakes::MemoryPlatformState::default()),
        limits: Default::default(),
        configured: vec![],
    };
    let app = api::handler::app(api::handler::with_ports(
        store.clone(),
        queue.clone(),
        Arc::new(MemoryKeys::default()),
        health,
    ));
    let request = lambda_http::request::from_str(include_str!("../../../tests/fixtures/lambda/rest-post-actions.json"))
        .expect("an API Gateway proxy event");
    let response = app.oneshot(request).await.expect("response");
    assert_eq!(response.status().as_u16(), 202);
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let receipt: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let id = receipt["actionId"].as_str().expect("id");
    assert_eq!(store.snapshot(id).expect("stored").priority, baton_domain::Priority::Critical);
    assert_eq!(queue.items.lock().expect("lock").len(), 1);
}
