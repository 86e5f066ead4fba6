/* SPDX-License-Identifier: MIT */
/*
 * `aedb metrics DIR`: aedb_operational_metrics() of DIR opened read-only,
 * i.e. the state recovery restores (what it took, the seqs, the WAL and
 * checkpoint on disk, keys, versions and memory per shard; no commits).
 * The live counters of a running instance exist only in its process: the
 * application exports them (aedb_operational_metrics_json()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

/* "key value" lines of a flat object; @prefix before each key. */
static void mt_print(json_t *o, const char *prefix)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
		if (json_is_integer(v))
			printf("%s%s %lld\n", prefix, k, (long long)json_integer_value(v));
}

int tool_cmd_metrics(const struct tool_args *a)
{
	struct aedb_operational_metrics *m;
	struct aedb_open_report rep;
	struct aedb *db;
	json_t *j, *sh;
	size_t i;
	char *buf;
	long n;
	int rc;

	if (a->argc != 1)
		return tool_fail(TOOL_USAGE, "metrics DIR");
	memset(&rep, 0, sizeof(rep));
	rc = tool_open(a->argv[0], &db, &rep);
	if (rc != TOOL_OK)
		return rc;
	m = malloc(sizeof(*m));
	rc = m ? aedb_operational_metrics(db, m) : -ENOMEM;
	aedb_close(db);
	n = rc == 0 ? aedb_operational_metrics_json(m, NULL, 0) : rc;
	buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (n >= 0 && !buf)
		rc = -ENOMEM;
	if (buf)
		aedb_operational_metrics_json(m, buf, (size_t)n + 1);
	free(m);
	/* jansson reads integers as signed 64-bit: a counter over 2^63 fails */
	j = buf ? json_loads(buf, 0, NULL) : NULL;
	free(buf);
	if (!j)
		return tool_fail(TOOL_IO, "metrics of %s: %s", a->argv[0],
				 rc < 0 ? aedb_strerror(rc) : "a counter over 2^63");
	if (a->json) {
		tool_print_json(j);
		return TOOL_OK;
	}
	mt_print(j, "");
	json_array_foreach(json_object_get(j, "shards"), i, sh) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "shard.%zu.", i);
		json_object_del(sh, "shard");
		mt_print(sh, prefix);
	}
	json_decref(j);
	return TOOL_OK;
}
