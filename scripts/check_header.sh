#!/bin/sh
# The public header must compile on its own, as C11 and as C++, warning-free.
set -eu
hdr="$1"
cc="${CC:-cc}"
printf '#include "%s"\nint main(void) { return aedb_version_number() > 0 ? 0 : 1; }\n' "$hdr" |
	$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c -
if command -v c++ >/dev/null 2>&1; then
	printf '#include "%s"\nint main() { return 0; }\n' "$hdr" |
		c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -x c++ -
fi
echo "header ok"
