/* SPDX-License-Identifier: MIT */
/*
 * wal/ckpt.h and wal/manifest.h: the checkpoint file format. A file written
 * with catalog records, idempotency keys and KV entries (several blocks,
 * compressed and not) reads back entry for entry; every truncation and
 * every flipped byte is caught (-AEDB_ECORRUPT, never a crash or a bogus
 * success: run it under ASan); the manifest round-trips and rejects every
 * flipped byte, another database and another shard count.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "aedb.h"
#include "t_helpers.h"
#include "wal/ckpt.h"
#include "wal/manifest.h"
#include "wal/record.h"

#define F_SEQ 777u
#define F_KEYS 1500u

static const uint8_t f_db_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void f_key(char *buf, size_t len, uint32_t i)
{
	snprintf(buf, len, "key-%06u", i);
}

/* Values: every third one random-ish (those blocks stay raw), the rest
 * repetitive (lz4). */
static uint32_t f_val(uint8_t *v, uint32_t i)
{
	uint32_t len = 20 + i % 50;
	uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;

	for (uint32_t k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[k] = (i / 1000) % 3 == 0 ? (uint8_t)x : (uint8_t)('a' + k % 3);
	}
	return len;
}

static void f_write(const char *dir)
{
	struct ckpt_file_hdr h = { .shard = 1, .nshards = 2, .seq = F_SEQ, .cat_next_id = 9 };
	struct ckpt_writer w;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	uint8_t key16[16] = { 0 }, val[128];
	char key[32];

	assert_true(dfd >= 0);
	memcpy(h.db_id, f_db_id, 16);
	assert_int_equal(wal_ckpt_writer_open(&w, dfd, "1.ckpt", &h), 0);
	for (uint32_t i = 0; i < 2; i++) {
		struct wal_rec r = { .type = WAL_REC_DDL, .flags = 3, .ns = 5 + i, .seq = 10 + i,
				     .key = (const uint8_t *)"proj", .key_len = 4,
				     .val = (const uint8_t *)"scope", .val_len = 5 };

		assert_int_equal(wal_ckpt_put_rec(&w, &r), 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		key16[0] = (uint8_t)i;
		assert_int_equal(wal_ckpt_put_idem(&w, key16, 100 + i), 0);
	}
	for (uint32_t i = 0; i < F_KEYS; i++) {
		struct ckpt_kv kv = { .key = (const uint8_t *)key, .val = val, .seq = 500 + i % 200,
				      .created_seq = 400 };

		f_key(key, sizeof(key), i);
		kv.key_len = (uint32_t)strlen(key);
		kv.val_len = f_val(val, i);
		assert_int_equal(wal_ckpt_put_kv(&w, i < F_KEYS / 2 ? 5 : 6, &kv), 0);
	}
	assert_int_equal(wal_ckpt_writer_finish(&w), 0);
	assert_true(w.blocks >= 5);
	close(dfd);
}

/* Read every block of @path; 0 when it all checks, else the error. */
static int f_read(const char *path, uint64_t *kv_count)
{
	struct ckpt_reader r;
	struct ckpt_blk_hdr h;
	const uint8_t *raw;
	int rc = wal_ckpt_reader_open(&r, path, 1, 2, f_db_id, F_SEQ);
	uint8_t val[128];

	*kv_count = 0;
	while (rc == 0 && (rc = wal_ckpt_reader_next(&r, &h, &raw)) == 1) {
		size_t at = 0;

		rc = 0;
		for (uint32_t k = 0; rc == 0 && h.type == CKPT_BLK_KV && k < h.count; k++) {
			struct ckpt_kv kv;
			char key[32];

			rc = wal_ckpt_kv_decode(raw, h.raw_len, &at, &kv);
			if (rc < 0)
				break;
			f_key(key, sizeof(key), (uint32_t)*kv_count);
			assert_int_equal(kv.key_len, strlen(key));
			assert_memory_equal(kv.key, key, kv.key_len);
			assert_int_equal(kv.val_len, f_val(val, (uint32_t)*kv_count));
			assert_memory_equal(kv.val, val, kv.val_len);
			(*kv_count)++;
		}
	}
	wal_ckpt_reader_close(&r);
	return rc;
}

/* Write the first @len bytes of @img to @dst, byte @flip (if >= 0) flipped. */
static void f_copy(const uint8_t *img, const char *dst, size_t len, long flip)
{
	FILE *out = fopen(dst, "wb");

	assert_non_null(out);
	if (flip >= 0) {
		assert_int_equal(fwrite(img, 1, (size_t)flip, out), (size_t)flip);
		fputc(img[flip] ^ 0x20, out);
		assert_int_equal(fwrite(img + flip + 1, 1, len - (size_t)flip - 1, out),
				 len - (size_t)flip - 1);
	} else {
		assert_int_equal(fwrite(img, 1, len, out), len);
	}
	fclose(out);
}

/* Sample positions: every byte of the first KiB and the last 512 bytes
 * (headers, the first blocks, the END block), every 97th between. */
static int f_skip(long at, long size)
{
	return at > 1024 && at < size - 512 && at % 97;
}

static void test_ckpt_format_round_trip(void **state)
{
	char *dir = t_tmpdir(), path[4096];
	uint64_t n;

	(void)state;
	f_write(dir);
	snprintf(path, sizeof(path), "%s/1.ckpt", dir);
	assert_int_equal(f_read(path, &n), 0);
	assert_int_equal(n, F_KEYS);
	/* Another shard, seq or database: the header says no. */
	{
		struct ckpt_reader r;

		assert_int_equal(wal_ckpt_reader_open(&r, path, 0, 2, f_db_id, F_SEQ),
				 -AEDB_ECORRUPT);
		wal_ckpt_reader_close(&r);
		assert_int_equal(wal_ckpt_reader_open(&r, path, 1, 2, f_db_id, F_SEQ + 1),
				 -AEDB_ECORRUPT);
		wal_ckpt_reader_close(&r);
	}
	t_rmrf(dir);
	free(dir);
}

static void test_ckpt_format_damage(void **state)
{
	char *dir = t_tmpdir(), path[4096], bad[4200];
	struct stat st;
	uint8_t *img;
	uint64_t n;
	FILE *f;

	(void)state;
	f_write(dir);
	snprintf(path, sizeof(path), "%s/1.ckpt", dir);
	snprintf(bad, sizeof(bad), "%s/bad.ckpt", dir);
	assert_int_equal(stat(path, &st), 0);
	img = malloc((size_t)st.st_size);
	f = fopen(path, "rb");
	assert_non_null(img);
	assert_non_null(f);
	assert_int_equal(fread(img, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	for (long len = 0; len < st.st_size; len++) {
		if (f_skip(len, st.st_size))
			continue;
		f_copy(img, bad, (size_t)len, -1);
		if (f_read(bad, &n) != -AEDB_ECORRUPT)
			fail_msg("truncation to %ld bytes not caught", len);
	}
	for (long at = 0; at < st.st_size; at++) {
		if (f_skip(at, st.st_size))
			continue;
		f_copy(img, bad, (size_t)st.st_size, at);
		if (f_read(bad, &n) != -AEDB_ECORRUPT)
			fail_msg("flipped byte at %ld not caught", at);
	}
	free(img);
	t_rmrf(dir);
	free(dir);
}

static void test_ckpt_manifest(void **state)
{
	char *dir = t_tmpdir(), path[4096];
	struct wal_manifest m = { .nshards = 3, .seq = 42, .cat_next_id = 7, .entries = 99 }, got;
	uint8_t other[16] = { 9 };
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_true(dfd >= 0);
	assert_int_equal(wal_manifest_read(dfd, f_db_id, 3, &got), 0); /* none yet */
	memcpy(m.db_id, f_db_id, 16);
	for (uint32_t i = 0; i < 3; i++)
		m.files[i] = (struct wal_manifest_file){ .file_bytes = 1000 + i, .blocks = i,
							 .entries = 10 * i, .wal_first_seg = 5 };
	assert_int_equal(wal_manifest_write(dfd, &m), 0);
	assert_int_equal(wal_manifest_read(dfd, f_db_id, 3, &got), 1);
	assert_int_equal(got.seq, 42);
	assert_int_equal(got.files[2].file_bytes, 1002);
	assert_int_equal(got.files[1].wal_first_seg, 5);
	assert_int_equal(wal_manifest_read(dfd, other, 3, &got), -AEDB_EINCOMPAT);
	assert_int_equal(wal_manifest_read(dfd, f_db_id, 2, &got), -AEDB_EINCOMPAT);
	snprintf(path, sizeof(path), "%s/" MANIFEST_NAME, dir);
	assert_int_equal(stat(path, &st), 0);
	for (long at = 0; at < st.st_size; at++) {
		FILE *f = fopen(path, "r+b");
		int c;

		assert_non_null(f);
		fseek(f, at, SEEK_SET);
		c = fgetc(f);
		fseek(f, at, SEEK_SET);
		fputc(c ^ 0x01, f);
		fclose(f);
		if (wal_manifest_read(dfd, f_db_id, 3, &got) >= 0)
			fail_msg("flipped manifest byte at %ld not caught", at);
		f = fopen(path, "r+b");
		fseek(f, at, SEEK_SET);
		fputc(c, f);
		fclose(f);
	}
	assert_int_equal(wal_manifest_read(dfd, f_db_id, 3, &got), 1);
	assert_int_equal(truncate(path, st.st_size - 1), 0);
	assert_int_equal(wal_manifest_read(dfd, f_db_id, 3, &got), -AEDB_ECORRUPT);
	close(dfd);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ckpt_format_round_trip),
		cmocka_unit_test(test_ckpt_format_damage),
		cmocka_unit_test(test_ckpt_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
