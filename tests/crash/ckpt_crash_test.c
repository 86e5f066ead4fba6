/* SPDX-License-Identifier: MIT */
/*
 * Crash suite, checkpoints (issue 6): kill -9 while checkpoints run, reopen,
 * check that every acknowledged DURABLE write survived.
 *
 * A child process (this binary with --child) ingests from several threads
 * with DURABLE finality while another thread takes checkpoints back to back
 * (aedb_checkpoint_now(), which also reclaims WAL segments); after each ack
 * a writer writes "cycle tid n seq" to a pipe. Data accumulates over the
 * cycles, so later cycles recover from a checkpoint plus the WAL after it.
 * Keys are "c<cycle>:t<tid>:<n>", written in n order by their thread. The
 * parent SIGKILLs the child after a random delay, reads every ack that made it
 * into the pipe, reopens the directory and checks:
 *  - every acked write is present with its acked value and version == seq;
 *  - the recovered visible seq S is >= every acked seq, and no version > S;
 *  - per thread, the keys present are exactly n = 0..m-1 (a prefix: no later
 *    write survived without an earlier one), with m >= the acked count.
 * Small WAL segments make kills land during rotation too.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aedb.h"
#include "t_helpers.h"

#define CR_THREADS 3
#define CR_MAX_ACKS 2000000

struct cr_ack {
	uint32_t cycle, tid, n;
	uint64_t seq;
};

static const char *cr_self;
static struct cr_ack *cr_acks;
static size_t cr_nacks;

/* ---- child ------------------------------------------------------------- */

struct cr_child {
	struct aedb *db;
	uint32_t cycle, tid;
	int out;
};

static void cr_value(char *buf, size_t len, uint32_t cycle, uint32_t tid, uint32_t n)
{
	snprintf(buf, len, "value-%u-%u-%u-%0*u", cycle, tid, n, (int)(n % 200), 7);
}

static void *cr_child_thread(void *arg)
{
	struct cr_child *c = arg;
	char key[64], val[256], line[96];

	for (uint32_t n = 0;; n++) {
		uint64_t seq = 0;
		int rc, len;

		snprintf(key, sizeof(key), "c%u:t%u:%08u", c->cycle, c->tid, n);
		cr_value(val, sizeof(val), c->cycle, c->tid, n);
		rc = aedb_kv_set(c->db, "crash", "app", key, strlen(key), val, strlen(val),
				 AEDB_FINALITY_DURABLE, &seq);
		if (rc < 0) {
			fprintf(stderr, "child: kv_set: %s\n", aedb_strerror(rc));
			_exit(3);
		}
		len = snprintf(line, sizeof(line), "%u %u %u %llu\n", c->cycle, c->tid, n,
			       (unsigned long long)seq);
		if (write(c->out, line, (size_t)len) != len) /* < PIPE_BUF: atomic */
			_exit(4);
	}
	return NULL;
}

static int cr_child_main(char **argv)
{
	struct aedb_config cfg;
	struct cr_child c[CR_THREADS];
	pthread_t th[CR_THREADS];
	struct aedb *db;
	int rc;

	aedb_config_init(&cfg);
	cfg.shards = (uint32_t)atoi(argv[4]);
	cfg.durability = (uint32_t)atoi(argv[5]);
	cfg.wal_segment_bytes = 64u << 10;
	cfg.checkpoint_wal_bytes = 0; /* the loop below takes them */
	rc = aedb_open(argv[2], &cfg, &db);
	if (rc < 0) {
		fprintf(stderr, "child: open: %s\n", aedb_strerror(rc));
		return 2;
	}
	if (aedb_create_project(db, "crash") < 0)
		return 2;
	for (uint32_t i = 0; i < CR_THREADS; i++) {
		c[i] = (struct cr_child){ .db = db, .cycle = (uint32_t)atoi(argv[3]),
					  .tid = i, .out = 1 };
		pthread_create(&th[i], NULL, cr_child_thread, &c[i]);
	}
	for (;;) { /* checkpoints until SIGKILL */
		struct aedb_checkpoint_result res;

		rc = aedb_checkpoint_now(db, &res);
		if (rc < 0) {
			fprintf(stderr, "child: checkpoint: %s\n", aedb_strerror(rc));
			_exit(5);
		}
		usleep(2000);
	}
	return 0;
}

/* ---- parent ------------------------------------------------------------ */

static void cr_parse(char *buf, size_t *len)
{
	char *p = buf, *nl;

	while ((nl = memchr(p, '\n', (size_t)(buf + *len - p)))) {
		struct cr_ack a;
		unsigned long long seq;

		*nl = '\0';
		if (sscanf(p, "%u %u %u %llu", &a.cycle, &a.tid, &a.n, &seq) != 4)
			fail_msg("bad ack line: %s", p);
		a.seq = seq;
		assert_true(cr_nacks < CR_MAX_ACKS);
		cr_acks[cr_nacks++] = a;
		p = nl + 1;
	}
	*len = (size_t)(buf + *len - p);
	memmove(buf, p, *len);
}

/* Run one child, kill it @ms milliseconds after it starts (@after_ack 0) or
 * after its first ack (so slow, sanitized builds still kill mid-ingest),
 * and collect its acks. */
static void cr_run_child(const char *dir, uint32_t cycle, uint32_t shards, uint32_t mode,
			 uint32_t ms, int after_ack)
{
	size_t first = cr_nacks;
	char cyc[16], sh[16], md[16], buf[65536];
	size_t have = 0;
	uint64_t end = t_now_ns() + (uint64_t)ms * 1000000ull;
	int fds[2], status;
	pid_t pid;

	snprintf(cyc, sizeof(cyc), "%u", cycle);
	snprintf(sh, sizeof(sh), "%u", shards);
	snprintf(md, sizeof(md), "%u", mode);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(cr_self, cr_self, "--child", dir, cyc, sh, md, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (after_ack)
		end = t_now_ns() + 20000000000ull;
	for (uint64_t now; (now = t_now_ns()) < end;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (after_ack && cr_nacks > first) {
			after_ack = 0;
			end = now + (uint64_t)ms * 1000000ull;
		}
		if (poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1) <= 0)
			continue;
		n = read(fds[0], buf + have, sizeof(buf) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		cr_parse(buf, &have);
	}
	kill(pid, SIGKILL);
	for (ssize_t n; (n = read(fds[0], buf + have, sizeof(buf) - have)) > 0;) {
		have += (size_t)n;
		cr_parse(buf, &have);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("child exited early with status %d", WEXITSTATUS(status));
}

static struct aedb *cr_reopen(const char *dir, uint32_t shards, struct aedb_open_report *rep)
{
	struct aedb_config cfg;
	struct aedb *db = NULL;
	int rc;

	aedb_config_init(&cfg);
	cfg.shards = shards;
	cfg.wal_segment_bytes = 64u << 10;
	rc = aedb_open_ex(dir, &cfg, &db, rep);
	if (rc < 0)
		fail_msg("reopen: %s: %s", aedb_strerror(rc), rep->message);
	return db;
}

/* Every ack from index @from on is present with its value and seq. */
static void cr_check_acks(struct aedb *db, size_t from)
{
	char key[64], val[256];

	for (size_t i = from; i < cr_nacks; i++) {
		const struct cr_ack *a = &cr_acks[i];
		struct aedb_kv_item *it;
		int rc;

		snprintf(key, sizeof(key), "c%u:t%u:%08u", a->cycle, a->tid, a->n);
		cr_value(val, sizeof(val), a->cycle, a->tid, a->n);
		rc = aedb_kv_get(db, "crash", "app", key, strlen(key), AEDB_LATEST, &it);
		if (rc != 0)
			fail_msg("acked %s (seq %llu) lost: %s", key, (unsigned long long)a->seq,
				 aedb_strerror(rc));
		assert_int_equal(it->entry.version, a->seq);
		assert_int_equal(it->entry.val_len, strlen(val));
		assert_memory_equal(it->entry.val, val, strlen(val));
		aedb_kv_item_free(it);
	}
}

/* Per thread of @cycle: the keys present are n = 0..m-1, m >= acks, and no
 * version is above the recovered seq. */
static void cr_check_prefix(struct aedb *db, uint32_t cycle, size_t from)
{
	uint64_t s = aedb_visible_seq(db);

	for (uint32_t t = 0; t < CR_THREADS; t++) {
		struct aedb_kv_page *pg = NULL;
		struct aedb_kv_cursor cur;
		uint32_t expect = 0, acked = 0;
		char prefix[32];
		int more = 1;

		for (size_t i = from; i < cr_nacks; i++)
			if (cr_acks[i].tid == t && cr_acks[i].n + 1 > acked)
				acked = cr_acks[i].n + 1;
		snprintf(prefix, sizeof(prefix), "c%u:t%u:", cycle, t);
		while (more) {
			struct aedb_kv_page *next = NULL;
			int rc = aedb_kv_scan_prefix(db, "crash", "app", prefix, strlen(prefix),
						     1000, pg ? &cur : NULL, AEDB_LATEST, &next);

			if (rc == -AEDB_ENOPROJECT) {
				/* Killed before the child created it: nothing acked. */
				assert_int_equal(acked, 0);
				assert_null(pg);
				return;
			}
			if (rc < 0)
				fail_msg("scan %s: %s", prefix, aedb_strerror(rc));
			for (uint32_t k = 0; k < next->count; k++) {
				char want[64];

				snprintf(want, sizeof(want), "%s%08u", prefix, expect++);
				assert_int_equal(next->entries[k].key_len, strlen(want));
				assert_memory_equal(next->entries[k].key, want, strlen(want));
				assert_true(next->entries[k].version <= s);
			}
			more = next->truncated;
			aedb_kv_page_free(pg);
			pg = next;
			cur = pg->cursor;
		}
		aedb_kv_page_free(pg);
		assert_true(expect >= acked);
	}
}

static void cr_cycles(const char *name, uint32_t shards, uint32_t mode, uint32_t kills)
{
	uint64_t seed = t_seed(name);
	char *dir = t_tmpdir();
	uint64_t max_seq = 0;
	uint32_t from_ckpt = 0;

	for (uint32_t cycle = 0; cycle < kills; cycle++) {
		struct aedb_open_report rep;
		size_t from = cr_nacks;
		struct aedb *db;

		cr_run_child(dir, cycle, shards, mode, 1 + (uint32_t)(t_rand(&seed) % 250), 1);
		db = cr_reopen(dir, shards, &rep);
		from_ckpt += rep.checkpoint_seq != 0;
		assert_true(rep.checkpoint_seq <= rep.recovered_seq);
		for (size_t i = from; i < cr_nacks; i++)
			if (cr_acks[i].seq > max_seq)
				max_seq = cr_acks[i].seq;
		if (rep.recovered_seq < max_seq)
			fail_msg("cycle %u: recovered seq %llu < acked %llu", cycle,
				 (unsigned long long)rep.recovered_seq,
				 (unsigned long long)max_seq);
		assert_int_equal(rep.corrupt, 0);
		cr_check_acks(db, from);
		cr_check_prefix(db, cycle, from);
		assert_int_equal(aedb_close(db), 0);
	}
	{
		struct aedb_open_report rep;
		struct aedb *db = cr_reopen(dir, shards, &rep);

		cr_check_acks(db, 0); /* nothing acked in any cycle was lost later */
		assert_int_equal(aedb_close(db), 0);
	}
	fprintf(stderr, "%s: %u kills, %zu acked writes verified, %u opens from a checkpoint\n",
		name, kills, cr_nacks, from_ckpt);
	assert_true(from_ckpt > 0);
	t_rmrf(dir);
	free(dir);
	cr_nacks = 0;
}

static void test_ckpt_crash_full_2_shards(void **state)
{
	(void)state;
	cr_cycles("ckpt_crash_full_2", 2, AEDB_DURABILITY_FULL, 30);
}

static void test_ckpt_crash_batch_3_shards(void **state)
{
	(void)state;
	cr_cycles("ckpt_crash_batch_3", 3, AEDB_DURABILITY_BATCH, 20);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ckpt_crash_full_2_shards),
		cmocka_unit_test(test_ckpt_crash_batch_3_shards),
	};

	if (argc == 6 && strcmp(argv[1], "--child") == 0)
		return cr_child_main(argv);
	cr_self = argv[0];
	cr_acks = calloc(CR_MAX_ACKS, sizeof(*cr_acks));
	if (!cr_acks)
		return 99;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
