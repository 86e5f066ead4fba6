/* SPDX-License-Identifier: MIT */
/* Recovery from a checkpoint: see wal/ckpt_load.h and docs/CHECKPOINTS.md. */
#include "wal/ckpt_load.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/catalog.h"
#include "api/tdef.h"
#include "api/db.h"
#include "core/assert.h"
#include "core/buf.h"
#include "core/names.h"
#include "shard/ddl.h"
#include "shard/shard.h"
#include "wal/ckpt.h"
#include "wal/record.h"

static void ck_note(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ck_note(char *err, size_t len, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, len - used, fmt, ap);
	va_end(ap);
}

static void ck_path(const struct aedb *db, uint64_t seq, uint32_t shard, char *out, size_t len)
{
	snprintf(out, len, "%s/checkpoint/%020llu/%u.ckpt", db->path, (unsigned long long)seq,
		 shard);
}

/* Make @id the next namespace id of the (private, unpublished) catalog. */
static int ck_set_next_id(struct catalog *cat, uint32_t id)
{
	struct cat_scope **by;

	if (id < cat->next_scope_id)
		return -AEDB_ECORRUPT;
	if (id == cat->next_scope_id)
		return 0;
	by = realloc(cat->by_id, ((size_t)id + 1) * sizeof(*by));
	if (!by)
		return -ENOMEM;
	memset(by + cat->next_scope_id, 0, (id + 1 - cat->next_scope_id) * sizeof(*by));
	cat->by_id = by;
	cat->next_scope_id = id;
	return 0;
}

/*
 * One catalog record of the checkpoint (api/cat_emit.h): creates carry their
 * original namespace id, so the next id is moved up to it first. A project
 * whose "app" scope had been dropped comes with ns 0: it is created and its
 * "app" removed again, and the id that took is given back.
 */
static int ck_cat_apply(struct catalog **cat, uint32_t nshards, const struct wal_rec *rec)
{
	struct wal_rec r = *rec;
	struct catalog *next;
	uint32_t id;
	int rc;

	if (rec->type != WAL_REC_DDL || !ddl_kind_creates(rec->flags))
		return -AEDB_ECORRUPT;
	if (rec->ns) {
		/* A table's foreign keys take the ids just below its own. */
		uint32_t nfks = 0;

		if (rec->flags == DDL_CREATE_TABLE) {
			struct cat_tdef *t = NULL;

			rc = cat_tdef_decode("t", rec->val, rec->val_len, &t);
			if (rc < 0)
				return rc;
			nfks = t->nfks;
			cat_tdef_free(t);
		}
		if (rec->ns <= nfks)
			return -AEDB_ECORRUPT;
		rc = ck_set_next_id(*cat, rec->ns - nfks);
		return rc < 0 ? rc : wal_replay_ddl(cat, nshards, rec);
	}
	if (rec->flags != DDL_CREATE_PROJECT || rec->key_len > AEDB_NAME_MAX)
		return -AEDB_ECORRUPT;
	id = (*cat)->next_scope_id;
	r.ns = id;
	rc = wal_replay_ddl(cat, nshards, &r);
	if (rc < 0)
		return rc;
	{
		char project[AEDB_NAME_MAX + 1];

		memcpy(project, rec->key, rec->key_len);
		project[rec->key_len] = '\0';
		next = cat_without_scope(*cat, project, CORE_SCOPE_DEFAULT, rec->seq);
	}
	if (!next)
		return -ENOMEM;
	cat_scope_free((*cat)->by_id[id]);
	cat_free(*cat);
	next->by_id[id] = NULL;
	next->next_scope_id = id; /* the id was never handed out */
	*cat = next;
	return 0;
}

/* Every file the manifest names must exist with its recorded size. */
static int ck_check_files(struct aedb *db, const struct wal_ckpt_state *st, char *err,
			  size_t len)
{
	for (uint32_t i = 0; i < db->nshards; i++) {
		char path[4096];
		struct stat sb;

		ck_path(db, st->seq, i, path, sizeof(path));
		if (stat(path, &sb) < 0) {
			int e = errno;

			ck_note(err, len, "missing checkpoint file %s; ", path);
			return e == ENOENT ? -AEDB_ECORRUPT : -e;
		}
		if ((uint64_t)sb.st_size != st->man.files[i].file_bytes) {
			ck_note(err, len, "checkpoint file %s has the wrong size; ", path);
			return -AEDB_ECORRUPT;
		}
	}
	return 0;
}

int wal_ckpt_load_catalog(struct aedb *db, struct aedb_open_report *rep,
			  struct wal_ckpt_state *st)
{
	char path[4096];
	struct ckpt_reader r;
	struct ckpt_blk_hdr h;
	const uint8_t *raw;
	int fd, rc;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/checkpoint", db->path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = wal_manifest_read(fd, db->db_id, db->nshards, &st->man);
	close(fd);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		ck_note(rep->message, sizeof(rep->message), "bad manifest %s/" MANIFEST_NAME "; ",
			path);
		rep->corrupt = 1;
		return rc;
	}
	st->seq = st->man.seq;
	rc = ck_check_files(db, st, rep->message, sizeof(rep->message));
	if (rc < 0) {
		rep->corrupt = 1;
		return rc;
	}
	ck_path(db, st->seq, 0, path, sizeof(path));
	rc = wal_ckpt_reader_open(&r, path, 0, db->nshards, db->db_id, st->seq);
	while (rc == 0 && (rc = wal_ckpt_reader_next(&r, &h, &raw)) == 1 &&
	       h.type == CKPT_BLK_CATALOG) {
		size_t at = 0;

		for (uint32_t k = 0; rc >= 0 && k < h.count; k++) {
			struct wal_rec rec;
			long n = wal_rec_decode(raw, h.raw_len, at, &rec);

			rc = n < 0 ? -AEDB_ECORRUPT : ck_cat_apply(&db->catalog, db->nshards, &rec);
			at += n < 0 ? 0 : (size_t)n;
		}
		if (rc >= 0 && at != h.raw_len)
			rc = -AEDB_ECORRUPT;
		if (rc >= 0)
			rc = 0;
	}
	if (rc >= 0)
		rc = ck_set_next_id(db->catalog, r.hdr.cat_next_id);
	if (rc == -AEDB_ECORRUPT) {
		ck_note(rep->message, sizeof(rep->message),
			"corrupt checkpoint file %s at offset %zu; ", path, r.bad_off);
		rep->corrupt = 1;
	}
	wal_ckpt_reader_close(&r);
	return rc < 0 ? rc : 0;
}

static int ck_open_shard(struct aedb *db, const struct wal_ckpt_state *st, uint32_t shard,
			 struct ckpt_reader *r, char *path, size_t len)
{
	ck_path(db, st->seq, shard, path, len);
	return wal_ckpt_reader_open(r, path, shard, db->nshards, db->db_id, st->seq);
}

int wal_ckpt_load_idem(struct aedb *db, const struct wal_ckpt_state *st, uint32_t shard,
		       char *err, size_t err_len)
{
	struct shard *s = &db->shards[shard];
	struct ckpt_blk_hdr h;
	struct ckpt_reader r;
	const uint8_t *raw;
	char path[4096];
	int rc = ck_open_shard(db, st, shard, &r, path, sizeof(path));

	while (rc == 0 && (rc = wal_ckpt_reader_next(&r, &h, &raw)) == 1 &&
	       (h.type == CKPT_BLK_CATALOG || h.type == CKPT_BLK_IDEM)) {
		size_t at = 0;

		rc = 0;
		for (uint32_t k = 0; rc == 0 && h.type == CKPT_BLK_IDEM && k < h.count; k++) {
			const uint8_t *key;
			uint64_t seq;

			rc = wal_ckpt_idem_decode(raw, h.raw_len, &at, &key, &seq);
			if (rc == 0 && seq > st->seq)
				rc = -AEDB_ECORRUPT;
			if (rc == 0)
				rc = idem_put(&s->idem, key, seq);
		}
	}
	if (rc == -AEDB_ECORRUPT)
		ck_note(err, err_len, "corrupt checkpoint file %s at offset %zu; ", path,
			r.bad_off);
	wal_ckpt_reader_close(&r);
	return rc < 0 ? rc : 0;
}

/* ---- merge of checkpoint entries and WAL records ------------------------ */

struct ck_count {
	uint32_t ns;
	uint64_t n;
};

struct ck_merge {
	struct aedb *db;
	struct shard *s;
	const struct rv_ref *refs;
	size_t nrefs, at;        /* next ref */
	uint64_t seq_max;        /* S: no entry may be newer */
	struct ck_count *cnt;    /* checkpoint entries per namespace */
	uint32_t ncnt, ccap;
	uint32_t cur_ns;         /* namespace reserved last (0: none) */
	struct cat_scope *sc;    /* its scope, NULL if dropped */
	uint8_t *last;           /* the previous block's last key */
	size_t last_cap;
	uint32_t last_len, last_ns;
	int has_last;
	int rc;
};

static void ck_count_ns(void *arg, uint32_t ns, uint32_t count)
{
	struct ck_merge *m = arg;

	if (m->ncnt && m->cnt[m->ncnt - 1].ns == ns) {
		m->cnt[m->ncnt - 1].n += count;
		return;
	}
	if (m->ncnt == m->ccap) {
		uint32_t cap = m->ccap ? m->ccap * 2 : 16;
		struct ck_count *c = realloc(m->cnt, cap * sizeof(*c));

		if (!c) {
			m->rc = -ENOMEM;
			return;
		}
		m->cnt = c;
		m->ccap = cap;
	}
	m->cnt[m->ncnt++] = (struct ck_count){ .ns = ns, .n = count };
}

/* Switch to namespace @ns: find its scope and size its point index. */
static int ck_enter_ns(struct ck_merge *m, uint32_t ns)
{
	uint64_t n = 0;

	if (ns == m->cur_ns)
		return 0;
	m->cur_ns = ns;
	m->sc = cat_scope_by_id(m->db->catalog, ns);
	if (!m->sc)
		return 0;
	for (uint32_t i = 0; i < m->ncnt; i++)
		if (m->cnt[i].ns == ns)
			n += m->cnt[i].n;
	for (size_t i = m->at; i < m->nrefs && m->refs[i].ns == ns; i++)
		n++;
	return shard_bulk_reserve(m->s, m->sc, n);
}

static int ck_key_cmp(uint32_t ans, const uint8_t *ak, uint32_t al, uint32_t bns,
		      const uint8_t *bk, uint32_t bl)
{
	uint32_t n = al < bl ? al : bl;
	int c;

	if (ans != bns)
		return ans < bns ? -1 : 1;
	c = n ? memcmp(ak, bk, n) : 0;
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/*
 * Load one key: its checkpoint entry @e (NULL: none) and then the WAL refs
 * for the same key starting at m->at. created_seq restarts after a delete
 * (and on a FRESH set), as in wal/recover.c.
 */
static int ck_load_key(struct ck_merge *m, uint32_t ns, const struct ckpt_kv *e)
{
	const struct rv_ref *last = NULL;
	uint64_t created = e ? e->created_seq : 0;
	const uint8_t *key = e ? e->key : m->refs[m->at].key;
	uint32_t klen = e ? e->key_len : m->refs[m->at].key_len;
	int rc = ck_enter_ns(m, ns);

	if (rc < 0)
		return rc;
	while (m->at < m->nrefs &&
	       ck_key_cmp(m->refs[m->at].ns, m->refs[m->at].key, m->refs[m->at].key_len, ns, key,
			  klen) == 0) {
		last = &m->refs[m->at++];
		if (last->type == WAL_REC_KV_DEL)
			created = 0;
		else if (!created || last->fresh)
			created = last->seq;
	}
	if (!m->sc)
		return 0; /* dropped after the checkpoint */
	if (last)
		return last->type == WAL_REC_KV_DEL ? 0 :
		       shard_bulk_append(m->s, m->sc, last->key, last->key_len, last->val,
					 last->val_len, last->seq, created);
	return shard_bulk_append(m->s, m->sc, e->key, e->key_len, e->val, e->val_len, e->seq,
				 e->created_seq);
}

/* Load every WAL-only key that sorts before (@ns, @key); NULL key: all. */
static int ck_flush_refs(struct ck_merge *m, uint32_t ns, const uint8_t *key, uint32_t klen)
{
	while (m->at < m->nrefs) {
		const struct rv_ref *f = &m->refs[m->at];
		int rc;

		if (key && ck_key_cmp(f->ns, f->key, f->key_len, ns, key, klen) >= 0)
			return 0;
		rc = ck_load_key(m, f->ns, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Merge one KV block. Keys must ascend across the whole file (the bulk
 * loads rely on it): the last key of the previous block is kept in m->last,
 * since a decoded block's buffer is reused by the next one. */
static int ck_merge_block(struct ck_merge *m, const struct ckpt_blk_hdr *h, const uint8_t *raw)
{
	const uint8_t *pk = m->has_last ? m->last : NULL;
	uint32_t pl = m->last_len, pns = m->last_ns;
	size_t at = 0;
	struct ckpt_kv e = { 0 };

	for (uint32_t k = 0; k < h->count; k++) {
		int rc = wal_ckpt_kv_decode(raw, h->raw_len, &at, &e);

		if (rc == 0 && pk && ck_key_cmp(pns, pk, pl, h->ns, e.key, e.key_len) >= 0)
			rc = -AEDB_ECORRUPT;
		if (rc == 0 && e.seq > m->seq_max)
			rc = -AEDB_ECORRUPT;
		if (rc == 0)
			rc = ck_flush_refs(m, h->ns, e.key, e.key_len);
		if (rc == 0)
			rc = ck_load_key(m, h->ns, &e);
		if (rc < 0)
			return rc;
		pk = e.key;
		pl = e.key_len;
		pns = h->ns;
	}
	if (at != h->raw_len)
		return -AEDB_ECORRUPT;
	if (h->count) {
		if (core_buf_reserve(&m->last, &m->last_cap, 0, e.key_len + 1, 256) < 0)
			return -ENOMEM;
		memcpy(m->last, e.key, e.key_len);
		m->last_len = e.key_len;
		m->last_ns = h->ns;
		m->has_last = 1;
	}
	return 0;
}

int wal_ckpt_load_shard(struct aedb *db, const struct wal_ckpt_state *st, uint32_t shard,
			const struct rv_ref *refs, size_t nrefs, uint64_t *bytes, uint64_t *keys,
			char *err, size_t err_len)
{
	struct ck_merge m = { .db = db, .s = &db->shards[shard], .refs = refs, .nrefs = nrefs,
			   .seq_max = st->seq };
	const uint8_t *raw;
	struct ckpt_blk_hdr h;
	struct ckpt_reader r;
	char path[4096];
	int rc = ck_open_shard(db, st, shard, &r, path, sizeof(path));

	if (rc == 0)
		rc = wal_ckpt_reader_count(&r, ck_count_ns, &m);
	if (rc == 0)
		rc = m.rc;
	while (rc == 0 && (rc = wal_ckpt_reader_next(&r, &h, &raw)) == 1) {
		rc = 0;
		if (h.type != CKPT_BLK_KV)
			continue;
		if (h.ns == 0)
			rc = -AEDB_ECORRUPT;
		if (rc == 0)
			rc = ck_merge_block(&m, &h, raw);
	}
	if (rc == 0)
		rc = ck_flush_refs(&m, 0, NULL, 0);
	if (rc == -AEDB_ECORRUPT)
		ck_note(err, err_len, "corrupt checkpoint file %s at offset %zu; ", path,
			r.bad_off);
	*bytes += r.raw_bytes;
	*keys += r.entries;
	wal_ckpt_reader_close(&r);
	free(m.cnt);
	free(m.last);
	return rc;
}
