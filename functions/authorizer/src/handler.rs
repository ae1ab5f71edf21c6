//! One authorizer event (API Gateway's REQUEST authorizer, REST or WebSocket `$connect`) →
//! an IAM policy with the caller in its context, or `Unauthorized` (API Gateway answers 401).
//!
//! The key is looked up by its hash with the same `Access` as `baton serve`. A REST answer is
//! cached by API Gateway for its identity source (the `Authorization` header), and a cached
//! policy applies to every route: so the policy allows the whole stage, and what the key may
//! do is decided per route by the api function from the scopes in the context. A WebSocket
//! connection needs `actions:read`. Requests without a valid key count against their client
//! address; past that limit they are denied outright.

use baton_domain::auth::Scope;
use baton_domain::auth::limits::{Caller, RouteGroup};
use baton_domain::usecases::Access;
use serde_json::{Value, json};
use tracing::info;

/// What API Gateway is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The response document: an IAM policy and the caller's context.
    Policy(Value),
    /// No valid key: `Unauthorized` (401).
    Unauthorized,
}

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["headers"].as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
}

fn is_websocket(event: &Value) -> bool {
    event["requestContext"]["eventType"] == "CONNECT" || event["requestContext"]["routeKey"] == "$connect"
}

/// The presented key: `Authorization: Bearer <key>`, or `?token=` on the WebSocket.
fn presented(event: &Value) -> Option<String> {
    if let Some(v) = header(event, "authorization") {
        let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(rest.trim().to_owned());
        }
    }
    if is_websocket(event) {
        return event["queryStringParameters"]["token"].as_str().map(str::to_owned);
    }
    None
}

/// `arn:aws:execute-api:region:account:api/stage/*/*`: every route of the stage.
fn whole_stage(method_arn: &str) -> String {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) => format!("{api}/{stage}/*/*"),
        _ => method_arn.to_owned(),
    }
}

fn policy(principal_id: &str, effect: &str, resource: &str, context: Value) -> Value {
    json!({
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
        ]},
        "context": context,
    })
}

/// Whether a browser page may open the WebSocket: no `Origin` (not a browser), or an allowed one.
fn origin_allowed(event: &Value, origins: &[String]) -> bool {
    match header(event, "origin") {
        None => true,
        Some(o) => origins.iter().any(|a| a == "*" || a == o.trim_end_matches('/')),
    }
}

/// The decision for one event; `origins` are the pages that may open the WebSocket.
pub async fn decide(access: &Access, origins: &[String], event: &Value) -> Decision {
    let method_arn = event["methodArn"].as_str().unwrap_or_default();
    let websocket = is_websocket(event);
    if websocket && !origin_allowed(event, origins) {
        info!("WebSocket refused: the page's origin is not allowed");
        return Decision::Policy(policy("anonymous", "Deny", method_arn, json!({})));
    }
    let key = presented(event);
    let who = match access.authenticate(key.as_deref()).await {
        Ok(who) => who,
        // The key store is unreachable: refuse now; the client tries again.
        Err(_) => return Decision::Unauthorized,
    };
    match who {
        Ok(p) if websocket && !p.allows(Scope::ActionsRead) => {
            info!(key_id = %p.key_id, "WebSocket refused: the key lacks actions:read");
            Decision::Policy(policy(&p.key_id, "Deny", method_arn, json!({})))
        }
        Ok(p) => {
            let scopes: Vec<&str> = p.scopes.iter().map(|s| s.as_str()).collect();
            let mut context = json!({"keyId": p.key_id, "scopes": scopes.join(","), "exempt": p.exempt.to_string()});
            if let Some(r) = p.rate_limit {
                context["perMinute"] = json!(r.per_minute);
                context["perHour"] = json!(r.per_hour);
            }
            let resource = if websocket { method_arn.to_owned() } else { whole_stage(method_arn) };
            Decision::Policy(policy(&p.key_id, "Allow", &resource, context))
        }
        Err(why) => {
            let address = event["requestContext"]["identity"]["sourceIp"].as_str().unwrap_or("unknown");
            let v = access.limit(Caller::Address(address), RouteGroup::Actions).await;
            info!(reason = %why, "request without a valid key");
            match v {
                Some(v) if !v.allowed => Decision::Policy(policy("anonymous", "Deny", method_arn, json!({}))),
                _ => Decision::Unauthorized,
            }
        }
    }
}
