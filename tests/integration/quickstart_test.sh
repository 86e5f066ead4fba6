#!/usr/bin/env bash
# quickstart_test - run examples/quickstart twice on one fresh directory: the
# first run creates the table and the row, the second finds them; both must
# print the row selected back by id. Exit 77 (skip) if io_uring is blocked.
set -u
bin=$1
dir=$(mktemp -d /tmp/aedb-qs-test-XXXXXX)
trap 'rm -rf "$dir"' EXIT
for run in 1 2; do
	out=$("$bin" "$dir/data" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		case $out in
		*"open: Function not implemented"*|*"open: Operation not permitted"*) exit 77 ;;
		esac
		printf 'run %s failed (%s):\n%s\n' "$run" "$rc" "$out" >&2
		exit 1
	fi
	case $out in
	*"id = 1, username = 'alice'"*) ;;
	*) printf 'run %s: row not selected back:\n%s\n' "$run" "$out" >&2; exit 1 ;;
	esac
	if [ $run -eq 2 ]; then
		case $out in
		*"already there"*) ;;
		*) printf 'run 2 inserted again:\n%s\n' "$out" >&2; exit 1 ;;
		esac
	fi
done
exit 0
