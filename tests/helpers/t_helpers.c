/* SPDX-License-Identifier: MIT */
#include "t_helpers.h"

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T_MAX_OPEN 64

static struct {
	struct aedb *db;
	char *dir;
} t_open_dbs[T_MAX_OPEN];

char *t_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/aedb-test-XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static int t_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void t_rmrf(const char *path)
{
	nftw(path, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct aedb *t_open(uint32_t shards, const struct aedb_config *cfg)
{
	struct aedb_config c;
	struct aedb *db = NULL;
	char *dir = t_tmpdir();
	int rc;

	if (cfg)
		c = *cfg;
	else
		aedb_config_init(&c);
	c.shards = shards;
	rc = aedb_open(dir, &c, &db);
	if (rc < 0) {
		fprintf(stderr, "t_open(%u): %s\n", shards, aedb_strerror(rc));
		abort();
	}
	for (int i = 0; i < T_MAX_OPEN; i++) {
		if (!t_open_dbs[i].db) {
			t_open_dbs[i].db = db;
			t_open_dbs[i].dir = dir;
			return db;
		}
	}
	abort();
}

void t_close(struct aedb *db)
{
	for (int i = 0; i < T_MAX_OPEN; i++) {
		if (t_open_dbs[i].db == db) {
			if (aedb_close(db) != 0)
				abort();
			t_rmrf(t_open_dbs[i].dir);
			free(t_open_dbs[i].dir);
			t_open_dbs[i].db = NULL;
			t_open_dbs[i].dir = NULL;
			return;
		}
	}
	abort();
}

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t t_seed(const char *test_name)
{
	const char *env = getenv("AEDB_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : t_now_ns() ^ (uint64_t)getpid();

	fprintf(stderr, "%s: seed %llu (replay with AEDB_TEST_SEED=%llu)\n", test_name,
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

uint64_t t_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* ---- directory digests ---- */

static char *t_digest_buf;
static size_t t_digest_len;
static const char *t_digest_root;

static int t_digest_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	unsigned char *bytes = NULL;
	char line[4352];
	FILE *f;
	int n;

	(void)ftw;
	if (flag == FTW_D || flag == FTW_DP) {
		n = snprintf(line, sizeof(line), "d %s %o %lld.%09ld\n",
			     path + strlen(t_digest_root), (unsigned)st->st_mode,
			     (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	} else {
		bytes = malloc(st->st_size ? (size_t)st->st_size : 1);
		f = fopen(path, "rb");
		if (!bytes || !f || fread(bytes, 1, (size_t)st->st_size, f) != (size_t)st->st_size)
			abort();
		fclose(f);
		crypto_hash_sha256(h, bytes, (unsigned long long)st->st_size);
		free(bytes);
		n = snprintf(line, sizeof(line), "f %s %lld %lld.%09ld %o ",
			     path + strlen(t_digest_root), (long long)st->st_size,
			     (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			     (unsigned)st->st_mode);
		for (size_t i = 0; i < sizeof(h); i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", h[i]);
		n += snprintf(line + n, sizeof(line) - (size_t)n, "\n");
	}
	t_digest_buf = realloc(t_digest_buf, t_digest_len + (size_t)n + 1);
	if (!t_digest_buf)
		abort();
	memcpy(t_digest_buf + t_digest_len, line, (size_t)n + 1);
	t_digest_len += (size_t)n;
	return 0;
}

char *t_dir_digest(const char *dir)
{
	char *out;

	t_digest_buf = NULL;
	t_digest_len = 0;
	t_digest_root = dir;
	if (sodium_init() < 0 || nftw(dir, t_digest_one, 16, FTW_PHYS) != 0)
		abort();
	out = t_digest_buf ? t_digest_buf : strdup("");
	t_digest_buf = NULL;
	return out;
}
