#!/usr/bin/env bash
# Install the peer engines aedb-bench can compare against (perf/README.md):
# RocksDB, LevelDB, LMDB, SQLite and WiredTiger development packages.
# Optional: aedb builds and tests without them, and CI does not install them;
# meson compiles each peer backend only when its package is found.
set -euo pipefail
pkgs=(librocksdb-dev libleveldb-dev liblmdb-dev libsqlite3-dev libwiredtiger-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "bench-deps: all installed: ${pkgs[*]}"
	exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bench-deps: installed ${missing[*]}; reconfigure the build (meson setup --reconfigure)"
