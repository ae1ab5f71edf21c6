//! `AuthorizerFunction`: the API key of every REST request and WebSocket `$connect`.
pub mod handler;
