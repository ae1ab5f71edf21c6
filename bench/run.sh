#!/usr/bin/env bash
# Runs the benchmarks (release build) and appends the report to BENCHMARKS.md: the in-process
# measures (baton-bench), then the external load generator against `baton serve` running as a
# process of its own (baton-load), each on the file database and in memory.
# Not part of the test suite: timings on a shared 2-core machine are for reading, not asserting.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p baton-bench -p baton-cli --bin baton-bench --bin baton-load --bin baton
{
  ./target/release/baton-bench "$@"
  ./target/release/baton-bench --memory "$@"
  printf '\n### External load: baton-load against baton serve (file database, then in memory)\n\n'
  ./target/release/baton-load
  echo
  ./target/release/baton-load --memory
} | tee -a BENCHMARKS.md
