/* SPDX-License-Identifier: MIT */
/* `aedb info DIR`: identity, seqs, checkpoint, WAL and sizes, read-only. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/meta.h"
#include "tools/tool.h"
#include "tools/verify.h"

struct in_shard {
	uint64_t segments, bytes;
};

/* Bytes of every regular file under @path. */
static uint64_t in_du(const char *path)
{
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d = opendir(path);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			sum += in_du(sub);
		else if (S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	}
	closedir(d);
	return sum;
}

static int in_shards(const char *dir, uint32_t n, struct in_shard *sh)
{
	for (uint32_t i = 0; i < n; i++) {
		char **names, path[4096];
		uint32_t k;
		int rc = tool_wal_list(dir, i, &names, &k);

		if (rc < 0)
			return rc;
		sh[i].segments = k;
		for (uint32_t j = 0; j < k; j++) {
			struct stat st;

			snprintf(path, sizeof(path), "%s/wal/%u/%s", dir, i, names[j]);
			if (stat(path, &st) == 0)
				sh[i].bytes += (uint64_t)st.st_size;
			free(names[j]);
		}
		free(names);
	}
	return 0;
}

/* Seconds since the manifest was written (-1: no checkpoint). */
static int64_t in_ckpt_age(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/checkpoint/MANIFEST", dir);
	if (stat(path, &st) < 0)
		return -1;
	return (int64_t)time(NULL) - (int64_t)st.st_mtime;
}

static void in_print(struct aedb *db, const char *dir, const char *id, uint32_t format,
		     const struct in_shard *sh, int json)
{
	uint32_t n = aedb_shard_count(db);
	uint64_t ck = aedb_checkpoint_seq(db), total = in_du(dir);
	char path[4096];
	int64_t age = in_ckpt_age(dir);

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if (json) {
		json_t *arr = json_array();

		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:I,s:I,s:I}", "shard",
							     (json_int_t)i, "wal_segments",
							     (json_int_t)sh[i].segments,
							     "wal_bytes", (json_int_t)sh[i].bytes));
		tool_print_json(json_pack("{s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
					  "shards", (json_int_t)n, "format", (json_int_t)format,
					  "db_id", id, "recovered_seq",
					  (json_int_t)aedb_visible_seq(db), "durable_seq",
					  (json_int_t)aedb_durable_seq(db), "checkpoint_seq",
					  (json_int_t)ck, "checkpoint_age_s", (json_int_t)age,
					  "checkpoint_bytes", (json_int_t)in_du(path),
					  "total_bytes", (json_int_t)total, "wal", arr));
		return;
	}
	printf("shards %u\nformat %u\ndb_id %s\nrecovered_seq %" PRIu64 "\ndurable_seq %" PRIu64
	       "\n", n, format, id, aedb_visible_seq(db), aedb_durable_seq(db));
	if (ck)
		printf("checkpoint_seq %" PRIu64 " (age %" PRId64 " s, %" PRIu64 " bytes)\n", ck,
		       age, in_du(path));
	else
		printf("checkpoint_seq 0 (none)\n");
	for (uint32_t i = 0; i < n; i++)
		printf("shard %u: %" PRIu64 " WAL segments, %" PRIu64 " bytes\n", i,
		       sh[i].segments, sh[i].bytes);
	printf("total_bytes %" PRIu64 "\n", total);
}

int tool_cmd_info(const struct tool_args *a)
{
	struct aedb_open_report rep;
	struct in_shard *sh;
	struct aedb *db;
	uint8_t id[16];
	uint32_t n = 0, format = 0;
	char *hex;
	int rc;

	if (a->argc != 1)
		return tool_fail(TOOL_USAGE, "info DIR");
	rc = tool_open(a->argv[0], &db, &rep);
	if (rc != TOOL_OK)
		return rc;
	rc = api_meta_read(a->argv[0], &n, id, &format);
	sh = calloc(n ? n : 1, sizeof(*sh));
	hex = tool_hex(id, 16);
	if (rc == 0)
		rc = sh && hex ? in_shards(a->argv[0], n, sh) : -ENOMEM;
	if (rc == 0)
		in_print(db, a->argv[0], hex, format, sh, a->json);
	free(sh);
	free(hex);
	aedb_close(db);
	return rc < 0 ? tool_fail(tool_code(rc), "%s: %s", a->argv[0], aedb_strerror(rc)) : 0;
}
