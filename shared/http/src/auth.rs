//! Who may call what, how often: the API key of every `/api` request and of `/ws` (header
//! `Authorization: Bearer <key>`, or `?token=<key>` on the WebSocket, which browsers cannot
//! give headers), its scope, and the contract's rate limits with their headers.
//!
//! On AWS the authorizer has verified the key already and the api function puts its
//! `Principal` on the request; the scope and rate-limit checks here are the same on both paths.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_domain::auth::limits::{Caller, RouteGroup, Verdict};
use baton_domain::auth::{AuthFailure, Principal, Scope};
use baton_domain::{ErrorCode, ErrorEnvelope};
use std::net::SocketAddr;

use crate::AppState;
use crate::error::ApiError;

/// The client's address as the platform in front saw it (set by the api function on AWS).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

pub fn address(req: &Request) -> String {
    if let Some(ClientAddress(a)) = req.extensions().get::<ClientAddress>() {
        return a.clone();
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
}

/// The presented key: `Authorization: Bearer <key>`, or `?token=` on `/ws`.
fn presented(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
        return scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_owned());
    }
    if req.uri().path() == "/ws" {
        let query = req.uri().query().unwrap_or_default();
        return form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned());
    }
    None
}

/// Adds the `X-RateLimit-*` headers (and `Retry-After` when over).
pub fn rate_headers(headers: &mut HeaderMap, v: &Verdict) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("x-ratelimit-limit", v.limit.to_string());
    set("x-ratelimit-remaining", v.remaining.to_string());
    set("x-ratelimit-reset", v.reset.to_string());
    if !v.allowed {
        set("retry-after", v.retry_after.to_string());
    }
}

fn limited(v: &Verdict) -> Response {
    let mut envelope = ErrorEnvelope::new(ErrorCode::RateLimited, "API rate limit exceeded");
    envelope.error.retry_after = Some(v.retry_after);
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(envelope)).into_response();
    rate_headers(resp.headers_mut(), v);
    resp
}

pub fn with_verdict(mut resp: Response, v: Option<&Verdict>) -> Response {
    if let Some(v) = v {
        rate_headers(resp.headers_mut(), v);
    }
    resp
}

/// Who the caller is: the gateway's word (`known`), or the presented key checked here.
async fn principal(
    state: &AppState,
    known: Option<Principal>,
    key: Option<String>,
) -> Result<Result<Principal, AuthFailure>, ApiError> {
    match known {
        Some(p) => Ok(Ok(p)),
        None => Ok(state.access.authenticate(key.as_deref()).await?),
    }
}

/// A route that needs `scope`: `401 AUTH_ERROR` without a valid key, `403 PERMISSION_DENIED`
/// naming the scope without it, `429 RATE_LIMITED` over the limits; the rate-limit headers on
/// every answer.
pub async fn require(State((state, scope)): State<(AppState, Scope)>, mut req: Request, next: Next) -> Response {
    let group = RouteGroup::of_path(req.uri().path());
    let (known, key, addr) = (req.extensions().get::<Principal>().cloned(), presented(&req), address(&req));
    let who = match principal(&state, known, key).await {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    match who {
        Err(failure) => {
            let v = state.access.limit(Caller::Address(&addr), group).await;
            if let Some(v) = v.filter(|v| !v.allowed) {
                return limited(&v);
            }
            let err = ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::AuthError, failure.to_string());
            with_verdict(err.into_response(), v.as_ref())
        }
        Ok(p) => {
            let v = state.access.limit(Caller::Key(&p), group).await;
            if let Some(v) = v.filter(|v| !v.allowed) {
                return limited(&v);
            }
            if !p.allows(scope) {
                let err = ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::PermissionDenied,
                    format!("this key lacks the scope {} (it has {})", scope.as_str(), scopes_text(&p.scopes)),
                )
                .with_details(serde_json::json!({"requiredScope": scope.as_str()}));
                return with_verdict(err.into_response(), v.as_ref());
            }
            req.extensions_mut().insert(p);
            with_verdict(next.run(req).await, v.as_ref())
        }
    }
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Counts a request that carries no key against its client address: the verdict, or the
/// `429` answer when it is over.
pub async fn count_address(state: &AppState, addr: &str, path: &str) -> Result<Option<Verdict>, Response> {
    let v = state.access.limit(Caller::Address(addr), RouteGroup::of_path(path)).await;
    match v {
        Some(v) if !v.allowed => Err(limited(&v)),
        v => Ok(v),
    }
}

/// A route anyone may call (it carries no key): counted per client address.
pub async fn public(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (addr, group) = (address(&req), RouteGroup::of_path(req.uri().path()));
    let v = state.access.limit(Caller::Address(&addr), group).await;
    if let Some(v) = v.filter(|v| !v.allowed) {
        return limited(&v);
    }
    with_verdict(next.run(req).await, v.as_ref())
}

/// POST bodies are JSON: a browser page on another origin cannot send a "simple" cross-origin
/// request that Baton would act on. (The Slack interactions route, form-encoded and verified
/// by Slack's signature, is the one exception.)
pub async fn json_only(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() == Method::POST && path.starts_with("/api/") && path != "/api/slack/interactions" {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            let mut err = ApiError::field("header.Content-Type", "must be application/json");
            err.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return err.into_response();
        }
    }
    next.run(req).await
}

/// Whether a browser page at `origin` may open the WebSocket: an allowed origin, or the page
/// Baton serves itself (its origin names the host the request came to).
pub fn origin_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let origin = origin.trim_end_matches('/');
    if allowed.iter().any(|a| a == origin || a == "*") {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    origin.split_once("://").is_some_and(|(_, rest)| !host.is_empty() && rest == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_header_or_the_websockets_query() {
        let req = Request::builder().uri("/ws?x=1&token=bk_a_b%2Bc").body(axum::body::Body::empty()).expect("req");
        assert_eq!(presented(&req).as_deref(), Some("bk_a_b+c"));
        let req = Request::builder().uri("/api/actions?token=bk_x").body(axum::body::Body::empty()).expect("req");
        assert_eq!(presented(&req), None, "only the WebSocket takes the query form");
        let req = Request::builder()
            .uri("/api/actions")
            .header("authorization", "Bearer  bk_k ")
            .body(axum::body::Body::empty())
            .expect("req");
        assert_eq!(presented(&req).as_deref(), Some("bk_k"));
    }

    #[test]
    fn websocket_origins_are_the_allowed_ones_or_baton_itself() {
        let allowed = vec!["https://dash.example.com".to_owned()];
        let mut h = HeaderMap::new();
        assert!(origin_allowed(&allowed, &h), "no Origin: not a browser");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://dash.example.com"));
        assert!(origin_allowed(&allowed, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        assert!(!origin_allowed(&allowed, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:3000"));
        assert!(origin_allowed(&allowed, &h), "the console Baton serves");
    }
}
