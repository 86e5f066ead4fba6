#!/bin/sh
# Fail if the shared library exports anything but aedb_*, or if the static
# library defines a global symbol outside the internal module prefixes
# (STYLE: core_ shard_ seq_ ring_ io_ wal_ api_ aedb_, plus the module-local
# helpers kvmap_/cat_/wm_/req_/ddl_ declared in internal headers).
set -eu
so="$1"
a="$2"
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBRVW]/ {print $3}' | sed 's/@.*//' |
	grep -v '^aedb_' | grep -v '^_init$' | grep -v '^_fini$' || true)
if [ -n "$bad" ]; then
	echo "shared library exports non-aedb symbols:"; echo "$bad"; exit 1
fi
prefixes='^(aedb_|core_|shard_|seq_|ring_|io_|wal_|api_|kvmap_|cat_|wm_|req_|txn_|idem_|tv_|acc_)'
bad=$(nm --defined-only -g "$a" | awk 'NF == 3 && $2 ~ /[TDBRVW]/ {print $3}' |
	grep -Ev "$prefixes" || true)
if [ -n "$bad" ]; then
	echo "static library defines globals outside the module prefixes:"; echo "$bad"; exit 1
fi
echo "symbols ok"
