/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the expression and query modules (issue 5):
 *  - struct tv_arena: a bump allocator for everything one query (or one
 *    result) owns, freed at once;
 *  - struct tv_qerr: the detail of a query error (the code plus a readable
 *    message naming the column, limit or clause at fault), DESIGN §8;
 *  - the query layer's internal error codes (a band above value.h's).
 *
 * Owner-thread only (one query runs on one thread); no shared state.
 */
#ifndef AEDB_TABLE_QUERY_ARENA_H
#define AEDB_TABLE_QUERY_ARENA_H

#include <stddef.h>
#include <stdint.h>

/*
 * Query errors that no public code names yet. Like value.h's TV_E*, they
 * never reach an application: tv_query_error_public() maps them (the limits
 * to -AEDB_ETOOBIG, the rest to -AEDB_EINVAL) until aedb.h has finer codes.
 */
enum tv_qerrno {
	TV_QERRNO_BASE = 31100,
	TV_ESCANLIMIT = TV_QERRNO_BASE + 1, /* more rows read than max_scan_rows */
	TV_EMEMLIMIT,   /* more bytes held than max_bytes (sort, groups, result) */
	TV_EJOINROWS,   /* joins produced more rows than max_join_rows */
	TV_EJOINBYTES,  /* join build tables over max_join_bytes */
	TV_ENOTABLE,    /* a joined table the environment does not know */
	TV_QERRNO_LAST
};

/* Map a query-layer error to the public code (see above); TV_* of value.h
 * through tv_error_public(); anything else unchanged. */
int tv_query_error_public(int err);

/* Detail of the last error; callers may pass NULL where one is accepted. */
#define TV_QERR_MSG_BYTES 160u
struct tv_qerr {
	int code;                      /* the negative code that was returned */
	char msg[TV_QERR_MSG_BYTES];   /* NUL-terminated, e.g. "no column \"x\"" */
};

/* Record @code and a printf-style message in @e (if non-NULL); returns
 * @code so callers can `return tv_qerr_set(...)`. */
int tv_qerr_set(struct tv_qerr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A bump allocator: blocks of at least 16 KiB, 16-byte aligned pieces. */
struct tv_arena_blk;
struct tv_arena {
	struct tv_arena_blk *head;
	struct tv_arena_blk *fixed;    /* the caller's first block, or NULL */
	size_t bytes;                  /* total block bytes held (accounting) */
	size_t used;                   /* bytes handed out, aligned (accounting) */
};

static inline void tv_arena_init(struct tv_arena *a)
{
	a->head = NULL;
	a->fixed = NULL;
	a->bytes = 0;
	a->used = 0;
}

/* An arena whose first block is the caller's @buf (@len bytes, e.g. on the
 * stack; it must outlive the arena's use and is never freed), so a small
 * query plans without malloc. Not counted in bytes. @buf too small to hold
 * a piece: the same as tv_arena_init. */
void tv_arena_init_buf(struct tv_arena *a, void *buf, size_t len);

/* @n bytes (uninitialised), or NULL on allocation failure. */
void *tv_arena_alloc(struct tv_arena *a, size_t n);
/* @n zeroed bytes, or NULL. */
void *tv_arena_zalloc(struct tv_arena *a, size_t n);
/* A copy of @p[0..@n) (n may be 0: returns a valid pointer), or NULL. */
void *tv_arena_dup(struct tv_arena *a, const void *p, size_t n);
/* Free every block; the arena is empty and reusable. */
void tv_arena_free(struct tv_arena *a);

#endif /* AEDB_TABLE_QUERY_ARENA_H */
