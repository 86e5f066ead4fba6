/* SPDX-License-Identifier: MIT */
/*
 * Restore of one project or one scope (docs/OPERATIONS.md "Restore of one
 * project or scope"). The whole backup is restored into a private directory
 * `<target>.scope-XXXXXX` beside the target (same file system), opened, every
 * other project and scope is dropped (the "_global" scopes that kept tables
 * name by foreign key stay), a checkpoint is taken, and the target is built
 * from that checkpoint and aedb.meta alone, with an empty WAL: no segment of
 * the full restore (which holds the dropped tenants' records) is carried
 * over. The private directory is removed on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aedb.h"
#include "api/backup.h"
#include "core/assert.h"

#define SC_PATH 4096
#define SC_KEEP_MAX 4096u

/* The (project, scope) pairs kept. Names point into the lists in @owned. */
struct sc_keep {
	const char *p[SC_KEEP_MAX];
	const char *s[SC_KEEP_MAX];
	uint32_t n;
	struct aedb_names *owned[SC_KEEP_MAX];
	uint32_t nowned;
	struct aedb_table_info *infos[SC_KEEP_MAX];
	uint32_t ninfos;
};

static int sc_kept(const struct sc_keep *k, const char *p, const char *s)
{
	for (uint32_t i = 0; i < k->n; i++)
		if (strcmp(k->p[i], p) == 0 && (!s || strcmp(k->s[i], s) == 0))
			return 1;
	return 0;
}

static int sc_add(struct sc_keep *k, const char *p, const char *s)
{
	if (sc_kept(k, p, s))
		return 0;
	if (k->n == SC_KEEP_MAX)
		return -AEDB_ETOOBIG;
	k->p[k->n] = p;
	k->s[k->n++] = s;
	return 0;
}

/* Add the "_global" scopes that the tables of kept scope @i name by foreign
 * key. A key into a scope of the same project that is not kept is left to
 * the drop, which refuses it with -AEDB_EDEPEND. */
static int sc_fk_closure(struct aedb *db, struct sc_keep *k, uint32_t i)
{
	struct aedb_names *ts;
	int rc = aedb_list_tables(db, k->p[i], k->s[i], &ts);

	if (rc < 0)
		return rc;
	for (uint32_t t = 0; rc == 0 && t < ts->count; t++) {
		struct aedb_table_info *ti;

		rc = aedb_describe_table(db, k->p[i], k->s[i], ts->names[t], &ti);
		if (rc < 0)
			break;
		if (k->ninfos == SC_KEEP_MAX) {
			aedb_table_info_free(ti);
			rc = -AEDB_ETOOBIG;
			break;
		}
		k->infos[k->ninfos++] = ti; /* its names stay valid until the end */
		for (uint32_t f = 0; rc == 0 && f < ti->nfks; f++) {
			const struct aedb_fk_def *fk = &ti->fks[f];
			const char *p = fk->ref_project ? fk->ref_project : k->p[i];

			if (strcmp(p, "_global") == 0)
				rc = sc_add(k, p, fk->ref_scope ? fk->ref_scope : k->s[i]);
		}
	}
	aedb_names_free(ts);
	return rc;
}

/* The kept set: @scope of @project (NULL: every scope of it), then the
 * "_global" scopes named by foreign key, transitively. */
static int sc_keep_set(struct aedb *db, struct sc_keep *k, const char *project,
		       const char *scope)
{
	int rc = aedb_project_exists(db, project);

	if (rc <= 0)
		return rc < 0 ? rc : -AEDB_ENOPROJECT;
	if (scope) {
		rc = aedb_scope_exists(db, project, scope);
		if (rc <= 0)
			return rc < 0 ? rc : -AEDB_ENOSCOPE;
		rc = sc_add(k, project, scope);
	} else {
		struct aedb_names *ss;

		rc = aedb_list_scopes(db, project, &ss);
		if (rc < 0)
			return rc;
		k->owned[k->nowned++] = ss;
		for (uint32_t i = 0; rc == 0 && i < ss->count; i++)
			rc = sc_add(k, project, ss->names[i]);
	}
	for (uint32_t i = 0; rc == 0 && i < k->n; i++)
		rc = sc_fk_closure(db, k, i);
	return rc;
}

/* One pass of drops over everything not kept. Returns how many were
 * dropped, or < 0; *@depend counts those refused with -AEDB_EDEPEND (a
 * foreign key from something dropped later, or from a kept table). */
static int sc_drop_pass(struct aedb *db, const struct sc_keep *k, uint32_t *depend)
{
	struct aedb_names *ps;
	int rc = aedb_list_projects(db, &ps), done = 0;

	if (rc < 0)
		return rc;
	*depend = 0;
	for (uint32_t i = 0; rc >= 0 && i < ps->count; i++) {
		const char *p = ps->names[i];
		struct aedb_names *ss;

		if (!sc_kept(k, p, NULL)) {
			rc = aedb_drop_project(db, p);
		} else {
			rc = aedb_list_scopes(db, p, &ss);
			if (rc < 0)
				break;
			for (uint32_t s = 0; rc >= 0 && s < ss->count; s++) {
				if (sc_kept(k, p, ss->names[s]))
					continue;
				rc = aedb_drop_scope(db, p, ss->names[s]);
				if (rc == -AEDB_EDEPEND) {
					(*depend)++;
					rc = 0;
				} else if (rc > 0) {
					done++;
				}
			}
			aedb_names_free(ss);
			continue;
		}
		if (rc == -AEDB_EDEPEND) {
			(*depend)++;
			rc = 0;
		} else if (rc > 0) {
			done++;
		}
	}
	aedb_names_free(ps);
	return rc < 0 ? rc : done;
}

/* Drop everything not kept, in whatever order the foreign keys allow. */
static int sc_drop_others(struct aedb *db, const struct sc_keep *k)
{
	for (;;) {
		uint32_t depend;
		int rc = sc_drop_pass(db, k, &depend);

		if (rc < 0)
			return rc;
		if (depend == 0)
			return 0;
		if (rc == 0)
			return -AEDB_EDEPEND; /* a kept table names a dropped scope */
	}
}

static void sc_keep_free(struct sc_keep *k)
{
	for (uint32_t i = 0; i < k->ninfos; i++)
		aedb_table_info_free(k->infos[i]);
	for (uint32_t i = 0; i < k->nowned; i++)
		aedb_names_free(k->owned[i]);
}

/* Open the full restore @dir, drop everything but the kept set, checkpoint,
 * close. Idempotency keys are not carried (window 0: the checkpoint holds
 * none; they cannot be told apart by tenant). */
static int sc_clean(const char *dir, const char *project, const char *scope)
{
	struct aedb_config cfg;
	struct sc_keep *k = calloc(1, sizeof(*k));
	struct aedb *db;
	int rc, crc;

	if (!k)
		return -ENOMEM;
	aedb_config_init(&cfg);
	cfg.idempotency_window = 0;
	cfg.checkpoint_wal_bytes = 0;
	cfg.backup_wal_pin = 0;
	rc = aedb_open(dir, &cfg, &db);
	if (rc < 0) {
		free(k);
		return rc;
	}
	rc = sc_keep_set(db, k, project, scope);
	if (rc == 0)
		rc = sc_drop_others(db, k);
	if (rc == 0)
		rc = aedb_checkpoint_now(db, NULL);
	sc_keep_free(k);
	free(k);
	crc = aedb_close(db);
	return rc < 0 ? rc : crc;
}

/* @a followed by @b into @buf (SC_PATH bytes). */
static int sc_join(char *buf, const char *a, const char *b)
{
	int n = snprintf(buf, SC_PATH, "%s%s", a, b);

	return n < 0 || n >= SC_PATH ? -ENAMETOOLONG : 0;
}

static int sc_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Build @out from the checkpoint and aedb.meta of @full (moved, not
 * copied) and an empty wal/, then move @out onto @target. */
static int sc_assemble(const char *full, const char *out, const char *target, const char *tmp)
{
	static const char *const moved[2] = { "/aedb.meta", "/checkpoint" };
	char a[SC_PATH], b[SC_PATH];
	int rc = mkdir(out, 0700) < 0 ? -errno : 0;

	for (uint32_t i = 0; rc == 0 && i < 2; i++) {
		rc = sc_join(a, full, moved[i]);
		if (rc == 0)
			rc = sc_join(b, out, moved[i]);
		if (rc == 0 && rename(a, b) < 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = sc_join(b, out, "/wal");
	if (rc == 0 && mkdir(b, 0700) < 0)
		rc = -errno;
	if (rc == 0)
		rc = sc_fsync_path(b);
	if (rc == 0)
		rc = sc_fsync_path(out);
	if (rc == 0)
		rc = sc_fsync_path(tmp);
	/* An empty existing target is replaced; a missing one is made. */
	if (rc == 0 && rename(out, target) < 0)
		rc = errno == ENOTEMPTY || errno == EEXIST ? -AEDB_EEXIST : -errno;
	return rc;
}

/* The parent directory of @path (".": none) into @buf. */
static void sc_parent(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/* 1: @dir is missing, 0: it exists and is empty, -AEDB_EEXIST: not empty. */
static int sc_target_state(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return errno == ENOENT ? 1 : -errno;
	if (!S_ISDIR(st.st_mode))
		return -AEDB_EEXIST;
	return api_bk_empty_dir(dir);
}

static int sc_restore_full(const char *const *dirs, uint32_t ndirs, const char *full,
			   uint64_t seq, uint64_t time_ns, uint64_t *restored_seq)
{
	struct stat st;

	if (ndirs == 1 && stat(dirs[0], &st) == 0 && S_ISREG(st.st_mode))
		return time_ns ? aedb_restore_from_file_at_time(dirs[0], full, time_ns,
								restored_seq)
			       : aedb_restore_from_file(dirs[0], full, seq, restored_seq);
	return time_ns ? aedb_restore_chain_at_time(dirs, ndirs, full, time_ns, restored_seq)
		       : aedb_restore_chain(dirs, ndirs, full, seq, restored_seq);
}

AEDB_API int aedb_restore_scope(const char *const *dirs, uint32_t ndirs, const char *target_dir,
				const char *project, const char *scope, uint64_t seq,
				uint64_t time_ns, uint64_t *restored_seq)
{
	char tmp[SC_PATH], full[SC_PATH], out[SC_PATH], parent[SC_PATH];
	uint64_t at = 0;
	size_t n;
	int rc;

	if (!dirs || !ndirs || !dirs[0] || !target_dir || !*target_dir || !project ||
	    (scope && !*scope) ||
	    (seq && time_ns) || strlen(target_dir) > 3900)
		return -AEDB_EMISUSE;
	n = strlen(target_dir);
	while (n > 1 && target_dir[n - 1] == '/')
		n--;
	snprintf(out, sizeof(out), "%.*s", (int)n, target_dir);
	rc = sc_target_state(out);
	if (rc < 0)
		return rc;
	if (sc_join(tmp, out, ".scope-XXXXXX") < 0 || sc_join(full, out, ".scope-XXXXXX/full") < 0)
		return -ENAMETOOLONG;
	if (!mkdtemp(tmp))
		return -errno;
	memcpy(full, tmp, strlen(tmp)); /* the same prefix, then "/full" */
	rc = sc_restore_full(dirs, ndirs, full, seq, time_ns, &at);
	if (rc == 0)
		rc = sc_clean(full, project, scope);
	if (rc == 0) {
		char staged[SC_PATH];

		rc = sc_join(staged, tmp, "/out");
		if (rc == 0)
			rc = sc_assemble(full, staged, out, tmp);
	}
	api_bk_rmrf(tmp, 0);
	sc_parent(out, parent, sizeof(parent));
	if (rc == 0)
		rc = sc_fsync_path(parent);
	if (rc == 0 && restored_seq)
		*restored_seq = at;
	AEDB_ASSERT(rc <= 0);
	return rc;
}
