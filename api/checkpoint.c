/* SPDX-License-Identifier: MIT */
/*
 * Fuzzy checkpoints (DESIGN §6, docs/CHECKPOINTS.md).
 *
 * A checkpoint is a cut at one seq S <= D. Commits and reads go on while it
 * runs: helper threads read every shard's partitions lock-free at snapshot S
 * (MVCC), in short epoch sections, and write `checkpoint/<S>/<i>.ckpt`. The
 * shard threads only copy their idempotency keys once (a REQ_CKPT between
 * rounds). Then the manifest is replaced atomically, the checkpoint becomes
 * the AT_CHECKPOINT snapshot, and WAL segments wholly at or below S and the
 * previous checkpoint are deleted.
 *
 * GC pin: versions visible at S must survive until the files are written.
 * db->ckpt_pin caps the horizon shards collect to (shard/apply.c). It is
 * set with a Dekker handshake against the floor: we store the pin, fence and
 * read the floor; a shard raises the floor, fences and reads the pin. Either
 * we see its raised floor (then we pin there and look again) or it sees our
 * pin. Every horizon a shard collects to without having seen the pin is at
 * most the floor we read last, which is the pin; and S >= it, since S is a
 * durable seq read after it (the floor never passes V).
 */
#include "api/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/cat_emit.h"
#include "api/catalog.h"
#include "api/db.h"
#include "core/assert.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/tsan.h"
#include "shard/ckpt.h"
#include "shard/kvmap.h"
#include "shard/shard.h"
#include "wal/ckpt.h"
#include "wal/frame.h"
#include "wal/manifest.h"
#include "wal/pin.h"
#include "wal/record.h"

#define CK_SLICE_KEYS 1024u       /* keys per epoch section */
#define CK_CUT_TRIES 1000u        /* DDL racing the cut: give up after this */
#define CK_AUTO_POLL_MS 200u
#define CK_NICE 10                /* the writers' nice value */

struct api_ckpt {
	pthread_mutex_t lock;         /* one checkpoint at a time */
	pthread_mutex_t auto_mu;
	pthread_cond_t auto_cv;
	pthread_t auto_th;
	int auto_started;
	int auto_stop;
	uint64_t seq;                 /* the current checkpoint, 0: none */
	uint64_t wal_bytes_at;        /* WAL bytes written when it was taken */
	uint64_t taken_ns;            /* atomic (stats) */
	uint64_t last_ns;             /* atomic: the last aedb_checkpoint_now() */
	uint64_t wal_pin;             /* backup pin P (under lock), WAL_PIN_NONE */
};

/* One checkpoint in progress. */
struct ck_job {
	struct aedb *db;
	uint64_t seq;
	int dirfd;                    /* checkpoint/<S>/ */
	uint32_t next_shard;          /* atomic: work queue for the writers */
	uint32_t cat_next_id;
	struct wal_batch cat;         /* the catalog as DDL records */
	uint32_t *ns;                 /* every namespace id at S, ascending */
	uint32_t nns;
	struct shard_ckpt_idem *idem; /* per shard */
	struct wal_manifest man;
	uint64_t raw_bytes[AEDB_SHARDS_MAX];
	uint64_t kv_entries[AEDB_SHARDS_MAX];
	uint32_t vanished;            /* atomic: a namespace was dropped meanwhile */
	int nice;                     /* writers lower their priority */
	int err;                      /* first error (atomic CAS from 0) */
};

static uint64_t ck_wal_bytes(struct aedb *db)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < db->nshards; i++)
		n += __atomic_load_n(&db->shards[i].wal.bytes_written, __ATOMIC_RELAXED);
	return n;
}

static void ck_fail(struct ck_job *j, int err)
{
	int zero = 0;

	AEDB_ASSERT(err < 0);
	__atomic_compare_exchange_n(&j->err, &zero, err, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
}

uint64_t api_ckpt_read_seq_any(struct aedb *db)
{
	return __atomic_load_n(&db->ckpt_read, __ATOMIC_ACQUIRE);
}

/*
 * Pin the GC horizon at or below every seq this checkpoint may pick (see the
 * file comment). An existing pin (the current checkpoint) is already lower
 * than any new S, so it stays.
 */
static void ck_pin(struct aedb *db)
{
	uint64_t pin = __atomic_load_n(&db->ckpt_pin, __ATOMIC_SEQ_CST), floor;

	if (pin != UINT64_MAX)
		return;
	floor = wm_floor_any(&db->wm);
	for (;;) {
		__atomic_store_n(&db->ckpt_pin, floor, __ATOMIC_SEQ_CST);
		CORE_FENCE_SEQ_CST();
		pin = wm_floor_any(&db->wm);
		if (pin <= floor)
			return;
		floor = pin; /* the floor moved first: pin where it is now */
	}
}

static int ck_emit(void *arg, const struct wal_rec *rec)
{
	struct ck_job *j = arg;

	return wal_batch_append(&j->cat, rec) < 0 ? -ENOMEM : 0;
}

/* In an epoch section: if the catalog @cat is the one at S, capture it. */
static int ck_capture(struct ck_job *j, const struct catalog *cat)
{
	uint32_t n = 0;
	int rc;

	j->ns = calloc(cat->next_scope_id ? cat->next_scope_id : 1, sizeof(*j->ns));
	if (!j->ns)
		return -ENOMEM;
	for (uint32_t id = 1; id < cat->next_scope_id; id++)
		if (cat->by_id[id])
			j->ns[n++] = id;
	j->nns = n;
	j->cat_next_id = cat->next_scope_id;
	rc = cat_emit_ddl(cat, ck_emit, j);
	return rc;
}

/*
 * Pick S: force every commit allocated so far durable and take S = D. The
 * catalog at S is the current one if no DDL above S has been published yet
 * (a DDL swaps the catalog before V covers its seq); otherwise try again.
 */
static int ck_cut(struct ck_job *j)
{
	struct aedb *db = j->db;
	ck_epoch_record_t *rec = api_reader_record(db);

	if (!rec)
		return -ENOMEM;
	for (uint32_t tries = 0; tries < CK_CUT_TRIES; tries++) {
		struct catalog *cat;
		int rc = aedb_force_fsync(db);

		if (rc < 0)
			return rc;
		j->seq = wm_durable_any(&db->wm);
		api_read_begin(rec);
		cat = api_catalog_any(db);
		rc = cat->seq <= j->seq ? ck_capture(j, cat) : 1;
		api_read_end(db, rec);
		if (rc <= 0)
			return rc;
	}
	return -AEDB_EBUSY;
}

/* Ask each shard for its idempotency keys applied at or below S. */
static int ck_idem(struct ck_job *j)
{
	struct aedb *db = j->db;

	j->idem = calloc(db->nshards, sizeof(*j->idem));
	if (!j->idem)
		return -ENOMEM;
	if (!db->cfg.idempotency_window)
		return 0;
	for (uint32_t i = 0; i < db->nshards; i++) {
		struct req r;
		int rc;

		memset(&r, 0, sizeof(r));
		r.op = REQ_CKPT;
		j->idem[i].seq = j->seq;
		r.key = &j->idem[i];
		rc = api_submit_wait(db, &r, i);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Write this shard's partition of namespace @ns as of S, a slice of keys
 * per epoch section, resuming after the last key written. */
static int ck_write_ns(struct ck_job *j, struct ckpt_writer *w, ck_epoch_record_t *rec,
		       uint32_t shard, uint32_t ns)
{
	struct aedb *db = j->db;
	uint8_t *last = NULL;
	size_t last_cap = 0;
	uint32_t last_len = 0;
	int rc = 0, more = 1, started = 0;

	while (rc == 0 && more) {
		const struct cat_scope *sc;
		const struct kvmap *m;
		struct kvmap_iter it;
		uint32_t n = 0;

		api_read_begin(rec);
		sc = cat_scope_by_id(api_catalog_any(db), ns);
		m = sc ? __atomic_load_n(&sc->parts[shard], __ATOMIC_ACQUIRE) : NULL;
		if (!m) {
			/* Never written on this shard, or dropped after S. */
			if (!sc || __atomic_load_n(&sc->dropped, __ATOMIC_ACQUIRE))
				__atomic_store_n(&j->vanished, 1, __ATOMIC_RELAXED);
			api_read_end(db, rec);
			break;
		}
		kvmap_iter_seek_any(&it, m, started ? last : NULL, last_len, started != 0, j->seq);
		for (; rc == 0 && kvmap_iter_valid(&it) && n < CK_SLICE_KEYS; n++) {
			struct ckpt_kv kv = { .val = it.version->data, .val_len = it.version->len,
					      .seq = it.version->seq,
					      .created_seq = it.version->created_seq };

			kv.key = kvmap_iter_key(&it, &kv.key_len);
			rc = wal_ckpt_put_kv(w, ns, &kv);
			if (rc == 0 && n + 1 == CK_SLICE_KEYS) {
				rc = core_buf_reserve(&last, &last_cap, 0, kv.key_len + 1, 256);
				if (rc == 0)
					memcpy(last, kv.key, kv.key_len);
				last_len = kv.key_len;
			}
			kvmap_iter_next_any(&it);
		}
		more = kvmap_iter_valid(&it);
		started = 1;
		api_read_end(db, rec);
	}
	free(last);
	return rc;
}

static int ck_write_shard(struct ck_job *j, uint32_t shard, ck_epoch_record_t *rec)
{
	struct aedb *db = j->db;
	struct ckpt_file_hdr h = { .shard = shard, .nshards = db->nshards, .seq = j->seq,
				   .cat_next_id = j->cat_next_id };
	struct shard_ckpt_idem *q = &j->idem[shard];
	struct ckpt_writer w;
	char name[32];
	int rc;

	memcpy(h.db_id, db->db_id, 16);
	snprintf(name, sizeof(name), "%u.ckpt", shard);
	rc = wal_ckpt_writer_open(&w, j->dirfd, name, &h);
	for (size_t at = 0; rc == 0 && shard == 0 && at < j->cat.len;) {
		struct wal_rec r;
		long n = wal_rec_decode(j->cat.buf, j->cat.len, at, &r);

		AEDB_ASSERT(n > 0);
		rc = wal_ckpt_put_rec(&w, &r);
		at += (size_t)n;
	}
	for (uint32_t k = 0; rc == 0 && k < q->n; k++) {
		uint64_t seq;

		memcpy(&seq, q->buf + (size_t)k * 24 + 16, 8);
		rc = wal_ckpt_put_idem(&w, q->buf + (size_t)k * 24, seq);
	}
	for (uint32_t k = 0; rc == 0 && k < j->nns && !__atomic_load_n(&j->err, __ATOMIC_RELAXED);
	     k++)
		rc = ck_write_ns(j, &w, rec, shard, j->ns[k]);
	if (rc < 0) {
		wal_ckpt_writer_abort(&w);
		return rc;
	}
	rc = wal_ckpt_writer_finish(&w);
	j->man.files[shard] = (struct wal_manifest_file){
		.file_bytes = w.file_bytes, .blocks = w.blocks, .entries = w.entries };
	j->raw_bytes[shard] = w.raw_bytes;
	j->kv_entries[shard] = w.kv_entries;
	return rc;
}

static void *ck_writer_main(void *arg)
{
	struct ck_job *j = arg;
	ck_epoch_record_t *rec = api_reader_get(j->db);
	uint32_t i;

	/* A background job (DESIGN §2): when cores are short, the shards
	 * come first. Linux nice values are per thread. */
	if (j->nice)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), CK_NICE);

	if (!rec) {
		ck_fail(j, -ENOMEM);
		return NULL;
	}
	while ((i = __atomic_fetch_add(&j->next_shard, 1, __ATOMIC_RELAXED)) < j->db->nshards) {
		int rc = ck_write_shard(j, i, rec);

		if (rc < 0)
			ck_fail(j, rc);
	}
	api_reader_put(j->db, rec);
	return NULL;
}

/* Write every shard's file on min(shards, CPUs) helper threads, niced. */
static int ck_write_files(struct ck_job *j)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t n = j->db->nshards, started = 0;
	pthread_t th[AEDB_SHARDS_MAX];

	if (cpus >= 1 && (uint32_t)cpus < n)
		n = (uint32_t)cpus;
	j->nice = 1;
	for (uint32_t i = 0; i < n; i++) {
		if (pthread_create(&th[started], NULL, ck_writer_main, j) != 0)
			break;
		started++;
	}
	if (!started) {
		j->nice = 0; /* the caller's thread keeps its priority */
		ck_writer_main(j);
	}
	for (uint32_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return j->err;
}

static int ck_seg_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The first seqs of shard @shard's segments, ascending (*@out malloc). */
static int ck_list_segs(struct aedb *db, uint32_t shard, int *dirfd, uint64_t **out,
			uint32_t *n)
{
	char path[4096];
	struct dirent *de;
	uint32_t cap = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/wal/%u", db->path, shard);
	*dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(dup(*dirfd));
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long long v = strtoull(de->d_name, &end, 10);

		if (strlen(de->d_name) != 24 || strcmp(end, ".seg") != 0)
			continue;
		if (*n == cap) {
			uint64_t *g = realloc(*out, (cap ? cap * 2 : 16) * sizeof(*g));

			if (!g) {
				closedir(d);
				return -ENOMEM;
			}
			*out = g;
			cap = cap ? cap * 2 : 16;
		}
		(*out)[(*n)++] = v;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), ck_seg_cmp);
	return 0;
}

/*
 * Per shard: the first segment replay needs (the first one that is the last,
 * or whose successor starts above S + 1: it may hold seqs above S) goes in
 * the manifest; when @reclaim, every segment before it is deleted. Those all
 * have a successor, so none is the segment the shard is appending to; and
 * every seq <= S is on disk already (S <= D), so no segment named <= S + 1
 * can still appear.
 */
static int ck_segments(struct ck_job *j, int reclaim, uint32_t *reclaimed)
{
	struct aedb *db = j->db;
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < db->nshards; i++) {
		uint64_t *segs;
		uint32_t n, first = 0;
		int dirfd = -1;

		rc = ck_list_segs(db, i, &dirfd, &segs, &n);
		while (rc == 0 && first + 1 < n && segs[first + 1] <= j->seq + 1)
			first++;
		j->man.files[i].wal_first_seg = rc == 0 && n ? segs[first] : 0;
		/* The backup pin keeps every segment that can hold seqs > P. */
		if (db->ckpt->wal_pin < j->seq) {
			first = 0;
			while (rc == 0 && first + 1 < n && segs[first + 1] <= db->ckpt->wal_pin + 1)
				first++;
		}
		for (uint32_t k = 0; rc == 0 && reclaim && k < first; k++) {
			char name[32];

			snprintf(name, sizeof(name), "%020llu.seg", (unsigned long long)segs[k]);
			if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
				rc = -errno;
			else
				(*reclaimed)++;
		}
		if (rc == 0 && reclaim && first && fsync(dirfd) < 0)
			rc = -errno;
		if (dirfd >= 0)
			close(dirfd);
		free(segs);
	}
	return rc;
}

/* Remove checkpoint/<name>/ and its files. */
static int ck_remove_dir(int ckfd, const char *name)
{
	int fd = openat(ckfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(fd, de->d_name, 0);
	closedir(d);
	return unlinkat(ckfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

/* Remove every checkpoint directory but @keep (0: all), and temp files. */
static int ck_remove_others(int ckfd, uint64_t keep)
{
	struct dirent *de;
	DIR *d = fdopendir(dup(ckfd));
	int rc = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long long v = strtoull(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || strcmp(de->d_name, MANIFEST_NAME) == 0)
			continue;
		if (strcmp(de->d_name, MANIFEST_NAME ".tmp") == 0)
			unlinkat(ckfd, de->d_name, 0);
		else if (strlen(de->d_name) == 20 && *end == '\0' && v != keep && rc == 0)
			rc = ck_remove_dir(ckfd, de->d_name);
	}
	closedir(d);
	return rc == 0 && fsync(ckfd) < 0 ? -errno : rc;
}

static int ck_open_ckdir(struct aedb *db)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/checkpoint", db->path);
	int fd;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Files written: fsync the new directory, make sure any namespace dropped
 * meanwhile has its drop on disk (its data may be missing from the files),
 * then publish the manifest. */
static int ck_publish(struct ck_job *j, int ckfd)
{
	struct aedb *db = j->db;
	int rc = fsync(j->dirfd) < 0 || fsync(ckfd) < 0 ? -errno : 0;

	if (rc == 0 && __atomic_load_n(&j->vanished, __ATOMIC_RELAXED))
		rc = aedb_force_fsync(db);
	if (rc == 0)
		rc = ck_segments(j, 0, NULL);
	if (rc < 0)
		return rc;
	j->man.nshards = db->nshards;
	j->man.seq = j->seq;
	memcpy(j->man.db_id, db->db_id, 16);
	j->man.created_ns = core_now_ns();
	j->man.cat_next_id = j->cat_next_id;
	for (uint32_t i = 0; i < db->nshards; i++)
		j->man.entries += j->man.files[i].entries;
	return wal_manifest_write(ckfd, &j->man);
}

static void ck_job_free(struct ck_job *j)
{
	if (j->dirfd >= 0)
		close(j->dirfd);
	for (uint32_t i = 0; j->idem && i < j->db->nshards; i++)
		free(j->idem[i].buf);
	free(j->idem);
	free(j->ns);
	wal_batch_free(&j->cat);
}

static void ck_result(const struct ck_job *j, struct aedb_checkpoint_result *res,
		      uint64_t t0, uint64_t t_write, uint64_t t_done, uint32_t reclaimed)
{
	memset(res, 0, sizeof(*res));
	res->seq = j->seq;
	res->files = j->db->nshards;
	res->segments_reclaimed = reclaimed;
	res->duration_ns = t_done - t0;
	res->write_ns = t_done > t_write ? t_done - t_write : 0;
	for (uint32_t i = 0; i < j->db->nshards; i++) {
		res->entries += j->kv_entries[i];
		res->file_bytes += j->man.files[i].file_bytes;
		res->logical_bytes += j->raw_bytes[i];
	}
}

/* The checkpoint itself; the caller holds ck->lock. */
static int ck_run(struct aedb *db, struct aedb_checkpoint_result *res)
{
	struct api_ckpt *ck = db->ckpt;
	struct ck_job j = { .db = db, .dirfd = -1 };
	uint64_t t0 = core_now_ns(), t_write, wal_at = ck_wal_bytes(db);
	uint64_t pin_before = __atomic_load_n(&db->ckpt_pin, __ATOMIC_ACQUIRE);
	uint32_t reclaimed = 0;
	char name[32];
	int ckfd, rc;

	wal_batch_init(&j.cat);
	ck_pin(db);
	rc = ck_cut(&j);
	if (rc == 0 && j.seq == ck->seq) {
		/* Nothing committed since the current checkpoint. */
		__atomic_store_n(&db->ckpt_pin, pin_before, __ATOMIC_SEQ_CST);
		ck_result(&j, res, t0, t0, core_now_ns(), 0);
		ck_job_free(&j);
		return 0;
	}
	if (rc == 0)
		rc = ck_idem(&j);
	ckfd = rc == 0 ? ck_open_ckdir(db) : -1;
	if (rc == 0 && ckfd < 0)
		rc = ckfd;
	snprintf(name, sizeof(name), "%020llu", (unsigned long long)j.seq);
	if (rc == 0)
		rc = ck_remove_dir(ckfd, name); /* a failed attempt at the same S */
	if (rc == 0 && mkdirat(ckfd, name, 0700) < 0)
		rc = -errno;
	if (rc == 0) {
		j.dirfd = openat(ckfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = j.dirfd < 0 ? -errno : 0;
	}
	t_write = core_now_ns();
	if (rc == 0)
		rc = ck_write_files(&j);
	if (rc == 0)
		rc = ck_publish(&j, ckfd);
	if (rc < 0) {
		/* The old checkpoint (if any) stays current; so does its pin. */
		if (ckfd >= 0)
			ck_remove_dir(ckfd, name);
		__atomic_store_n(&db->ckpt_pin, pin_before, __ATOMIC_SEQ_CST);
		goto out;
	}
	/* The new checkpoint is the one recovery uses. AT_CHECKPOINT moves to
	 * it, then the pin (readers load the read seq in their epoch section,
	 * and a shard waits a grace period after it sees a new pin). */
	__atomic_store_n(&db->ckpt_read, j.seq, __ATOMIC_SEQ_CST);
	__atomic_store_n(&db->ckpt_pin, j.seq, __ATOMIC_SEQ_CST);
	/* Atomic stores: aedb_stats() reads them without the lock. */
	__atomic_store_n(&ck->seq, j.seq, __ATOMIC_RELAXED);
	ck->wal_bytes_at = wal_at;
	__atomic_store_n(&ck->taken_ns, core_now_ns(), __ATOMIC_RELAXED);
	rc = ck_segments(&j, 1, &reclaimed);
	if (rc == 0 && !db->cfg.backup_wal_pin)
		rc = wal_pin_remove(db->path); /* a pin left from a run with it on */
	if (rc == 0)
		rc = ck_remove_others(ckfd, j.seq);
	ck_result(&j, res, t0, t_write, core_now_ns(), reclaimed);
out:
	if (ckfd >= 0)
		close(ckfd);
	ck_job_free(&j);
	return rc;
}

AEDB_API int aedb_checkpoint_now(struct aedb *db, struct aedb_checkpoint_result *res)
{
	struct aedb_checkpoint_result scratch;
	int rc;

	if (!db || !db->ckpt)
		return -AEDB_EMISUSE;
	if (db->readonly)
		return -AEDB_EREADONLY;
	if (__atomic_load_n(&db->closing, __ATOMIC_ACQUIRE))
		return -AEDB_ECLOSED;
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
		return -AEDB_EFATAL;
	pthread_mutex_lock(&db->ckpt->lock);
	rc = ck_run(db, res ? res : &scratch);
	if (rc == 0)
		__atomic_store_n(&db->ckpt->last_ns, (res ? res : &scratch)->duration_ns,
				 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&db->ckpt->lock);
	return rc;
}

/* Take the checkpoint lock for a backup, unless the instance cannot
 * serve one. 0 (locked) or an error (not locked). */
static int ck_lock_backup(struct aedb *db)
{
	if (!db->ckpt)
		return -AEDB_EMISUSE;
	if (db->readonly)
		return -AEDB_EREADONLY;
	if (__atomic_load_n(&db->closing, __ATOMIC_ACQUIRE))
		return -AEDB_ECLOSED;
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
		return -AEDB_EFATAL;
	pthread_mutex_lock(&db->ckpt->lock);
	return 0;
}

int api_ckpt_lock_for_backup(struct aedb *db, struct aedb_checkpoint_result *res)
{
	int rc = ck_lock_backup(db);

	if (rc < 0)
		return rc;
	rc = ck_run(db, res);
	if (rc < 0)
		pthread_mutex_unlock(&db->ckpt->lock);
	return rc;
}

int api_ckpt_lock_current(struct aedb *db, uint64_t *seq)
{
	int rc = ck_lock_backup(db);

	if (rc == 0)
		*seq = db->ckpt->seq;
	return rc;
}

int api_ckpt_pin_backup(struct aedb *db, uint64_t to_seq)
{
	int rc;

	if (!db->cfg.backup_wal_pin)
		return 0;
	AEDB_ASSERT(to_seq != WAL_PIN_NONE);
	rc = wal_pin_write(db->path, to_seq);
	if (rc == 0)
		db->ckpt->wal_pin = to_seq;
	return rc;
}

int api_ckpt_wal_kept(struct aedb *db, uint64_t from)
{
	return db->cfg.backup_wal_pin && db->ckpt->wal_pin != WAL_PIN_NONE &&
	       db->ckpt->wal_pin < from;
}

void api_ckpt_unlock_for_backup(struct aedb *db)
{
	pthread_mutex_unlock(&db->ckpt->lock);
}

void api_ckpt_stats_any(struct aedb *db, struct aedb_stats *out)
{
	struct api_ckpt *ck = db->ckpt;
	uint64_t now = core_now_ns(), t;

	if (!ck)
		return;
	out->checkpoint_seq = __atomic_load_n(&ck->seq, __ATOMIC_RELAXED);
	t = __atomic_load_n(&ck->taken_ns, __ATOMIC_RELAXED);
	out->checkpoint_age_ms = now > t ? (now - t) / 1000000ull : 0;
	out->checkpoint_last_ns = __atomic_load_n(&ck->last_ns, __ATOMIC_RELAXED);
}

AEDB_API uint64_t aedb_checkpoint_seq(struct aedb *db)
{
	uint64_t seq;

	if (!db || !db->ckpt)
		return 0;
	pthread_mutex_lock(&db->ckpt->lock);
	seq = db->ckpt->seq;
	pthread_mutex_unlock(&db->ckpt->lock);
	return seq;
}

/* ---- automatic checkpoints ---------------------------------------------- */

static int ck_auto_due(struct aedb *db)
{
	const struct aedb_config *cfg = &db->cfg;
	struct api_ckpt *ck = db->ckpt;
	uint64_t now = core_now_ns();

	if (cfg->checkpoint_wal_bytes &&
	    ck_wal_bytes(db) - ck->wal_bytes_at >= cfg->checkpoint_wal_bytes)
		return 1;
	return cfg->checkpoint_interval_ms &&
	       now - ck->taken_ns >= (uint64_t)cfg->checkpoint_interval_ms * 1000000ull;
}

static void *ck_auto_main(void *arg)
{
	struct aedb *db = arg;
	struct api_ckpt *ck = db->ckpt;

	pthread_mutex_lock(&ck->auto_mu);
	while (!ck->auto_stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)CK_AUTO_POLL_MS * 1000000l;
		ts.tv_sec += ts.tv_nsec / 1000000000l;
		ts.tv_nsec %= 1000000000l;
		pthread_cond_timedwait(&ck->auto_cv, &ck->auto_mu, &ts);
		if (ck->auto_stop)
			break;
		pthread_mutex_unlock(&ck->auto_mu);
		pthread_mutex_lock(&ck->lock);
		/* A failed automatic checkpoint is retried at the next trigger;
		 * the WAL still holds everything. */
		if (ck_auto_due(db) && !__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE)) {
			struct aedb_checkpoint_result res;

			if (ck_run(db, &res) < 0)
				__atomic_store_n(&ck->taken_ns, core_now_ns(), __ATOMIC_RELAXED);
			else
				__atomic_store_n(&ck->last_ns, res.duration_ns, __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&ck->lock);
		pthread_mutex_lock(&ck->auto_mu);
	}
	pthread_mutex_unlock(&ck->auto_mu);
	return NULL;
}

int api_ckpt_open(struct aedb *db, uint64_t seq)
{
	struct api_ckpt *ck = calloc(1, sizeof(*ck));
	pthread_condattr_t ca;
	int ckfd, rc;

	if (!ck)
		return -ENOMEM;
	pthread_mutex_init(&ck->lock, NULL);
	pthread_mutex_init(&ck->auto_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ck->auto_cv, &ca);
	pthread_condattr_destroy(&ca);
	ck->seq = seq;
	ck->taken_ns = core_now_ns();
	ck->wal_pin = WAL_PIN_NONE;
	if (db->cfg.backup_wal_pin) {
		rc = wal_pin_read(db->path, &ck->wal_pin);
		if (rc < 0) {
			free(ck);
			return rc;
		}
	}
	db->ckpt = ck;
	/* After a restart only the newest versions are in memory: the
	 * checkpoint's snapshot is readable only if nothing came after it. */
	if (seq && seq == wm_visible_any(&db->wm)) {
		__atomic_store_n(&db->ckpt_read, seq, __ATOMIC_SEQ_CST);
		__atomic_store_n(&db->ckpt_pin, seq, __ATOMIC_SEQ_CST);
	}
	if (db->readonly)
		return 0; /* no cleanup, no automatic checkpoints */
	ckfd = ck_open_ckdir(db);
	if (ckfd < 0)
		return ckfd;
	rc = ck_remove_others(ckfd, seq); /* unfinished checkpoints */
	close(ckfd);
	if (rc < 0)
		return rc;
	if (db->cfg.checkpoint_wal_bytes || db->cfg.checkpoint_interval_ms) {
		if (pthread_create(&ck->auto_th, NULL, ck_auto_main, db) != 0)
			return -EAGAIN;
		ck->auto_started = 1;
	}
	return 0;
}

void api_ckpt_close(struct aedb *db)
{
	struct api_ckpt *ck = db->ckpt;

	if (!ck)
		return;
	if (ck->auto_started) {
		pthread_mutex_lock(&ck->auto_mu);
		ck->auto_stop = 1;
		pthread_cond_signal(&ck->auto_cv);
		pthread_mutex_unlock(&ck->auto_mu);
		pthread_join(ck->auto_th, NULL);
	}
	pthread_mutex_lock(&ck->lock); /* a checkpoint_now() still running */
	pthread_mutex_unlock(&ck->lock);
	pthread_mutex_destroy(&ck->lock);
	pthread_mutex_destroy(&ck->auto_mu);
	pthread_cond_destroy(&ck->auto_cv);
	free(ck);
	db->ckpt = NULL;
}
