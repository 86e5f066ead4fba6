/* SPDX-License-Identifier: MIT */
/* The blocking KV API and the read helpers it shares with the SQ path. */
#include "api/kv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/checkpoint.h"
#include "core/hash.h"
#include "shard/kvmap.h"
#include "shard/shard.h"

int api_snapshot(struct aedb *db, uint32_t mode, uint64_t seq, uint64_t *snap)
{
	uint64_t v, floor;

	switch (mode) {
	case AEDB_AT_LATEST:
		/* V is never below the floor (the floor only rises to a V seen
		 * earlier), and GC waits out readers that began before it rose. */
		*snap = wm_visible_any(&db->wm);
		return 0;
	case AEDB_AT_SEQ:
		v = wm_visible_any(&db->wm);
		if (seq > v)
			return -AEDB_ESEQFUTURE;
		floor = wm_floor_any(&db->wm);
		/* The checkpoint's snapshot stays readable below the floor
		 * (scan cursors of AT_CHECKPOINT pages come back as AT_SEQ). */
		if (seq < floor && seq != api_ckpt_read_seq_any(db))
			return -AEDB_ESEQGC;
		*snap = seq;
		return 0;
	case AEDB_AT_CHECKPOINT:
		/* Held by the checkpoint pin while it is the read seq
		 * (api/checkpoint.c); loaded inside the caller's epoch section. */
		*snap = api_ckpt_read_seq_any(db);
		return *snap ? 0 : -AEDB_ESEQGC;
	default:
		return -AEDB_EINVAL;
	}
}

int api_scope_visible(const struct cat_scope *sc, uint64_t snap)
{
	return sc->created_seq <= snap ? 0 : -AEDB_ENOSCOPE;
}

const struct kv_version *api_kv_lookup(struct aedb *db, const struct cat_scope *sc,
				       const void *key, uint32_t key_len, uint64_t snap)
{
	uint32_t shard = core_kv_shard(sc->id, key, key_len, db->nshards);
	const struct kvmap *m = __atomic_load_n(&sc->parts[shard], __ATOMIC_ACQUIRE);

	return m ? kvmap_get_any(m, key, key_len, snap) : NULL;
}

int api_kv_write_check(struct aedb *db, const void *key, size_t key_len, const void *val,
		       size_t val_len, uint32_t finality)
{
	if ((!key && key_len) || (!val && val_len))
		return -AEDB_EMISUSE;
	if (key_len > db->cfg.max_key_bytes || val_len > db->cfg.max_value_bytes)
		return -AEDB_ETOOBIG;
	if (finality != AEDB_FINALITY_VISIBLE && finality != AEDB_FINALITY_DURABLE)
		return -AEDB_EINVAL;
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
		return -AEDB_EFATAL;
	return 0;
}

static int api_kv_write(struct aedb *db, uint8_t op, const char *project, const char *scope,
			const void *key, size_t key_len, const void *val, size_t val_len,
			uint32_t finality, uint64_t *seq_out)
{
	struct req r = { .op = op, .finality = (uint8_t)finality, .key = key, .val = val,
			 .key_len = (uint32_t)key_len, .val_len = (uint32_t)val_len,
			 .seq_out = seq_out };
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	int rc;

	if (!db)
		return -AEDB_EMISUSE;
	rc = api_kv_write_check(db, key, key_len, val, val_len, finality);
	if (rc < 0)
		return rc;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_scope(db, project, scope, &sc);
	if (rc == 0)
		r.ns = sc->id;
	api_read_end(db, rec);
	if (rc < 0)
		return rc;
	return api_submit_wait(db, &r, core_kv_shard(r.ns, key, r.key_len, db->nshards));
}

AEDB_API int aedb_kv_set(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, const void *val, size_t val_len,
			 uint32_t finality, uint64_t *seq_out)
{
	return api_kv_write(db, REQ_KV_SET, project, scope, key, key_len, val, val_len,
			    finality, seq_out);
}

AEDB_API int aedb_kv_del(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, uint32_t finality, uint64_t *seq_out)
{
	return api_kv_write(db, REQ_KV_DEL, project, scope, key, key_len, NULL, 0, finality,
			    seq_out);
}

/* Open an epoch section and resolve scope and snapshot for a read. On
 * success the caller must api_read_end(). */
int api_read_prepare(struct aedb *db, const char *project, const char *scope,
		     struct aedb_at at, ck_epoch_record_t **rec, struct cat_scope **sc,
		     uint64_t *snap)
{
	int rc;

	if (!db)
		return -AEDB_EMISUSE;
	if (at.pad)
		return -AEDB_EINVAL;
	*rec = api_reader_record(db);
	if (!*rec)
		return -ENOMEM;
	api_read_begin(*rec);
	rc = api_resolve_scope(db, project, scope, sc);
	if (rc == 0)
		rc = api_snapshot(db, at.mode, at.seq, snap);
	if (rc == 0)
		rc = api_scope_visible(*sc, *snap);
	if (rc < 0)
		api_read_end(db, *rec);
	return rc;
}

static void api_entry_fill(struct aedb_kv_entry *e, uint8_t **bytes, const void *key,
			   uint32_t key_len, const struct kv_version *v)
{
	e->key = *bytes;
	if (key_len)
		memcpy(*bytes, key, key_len);
	*bytes += key_len;
	e->val = *bytes;
	if (v->len)
		memcpy(*bytes, v->data, v->len);
	*bytes += v->len;
	e->key_len = key_len;
	e->val_len = v->len;
	e->version = v->seq;
	e->created_seq = v->created_seq;
}

AEDB_API int aedb_kv_get(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, struct aedb_at at,
			 struct aedb_kv_item **out)
{
	const struct kv_version *v;
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	struct aedb_kv_item *item = NULL;
	uint64_t snap = 0;
	uint8_t *bytes;
	int rc;

	if (!out || (!key && key_len))
		return -AEDB_EMISUSE;
	*out = NULL;
	if (db && key_len > db->cfg.max_key_bytes)
		return -AEDB_ETOOBIG;
	rc = api_read_prepare(db, project, scope, at, &rec, &sc, &snap);
	if (rc < 0)
		return rc;
	v = api_kv_lookup(db, sc, key, (uint32_t)key_len, snap);
	if (!v)
		rc = -AEDB_ENOTFOUND;
	else if (!(item = malloc(sizeof(*item) + key_len + v->len)))
		rc = -ENOMEM;
	if (item) {
		bytes = (uint8_t *)(item + 1);
		api_entry_fill(&item->entry, &bytes, key, (uint32_t)key_len, v);
		item->snapshot_seq = snap;
		*out = item;
	}
	api_read_end(db, rec);
	return rc;
}

AEDB_API int aedb_kv_get_many(struct aedb *db, const char *project, const char *scope,
			      const struct aedb_key *keys, uint32_t n, struct aedb_at at,
			      struct aedb_kv_batch **out)
{
	const struct kv_version **vs = NULL;
	struct aedb_kv_batch *b = NULL;
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	size_t bytes = 0;
	uint64_t snap = 0;
	uint8_t *p;
	int rc;

	if (!out || !keys || !db)
		return -AEDB_EMISUSE;
	*out = NULL;
	if (n == 0 || n > db->cfg.max_scan_rows)
		return -AEDB_EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		if (!keys[i].key && keys[i].len)
			return -AEDB_EMISUSE;
		if (keys[i].len > db->cfg.max_key_bytes)
			return -AEDB_ETOOBIG;
	}
	rc = api_read_prepare(db, project, scope, at, &rec, &sc, &snap);
	if (rc < 0)
		return rc;
	vs = calloc(n, sizeof(*vs));
	for (uint32_t i = 0; vs && i < n; i++) {
		vs[i] = api_kv_lookup(db, sc, keys[i].key, keys[i].len, snap);
		bytes += vs[i] ? keys[i].len + vs[i]->len : 0;
	}
	if (vs)
		b = malloc(sizeof(*b) + n * sizeof(*b->entries) + bytes);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	b->snapshot_seq = snap;
	b->count = n;
	b->found = 0;
	b->entries = (struct aedb_kv_entry *)(b + 1);
	p = (uint8_t *)(b->entries + n);
	for (uint32_t i = 0; i < n; i++) {
		memset(&b->entries[i], 0, sizeof(b->entries[i]));
		if (!vs[i])
			continue;
		api_entry_fill(&b->entries[i], &p, keys[i].key, keys[i].len, vs[i]);
		b->found++;
	}
	rc = (int)b->found;
	*out = b;
out:
	api_read_end(db, rec);
	free(vs);
	return rc;
}

AEDB_API void aedb_kv_item_free(struct aedb_kv_item *item)
{
	free(item);
}

AEDB_API void aedb_kv_batch_free(struct aedb_kv_batch *batch)
{
	free(batch);
}
