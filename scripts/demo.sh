#!/usr/bin/env bash
# The main job (README): installs what it needs, then `ulearn demo` on Fashion-MNIST. Extra arguments go to
# `ulearn demo` (e.g. --budget 20m --method vicreg).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/ulearn.js demo "$@"
