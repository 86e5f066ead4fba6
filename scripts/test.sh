#!/usr/bin/env bash
# Run every test suite: a -Werror build, then the same suites under
# AddressSanitizer + UndefinedBehaviorSanitizer, then under ThreadSanitizer.
# Benchmarks are not run here (see perf/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
run() { # dir, extra meson options...
	local dir=$1; shift
	[ -d "$dir" ] || meson setup "$dir" -Dwerror=true "$@"
	meson compile -C "$dir"
	meson test -C "$dir" --print-errorlogs --num-processes "$jobs" \
		--suite unit --suite integration --suite crash --suite slow
}
echo "== release build (-Werror)"
run build-test
echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
run build-asan -Db_sanitize=address,undefined -Db_lundef=false
echo "== ThreadSanitizer"
run build-tsan -Db_sanitize=thread -Db_lundef=false
echo "all suites passed: plain, asan+ubsan, tsan"
python3 - build-test build-asan build-tsan <<'PY'
import json, sys
ok = fail = skip = 0
for d in sys.argv[1:]:
    for line in open(f"{d}/meson-logs/testlog.json"):
        r = json.loads(line)["result"]
        if r == "OK": ok += 1
        elif r == "SKIP": skip += 1
        else: fail += 1
print(f"{ok} passed, {fail} failed, {skip} skipped")
sys.exit(1 if fail else 0)
PY
