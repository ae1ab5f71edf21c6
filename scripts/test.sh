#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Installs what the tests
# need, then checks formatting, lints, the domain's purity, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version
# Components come from rustup; installing them is a no-op when present.
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "domain purity: shared/domain must not depend on AWS, Lambda, HTTP client or server crates"
forbidden=$(cargo tree -p baton-domain -e normal --prefix none --locked \
  | grep -oE '^(aws-[a-z-]+|lambda_[a-z_]+|reqwest|axum|hyper|dynoxide-rs) ' | sort -u || true)
if [ -n "$forbidden" ]; then
  echo "baton-domain depends on: $forbidden"
  exit 1
fi
echo "ok"

step "tests"
cargo test --workspace --locked
