//! `ApiFunction`: the REST API on API Gateway — the same axum router as `baton serve`.
pub mod handler;
