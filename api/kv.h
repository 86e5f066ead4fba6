/* SPDX-License-Identifier: MIT */
/* KV internals shared by the blocking API and the submission queue. */
#ifndef AEDB_API_KV_H
#define AEDB_API_KV_H

#include <stdint.h>

#include "api/db.h"

struct kv_version;

/* Resolve a read's snapshot. Inside an epoch section. 0 or -AEDB_EINVAL,
 * -AEDB_ENOTSUP, -AEDB_ESEQFUTURE, -AEDB_ESEQGC. */
int api_snapshot(struct aedb *db, uint32_t mode, uint64_t seq, uint64_t *snap);

/* Scope @sc must exist at @snap. 0 or -AEDB_ENOSCOPE. */
int api_scope_visible(const struct cat_scope *sc, uint64_t snap);

/* The visible version of @key at @snap, or NULL. Inside an epoch section. */
const struct kv_version *api_kv_lookup(struct aedb *db, const struct cat_scope *sc,
				       const void *key, uint32_t key_len, uint64_t snap);

/* Open an epoch section and resolve scope and snapshot for a read. On
 * success the caller must api_read_end(). */
int api_read_prepare(struct aedb *db, const char *project, const char *scope,
		     struct aedb_at at, ck_epoch_record_t **rec, struct cat_scope **sc,
		     uint64_t *snap);

/* Checks shared by every write: sizes, pointers, finality. */
int api_kv_write_check(struct aedb *db, const void *key, size_t key_len, const void *val,
		       size_t val_len, uint32_t finality);

/* A scan, fully described. */
struct api_scan {
	const uint8_t *prefix;       /* non-NULL: prefix scan */
	uint32_t prefix_len;
	struct aedb_kv_bound start;  /* range scans */
	struct aedb_kv_bound end;
	uint32_t limit;
	const struct aedb_kv_cursor *cursor;
};

/* Run @spec on @sc at @at. Inside an epoch section. Returns the entry count
 * and sets *@out, or an error. */
int api_kv_scan(struct aedb *db, const struct cat_scope *sc, const struct api_scan *spec,
		uint32_t at_mode, uint64_t at_seq, struct aedb_kv_page **out);

/* Validate bound kinds and the limit. */
int api_scan_check(const struct api_scan *spec);

#endif
