/* SPDX-License-Identifier: MIT */
/*
 * Ordered scans across shards: one kvmap iterator per shard, all at one
 * snapshot, merged by key (scatter-gather, DESIGN §3). A page holds at most
 * min(limit, max_scan_rows) entries; one more is looked at to set
 * `truncated`, and then the page's cursor resumes strictly after its last key
 * at the same snapshot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/kv.h"
#include "core/assert.h"
#include "shard/kvmap.h"

struct scan_hit {
	const uint8_t *key;
	uint32_t key_len;
	const struct kv_version *v;
};

static int scan_cmp(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	uint32_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int api_scan_check(const struct api_scan *spec)
{
	if (spec->limit == 0)
		return -AEDB_EINVAL;
	if (spec->start.kind > AEDB_BOUND_EXCLUDED || spec->end.kind > AEDB_BOUND_EXCLUDED)
		return -AEDB_EINVAL;
	if ((!spec->start.key && spec->start.len) || (!spec->end.key && spec->end.len))
		return -AEDB_EMISUSE;
	if (!spec->prefix && spec->prefix_len)
		return -AEDB_EMISUSE;
	return 0;
}

/* Is @key past the scan's upper end? */
static int scan_beyond(const struct api_scan *spec, const uint8_t *key, uint32_t len)
{
	int c;

	if (spec->prefix)
		return len < spec->prefix_len ||
		       (spec->prefix_len && memcmp(key, spec->prefix, spec->prefix_len) != 0);
	if (spec->end.kind == AEDB_BOUND_UNBOUNDED)
		return 0;
	c = scan_cmp(key, len, spec->end.key, spec->end.len);
	return spec->end.kind == AEDB_BOUND_INCLUDED ? c > 0 : c >= 0;
}

/* Is @key before the scan's lower end? */
static int scan_before(const struct api_scan *spec, const uint8_t *key, uint32_t len)
{
	int c;

	if (spec->prefix)
		return scan_cmp(key, len, spec->prefix, spec->prefix_len) < 0;
	if (spec->start.kind == AEDB_BOUND_UNBOUNDED)
		return 0;
	c = scan_cmp(key, len, spec->start.key, spec->start.len);
	return spec->start.kind == AEDB_BOUND_INCLUDED ? c < 0 : c <= 0;
}

/* Where every shard iterator starts: after the cursor, else the lower end. */
static void scan_seek_all(struct aedb *db, const struct cat_scope *sc,
			  const struct api_scan *spec, uint64_t snap, struct kvmap_iter *its)
{
	const void *key = NULL;
	uint32_t len = 0;
	bool excl = false;

	if (spec->cursor) {
		key = spec->cursor->last_key;
		len = spec->cursor->last_key_len;
		excl = true;
	} else if (spec->prefix) {
		key = spec->prefix;
		len = spec->prefix_len;
	} else if (spec->start.kind != AEDB_BOUND_UNBOUNDED) {
		key = spec->start.key;
		len = spec->start.len;
		excl = spec->start.kind == AEDB_BOUND_EXCLUDED;
	}
	for (uint32_t i = 0; i < db->nshards; i++) {
		const struct kvmap *m = __atomic_load_n(&sc->parts[i], __ATOMIC_ACQUIRE);

		if (m)
			kvmap_iter_seek_any(&its[i], m, key ? key : "", len, excl, snap);
		else
			its[i].node = NULL;
	}
}

/* The shard iterator with the smallest current key, or -1. */
static int scan_min(const struct kvmap_iter *its, uint32_t n)
{
	const uint8_t *best = NULL;
	uint32_t best_len = 0;
	int at = -1;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		uint32_t len;

		if (!kvmap_iter_valid(&its[i]))
			continue;
		k = kvmap_iter_key(&its[i], &len);
		if (at < 0 || scan_cmp(k, len, best, best_len) < 0) {
			best = k;
			best_len = len;
			at = (int)i;
		}
	}
	return at;
}

/* Collect up to @want hits in key order. Returns how many. */
static uint32_t scan_collect(struct aedb *db, const struct api_scan *spec,
			     struct kvmap_iter *its, struct scan_hit *hits, uint32_t want)
{
	uint32_t n = 0;
	int i;

	while (n < want && (i = scan_min(its, db->nshards)) >= 0) {
		struct scan_hit *h = &hits[n];

		h->key = kvmap_iter_key(&its[i], &h->key_len);
		if (scan_beyond(spec, h->key, h->key_len))
			break;
		h->v = its[i].version;
		n++;
		kvmap_iter_next_any(&its[i]);
	}
	return n;
}

static struct aedb_kv_page *scan_page(const struct scan_hit *hits, uint32_t n, int truncated,
				      uint64_t snap)
{
	size_t bytes = sizeof(struct aedb_kv_page) + n * sizeof(struct aedb_kv_entry);
	struct aedb_kv_page *pg;
	uint8_t *p;

	for (uint32_t i = 0; i < n; i++)
		bytes += hits[i].key_len + hits[i].v->len;
	pg = calloc(1, bytes);
	if (!pg)
		return NULL;
	pg->snapshot_seq = snap;
	pg->count = n;
	pg->truncated = (uint32_t)truncated;
	pg->entries = (struct aedb_kv_entry *)(pg + 1);
	p = (uint8_t *)(pg->entries + n);
	for (uint32_t i = 0; i < n; i++) {
		struct aedb_kv_entry *e = &pg->entries[i];

		e->key = p;
		if (hits[i].key_len)
			memcpy(p, hits[i].key, hits[i].key_len);
		p += hits[i].key_len;
		e->val = p;
		if (hits[i].v->len)
			memcpy(p, hits[i].v->data, hits[i].v->len);
		p += hits[i].v->len;
		e->key_len = hits[i].key_len;
		e->val_len = hits[i].v->len;
		e->version = hits[i].v->seq;
		e->created_seq = hits[i].v->created_seq;
	}
	if (truncated && n) {
		pg->cursor.snapshot_seq = snap;
		pg->cursor.last_key = pg->entries[n - 1].key;
		pg->cursor.last_key_len = pg->entries[n - 1].key_len;
	}
	return pg;
}

int api_kv_scan(struct aedb *db, const struct cat_scope *sc, const struct api_scan *spec,
		uint32_t at_mode, uint64_t at_seq, struct aedb_kv_page **out)
{
	uint32_t want = spec->limit < db->cfg.max_scan_rows ? spec->limit : db->cfg.max_scan_rows;
	const struct aedb_kv_cursor *cur = spec->cursor;
	struct kvmap_iter *its;
	struct scan_hit *hits;
	uint64_t snap = 0;
	uint32_t n;
	int rc;

	if (cur && ((!cur->last_key && cur->last_key_len) || cur->pad ||
		    scan_before(spec, cur->last_key, cur->last_key_len) ||
		    scan_beyond(spec, cur->last_key, cur->last_key_len)))
		return -AEDB_ECURSOR;
	rc = cur ? api_snapshot(db, AEDB_AT_SEQ, cur->snapshot_seq, &snap)
		 : api_snapshot(db, at_mode, at_seq, &snap);
	if (rc == 0)
		rc = api_scope_visible(sc, snap);
	if (rc < 0)
		return rc;
	its = calloc(db->nshards, sizeof(*its));
	hits = malloc(((size_t)want + 1) * sizeof(*hits));
	rc = -ENOMEM;
	if (its && hits) {
		scan_seek_all(db, sc, spec, snap, its);
		n = scan_collect(db, spec, its, hits, want + 1);
		AEDB_ASSERT(n <= want + 1);
		*out = scan_page(hits, n > want ? want : n, n > want, snap);
		rc = *out ? (int)(*out)->count : -ENOMEM;
	}
	free(its);
	free(hits);
	return rc;
}

static int api_scan_blocking(struct aedb *db, const char *project, const char *scope,
			     const struct api_scan *spec, struct aedb_at at,
			     struct aedb_kv_page **out)
{
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	int rc;

	if (!db || !out)
		return -AEDB_EMISUSE;
	*out = NULL;
	if (at.pad)
		return -AEDB_EINVAL;
	rc = api_scan_check(spec);
	if (rc < 0)
		return rc;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_scope(db, project, scope, &sc);
	if (rc == 0)
		rc = api_kv_scan(db, sc, spec, at.mode, at.seq, out);
	api_read_end(db, rec);
	return rc;
}

AEDB_API int aedb_kv_scan_prefix(struct aedb *db, const char *project, const char *scope,
				 const void *prefix, size_t prefix_len, uint32_t limit,
				 const struct aedb_kv_cursor *cursor, struct aedb_at at,
				 struct aedb_kv_page **out)
{
	struct api_scan spec = { .prefix = prefix ? prefix : (const uint8_t *)"",
				 .prefix_len = (uint32_t)prefix_len, .limit = limit,
				 .cursor = cursor };

	if (!prefix && prefix_len)
		return -AEDB_EMISUSE;
	if (db && prefix_len > db->cfg.max_key_bytes)
		return -AEDB_ETOOBIG;
	return api_scan_blocking(db, project, scope, &spec, at, out);
}

AEDB_API int aedb_kv_scan_range(struct aedb *db, const char *project, const char *scope,
				const struct aedb_kv_bound *start, const struct aedb_kv_bound *end,
				uint32_t limit, const struct aedb_kv_cursor *cursor,
				struct aedb_at at, struct aedb_kv_page **out)
{
	struct api_scan spec = { .limit = limit, .cursor = cursor };

	if (start)
		spec.start = *start;
	if (end)
		spec.end = *end;
	return api_scan_blocking(db, project, scope, &spec, at, out);
}

AEDB_API void aedb_kv_page_free(struct aedb_kv_page *page)
{
	free(page);
}
