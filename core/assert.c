/* SPDX-License-Identifier: MIT */
#include "core/assert.h"
#include "core/tsan.h"

#include <stdio.h>
#include <stdlib.h>

noreturn void core_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "aedb: assertion failed: %s (%s:%d)\n", expr, file, line);
	abort();
}

#ifdef AEDB_TSAN
uint32_t core_tsan_fence_word;
#endif
