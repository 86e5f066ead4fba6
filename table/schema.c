/* SPDX-License-Identifier: MIT */
/* Table definitions: validation, layout, row checks, PK extraction. */
#include "table/schema.h"

#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "core/names.h"
#include "table/keyenc.h"
#include "table/row.h"

static int tv_blame(int32_t *column, int64_t where, int err)
{
	if (column)
		*column = (int32_t)where;
	return err;
}

/* Columns: names, types, defaults; and each one's slot in the row layout. */
static int tv_schema_check_columns(struct tv_schema *s, int32_t *column)
{
	uint32_t fixed = 0, nvar = 0;
	int rc;

	for (uint32_t i = 0; i < s->ncols; i++) {
		struct tv_column *c = &s->cols[i];

		rc = core_name_check(c->name, NULL);
		if (rc)
			return tv_blame(column, i, rc);
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(s->cols[j].name, c->name) == 0)
				return tv_blame(column, i, -TV_EDUPNAME);
		if (!tv_type_is_column(c->type))
			return tv_blame(column, i, -AEDB_EINVAL);
		if (c->def.type != TV_NULL) {
			if (c->def.type != c->type)
				return tv_blame(column, i, -AEDB_ETYPE);
			rc = tv_value_check(&c->def);
			if (rc)
				return tv_blame(column, i, rc);
		}
		if (tv_type_is_var(c->type)) {
			c->slot = nvar++;
		} else {
			c->slot = fixed;
			fixed += tv_type_fixed_bytes(c->type);
		}
	}
	s->nvar = nvar;
	s->fixed_bytes = fixed;
	return 0;
}

static int tv_schema_check_pk(struct tv_schema *s, int32_t *column)
{
	if (s->npk == 0)
		return -TV_ENOPK;
	if (s->npk > TV_PK_COLUMNS_MAX)
		return -AEDB_ETOOBIG;
	if (!s->pk_names)
		return -AEDB_EMISUSE;
	for (uint32_t k = 0; k < s->npk; k++) {
		int idx = s->pk_names[k] ? tv_schema_find(s, s->pk_names[k]) : -AEDB_EMISUSE;

		if (idx < 0)
			return tv_blame(column, k, idx);
		for (uint32_t j = 0; j < k; j++)
			if (s->pk[j] == idx)
				return tv_blame(column, k, -TV_EDUPNAME);
		if (s->cols[idx].nullable)
			return tv_blame(column, k, -TV_EPKNULLABLE);
		s->pk[k] = (uint16_t)idx;
	}
	return 0;
}

static int tv_schema_check_checks(const struct tv_schema *s, int32_t *column)
{
	if (s->nchecks > TV_CHECKS_MAX)
		return -AEDB_ETOOBIG;
	if (s->nchecks && !s->checks)
		return -AEDB_EMISUSE;
	for (uint32_t k = 0; k < s->nchecks; k++) {
		int rc = core_name_check(s->checks[k].name, NULL);

		if (rc)
			return tv_blame(column, k, rc);
		for (uint32_t j = 0; j < k; j++)
			if (strcmp(s->checks[j].name, s->checks[k].name) == 0)
				return tv_blame(column, k, -TV_EDUPNAME);
		if (!s->checks[k].expr)
			return tv_blame(column, k, -AEDB_EINVAL);
	}
	return 0;
}

int tv_schema_check(struct tv_schema *s, int32_t *column)
{
	int rc;

	tv_blame(column, -1, 0);
	if (!s)
		return -AEDB_EMISUSE;
	s->checked = false;
	rc = core_name_check(s->name, NULL);
	if (rc)
		return rc;
	if (strcmp(s->name, TV_TABLE_KV_INDEX) == 0)
		return -AEDB_ERESERVED;
	if (s->ncols == 0)
		return -AEDB_EINVAL;
	if (s->ncols > TV_COLUMNS_MAX)
		return -AEDB_ETOOBIG;
	if (!s->cols)
		return -AEDB_EMISUSE;
	rc = tv_schema_check_columns(s, column);
	if (rc == 0)
		rc = tv_schema_check_pk(s, column);
	if (rc == 0)
		rc = tv_schema_check_checks(s, column);
	if (rc)
		return rc;
	AEDB_STATIC_ASSERT(TV_COLUMNS_MAX <= UINT16_MAX, "row header holds ncols in a u16");
	s->checked = true;
	return 0;
}

int tv_schema_find(const struct tv_schema *s, const char *name)
{
	for (uint32_t i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return (int)i;
	return -TV_ENOCOLUMN;
}

int tv_schema_row_check(const struct tv_schema *s, struct tv_value *vals, size_t n,
			int32_t *column)
{
	AEDB_ASSERT(s->checked);
	tv_blame(column, -1, 0);
	if (n != s->ncols)
		return -TV_ECOUNT;
	for (uint32_t i = 0; i < s->ncols; i++) {
		const struct tv_column *c = &s->cols[i];
		int rc;

		if (vals[i].type == TV_NULL && c->def.type != TV_NULL)
			vals[i] = c->def;
		if (vals[i].type == TV_NULL) {
			if (!c->nullable)
				return tv_blame(column, i, -TV_ENULL);
			continue;
		}
		if (vals[i].type != c->type)
			return tv_blame(column, i, -AEDB_ETYPE);
		rc = tv_value_check(&vals[i]);
		if (rc)
			return tv_blame(column, i, rc);
	}
	return 0;
}

int tv_schema_row_named(const struct tv_schema *s, const struct tv_named *in, size_t n,
			struct tv_value *out, int32_t *column)
{
	uint64_t given[(TV_COLUMNS_MAX + 63) / 64] = { 0 };

	AEDB_ASSERT(s->checked);
	tv_blame(column, -1, 0);
	for (uint32_t i = 0; i < s->ncols; i++)
		out[i] = tv_null();
	for (size_t k = 0; k < n; k++) {
		int idx;

		if (!in[k].name)
			return tv_blame(column, (int64_t)k, -AEDB_EMISUSE);
		idx = tv_schema_find(s, in[k].name);
		if (idx < 0)
			return tv_blame(column, (int64_t)k, idx);
		if (given[idx / 64] & (1ull << (idx % 64)))
			return tv_blame(column, (int64_t)k, -TV_EDUPNAME);
		given[idx / 64] |= 1ull << (idx % 64);
		out[idx] = in[k].v;
	}
	return tv_schema_row_check(s, out, s->ncols, column);
}

int tv_schema_pk_encode(const struct tv_schema *s, const struct tv_value *vals,
			uint8_t *buf, size_t cap, size_t *len)
{
	struct tv_value key[TV_PK_COLUMNS_MAX];

	AEDB_ASSERT(s->checked);
	AEDB_ASSERT(s->npk >= 1 && s->npk <= TV_PK_COLUMNS_MAX);
	for (uint32_t k = 0; k < s->npk; k++) {
		key[k] = vals[s->pk[k]];
		if (key[k].type == TV_NULL)
			return -TV_ENULL;
	}
	return tv_key_encode(key, s->npk, buf, cap, len);
}

int tv_schema_pk_from_row(const struct tv_schema *s, const uint8_t *row, size_t row_len,
			  uint8_t *buf, size_t cap, size_t *len)
{
	struct tv_value key[TV_PK_COLUMNS_MAX];

	AEDB_ASSERT(s->checked);
	AEDB_ASSERT(s->npk >= 1 && s->npk <= TV_PK_COLUMNS_MAX);
	for (uint32_t k = 0; k < s->npk; k++) {
		int rc = tv_row_get(s, row, row_len, s->pk[k], &key[k]);

		if (rc)
			return rc;
		/* A stored row never has a NULL key column: it is damaged. */
		if (key[k].type == TV_NULL)
			return -AEDB_ECORRUPT;
	}
	return tv_key_encode(key, s->npk, buf, cap, len);
}
