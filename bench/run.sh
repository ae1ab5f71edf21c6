#!/usr/bin/env bash
# Runs the benchmarks (release build) and appends the report to BENCHMARKS.md.
# Not part of the test suite: timings on a shared 2-core machine are for reading, not asserting.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p baton-bench
{
  ./target/release/baton-bench "$@"
  ./target/release/baton-bench --memory "$@"
} | tee -a BENCHMARKS.md
