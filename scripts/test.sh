#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Installs what the tests
# need (scripts/tools.sh: moto, cargo-lambda, SAM CLI, cfn-lint into ./.venv; scripts/browser-tools.sh:
# Debian's chromium and npm's playwright-core), then checks
# formatting, lints, the domain's purity and the SAM template, builds every Lambda function
# for release, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

step "tools (./.venv; chromium and playwright-core for the console's browser tests)"
scripts/tools.sh
scripts/browser-tools.sh
export PATH="$PWD/.venv/bin:$PATH"
# SAM and cfn-lint need a region; they need no credentials.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0

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

step "SAM template: sam validate --lint, cfn-lint"
sam validate --lint --template template.yaml
cfn-lint template.yaml
echo "ok"

step "Lambda functions: cargo lambda build --release (x86_64)"
scripts/build-lambdas.sh

step "tests"
cargo test --workspace --locked
