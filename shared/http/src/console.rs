//! The operator's console: a page and its assets, embedded in the binary (`console/` beside
//! this crate), served at `GET /` and `GET /console/*` by `baton serve` and by the api
//! function alike. The page holds no data: everything it shows it asks for with the key the
//! operator signs in with, like any other client.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "console/"]
struct Assets;

/// Where the console's page finds the WebSocket: the same origin's `/ws` (the local runtime),
/// or the stack's WebSocket API on AWS.
#[derive(Clone, Debug, Default)]
pub struct ConsoleSettings {
    /// `wss://…/{stage}`; `None` means the page's own origin, path `/ws`.
    pub ws_url: Option<String>,
}

impl ConsoleSettings {
    /// The browser's URL of a stack's WebSocket API from its management endpoint
    /// (`BATON_WS_ENDPOINT`, `https://{id}.execute-api.{region}.amazonaws.com/{stage}`).
    pub fn from_ws_endpoint(endpoint: &str) -> Self {
        let ws_url = endpoint.strip_prefix("https://").map(|rest| format!("wss://{rest}"));
        Self { ws_url }
    }
}

/// `GET /`, `GET /console/{path}`, `GET /favicon.ico`: no key needed (the page is public; its
/// data is not), not in the API's document.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/console/{*path}", get(asset)).route("/favicon.ico", get(favicon))
}

async fn index(State(state): State<AppState>) -> Response {
    let Some(file) = Assets::get("index.html") else {
        return ApiError::not_found("the console is not built into this binary").into_response();
    };
    let ws = state.console.ws_url.clone().unwrap_or_default();
    let page = String::from_utf8_lossy(&file.data).replace("{{WS_URL}}", &html_attribute(&ws));
    let mut resp = (StatusCode::OK, page).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&ws)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    guard(resp)
}

async fn asset(Path(path): Path<String>) -> Response {
    serve(&path)
}

async fn favicon() -> Response {
    serve("favicon.svg")
}

fn serve(path: &str) -> Response {
    if path == "index.html" {
        return ApiError::not_found("no such console file").into_response();
    }
    match Assets::get(path) {
        Some(file) => {
            let resp = ([(header::CONTENT_TYPE, content_type(path))], file.data.into_owned()).into_response();
            guard(resp)
        }
        None => ApiError::not_found(format!("no console file {path}")).into_response(),
    }
}

/// Headers every console answer carries: never framed, never sniffed, no referrer (the
/// sign-in link's fragment never leaves the browser anyway), revalidated on each load.
fn guard(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// The page may load and call only its own origin (and the stack's WebSocket API).
fn content_security_policy(ws_url: &str) -> String {
    let ws_origin = ws_url.split('/').take(3).collect::<Vec<_>>().join("/");
    let connect = if ws_origin.is_empty() { "'self'".to_owned() } else { format!("'self' {ws_origin}") };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn html_attribute(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_websocket_is_the_only_other_origin_the_page_may_reach() {
        let s = ConsoleSettings::from_ws_endpoint("https://abc.execute-api.eu-west-1.amazonaws.com/prod");
        let ws = s.ws_url.clone().unwrap_or_default();
        assert_eq!(ws, "wss://abc.execute-api.eu-west-1.amazonaws.com/prod");
        let csp = content_security_policy(&ws);
        assert!(csp.contains("connect-src 'self' wss://abc.execute-api.eu-west-1.amazonaws.com;"), "{csp}");
        assert!(content_security_policy("").contains("connect-src 'self';"));
    }

    #[test]
    fn every_asset_has_a_type_and_the_page_is_embedded() {
        assert!(Assets::get("index.html").is_some());
        assert!(Assets::get("favicon.svg").is_some());
        for f in Assets::iter() {
            assert_ne!(content_type(&f), "application/octet-stream", "{f}");
        }
    }
}
