#!/usr/bin/env bash
# The one test command (README: `npm test`). Installs what it needs on a fresh machine, runs
# formatting, type checks, lint and every package's tests, and ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

# Dependencies: a fresh clone has none; a stale install is refreshed from the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# The end-to-end tests drive Debian's Chromium (never a downloaded browser).
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y chromium >/dev/null || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
fi

# The scale-out tests start a real nats-server (Debian's, with JetStream) on a free port.
if [ -z "${NATS_SERVER_BIN:-}" ] && ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "== installing nats-server (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y nats-server >/dev/null || { $SUDO apt-get update && $SUDO apt-get install -y nats-server; }
fi

rm -rf ./*/test-results e2e/artifacts
status=0
echo "== format"
npx prettier --check . || status=1
echo "== root scripts: types and lint"
npx tsc -p scripts/tsconfig.json && npx eslint scripts eslint.config.js || status=1
echo "== build, check, lint, test (turbo)"
npx turbo run build check lint test --output-logs=errors-only --continue || status=1
node scripts/test-summary.mjs || status=1
exit $status
