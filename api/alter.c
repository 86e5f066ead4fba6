/* SPDX-License-Identifier: MIT */
/* ALTER TABLE: the public call (docs/TABLES.md "ALTER TABLE"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/db.h"
#include "api/talter.h"
#include "api/tdef.h"
#include "core/names.h"
#include "shard/ddl.h"
#include "shard/shard.h"
#include "table/value.h"

/* An added column as its definition entry (api/tdef.h), checked by the
 * rules of aedb_create_table(); NOT NULL needs a default (existing rows
 * take it). Into @buf (room for 1 + the entry). */
static int api_alter_add(const struct aedb_column_def *in, uint8_t **buf, uint32_t *len)
{
	struct tv_column c = { 0 };
	int rc;

	if (!in->name || (tv_type_is_var(in->def.type) && in->def.len && !in->def.u.bytes))
		return -AEDB_EMISUSE;
	rc = core_name_check(in->name, NULL);
	if (rc < 0)
		return rc;
	if (in->type > 255 || !tv_type_is_column(in->type))
		return -AEDB_EINVAL;
	c.name = in->name;
	c.type = (uint8_t)in->type;
	c.nullable = in->nullable != 0;
	memcpy(&c.def, &in->def, sizeof(c.def));
	memset(c.def.reserved, 0, sizeof(c.def.reserved));
	if (c.def.type == TV_FLOAT)
		c.def.u.f64 = tv_f64_canon(c.def.u.f64);
	if (c.def.type != TV_NULL && c.def.type != c.type)
		return -AEDB_ETYPE;
	if (c.def.type != TV_NULL && tv_value_check(&c.def) < 0)
		return -AEDB_EINVAL;
	if (!c.nullable && c.def.type == TV_NULL)
		return -AEDB_ENOTNULL; /* the existing rows would hold NULL */
	*len = 1 + (uint32_t)cat_tdef_col_put(&c, NULL);
	if (*len > CAT_TDEF_BYTES_MAX)
		return -AEDB_ETOOBIG;
	*buf = malloc(*len);
	if (!*buf)
		return -ENOMEM;
	(*buf)[0] = AEDB_ALTER_ADD_COLUMN;
	cat_tdef_col_put(&c, *buf + 1);
	return 0;
}

/* u8 length + name at @p; returns the bytes. */
static uint32_t api_alter_name(uint8_t *p, const char *name)
{
	size_t n = strlen(name);

	p[0] = (uint8_t)n;
	memcpy(p + 1, name, n);
	return 1u + (uint32_t)n;
}

static int api_alter_encode(const struct aedb_alter *alt, uint8_t **buf, uint32_t *len)
{
	int rc;

	if (alt->pad)
		return -AEDB_EINVAL;
	if (alt->kind == AEDB_ALTER_ADD_COLUMN)
		return api_alter_add(&alt->column, buf, len);
	if (alt->kind != AEDB_ALTER_DROP_COLUMN && alt->kind != AEDB_ALTER_RENAME_COLUMN)
		return -AEDB_EINVAL;
	if (!alt->name || (alt->kind == AEDB_ALTER_RENAME_COLUMN && !alt->new_name))
		return -AEDB_EMISUSE;
	rc = core_name_check(alt->name, NULL);
	if (rc == 0 && alt->kind == AEDB_ALTER_RENAME_COLUMN)
		rc = core_name_check(alt->new_name, NULL);
	if (rc < 0)
		return rc;
	*buf = malloc(1 + 2 * (AEDB_NAME_MAX + 1));
	if (!*buf)
		return -ENOMEM;
	(*buf)[0] = (uint8_t)alt->kind;
	*len = 1 + api_alter_name(*buf + 1, alt->name);
	if (alt->kind == AEDB_ALTER_RENAME_COLUMN)
		*len += api_alter_name(*buf + *len, alt->new_name);
	return 0;
}

AEDB_API int aedb_alter_table(struct aedb *db, const char *project, const char *scope,
			      const char *table, const struct aedb_alter *alt)
{
	struct ddl_op op = { .kind = DDL_ALTER_TABLE };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	uint8_t *enc = NULL;
	int rc;

	if (!db || !alt || !scope || !table)
		return -AEDB_EMISUSE;
	rc = api_table_names_check(project, scope, table);
	if (rc == 0)
		rc = api_alter_encode(alt, &enc, &op.tdef_len);
	if (rc < 0)
		return rc;
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, table);
	op.tdef = enc;
	rc = api_submit_wait(db, &r, 0);
	free(enc);
	return rc;
}
