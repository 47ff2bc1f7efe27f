#!/usr/bin/env bash
# Installs everything ulearn needs on Debian 12 + Node 20: npm packages (better-sqlite3 compiles from source, so
# a C++ toolchain), the Debian data package (Fashion-MNIST) and the labeling UI's build. `--browser` also installs
# chromium for the browser tests (scripts/test.sh passes it). Safe to run again: it only installs or builds what is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
[ -d /usr/share/datasets/fashion-mnist ] || apt_packages+=(dataset-fashion-mnist)
# better-sqlite3's prebuilt binary comes from a host npm does not reach here, so npm ci builds it with node-gyp.
{ command -v g++ >/dev/null && command -v make >/dev/null && command -v python3 >/dev/null; } || apt_packages+=(g++ make python3)
# The synthetic `glyphs` dataset renders digits with the installed fonts (fc-list); these packages give it a
# spread of designs (serif, sans, mono, script, handwriting-like) in about 30 MB. Test fonts are whole families
# held out of training, so more families make a harder, fairer test.
command -v fc-list >/dev/null || apt_packages+=(fontconfig)
for font in fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-urw-base35 fonts-comic-neue fonts-humor-sans \
  fonts-breip fonts-dkg-handwriting fonts-lobster fonts-quicksand fonts-inconsolata fonts-cantarell fonts-crosextra-caladea fonts-go; do
  dpkg -s "$font" >/dev/null 2>&1 || apt_packages+=("$font")
done
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
