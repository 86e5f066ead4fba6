#!/usr/bin/env bash
# perf/compare.sh - the side-by-side comparison of perf/README.md: aedb and
# every peer engine compiled into aedb-bench (scripts/bench-deps.sh installs
# them; reconfigure the build afterwards), on 1M 16-byte keys with 100-byte
# values. Two invocations: durable puts (5 s each), then everything else
# (3 s each; every read workload loads its own fresh instance per engine).
#
# usage: perf/compare.sh BUILD_DIR [OUT_DIR] [extra aedb-bench options...]
# Writes OUT_DIR/{durable,main}.txt (tables, RESULT lines, compare blocks)
# and OUT_DIR/{durable,main}.jsonl (JSON lines). Takes about 25 minutes on a
# 2-CPU machine, most of it loading 1M keys into 6 engines for 7 workloads
# (add --copy-load to load once per engine: about 15 minutes).
set -euo pipefail
build=${1:?usage: perf/compare.sh BUILD_DIR [OUT_DIR] [aedb-bench options...]}
out=${2:-.}
shift $(( $# < 2 ? $# : 2 ))
bench="$build/perf/aedb-bench"
[ -x "$bench" ] || { echo "compare.sh: no $bench; build first" >&2; exit 2; }
mkdir -p "$out"
common=(--keys 1m --key-size 16 --value-size 100 --warmup 1 --compare all "$@")

run() {
	local name=$1
	shift
	echo "== $name: $bench ${common[*]} $*" >&2
	"$bench" "${common[@]}" --json-out "$out/$name.jsonl" "$@" 2>&1 | tee "$out/$name.txt"
}

run durable --seconds 5 dput@1,4,32
run main --seconds 3 put@1,2 ingest get@1,2 scan@1,2 \
	ycsb-a@2 ycsb-b@2 ycsb-c@2 ycsb-e@2 ycsb-f@2 recover
