/* SPDX-License-Identifier: MIT */
/*
 * The catalog: projects and scopes (DESIGN §7). An immutable object; DDL
 * builds a new one and swaps the pointer (release), and the old one is freed
 * after an epoch grace period. Readers load it (acquire) inside an epoch
 * section. Scope objects are shared between catalog versions.
 *
 * A scope's per-shard KV partitions are created lazily by the owning shard on
 * its first write (parts[i] NULL = empty), so creating a scope touches no
 * shard. Dropping one first sets `dropped` (shards then refuse new writes),
 * fences every shard, commits the new catalog at one seq, then has every
 * shard retire its partition.
 */
#ifndef AEDB_API_CATALOG_H
#define AEDB_API_CATALOG_H

#include <ck_epoch.h>
#include <stdint.h>

#include "aedb.h"

struct kvmap;
struct cat_tdef;
struct cat_adef;
struct cat_idef;

/* cat_scope.dropped: a drop has begun (1), or a table is busy (CAT_BUSY):
 * an index is being built or dropped on it, and writes fail -AEDB_EBUSY. */
#define CAT_BUSY 2u

struct cat_scope {
	uint32_t id;             /* namespace id, never reused */
	uint32_t dropped;        /* set (atomic) once a drop has begun */
	uint64_t created_seq;
	char project[AEDB_NAME_MAX + 1];
	char name[AEDB_NAME_MAX + 1];   /* the scope's name */
	char table[AEDB_NAME_MAX + 1];  /* "" for a scope's KV map */
	struct cat_tdef *tdef;          /* tables only; owned */
	struct cat_adef *adef;          /* accumulators only (acc/acc.h); owned */
	/* Secondary indexes (api/idef.h): an index is an entry of its own
	 * (its ns holds the index entries) with `table` = its table's name
	 * and `index` = its name; it sorts right after its table. */
	char index[AEDB_NAME_MAX + 1];  /* "" unless an index */
	struct cat_idef *idef;          /* indexes only; owned */
	uint32_t ixever;                /* table: it has had an index (atomic) */
	/* Table: seq of the catalog that last changed its index set (atomic),
	 * stored before the table's CAT_BUSY mark is cleared. A shard whose
	 * apply round began with an older catalog refuses the table's rows
	 * (-AEDB_EBUSY): that catalog cannot tell their index entries. */
	uint64_t ixseq;
	/* Foreign-key reference counts (txn/fk.c): 1 + the position k of a
	 * foreign key in its table's definition; the entry has `table` = the
	 * child table's name and `index` = "~k" (sorting after its indexes),
	 * and its ns holds, per parent key, how many child rows name it, on
	 * the parent row's shard. Created and dropped with its table. */
	uint32_t fkref;
	ck_epoch_entry_t epoch_entry;
	struct kvmap *parts[];   /* nshards; written by shard i only */
};

struct cat_project {
	uint64_t created_seq;
	ck_epoch_entry_t epoch_entry;
	char name[AEDB_NAME_MAX + 1];
};

struct catalog {
	uint64_t seq;                   /* commit that produced this version */
	uint32_t nprojects;
	uint32_t nscopes;
	uint32_t next_scope_id;         /* ids 1..next_scope_id-1 allocated */
	uint32_t nfk_tables;            /* tables with foreign keys (txn/fk.c skips
					 * its catalog scans when 0) */
	struct cat_project **projects;  /* sorted by name */
	struct cat_scope **scopes;      /* sorted by (project, name, table) */
	struct cat_scope **by_id;       /* [next_scope_id], NULL if dropped */
	ck_epoch_entry_t epoch_entry;
};

/* An empty catalog (version 0). NULL on ENOMEM. */
struct catalog *cat_create_empty(void);
/* Free a catalog version (not the shared project/scope objects). */
void cat_free(struct catalog *cat);
/* Free a catalog version and every project and scope it holds (close). */
void cat_free_deep(struct catalog *cat);

const struct cat_project *cat_find_project(const struct catalog *cat, const char *name);
struct cat_scope *cat_find_scope(const struct catalog *cat, const char *project,
				 const char *scope);
/* Any entry (scope if @table is "", table or accumulator) by name. */
struct cat_scope *cat_find_entry(const struct catalog *cat, const char *project,
				 const char *scope, const char *table);
/* A table (not an accumulator) by name. */
struct cat_scope *cat_find_table(const struct catalog *cat, const char *project,
				 const char *scope, const char *table);
/* An accumulator by name. */
struct cat_scope *cat_find_acc(const struct catalog *cat, const char *project,
			       const char *scope, const char *name);
/* A scope or table by namespace id. */
static inline struct cat_scope *cat_scope_by_id(const struct catalog *cat, uint32_t id)
{
	return id < cat->next_scope_id ? cat->by_id[id] : NULL;
}
/* A scope's KV map by namespace id: NULL for a table's id. */
static inline struct cat_scope *cat_kv_by_id(const struct catalog *cat, uint32_t id)
{
	struct cat_scope *sc = cat_scope_by_id(cat, id);

	return sc && !sc->tdef && !sc->adef && !sc->idef && !sc->fkref ? sc : NULL;
}

/* The reference counts of foreign key @k of table @t (an entry of @cat). */
struct cat_scope *cat_fk_counts(const struct catalog *cat, const struct cat_scope *t,
				uint32_t k);
/* Free a scope or table object and its definition. */
void cat_scope_free(struct cat_scope *sc);

/* Index @index of table @table, or NULL. */
struct cat_scope *cat_find_index(const struct catalog *cat, const char *project,
				 const char *scope, const char *table, const char *index);
/* The indexes of table @t (an entry of @cat): *@n entries from *@first, in
 * name order. */
void cat_table_indexes(const struct catalog *cat, const struct cat_scope *t,
		       struct cat_scope *const **first, uint32_t *n);
/* With index @idef (its name, on table @table, which must exist); the new
 * object takes ownership of @idef. */
struct catalog *cat_with_index(const struct catalog *cat, const char *project,
			       const char *scope, const char *table, struct cat_idef *idef,
			       uint64_t seq, uint32_t nshards);
struct catalog *cat_without_index(const struct catalog *cat, const struct cat_scope *idx,
				  uint64_t seq);

/* ALTER TABLE: with table @t's definition replaced by @tdef (whose history
 * holds @t's) and each of @t's indexes' definitions decoded again against
 * it. The table and its indexes become twins of the objects (their
 * partitions moved, not copied); the replaced objects are listed in
 * @olds[0..*@nolds) (room for CAT_INDEXES_MAX + 1): free them with
 * cat_altered_free() once no reader can hold them, which frees neither
 * their partitions nor the table's definition. NULL on ENOMEM or if an
 * index does not decode against @tdef (nothing changes). */
struct catalog *cat_with_altered(const struct catalog *cat, const struct cat_scope *t,
				 struct cat_tdef *tdef, uint64_t seq, uint32_t nshards,
				 struct cat_scope **olds, uint32_t *nolds);
void cat_altered_free(struct cat_scope *const *olds, uint32_t n);

/* Give a built-but-unpublished catalog its commit seq: sets cat->seq and the
 * created_seq of objects made for it (those still at 0). */
void cat_stamp(struct catalog *cat, uint64_t seq);

/* Copy-on-write edits: each returns a new catalog at @seq or NULL on ENOMEM;
 * @cat is unchanged. New objects are allocated here. */
struct catalog *cat_with_project(const struct catalog *cat, const char *name, uint64_t seq,
				 uint32_t nshards);
struct catalog *cat_with_scope(const struct catalog *cat, const char *project,
			       const char *scope, uint64_t seq, uint32_t nshards);
/* With table @tdef->schema.name in @project/@scope (which must exist); the
 * new object takes ownership of @tdef. A table with foreign keys gets one
 * reference-count entry per key first (ids id-nfks..id-1), so the table's
 * id is still the catalog's last. */
struct catalog *cat_with_table(const struct catalog *cat, const char *project,
			       const char *scope, struct cat_tdef *tdef, uint64_t seq,
			       uint32_t nshards);
/* With accumulator @name in @project/@scope (which must exist, without an
 * entry of that name); the new object takes ownership of @adef. */
struct catalog *cat_with_acc(const struct catalog *cat, const char *project, const char *scope,
			     const char *name, struct cat_adef *adef, uint64_t seq,
			     uint32_t nshards);
/* Without table or accumulator @table. */
struct catalog *cat_without_table(const struct catalog *cat, const char *project,
				  const char *scope, const char *table, uint64_t seq);
/* Without the project and all its scopes. */
struct catalog *cat_without_project(const struct catalog *cat, const char *name, uint64_t seq);
struct catalog *cat_without_scope(const struct catalog *cat, const char *project,
				  const char *scope, uint64_t seq);

#endif
