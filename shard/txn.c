/* SPDX-License-Identifier: MIT */
/*
 * Transactions on a shard (DESIGN §5).
 *
 * Single-shard: a REQ_TXN is evaluated against the shard's newest state (it
 * is the only writer) and, if every check passes, committed at one freshly
 * allocated seq as one log frame. Nothing is allocated for a failure.
 *
 * Cross-shard, two-phase apply. The submitter (api/commit.c) takes the
 * sequencer lock and queues one REQ_TXN_FRAG per participant, so every shard
 * meets cross-shard fragments in the same order. A participant reaching its
 * fragment:
 *   prepare - waits if any of its keys is locked, else evaluates its part,
 *             and if that passes locks the keys, keeps the evaluated writes,
 *             and *pins* its vis_lo/dur_lo at the counter's current value
 *             (wm_hold), so V and D cannot pass the seq still to come;
 *   vote    - merges its verdict into the shared txn_run and decrements the
 *             vote count. The participant that votes last decides: on any
 *             failure ABORT; else it marks the run ALLOC, takes one seq from
 *             the global counter and publishes it, and rings the others.
 *   apply   - each participant, seeing the seq, applies its writes at it,
 *             logs them as a TXN frame that names the participant count,
 *             unlocks and unpins. The last one completes the caller.
 * No deadlock: a fragment only ever waits for locks of fragments queued
 * before it, and those were queued before it on every shard they share.
 *
 * Log order. Each shard's log must ascend in seq. A participant keeps
 * committing its own single-shard work while prepared, so before it logs a
 * block starting at `base` it applies every decided fragment whose seq is
 * below `base` (shard_txn_resolve). A run still OPEN when read after the
 * block's allocation can only get a larger seq: the decider marks ALLOC
 * before it allocates, and all of these accesses are sequentially consistent.
 *
 * Recovery (wal/recover.c) keeps a cross-shard commit only if all `parts`
 * TXN frames of its seq are in the logs, so it is on all participants or on
 * none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/tsan.h"
#include "io/fault.h"
#include "ring/mesh.h"
#include "shard/acc.h"
#include "shard/ddl.h"
#include "shard/shard.h"
#include "txn/eval.h"
#include "txn/index.h"

/* ---- key locks: an open-addressing multiset of lock hashes ---- */

static int lk_grow(struct txn_locks *l)
{
	uint32_t ocap = l->cap, ncap = l->cap ? l->cap * 2 : 256;
	uint64_t *ok = l->keys, *nk = calloc(ncap, sizeof(*nk));
	uint32_t *oc = l->cnt, *nc = calloc(ncap, sizeof(*nc));

	if (!nk || !nc) {
		free(nk);
		free(nc);
		return -ENOMEM;
	}
	l->keys = nk;
	l->cnt = nc;
	l->cap = ncap;
	for (uint32_t i = 0; i < ocap; i++) {
		uint32_t j;

		if (!ok[i])
			continue;
		for (j = (uint32_t)ok[i] & (ncap - 1); nk[j]; j = (j + 1) & (ncap - 1))
			;
		nk[j] = ok[i];
		nc[j] = oc[i];
	}
	free(ok);
	free(oc);
	return 0;
}

static uint32_t lk_find(const struct txn_locks *l, uint64_t h)
{
	uint32_t i;

	if (!l->cap)
		return UINT32_MAX;
	for (i = (uint32_t)h & (l->cap - 1); l->keys[i]; i = (i + 1) & (l->cap - 1))
		if (l->keys[i] == h)
			return i;
	return UINT32_MAX;
}

static int lk_held(const struct txn_locks *l, uint64_t h)
{
	return l->used && lk_find(l, h) != UINT32_MAX;
}

/* Room for @n more keys, so that the takes that follow cannot fail. */
static int lk_reserve(struct txn_locks *l, uint32_t n)
{
	while ((uint64_t)(l->used + n) * 2 > l->cap)
		if (lk_grow(l) < 0)
			return -ENOMEM;
	return 0;
}

static void lk_take(struct txn_locks *l, uint64_t h)
{
	uint32_t i = lk_find(l, h);

	if (i != UINT32_MAX) {
		l->cnt[i]++;
		return;
	}
	AEDB_ASSERT((l->used + 1) * 2 <= l->cap);
	for (i = (uint32_t)h & (l->cap - 1); l->keys[i]; i = (i + 1) & (l->cap - 1))
		;
	l->keys[i] = h;
	l->cnt[i] = 1;
	l->used++;
}

static void lk_drop(struct txn_locks *l, uint64_t h)
{
	uint32_t i = lk_find(l, h), j, mask = l->cap - 1;

	AEDB_ASSERT(i != UINT32_MAX);
	if (--l->cnt[i])
		return;
	l->keys[i] = 0;
	l->used--;
	/* Backward-shift deletion keeps probe runs unbroken. */
	for (j = (i + 1) & mask; l->keys[j]; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)l->keys[j] & mask;

		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			l->keys[i] = l->keys[j];
			l->cnt[i] = l->cnt[j];
			l->keys[j] = 0;
			i = j;
		}
	}
}

void shard_txn_init(struct shard *s)
{
	s->pin = UINT64_MAX;
	wal_batch_init(&s->tbatch);
	idem_init(&s->idem);
}

void shard_txn_fini(struct shard *s)
{
	AEDB_ASSERT(!s->held && !s->blk_head);
	free(s->locks.keys);
	free(s->locks.cnt);
	memset(&s->locks, 0, sizeof(s->locks));
	wal_batch_free(&s->tbatch);
	idem_free(&s->idem);
}

/* ---- which of a request's keys live here ---- */

static const struct aedb_txn *txn_of(const struct req *r)
{
	return r->op == REQ_TXN_FRAG ? r->run->txn : r->txn;
}

static int txn_idem_here(const struct shard *s, const struct aedb_txn *t)
{
	return t->has_idem && s->db->cfg.idempotency_window && t->idem_shard == s->id;
}

/* Apply @fn to every lock hash request @r needs on this shard; stops at the
 * first non-zero return. */
static int req_each_lock(const struct shard *s, const struct req *r,
			 int (*fn)(struct txn_locks *, uint64_t), struct txn_locks *l)
{
	const struct aedb_txn *t;
	int rc;

	if (r->op == REQ_KV_SET || r->op == REQ_KV_DEL)
		return fn(l, txn_lock_hash(r->ns, r->key, r->key_len));
	t = txn_of(r);
	for (uint32_t i = 0; i < t->nitems; i++)
		if (t->items[i].shard == s->id && (rc = fn(l, t->items[i].lock_hash)))
			return rc;
	return txn_idem_here(s, t) ? fn(l, t->idem_hash) : 0;
}

static int lk_held_cb(struct txn_locks *l, uint64_t h)
{
	return lk_held(l, h);
}

static int lk_take_cb(struct txn_locks *l, uint64_t h)
{
	lk_take(l, h);
	return 0;
}

static int lk_count_cb(struct txn_locks *l, uint64_t h)
{
	(void)h;
	l->pending++;
	return 0;
}

/* Take every lock @r needs here. 0 or -ENOMEM (nothing taken). */
static int req_lock(struct shard *s, const struct req *r)
{
	s->locks.pending = 0;
	req_each_lock(s, r, lk_count_cb, &s->locks);
	if (lk_reserve(&s->locks, s->locks.pending) < 0)
		return -ENOMEM;
	req_each_lock(s, r, lk_take_cb, &s->locks);
	return 0;
}

static int lk_drop_cb(struct txn_locks *l, uint64_t h)
{
	lk_drop(l, h);
	return 0;
}

/* If any key of @r is locked, park @r (taking waiter locks on its keys, so
 * later requests on them queue behind it) and return 1. */
static int shard_txn_park(struct shard *s, struct req *r)
{
	if (!s->locks.used || !req_each_lock(s, r, lk_held_cb, &s->locks))
		return 0;
	if (req_lock(s, r) < 0)
		return -ENOMEM; /* the request fails; nothing of it was applied */
	r->next = NULL;
	if (s->blk_tail)
		s->blk_tail->next = r;
	else
		s->blk_head = r;
	s->blk_tail = r;
	return 1;
}

int shard_txn_park_plain(struct shard *s, struct req *r)
{
	int rc = shard_txn_park(s, r);

	if (rc < 0) {
		req_complete(r, -ENOMEM);
		return 1;
	}
	return rc;
}

/* ---- evaluation ---- */

struct txn_part {
	struct txn_eff *effs;
	uint32_t neffs;
	struct txn_verdict v;
};

static void txn_fail(struct txn_verdict *v, int err, const struct txn_item *it)
{
	v->err = err;
	v->fail_index = it ? (int32_t)it->index : -1;
	v->fail_kind = !it ? AEDB_FAIL_NONE
		     : txn_kind_is_mut(it->kind) ? AEDB_FAIL_MUTATION
		     : txn_kind_is_assert(it->kind) ? AEDB_FAIL_ASSERTION : AEDB_FAIL_READ;
}

/* The error of an entry whose namespace is gone (@sc NULL), being dropped
 * (@dropped, as loaded once by the caller) or newer than the round's
 * catalog: a table marked busy (an index being built or dropped) or whose
 * index set changed since the round began (txn_ns_stale; a retry sees the
 * new catalog) is -AEDB_EBUSY; an index that is gone means the entry is
 * stale (-AEDB_ECONFLICT). */
static int txn_ns_error(const struct cat_scope *sc, uint32_t dropped, const struct txn_item *it)
{
	if (sc && !dropped)
		return -AEDB_EBUSY; /* stale */
	/* A reference count whose foreign key (its child table) is gone or
	 * going: the entry is stale, as for an index (build it again). */
	if (txn_kind_is_idx(it->kind) || (txn_kind_is_fk(it->kind) && it->kind != TXN_FK_REQ))
		return -AEDB_ECONFLICT;
	/* So is a foreign-key action's row (txn/fk.c) whose child table went:
	 * built again, the delete no longer has that action to take. */
	if ((it->kind == TXN_ROW_PUT || it->kind == TXN_ROW_DEL) && it->op == TXN_OP_GUARD)
		return -AEDB_ECONFLICT;
	if (!txn_kind_is_row(it->kind) && !txn_kind_is_fk(it->kind))
		return -AEDB_ENOSCOPE;
	return dropped == CAT_BUSY ? -AEDB_EBUSY : -AEDB_ENOTABLE;
}

/* The round's catalog @cat predates @sc's index set: an index DDL committed
 * and cleared the table's mark after the round began, so @cat cannot check
 * the row entries' index digests (txn_ix_check). */
static int txn_ns_stale(const struct catalog *cat, const struct cat_scope *sc)
{
	return __atomic_load_n(&sc->ixseq, __ATOMIC_ACQUIRE) > cat->seq;
}

static void txn_lookup(struct shard *s, const struct catalog *cat, const struct txn_item *it,
		       const struct aedb_txn *t, struct txn_cur *cur)
{
	const struct cat_scope *sc = cat_scope_by_id(cat, it->ns);
	const struct kvmap *m = sc ? sc->parts[s->id] : NULL;
	const struct kv_version *ver = m ? kvmap_get_any(m, txn_key(t, it), it->key_len,
							 UINT64_MAX) : NULL;

	memset(cur, 0, sizeof(*cur));
	if (ver) {
		cur->present = 1;
		cur->val = ver->data;
		cur->len = ver->len;
		cur->version = ver->seq;
	}
}

static int txn_same_key(const struct aedb_txn *t, const struct txn_item *a,
			const struct txn_item *b)
{
	return a->lock_hash == b->lock_hash && a->ns == b->ns && a->key_len == b->key_len &&
	       memcmp(txn_key(t, a), txn_key(t, b), a->key_len) == 0;
}

static void txn_eval_muts(struct shard *s, const struct catalog *cat,
			  const struct aedb_txn *t, struct txn_part *p);

/* The newest effect on @it's key among @p's effects (index+1 in an
 * open-addressing table of @cap slots), or NULL; with @insert, record
 * effect @idx as the newest. */
static struct txn_eff *txn_same_key_eff(const struct aedb_txn *t, struct txn_part *p,
					uint32_t *tab, uint32_t cap, const struct txn_item *it,
					uint32_t idx)
{
	uint32_t i = (uint32_t)it->lock_hash & (cap - 1);

	for (; tab[i]; i = (i + 1) & (cap - 1)) {
		struct txn_eff *e = &p->effs[tab[i] - 1];

		if (txn_same_key(t, e->item, it)) {
			if (idx != UINT32_MAX)
				tab[i] = idx + 1;
			return e;
		}
	}
	if (idx != UINT32_MAX)
		tab[i] = idx + 1;
	return NULL;
}

/*
 * Evaluate this shard's entries of @t in the order a commit defines:
 * idempotency, read set, assertions, then mutations against the state the
 * earlier ones leave. On success p->effs holds one effect per mutation here.
 */
static void txn_eval_part(struct shard *s, const struct catalog *cat, const struct aedb_txn *t,
			  struct txn_part *p)
{
	uint64_t dup;

	memset(p, 0, sizeof(*p));
	txn_verdict_init(&p->v);
	if (__atomic_load_n(&s->db->fatal, __ATOMIC_ACQUIRE)) {
		txn_fail(&p->v, -AEDB_EFATAL, NULL);
		return;
	}
	for (uint32_t i = 0; i < t->nitems; i++) {
		const struct txn_item *it = &t->items[i];
		const struct cat_scope *sc;
		uint32_t dropped;

		if (it->shard != s->id)
			continue;
		sc = cat_scope_by_id(cat, it->ns);
		dropped = sc ? __atomic_load_n(&sc->dropped, __ATOMIC_ACQUIRE) : 0;
		if (!sc || dropped || txn_ns_stale(cat, sc)) {
			txn_fail(&p->v, txn_ns_error(sc, dropped, it), it);
			return;
		}
	}
	if (txn_idem_here(s, t) && (dup = idem_get(&s->idem, t->idem))) {
		p->v.duplicate = 1;
		p->v.dup_seq = dup;
		return;
	}
	/* Reads, then assertions: both see the state before any mutation. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < t->nitems; i++) {
			const struct txn_item *it = &t->items[i];
			struct txn_cur cur;
			int rc;

			if (it->shard != s->id || txn_kind_is_mut(it->kind) ||
			    (it->kind == TXN_READ) != (pass == 0))
				continue;
			txn_lookup(s, cat, it, t, &cur);
			rc = txn_eval_check(t, it, &cur);
			if (rc < 0) {
				txn_fail(&p->v, rc, it);
				return;
			}
		}
	}
	txn_eval_muts(s, cat, t, p);
}

/* Mutations in order; each sees the effects of earlier ones on its key. */
static void txn_eval_muts(struct shard *s, const struct catalog *cat, const struct aedb_txn *t,
			  struct txn_part *p)
{
	uint32_t cap = 16, *tab;

	while (cap < 2 * t->nmut)
		cap *= 2;
	tab = calloc(cap, sizeof(*tab));
	p->effs = malloc((t->nmut + 2 * t->nacc) * sizeof(*p->effs));
	if (!tab || !p->effs) {
		free(tab);
		txn_fail(&p->v, -ENOMEM, NULL);
		return;
	}
	for (uint32_t i = 0; i < t->nitems; i++) {
		const struct txn_item *it = &t->items[i];
		struct txn_eff *e = &p->effs[p->neffs], *prev;
		struct txn_cur cur;
		int rc;

		if (it->shard != s->id || !txn_kind_is_mut(it->kind))
			continue;
		if (txn_kind_is_acc(it->kind)) {
			uint64_t dup = 0;

			rc = shard_acc_eval(s, cat, t, it, p->effs, &p->neffs, &dup);
			if (rc == 1) {
				/* A repeated delta: the whole commit is a
				 * duplicate (wins over any other vote). */
				p->v.duplicate = 1;
				p->v.dup_seq = dup;
				break;
			}
			if (rc < 0) {
				txn_fail(&p->v, rc, it);
				break;
			}
			continue;
		}
		prev = txn_same_key_eff(t, p, tab, cap, it, UINT32_MAX);
		/* Find the newest earlier write: a no-op effect changes
		 * nothing, so look through it to the state before. */
		if (prev && prev->kind != TXN_EFF_NONE) {
			cur.present = 0;
			txn_cur_after(&cur, prev, UINT64_MAX);
		} else {
			txn_lookup(s, cat, it, t, &cur);
		}
		rc = txn_eval_mut(t, it, &cur, e);
		if (rc == 0 && txn_kind_is_row(it->kind))
			rc = txn_ix_check(t, cat, it, &cur, s->db->cfg.max_key_bytes);
		if (rc < 0) {
			txn_fail(&p->v, rc, it);
			break;
		}
		if (e->kind == TXN_EFF_NONE)
			continue; /* keep no record of it: nothing to write */
		if (prev) {
			prev->superseded = 1;
			e->fresh = prev->kind == TXN_EFF_DEL || prev->fresh;
		}
		txn_same_key_eff(t, p, tab, cap, it, p->neffs);
		p->neffs++;
	}
	free(tab);
}

/* ---- applying ---- */

/*
 * Encode the part's writes (and its idempotency key) at @seq as one frame
 * and apply them from the encoded records, as recovery will. @parts: 0 for a
 * single-shard commit, else the participant count.
 */
static void txn_apply_part(struct shard *s, const struct catalog *cat, const struct aedb_txn *t,
			   const struct txn_part *p, uint64_t seq, uint16_t parts)
{
	struct wal_batch *b = &s->tbatch;
	int rc = 0;

	wal_batch_reset(b);
	for (uint32_t i = 0; rc == 0 && i < p->neffs; i++) {
		const struct txn_eff *e = &p->effs[i];
		uint32_t klen;
		const uint8_t *key = txn_eff_key(t, e, &klen);
		struct wal_rec rec = {
			.type = e->kind == TXN_EFF_SET ? WAL_REC_KV_SET : WAL_REC_KV_DEL,
			.ns = e->item->ns, .seq = seq,
			.key = key, .key_len = klen,
			.val = txn_eff_val(e), .val_len = e->kind == TXN_EFF_SET ? e->len : 0,
			.flags = e->kind == TXN_EFF_SET && e->fresh ? WAL_REC_F_FRESH : 0,
		};

		if (e->kind != TXN_EFF_NONE && !e->superseded && wal_batch_append(b, &rec) < 0)
			rc = -ENOMEM;
	}
	if (rc == 0 && txn_idem_here(s, t)) {
		struct wal_rec rec = { .type = WAL_REC_IDEM, .seq = seq, .key = t->idem,
				       .key_len = 16 };

		if (wal_batch_append(b, &rec) < 0)
			rc = -ENOMEM;
	}
	if (rc == 0 && b->count == 0) {
		/* Nothing to write here (a no-op, or only checks): the seq
		 * must still be in this log for recovery's prefix rule. */
		struct wal_rec rec = { .type = WAL_REC_NOP, .seq = seq };

		if (wal_batch_append(b, &rec) < 0)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		/* Cannot even log it: latch; nothing was applied here. */
		shard_wal_progress(s, rc);
		return;
	}
	for (size_t off = 0; off < b->len;) {
		struct wal_rec rec;
		long n = wal_rec_decode(b->buf, b->len, off, &rec);

		AEDB_ASSERT(n > 0);
		off += (size_t)n;
		if (rec.type == WAL_REC_IDEM)
			rc = idem_put(&s->idem, rec.key, seq);
		else if (rec.type != WAL_REC_NOP)
			rc = shard_apply_rec(s, (struct cat_scope *)cat_scope_by_id(cat, rec.ns),
					     &rec);
		if (rc < 0) {
			/* The frame is the truth: latch, and recovery applies
			 * all of it. */
			shard_wal_progress(s, rc);
			rc = 0;
		}
	}
	/* No progress call on success: inside a round a block may be
	 * allocated but not logged yet, and dur_lo must stay below it. */
	rc = wal_log_append(&s->wal, b->buf, (uint32_t)b->len, seq, 1, parts);
	if (rc < 0)
		shard_wal_progress(s, rc);
	wal_batch_reset(b);
}

static void txn_part_free(struct txn_part *p)
{
	free(p->effs);
	p->effs = NULL;
}

/* Fill the caller-visible outcome of @r. */
static void txn_req_outcome(struct req *r, const struct txn_verdict *v, uint32_t nparts)
{
	r->fail_kind = v->fail_kind;
	r->fail_index = v->fail_index;
	r->nparts = nparts;
}

/* ---- single-shard ---- */

static void txn_local(struct shard *s, const struct catalog *cat, struct req *r)
{
	struct aedb *db = s->db;
	struct txn_part p;
	uint64_t seq, v;

	txn_eval_part(s, cat, r->txn, &p);
	txn_req_outcome(r, &p.v, 1);
	if (p.v.duplicate || p.v.err) {
		txn_part_free(&p);
		if (p.v.err) {
			r->res = p.v.err;
			shard_finish(s, r, 0);
			return;
		}
		r->seq = p.v.dup_seq;
		r->res = AEDB_COMMIT_DUPLICATE;
		shard_finish(s, r, wm_visible_any(&db->wm));
		return;
	}
	seq = wm_alloc(&db->wm, s->id, 1);
	if (s->held)
		shard_txn_resolve(s, seq);
	txn_apply_part(s, cat, r->txn, &p, seq, 0);
	txn_part_free(&p);
	shard_wal_progress(s, 0);
	v = wm_publish(&db->wm, s->id, s->pin);
	__atomic_store_n(&s->commits, s->commits + 1, __ATOMIC_RELAXED);
	shard_wake_vis_waiters(s);
	r->seq = seq;
	r->res = AEDB_COMMIT_APPLIED;
	shard_finish(s, r, v);
}

/* ---- cross-shard ---- */

static void run_lock(struct txn_run *run)
{
	while (__atomic_exchange_n(&run->lock, 1, __ATOMIC_ACQUIRE))
		core_cpu_relax();
}

static void run_unlock(struct txn_run *run)
{
	__atomic_store_n(&run->lock, 0, __ATOMIC_RELEASE);
}

/* This participant is finished with @run (applied at @seq, or dropped). The
 * last one completes the caller and frees the run. */
static void txn_run_done(struct shard *s, struct txn_run *run, uint64_t seq)
{
	struct req *r;

	if (__atomic_sub_fetch(&run->applied_left, 1, __ATOMIC_ACQ_REL))
		return;
	r = run->req;
	txn_req_outcome(r, &run->verdict, run->nparts);
	if (seq != TXN_SEQ_ABORT) {
		r->seq = seq;
		r->res = AEDB_COMMIT_APPLIED;
	} else if (run->verdict.duplicate) {
		r->seq = run->verdict.dup_seq;
		r->res = AEDB_COMMIT_DUPLICATE;
	} else {
		r->res = run->verdict.err;
	}
	free(run);
	shard_finish(s, r, wm_visible_any(&s->db->wm));
}

/* The last vote is in: decide, and ring the other participants. */
static void txn_decide(struct shard *s, struct txn_run *run)
{
	struct aedb *db = s->db;

	if (run->verdict.err || run->verdict.duplicate) {
		__atomic_store_n(&run->seq, TXN_SEQ_ABORT, __ATOMIC_SEQ_CST);
	} else {
		/* Every participant pinned V and D below the counter before it
		 * voted, so the seq taken here stays invisible until all of
		 * them applied it. ALLOC first: see "Log order" above. */
		__atomic_store_n(&run->seq, TXN_SEQ_ALLOC, __ATOMIC_SEQ_CST);
		__atomic_store_n(&run->seq, __atomic_fetch_add(&db->wm.next_seq, 1,
							       __ATOMIC_SEQ_CST),
				 __ATOMIC_SEQ_CST);
		__atomic_store_n(&s->commits, s->commits + 1, __ATOMIC_RELAXED);
	}
	shard_wake_mask_any(db, run->mask & ~(1ull << s->id));
}

static void txn_vote(struct shard *s, struct txn_run *run, const struct txn_verdict *v)
{
	if (v->err || v->duplicate) {
		run_lock(run);
		txn_verdict_merge(&run->verdict, v);
		run_unlock(run);
	}
	if (__atomic_sub_fetch(&run->votes_left, 1, __ATOMIC_SEQ_CST) == 0)
		txn_decide(s, run);
}

static void txn_prepare(struct shard *s, const struct catalog *cat, struct req *r)
{
	struct txn_run *run = r->run;
	struct txn_frag *f = NULL, **tail;
	struct txn_part p;

	txn_eval_part(s, cat, run->txn, &p);
	if (!p.v.err && !p.v.duplicate) {
		f = calloc(1, sizeof(*f));
		if (!f || req_lock(s, r) < 0) {
			free(f);
			f = NULL;
			txn_fail(&p.v, -ENOMEM, NULL);
		}
	}
	if (f) {
		f->run = run;
		f->effs = p.effs;
		f->neffs = p.neffs;
		f->pin = wm_hold(&s->db->wm, s->id);
		if (f->pin < s->pin)
			s->pin = f->pin;
		for (tail = &s->held; *tail; tail = &(*tail)->next)
			;
		*tail = f;
	} else {
		txn_part_free(&p);
	}
	if (f)
		io_fault_kill_point(IO_KILL_TXN_PREPARED);
	/* After the vote @run may be decided and, for a no, freed by others
	 * once we drop it: touch it only through our own reference. */
	txn_vote(s, run, &p.v);
	if (!f)
		txn_run_done(s, run, TXN_SEQ_ABORT);
}

void shard_txn_refuse(struct shard *s, struct req *r, int err)
{
	struct txn_verdict v;

	txn_verdict_init(&v);
	v.err = err;
	txn_vote(s, r->run, &v);
	txn_run_done(s, r->run, TXN_SEQ_ABORT);
}

void shard_txn_admit(struct shard *s, const struct catalog *cat, struct req *r)
{
	int rc = shard_txn_park(s, r);

	if (rc > 0)
		return;
	if (rc < 0) {
		if (r->op == REQ_TXN_FRAG)
			shard_txn_refuse(s, r, rc);
		else
			req_complete(r, rc);
		return;
	}
	if (r->op == REQ_TXN)
		txn_local(s, cat, r);
	else
		txn_prepare(s, cat, r);
}

static void txn_frag_release(struct shard *s, struct txn_frag *f)
{
	const struct aedb_txn *t = f->run->txn;

	for (uint32_t i = 0; i < t->nitems; i++)
		if (t->items[i].shard == s->id)
			lk_drop(&s->locks, t->items[i].lock_hash);
	if (txn_idem_here(s, t))
		lk_drop(&s->locks, t->idem_hash);
	s->unblock_due = 1;
}

static uint64_t txn_frag_seq(const struct txn_frag *f)
{
	uint64_t seq = __atomic_load_n(&f->run->seq, __ATOMIC_SEQ_CST);

	while (seq == TXN_SEQ_ALLOC) {
		core_cpu_relax();
		seq = __atomic_load_n(&f->run->seq, __ATOMIC_SEQ_CST);
	}
	return seq;
}

/* Unlink @f from the held list, apply it at @seq (unless aborted) and let
 * its run go. */
static void txn_frag_finish(struct shard *s, struct txn_frag **pp, struct txn_frag *f,
			    uint64_t seq)
{
	struct txn_run *run = f->run;

	*pp = f->next;
	if (seq != TXN_SEQ_ABORT) {
		struct txn_part p = { .effs = f->effs, .neffs = f->neffs };

		txn_apply_part(s, api_catalog_any(s->db), run->txn, &p, seq,
			       (uint16_t)run->nparts);
	}
	txn_frag_release(s, f);
	free(f->effs);
	free(f);
	txn_run_done(s, run, seq);
}

/*
 * Held fragments arrive in sequencer order but may be decided in any order,
 * so apply the decided ones by ascending seq: each pass takes the smallest
 * decided seq below @below (aborts go at once). A fragment seen OPEN during
 * a pass gets its seq after that sighting, so at or above the counter's
 * value read before the pass: only decided seqs below that value are safe
 * to apply now; the others wait for a later pass.
 */
uint32_t shard_txn_resolve(struct shard *s, uint64_t below)
{
	uint32_t n = 0;

	for (;;) {
		uint64_t next = __atomic_load_n(&s->db->wm.next_seq, __ATOMIC_SEQ_CST);
		uint64_t lim = below < next ? below : next, best = UINT64_MAX;
		struct txn_frag **pp, **best_pp = NULL, *f;

		for (pp = &s->held; (f = *pp);) {
			uint64_t seq = txn_frag_seq(f);

			if (seq == TXN_SEQ_ABORT) {
				txn_frag_finish(s, pp, f, seq);
				n++;
				continue;
			}
			if (seq != TXN_SEQ_OPEN && seq < lim && seq < best) {
				best = seq;
				best_pp = pp;
			}
			pp = &f->next;
		}
		if (!best_pp)
			break;
		txn_frag_finish(s, best_pp, *best_pp, best);
		n++;
	}
	if (n)
		shard_pin_update(s);
	return n;
}

void shard_pin_update(struct shard *s)
{
	s->pin = s->ddl.pin ? s->ddl.pin : UINT64_MAX;
	for (const struct txn_frag *f = s->held; f; f = f->next)
		if (f->pin < s->pin)
			s->pin = f->pin;
}

int shard_txn_has_work(const struct shard *s)
{
	for (const struct txn_frag *f = s->held; f; f = f->next)
		if (__atomic_load_n(&f->run->seq, __ATOMIC_ACQUIRE) != TXN_SEQ_OPEN)
			return 1;
	return s->unblock_due || s->fence_pending;
}

/* Retry every waiting request, in arrival order, through a normal round. */
static uint32_t txn_unblock(struct shard *s)
{
	struct req *list = s->blk_head, *r;
	uint32_t n = 0, total = 0, max = s->db->cfg.batch_max;

	s->unblock_due = 0;
	s->blk_head = s->blk_tail = NULL;
	for (r = list; r; r = r->next)
		req_each_lock(s, r, lk_drop_cb, &s->locks);
	while (list) {
		r = list;
		list = r->next;
		s->round[n++] = r;
		if (n == max || !list) {
			shard_apply_round(s, s->round, n);
			total += n;
			n = 0;
		}
	}
	return total;
}

/* A held fragment writes to a scope being dropped: the drop must wait. */
static int txn_held_touches_dropped(const struct shard *s)
{
	const struct catalog *cat = api_catalog_any(s->db);

	for (const struct txn_frag *f = s->held; f; f = f->next) {
		const struct aedb_txn *t = f->run->txn;

		for (uint32_t i = 0; i < t->nitems; i++) {
			const struct cat_scope *sc = cat_scope_by_id(cat, t->items[i].ns);

			if (t->items[i].shard == s->id &&
			    (!sc || __atomic_load_n(&sc->dropped, __ATOMIC_ACQUIRE)))
				return 1;
		}
	}
	return 0;
}

uint32_t shard_txn_step(struct shard *s)
{
	uint32_t n = 0;

	if (s->held) {
		ck_epoch_begin(&s->erec, NULL);
		n = shard_txn_resolve(s, UINT64_MAX);
		CORE_TSAN_RELEASE(&s->db->epoch); /* catalog frees acquire it */
		ck_epoch_end(&s->erec, NULL);
		if (n) {
			shard_wal_progress(s, 0);
			wm_publish(&s->db->wm, s->id, s->pin);
			shard_wake_vis_waiters(s);
		}
	}
	if (s->unblock_due)
		n += txn_unblock(s);
	if (s->fence_pending) {
		ck_epoch_begin(&s->erec, NULL);
		if (!txn_held_touches_dropped(s)) {
			s->fence_pending = 0;
			shard_ddl_fence_reply(s, &s->fence);
			n++;
		}
		CORE_TSAN_RELEASE(&s->db->epoch);
		ck_epoch_end(&s->erec, NULL);
	}
	return n;
}

int shard_txn_fence_must_wait(struct shard *s)
{
	int rc;

	ck_epoch_begin(&s->erec, NULL);
	rc = txn_held_touches_dropped(s);
	CORE_TSAN_RELEASE(&s->db->epoch);
	ck_epoch_end(&s->erec, NULL);
	return rc;
}

void shard_txn_expire(struct shard *s, uint64_t v)
{
	uint32_t w = s->db->cfg.idempotency_window;

	if (s->idem.flen && v > w)
		idem_expire(&s->idem, v - w);
}

void txn_run_refuse_any(struct aedb *db, struct txn_run *run, int err)
{
	struct txn_verdict v;
	struct req *r;

	txn_verdict_init(&v);
	v.err = err;
	run_lock(run);
	txn_verdict_merge(&run->verdict, &v);
	run_unlock(run);
	if (__atomic_sub_fetch(&run->votes_left, 1, __ATOMIC_SEQ_CST) == 0) {
		__atomic_store_n(&run->seq, TXN_SEQ_ABORT, __ATOMIC_SEQ_CST);
		shard_wake_mask_any(db, run->mask);
	}
	if (__atomic_sub_fetch(&run->applied_left, 1, __ATOMIC_ACQ_REL))
		return;
	r = run->req;
	txn_req_outcome(r, &run->verdict, run->nparts);
	err = run->verdict.duplicate ? AEDB_COMMIT_DUPLICATE : run->verdict.err;
	r->seq = run->verdict.dup_seq;
	free(run);
	req_complete(r, err);
}
