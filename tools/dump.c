/* SPDX-License-Identifier: MIT */
/*
 * `aedb dump export DIR OUT` and `aedb dump parity DUMP DIR`: a portable,
 * versioned JSON-lines dump of a data directory's logical state, and the
 * comparison of a dump with a directory (docs/TOOLS.md "Dump format").
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/dump.h"
#include "tools/tool.h"

#define DUMP_FORMAT "aedb-dump"
#define DUMP_VERSION 1

struct dp_out {
	FILE *f;
	crypto_hash_sha256_state sha;
	uint64_t records;
};

static int dp_write(void *arg, const char *line)
{
	struct dp_out *o = arg;

	crypto_hash_sha256_update(&o->sha, (const uint8_t *)line, strlen(line));
	crypto_hash_sha256_update(&o->sha, (const uint8_t *)"\n", 1);
	o->records++;
	return fprintf(o->f, "%s\n", line) < 0 ? -EIO : 0;
}

static int dp_print(FILE *f, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc = s && fprintf(f, "%s\n", s) >= 0 ? 0 : -EIO;

	free(s);
	json_decref(j);
	return rc;
}

static char *dp_sha_hex(crypto_hash_sha256_state *sha)
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(sha, h);
	return tool_hex(h, sizeof(h));
}

static int dp_export(struct aedb *db, const char *out, int json)
{
	struct dp_out o = { 0 };
	uint8_t id[16] = { 0 };
	char *hex, *sha = NULL;
	int rc;

	o.f = fopen(out, "wx");
	if (!o.f)
		return tool_fail(errno == EEXIST ? TOOL_REFUSED : TOOL_IO, "%s: %s", out,
				 errno == EEXIST ? "exists (a dump is never overwritten)"
						 : strerror(errno));
	crypto_hash_sha256_init(&o.sha);
	tool_dump_db_id(db, id);
	hex = tool_hex(id, 16);
	rc = dp_print(o.f, json_pack("{s:s,s:i,s:I,s:I,s:s,s:I}", "format", DUMP_FORMAT,
				      "version", DUMP_VERSION, "seq",
				      (json_int_t)aedb_visible_seq(db), "shards",
				      (json_int_t)aedb_shard_count(db), "db_id", hex ? hex : "",
				      "exported_at_s", (json_int_t)time(NULL)));
	if (rc == 0)
		rc = tool_dump_body(db, dp_write, &o);
	if (rc == 0) {
		sha = dp_sha_hex(&o.sha);
		rc = dp_print(o.f, json_pack("{s:s,s:I,s:s}", "type", "end", "records",
					     (json_int_t)o.records, "sha256", sha ? sha : ""));
	}
	if (fflush(o.f) != 0 || fsync(fileno(o.f)) < 0)
		rc = rc ? rc : -errno;
	fclose(o.f);
	free(hex);
	if (rc < 0) {
		free(sha);
		remove(out); /* no partial dump is left behind */
		return tool_fail(tool_code(rc), "%s: %s", out, aedb_strerror(rc));
	}
	if (json)
		tool_print_json(json_pack("{s:I,s:I,s:s}", "seq", (json_int_t)aedb_visible_seq(db),
					  "records", (json_int_t)o.records, "sha256", sha));
	else
		printf("ok seq=%" PRIu64 " records=%" PRIu64 " sha256=%s\n", aedb_visible_seq(db),
		       o.records, sha);
	free(sha);
	return TOOL_OK;
}

/* ---- parity ---- */

struct dp_in {
	FILE *f;
	char *line;
	size_t cap;
	uint64_t record;         /* body records compared so far */
	char *dump_at, *dir_at;  /* the first difference */
};

/* The next line of @in without its newline, or NULL at EOF. */
static const char *dp_next(struct dp_in *in)
{
	ssize_t n = getline(&in->line, &in->cap, in->f);

	if (n <= 0)
		return NULL;
	if (in->line[n - 1] == '\n')
		in->line[n - 1] = '\0';
	return in->line;
}

static int dp_is_end(const char *line)
{
	return strncmp(line, "{\"type\":\"end\"", 13) == 0;
}

/* Header and trailer: version, and the body's checksum. *@seq gets the
 * dump's seq. Returns an exit code. */
static int dp_check_dump(struct dp_in *in, uint64_t *seq)
{
	crypto_hash_sha256_state sha;
	json_t *h = NULL, *t = NULL;
	const char *line = dp_next(in), *fmt = NULL, *want = NULL;
	int version = 0, rc = TOOL_DAMAGE;
	json_int_t s = 0;
	char *got = NULL;

	h = line ? json_loads(line, 0, NULL) : NULL;
	if (!h || json_unpack(h, "{s:s,s:i,s:I}", "format", &fmt, "version", &version, "seq",
			      &s) < 0 || strcmp(fmt, DUMP_FORMAT) != 0) {
		json_decref(h);
		return tool_fail(TOOL_DAMAGE, "not an aedb dump (bad header line)");
	}
	json_decref(h);
	if (version != DUMP_VERSION)
		return tool_fail(TOOL_USAGE, "dump version %d is not supported (1)", version);
	*seq = (uint64_t)s;
	crypto_hash_sha256_init(&sha);
	while ((line = dp_next(in)) && !dp_is_end(line)) {
		crypto_hash_sha256_update(&sha, (const uint8_t *)line, strlen(line));
		crypto_hash_sha256_update(&sha, (const uint8_t *)"\n", 1);
	}
	t = line ? json_loads(line, 0, NULL) : NULL;
	got = dp_sha_hex(&sha);
	if (!t || json_unpack(t, "{s:s}", "sha256", &want) < 0 || !got)
		tool_fail(TOOL_DAMAGE, "dump is truncated (no end record)");
	else if (strcmp(want, got) != 0 || dp_next(in))
		tool_fail(TOOL_DAMAGE, "dump checksum mismatch: the dump is damaged");
	else
		rc = TOOL_OK;
	json_decref(t);
	free(got);
	return rc;
}

static int dp_compare(void *arg, const char *line)
{
	struct dp_in *in = arg;
	const char *have = dp_next(in);

	in->record++;
	if (have && !dp_is_end(have) && strcmp(have, line) == 0)
		return 0;
	in->dump_at = strdup(have && !dp_is_end(have) ? have : "(end of dump)");
	in->dir_at = strdup(line);
	return 1;
}

static void dp_report(struct dp_in *in, int json)
{
	if (json) {
		tool_print_json(json_pack("{s:b,s:I,s:s?,s:s?}", "equal", !in->dir_at, "record",
					  (json_int_t)in->record, "dump", in->dump_at,
					  "dir", in->dir_at));
		return;
	}
	if (!in->dir_at) {
		printf("ok records=%" PRIu64 "\n", in->record);
		return;
	}
	printf("difference at record %" PRIu64 "\n  dump: %.300s\n  dir:  %.300s\n", in->record,
	       in->dump_at, in->dir_at);
}

static int dp_parity(const char *dump, const char *dir, int json)
{
	struct dp_in in = { 0 };
	struct aedb_open_report rep;
	struct aedb *db;
	uint64_t seq = 0;
	int rc;

	in.f = fopen(dump, "r");
	if (!in.f)
		return tool_fail(TOOL_IO, "%s: %s", dump, strerror(errno));
	rc = dp_check_dump(&in, &seq);
	if (rc == TOOL_OK)
		rc = tool_open(dir, &db, &rep);
	if (rc != TOOL_OK) {
		fclose(in.f);
		free(in.line);
		return rc;
	}
	rewind(in.f);
	dp_next(&in); /* the header */
	if (seq != aedb_visible_seq(db)) {
		char a[64], b[64];

		snprintf(a, sizeof(a), "seq %" PRIu64, seq);
		snprintf(b, sizeof(b), "seq %" PRIu64, aedb_visible_seq(db));
		in.dump_at = strdup(a);
		in.dir_at = strdup(b);
	} else {
		rc = tool_dump_body(db, dp_compare, &in);
		if (rc == 0 && !in.dir_at && (!dp_next(&in) || !dp_is_end(in.line))) {
			in.dump_at = strdup(in.line ? in.line : "");
			in.dir_at = strdup("(end of directory)");
			in.record++;
		}
	}
	aedb_close(db);
	fclose(in.f);
	free(in.line);
	if (rc < 0) {
		free(in.dump_at);
		free(in.dir_at);
		return tool_fail(tool_code(rc), "%s: %s", dir, aedb_strerror(rc));
	}
	dp_report(&in, json);
	rc = in.dir_at ? tool_fail(TOOL_DAMAGE, "parity mismatch at record %" PRIu64, in.record)
		       : TOOL_OK;
	free(in.dump_at);
	free(in.dir_at);
	return rc;
}

int tool_cmd_dump(const struct tool_args *a)
{
	struct aedb_open_report rep;
	struct aedb *db;
	int rc;

	if (a->argc != 3 || (strcmp(a->argv[0], "export") && strcmp(a->argv[0], "parity")))
		return tool_fail(TOOL_USAGE, "dump export DIR OUT | dump parity DUMP DIR");
	if (sodium_init() < 0)
		return tool_fail(TOOL_IO, "libsodium failed to initialise");
	if (strcmp(a->argv[0], "parity") == 0)
		return dp_parity(a->argv[1], a->argv[2], a->json);
	rc = tool_open(a->argv[1], &db, &rep);
	if (rc != TOOL_OK)
		return rc;
	rc = dp_export(db, a->argv[2], a->json);
	aedb_close(db);
	return rc;
}
