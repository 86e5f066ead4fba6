/* SPDX-License-Identifier: MIT */
/*
 * it_common - helpers shared by the black-box integration tests (t_ prefix,
 * as every test helper). Everything goes through include/aedb.h only.
 *
 * Include after <cmocka.h>'s prerequisites (stdarg, stddef, setjmp).
 */
#ifndef AEDB_IT_COMMON_H
#define AEDB_IT_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "aedb.h"
#include "t_helpers.h"

/* The shard counts the core tests loop over. */
#define T_NSHARD_COUNTS 4
extern const uint32_t t_shard_counts[T_NSHARD_COUNTS];

/* Project and scope every test writes to (created by t_open_p()). */
#define T_P "proj"
#define T_S "app"

/*
 * Exit 77 (skip) when this machine cannot run an instance at all (io_uring
 * blocked: aedb_open() returns -ENOSYS or -EPERM). Call first in main().
 */
void t_require_engine(void);

/* t_open() plus project T_P (so scope T_S exists). */
struct aedb *t_open_p(uint32_t shards, const struct aedb_config *cfg);

/* aedb_kv_set() on T_P/T_S that must succeed; returns the commit seq. */
uint64_t t_set(struct aedb *db, const void *key, size_t key_len, const void *val,
	       size_t val_len);
/* As t_set() with NUL-terminated key and value. */
uint64_t t_sets(struct aedb *db, const char *key, const char *val);
/* aedb_kv_del() on T_P/T_S that must succeed; returns the commit seq. */
uint64_t t_del(struct aedb *db, const void *key, size_t key_len);

/*
 * Check that @key on T_P/T_S reads as @val (NULL = absent) at @at; when
 * present and @version is non-zero, also its version.
 */
void t_expect(struct aedb *db, const void *key, size_t key_len, const void *val,
	      size_t val_len, uint64_t version, struct aedb_at at);
/* As t_expect() at AEDB_LATEST with NUL-terminated key and value. */
void t_expects(struct aedb *db, const char *key, const char *val);

/* aedb_stats() that must succeed. */
struct aedb_stats t_stats(struct aedb *db);

/* Sleep @ms milliseconds. */
void t_sleep_ms(unsigned ms);

/* A failure flag for worker threads, which must not call cmocka asserts.
 * T_CHECK() records the first failure; the main thread then asserts
 * t_thread_failed() == 0. */
extern atomic_int t_thread_fail;
#define T_CHECK(cond, ...)                                                    \
	do {                                                                  \
		if (!(cond)) {                                                \
			if (atomic_fetch_add(&t_thread_fail, 1) < 8) {         \
				fprintf(stderr, "%s:%d: check failed: %s: ",    \
					__FILE__, __LINE__, #cond);           \
				fprintf(stderr, __VA_ARGS__);                 \
				fputc('\n', stderr);                          \
			}                                                     \
		}                                                             \
	} while (0)
#define t_thread_failed() atomic_load(&t_thread_fail)

/* assert_int_equal() on an int result with the error's name on failure. */
#define t_assert_rc(rc_expr, want)                                            \
	do {                                                                  \
		int t_rc_ = (rc_expr);                                        \
		int t_want_ = (want);                                         \
		if (t_rc_ != t_want_)                                         \
			fail_msg("%s: got %d (%s), want %d (%s)", #rc_expr,    \
				 t_rc_, aedb_strerror(t_rc_), t_want_,         \
				 aedb_strerror(t_want_));                      \
	} while (0)

/* Row values: integer, u64, text (pointing at @s, NUL-terminated), NULL. */
struct aedb_value t_vint(int64_t x);
struct aedb_value t_vu64(uint64_t x);
struct aedb_value t_vtext(const char *s);
struct aedb_value t_vnull(void);

/* XOR byte @off of file @path with @mask (damage for corruption tests). */
void t_flip_byte(const char *path, long off, uint8_t mask);

/* Write keys "key:%05u" (9 bytes, value = key) numbered @from .. @from +
 * @count - 1 into T_P/T_S through a ring with @depth in flight, VISIBLE, so
 * a shard round (and a WAL frame) holds many seqs; @seqs[i] gets key i's
 * commit seq. */
void t_ring_write_keys(struct aedb *db, uint32_t from, uint32_t count, uint32_t depth,
		       uint64_t *seqs);

/* qsort comparator for uint64_t. */
int t_u64_cmp(const void *a, const void *b);

/* Unsigned bytewise key order, shorter prefix first (the KV map's order). */
int t_keycmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
