/* SPDX-License-Identifier: MIT */
/*
 * Crash suite for accumulators: kill -9 during a burst of deltas, exposures
 * and settlements, reopen, check exactly-once and durability.
 *
 * The parent creates accumulator "house" and funds it. A child process (this
 * binary with --child) runs ACX_THREADS blocking threads; each makes plain
 * deltas and casino hands (expose 1 under the hand id, then
 * accumulate-with-release of the result with the hand id as dedupe key and
 * release id), all DURABLE. Before each call it writes an "attempt" line to
 * a pipe, after its ack an "ack" line. The parent SIGKILLs it at a random
 * moment, reopens, and for this cycle's calls:
 *  - retries every delta and settlement (same dedupe key, order key and
 *    delta): an acked one must be a DUPLICATE; an unacked one is a DUPLICATE
 *    (it made it), or applies now, or is refused by its order key (it did
 *    not make it and a later one in its lane did). The parent keeps the sum
 *    of every delta known applied, and the strong value must equal it: no
 *    acked delta lost, none counted twice;
 *  - closes every hand still open (a release of an acked exposure whose
 *    settlement never applied must succeed; of a settled hand it must fail
 *    with -AEDB_ENOTFOUND), after which the total exposure must be 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_common.h"

#define ACX_P "crash"
#define ACX_S "app"
#define ACX_A "house"
#define ACX_FUND 1000000000000ll
#define ACX_THREADS 3
#define ACX_MAX 200000
#define ACX_ORDER_SPAN 100000000ull /* order keys of cycle c: c * span + ... */

/* One call of the child: a delta (hand 0) or a hand's expose / settle. */
enum { ACX_DELTA = 0, ACX_EXPOSE = 1, ACX_SETTLE = 2 };

struct acx_call {
	uint32_t cycle, tid, n, kind;
	uint64_t order;
	int64_t delta;
	uint8_t attempted, acked;
};

static const char *acx_self;
static uint32_t acx_unacked_in; /* unacked deltas found applied after a kill */
static struct acx_call *acx_calls;
static size_t acx_ncalls;

static void acx_key(char *out, size_t cap, uint32_t cycle, uint32_t tid, uint32_t n)
{
	snprintf(out, cap, "c%u-t%u-n%u", cycle, tid, n);
}

/* ---- child ---- */

struct acx_child {
	struct aedb *db;
	uint32_t cycle, tid;
};

static uint64_t acx_order_next;
static pthread_mutex_t acx_out_lock = PTHREAD_MUTEX_INITIALIZER;

static void acx_say(char what, uint32_t cycle, uint32_t tid, uint32_t n, uint32_t kind,
		    uint64_t order, int64_t delta)
{
	pthread_mutex_lock(&acx_out_lock);
	printf("%c %u %u %u %u %llu %lld\n", what, cycle, tid, n, kind,
	       (unsigned long long)order, (long long)delta);
	fflush(stdout);
	pthread_mutex_unlock(&acx_out_lock);
}

static void *acx_worker(void *arg)
{
	struct acx_child *c = arg;
	const uint32_t dur = AEDB_FINALITY_DURABLE;

	for (uint32_t n = 0;; n++) {
		int hand = n % 3 == 0;
		int64_t delta = (int64_t)((c->tid * 7 + n * 13) % 11) - 5;
		char key[64];
		int rc;

		acx_key(key, sizeof(key), c->cycle, c->tid, n);
		if (hand) {
			acx_say('T', c->cycle, c->tid, n, ACX_EXPOSE, 0, 1);
			rc = aedb_expose_accumulator(c->db, ACX_P, ACX_S, ACX_A, 1, key, dur, NULL);
			if (rc < 0) {
				fprintf(stderr, "child: expose: %s\n", aedb_strerror(rc));
				_exit(3);
			}
			acx_say('A', c->cycle, c->tid, n, ACX_EXPOSE, 0, 1);
		}
		for (;;) {
			uint64_t order = c->cycle * ACX_ORDER_SPAN +
					 __atomic_add_fetch(&acx_order_next, 1, __ATOMIC_RELAXED);
			uint32_t kind = hand ? ACX_SETTLE : ACX_DELTA;

			acx_say('T', c->cycle, c->tid, n, kind, order, delta);
			rc = aedb_accumulate_with_release(c->db, ACX_P, ACX_S, ACX_A, delta, key,
							  order, hand ? key : NULL, dur, NULL);
			if (rc == -AEDB_EORDER)
				continue; /* lost the race in its lane: a later key */
			if (rc != AEDB_COMMIT_APPLIED) {
				fprintf(stderr, "child: accumulate: %s\n", aedb_strerror(rc));
				_exit(3);
			}
			acx_say('A', c->cycle, c->tid, n, kind, order, delta);
			break;
		}
	}
	return NULL;
}

static int acx_child_main(char **argv)
{
	struct acx_child c[ACX_THREADS];
	pthread_t th[ACX_THREADS];
	struct aedb *db = cr_child_open(argv);
	for (uint32_t i = 0; i < ACX_THREADS; i++) {
		c[i] = (struct acx_child){ .db = db, .cycle = (uint32_t)atoi(argv[4]), .tid = i };
		pthread_create(&th[i], NULL, acx_worker, &c[i]);
	}
	pause(); /* until SIGKILL */
	return 0;
}

/* ---- parent ---- */

/* The call (cycle, tid, n, kind), added on first sight. */
static struct acx_call *acx_find(uint32_t cycle, uint32_t tid, uint32_t n, uint32_t kind,
				 size_t from)
{
	for (size_t i = acx_ncalls; i-- > from;) {
		struct acx_call *c = &acx_calls[i];

		if (c->cycle == cycle && c->tid == tid && c->n == n && c->kind == kind)
			return c;
	}
	assert_true(acx_ncalls < ACX_MAX);
	acx_calls[acx_ncalls] = (struct acx_call){ .cycle = cycle, .tid = tid, .n = n,
						   .kind = kind };
	return &acx_calls[acx_ncalls++];
}

/* One line of the child: an attempt or an ack. @arg: the cycle's first call. */
static void acx_line(char *line, void *arg)
{
	size_t from = *(const size_t *)arg;
	unsigned cycle, tid, n, kind;
	unsigned long long order;
	long long delta;
	struct acx_call *c;
	char what;

	if (sscanf(line, "%c %u %u %u %u %llu %lld", &what, &cycle, &tid, &n, &kind, &order,
		   &delta) != 7)
		fail_msg("bad line: %s", line);
	c = acx_find(cycle, tid, n, kind, from);
	if (what == 'T') {
		/* A retry after EORDER replaces the attempt. */
		c->attempted = 1;
		c->order = order;
		c->delta = delta;
	} else {
		assert_true(c->attempted && c->order == order);
		c->acked = 1;
	}
}

/* Check and settle this cycle's calls; @sum: the deltas known applied. */
static void acx_verify(const char *dir, uint32_t shards, size_t from, int64_t *sum,
		       uint32_t *lost_race)
{
	struct aedb *db = cr_open(dir, shards, NULL);
	int64_t v = 0, e = -1;

	for (size_t i = from; i < acx_ncalls; i++) {
		const struct acx_call *c = &acx_calls[i];
		char key[64];
		int rc;

		if (c->kind == ACX_EXPOSE || !c->attempted)
			continue;
		acx_key(key, sizeof(key), c->cycle, c->tid, c->n);
		rc = aedb_accumulate_with_release(db, ACX_P, ACX_S, ACX_A, c->delta, key, c->order,
						  NULL, AEDB_FINALITY_VISIBLE, NULL);
		if (c->acked && rc != AEDB_COMMIT_DUPLICATE)
			fail_msg("acked delta %s (order %llu) lost: %s", key,
				 (unsigned long long)c->order, aedb_strerror(rc));
		if (!c->acked && rc == AEDB_COMMIT_DUPLICATE)
			acx_unacked_in++;
		if (rc == AEDB_COMMIT_DUPLICATE || rc == AEDB_COMMIT_APPLIED)
			*sum += c->delta;
		else if (rc == -AEDB_EORDER)
			(*lost_race)++;
		else
			fail_msg("retry of %s: %s", key, aedb_strerror(rc));
	}
	cr_assert_rc(aedb_accumulator_value_strong(db, ACX_P, ACX_S, ACX_A, AEDB_LATEST, &v, NULL),
		    0);
	if (v != ACX_FUND + *sum)
		fail_msg("value %lld, want %lld", (long long)v, (long long)(ACX_FUND + *sum));
	/* Close every hand of the cycle. */
	for (size_t i = from; i < acx_ncalls; i++) {
		const struct acx_call *c = &acx_calls[i], *s = NULL;
		char key[64];
		int rc;

		if (c->kind != ACX_EXPOSE || !c->attempted)
			continue;
		for (size_t j = from; j < acx_ncalls; j++)
			if (acx_calls[j].kind == ACX_SETTLE && acx_calls[j].tid == c->tid &&
			    acx_calls[j].n == c->n && acx_calls[j].attempted)
				s = &acx_calls[j];
		acx_key(key, sizeof(key), c->cycle, c->tid, c->n);
		rc = aedb_release_accumulator_exposure(db, ACX_P, ACX_S, ACX_A, key,
						       AEDB_FINALITY_VISIBLE, NULL);
		if (c->acked && !s && rc != 0)
			fail_msg("acked exposure %s lost: %s", key, aedb_strerror(rc));
		if (s && s->acked && rc != -AEDB_ENOTFOUND)
			fail_msg("settled hand %s still open (%s)", key, aedb_strerror(rc));
		if (rc != 0 && rc != -AEDB_ENOTFOUND)
			fail_msg("release %s: %s", key, aedb_strerror(rc));
	}
	cr_assert_rc(aedb_accumulator_exposure(db, ACX_P, ACX_S, ACX_A, AEDB_LATEST, &e, NULL), 0);
	assert_int_equal(e, 0);
	cr_assert_rc(aedb_close(db), 0);
}

static void acx_random_kills(const char *name, uint32_t shards, uint32_t kills)
{
	uint64_t seed = t_seed(name);
	char *dir = t_tmpdir();
	struct aedb *db = cr_open(dir, shards, NULL);
	struct aedb_accumulator_options o;
	uint32_t lost_race = 0;
	size_t acked = 0;
	int64_t sum = 0;

	aedb_accumulator_options_init(&o);
	assert_int_equal(aedb_create_project(db, ACX_P), 1);
	cr_assert_rc(aedb_create_accumulator_with_options(db, ACX_P, ACX_S, ACX_A, &o), 1);
	cr_assert_rc(aedb_accumulate(db, ACX_P, ACX_S, ACX_A, ACX_FUND, "fund", 1,
				    AEDB_FINALITY_DURABLE, NULL), 0);
	cr_assert_rc(aedb_close(db), 0);
	for (uint32_t cycle = 1; cycle <= kills; cycle++) {
		size_t from = acx_ncalls;
		uint32_t ms = 1 + (uint32_t)(t_rand(&seed) % 120);

		cr_run_child(acx_self, dir, shards, cycle, ms, NULL, acx_line, &from);
		acx_verify(dir, shards, from, &sum, &lost_race);
	}
	for (size_t i = 0; i < acx_ncalls; i++)
		acked += acx_calls[i].acked;
	fprintf(stderr, "%s: %u kills, %zu calls (%zu acked) verified; unacked deltas: %u "
		"recovered, %u refused by order key on retry\n", name, kills, acx_ncalls, acked,
		acx_unacked_in, lost_race);
	acx_unacked_in = 0;
	assert_true(acked > kills);
	t_rmrf(dir);
	free(dir);
	acx_ncalls = 0;
}

static void test_acx_random_kills_2_shards(void **state)
{
	(void)state;
	acx_random_kills("acc_crash_2", 2, 25);
}

static void test_acx_random_kills_4_shards(void **state)
{
	(void)state;
	acx_random_kills("acc_crash_4", 4, 15);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acx_random_kills_2_shards),
		cmocka_unit_test(test_acx_random_kills_4_shards),
	};

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return acx_child_main(argv);
	acx_self = argv[0];
	acx_calls = calloc(ACX_MAX, sizeof(*acx_calls));
	if (!acx_calls)
		return 99;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
