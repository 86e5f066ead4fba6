/* SPDX-License-Identifier: MIT */
/* The catalog as DDL records: see api/cat_emit.h for the contract. */
#include "api/cat_emit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acc/acc.h"
#include "api/catalog.h"
#include "api/idef.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/names.h"
#include "shard/ddl.h"
#include "wal/record.h"

struct cat_emit {
	const struct catalog *cat;
	uint8_t *done;           /* per project (cat->projects order): emitted */
	cat_emit_fn fn;
	void *arg;
};

static uint32_t cat_emit_project_index(const struct catalog *cat, const char *name)
{
	uint32_t lo = 0, hi = cat->nprojects;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(cat->projects[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	AEDB_ASSERT(lo < cat->nprojects && strcmp(cat->projects[lo]->name, name) == 0);
	return lo;
}

/* CREATE_PROJECT for project @i: @ns is its "app" scope's id, or 0 when
 * that scope was dropped (the loader then creates the project without it). */
static int cat_emit_project(struct cat_emit *e, uint32_t i, uint32_t ns)
{
	const struct cat_project *p = e->cat->projects[i];
	struct wal_rec rec = {
		.type = WAL_REC_DDL, .flags = DDL_CREATE_PROJECT, .ns = ns,
		.seq = p->created_seq ? p->created_seq : 1,
		.key = (const uint8_t *)p->name, .key_len = (uint32_t)strlen(p->name),
		.val = (const uint8_t *)"", .val_len = 0,
	};

	e->done[i] = 1;
	return e->fn(e->arg, &rec);
}

/* The record of one live object (any kind but a project). */
static int cat_emit_entry(struct cat_emit *e, const struct cat_scope *sc)
{
	uint8_t key[3 * (AEDB_NAME_MAX + 1)], def[ACC_DEF_BYTES];
	size_t p = strlen(sc->project), c = strlen(sc->name), t = strlen(sc->table);
	struct wal_rec rec = { .type = WAL_REC_DDL, .ns = sc->id, .seq = sc->created_seq };

	if (sc->table[0] == '\0' && !sc->tdef) {
		rec.flags = DDL_CREATE_SCOPE;
		rec.key = (const uint8_t *)sc->project;
		rec.key_len = (uint32_t)p;
		rec.val = (const uint8_t *)sc->name;
		rec.val_len = (uint32_t)c;
		return e->fn(e->arg, &rec);
	}
	if (sc->tdef && sc->table[0] != '\0') {
		memcpy(key, sc->project, p + 1);
		memcpy(key + p + 1, sc->name, c + 1);
		memcpy(key + p + c + 2, sc->table, t);
		rec.flags = DDL_CREATE_TABLE;
		rec.key = key;
		rec.key_len = (uint32_t)(p + c + t + 2);
		rec.val = sc->tdef->enc;
		rec.val_len = sc->tdef->enc_len;
		return e->fn(e->arg, &rec);
	}
	if (sc->adef) {
		/* An accumulator: the table record layout, its definition. */
		memcpy(key, sc->project, p + 1);
		memcpy(key + p + 1, sc->name, c + 1);
		memcpy(key + p + c + 2, sc->table, t);
		acc_def_encode(sc->adef, def);
		rec.flags = DDL_CREATE_ACC;
		rec.key = key;
		rec.key_len = (uint32_t)(p + c + t + 2);
		rec.val = def;
		rec.val_len = ACC_DEF_BYTES;
		return e->fn(e->arg, &rec);
	}
	if (sc->idef) {
		/* A secondary index: its table's key, its definition. */
		memcpy(key, sc->project, p + 1);
		memcpy(key + p + 1, sc->name, c + 1);
		memcpy(key + p + c + 2, sc->table, t);
		rec.flags = DDL_CREATE_INDEX;
		rec.key = key;
		rec.key_len = (uint32_t)(p + c + t + 2);
		rec.val = sc->idef->enc;
		rec.val_len = sc->idef->enc_len;
		return e->fn(e->arg, &rec);
	}
	/* An object kind without an emitter: refuse (see the contract). */
	return -AEDB_ENOTSUP;
}

static int cat_emit_walk(struct cat_emit *e)
{
	const struct catalog *cat = e->cat;
	int rc = 0;

	for (uint32_t id = 1; rc == 0 && id < cat->next_scope_id; id++) {
		const struct cat_scope *sc = cat->by_id[id];
		uint32_t pi;

		if (!sc)
			continue;
		pi = cat_emit_project_index(cat, sc->project);
		if (!e->done[pi]) {
			int is_app = sc->table[0] == '\0' && !sc->tdef &&
				     strcmp(sc->name, CORE_SCOPE_DEFAULT) == 0;

			rc = cat_emit_project(e, pi, is_app ? id : 0);
			if (rc < 0 || is_app)
				continue;
		}
		if (sc->fkref)
			continue; /* made by its table's record (cat_with_table) */
		rc = cat_emit_entry(e, sc);
	}
	/* Projects left with no object at all (their "app" was dropped). */
	for (uint32_t i = 0; rc == 0 && i < cat->nprojects; i++)
		if (!e->done[i])
			rc = cat_emit_project(e, i, 0);
	return rc;
}

int cat_emit_ddl(const struct catalog *cat, cat_emit_fn fn, void *arg)
{
	struct cat_emit e = { .cat = cat, .fn = fn, .arg = arg };
	int rc;

	AEDB_ASSERT(cat != NULL && fn != NULL);
	e.done = calloc(cat->nprojects ? cat->nprojects : 1, 1);
	if (!e.done)
		return -ENOMEM;
	rc = cat_emit_walk(&e);
	free(e.done);
	return rc;
}
