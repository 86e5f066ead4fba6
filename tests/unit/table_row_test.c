/* SPDX-License-Identifier: MIT */
/* table/row: exact layout, round trips for every type (randomized), single
 * column reads, and damaged rows: truncation, every byte changed, targeted
 * corruptions, random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "table/row.h"
#include "table/schema.h"
#include "table_gen.h"

#define T_ROW_MAX 4096

/* One nullable column of every type, in the reference's order, twice over
 * for the var kinds so the var table has interior entries. */
static struct tv_column t_cols[] = {
	{ .name = "id", .type = TV_INTEGER },
	{ .name = "t", .type = TV_TEXT, .nullable = true },
	{ .name = "u8", .type = TV_U8, .nullable = true },
	{ .name = "u64", .type = TV_U64, .nullable = true },
	{ .name = "f", .type = TV_FLOAT, .nullable = true },
	{ .name = "b", .type = TV_BOOLEAN, .nullable = true },
	{ .name = "u256", .type = TV_U256, .nullable = true },
	{ .name = "i256", .type = TV_I256, .nullable = true },
	{ .name = "blob", .type = TV_BLOB, .nullable = true },
	{ .name = "ts", .type = TV_TIMESTAMP, .nullable = true },
	{ .name = "j", .type = TV_JSON, .nullable = true },
	{ .name = "t2", .type = TV_TEXT, .nullable = true },
};
#define T_NCOLS (sizeof(t_cols) / sizeof(t_cols[0]))
static const char *const t_pk[] = { "id" };

static struct tv_schema t_schema = {
	.name = "every", .cols = t_cols, .ncols = T_NCOLS, .pk_names = t_pk, .npk = 1,
};

static int t_setup(void **state)
{
	(void)state;
	return tv_schema_check(&t_schema, NULL);
}

static void t_random_row(struct tg *g, struct tv_value *v)
{
	for (size_t i = 0; i < T_NCOLS; i++) {
		bool null = i > 0 && tg_below(g, 4) == 0;

		v[i] = tg_value(g, null ? TV_NULL : t_cols[i].type);
	}
}

static void t_assert_same(const struct tv_value *a, const struct tv_value *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].type, b[i].type);
		assert_int_equal(tv_cmp(&a[i], &b[i]), 0);
	}
}

static void test_row_exact_layout(void **state)
{
	static struct tv_column cols[] = {
		{ .name = "id", .type = TV_INTEGER },
		{ .name = "name", .type = TV_TEXT, .nullable = true },
		{ .name = "ok", .type = TV_BOOLEAN, .nullable = true },
		{ .name = "note", .type = TV_BLOB, .nullable = true },
	};
	static const char *const pk[] = { "id" };
	struct tv_schema s = { .name = "t", .cols = cols, .ncols = 4, .pk_names = pk, .npk = 1 };
	static const uint8_t want[] = {
		0x01, 0x00, 0x04, 0x00,                         /* version, flags, ncols */
		0x08,                                           /* bit 3: note is NULL */
		0x07, 0, 0, 0, 0, 0, 0, 0,                      /* id = 7, little-endian */
		0x01,                                           /* ok = true */
		0x02, 0, 0, 0, 0x02, 0, 0, 0,                   /* ends: name 2, note 2 */
		'h', 'i',
	};
	struct tv_value v[4] = { tv_integer(7), tv_text("hi", 2), tv_boolean(true), tv_null() };
	uint8_t buf[64];
	size_t len;

	(void)state;
	assert_int_equal(tv_schema_check(&s, NULL), 0);
	assert_int_equal(s.fixed_bytes, 9);
	assert_int_equal(s.nvar, 2);
	assert_int_equal(tv_row_encode(&s, v, buf, sizeof(buf), &len, NULL), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, len);
	assert_int_equal(tv_row_encode(&s, v, buf, 5, &len, NULL), -AEDB_ETOOBIG);
	assert_int_equal(len, sizeof(want));
}

static void test_row_roundtrip_random(void **state)
{
	uint64_t seed = t_seed("row_roundtrip");
	struct tv_value v[T_NCOLS], out[T_NCOLS], one;
	uint8_t buf[T_ROW_MAX], again[T_ROW_MAX];
	struct tg g;

	(void)state;
	tg_init(&g, seed, 1 << 16);
	for (int i = 0; i < 20000; i++) {
		size_t len, len2, size;

		t_random_row(&g, v);
		assert_int_equal(tv_row_size(&t_schema, v, &size, NULL), 0);
		assert_int_equal(tv_row_encode(&t_schema, v, buf, sizeof(buf), &len, NULL), 0);
		assert_int_equal(len, size);
		assert_int_equal(tv_row_decode(&t_schema, buf, len, out), 0);
		t_assert_same(v, out, T_NCOLS);
		for (uint32_t c = 0; c < T_NCOLS; c++) {
			assert_int_equal(tv_row_get(&t_schema, buf, len, c, &one), 0);
			t_assert_same(&v[c], &one, 1);
		}
		assert_int_equal(tv_row_encode(&t_schema, out, again, sizeof(again), &len2,
					       NULL), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(again, buf, len);
		g.used = 0;
	}
	tg_free(&g);
}

static void test_row_encode_errors(void **state)
{
	struct tv_value v[T_NCOLS], one;
	uint8_t buf[T_ROW_MAX];
	int32_t col = -1;
	size_t len;

	(void)state;
	for (size_t i = 0; i < T_NCOLS; i++)
		v[i] = tv_null();
	v[0] = tv_integer(1);
	v[3] = tv_integer(5);   /* an integer in the u64 column */
	assert_int_equal(tv_row_encode(&t_schema, v, buf, sizeof(buf), &len, &col),
			 -AEDB_ETYPE);
	assert_int_equal(col, 3);
	v[3] = tv_null();
	assert_int_equal(tv_row_encode(&t_schema, v, buf, sizeof(buf), &len, NULL), 0);
	assert_int_equal(tv_row_get(&t_schema, buf, len, T_NCOLS, &one), -AEDB_EINVAL);
	assert_int_equal(tv_row_get(&t_schema, buf, len, 1, &one), 0);
	assert_int_equal(one.type, TV_NULL);
}

/* Any damage is an error or decodes to a row that re-encodes to exactly the
 * damaged bytes (the format is canonical); never a crash or an overread
 * (ASan). Each candidate is copied to a buffer of its exact size. */
static void t_check_damaged(const uint8_t *bytes, size_t len)
{
	struct tv_value out[T_NCOLS], one;
	uint8_t *row = malloc(len ? len : 1), again[T_ROW_MAX];
	size_t len2;

	assert_non_null(row);
	memcpy(row, bytes, len);
	if (tv_row_decode(&t_schema, row, len, out) == 0) {
		assert_int_equal(tv_row_encode(&t_schema, out, again, sizeof(again), &len2,
					       NULL), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(again, row, len);
	}
	for (uint32_t c = 0; c < T_NCOLS; c++)
		(void)tv_row_get(&t_schema, row, len, c, &one);
	free(row);
}

static void test_row_damage_exhaustive(void **state)
{
	uint64_t seed = t_seed("row_damage");
	struct tv_value v[T_NCOLS], out[T_NCOLS];
	uint8_t buf[T_ROW_MAX], bad[T_ROW_MAX];
	struct tg g;

	(void)state;
	tg_init(&g, seed, 1 << 16);
	for (int r = 0; r < 40; r++) {
		size_t len;

		t_random_row(&g, v);
		assert_int_equal(tv_row_encode(&t_schema, v, buf, sizeof(buf), &len, NULL), 0);
		/* Every truncation, and one byte too many. */
		for (size_t n = 0; n < len; n++)
			assert_int_equal(tv_row_decode(&t_schema, buf, n, out), -AEDB_ECORRUPT);
		memcpy(bad, buf, len);
		bad[len] = 0;
		assert_int_equal(tv_row_decode(&t_schema, bad, len + 1, out), -AEDB_ECORRUPT);
		/* Every byte, a few values each. */
		for (size_t at = 0; at < len; at++) {
			static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x7f, 0x80, 0xff };

			for (size_t k = 0; k < sizeof(vals); k++) {
				memcpy(bad, buf, len);
				bad[at] = vals[k];
				t_check_damaged(bad, len);
			}
			memcpy(bad, buf, len);
			bad[at] ^= (uint8_t)(1u << tg_below(&g, 8));
			t_check_damaged(bad, len);
		}
		g.used = 0;
	}
	tg_free(&g);
}

static void test_row_damage_targeted(void **state)
{
	struct tv_value v[T_NCOLS], out[T_NCOLS];
	uint8_t buf[T_ROW_MAX], bad[T_ROW_MAX];
	size_t len, bitmap = TV_ROW_HEADER_BYTES, fixed = bitmap + (T_NCOLS + 7) / 8;
	size_t ends = fixed + t_schema.fixed_bytes;
	uint64_t nan = 0x7ff0000000000001ull;

	(void)state;
	for (size_t i = 0; i < T_NCOLS; i++)
		v[i] = tv_null();
	v[0] = tv_integer(1);
	v[1] = tv_text("ab", 2);
	v[4] = tv_float(1.0);
	v[5] = tv_boolean(false);
	assert_int_equal(tv_row_encode(&t_schema, v, buf, sizeof(buf), &len, NULL), 0);
	assert_int_equal(tv_row_decode(&t_schema, buf, len, out), 0);
#define DAMAGE(stmt) do { memcpy(bad, buf, len); stmt; \
		assert_int_equal(tv_row_decode(&t_schema, bad, len, out), -AEDB_ECORRUPT); \
	} while (0)
	DAMAGE(bad[0] = 2);                                     /* version */
	DAMAGE(bad[1] = 1);                                     /* flags */
	DAMAGE(bad[2] = T_NCOLS + 1);                           /* column count */
	DAMAGE(bad[bitmap + 1] |= 0x80);                        /* padding bit 15 */
	DAMAGE(bad[fixed + t_cols[5].slot] = 2);                /* boolean 2 */
	DAMAGE(bad[fixed + t_cols[2].slot] = 1);                /* NULL u8 not zero */
	DAMAGE(memcpy(bad + fixed + t_cols[4].slot, &nan, 8));  /* NaN payload */
	DAMAGE(bad[ends] = 3);                                  /* end past the data */
	DAMAGE(bad[ends + 4 * t_cols[8].slot] = 1);             /* NULL blob with bytes */
	/* The blob's end below the text's: the blob reads a negative length. */
	DAMAGE(bad[ends + 4 * t_cols[8].slot] = 1; bad[ends + 4 * t_cols[10].slot] = 1;
	       bad[ends + 4 * t_cols[11].slot] = 1);
	/* Reading the text alone only needs its own offsets to be sane. */
	memcpy(bad, buf, len);
	bad[ends + 4 * t_cols[11].slot] = 0xff;
	assert_int_equal(tv_row_get(&t_schema, bad, len, 1, &out[1]), 0);
	assert_int_equal(tv_row_get(&t_schema, bad, len, 11, &out[11]), -AEDB_ECORRUPT);
	assert_int_equal(tv_row_get(&t_schema, bad, 3, 0, &out[0]), -AEDB_ECORRUPT);
#undef DAMAGE
}

static void test_row_random_bytes(void **state)
{
	uint64_t seed = t_seed("row_random_bytes");
	uint8_t bytes[256];
	struct tg g;

	(void)state;
	tg_init(&g, seed, 16);
	for (int i = 0; i < 50000; i++) {
		size_t len = tg_below(&g, sizeof(bytes));

		for (size_t k = 0; k < len; k++)
			bytes[k] = (uint8_t)tg_rand(&g);
		/* A plausible header, so the deeper checks get exercised. */
		if (len >= 4 && tg_below(&g, 2)) {
			bytes[0] = TV_ROW_VERSION;
			bytes[1] = 0;
			bytes[2] = T_NCOLS;
			bytes[3] = 0;
		}
		t_check_damaged(bytes, len);
	}
	tg_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_exact_layout),
		cmocka_unit_test(test_row_roundtrip_random),
		cmocka_unit_test(test_row_encode_errors),
		cmocka_unit_test(test_row_damage_exhaustive),
		cmocka_unit_test(test_row_damage_targeted),
		cmocka_unit_test(test_row_random_bytes),
	};

	return cmocka_run_group_tests(tests, t_setup, NULL);
}
