#!/usr/bin/env bash
# Build aedb and run the quickstart example on a fresh temporary data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -d build ] || meson setup build
meson compile -C build
dir=$(mktemp -d /tmp/aedb-quickstart-XXXXXX)
trap 'rm -rf "$dir"' EXIT
build/quickstart "$dir"
