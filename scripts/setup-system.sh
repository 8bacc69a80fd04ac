#!/usr/bin/env bash
# System packages the test suite needs: Debian's Chromium (driven by Playwright) and
# ChromeDriver. Idempotent; uses sudo when not root; explains what to do when it cannot.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: chromium present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: need Debian packages ${need[*]}: run 'apt-get install ${need[*]}' as root" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get: install Chromium and ChromeDriver with your package manager" >&2
  exit 1
fi
echo "installing ${need[*]} (Debian packages) for the browser tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
