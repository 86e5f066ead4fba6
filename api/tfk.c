/* SPDX-License-Identifier: MIT */
/* Foreign keys in table definitions (api/tfk.h). */
#include "api/tfk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/names.h"

static int fk_col_index(const struct tv_schema *s, const char *name)
{
	for (uint32_t i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

static size_t fk_put_str(uint8_t *buf, size_t at, const char *str)
{
	size_t n = strlen(str);

	if (buf) {
		buf[at] = (uint8_t)n;
		memcpy(buf + at + 1, str, n);
	}
	return 1 + n;
}

/* One definition's checks that need no catalog. */
static int fk_check_one(const struct tv_schema *s, const char *project,
			const struct aedb_fk_def *fk)
{
	const char *rp = fk->ref_project ? fk->ref_project : project;
	int rc;

	if (!fk->name || !fk->ref_table || !fk->ref_scope || (fk->ncolumns && !fk->columns))
		return -AEDB_EMISUSE;
	rc = core_name_check(fk->name, NULL);
	if (rc == 0)
		rc = core_project_name_check(rp, NULL);
	if (rc == 0)
		rc = core_name_check(fk->ref_scope, NULL);
	if (rc == 0)
		rc = core_name_check(fk->ref_table, NULL);
	if (rc < 0)
		return rc;
	if (fk->ncolumns == 0 || fk->ncolumns > TV_PK_COLUMNS_MAX ||
	    fk->on_delete > AEDB_FK_SET_DEFAULT)
		return -AEDB_EINVAL;
	/* Same project, or "_global"; a "_global" table names "_global" only. */
	if (strcmp(rp, project) != 0 && strcmp(rp, CAT_FK_GLOBAL) != 0)
		return -AEDB_EINVAL;
	if (strcmp(rp, project) != 0 && fk->on_delete == AEDB_FK_CASCADE)
		return -AEDB_EINVAL;
	for (uint32_t i = 0; i < fk->ncolumns; i++) {
		if (!fk->columns[i])
			return -AEDB_EMISUSE;
		if (fk_col_index(s, fk->columns[i]) < 0)
			return -AEDB_ENOCOLUMN;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(fk->columns[i], fk->columns[j]) == 0)
				return -AEDB_EINVAL;
	}
	/* SET NULL / SET DEFAULT rewrite the child row in place (txn/fk.c):
	 * a key column would move the row, so none may be one. */
	if (fk->on_delete != AEDB_FK_SET_NULL && fk->on_delete != AEDB_FK_SET_DEFAULT)
		return 0;
	for (uint32_t i = 0; i < fk->ncolumns; i++) {
		int c = fk_col_index(s, fk->columns[i]);

		for (uint32_t j = 0; j < s->npk; j++)
			if (s->pk[j] == (uint32_t)c)
				return -AEDB_EINVAL;
	}
	return 0;
}

int cat_fks_encode(const struct tv_schema *s, const char *project,
		   const struct aedb_fk_def *fks, uint32_t n, uint8_t *buf, size_t *len)
{
	size_t at = 2;

	if (n > CAT_FK_MAX)
		return -AEDB_ETOOBIG;
	if (n && !fks)
		return -AEDB_EMISUSE;
	for (uint32_t k = 0; k < n; k++) {
		const struct aedb_fk_def *fk = &fks[k];
		int rc = fk_check_one(s, project, fk);

		if (rc < 0)
			return rc;
		for (uint32_t j = 0; j < k; j++)
			if (strcmp(fks[j].name, fk->name) == 0)
				return -AEDB_EINVAL;
		at += fk_put_str(buf, at, fk->name);
		if (buf)
			buf[at] = (uint8_t)fk->on_delete;
		at++;
		at += fk_put_str(buf, at, fk->ref_project ? fk->ref_project : project);
		at += fk_put_str(buf, at, fk->ref_scope);
		at += fk_put_str(buf, at, fk->ref_table);
		if (buf)
			buf[at] = (uint8_t)fk->ncolumns;
		at++;
		for (uint32_t i = 0; i < fk->ncolumns; i++)
			at += fk_put_str(buf, at, fk->columns[i]);
	}
	if (buf) {
		buf[0] = CAT_FK_MARK;
		buf[1] = (uint8_t)n;
	}
	*len = n ? at : 0;
	return 0;
}

size_t cat_checks_span(const uint8_t *p, size_t len)
{
	size_t at = 1;

	if (len < 1 || p[0] == 0 || p[0] > TV_CHECKS_MAX)
		return 0;
	for (uint32_t k = 0; k < p[0]; k++) {
		size_t nl, el = 0;

		if (at >= len || (nl = p[at]) == 0 || len - at < 5 + nl)
			return 0;
		for (unsigned i = 0; i < 4; i++)
			el |= (size_t)p[at + 1 + nl + i] << (8 * i);
		if (len - at - 5 - nl < el)
			return 0;
		at += 5 + nl + el;
	}
	return at;
}

/* Copy the string at @p[*@at] (of @len) to @names; NULL if malformed. */
static const char *fk_get_str(const uint8_t *p, size_t len, size_t *at, char **names)
{
	size_t n;
	char *out = *names;

	if (*at >= len || (n = p[*at]) == 0 || n > AEDB_NAME_MAX || len - *at - 1 < n)
		return NULL;
	memcpy(out, p + *at + 1, n);
	out[n] = '\0';
	*names += n + 1;
	*at += 1 + n;
	return out;
}

static int fk_parse_one(const struct tv_schema *s, const uint8_t *p, size_t len, size_t *at,
			char **names, struct cat_fk *fk)
{
	const char *col;

	if (!(fk->name = fk_get_str(p, len, at, names)) || *at >= len ||
	    p[*at] > AEDB_FK_SET_DEFAULT)
		return -AEDB_ECORRUPT;
	fk->on_delete = p[(*at)++];
	if (!(fk->project = fk_get_str(p, len, at, names)) ||
	    !(fk->scope = fk_get_str(p, len, at, names)) ||
	    !(fk->table = fk_get_str(p, len, at, names)) || *at >= len)
		return -AEDB_ECORRUPT;
	fk->ncols = p[(*at)++];
	if (fk->ncols == 0 || fk->ncols > TV_PK_COLUMNS_MAX)
		return -AEDB_ECORRUPT;
	for (uint32_t i = 0; i < fk->ncols; i++) {
		int c;

		if (!(col = fk_get_str(p, len, at, names)) || (c = fk_col_index(s, col)) < 0)
			return -AEDB_ECORRUPT;
		fk->cols[i] = (uint16_t)c;
	}
	return 0;
}

int cat_fks_parse(const struct tv_schema *s, const uint8_t *p, size_t len, struct cat_fk **out,
		  uint32_t *n)
{
	struct cat_fk *fks;
	char *names;
	size_t at = 2;
	uint32_t k;

	if (len < 2 || p[0] != CAT_FK_MARK || p[1] == 0 || p[1] > CAT_FK_MAX)
		return -AEDB_ECORRUPT;
	fks = calloc(1, p[1] * sizeof(*fks) + 2 * len);
	if (!fks)
		return -ENOMEM;
	names = (char *)(fks + p[1]);
	for (k = 0; k < p[1]; k++) {
		if (fk_parse_one(s, p, len, &at, &names, &fks[k]) < 0)
			break;
		for (uint32_t j = 0; j < k; j++)
			if (strcmp(fks[j].name, fks[k].name) == 0)
				k = CAT_FK_MAX + 1;
	}
	if (k != p[1] || at != len) {
		free(fks);
		return -AEDB_ECORRUPT;
	}
	*out = fks;
	*n = k;
	return 0;
}

struct cat_scope *cat_fk_parent(const struct catalog *cat, const struct cat_fk *fk)
{
	struct cat_scope *p = cat_find_table(cat, fk->project, fk->scope, fk->table);

	return p && p->tdef ? p : NULL;
}

int cat_fks_check(const struct catalog *cat, const char *project, const char *scope,
		  const struct cat_tdef *t)
{
	for (uint32_t k = 0; k < t->nfks; k++) {
		const struct cat_fk *fk = &t->fks[k];
		const struct cat_scope *p = cat_fk_parent(cat, fk);
		int self = strcmp(fk->project, project) == 0 && strcmp(fk->scope, scope) == 0 &&
			   strcmp(fk->table, t->schema.name) == 0;
		const struct tv_schema *ps = self ? &t->schema : p ? &p->tdef->schema : NULL;

		if (!ps)
			return -AEDB_ENOTABLE;
		if (strcmp(project, CAT_FK_GLOBAL) == 0 && strcmp(fk->project, project) != 0)
			return -AEDB_EINVAL;
		if (ps->npk != fk->ncols)
			return -AEDB_EINVAL;
		for (uint32_t i = 0; i < fk->ncols; i++)
			if (ps->cols[ps->pk[i]].type != t->schema.cols[fk->cols[i]].type)
				return -AEDB_ETYPE;
	}
	return 0;
}

static int fk_in_set(const char *p, const char *s, const char *t, const char *project,
		     const char *scope, const char *table)
{
	return strcmp(p, project) == 0 && (!scope || strcmp(s, scope) == 0) &&
	       (!table || strcmp(t, table) == 0);
}

int cat_fks_block_drop(const struct catalog *cat, const char *project, const char *scope,
		       const char *table)
{
	for (uint32_t i = 0; i < cat->nscopes; i++) {
		const struct cat_scope *c = cat->scopes[i];

		if (!c->tdef || !c->tdef->nfks ||
		    fk_in_set(c->project, c->name, c->table, project, scope, table))
			continue;
		for (uint32_t k = 0; k < c->tdef->nfks; k++) {
			const struct cat_fk *fk = &c->tdef->fks[k];

			if (fk_in_set(fk->project, fk->scope, fk->table, project, scope, table))
				return 1;
		}
	}
	return 0;
}

/* The parent's key column names for @fk's ref_columns (NULL: unknown). */
static const struct tv_schema *fk_parent_schema(const struct catalog *cat, const struct cat_fk *fk)
{
	const struct cat_scope *parent = cat_fk_parent(cat, fk);
	const struct tv_schema *ps = parent ? &parent->tdef->schema : NULL;

	return ps && ps->npk == fk->ncols ? ps : NULL;
}

size_t cat_fks_info_bytes(const struct catalog *cat, const struct cat_tdef *t)
{
	size_t bytes = t->nfks * sizeof(struct aedb_fk_def);

	for (uint32_t k = 0; k < t->nfks; k++) {
		const struct cat_fk *fk = &t->fks[k];
		const struct tv_schema *ps = fk_parent_schema(cat, fk);

		for (uint32_t i = 0; ps && i < fk->ncols; i++)
			bytes += strlen(ps->cols[ps->pk[i]].name) + 1;

		bytes += 2u * fk->ncols * sizeof(char *) + strlen(fk->name) + strlen(fk->project) +
			 strlen(fk->scope) + strlen(fk->table) + 4;
	}
	return bytes;
}

static char *fk_copy(char **p, const char *str)
{
	char *out = strcpy(*p, str);

	*p += strlen(str) + 1;
	return out;
}

void cat_fks_info_fill(const struct catalog *cat, const struct cat_tdef *t, void *mem,
		       struct aedb_table_info *info)
{
	struct aedb_fk_def *out = mem;
	const char **ptrs = (const char **)(out + t->nfks);
	char *p;

	for (uint32_t k = 0; k < t->nfks; k++)
		ptrs += 2u * t->fks[k].ncols;
	p = (char *)ptrs;
	ptrs = (const char **)(out + t->nfks);
	for (uint32_t k = 0; k < t->nfks; k++) {
		const struct cat_fk *fk = &t->fks[k];
		const struct tv_schema *ps = fk_parent_schema(cat, fk);

		memset(&out[k], 0, sizeof(out[k]));
		out[k].name = fk_copy(&p, fk->name);
		out[k].ref_project = fk_copy(&p, fk->project);
		out[k].ref_scope = fk_copy(&p, fk->scope);
		out[k].ref_table = fk_copy(&p, fk->table);
		out[k].on_delete = fk->on_delete;
		out[k].ncolumns = fk->ncols;
		out[k].columns = ptrs;
		out[k].ref_columns = ptrs + fk->ncols;
		/* Column names point into the info's own column array. */
		for (uint32_t i = 0; i < fk->ncols; i++) {
			ptrs[i] = info->def.columns[fk->cols[i]].name;
			ptrs[fk->ncols + i] = ps ? fk_copy(&p, ps->cols[ps->pk[i]].name) : NULL;
		}
		ptrs += 2u * fk->ncols;
	}
	info->fks = out;
	info->nfks = t->nfks;
}
