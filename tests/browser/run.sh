#!/usr/bin/env bash
# Headless Chromium checks against a running `make dev` (BODEGA_BASE_URL):
# the API reference page and a cross-origin frontend (check.mjs).
#
# Installs what it needs: Debian's chromium (apt-get, as root) and
# playwright-core from npm into the git-ignored .local/browser. Where
# Chromium cannot be installed, says so loudly and skips (exit 0).
#
# Usage: BODEGA_BASE_URL=http://127.0.0.1:3000 tests/browser/run.sh
#   BODEGA_TEST_OUTPUT  where the screenshot goes (default .local/test-output/browser)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PREFIX="$ROOT/.local/browser"
export BODEGA_TEST_OUTPUT="${BODEGA_TEST_OUTPUT:-$ROOT/.local/test-output/browser}"
: "${BODEGA_BASE_URL:?set BODEGA_BASE_URL to a running make dev}"

skip() {
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!!! SKIPPED: the browser checks (API reference page, CORS frontend)\n' >&2
  printf '!!! %s\n' "$@" >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
  exit 0
}

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser: installing Debian's chromium with apt-get ..."
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
      skip "apt-get could not install chromium."
    fi
  else
    skip "$CHROMIUM is missing and cannot be installed here (needs root and apt-get):" \
      "  sudo apt-get install chromium"
  fi
fi
export CHROMIUM

command -v node >/dev/null 2>&1 || skip "node is missing (apt-get install nodejs npm)."
stamp="$PREFIX/.bodega-stamp"
want="$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d "$PREFIX/node_modules/playwright-core" ]; then
  echo "browser: installing playwright-core into ${PREFIX#"$ROOT"/} ..."
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$PREFIX/"
  # Only the library: it drives the Chromium above and downloads no browser.
  (cd "$PREFIX" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  echo "$want" >"$stamp"
fi

# check.mjs resolves playwright-core from next to itself.
cp "$HERE/check.mjs" "$PREFIX/check.mjs"
exec node "$PREFIX/check.mjs"
