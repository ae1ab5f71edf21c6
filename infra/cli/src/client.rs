//! The CLI's HTTP client of a Baton API — a local `baton serve` or a deployed stack's REST URL
//! — and the one mapping of its answers to messages and exit codes.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::process::ExitCode;

/// Exit codes, as `--help` documents them.
pub mod exit {
    /// The action (or the request) failed: refused, invalid, not found, failed for good.
    pub const FAILED: u8 = 1;
    /// Baton could not be reached, or answered with a server error.
    pub const SERVER: u8 = 3;
}

/// Why a command did not succeed: what to print, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self { message: message.into(), code }
    }

    pub fn exit(&self) -> ExitCode {
        eprintln!("error: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::new(exit::SERVER, format!("{e:#}"))
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Client {
    pub fn new(base: &str, key: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("baton-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { http, base: base.trim_end_matches('/').to_owned(), key }
    }

    /// Sends a request; a `2xx` gives its JSON body, anything else a `Failure` with the
    /// envelope's message and code.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        self.call_with(method, path, body, &[]).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<Value, Failure> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::new(exit::SERVER, format!("cannot reach Baton at {}: {e}", self.base)))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        Err(failure(status, &body, &text))
    }

    pub async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A POST with extra headers (`Idempotency-Key`).
    pub async fn post_with(&self, path: &str, body: &Value, headers: &[(&str, String)]) -> Result<Value, Failure> {
        self.call_with(Method::POST, path, Some(body), headers).await
    }
}

/// The envelope's message and code (`{"error": {"code", "message"}}`), or the status.
fn failure(status: StatusCode, body: &Value, text: &str) -> Failure {
    let code = if status.is_server_error() { exit::SERVER } else { exit::FAILED };
    let e = &body["error"];
    let message = match (e["message"].as_str(), e["code"].as_str()) {
        (Some(m), Some(c)) => {
            let fields: Vec<String> = e["details"]["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .skip(1)
                        .filter_map(|x| Some(format!("  {}: {}", x["field"].as_str()?, x["reason"].as_str()?)))
                        .collect()
                })
                .unwrap_or_default();
            let mut m = format!("{m} ({c}, HTTP {})", status.as_u16());
            for f in fields {
                m.push('\n');
                m.push_str(&f);
            }
            m
        }
        _ => format!("HTTP {}: {}", status.as_u16(), text.chars().take(200).collect::<String>()),
    };
    Failure::new(code, message)
}
