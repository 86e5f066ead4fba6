/* SPDX-License-Identifier: MIT */
/* Helpers of the foreign-key tests (table_fk_test, table_fk_act_test):
 * parent(id u64 pk, n integer), child(id u64 pk, pid u64 null), rows. */
#ifndef AEDB_TESTS_FK_COMMON_H
#define AEDB_TESTS_FK_COMMON_H

#include "it_common.h"

extern const char *const t_pk_id[];
extern const char *const t_pid[];

struct aedb_value t_null(void);
int t_create_parent(struct aedb *db, const char *project, const char *name);
int t_create_child_fk(struct aedb *db, const char *project, const char *name,
		      const struct aedb_fk_def *fk, uint32_t nfk);
struct aedb_fk_def t_fk(const char *name, const char *parent);
int t_ins(struct aedb *db, const char *table, uint64_t id, const struct aedb_value *pid,
	  struct aedb_commit_result *res);
int t_ins_parent(struct aedb *db, uint64_t id);
int t_exists(struct aedb *db, const char *table, uint64_t id);
int t_delr(struct aedb *db, const char *table, uint64_t id, struct aedb_commit_result *res);

/* A thread of the race tests. */
struct t_racer {
	struct aedb *db;
	uint64_t seed;
	int role;                 /* 0 child inserts, 1 child deletes, 2 parent churn */
	uint64_t next_child;      /* role 0: ids role-0 owns: 1000 * k + n */
	uint32_t bad;             /* unexpected results */
};

#endif
