//! The authorizer with real REQUEST authorizer events (REST and WebSocket `$connect`).

use authorizer::handler::{Decision, decide};
use baton_domain::auth::KeyRequest;
use baton_domain::auth::Scope;
use baton_domain::auth::limits::ApiLimits;
use baton_domain::fakes::{ManualClock, MemoryCounters, MemoryKeyStore};
use baton_domain::usecases::Access;
use serde_json::Value;
use std::sync::Arc;

fn access(limits: ApiLimits) -> Access {
    Access {
        keys: Arc::new(MemoryKeyStore::default()),
        counters: Arc::new(MemoryCounters::default()),
        limits,
        clock: Arc::new(ManualClock::new(chrono::Utc::now())),
    }
}

async fn key(access: &Access, scopes: Vec<Scope>) -> String {
    let request = KeyRequest { name: "t".into(), scopes, expires_at: None, rate_limit: None };
    access.create_key(request).await.expect("key").1
}

fn event(fixture: &str, key: &str) -> Value {
    serde_json::from_str(&fixture.replace("KEY", key)).expect("fixture")
}

fn origins() -> Vec<String> {
    vec!["https://dashboard.company.com".to_owned()]
}

const REST: &str = include_str!("../../../tests/fixtures/lambda/authorizer-rest.json");
const WS: &str = include_str!("../../../tests/fixtures/lambda/authorizer-ws-connect.json");

fn allowed(d: &Decision) -> Option<&Value> {
    match d {
        Decision::Policy(p) if p["policyDocument"]["Statement"][0]["Effect"] == "Allow" => Some(p),
        _ => None,
    }
}

#[tokio::test]
async fn a_valid_key_is_allowed_on_the_whole_stage_with_its_scopes_in_the_context() {
    let a = access(ApiLimits::default());
    let k = key(&a, vec![Scope::ActionsWrite, Scope::ActionsRead]).await;
    let d = decide(&a, &origins(), &event(REST, &k)).await;
    let p = allowed(&d).expect("allowed");
    assert_eq!(
        p["policyDocument"]["Statement"][0]["Resource"],
        "arn:aws:execute-api:us-east-1:123456789012:abc123rest/prod/*/*"
    );
    assert_eq!(p["context"]["scopes"], "actions:write,actions:read");
    assert_eq!(p["context"]["exempt"], "false");
    assert_eq!(p["principalId"], p["context"]["keyId"]);
}

#[tokio::test]
async fn an_unknown_or_revoked_key_and_no_key_are_unauthorized() {
    let a = access(ApiLimits::default());
    let k = key(&a, vec![Scope::Admin]).await;
    assert_eq!(decide(&a, &origins(), &event(REST, "bk_nope_nope")).await, Decision::Unauthorized);
    let id = a.list_keys().await.expect("list")[0].id.clone();
    a.revoke_key(&id).await.expect("revoke");
    assert_eq!(decide(&a, &origins(), &event(REST, &k)).await, Decision::Unauthorized);
    let mut bare = event(REST, &k);
    bare["headers"].as_object_mut().expect("headers").remove("Authorization");
    assert_eq!(decide(&a, &origins(), &bare).await, Decision::Unauthorized);
}

#[tokio::test]
async fn a_websocket_connect_takes_the_token_from_the_query_and_needs_actions_read() {
    let a = access(ApiLimits::default());
    let reader = key(&a, vec![Scope::ActionsRead]).await;
    let d = decide(&a, &origins(), &event(WS, &reader)).await;
    let p = allowed(&d).expect("allowed");
    assert_eq!(
        p["policyDocument"]["Statement"][0]["Resource"],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/$connect"
    );
    let writer = key(&a, vec![Scope::ActionsWrite]).await;
    let d = decide(&a, &origins(), &event(WS, &writer)).await;
    assert!(allowed(&d).is_none(), "denied without actions:read: {d:?}");
    let mut foreign = event(WS, &reader);
    foreign["headers"]["Origin"] = Value::from("https://evil.example");
    assert!(allowed(&decide(&a, &origins(), &foreign).await).is_none(), "a page of another origin is refused");
}

#[tokio::test]
async fn guessing_keys_from_one_address_is_denied_past_its_limit() {
    let a = access(ApiLimits::default().with_overrides("address=3/3600s").expect("limits"));
    for _ in 0..3 {
        assert_eq!(decide(&a, &origins(), &event(REST, "bk_guess_guess")).await, Decision::Unauthorized);
    }
    let d = decide(&a, &origins(), &event(REST, "bk_guess_guess")).await;
    assert!(matches!(&d, Decision::Policy(p) if p["policyDocument"]["Statement"][0]["Effect"] == "Deny"), "{d:?}");
}
