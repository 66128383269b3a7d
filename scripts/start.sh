#!/usr/bin/env bash
# `npm start` / `npm run demo`: install if needed, build, and run the whole system in one
# process on the embedded defaults (SQLite file in DATA_DIR, in-process bus). Configuration is
# the environment (README "Configuration").
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing dependencies (npm ci; better-sqlite3 compiles from source, ~1-2 min)"
  npm ci --no-audit --no-fund
fi
echo "== building"
npx turbo run build --output-logs=errors-only
# The server opens the app in a browser once it listens (BROWSER=none: not; README).
export OPEN_BROWSER="${OPEN_BROWSER:-1}"
exec node sync-server/dist/main.js
