/* SPDX-License-Identifier: MIT */
/*
 * Accumulator entries on the shards. Every piece of state is a versioned
 * entry in the accumulator's namespace (acc/acc.h), written through the
 * normal effect path of shard/txn.c, so a delta, an exposure or a release is
 * logged, recovered and read at a snapshot like any KV write.
 *
 * Exactly once. A delta's dedupe record and its order lane live on the
 * delta's own shard, their only writer, and an accumulator's deltas on one
 * shard all take the lock of its partial: so the dedupe check, the order
 * check and the partial's read-modify-write see every earlier delta there,
 * also while a cross-shard settlement is prepared. A refused commit writes
 * nothing, so it leaves no trace (no burnt order key).
 *
 * The circuit breaker runs on the home shard, under the ledger lock every
 * exposure and release of the accumulator takes: E is the sum of the open,
 * unexpired exposures in the home shard's newest state (it is their only
 * writer), V the reduction of all partials at the visible head.
 */
#include "shard/acc.h"

#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "core/clock.h"
#include "core/hash.h"
#include "shard/kvmap.h"
#include "shard/shard.h"

static const uint8_t acc_key_partial[1] = { ACC_K_PARTIAL };
static const uint8_t acc_key_ledger[1] = { ACC_K_LEDGER };
/* Lane record keys, static: an effect's key must outlive the evaluation. */
#define ACC_LK(i) { ACC_K_LANE, (i) }
#define ACC_LK8(i) ACC_LK(i), ACC_LK(i + 1), ACC_LK(i + 2), ACC_LK(i + 3), \
	ACC_LK(i + 4), ACC_LK(i + 5), ACC_LK(i + 6), ACC_LK(i + 7)
static const uint8_t acc_key_lanes[ACC_LANES][2] = {
	ACC_LK8(0), ACC_LK8(8), ACC_LK8(16), ACC_LK8(24),
	ACC_LK8(32), ACC_LK8(40), ACC_LK8(48), ACC_LK8(56),
};

uint32_t acc_home(const struct aedb *db, uint32_t ns)
{
	return core_kv_shard(ns, acc_key_ledger, 1, db->nshards);
}

static const struct kvmap *acc_part(const struct cat_scope *sc, uint32_t shard)
{
	return __atomic_load_n(&sc->parts[shard], __ATOMIC_ACQUIRE);
}

static int acc_partial_at(const struct kvmap *m, uint64_t snap, struct acc_partial *p,
			  uint64_t *seq)
{
	const struct kv_version *v = m ? kvmap_get_any(m, acc_key_partial, 1, snap) : NULL;

	*seq = v ? v->seq : 0;
	return acc_partial_decode(v ? v->data : NULL, v ? v->len : 0, p);
}

int acc_reduce(struct aedb *db, const struct cat_scope *sc, uint64_t snap, struct acc_sum *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < db->nshards; i++) {
		struct acc_partial p;
		uint64_t seq;
		int rc = acc_partial_at(acc_part(sc, i), snap, &p, &seq);

		if (rc < 0)
			return rc;
		out->sum += p.sum;
		out->count += p.count;
		if (p.max_order > out->max_order)
			out->max_order = p.max_order;
		if (seq > out->latest_seq)
			out->latest_seq = seq;
	}
	return 0;
}

/* The ledger totals record: i64 sum and u64 count of the exposure records
 * present (expired ones included until overwritten). */
static int acc_totals_decode(const struct kv_version *v, int64_t *total, uint64_t *count)
{
	*total = 0;
	*count = 0;
	if (!v)
		return 0;
	if (v->len != 16)
		return -AEDB_ECORRUPT;
	*total = (int64_t)acc_get_le64(v->data);
	*count = acc_get_le64(v->data + 8);
	return 0;
}

int acc_ledger(struct aedb *db, const struct cat_scope *sc, uint64_t snap, uint64_t head,
	       __int128 *total, uint64_t *count)
{
	const struct kvmap *m = acc_part(sc, acc_home(db, sc->id));
	static const uint8_t lo[1] = { ACC_K_EXPOSURE };
	struct kvmap_iter it;
	int64_t t64;
	int rc;

	*total = 0;
	*count = 0;
	if (!m)
		return 0;
	if (!sc->adef->exposure_ttl) {
		/* Nothing expires: the totals record is the answer, O(1). */
		rc = acc_totals_decode(kvmap_get_any(m, acc_key_ledger, 1, snap), &t64, count);
		*total = t64;
		return rc;
	}
	/* With a TTL, what is expired depends on the head: sum the open ones. */
	for (kvmap_iter_seek_any(&it, m, lo, 1, false, snap); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it)) {
		uint32_t klen;
		const uint8_t *k = kvmap_iter_key(&it, &klen);

		if (klen == 0 || k[0] != ACC_K_EXPOSURE)
			break;
		if (it.version->len != ACC_EXPOSURE_BYTES)
			return -AEDB_ECORRUPT;
		if (acc_aged_out(it.version->seq, head, sc->adef->exposure_ttl))
			continue;
		*total += (int64_t)acc_get_le64(it.version->data);
		(*count)++;
	}
	return 0;
}

static int64_t acc_item_amount(const struct txn_item *it)
{
	return (int64_t)acc_get_le64(it->operand);
}

static int acc_same_key(const struct aedb_txn *t, const struct txn_item *a,
			const struct txn_item *b)
{
	return a->ns == b->ns && a->key_len == b->key_len &&
	       memcmp(txn_key(t, a), txn_key(t, b), a->key_len) == 0;
}

/* A delta: dedupe, the order lane, then the partial. */
static int acc_eval_delta(struct shard *s, const struct cat_scope *sc, const struct aedb_txn *t,
			  const struct txn_item *it, struct txn_eff *effs, uint32_t *n,
			  uint64_t *dup_seq)
{
	const struct cat_adef *d = sc->adef;
	const struct kvmap *m = acc_part(sc, s->id);
	uint64_t head = wm_visible_any(&s->db->wm), seq;
	const struct kv_version *v;
	struct acc_partial p;
	struct txn_eff *e;
	int64_t delta = acc_item_amount(it);
	struct txn_eff *prev_partial = NULL, *prev_lane = NULL;
	uint64_t lane_latest = 0;
	uint8_t lane_key[2];
	int rc;

	lane_key[0] = ACC_K_LANE;
	lane_key[1] = (uint8_t)acc_lane(txn_key(t, it) + 1, it->key_len - 1);
	/* Earlier deltas of this commit on this accumulator come first: the
	 * newest partial and lane order, and a repeated dedupe key. */
	for (uint32_t i = *n; i-- > 0;) {
		struct txn_eff *x = &effs[i];

		if (x->item->kind != TXN_ACC || x->item->ns != it->ns)
			continue;
		if (x->key == acc_key_partial && !prev_partial)
			prev_partial = x;
		else if (x->key == acc_key_lanes[lane_key[1]] && !prev_lane)
			prev_lane = x;
		else if (!x->key && acc_same_key(t, x->item, it))
			return acc_item_amount(x->item) == delta && x->item->version == it->version
			       ? 0 : -AEDB_EDEDUPE; /* the same delta twice: once */
	}
	v = m ? kvmap_get_any(m, txn_key(t, it), it->key_len, UINT64_MAX) : NULL;
	if (v && !acc_aged_out(v->seq, head, d->dedupe_retain)) {
		if (v->len != ACC_DEDUPE_BYTES)
			return -AEDB_ECORRUPT;
		if ((int64_t)acc_get_le64(v->data) != delta ||
		    acc_get_le64(v->data + 8) != it->version)
			return -AEDB_EDEDUPE;
		if (!t->acc_whole)
			return 0; /* a no-op entry of a larger commit */
		*dup_seq = v->seq;
		return 1;
	}
	/* The order lane: the delta's own. */
	if (prev_lane) {
		lane_latest = acc_get_le64(prev_lane->num);
	} else if ((v = m ? kvmap_get_any(m, lane_key, 2, UINT64_MAX) : NULL)) {
		if (v->len != 8)
			return -AEDB_ECORRUPT;
		lane_latest = acc_get_le64(v->data);
	}
	if (it->version <= lane_latest)
		return -AEDB_EORDER;
	if (prev_partial)
		rc = acc_partial_decode(prev_partial->num, ACC_PARTIAL_BYTES, &p);
	else
		rc = acc_partial_at(m, UINT64_MAX, &p, &seq);
	if (rc < 0)
		return rc;
	if (prev_partial)
		prev_partial->superseded = 1;
	if (prev_lane)
		prev_lane->superseded = 1;
	p.sum += delta;
	p.count++;
	if (it->version > p.max_order)
		p.max_order = it->version;
	e = &effs[(*n)++];
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->kind = TXN_EFF_SET;
	e->inline_val = 1;
	e->len = ACC_DEDUPE_BYTES;
	acc_le64(e->num, (uint64_t)delta);
	acc_le64(e->num + 8, it->version);
	e = &effs[(*n)++];
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->kind = TXN_EFF_SET;
	e->inline_val = 1;
	e->len = ACC_PARTIAL_BYTES;
	e->key = acc_key_partial;
	e->key_len = 1;
	acc_partial_encode(&p, e->num);
	e = &effs[(*n)++];
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->kind = TXN_EFF_SET;
	e->inline_val = 1;
	e->len = 8;
	e->key = acc_key_lanes[lane_key[1]];
	e->key_len = 2;
	acc_le64(e->num, it->version);
	return 0;
}

/* The ledger totals this commit builds on: its own newest totals effect
 * (*@prev, superseded by the next), else the record. */
static int acc_totals_base(const struct kvmap *m, uint32_t ns, struct txn_eff *effs, uint32_t n,
			   int64_t *total, uint64_t *count, struct txn_eff **prev)
{
	*prev = NULL;
	for (uint32_t i = n; i-- > 0;) {
		if (effs[i].key == acc_key_ledger && effs[i].item->ns == ns) {
			*prev = &effs[i];
			*total = (int64_t)acc_get_le64(effs[i].num);
			*count = acc_get_le64(effs[i].num + 8);
			return 0;
		}
	}
	return acc_totals_decode(m ? kvmap_get_any(m, acc_key_ledger, 1, UINT64_MAX) : NULL,
				 total, count);
}

static void acc_totals_effect(struct txn_eff *effs, uint32_t *n, const struct txn_item *it,
			      struct txn_eff *prev, int64_t total, uint64_t count)
{
	struct txn_eff *e = &effs[(*n)++];

	if (prev)
		prev->superseded = 1;
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->kind = TXN_EFF_SET;
	e->inline_val = 1;
	e->len = 16;
	e->key = acc_key_ledger;
	e->key_len = 1;
	acc_le64(e->num, (uint64_t)total);
	acc_le64(e->num + 8, count);
}

/* An exposure: the circuit breaker. */
static int acc_eval_expose(struct shard *s, const struct cat_scope *sc,
			   const struct aedb_txn *t, const struct txn_item *it,
			   struct txn_eff *effs, uint32_t *n)
{
	const struct cat_adef *d = sc->adef;
	const struct kvmap *m = acc_part(sc, s->id);
	uint64_t head = wm_visible_any(&s->db->wm), count;
	int64_t amount = acc_item_amount(it);
	const struct kv_version *v;
	struct txn_eff *e, *prev;
	struct acc_sum vsum;
	__int128 e_total, want;
	uint64_t nopen;
	int64_t base;
	int rc;

	v = m ? kvmap_get_any(m, txn_key(t, it), it->key_len, UINT64_MAX) : NULL;
	if (v && !acc_aged_out(v->seq, head, d->exposure_ttl)) {
		if (v->len != ACC_EXPOSURE_BYTES)
			return -AEDB_ECORRUPT;
		return (int64_t)acc_get_le64(v->data) == amount ? 0 : -AEDB_EEXIST;
	}
	rc = acc_totals_base(m, it->ns, effs, *n, &base, &nopen, &prev);
	if (rc < 0)
		return rc;
	if (d->exposure_ttl) {
		rc = acc_ledger(s->db, sc, UINT64_MAX, head, &e_total, &count);
		if (rc < 0)
			return rc;
	} else {
		e_total = base;
	}
	for (uint32_t i = 0; i < *n; i++) {
		const struct txn_eff *x = &effs[i];

		if (x->item->kind != TXN_ACC_EXPOSE || x->item->ns != it->ns || x->key)
			continue;
		if (acc_same_key(t, x->item, it))
			return acc_item_amount(x->item) == amount ? 0 : -AEDB_EEXIST;
		if (d->exposure_ttl)
			e_total += acc_item_amount(x->item);
	}
	want = e_total + amount;
	if (!acc_fits_i64(want))
		return -AEDB_EOVERFLOW;
	rc = acc_reduce(s->db, sc, head, &vsum);
	if (rc < 0)
		return rc;
	if (want > acc_limit(vsum.sum, d->margin_bps))
		return -AEDB_ELIMIT;
	e = &effs[(*n)++];
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->kind = TXN_EFF_SET;
	e->inline_val = 1;
	e->len = ACC_EXPOSURE_BYTES;
	acc_le64(e->num, (uint64_t)amount);
	/* An expired record under the id is replaced: its amount leaves. */
	if (v) {
		if (v->len != ACC_EXPOSURE_BYTES)
			return -AEDB_ECORRUPT;
		base -= (int64_t)acc_get_le64(v->data);
		nopen--;
	}
	acc_totals_effect(effs, n, it, prev, base + amount, nopen + 1);
	return 0;
}

/* A release: the exposure must be open (and not expired). */
static int acc_eval_release(struct shard *s, const struct cat_scope *sc,
			    const struct aedb_txn *t, const struct txn_item *it,
			    struct txn_eff *effs, uint32_t *n)
{
	const struct kvmap *m = acc_part(sc, s->id);
	uint64_t head = wm_visible_any(&s->db->wm), nopen;
	const struct kv_version *v;
	struct txn_eff *e, *prev;
	int64_t base;
	int rc;

	for (uint32_t i = 0; i < *n; i++)
		if (effs[i].item->kind == TXN_ACC_RELEASE && !effs[i].key &&
		    acc_same_key(t, effs[i].item, it))
			return -AEDB_ENOTFOUND; /* released earlier in this commit */
	v = m ? kvmap_get_any(m, txn_key(t, it), it->key_len, UINT64_MAX) : NULL;
	if (!v || acc_aged_out(v->seq, head, sc->adef->exposure_ttl))
		return -AEDB_ENOTFOUND;
	if (v->len != ACC_EXPOSURE_BYTES)
		return -AEDB_ECORRUPT;
	rc = acc_totals_base(m, it->ns, effs, *n, &base, &nopen, &prev);
	if (rc < 0)
		return rc;
	e = &effs[(*n)++];
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->kind = TXN_EFF_DEL;
	acc_totals_effect(effs, n, it, prev, base - (int64_t)acc_get_le64(v->data), nopen - 1);
	return 0;
}

int shard_acc_eval(struct shard *s, const struct catalog *cat, const struct aedb_txn *t,
		   const struct txn_item *it, struct txn_eff *effs, uint32_t *n,
		   uint64_t *dup_seq)
{
	const struct cat_scope *sc = cat_scope_by_id(cat, it->ns);

	if (!sc || !sc->adef || __atomic_load_n(&sc->dropped, __ATOMIC_ACQUIRE))
		return -AEDB_ENOACC;
	switch (it->kind) {
	case TXN_ACC:
		return acc_eval_delta(s, sc, t, it, effs, n, dup_seq);
	case TXN_ACC_EXPOSE:
		return acc_eval_expose(s, sc, t, it, effs, n);
	default:
		return acc_eval_release(s, sc, t, it, effs, n);
	}
}
