/* SPDX-License-Identifier: MIT */
/* The submission-queue API: client rings, submit, and completion reaping. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/commit.h"
#include "api/kv.h"
#include "api/query.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/spin.h"
#include "core/hash.h"
#include "core/tsan.h"
#include "ring/client.h"
#include "shard/kvmap.h"
#include "shard/shard.h"


#define SQ_ENTRIES_MAX 4096u

static struct ring_client *sq_client(const struct aedb_ring *ring)
{
	return ring ? ring->priv : NULL;
}

static uint32_t sq_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static void sq_client_free(struct ring_client *c)
{
	if (c->efd >= 0)
		close(c->efd);
	ring_cq_fini(&c->cq);
	free(c->slots);
	free(c);
}

AEDB_API int aedb_ring_init(struct aedb *db, unsigned entries, struct aedb_ring *ring,
			    unsigned flags)
{
	struct ring_client *c;
	uint32_t n;

	if (!db || !ring)
		return -AEDB_EMISUSE;
	if (entries == 0 || entries > SQ_ENTRIES_MAX || (flags & ~AEDB_RING_EVENTFD_ALWAYS))
		return -AEDB_EINVAL;
	if (__atomic_load_n(&db->closing, __ATOMIC_ACQUIRE))
		return -AEDB_ECLOSED;
	n = sq_pow2(entries);
	memset(ring, 0, sizeof(*ring));
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->db = db;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->cq_cap = 2 * n;
	c->nslots = 2 * n;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	ring->sqes = calloc(n, sizeof(*ring->sqes));
	c->rec = api_reader_get(db);
	if (c->efd < 0 || ring_cq_init(&c->cq, 2 * n) < 0 || !c->slots || !ring->sqes || !c->rec) {
		int rc = c->efd < 0 ? -errno : -ENOMEM;

		if (c->rec)
			api_reader_put(db, c->rec);
		free(ring->sqes);
		ring->sqes = NULL;
		sq_client_free(c);
		return rc;
	}
	c->flags = flags;
	c->need_signal = (flags & AEDB_RING_EVENTFD_ALWAYS) ? 1 : 0;
	ring->sq_entries = n;
	ring->sq_mask = n - 1;
	ring->priv = c;
	__atomic_fetch_add(&db->rings_open, 1, __ATOMIC_ACQ_REL);
	return 0;
}

static int sq_dequeue(struct ring_client *c)
{
	if (c->has_cur)
		return 1;
	if (!ring_cq_pop(&c->cq, &c->cur))
		return 0;
	c->has_cur = 1;
	return 1;
}

AEDB_API void aedb_ring_exit(struct aedb_ring *ring)
{
	struct ring_client *c = sq_client(ring);

	if (!c)
		return;
	/* Every queued write must be completed (and its completer done with
	 * the ring) before the memory can go. */
	while (__atomic_load_n(&c->writes_pending, __ATOMIC_ACQUIRE))
		usleep(50);
	while (sq_dequeue(c))
		c->has_cur = 0;
	api_reader_put(c->db, c->rec);
	__atomic_fetch_sub(&c->db->rings_open, 1, __ATOMIC_ACQ_REL);
	free(ring->sqes);
	sq_client_free(c);
	memset(ring, 0, sizeof(*ring));
}

AEDB_API int aedb_peek_cqe(struct aedb_ring *ring, struct aedb_cqe **cqe)
{
	struct ring_client *c = sq_client(ring);

	if (!c || !cqe)
		return -AEDB_EMISUSE;
	if (sq_dequeue(c)) {
		*cqe = &c->cur;
		return 0;
	}
	if (!(c->flags & AEDB_RING_EVENTFD_ALWAYS))
		return -EAGAIN;
	/* Ask for a signal, then look again: a completion posted before the
	 * request was seen saw no request and did not signal. */
	__atomic_store_n(&c->need_signal, 1, __ATOMIC_SEQ_CST);
	if (sq_dequeue(c)) {
		*cqe = &c->cur;
		return 0;
	}
	return -EAGAIN;
}

AEDB_API void aedb_cqe_seen(struct aedb_ring *ring, struct aedb_cqe *cqe)
{
	struct ring_client *c = sq_client(ring);

	if (!c || !c->has_cur || cqe != &c->cur)
		return;
	c->has_cur = 0;
	c->seen++;
}

static void sq_sleep(struct ring_client *c)
{
	struct pollfd pfd = { .fd = c->efd, .events = POLLIN };
	uint64_t val;

	__atomic_store_n(&c->need_signal, 1, __ATOMIC_SEQ_CST);
	if (sq_dequeue(c))
		return;
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	(void)!read(c->efd, &val, sizeof(val));
}

AEDB_API int aedb_wait_cqe(struct aedb_ring *ring, struct aedb_cqe **cqe)
{
	struct ring_client *c = sq_client(ring);
	struct core_spin *sp;
	uint64_t deadline;

	if (!c || !cqe)
		return -AEDB_EMISUSE;
	if (!c->has_cur && c->submitted == c->seen)
		return -AEDB_EMISUSE;
	sp = core_spin_enter(&c->db->spin) ? &c->db->spin : NULL;
	deadline = sp ? core_now_ns() + (uint64_t)sp->budget_us * 1000ull : 0;
	while (!sq_dequeue(c)) {
		if (sp && core_now_ns() < deadline)
			core_spin_relax(sp);
		else
			sq_sleep(c);
	}
	if (sp)
		core_spin_leave(sp);
	*cqe = &c->cur;
	return 0;
}

AEDB_API int aedb_ring_fd(struct aedb_ring *ring)
{
	struct ring_client *c = sq_client(ring);

	return c ? c->efd : -AEDB_EMISUSE;
}

AEDB_API unsigned aedb_ring_inflight(const struct aedb_ring *ring)
{
	const struct ring_client *c = sq_client(ring);

	return c ? (unsigned)(c->submitted - c->seen) : 0;
}

/* ---- submit ------------------------------------------------------------- */

static struct req *sq_slot(struct ring_client *c)
{
	for (uint32_t k = 0; k < c->nslots; k++) {
		struct req *r = &c->slots[(c->slot_hint + k) % c->nslots];

		if (!__atomic_load_n(&r->slot_busy, __ATOMIC_ACQUIRE)) {
			c->slot_hint = (c->slot_hint + k + 1) % c->nslots;
			return r;
		}
	}
	return NULL;
}

static int sq_read_get(struct ring_client *c, const struct aedb_sqe *sqe)
{
	struct aedb *db = c->db;
	struct aedb_kv_read *rd = sqe->out;
	const struct kv_version *v;
	const struct cat_scope *sc;
	uint64_t snap = 0;
	int rc;

	if (!rd || (!sqe->key && sqe->key_len) || (!rd->buf && rd->buf_len))
		return -AEDB_EMISUSE;
	if (sqe->key_len > db->cfg.max_key_bytes)
		return -AEDB_ETOOBIG;
	api_read_begin(c->rec);
	sc = cat_kv_by_id(api_catalog_any(db), sqe->ns);
	rc = sc ? api_snapshot(db, sqe->at_mode, sqe->at_seq, &snap) : -AEDB_ENOSCOPE;
	if (rc == 0)
		rc = api_scope_visible(sc, snap);
	if (rc == 0) {
		v = api_kv_lookup(db, sc, sqe->key, sqe->key_len, snap);
		rc = v ? (int)v->len : -AEDB_ENOTFOUND;
		rd->snapshot_seq = snap;
		rd->val_len = v ? v->len : 0;
		rd->version = v ? v->seq : 0;
		rd->created_seq = v ? v->created_seq : 0;
		if (v && v->len && rd->buf_len)
			memcpy(rd->buf, v->data, v->len < rd->buf_len ? v->len : rd->buf_len);
	}
	api_read_end(db, c->rec);
	return rc;
}

static int sq_read_scan(struct ring_client *c, const struct aedb_sqe *sqe)
{
	struct aedb_kv_scan *rq = sqe->out;
	struct api_scan spec = { 0 };
	const struct cat_scope *sc;
	int rc;

	if (!rq)
		return -AEDB_EMISUSE;
	rq->page = NULL;
	if (rq->prefix && (rq->start || rq->end))
		return -AEDB_EINVAL;
	spec.prefix = rq->prefix;
	spec.prefix_len = rq->prefix_len;
	if (rq->start)
		spec.start = *rq->start;
	if (rq->end)
		spec.end = *rq->end;
	spec.limit = rq->limit;
	spec.cursor = rq->cursor;
	rc = api_scan_check(&spec);
	if (rc < 0)
		return rc;
	api_read_begin(c->rec);
	sc = cat_kv_by_id(api_catalog_any(c->db), sqe->ns);
	rc = sc ? api_kv_scan(c->db, sc, &spec, sqe->at_mode, sqe->at_seq, &rq->page)
		: -AEDB_ENOSCOPE;
	api_read_end(c->db, c->rec);
	return rc;
}

/* The submit time of the writes of one aedb_submit() call: one clock read
 * per call, for the latency metrics. */
static uint64_t sq_now(struct ring_client *c)
{
	if (!c->t_ns)
		c->t_ns = core_now_ns();
	return c->t_ns;
}

/* Queue a write. 0, -AEDB_EBUSY (leave the SQE queued), or another error
 * (complete the SQE with it). */
static int sq_write(struct ring_client *c, const struct aedb_sqe *sqe)
{
	struct aedb *db = c->db;
	struct req *r;
	int rc;

	if (db->readonly)
		return -AEDB_EREADONLY;
	rc = api_kv_write_check(db, sqe->key, sqe->key_len, sqe->val,
				sqe->opcode == AEDB_OP_KV_SET ? sqe->val_len : 0, sqe->finality);
	if (rc < 0)
		return rc;
	r = sq_slot(c);
	AEDB_ASSERT(r != NULL); /* in flight <= cq_cap == nslots */
	memset(r, 0, sizeof(*r));
	r->op = sqe->opcode == AEDB_OP_KV_SET ? REQ_KV_SET : REQ_KV_DEL;
	r->finality = sqe->finality;
	r->ns = sqe->ns;
	r->key = sqe->key;
	r->key_len = sqe->key_len;
	r->val = sqe->val;
	r->val_len = sqe->opcode == AEDB_OP_KV_SET ? sqe->val_len : 0;
	r->seq_out = sqe->out;
	r->user_data = sqe->user_data;
	r->client = c;
	r->slot_busy = 1;
	r->t_ns = sq_now(c);
	__atomic_fetch_add(&c->writes_pending, 1, __ATOMIC_RELAXED);
	rc = shard_enqueue_mpsc(&db->shards[core_kv_shard(r->ns, r->key, r->key_len,
							  db->nshards)], r);
	if (rc < 0) {
		r->slot_busy = 0;
		__atomic_fetch_sub(&c->writes_pending, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

/* Queue a commit; as sq_write(). */
static int sq_commit(struct ring_client *c, const struct aedb_sqe *sqe)
{
	struct aedb *db = c->db;
	const struct aedb_txn *t = sqe->key;
	uint32_t shard = 0;
	struct req *r;
	int rc;

	if (!t || t->db != db)
		return -AEDB_EMISUSE;
	if (t->nmut == 0)
		return -AEDB_EINVAL;
	if (t->log_bytes + 64 > db->cfg.max_txn_bytes)
		return -AEDB_ETOOBIG;
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
		return -AEDB_EFATAL;
	r = sq_slot(c);
	AEDB_ASSERT(r != NULL); /* in flight <= cq_cap == nslots */
	memset(r, 0, sizeof(*r));
	r->user_data = sqe->user_data;
	r->txres = sqe->out;
	r->client = c;
	r->slot_busy = 1;
	r->t_ns = sq_now(c);
	__atomic_fetch_add(&c->writes_pending, 1, __ATOMIC_RELAXED);
	rc = api_txn_start(db, t, r, &shard);
	if (rc == 1)
		rc = shard_enqueue_mpsc(&db->shards[shard], r);
	if (rc < 0) {
		r->slot_busy = 0;
		__atomic_fetch_sub(&c->writes_pending, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

/* Handle one SQE. 1 if consumed, 0 if it must stay queued (inbox full). */
static int sq_one(struct ring_client *c, const struct aedb_sqe *sqe)
{
	int rc;

	if (sqe->flags || sqe->opcode >= AEDB_OP_LAST)
		rc = -AEDB_EINVAL;
	else if (sqe->opcode == AEDB_OP_NOP)
		rc = 0;
	else if (sqe->opcode == AEDB_OP_KV_GET)
		rc = sq_read_get(c, sqe);
	else if (sqe->opcode == AEDB_OP_KV_SCAN)
		rc = sq_read_scan(c, sqe);
	else if (sqe->opcode == AEDB_OP_QUERY)
		rc = api_sq_query(c->db, sqe);
	else if ((rc = sqe->opcode == AEDB_OP_COMMIT ? sq_commit(c, sqe) : sq_write(c, sqe)) == 0)
		return 1;
	else if (rc == -AEDB_EBUSY)
		return 0;
	ring_client_post(c, sqe->user_data, rc, 0);
	return 1;
}

AEDB_API int aedb_submit(struct aedb_ring *ring)
{
	struct ring_client *c = sq_client(ring);
	int done = 0;

	if (!c)
		return -AEDB_EMISUSE;
	if (__atomic_load_n(&c->db->closing, __ATOMIC_ACQUIRE))
		return -AEDB_ECLOSED;
	c->t_ns = 0;
	while (ring->sq_head != ring->sq_tail) {
		if (c->submitted - c->seen >= c->cq_cap)
			break;
		if (!sq_one(c, &ring->sqes[ring->sq_head & ring->sq_mask]))
			break;
		ring->sq_head++;
		c->submitted++;
		done++;
	}
	if (done == 0 && ring->sq_head != ring->sq_tail)
		return -AEDB_EBUSY;
	return done;
}
