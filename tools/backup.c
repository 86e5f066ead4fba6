/* SPDX-License-Identifier: MIT */
/*
 * `aedb backup DIR DEST [--incremental BASE | --archive]`, over the public
 * API (aedb_backup(), aedb_backup_incremental(), aedb_backup_to_file());
 * restore is in tools/restore.c.
 *
 * A directory nobody has open is opened as a writer and backed up hot. One
 * that another process has open (-AEDB_ELOCKED) cannot be: the backup then
 * copies its files - identity, backup pin, current checkpoint, WAL - into a
 * staging directory beside DEST without writing anything in DIR, reading
 * the manifest before and after so that no checkpoint completed in between
 * (else the copy is retried), opens the copy (recovery cuts a torn tail)
 * and backs that up into DEST. The state backed up is then a prefix of the
 * commits on disk during the copy.
 *
 * Both opens set cfg.backup_wal_pin: a backup taken here records its pin,
 * so the WAL the next incremental needs is kept by an application that
 * runs with the pin too, and recovery of a staged copy keeps the segments
 * below its checkpoint that DIR's pin kept (an incremental may need them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/meta.h"
#include "tools/tool.h"
#include "tools/verify.h"

#define BK_ATTEMPTS 5

static int bk_copy(const char *src, const char *dst)
{
	char buf[1 << 16];
	int in = open(src, O_RDONLY | O_CLOEXEC), out, rc = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	close(out);
	return rc;
}

static int bk_copy_rel(const char *from, const char *to, const char *rel)
{
	char src[4352], dst[4352];

	snprintf(src, sizeof(src), "%s/%s", from, rel);
	snprintf(dst, sizeof(dst), "%s/%s", to, rel);
	return bk_copy(src, dst);
}

/* The bytes of @dir/checkpoint/MANIFEST (*@len 0: none). */
static int bk_manifest(const char *dir, uint8_t *buf, size_t cap, size_t *len)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/checkpoint/MANIFEST", dir);
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	*len = (size_t)n;
	return 0;
}

/* The checkpoint directory named by the manifest: its seq is at offset 16. */
static int bk_copy_ckpt(const char *dir, const char *stage, const uint8_t *man, size_t len,
			uint32_t nshards)
{
	char rel[4352]; /* @stage (< 4096) and a relative path */
	uint64_t seq;
	int rc;

	if (len == 0)
		return 0;
	if (len < 24)
		return -AEDB_ECORRUPT;
	memcpy(&seq, man + 16, 8);
	snprintf(rel, sizeof(rel), "%s/checkpoint", stage);
	if (mkdir(rel, 0700) < 0)
		return -errno;
	snprintf(rel, sizeof(rel), "%s/checkpoint/%020" PRIu64, stage, seq);
	if (mkdir(rel, 0700) < 0)
		return -errno;
	rc = bk_copy_rel(dir, stage, "checkpoint/MANIFEST");
	for (uint32_t i = 0; rc == 0 && i < nshards; i++) {
		snprintf(rel, sizeof(rel), "checkpoint/%020" PRIu64 "/%u.ckpt", seq, i);
		rc = bk_copy_rel(dir, stage, rel);
	}
	return rc;
}

static int bk_copy_wal(const char *dir, const char *stage, uint32_t nshards)
{
	char rel[4352]; /* @stage (< 4096) and a relative path */
	int rc;

	snprintf(rel, sizeof(rel), "%s/wal", stage);
	rc = mkdir(rel, 0700) < 0 ? -errno : 0;
	for (uint32_t i = 0; rc == 0 && i < nshards; i++) {
		char **names;
		uint32_t n;

		snprintf(rel, sizeof(rel), "%s/wal/%u", stage, i);
		rc = mkdir(rel, 0700) < 0 ? -errno : tool_wal_list(dir, i, &names, &n);
		for (uint32_t k = 0; k < n && rc == 0; k++) {
			snprintf(rel, sizeof(rel), "wal/%u/%s", i, names[k]);
			rc = bk_copy_rel(dir, stage, rel);
		}
		for (uint32_t k = 0; rc >= 0 && k < n; k++)
			free(names[k]);
		if (rc >= 0)
			free(names);
	}
	return rc;
}

/* backup.pin, if DIR has one (it is written by rename: whole or absent). */
static int bk_copy_pin(const char *dir, const char *stage)
{
	int rc = bk_copy_rel(dir, stage, "backup.pin");

	return rc == -ENOENT ? 0 : rc;
}

static void bk_rmtree(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);

	while (d && (de = readdir(d))) {
		char sub[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			bk_rmtree(sub);
		else
			unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* One consistent copy of @dir into the new directory @stage. */
static int bk_stage(const char *dir, const char *stage, uint32_t nshards)
{
	uint8_t m0[4096], m1[4096];
	size_t l0 = 0, l1 = 0;
	int rc = -AEDB_EBUSY;

	for (int i = 0; i < BK_ATTEMPTS && rc == -AEDB_EBUSY; i++) {
		bk_rmtree(stage);
		rc = mkdir(stage, 0700) < 0 ? -errno : bk_manifest(dir, m0, sizeof(m0), &l0);
		if (rc == 0)
			rc = bk_copy_rel(dir, stage, "aedb.meta");
		if (rc == 0)
			rc = bk_copy_pin(dir, stage);
		if (rc == 0)
			rc = bk_copy_ckpt(dir, stage, m0, l0, nshards);
		if (rc == 0)
			rc = bk_copy_wal(dir, stage, nshards);
		if (rc == 0)
			rc = bk_manifest(dir, m1, sizeof(m1), &l1);
		/* A checkpoint completed meanwhile (files vanished or the
		 * manifest moved): the copy may have a gap. Again. */
		if (rc == -ENOENT || (rc == 0 && (l0 != l1 || memcmp(m0, m1, l0))))
			rc = -AEDB_EBUSY;
	}
	return rc;
}

/* What to take: a full backup, an incremental after @base, or an archive. */
struct bk_what {
	const char *base;
	int archive;
};

static int bk_hot(const char *dir, const char *dest, const struct bk_what *w,
		  struct aedb_backup_result *res)
{
	struct aedb_config cfg;
	struct aedb *db;
	int rc;

	aedb_config_init(&cfg);
	cfg.backup_wal_pin = 1;
	rc = aedb_open(dir, &cfg, &db);
	if (rc < 0)
		return rc;
	if (w->base)
		rc = aedb_backup_incremental(db, w->base, dest, res);
	else if (w->archive)
		rc = aedb_backup_to_file(db, dest, res);
	else
		rc = aedb_backup(db, dest, res);
	aedb_close(db);
	return rc;
}

static const char *bk_kind(const struct bk_what *w)
{
	return w->base ? "incremental backup" : w->archive ? "archive" : "backup";
}

int tool_cmd_backup(const struct tool_args *a)
{
	struct aedb_backup_result res = { 0 };
	struct bk_what w = { a->base, a->archive };
	const char *dir, *dest;
	char stage[4096];
	uint8_t id[16];
	uint32_t n = 0;
	int rc;

	if (a->argc != 2)
		return tool_fail(TOOL_USAGE, "backup DIR DEST [--incremental BASE | --archive]");
	if (a->base && a->archive)
		return tool_fail(TOOL_USAGE, "--incremental and --archive exclude each other");
	if (a->seq || a->has_time || a->project || a->scope)
		return tool_fail(TOOL_USAGE, "--seq, --at-time, --project and --scope are "
					     "restore options");
	dir = a->argv[0];
	dest = a->argv[1];
	rc = api_meta_read(dir, &n, id, NULL); /* never create DIR */
	if (rc == -ENOENT)
		return tool_fail(TOOL_IO, "%s: not a data directory (no aedb.meta)", dir);
	if (rc < 0)
		return tool_fail(tool_code(rc), "%s: %s", dir, aedb_strerror(rc));
	rc = bk_hot(dir, dest, &w, &res);
	if (rc == -AEDB_ELOCKED) {
		snprintf(stage, sizeof(stage), "%s.staging-%ld", dest, (long)getpid());
		rc = bk_stage(dir, stage, n);
		if (rc == 0)
			rc = bk_hot(stage, dest, &w, &res);
		bk_rmtree(stage);
	}
	if (rc == -AEDB_ESEQGC)
		return tool_fail(TOOL_REFUSED, "%s of %s into %s: the WAL after %s was "
					       "reclaimed by a checkpoint: take a full backup",
				 bk_kind(&w), dir, dest, w.base);
	if (rc < 0)
		return tool_fail(tool_code(rc), "%s of %s into %s: %s", bk_kind(&w), dir, dest,
				 aedb_strerror(rc));
	if (a->json)
		tool_print_json(json_pack("{s:I,s:I,s:I,s:I}", "checkpoint_seq",
					  (json_int_t)res.checkpoint_seq, "to_seq",
					  (json_int_t)res.to_seq, "files", (json_int_t)res.files,
					  "bytes", (json_int_t)res.bytes));
	else
		printf("ok checkpoint_seq=%" PRIu64 " to_seq=%" PRIu64 " files=%u bytes=%" PRIu64
		       "\n",
		       res.checkpoint_seq, res.to_seq, res.files, res.bytes);
	return TOOL_OK;
}
