//! In-memory implementations of the ports, for use-case tests here and in other crates
//! (feature `test-support`; never in what ships).
//!
//! They keep the ports' contracts (conditional writes pinned to versions, newest-first
//! listings) so a use case tested against them behaves the same on the real adapters.

mod access;
mod approvals;
mod metrics;
mod others;
mod store;
mod table;
mod workflows;

pub use access::*;
pub use approvals::*;
pub use metrics::*;
pub use others::*;
pub use store::*;
pub use table::*;
pub use workflows::*;
