/* SPDX-License-Identifier: MIT */
/* Paging through a table's rows and a scope's KV entries at one snapshot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/walk.h"

#define WALK_PAGE 1000u

int tool_each_row(struct aedb *db, const char *p, const char *s, const char *t, uint64_t limit,
		  tool_row_fn fn, void *arg, struct tool_walk *w)
{
	struct aedb_query *q = NULL;
	uint8_t *cursor = NULL;
	int rc = aedb_query_create(t, &q);

	memset(w, 0, sizeof(*w));
	while (rc == 0) {
		struct aedb_query_result *r = NULL;
		uint64_t want = limit ? limit - w->count : WALK_PAGE;

		rc = aedb_query_limit(q, want < WALK_PAGE ? want : WALK_PAGE);
		if (rc == 0)
			rc = aedb_query_run(db, p, s, q, AEDB_LATEST, &r);
		if (rc < 0)
			break;
		w->snapshot_seq = r->snapshot_seq;
		w->examined += r->rows_examined;
		for (uint64_t i = 0; rc == 0 && i < r->nrows; i++, w->count++)
			rc = fn(arg, r, r->rows + i * r->ncols);
		w->truncated = r->truncated;
		free(cursor);
		cursor = NULL;
		if (rc == 0 && r->truncated && (!limit || w->count < limit)) {
			cursor = malloc(r->cursor_len);
			rc = cursor ? 0 : -ENOMEM;
			if (rc == 0) {
				memcpy(cursor, r->cursor, r->cursor_len);
				rc = aedb_query_set_cursor(q, cursor, r->cursor_len);
			}
			aedb_query_result_free(r);
			continue;
		}
		aedb_query_result_free(r);
		break;
	}
	free(cursor);
	aedb_query_free(q);
	return rc;
}

int tool_each_kv(struct aedb *db, const char *p, const char *s, const void *prefix,
		 size_t prefix_len, uint64_t limit, tool_kv_fn fn, void *arg, struct tool_walk *w)
{
	struct aedb_kv_cursor cur;
	uint8_t *last = NULL;
	int rc = 0, more = 0;

	memset(w, 0, sizeof(*w));
	do {
		struct aedb_kv_page *pg = NULL;
		uint64_t want = limit ? limit - w->count : WALK_PAGE;

		rc = aedb_kv_scan_prefix(db, p, s, prefix, prefix_len,
					 (uint32_t)(want < WALK_PAGE ? want : WALK_PAGE),
					 more ? &cur : NULL, AEDB_LATEST, &pg);
		if (rc < 0)
			break;
		rc = 0; /* the entry count */
		w->snapshot_seq = pg->snapshot_seq;
		for (uint32_t i = 0; rc == 0 && i < pg->count; i++, w->count++)
			rc = fn(arg, &pg->entries[i]);
		w->truncated = pg->truncated;
		more = rc == 0 && pg->truncated && (!limit || w->count < limit);
		if (more) {
			uint8_t *k = malloc(pg->cursor.last_key_len ? pg->cursor.last_key_len : 1);

			rc = k ? 0 : -ENOMEM;
			if (k)
				memcpy(k, pg->cursor.last_key, pg->cursor.last_key_len);
			cur = pg->cursor;
			cur.last_key = k;
			free(last);
			last = k;
			more = rc == 0;
		}
		aedb_kv_page_free(pg);
	} while (more);
	free(last);
	return rc;
}
