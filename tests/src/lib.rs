//! The black-box harness: `spawn_app()` starts `baton serve` in-process (in memory, on an
//! ephemeral port) with wiremock standing in for Slack and Notion, and `WsClient` is a real
//! WebSocket client of its `/ws`.

pub mod google;
pub mod moto;
pub mod stack;

use anyhow::{Context, anyhow, bail};
use baton_cli::{DataLocation, Runtime, ServeOptions};
use baton_platforms::PlatformSettings;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wiremock::MockServer;

pub const SLACK_TOKEN: &str = "xoxb-test-token";
/// The operator's key every test runtime accepts (`BATON_ADMIN_KEY`): admin, not rate limited.
pub const ADMIN_KEY: &str = "bk_operator_test-admin-key-4f1c9a7e2b6d8053a1e9c4b7d2f60a8e";
pub const NOTION_TOKEN: &str = "secret_test_token";

/// The contract's examples as JSON bodies (shared/fixtures/contract-examples.json).
pub fn contract_examples() -> Value {
    serde_json::from_str(include_str!("../../../shared/fixtures/contract-examples.json")).unwrap_or(Value::Null)
}

pub struct Platforms {
    pub slack: MockServer,
    pub notion: MockServer,
}

/// A channel Slack refuses for good (`channel_not_found`) in [`Platforms::slack_answers`].
pub const BROKEN_CHANNEL: &str = "#broken";

impl Platforms {
    /// Slack as most tests want it: every message posted (`ts` "1.1") and deleted, except to
    /// [`BROKEN_CHANNEL`], which Slack refuses for good.
    pub async fn slack_answers(&self) {
        use wiremock::matchers::{body_string_contains, method, path};
        use wiremock::{Mock, ResponseTemplate};
        let refused = ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"}));
        Mock::given(method("POST"))
            .and(path("/api/chat.postMessage"))
            .and(body_string_contains(BROKEN_CHANNEL))
            .respond_with(refused)
            .with_priority(1)
            .mount(&self.slack)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/chat.postMessage"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
            .mount(&self.slack)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/chat.delete"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
            .mount(&self.slack)
            .await;
    }

    pub async fn start() -> Self {
        Self { slack: MockServer::start().await, notion: MockServer::start().await }
    }

    pub fn settings(&self) -> PlatformSettings {
        self.settings_with(&[])
    }

    /// The settings, with more variables (another platform's stand-in, a signing secret).
    pub fn settings_with(&self, extra: &[(&str, String)]) -> PlatformSettings {
        let mut env: HashMap<&str, String> = [
            ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_owned()),
            ("SLACK_API_URL", format!("{}/api", self.slack.uri())),
            ("NOTION_TOKEN", NOTION_TOKEN.to_owned()),
            ("NOTION_API_URL", self.notion.uri()),
        ]
        .into();
        env.extend(extra.iter().cloned());
        PlatformSettings::from_lookup(|k| env.get(k).cloned())
    }
}

pub struct TestApp {
    pub runtime: Runtime,
    pub base: String,
    pub http: reqwest::Client,
}

/// Starts a runtime on `platforms`, in memory unless `data` says otherwise. The platforms'
/// published rate limits (one Slack message per second per channel...) are lifted: these
/// tests drive volume through a stand-in; `spawn_app_with` keeps them.
pub async fn spawn_app_on(platforms: &Platforms, data: DataLocation) -> anyhow::Result<TestApp> {
    spawn_app_with(platforms, |opts| {
        opts.data = data;
        opts.store.limits = baton_domain::limits::Limits::default()
            .with_overrides("slack=10000/1s,notion=10000/1s,trello=10000/1s,drive=10000/1s,sheets=10000/1s")
            .unwrap_or_default();
    })
    .await
}

/// Starts a runtime on `platforms` (in memory), after `adjust` had its say on the options.
pub async fn spawn_app_with(platforms: &Platforms, adjust: impl FnOnce(&mut ServeOptions)) -> anyhow::Result<TestApp> {
    let mut opts = ServeOptions::ephemeral();
    opts.platforms = platforms.settings();
    opts.admin_key = Some(ADMIN_KEY.to_owned());
    adjust(&mut opts);
    let runtime = Runtime::start(opts).await?;
    Ok(TestApp { base: runtime.url(), runtime, http: reqwest::Client::new() })
}

impl TestApp {
    /// The WebSocket URL, signed in with the operator's key.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws?token={ADMIN_KEY}", self.runtime.addr)
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> anyhow::Result<(u16, Value)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .bearer_auth(ADMIN_KEY)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let resp = self.http.get(format!("{}{path}", self.base)).bearer_auth(ADMIN_KEY).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// Submits `{"action": action}` and returns the new action's id (202 required).
    pub async fn submit(&self, action: Value) -> anyhow::Result<String> {
        let (status, body) = self.post("/api/actions", &json!({ "action": action })).await?;
        if status != 202 {
            bail!("expected 202, got {status}: {body}");
        }
        body["actionId"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no actionId in {body}"))
    }

    /// Polls `GET /api/actions/{id}` until the action is terminal.
    pub async fn wait_terminal(&self, id: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (status, body) = self.get(&format!("/api/actions/{id}")).await?;
            if status == 200
                && matches!(body["status"].as_str(), Some("success" | "failed" | "cancelled" | "rejected" | "expired"))
            {
                return Ok(body);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("action {id} not terminal after {within:?}: {body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn ws(&self) -> anyhow::Result<WsClient> {
        WsClient::connect(&self.ws_url()).await
    }
}

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub const TERMINAL_EVENTS: &[&str] = &["action:completed", "action:failed", "action:cancelled"];

impl WsClient {
    /// Connects and waits for the `connected` greeting (from then on, no event is missed).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (stream, _) = tokio_tungstenite::connect_async(url).await.context("WebSocket connect")?;
        let mut client = Self { stream };
        let hello = client.next(Duration::from_secs(5)).await?;
        if hello["event"] != "connected" {
            bail!("expected the connected greeting, got {hello}");
        }
        Ok(client)
    }

    pub async fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.stream.send(Message::Text(text.into())).await?;
        Ok(())
    }

    pub async fn subscribe(&mut self, events: &[&str], platforms: &[&str]) -> anyhow::Result<()> {
        self.send(&json!({"action": "subscribe", "events": events, "platforms": platforms}).to_string()).await?;
        // Events published before the server read the request may arrive first.
        let frames =
            self.collect_until(Duration::from_secs(5), |f| f["event"] == "subscribed" || f["event"] == "error").await?;
        match frames.last() {
            Some(f) if f["event"] == "error" => bail!("subscription refused: {f}"),
            _ => Ok(()),
        }
    }

    /// The next text frame as JSON. A close frame is an error carrying its code and reason.
    pub async fn next(&mut self, within: Duration) -> anyhow::Result<Value> {
        loop {
            let msg = tokio::time::timeout(within, self.stream.next())
                .await
                .map_err(|_| anyhow!("no frame within {within:?}"))?
                .ok_or_else(|| anyhow!("connection ended"))??;
            match msg {
                Message::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
                Message::Close(frame) => {
                    let (code, reason) =
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    bail!("closed {code}: {reason}");
                }
                _ => continue,
            }
        }
    }

    /// Every frame about `action_id` until its terminal event, in arrival order.
    pub async fn lifecycle(&mut self, action_id: &str, within: Duration) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next(left).await.with_context(|| format!("events so far: {seen:?}"))?;
            if frame["data"]["actionId"] == action_id {
                let terminal = TERMINAL_EVENTS.contains(&frame["event"].as_str().unwrap_or_default());
                seen.push(frame);
                if terminal {
                    return Ok(seen);
                }
            }
        }
    }

    /// Frames until `done` says stop (it sees each frame), or the time runs out.
    pub async fn collect_until(
        &mut self,
        within: Duration,
        mut done: impl FnMut(&Value) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next(left).await?;
            let stop = done(&frame);
            seen.push(frame);
            if stop {
                return Ok(seen);
            }
        }
    }
}

/// The event names of a lifecycle, in order.
pub fn names(frames: &[Value]) -> Vec<String> {
    frames.iter().map(|f| f["event"].as_str().unwrap_or_default().to_owned()).collect()
}

/// A Slack notify action (dry run off) for `channel`.
pub fn slack_notify(priority: &str, channel: &str, text: &str) -> Value {
    json!({"type": "notify", "platform": "slack", "priority": priority, "data": {"channel": channel, "text": text}})
}
