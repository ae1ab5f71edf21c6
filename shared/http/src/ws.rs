//! `GET /ws`: the WebSocket protocol of API Gateway's WebSocket API, served by the local
//! runtime. Frames are `{"event","data","id","ts"}`; clients send `subscribe` and `ping`.
//!
//! Every send is bounded in time: a client that stops reading is disconnected within
//! seconds (its TCP connection closed), and its task ends; it can never hold a worker.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::ErrorCode;
use baton_domain::events::{EVENT_NAMES, answer_client, reply_frame};
use chrono::Utc;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use crate::AppState;
use crate::error::ApiError;
use crate::hub::{Frames, Hub, Registration};

/// Close code for a client dropped for falling behind (RFC 6455 1013: try again later).
pub const CLOSE_TOO_SLOW: u16 = 1013;
/// How long one frame (or one batch of them) may take to leave; longer, and the client
/// counts as gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Frames written before one flush at most, when many are waiting.
const MAX_BATCH: usize = 4096;
/// Bytes read from a client per read. Clients send small messages (`subscribe`, `ping`), and
/// tungstenite zero-fills this much before every read attempt, each time the connection's
/// task wakes to write: at 128 KiB (its default) that memset was 15 % of the CPU of 1,000
/// dashboards' fan-out (perf).
const READ_BUFFER: usize = 4 * 1024;

#[utoipa::path(get, path = "/ws", tag = "websocket", operation_id = "websocket",
    description = "The WebSocket: frames are `Frame` (an event's payload in `data`, one of the `*Event` schemas); \
clients send `ClientMessage` (`{\"action\": \"subscribe\", \"events\": [\"action:*\"]}` or `{\"action\": \"ping\"}`). \
Browsers give the key as `?token=`.",
    params(("token" = Option<String>, Query, description = "The API key, for clients that cannot set headers")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn upgrade(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(hub) = state.hub.clone() else {
        return ApiError::not_found("no WebSocket endpoint here").into_response();
    };
    if !crate::auth::origin_allowed(&state.cors_origins, &headers) {
        let message = "this page's origin may not open Baton's WebSocket; see BATON_CORS_ORIGINS";
        return ApiError::new(StatusCode::FORBIDDEN, ErrorCode::PermissionDenied, message).into_response();
    }
    match ws {
        Ok(ws) => ws.read_buffer_size(READ_BUFFER).on_upgrade(move |socket| serve(socket, hub)),
        Err(rejection) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ValidationError,
            format!("this endpoint speaks WebSocket: {}", rejection.body_text()),
        )
        .into_response(),
    }
}

fn text(frame: impl Into<Utf8Bytes>) -> Message {
    Message::Text(frame.into())
}

/// Sends one message within [`SEND_TIMEOUT`]; `false` when the client is gone or stuck.
async fn send(sink: &mut SplitSink<WebSocket, Message>, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await, Ok(Ok(())))
}

/// Writes `first` and whatever else is waiting (up to [`MAX_BATCH`] frames) with one flush,
/// within [`SEND_TIMEOUT`]; `false` when the client is gone or stuck.
async fn send_all(sink: &mut SplitSink<WebSocket, Message>, reg: &mut Registration, first: Frames) -> bool {
    let mut written = 0;
    let write = async {
        let mut batch = first;
        loop {
            for frame in batch.drain(..) {
                sink.feed(text(frame)).await?;
                written += 1;
            }
            if written >= MAX_BATCH {
                break;
            }
            match reg.frames.try_recv() {
                Ok(more) => batch = more,
                Err(_) => break,
            }
        }
        sink.flush().await
    };
    let sent = matches!(tokio::time::timeout(SEND_TIMEOUT, write).await, Ok(Ok(())));
    reg.written(written);
    sent
}

async fn serve(socket: WebSocket, hub: Arc<Hub>) {
    let mut reg = hub.register();
    let (mut sink, mut stream) = socket.split();
    let hello =
        reply_frame("connected", json!({"connectionId": reg.id.to_string(), "events": EVENT_NAMES}), Utc::now());
    if !send(&mut sink, text(hello)).await {
        hub.unregister(reg.id);
        return;
    }
    loop {
        tokio::select! {
            biased;
            reason = &mut reg.kicked => {
                let reason = reason.unwrap_or_else(|_| "closing".into());
                let close = CloseFrame { code: CLOSE_TOO_SLOW, reason: Utf8Bytes::from(reason) };
                let _ = send(&mut sink, Message::Close(Some(close))).await;
                break;
            }
            out = reg.frames.recv() => match out {
                Some(frames) => {
                    if !send_all(&mut sink, &mut reg, frames).await {
                        break;
                    }
                }
                None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let (subscription, reply) = answer_client(t.as_str(), Utc::now());
                    if let Some(sub) = subscription {
                        hub.subscribe(reg.id, sub);
                    }
                    if !send(&mut sink, text(reply)).await {
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
