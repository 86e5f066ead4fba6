/* SPDX-License-Identifier: MIT */
/* The transaction builder: entries resolved and copied at add time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "core/hash.h"
#include "txn/txn.h"
#include "wal/record.h"


void txn_counter_key(uint8_t *out, const void *key, size_t key_len, uint32_t stripe)
{
	size_t plen = sizeof(TXN_COUNTER_PREFIX) - 1;

	memcpy(out, TXN_COUNTER_PREFIX, plen);
	for (int i = 0; i < 4; i++)
		out[plen + (size_t)i] = (uint8_t)((uint64_t)key_len >> (24 - 8 * i));
	if (key_len)
		memcpy(out + plen + 4, key, key_len);
	out[plen + 4 + key_len] = (uint8_t)(stripe >> 8);
	out[plen + 5 + key_len] = (uint8_t)stripe;
}

uint64_t txn_lock_hash(uint32_t ns, const void *key, uint32_t key_len)
{
	uint64_t h = XXH3_64bits_withSeed(key, key_len, (uint64_t)ns);

	return h ? h : 1;
}

/* Evaluation order of a failure: errors tied to no entry (fatal, closing,
 * out of memory) first, then reads, assertions, mutations. */
static int txn_fail_rank(uint32_t kind)
{
	switch (kind) {
	case AEDB_FAIL_READ: return 1;
	case AEDB_FAIL_ASSERTION: return 2;
	case AEDB_FAIL_MUTATION: return 3;
	default: return 0;
	}
}

void txn_verdict_merge(struct txn_verdict *a, const struct txn_verdict *b)
{
	int ra, rb;

	if (a->duplicate)
		return;
	if (b->duplicate) {
		*a = *b;
		return;
	}
	if (!b->err)
		return;
	ra = txn_fail_rank(a->fail_kind);
	rb = txn_fail_rank(b->fail_kind);
	if (!a->err || rb < ra || (rb == ra && b->fail_index < a->fail_index))
		*a = *b;
}

AEDB_API int aedb_txn_create(struct aedb *db, struct aedb_txn **out)
{
	struct aedb_txn *t;

	if (!db || !out)
		return -AEDB_EMISUSE;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->arena_cap = 256;
	t->arena = malloc(t->arena_cap);
	if (!t->arena) {
		free(t);
		return -ENOMEM;
	}
	t->db = db;
	*out = t;
	return 0;
}

AEDB_API void aedb_txn_free(struct aedb_txn *t)
{
	if (!t)
		return;
	free(t->items);
	free(t->arena);
	free(t);
}

AEDB_API void aedb_txn_reset(struct aedb_txn *t)
{
	if (!t)
		return;
	t->nitems = t->nmut = t->nassert = t->nread = t->nacc = 0;
	t->arena_len = 0;
	t->log_bytes = 0;
	t->base_seq = 0;
	t->has_idem = 0;
	t->acc_whole = 0;
	t->finality = AEDB_FINALITY_VISIBLE;
}

AEDB_API int aedb_txn_set_finality(struct aedb_txn *t, uint32_t finality)
{
	if (!t)
		return -AEDB_EMISUSE;
	if (finality != AEDB_FINALITY_VISIBLE && finality != AEDB_FINALITY_DURABLE)
		return -AEDB_EINVAL;
	t->finality = finality;
	return 0;
}

AEDB_API int aedb_txn_set_idempotency_key(struct aedb_txn *t, const uint8_t key[16])
{
	if (!t || !key)
		return -AEDB_EMISUSE;
	memcpy(t->idem, key, 16);
	t->has_idem = 1;
	t->idem_hash = txn_lock_hash(0, key, 16);
	t->idem_shard = (uint32_t)(XXH3_64bits_withSeed(key, 16, 0) % t->db->nshards);
	return 0;
}

AEDB_API int aedb_txn_set_base_seq(struct aedb_txn *t, uint64_t seq)
{
	if (!t)
		return -AEDB_EMISUSE;
	t->base_seq = seq;
	return 0;
}

AEDB_API uint32_t aedb_txn_mutation_count(const struct aedb_txn *t)
{
	return t ? txn_mut_count(t, t->nitems) : 0;
}

AEDB_API uint32_t aedb_txn_assertion_count(const struct aedb_txn *t)
{
	return t ? t->nassert : 0;
}

static int txn_resolve(struct aedb *db, const char *project, const char *scope, uint32_t *ns)
{
	ck_epoch_record_t *rec = api_reader_record(db);
	struct cat_scope *sc;
	int rc;

	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_scope(db, project, scope, &sc);
	if (rc == 0)
		*ns = sc->id;
	api_read_end(db, rec);
	return rc;
}

/* Copy @len bytes into the arena; returns the offset or -ENOMEM/-ETOOBIG. */
static long txn_arena_put(struct aedb_txn *t, const void *p, size_t len)
{
	uint32_t off = t->arena_len;

	if (len > UINT32_MAX - t->arena_len)
		return -AEDB_ETOOBIG;
	if (t->arena_len + len > t->arena_cap) {
		size_t cap = t->arena_cap;
		uint8_t *na;

		while (cap < t->arena_len + len)
			cap = cap * 2 > UINT32_MAX ? UINT32_MAX : cap * 2;
		na = realloc(t->arena, cap);
		if (!na)
			return -ENOMEM;
		t->arena = na;
		t->arena_cap = (uint32_t)cap;
	}
	if (len)
		memcpy(t->arena + off, p, len);
	t->arena_len += (uint32_t)len;
	return off;
}

/*
 * Append an entry for @key of @project/@scope. Everything is checked before
 * anything is changed, so a failed add leaves the builder as it was.
 */
static int txn_add(struct aedb_txn *t, uint8_t kind, const char *project, const char *scope,
		   const void *key, size_t key_len, const void *val, size_t val_len,
		   struct txn_item **out)
{
	uint32_t ns = 0;
	int rc;

	if (!t || !project || !scope || (!key && key_len) || (!val && val_len))
		return -AEDB_EMISUSE;
	if (key_len > t->db->cfg.max_key_bytes || val_len > t->db->cfg.max_value_bytes ||
	    t->nitems >= AEDB_TXN_MAX_ENTRIES)
		return -AEDB_ETOOBIG;
	rc = txn_resolve(t->db, project, scope, &ns);
	if (rc < 0)
		return rc;
	return txn_add_ns(t, kind, ns, key, key_len, val, val_len, out);
}

uint32_t txn_mut_count(const struct aedb_txn *t, uint32_t n)
{
	while (n-- > 0)
		if (txn_kind_is_mut(t->items[n].kind))
			return t->items[n].index + 1;
	return 0;
}

int txn_add_ns(struct aedb_txn *t, uint8_t kind, uint32_t ns, const void *key, size_t key_len,
	       const void *val, size_t val_len, struct txn_item **out)
{
	struct aedb *db = t->db;
	struct txn_item *it;
	uint32_t arena_mark;
	long koff, voff;

	if (key_len > db->cfg.max_key_bytes || val_len > db->cfg.max_value_bytes ||
	    t->nitems >= AEDB_TXN_MAX_ENTRIES)
		return -AEDB_ETOOBIG;
	if (t->nitems == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 8;
		struct txn_item *ni = realloc(t->items, cap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		t->items = ni;
		t->cap = cap;
	}
	arena_mark = t->arena_len;
	koff = txn_arena_put(t, key, key_len);
	voff = koff < 0 ? koff : txn_arena_put(t, val, val_len);
	if (voff < 0) {
		t->arena_len = arena_mark;
		return (int)voff;
	}
	it = &t->items[t->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->ns = ns;
	it->key_len = (uint32_t)key_len;
	it->val_len = (uint32_t)val_len;
	it->key_off = (uint32_t)koff;
	it->val_off = (uint32_t)voff;
	it->lock_hash = txn_lock_hash(ns, key, (uint32_t)key_len);
	it->shard = core_kv_shard(ns, key, (uint32_t)key_len, db->nshards);
	if (txn_kind_is_mut(kind)) {
		/* Index entries (txn/index.c) take their row entry's index, so
		 * the caller's mutations keep dense indexes. */
		it->index = t->fk_depth ? t->fk_index : txn_mut_count(t, t->nitems - 1);
		t->nmut++;
		t->log_bytes += WAL_REC_HDR_BYTES + key_len + (kind == TXN_NUM ? 32 : val_len);
	} else if (txn_kind_is_assert(kind)) {
		it->index = t->nassert++;
	} else {
		it->index = t->nread++;
	}
	if (txn_kind_is_row(kind)) {
		uint32_t pos = t->nitems - 1, nmut = t->nmut - 1;
		uint64_t log_bytes = t->log_bytes - (WAL_REC_HDR_BYTES + key_len + val_len);
		int rc = txn_ix_add(t, pos);

		/* Foreign keys: the parents it names, the children naming it. */
		if (rc == 0)
			rc = txn_fk_add(t, pos);
		if (rc < 0) {
			/* Drop the row entry and whatever was added behind it. */
			t->nitems = pos;
			t->nmut = nmut;
			t->arena_len = arena_mark;
			t->log_bytes = log_bytes;
			return rc;
		}
		it = &t->items[pos];
	}
	*out = it;
	return (int)it->index;
}

AEDB_API int aedb_txn_kv_set(struct aedb_txn *t, const char *project, const char *scope,
			     const void *key, size_t key_len, const void *val, size_t val_len)
{
	struct txn_item *it;

	return txn_add(t, TXN_SET, project, scope, key, key_len, val, val_len, &it);
}

AEDB_API int aedb_txn_kv_del(struct aedb_txn *t, const char *project, const char *scope,
			     const void *key, size_t key_len)
{
	struct txn_item *it;

	return txn_add(t, TXN_DEL, project, scope, key, key_len, NULL, 0, &it);
}

AEDB_API int aedb_txn_kv_num(struct aedb_txn *t, const char *project, const char *scope,
			     const void *key, size_t key_len, uint32_t width, uint32_t op,
			     const void *operand_be, uint32_t flags, uint64_t expected_version)
{
	struct txn_item *it;
	int rc;

	if (t && !operand_be)
		return -AEDB_EMISUSE;
	if (t && ((width != 8 && width != 32) || op < AEDB_NUM_ADD || op > AEDB_NUM_SET ||
		  (flags & ~0xfu)))
		return -AEDB_EINVAL;
	rc = txn_add(t, TXN_NUM, project, scope, key, key_len, NULL, 0, &it);
	if (rc < 0)
		return rc;
	it->width = (uint8_t)width;
	it->op = (uint8_t)op;
	it->flags = flags;
	it->version = expected_version;
	memcpy(it->operand, operand_be, width);
	return rc;
}

AEDB_API int aedb_txn_counter_add(struct aedb_txn *t, const char *project, const char *scope,
				  const void *key, size_t key_len, uint64_t amount,
				  uint32_t stripes, uint32_t hint)
{
	uint8_t be[8], *k;
	int rc;

	if (!t || (!key && key_len))
		return -AEDB_EMISUSE;
	if (stripes < 1 || stripes > TXN_STRIPES_MAX)
		return -AEDB_EINVAL;
	if (key_len > t->db->cfg.max_key_bytes)
		return -AEDB_ETOOBIG;
	k = malloc(TXN_COUNTER_KEY_LEN(key_len));
	if (!k)
		return -ENOMEM;
	txn_counter_key(k, key, key_len, hint % stripes);
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(amount >> (56 - 8 * i));
	rc = aedb_txn_kv_num(t, project, scope, k, TXN_COUNTER_KEY_LEN(key_len), 8, AEDB_NUM_ADD,
			     be, 0, 0);
	free(k);
	return rc;
}

AEDB_API int aedb_txn_assert_exists(struct aedb_txn *t, const char *project,
				    const char *scope, const void *key, size_t key_len,
				    int expected)
{
	struct txn_item *it;
	int rc = txn_add(t, TXN_A_EXISTS, project, scope, key, key_len, NULL, 0, &it);

	if (rc >= 0)
		it->op = expected != 0;
	return rc;
}

AEDB_API int aedb_txn_assert_equals(struct aedb_txn *t, const char *project,
				    const char *scope, const void *key, size_t key_len,
				    const void *val, size_t val_len)
{
	struct txn_item *it;

	return txn_add(t, TXN_A_EQUALS, project, scope, key, key_len, val, val_len, &it);
}

AEDB_API int aedb_txn_assert_compare(struct aedb_txn *t, const char *project,
				     const char *scope, const void *key, size_t key_len,
				     uint32_t cmp, const void *threshold, size_t threshold_len)
{
	struct txn_item *it;
	int rc;

	if (t && (cmp < AEDB_CMP_EQ || cmp > AEDB_CMP_GE))
		return -AEDB_EINVAL;
	rc = txn_add(t, TXN_A_CMP, project, scope, key, key_len, threshold, threshold_len, &it);
	if (rc >= 0)
		it->op = (uint8_t)cmp;
	return rc;
}

AEDB_API int aedb_txn_assert_version(struct aedb_txn *t, const char *project,
				     const char *scope, const void *key, size_t key_len,
				     uint64_t version)
{
	struct txn_item *it;
	int rc = txn_add(t, TXN_A_VERSION, project, scope, key, key_len, NULL, 0, &it);

	if (rc >= 0)
		it->version = version;
	return rc;
}

AEDB_API int aedb_txn_read(struct aedb_txn *t, const char *project, const char *scope,
			   const void *key, size_t key_len, uint64_t version)
{
	struct txn_item *it;
	int rc = txn_add(t, TXN_READ, project, scope, key, key_len, NULL, 0, &it);

	if (rc >= 0)
		it->version = version;
	return rc;
}

int txn_clone(const struct aedb_txn *t, struct aedb_txn **out)
{
	struct aedb_txn *c;
	int rc = aedb_txn_create(t->db, &c);

	if (rc < 0)
		return rc;
	free(c->arena);
	*c = *t;
	c->items = malloc((t->cap ? t->cap : 1) * sizeof(*c->items));
	c->arena = malloc(t->arena_cap);
	if (!c->items || !c->arena) {
		free(c->items);
		free(c->arena);
		free(c);
		return -ENOMEM;
	}
	if (t->nitems)
		memcpy(c->items, t->items, t->nitems * sizeof(*c->items));
	if (t->arena_len)
		memcpy(c->arena, t->arena, t->arena_len);
	*out = c;
	return 0;
}

int txn_add_read_ns(struct aedb_txn *t, uint32_t ns, const void *key, uint32_t key_len,
		    uint64_t version)
{
	struct txn_item *it;
	long koff;

	if (t->nitems >= AEDB_TXN_MAX_ENTRIES)
		return -AEDB_ETOOBIG;
	if (t->nitems == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 8;
		struct txn_item *ni = realloc(t->items, cap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		t->items = ni;
		t->cap = cap;
	}
	koff = txn_arena_put(t, key, key_len);
	if (koff < 0)
		return (int)koff;
	it = &t->items[t->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = TXN_READ;
	it->ns = ns;
	it->key_len = key_len;
	it->key_off = (uint32_t)koff;
	it->val_off = (uint32_t)koff;
	it->version = version;
	it->lock_hash = txn_lock_hash(ns, key, key_len);
	it->shard = core_kv_shard(ns, key, key_len, t->db->nshards);
	it->index = t->nread++;
	return (int)it->index;
}
