//! The use cases every entry point calls. The Lambdas and the local runtime call these same
//! functions.
//!
//! - [`submit`]: store a new action and queue it (`Submitter`), idempotently where asked.
//! - [`execute`]: lease, admit, call, record (`Executor`), and its one composition.
//! - [`ingest`]: ingress messages → accepted actions or recorded rejections (`Ingestor`).
//! - [`sweep`]: make unfinished work runnable again (`recover` after a restart, `redrive`).
//! - [`access`]: API keys, scopes and the API's rate limits (`Access`).
//! - [`approvals`]: hold, decide, settle and sweep approvals (`Approvals`).
//! - [`workflows`]: submit, advance, cancel, compensate and read workflows (`Workflows`).
//! - [`operate`]: cancel, replay (one or a filtered set) and feedback (`Operator`).
//! - [`history`]: the context aggregator's history with its patterns (`History`).
//! - [`metrics`]: count what ended and read the summary back (`Metrics`).
//! - [`react`]: what a change of an action sets in motion besides its events (`Reactor`).
//! - [`idempotency`]: requests carrying an idempotency key run once.
//!
//! Must not import any adapter crate.

pub mod access;
pub mod approvals;
pub mod execute;
pub mod handoff;
pub mod history;
pub mod idempotency;
pub mod ingest;
pub mod metrics;
pub mod operate;
pub mod react;
pub mod submit;
pub mod sweep;
pub mod workflows;

pub use access::Access;
pub use approvals::{Approvals, DecisionAnswer, HoldReceipt, SlackNotices, SweepReport};
pub use execute::{Executor, ExecutorParts, Outcome};
pub use handoff::Handoff;
pub use history::History;
pub use ingest::{IngestOutcome, Ingestor};
pub use metrics::Metrics;
pub use operate::Operator;
pub use react::Reactor;
pub use submit::{Receipt, Submitter};
pub use sweep::{Redriven, recover, redrive};
pub use workflows::{Submitted, WorkflowReceipt, WorkflowView, Workflows};

#[cfg(test)]
mod tests;
