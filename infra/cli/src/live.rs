//! The CLI's WebSocket client: `/ws?token=` on a local runtime, the stack's WebSocket API on
//! AWS (`--ws-url`); subscribes and yields each event frame.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Failure, exit};

/// The WebSocket URL: `--ws-url`, else the REST URL's scheme and host with `/ws`.
pub fn ws_url(rest: &str, explicit: Option<&str>) -> String {
    if let Some(u) = explicit {
        return u.trim_end_matches('/').to_owned();
    }
    let base = rest.trim_end_matches('/');
    let ws = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .unwrap_or_else(|| base.strip_prefix("http://").map_or_else(|| base.to_owned(), |r| format!("ws://{r}")));
    format!("{ws}/ws")
}

pub struct Feed {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Feed {
    /// Connects with the key and subscribes; returns once the subscription is confirmed.
    pub async fn open(url: &str, key: Option<&str>, events: &[String], platforms: &[String]) -> Result<Self, Failure> {
        let mut target = url.to_owned();
        if let Some(k) = key {
            let sep = if target.contains('?') { '&' } else { '?' };
            target =
                format!("{target}{sep}token={}", form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>());
        }
        let (mut socket, _) = tokio_tungstenite::connect_async(target.as_str()).await.map_err(|e| {
            let refused = e.to_string();
            let code = if refused.contains("401") || refused.contains("403") { exit::FAILED } else { exit::SERVER };
            Failure::new(code, format!("cannot open the live feed at {url}: {refused}"))
        })?;
        let mut subscribe = json!({"action": "subscribe", "events": events});
        if !platforms.is_empty() {
            subscribe["platforms"] = json!(platforms);
        }
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .map_err(|e| Failure::new(exit::SERVER, format!("subscribing: {e}")))?;
        let mut feed = Self { socket };
        // The subscription is answered (`subscribed`, or `error` saying why not); a
        // `connected` greeting may come first.
        loop {
            match feed.next_frame().await? {
                Some(f) if f["event"] == "subscribed" => return Ok(feed),
                Some(f) if f["event"] == "error" => {
                    return Err(Failure::new(exit::FAILED, format!("subscription refused: {}", f["data"])));
                }
                Some(_) => {}
                None => return Err(Failure::new(exit::SERVER, "the live feed closed at once")),
            }
        }
    }

    /// The next frame `{event, data, id, ts}`; `None` once the server closes.
    pub async fn next_frame(&mut self) -> Result<Option<Value>, Failure> {
        while let Some(msg) = self.socket.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                        return Ok(Some(v));
                    }
                }
                Ok(Message::Close(_)) => return Ok(None),
                Ok(_) => {}
                Err(e) => return Err(Failure::new(exit::SERVER, format!("the live feed broke: {e}"))),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_follows_the_rest_url_unless_told() {
        assert_eq!(ws_url("http://127.0.0.1:3000", None), "ws://127.0.0.1:3000/ws");
        assert_eq!(ws_url("https://x.example/prod/", None), "wss://x.example/prod/ws");
        assert_eq!(ws_url("https://x", Some("wss://y/prod/")), "wss://y/prod");
    }
}
