//! Baton's pure core.
//!
//! - [`approval`]: the approval record (decisions, quorum, preview, digest) and its transitions.
//! - [`auth`]: API keys, scopes and the API's rate limits.
//! - [`model`]: the Action (contract schema + lifecycle) and its transitions.
//! - [`validation`]: parsing of submitted actions and platform `data` schemas, with field paths.
//! - [`workflow`]: the workflow record (steps, references, compensations) and what happens next.
//! - [`error`]: the contract's error codes, the client envelope, the domain's errors.
//! - [`events`]: the event payloads and the one pure derivation from (old, new) images.
//! - [`patterns`]: what a history of actions shows (frequent types, peak hours, errors, feedback).
//! - [`policy`]: retry/backoff and queue estimates.
//! - [`ports`]: the roles adapters play (store, queue, notifier, platform clients, clock).
//! - [`guard`]: the shared breaker and bucket around every platform call.
//! - [`limits`]: buckets, breakers and health as pure functions of the platform state items.
//! - [`usecases`]: submit, execute, ingest, recover, re-drive — called unchanged by the Lambdas
//!   and the local runtime.
//! - [`sync`]: the one lock helper.
//! - `fakes` (feature `test-support`): in-memory ports for use-case tests.
//!
//! This crate must not depend on any AWS, Lambda, HTTP-client or web-framework crate.

pub mod approval;
pub mod auth;
pub mod error;
pub mod events;
#[cfg(any(test, feature = "test-support"))]
pub mod fakes;
pub mod guard;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod patterns;
pub mod policy;
pub mod ports;
pub mod sync;
pub mod usecases;
pub mod validation;
pub mod workflow;

pub use error::{DomainError, ErrorCode, ErrorEnvelope, FieldError, PlatformError, StoreError};
pub use events::Event;
pub use model::{Action, ActionType, Platform, Priority, RetryConfig, Status, WorkItem};
