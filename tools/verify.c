/* SPDX-License-Identifier: MIT */
/*
 * `aedb verify DIR`: check every checksum of a data directory offline and
 * read-only - aedb.meta, checkpoint/MANIFEST, every block of every
 * checkpoint file, every segment header and WAL frame - then a full strict
 * read-only recovery. Reports the file and offset of the first damage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/meta.h"
#include "tools/tool.h"
#include "tools/verify.h"
#include "wal/ckpt.h"
#include "wal/frame.h"
#include "wal/manifest.h"

#define VF_ATTEMPTS 4

static void vf_damage(struct tool_verify *v, const char *file, uint64_t off, const char *what)
{
	if (v->damaged++)
		return;
	snprintf(v->file, sizeof(v->file), "%s", file);
	v->offset = off;
	snprintf(v->what, sizeof(v->what), "%s", what);
}

static int vf_checkpoint(struct tool_verify *v, const char *dir)
{
	struct wal_manifest m;
	char path[4096], rel[64];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = wal_manifest_read(fd, v->db_id, v->nshards, &m);
	close(fd);
	if (rc <= 0) {
		if (rc < 0)
			vf_damage(v, "checkpoint/MANIFEST", 0, aedb_strerror(rc));
		return 0;
	}
	v->checkpoint_seq = m.seq;
	for (uint32_t i = 0; i < v->nshards; i++) {
		struct ckpt_reader r;
		struct ckpt_blk_hdr h;
		const uint8_t *raw;
		struct stat st;

		snprintf(rel, sizeof(rel), "checkpoint/%020" PRIu64 "/%u.ckpt", m.seq, i);
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
		if (stat(path, &st) < 0) {
			vf_damage(v, rel, 0, "missing checkpoint file");
			continue;
		}
		if ((uint64_t)st.st_size != m.files[i].file_bytes)
			vf_damage(v, rel, (uint64_t)st.st_size, "size differs from the manifest");
		rc = wal_ckpt_reader_open(&r, path, i, v->nshards, v->db_id, m.seq);
		while (rc == 0 && (rc = wal_ckpt_reader_next(&r, &h, &raw)) == 1) {
			v->checkpoint_blocks++;
			rc = 0;
		}
		if (rc < 0)
			vf_damage(v, rel, r.bad_off, "bad checkpoint block or header");
		wal_ckpt_reader_close(&r);
	}
	return 0;
}

static int vf_seg_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The segment names of shard @i's WAL, sorted (names are fixed-width). */
int tool_wal_list(const char *dir, uint32_t i, char ***out, uint32_t *n)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/wal/%u", dir, i);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char **g;

		if (strlen(de->d_name) != 24 || strcmp(de->d_name + 20, ".seg") != 0)
			continue;
		g = realloc(*out, (*n + 1) * sizeof(*g));
		if (!g || !(g[*n] = strdup(de->d_name))) {
			*out = g ? g : *out;
			closedir(d);
			return -ENOMEM;
		}
		*out = g;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), vf_seg_cmp);
	return 0;
}

/* Frames of one mapped segment; *@last is the shard's last seq so far. */
static void vf_frames(struct tool_verify *v, const char *rel, const uint8_t *map, size_t size,
		      int is_last, uint64_t *last)
{
	size_t off = WAL_SEG_HDR_BYTES;

	for (;;) {
		struct wal_frame_hdr h;
		enum wal_frame_status st = wal_frame_check(map + off, size - off, &h);

		if (st == WAL_FRAME_OK) {
			if (h.first_seq <= *last) {
				vf_damage(v, rel, off, "sequence going backwards");
				return;
			}
			*last = h.first_seq + h.count - 1;
			v->frames++;
			v->log_bytes += WAL_FRAME_HDR_BYTES + h.len;
			off += WAL_FRAME_HDR_BYTES + h.len;
			continue;
		}
		if (!is_last && st == WAL_FRAME_END)
			return;
		if (is_last && !wal_frame_synced_past(map, size, off)) {
			v->torn_tails += st != WAL_FRAME_END;
			return;
		}
		vf_damage(v, rel, off, st == WAL_FRAME_END ? "zeroed synced frame" :
				       st == WAL_FRAME_TORN ? "truncated frame" : "bad frame");
		return;
	}
}

static int vf_segment(struct tool_verify *v, const char *dir, uint32_t shard, const char *name,
		      int first, int is_last, uint64_t *last)
{
	char path[4096], rel[64];
	struct wal_seg_hdr h;
	struct stat st;
	uint8_t *map;
	int fd;

	snprintf(rel, sizeof(rel), "wal/%u/%s", shard, name);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		return e;
	}
	v->segments++;
	v->wal_file_bytes += (uint64_t)st.st_size;
	map = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	if ((size_t)st.st_size < sizeof(h)) {
		if (!is_last || st.st_size)
			vf_damage(v, rel, 0, "segment shorter than its header");
	} else {
		memcpy(&h, map, sizeof(h));
		if (wal_seg_hdr_check(&h, shard, v->nshards) == -AEDB_EINCOMPAT)
			vf_damage(v, rel, 0, "segment of another format version");
		else if (wal_seg_hdr_check(&h, shard, v->nshards) < 0 ||
		    memcmp(h.db_id, v->db_id, 16) || h.first_seq != strtoull(name, NULL, 10))
			vf_damage(v, rel, 0, "bad segment header");
		else if (!first && h.prev_last_seq != *last)
			vf_damage(v, rel, 0, "missing segment before this one");
		else if (first && h.prev_last_seq > v->checkpoint_seq)
			vf_damage(v, rel, 0, "segments missing since the checkpoint");
		else
			vf_frames(v, rel, map, (size_t)st.st_size, is_last, last);
	}
	if (map)
		munmap(map, (size_t)st.st_size);
	return 0;
}

static int vf_wal(struct tool_verify *v, const char *dir)
{
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < v->nshards; i++) {
		uint64_t last = 0;
		char **names;
		uint32_t n;

		rc = tool_wal_list(dir, i, &names, &n);
		for (uint32_t k = 0; rc == 0 && k < n; k++)
			rc = vf_segment(v, dir, i, names[k], k == 0, k + 1 == n, &last);
		for (uint32_t k = 0; k < n; k++)
			free(names[k]);
		free(names);
	}
	return rc;
}

static int vf_files(struct tool_verify *v, const char *dir)
{
	uint32_t version = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = api_meta_read(dir, &v->nshards, v->db_id, &version);
	v->format = version;
	if (rc == -ENOENT) {
		char wal[4096];

		snprintf(wal, sizeof(wal), "%s/wal", dir);
		if (access(wal, F_OK) == 0) {
			vf_damage(v, "aedb.meta", 0, "missing beside a WAL");
			return 0;
		}
	}
	if (rc == -AEDB_ECORRUPT || rc == -AEDB_EINCOMPAT) {
		vf_damage(v, "aedb.meta", 0, aedb_strerror(rc));
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = vf_checkpoint(v, dir);
	return rc < 0 ? rc : vf_wal(v, dir);
}

/* The manifest's identity: a checkpoint replaces it (rename). */
static uint64_t vf_manifest_id(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/checkpoint/MANIFEST", dir);
	return stat(path, &st) < 0 ? 0 : (uint64_t)st.st_ino ^ (uint64_t)st.st_mtim.tv_nsec;
}

/*
 * A writer in another process may complete a checkpoint during the walk:
 * files named by the old manifest and segments below the new one vanish,
 * which would read as damage. The walk is then retried; damage that is
 * really there is found every time.
 */
int tool_verify_files(struct tool_verify *v, const char *dir)
{
	int rc = 0;

	for (int i = 0; i < VF_ATTEMPTS; i++) {
		uint64_t id = vf_manifest_id(dir);

		rc = vf_files(v, dir);
		if (vf_manifest_id(dir) == id && rc != -ENOENT)
			break;
		if (rc == -ENOENT && access(dir, F_OK) < 0)
			break;
	}
	return rc;
}

static void vf_print(const struct tool_verify *v, const struct aedb_open_report *rep, int ok_open,
		     int json)
{
	if (json) {
		json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "ok", !v->damaged,
				      "segments", (json_int_t)v->segments, "frames",
				      (json_int_t)v->frames, "checkpoint_seq",
				      (json_int_t)v->checkpoint_seq, "checkpoint_blocks",
				      (json_int_t)v->checkpoint_blocks, "torn_tails",
				      (json_int_t)v->torn_tails, "recovered_seq",
				      (json_int_t)(ok_open ? rep->recovered_seq : 0));

		json_object_set_new(o, "damage",
				    v->damaged ? json_pack("{s:s,s:I,s:s}", "file", v->file,
							   "offset", (json_int_t)v->offset,
							   "what", v->what)
					       : json_null());
		tool_print_json(o);
		return;
	}
	printf("%s segments=%" PRIu64 " frames=%" PRIu64 " checkpoint_seq=%" PRIu64
	       " checkpoint_blocks=%" PRIu64 " torn_tails=%" PRIu64 " recovered_seq=%" PRIu64 "\n",
	       v->damaged ? "DAMAGED" : "ok", v->segments, v->frames, v->checkpoint_seq,
	       v->checkpoint_blocks, v->torn_tails, ok_open ? rep->recovered_seq : 0);
	if (v->damaged)
		printf("damage %s offset %" PRIu64 ": %s\n", v->file, v->offset, v->what);
}

int tool_cmd_verify(const struct tool_args *a)
{
	struct aedb_open_report rep = { 0 };
	struct tool_verify v;
	struct aedb_config cfg;
	struct aedb *db = NULL;
	int rc;

	if (a->argc != 1)
		return tool_fail(TOOL_USAGE, "verify DIR");
	rc = tool_verify_files(&v, a->argv[0]);
	if (rc == -ENOENT)
		return tool_fail(TOOL_IO, "%s: not a data directory (no aedb.meta)", a->argv[0]);
	if (rc < 0)
		return tool_fail(TOOL_IO, "%s: %s", a->argv[0], aedb_strerror(rc));
	aedb_config_init(&cfg);
	/* Recovery's own checks: the seq chain across shards, replay. */
	rc = v.damaged ? 0 : aedb_open_readonly(a->argv[0], &cfg, &db, &rep);
	if (rc < 0 && rc != -AEDB_ECORRUPT && rc != -AEDB_EINCOMPAT)
		return tool_fail(TOOL_IO, "%s: %s", a->argv[0], aedb_strerror(rc));
	tool_trim_report(rep.message);
	if (rc < 0)
		vf_damage(&v, "(recovery)", 0, rep.message[0] ? rep.message : aedb_strerror(rc));
	vf_print(&v, &rep, db != NULL, a->json);
	aedb_close(db);
	if (v.damaged)
		return tool_fail(TOOL_DAMAGE, "damage in %s at offset %" PRIu64 ": %s", v.file,
				 v.offset, v.what);
	return TOOL_OK;
}
