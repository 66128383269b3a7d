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
# The app in a browser once it answers (BROWSER=none: not; scripts/open-browser.sh).
host="${HOST:-127.0.0.1}"
case "$host" in 0.0.0.0 | :: | '') host=127.0.0.1 ;; *:*) host="[$host]" ;; esac
if [ "${PORT:-8787}" != 0 ]; then
  bash scripts/open-browser.sh "http://$host:${PORT:-8787}" &
fi
exec node sync-server/dist/main.js
