/* SPDX-License-Identifier: MIT */
#include "ring/mesh.h"

#include <ck_ring.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "core/tsan.h"

CK_RING_PROTOTYPE(ring_msg, ring_msg)

#define RING_OVERFLOW_MAX 4096u

/* One direction of one pair: the SPSC ring plus the sender's overflow FIFO. */
struct ring_pair {
	ck_ring_t ring;
	struct ring_msg *buf;
	struct ring_msg *over;      /* sender-owned overflow FIFO */
	uint32_t over_head, over_len;
} __attribute__((aligned(64)));

struct ring_mesh {
	uint32_t n;
	uint32_t entries;
	struct ring_pair *pairs;    /* [src * n + dst] */
};

static struct ring_pair *ring_pair_of(struct ring_mesh *m, uint32_t src, uint32_t dst)
{
	AEDB_ASSERT(src < m->n);
	AEDB_ASSERT(dst < m->n);
	return &m->pairs[src * m->n + dst];
}

struct ring_mesh *ring_mesh_create(uint32_t n, uint32_t entries)
{
	struct ring_mesh *m = calloc(1, sizeof(*m));

	AEDB_ASSERT(entries && !(entries & (entries - 1)));
	if (!m)
		return NULL;
	m->n = n;
	m->entries = entries;
	if (posix_memalign((void **)&m->pairs, 64, (size_t)n * n * sizeof(*m->pairs))) {
		free(m);
		return NULL;
	}
	memset(m->pairs, 0, (size_t)n * n * sizeof(*m->pairs));
	for (uint32_t i = 0; i < n * n; i++) {
		struct ring_pair *p = &m->pairs[i];

		if (i / n == i % n)
			continue; /* no self ring */
		if (posix_memalign((void **)&p->buf, 64, entries * sizeof(*p->buf))) {
			ring_mesh_destroy(m);
			return NULL;
		}
		ck_ring_init(&p->ring, entries);
	}
	return m;
}

void ring_mesh_destroy(struct ring_mesh *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; m->pairs && i < m->n * m->n; i++) {
		free(m->pairs[i].buf);
		free(m->pairs[i].over);
	}
	free(m->pairs);
	free(m);
}

static int ring_pair_push(struct ring_pair *p, const struct ring_msg *msg)
{
	CORE_TSAN_RELEASE(p);
	return ck_ring_enqueue_spsc_ring_msg(&p->ring, p->buf, (struct ring_msg *)msg);
}

int ring_mesh_send(struct ring_mesh *m, const struct ring_msg *msg)
{
	struct ring_pair *p = ring_pair_of(m, msg->src, msg->dst);

	AEDB_ASSERT(msg->src != msg->dst);
	/* Keep order: nothing may overtake messages already in overflow. */
	if (p->over_len == 0 && ring_pair_push(p, msg))
		return 0;
	if (p->over_len == RING_OVERFLOW_MAX)
		return -AEDB_EBUSY;
	if (!p->over) {
		p->over = malloc(RING_OVERFLOW_MAX * sizeof(*p->over));
		if (!p->over)
			return -AEDB_EBUSY;
	}
	p->over[(p->over_head + p->over_len) % RING_OVERFLOW_MAX] = *msg;
	p->over_len++;
	return 0;
}

uint32_t ring_mesh_flush(struct ring_mesh *m, uint32_t src)
{
	uint32_t left = 0;

	for (uint32_t dst = 0; dst < m->n; dst++) {
		struct ring_pair *p;

		if (dst == src)
			continue;
		p = ring_pair_of(m, src, dst);
		while (p->over_len && ring_pair_push(p, &p->over[p->over_head])) {
			p->over_head = (p->over_head + 1) % RING_OVERFLOW_MAX;
			p->over_len--;
		}
		left += p->over_len;
	}
	return left;
}

int ring_mesh_recv(struct ring_mesh *m, uint32_t src, uint32_t dst, struct ring_msg *out)
{
	struct ring_pair *p = ring_pair_of(m, src, dst);

	if (!ck_ring_dequeue_spsc_ring_msg(&p->ring, p->buf, out))
		return 0;
	CORE_TSAN_ACQUIRE(p);
	return 1;
}

int ring_mesh_pending(struct ring_mesh *m, uint32_t src, uint32_t dst)
{
	return ck_ring_size(&ring_pair_of(m, src, dst)->ring) > 0;
}
