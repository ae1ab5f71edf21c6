//! `GET /ws`: the WebSocket protocol of API Gateway's WebSocket API, served by the local
//! runtime. Frames are `{"event","data","id","ts"}`; clients send `subscribe` and `ping`.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::events::{ClientMessage, EVENT_NAMES, parse_client_message, timestamp};
use baton_domain::{ErrorCode, ErrorEnvelope};
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::AppState;
use crate::error::ApiError;
use crate::hub::Hub;

/// Close code for a client dropped for falling behind (RFC 6455 1013: try again later).
pub const CLOSE_TOO_SLOW: u16 = 1013;

pub async fn upgrade(
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(hub) = state.hub.clone() else {
        return ApiError::not_found("no WebSocket endpoint here").into_response();
    };
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| serve(socket, hub)),
        Err(rejection) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ValidationError,
            format!("this endpoint speaks WebSocket: {}", rejection.body_text()),
        )
        .into_response(),
    }
}

fn frame(event: &str, data: Value) -> Message {
    let now = Utc::now();
    let text = json!({"event": event, "data": data, "id": format!("{event}:{}", now.timestamp_micros()), "ts": timestamp(now)});
    Message::Text(Utf8Bytes::from(text.to_string()))
}

fn reply(hub: &Hub, id: u64, text: &str) -> Message {
    match parse_client_message(text) {
        Ok(ClientMessage::Subscribe(sub)) => {
            let data = json!({"events": sub.events, "platforms": sub.platforms});
            hub.subscribe(id, sub);
            frame("subscribed", data)
        }
        Ok(ClientMessage::Ping) => frame("pong", json!({})),
        Err(field) => frame("error", json!(ErrorEnvelope::invalid(&[field]))),
    }
}

async fn serve(socket: WebSocket, hub: Arc<Hub>) {
    let mut reg = hub.register();
    let (mut sink, mut stream) = socket.split();
    let hello = frame("connected", json!({"connectionId": reg.id.to_string(), "events": EVENT_NAMES}));
    if sink.send(hello).await.is_err() {
        hub.unregister(reg.id);
        return;
    }
    loop {
        tokio::select! {
            biased;
            reason = &mut reg.kicked => {
                let reason = reason.unwrap_or_else(|_| "closing".into());
                let close = CloseFrame { code: CLOSE_TOO_SLOW, reason: Utf8Bytes::from(reason) };
                let _ = sink.send(Message::Close(Some(close))).await;
                break;
            }
            out = reg.frames.recv() => match out {
                Some(text) => {
                    if sink.send(Message::Text(Utf8Bytes::from(text.as_ref()))).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if sink.send(reply(&hub, reg.id, text.as_str())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // Pings are answered by the protocol layer; binary frames mean nothing here.
                Some(Ok(_)) => {}
            },
        }
    }
    hub.unregister(reg.id);
}
