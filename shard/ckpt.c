/* SPDX-License-Identifier: MIT */
#include "shard/ckpt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "ring/req.h"
#include "shard/shard.h"

void shard_ckpt_req(struct shard *s, struct req *r)
{
	struct shard_ckpt_idem *q = (struct shard_ckpt_idem *)(uintptr_t)r->key;
	const struct idem_table *t = &s->idem;
	uint32_t n = 0;

	AEDB_ASSERT(r->op == REQ_CKPT && q != NULL);
	q->n = 0;
	q->buf = malloc((size_t)t->flen * 24 + 1);
	if (!q->buf) {
		req_complete(r, -ENOMEM);
		return;
	}
	/* The FIFO ascends in seq; an entry whose key was re-applied later
	 * (or expired) is stale: the table has the truth. */
	for (uint32_t i = 0; i < t->flen; i++) {
		const struct idem_slot *e = &t->fifo[(t->fhead + i) % t->fcap];

		if (e->seq > q->seq)
			break;
		if (idem_get(t, e->key) != e->seq)
			continue;
		memcpy(q->buf + (size_t)n * 24, e->key, 16);
		memcpy(q->buf + (size_t)n * 24 + 16, &e->seq, 8);
		n++;
	}
	q->n = n;
	req_complete(r, 0);
}
