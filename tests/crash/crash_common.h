/* SPDX-License-Identifier: MIT */
/*
 * crash_common - what the kill -9 tests share (cr_ prefix): running this
 * test binary again as a child that writes lines to a pipe, SIGKILLing it,
 * and reopening the directory.
 *
 * A child is "SELF --child DIR SHARDS CYCLE"; main() dispatches on argv.
 */
#ifndef AEDB_CRASH_COMMON_H
#define AEDB_CRASH_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aedb.h"
#include "t_helpers.h"

/* WAL segment size of the crash tests (small: rotations happen). */
#define CR_SEGMENT_BYTES (64u << 10)

/* assert_int_equal() on an int result, naming the error on failure. */
#define cr_assert_rc(rc_expr, want)                                           \
	do {                                                                  \
		int cr_rc_ = (rc_expr);                                       \
		if (cr_rc_ != (want))                                         \
			fail_msg("%s: got %d (%s)", #rc_expr, cr_rc_,           \
				 aedb_strerror(cr_rc_));                       \
	} while (0)

/*
 * Run SELF as a child on @dir (@shards, @cycle), with AEDB_DEBUG_KILL set to
 * @kill_spec (NULL: unset). Every complete line it writes to stdout goes to
 * @on_line (NUL-terminated, without the newline). Without @kill_spec it is
 * SIGKILLed @ms after its first line; with one it must kill itself. Fails the
 * test if it reports nothing (or, with @kill_spec, does not die) within a
 * minute, or ends other than by SIGKILL.
 */
void cr_run_child(const char *self, const char *dir, uint32_t shards, uint32_t cycle,
		  uint32_t ms, const char *kill_spec, void (*on_line)(char *line, void *arg),
		  void *arg);

/* Open @dir with @shards and the crash tests' segment size; fails the test
 * on error. @rep (may be NULL) gets the open report. */
struct aedb *cr_open(const char *dir, uint32_t shards, struct aedb_open_report *rep);

/* In a child: open argv's directory with argv's shard count, or exit 2. */
struct aedb *cr_child_open(char **argv);

#endif
