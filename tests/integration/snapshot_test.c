/* SPDX-License-Identifier: MIT */
/*
 * snapshot_test - AT_SEQ reads, the retained window and its garbage
 * collection (-AEDB_ESEQGC), and snapshot isolation while other threads
 * write, on 1, 2, 4 and 8 shards.
 */
#include "it_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Point reads of 8 keys x 5 versions (and a delete) at every interesting seq. */
static void t_at_seq_points(struct aedb *db, uint64_t seq[5][8], uint64_t before,
			    uint64_t del_seq)
{
	char key[16], val[16];

	/* before the first write: absent */
	t_expect(db, "key0", 4, NULL, 0, 0, AEDB_SEQ(before));
	for (int r = 0; r < 5; r++)
		for (int k = 0; k < 8; k++) {
			uint64_t next = r < 4 ? seq[r + 1][k] : del_seq;

			snprintf(key, sizeof(key), "key%d", k);
			snprintf(val, sizeof(val), "r%d-k%d", r, k);
			/* exactly at the write, and just before the next one */
			t_expect(db, key, 4, val, strlen(val), seq[r][k], AEDB_SEQ(seq[r][k]));
			t_expect(db, key, 4, val, strlen(val), seq[r][k], AEDB_SEQ(next - 1));
		}
	/* key3 is gone from del_seq on, still there before */
	t_expect(db, "key3", 4, NULL, 0, 0, AEDB_SEQ(del_seq));
	t_expect(db, "key3", 4, NULL, 0, 0, AEDB_LATEST);
	t_expect(db, "key3", 4, "r4-k3", 5, seq[4][3], AEDB_SEQ(del_seq - 1));
}

/* Scans at old seqs; AT_LATEST bracketed by V; V + 1 is the future. */
static void t_at_seq_scans_latest(struct aedb *db, uint64_t seq[5][8], uint64_t before)
{
	struct aedb_kv_page *page = NULL;
	struct aedb_kv_item *item = NULL;
	struct aedb_kv_batch *batch = NULL;
	struct aedb_key keys[1] = { { "key0", 4 } };
	uint64_t s = seq[2][5]; /* round 2 done up to key5 */
	char val[16];

	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "key", 3, 100, NULL, AEDB_SEQ(s), &page),
		    8);
	assert_int_equal(page->snapshot_seq, s);
	for (int k = 0; k < 8; k++) {
		int r = k <= 5 ? 2 : 1;

		snprintf(val, sizeof(val), "r%d-k%d", r, k);
		assert_int_equal(page->entries[k].version, seq[r][k]);
		assert_memory_equal(page->entries[k].val, val, strlen(val));
	}
	aedb_kv_page_free(page);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "key", 3, 100, NULL, AEDB_SEQ(before),
					&page), 0);
	assert_int_equal(page->snapshot_seq, before);
	aedb_kv_page_free(page);
	for (int i = 0; i < 10; i++) {
		uint64_t v0 = aedb_visible_seq(db), v1;

		t_assert_rc(aedb_kv_get(db, T_P, T_S, "key0", 4, AEDB_LATEST, &item), 0);
		v1 = aedb_visible_seq(db);
		assert_true(item->snapshot_seq >= v0 && item->snapshot_seq <= v1);
		aedb_kv_item_free(item);
	}
	uint64_t v = aedb_visible_seq(db);

	t_assert_rc(aedb_kv_get(db, T_P, T_S, "key0", 4, AEDB_SEQ(v), &item), 0);
	assert_int_equal(item->snapshot_seq, v);
	aedb_kv_item_free(item);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "key0", 4, AEDB_SEQ(v + 1), &item),
		    -AEDB_ESEQFUTURE);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 1, NULL, AEDB_SEQ(v + 1), &page),
		    -AEDB_ESEQFUTURE);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 1, AEDB_SEQ(v + 1), &batch),
		    -AEDB_ESEQFUTURE);
}

static void test_snapshot_at_seq_reads_old_values(void **state)
{
	char key[16], val[16];

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint64_t seq[5][8];
		uint64_t before = aedb_visible_seq(db), del_seq;

		/* 8 keys (spread over shards) x 5 versions each, then key3 deleted */
		for (int r = 0; r < 5; r++)
			for (int k = 0; k < 8; k++) {
				snprintf(key, sizeof(key), "key%d", k);
				snprintf(val, sizeof(val), "r%d-k%d", r, k);
				seq[r][k] = t_sets(db, key, val);
			}
		del_seq = t_del(db, "key3", 4);
		t_at_seq_points(db, seq, before, del_seq);
		t_at_seq_scans_latest(db, seq, before);
		t_close(db);
	}
}

/* Poll until @pred holds or @ms pass; @ok receives the last result. */
#define T_WAIT_UNTIL(ms, ok, pred)                                            \
	do {                                                                  \
		uint64_t t_end_ = t_now_ns() + (uint64_t)(ms) * 1000000ull;   \
		while (!((ok) = (pred)) && t_now_ns() < t_end_)               \
			t_sleep_ms(2);                                        \
	} while (0)

static int t_get_rc(struct aedb *db, const char *key, struct aedb_at at)
{
	struct aedb_kv_item *item = NULL;
	int rc = aedb_kv_get(db, T_P, T_S, key, strlen(key), at, &item);

	if (rc == 0)
		aedb_kv_item_free(item);
	return rc;
}

static bool t_versions_bounded(struct aedb *db, uint64_t max)
{
	struct aedb_stats st = t_stats(db);

	return st.versions_live <= max;
}

#define T_GKEYS 50
#define T_GROUNDS 20
#define T_GRETAIN 8

/* The oldest seq expires for every kind of read, and GC bounds versions_live. */
static void t_gc_expired(struct aedb *db, uint64_t first, uint64_t v)
{
	struct aedb_kv_page *page = NULL;
	struct aedb_kv_batch *batch = NULL;
	struct aedb_key keys[1] = { { "g00", 3 } };
	const uint64_t bound = T_GKEYS + 2 * T_GRETAIN;
	struct aedb_stats st;
	bool ok;

	T_WAIT_UNTIL(10000, ok, t_get_rc(db, "g00", AEDB_SEQ(first)) == -AEDB_ESEQGC);
	if (!ok)
		fail_msg("AT_SEQ(%llu) still readable %llu commits later: %s",
			 (unsigned long long)first, (unsigned long long)(v - first),
			 aedb_strerror(t_get_rc(db, "g00", AEDB_SEQ(first))));
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 10, NULL, AEDB_SEQ(first), &page),
		    -AEDB_ESEQGC);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 1, AEDB_SEQ(first), &batch),
		    -AEDB_ESEQGC);
	/* superseded versions are collected: about one per key, plus the window */
	T_WAIT_UNTIL(10000, ok, t_versions_bounded(db, bound));
	if (!ok)
		fail_msg("versions_live %llu after GC (want <= %llu)",
			 (unsigned long long)t_stats(db).versions_live, (unsigned long long)bound);
	st = t_stats(db);
	assert_true(st.versions_collected >= (uint64_t)T_GROUNDS * T_GKEYS - bound);
	assert_int_equal(st.keys_live, T_GKEYS);
	assert_true(st.gc_floor_seq > first);
	assert_true(st.gc_floor_seq <= v - T_GRETAIN + 1);
	assert_int_equal(st.visible_seq, v);
}

/* The last T_GRETAIN commits read exactly; the floor reads, one below does not. */
static void t_gc_window(struct aedb *db, uint64_t seqs[T_GROUNDS][T_GKEYS])
{
	char key[16], val[16];
	struct aedb_stats st;

	for (int back = 0; back < T_GRETAIN; back++) {
		int idx = T_GROUNDS * T_GKEYS - 1 - back;
		int r = idx / T_GKEYS, k = idx % T_GKEYS;
		int k2 = (k + 1) % T_GKEYS, r2 = k2 > k ? r - 1 : r;
		uint64_t s = seqs[r][k];

		snprintf(key, sizeof(key), "g%02d", k);
		snprintf(val, sizeof(val), "%d/%d", r, k);
		t_expect(db, key, 3, val, strlen(val), s, AEDB_SEQ(s));
		/* a key last written before s reads its older value */
		snprintf(key, sizeof(key), "g%02d", k2);
		snprintf(val, sizeof(val), "%d/%d", r2, k2);
		t_expect(db, key, 3, val, strlen(val), seqs[r2][k2], AEDB_SEQ(s));
	}
	/* The floor rises on GC ticks until it reaches V - retain_commits;
	 * probe it only once it has settled there. */
	{
		bool settled;

		T_WAIT_UNTIL(10000, settled,
			     t_stats(db).gc_floor_seq == t_stats(db).visible_seq - T_GRETAIN);
		if (!settled)
			fail_msg("GC floor %llu never reached V - %d",
				 (unsigned long long)t_stats(db).gc_floor_seq, T_GRETAIN);
	}
	st = t_stats(db);
	t_assert_rc(t_get_rc(db, "g00", AEDB_SEQ(st.gc_floor_seq)), 0);
	if (st.gc_floor_seq > 1)
		t_assert_rc(t_get_rc(db, "g00", AEDB_SEQ(st.gc_floor_seq - 1)), -AEDB_ESEQGC);
	/* latest values are intact */
	for (int k = 0; k < T_GKEYS; k++) {
		snprintf(key, sizeof(key), "g%02d", k);
		snprintf(val, sizeof(val), "%d/%d", T_GROUNDS - 1, k);
		t_expect(db, key, 3, val, strlen(val), seqs[T_GROUNDS - 1][k], AEDB_LATEST);
	}
}

/*
 * Overwrites far beyond retain_commits with retain_ms 0: old seqs expire
 * (-AEDB_ESEQGC), the last retain_commits seqs still read correctly, and GC
 * frees superseded versions.
 */
static void test_snapshot_gc_expires_old_seqs(void **state)
{
	static uint64_t seqs[T_GROUNDS][T_GKEYS];
	struct aedb_config cfg;
	char key[16], val[16];

	(void)state;
	aedb_config_init(&cfg);
	cfg.retain_commits = T_GRETAIN;
	cfg.retain_ms = 0;
	cfg.gc_interval_ms = 1;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], &cfg);
		uint64_t v;

		for (int r = 0; r < T_GROUNDS; r++)
			for (int k = 0; k < T_GKEYS; k++) {
				snprintf(key, sizeof(key), "g%02d", k);
				snprintf(val, sizeof(val), "%d/%d", r, k);
				seqs[r][k] = t_sets(db, key, val);
			}
		v = aedb_visible_seq(db);
		assert_int_equal(v, seqs[T_GROUNDS - 1][T_GKEYS - 1]);
		t_gc_expired(db, seqs[0][0], v);
		t_gc_window(db, seqs);
		t_close(db);
	}
}

/* A scan cursor whose snapshot left the window gets -AEDB_ESEQGC. */
static void test_snapshot_cursor_expires(void **state)
{
	struct aedb_config cfg;
	char key[16];

	(void)state;
	aedb_config_init(&cfg);
	cfg.retain_commits = 4;
	cfg.retain_ms = 0;
	cfg.gc_interval_ms = 1;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], &cfg);
		struct aedb_kv_page *page = NULL, *next = NULL;
		uint64_t snap;
		int rc = 0;

		for (int i = 0; i < 20; i++) {
			snprintf(key, sizeof(key), "c%02d", i);
			t_sets(db, key, "v");
		}
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "c", 1, 5, NULL, AEDB_LATEST, &page),
			    5);
		snap = page->snapshot_seq;
		for (int i = 0; i < 200; i++)
			t_sets(db, "c19", "overwrite");
		uint64_t end = t_now_ns() + 10000000000ull;

		while (t_now_ns() < end) {
			rc = aedb_kv_scan_prefix(db, T_P, T_S, "c", 1, 5, &page->cursor,
						 AEDB_LATEST, &next);
			if (rc != 5)
				break;
			assert_int_equal(next->snapshot_seq, snap);
			aedb_kv_page_free(next);
			t_sleep_ms(2);
		}
		t_assert_rc(rc, -AEDB_ESEQGC);
		aedb_kv_page_free(page);
		t_close(db);
	}
}

/* retain_ms keeps old seqs for at least that long, whatever retain_commits says. */
static void test_snapshot_retain_ms_window(void **state)
{
	struct aedb_config cfg;
	const unsigned retain_ms = 1500;

	(void)state;
	aedb_config_init(&cfg);
	cfg.retain_commits = 1;
	cfg.retain_ms = retain_ms;
	cfg.gc_interval_ms = 1;
	struct aedb *db = t_open_p(4, &cfg);
	uint64_t t0 = t_now_ns();
	uint64_t first = t_sets(db, "k", "first");

	for (int i = 0; i < 300; i++)
		t_sets(db, "k", "later");
	t_sleep_ms(50); /* several GC intervals */
	if (t_now_ns() - t0 < (retain_ms - 300) * 1000000ull)
		t_expect(db, "k", 1, "first", 5, first, AEDB_SEQ(first));
	else
		print_message("retain_ms check skipped: writes took too long\n");
	/* and it does expire after retain_ms */
	bool ok;

	T_WAIT_UNTIL(retain_ms + 10000, ok, t_get_rc(db, "k", AEDB_SEQ(first)) == -AEDB_ESEQGC);
	if (!ok)
		fail_msg("AT_SEQ(first) never expired");
	assert_true(t_now_ns() - t0 >= (uint64_t)retain_ms * 1000000ull);
	t_close(db);
}

/* ------------------------------------------------------------------------ */
/* Snapshot isolation under concurrent writers                               */
/* ------------------------------------------------------------------------ */

#ifndef T_ISO_MS
#define T_ISO_MS 700   /* how long writers run per shard count */
#endif
#define T_W 2          /* writer threads */
#define T_K 16         /* keys per writer */
#define T_NK (T_W * T_K)
#define T_R 2          /* reader threads */
#ifndef T_ROUNDS
#define T_ROUNDS 3000  /* most rounds a writer makes */
#endif
#define T_OBS 2048     /* observations kept per reader */

/* Round r of key (w, j): a delete when r % 5 == 4, else a value. */
static bool t_round_is_del(uint32_t r)
{
	return r % 5 == 4;
}

static uint32_t t_val_make(uint8_t *buf, uint32_t w, uint32_t j, uint32_t r)
{
	uint64_t tag = ((uint64_t)w << 56) | ((uint64_t)j << 48) | r;
	uint32_t len = 8 + r % 13;

	memcpy(buf, &tag, 8);
	memset(buf + 8, (int)(r & 0xff), len - 8);
	return len;
}

static void t_key_make(char *buf, uint32_t w, uint32_t j)
{
	snprintf(buf, 16, "w%uk%02u", w, j);
}

struct t_obs_ent {
	uint32_t present;
	uint32_t round;
	uint64_t version;
};

struct t_obs {
	uint64_t snap;
	struct t_obs_ent e[T_NK];
};

struct t_iso {
	struct aedb *db;
	atomic_int stop;
	atomic_int writers_left;
	/* written by writer w only; read by main after join */
	uint64_t seq[T_W][T_K][T_ROUNDS];
	uint32_t rounds[T_W];
	/* per reader */
	struct t_obs obs[T_R][T_OBS];
	uint32_t nobs[T_R];
	uint64_t checks[T_R];
	uint64_t seed;
};

struct t_iso_arg {
	struct t_iso *t;
	uint32_t id;
};

static void *t_iso_writer(void *p)
{
	struct t_iso_arg *a = p;
	struct t_iso *t = a->t;
	uint32_t w = a->id;
	uint8_t val[32];
	char key[16];
	uint32_t r;

	for (r = 0; r < T_ROUNDS && !atomic_load(&t->stop); r++) {
		for (uint32_t j = 0; j < T_K; j++) {
			uint64_t seq = 0;
			int rc;

			t_key_make(key, w, j);
			if (t_round_is_del(r)) {
				rc = aedb_kv_del(t->db, T_P, T_S, key, strlen(key),
						 AEDB_FINALITY_VISIBLE, &seq);
			} else {
				uint32_t len = t_val_make(val, w, j, r);

				rc = aedb_kv_set(t->db, T_P, T_S, key, strlen(key), val, len,
						 AEDB_FINALITY_VISIBLE, &seq);
			}
			T_CHECK(rc == 0, "writer %u: %s", w, aedb_strerror(rc));
			/* VISIBLE: complete once V >= seq */
			T_CHECK(aedb_visible_seq(t->db) >= seq, "V %llu < seq %llu",
				(unsigned long long)aedb_visible_seq(t->db),
				(unsigned long long)seq);
			t->seq[w][j][r] = seq;
		}
	}
	t->rounds[w] = r;
	atomic_fetch_sub(&t->writers_left, 1);
	return NULL;
}

/* Decode an entry of key (w, j) into an observation; check it in passing. */
static void t_obs_fill(struct t_obs_ent *o, const struct aedb_kv_entry *e, uint32_t w,
		       uint32_t j, uint64_t snap)
{
	uint64_t tag;
	uint8_t want[32];

	o->present = 1;
	o->version = e->version;
	T_CHECK(e->version <= snap, "version %llu > snapshot %llu",
		(unsigned long long)e->version, (unsigned long long)snap);
	T_CHECK(e->created_seq <= e->version, "created_seq > version");
	T_CHECK(e->val_len >= 8, "short value %u", e->val_len);
	if (e->val_len < 8)
		return;
	memcpy(&tag, e->val, 8);
	o->round = (uint32_t)(tag & 0xffffffffu);
	T_CHECK((tag >> 56) == w && ((tag >> 48) & 0xff) == j, "value of another key");
	uint32_t len = t_val_make(want, w, j, o->round);

	T_CHECK(e->val_len == len && memcmp(e->val, want, len) == 0, "torn value");
}

/* Read every key at snapshot @snap with get-many. */
static bool t_read_getmany(struct aedb *db, uint64_t snap, struct t_obs *o)
{
	char names[T_NK][16];
	struct aedb_key keys[T_NK];
	struct aedb_kv_batch *batch = NULL;
	int rc;

	for (uint32_t i = 0; i < T_NK; i++) {
		t_key_make(names[i], i / T_K, i % T_K);
		keys[i] = (struct aedb_key){ names[i], (uint32_t)strlen(names[i]) };
	}
	rc = aedb_kv_get_many(db, T_P, T_S, keys, T_NK, AEDB_SEQ(snap), &batch);
	T_CHECK(rc >= 0, "get_many at %llu: %s", (unsigned long long)snap, aedb_strerror(rc));
	if (rc < 0)
		return false;
	T_CHECK(batch->snapshot_seq == snap, "get_many snapshot");
	T_CHECK(batch->count == T_NK && (int)batch->found == rc, "get_many counts");
	memset(o, 0, sizeof(*o));
	o->snap = snap;
	for (uint32_t i = 0; i < T_NK; i++) {
		if (batch->entries[i].key)
			t_obs_fill(&o->e[i], &batch->entries[i], i / T_K, i % T_K, snap);
	}
	aedb_kv_batch_free(batch);
	return true;
}

/* Read every key with a paged scan: the first page at @at, the rest by cursor. */
static bool t_read_scan(struct aedb *db, struct aedb_at at, uint32_t limit, struct t_obs *o)
{
	struct aedb_kv_page *page = NULL, *next;
	uint8_t last[16];
	uint32_t last_len = 0;
	bool first = true;
	int rc;

	rc = aedb_kv_scan_prefix(db, T_P, T_S, "w", 1, limit, NULL, at, &page);
	T_CHECK(rc >= 0, "scan: %s", aedb_strerror(rc));
	if (rc < 0)
		return false;
	memset(o, 0, sizeof(*o));
	o->snap = page->snapshot_seq;
	T_CHECK(o->snap <= aedb_visible_seq(db), "snapshot beyond V");
	for (;;) {
		T_CHECK(page->snapshot_seq == o->snap, "page snapshot moved");
		for (uint32_t i = 0; i < page->count; i++) {
			const struct aedb_kv_entry *e = &page->entries[i];
			unsigned w, j;

			/* ascending, each key once */
			T_CHECK(first || t_keycmp(last, last_len, e->key, e->key_len) < 0,
				"scan order");
			first = false;
			T_CHECK(e->key_len < sizeof(last), "key length");
			memcpy(last, e->key, e->key_len < 15 ? e->key_len : 15);
			last_len = e->key_len;
			char kb[16] = { 0 };

			memcpy(kb, e->key, e->key_len < 15 ? e->key_len : 15);
			if (sscanf(kb, "w%uk%u", &w, &j) != 2 || w >= T_W || j >= T_K) {
				T_CHECK(false, "unexpected key %s", kb);
				continue;
			}
			t_obs_fill(&o->e[w * T_K + j], e, w, j, o->snap);
		}
		if (!page->truncated)
			break;
		rc = aedb_kv_scan_prefix(db, T_P, T_S, "w", 1, limit, &page->cursor, AEDB_LATEST,
					 &next);
		T_CHECK(rc >= 0, "scan cursor: %s", aedb_strerror(rc));
		aedb_kv_page_free(page);
		if (rc < 0)
			return false;
		page = next;
	}
	aedb_kv_page_free(page);
	return true;
}

static bool t_obs_equal(const struct t_obs *a, const struct t_obs *b)
{
	for (uint32_t i = 0; i < T_NK; i++) {
		if (a->e[i].present != b->e[i].present)
			return false;
		if (a->e[i].present &&
		    (a->e[i].round != b->e[i].round || a->e[i].version != b->e[i].version))
			return false;
	}
	return true;
}

static void *t_iso_reader(void *p)
{
	struct t_iso_arg *a = p;
	struct t_iso *t = a->t;
	uint32_t me = a->id;
	uint64_t rng = t->seed + me;
	uint64_t last_latest[T_NK] = { 0 };
	struct t_obs o1, o2;

	while (atomic_load(&t->writers_left) > 0) {
		uint64_t snap;
		uint32_t limit = 1 + (uint32_t)(t_rand(&rng) % 12);

		/* a snapshot from a paged scan at LATEST, or from V */
		if (t_rand(&rng) & 1) {
			if (!t_read_scan(t->db, AEDB_LATEST, limit, &o1))
				break;
			snap = o1.snap;
		} else {
			snap = aedb_visible_seq(t->db);
			if (!t_read_getmany(t->db, snap, &o1))
				break;
		}
		/* the same snapshot read again, two ways, must not change */
		if (!t_read_getmany(t->db, snap, &o2))
			break;
		T_CHECK(t_obs_equal(&o1, &o2), "snapshot %llu changed between reads",
			(unsigned long long)snap);
		if (!t_read_scan(t->db, AEDB_SEQ(snap), limit, &o2))
			break;
		T_CHECK(o2.snap == snap, "scan at seq reports another snapshot");
		T_CHECK(t_obs_equal(&o1, &o2), "scan at %llu differs from get_many",
			(unsigned long long)snap);
		/* AT_LATEST never goes backwards */
		uint32_t k = (uint32_t)(t_rand(&rng) % T_NK);
		char key[16];
		struct aedb_kv_item *item = NULL;
		int rc;

		t_key_make(key, k / T_K, k % T_K);
		rc = aedb_kv_get(t->db, T_P, T_S, key, strlen(key), AEDB_LATEST, &item);
		T_CHECK(rc == 0 || rc == -AEDB_ENOTFOUND, "get latest: %s", aedb_strerror(rc));
		if (rc == 0) {
			T_CHECK(item->snapshot_seq >= snap, "LATEST went back: %llu < %llu",
				(unsigned long long)item->snapshot_seq, (unsigned long long)snap);
			T_CHECK(item->entry.version >= last_latest[k], "key version went back");
			last_latest[k] = item->entry.version;
			aedb_kv_item_free(item);
		}
		/* keep a uniform sample of the whole run (reservoir) */
		t->checks[me]++;
		if (t->nobs[me] < T_OBS) {
			t->obs[me][t->nobs[me]++] = o1;
		} else {
			uint64_t slot = t_rand(&rng) % t->checks[me];

			if (slot < T_OBS)
				t->obs[me][slot] = o1;
		}
	}
	return NULL;
}

/* The exact expected state of key (w, j) at @snap, from the writers' log. */
static void t_expected(const struct t_iso *t, uint32_t w, uint32_t j, uint64_t snap,
		       struct t_obs_ent *want)
{
	const uint64_t *seq = t->seq[w][j];
	int64_t lo = 0, hi = (int64_t)t->rounds[w] - 1, r = -1;

	/* one writer's seqs for a key strictly increase with the round */
	memset(want, 0, sizeof(*want));
	while (lo <= hi) {
		int64_t mid = (lo + hi) / 2;

		if (seq[mid] <= snap) {
			r = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	if (r < 0 || t_round_is_del((uint32_t)r))
		return;
	want->present = 1;
	want->round = (uint32_t)r;
	want->version = t->seq[w][j][r];
}

/* Run T_W writers and T_R readers for T_ISO_MS, then join them. */
static void t_iso_run(struct t_iso *t)
{
	pthread_t wth[T_W], rth[T_R];
	struct t_iso_arg wa[T_W], ra[T_R];

	atomic_store(&t->writers_left, T_W);
	atomic_store(&t_thread_fail, 0);
	for (uint32_t i = 0; i < T_W; i++) {
		wa[i] = (struct t_iso_arg){ t, i };
		assert_int_equal(pthread_create(&wth[i], NULL, t_iso_writer, &wa[i]), 0);
	}
	for (uint32_t i = 0; i < T_R; i++) {
		ra[i] = (struct t_iso_arg){ t, i };
		assert_int_equal(pthread_create(&rth[i], NULL, t_iso_reader, &ra[i]), 0);
	}
	t_sleep_ms(T_ISO_MS);
	atomic_store(&t->stop, 1);
	for (uint32_t i = 0; i < T_W; i++)
		pthread_join(wth[i], NULL);
	for (uint32_t i = 0; i < T_R; i++)
		pthread_join(rth[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
}

/* Every write got its own seq; one key's seqs rise with the round. */
static void t_iso_check_seqs(const struct t_iso *t)
{
	uint64_t nwrites = 0, n = 0, *all;

	for (uint32_t w = 0; w < T_W; w++) {
		assert_true(t->rounds[w] > 0);
		nwrites += (uint64_t)t->rounds[w] * T_K;
	}
	all = malloc(nwrites * sizeof(*all));
	for (uint32_t w = 0; w < T_W; w++)
		for (uint32_t j = 0; j < T_K; j++)
			for (uint32_t r = 0; r < t->rounds[w]; r++) {
				assert_true(t->seq[w][j][r] > 0);
				if (r > 0)
					assert_true(t->seq[w][j][r] > t->seq[w][j][r - 1]);
				all[n++] = t->seq[w][j][r];
			}
	qsort(all, n, sizeof(*all), t_u64_cmp);
	for (uint64_t i = 1; i < n; i++)
		assert_true(all[i] != all[i - 1]);
	free(all);
}

/* Every kept observation equals the exact state at its snapshot. */
static void t_iso_check_obs(const struct t_iso *t, uint32_t shards)
{
	for (uint32_t rd = 0; rd < T_R; rd++)
		for (uint32_t i = 0; i < t->nobs[rd]; i++) {
			const struct t_obs *o = &t->obs[rd][i];

			for (uint32_t k = 0; k < T_NK; k++) {
				const struct t_obs_ent *g = &o->e[k];
				struct t_obs_ent want;

				t_expected(t, k / T_K, k % T_K, o->snap, &want);
				if (want.present == g->present &&
				    (!want.present ||
				     (want.round == g->round && want.version == g->version)))
					continue;
				fail_msg("shards %u snapshot %llu key %u: got present %u round %u "
					 "version %llu, want present %u round %u version %llu",
					 shards, (unsigned long long)o->snap, k, g->present,
					 g->round, (unsigned long long)g->version, want.present,
					 want.round, (unsigned long long)want.version);
			}
		}
}

static void test_snapshot_isolation_concurrent(void **state)
{
	uint64_t seed = t_seed(__func__);
	struct aedb_config cfg;

	(void)state;
	aedb_config_init(&cfg);
	cfg.retain_ms = 60000; /* readers hold snapshots well within this */
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct t_iso *t = calloc(1, sizeof(*t));
		uint64_t checks = 0, obs = 0;

		t->db = t_open_p(t_shard_counts[si], &cfg);
		t->seed = seed + (uint64_t)si;
		t_iso_run(t);
		t_iso_check_seqs(t);
		t_iso_check_obs(t, t_shard_counts[si]);
		for (uint32_t rd = 0; rd < T_R; rd++) {
			checks += t->checks[rd];
			obs += t->nobs[rd];
		}
		print_message("shards %u: %u+%u rounds, %llu reader checks, %llu observations "
			      "verified\n", t_shard_counts[si], t->rounds[0], t->rounds[1],
			      (unsigned long long)checks, (unsigned long long)obs);
		assert_true(checks > 0);
		t_close(t->db);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_at_seq_reads_old_values),
		cmocka_unit_test(test_snapshot_gc_expires_old_seqs),
		cmocka_unit_test(test_snapshot_cursor_expires),
		cmocka_unit_test(test_snapshot_retain_ms_window),
		cmocka_unit_test(test_snapshot_isolation_concurrent),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
