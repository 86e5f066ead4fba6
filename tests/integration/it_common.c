/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <unistd.h>

#include "it_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const uint32_t t_shard_counts[T_NSHARD_COUNTS] = { 1, 2, 4, 8 };

atomic_int t_thread_fail;

void t_require_engine(void)
{
	struct aedb_config cfg;
	struct aedb *db = NULL;
	char *dir = t_tmpdir();
	int rc;

	aedb_config_init(&cfg);
	cfg.shards = 1;
	rc = aedb_open(dir, &cfg, &db);
	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "skip: aedb_open: %s (io_uring unavailable)\n",
			aedb_strerror(rc));
		t_rmrf(dir);
		free(dir);
		exit(77);
	}
	if (rc != 0) {
		fprintf(stderr, "aedb_open probe failed: %d %s\n", rc, aedb_strerror(rc));
		t_rmrf(dir);
		free(dir);
		exit(99);
	}
	aedb_close(db);
	t_rmrf(dir);
	free(dir);
}

struct aedb *t_open_p(uint32_t shards, const struct aedb_config *cfg)
{
	struct aedb *db = t_open(shards, cfg);

	t_assert_rc(aedb_create_project(db, T_P), 1);
	return db;
}

uint64_t t_set(struct aedb *db, const void *key, size_t key_len, const void *val,
	       size_t val_len)
{
	uint64_t seq = 0;

	t_assert_rc(aedb_kv_set(db, T_P, T_S, key, key_len, val, val_len,
				AEDB_FINALITY_VISIBLE, &seq), 0);
	assert_true(seq > 0);
	return seq;
}

uint64_t t_sets(struct aedb *db, const char *key, const char *val)
{
	return t_set(db, key, strlen(key), val, strlen(val));
}

uint64_t t_del(struct aedb *db, const void *key, size_t key_len)
{
	uint64_t seq = 0;

	t_assert_rc(aedb_kv_del(db, T_P, T_S, key, key_len, AEDB_FINALITY_VISIBLE, &seq), 0);
	assert_true(seq > 0);
	return seq;
}

void t_expect(struct aedb *db, const void *key, size_t key_len, const void *val,
	      size_t val_len, uint64_t version, struct aedb_at at)
{
	struct aedb_kv_item *item = NULL;
	int rc = aedb_kv_get(db, T_P, T_S, key, key_len, at, &item);

	if (!val) {
		t_assert_rc(rc, -AEDB_ENOTFOUND);
		assert_null(item);
		return;
	}
	t_assert_rc(rc, 0);
	assert_non_null(item);
	assert_int_equal(item->entry.key_len, key_len);
	if (key_len)
		assert_memory_equal(item->entry.key, key, key_len);
	assert_int_equal(item->entry.val_len, val_len);
	if (val_len)
		assert_memory_equal(item->entry.val, val, val_len);
	if (version)
		assert_int_equal(item->entry.version, version);
	assert_true(item->entry.created_seq <= item->entry.version);
	assert_true(item->entry.version <= item->snapshot_seq);
	assert_true(item->snapshot_seq <= aedb_visible_seq(db));
	if (at.mode == AEDB_AT_SEQ)
		assert_int_equal(item->snapshot_seq, at.seq);
	aedb_kv_item_free(item);
}

void t_expects(struct aedb *db, const char *key, const char *val)
{
	t_expect(db, key, strlen(key), val, val ? strlen(val) : 0, 0, AEDB_LATEST);
}

struct aedb_stats t_stats(struct aedb *db)
{
	struct aedb_stats st;

	memset(&st, 0xa5, sizeof(st));
	t_assert_rc(aedb_stats(db, &st), 0);
	return st;
}

void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int t_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c < 0 ? -1 : 1;
	if (alen == blen)
		return 0;
	return alen < blen ? -1 : 1;
}

int t_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct aedb_value t_vint(int64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_INTEGER };

	v.u.i64 = x;
	return v;
}

struct aedb_value t_vu64(uint64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_U64 };

	v.u.u64 = x;
	return v;
}

struct aedb_value t_vtext(const char *s)
{
	struct aedb_value v = { .type = AEDB_TYPE_TEXT };

	v.u.bytes = s;
	v.len = (uint32_t)strlen(s);
	return v;
}

struct aedb_value t_vnull(void)
{
	struct aedb_value v = { .type = AEDB_TYPE_NULL };

	return v;
}

void t_flip_byte(const char *path, long off, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

void t_ring_write_keys(struct aedb *db, uint32_t from, uint32_t count, uint32_t depth,
		       uint64_t *seqs)
{
	char (*keys)[16] = calloc(count ? count : 1, sizeof(*keys));
	struct aedb_ring ring;
	uint32_t ns, sent = 0, done = 0;

	assert_non_null(keys);
	t_assert_rc(aedb_scope_id(db, T_P, T_S, &ns), 0);
	t_assert_rc(aedb_ring_init(db, depth, &ring, 0), 0);
	while (done < count) {
		struct aedb_cqe *cqe;

		while (sent < count && sent - done < depth) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			if (!sqe)
				break;
			snprintf(keys[sent], sizeof(keys[sent]), "key:%05u", from + sent);
			aedb_prep_kv_set(sqe, ns, keys[sent], 9, keys[sent], 9,
					 AEDB_FINALITY_VISIBLE, &seqs[from + sent]);
			sent++;
		}
		assert_true(aedb_submit(&ring) >= 0);
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		t_assert_rc(cqe->res, 0);
		aedb_cqe_seen(&ring, cqe);
		done++;
	}
	aedb_ring_exit(&ring);
	free(keys);
}
