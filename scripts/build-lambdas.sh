#!/usr/bin/env bash
# Builds every Lambda function's release `bootstrap` with cargo-lambda (zig as the linker, a
# glibc old enough for provided.al2023) into target/lambda/<function>/, and reports sizes.
# x86_64 here; `sam build` builds for the stack's Architecture parameter (default arm64).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
functions=(api ws ingest executor stream scheduler authorizer)
args=()
for f in "${functions[@]}"; do args+=(-p "$f"); done
cargo lambda build --release "${args[@]}"
for f in "${functions[@]}"; do
  bin="target/lambda/$f/bootstrap"
  [ -x "$bin" ] || { echo "missing $bin"; exit 1; }
  printf '%-10s %s bytes\n' "$f" "$(stat -c %s "$bin")"
done
