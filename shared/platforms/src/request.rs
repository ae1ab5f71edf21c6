//! A platform request built once and then either described (dry run) or sent, plus the one
//! mapping from HTTP outcomes to the contract's error codes.

use baton_domain::{ErrorCode, PlatformError};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;

/// The exact HTTP request an operation makes.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    pub method: Method,
    pub url: String,
    /// Plain headers, shown as they are in a dry run.
    pub headers: Vec<(&'static str, String)>,
    /// Headers carrying secrets: sent, but shown as `[redacted]`.
    pub secret_headers: Vec<(&'static str, SecretString)>,
    pub body: Option<Value>,
    /// A non-JSON body (multipart uploads). A dry run shows `shown` instead of the bytes:
    /// file contents are never echoed.
    pub raw: Option<RawBody>,
}

#[derive(Debug, Clone)]
pub struct RawBody {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub shown: Value,
}

/// A successful HTTP exchange.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl PreparedRequest {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), secret_headers: Vec::new(), body: None, raw: None }
    }

    /// Appends query parameters, percent-encoded.
    pub fn query(mut self, params: &[(&str, &str)]) -> Self {
        if params.is_empty() {
            return self;
        }
        if let Ok(url) = reqwest::Url::parse_with_params(&self.url, params) {
            self.url = url.to_string();
        }
        self
    }

    pub fn secret_header(mut self, name: &'static str, value: SecretString) -> Self {
        self.secret_headers.push((name, value));
        self
    }

    pub fn raw(mut self, raw: RawBody) -> Self {
        self.headers.push(("content-type", raw.content_type.clone()));
        self.raw = Some(raw);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bearer(mut self, token: &SecretString) -> Self {
        self.secret_headers.push(("authorization", SecretString::from(format!("Bearer {}", token.expose_secret()))));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.headers.push(("content-type", "application/json; charset=utf-8".into()));
        self.body = Some(body);
        self
    }

    /// The dry-run result: the request exactly as it would be sent, secrets redacted.
    pub fn describe(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            headers.insert((*name).into(), json!(value));
        }
        for (name, _) in &self.secret_headers {
            headers.insert((*name).into(), json!("[redacted]"));
        }
        json!({
            "dryRun": true,
            "request": {
                "method": self.method.as_str(),
                "url": self.url,
                "headers": headers,
                "body": match &self.raw {
                    Some(raw) => raw.shown.clone(),
                    None => self.body.clone().unwrap_or(Value::Null),
                },
            }
        })
    }

    /// Sends the request; any non-2xx answer is classified by `classify`.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        platform: &str,
        classify: impl Fn(StatusCode, &HeaderMap, &Value) -> PlatformError,
    ) -> Result<Response, PlatformError> {
        let mut req = http.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        for (name, value) in &self.secret_headers {
            req = req.header(*name, value.expose_secret());
        }
        if let Some(raw) = &self.raw {
            req = req.body(raw.bytes.clone());
        } else if let Some(body) = &self.body {
            req = req.body(body.to_string());
        }
        let mut resp = req.send().await.map_err(|e| transport_error(platform, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut raw = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(platform, &e))? {
            if raw.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(PlatformError::new(
                    ErrorCode::ValidationError,
                    format!("{platform}'s answer is larger than {} MiB; narrow the request", MAX_ANSWER_BYTES >> 20),
                ));
            }
            raw.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if status.is_success() {
            Ok(Response { status, headers, body })
        } else {
            Err(classify(status, &headers, &body))
        }
    }
}

/// The credential to sign a request with. A dry run needs none (the request is shown with the
/// secret redacted, so an empty placeholder serves); a real call without one is `AUTH_ERROR`
/// with `missing` telling the operator what to set.
pub fn credential(token: Option<&SecretString>, dry_run: bool, missing: &str) -> Result<SecretString, PlatformError> {
    match (token, dry_run) {
        (Some(t), _) => Ok(t.clone()),
        (None, true) => Ok(SecretString::from("")),
        (None, false) => Err(PlatformError::new(ErrorCode::AuthError, missing)),
    }
}

/// `base` with `segments` appended, each percent-encoded as one path segment (ids and A1
/// ranges such as `Sheet 1!A:E` go into paths as they are).
pub fn url_with_segments(base: &str, segments: &[&str]) -> String {
    match reqwest::Url::parse(base) {
        Ok(mut u) => {
            if let Ok(mut path) = u.path_segments_mut() {
                path.pop_if_empty();
                for s in segments {
                    path.push(s);
                }
            }
            u.to_string()
        }
        Err(_) => format!("{}/{}", base.trim_end_matches('/'), segments.join("/")),
    }
}

/// The action that undoes a create, reported in its result for a workflow's rollback.
pub fn inverse(platform: &str, action_type: &str, data: Value) -> Value {
    json!({"type": action_type, "platform": platform, "data": data})
}

/// `result` with `inverse` added (a non-object result is wrapped as `{"response": ...}`).
pub fn with_inverse(result: Value, inverse: Value) -> Value {
    let mut obj = match result {
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("response".into(), other);
            map
        }
    };
    obj.insert("inverse".into(), inverse);
    Value::Object(obj)
}

/// `Retry-After` in seconds (the form Slack, Notion and Google send). Any size is read —
/// `1e300`, `inf` — and clamped to the longest wait Baton honours (15 minutes).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let max = baton_domain::policy::MAX_RETRY_AFTER.as_secs_f64();
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| !s.is_nan() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(max)))
}

/// What a query keeps of its results: they must fit the stored result (64 KiB), and a huge
/// database must not fill the function's memory. Beyond this the result says `truncated`.
pub const QUERY_KEEP_BYTES: usize = 48 * 1024;

/// The largest answer read from a platform; a bigger one is refused rather than buffered.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Gathers a query's items until [`QUERY_KEEP_BYTES`].
#[derive(Default)]
pub struct Gathered {
    pub items: Vec<Value>,
    bytes: usize,
    pub truncated: bool,
}

impl Gathered {
    /// Keeps what fits; `false` once full (stop paging).
    pub fn extend(&mut self, items: impl IntoIterator<Item = Value>) -> bool {
        for item in items {
            let size = item.to_string().len();
            if self.bytes + size > QUERY_KEEP_BYTES {
                self.truncated = true;
                return false;
            }
            self.bytes += size;
            self.items.push(item);
        }
        true
    }

    /// `{<name>: [...], "count", "complete", "truncated", "nextCursor"?}`: the cursor to go on
    /// from, when the query was cut short.
    pub fn result(self, name: &str, next: Option<&str>, complete: bool) -> Value {
        let mut out = json!({
            "count": self.items.len(),
            "complete": complete && !self.truncated,
            "truncated": self.truncated,
        });
        out[name] = Value::Array(self.items);
        if let Some(cursor) = next {
            out["nextCursor"] = json!(cursor);
        }
        out
    }
}

/// The status-code row of the error table, shared by every platform.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::AuthError,
        403 => ErrorCode::PermissionDenied,
        404 | 410 => ErrorCode::NotFound,
        400 | 422 => ErrorCode::ValidationError,
        409 => ErrorCode::DuplicateError,
        408 => ErrorCode::TimeoutError,
        429 => ErrorCode::RateLimited,
        500..=599 => ErrorCode::ServiceDown,
        _ => ErrorCode::UnknownError,
    }
}

/// A connection-level failure: no answer from the platform.
pub fn transport_error(platform: &str, err: &reqwest::Error) -> PlatformError {
    if err.is_timeout() {
        PlatformError::new(ErrorCode::TimeoutError, format!("{platform} did not answer in time"))
    } else if err.is_connect() {
        PlatformError::new(ErrorCode::NetworkError, format!("could not connect to {platform}"))
    } else if err.is_decode() || err.is_body() {
        PlatformError::new(ErrorCode::NetworkError, format!("{platform}'s answer was cut short"))
    } else {
        PlatformError::new(ErrorCode::NetworkError, format!("network error talking to {platform}"))
    }
}

/// The HTTP client every platform shares: rustls, connect timeout, pooled connections.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_shows_the_request_without_its_secrets() {
        let token = SecretString::from("xoxb-very-secret");
        let req = PreparedRequest::new(Method::POST, "https://slack.com/api/chat.postMessage")
            .bearer(&token)
            .json(json!({"channel": "#ops"}));
        let shown = req.describe().to_string();
        assert!(!shown.contains("xoxb-very-secret"));
        assert!(shown.contains("[redacted]"));
        assert!(shown.contains("chat.postMessage"));
    }

    #[test]
    fn status_codes_map_to_the_contract() {
        let rows = [
            (401, ErrorCode::AuthError),
            (403, ErrorCode::PermissionDenied),
            (404, ErrorCode::NotFound),
            (400, ErrorCode::ValidationError),
            (422, ErrorCode::ValidationError),
            (409, ErrorCode::DuplicateError),
            (429, ErrorCode::RateLimited),
            (500, ErrorCode::ServiceDown),
            (503, ErrorCode::ServiceDown),
        ];
        for (status, code) in rows {
            assert_eq!(code_for_status(StatusCode::from_u16(status).expect("status")), code, "{status}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, "soon".parse().expect("header"));
        assert_eq!(retry_after(&h), None);
        for huge in ["1e300", "inf", "99999999999999999999"] {
            h.insert(RETRY_AFTER, huge.parse().expect("header"));
            assert_eq!(retry_after(&h), Some(Duration::from_secs(900)), "{huge}");
        }
    }
}
