//! `IngestFunction`: the SQS ingress queue → accepted actions.
pub mod handler;
