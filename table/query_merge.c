/* SPDX-License-Identifier: MIT */
/* Scatter-gather: N ordered shard cursors merged by key with a min-heap
 * (DESIGN §3). Ties (which a store never produces) go to the lower shard,
 * so the merged order is deterministic whatever happens. */
#include "table/query_source.h"

#include <errno.h>
#include <stdlib.h>

#include "core/assert.h"
#include "table/keyenc.h"

static bool tv_merge_less(const struct tv_merge *m, uint32_t x, uint32_t y)
{
	const struct tv_kv *a = &m->cur[x]->kv, *b = &m->cur[y]->kv;
	int c = tv_key_cmp(a->key, a->key_len, b->key, b->key_len);

	return c < 0 || (c == 0 && x < y);
}

static void tv_merge_down(struct tv_merge *m, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, min = i, t;

		if (l < m->nheap && tv_merge_less(m, m->heap[l], m->heap[min]))
			min = l;
		if (r < m->nheap && tv_merge_less(m, m->heap[r], m->heap[min]))
			min = r;
		if (min == i)
			return;
		t = m->heap[i];
		m->heap[i] = m->heap[min];
		m->heap[min] = t;
		i = min;
	}
}

int tv_merge_open(struct tv_merge *m, uint32_t n, tv_cursor_open_fn open, void *ctx)
{
	AEDB_ASSERT(n > 0 && open);
	m->n = 0;
	m->nheap = 0;
	m->cur = calloc(n, sizeof(*m->cur));
	m->heap = calloc(n, sizeof(*m->heap));
	if (!m->cur || !m->heap) {
		tv_merge_close(m);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		int rc = open(ctx, i, &m->cur[i]);

		if (rc) {
			tv_merge_close(m);
			return rc < 0 ? rc : -EIO;
		}
		AEDB_ASSERT(m->cur[i] && m->cur[i]->ops);
		m->n = i + 1;
	}
	return 0;
}

int tv_merge_seek(struct tv_merge *m, const uint8_t *key, size_t len, bool after)
{
	m->nheap = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		int rc = m->cur[i]->ops->seek(m->cur[i], key, len, after);

		if (rc < 0)
			return rc;
		if (rc > 0)
			m->heap[m->nheap++] = i;
	}
	for (uint32_t i = m->nheap / 2; i-- > 0;)
		tv_merge_down(m, i);
	return m->nheap > 0;
}

int tv_merge_next(struct tv_merge *m)
{
	struct tv_cursor *c;
	int rc;

	AEDB_ASSERT(m->nheap > 0);
	AEDB_ASSERT(m->heap[0] < m->n);
	c = m->cur[m->heap[0]];
	rc = c->ops->next(c);
	if (rc < 0)
		return rc;
	if (rc == 0)
		m->heap[0] = m->heap[--m->nheap];
	if (m->nheap)
		tv_merge_down(m, 0);
	return m->nheap > 0;
}

void tv_merge_close(struct tv_merge *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		m->cur[i]->ops->close(m->cur[i]);
	free(m->cur);
	free(m->heap);
	m->cur = NULL;
	m->heap = NULL;
	m->n = m->nheap = 0;
}
