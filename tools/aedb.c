/* SPDX-License-Identifier: MIT */
/*
 * aedb - offline tools and the explorer for aedb data directories
 * (docs/TOOLS.md). Human-readable output by default, --json for machines;
 * exit codes in tools/tool.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

static const char tool_usage[] =
	"usage: aedb [--json] <command> ...\n"
	"  info DIR                      shards, format, id, seqs, checkpoint, WAL, sizes\n"
	"  metrics DIR                   operational metrics of the recovered state\n"
	"  verify DIR                    every CRC of the manifest, checkpoint and WAL\n"
	"  dump export DIR OUT           a portable JSON-lines dump of DIR into OUT\n"
	"  dump parity DUMP DIR          compare a dump with a data directory\n"
	"  check invariants DIR          indexes match rows, unique keys, foreign keys, catalog\n"
	"  backup DIR DEST [--incremental BASE | --archive]\n"
	"                                a verified backup of DIR into DEST (empty): full,\n"
	"                                incremental after backup BASE, or one archive file\n"
	"  restore BACKUP... DEST [--seq N | --at-time TIME] [--project P [--scope S]]\n"
	"                                verify a backup, a chain (full first) or an archive\n"
	"                                and restore it into DEST (empty); TIME is\n"
	"                                YYYY-MM-DDTHH:MM:SS[.frac]Z or @SECONDS[.frac];\n"
	"                                with --project, only that project (or scope)\n"
	"  explore DIR projects\n"
	"  explore DIR scopes P\n"
	"  explore DIR tables P S\n"
	"  explore DIR schema P S T\n"
	"  explore DIR scan-table P S T [--limit N]\n"
	"  explore DIR kv-scan P S [--prefix X] [--limit N]\n"
	"exit: 0 ok, 1 damage or difference found, 2 usage, 3 I/O or engine error,\n"
	"      4 refused (target not empty, directory in use, WAL for an incremental gone)\n";

int tool_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("aedb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int tool_code(int err)
{
	switch (-err) {
	case AEDB_ECORRUPT:
	case AEDB_EINCOMPAT:
		return TOOL_DAMAGE;
	case AEDB_ENAME:
	case AEDB_ENOPROJECT:
	case AEDB_ENOSCOPE:
	case AEDB_ENOTABLE:
	case AEDB_EINVAL:
	case AEDB_EMISUSE:
		return TOOL_USAGE;
	case AEDB_EEXIST:
	case AEDB_ELOCKED:
		return TOOL_REFUSED;
	default:
		return TOOL_IO;
	}
}

void tool_trim_report(char *message)
{
	size_t len = strlen(message);

	/* The report lists its notes as "...; ...; ": drop the last "; ". */
	if (len >= 2 && strcmp(message + len - 2, "; ") == 0)
		message[len - 2] = '\0';
}

int tool_open(const char *dir, struct aedb **db, struct aedb_open_report *rep)
{
	struct aedb_config cfg;
	int rc;

	aedb_config_init(&cfg);
	cfg.max_scan_rows = 1u << 30; /* the tools page through everything */
	rc = aedb_open_readonly(dir, &cfg, db, rep);
	if (rc == 0)
		return TOOL_OK;
	if (rc == -ENOENT)
		return tool_fail(TOOL_IO, "%s: not a data directory (no aedb.meta)", dir);
	tool_trim_report(rep->message);
	return tool_fail(tool_code(rc), "%s: %s%s%s", dir, aedb_strerror(rc),
			 rep->message[0] ? ": " : "", rep->message);
}

void tool_print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

/* --seq N (>= 1) or --at-time TIME into @a; -1 (reported) if malformed. */
static int tool_parse_opt_seq(const char *opt, const char *v, struct tool_args *a)
{
	char *end;

	if (strcmp(opt, "--at-time") == 0) {
		if (tool_parse_time(v, &a->at_time_ns) < 0) {
			tool_fail(TOOL_USAGE, "--at-time wants YYYY-MM-DDTHH:MM:SS[.frac]Z or "
					      "@SECONDS[.frac]");
			return -1;
		}
		a->has_time = 1;
		return 0;
	}
	errno = 0;
	a->seq = strtoull(v, &end, 10);
	if (errno || *end || !*v || a->seq == 0 || v[0] == '-') {
		tool_fail(TOOL_USAGE, "--seq wants a number >= 1");
		return -1;
	}
	return 0;
}

static int tool_parse(int argc, char **argv, struct tool_args *a)
{
	static char *pos[16];

	memset(a, 0, sizeof(*a));
	a->argv = pos;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--json") == 0) {
			a->json = 1;
		} else if (strcmp(s, "--archive") == 0) {
			a->archive = 1;
		} else if (strcmp(s, "--incremental") == 0) {
			if (i + 1 >= argc)
				return tool_fail(TOOL_USAGE, "%s needs a value", s);
			a->base = argv[++i];
		} else if (strcmp(s, "--project") == 0 || strcmp(s, "--scope") == 0) {
			if (i + 1 >= argc)
				return tool_fail(TOOL_USAGE, "%s needs a value", s);
			if (s[2] == 'p')
				a->project = argv[++i];
			else
				a->scope = argv[++i];
		} else if (strcmp(s, "--limit") == 0 || strcmp(s, "--prefix") == 0) {
			char *end;

			if (i + 1 >= argc)
				return tool_fail(TOOL_USAGE, "%s needs a value", s);
			if (s[2] == 'p') {
				a->prefix = argv[++i];
				continue;
			}
			errno = 0;
			a->limit = strtoull(argv[++i], &end, 10);
			if (errno || *end || !*argv[i] || a->limit == 0 || argv[i][0] == '-')
				return tool_fail(TOOL_USAGE, "--limit wants a number >= 1");
		} else if (strcmp(s, "--seq") == 0 || strcmp(s, "--at-time") == 0) {
			if (i + 1 >= argc)
				return tool_fail(TOOL_USAGE, "%s needs a value", s);
			if (tool_parse_opt_seq(s, argv[++i], a) < 0)
				return TOOL_USAGE;
		} else if (s[0] == '-' && s[1] == '-') {
			return tool_fail(TOOL_USAGE, "unknown option %s", s);
		} else if (a->argc < 16) {
			pos[a->argc++] = argv[i];
		} else {
			return tool_fail(TOOL_USAGE, "too many arguments");
		}
	}
	return TOOL_OK;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct tool_args *);
	} cmds[] = {
		{ "info", tool_cmd_info },       { "verify", tool_cmd_verify },
		{ "dump", tool_cmd_dump },       { "check", tool_cmd_check },
		{ "explore", tool_cmd_explore }, { "backup", tool_cmd_backup },
		{ "restore", tool_cmd_restore }, { "metrics", tool_cmd_metrics },
	};
	struct tool_args a;
	int rc = tool_parse(argc, argv, &a);

	if (rc != TOOL_OK)
		return rc;
	if (a.argc == 0 || strcmp(a.argv[0], "help") == 0) {
		fputs(tool_usage, a.argc ? stdout : stderr);
		return a.argc ? TOOL_OK : TOOL_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(a.argv[0], cmds[i].name) == 0) {
			a.argv++;
			a.argc--;
			return cmds[i].fn(&a);
		}
	}
	return tool_fail(TOOL_USAGE, "unknown command '%s' (aedb help)", a.argv[0]);
}
