#!/usr/bin/env bash
# Installs the tools the test suite needs beyond cargo into ./.venv (idempotent):
# the SQS/DynamoDB emulator (moto), the Lambda build tool (cargo-lambda + zig), the SAM CLI,
# the template linter and the API fuzzer (schemathesis). Versions are pinned; see docs/DESIGN.md for why cfn-lint is 1.53.3.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY=${PYTHON:-python3}
STAMP="$VENV/.baton-tools-v2"

if [ -f "$STAMP" ]; then
  exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet \
  "moto[server,sqs,dynamodb,dynamodbstreams]==5.2.5" \
  "cargo-lambda==1.9.2" \
  "ziglang" \
  "aws-sam-cli==1.170.0" \
  "cfn-lint==1.53.3" \
  "schemathesis==4.32.5"
touch "$STAMP"
