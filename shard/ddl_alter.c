/* SPDX-License-Identifier: MIT */
/*
 * ALTER TABLE (issue 5), coordinated by shard 0 like every DDL
 * (shard/ddl.c). The definition change itself is api/talter.c.
 *
 *  1. Check: the alteration applies to the current definition (columns,
 *     key, checks) and every index of the table still decodes against the
 *     new one (else -AEDB_EDEPEND); mark the table CAT_BUSY (its row writes
 *     fail -AEDB_EBUSY) and FENCE every shard, so every write accepted
 *     before the mark is applied, prepared fragments included.
 *  2. The rows are frozen: shard 0 converts every shard's rows (read
 *     lock-free) to check each fits max_value_bytes (-AEDB_ETOOBIG,
 *     nothing changes) and builds the next catalog, so nothing can fail
 *     once the seq is taken. Then it takes seq S, pins V and D below S
 *     (s->ddl.pin), logs the DDL_ALTER_TABLE record at S and has every
 *     shard REWRITE its own rows: each live row gets a new version, in
 *     the new format, at S (not logged). Readers cannot see S yet.
 *  3. Every shard rewrote: publish the catalog (the table and its indexes
 *     as twins: new definitions, the same partitions), unpin, publish S.
 * A reader at a snapshot below S decodes with the old definition (the new
 * one keeps it as history, api/tdef.h cat_tdef_at()); at S or above every
 * visible version is in the new format.
 *
 * Recovery: the record replays as the catalog change (with the history);
 * rows replay with their own seqs, so a row whose newest version is older
 * than its table's last alteration is in an older format, and
 * shard_alter_convert() rewrites it (stamped at the recovered seq) before
 * the index rebuild. If the record did not survive, neither did the
 * alteration: all or nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/talter.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/tsan.h"
#include "io/fault.h"
#include "ring/mesh.h"
#include "shard/ddl.h"
#include "shard/kvmap.h"
#include "shard/shard.h"

struct ddl_alter {
	struct cat_scope *t;          /* the table being altered (CAT_BUSY) */
	struct cat_tdef *to;          /* the new definition; its prev is t's */
	uint8_t *rec;                 /* the record value (api/talter.h) */
	uint32_t rec_len;
	uint32_t step;                /* 0 fencing, 1 rewriting */
	uint64_t seq;
	struct catalog *next;
	struct cat_scope *olds[CAT_INDEXES_MAX + 1];
	uint32_t nolds;
};

static void alt_free(struct ddl_alter *a)
{
	if (a->to)
		a->to->prev = NULL; /* the history is still the table's */
	cat_tdef_free(a->to);
	free(a->rec);
	free(a);
}

/* Finish without a commit. */
static void alt_abort(struct shard *s, int rc)
{
	struct ddl_alter *a = s->ddl.alt;
	struct req *r = s->ddl.active;

	__atomic_store_n(&a->t->dropped, 0, __ATOMIC_SEQ_CST);
	alt_free(a);
	s->ddl.alt = NULL;
	shard_ddl_idle(s);
	req_complete(r, rc);
}

/* The alteration of @t by @op, checked: 0 and *@out, or an error. */
static int alt_prepare(const struct catalog *cat, const struct cat_scope *t,
		       const struct ddl_op *op, struct ddl_alter **out)
{
	struct ddl_alter *a = calloc(1, sizeof(*a));
	struct cat_scope *const *ix;
	uint32_t nix;
	int rc;

	if (!a)
		return -ENOMEM;
	a->t = (struct cat_scope *)t;
	rc = cat_alter_apply(t->tdef, op->tdef, op->tdef_len, &a->rec, &a->rec_len);
	if (rc == 0)
		rc = cat_alter_decode(op->table, a->rec, a->rec_len, t->tdef, 0, &a->to);
	AEDB_ASSERT(rc != -AEDB_ECORRUPT); /* cat_alter_apply() made it */
	cat_table_indexes(cat, t, &ix, &nix);
	for (uint32_t i = 0; rc == 0 && i < nix; i++) {
		struct cat_idef *y = NULL;

		/* Indexes name their columns: one on a dropped or renamed
		 * column (or whose predicate names it) no longer decodes. */
		rc = cat_idef_decode(&a->to->schema, ix[i]->idef->enc, ix[i]->idef->enc_len, &y);
		rc = rc == -AEDB_ECORRUPT ? -AEDB_EDEPEND : rc;
		cat_idef_free(y);
	}
	if (rc < 0) {
		alt_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void shard_ddl_alter_begin(struct shard *s, struct req *r, const struct catalog *cat)
{
	const struct ddl_op *op = r->ddl;
	struct cat_scope *t = NULL;
	struct ddl_alter *a = NULL;
	int rc;

	AEDB_ASSERT(s->id == 0);
	AEDB_ASSERT(op->kind == DDL_ALTER_TABLE);
	rc = shard_ddl_find_table(cat, op, &t);
	if (rc == 0)
		rc = alt_prepare(cat, t, op, &a);
	if (rc < 0) {
		req_complete(r, rc);
		return;
	}
	s->ddl.alt = a;
	__atomic_store_n(&t->dropped, CAT_BUSY, __ATOMIC_SEQ_CST);
	s->ddl.active = r;
	shard_ddl_fencing(s);
	shard_ddl_broadcast_ptr(s, RING_MSG_DDL_FENCE, NULL, 0);
}

/* Convert version @v from @from to @to into *@buf (grown as needed). */
static int alt_row(const struct cat_tdef *from, const struct cat_tdef *to,
		   const struct kv_version *v, struct tv_value *vals, uint8_t **buf, size_t *cap,
		   size_t *len)
{
	int rc = cat_alter_row(from, to, v->data, v->len, vals, *buf, *cap, len);
	uint8_t *nb;

	if (rc != -AEDB_ETOOBIG)
		return rc;
	nb = realloc(*buf, *len);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = *len;
	return cat_alter_row(from, to, v->data, v->len, vals, *buf, *cap, len);
}

/* Convert every live row of shard @part's partition of table @t to @to,
 * from @from (NULL: from the definition of each row's version, skipping
 * rows already in @to's format); with @s set, write each at @seq into @s's
 * own partition. Inside an epoch section, or single-threaded. 0,
 * -AEDB_ETOOBIG (a row over @max in the new format), -ENOMEM,
 * -AEDB_ECORRUPT. */
static int alt_rows(struct cat_scope *t, uint32_t part, const struct cat_tdef *from,
		    const struct cat_tdef *to, size_t max, struct shard *s, uint64_t seq)
{
	const struct kvmap *m = __atomic_load_n(&t->parts[part], __ATOMIC_ACQUIRE);
	struct tv_value *vals;
	struct kvmap_iter it;
	size_t cap = 4096, len = 0;
	uint8_t *buf;
	int rc = 0;

	if (!m)
		return 0;
	vals = malloc(cat_alter_vals(to, from) * sizeof(*vals));
	buf = malloc(cap);
	if (!vals || !buf)
		rc = -ENOMEM;
	kvmap_iter_seek_any(&it, m, NULL, 0, false, UINT64_MAX);
	for (; rc == 0 && kvmap_iter_valid(&it); kvmap_iter_next_any(&it)) {
		const struct kv_version *v = it.version;
		const struct cat_tdef *f = from ? from : cat_tdef_at(to, v->seq);
		uint32_t klen;
		const uint8_t *key = kvmap_iter_key(&it, &klen);

		if (f == to)
			continue;
		rc = alt_row(f, to, v, vals, &buf, &cap, &len);
		if (rc == 0 && len > max)
			rc = -AEDB_ETOOBIG;
		if (rc == 0 && s) {
			struct wal_rec rec = { .type = WAL_REC_KV_SET, .ns = t->id, .seq = seq,
					       .key = key, .key_len = klen, .val = buf,
					       .val_len = (uint32_t)len };

			rc = shard_apply_rec(s, t, &rec);
		}
	}
	free(vals);
	free(buf);
	return rc;
}

void shard_ddl_alter_rewrite(struct shard *s, const struct ddl_alter *a, uint64_t seq)
{
	int rc;

	ck_epoch_begin(&s->erec, NULL);
	rc = alt_rows(a->t, s->id, a->t->tdef, a->to, s->db->cfg.max_value_bytes, s, seq);
	CORE_TSAN_RELEASE(&s->db->epoch);
	ck_epoch_end(&s->erec, NULL);
	/* The record is logged: a shard that cannot rewrite latches (its rows
	 * would be in the old format under the new definition). */
	if (rc < 0)
		shard_wal_progress(s, rc);
}

/* Step 0 → 1: check every row, build the catalog, take and log S. */
static int alt_start(struct shard *s, struct ddl_alter *a)
{
	struct aedb *db = s->db;
	int rc = 0;

	ck_epoch_begin(&s->erec, NULL);
	for (uint32_t p = 0; rc == 0 && p < db->nshards; p++)
		rc = alt_rows(a->t, p, a->t->tdef, a->to, db->cfg.max_value_bytes, NULL, 0);
	CORE_TSAN_RELEASE(&db->epoch);
	ck_epoch_end(&s->erec, NULL);
	if (rc == 0) {
		a->next = cat_with_altered(api_catalog_any(db), a->t, a->to, 0, db->nshards,
					   a->olds, &a->nolds);
		rc = a->next ? 0 : -ENOMEM;
	}
	if (rc < 0)
		return rc;
	a->seq = wm_alloc(&db->wm, s->id, 1);
	a->to->since = a->seq;
	s->ddl.pin = a->seq;
	shard_pin_update(s);
	shard_ddl_log(s, s->ddl.active->ddl, a->seq, a->rec, a->rec_len);
	a->step = 1;
	shard_ddl_broadcast_ptr(s, RING_MSG_DDL_REWRITE, a, a->seq);
	shard_ddl_alter_rewrite(s, a, a->seq);
	io_fault_kill_point(IO_KILL_ALTER_REWRITTEN);
	return 0;
}

static void alt_old_free_cb(ck_epoch_entry_t *e)
{
	struct cat_scope *sc = (struct cat_scope *)((char *)e -
						    offsetof(struct cat_scope, epoch_entry));

	cat_altered_free(&sc, 1);
}

int shard_ddl_alter_advance(struct shard *s)
{
	struct ddl_alter *a = s->ddl.alt;
	int rc;

	AEDB_ASSERT(a != NULL);
	if (a->step == 0) {
		rc = alt_start(s, a);
		if (rc < 0)
			alt_abort(s, rc);
		return 1;
	}
	io_fault_kill_point(IO_KILL_ALTER_PUBLISH);
	s->ddl.pin = 0;
	shard_pin_update(s);
	shard_wal_progress(s, 0); /* D may pass S now, if it is on disk */
	shard_ddl_publish(s, s->ddl.active, a->next, a->seq, 1);
	for (uint32_t i = 0; i < a->nolds; i++)
		ck_epoch_call(&s->erec, &a->olds[i]->epoch_entry, alt_old_free_cb);
	a->to = NULL; /* the table's now */
	alt_free(a);
	s->ddl.alt = NULL;
	shard_ddl_idle(s);
	return 1;
}

/* ---- recovery ---- */

int shard_alter_ddl_replay(const struct catalog *cat, const struct wal_rec *rec,
			   uint32_t nshards, struct catalog **next)
{
	char names[3][AEDB_NAME_MAX + 1];
	struct cat_scope *olds[CAT_INDEXES_MAX + 1];
	const struct cat_scope *t;
	struct cat_tdef *to = NULL;
	uint32_t nolds = 0;
	int rc = shard_ddl_rec_table(cat, rec, names, &t);

	if (rc < 0)
		return rc;
	rc = cat_alter_decode(names[2], rec->val, rec->val_len, t->tdef, rec->seq, &to);
	if (rc < 0)
		return rc;
	*next = cat_with_altered(cat, t, to, rec->seq, nshards, olds, &nolds);
	if (!*next) {
		to->prev = NULL;
		cat_tdef_free(to);
		return -ENOMEM;
	}
	return 0; /* the replaced objects: freed by the caller (a twin has their id) */
}

int shard_alter_convert(struct aedb *db, uint64_t stamp)
{
	const struct catalog *cat = db->catalog;
	int rc = 0;

	/* Single-threaded, before the shards start: no epoch needed. */
	for (uint32_t i = 0; rc == 0 && i < cat->nscopes; i++) {
		struct cat_scope *t = cat->scopes[i];

		if (!t->tdef || !t->tdef->prev)
			continue;
		for (uint32_t j = 0; rc == 0 && j < db->nshards; j++)
			rc = alt_rows(t, j, NULL, t->tdef, SIZE_MAX, &db->shards[j], stamp);
	}
	return rc;
}
