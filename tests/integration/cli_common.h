/* SPDX-License-Identifier: MIT */
/* Running the `aedb` binary from tests (cli_test.c, cli_live_test.c). */
#ifndef AEDB_CLI_COMMON_H
#define AEDB_CLI_COMMON_H

#include <jansson.h>
#include <stdint.h>

/* What one run of the binary did. */
struct t_cli {
	int status;    /* exit code */
	char *out;     /* stdout, NUL-terminated */
	char *err;     /* stderr */
};

/* Run `aedb` ($AEDB_CLI) with @args (NULL-terminated). */
void t_cli_run(struct t_cli *r, const char *const *args);
void t_cli_free(struct t_cli *r);
/* Run with --json prepended, expect @status, parse stdout's last line. */
json_t *t_cli_json(int status, const char *const *args);

/* Run `aedb` with @args: exit @status and @in_err within stderr; a failure
 * prints exactly one line there, a success nothing. */
void t_cli_expect(int status, const char *const *args, const char *in_err);
/* Run `restore` @args with --json: it reports restored_seq @want, and
 * aedb_open() of target @tgt recovers exactly @want. @tgt is left. */
void t_cli_restored(const char *const *args, const char *tgt, uint64_t want);

/* Fill @dir (created by aedb_open) with the tools' fixture: project "proj"
 * (scope "app") with KV entries, table "users" with a non-unique and a
 * unique index, accumulator "house"; a checkpoint in the middle with
 * segments reclaimed, writes after it. Returns the last seq. */
uint64_t t_cli_fill(const char *dir, uint32_t shards);

#define T_CLI(...) ((const char *const[]){ __VA_ARGS__, NULL })

#endif
