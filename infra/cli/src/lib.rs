//! The `baton` binary's library: the local runtime that `baton serve` starts and that the
//! black-box tests drive in-process.
//!
//! - [`embedded`]: the DynamoDB emulator, reached in process ([`in_process`]) and, with
//!   `--expose-store`, on a loopback port.
//! - [`scheduler`]: `LocalQueue`, per-priority lanes with their own workers.
//! - [`feed`]: the local change feed (old/new image of each write → events → notifier).
//! - [`background`]: the timers (`queue:updated`, the approval and workflow sweeps).
//! - [`runtime`]: the composition root: `Runtime::start(ServeOptions)`.

pub mod background;
pub mod embedded;
pub mod feed;
pub mod in_process;
pub mod runtime;
pub mod scheduler;

pub use embedded::DataLocation;
pub use runtime::{Runtime, ServeOptions};

/// mimalloc for everything that links the runtime (`baton`, its benchmarks and tests): under
/// load, glibc's malloc and its arena locks took about a quarter of the runtime's CPU (perf,
/// BENCHMARKS.md). The Lambda functions do not link this crate.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
