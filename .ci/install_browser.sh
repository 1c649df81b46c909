#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of the VQA page (tests/serve/browser_test.ts), idempotently.
# playwright-core drives it via executablePath /usr/bin/chromium; no browser download from npm/CDN is needed.
set -euo pipefail

if [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1; then
  echo "install_browser: $(/usr/bin/chromium --version) already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_browser: need root (or sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
