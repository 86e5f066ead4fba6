/* SPDX-License-Identifier: MIT */
/*
 * Assertions. AEDB_ASSERT is always on (it guards invariants whose violation
 * would corrupt data); AEDB_DEBUG_ASSERT is for expensive checks and compiles
 * out with NDEBUG. Checksum failures and bad input are errors, never asserts.
 */
#ifndef AEDB_CORE_ASSERT_H
#define AEDB_CORE_ASSERT_H

#include <stdnoreturn.h>

noreturn void core_assert_fail(const char *expr, const char *file, int line);

#define AEDB_ASSERT(e) \
	((e) ? (void)0 : core_assert_fail(#e, __FILE__, __LINE__))

#ifdef NDEBUG
#define AEDB_DEBUG_ASSERT(e) ((void)0)
#else
#define AEDB_DEBUG_ASSERT(e) AEDB_ASSERT(e)
#endif

#ifndef AEDB_STATIC_ASSERT /* aedb.h defines it too */
#define AEDB_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif

#define AEDB_LIKELY(x) __builtin_expect(!!(x), 1)
#define AEDB_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* AEDB_CORE_ASSERT_H */
