/* SPDX-License-Identifier: MIT */
/*
 * Crash suite for secondary indexes: kill -9 during upserts into a table
 * with a unique and a non-unique index, reopen, check.
 *
 * A child process (this binary with --child) opens the directory; in the
 * first cycle it loads rows *before* creating the indexes (so recovery must
 * rebuild backfilled entries), then every cycle upserts random rows (id,
 * email, grp) from several threads with DURABLE finality, and after each
 * ack writes "id email grp seq" to a pipe. The parent kills it at a random
 * moment, reopens and checks:
 *  - every acked upsert is there (the row's version >= the acked seq, and
 *    the acked values when the version is that seq);
 *  - no two rows share an email (uniqueness survived the crash);
 *  - the indexes agree with the rows: for every email and every grp, the
 *    index query returns exactly the rows a full scan finds.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "aedb.h"
#include "t_helpers.h"

#define IC_THREADS 3
#define IC_IDS 200u
#define IC_EMAILS 300u
#define IC_GRPS 12u
#define IC_MAX_ACKS 400000

struct ic_ack {
	uint32_t id, email, grp;
	uint64_t seq;
};

static const char *ic_self;
static struct ic_ack *ic_acks;
static size_t ic_nacks;

static const char *const ic_pk[] = { "id" };
static const struct aedb_column_def ic_cols[3] = {
	{ .name = "id", .type = AEDB_TYPE_U64 },
	{ .name = "email", .type = AEDB_TYPE_U64 },
	{ .name = "grp", .type = AEDB_TYPE_INTEGER },
};
static const struct aedb_table_def ic_def = { .name = "t", .columns = ic_cols, .ncolumns = 3,
					      .npk = 1, .pk = ic_pk };

static void ic_row(struct aedb_value *r, uint32_t id, uint32_t email, uint32_t grp)
{
	memset(r, 0, 3 * sizeof(*r));
	r[0].type = AEDB_TYPE_U64;
	r[0].u.u64 = id;
	r[1].type = AEDB_TYPE_U64;
	r[1].u.u64 = email;
	r[2].type = AEDB_TYPE_INTEGER;
	r[2].u.i64 = grp;
}

/* ---- child ------------------------------------------------------------- */

struct ic_child {
	struct aedb *db;
	uint64_t seed;
};

static void *ic_child_thread(void *arg)
{
	struct ic_child *c = arg;
	char line[96];

	for (;;) {
		uint64_t r = t_rand(&c->seed);
		uint32_t id = (uint32_t)(r % IC_IDS), email = (uint32_t)((r >> 16) % IC_EMAILS);
		uint32_t grp = (uint32_t)((r >> 32) % IC_GRPS);
		struct aedb_commit_result res;
		struct aedb_value row[3];
		int rc, len;

		ic_row(row, id, email, grp);
		rc = aedb_upsert_row(c->db, "ix", "app", "t", row, 3, AEDB_FINALITY_DURABLE, &res);
		if (rc == -AEDB_EUNIQUE || rc == -AEDB_ECONFLICT)
			continue;
		if (rc < 0) {
			fprintf(stderr, "child: upsert: %s\n", aedb_strerror(rc));
			_exit(3);
		}
		len = snprintf(line, sizeof(line), "%u %u %u %llu\n", id, email, grp,
			       (unsigned long long)res.seq);
		if (write(1, line, (size_t)len) != len)
			_exit(4);
	}
	return NULL;
}

static int ic_child_main(char **argv)
{
	static const char *const c_email[] = { "email" };
	static const char *const c_grp[] = { "grp" };
	struct aedb_index_def ue = { "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL };
	struct aedb_index_def ig = { "by_grp", c_grp, 1, 0, NULL };
	struct ic_child c[IC_THREADS];
	pthread_t th[IC_THREADS];
	struct aedb_config cfg;
	struct aedb *db;
	uint32_t cycle = (uint32_t)atoi(argv[3]);

	aedb_config_init(&cfg);
	cfg.shards = (uint32_t)atoi(argv[4]);
	cfg.wal_segment_bytes = 64u << 10;
	if (aedb_open(argv[2], &cfg, &db) < 0 || aedb_create_project(db, "ix") < 0 ||
	    aedb_create_table(db, "ix", "app", &ic_def) < 0)
		return 2;
	for (uint32_t id = 0; cycle == 0 && id < IC_IDS / 2; id++) {
		struct aedb_value row[3];

		ic_row(row, id, id, id % IC_GRPS);
		if (aedb_insert_row(db, "ix", "app", "t", row, 3, AEDB_FINALITY_DURABLE, NULL) < 0)
			return 2;
	}
	if (aedb_create_index(db, "ix", "app", "t", &ue) < 0 ||
	    aedb_create_index(db, "ix", "app", "t", &ig) < 0)
		return 2;
	for (uint32_t i = 0; i < IC_THREADS; i++) {
		c[i] = (struct ic_child){ .db = db, .seed = cycle * 1000003ull + i };
		pthread_create(&th[i], NULL, ic_child_thread, &c[i]);
	}
	pause(); /* until SIGKILL */
	return 0;
}

/* ---- parent ------------------------------------------------------------ */

static void ic_parse(char *buf, size_t *len)
{
	char *p = buf, *nl;

	while ((nl = memchr(p, '\n', (size_t)(buf + *len - p)))) {
		struct ic_ack a;
		unsigned long long seq;

		*nl = '\0';
		if (sscanf(p, "%u %u %u %llu", &a.id, &a.email, &a.grp, &seq) != 4)
			fail_msg("bad ack line: %s", p);
		a.seq = seq;
		assert_true(ic_nacks < IC_MAX_ACKS);
		ic_acks[ic_nacks++] = a;
		p = nl + 1;
	}
	*len = (size_t)(buf + *len - p);
	memmove(buf, p, *len);
}

static void ic_run_child(const char *dir, uint32_t cycle, uint32_t shards, uint32_t ms)
{
	char cyc[16], sh[16], buf[65536];
	size_t have = 0, first = ic_nacks;
	uint64_t end = t_now_ns() + 20000000000ull;
	int fds[2], status, armed = 0;
	pid_t pid;

	snprintf(cyc, sizeof(cyc), "%u", cycle);
	snprintf(sh, sizeof(sh), "%u", shards);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(ic_self, ic_self, "--child", dir, cyc, sh, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (uint64_t now; (now = t_now_ns()) < end;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (!armed && ic_nacks > first) {
			armed = 1; /* kill @ms after the first ack */
			end = now + (uint64_t)ms * 1000000ull;
		}
		if (poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1) <= 0)
			continue;
		n = read(fds[0], buf + have, sizeof(buf) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		ic_parse(buf, &have);
	}
	kill(pid, SIGKILL);
	for (ssize_t n; (n = read(fds[0], buf + have, sizeof(buf) - have)) > 0;) {
		have += (size_t)n;
		ic_parse(buf, &have);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("child exited early with status %d", WEXITSTATUS(status));
}

static int ic_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "SELECT id WHERE col = v" (@path: must be the index): ids sorted. */
static uint32_t ic_ids(struct aedb *db, const char *col, struct aedb_value v, uint64_t *ids)
{
	struct aedb_query_result *r = NULL;
	struct aedb_query_plan plan;
	struct aedb_query *q;
	uint32_t n = 0;

	assert_int_equal(aedb_query_create("t", &q), 0);
	assert_int_equal(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, col, &v)), 0);
	assert_int_equal(aedb_query_select(q, "id"), 0);
	assert_int_equal(aedb_query_explain(db, "ix", "app", q, AEDB_LATEST, &plan), 0);
	assert_int_equal(plan.path, AEDB_PATH_INDEX);
	assert_int_equal(aedb_query_run(db, "ix", "app", q, AEDB_LATEST, &r), 0);
	for (uint64_t i = 0; i < r->nrows; i++)
		ids[n++] = r->rows[i].u.u64;
	qsort(ids, n, sizeof(*ids), ic_u64_cmp);
	aedb_query_result_free(r);
	aedb_query_free(q);
	return n;
}

static void ic_check(struct aedb *db, size_t from)
{
	int64_t email_of[IC_IDS], grp_of[IC_IDS];
	uint64_t got[IC_IDS];

	for (uint32_t id = 0; id < IC_IDS; id++) {
		struct aedb_value pk = { .type = AEDB_TYPE_U64 };
		struct aedb_row *row = NULL;
		int rc;

		pk.u.u64 = id;
		rc = aedb_get_row(db, "ix", "app", "t", &pk, 1, AEDB_LATEST, &row);
		email_of[id] = grp_of[id] = -1;
		if (rc == -AEDB_ENOTFOUND)
			continue;
		assert_int_equal(rc, 0);
		email_of[id] = (int64_t)row->values[1].u.u64;
		grp_of[id] = row->values[2].u.i64;
		for (size_t i = from; i < ic_nacks; i++) {
			const struct ic_ack *a = &ic_acks[i];

			if (a->id != id)
				continue;
			assert_true(row->version >= a->seq);
			if (row->version == a->seq) {
				assert_int_equal(email_of[id], a->email);
				assert_int_equal(grp_of[id], a->grp);
			}
		}
		aedb_row_free(row);
	}
	for (size_t i = from; i < ic_nacks; i++)
		assert_true(email_of[ic_acks[i].id] >= 0); /* acked rows are never deleted */
	for (uint32_t e = 0; e < IC_EMAILS; e++) {
		struct aedb_value v = { .type = AEDB_TYPE_U64 };
		uint32_t n, want = 0;

		v.u.u64 = e;
		n = ic_ids(db, "email", v, got);
		for (uint32_t id = 0; id < IC_IDS; id++)
			if (email_of[id] == e)
				assert_true(want < n && got[want++] == id);
		assert_int_equal(n, want);
		assert_true(n <= 1);
	}
	for (uint32_t g = 0; g < IC_GRPS; g++) {
		struct aedb_value v = { .type = AEDB_TYPE_INTEGER };
		uint32_t n, want = 0;

		v.u.i64 = g;
		n = ic_ids(db, "grp", v, got);
		for (uint32_t id = 0; id < IC_IDS; id++)
			if (grp_of[id] == g)
				assert_true(want < n && got[want++] == id);
		assert_int_equal(n, want);
	}
}

static void ic_cycles(const char *name, uint32_t shards, uint32_t kills)
{
	uint64_t seed = t_seed(name);
	char *dir = t_tmpdir();

	for (uint32_t cycle = 0; cycle < kills; cycle++) {
		struct aedb_open_report rep;
		struct aedb_config cfg;
		size_t from = ic_nacks;
		struct aedb *db = NULL;
		int rc;

		ic_run_child(dir, cycle, shards, 1 + (uint32_t)(t_rand(&seed) % 80));
		aedb_config_init(&cfg);
		cfg.shards = shards;
		cfg.wal_segment_bytes = 64u << 10;
		rc = aedb_open_ex(dir, &cfg, &db, &rep);
		if (rc < 0)
			fail_msg("reopen: %s: %s", aedb_strerror(rc), rep.message);
		assert_int_equal(rep.corrupt, 0);
		ic_check(db, from);
		assert_int_equal(aedb_close(db), 0);
	}
	fprintf(stderr, "%s: %u kills, %zu acked upserts verified\n", name, kills, ic_nacks);
	t_rmrf(dir);
	free(dir);
	ic_nacks = 0;
}

static void test_index_crash_2_shards(void **state)
{
	(void)state;
	ic_cycles("index_crash_2", 2, 12);
}

static void test_index_crash_4_shards(void **state)
{
	(void)state;
	ic_cycles("index_crash_4", 4, 12);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_crash_2_shards),
		cmocka_unit_test(test_index_crash_4_shards),
	};

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return ic_child_main(argv);
	ic_self = argv[0];
	ic_acks = calloc(IC_MAX_ACKS, sizeof(*ic_acks));
	if (!ic_acks)
		return 99;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
