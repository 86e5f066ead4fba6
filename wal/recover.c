/* SPDX-License-Identifier: MIT */
#include "wal/recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/catalog.h"
#include "api/db.h"
#include "acc/acc.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/clock.h"
#include "shard/ddl.h"
#include "shard/shard.h"
#include "wal/ckpt_load.h"
#include "wal/frame.h"
#include "wal/pin.h"

struct rv_frame {
	uint64_t first_seq;
	uint64_t off;
	uint32_t count;
	uint32_t seg;
	uint32_t parts;      /* TXN frames: participant count; else 0 */
};

struct rv_seg {
	char name[32];
	uint64_t first_seq;
	int fd;
	uint8_t *map;
	size_t size;
	size_t end;          /* offset after the last frame kept */
};

struct rv_shard {
	uint32_t id;
	int dirfd;
	struct rv_seg *segs;
	uint32_t nsegs;
	uint32_t keep_segs;  /* segments kept (the rest are removed) */
	struct rv_frame *frames;
	size_t nframes, cap;
	size_t keep;         /* frames replayed (seq <= S) */
	uint32_t old_segs;   /* segments up to the last one holding a frame <= base */
	char (*stale)[32];   /* segments wholly <= base, deleted by the cut */
	uint32_t nstale;
	uint64_t old_last;   /* the last seq of that frame */
	int err;
};

struct rv_ctx {
	struct aedb *db;
	struct aedb_open_report *rep;
	struct rv_shard *shards;
	uint64_t s;          /* the recovered prefix */
	uint64_t base;       /* the checkpoint's seq: the log replays after it */
	struct wal_ckpt_state ck;
	int strict;
};

static void rv_note(struct rv_ctx *c, const char *fmt, ...)
{
	size_t used = strlen(c->rep->message);
	va_list ap;

	if (used >= sizeof(c->rep->message) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(c->rep->message + used, sizeof(c->rep->message) - used, fmt, ap);
	va_end(ap);
}

static int rv_name_cmp(const void *a, const void *b)
{
	const struct rv_seg *x = a, *y = b;

	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* List and map wal/<id>/NNNN.seg in seq order. */
static int rv_list(struct aedb *db, struct rv_shard *sh)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/wal/%u", db->path, sh->id);
	sh->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sh->dirfd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(dup(sh->dirfd));
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct rv_seg *g;
		char *end;
		unsigned long long v = strtoull(de->d_name, &end, 10);
		struct stat st;

		if (strlen(de->d_name) != 24 || strcmp(end, ".seg") != 0)
			continue;
		g = realloc(sh->segs, (sh->nsegs + 1) * sizeof(*g));
		if (!g) {
			closedir(d);
			return -ENOMEM;
		}
		sh->segs = g;
		g = &sh->segs[sh->nsegs++];
		memset(g, 0, sizeof(*g));
		snprintf(g->name, sizeof(g->name), "%s", de->d_name);
		g->first_seq = v;
		g->fd = openat(sh->dirfd, g->name,
			       (db->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (g->fd < 0 || fstat(g->fd, &st) < 0) {
			closedir(d);
			return -errno;
		}
		g->size = (size_t)st.st_size;
		/* Every byte is read (CRC scan, replay): fault it in at once. */
		g->map = g->size ? mmap(NULL, g->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
					g->fd, 0) : NULL;
		if (g->map == MAP_FAILED) {
			g->map = NULL;
			closedir(d);
			return -errno;
		}
	}
	closedir(d);
	if (sh->nsegs)
		qsort(sh->segs, sh->nsegs, sizeof(*sh->segs), rv_name_cmp);
	return 0;
}

static int rv_push(struct rv_shard *sh, const struct wal_frame_hdr *h, uint32_t seg, size_t off)
{
	if (sh->nframes == sh->cap) {
		size_t cap = sh->cap ? sh->cap * 2 : 1024;
		struct rv_frame *f = realloc(sh->frames, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		sh->frames = f;
		sh->cap = cap;
	}
	sh->frames[sh->nframes++] = (struct rv_frame){
		.first_seq = h->first_seq, .off = off, .count = h->count, .seg = seg,
		.parts = h->parts };
	return 0;
}

static int rv_synced_past(const struct rv_seg *g, size_t bad)
{
	return wal_frame_synced_past(g->map, g->size, bad);
}

enum { RV_NEXT = 0, RV_STOP = 1 };

/* Damage before the end of a log: strict refuses, permissive keeps the
 * prefix (frames before @off of segment @k) and drops the rest. */
static int rv_damage(struct rv_ctx *c, struct rv_shard *sh, uint32_t k, size_t off,
		     const char *what)
{
	struct rv_seg *g = &sh->segs[k];

	c->rep->corrupt = 1;
	rv_note(c, "%s in wal/%u/%s at offset %zu; ", what, sh->id, g->name, off);
	if (c->strict)
		return -AEDB_ECORRUPT;
	g->end = off;
	sh->keep_segs = off > WAL_SEG_HDR_BYTES ? k + 1 : k;
	return RV_STOP;
}

static int rv_header_ok(struct rv_ctx *c, struct rv_shard *sh, const struct rv_seg *g)
{
	struct wal_seg_hdr h;

	if (g->size < WAL_SEG_HDR_BYTES)
		return 0;
	memcpy(&h, g->map, sizeof(h));
	return wal_seg_hdr_check(&h, sh->id, c->db->nshards) == 0 &&
	       memcmp(h.db_id, c->db->db_id, 16) == 0 && h.first_seq == g->first_seq;
}

/* The last segment's header never made it to disk (crash while rotating):
 * a torn tail, if nothing after it is valid either. */
static int rv_torn_header(const struct rv_seg *g)
{
	return !rv_synced_past(g, 0);
}

static int rv_scan_seg(struct rv_ctx *c, struct rv_shard *sh, uint32_t k, uint64_t *last)
{
	struct rv_seg *g = &sh->segs[k];
	int is_last = k + 1 == sh->nsegs;
	size_t off = WAL_SEG_HDR_BYTES;
	struct wal_seg_hdr hdr;

	if (g->size >= WAL_SEG_HDR_BYTES) {
		memcpy(&hdr, g->map, sizeof(hdr));
		if (wal_seg_hdr_check(&hdr, sh->id, c->db->nshards) == -AEDB_EINCOMPAT) {
			rv_note(c, "wal/%u/%s has format version %u, this build reads %u; ",
				sh->id, g->name, hdr.version, WAL_SEG_VERSION);
			return -AEDB_EINCOMPAT;
		}
	}
	if (!rv_header_ok(c, sh, g)) {
		if (is_last && rv_torn_header(g)) {
			sh->keep_segs = k;
			c->rep->torn_tails++;
			return RV_STOP;
		}
		return rv_damage(c, sh, k, 0, "bad segment header");
	}
	memcpy(&hdr, g->map, sizeof(hdr));
	/* The first segment left may follow reclaimed ones (all <= base). */
	if (k == 0 && hdr.prev_last_seq <= c->base)
		*last = hdr.prev_last_seq;
	if (hdr.prev_last_seq != *last)
		return rv_damage(c, sh, k, 0, "missing segment before this one");
	for (;;) {
		struct wal_frame_hdr h;
		enum wal_frame_status st = wal_frame_check(g->map + off, g->size - off, &h);

		if (st == WAL_FRAME_OK) {
			int rc;

			if (h.first_seq <= *last)
				return rv_damage(c, sh, k, off, "sequence going backwards");
			if (h.first_seq <= c->base && h.first_seq + h.count - 1 > c->base)
				return rv_damage(c, sh, k, off, "frame across the checkpoint");
			if (h.first_seq <= c->base) {
				/* In the checkpoint: kept on disk, not replayed. */
				sh->old_segs = k + 1;
				sh->old_last = *last = h.first_seq + h.count - 1;
				off += WAL_FRAME_HDR_BYTES + h.len;
				continue;
			}
			rc = rv_push(sh, &h, k, off);
			if (rc < 0)
				return rc;
			*last = h.first_seq + h.count - 1;
			off += WAL_FRAME_HDR_BYTES + h.len;
			continue;
		}
		g->end = off;
		if (st == WAL_FRAME_END && !(is_last && rv_synced_past(g, off)))
			return RV_NEXT;
		if (st != WAL_FRAME_END && is_last && !rv_synced_past(g, off)) {
			c->rep->torn_tails++;
			return RV_STOP;
		}
		return rv_damage(c, sh, k, off,
				 st == WAL_FRAME_TORN ? "truncated frame" :
				 st == WAL_FRAME_END ? "zeroed synced frame" : "bad frame");
	}
}

/* Segments wholly at or below the checkpoint (the next one starts at or
 * before base + 1) that a crash kept the checkpoint from deleting: left out
 * of the scan, deleted with the cut once recovery succeeded. */
static int rv_reclaim(struct rv_ctx *c, struct rv_shard *sh)
{
	uint64_t lim = c->base, pin = WAL_PIN_NONE;
	uint32_t k = 0;

	/* The backup pin keeps segments that can hold seqs above it. Not on
	 * a read-only open: it deletes nothing anyway. */
	if (c->db->cfg.backup_wal_pin && wal_pin_read(c->db->path, &pin) == 0 && pin < lim)
		lim = pin;
	while (lim && k + 1 < sh->nsegs && sh->segs[k + 1].first_seq <= lim + 1)
		k++;
	if (!k)
		return 0;
	sh->stale = malloc(k * sizeof(*sh->stale));
	if (!sh->stale)
		return -ENOMEM;
	for (uint32_t i = 0; i < k; i++) {
		struct rv_seg *g = &sh->segs[i];

		memcpy(sh->stale[i], g->name, sizeof(g->name));
		if (g->map)
			munmap(g->map, g->size);
		close(g->fd);
	}
	sh->nstale = k;
	memmove(sh->segs, sh->segs + k, (sh->nsegs - k) * sizeof(*sh->segs));
	sh->nsegs -= k;
	return 0;
}

static int rv_scan_shard(struct rv_ctx *c, struct rv_shard *sh)
{
	uint64_t last = 0;
	int rc = rv_list(c->db, sh);

	if (rc == 0)
		rc = rv_reclaim(c, sh);
	if (rc < 0)
		return rc;
	sh->keep_segs = sh->nsegs;
	c->rep->segments += sh->nsegs;
	for (uint32_t k = 0; k < sh->nsegs; k++) {
		rc = rv_scan_seg(c, sh, k, &last);
		if (rc < 0)
			return rc;
		if (rc == RV_STOP)
			break;
	}
	return 0;
}

static int rv_frame_cmp(const void *a, const void *b)
{
	const struct rv_frame *x = a, *y = b;

	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/*
 * The longest gap-free run 1..S over every shard's frames. A cross-shard
 * commit counts only if every participant logged its TXN frame: one missing
 * (the writer died between the participants' writes) ends the run there, so
 * the commit is dropped everywhere.
 */
static int rv_prefix(struct rv_ctx *c)
{
	size_t n = 0, at = 0;
	struct rv_frame *all;
	uint64_t next = c->base + 1;

	for (uint32_t i = 0; i < c->db->nshards; i++)
		n += c->shards[i].nframes;
	all = malloc((n ? n : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->db->nshards; i++) {
		if (c->shards[i].nframes)
			memcpy(all + at, c->shards[i].frames,
			       c->shards[i].nframes * sizeof(*all));
		at += c->shards[i].nframes;
	}
	if (n)
		qsort(all, n, sizeof(*all), rv_frame_cmp);
	for (size_t i = 0, j; i < n && all[i].first_seq <= next; i = j) {
		uint32_t bad = all[i].first_seq < next;

		for (j = i + 1; j < n && all[j].first_seq == all[i].first_seq; j++)
			bad |= !all[j].parts || all[j].parts != all[i].parts;
		bad |= (uint32_t)(j - i) > (all[i].parts ? all[i].parts : 1u);
		if (bad) {
			c->rep->corrupt = 1;
			rv_note(c, "seq %llu logged twice; ", (unsigned long long)all[i].first_seq);
			break;
		}
		if (all[i].parts && (uint32_t)(j - i) < all[i].parts) {
			c->rep->txn_incomplete++; /* died between its log writes */
			break;
		}
		next += all[i].count;
	}
	free(all);
	c->s = next - 1;
	return c->rep->corrupt && c->strict ? -AEDB_ECORRUPT : 0;
}

/* Decode frame @f of @sh into @buf (grown as needed). */
static int rv_decode(struct rv_shard *sh, const struct rv_frame *f, uint8_t **buf, size_t *cap,
		     struct wal_frame_hdr *h)
{
	const uint8_t *p = sh->segs[f->seg].map + f->off;

	memcpy(h, p, sizeof(*h));
	if (h->raw_len > *cap) {
		uint8_t *nb = realloc(*buf, h->raw_len);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = h->raw_len;
	}
	return wal_frame_decode(h, p + WAL_FRAME_HDR_BYTES, *buf);
}

/* Visit each record of the first @sh->keep frames. */
static int rv_each_record(struct rv_shard *sh, int (*fn)(void *, const struct wal_rec *),
			  void *arg, uint64_t *bytes, uint64_t *records)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sh->keep; i++) {
		struct wal_frame_hdr h;
		size_t at = 0;

		rc = rv_decode(sh, &sh->frames[i], &buf, &cap, &h);
		*bytes += WAL_FRAME_HDR_BYTES + h.len;
		while (rc == 0 && at < h.raw_len) {
			struct wal_rec rec;
			long n = wal_rec_decode(buf, h.raw_len, at, &rec);

			if (n < 0 || rec.seq < h.first_seq || rec.seq >= h.first_seq + h.count) {
				rc = -AEDB_ECORRUPT;
				break;
			}
			rc = fn(arg, &rec);
			(*records)++;
			at += (size_t)n;
		}
	}
	free(buf);
	return rc;
}

struct rv_cat {
	struct catalog *cat;
	uint32_t nshards;
};

static void rv_free_dropped(const struct catalog *old, const struct catalog *next)
{
	for (uint32_t i = 0; i < old->nscopes; i++) {
		struct cat_scope *o = old->scopes[i];
		const struct cat_scope *n = cat_scope_by_id(next, o->id);

		if (!n)
			cat_scope_free(o);
		else if (n != o)
			cat_altered_free(&o, 1); /* ALTER TABLE: replaced by a twin */
	}
	for (uint32_t i = 0; i < old->nprojects; i++)
		if (!cat_find_project(next, old->projects[i]->name))
			free(old->projects[i]);
}

/* Split a table DDL key (project NUL scope NUL table) into the names. */
static int rv_table_key(const struct wal_rec *rec, char *project, char *scope, char *table)
{
	char *out[3] = { project, scope, table };
	uint32_t at = 0;

	for (int i = 0; i < 3; i++) {
		uint32_t n = 0;

		while (at + n < rec->key_len && rec->key[at + n] != 0)
			n++;
		if (n == 0 || n > AEDB_NAME_MAX || (i < 2 && at + n == rec->key_len))
			return -AEDB_ECORRUPT;
		memcpy(out[i], rec->key + at, n);
		out[i][n] = '\0';
		at += n + 1;
	}
	return at == rec->key_len + 1 ? 0 : -AEDB_ECORRUPT;
}

/* Phase A for a table DDL record. */
static int rv_ddl_table(struct rv_cat *rc, const struct wal_rec *rec, struct catalog **next)
{
	char project[AEDB_NAME_MAX + 1], scope[AEDB_NAME_MAX + 1], table[AEDB_NAME_MAX + 1];
	struct cat_tdef *tdef;
	int err = rv_table_key(rec, project, scope, table);

	if (err < 0 || !cat_find_scope(rc->cat, project, scope))
		return -AEDB_ECORRUPT;
	if (rec->flags == DDL_DROP_TABLE || rec->flags == DDL_DROP_ACC) {
		if (!(rec->flags == DDL_DROP_ACC ? cat_find_acc(rc->cat, project, scope, table)
						 : cat_find_table(rc->cat, project, scope, table)))
			return -AEDB_ECORRUPT;
		*next = cat_without_table(rc->cat, project, scope, table, rec->seq);
		return *next ? 0 : -ENOMEM;
	}
	if (cat_find_entry(rc->cat, project, scope, table))
		return -AEDB_ECORRUPT;
	if (rec->flags == DDL_CREATE_ACC) {
		struct cat_adef *adef = calloc(1, sizeof(*adef));

		if (!adef)
			return -ENOMEM;
		err = acc_def_decode(rec->val, rec->val_len, adef);
		*next = err < 0 ? NULL
				: cat_with_acc(rc->cat, project, scope, table, adef, rec->seq,
					       rc->nshards);
		if (!*next) {
			free(adef);
			return err < 0 ? err : -ENOMEM;
		}
		return 0;
	}
	err = cat_tdef_decode(table, rec->val, rec->val_len, &tdef);
	if (err < 0)
		return err;
	*next = cat_with_table(rc->cat, project, scope, tdef, rec->seq, rc->nshards);
	if (!*next) {
		cat_tdef_free(tdef);
		return -ENOMEM;
	}
	return 0;
}

static int rv_ddl(void *arg, const struct wal_rec *rec);

int wal_replay_ddl(struct catalog **cat, uint32_t nshards, const struct wal_rec *rec)
{
	struct rv_cat rc = { .cat = *cat, .nshards = nshards };
	int err = rv_ddl(&rc, rec);

	*cat = rc.cat;
	return err;
}

/* Phase A: rebuild the catalog from shard 0's DDL records, in seq order. */
static int rv_ddl(void *arg, const struct wal_rec *rec)
{
	struct rv_cat *rc = arg;
	char project[AEDB_NAME_MAX + 1] = "", scope[AEDB_NAME_MAX + 1] = "";
	struct catalog *next = NULL;
	int err;

	if (rec->type != WAL_REC_DDL)
		return 0;
	if (ddl_kind_is_index(rec->flags) || rec->flags == DDL_ALTER_TABLE) {
		err = rec->flags == DDL_ALTER_TABLE
			      ? shard_alter_ddl_replay(rc->cat, rec, rc->nshards, &next)
			      : shard_index_ddl_replay(rc->cat, rec, rc->nshards, &next);
		if (err < 0)
			return err;
		goto swap;
	}
	if (rec->flags == DDL_CREATE_TABLE || rec->flags == DDL_DROP_TABLE ||
	    rec->flags == DDL_CREATE_ACC || rec->flags == DDL_DROP_ACC) {
		err = rv_ddl_table(rc, rec, &next);
		if (err < 0)
			return err;
		goto swap;
	}
	if (rec->key_len > AEDB_NAME_MAX || rec->val_len > AEDB_NAME_MAX)
		return -AEDB_ECORRUPT;
	memcpy(project, rec->key, rec->key_len);
	memcpy(scope, rec->val, rec->val_len);
	if (rec->flags == DDL_CREATE_PROJECT && !cat_find_project(rc->cat, project))
		next = cat_with_project(rc->cat, project, rec->seq, rc->nshards);
	else if (rec->flags == DDL_CREATE_SCOPE && cat_find_project(rc->cat, project) &&
		 !cat_find_scope(rc->cat, project, scope))
		next = cat_with_scope(rc->cat, project, scope, rec->seq, rc->nshards);
	else if (rec->flags == DDL_DROP_PROJECT && cat_find_project(rc->cat, project))
		next = cat_without_project(rc->cat, project, rec->seq);
	else if (rec->flags == DDL_DROP_SCOPE && cat_find_scope(rc->cat, project, scope))
		next = cat_without_scope(rc->cat, project, scope, rec->seq);
	else
		return -AEDB_ECORRUPT; /* a logged DDL always changed the catalog */
	if (!next)
		return -ENOMEM;
swap:
	if (ddl_kind_creates(rec->flags) && rec->ns != next->next_scope_id - 1) {
		cat_free_deep(next);
		return -AEDB_ECORRUPT;
	}
	rv_free_dropped(rc->cat, next);
	cat_free(rc->cat);
	rc->cat = next;
	return 0;
}

/*
 * Phase B, one thread per shard. Replaying record by record would insert in
 * random key order (a cache miss per skiplist level). Instead: gather the
 * shard's KV records (pointing into the mapped segments, or into decoded
 * copies of compressed frames), sort them by (namespace, key, seq), and
 * bulk-append each key's newest version in key order: O(1) per key. History
 * below S is not rebuilt: after a restart AT_SEQ reaches back to S only.
 */
/* struct rv_ref: wal/ckpt_load.h (the checkpoint merge reads the refs). */

struct rv_replay {
	struct rv_ctx *c;
	struct rv_shard *sh;
	struct rv_ref *refs;
	size_t nrefs, cap;
	uint8_t **bufs;          /* decoded compressed frames */
	size_t nbufs;
	uint64_t bytes, records;
	uint64_t ck_bytes, ck_keys;  /* loaded from the checkpoint */
	char err[256];
	int rc;
};

static int rv_ref_cmp(const void *a, const void *b)
{
	const struct rv_ref *x = a, *y = b;
	uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	c = n > 8 ? memcmp(x->key + 8, y->key + 8, n - 8) : 0;
	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Byte order equals key order: equal prefixes leave the rest to memcmp. */
static uint64_t rv_prefix8(const uint8_t *key, uint32_t len)
{
	uint64_t p = 0;

	for (uint32_t i = 0; i < 8; i++)
		p = p << 8 | (i < len ? key[i] : 0);
	return p;
}

static bool rv_same_key(const struct rv_ref *a, const struct rv_ref *b)
{
	return a->ns == b->ns && a->prefix == b->prefix && a->key_len == b->key_len &&
	       (a->key_len == 0 || memcmp(a->key, b->key, a->key_len) == 0);
}

static int rv_gather_rec(struct rv_replay *r, const struct wal_rec *rec)
{
	r->records++;
	if (rec->type == WAL_REC_IDEM) {
		struct shard *s = &r->c->db->shards[r->sh->id];

		return rec->key_len == 16 ? idem_put(&s->idem, rec->key, rec->seq)
					  : -AEDB_ECORRUPT;
	}
	if (rec->type != WAL_REC_KV_SET && rec->type != WAL_REC_KV_DEL)
		return 0;
	if (!cat_scope_by_id(r->c->db->catalog, rec->ns))
		return 0; /* the scope was dropped later */
	if (r->nrefs == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		struct rv_ref *n = realloc(r->refs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->refs = n;
		r->cap = cap;
	}
	r->refs[r->nrefs++] = (struct rv_ref){
		.prefix = rv_prefix8(rec->key, rec->key_len), .key = rec->key,
		.val = rec->val, .seq = rec->seq, .key_len = rec->key_len,
		.val_len = rec->val_len, .ns = rec->ns, .type = rec->type,
		.fresh = rec->type == WAL_REC_KV_SET && (rec->flags & WAL_REC_F_FRESH) };
	return 0;
}

/* The records of frame @f, in place when stored raw, else decoded. */
static const uint8_t *rv_frame_raw(struct rv_replay *r, const struct rv_frame *f,
				   struct wal_frame_hdr *h)
{
	const uint8_t *p = r->sh->segs[f->seg].map + f->off;
	uint8_t **nb, *buf;

	memcpy(h, p, sizeof(*h));
	r->bytes += WAL_FRAME_HDR_BYTES + h->len;
	if (!(h->flags & WAL_FRAME_F_LZ4))
		return h->len == h->raw_len ? p + WAL_FRAME_HDR_BYTES : NULL;
	nb = realloc(r->bufs, (r->nbufs + 1) * sizeof(*nb));
	buf = malloc(h->raw_len ? h->raw_len : 1);
	if (nb)
		r->bufs = nb;
	if (!nb || !buf || wal_frame_decode(h, p + WAL_FRAME_HDR_BYTES, buf) < 0) {
		free(buf);
		return NULL;
	}
	r->bufs[r->nbufs++] = buf;
	return buf;
}

static int rv_gather(struct rv_replay *r)
{
	for (size_t i = 0; i < r->sh->keep; i++) {
		struct wal_frame_hdr h;
		const uint8_t *raw = rv_frame_raw(r, &r->sh->frames[i], &h);
		size_t at = 0;

		if (!raw)
			return -AEDB_ECORRUPT;
		while (at < h.raw_len) {
			struct wal_rec rec;
			long n = wal_rec_decode(raw, h.raw_len, at, &rec);

			if (n < 0 || rec.seq < h.first_seq || rec.seq >= h.first_seq + h.count)
				return -AEDB_ECORRUPT;
			if (rv_gather_rec(r, &rec) < 0)
				return -ENOMEM;
			at += (size_t)n;
		}
	}
	return 0;
}

/* Load each key's newest version; created_seq restarts after a delete. */
static int rv_load(struct rv_replay *r)
{
	struct aedb *db = r->c->db;
	struct shard *s = &db->shards[r->sh->id];

	for (size_t i = 0, j; i < r->nrefs; i = j) {
		uint64_t created = 0;
		const struct rv_ref *last;

		if (i == 0 || r->refs[i].ns != r->refs[i - 1].ns) {
			/* Size the point index once: at most this many keys. */
			size_t k = i;

			while (k < r->nrefs && r->refs[k].ns == r->refs[i].ns)
				k++;
			if (shard_bulk_reserve(s, cat_scope_by_id(db->catalog, r->refs[i].ns),
					       k - i) < 0)
				return -ENOMEM;
		}
		j = i;
		do {
			if (r->refs[j].type == WAL_REC_KV_DEL)
				created = 0;
			else if (!created || r->refs[j].fresh)
				created = r->refs[j].seq;
			j++;
		} while (j < r->nrefs && rv_same_key(&r->refs[i], &r->refs[j]));
		last = &r->refs[j - 1];
		if (last->type == WAL_REC_KV_DEL)
			continue;
		if (shard_bulk_append(s, cat_scope_by_id(db->catalog, last->ns), last->key,
				      last->key_len, last->val, last->val_len, last->seq,
				      created) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Sort key of one ref: namespace and 8-byte key prefix, radix-sorted. */
struct rv_sk {
	uint64_t prefix;
	uint32_t ns;
	uint32_t idx;
};

/* Digit @d (0..5, least significant first) of @k: 16 bits of the prefix,
 * then of the namespace. */
static uint32_t rv_digit(const struct rv_sk *k, uint32_t d)
{
	if (d < 4)
		return (uint32_t)(k->prefix >> (16 * d)) & 0xffff;
	return (k->ns >> (16 * (d - 4))) & 0xffff;
}

/*
 * Sort the refs by (ns, key, seq): an LSD radix sort of compact 16-byte sort
 * keys on (ns, 8-byte prefix) - passes whose digit is constant are skipped -
 * then one gather into that order, then a comparison sort of each run whose
 * (ns, prefix) ties (versions of one key, or keys sharing 8 bytes). qsort of
 * the 56-byte refs themselves spent most of its time moving them.
 */
static int rv_sort(struct rv_replay *r)
{
	size_t n = r->nrefs;
	struct rv_sk *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
	uint32_t *cnt = malloc(65536 * sizeof(*cnt));
	struct rv_ref *out = malloc(n * sizeof(*out));
	int rc = 0;

	if (!a || !b || !cnt || !out) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = (struct rv_sk){ .prefix = r->refs[i].prefix, .ns = r->refs[i].ns,
				       .idx = (uint32_t)i };
	for (uint32_t d = 0; d < 6; d++) {
		uint32_t first = rv_digit(&a[0], d), sum = 0;
		struct rv_sk *t;
		size_t i;

		for (i = 1; i < n && rv_digit(&a[i], d) == first; i++)
			;
		if (i == n)
			continue;
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (i = 0; i < n; i++)
			cnt[rv_digit(&a[i], d)]++;
		for (uint32_t v = 0; v < 65536; v++) {
			uint32_t c = cnt[v];

			cnt[v] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[cnt[rv_digit(&a[i], d)]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = r->refs[a[i].idx];
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && a[j].ns == a[i].ns && a[j].prefix == a[i].prefix; j++)
			;
		if (j - i > 1)
			qsort(out + i, j - i, sizeof(*out), rv_ref_cmp);
	}
	free(r->refs);
	r->refs = out;
	out = NULL;
done:
	free(a);
	free(b);
	free(cnt);
	free(out);
	return rc;
}

static void *rv_replay_main(void *arg)
{
	struct rv_replay *r = arg;
	struct rv_ctx *c = r->c;

	/* Checkpoint keys first: the idempotency FIFO ascends in seq. */
	r->rc = c->base ? wal_ckpt_load_idem(c->db, &c->ck, r->sh->id, r->err, sizeof(r->err))
			: 0;
	if (r->rc == 0)
		r->rc = rv_gather(r);
	if (r->rc == 0 && r->nrefs)
		r->rc = rv_sort(r);
	if (r->rc == 0 && c->base)
		r->rc = wal_ckpt_load_shard(c->db, &c->ck, r->sh->id, r->refs, r->nrefs,
					    &r->ck_bytes, &r->ck_keys, r->err, sizeof(r->err));
	else if (r->rc == 0)
		r->rc = rv_load(r);
	for (size_t i = 0; i < r->nbufs; i++)
		free(r->bufs[i]);
	free(r->bufs);
	free(r->refs);
	return NULL;
}

/* Cut @sh back to its first @sh->keep frames: truncate the segment holding
 * the cut, delete every later one, and sync. */
static int rv_cut(struct rv_ctx *c, struct rv_shard *sh)
{
	int changed = 0;

	if (sh->keep < sh->nframes) {
		const struct rv_frame *f = &sh->frames[sh->keep];

		c->rep->frames_dropped += sh->nframes - sh->keep;
		sh->segs[f->seg].end = f->off;
	}
	/* Keep segments up to the one holding the last kept frame: a segment
	 * with no kept frame (made just before a crash) would otherwise sit at
	 * the tail with a name from the future. */
	{
		uint32_t need = sh->keep ? sh->frames[sh->keep - 1].seg + 1 : 0;

		if (sh->old_segs > need)
			need = sh->old_segs; /* frames in the checkpoint stay on disk */
		if (need < sh->keep_segs)
			sh->keep_segs = need;
	}
	if (c->db->readonly)
		return 0; /* the state in memory is cut; the directory is not */
	for (uint32_t k = 0; k < sh->nstale; k++) {
		if (unlinkat(sh->dirfd, sh->stale[k], 0) < 0 && errno != ENOENT)
			return -errno;
		changed = 1;
	}
	for (uint32_t k = 0; k < sh->nsegs; k++) {
		struct rv_seg *g = &sh->segs[k];

		if (k >= sh->keep_segs) {
			if (unlinkat(sh->dirfd, g->name, 0) < 0)
				return -errno;
			changed = 1;
		} else if (k + 1 == sh->keep_segs && g->end < g->size) {
			if (ftruncate(g->fd, (off_t)g->end) < 0 || fdatasync(g->fd) < 0)
				return -errno;
		}
	}
	if (changed && fsync(sh->dirfd) < 0)
		return -errno;
	return 0;
}

static void rv_free(struct rv_ctx *c)
{
	for (uint32_t i = 0; c->shards && i < c->db->nshards; i++) {
		struct rv_shard *sh = &c->shards[i];

		for (uint32_t k = 0; k < sh->nsegs; k++) {
			if (sh->segs[k].map)
				munmap(sh->segs[k].map, sh->segs[k].size);
			if (sh->segs[k].fd >= 0)
				close(sh->segs[k].fd);
		}
		if (sh->dirfd >= 0)
			close(sh->dirfd);
		free(sh->segs);
		free(sh->frames);
		free(sh->stale);
	}
	free(c->shards);
}

static int rv_replay(struct rv_ctx *c)
{
	uint32_t n = c->db->nshards;
	struct rv_cat cat = { .cat = c->db->catalog, .nshards = n };
	struct rv_replay *rp = calloc(n, sizeof(*rp));
	pthread_t *th = calloc(n, sizeof(*th));
	uint64_t ignore_b = 0, ignore_r = 0;
	int rc = rp && th ? 0 : -ENOMEM, started;

	if (rc == 0)
		rc = rv_each_record(&c->shards[0], rv_ddl, &cat, &ignore_b, &ignore_r);
	c->db->catalog = cat.cat;
	started = rc == 0;
	for (uint32_t i = 0; started && i < n; i++) {
		rp[i] = (struct rv_replay){ .c = c, .sh = &c->shards[i] };
		if (pthread_create(&th[i], NULL, rv_replay_main, &rp[i]) != 0) {
			rv_replay_main(&rp[i]);
			th[i] = 0;
		}
	}
	/* Join every thread, also after one failed: they read the mapped
	 * segments that the caller unmaps next. */
	for (uint32_t i = 0; started && i < n; i++) {
		if (th[i])
			pthread_join(th[i], NULL);
		if (rp[i].rc < 0 && rc == 0)
			rc = rp[i].rc;
		c->rep->bytes_replayed += rp[i].bytes;
		c->rep->checkpoint_bytes += rp[i].ck_bytes;
		c->rep->checkpoint_entries += rp[i].ck_keys;
		if (rp[i].err[0])
			rv_note(c, "%s", rp[i].err);
		c->rep->records_replayed += rp[i].records;
		c->rep->frames_replayed += c->shards[i].keep;
	}
	/* Rows older than their table's last ALTER, in an older format. */
	if (rc == 0)
		rc = shard_alter_convert(c->db, c->s);
	/* Index entries nobody logged: those of rows older than their index. */
	if (rc == 0)
		rc = shard_index_rebuild(c->db, 0, c->s);
	free(rp);
	free(th);
	return rc;
}

int wal_recover(struct aedb *db, struct aedb_open_report *rep)
{
	struct rv_ctx c = { .db = db, .rep = rep,
			    .strict = db->cfg.recovery == AEDB_RECOVERY_STRICT };
	uint64_t t0 = core_now_ns();
	int rc = 0;

	c.shards = calloc(db->nshards, sizeof(*c.shards));
	if (!c.shards)
		return -ENOMEM;
	for (uint32_t i = 0; i < db->nshards; i++) {
		c.shards[i].id = i;
		c.shards[i].dirfd = -1;
	}
	rc = wal_ckpt_load_catalog(db, rep, &c.ck);
	c.base = c.ck.seq;
	rep->checkpoint_seq = c.base;
	for (uint32_t i = 0; rc == 0 && i < db->nshards; i++)
		rc = rv_scan_shard(&c, &c.shards[i]);
	if (rc == 0)
		rc = rv_prefix(&c);
	for (uint32_t i = 0; rc == 0 && i < db->nshards; i++) {
		struct rv_shard *sh = &c.shards[i];

		while (sh->keep < sh->nframes && sh->frames[sh->keep].first_seq <= c.s)
			sh->keep++;
	}
	if (rc == 0)
		rc = rv_replay(&c);
	for (uint32_t i = 0; rc == 0 && i < db->nshards; i++) {
		struct rv_shard *sh = &c.shards[i];

		rc = rv_cut(&c, sh);
		if (sh->keep)
			db->shards[i].wal.last_seq = sh->frames[sh->keep - 1].first_seq +
						     sh->frames[sh->keep - 1].count - 1;
		else if (sh->old_segs)
			db->shards[i].wal.last_seq = sh->old_last;
	}
	if (rc == 0) {
		wm_recovered(&db->wm, c.s);
		/* Only each key's newest version was loaded: AT_SEQ starts at S. */
		db->wm.floor = c.s;
		rep->recovered_seq = c.s;
		if (rep->frames_dropped && !rep->corrupt)
			rv_note(&c, "%llu frames after the first gap were not replayed; ",
				(unsigned long long)rep->frames_dropped);
	}
	rep->recovery_ns = core_now_ns() - t0;
	rv_free(&c);
	return rc;
}
