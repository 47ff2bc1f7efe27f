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
# The native add-on (native/, `--backend native`) links Debian's oneDNN: the library Debian's PyTorch uses.
[ -f /usr/include/dnnl.hpp ] || apt_packages+=(libdnnl-dev)
# The synthetic `glyphs` dataset renders digits with the installed fonts (fc-list); these packages give it a
# spread of designs (serif, sans, mono, script, handwriting-like) in about 30 MB. Test fonts are whole families
# held out of training, so more families make a harder, fairer test.
command -v fc-list >/dev/null || apt_packages+=(fontconfig)
for font in fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-urw-base35 fonts-comic-neue fonts-humor-sans \
  fonts-breip fonts-dkg-handwriting fonts-lobster fonts-quicksand fonts-inconsolata fonts-cantarell fonts-crosextra-caladea fonts-go; do
  dpkg -s "$font" >/dev/null 2>&1 || apt_packages+=("$font")
done
# The synthetic `speech-digits` corpus is spoken by Debian's text-to-speech engines: espeak-ng (its voice variants
# and English accents; other languages for the unlabeled pool), flite, and festival with three voices.
command -v espeak-ng >/dev/null || apt_packages+=(espeak-ng)
command -v flite >/dev/null || apt_packages+=(flite)
command -v festival >/dev/null || apt_packages+=(festival)
for voice in festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts; do
  dpkg -s "$voice" >/dev/null 2>&1 || apt_packages+=("$voice")
done
for arg in "$@"; do
  case "$arg" in
    # The labeling app's end-to-end tests drive Debian's chromium (see DEVELOPERS.md).
    --browser) command -v chromium >/dev/null || apt_packages+=(chromium fonts-liberation) ;;
    # Scale-out (docs/scale.md) runs on Redis (BullMQ) and can keep labels in PostgreSQL. Neither is needed for the
    # main job; the tests start their own throwaway servers on loopback ports, so only the binaries are installed.
    --services)
      command -v redis-server >/dev/null || apt_packages+=(redis-server)
      ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
      ;;
    *) dpkg -s "$arg" >/dev/null 2>&1 || apt_packages+=("$arg") ;;
  esac
done
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root to install: ${apt_packages[*]} (skipping; ulearn will download Fashion-MNIST itself and run on plain wasm)" >&2
  else
    echo "setup: apt-get install ${apt_packages[*]}"
    $sudo apt-get update -qq
    # One package that cannot install (libdnnl-dev on an older release) must not block the others.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null ||
      for p in "${apt_packages[@]}"; do
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
          echo "setup: apt-get install $p failed" >&2
      done
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

# The native add-on (oneDNN kernels over the wasm heap). Built here rather than by an npm install script, which
# npm 11 gates behind allowScripts. A failed build is not fatal: ulearn runs on plain wasm and its engine line says
# why. Rebuilt when its sources are newer than the binary.
addon=native/build/Release/ulearn_native.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
  echo "setup: build the native add-on (oneDNN)"
  # node-gyp: the project's, else the copy bundled with npm; Node's headers come from Node's own install prefix
  # (include/node), so nothing is downloaded.
  gyp=(npx --no-install node-gyp)
  [ -x node_modules/.bin/node-gyp ] || {
    npm_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
    [ -f "$npm_gyp" ] && gyp=(node "$npm_gyp")
  }
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  log=$(mktemp)
  if [ ! -f /usr/include/dnnl.hpp ]; then
    echo "setup: native add-on skipped: libdnnl-dev is not installed (ulearn runs on plain wasm)" >&2
  elif (cd native && "${gyp[@]}" rebuild --nodedir="$nodedir") >"$log" 2>&1; then
    echo "setup: native add-on built ($addon)"
  else
    echo "setup: native add-on build failed (ulearn runs on plain wasm); the compiler said:" >&2
    grep -E 'error|Error' "$log" | head -n 15 >&2 || tail -n 15 "$log" >&2
  fi
  rm -f "$log"
fi

# The big ONNX fixtures of the transfer tests (torchvision's ResNet-18, MobileNetV2, EfficientNet-B0 exported by
# Debian's PyTorch with random weights; ~80 MB, so not committed). Built once, in about a minute; the tests skip
# with a message while they are missing, and a failure here is not fatal.
tv=test/fixtures/transfer/torchvision
if [ ! -f "$tv/resnet18.onnx" ] || [ ! -f "$tv/mobilenet_v2.onnx" ] || [ ! -f "$tv/efficientnet_b0.onnx" ]; then
  echo "setup: build the torchvision ONNX fixtures ($tv)"
  scripts/fixtures/transfer.sh --torchvision >/dev/null || echo "setup: torchvision ONNX fixtures not built (the transfer tests that need them skip)" >&2
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
