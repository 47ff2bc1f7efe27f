#!/usr/bin/env bash
# Installs everything ulearn needs on Debian 12 + Node 20: npm packages, the Debian data package
# (Fashion-MNIST), chromium for the browser tests, and the labeling UI's build. Safe to run again: it only
# installs or builds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
[ -d /usr/share/datasets/fashion-mnist ] || apt_packages+=(dataset-fashion-mnist)
# The labeling app's end-to-end tests drive Debian's chromium (see DEVELOPERS.md).
command -v chromium >/dev/null || apt_packages+=(chromium fonts-liberation)
for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || apt_packages+=("$pkg"); done
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root to install: ${apt_packages[*]} (skipping; ulearn will download Fashion-MNIST itself)" >&2
  else
    echo "setup: apt-get install ${apt_packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  fi
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

# The labeling web UI (web/label, Vite): built here so a fresh clone serves it; `ulearn label` also builds it
# when missing or stale.
if [ ! -f web/label/dist/index.html ]; then
  echo "setup: build the labeling UI"
  npm run --silent build:web
fi
