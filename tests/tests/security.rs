//! Nobody gets in without a key: every route with no key, a key without its scope and a key
//! with it; revocation at once; the contract's rate limits and headers; CORS; the WebSocket's
//! token and origin; JSON-only POSTs; the first admin key.

use baton_cli::{DataLocation, Runtime, ServeOptions};
use baton_tests::{ADMIN_KEY, Platforms, TestApp, spawn_app_with};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

async fn app(platforms: &Platforms) -> TestApp {
    spawn_app_with(platforms, |_| {}).await.expect("runtime")
}

/// A key with `scopes`, made through the API with the operator's key.
async fn key(app: &TestApp, scopes: &[&str], rate_limit: Option<Value>) -> String {
    let mut body = json!({"name": format!("test {scopes:?}"), "scopes": scopes});
    if let Some(r) = rate_limit {
        body["rateLimit"] = r;
    }
    let (status, created) = app.post("/api/keys", &body).await.expect("post");
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].is_string() && created["scopes"].is_array());
    created["key"].as_str().expect("the key, shown once").to_owned()
}

async fn call(app: &TestApp, method: Method, path: &str, key: Option<&str>, body: Option<&Value>) -> reqwest::Response {
    let mut req = app.http.request(method, format!("{}{path}", app.base));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    req.send().await.expect("request")
}

fn dry_action() -> Value {
    json!({"action": {"type": "notify", "platform": "slack", "priority": "low", "dryRun": true,
                      "data": {"channel": "#ops", "text": "t"}}})
}

/// Every protected route, with a body where it takes one, and the scope it needs.
fn routes() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    vec![
        (Method::POST, "/api/actions", Some(dry_action()), "actions:write"),
        (Method::POST, "/api/events", Some(json!({"event": "action:ready", "data": dry_action()})), "actions:write"),
        (Method::GET, "/api/actions/recent", None, "actions:read"),
        (Method::GET, "/api/actions/queue", None, "actions:read"),
        (Method::GET, "/api/actions/health", None, "actions:read"),
        (Method::GET, "/api/actions/some-id", None, "actions:read"),
        (Method::POST, "/api/keys", Some(json!({"name": "n", "scopes": ["actions:read"]})), "admin"),
        (Method::GET, "/api/keys", None, "admin"),
        (Method::DELETE, "/api/keys/nope", None, "admin"),
        (
            Method::POST,
            "/api/approvals",
            Some(json!({"action": dry_action()["action"], "reason": "r"})),
            "actions:write",
        ),
        (Method::GET, "/api/approvals", None, "actions:read"),
        (Method::GET, "/api/approvals/some-id", None, "actions:read"),
        (Method::POST, "/api/approvals/some-id/approve", Some(json!({"userId": "U1"})), "approvals:write"),
        (
            Method::POST,
            "/api/approvals/some-id/reject",
            Some(json!({"userId": "U1", "reason": "r"})),
            "approvals:write",
        ),
        (Method::POST, "/api/approvals/some-id/cancel", Some(json!({})), "actions:write"),
        (
            Method::POST,
            "/api/workflows",
            Some(json!({"steps": [{"name": "a", "action": dry_action()["action"]}]})),
            "actions:write",
        ),
        (Method::GET, "/api/workflows", None, "actions:read"),
        (Method::GET, "/api/context/actions", None, "context:read"),
        (Method::GET, "/api/actions/metrics", None, "actions:read"),
        (Method::POST, "/api/queues/normal/redrive", Some(json!({})), "admin"),
        (Method::POST, "/api/actions/some-id/cancel", Some(json!({})), "actions:write"),
        (Method::POST, "/api/actions/some-id/replay", Some(json!({})), "actions:write"),
        (Method::POST, "/api/actions/replay", Some(json!({"dryRun": true})), "actions:write"),
        (
            Method::POST,
            "/api/actions/some-id/feedback",
            Some(json!({"outcome": "success", "executionQuality": 5})),
            "actions:write",
        ),
        (Method::GET, "/api/workflows/some-id", None, "actions:read"),
        (Method::GET, "/api/actions/some-id/request", None, "actions:read"),
        (Method::POST, "/api/workflows/some-id/cancel", Some(json!({})), "actions:write"),
    ]
}

#[tokio::test]
async fn every_route_refuses_no_key_and_a_key_without_its_scope_and_serves_a_key_with_it() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    for (method, path, body, scope) in routes() {
        let none = call(&app, method.clone(), path, None, body.as_ref()).await;
        assert_eq!(none.status().as_u16(), 401, "{method} {path} without a key");
        let err: Value = none.json().await.expect("json");
        assert_eq!(err["error"]["code"], "AUTH_ERROR", "{method} {path}: {err}");
        let bogus = call(&app, method.clone(), path, Some("bk_000000000000_not-a-key"), body.as_ref()).await;
        assert_eq!(bogus.status().as_u16(), 401, "{method} {path} with an unknown key");
        let other = if scope == "actions:read" { "context:read" } else { "actions:read" };
        let without = key(&app, &[other], None).await;
        let resp = call(&app, method.clone(), path, Some(&without), body.as_ref()).await;
        assert_eq!(resp.status().as_u16(), 403, "{method} {path} without {scope}");
        let err: Value = resp.json().await.expect("json");
        assert_eq!(err["error"]["code"], "PERMISSION_DENIED");
        assert!(err["error"]["message"].as_str().unwrap_or_default().contains(scope), "names {scope}: {err}");
        let with = key(&app, &[scope], None).await;
        let resp = call(&app, method.clone(), path, Some(&with), body.as_ref()).await;
        let status = resp.status().as_u16();
        assert!(status != 401 && status != 403, "{method} {path} with {scope}: {status}");
        let admin = key(&app, &["admin"], None).await;
        let status = call(&app, method.clone(), path, Some(&admin), body.as_ref()).await.status().as_u16();
        assert!(status != 401 && status != 403, "admin may do {method} {path}: {status}");
    }
    // The unauthenticated ones.
    assert_eq!(call(&app, Method::GET, "/healthz", None, None).await.status().as_u16(), 200);
    // The console's page and assets carry no data: anyone may load them.
    for path in ["/", "/console/app.js", "/favicon.ico"] {
        assert_eq!(call(&app, Method::GET, path, None, None).await.status().as_u16(), 200, "{path}");
    }
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_keys_are_listed_without_secrets() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    let reader = key(&app, &["actions:read"], None).await;
    assert_eq!(call(&app, Method::GET, "/api/actions/recent", Some(&reader), None).await.status().as_u16(), 200);
    let (_, listed) = app.get("/api/keys").await.expect("list");
    let text = listed.to_string();
    assert!(!text.contains(&reader[16..]), "no secret in the listing");
    assert!(!text.contains("hash"), "no hash either: {text}");
    let id = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["scopes"] == json!(["actions:read"]))
        .and_then(|k| k["id"].as_str())
        .expect("listed")
        .to_owned();
    assert!(reader.starts_with(&format!("bk_{id}_")), "the key names its id: {reader} / {listed}");
    let revoked = call(&app, Method::DELETE, &format!("/api/keys/{id}"), Some(ADMIN_KEY), None).await;
    assert_eq!(revoked.status().as_u16(), 200);
    assert!(revoked.json::<Value>().await.expect("json")["revokedAt"].is_string());
    let resp = call(&app, Method::GET, "/api/actions/recent", Some(&reader), None).await;
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.text().await.expect("text").contains("revoked"));
    app.runtime.stop().await;
}

#[tokio::test]
async fn rate_limits_carry_their_headers_and_answer_429_with_retry_after() {
    let platforms = Platforms::start().await;
    let app = spawn_app_with(&platforms, |opts| {
        opts.store.api_limits = opts.store.api_limits.with_overrides("address=4/3600s").expect("limits");
    })
    .await
    .expect("runtime");
    let limited = key(&app, &["actions:read"], Some(json!({"perMinute": 3, "perHour": 1000}))).await;
    for n in 0..3 {
        let resp = call(&app, Method::GET, "/api/actions/queue", Some(&limited), None).await;
        assert_eq!(resp.status().as_u16(), 200);
        let h = resp.headers();
        assert_eq!(h["x-ratelimit-limit"], "3");
        assert_eq!(h["x-ratelimit-remaining"], (2 - n).to_string().as_str());
        let reset: i64 = h["x-ratelimit-reset"].to_str().expect("ascii").parse().expect("epoch seconds");
        assert!(reset > chrono::Utc::now().timestamp() && reset <= chrono::Utc::now().timestamp() + 60);
    }
    let over = call(&app, Method::GET, "/api/actions/queue", Some(&limited), None).await;
    assert_eq!(over.status().as_u16(), 429);
    let retry: u64 = over.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry));
    let body: Value = over.json().await.expect("json");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert_eq!(body["error"]["message"], "API rate limit exceeded");
    assert_eq!(body["error"]["retryAfter"], retry);
    assert_eq!(body["error"]["retriable"], true);
    // Requests without a valid key count against their address: guessing is stopped.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses
            .push(call(&app, Method::GET, "/api/actions/queue", Some("bk_guess_guess"), None).await.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    // The operator's key is exempt.
    for _ in 0..20 {
        assert_eq!(call(&app, Method::GET, "/api/actions/queue", Some(ADMIN_KEY), None).await.status().as_u16(), 200);
    }
    app.runtime.stop().await;
}

#[tokio::test]
async fn cors_answers_allowed_origins_only_and_posts_must_be_json() {
    let platforms = Platforms::start().await;
    let app = spawn_app_with(&platforms, |opts| opts.store.cors_origins = vec!["https://dash.example.com".into()])
        .await
        .expect("runtime");
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, format!("{}/api/actions", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let ok = preflight("https://dash.example.com").await.expect("preflight");
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://dash.example.com");
    assert!(ok.headers()["access-control-allow-headers"].to_str().expect("ascii").contains("authorization"));
    let refused = preflight("https://evil.example").await.expect("preflight");
    assert!(refused.headers().get("access-control-allow-origin").is_none(), "no CORS headers for others");
    let get = app
        .http
        .get(format!("{}/api/actions/queue", app.base))
        .header("origin", "https://dash.example.com")
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("get");
    assert_eq!(get.headers()["access-control-allow-origin"], "https://dash.example.com");
    assert!(get.headers()["access-control-expose-headers"].to_str().expect("ascii").contains("x-ratelimit-remaining"));
    // A "simple" cross-origin POST (text/plain) is not acted on.
    let simple = app
        .http
        .post(format!("{}/api/actions", app.base))
        .header("content-type", "text/plain")
        .bearer_auth(ADMIN_KEY)
        .body(dry_action().to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(simple.status().as_u16(), 415);
    let err: Value = simple.json().await.expect("json");
    assert_eq!(err["error"]["details"]["fields"][0]["field"], "header.Content-Type");
    app.runtime.stop().await;
}

#[tokio::test]
async fn the_websocket_needs_a_token_and_an_allowed_origin() {
    let platforms = Platforms::start().await;
    let app = spawn_app_with(&platforms, |opts| opts.store.cors_origins = vec!["https://dash.example.com".into()])
        .await
        .expect("runtime");
    let bare = format!("ws://{}/ws", app.runtime.addr);
    let err = tokio_tungstenite::connect_async(&bare).await.expect_err("refused without a token");
    assert!(err.to_string().contains("401"), "{err}");
    let reader = key(&app, &["actions:read"], None).await;
    let writer = key(&app, &["actions:write"], None).await;
    let err = tokio_tungstenite::connect_async(format!("{bare}?token={writer}")).await.expect_err("no actions:read");
    assert!(err.to_string().contains("403"), "{err}");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{bare}?token={reader}")).await.expect("connected");
    let hello = ws.next().await.expect("frame").expect("ok");
    assert!(hello.to_text().expect("text").contains("connected"));
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "{bare}?token={reader}"
    ))
    .expect("request");
    request.headers_mut().insert("origin", "https://evil.example".parse().expect("header"));
    let err = tokio_tungstenite::connect_async(request).await.expect_err("a foreign page");
    assert!(err.to_string().contains("403"), "{err}");
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_first_start_makes_one_admin_key_and_later_starts_make_none() {
    let dir = std::env::temp_dir().join(format!("baton-first-{}", uuid::Uuid::new_v4()));
    let mut opts = ServeOptions::ephemeral();
    opts.data = DataLocation::Dir(dir.clone());
    let first = Runtime::start(opts.clone()).await.expect("first start");
    let key = first.first_admin_key.clone().expect("a first admin key");
    assert!(key.starts_with("bk_") && key.len() > 50);
    let http = reqwest::Client::new();
    let ok = http.get(format!("{}/api/keys", first.url())).bearer_auth(&key).send().await.expect("get");
    assert_eq!(ok.status().as_u16(), 200);
    first.stop().await;
    let second = Runtime::start(opts).await.expect("second start");
    assert!(second.first_admin_key.is_none(), "shown once, never again");
    let ok = http.get(format!("{}/api/keys", second.url())).bearer_auth(&key).send().await.expect("get");
    assert_eq!(ok.status().as_u16(), 200, "the key survives the restart");
    second.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_openapi_document_is_served_openly_and_every_protected_operation_answers_401_without_a_key() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    let doc: Value =
        app.http.get(format!("{}/api/openapi.json", app.base)).send().await.expect("get").json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for name in ["ErrorEnvelope", "Frame", "ActionCompletedEvent", "HealthChangedEvent", "Action", "Receipt"] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name} in the components");
    }
    // Every event Baton emits is documented: `workflow:rolled_back` → `WorkflowRolledBackEvent`.
    for event in baton_domain::events::EVENT_NAMES {
        let pascal: String = event.split([':', '_']).map(|w| w[..1].to_uppercase() + &w[1..]).collect();
        let name = format!("{pascal}Event");
        assert!(doc["components"]["schemas"][&name].is_object(), "{event} is documented as {name}");
    }
    let paths = doc["paths"].as_object().expect("paths");
    for (_, path, _, scope) in routes() {
        let template =
            path.replace("some-id", "{id}").replace("/nope", "/{id}").replace("/queues/normal/", "/queues/{priority}/");
        let item = paths.get(&template).unwrap_or_else(|| panic!("{template} is documented"));
        let op = item.as_object().expect("item").values().next().expect("an operation");
        assert!(
            op["x-baton-scope"] == scope
                || item.as_object().expect("item").values().any(|o| o["x-baton-scope"] == scope)
        );
    }
    let mut protected = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            let open = op["security"].as_array().is_some_and(|s| s.is_empty());
            let concrete = path.replace("{id}", "x");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let body = (method == Method::POST).then(|| json!({}));
            let response = call(&app, method.clone(), &concrete, None, body.as_ref()).await;
            let status = response.status().as_u16();
            if open && path == "/api/slack/interactions" {
                // Open to Slack, not to anyone: no key is asked for, Slack's signature is.
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
                assert_eq!(status, 401, "{method} {path} refuses what Slack did not sign");
                assert!(message.contains("Slack") || message.contains("signature"), "{message}");
            } else if open {
                assert_ne!(status, 401, "{method} {path} is open");
            } else {
                protected += 1;
                assert_eq!(status, 401, "{method} {path} without a key");
                assert!(op["responses"]["401"].is_object(), "{method} {path} documents its 401");
            }
        }
    }
    assert!(protected >= 10, "{protected} protected operations");
    app.runtime.stop().await;
}
