/* SPDX-License-Identifier: MIT */
/*
 * Committing transactions: routing (one shard, or the sequencer for several),
 * the blocking calls, preflight, and the single-operation helpers.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "api/commit.h"
#include "api/kv.h"
#include "shard/kvmap.h"
#include "core/clock.h"
#include "core/hash.h"
#include "shard/shard.h"
#include "txn/eval.h"

#define COMMIT_FRAME_SLACK 64u /* frame and record headers beyond log_bytes */

static int commit_check(struct aedb *db, const struct aedb_txn *t)
{
	if (!db || !t || t->db != db)
		return -AEDB_EMISUSE;
	if (t->nmut == 0)
		return -AEDB_EINVAL;
	if (t->log_bytes + COMMIT_FRAME_SLACK > db->cfg.max_txn_bytes)
		return -AEDB_ETOOBIG;
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
		return -AEDB_EFATAL;
	if (__atomic_load_n(&db->closing, __ATOMIC_ACQUIRE))
		return -AEDB_ECLOSED;
	return 0;
}

/* The shards a commit of @t involves. */
static uint64_t commit_mask(const struct aedb *db, const struct aedb_txn *t)
{
	uint64_t mask = 0;

	for (uint32_t i = 0; i < t->nitems; i++)
		mask |= 1ull << t->items[i].shard;
	if (t->has_idem && db->cfg.idempotency_window)
		mask |= 1ull << t->idem_shard;
	return mask;
}

/*
 * The sequencer: under one lock, give the commit a position and queue its
 * fragments on every participant, so all shards meet cross-shard commits in
 * the same order. A full inbox is waited out (shards always drain); if the
 * instance starts closing meanwhile, the fragments not queued vote no.
 */
static void commit_sequence(struct aedb *db, struct txn_run *run, struct req *frags)
{
	uint64_t mask = run->mask;
	uint32_t k = 0;
	int closed = 0;

	pthread_mutex_lock(&db->seq_lock);
	run->pos = ++db->seq_pos;
	while (mask) {
		uint32_t i = (uint32_t)__builtin_ctzll(mask);
		struct req *f = &frags[k++];

		mask &= mask - 1;
		f->op = REQ_TXN_FRAG;
		f->run = run;
		while (!closed && shard_enqueue_mpsc(&db->shards[i], f) < 0) {
			if (__atomic_load_n(&db->closing, __ATOMIC_ACQUIRE))
				closed = 1;
			else
				sched_yield();
		}
		/* @run may be freed by the last participant once every
		 * fragment is out: only refusals touch it from here. */
		if (closed)
			txn_run_refuse_any(db, run, -AEDB_ECLOSED);
	}
	pthread_mutex_unlock(&db->seq_lock);
}

int api_txn_start(struct aedb *db, const struct aedb_txn *t, struct req *r, uint32_t *shard)
{
	uint64_t mask = commit_mask(db, t);
	uint32_t nparts = (uint32_t)__builtin_popcountll(mask);
	struct txn_run *run;

	if (db->readonly)
		return -AEDB_EREADONLY;
	r->op = REQ_TXN;
	r->txn = t;
	r->finality = (uint8_t)t->finality;
	r->durable_wm = &db->wm.durable;
	r->fail_index = -1;
	r->nparts = nparts;
	if (nparts == 1) {
		*shard = (uint32_t)__builtin_ctzll(mask);
		return 1;
	}
	run = calloc(1, sizeof(*run) + nparts * sizeof(struct req));
	if (!run)
		return -ENOMEM;
	run->txn = t;
	run->req = r;
	run->mask = mask;
	run->nparts = nparts;
	run->votes_left = nparts;
	run->applied_left = nparts;
	txn_verdict_init(&run->verdict);
	commit_sequence(db, run, (struct req *)(run + 1));
	return 0;
}

/* The result of a commit that failed before reaching a shard. */
static void commit_res_fail(struct aedb_commit_result *res, int rc)
{
	(void)rc;
	if (!res)
		return;
	memset(res, 0, sizeof(*res));
	res->failed_index = -1;
}

AEDB_API int aedb_commit(struct aedb *db, struct aedb_txn *t, struct aedb_commit_result *res)
{
	struct req r;
	uint32_t shard = 0;
	int rc = commit_check(db, t);

	if (rc < 0) {
		commit_res_fail(res, rc);
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.txres = res;
	r.wait_state = REQ_WAIT_PENDING;
	r.t_ns = core_now_ns();
	rc = api_txn_start(db, t, &r, &shard);
	if (rc == 1)
		rc = api_submit_wait(db, &r, shard);
	else if (rc == 0) {
		/* As api_submit_wait(): a durable wait sleeps at once. */
		if (r.finality != AEDB_FINALITY_DURABLE)
			r.spin = &db->spin;
		rc = req_wait(&r);
	}
	/* Not completed (never queued): the result is still to fill. */
	if (rc < 0 && __atomic_load_n(&r.wait_state, __ATOMIC_ACQUIRE) != REQ_WAIT_DONE)
		commit_res_fail(res, rc);
	return rc;
}

AEDB_API int aedb_commit_action_envelope(struct aedb *db, struct aedb_txn *t,
					 struct aedb_commit_result *res)
{
	if (db && t && !t->has_idem) {
		commit_res_fail(res, -AEDB_EINVAL);
		return -AEDB_EINVAL;
	}
	return aedb_commit(db, t, res);
}

/* ---- preflight ---- */

struct pf_build {
	struct aedb_preflight *pf;
	uint32_t rcap, ecap;
	size_t bytes_cap, bytes_len;
	uint8_t *bytes;
};

/* Does mutation @m read the key (so a change to it must conflict)? As the
 * reference's plans: sets, deletes, strict subtracts, versioned mutates. */
static int pf_reads(const struct txn_item *m)
{
	if (m->kind != TXN_NUM)
		return 1;
	if (m->flags & AEDB_NUM_EXPECT_VERSION)
		return 1;
	return m->op == AEDB_NUM_SUB && !(m->flags & AEDB_NUM_UNDERFLOW_NOOP);
}

static void pf_lookup(struct aedb *db, const struct catalog *cat, const struct aedb_txn *t,
		      const struct txn_item *it, uint64_t snap, struct txn_cur *cur)
{
	const struct cat_scope *sc = cat_scope_by_id(cat, it->ns);
	/* The entry's own shard: not always hash(ns, key) (index entries of a
	 * non-unique index, foreign-key counts are routed elsewhere). */
	const struct kvmap *m = sc && it->shard < db->nshards
				? __atomic_load_n(&sc->parts[it->shard], __ATOMIC_ACQUIRE) : NULL;
	const struct kv_version *v = m ? kvmap_get_any(m, txn_key(t, it), it->key_len, snap)
				       : NULL;

	memset(cur, 0, sizeof(*cur));
	if (v) {
		cur->present = 1;
		cur->val = v->data;
		cur->len = v->len;
		cur->version = v->seq;
	}
}

/* Evaluate @t against snapshot @snap, in commit order, into @pf. Inside an
 * epoch section. Effects and reads point into @t or into pf-owned copies. */
static int pf_eval(struct aedb *db, const struct aedb_txn *t, uint64_t snap,
		   struct aedb_preflight *pf, struct txn_eff *effs)
{
	const struct catalog *cat = api_catalog_any(db);
	struct txn_verdict v;
	uint32_t ne = 0;

	txn_verdict_init(&v);
	for (uint32_t i = 0; i < t->nitems && !v.err; i++) {
		const struct cat_scope *sc = cat_scope_by_id(cat, t->items[i].ns);

		if (!sc || __atomic_load_n(&sc->dropped, __ATOMIC_ACQUIRE) ||
		    sc->created_seq > snap)
			return txn_kind_is_row(t->items[i].kind) ? -AEDB_ENOTABLE
								 : -AEDB_ENOSCOPE;
	}
	for (int pass = 0; pass < 3 && !v.err; pass++) {
		for (uint32_t i = 0; i < t->nitems && !v.err; i++) {
			const struct txn_item *it = &t->items[i];
			int want = pass == 0 ? it->kind == TXN_READ
				 : pass == 1 ? txn_kind_is_assert(it->kind)
				 : txn_kind_is_mut(it->kind);
			struct txn_cur cur;
			int rc;

			if (!want)
				continue;
			pf_lookup(db, cat, t, it, snap, &cur);
			if (pass < 2) {
				rc = txn_eval_check(t, it, &cur);
			} else {
				/* The read set holds the version at the snapshot,
				 * before this transaction's own earlier writes. */
				if (pf_reads(it)) {
					struct aedb_preflight_read *rd = &pf->reads[pf->nreads++];

					rd->ns = it->ns;
					rd->key = txn_key(t, it);
					rd->key_len = it->key_len;
					rd->version = cur.present ? cur.version : 0;
				}
				for (uint32_t j = ne; j-- > 0;) {
					const struct txn_item *o = effs[j].item;

					if (effs[j].kind != TXN_EFF_NONE && o->ns == it->ns &&
					    o->key_len == it->key_len &&
					    !memcmp(txn_key(t, o), txn_key(t, it), it->key_len)) {
						txn_cur_after(&cur, &effs[j], UINT64_MAX);
						break;
					}
				}
				rc = txn_eval_mut(t, it, &cur, &effs[ne]);
				if (rc == 0)
					ne++;
			}
			if (rc < 0) {
				v.err = rc;
				v.fail_index = (int32_t)it->index;
				v.fail_kind = pass == 0 ? AEDB_FAIL_READ : pass == 1
					    ? AEDB_FAIL_ASSERTION : AEDB_FAIL_MUTATION;
			}
		}
	}
	pf->error = v.err;
	pf->fail_kind = v.fail_kind;
	pf->failed_index = v.fail_index;
	pf->neffects = ne;
	for (uint32_t j = 0; j < ne; j++) {
		struct aedb_preflight_effect *e = &pf->effects[j];

		e->mutation = effs[j].item->index;
		e->kind = effs[j].kind;
		e->ns = effs[j].item->ns;
		e->key = txn_key(t, effs[j].item);
		e->key_len = effs[j].item->key_len;
		e->val_len = effs[j].kind == TXN_EFF_SET ? effs[j].len : 0;
		e->val = NULL;
	}
	return 0;
}

/*
 * The result is one allocation: the struct, the read and effect arrays, and
 * a copy of every key and value they point at, so it outlives @t and the
 * snapshot it was read at.
 */
AEDB_API int aedb_preflight(struct aedb *db, const struct aedb_txn *t,
			    struct aedb_preflight **out)
{
	struct aedb_preflight *pf;
	struct txn_eff *effs;
	ck_epoch_record_t *rec;
	size_t bytes = 0, head;
	uint8_t *p;
	uint64_t snap;
	int rc;

	if (!db || !t || !out || t->db != db)
		return -AEDB_EMISUSE;
	*out = NULL;
	if (t->nmut == 0)
		return -AEDB_EINVAL;
	for (uint32_t i = 0; i < t->nitems; i++)
		if (txn_kind_is_acc(t->items[i].kind))
			return -AEDB_ENOTSUP; /* evaluated on the shards only */
	for (uint32_t i = 0; i < t->nitems; i++)
		if (txn_kind_is_mut(t->items[i].kind))
			bytes += 2ull * t->items[i].key_len + t->items[i].val_len + 32;
	head = sizeof(*pf) + t->nmut * (sizeof(struct aedb_preflight_read) +
					 sizeof(struct aedb_preflight_effect));
	pf = calloc(1, head + bytes);
	effs = calloc(t->nmut, sizeof(*effs));
	if (!pf || !effs) {
		free(pf);
		free(effs);
		return -ENOMEM;
	}
	pf->reads = (struct aedb_preflight_read *)(pf + 1);
	pf->effects = (struct aedb_preflight_effect *)(pf->reads + t->nmut);
	rec = api_reader_record(db);
	if (!rec) {
		free(pf);
		free(effs);
		return -ENOMEM;
	}
	api_read_begin(rec);
	rc = api_snapshot(db, AEDB_AT_LATEST, 0, &snap);
	if (rc == 0)
		rc = pf_eval(db, t, snap, pf, effs);
	/* Copy what the result points at before leaving the section. */
	p = (uint8_t *)pf + head;
	for (uint32_t i = 0; rc == 0 && i < pf->nreads; i++) {
		memcpy(p, pf->reads[i].key, pf->reads[i].key_len);
		pf->reads[i].key = p;
		p += pf->reads[i].key_len;
	}
	for (uint32_t j = 0; rc == 0 && j < pf->neffects; j++) {
		struct aedb_preflight_effect *e = &pf->effects[j];

		memcpy(p, e->key, e->key_len);
		e->key = p;
		p += e->key_len;
		if (e->kind == TXN_EFF_SET) {
			memcpy(p, txn_eff_val(&effs[j]), e->val_len);
			e->val = p;
			p += e->val_len;
		}
	}
	api_read_end(db, rec);
	free(effs);
	if (rc < 0) {
		free(pf);
		return rc;
	}
	pf->snapshot_seq = snap;
	*out = pf;
	return 0;
}

AEDB_API void aedb_preflight_free(struct aedb_preflight *pf)
{
	free(pf);
}

AEDB_API int aedb_commit_with_preflight(struct aedb *db, struct aedb_txn *t,
					struct aedb_commit_result *res)
{
	struct aedb_preflight *pf = NULL;
	struct aedb_txn *c = NULL;
	int rc = aedb_preflight(db, t, &pf);

	if (rc == 0 && pf->error) {
		rc = pf->error;
		if (res) {
			commit_res_fail(res, rc);
			res->fail_kind = pf->fail_kind;
			res->failed_index = pf->failed_index;
		}
	} else if (rc == 0) {
		rc = txn_clone(t, &c);
		for (uint32_t i = 0; rc == 0 && i < pf->nreads; i++)
			rc = txn_add_read_ns(c, pf->reads[i].ns, pf->reads[i].key,
					     pf->reads[i].key_len, pf->reads[i].version);
		if (rc >= 0) {
			c->base_seq = pf->snapshot_seq;
			rc = aedb_commit(db, c, res);
		}
	}
	aedb_txn_free(c);
	aedb_preflight_free(pf);
	return rc;
}

/* ---- one-operation helpers ---- */

static int commit_one(struct aedb *db, struct aedb_txn *t, int rc, uint32_t finality,
		      struct aedb_commit_result *res)
{
	if (rc >= 0)
		rc = aedb_txn_set_finality(t, finality);
	if (rc >= 0)
		rc = aedb_commit(db, t, res);
	else
		commit_res_fail(res, rc);
	aedb_txn_free(t);
	return rc;
}

AEDB_API int aedb_kv_num(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, uint32_t width, uint32_t op,
			 const void *operand_be, uint32_t flags, uint64_t expected_version,
			 uint32_t finality, struct aedb_commit_result *res)
{
	struct aedb_txn *t;
	int rc = aedb_txn_create(db, &t);

	if (rc < 0)
		return rc;
	rc = aedb_txn_kv_num(t, project, scope, key, key_len, width, op, operand_be, flags,
			     expected_version);
	return commit_one(db, t, rc, finality, res);
}

AEDB_API int aedb_kv_compare_and_swap(struct aedb *db, const char *project, const char *scope,
				      const void *key, size_t key_len, const void *val,
				      size_t val_len, uint64_t expected_version,
				      uint32_t finality, struct aedb_commit_result *res)
{
	struct aedb_txn *t;
	int rc = aedb_txn_create(db, &t);

	if (rc < 0)
		return rc;
	rc = aedb_txn_assert_version(t, project, scope, key, key_len, expected_version);
	if (rc >= 0)
		rc = aedb_txn_kv_set(t, project, scope, key, key_len, val, val_len);
	return commit_one(db, t, rc, finality, res);
}

AEDB_API int aedb_counter_add(struct aedb *db, const char *project, const char *scope,
			      const void *key, size_t key_len, uint64_t amount, uint32_t stripes,
			      uint32_t hint, uint32_t finality, struct aedb_commit_result *res)
{
	struct aedb_txn *t;
	int rc = aedb_txn_create(db, &t);

	if (rc < 0)
		return rc;
	rc = aedb_txn_counter_add(t, project, scope, key, key_len, amount, stripes, hint);
	return commit_one(db, t, rc, finality, res);
}

AEDB_API int aedb_counter_read(struct aedb *db, const char *project, const char *scope,
			       const void *key, size_t key_len, uint32_t stripes,
			       struct aedb_at at, uint64_t *sum)
{
	size_t plen = sizeof(TXN_COUNTER_PREFIX) - 1;
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	uint64_t snap, total = 0;
	uint8_t *k;
	int rc;

	if (!sum || (!key && key_len))
		return -AEDB_EMISUSE;
	if (stripes < 1 || stripes > TXN_STRIPES_MAX)
		return -AEDB_EINVAL;
	if (db && key_len > db->cfg.max_key_bytes)
		return -AEDB_ETOOBIG;
	k = malloc(plen + 6 + key_len);
	if (!k)
		return -ENOMEM;
	rc = api_read_prepare(db, project, scope, at, &rec, &sc, &snap);
	if (rc < 0) {
		free(k);
		return rc;
	}
	txn_counter_key(k, key, key_len, 0);
	for (uint32_t i = 0; rc == 0 && i < stripes; i++) {
		const struct kv_version *v;
		uint64_t x = 0;

		k[plen + 4 + key_len] = (uint8_t)(i >> 8);
		k[plen + 5 + key_len] = (uint8_t)i;
		v = api_kv_lookup(db, sc, k, (uint32_t)(plen + 6 + key_len), snap);
		if (!v)
			continue;
		if (v->len != 8) {
			rc = -AEDB_ETYPE;
			break;
		}
		for (int b = 0; b < 8; b++)
			x = x << 8 | v->data[b];
		if (total + x < total)
			rc = -AEDB_EOVERFLOW;
		total += x;
	}
	api_read_end(db, rec);
	free(k);
	if (rc == 0)
		*sum = total;
	return rc;
}
