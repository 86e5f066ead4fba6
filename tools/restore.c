/* SPDX-License-Identifier: MIT */
/*
 * `aedb restore BACKUP... DEST [--seq N | --at-time TIME]` over the public
 * API: one backup directory, a chain of them (the full backup first, then
 * its incrementals in order: aedb_restore_chain()), or one archive file
 * (aedb_restore_from_file()); to the end, to exactly seq N, or to the state
 * at TIME (aedb_restore_chain_at_time()). TIME is UTC in ISO 8601,
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, or `@SECONDS[.fraction]` since the Unix
 * epoch (as GNU date prints with `+@%s.%N`). With `--project P [--scope S]`
 * only that project or scope (aedb_restore_scope()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/tool.h"

#define RS_NS 1000000000ull

/* Up to nine digits of a fraction of a second at @s: nanoseconds, or -1. */
static int64_t rs_fraction(const char **s)
{
	int64_t ns = 0, scale = 100000000;
	const char *p = *s;

	if (*p != '.')
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
		if (!scale)
			return -1;
		ns += (*p - '0') * scale;
	}
	if (p == *s + 1)
		return -1;
	*s = p;
	return ns;
}

int tool_parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	int64_t frac;
	time_t t;
	char *end;

	if (s[0] == '@') {
		unsigned long long sec;

		if (s[1] < '0' || s[1] > '9')
			return -1;
		errno = 0;
		sec = strtoull(s + 1, &end, 10);
		s = end;
		frac = rs_fraction(&s);
		if (errno || frac < 0 || *s || sec > UINT64_MAX / RS_NS - 1)
			return -1;
		*ns = sec * RS_NS + (uint64_t)frac;
		return *ns ? 0 : -1;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	s = end;
	frac = rs_fraction(&s);
	if (frac < 0 || strcmp(s, "Z") != 0)
		return -1;
	t = timegm(&tm);
	if (t <= 0)
		return -1;
	*ns = (uint64_t)t * RS_NS + (uint64_t)frac;
	return 0;
}

static int rs_run(const struct tool_args *a, uint64_t *seq)
{
	const char *dest = a->argv[a->argc - 1];
	const char *const *dirs = (const char *const *)a->argv;
	uint32_t n = (uint32_t)a->argc - 1;
	struct stat st;

	if (a->project)
		return aedb_restore_scope(dirs, n, dest, a->project, a->scope, a->seq,
					  a->has_time ? a->at_time_ns : 0, seq);
	if (n == 1 && stat(dirs[0], &st) == 0 && S_ISREG(st.st_mode)) {
		if (a->has_time)
			return aedb_restore_from_file_at_time(dirs[0], dest, a->at_time_ns, seq);
		return aedb_restore_from_file(dirs[0], dest, a->seq, seq);
	}
	if (a->has_time)
		return aedb_restore_chain_at_time(dirs, n, dest, a->at_time_ns, seq);
	return aedb_restore_chain(dirs, n, dest, a->seq, seq);
}

int tool_cmd_restore(const struct tool_args *a)
{
	const char *dest;
	uint64_t seq = 0;
	int rc;

	if (a->argc < 2)
		return tool_fail(TOOL_USAGE, "restore BACKUP... DEST [--seq N | --at-time TIME] "
					     "[--project P [--scope S]]");
	if (a->has_time && a->seq)
		return tool_fail(TOOL_USAGE, "--seq and --at-time exclude each other");
	if (a->scope && !a->project)
		return tool_fail(TOOL_USAGE, "--scope needs --project");
	if (a->base || a->archive)
		return tool_fail(TOOL_USAGE, "--incremental and --archive are backup options");
	dest = a->argv[a->argc - 1];
	rc = rs_run(a, &seq);
	if (rc == -AEDB_EEXIST)
		return tool_fail(TOOL_REFUSED, "%s: not empty; restore writes only into an empty "
					       "directory", dest);
	if (rc == -AEDB_ESEQGC || rc == -AEDB_ESEQFUTURE)
		return tool_fail(TOOL_USAGE, "restore of %s: %s: %s", a->argv[0],
				 a->has_time ? "--at-time" : "--seq",
				 rc == -AEDB_ESEQGC ? "earlier than the backup can restore to "
						      "(before its full backup)"
						    : "past the end of the backup");
	if (rc == -AEDB_ENOPROJECT || rc == -AEDB_ENOSCOPE)
		return tool_fail(TOOL_USAGE, "restore of %s: %s %s%s%s: not in the backup at that "
					     "point", a->argv[0], a->scope ? "scope" : "project",
				 a->project, a->scope ? "/" : "", a->scope ? a->scope : "");
	if (rc == -AEDB_EDEPEND)
		return tool_fail(TOOL_USAGE, "restore of %s: a table of %s/%s has a foreign key "
					     "into another scope of its project; restore the "
					     "project", a->argv[0], a->project,
				 a->scope ? a->scope : "");
	if (rc == -AEDB_EINVAL)
		return tool_fail(TOOL_USAGE, "restore of %s: not a chain (the full backup first, "
					     "then each incremental after its base)", a->argv[0]);
	if (rc < 0)
		return tool_fail(tool_code(rc), "restore of %s: %s", a->argv[0], aedb_strerror(rc));
	if (a->json)
		tool_print_json(json_pack("{s:b,s:I}", "ok", 1, "restored_seq", (json_int_t)seq));
	else
		printf("ok restored_seq=%" PRIu64 "\n", seq);
	return TOOL_OK;
}
