/* SPDX-License-Identifier: MIT */
/*
 * The `aedb` command-line tool (docs/TOOLS.md): shared declarations.
 *
 * Every data-directory command except backup opens the directory with
 * aedb_open_readonly(): nothing in it is written, created or locked.
 */
#ifndef AEDB_TOOLS_TOOL_H
#define AEDB_TOOLS_TOOL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "aedb.h"

/* Exit codes (docs/TOOLS.md). */
enum tool_exit {
	TOOL_OK = 0,       /* success; for checks: nothing wrong found */
	TOOL_DAMAGE = 1,   /* damage, a difference or a violation was found */
	TOOL_USAGE = 2,    /* bad command line, unknown name, bad argument */
	TOOL_IO = 3,       /* the file system or the engine failed (I/O, memory) */
	TOOL_REFUSED = 4,  /* refused: target not empty, directory in use */
};

struct tool_args {
	int json;                /* --json */
	uint64_t limit;          /* --limit N (0: not given) */
	const char *prefix;      /* --prefix X */
	uint64_t seq;            /* restore --seq N (0: not given) */
	uint64_t at_time_ns;     /* restore --at-time TIME */
	int has_time;
	const char *project;     /* restore --project P */
	const char *scope;       /* restore --scope S (with --project) */
	const char *base;        /* backup --incremental BASE */
	int archive;             /* backup --archive */
	int argc;                /* positional arguments after the command */
	char **argv;
};

/* Parse a restore time (tools/restore.c): ISO 8601 UTC
 * `YYYY-MM-DDTHH:MM:SS[.frac]Z` or `@SECONDS[.frac]`. 0, or -1 if malformed. */
int tool_parse_time(const char *s, uint64_t *ns);
/* Print "aedb: <message>" to stderr and return @code. */
int tool_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code for engine/OS error @err (< 0). */
int tool_code(int err);
/* Drop the trailing "; " of an open report's message. */
void tool_trim_report(char *message);
/* aedb_open_readonly() with the tools' settings; on failure prints the
 * reason (with the recovery report's message) and returns the exit code. */
int tool_open(const char *dir, struct aedb **db, struct aedb_open_report *rep);
/* Print @j compactly on one line of stdout and release it. */
void tool_print_json(json_t *j);
/* Lower-case hex of @p[0..@n) in a new string (NULL on ENOMEM). */
char *tool_hex(const void *p, size_t n);
/* A JSON string of @p[0..@n) as hex (NULL on ENOMEM). */
json_t *tool_json_hex(const void *p, size_t n);
/* @v as JSON (docs/TOOLS.md "Values"); NULL on ENOMEM or bad UTF-8. */
json_t *tool_value_json(const struct aedb_value *v);
/* @v for humans: text raw with \t \n \r \\ escaped, numbers in decimal,
 * blobs and 256-bit values as 0x hex, NULL as "null". */
void tool_value_text(FILE *f, const struct aedb_value *v);
/* @p[0..@n) for humans: printable ASCII as is, the rest as \xNN. */
void tool_bytes_text(FILE *f, const void *p, size_t n);
const char *tool_type_name(uint32_t type);
/* A table's definition as JSON: name, columns (name, type, nullable,
 * default), primary_key, indexes (name, columns, unique, partial), checks
 * (names). NULL on ENOMEM. */
json_t *tool_table_json(const struct aedb_table_info *ti);

/* Commands; each returns an exit code. */
int tool_cmd_info(const struct tool_args *a);
int tool_cmd_verify(const struct tool_args *a);
int tool_cmd_dump(const struct tool_args *a);
int tool_cmd_check(const struct tool_args *a);
int tool_cmd_explore(const struct tool_args *a);
int tool_cmd_backup(const struct tool_args *a);
int tool_cmd_restore(const struct tool_args *a);
int tool_cmd_metrics(const struct tool_args *a);

#endif
