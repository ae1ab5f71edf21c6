//! `StreamFunction`: DynamoDB Streams of the actions table → events.
pub mod handler;
