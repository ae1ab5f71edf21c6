//! `WsFunction`: the WebSocket API's routes.
pub mod handler;
