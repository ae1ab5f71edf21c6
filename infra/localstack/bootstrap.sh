#!/usr/bin/env bash
# Deploys the Baton stack to a running LocalStack (docker compose up -d, in this directory).
# Uses samlocal (PyPI aws-sam-cli-local) from the project's ./.venv; builds the functions for
# x86_64 with cargo-lambda through `sam build`.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/tools.sh
.venv/bin/pip install --quiet "aws-sam-cli-local==1.71.0"
export PATH="$PWD/.venv/bin:$PATH"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}" SAM_CLI_TELEMETRY=0

samlocal build --template template.yaml --parameter-overrides Architecture=x86_64
samlocal deploy \
  --stack-name "${STACK_NAME:-baton}" \
  --resolve-s3 \
  --capabilities CAPABILITY_IAM \
  --no-confirm-changeset \
  --no-fail-on-empty-changeset \
  --parameter-overrides Architecture=x86_64
samlocal list stack-outputs --stack-name "${STACK_NAME:-baton}" --output table || true
