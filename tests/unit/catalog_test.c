/* SPDX-License-Identifier: MIT */
/* catalog: copy-on-write edits, ordering, ids, lookups; record framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "api/catalog.h"
#include "aedb.h"
#include "wal/record.h"

static void test_catalog_cow_edits(void **state)
{
	struct catalog *c0 = cat_create_empty(), *c1, *c2, *c3, *c4;
	struct cat_scope *app, *x;

	(void)state;
	assert_non_null(c0);
	c1 = cat_with_project(c0, "p2", 0, 4);
	cat_stamp(c1, 5);
	c2 = cat_with_project(c1, "p1", 0, 4);
	cat_stamp(c2, 6);
	assert_int_equal(c0->nprojects, 0);      /* old versions unchanged */
	assert_int_equal(c1->nprojects, 1);
	assert_int_equal(c2->nprojects, 2);
	assert_string_equal(c2->projects[0]->name, "p1"); /* sorted */
	app = cat_find_scope(c2, "p2", "app");
	assert_non_null(app);
	assert_int_equal(app->created_seq, 5);   /* stamping kept the old seq */
	assert_int_equal(cat_find_scope(c2, "p1", "app")->created_seq, 6);
	c3 = cat_with_scope(c2, "p1", "aa", 0, 4);
	cat_stamp(c3, 7);
	x = cat_find_scope(c3, "p1", "aa");
	assert_non_null(x);
	assert_ptr_equal(cat_scope_by_id(c3, x->id), x);
	assert_string_equal(c3->scopes[0]->name, "aa"); /* (p1,aa) < (p1,app) */
	assert_null(cat_find_scope(c2, "p1", "aa"));
	c4 = cat_without_project(c3, "p1", 0);
	cat_stamp(c4, 8);
	assert_null(cat_find_project(c4, "p1"));
	assert_null(cat_scope_by_id(c4, x->id));  /* ids are not reused */
	assert_non_null(cat_find_scope(c4, "p2", "app"));
	assert_int_equal(c4->nscopes, 1);
	assert_true(c4->next_scope_id > x->id);
	cat_free(c4);
	cat_free(c2);
	cat_free(c1);
	cat_free(c0);
	cat_free_deep(c3);
}

static void test_record_roundtrip_and_corruption(void **state)
{
	struct wal_batch b;
	struct wal_rec in = { .type = WAL_REC_KV_SET, .ns = 7, .seq = 42,
			      .key = (const uint8_t *)"key", .key_len = 3,
			      .val = (const uint8_t *)"value", .val_len = 5 };
	struct wal_rec out;
	long off, n;

	(void)state;
	wal_batch_init(&b);
	off = wal_batch_append(&b, &in);
	assert_int_equal(off, 0);
	in.type = WAL_REC_KV_DEL;
	in.val_len = 0;
	assert_int_equal(wal_batch_append(&b, &in), WAL_REC_HDR_BYTES + 8);
	n = wal_rec_decode(b.buf, b.len, 0, &out);
	assert_int_equal(n, WAL_REC_HDR_BYTES + 8);
	assert_int_equal(out.type, WAL_REC_KV_SET);
	assert_int_equal(out.seq, 42);
	assert_int_equal(out.ns, 7);
	assert_memory_equal(out.key, "key", 3);
	assert_memory_equal(out.val, "value", 5);
	assert_int_equal(wal_rec_decode(b.buf, b.len, (size_t)n, &out), WAL_REC_HDR_BYTES + 3);
	assert_int_equal(out.type, WAL_REC_KV_DEL);
	/* Truncated and garbled records are errors, not crashes. */
	assert_int_equal(wal_rec_decode(b.buf, b.len - 1, (size_t)n, &out), -AEDB_ECORRUPT);
	assert_int_equal(wal_rec_decode(b.buf, 10, 0, &out), -AEDB_ECORRUPT);
	b.buf[0] = 99;
	assert_int_equal(wal_rec_decode(b.buf, b.len, 0, &out), -AEDB_ECORRUPT);
	b.buf[0] = WAL_REC_KV_SET;
	b.buf[16] = 0xff; /* key_len far past the end */
	assert_int_equal(wal_rec_decode(b.buf, b.len, 0, &out), -AEDB_ECORRUPT);
	wal_batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog_cow_edits),
		cmocka_unit_test(test_record_roundtrip_and_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
