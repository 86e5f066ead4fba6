/* SPDX-License-Identifier: MIT */
/*
 * The row mutation family (issue 5) beyond single rows: column assignments
 * (struct aedb_set), batches, upsert on conflict (api/rowset.c) and the
 * where-mutations (api/mutate.c). Everything is built from the ordinary
 * transaction row entries (TXN_ROW_INS/PUT/DEL), so whatever the row-entry
 * layer maintains (indexes) applies unchanged; calls that read before they
 * write guard every row read with a TXN_A_VERSION assertion on its key and
 * retry from a new snapshot when one fails.
 */
#ifndef AEDB_API_MUTATE_H
#define AEDB_API_MUTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "aedb.h"
#include "table/schema.h"

struct aedb_txn;

/* A resolved assignment: column indexes and a canonical copy of the value
 * (its payload still points at the caller's bytes). */
struct api_set {
	uint32_t col;
	uint32_t src;
	uint8_t op;           /* enum aedb_set_op */
	struct tv_value value;
};

/*
 * Resolve @in[0..@n) against @s into @out[0..@n). @proposed: an upsert on
 * conflict (PROPOSED sources allowed). Returns 0, -AEDB_EMISUSE (NULL
 * name), -AEDB_ENOCOLUMN, -AEDB_EINVAL (key column, a column set twice, bad
 * op, non-zero pad, PROPOSED outside an upsert), -AEDB_ETYPE.
 */
int api_sets_resolve(const struct tv_schema *s, const struct aedb_set *in, uint32_t n,
		     bool proposed, struct api_set *out);

/*
 * The new row: @out[0..ncols) = @old with @sets applied, every source read
 * from @old (or @prop, the proposed row). Payloads point into @old, @prop
 * or the sets' values. 0, -AEDB_EOVERFLOW or -AEDB_EUNDERFLOW.
 */
int api_sets_apply(const struct tv_schema *s, const struct api_set *sets, uint32_t n,
		   const struct tv_value *old, const struct tv_value *prop,
		   struct tv_value *out);

/* Add a guard: at commit the row under @key must still have @version. */
int api_guard_add(struct aedb_txn *t, uint32_t ns, const uint8_t *key, size_t key_len,
		  uint64_t version);

#endif
