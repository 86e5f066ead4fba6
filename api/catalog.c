/* SPDX-License-Identifier: MIT */
#include "api/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/idef.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/names.h"

struct catalog *cat_create_empty(void)
{
	struct catalog *cat = calloc(1, sizeof(*cat));

	if (!cat)
		return NULL;
	cat->next_scope_id = 1;
	cat->by_id = calloc(1, sizeof(*cat->by_id));
	if (!cat->by_id) {
		free(cat);
		return NULL;
	}
	return cat;
}

void cat_free(struct catalog *cat)
{
	if (!cat)
		return;
	free(cat->projects);
	free(cat->scopes);
	free(cat->by_id);
	free(cat);
}

void cat_free_deep(struct catalog *cat)
{
	if (!cat)
		return;
	for (uint32_t i = 0; i < cat->nprojects; i++)
		free(cat->projects[i]);
	for (uint32_t i = 0; i < cat->nscopes; i++)
		cat_scope_free(cat->scopes[i]);
	cat_free(cat);
}

void cat_scope_free(struct cat_scope *sc)
{
	if (!sc)
		return;
	cat_tdef_free(sc->tdef);
	free(sc->adef);
	cat_idef_free(sc->idef);
	free(sc);
}

static int cat_entry_cmp(const struct cat_scope *s, const char *project, const char *scope,
			 const char *table)
{
	int c = strcmp(s->project, project);

	if (c == 0)
		c = strcmp(s->name, scope);
	if (c == 0)
		c = strcmp(s->table, table);
	/* An index sorts after its table, so lookups by name never meet one. */
	return c ? c : s->index[0] != '\0';
}

/* Index of the first project >= name. */
static uint32_t cat_project_lb(const struct catalog *cat, const char *name)
{
	uint32_t lo = 0, hi = cat->nprojects;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(cat->projects[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first entry >= (project, scope, table). */
static uint32_t cat_entry_lb(const struct catalog *cat, const char *project, const char *scope,
			     const char *table)
{
	uint32_t lo = 0, hi = cat->nscopes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (cat_entry_cmp(cat->scopes[mid], project, scope, table) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct cat_project *cat_find_project(const struct catalog *cat, const char *name)
{
	uint32_t i = cat_project_lb(cat, name);

	if (i < cat->nprojects && strcmp(cat->projects[i]->name, name) == 0)
		return cat->projects[i];
	return NULL;
}

struct cat_scope *cat_find_entry(const struct catalog *cat, const char *project,
				 const char *scope, const char *table)
{
	uint32_t i = cat_entry_lb(cat, project, scope, table);

	if (i < cat->nscopes && cat_entry_cmp(cat->scopes[i], project, scope, table) == 0)
		return cat->scopes[i];
	return NULL;
}

struct cat_scope *cat_find_table(const struct catalog *cat, const char *project,
				 const char *scope, const char *table)
{
	struct cat_scope *sc = cat_find_entry(cat, project, scope, table);

	return sc && !sc->adef ? sc : NULL;
}

struct cat_scope *cat_find_acc(const struct catalog *cat, const char *project,
			       const char *scope, const char *name)
{
	struct cat_scope *sc = cat_find_entry(cat, project, scope, name);

	return sc && sc->adef ? sc : NULL;
}

struct cat_scope *cat_find_scope(const struct catalog *cat, const char *project,
				 const char *scope)
{
	return cat_find_entry(cat, project, scope, "");
}

/* A copy of @cat with room for one more project, @more more scopes and
 * ids; arrays are copied, objects shared. */
static struct catalog *cat_clone_n(const struct catalog *cat, uint64_t seq, uint32_t more)
{
	struct catalog *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	*n = *cat;
	n->seq = seq;
	n->projects = malloc((cat->nprojects + 1) * sizeof(*n->projects));
	n->scopes = malloc((cat->nscopes + more) * sizeof(*n->scopes));
	n->by_id = malloc((cat->next_scope_id + more) * sizeof(*n->by_id));
	if (!n->projects || !n->scopes || !n->by_id) {
		cat_free(n);
		return NULL;
	}
	if (cat->nprojects)
		memcpy(n->projects, cat->projects, cat->nprojects * sizeof(*n->projects));
	if (cat->nscopes)
		memcpy(n->scopes, cat->scopes, cat->nscopes * sizeof(*n->scopes));
	memcpy(n->by_id, cat->by_id, cat->next_scope_id * sizeof(*n->by_id));
	return n;
}

static struct catalog *cat_clone(const struct catalog *cat, uint64_t seq)
{
	return cat_clone_n(cat, seq, 1);
}

static struct cat_scope *cat_scope_new(const char *project, const char *scope, uint32_t id,
				       uint64_t seq, uint32_t nshards)
{
	struct cat_scope *s = calloc(1, sizeof(*s) + nshards * sizeof(s->parts[0]));

	if (!s)
		return NULL;
	s->id = id;
	s->created_seq = seq;
	strcpy(s->project, project);
	strcpy(s->name, scope);
	return s;
}

/* Insert a new scope (@table "") or table into a clone that has room for it. */
static int cat_insert_entry(struct catalog *n, const char *project, const char *scope,
			    const char *table, uint64_t seq, uint32_t nshards,
			    struct cat_tdef *tdef)
{
	struct cat_scope *s = cat_scope_new(project, scope, n->next_scope_id, seq, nshards);
	uint32_t at;

	if (!s)
		return -ENOMEM;
	strcpy(s->table, table);
	s->tdef = tdef;
	at = cat_entry_lb(n, project, scope, table);
	AEDB_ASSERT(at == n->nscopes ||
		    cat_entry_cmp(n->scopes[at], project, scope, table) != 0);
	memmove(&n->scopes[at + 1], &n->scopes[at], (n->nscopes - at) * sizeof(*n->scopes));
	n->scopes[at] = s;
	n->nscopes++;
	n->by_id[n->next_scope_id++] = s;
	return 0;
}

struct catalog *cat_with_project(const struct catalog *cat, const char *name, uint64_t seq,
				 uint32_t nshards)
{
	struct catalog *n = cat_clone(cat, seq);
	struct cat_project *p;
	uint32_t at;

	if (!n)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p || cat_insert_entry(n, name, CORE_SCOPE_DEFAULT, "", seq, nshards, NULL) < 0) {
		free(p);
		cat_free(n);
		return NULL;
	}
	p->created_seq = seq;
	strcpy(p->name, name);
	at = cat_project_lb(n, name);
	AEDB_ASSERT(at == n->nprojects || strcmp(n->projects[at]->name, name) != 0);
	memmove(&n->projects[at + 1], &n->projects[at],
		(n->nprojects - at) * sizeof(*n->projects));
	n->projects[at] = p;
	n->nprojects++;
	return n;
}

struct catalog *cat_with_scope(const struct catalog *cat, const char *project,
			       const char *scope, uint64_t seq, uint32_t nshards)
{
	struct catalog *n = cat_clone(cat, seq);

	if (!n)
		return NULL;
	if (cat_insert_entry(n, project, scope, "", seq, nshards, NULL) < 0) {
		cat_free(n);
		return NULL;
	}
	return n;
}

/* Entry order by all four names. */
static int cat_entry4_cmp(const struct cat_scope *s, const char *project, const char *scope,
			  const char *table, const char *index)
{
	int c = strcmp(s->project, project);

	if (c == 0)
		c = strcmp(s->name, scope);
	if (c == 0)
		c = strcmp(s->table, table);
	return c ? c : strcmp(s->index, index);
}

static uint32_t cat_entry4_lb(const struct catalog *cat, const char *project, const char *scope,
			      const char *table, const char *index)
{
	uint32_t lo = 0, hi = cat->nscopes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (cat_entry4_cmp(cat->scopes[mid], project, scope, table, index) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void cat_fkref_name(char *out, uint32_t k)
{
	snprintf(out, 16, "~%u", k);
}

struct cat_scope *cat_fk_counts(const struct catalog *cat, const struct cat_scope *t,
				uint32_t k)
{
	char name[16];
	uint32_t i;

	cat_fkref_name(name, k);
	i = cat_entry4_lb(cat, t->project, t->name, t->table, name);
	if (i < cat->nscopes &&
	    cat_entry4_cmp(cat->scopes[i], t->project, t->name, t->table, name) == 0)
		return cat->scopes[i];
	return NULL;
}

/* Insert the reference-count entry of foreign key @k of table @table. */
static int cat_insert_fkref(struct catalog *n, const char *project, const char *scope,
			    const char *table, uint32_t k, uint64_t seq, uint32_t nshards)
{
	struct cat_scope *s = cat_scope_new(project, scope, n->next_scope_id, seq, nshards);
	uint32_t at;

	if (!s)
		return -ENOMEM;
	strcpy(s->table, table);
	cat_fkref_name(s->index, k);
	s->fkref = k + 1;
	at = cat_entry4_lb(n, project, scope, table, s->index);
	memmove(&n->scopes[at + 1], &n->scopes[at], (n->nscopes - at) * sizeof(*n->scopes));
	n->scopes[at] = s;
	n->nscopes++;
	n->by_id[n->next_scope_id++] = s;
	return 0;
}

struct catalog *cat_with_table(const struct catalog *cat, const char *project,
			       const char *scope, struct cat_tdef *tdef, uint64_t seq,
			       uint32_t nshards)
{
	struct catalog *n = cat_clone_n(cat, seq, 1 + tdef->nfks);
	int rc = 0;

	AEDB_ASSERT(tdef != NULL);
	AEDB_ASSERT(cat_find_scope(cat, project, scope) != NULL);
	if (!n)
		return NULL;
	for (uint32_t k = 0; rc == 0 && k < tdef->nfks; k++)
		rc = cat_insert_fkref(n, project, scope, tdef->schema.name, k, seq, nshards);
	if (rc == 0)
		rc = cat_insert_entry(n, project, scope, tdef->schema.name, seq, nshards, tdef);
	n->nfk_tables += tdef->nfks != 0;
	if (rc < 0) {
		for (uint32_t id = cat->next_scope_id; id < n->next_scope_id; id++)
			free(n->by_id[id]);
		cat_free(n);
		return NULL;
	}
	return n;
}

/* Remove entries matching (project, scope or every scope if NULL, table or
 * every table and the scope itself if NULL). */
static void cat_remove_scopes(struct catalog *n, const char *project, const char *scope,
			      const char *table)
{
	uint32_t w = 0;

	for (uint32_t r = 0; r < n->nscopes; r++) {
		struct cat_scope *s = n->scopes[r];
		int match = strcmp(s->project, project) == 0 &&
			    (!scope || strcmp(s->name, scope) == 0) &&
			    (!table || strcmp(s->table, table) == 0);

		if (match && s->tdef && s->tdef->nfks)
			n->nfk_tables--;
		if (match)
			n->by_id[s->id] = NULL;
		else
			n->scopes[w++] = s;
	}
	n->nscopes = w;
}

struct catalog *cat_without_project(const struct catalog *cat, const char *name, uint64_t seq)
{
	struct catalog *n = cat_clone(cat, seq);
	uint32_t at;

	if (!n)
		return NULL;
	at = cat_project_lb(n, name);
	AEDB_ASSERT(at < n->nprojects && strcmp(n->projects[at]->name, name) == 0);
	memmove(&n->projects[at], &n->projects[at + 1],
		(n->nprojects - at - 1) * sizeof(*n->projects));
	n->nprojects--;
	cat_remove_scopes(n, name, NULL, NULL);
	return n;
}

struct catalog *cat_without_scope(const struct catalog *cat, const char *project,
				  const char *scope, uint64_t seq)
{
	struct catalog *n = cat_clone(cat, seq);

	if (!n)
		return NULL;
	cat_remove_scopes(n, project, scope, NULL);
	return n;
}

struct catalog *cat_with_acc(const struct catalog *cat, const char *project, const char *scope,
			     const char *name, struct cat_adef *adef, uint64_t seq,
			     uint32_t nshards)
{
	struct catalog *n = cat_clone(cat, seq);

	AEDB_ASSERT(adef != NULL && name[0] != '\0');
	AEDB_ASSERT(cat_find_scope(cat, project, scope) != NULL);
	if (!n)
		return NULL;
	if (cat_insert_entry(n, project, scope, name, seq, nshards, NULL) < 0) {
		cat_free(n);
		return NULL;
	}
	cat_find_entry(n, project, scope, name)->adef = adef;
	return n;
}

struct catalog *cat_without_table(const struct catalog *cat, const char *project,
				  const char *scope, const char *table, uint64_t seq)
{
	struct catalog *n = cat_clone(cat, seq);

	AEDB_ASSERT(table[0] != '\0');
	if (!n)
		return NULL;
	cat_remove_scopes(n, project, scope, table);
	return n;
}

void cat_stamp(struct catalog *cat, uint64_t seq)
{
	AEDB_ASSERT(seq > 0);
	cat->seq = seq;
	for (uint32_t i = 0; i < cat->nprojects; i++)
		if (!cat->projects[i]->created_seq)
			cat->projects[i]->created_seq = seq;
	for (uint32_t i = 0; i < cat->nscopes; i++)
		if (!cat->scopes[i]->created_seq)
			cat->scopes[i]->created_seq = seq;
}

/* ---- secondary indexes ---- */

static int cat_index_cmp(const struct cat_scope *s, const struct cat_scope *t, const char *index)
{
	int c = strcmp(s->project, t->project);

	if (c == 0)
		c = strcmp(s->name, t->name);
	if (c == 0)
		c = strcmp(s->table, t->table);
	return c ? c : strcmp(s->index, index);
}

/* Index of the first entry >= (table @t's names, @index). */
static uint32_t cat_index_lb(const struct catalog *cat, const struct cat_scope *t,
			     const char *index)
{
	uint32_t lo = 0, hi = cat->nscopes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (cat_index_cmp(cat->scopes[mid], t, index) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct cat_scope *cat_find_index(const struct catalog *cat, const char *project,
				 const char *scope, const char *table, const char *index)
{
	const struct cat_scope *t = cat_find_table(cat, project, scope, table);
	uint32_t i;

	if (!t || !index[0])
		return NULL;
	i = cat_index_lb(cat, t, index);
	if (i < cat->nscopes && cat_index_cmp(cat->scopes[i], t, index) == 0)
		return cat->scopes[i];
	return NULL;
}

void cat_table_indexes(const struct catalog *cat, const struct cat_scope *t,
		       struct cat_scope *const **first, uint32_t *n)
{
	uint32_t i = cat_index_lb(cat, t, "\x01"), j = i;

	while (j < cat->nscopes && cat->scopes[j]->idef &&
	       strcmp(cat->scopes[j]->table, t->table) == 0 &&
	       strcmp(cat->scopes[j]->name, t->name) == 0 &&
	       strcmp(cat->scopes[j]->project, t->project) == 0)
		j++;
	*first = cat->scopes + i;
	*n = j - i;
}

struct catalog *cat_with_index(const struct catalog *cat, const char *project,
			       const char *scope, const char *table, struct cat_idef *idef,
			       uint64_t seq, uint32_t nshards)
{
	const struct cat_scope *t = cat_find_table(cat, project, scope, table);
	struct catalog *n;
	struct cat_scope *s;
	uint32_t at;

	AEDB_ASSERT(t != NULL && t->tdef != NULL);
	AEDB_ASSERT(cat_find_index(cat, project, scope, table, idef->name) == NULL);
	n = cat_clone(cat, seq);
	s = n ? cat_scope_new(project, scope, n->next_scope_id, seq, nshards) : NULL;
	if (!s) {
		cat_free(n);
		return NULL;
	}
	strcpy(s->table, table);
	strcpy(s->index, idef->name);
	s->idef = idef;
	at = cat_index_lb(n, t, idef->name);
	memmove(&n->scopes[at + 1], &n->scopes[at], (n->nscopes - at) * sizeof(*n->scopes));
	n->scopes[at] = s;
	n->nscopes++;
	n->by_id[n->next_scope_id++] = s;
	return n;
}

struct catalog *cat_without_index(const struct catalog *cat, const struct cat_scope *idx,
				  uint64_t seq)
{
	struct catalog *n = cat_clone(cat, seq);
	uint32_t w = 0;

	AEDB_ASSERT(idx->idef != NULL);
	if (!n)
		return NULL;
	for (uint32_t r = 0; r < n->nscopes; r++)
		if (n->scopes[r] != idx)
			n->scopes[w++] = n->scopes[r];
	AEDB_ASSERT(w + 1 == n->nscopes);
	n->nscopes = w;
	n->by_id[idx->id] = NULL;
	return n;
}

/* ---- ALTER TABLE ---- */

/* A copy of @sc (its partitions included) with @tdef or @idef instead. */
static struct cat_scope *cat_scope_twin(const struct cat_scope *sc, uint32_t nshards,
					struct cat_tdef *tdef, struct cat_idef *idef)
{
	size_t bytes = sizeof(*sc) + nshards * sizeof(sc->parts[0]);
	struct cat_scope *n = malloc(bytes);

	if (!n)
		return NULL;
	memcpy(n, sc, bytes);
	memset(&n->epoch_entry, 0, sizeof(n->epoch_entry));
	n->dropped = 0;
	n->tdef = tdef;
	n->idef = idef;
	return n;
}

/* Swap @old for @n in @cat's arrays. */
static void cat_swap_entry(struct catalog *cat, const struct cat_scope *old, struct cat_scope *n)
{
	for (uint32_t i = 0; i < cat->nscopes; i++)
		if (cat->scopes[i] == old)
			cat->scopes[i] = n;
	cat->by_id[old->id] = n;
}

void cat_altered_free(struct cat_scope *const *olds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (olds[i]->idef)
			cat_idef_free(olds[i]->idef);
		free(olds[i]); /* a table's definition lives on in its twin's history */
	}
}

struct catalog *cat_with_altered(const struct catalog *cat, const struct cat_scope *t,
				 struct cat_tdef *tdef, uint64_t seq, uint32_t nshards,
				 struct cat_scope **olds, uint32_t *nolds)
{
	struct catalog *n = cat_clone(cat, seq);
	struct cat_scope *const *ix;
	struct cat_scope *twins[CAT_INDEXES_MAX + 1];
	uint32_t nix, k = 0;

	if (!n)
		return NULL;
	cat_table_indexes(cat, t, &ix, &nix);
	AEDB_ASSERT(nix <= CAT_INDEXES_MAX);
	for (uint32_t i = 0; i < nix; i++) {
		const struct cat_idef *x = ix[i]->idef;
		struct cat_idef *y = NULL;

		if (cat_idef_decode(&tdef->schema, x->enc, x->enc_len, &y) < 0 ||
		    !(twins[k] = cat_scope_twin(ix[i], nshards, NULL, y))) {
			cat_idef_free(y);
			goto fail;
		}
		y->table_id = x->table_id;
		olds[k++] = ix[i];
	}
	twins[k] = cat_scope_twin(t, nshards, tdef, NULL);
	if (!twins[k])
		goto fail;
	olds[k++] = (struct cat_scope *)t;
	for (uint32_t i = 0; i < k; i++)
		cat_swap_entry(n, olds[i], twins[i]);
	*nolds = k;
	return n;
fail:
	for (uint32_t i = 0; i < k; i++) {
		cat_idef_free(twins[i]->idef);
		free(twins[i]);
	}
	cat_free(n);
	return NULL;
}
