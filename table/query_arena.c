/* SPDX-License-Identifier: MIT */
/* The query layer's arena, error detail and error mapping. */
#include "table/query_arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/value.h"

#define TV_ARENA_BLOCK_BYTES (16u * 1024u)
#define TV_ARENA_ALIGN 16u

struct tv_arena_blk {
	struct tv_arena_blk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

int tv_query_error_public(int err)
{
	int e = err < 0 ? -err : err;

	if (e > TV_QERRNO_BASE && e < TV_QERRNO_LAST) {
		if (e == TV_ENOTABLE)
			return -AEDB_EINVAL;
		return -AEDB_ETOOBIG;
	}
	return tv_error_public(err);
}

int tv_qerr_set(struct tv_qerr *e, int code, const char *fmt, ...)
{
	va_list ap;

	AEDB_ASSERT(code < 0);
	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void *tv_arena_alloc(struct tv_arena *a, size_t n)
{
	struct tv_arena_blk *b = a->head;
	size_t need = (n + TV_ARENA_ALIGN - 1) & ~(size_t)(TV_ARENA_ALIGN - 1);
	void *p;

	if (need < n)
		return NULL;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > TV_ARENA_BLOCK_BYTES ? need : TV_ARENA_BLOCK_BYTES;

		if (cap > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		/* A big piece gets its own block behind the current one, so the
		 * current block's free space stays usable. */
		if (a->head && need > TV_ARENA_BLOCK_BYTES) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
		a->bytes += sizeof(*b) + cap;
	}
	AEDB_ASSERT(b->cap - b->used >= need);
	p = b->data + b->used;
	b->used += need;
	a->used += need;
	return p;
}

void *tv_arena_zalloc(struct tv_arena *a, size_t n)
{
	void *p = tv_arena_alloc(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

void *tv_arena_dup(struct tv_arena *a, const void *p, size_t n)
{
	void *d = tv_arena_alloc(a, n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

void tv_arena_init_buf(struct tv_arena *a, void *buf, size_t len)
{
	uintptr_t at = ((uintptr_t)buf + TV_ARENA_ALIGN - 1) & ~(uintptr_t)(TV_ARENA_ALIGN - 1);
	size_t pad = (size_t)(at - (uintptr_t)buf);
	struct tv_arena_blk *b = (struct tv_arena_blk *)at;

	tv_arena_init(a);
	if (!buf || len < pad + sizeof(*b) + TV_ARENA_ALIGN)
		return;
	b->next = NULL;
	b->used = 0;
	b->cap = (len - pad - sizeof(*b)) & ~(size_t)(TV_ARENA_ALIGN - 1);
	a->head = a->fixed = b;
}

void tv_arena_free(struct tv_arena *a)
{
	struct tv_arena_blk *b = a->head;

	while (b) {
		struct tv_arena_blk *next = b->next;

		if (b != a->fixed)
			free(b);
		b = next;
	}
	a->head = NULL;
	a->fixed = NULL;
	a->bytes = 0;
	a->used = 0;
}
