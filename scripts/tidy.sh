#!/bin/sh
# STYLE limits: lines <= 100 columns (tabs count 8) in C sources and headers;
# .c files under 1,200 lines; internal headers under 300 lines.
set -eu
cd "$(dirname "$0")/.."
fail=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]'); do
	awk -v f="$f" '{ gsub(/\t/, "        "); if (length($0) > 100) {
		printf "%s:%d: line longer than 100 columns\n", f, NR; bad = 1 } }
		END { exit bad }' "$f" || fail=1
	n=$(wc -l < "$f")
	case "$f" in
	include/*) ;;
	*.c) [ "$n" -lt 1200 ] || { echo "$f: $n lines (split it)"; fail=1; } ;;
	*.h) [ "$n" -lt 300 ] || { echo "$f: $n lines (internal header)"; fail=1; } ;;
	esac
done
[ $fail -eq 0 ] && echo "tidy ok"
exit $fail
