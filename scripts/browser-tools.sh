#!/usr/bin/env bash
# Installs what the console's browser tests need (idempotent): Debian's chromium and npm's
# playwright-core (pinned by tests/console/package-lock.json, into tests/console/node_modules).
# Playwright drives the system's chromium; it never downloads a browser of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chromium --version

if [ ! -f tests/console/node_modules/playwright-core/package.json ]; then
  (cd tests/console && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
node -e 'console.log("playwright-core", require("./tests/console/node_modules/playwright-core/package.json").version)'
