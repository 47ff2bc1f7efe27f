#!/usr/bin/env bash
# Installs everything ulearn needs on Debian 12 + Node 20: npm packages (better-sqlite3 compiles from source, so
# a C++ toolchain), the Debian data package (Fashion-MNIST) and the labeling UI's build, and puts `ulearn` on the
# PATH. `--browser` also installs chromium for the browser tests (scripts/test.sh passes it). Safe to run again: it
# only installs or builds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
[ -d /usr/share/datasets/fashion-mnist ] || apt_packages+=(dataset-fashion-mnist)
# better-sqlite3's prebuilt binary comes from a host npm does not reach here, so npm ci builds it with node-gyp.
{ command -v g++ >/dev/null && command -v make >/dev/null && command -v python3 >/dev/null; } || apt_packages+=(g++ make python3)
for arg in "$@"; do
  case "$arg" in
    # The labeling app's end-to-end tests drive Debian's chromium (see DEVELOPERS.md).
    --browser) command -v chromium >/dev/null || apt_packages+=(chromium fonts-liberation) ;;
    *) dpkg -s "$arg" >/dev/null 2>&1 || apt_packages+=("$arg") ;;
  esac
done
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

# `ulearn` on the PATH, so the README's commands work as typed: a link to this checkout's bin/ulearn.js (what
# `npm link` makes, without touching npm's global folder), which runs the sources here, edits included. It goes
# in /usr/local/bin when writable, else ~/.local/bin (ULEARN_BIN_DIR overrides); the checkout set up last wins.
bin_dir="${ULEARN_BIN_DIR:-}"
if [ -z "$bin_dir" ]; then
  if [ -w /usr/local/bin ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
fi
target="$PWD/bin/ulearn.js"
if [ "$(readlink "$bin_dir/ulearn" 2>/dev/null)" != "$target" ]; then
  if [ -e "$bin_dir/ulearn" ] && [ ! -L "$bin_dir/ulearn" ]; then
    echo "setup: $bin_dir/ulearn exists and is not a link; left as it is (run: node bin/ulearn.js …)" >&2
  else
    mkdir -p "$bin_dir"
    ln -sfn "$target" "$bin_dir/ulearn"
    echo "setup: ulearn -> $target (in $bin_dir)"
  fi
fi
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "setup: $bin_dir is not on your PATH; add it: export PATH=\"$bin_dir:\$PATH\"" ;;
esac
