#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium and axe-core (from npm).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Chromium (Debian package) for the browser tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install Debian's 'chromium' package (browser tests need it)." >&2
    exit 1
  fi
fi
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null; then
    npm ci --silent --no-audit --no-fund >/dev/null
  else
    echo "npm is missing: the accessibility checks need axe-core from npm." >&2
    exit 1
  fi
fi
