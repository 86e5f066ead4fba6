#!/usr/bin/env bash
# Install the Debian packages aedb builds and tests with (skips what is there).
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc libc6-dev liburing-dev libck-dev liblz4-dev
      libcmocka-dev libxxhash-dev libsodium-dev libjansson-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
