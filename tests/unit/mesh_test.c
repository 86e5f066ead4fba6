/* SPDX-License-Identifier: MIT */
/* mesh: per-pair FIFO order, overflow spill and flush, concurrent SPSC. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "aedb.h"
#include "ring/mesh.h"

static void test_mesh_order_and_overflow(void **state)
{
	struct ring_mesh *m = ring_mesh_create(3, 16);
	struct ring_msg msg = { .type = 1, .src = 0, .dst = 2 }, out;
	int sent = 0;

	(void)state;
	assert_non_null(m);
	/* Fill the ring (15 usable) and spill into overflow. */
	for (; sent < 100; sent++) {
		msg.cookie = (uint64_t)sent;
		assert_int_equal(ring_mesh_send(m, &msg), 0);
	}
	assert_true(ring_mesh_pending(m, 0, 2));
	assert_false(ring_mesh_pending(m, 1, 2));
	for (int got = 0; got < sent;) {
		if (!ring_mesh_recv(m, 0, 2, &out)) {
			ring_mesh_flush(m, 0);
			continue;
		}
		assert_int_equal(out.cookie, (uint64_t)got);
		assert_int_equal(out.src, 0);
		got++;
	}
	assert_int_equal(ring_mesh_flush(m, 0), 0);
	assert_int_equal(ring_mesh_recv(m, 0, 2, &out), 0);
	ring_mesh_destroy(m);
}

#define MESH_N 200000
static struct ring_mesh *mesh_g;

static void *mesh_producer(void *arg)
{
	struct ring_msg msg = { .type = 1, .src = 1, .dst = 0 };

	(void)arg;
	for (uint64_t i = 0; i < MESH_N;) {
		msg.cookie = i;
		if (ring_mesh_send(mesh_g, &msg) == 0)
			i++;
		ring_mesh_flush(mesh_g, 1);
	}
	while (ring_mesh_flush(mesh_g, 1))
		;
	return NULL;
}

static void test_mesh_concurrent_fifo(void **state)
{
	struct ring_msg out;
	pthread_t th;

	(void)state;
	mesh_g = ring_mesh_create(2, 64);
	pthread_create(&th, NULL, mesh_producer, NULL);
	for (uint64_t want = 0; want < MESH_N;)
		if (ring_mesh_recv(mesh_g, 1, 0, &out))
			assert_int_equal(out.cookie, want++);
	pthread_join(th, NULL);
	ring_mesh_destroy(mesh_g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mesh_order_and_overflow),
		cmocka_unit_test(test_mesh_concurrent_fifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
