/* SPDX-License-Identifier: MIT */
/*
 * Backups (docs/OPERATIONS.md "Backups"): the BACKUP list and file helpers
 * shared by full backups (api/backup.c), incremental backups and chain
 * restore (api/backup_chain.c) and single-file archives (api/backup_arc.c).
 */
#ifndef AEDB_API_BACKUP_H
#define AEDB_API_BACKUP_H

#include <stdint.h>

#define BK_NAME "BACKUP"
#define BK_PATH_MAX 96u
#define BK_FILES_MAX 65536u

enum { BK_FULL = 1, BK_INCR = 2 };

struct bk_file {
	char path[BK_PATH_MAX];   /* relative, NUL-terminated */
	uint64_t size;
	uint32_t crc;
	uint32_t pad;
};

/* The header of BACKUP (little-endian, as written). */
struct bk_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t nfiles;
	uint64_t seq;             /* the checkpoint a restore starts from */
	uint8_t db_id[16];
	uint32_t nshards;
	uint32_t kind;            /* BK_FULL or BK_INCR */
	uint8_t id[16];           /* this backup's random id */
	uint8_t base_id[16];      /* BK_INCR: the id of the backup it follows */
	uint64_t from_seq;        /* every commit from_seq..to_seq is in it */
	uint64_t to_seq;          /* (a full backup: 1..to_seq) */
	uint64_t created_ns;      /* CLOCK_REALTIME when it was taken (a full
				   * backup: after its checkpoint was written,
				   * so every commit <= seq was stamped before) */
};

struct bk_list {
	struct bk_file *files;
	uint32_t n, cap;
};

int api_bk_push(struct bk_list *l, const char *path);
/* A path we wrote: components of [A-Za-z0-9._-], no "." or "..", relative,
 * at most three deep. */
int api_bk_path_ok(const char *p);
/* mkdir -p of the directories of relative @path under @root. */
int api_bk_mkdirs(const char *root, const char *path);
/* An empty (or missing: created) directory; -AEDB_EEXIST if not empty. */
int api_bk_empty_dir(const char *dir);
/* fsync every directory the files of @l live in, and @root. */
int api_bk_sync_dirs(const char *root, const struct bk_list *l);
/* Copy the files of @l from @from to @to (NULL: only read them). With
 * @verify, each must match its size and CRC (-AEDB_ECORRUPT); else the
 * list receives what was copied. A file that exists at @to is replaced. */
int api_bk_copy_all(const char *from, const char *to, struct bk_list *l, int verify);
/* Write BACKUP into @dir (temp, fsync, rename, directory fsync). */
int api_bk_write_list(const char *dir, const struct bk_hdr *h, const struct bk_list *l);
/* Read and check BACKUP of @dir. 0, -AEDB_ECORRUPT, -AEDB_EINCOMPAT (a
 * format version this build does not read), -ENOMEM or -errno. */
int api_bk_read_list(const char *dir, struct bk_hdr *h, struct bk_list *l);
/* rm -rf @path (of a directory this module made or emptied), keeping the
 * directory itself with @keep_root. */
void api_bk_rmrf(const char *path, int keep_root);
/* Complete a backup in @dir whose files @l were copied (@rc: how that
 * went): header fields of @db, directory fsyncs, the BACKUP list, @res.
 * Frees @l's files. Returns @rc or the first error after it. */
struct aedb;
struct aedb_backup_result;
int api_bk_finish(struct aedb *db, const char *dir, struct bk_hdr *h, struct bk_list *l, int rc,
		  struct aedb_backup_result *res);
/* fsync directory @dir. */
int api_bk_fsync_dir(const char *dir);
/* Fill the identity fields of a new header (magic, version, id, time). */
void api_bk_hdr_init(struct bk_hdr *h, uint32_t kind);
/* Add to @l the WAL segments of data directory @root that can hold seqs in
 * @from..@to (every one: 0, UINT64_MAX). */
int api_bk_collect_wal(const char *root, uint32_t nshards, uint64_t from, uint64_t to,
		       struct bk_list *l);
/* Cut the WAL copied into data directory @dir back to exactly @seq
 * (api/backup_chain.c). */
int api_bk_wal_cut(const char *dir, uint32_t nshards, uint64_t seq);
/* The seq a verified chain (@dirs, headers @h, lists @l, @n backups) restores
 * to for wall-clock time @t (ns): the largest S with every commit 1..S
 * stamped at or before @t, at most the chain's end (api/backup_time.c).
 * 0, -AEDB_ESEQGC (@t before the full backup was taken), -AEDB_ECORRUPT (a
 * damaged frame), -AEDB_EINCOMPAT (a segment of another format), -errno. */
int api_bk_time_seq(const char *const *dirs, const struct bk_hdr *h, const struct bk_list *l,
		    uint32_t n, uint64_t t, uint64_t *seq);

#endif
