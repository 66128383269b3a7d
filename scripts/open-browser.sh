#!/usr/bin/env bash
# `npm run demo` / `npm start` open the app in a browser once the server answers: in the
# background, best effort, never in the server's way. BROWSER=none: never. BROWSER=<command>:
# that command, given the URL. Unset: the desktop's opener (open on macOS; xdg-open or
# wslview where there is a display), none under CI or on a headless machine — the URL is
# in the server's "listening" line either way.
#   scripts/open-browser.sh <url> [seconds to wait, default 120]
set -u
url="$1"
wait_s="${2:-120}"
opener=()
if [ "${BROWSER:-}" = none ]; then
  exit 0
elif [ -n "${BROWSER:-}" ]; then
  opener=("$BROWSER")
elif [ -n "${CI:-}" ]; then
  exit 0
elif [ "$(uname -s)" = Darwin ]; then
  opener=(open)
elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null 2>&1; then
  opener=(xdg-open)
elif command -v wslview >/dev/null 2>&1; then
  opener=(wslview)
else
  exit 0
fi
deadline=$((SECONDS + wait_s))
while [ "$SECONDS" -lt "$deadline" ]; do
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$url/health" >/dev/null 2>&1; then
    "${opener[@]}" "$url" >/dev/null 2>&1 || echo "floorsync: could not open a browser; open $url" >&2
    exit 0
  fi
  sleep 0.5
done
exit 0
