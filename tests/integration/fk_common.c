/* SPDX-License-Identifier: MIT */
/* Helpers of the foreign-key tests (fk_common.h). */
#include "fk_common.h"

#include <string.h>

const char *const t_pk_id[] = { "id" };
const char *const t_pid[] = { "pid" };

struct aedb_value t_null(void)
{
	struct aedb_value v = { .type = AEDB_TYPE_NULL };

	return v;
}

/* parent(id u64 pk, n integer) */
int t_create_parent(struct aedb *db, const char *project, const char *name)
{
	static const struct aedb_column_def c[2] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "n", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { name, c, 2, 1, t_pk_id };

	return aedb_create_table(db, project, T_S, &d);
}

/* child(id u64 pk, pid u64 null) with foreign key @fk (pid -> parent). */
int t_create_child_fk(struct aedb *db, const char *project, const char *name,
		      const struct aedb_fk_def *fk, uint32_t nfk)
{
	static const struct aedb_column_def c[2] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "pid", .type = AEDB_TYPE_U64, .nullable = 1 },
	};
	struct aedb_table_def d = { name, c, 2, 1, t_pk_id };

	return aedb_create_table_ex(db, project, T_S, &d, NULL, 0, fk, nfk);
}

struct aedb_fk_def t_fk(const char *name, const char *parent)
{
	struct aedb_fk_def fk = {
		.name = name, .columns = t_pid, .ncolumns = 1, .ref_table = parent,
		.on_delete = AEDB_FK_RESTRICT,
	};

	return fk;
}

int t_ins(struct aedb *db, const char *table, uint64_t id, const struct aedb_value *pid,
	  struct aedb_commit_result *res)
{
	struct aedb_value r[2] = { t_vu64(id), *pid };

	return aedb_insert_row(db, T_P, T_S, table, r, 2, 0, res);
}

int t_ins_parent(struct aedb *db, uint64_t id)
{
	struct aedb_value r[2] = { t_vu64(id), t_vint(0) };

	return aedb_insert_row(db, T_P, T_S, "parent", r, 2, 0, NULL);
}

int t_exists(struct aedb *db, const char *table, uint64_t id)
{
	struct aedb_value pk = t_vu64(id);
	struct aedb_row *r = NULL;
	int rc = aedb_get_row(db, T_P, T_S, table, &pk, 1, AEDB_LATEST, &r);

	aedb_row_free(r);
	assert_true(rc == 0 || rc == -AEDB_ENOTFOUND);
	return rc == 0;
}

int t_delr(struct aedb *db, const char *table, uint64_t id, struct aedb_commit_result *res)
{
	struct aedb_value pk = t_vu64(id);

	return aedb_delete_row(db, T_P, T_S, table, &pk, 1, 0, res);
}
