/* SPDX-License-Identifier: MIT */
/*
 * aedb.h - the public interface of aedb, an embedded, shared-nothing,
 * core-sharded storage engine.
 *
 * Threading and ownership model
 * -----------------------------
 * aedb_open() starts N shard threads. Shard i alone mutates its partition of
 * every namespace; any thread may read, lock-free. Applications talk to the
 * engine in one of two ways:
 *
 *  - the submission-queue API: each client thread embeds one struct aedb_ring,
 *    takes entries with aedb_get_sqe(), prepares them with aedb_prep_*(),
 *    calls aedb_submit(), and reaps completions with aedb_peek_cqe() /
 *    aedb_wait_cqe() and aedb_cqe_seen(). A ring belongs to one thread.
 *    Reads run on the submitting thread inside aedb_submit() and complete at
 *    once; writes are applied by the owning shard and complete later.
 *  - blocking wrappers (aedb_kv_set(), aedb_kv_get(), aedb_create_project(),
 *    ...), callable from any thread at any time between aedb_open() and
 *    aedb_close().
 *
 * Ownership: the caller owns everything it passes in. Buffers referenced by a
 * submitted SQE (keys, values, result structs) must stay valid and unchanged
 * until the matching CQE has been seen: shards read them asynchronously.
 * Memory that aedb returns (struct aedb_kv_item, aedb_kv_page, ...) belongs to
 * the caller once returned and is released with the matching *_free() call.
 *
 * Errors: every function that can fail returns an int; >= 0 is success (a
 * count where meaningful), < 0 is an error: either -errno from the OS, or
 * -AEDB_E* from the engine's own band. aedb never sets errno.
 *
 * Versioning: every commit gets one global commit sequence number ("seq",
 * from 1). A read runs at one snapshot seq and reports it.
 */
#ifndef AEDB_H
#define AEDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

#define AEDB_VERSION_MAJOR 0
#define AEDB_VERSION_MINOR 1
#define AEDB_VERSION_PATCH 0
#define AEDB_VERSION_STRING "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH of this header. */
#define AEDB_VERSION_NUMBER \
	(AEDB_VERSION_MAJOR * 10000 + AEDB_VERSION_MINOR * 100 + AEDB_VERSION_PATCH)

#ifdef __cplusplus
#define AEDB_STATIC_ASSERT(e, m) static_assert(e, m)
#else
#define AEDB_STATIC_ASSERT(e, m) _Static_assert(e, m)
#endif

#if defined(__GNUC__)
#define AEDB_API __attribute__((visibility("default")))
#else
#define AEDB_API
#endif

/**
 * aedb_version_number - AEDB_VERSION_NUMBER of the linked library.
 * Any thread. Compare with AEDB_VERSION_NUMBER to check that the header and
 * the library match. Cannot fail.
 */
AEDB_API int aedb_version_number(void);

/** aedb_version_string - "MAJOR.MINOR.PATCH" of the linked library; static. */
AEDB_API const char *aedb_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Engine error codes. Functions return them negated (-AEDB_ENOTFOUND). The
 * band starts far above any errno value, so -errno and -AEDB_E* never collide.
 */
enum aedb_errno {
	AEDB_ERRNO_BASE = 30000,
	/** Key (or item) not found. A normal result, not a failure. */
	AEDB_ENOTFOUND = AEDB_ERRNO_BASE + 1,
	/** The object already exists. */
	AEDB_EEXIST,
	/** Backpressure: a queue is full. Retry after reaping completions. */
	AEDB_EBUSY,
	/** Stored data failed a checksum or structural check. */
	AEDB_ECORRUPT,
	/** The API was used against its contract (NULL handle, wrong thread,
	 *  ring still has requests in flight, reserved field set, ...). */
	AEDB_EMISUSE,
	/** The instance hit an unrecoverable I/O failure; writes are refused,
	 *  reads go on. Close and reopen to recover from the log. */
	AEDB_EFATAL,
	/** An argument is invalid (bad enum value, limit of zero, ...). */
	AEDB_EINVAL,
	/** A key, value or request is larger than the configured maximum. */
	AEDB_ETOOBIG,
	/** A project or scope name is not 1..128 bytes of [A-Za-z0-9_-]. */
	AEDB_ENAME,
	/** The name is reserved for the engine (project "_system"). */
	AEDB_ERESERVED,
	/** The project does not exist. */
	AEDB_ENOPROJECT,
	/** The scope does not exist (or did not exist at the snapshot read). */
	AEDB_ENOSCOPE,
	/** AT_SEQ asked for a seq that is not visible yet. */
	AEDB_ESEQFUTURE,
	/** AT_SEQ asked for a seq older than the retained window (this is also
	 *  what an expired scan cursor gets). */
	AEDB_ESEQGC,
	/** The configuration failed validation at open. */
	AEDB_ECONFIG,
	/** The instance is closing or closed; the request was not applied. */
	AEDB_ECLOSED,
	/** The feature is not available in this build or configuration. */
	AEDB_ENOTSUP,
	/** A cursor does not belong to this scan (other bounds or namespace). */
	AEDB_ECURSOR,
	/** A concurrent change conflicts with this request. Retry may succeed. */
	AEDB_ECONFLICT,
	/** The caller lacks the permission this request needs. */
	AEDB_EPERM,
	/** The commit's read assertion failed. */
	AEDB_EASSERT,
	/** A numeric mutation would go below zero. */
	AEDB_EUNDERFLOW,
	/** A numeric mutation would overflow. */
	AEDB_EOVERFLOW,
	/** Another instance (this process or another) has the directory open. */
	AEDB_ELOCKED,
	/** The data directory was made with another shard count or format. */
	AEDB_EINCOMPAT,
	/** A value has the wrong type or width for the operation (a numeric
	 *  mutation on a value of another width, a row value or literal that
	 *  does not fit its column). */
	AEDB_ETYPE,
	/** The table does not exist (or was dropped). */
	AEDB_ENOTABLE,
	/** NULL (after defaults) in a NOT NULL or primary-key column. */
	AEDB_ENOTNULL,
	/** The accumulator does not exist (or was dropped). */
	AEDB_ENOACC,
	/** An accumulator order key is not above the latest one accepted. */
	AEDB_EORDER,
	/** A dedupe key was reused with a different delta or order key. */
	AEDB_EDEDUPE,
	/** An exposure would pass the accumulator's circuit-breaker limit. */
	AEDB_ELIMIT,
	/** A column name that the table (or the query's tables) does not have. */
	AEDB_ENOCOLUMN,
	/** A query read more rows than its max_scan_rows (or its joins made
	 *  more than max_join_rows): add a LIMIT, narrow the WHERE, or raise
	 *  the limit (struct aedb_query_opts). Never a silent truncation. */
	AEDB_ESCANLIMIT,
	/** A query held more bytes than its max_bytes (sorting, groups, the
	 *  result) or max_join_bytes (join tables). */
	AEDB_EMEMLIMIT,
	/** A row would give a unique index a key another row already has
	 *  (struct aedb_commit_result names the row entry). */
	AEDB_EUNIQUE,
	/** A row fails a check constraint of its table (nothing is written). */
	AEDB_ECHECK,
	/** The object is still in use: a column that the primary key, an
	 *  index, a check constraint or a foreign key names cannot be dropped
	 *  or renamed; a table another table's foreign key names cannot be
	 *  dropped. */
	AEDB_EDEPEND,
	/** The instance was opened read-only (aedb_open_readonly()): writes,
	 *  DDL, checkpoints and backups are refused; nothing changed. */
	AEDB_EREADONLY,
	/** A foreign key does not hold: a child row names a parent row that
	 *  does not exist (at commit), or a parent row that child rows still
	 *  name is deleted. Nothing is written. */
	AEDB_EFOREIGN,
	AEDB_ERRNO_LAST /* not an error: one past the last code */
};

/**
 * aedb_strerror - a static, human-readable message for an error code.
 * Any thread. Accepts the code negated or not, in the engine band or an errno.
 * Never returns NULL.
 */
AEDB_API const char *aedb_strerror(int err);

/** What a caller should do about an error. */
enum aedb_error_class {
	AEDB_CLASS_NONE = 0,     /**< not an error (err >= 0) */
	AEDB_CLASS_RETRYABLE,    /**< transient: retry (EBUSY, EAGAIN, EINTR) */
	AEDB_CLASS_CONFLICT,     /**< lost a race: re-read, then retry */
	AEDB_CLASS_PERMISSION,   /**< the caller may not do this */
	AEDB_CLASS_VALIDATION,   /**< the request is wrong; retrying won't help */
	AEDB_CLASS_INTEGRITY,    /**< stored data is damaged */
	AEDB_CLASS_UNAVAILABLE,  /**< the instance cannot serve (closed, fatal, OS) */
};

/**
 * aedb_error_class - classify an error code (negated or not). Any thread.
 * Unknown codes classify as AEDB_CLASS_UNAVAILABLE.
 */
AEDB_API enum aedb_error_class aedb_error_class(int err);

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

#define AEDB_SHARDS_MAX 64          /**< most shards an instance may have */
#define AEDB_NAME_MAX 128           /**< longest project/scope name, bytes */
#define AEDB_KEY_BYTES_LIMIT 65536  /**< ceiling for max_key_bytes */
#define AEDB_VALUE_BYTES_LIMIT (64u << 20) /**< ceiling for max_value_bytes */

/** Durability modes (the WAL honours them; see docs/DESIGN-NOTES.md). */
enum aedb_durability {
	AEDB_DURABILITY_FULL = 0,  /**< fsync every group commit (default) */
	AEDB_DURABILITY_BATCH,     /**< fsync on an interval or size */
	AEDB_DURABILITY_OS,        /**< leave flushing to the page cache */
};

/** What recovery does with damage before the end of a log. */
enum aedb_recovery {
	/** Refuse to open; the error report names the file and offset. */
	AEDB_RECOVERY_STRICT = 0,
	/** Keep the valid prefix, report what was dropped, and open. */
	AEDB_RECOVERY_PERMISSIVE = 1,
};

/**
 * struct aedb_config - engine settings, fixed at aedb_open().
 *
 * Always start from aedb_config_init() (or a profile) and change fields
 * after it; every field has a working default. Unknown or out-of-range values
 * make aedb_open() fail with -AEDB_ECONFIG and change nothing on disk.
 */
struct aedb_config {
	/** Shard threads. 0 = online CPUs (capped at AEDB_SHARDS_MAX). */
	uint32_t shards;
	/** Non-zero: pin shard i to CPU (i mod online CPUs). Default 0. */
	uint32_t pin_threads;
	/** enum aedb_durability. Default AEDB_DURABILITY_FULL. */
	uint32_t durability;
	/** Largest KV key, bytes. Default 1024; 1..AEDB_KEY_BYTES_LIMIT. */
	uint32_t max_key_bytes;
	/** Largest KV value, bytes. Default 1 MiB; 0..AEDB_VALUE_BYTES_LIMIT. */
	uint32_t max_value_bytes;
	/** Most entries one scan page returns. Default 10000; >= 1. */
	uint32_t max_scan_rows;
	/** Per-shard inbox slots (power of two, 64..1M). Default 4096. */
	uint32_t inbox_entries;
	/** Per shard-pair mesh ring slots (power of two, 16..64K). Default 1024. */
	uint32_t mesh_entries;
	/** Most requests a shard applies in one round (1..65536). Default 512. */
	uint32_t batch_max;
	/** Microseconds an idle shard or a waiting client spins before it
	 *  sleeps (0..1000000). Default 50; low-latency profile 500. While
	 *  the shards leave a CPU to spare, spinning busy-waits; with a shard
	 *  on every online CPU the shards and the application share every
	 *  core, so spinning yields the core (sched_yield) and only one
	 *  waiting client at a time spins, the others sleep at once. */
	uint32_t spin_us;
	/** AT_SEQ reach: versions of the last this-many commits are kept
	 *  (and at least retain_ms worth). Default 1024. */
	uint32_t retain_commits;
	/** AT_SEQ reach in time, milliseconds. Default 5000. */
	uint32_t retain_ms;
	/** How often each shard collects superseded versions, ms (1..60000).
	 *  Default 100. */
	uint32_t gc_interval_ms;
	/** WAL segment size, bytes: segments are preallocated to this and
	 *  rotated when full (64 KiB..1 GiB). Default 64 MiB. */
	uint32_t wal_segment_bytes;
	/** AEDB_DURABILITY_BATCH: fsync at least this often, ms (1..60000).
	 *  Default 10. */
	uint32_t batch_interval_ms;
	/** AEDB_DURABILITY_BATCH: ... or once this many bytes are unsynced
	 *  (4 KiB..1 GiB). Default 1 MiB. */
	uint32_t batch_max_bytes;
	/** enum aedb_recovery. Default AEDB_RECOVERY_STRICT. */
	uint32_t recovery;
	/** Idempotency keys are remembered for this many commits after the
	 *  one that applied them. Default 100000; 0 disables idempotency (keys
	 *  are then ignored). */
	uint32_t idempotency_window;
	/** Largest transaction, as encoded log bytes (keys, values, headers).
	 *  Default 16 MiB; 4 KiB..256 MiB. */
	uint32_t max_txn_bytes;
	/** Take a checkpoint automatically once this many WAL bytes (all
	 *  shards) were written since the last one; 0 = never, else at least
	 *  1 MiB. Default 256 MiB. See aedb_checkpoint_now(). */
	uint32_t checkpoint_wal_bytes;
	/** ... or once this many milliseconds passed since the last one;
	 *  0 = never, else 100..86400000. Default 0. */
	uint32_t checkpoint_interval_ms;
	/** 1: keep the WAL that the next incremental backup needs. Each backup
	 *  (full or incremental) then records its to_seq P in `backup.pin` in
	 *  the data directory, and checkpoints (and recovery) reclaim only WAL
	 *  segments wholly at or below min(checkpoint, P), so
	 *  aedb_backup_incremental() of the last backup never fails with
	 *  -AEDB_ESEQGC. The cost: the WAL since the last backup stays on disk,
	 *  so take backups regularly. With 0 (default) no pin is kept; a pin
	 *  file left from before is removed by the next checkpoint. 0 or 1. */
	uint32_t backup_wal_pin;
	/** Reserved for later fields; must be zero. */
	uint32_t reserved[10];
};

/**
 * aedb_config_init - fill @cfg with the documented defaults. Any thread.
 * Cannot fail; @cfg must not be NULL.
 */
AEDB_API void aedb_config_init(struct aedb_config *cfg);

/**
 * aedb_config_low_latency - the low-latency profile: defaults, but shards and
 * waiting clients spin longer before sleeping (spin_us 500) and apply rounds
 * are smaller (batch_max 64), trading CPU for tail latency. Any thread.
 */
AEDB_API void aedb_config_low_latency(struct aedb_config *cfg);

/**
 * aedb_config_profile - fill @cfg with the named profile (every field
 * reset; change fields after it). Any thread. The profiles:
 *
 *  - "default": aedb_config_init(). FULL durability (an fsync per group
 *    commit before DURABLE acks), strict recovery, a checkpoint every
 *    256 MiB of WAL.
 *  - "low-latency": aedb_config_low_latency(): defaults, but shards and
 *    waiting clients spin 500 us before sleeping and apply rounds hold at
 *    most 64 requests. Durability stays FULL (unlike the original engine's
 *    profile of that name, which used BATCH): DURABLE waits already force
 *    their own fsync, so BATCH would only widen the loss window.
 *  - "production": defaults (FULL, strict), plus shard threads pinned to
 *    CPUs (pin_threads 1), 16384-slot inboxes to absorb bursts, and a
 *    checkpoint at least every 5 minutes (checkpoint_interval_ms 300000)
 *    on top of every 256 MiB of WAL, which bounds recovery time.
 *  - "development": OS durability (nothing fsynced unless asked: a crash
 *    can lose recent commits, never consistency), permissive recovery,
 *    4 MiB WAL segments and a checkpoint every 64 MiB of WAL, to keep
 *    test directories small. Not for data you want to keep.
 *
 * Returns 0, -AEDB_ECONFIG (unknown @name: @cfg is left unchanged) or
 * -AEDB_EMISUSE (NULL argument).
 */
AEDB_API int aedb_config_profile(struct aedb_config *cfg, const char *name);

/**
 * aedb_config_validate - the checks aedb_open() runs on @cfg, without
 * opening anything: every field in its documented range (and a power of
 * two where so documented), reserved fields zero. On failure @msg
 * (caller-owned, @msg_len bytes, may be NULL) receives one line naming the
 * first bad field, its value and the allowed range, e.g.
 * "config.batch_max = 0: must be 1..65536"; on success it is set to "".
 * Any thread. Returns 0, -AEDB_ECONFIG, or -AEDB_EMISUSE (NULL @cfg).
 */
AEDB_API int aedb_config_validate(const struct aedb_config *cfg, char *msg, size_t msg_len);

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

/** An open instance. Opaque. */
struct aedb;

/**
 * aedb_open - open (creating if needed) the data directory @path and start
 * the shard threads.
 * @path: directory; created (mode 0700) if missing. Copied; need not outlive
 *        the call.
 * @cfg:  settings, or NULL for the defaults. Copied.
 * @dbp:  receives the instance on success; untouched on failure.
 *
 * The directory holds `aedb.meta` (format, database id, shard count), a
 * `LOCK` file held while open, and `wal/<shard>/` logs. Opening replays the
 * logs: the state is exactly the commits 1..S for the longest gap-free run S
 * present on disk, which includes every commit acknowledged DURABLE.
 * With cfg->shards 0 an existing directory keeps its shard count.
 *
 * Any thread. Returns 0, or -AEDB_EMISUSE (NULL @path/@dbp), -AEDB_ECONFIG
 * (invalid @cfg), -AEDB_ELOCKED (open elsewhere), -AEDB_EINCOMPAT (other
 * shard count or format), -AEDB_ECORRUPT (strict recovery found damage; see
 * aedb_open_ex() for where), -ENOMEM, or -errno from the file system, the
 * threads or the io_uring rings (-ENOSYS/-EPERM where io_uring is blocked).
 */
AEDB_API int aedb_open(const char *path, const struct aedb_config *cfg, struct aedb **dbp);

/** What recovery found and did; filled by aedb_open_ex(). */
struct aedb_open_report {
	uint64_t recovered_seq;    /**< S: every commit 1..S was restored */
	uint64_t frames_replayed;  /**< WAL frames (group commits) replayed */
	uint64_t records_replayed; /**< commits replayed */
	uint64_t bytes_replayed;   /**< WAL bytes read for replay */
	uint64_t recovery_ns;      /**< wall time of recovery */
	uint64_t frames_dropped;   /**< valid frames past S (after a gap), cut */
	uint32_t torn_tails;       /**< logs that ended in a torn write, truncated */
	uint32_t corrupt;          /**< damage found before a log's end */
	uint32_t segments;         /**< segment files read */
	/** Cross-shard commits found on only some of their participants (the
	 *  process died between their log writes): dropped everywhere. */
	uint32_t txn_incomplete;
	uint32_t pad;
	uint64_t checkpoint_seq;     /**< the checkpoint loaded (0: none); the WAL
	                                  was replayed after it */
	uint64_t checkpoint_entries; /**< entries loaded from it */
	uint64_t checkpoint_bytes;   /**< their logical bytes (keys, values, headers) */
	/** Strict failure: which file and offset. Permissive: what was dropped.
	 *  Empty when there is nothing to say. */
	char message[512];
};

/**
 * aedb_open_ex - aedb_open(), plus a report of what recovery did in @report
 * (caller-owned; may be NULL). On -AEDB_ECORRUPT, report->message names the
 * damaged file and offset; on -AEDB_ECONFIG it names the bad field (as
 * aedb_config_validate() does), and nothing was created on disk. Also
 * returns -AEDB_ELOCKED (directory in use), -AEDB_EINCOMPAT (other shard
 * count or format).
 */
AEDB_API int aedb_open_ex(const char *path, const struct aedb_config *cfg, struct aedb **dbp,
			  struct aedb_open_report *report);

/**
 * aedb_open_readonly - open the existing data directory @path for reading
 * only, for tools and inspection (the `aedb` CLI and explorer use it).
 * @path: an existing data directory (never created). Copied.
 * @cfg:  settings, or NULL for the defaults (cfg->shards must be 0 or the
 *        directory's count; cfg->recovery picks strict or permissive).
 * @dbp:  receives the instance on success; untouched on failure.
 * @report: what recovery found (caller-owned; may be NULL), as for
 *        aedb_open_ex().
 *
 * Strictly read-only: it loads the checkpoint and replays the WAL into
 * memory exactly as aedb_open() would, but writes, creates, truncates,
 * deletes and locks nothing in @path (no LOCK file, no torn-tail cut, no
 * segment, no checkpoint), and starts no shard thread. It works while
 * another process has the directory open and is writing: it reads a
 * consistent prefix of the commits on disk at the moment of the open (a
 * checkpoint or segment rotation racing the open makes it retry, up to four
 * times). Every read, query and scan works as usual on that frozen state;
 * every write, DDL (aedb_alter_table() too), aedb_checkpoint_now() and every
 * backup (aedb_backup(), aedb_backup_incremental(), aedb_backup_to_file())
 * returns -AEDB_EREADONLY; aedb_wait_durable() and aedb_force_fsync()
 * succeed at once (everything loaded is on disk); aedb_operational_metrics()
 * reports the recovered state with no commits. Close with aedb_close().
 *
 * Any thread. Returns 0, -AEDB_EMISUSE, -AEDB_ECONFIG, -ENOENT (@path or
 * its aedb.meta missing: not a data directory), -AEDB_EINCOMPAT,
 * -AEDB_ECORRUPT (damage; report->message names the file and offset),
 * -ENOMEM, or -errno from the file system.
 */
AEDB_API int aedb_open_readonly(const char *path, const struct aedb_config *cfg,
				struct aedb **dbp, struct aedb_open_report *report);

/**
 * aedb_close - stop the shards and free the instance.
 *
 * Call once, after every other call on @db (and every aedb_ring_exit() on
 * its rings) has returned. Requests still queued when close begins are
 * either applied and completed normally or completed with -AEDB_ECLOSED; none
 * is left hanging and nothing leaks. NULL is a no-op. Returns 0, or
 * -AEDB_EMISUSE if a client ring on @db has not been exited.
 */
AEDB_API int aedb_close(struct aedb *db);

/** aedb_shard_count - the number of shards. Any thread; @db must be open. */
AEDB_API uint32_t aedb_shard_count(const struct aedb *db);

/**
 * aedb_visible_seq - the visible watermark V: every commit with seq <= V is
 * visible to readers, and AT_LATEST reads run at V. Any thread.
 */
AEDB_API uint64_t aedb_visible_seq(struct aedb *db);

/** aedb_durable_seq - the durable watermark D: every commit with seq <= D
 *  is fsynced on every shard and survives any crash. Any thread. */
AEDB_API uint64_t aedb_durable_seq(struct aedb *db);

/**
 * aedb_wait_durable - block until D >= @seq, forcing the fsyncs needed in
 * BATCH and OS modes. Any thread. Returns 0, -AEDB_EINVAL (@seq never
 * allocated), -AEDB_EFATAL (a WAL write or fsync failed), -AEDB_EMISUSE.
 */
AEDB_API int aedb_wait_durable(struct aedb *db, uint64_t seq);

/**
 * aedb_force_fsync - make every commit allocated so far durable and wait for
 * it. Any thread. Returns 0, -AEDB_EFATAL, -AEDB_EMISUSE.
 */
AEDB_API int aedb_force_fsync(struct aedb *db);

/** What aedb_checkpoint_now() did. */
struct aedb_checkpoint_result {
	uint64_t seq;             /**< S: the checkpoint holds exactly commits 1..S */
	uint64_t entries;         /**< KV entries and rows written */
	uint64_t logical_bytes;   /**< their bytes before compression (keys, values,
	                               24-byte entry headers) */
	uint64_t file_bytes;      /**< bytes written to the checkpoint files */
	uint64_t duration_ns;     /**< the whole call */
	uint64_t write_ns;        /**< writing the shard files */
	uint32_t files;           /**< one per shard */
	uint32_t segments_reclaimed; /**< WAL segments deleted (wholly <= S) */
	uint64_t reserved[4];
};

/**
 * aedb_checkpoint_now - write a fuzzy checkpoint and wait for it
 * (docs/CHECKPOINTS.md). Picks S = the durable watermark after forcing every
 * commit allocated so far to disk; helper threads write every shard's
 * partition as of S to `checkpoint/<S>/<shard>.ckpt` while commits and reads
 * go on; then the manifest `checkpoint/MANIFEST` is replaced atomically, S
 * becomes the AT_CHECKPOINT snapshot, WAL segments wholly at or below S and
 * the previous checkpoint are deleted. The next open loads it and replays
 * the WAL after S. One checkpoint runs at a time (a second call waits). With
 * nothing committed since the current checkpoint, returns at once with its
 * seq. @res (may be NULL) receives what was done.
 * Any thread. Returns 0, -AEDB_EMISUSE, -AEDB_ECLOSED, -AEDB_EFATAL,
 * -AEDB_ENOTSUP (a catalog object the checkpoint cannot record yet),
 * -AEDB_EBUSY (DDL kept racing the cut), -ENOMEM, or -errno from the file
 * system. On failure the previous checkpoint stays current.
 */
AEDB_API int aedb_checkpoint_now(struct aedb *db, struct aedb_checkpoint_result *res);

/** aedb_checkpoint_seq - S of the current checkpoint (taken or loaded), 0 if
 *  none. Any thread. */
AEDB_API uint64_t aedb_checkpoint_seq(struct aedb *db);

/** What aedb_backup() (or an incremental backup) did. */
struct aedb_backup_result {
	uint64_t checkpoint_seq;  /**< the checkpoint a restore starts from */
	uint64_t bytes;           /**< bytes copied */
	uint32_t files;
	uint32_t pad;
	/** Every commit up to this seq is in the backup (or its chain): the
	 *  durable watermark when the copy began. A restore lands on it. */
	uint64_t to_seq;
	uint64_t reserved[3];
};

/**
 * aedb_backup - a hot full backup of @db into directory @dir (created, or
 * empty): a fresh checkpoint, a copy of the WAL after it and aedb.meta,
 * plus a file BACKUP listing every file with its size and CRC32C, the
 * backup's random id, and the seqs it covers (1..res->to_seq, the durable
 * watermark when the copy began). Writers and readers go on meanwhile;
 * checkpoints wait. A restore lands on exactly to_seq (or an earlier seq
 * asked for, down to the checkpoint's). @res may be NULL. Any thread.
 * Returns 0, -AEDB_EEXIST (@dir not empty), -AEDB_EMISUSE, an error of
 * aedb_checkpoint_now(), or -errno.
 */
AEDB_API int aedb_backup(struct aedb *db, const char *dir, struct aedb_backup_result *res);

/**
 * aedb_backup_verify - check every file a backup lists against its size and
 * CRC32C. Changes nothing. Any thread. Returns 0, -AEDB_ECORRUPT (a file
 * missing, changed or the list damaged), -AEDB_EMISUSE, or -errno.
 */
AEDB_API int aedb_backup_verify(const char *dir);

/**
 * aedb_restore - verify full backup @backup_dir, then restore it into
 * @target_dir (created if missing; an existing directory must be empty):
 * aedb_restore_chain() of that one backup, to its to_seq. Open the target
 * with aedb_open() afterwards. Returns as aedb_restore_chain().
 */
AEDB_API int aedb_restore(const char *backup_dir, const char *target_dir);

/**
 * aedb_backup_incremental - a hot incremental backup of @db into directory
 * @dir (created, or empty) that follows backup @base_dir (a full or an
 * incremental backup of the same database): the WAL segments holding the
 * commits after the base's to_seq up to the durable watermark now
 * (res->to_seq), and a BACKUP list recording its id, the base's id and the
 * seq range base.to_seq + 1 .. to_seq. The base is verified first. No
 * checkpoint is taken. The WAL it needs must still be on disk: a checkpoint
 * taken after the base (aedb_checkpoint_now(), an automatic one, or another
 * full backup) reclaims it, and the call then fails with -AEDB_ESEQGC:
 * take a full backup; or open with cfg.backup_wal_pin, which keeps the
 * WAL after the last backup taken for this call. Any thread. Returns 0,
 * -AEDB_EEXIST (@dir not empty),
 * -AEDB_ECORRUPT (the base failed verification), -AEDB_EINVAL (the base
 * is of another database, or ends past this instance's durable seq),
 * -AEDB_ESEQGC, -AEDB_EINCOMPAT (a base of
 * another format), -AEDB_EMISUSE, -AEDB_EFATAL, or -errno.
 */
AEDB_API int aedb_backup_incremental(struct aedb *db, const char *base_dir, const char *dir,
				     struct aedb_backup_result *res);

/**
 * aedb_restore_chain - restore a chain of backups into @target_dir (created
 * if missing; an existing directory must be empty) at exactly seq @seq
 * (0: the last backup's to_seq). @dirs[0] must be a full backup and each
 * @dirs[k] an incremental backup of @dirs[k - 1] (recorded base id and
 * seq range), oldest first. Every backup is verified (every file's size
 * and CRC32C) and every link checked before anything is written. Then the
 * full backup and the incrementals up to @seq are copied, and each shard's
 * WAL is cut back to @seq (a group commit that straddles it is rewritten
 * with only its commits at or below it), so aedb_open() of the target
 * recovers exactly commits 1..@seq (for a time instead of a seq see
 * aedb_restore_chain_at_time()). Not while an instance has
 * @target_dir open. *@restored_seq (may be NULL) receives the seq.
 * Any thread. Returns 0, -AEDB_EEXIST (target not empty: nothing written),
 * -AEDB_ECORRUPT (a backup failed verification: nothing written),
 * -AEDB_EINVAL (not a chain: the first is not full, a link's base id or
 * seq range does not follow, or another database), -AEDB_ESEQGC (@seq
 * below the full backup's checkpoint), -AEDB_ESEQFUTURE (@seq past the
 * chain's end), -AEDB_EINCOMPAT, -AEDB_EMISUSE (NULL or empty argument, 0
 * or more than 4096 backups), -ENOMEM, -errno. If copying fails half-way
 * the files written so far are removed.
 */
AEDB_API int aedb_restore_chain(const char *const *dirs, uint32_t ndirs,
				const char *target_dir, uint64_t seq, uint64_t *restored_seq);

/**
 * aedb_restore_chain_at_time - aedb_restore_chain() to the state at
 * wall-clock time @time_ns (ns since the Unix epoch, CLOCK_REALTIME): the
 * largest seq S such that every commit 1..S was applied at or before
 * @time_ns by its shard's clock, at most the chain's end. Each WAL frame
 * (one apply round of one shard) records when it was applied; S is one
 * less than the smallest seq of any frame stamped after @time_ns, so the
 * result is a global prefix on every shard (a cross-shard commit is
 * restored on all its participants or none) and never holds a commit
 * applied after @time_ns. A time after the last commit restores to the
 * chain's end. The earliest time is the full backup's creation (after its
 * checkpoint was written); before it: -AEDB_ESEQGC. Everything is verified
 * before anything is written, as aedb_restore_chain(). *@restored_seq (may
 * be NULL) receives S. Any thread. Returns as aedb_restore_chain(), and
 * -AEDB_ESEQGC (@time_ns before the full backup), -AEDB_ECORRUPT (a WAL
 * frame in the chain is damaged), -AEDB_EINCOMPAT (WAL written by a build
 * whose frames carry no time), -AEDB_EMISUSE (@time_ns is 0).
 */
AEDB_API int aedb_restore_chain_at_time(const char *const *dirs, uint32_t ndirs,
					const char *target_dir, uint64_t time_ns,
					uint64_t *restored_seq);

/**
 * aedb_backup_to_file - aedb_backup() into one archive file @file (which
 * must not exist: never replaced): the backup is taken into `@file.tmp.d`,
 * packed into `@file.tmp` (every file with its size and CRC32C, the whole
 * archive under a CRC32C), fsynced, linked to @file, and the temporary
 * directory removed. Any thread. Returns as aedb_backup(), and
 * -AEDB_EEXIST (@file or its temporary names exist).
 */
AEDB_API int aedb_backup_to_file(struct aedb *db, const char *file,
				 struct aedb_backup_result *res);

/**
 * aedb_backup_verify_file - read archive @file end to end and check every
 * length, path and CRC. Changes nothing. Any thread. Returns 0,
 * -AEDB_ECORRUPT, -AEDB_EINCOMPAT (an archive format this build does not
 * read), -AEDB_EMISUSE, -ENOENT, or -errno.
 */
AEDB_API int aedb_backup_verify_file(const char *file);

/**
 * aedb_restore_from_file - verify archive @file, then restore it into
 * @target_dir at seq @seq (0: the backup's to_seq) as aedb_restore_chain()
 * does; the archive is unpacked into a temporary directory
 * `@target_dir.arc-XXXXXX` beside the target, removed afterwards.
 * Any thread. Returns as aedb_backup_verify_file() and
 * aedb_restore_chain().
 */
AEDB_API int aedb_restore_from_file(const char *file, const char *target_dir, uint64_t seq,
				    uint64_t *restored_seq);

/**
 * aedb_restore_from_file_at_time - aedb_restore_from_file() to wall-clock
 * time @time_ns, as aedb_restore_chain_at_time() of the archived backup.
 * Any thread. Returns as aedb_restore_from_file() and
 * aedb_restore_chain_at_time().
 */
AEDB_API int aedb_restore_from_file_at_time(const char *file, const char *target_dir,
					    uint64_t time_ns, uint64_t *restored_seq);

/**
 * aedb_restore_scope - restore only project @project (@scope NULL: all its
 * scopes) or only its scope @scope from a backup into @target_dir (created
 * if missing; an existing directory must be empty). The source is a chain
 * @dirs[0..@ndirs) as for aedb_restore_chain(), or, when @ndirs is 1 and
 * @dirs[0] is a regular file, an archive as for aedb_restore_from_file().
 * The point is seq @seq, or wall-clock time @time_ns (as
 * aedb_restore_chain_at_time()), or the end when both are 0.
 *
 * The result holds the kept scopes with everything in them (catalog
 * entries, tables with their rows, indexes and foreign keys, KV entries,
 * accumulators) as they were at that point, plus the "_global" scopes
 * that kept tables name by foreign key (transitively); every other project
 * and scope is gone, and no byte of them is in any file of @target_dir:
 * the whole backup is restored into `@target_dir.scope-XXXXXX` beside the
 * target, the others are dropped there, a checkpoint is taken, and the
 * target is made of that checkpoint, aedb.meta and an empty WAL (no WAL
 * segment of the full restore is carried). Idempotency keys are not
 * carried. The temporary directory is removed on every path; on failure
 * nothing is left in @target_dir. Open the target with aedb_open()
 * afterwards: its seqs continue after the drops (recovered_seq is a few
 * seqs past *@restored_seq), the kept entries keep their versions.
 * *@restored_seq (may be NULL) receives the seq of the backup restored to.
 *
 * Any thread; needs free space for a full restore. Returns 0, or what
 * aedb_restore_chain(), aedb_restore_chain_at_time() and
 * aedb_restore_from_file() return, and: -AEDB_ENOPROJECT (no @project at
 * that point), -AEDB_ENOSCOPE (no @scope in it), -AEDB_EDEPEND (a kept
 * table has a foreign key into a scope of its project that is not kept:
 * restore the whole project), -AEDB_EEXIST (@target_dir not empty, or not
 * a directory), -AEDB_EMISUSE (NULL or empty argument, @seq and @time_ns
 * both given), errors of aedb_open() and aedb_checkpoint_now() on the
 * temporary directory, or -errno.
 */
AEDB_API int aedb_restore_scope(const char *const *dirs, uint32_t ndirs, const char *target_dir,
				const char *project, const char *scope, uint64_t seq,
				uint64_t time_ns, uint64_t *restored_seq);

/** Counters for tests, tools and metrics. All are totals since open. */
struct aedb_stats {
	uint64_t commits;            /**< commits applied (seqs allocated) */
	uint64_t visible_seq;        /**< the visible watermark V */
	uint64_t gc_floor_seq;       /**< oldest seq AT_SEQ can still read */
	uint64_t versions_live;      /**< KV versions held in memory */
	uint64_t versions_collected; /**< superseded versions freed by GC */
	uint64_t keys_live;          /**< KV keys held (live or tombstoned) */
	uint64_t gc_backlog;         /**< superseded versions waiting for GC */
	uint64_t inbox_depth;        /**< requests queued in shard inboxes */
	uint64_t durable_seq;        /**< the durable watermark D */
	uint64_t wal_bytes;          /**< WAL bytes written */
	uint64_t wal_writes;         /**< WAL writes (group commits) */
	uint64_t wal_segments;       /**< WAL segments created */
	/** 0, or the positive errno (EIO, ENOSPC, ...) of the WAL write or
	 *  fsync that latched the instance into -AEDB_EFATAL. */
	uint64_t fatal_errno;
	uint64_t checkpoint_seq;     /**< the current checkpoint (taken or loaded), 0: none */
	uint64_t checkpoint_age_ms;  /**< since it was taken (or since open) */
	uint64_t checkpoint_last_ns; /**< how long the last aedb_checkpoint_now() took */
};

/**
 * aedb_stats - read the counters (summed over shards) into @out.
 * Any thread. Counters from different shards are read at slightly different
 * instants. Returns 0 or -AEDB_EMISUSE (NULL argument).
 */
AEDB_API int aedb_stats(struct aedb *db, struct aedb_stats *out);

/** One shard's part of struct aedb_operational_metrics. */
struct aedb_shard_metrics {
	uint64_t commits;          /**< seqs this shard allocated (its commits) */
	/** Write requests this shard completed after they reached its apply
	 *  round: applied, duplicates, and ones refused there (a request
	 *  refused before it reached a shard is not counted). Each is one
	 *  latency sample. */
	uint64_t completed;
	uint64_t errors;           /**< ... of which failed */
	uint64_t latency_ns_p50;   /**< submit to completion, over its samples */
	uint64_t latency_ns_p99;
	uint64_t latency_ns_p999;
	uint64_t latency_ns_max;
	uint64_t inbox_depth;      /**< requests queued, not yet taken */
	uint64_t parked;           /**< applied, waiting for V (or D) to reach them */
	uint64_t wal_bytes;        /**< WAL bytes written since open */
	uint64_t wal_writes;       /**< WAL writes (group commits) since open */
	uint64_t wal_segments;     /**< segment files in wal/<shard>/ now */
	uint64_t wal_disk_bytes;   /**< their size on disk (preallocated) */
	uint64_t memory_bytes;     /**< what the shard's allocator holds from
	                                the OS (chunks and large blocks) */
	uint64_t memory_used_bytes;/**< ... of which handed out */
	uint64_t keys;             /**< keys held (live or tombstoned) */
	uint64_t versions;         /**< versions held */
	uint64_t gc_backlog;       /**< superseded versions waiting for GC */
	uint64_t reserved[6];
};

/**
 * struct aedb_operational_metrics - the state of an instance for operators
 * (aedb_operational_metrics()). Counters are totals since open; latency
 * quantiles come from per-shard log-linear histograms (each bucket at most
 * 1/8 wide, so a quantile reads at most 12.5% high). Large (about 14 KiB):
 * allocate it, or keep one.
 */
struct aedb_operational_metrics {
	uint32_t nshards;          /**< entries of shards[] that are filled */
	uint32_t pad;
	uint64_t uptime_ms;        /**< since aedb_open() returned */
	uint64_t recovery_ns;      /**< what recovery took at open */
	uint64_t recovered_seq;    /**< the seq recovery reached */
	/* Commits, summed over shards. */
	uint64_t commits;          /**< seqs allocated since open */
	uint64_t completed;        /**< latency samples (see aedb_shard_metrics) */
	uint64_t errors;
	uint64_t latency_ns_p50;   /**< over every shard's samples */
	uint64_t latency_ns_p99;
	uint64_t latency_ns_p999;
	uint64_t latency_ns_max;
	uint64_t latency_ns_mean;
	/* Watermarks, read D first, then V, then the counter, so that
	 * allocated_seq >= visible_seq >= durable_seq always holds. */
	uint64_t allocated_seq;    /**< the last seq handed out */
	uint64_t visible_seq;      /**< V */
	uint64_t durable_seq;      /**< D */
	uint64_t visible_lag;      /**< allocated - V: commits not yet readable */
	uint64_t durable_lag;      /**< V - D: visible commits not yet on disk */
	/* Queues, summed over shards. */
	uint64_t inbox_depth;
	uint64_t parked;
	/* WAL, summed over shards. */
	uint64_t wal_bytes;
	uint64_t wal_writes;
	uint64_t wal_segments;
	uint64_t wal_disk_bytes;
	/* Checkpoints. */
	uint64_t checkpoint_seq;   /**< the current checkpoint, 0: none */
	uint64_t checkpoint_age_ms;/**< since it was taken (or since open) */
	uint64_t checkpoint_duration_ns; /**< the last aedb_checkpoint_now() */
	uint64_t checkpoint_lag;   /**< V - checkpoint_seq: commits recovery
	                                would replay from the WAL */
	/* Reads and memory. */
	/** Reads in progress now (each holds a snapshot while it runs). Scan
	 *  cursors hold none: they read within the retained window. */
	uint64_t snapshots_active;
	uint64_t gc_floor_seq;     /**< oldest seq AT_SEQ can still read */
	uint64_t gc_backlog;
	uint64_t memory_bytes;     /**< summed over shards (see aedb_shard_metrics) */
	uint64_t memory_used_bytes;
	uint64_t keys;
	uint64_t versions;
	uint64_t reserved[8];
	struct aedb_shard_metrics shards[AEDB_SHARDS_MAX];
};

/**
 * aedb_operational_metrics - fill @out (caller-owned) with the instance's
 * operational metrics: commits and their latency percentiles, queue depths,
 * watermarks and their lag, WAL volume, checkpoint age, active reads,
 * memory and GC backlog, in total and per shard (shards[0..nshards)).
 * Nothing on the commit path waits for it: shards publish their counters
 * with plain stores and this call sums them, so counters of different shards
 * are read at slightly different instants. It lists the WAL directories
 * (a few syscalls per shard). Any thread, while @db is open.
 * Returns 0, or -AEDB_EMISUSE (NULL argument).
 */
AEDB_API int aedb_operational_metrics(struct aedb *db, struct aedb_operational_metrics *out);

/**
 * aedb_operational_metrics_json - render @m as one line of JSON into @buf
 * (@len bytes, NUL-terminated, truncated like snprintf() when too small):
 * an object with "nshards", every counter of struct
 * aedb_operational_metrics under its field name, and "shards", an array of
 * nshards objects ("shard": its index, then the fields of struct
 * aedb_shard_metrics). Every value is an unsigned integer. For exporting
 * from the application (no server: only the process that has the instance
 * open can read its live counters); `aedb --json metrics DIR` prints the
 * same for a directory opened read-only. Any thread; @m is only read.
 * Returns the length of the whole text (without the NUL; >= @len means it
 * was truncated: call again with more), or -AEDB_EMISUSE (@m NULL, @buf
 * NULL with @len > 0, nshards over AEDB_SHARDS_MAX). 2 KiB plus 1 KiB per
 * shard always suffice.
 */
AEDB_API long aedb_operational_metrics_json(const struct aedb_operational_metrics *m,
					    char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Requests: caller, finality, consistency                                   */
/* ------------------------------------------------------------------------ */

/**
 * struct aedb_caller - who makes a request. NULL means anonymous. Instances
 * opened in secure mode (a later release) refuse anonymous requests; today the
 * caller is carried but not checked. @id must be 1..128 bytes.
 */
struct aedb_caller {
	const char *id;
};

/** When a write completes. */
enum aedb_finality {
	/** Complete once readers can see the write (V >= seq). */
	AEDB_FINALITY_VISIBLE = 0,
	/** Complete once the write and every earlier commit are fsynced on
	 *  every shard (D >= seq). In BATCH and OS modes this forces the
	 *  fsyncs it needs. */
	AEDB_FINALITY_DURABLE = 1,
};

/** How a read picks its snapshot. */
enum aedb_at_mode {
	AEDB_AT_LATEST = 0,      /**< the visible watermark V */
	AEDB_AT_SEQ = 1,         /**< exactly seq; -AEDB_ESEQFUTURE if > V,
	                              -AEDB_ESEQGC if older than retained */
	AEDB_AT_CHECKPOINT = 2,  /**< the last checkpoint's seq (aedb_checkpoint_now());
	                              -AEDB_ESEQGC if its snapshot is not held:
	                              none taken since open, unless the open
	                              recovered exactly to one */
};

/** A read's consistency: a mode and, for AEDB_AT_SEQ, the seq. */
struct aedb_at {
	uint32_t mode;  /**< enum aedb_at_mode */
	uint32_t pad;   /**< must be zero */
	uint64_t seq;   /**< the snapshot for AEDB_AT_SEQ; else ignored */
};

/** aedb_at_latest - read at the latest visible snapshot. */
static inline struct aedb_at aedb_at_latest(void)
{
	struct aedb_at at = { AEDB_AT_LATEST, 0, 0 };

	return at;
}

/** aedb_at_seq - read at snapshot @seq. */
static inline struct aedb_at aedb_at_seq(uint64_t seq)
{
	struct aedb_at at = { AEDB_AT_SEQ, 0, seq };

	return at;
}

/** Read at the latest visible snapshot (C: a compound literal). */
#define AEDB_LATEST (aedb_at_latest())
/** Read at snapshot @s. */
#define AEDB_SEQ(s) (aedb_at_seq((uint64_t)(s)))

/* ------------------------------------------------------------------------ */
/* Namespaces: projects and scopes                                           */
/* ------------------------------------------------------------------------ */

/*
 * Data lives in scopes; scopes live in projects. Names are 1..128 bytes of
 * [A-Za-z0-9_-] and NUL-terminated. Project "_system" is reserved for the
 * engine. Every project has scope "app", made with it.
 *
 * All calls here are blocking and may be made from any thread. DDL commits
 * get a seq like any other write and are applied on every shard at that seq.
 * Common errors: -AEDB_EMISUSE (NULL db or name), -AEDB_ENAME (bad name),
 * -AEDB_ERESERVED ("_system"), -AEDB_ECLOSED (instance closing),
 * -AEDB_EFATAL, -AEDB_EBUSY (a shard inbox stayed full).
 */

/**
 * aedb_create_project - create project @project and its scope "app".
 * Returns 1 if created, 0 if it already existed (nothing changes, no seq).
 */
AEDB_API int aedb_create_project(struct aedb *db, const char *project);

/**
 * aedb_drop_project - drop @project with all its scopes and their data.
 * Returns 1 if dropped, 0 if it did not exist.
 */
AEDB_API int aedb_drop_project(struct aedb *db, const char *project);

/** aedb_project_exists - 1 if @project exists, 0 if not, or < 0 on error. */
AEDB_API int aedb_project_exists(struct aedb *db, const char *project);

/**
 * aedb_create_scope - create scope @scope in @project.
 * Returns 1 if created, 0 if it already existed, -AEDB_ENOPROJECT.
 */
AEDB_API int aedb_create_scope(struct aedb *db, const char *project, const char *scope);

/**
 * aedb_drop_scope - drop @scope of @project and all its data.
 * Returns 1 if dropped, 0 if the scope did not exist, -AEDB_ENOPROJECT.
 */
AEDB_API int aedb_drop_scope(struct aedb *db, const char *project, const char *scope);

/** aedb_scope_exists - 1 if the scope exists, 0 if not (also when the project
 *  does not), or < 0 on error. */
AEDB_API int aedb_scope_exists(struct aedb *db, const char *project, const char *scope);

/** A sorted list of names, owned by the caller; free with aedb_names_free(). */
struct aedb_names {
	uint32_t count;
	const char **names; /**< count NUL-terminated names, ascending bytewise */
};

/**
 * aedb_list_projects - every project (never "_system"), sorted.
 * @out receives the list (count may be 0). Returns 0 or -ENOMEM.
 */
AEDB_API int aedb_list_projects(struct aedb *db, struct aedb_names **out);

/** aedb_list_scopes - the scopes of @project, sorted. -AEDB_ENOPROJECT. */
AEDB_API int aedb_list_scopes(struct aedb *db, const char *project, struct aedb_names **out);

/** aedb_names_free - free a list from aedb_list_*(); NULL is a no-op. */
AEDB_API void aedb_names_free(struct aedb_names *names);

/**
 * aedb_scope_id - resolve a scope to the namespace id that submission-queue
 * KV requests carry (struct aedb_sqe::ns). Ids are never reused: after the
 * scope is dropped, requests with its id fail with -AEDB_ENOSCOPE.
 * Returns 0 and sets *@id, or -AEDB_ENOPROJECT / -AEDB_ENOSCOPE.
 */
AEDB_API int aedb_scope_id(struct aedb *db, const char *project, const char *scope,
			   uint32_t *id);

/* ------------------------------------------------------------------------ */
/* Tables: definitions                                                       */
/* ------------------------------------------------------------------------ */

/*
 * A table lives in a scope, next to the scope's KV map: typed columns and a
 * primary key (docs/TABLES.md). Its rows are stored in the same MVCC maps as
 * KV entries, in a namespace of their own: a table has a namespace id from
 * the same space as scopes (never reused), and a row lives on the shard
 * hash(table id, encoded primary key) mod N.
 *
 * Definitions are immutable: a table is created and dropped, never altered.
 * Both are DDL commits, blocking, any thread, with the namespace calls'
 * common errors. Table and column names follow the scope name rule (1..128
 * bytes of [A-Za-z0-9_-]); "__kv_index" is reserved.
 */

/** Column and value types. The numbers are stable (they are logged). */
enum aedb_type {
	AEDB_TYPE_NULL = 0,      /**< a value only: SQL NULL, never a column type */
	AEDB_TYPE_TEXT = 1,      /**< UTF-8 bytes */
	AEDB_TYPE_U8 = 2,
	AEDB_TYPE_U64 = 3,
	AEDB_TYPE_INTEGER = 4,   /**< i64 */
	AEDB_TYPE_FLOAT = 5,     /**< f64; -0.0 is stored as +0.0, every NaN as one NaN */
	AEDB_TYPE_BOOLEAN = 6,
	AEDB_TYPE_U256 = 7,      /**< 32 bytes big-endian */
	AEDB_TYPE_I256 = 8,      /**< 32 bytes big-endian two's complement */
	AEDB_TYPE_BLOB = 9,
	AEDB_TYPE_TIMESTAMP = 10, /**< i64 microseconds since the Unix epoch */
	AEDB_TYPE_JSON = 11,     /**< UTF-8 text */
	AEDB_TYPE_LAST = AEDB_TYPE_JSON,
};

/**
 * struct aedb_value - one typed value (40 bytes). Set @type and the matching
 * union member; everything else zero. Text, json and blob payloads are
 * pointed at, not copied: caller-owned, and (in values aedb returns) owned
 * by the object that returned them.
 */
struct aedb_value {
	uint8_t type;          /**< enum aedb_type */
	uint8_t reserved[3];   /**< must be zero */
	uint32_t len;          /**< text, json, blob: payload bytes */
	union {
		bool b;            /**< boolean */
		uint8_t u8;        /**< u8 */
		uint64_t u64;      /**< u64 */
		int64_t i64;       /**< integer, timestamp */
		double f64;        /**< float */
		uint8_t w[32];     /**< u256, i256 */
		const void *bytes; /**< text, json, blob */
	} u;
};

AEDB_STATIC_ASSERT(sizeof(struct aedb_value) == 40, "struct aedb_value is 40 bytes");

/** One column of a table definition. */
struct aedb_column_def {
	const char *name;        /**< column name */
	uint32_t type;           /**< enum aedb_type, not AEDB_TYPE_NULL */
	uint32_t nullable;       /**< non-zero: the column accepts NULL */
	/** Default: written when a row gives NULL for this column. Type
	 *  AEDB_TYPE_NULL (all zero) means none; otherwise exactly the
	 *  column's type. */
	struct aedb_value def;
};

struct aedb_expr; /* see "Tables: queries" */

/** What deleting a parent row does to the child rows naming it
 *  (struct aedb_fk_def::on_delete). */
enum aedb_fk_action {
	AEDB_FK_RESTRICT = 0,    /**< the delete fails with -AEDB_EFOREIGN */
	AEDB_FK_NO_ACTION = 1,   /**< the same, checked immediately (as RESTRICT) */
	AEDB_FK_CASCADE = 2,     /**< the child rows are deleted too, and their
				      own children by their foreign keys */
	AEDB_FK_SET_NULL = 3,    /**< the child rows' foreign-key columns are
				      written NULL (the default, if they have one) */
	AEDB_FK_SET_DEFAULT = 4, /**< ... are written their defaults (NULL if
				      none); the defaults' parent must exist */
};

/**
 * struct aedb_fk_def - a foreign key (aedb_create_table_ex()): the child
 * @columns of the new table name a row of table @ref_table, by its primary
 * key. MATCH SIMPLE: a child row with a NULL in any of @columns is not
 * checked. The parent is in the same project (@ref_project NULL or equal)
 * or in project "_global"; a "_global" table cannot name another project's
 * table, and a foreign key into "_global" from another project cannot be
 * ON DELETE CASCADE. The parent may be the new table itself. SET NULL and
 * SET DEFAULT rewrite the child row in place, so none of @columns may be a
 * primary-key column of the child. There is no ON UPDATE: a row's primary
 * key is its identity (a write with another key is another row), so a
 * parent key never changes in place.
 */
struct aedb_fk_def {
	const char *name;              /**< 1..128 bytes of [A-Za-z0-9_-], unique */
	const char *const *columns;    /**< ncolumns child column names */
	uint32_t ncolumns;             /**< = the parent's key columns, 1..32 */
	uint32_t on_delete;            /**< enum aedb_fk_action */
	const char *ref_project;       /**< NULL: the child's project */
	const char *ref_scope;         /**< NULL: the child's scope */
	const char *ref_table;
	/** NULL: the parent's primary key in key order; else its key columns
	 *  in any order, columns[i] matching ref_columns[i] */
	const char *const *ref_columns;
};

/**
 * struct aedb_check_def - a check constraint (aedb_create_table_checked()):
 * @expr (built with aedb_expr_*(); copied, the caller keeps and frees it)
 * over the table's columns must hold for every row written. It is evaluated
 * as a WHERE is (two-valued: a comparison on a NULL column is false, so for
 * a nullable column write "c IS NULL OR c > 0").
 */
struct aedb_check_def {
	const char *name;              /**< 1..128 bytes of [A-Za-z0-9_-], unique */
	const struct aedb_expr *expr;
};

/** A table definition: its name, its columns in row order, its primary key. */
struct aedb_table_def {
	const char *name;
	const struct aedb_column_def *columns; /**< ncolumns, 1..1024 */
	uint32_t ncolumns;
	uint32_t npk;                          /**< primary-key columns, 1..32 */
	const char *const *pk;                 /**< npk column names, in key order;
	                                            none nullable, none repeated */
};

/** A table as the catalog holds it; free with aedb_table_info_free(). */
struct aedb_table_info {
	uint32_t id;              /**< namespace id (never reused) */
	uint32_t pad;
	uint64_t created_seq;     /**< the commit that created it */
	struct aedb_table_def def; /**< every pointer points into this object */
	uint32_t nindexes;        /**< secondary indexes, in name order */
	uint32_t pad2;
	const struct aedb_index_info *indexes; /**< nindexes; inside this object */
	uint32_t nchecks;         /**< check constraints (aedb_create_table_checked()) */
	uint32_t pad3;
	/** nchecks, in definition order; names and expressions belong to this
	 *  object (aedb_table_info_free() frees them; do not free them) */
	const struct aedb_check_def *checks;
	uint32_t nfks;            /**< foreign keys (aedb_create_table_ex()) */
	uint32_t pad4;
	/** nfks, in definition order, inside this object; ref_columns are the
	 *  parent's primary-key columns, in key order, and columns the child
	 *  columns matching them */
	const struct aedb_fk_def *fks;
};

/**
 * aedb_create_table - create table @def->name in @project/@scope. @def and
 * everything it points to are copied. Returns 1 if created, 0 if a table of
 * that name with exactly this definition already exists (nothing changes, no
 * seq), or: -AEDB_EEXIST (a table of that name with another definition),
 * -AEDB_ENOPROJECT, -AEDB_ENOSCOPE, -AEDB_ENAME (table or column name),
 * -AEDB_ERESERVED ("__kv_index"), -AEDB_EINVAL (no columns, a bad type, a
 * column named twice, no primary key, a key column unknown, repeated or
 * nullable, invalid UTF-8 in a default), -AEDB_ETYPE (a default of another
 * type than its column), -AEDB_ETOOBIG (too many columns or key columns, or
 * a definition over 1 MiB encoded), -AEDB_EMISUSE (NULL pointers).
 */
AEDB_API int aedb_create_table(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_table_def *def);

/**
 * aedb_create_table_checked - aedb_create_table() with check constraints
 * @checks[0..@nchecks) (0..64): every row written to the table (insert,
 * upsert, batches, on-conflict and where-updates) must satisfy each, after
 * defaults are filled, or the write fails with -AEDB_ECHECK and nothing is
 * written. The checks are part of the definition: the same name with other
 * checks is -AEDB_EEXIST. Also -AEDB_ENOCOLUMN or -AEDB_ETYPE (a check names
 * an unknown column, or a literal that does not convert to its column),
 * -AEDB_ENAME, -AEDB_EINVAL (a check name repeated), -AEDB_ETOOBIG (over
 * 64), -AEDB_EMISUSE (a NULL name or expression). aedb_describe_table()
 * lists them (struct aedb_table_info::checks).
 */
AEDB_API int aedb_create_table_checked(struct aedb *db, const char *project, const char *scope,
				       const struct aedb_table_def *def,
				       const struct aedb_check_def *checks, uint32_t nchecks);

/**
 * aedb_create_table_ex - aedb_create_table_checked() with foreign keys
 * @fks[0..@nfks) (0..32). Any thread; blocks until created. @fks and what
 * it points to are copied.
 *
 * Each child column must have exactly the type of the parent key column it
 * matches (nullability may differ). From then on, every row written to the
 * new table (insert, upsert, batches, on-conflict and where-updates,
 * transactions) whose foreign-key columns are all non-NULL needs its parent
 * row to exist when the commit applies (a parent inserted earlier in the
 * same transaction counts), else the commit fails with -AEDB_EFOREIGN and
 * writes nothing (struct aedb_commit_result names the row entry). The
 * check runs on the parent row's shard with the parent key locked, like a
 * unique-index claim. The parent table cannot be dropped while a foreign
 * key names it (-AEDB_EDEPEND), nor can its scope or project unless the
 * child goes with it; the child's foreign-key columns cannot be dropped or
 * renamed. Foreign keys are part of the definition (the same name with
 * other foreign keys is -AEDB_EEXIST) and aedb_describe_table() lists them.
 *
 * Deleting a parent row that a child row names fails with -AEDB_EFOREIGN
 * and writes nothing (RESTRICT and NO ACTION alike, checked immediately:
 * deleting the children earlier in the same transaction lets it go). The
 * check holds across shards and under concurrency: a count of the child
 * rows naming each parent key lives on the parent row's shard, and a child
 * write and a parent delete both lock it. A child row written or deleted
 * after it was read may make a transaction fail with -AEDB_ECONFLICT
 * (build it again; the one-row calls do).
 *
 * With CASCADE, SET NULL or SET DEFAULT, adding a parent row's delete to a
 * transaction (any delete path: aedb_delete_row(), aedb_txn_delete_row(),
 * batches, delete-where) finds the child rows naming it, as the
 * transaction sees them (its own earlier entries included), and adds their
 * deletes (CASCADE, following the children's own foreign keys down, at
 * most 16 levels: deeper is -AEDB_ETOOBIG) or their rewritten rows (SET
 * NULL / SET DEFAULT: checked as any write, so a NOT NULL column without a
 * default is -AEDB_ENOTNULL, a failed check -AEDB_ECHECK, a default naming
 * no parent -AEDB_EFOREIGN at commit) to the same transaction: all of it
 * commits or none. Each of those entries takes the delete's mutation index
 * (the caller's indexes stay dense; a failure names the delete). A child
 * row changed, deleted or added by another commit between the build and
 * the commit makes it fail with -AEDB_ECONFLICT (the one-row calls build
 * again): never an orphan. The children are found through an index
 * whose leading columns are the foreign key's (not partial) if the child
 * table has one, else by a scan of the child table on every shard;
 * docs/TABLES.md has the details.
 *
 * Returns what aedb_create_table_checked() returns, and: -AEDB_ENOTABLE
 * (no such parent table), -AEDB_ENOCOLUMN (a child or parent column the
 * table does not have), -AEDB_EINVAL (no columns, a column count other
 * than the parent key's, a column repeated, ref_columns not the parent's
 * key columns, an unknown action, a name repeated, a parent in another
 * project than the child's or "_global", CASCADE into "_global", SET NULL
 * or SET DEFAULT on a primary-key column),
 * -AEDB_ETYPE (a child column of another type than its parent column),
 * -AEDB_ETOOBIG (over 32), -AEDB_EMISUSE (NULL pointers).
 */
AEDB_API int aedb_create_table_ex(struct aedb *db, const char *project, const char *scope,
				  const struct aedb_table_def *def,
				  const struct aedb_check_def *checks, uint32_t nchecks,
				  const struct aedb_fk_def *fks, uint32_t nfks);

/**
 * aedb_drop_table - drop @table of @project/@scope with all its rows.
 * Returns 1 if dropped, 0 if there was no such table, -AEDB_ENOPROJECT,
 * -AEDB_ENOSCOPE, -AEDB_EDEPEND (another table has a foreign key naming
 * it: drop that table first; nothing changes). Dropping a scope or project
 * drops its tables (and is -AEDB_EDEPEND in the same way when a table
 * outside it names one of them).
 */
AEDB_API int aedb_drop_table(struct aedb *db, const char *project, const char *scope,
			     const char *table);

/** ALTER TABLE alterations (struct aedb_alter::kind). */
enum aedb_alter_kind {
	AEDB_ALTER_ADD_COLUMN = 1,  /**< add @column, after the last column */
	AEDB_ALTER_DROP_COLUMN = 2, /**< drop column @name */
	AEDB_ALTER_RENAME_COLUMN = 3, /**< rename column @name to @new_name */
};

/** One alteration of a table (aedb_alter_table()). */
struct aedb_alter {
	uint32_t kind;                 /**< enum aedb_alter_kind */
	uint32_t pad;                  /**< 0 */
	const char *name;              /**< drop, rename: the column */
	const char *new_name;          /**< rename: its new name */
	/** add: the new column, as in aedb_create_table(). NOT NULL needs a
	 *  default: the rows already there take it (a nullable column
	 *  without one gives them NULL). */
	struct aedb_column_def column;
};

/**
 * aedb_alter_table - change @table of @project/@scope by @alt, rewriting
 * every stored row into the new format, all at one commit seq. Any thread;
 * blocks until the change is visible (durable in FULL mode). @alt and what
 * it points to are copied.
 *
 * Rows keep their values by column name; an added column holds its
 * default, or NULL. The primary key's columns cannot be dropped or
 * renamed, nor can a column that an index (its columns or its partial
 * predicate) or a check constraint names (drop the index first). While
 * the rows are rewritten, writes to @table fail with -AEDB_EBUSY
 * (retryable); a transaction whose row entries were added before the
 * change and commits after fails with -AEDB_ECONFLICT (build it again; the
 * one-row calls do). A query or aedb_get_row() at a snapshot before the
 * change reads the rows as they were, under the definition of then.
 *
 * Returns 1 when altered, or -AEDB_EEXIST (add or rename to a name the
 * table has), -AEDB_ENOCOLUMN, -AEDB_EDEPEND (a key column, or one an index,
 * check or foreign key names), -AEDB_ENOTNULL (NOT NULL added without a default),
 * -AEDB_ETYPE (a default of another type), -AEDB_ETOOBIG (over 1024
 * columns, or a row that the new column would take over max_value_bytes:
 * nothing changes), -AEDB_EINVAL (unknown kind, a bad type, pad set, invalid
 * UTF-8 in a default), -AEDB_ENAME, -AEDB_ENOTABLE, -AEDB_ENOSCOPE,
 * -AEDB_ENOPROJECT, -AEDB_EMISUSE (NULL pointers), -AEDB_ECLOSED,
 * -AEDB_EFATAL, -ENOMEM.
 */
AEDB_API int aedb_alter_table(struct aedb *db, const char *project, const char *scope,
			      const char *table, const struct aedb_alter *alt);

/**
 * aedb_describe_table - the definition of @table, as a new object in *@out
 * that the caller frees with aedb_table_info_free(). Returns 0,
 * -AEDB_ENOTABLE, -AEDB_ENOSCOPE, -AEDB_ENOPROJECT, -AEDB_ENAME, -ENOMEM.
 */
AEDB_API int aedb_describe_table(struct aedb *db, const char *project, const char *scope,
				 const char *table, struct aedb_table_info **out);

/** aedb_table_info_free - free a description; NULL is a no-op. */
AEDB_API void aedb_table_info_free(struct aedb_table_info *info);

/**
 * aedb_list_tables - the tables of @project/@scope, sorted, in a list the
 * caller frees with aedb_names_free(). Returns 0, -AEDB_ENOPROJECT,
 * -AEDB_ENOSCOPE, -AEDB_ENAME, -ENOMEM.
 */
AEDB_API int aedb_list_tables(struct aedb *db, const char *project, const char *scope,
			      struct aedb_names **out);

/* ------------------------------------------------------------------------ */
/* Secondary indexes                                                         */
/* ------------------------------------------------------------------------ */

struct aedb_expr;

/** struct aedb_index_def flags. */
#define AEDB_INDEX_UNIQUE 0x1u   /**< no two rows share a key (NULLs exempt) */
/** struct aedb_index_info flags (output only). */
#define AEDB_INDEX_PARTIAL 0x2u  /**< the index has a predicate */

/**
 * A secondary index: ordered by its columns (several make a composite key,
 * compared column by column), optionally unique, optionally partial.
 *
 * - Ordered: equality on a leading run of columns, and then a range (or a
 *   LIKE 'prefix%' / prefix) on the next one, are answered from the index;
 *   the planner picks it over a scan when it binds more columns than the
 *   primary key does (aedb_query_explain() shows "access: index NAME").
 * - Unique: two rows with the same non-NULL values in every index column
 *   cannot both exist. A row with a NULL in any of them is not indexed and
 *   never conflicts (SQL's rule and the reference's). Unique indexes are
 *   global: an entry lives on the shard of hash(index, key), so the check
 *   holds across shards under concurrent writers.
 * - Partial: only rows for which @partial is true are indexed (the WHERE
 *   rules: a comparison with NULL is false). The planner uses a partial
 *   index only for a query whose WHERE implies @partial.
 */
struct aedb_index_def {
	const char *name;             /**< 1..128 bytes of [A-Za-z0-9_-] */
	const char *const *columns;   /**< ncolumns column names, in key order */
	uint32_t ncolumns;            /**< 1..32, none repeated */
	uint32_t flags;               /**< AEDB_INDEX_UNIQUE or 0 */
	const struct aedb_expr *partial; /**< NULL, or a predicate (copied) */
};

/** An index as aedb_describe_table() reports it. */
struct aedb_index_info {
	const char *name;
	const char *const *columns;
	uint32_t ncolumns;
	uint32_t flags;               /**< AEDB_INDEX_UNIQUE, AEDB_INDEX_PARTIAL */
	uint32_t id;                  /**< namespace id of its entries */
	uint32_t pad;
	uint64_t created_seq;
};

/**
 * aedb_create_index - create index @def on @table of @project/@scope, and
 * fill it from the rows already there, all at one commit seq. Any thread;
 * blocks until the index is visible (durable in FULL mode). @def and what
 * it points to are copied; the caller keeps ownership of @def->partial.
 *
 * While the index is being built, writes to @table fail with -AEDB_EBUSY
 * (retryable). A transaction whose row entries were added before an index
 * of their table was created or dropped, and that commits after, fails with
 * -AEDB_ECONFLICT: build it again.
 *
 * Returns 1 if created, 0 if an index of that name with exactly this
 * definition exists (no seq), or -AEDB_EEXIST (that name with another
 * definition), -AEDB_EUNIQUE (a unique index over rows that already repeat
 * a key: nothing is created), -AEDB_ENOTABLE, -AEDB_ENOSCOPE,
 * -AEDB_ENOPROJECT, -AEDB_ENAME, -AEDB_ENOCOLUMN, -AEDB_EINVAL (no column, a
 * column twice, unknown flags), -AEDB_ETOOBIG (over 32 columns, over 32
 * indexes on the table, or a row whose index key would be over the
 * instance's max_key_bytes: nothing is created), -AEDB_ETYPE (a partial
 * predicate literal that does not fit its column), -AEDB_EMISUSE,
 * -AEDB_EBUSY, -AEDB_ECLOSED, -AEDB_EFATAL, -ENOMEM.
 */
AEDB_API int aedb_create_index(struct aedb *db, const char *project, const char *scope,
			       const char *table, const struct aedb_index_def *def);

/**
 * aedb_drop_index - drop index @index of @table (writes to @table meanwhile
 * fail with -AEDB_EBUSY). Returns 1 if dropped, 0 if there was no such
 * index, or -AEDB_ENOTABLE, -AEDB_ENOSCOPE, -AEDB_ENOPROJECT, -AEDB_ENAME,
 * -AEDB_EMISUSE, -AEDB_EBUSY, -AEDB_ECLOSED, -AEDB_EFATAL, -ENOMEM. Dropping
 * a table drops its indexes.
 */
AEDB_API int aedb_drop_index(struct aedb *db, const char *project, const char *scope,
			     const char *table, const char *index);

/* ------------------------------------------------------------------------ */
/* KV store: results                                                         */
/* ------------------------------------------------------------------------ */

/*
 * Each scope has one ordered KV map: binary keys (0..max_key_bytes, empty
 * allowed) to binary values (0..max_value_bytes), ordered by unsigned
 * bytewise comparison. Each entry records the seq that last wrote it
 * (version) and the seq that created it (created_seq; kept by overwrites,
 * reset by delete then set).
 */

/** One KV entry. Memory belongs to the page or item that holds it. */
struct aedb_kv_entry {
	const uint8_t *key;
	const uint8_t *val;
	uint32_t key_len;
	uint32_t val_len;
	uint64_t version;     /**< seq of the write that produced this value */
	uint64_t created_seq; /**< seq that created the key */
};

/** A point read's result; free with aedb_kv_item_free(). */
struct aedb_kv_item {
	struct aedb_kv_entry entry;
	uint64_t snapshot_seq; /**< the snapshot it was read at */
};

/**
 * A scan cursor: resumes a scan strictly after last_key at the snapshot of
 * the page that produced it. It points into that page: pass it to the next
 * scan before freeing the page, or copy it.
 */
struct aedb_kv_cursor {
	uint64_t snapshot_seq;
	const uint8_t *last_key;
	uint32_t last_key_len;
	uint32_t pad;
};

/** A scan page; free with aedb_kv_page_free(). */
struct aedb_kv_page {
	uint64_t snapshot_seq;  /**< the snapshot every entry was read at */
	uint32_t count;         /**< entries returned */
	uint32_t truncated;     /**< 1 if more entries match: see cursor */
	struct aedb_kv_entry *entries; /**< ascending by key */
	struct aedb_kv_cursor cursor;  /**< valid only when truncated */
};

/** Bound kinds for range scans. */
enum aedb_bound_kind {
	AEDB_BOUND_UNBOUNDED = 0,
	AEDB_BOUND_INCLUDED = 1,
	AEDB_BOUND_EXCLUDED = 2,
};

/** One end of a key range. */
struct aedb_kv_bound {
	const void *key;
	uint32_t len;
	uint32_t kind; /**< enum aedb_bound_kind */
};

/** A key for aedb_kv_get_many(). */
struct aedb_key {
	const void *key;
	uint32_t len;
};

/** get-many results, in input order; free with aedb_kv_batch_free(). */
struct aedb_kv_batch {
	uint64_t snapshot_seq; /**< one snapshot for every key */
	uint32_t count;        /**< == number of keys asked */
	uint32_t found;        /**< how many were present */
	struct aedb_kv_entry *entries; /**< entries[i].key == NULL if absent */
};

AEDB_API void aedb_kv_item_free(struct aedb_kv_item *item);
AEDB_API void aedb_kv_page_free(struct aedb_kv_page *page);
AEDB_API void aedb_kv_batch_free(struct aedb_kv_batch *batch);

/* ------------------------------------------------------------------------ */
/* KV store: blocking calls                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Blocking KV calls. Any thread. @project/@scope are names (see above).
 * Common errors: -AEDB_EMISUSE (NULL db, name, or key pointer with len > 0,
 * NULL out), -AEDB_ENAME, -AEDB_ENOPROJECT, -AEDB_ENOSCOPE, -AEDB_ETOOBIG
 * (key > max_key_bytes, value > max_value_bytes), -AEDB_EINVAL (bad finality
 * or consistency), -AEDB_ECLOSED, -AEDB_EFATAL, -ENOMEM. A failed write
 * changes nothing.
 */

/**
 * aedb_kv_set - write @val under @key. @finality: enum aedb_finality.
 * @seq_out: if not NULL, receives the commit seq. Returns 0 or an error.
 */
AEDB_API int aedb_kv_set(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, const void *val, size_t val_len,
			 uint32_t finality, uint64_t *seq_out);

/**
 * aedb_kv_del - delete @key. Deleting an absent key succeeds and commits.
 * Returns 0 or an error.
 */
AEDB_API int aedb_kv_del(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, uint32_t finality, uint64_t *seq_out);

/**
 * aedb_kv_get - read @key at @at. On success *@out is a new item the caller
 * frees. Returns 0, -AEDB_ENOTFOUND (absent at that snapshot; *@out NULL),
 * -AEDB_ESEQFUTURE, -AEDB_ESEQGC, or a common error.
 */
AEDB_API int aedb_kv_get(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, struct aedb_at at,
			 struct aedb_kv_item **out);

/**
 * aedb_kv_get_many - read @n keys (1..max_scan_rows) at one snapshot. *@out
 * receives entries in input order. Returns the number found (>= 0) or an
 * error (-AEDB_EINVAL for n == 0 or n > max_scan_rows).
 */
AEDB_API int aedb_kv_get_many(struct aedb *db, const char *project, const char *scope,
			      const struct aedb_key *keys, uint32_t n, struct aedb_at at,
			      struct aedb_kv_batch **out);

/**
 * aedb_kv_scan_prefix - entries whose key starts with @prefix (empty = the
 * whole scope), ascending by key across all shards, at most
 * min(@limit, max_scan_rows) per page. @cursor: NULL for the first page, or
 * the previous page's cursor (it then fixes the snapshot, overriding @at,
 * and the prefix must be the same). Returns the number of entries, or
 * -AEDB_EINVAL (limit 0), -AEDB_ECURSOR (cursor outside the prefix),
 * -AEDB_ESEQGC (cursor snapshot expired), or a common error.
 */
AEDB_API int aedb_kv_scan_prefix(struct aedb *db, const char *project, const char *scope,
				 const void *prefix, size_t prefix_len, uint32_t limit,
				 const struct aedb_kv_cursor *cursor, struct aedb_at at,
				 struct aedb_kv_page **out);

/**
 * aedb_kv_scan_range - entries with @start <= key <= @end (each bound
 * included, excluded or unbounded; NULL = unbounded), otherwise as
 * aedb_kv_scan_prefix(). An empty range returns 0 entries.
 */
AEDB_API int aedb_kv_scan_range(struct aedb *db, const char *project, const char *scope,
				const struct aedb_kv_bound *start, const struct aedb_kv_bound *end,
				uint32_t limit, const struct aedb_kv_cursor *cursor,
				struct aedb_at at, struct aedb_kv_page **out);

/* ------------------------------------------------------------------------ */
/* Transactions                                                              */
/* ------------------------------------------------------------------------ */

/*
 * A transaction is a list of mutations plus read assertions, an optional read
 * set, an optional idempotency key and a finality. It is atomic: every
 * mutation publishes at one commit seq, or none does and nothing is written.
 * Keys may live on any shards; a transaction whose keys span shards goes
 * through the sequencer and two-phase apply (DESIGN §5) and is still one seq.
 *
 * Build one with aedb_txn_create() and the aedb_txn_* calls (each copies the
 * bytes it is given, so the caller's buffers may be reused at once), then
 * commit it with aedb_commit() or aedb_prep_commit(). A builder is not
 * thread-safe; it may be committed many times (each commit is a new attempt)
 * and reused after aedb_txn_reset().
 *
 * Evaluation at commit time, on the owning shards, with every key involved
 * locked: (1) idempotency: a key already applied returns
 * AEDB_COMMIT_DUPLICATE with the original seq and evaluates nothing else;
 * (2) the read set: a key whose version is newer than its read version or the
 * base seq fails with -AEDB_ECONFLICT; (3) assertions in list order:
 * -AEDB_EASSERT; (4) mutations in list order against the state the earlier
 * ones left: the first error aborts all. The result names the index of the
 * failing entry. A failed commit consumes no seq and leaves no trace.
 */

struct aedb_txn;

/** Numeric mutation operators (aedb_txn_kv_num()). */
enum aedb_num_op {
	AEDB_NUM_ADD = 1,   /**< cur + operand */
	AEDB_NUM_SUB = 2,   /**< cur - operand */
	AEDB_NUM_MAX = 3,   /**< max(cur, operand); no write if unchanged */
	AEDB_NUM_MIN = 4,   /**< min(cur, operand); no write if unchanged */
	AEDB_NUM_SET = 5,   /**< operand */
};

/*
 * Numeric policy flags. By default a missing key reads as zero, overflow
 * fails with -AEDB_EOVERFLOW and underflow with -AEDB_EUNDERFLOW.
 */
/** A missing key fails the mutation with -AEDB_ENOTFOUND. */
#define AEDB_NUM_MISSING_REJECT 0x1u
/** Overflow clamps to the largest value instead of failing. */
#define AEDB_NUM_SATURATE 0x2u
/** Underflow leaves the key untouched (not created, version unchanged). */
#define AEDB_NUM_UNDERFLOW_NOOP 0x4u
/** Fail with -AEDB_EASSERT unless the key's version (0 if absent) equals
 *  the expected version: a compare-and-mutate. */
#define AEDB_NUM_EXPECT_VERSION 0x8u

/** Comparison operators for assertions. */
enum aedb_cmp {
	AEDB_CMP_EQ = 1,
	AEDB_CMP_NE,
	AEDB_CMP_LT,
	AEDB_CMP_LE,
	AEDB_CMP_GT,
	AEDB_CMP_GE,
};

/** Return values of a successful commit. */
#define AEDB_COMMIT_APPLIED 0
#define AEDB_COMMIT_DUPLICATE 1

/** What failed, in struct aedb_commit_result. */
enum aedb_fail_kind {
	AEDB_FAIL_NONE = 0,
	AEDB_FAIL_MUTATION = 1,  /**< failed_index is a mutation index */
	AEDB_FAIL_ASSERTION = 2, /**< failed_index is an assertion index */
	AEDB_FAIL_READ = 3,      /**< failed_index is a read-set index */
};

/** struct aedb_commit_result - the outcome of a commit. */
struct aedb_commit_result {
	uint64_t seq;          /**< the commit seq; for a duplicate, the original */
	uint64_t durable_seq;  /**< the durable watermark D when it completed */
	uint32_t outcome;      /**< AEDB_COMMIT_APPLIED or _DUPLICATE */
	uint32_t fail_kind;    /**< enum aedb_fail_kind; NONE on success */
	int32_t failed_index;  /**< index of the failing entry, or -1 */
	uint32_t shards;       /**< how many shards took part */
	uint64_t reserved[2];
};

/**
 * aedb_txn_create - a new, empty transaction builder for @db (finality
 * VISIBLE, no idempotency key). Returns 0, -AEDB_EMISUSE or -ENOMEM.
 */
AEDB_API int aedb_txn_create(struct aedb *db, struct aedb_txn **out);
/** aedb_txn_free - free a builder (not while a commit of it is in flight). */
AEDB_API void aedb_txn_free(struct aedb_txn *txn);
/** aedb_txn_reset - empty a builder for reuse: no entries, no idempotency
 *  key, no base seq, finality VISIBLE (as after aedb_txn_create()). */
AEDB_API void aedb_txn_reset(struct aedb_txn *txn);
/** aedb_txn_set_finality - enum aedb_finality. 0 or -AEDB_EINVAL. */
AEDB_API int aedb_txn_set_finality(struct aedb_txn *txn, uint32_t finality);
/**
 * aedb_txn_set_idempotency_key - a 16-byte key: once a commit with this key
 * applied, later commits with it return AEDB_COMMIT_DUPLICATE and the
 * original seq, without evaluating or writing anything, also after a
 * restart, for as long as the key is retained (config idempotency_window
 * commits). Only applied commits record their key. Returns 0.
 */
AEDB_API int aedb_txn_set_idempotency_key(struct aedb_txn *txn, const uint8_t key[16]);
/**
 * aedb_txn_set_base_seq - the snapshot the caller read at: a read-set key
 * written after @seq fails the commit with -AEDB_ECONFLICT. Returns 0.
 */
AEDB_API int aedb_txn_set_base_seq(struct aedb_txn *txn, uint64_t seq);

/*
 * Adding entries. Each returns the entry's index (>= 0) among mutations,
 * among assertions or among reads, or an error that leaves the builder as it
 * was: -AEDB_EMISUSE (NULL argument), -AEDB_ENAME, -AEDB_ENOPROJECT,
 * -AEDB_ENOSCOPE (names are resolved now and checked again at commit),
 * -AEDB_ETOOBIG (key or value over the configured maximum, or more than
 * AEDB_TXN_MAX_ENTRIES entries), -AEDB_EINVAL (bad operator, width or flag),
 * -ENOMEM.
 */
#define AEDB_TXN_MAX_ENTRIES 65536

/** aedb_txn_kv_set - mutation: write @val under @key. */
AEDB_API int aedb_txn_kv_set(struct aedb_txn *txn, const char *project, const char *scope,
			     const void *key, size_t key_len, const void *val, size_t val_len);
/** aedb_txn_kv_del - mutation: delete @key (absent is not an error). */
AEDB_API int aedb_txn_kv_del(struct aedb_txn *txn, const char *project, const char *scope,
			     const void *key, size_t key_len);
/**
 * aedb_txn_kv_num - mutation: numeric read-modify-write of an unsigned
 * big-endian integer of @width bytes (8: u64, 32: u256) stored under @key.
 * @op: enum aedb_num_op; @operand_be: @width bytes, big-endian; @flags:
 * AEDB_NUM_*; @expected_version: used with AEDB_NUM_EXPECT_VERSION (a key
 * written earlier in the same transaction has no version yet, so an
 * expected version never matches it). At commit: a stored value of another
 * width fails with -AEDB_ETYPE.
 */
AEDB_API int aedb_txn_kv_num(struct aedb_txn *txn, const char *project, const char *scope,
			     const void *key, size_t key_len, uint32_t width, uint32_t op,
			     const void *operand_be, uint32_t flags, uint64_t expected_version);
/**
 * aedb_txn_counter_add - mutation: add @amount to stripe (@hint mod
 * @stripes) of the sharded u64 counter @key (overflow fails). Stripes are
 * ordinary KV keys "__aedb_counter_shard__" ‖ u32be(key_len) ‖ key ‖
 * u16be(stripe). @stripes: 1..4096.
 */
AEDB_API int aedb_txn_counter_add(struct aedb_txn *txn, const char *project, const char *scope,
				  const void *key, size_t key_len, uint64_t amount,
				  uint32_t stripes, uint32_t hint);
/** aedb_txn_assert_exists - assertion: @key is present (@expected 1) or absent (0). */
AEDB_API int aedb_txn_assert_exists(struct aedb_txn *txn, const char *project,
				    const char *scope, const void *key, size_t key_len,
				    int expected);
/** aedb_txn_assert_equals - assertion: @key is present and holds exactly @val. */
AEDB_API int aedb_txn_assert_equals(struct aedb_txn *txn, const char *project,
				    const char *scope, const void *key, size_t key_len,
				    const void *val, size_t val_len);
/**
 * aedb_txn_assert_compare - assertion: @key is present and (value @cmp
 * @threshold) holds. Both 32 bytes: compared as unsigned 256-bit integers;
 * otherwise as byte strings (memcmp, then length). @cmp: enum aedb_cmp.
 */
AEDB_API int aedb_txn_assert_compare(struct aedb_txn *txn, const char *project,
				     const char *scope, const void *key, size_t key_len,
				     uint32_t cmp, const void *threshold, size_t threshold_len);
/** aedb_txn_assert_version - assertion: @key's version (0 if absent) equals @version. */
AEDB_API int aedb_txn_assert_version(struct aedb_txn *txn, const char *project,
				     const char *scope, const void *key, size_t key_len,
				     uint64_t version);
/**
 * aedb_txn_read - read set: the caller read @key at @version (0 = absent).
 * At commit a newer version (> @version, or > the base seq if one is set)
 * fails with -AEDB_ECONFLICT. A deleted key reads as version 0, so a delete
 * after the read is not detected.
 */
AEDB_API int aedb_txn_read(struct aedb_txn *txn, const char *project, const char *scope,
			   const void *key, size_t key_len, uint64_t version);

/** Counts of what a builder holds. */
AEDB_API uint32_t aedb_txn_mutation_count(const struct aedb_txn *txn);
AEDB_API uint32_t aedb_txn_assertion_count(const struct aedb_txn *txn);

/**
 * aedb_commit - commit @txn and wait for its finality. @res (optional)
 * receives the outcome, including on failure. Any thread. Returns
 * AEDB_COMMIT_APPLIED (0), AEDB_COMMIT_DUPLICATE (1), or: -AEDB_EINVAL (no
 * mutations), -AEDB_ENOSCOPE (a scope was dropped), -AEDB_ECONFLICT,
 * -AEDB_EASSERT, -AEDB_EUNDERFLOW, -AEDB_EOVERFLOW, -AEDB_ENOTFOUND,
 * -AEDB_ETYPE, -AEDB_ETOOBIG (the transaction's log record would exceed
 * max_txn_bytes), -AEDB_EFOREIGN (a foreign key, aedb_create_table_ex()),
 * -AEDB_EBUSY, -AEDB_ECLOSED, -AEDB_EFATAL, -ENOMEM.
 */
AEDB_API int aedb_commit(struct aedb *db, struct aedb_txn *txn,
			 struct aedb_commit_result *res);

/**
 * aedb_commit_action_envelope - aedb_commit() for an action envelope: @txn
 * must carry an idempotency key (else -AEDB_EINVAL). Returns
 * AEDB_COMMIT_APPLIED or AEDB_COMMIT_DUPLICATE, or an error.
 */
AEDB_API int aedb_commit_action_envelope(struct aedb *db, struct aedb_txn *txn,
					 struct aedb_commit_result *res);

/** One key a preflight read, and the version it saw (0 = absent). */
struct aedb_preflight_read {
	uint32_t ns;
	uint32_t key_len;
	const uint8_t *key;
	uint64_t version;
};

/** One predicted effect of a mutation. */
struct aedb_preflight_effect {
	uint32_t mutation;     /**< mutation index */
	uint32_t kind;         /**< 0: no write, 1: set, 2: delete */
	uint32_t ns;
	uint32_t key_len;
	const uint8_t *key;
	const uint8_t *val;    /**< the value it would write (kind 1) */
	uint32_t val_len;
	uint32_t pad;
};

/** struct aedb_preflight - an advisory evaluation at one snapshot. */
struct aedb_preflight {
	uint64_t snapshot_seq;           /**< the snapshot evaluated at */
	int32_t error;                   /**< 0, or the error a commit would hit now */
	uint32_t fail_kind;              /**< enum aedb_fail_kind */
	int32_t failed_index;            /**< index of the failing entry, or -1 */
	uint32_t nreads;
	struct aedb_preflight_read *reads;     /**< the keys the mutations read */
	uint32_t neffects;
	uint32_t pad;
	struct aedb_preflight_effect *effects; /**< per mutation, in order */
};

/**
 * aedb_preflight - evaluate @txn against the latest snapshot without
 * committing: assertions and mutations as a commit would, against that
 * snapshot. Advisory: the state may change before a commit. On success
 * *@out is a result the caller frees with aedb_preflight_free(); its error
 * field tells whether a commit would fail. Returns 0, -AEDB_EMISUSE,
 * -AEDB_EINVAL (no mutations), -AEDB_ENOSCOPE or -ENOMEM.
 */
AEDB_API int aedb_preflight(struct aedb *db, const struct aedb_txn *txn,
			    struct aedb_preflight **out);
AEDB_API void aedb_preflight_free(struct aedb_preflight *pf);

/**
 * aedb_commit_with_preflight - preflight @txn, then commit it with the
 * preflight's reads as its read set and base seq: if a key it read changes
 * in between, the commit fails with -AEDB_ECONFLICT instead of writing.
 * Returns as aedb_commit(); a preflight that predicts an error returns that
 * error without committing. @txn is not modified.
 */
AEDB_API int aedb_commit_with_preflight(struct aedb *db, struct aedb_txn *txn,
					struct aedb_commit_result *res);

/* Single-operation helpers: one-entry transactions, committed and waited. */

/**
 * aedb_kv_num - one aedb_txn_kv_num() mutation. Returns as aedb_commit().
 */
AEDB_API int aedb_kv_num(struct aedb *db, const char *project, const char *scope,
			 const void *key, size_t key_len, uint32_t width, uint32_t op,
			 const void *operand_be, uint32_t flags, uint64_t expected_version,
			 uint32_t finality, struct aedb_commit_result *res);
/**
 * aedb_kv_compare_and_swap - write @val under @key only if the key's version
 * (0 if absent) is @expected_version; else -AEDB_EASSERT.
 */
AEDB_API int aedb_kv_compare_and_swap(struct aedb *db, const char *project, const char *scope,
				      const void *key, size_t key_len, const void *val,
				      size_t val_len, uint64_t expected_version,
				      uint32_t finality, struct aedb_commit_result *res);
/** aedb_counter_add - one aedb_txn_counter_add(). */
AEDB_API int aedb_counter_add(struct aedb *db, const char *project, const char *scope,
			      const void *key, size_t key_len, uint64_t amount, uint32_t stripes,
			      uint32_t hint, uint32_t finality, struct aedb_commit_result *res);
/**
 * aedb_counter_read - the sum of stripes 0..@stripes-1 of counter @key at one
 * snapshot (missing stripes count 0). Returns 0, -AEDB_EOVERFLOW (sum past
 * 2^64-1), -AEDB_EINVAL (@stripes not 1..4096), -AEDB_ETYPE (a stripe is not
 * 8 bytes) or a common read error.
 */
AEDB_API int aedb_counter_read(struct aedb *db, const char *project, const char *scope,
			       const void *key, size_t key_len, uint32_t stripes,
			       struct aedb_at at, uint64_t *sum);

/* ------------------------------------------------------------------------ */
/* Tables: rows                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Rows are written by transactions, so they commit atomically with KV
 * writes and other rows, on any shards, with the same idempotency and
 * recovery. A row is stored in its table's namespace under its encoded
 * primary key (docs/TABLES.md), on shard hash(table id, key) mod N.
 *
 * A row is @ncols values in column order (struct aedb_table_def); a NULL
 * value in a column with a default becomes the default. Values are checked
 * when added, and nothing is added if one fails: -AEDB_EINVAL (@ncols is
 * not the table's column count, invalid UTF-8 in text or json),
 * -AEDB_ETYPE (a value of another type than its column: no coercion),
 * -AEDB_ENOTNULL (NULL in a NOT NULL column without a default),
 * -AEDB_ETOOBIG (encoded key over max_key_bytes or row over
 * max_value_bytes), -AEDB_ENOTABLE, -AEDB_ENOSCOPE, -AEDB_ENOPROJECT,
 * -AEDB_ENAME, -AEDB_EMISUSE, -ENOMEM. At commit a table dropped since is
 * -AEDB_ENOTABLE. The entries count as mutations (their index is returned).
 */

/** aedb_txn_insert - mutation: insert @row; at commit a row with the same
 *  primary key (also one written earlier in this transaction) fails the
 *  commit with -AEDB_EEXIST. */
AEDB_API int aedb_txn_insert(struct aedb_txn *txn, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols);
/** aedb_txn_upsert - mutation: write @row, replacing any row with its key. */
AEDB_API int aedb_txn_upsert(struct aedb_txn *txn, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols);
/**
 * aedb_txn_delete_row - mutation: delete the row whose primary key is
 * @pk[0..@npk) (key columns in key order, each exactly its column's type,
 * none NULL). Deleting an absent row is not an error.
 */
AEDB_API int aedb_txn_delete_row(struct aedb_txn *txn, const char *project, const char *scope,
				 const char *table, const struct aedb_value *pk, uint32_t npk);

/* One-row helpers: a one-entry transaction, committed and waited; they
 * return as aedb_commit() (@res optional). */
AEDB_API int aedb_insert_row(struct aedb *db, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols,
			     uint32_t finality, struct aedb_commit_result *res);
AEDB_API int aedb_upsert_row(struct aedb *db, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols,
			     uint32_t finality, struct aedb_commit_result *res);
AEDB_API int aedb_delete_row(struct aedb *db, const char *project, const char *scope,
			     const char *table, const struct aedb_value *pk, uint32_t npk,
			     uint32_t finality, struct aedb_commit_result *res);

/** A row read back; free with aedb_row_free(). */
struct aedb_row {
	uint64_t version;       /**< seq of the write that produced it */
	uint64_t created_seq;   /**< seq that created it */
	uint64_t snapshot_seq;  /**< the snapshot it was read at */
	uint32_t ncols;
	uint32_t pad;
	/** ncols values in column order; payloads point into this object. */
	struct aedb_value *values;
};

/**
 * aedb_get_row - read the row of @table whose primary key is @pk[0..@npk)
 * (as for aedb_txn_delete_row()) at @at. Any thread, lock-free. On success
 * *@out is a new row the caller frees. Returns 0, -AEDB_ENOTFOUND (no such
 * row at that snapshot; *@out NULL), -AEDB_ENOTABLE (also when the table was
 * created after the snapshot), -AEDB_EINVAL (@npk wrong), -AEDB_ETYPE,
 * -AEDB_ENOTNULL, -AEDB_ESEQFUTURE, -AEDB_ESEQGC, -AEDB_ECORRUPT, or a
 * common read error.
 */
AEDB_API int aedb_get_row(struct aedb *db, const char *project, const char *scope,
			  const char *table, const struct aedb_value *pk, uint32_t npk,
			  struct aedb_at at, struct aedb_row **out);

/** aedb_row_free - free a row from aedb_get_row(); NULL is a no-op. */
AEDB_API void aedb_row_free(struct aedb_row *row);

/* ------------------------------------------------------------------------ */
/* Tables: batches, upsert on conflict, where-mutations                      */
/* ------------------------------------------------------------------------ */

/*
 * Every call here is all or nothing: one transaction, one commit seq, and on
 * any error nothing is written. Values are checked as for aedb_txn_insert()
 * (-AEDB_EINVAL, -AEDB_ETYPE, -AEDB_ENOTNULL, -AEDB_ETOOBIG, ...); a column
 * name the table lacks is -AEDB_ENOCOLUMN. The blocking calls wait for
 * @finality and fill @res (optional) as aedb_commit() does; when nothing is
 * to be written they commit nothing and res->seq is 0.
 *
 * Calls that read before they write (upsert on conflict, the where-
 * mutations) read at the latest snapshot, then commit their writes with a
 * guard per row read: the row's version must still be the one read. A row
 * changed or deleted in between makes the attempt fail and start over from
 * a new snapshot, so no concurrent change is lost; after
 * AEDB_MUTATE_ATTEMPTS attempts the call returns -AEDB_ECONFLICT. (Rows
 * inserted meanwhile that would have matched a where-mutation's WHERE are
 * not seen: it acts on the rows that matched at its snapshot.)
 */
#define AEDB_MUTATE_ATTEMPTS 16

struct aedb_query; /* see "Tables: queries" */

/**
 * aedb_txn_insert_batch - mutations: insert @nrows rows of @ncols values
 * each (@rows row-major), as that many aedb_txn_insert() calls. All or
 * nothing: if one row is refused none is added, and the error is returned.
 * At commit a key that exists, or appears twice, fails with -AEDB_EEXIST.
 * Returns the first row's mutation index.
 */
AEDB_API int aedb_txn_insert_batch(struct aedb_txn *txn, const char *project,
				   const char *scope, const char *table,
				   const struct aedb_value *rows, uint32_t nrows, uint32_t ncols);
/** aedb_txn_upsert_batch - as aedb_txn_insert_batch() with upserts (a key
 *  given twice: the last row wins). */
AEDB_API int aedb_txn_upsert_batch(struct aedb_txn *txn, const char *project,
				   const char *scope, const char *table,
				   const struct aedb_value *rows, uint32_t nrows, uint32_t ncols);
/** aedb_insert_rows / aedb_upsert_rows - one batch, committed and waited.
 *  Return as aedb_commit(). */
AEDB_API int aedb_insert_rows(struct aedb *db, const char *project, const char *scope,
			      const char *table, const struct aedb_value *rows, uint32_t nrows,
			      uint32_t ncols, uint32_t finality, struct aedb_commit_result *res);
AEDB_API int aedb_upsert_rows(struct aedb *db, const char *project, const char *scope,
			      const char *table, const struct aedb_value *rows, uint32_t nrows,
			      uint32_t ncols, uint32_t finality, struct aedb_commit_result *res);

/** How struct aedb_set computes a column's new value. Every source is read
 *  from the row as it was before the update (as SQL does). */
enum aedb_set_op {
	AEDB_SET_VALUE = 1,        /**< @value (NULL allowed if the column is) */
	AEDB_SET_EXISTING = 2,     /**< the existing row's column @src */
	AEDB_SET_PROPOSED = 3,     /**< upsert on conflict: the proposed row's @src */
	AEDB_SET_ADD = 4,          /**< existing @col + @value */
	AEDB_SET_ADD_PROPOSED = 5, /**< upsert on conflict: existing @col + proposed @src */
	AEDB_SET_COALESCE = 6,     /**< existing @col if not NULL, else @value */
};

/**
 * struct aedb_set - one assignment "@col = ..." of an update. @col must not
 * be a primary-key column (-AEDB_EINVAL) nor assigned twice. @src (NULL
 * means @col) names a column of the same type (-AEDB_ETYPE). ADD works on
 * u8, u64, integer, timestamp (@value of the column's type, or an integer
 * delta that may be negative) and float; NULL on either side gives NULL;
 * a result outside the type is -AEDB_EOVERFLOW or -AEDB_EUNDERFLOW.
 */
struct aedb_set {
	const char *col;
	uint32_t op;              /**< enum aedb_set_op */
	uint32_t pad;             /**< must be zero */
	const char *src;
	struct aedb_value value;  /**< VALUE, ADD, COALESCE */
};

/** What an upsert does with a row whose primary key exists. */
enum aedb_on_conflict {
	AEDB_CONFLICT_NOTHING = 1, /**< keep the existing row */
	AEDB_CONFLICT_UPDATE = 2,  /**< apply the sets to the existing row */
	AEDB_CONFLICT_MERGE = 3,   /**< take every non-NULL proposed value */
};

/**
 * aedb_upsert_on_conflict - insert each of @nrows rows (@ncols values each,
 * row-major); a row whose primary key exists (at the snapshot read, or
 * earlier in this batch) gets @action instead, with @sets[0..@nsets) for
 * AEDB_CONFLICT_UPDATE (at least one; none for the other actions). As in
 * PostgreSQL, a key given twice in one batch is -AEDB_EINVAL with UPDATE and
 * MERGE (a row would be updated twice), and the later row does nothing with
 * NOTHING. The conflict target is the primary key. Returns the number of
 * rows inserted or updated (>= 0), or an error (nothing written):
 * -AEDB_EINVAL (bad action, sets, counts), -AEDB_ENOCOLUMN, -AEDB_ETYPE,
 * -AEDB_ENOTNULL, -AEDB_EOVERFLOW, -AEDB_ECONFLICT, or as aedb_commit().
 */
AEDB_API int aedb_upsert_on_conflict(struct aedb *db, const char *project, const char *scope,
				     const char *table, const struct aedb_value *rows,
				     uint32_t nrows, uint32_t ncols, uint32_t action,
				     const struct aedb_set *sets, uint32_t nsets,
				     uint32_t finality, struct aedb_commit_result *res);

/**
 * aedb_upsert_on_conflict_index - aedb_upsert_on_conflict() whose conflict
 * target is the unique index @index of the table instead of the primary
 * key (NULL or "": the primary key, exactly aedb_upsert_on_conflict()).
 * A proposed row conflicts when an existing row (at the snapshot read)
 * holds its key of @index; @action then applies to that existing row,
 * whatever its primary key, which it keeps (MERGE copies no primary-key
 * column; the sets may not name one). A proposed row without a key of
 * @index (a NULL in one of its columns, or outside a partial index's
 * predicate) never conflicts. A row that does not conflict is inserted:
 * if its primary key is taken, that is a conflict outside the target and
 * the call fails with -AEDB_EEXIST (as in PostgreSQL), nothing written. A
 * key of @index given twice in one batch is -AEDB_EINVAL with UPDATE and
 * MERGE, and the later row does nothing with NOTHING. A row that takes a
 * key of @index meanwhile makes the call read again (up to
 * AEDB_MUTATE_ATTEMPTS times, then -AEDB_ECONFLICT); -AEDB_EUNIQUE names
 * a conflict on another unique index. Any thread; @rows and @sets are only
 * read during the call. Returns as aedb_upsert_on_conflict(), and
 * -AEDB_EINVAL if @index is not a unique index of the table.
 */
AEDB_API int aedb_upsert_on_conflict_index(struct aedb *db, const char *project,
					   const char *scope, const char *table,
					   const char *index, const struct aedb_value *rows,
					   uint32_t nrows, uint32_t ncols, uint32_t action,
					   const struct aedb_set *sets, uint32_t nsets,
					   uint32_t finality, struct aedb_commit_result *res);

/*
 * Where-mutations act on the rows a query selects: @q names the table, its
 * WHERE the rows, its ORDER BY and LIMIT which ones and how many (no ORDER
 * BY: primary-key order; no LIMIT: every match, within max_scan_rows and
 * AEDB_TXN_MAX_ENTRIES / 2 rows, else -AEDB_ESCANLIMIT or -AEDB_ETOOBIG).
 * @q must be a plain one-table query: no select list, joins, GROUP BY,
 * aggregates, HAVING, OFFSET or cursor (-AEDB_EINVAL). Its errors are
 * aedb_query_run()'s. @q is only read.
 */

/** aedb_update_where - apply @sets[0..@nsets) (at least one) to every row
 *  @q selects. Returns the number of rows updated, or an error. */
AEDB_API int aedb_update_where(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, const struct aedb_set *sets,
			       uint32_t nsets, uint32_t finality, struct aedb_commit_result *res);
/** aedb_delete_where - delete every row @q selects. Returns the number of
 *  rows deleted, or an error. */
AEDB_API int aedb_delete_where(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, uint32_t finality,
			       struct aedb_commit_result *res);

/** Kinds of where-mutation (aedb_mutate_where_returning()). */
enum aedb_mutate_op {
	AEDB_MUTATE_UPDATE = 1,
	AEDB_MUTATE_DELETE = 2,
};

/** The rows a where-mutation changed, before and after; free with
 *  aedb_mutation_free(). */
struct aedb_mutation {
	uint64_t seq;             /**< the commit; 0 if no row matched */
	uint64_t snapshot_seq;    /**< the snapshot the rows were selected at */
	uint64_t nrows;
	uint32_t ncols;           /**< every column of the table, in order */
	uint32_t attempts;        /**< 1 + attempts lost to concurrent changes */
	const char *const *names; /**< ncols column names */
	const struct aedb_value *before; /**< nrows * ncols, row-major */
	const struct aedb_value *after;  /**< the same as written; NULL for deletes */
	void *priv;               /**< engine-private */
};

/**
 * aedb_mutate_where_returning - aedb_update_where() (@op
 * AEDB_MUTATE_UPDATE) or aedb_delete_where() (AEDB_MUTATE_DELETE, no sets)
 * that also returns the rows it changed: on success *@out is a new object
 * the caller frees. Returns the row count, or an error (*@out NULL).
 */
AEDB_API int aedb_mutate_where_returning(struct aedb *db, const char *project,
					 const char *scope, const struct aedb_query *q,
					 uint32_t op, const struct aedb_set *sets, uint32_t nsets,
					 uint32_t finality, struct aedb_mutation **out);

/**
 * aedb_claim_one - update the first row @q selects (its ORDER BY, else
 * primary-key order; its LIMIT is ignored) with @sets, and return it
 * before and after in *@out (freed by the caller). With a WHERE that the
 * update makes false (status = 'open' -> 'taken'), concurrent claimers
 * never get the same row: the loser's guard fails and it retries on the
 * next row. Returns 1 (claimed), 0 (no row matched; *@out NULL), or an
 * error as aedb_update_where().
 */
AEDB_API int aedb_claim_one(struct aedb *db, const char *project, const char *scope,
			    const struct aedb_query *q, const struct aedb_set *sets,
			    uint32_t nsets, uint32_t finality, struct aedb_mutation **out);

/** aedb_mutation_free - NULL is a no-op. */
AEDB_API void aedb_mutation_free(struct aedb_mutation *m);

/* ------------------------------------------------------------------------ */
/* Tables: queries                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Queries over the tables of one scope, at one snapshot, across every shard
 * (docs/TABLES.md "Queries": NULL semantics, planner, limits, cursors).
 * Build an expression tree with aedb_expr_*() and a query with
 * aedb_query_*(), then run it with aedb_query_run(). Builders copy every
 * name, literal and pattern they are given. Expression constructors return
 * NULL only when memory runs out; combinators and aedb_query_where/having
 * take ownership of their expression arguments (also on failure), and a
 * NULL operand makes a combinator free the other and return NULL, so a tree
 * can be built in one expression and checked once. Names are resolved when
 * the query runs. A query is not thread-safe; it may be run many times.
 *
 * Builder errors leave the query as it was: -AEDB_EMISUSE (NULL argument),
 * -AEDB_ETOOBIG (past a limit: 32 order keys, 32 group columns, 32
 * aggregates, 8 joins, 1024 selected columns), -AEDB_EINVAL, -ENOMEM.
 */

struct aedb_expr;
struct aedb_query;

/** @cmp: AEDB_CMP_EQ..AEDB_CMP_GE; @lit is converted to the column's type
 *  when the query runs (5.5 against an integer column matches nothing for
 *  EQ, and means <= 5 for LT). A NULL literal matches nothing. */
AEDB_API struct aedb_expr *aedb_expr_cmp(uint32_t cmp, const char *col,
					 const struct aedb_value *lit);
/** @col IN @lits[0..@n) (NULL elements ignored). */
AEDB_API struct aedb_expr *aedb_expr_in(const char *col, const struct aedb_value *lits,
					size_t n);
/** @lo <= @col <= @hi. */
AEDB_API struct aedb_expr *aedb_expr_between(const char *col, const struct aedb_value *lo,
					     const struct aedb_value *hi);
AEDB_API struct aedb_expr *aedb_expr_is_null(const char *col);
AEDB_API struct aedb_expr *aedb_expr_not_null(const char *col);
/** SQL LIKE: % any sequence, _ one character; at most 256 bytes. */
AEDB_API struct aedb_expr *aedb_expr_like(const char *col, const void *pattern, size_t len);
/** @col starts with @prefix (text, json, blob); at most 256 bytes. */
AEDB_API struct aedb_expr *aedb_expr_prefix(const char *col, const void *prefix, size_t len);
AEDB_API struct aedb_expr *aedb_expr_and(struct aedb_expr *a, struct aedb_expr *b);
AEDB_API struct aedb_expr *aedb_expr_or(struct aedb_expr *a, struct aedb_expr *b);
AEDB_API struct aedb_expr *aedb_expr_not(struct aedb_expr *a);
/** aedb_expr_free - free a tree not handed to a query; NULL is a no-op. */
AEDB_API void aedb_expr_free(struct aedb_expr *e);

/** Aggregate functions (aedb_query_aggregate()). */
enum aedb_agg {
	AEDB_AGG_COUNT = 1, /**< COUNT(*) with no column, else non-NULL values */
	AEDB_AGG_SUM,       /**< exact; NULLs ignored; -AEDB_EOVERFLOW */
	AEDB_AGG_MIN,
	AEDB_AGG_MAX,
	AEDB_AGG_AVG,       /**< float */
};

/** Join kinds (aedb_query_join()). */
enum aedb_join {
	AEDB_JOIN_INNER = 1,
	AEDB_JOIN_LEFT = 2,
};

/** aedb_query_create - a query on @table (every column, no limit). */
AEDB_API int aedb_query_create(const char *table, struct aedb_query **out);
AEDB_API void aedb_query_free(struct aedb_query *q);
/** Append an output column ("col", or "alias.col" with joins). */
AEDB_API int aedb_query_select(struct aedb_query *q, const char *col);
/** AND @e into WHERE (takes @e; NULL @e is -ENOMEM: a constructor failed). */
AEDB_API int aedb_query_where(struct aedb_query *q, struct aedb_expr *e);
AEDB_API int aedb_query_order_by(struct aedb_query *q, const char *col, bool desc);
/** At most @n rows per page; more set the result's cursor. */
AEDB_API int aedb_query_limit(struct aedb_query *q, uint64_t n);
/** Remove the limit: every row, or a clear limit error (never truncated). */
AEDB_API int aedb_query_clear_limit(struct aedb_query *q);
/** Skip @n rows of the first page (ignored with a cursor). */
AEDB_API int aedb_query_offset(struct aedb_query *q, uint64_t n);
AEDB_API int aedb_query_group_by(struct aedb_query *q, const char *col);
/** Output column count_star, count_<col>, sum_<col>, min_, max_ or avg_<col>. */
AEDB_API int aedb_query_aggregate(struct aedb_query *q, uint32_t agg, const char *col);
/** AND @e into HAVING (over group columns and aggregate outputs). */
AEDB_API int aedb_query_having(struct aedb_query *q, struct aedb_expr *e);
/**
 * aedb_query_join - join @table (as @alias, or its name if NULL) on
 * @left_col = @right_col: @left_col qualified ("alias.col") from an earlier
 * table, @right_col a column of @table. With joins, name columns qualified.
 * @kind: enum aedb_join.
 */
AEDB_API int aedb_query_join(struct aedb_query *q, uint32_t kind, const char *table,
			     const char *alias, const char *left_col, const char *right_col);
/** Resume after a previous page's cursor (copied; NULL clears). The page
 *  then runs at the cursor's snapshot, whatever @at says. */
AEDB_API int aedb_query_set_cursor(struct aedb_query *q, const void *cursor, size_t len);

/** A query's rows; free with aedb_query_result_free(). */
struct aedb_query_result {
	uint64_t snapshot_seq;        /**< the snapshot every row was read at */
	uint64_t nrows;
	uint32_t ncols;
	uint32_t truncated;           /**< 1: more rows follow; see cursor */
	const char *const *names;     /**< ncols output column names */
	const struct aedb_value *rows; /**< nrows * ncols values, row-major */
	const uint8_t *cursor;        /**< when truncated: pass to set_cursor */
	size_t cursor_len;
	uint64_t rows_examined;       /**< rows and index entries read */
	/** With AEDB_QUERY_TOTAL: every row the query matches (every group
	 *  for an aggregate), whatever the page; else 0. */
	uint64_t total;
	void *priv;                   /**< engine-private */
};

/**
 * aedb_query_run - run @q on the tables of @project/@scope at @at. Any
 * thread, lock-free. On success *@out is a result the caller frees.
 * Returns 0, or -AEDB_EMISUSE, -AEDB_ENAME, -AEDB_ENOPROJECT,
 * -AEDB_ENOSCOPE, -AEDB_ENOTABLE (a table missing, or created after the
 * snapshot), -AEDB_ENOCOLUMN (a column the table lacks), -AEDB_EINVAL (bad
 * pattern, a clause that does not fit the query), -AEDB_ETYPE (a literal
 * that cannot convert to its column), -AEDB_ESCANLIMIT (more rows read than
 * the instance's max_scan_rows), -AEDB_EMEMLIMIT (over a memory limit),
 * -AEDB_ETOOBIG (an expression over its limits), -AEDB_ECURSOR (a cursor of
 * another query), -AEDB_EOVERFLOW (SUM), -AEDB_ESEQGC (the snapshot or
 * cursor expired), -AEDB_ESEQFUTURE, -ENOMEM. The result's snapshot_seq is
 * the snapshot read: the visible watermark for AEDB_LATEST, exactly the
 * asked seq for AEDB_SEQ(s), the cursor's for a later page.
 */
AEDB_API int aedb_query_run(struct aedb *db, const char *project, const char *scope,
			    const struct aedb_query *q, struct aedb_at at,
			    struct aedb_query_result **out);
/** aedb_query_result_free - NULL is a no-op. */
AEDB_API void aedb_query_result_free(struct aedb_query_result *r);

/**
 * struct aedb_query_opts - per-query limits and flags for
 * aedb_query_run_ex() and aedb_query_batch(). Zero every field (or use
 * aedb_query_opts_init()), then set what differs: a zero limit means its
 * default. A query over a limit fails with a clear error and returns
 * nothing; it is never cut short silently.
 */
struct aedb_query_opts {
	/** Rows and index entries read, all tables, joins included; over it
	 *  is -AEDB_ESCANLIMIT. 0: the instance's cfg.max_scan_rows. A LIMIT
	 *  does not lift it: a query that must sort reads every match. */
	uint64_t max_scan_rows;
	/** Bytes held at once for sorting (or a top-k), groups, MIN/MAX values
	 *  and the result; over it is -AEDB_EMEMLIMIT. 0: 64 MiB. */
	uint64_t max_bytes;
	/** Rows the joins produce before WHERE (-AEDB_ESCANLIMIT). 0: 10,000. */
	uint64_t max_join_rows;
	/** Bytes of join hash tables (-AEDB_EMEMLIMIT). 0: 16 MiB. */
	uint64_t max_join_bytes;
	uint32_t flags;               /**< AEDB_QUERY_* */
	uint32_t pad;                 /**< must be zero */
	uint64_t reserved[2];         /**< must be zero */
};

/** Flag: count every matching row into aedb_query_result::total (list with
 *  total); the scan then reads every match even with a LIMIT. */
#define AEDB_QUERY_TOTAL 0x1u

/** aedb_query_opts_init - zero @o: every limit at its default, no flags. */
AEDB_API void aedb_query_opts_init(struct aedb_query_opts *o);

/** The detail of a failed query: the code returned and a message naming the
 *  column, table, clause or limit at fault. */
struct aedb_query_error {
	int32_t code;
	char msg[164];                /**< NUL-terminated; "" if none */
};

/**
 * aedb_query_run_ex - aedb_query_run() with limits and flags (@opts, NULL =
 * defaults) and the error's detail in @err (optional; filled on failure).
 * Returns as aedb_query_run(), plus -AEDB_EINVAL for a bad flag or a
 * non-zero pad or reserved field, -AEDB_ENOCOLUMN (a column the table
 * lacks), -AEDB_ESCANLIMIT and -AEDB_EMEMLIMIT (a limit above).
 */
AEDB_API int aedb_query_run_ex(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, struct aedb_at at,
			       const struct aedb_query_opts *opts,
			       struct aedb_query_result **out, struct aedb_query_error *err);

/**
 * aedb_query_list_with_total - a page of @q (its LIMIT, OFFSET, cursor) and
 * in (*@out)->total the count of every row @q matches, both at one
 * snapshot: aedb_query_run_ex() with AEDB_QUERY_TOTAL. Returns as
 * aedb_query_run_ex().
 */
AEDB_API int aedb_query_list_with_total(struct aedb *db, const char *project,
					const char *scope, const struct aedb_query *q,
					struct aedb_at at, struct aedb_query_result **out);

/**
 * aedb_query_exists - whether @q matches any row at @at: it runs with
 * LIMIT 1 (OFFSET ignored), so it stops at the first match when rows
 * stream in order. @snapshot_seq (optional) receives the snapshot read.
 * Any thread. Returns 1, 0, or an error as aedb_query_run().
 */
AEDB_API int aedb_query_exists(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, struct aedb_at at,
			       uint64_t *snapshot_seq);

/**
 * aedb_query_batch - run @qs[0..@n) at one snapshot (@at, resolved once):
 * every result has the same snapshot_seq, so the answers are mutually
 * consistent. Results go to @outs[0..@n) in input order, each freed by the
 * caller with aedb_query_result_free(). All or nothing: the first failing
 * query fails the batch, no result is returned (@outs all NULL), its index
 * goes to *@failed (optional) and its error is returned, as
 * aedb_query_run_ex() would (@opts and @err likewise). A query with a
 * cursor must use the batch's snapshot (else -AEDB_ECURSOR). @n == 0
 * returns 0. Any thread.
 */
AEDB_API int aedb_query_batch(struct aedb *db, const char *project, const char *scope,
			      const struct aedb_query *const *qs, size_t n, struct aedb_at at,
			      const struct aedb_query_opts *opts,
			      struct aedb_query_result **outs, size_t *failed,
			      struct aedb_query_error *err);

/** Access paths (struct aedb_query_plan::path), best first. */
enum aedb_path {
	AEDB_PATH_EMPTY = 0,     /**< the WHERE admits no row: nothing is read */
	AEDB_PATH_PK_POINT = 1,  /**< every key column bound by = or IN: point fetches */
	AEDB_PATH_PK_RANGE = 2,  /**< a key prefix bound, or a range on the next column */
	AEDB_PATH_INDEX = 3,     /**< the same on a secondary index (plan.index) */
	AEDB_PATH_FULL_SCAN = 4, /**< every row of the table, in key order */
};

#define AEDB_PLAN_TEXT_BYTES 1024

/** What the planner chose for a query (aedb_query_explain()). */
struct aedb_query_plan {
	uint64_t snapshot_seq;   /**< the snapshot it was planned at */
	uint32_t path;           /**< enum aedb_path */
	uint32_t key_eq;         /**< leading key columns bound by = or IN */
	uint32_t key_range;      /**< 1: and a range or prefix on the next one */
	uint32_t nranges;        /**< key points (PK_POINT) or ranges scanned */
	uint32_t filter;         /**< 1: the WHERE is evaluated on candidate rows */
	uint32_t order_from_path;/**< 1: rows arrive in ORDER BY order, no sort */
	uint32_t sort;           /**< 1: rows are sorted (or a top-k kept) */
	uint32_t aggregate;      /**< 1: GROUP BY or aggregates */
	uint64_t top_k;          /**< rows a bounded sort keeps (0: all) */
	uint32_t njoins;
	uint32_t pad;
	char index[132];         /**< AEDB_PATH_INDEX: the index's name */
	char text[AEDB_PLAN_TEXT_BYTES]; /**< the plan as lines of text */
};

/**
 * aedb_query_explain - plan @q at @at without reading rows: the access
 * path (pk point, pk range, index, full scan), the order, the limits, the
 * joins, as fields and as text. Binding errors are those of
 * aedb_query_run() (-AEDB_ENOTABLE, -AEDB_ENOCOLUMN, -AEDB_ETYPE, ...).
 * Any thread. Returns 0 and fills @out.
 */
AEDB_API int aedb_query_explain(struct aedb *db, const char *project, const char *scope,
				const struct aedb_query *q, struct aedb_at at,
				struct aedb_query_plan *out);

/**
 * aedb_query_lookup_then_hydrate - two queries at one snapshot: run
 * @source, take the non-NULL values of its output column @source_col, then
 * run @hydrate with "@hydrate_col IN (those values)" ANDed into its WHERE
 * (values convert to @hydrate_col's type as literals do). A typical use:
 * find ids in an index-friendly table, then fetch the rows they name. The
 * hydrated rows come in @hydrate's order (its ORDER BY, else key order), not
 * in the source's. Both results go to the caller (free each with
 * aedb_query_result_free()) and carry the same snapshot_seq. Any thread.
 * Returns 0, or an error of either query (nothing returned), -AEDB_ENOCOLUMN
 * (@source_col is not an output column of @source), -AEDB_ETOOBIG (over
 * 10,000 distinct values).
 */
AEDB_API int aedb_query_lookup_then_hydrate(struct aedb *db, const char *project,
					    const char *scope, const struct aedb_query *source,
					    const char *source_col,
					    const struct aedb_query *hydrate,
					    const char *hydrate_col, struct aedb_at at,
					    struct aedb_query_result **source_out,
					    struct aedb_query_result **hydrate_out);

/* ------------------------------------------------------------------------ */
/* Submission queue: records                                                 */
/* ------------------------------------------------------------------------ */

/** Opcodes for struct aedb_sqe. */
enum aedb_op {
	AEDB_OP_NOP = 0,      /**< completes with res 0 */
	AEDB_OP_KV_SET = 1,   /**< write val under key */
	AEDB_OP_KV_DEL = 2,   /**< delete key */
	AEDB_OP_KV_GET = 3,   /**< read key into a struct aedb_kv_read */
	AEDB_OP_KV_SCAN = 4,  /**< scan into a struct aedb_kv_scan */
	AEDB_OP_COMMIT = 5,   /**< commit a struct aedb_txn */
	AEDB_OP_QUERY = 6,    /**< run a query: struct aedb_query_req */
	AEDB_OP_LAST
};

/**
 * struct aedb_sqe - one submission (64 bytes). Prepare with aedb_prep_*();
 * fields not set by the prep helper must stay zero.
 */
struct aedb_sqe {
	uint8_t opcode;       /**< enum aedb_op */
	uint8_t flags;        /**< AEDB_SQE_*; none defined yet, must be 0 */
	uint8_t finality;     /**< writes: enum aedb_finality */
	uint8_t at_mode;      /**< reads: enum aedb_at_mode */
	uint32_t ns;          /**< namespace id from aedb_scope_id() */
	const void *key;      /**< key bytes (caller-owned until CQE seen) */
	const void *val;      /**< value bytes (caller-owned until CQE seen) */
	uint32_t key_len;
	uint32_t val_len;
	uint64_t at_seq;      /**< reads with AEDB_AT_SEQ */
	void *out;            /**< op-specific result (caller-owned), or NULL */
	const struct aedb_caller *caller; /**< NULL = anonymous */
	uint64_t user_data;   /**< returned unchanged in the CQE */
};

/** struct aedb_cqe - one completion (16 bytes). */
struct aedb_cqe {
	uint64_t user_data;   /**< from the SQE */
	int32_t res;          /**< >= 0 success (op-specific), < 0 error */
	uint32_t flags;       /**< AEDB_CQE_* */
};

/** CQE flag: the request was failed by aedb_close() / ring teardown. */
#define AEDB_CQE_F_CLOSED 0x1u

AEDB_STATIC_ASSERT(sizeof(struct aedb_sqe) == 64, "struct aedb_sqe is 64 bytes");
AEDB_STATIC_ASSERT(sizeof(struct aedb_cqe) == 16, "struct aedb_cqe is 16 bytes");

/**
 * Result of AEDB_OP_KV_GET, written before the CQE is posted. The value is
 * copied into @buf (caller-owned, @buf_len bytes); when the value is longer,
 * only @buf_len bytes are copied and val_len tells the full length, so the
 * caller can retry with a bigger buffer. CQE res: the value length (>= 0), or
 * -AEDB_ENOTFOUND, or an error.
 */
struct aedb_kv_read {
	void *buf;              /**< in: where to copy the value (may be NULL if 0) */
	uint32_t buf_len;       /**< in: size of buf */
	uint32_t val_len;       /**< out: full value length */
	uint64_t version;       /**< out */
	uint64_t created_seq;   /**< out */
	uint64_t snapshot_seq;  /**< out: the snapshot read */
};

/**
 * Request and result of AEDB_OP_KV_SCAN. Inputs as in aedb_kv_scan_range()
 * (bounds NULL = unbounded; @prefix non-NULL means a prefix scan and then
 * both bounds must be NULL). On success the CQE res is the entry count and
 * @page receives a page the caller frees with aedb_kv_page_free().
 */
struct aedb_kv_scan {
	const void *prefix;
	uint32_t prefix_len;
	uint32_t limit;
	const struct aedb_kv_bound *start;
	const struct aedb_kv_bound *end;
	const struct aedb_kv_cursor *cursor;
	struct aedb_kv_page *page; /**< out */
};

/**
 * Request and result of AEDB_OP_QUERY: @q on the tables of @project/@scope
 * at the SQE's snapshot, as aedb_query_run_ex() with @opts (NULL:
 * defaults). Runs inside aedb_submit() on the calling thread, lock-free,
 * and completes at once. CQE res: the row count (clamped to INT32_MAX) or
 * an error as aedb_query_run_ex(); on success @result is a result the caller
 * frees with aedb_query_result_free(), on failure @err holds the detail.
 * Row writes go through AEDB_OP_COMMIT: a transaction of row entries.
 */
struct aedb_query_req {
	const char *project;
	const char *scope;
	const struct aedb_query *q;
	const struct aedb_query_opts *opts;
	struct aedb_query_result *result;  /**< out */
	struct aedb_query_error err;       /**< out, on failure */
};

/* ------------------------------------------------------------------------ */
/* Submission queue: ring                                                    */
/* ------------------------------------------------------------------------ */

/**
 * struct aedb_ring - a client's submission and completion queues. Embed it
 * (stack, struct, heap) and set it up with aedb_ring_init(). It belongs to
 * one thread at a time: every aedb_ring call on it must come from that
 * thread (or be externally serialised). Fields are read by inline helpers;
 * do not write them.
 */
struct aedb_ring {
	struct aedb_sqe *sqes;   /**< sq_entries slots */
	uint32_t sq_entries;     /**< power of two */
	uint32_t sq_mask;
	uint32_t sq_head;        /**< next SQE to submit */
	uint32_t sq_tail;        /**< next free SQE */
	void *priv;              /**< engine-private state */
	uint64_t reserved[4];
};

AEDB_STATIC_ASSERT(sizeof(struct aedb_ring) == 64, "struct aedb_ring is 64 bytes");

/** aedb_ring_init flag: signal the eventfd on every completion batch, for
 *  callers that wait in their own epoll/io_uring (see aedb_ring_fd()). */
#define AEDB_RING_EVENTFD_ALWAYS 0x1u

/**
 * aedb_ring_init - set up @ring on @db with @entries submission slots
 * (1..4096, rounded up to a power of two); up to 2 * entries requests may
 * be in flight (the completion queue's capacity).
 * The calling thread becomes the ring's owner. Returns 0, -AEDB_EMISUSE,
 * -AEDB_EINVAL (entries or flags), -AEDB_ECLOSED, -ENOMEM, or -errno from
 * eventfd().
 */
AEDB_API int aedb_ring_init(struct aedb *db, unsigned entries, struct aedb_ring *ring,
			    unsigned flags);

/**
 * aedb_ring_exit - wait for the ring's requests in flight to complete (their
 * CQEs are discarded), then release it. Owner thread. Call before
 * aedb_close(). NULL or an uninitialised-zero ring is a no-op.
 */
AEDB_API void aedb_ring_exit(struct aedb_ring *ring);

/**
 * aedb_get_sqe - the next free submission entry, zeroed, or NULL if the SQ is
 * full (submit first). Owner thread.
 */
static inline struct aedb_sqe *aedb_get_sqe(struct aedb_ring *ring)
{
	struct aedb_sqe *sqe;

	if (ring->sq_tail - ring->sq_head >= ring->sq_entries)
		return NULL;
	sqe = &ring->sqes[ring->sq_tail & ring->sq_mask];
	ring->sq_tail++;
	__builtin_memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

/** aedb_sqe_set_data - set the value returned in the CQE's user_data. */
static inline void aedb_sqe_set_data(struct aedb_sqe *sqe, void *data)
{
	sqe->user_data = (uint64_t)(uintptr_t)data;
}

/** aedb_sqe_set_data64 - as aedb_sqe_set_data(), with an integer. */
static inline void aedb_sqe_set_data64(struct aedb_sqe *sqe, uint64_t data)
{
	sqe->user_data = data;
}

/** aedb_sqe_set_caller - attach a caller (NULL = anonymous). */
static inline void aedb_sqe_set_caller(struct aedb_sqe *sqe, const struct aedb_caller *caller)
{
	sqe->caller = caller;
}

/** aedb_prep_nop - a request that completes with res 0. */
static inline void aedb_prep_nop(struct aedb_sqe *sqe)
{
	sqe->opcode = AEDB_OP_NOP;
}

/**
 * aedb_prep_kv_set - write @val under @key in namespace @ns. @seq_out, if not
 * NULL, receives the commit seq before the CQE is posted. CQE res: 0 or an
 * error as for aedb_kv_set(). @key, @val and @seq_out must live until the
 * CQE is seen.
 */
static inline void aedb_prep_kv_set(struct aedb_sqe *sqe, uint32_t ns, const void *key,
				    uint32_t key_len, const void *val, uint32_t val_len,
				    uint32_t finality, uint64_t *seq_out)
{
	sqe->opcode = AEDB_OP_KV_SET;
	sqe->ns = ns;
	sqe->key = key;
	sqe->key_len = key_len;
	sqe->val = val;
	sqe->val_len = val_len;
	sqe->finality = (uint8_t)finality;
	sqe->out = seq_out;
}

/** aedb_prep_kv_del - delete @key in @ns; otherwise as aedb_prep_kv_set(). */
static inline void aedb_prep_kv_del(struct aedb_sqe *sqe, uint32_t ns, const void *key,
				    uint32_t key_len, uint32_t finality, uint64_t *seq_out)
{
	sqe->opcode = AEDB_OP_KV_DEL;
	sqe->ns = ns;
	sqe->key = key;
	sqe->key_len = key_len;
	sqe->finality = (uint8_t)finality;
	sqe->out = seq_out;
}

/**
 * aedb_prep_commit - commit @txn (its finality applies). @res, if not NULL,
 * receives the outcome before the CQE is posted. CQE res: as aedb_commit().
 * @txn and @res must live, and @txn must not be changed, until the CQE is
 * seen.
 */
static inline void aedb_prep_commit(struct aedb_sqe *sqe, struct aedb_txn *txn,
				    struct aedb_commit_result *res)
{
	sqe->opcode = AEDB_OP_COMMIT;
	sqe->key = txn;
	sqe->out = res;
}

/**
 * aedb_prep_kv_get - read @key in @ns at @at into @rd (see struct
 * aedb_kv_read). Runs inside aedb_submit() on the calling thread.
 */
static inline void aedb_prep_kv_get(struct aedb_sqe *sqe, uint32_t ns, const void *key,
				    uint32_t key_len, struct aedb_at at,
				    struct aedb_kv_read *rd)
{
	sqe->opcode = AEDB_OP_KV_GET;
	sqe->ns = ns;
	sqe->key = key;
	sqe->key_len = key_len;
	sqe->at_mode = (uint8_t)at.mode;
	sqe->at_seq = at.seq;
	sqe->out = rd;
}

/**
 * aedb_prep_kv_scan - scan @ns as @scan describes (see struct aedb_kv_scan)
 * at @at. Runs inside aedb_submit() on the calling thread.
 */
static inline void aedb_prep_kv_scan(struct aedb_sqe *sqe, uint32_t ns, struct aedb_at at,
				     struct aedb_kv_scan *scan)
{
	sqe->opcode = AEDB_OP_KV_SCAN;
	sqe->ns = ns;
	sqe->at_mode = (uint8_t)at.mode;
	sqe->at_seq = at.seq;
	sqe->out = scan;
}

/**
 * aedb_prep_query - run @req (see struct aedb_query_req) at @at. Runs
 * inside aedb_submit() on the calling thread. @req and what it points to
 * must live until the CQE is seen.
 */
static inline void aedb_prep_query(struct aedb_sqe *sqe, struct aedb_at at,
				   struct aedb_query_req *req)
{
	sqe->opcode = AEDB_OP_QUERY;
	sqe->at_mode = (uint8_t)at.mode;
	sqe->at_seq = at.seq;
	sqe->out = req;
}

/**
 * aedb_submit - hand every prepared SQE to the engine. Owner thread.
 * Reads run now and post their CQEs before this returns; writes are queued
 * to their shards. A malformed SQE is not an error here: it completes with
 * a CQE carrying the error. Returns the number of SQEs consumed (>= 0); SQEs
 * that did not fit (completion queue or a shard inbox full) stay queued for
 * the next call, and if none fit the return is -AEDB_EBUSY. Also
 * -AEDB_EMISUSE (bad ring), -AEDB_ECLOSED.
 */
AEDB_API int aedb_submit(struct aedb_ring *ring);

/**
 * aedb_peek_cqe - the oldest unseen completion, without blocking.
 * Owner thread. Returns 0 and sets *@cqe, or -EAGAIN if none is ready. The
 * CQE stays valid until aedb_cqe_seen().
 */
AEDB_API int aedb_peek_cqe(struct aedb_ring *ring, struct aedb_cqe **cqe);

/**
 * aedb_wait_cqe - as aedb_peek_cqe(), but spins (config spin_us) then sleeps
 * until a completion arrives. Returns 0, or -AEDB_EMISUSE if nothing is in
 * flight and nothing is ready (it would wait forever).
 */
AEDB_API int aedb_wait_cqe(struct aedb_ring *ring, struct aedb_cqe **cqe);

/** aedb_cqe_seen - release the CQE returned by peek/wait. Owner thread. */
AEDB_API void aedb_cqe_seen(struct aedb_ring *ring, struct aedb_cqe *cqe);

/**
 * aedb_ring_fd - an eventfd that becomes readable when completions arrive
 * while the owner waits in aedb_wait_cqe(), or on every completion batch
 * with AEDB_RING_EVENTFD_ALWAYS. Read (and so reset) it, then drain with
 * aedb_peek_cqe(). The fd belongs to the ring; do not close it.
 * Returns the fd, or -AEDB_EMISUSE.
 */
AEDB_API int aedb_ring_fd(struct aedb_ring *ring);

/** aedb_ring_inflight - requests submitted whose CQEs are not yet seen. */
AEDB_API unsigned aedb_ring_inflight(const struct aedb_ring *ring);

/** Iterate over ready completions; call aedb_cqe_seen() in the body. */
#define aedb_for_each_cqe(ring, cqe) \
	while (aedb_peek_cqe((ring), &(cqe)) == 0)

/* ------------------------------------------------------------------------ */
/* Accumulators                                                              */
/* ------------------------------------------------------------------------ */

/*
 * An accumulator is an exactly-once, additive i64 balance (a casino's house
 * balance, say) that scales with the shard count. It lives in a scope beside
 * tables and KV, and shares the tables' names: a table and an accumulator
 * cannot have the same name in one scope (-AEDB_EEXIST).
 *
 * Deltas. aedb_accumulate(delta, dedupe_key, order_key) routes a delta to the
 * shard of hash(accumulator, dedupe_key), where that shard folds it into its
 * partial sum in the same commit. Exactly once:
 *  - a dedupe key seen before with the same delta and order key is a
 *    duplicate: AEDB_COMMIT_DUPLICATE, the original seq, nothing written;
 *    with another delta or order key it is -AEDB_EDEDUPE;
 *  - an order key must be above every order key the accumulator accepted
 *    before in the same *order lane* (>= 1 for the first), else
 *    -AEDB_EORDER. A dedupe key's lane is aedb_accumulator_lane(key), one of
 *    AEDB_ACC_LANES, a pure function of the key. So a retry that comes back
 *    after its dedupe record expired is refused (same key, same lane), never
 *    counted twice; and deltas whose order keys ascend overall, as from one
 *    ordered source, ascend in every lane too, even when they are pipelined
 *    through the submission queue to several shards.
 * The dedupe check comes first: a retry of an old delta inside the window
 * is a duplicate even though its order key is no longer the latest.
 * Nothing depends on the shard count: the same calls give the same values
 * and errors with 1 shard and with 64. (The reference engine orders keys
 * per accumulator; per lane, aedb checks the same guarantee without a
 * point every shard must agree on. docs/ACCUMULATORS.md.)
 *
 * Values. The value is the sum of every shard's partial at one snapshot
 * (reduced on read, i128, so the sum never wraps: a sum outside i64 reads as
 * -AEDB_EOVERFLOW). aedb projects synchronously: a delta is in the value as
 * soon as its commit is visible, so the projected value never lags the
 * strong one and aedb_accumulator_lag() reports no lag (the calls are kept
 * for the reference API).
 *
 * Exposures (the circuit breaker). Open exposures are reservations against
 * the balance, kept on the accumulator's home shard. An exposure of @amount
 * is accepted iff E + amount <= limit, where E is the total open exposure and
 * limit = trunc(V * (10000 - margin_bps) / 10000) for the value V at the
 * latest visible snapshot when the exposure is evaluated; else -AEDB_ELIMIT.
 * Deltas are never blocked by exposures (available = V - E may go negative).
 * An exposure is closed by aedb_release_accumulator_exposure(), by the
 * settlement aedb_accumulate_with_release(), or, with an exposure TTL of T
 * commits, expires once the visible head passes its opening seq + T.
 * Recovery restores accepted exposures as they were: it never re-checks a
 * limit.
 *
 * Rejections are not counted (rejection_count stays 0, as in the reference
 * engine: a rejected request leaves no trace).
 */

/** Accumulator options (aedb_accumulator_options_init() sets the defaults). */
struct aedb_accumulator_options {
	/** Keep dedupe records this many commits (a record from seq S is
	 *  forgotten once the visible head is above S + this); 0 = forever.
	 *  Default 0. */
	uint64_t dedupe_retain_commits;
	/** Delta-log compaction interval of the reference engine: must be >= 1;
	 *  recorded, but aedb keeps no delta log to compact. Default 10000. */
	uint64_t snapshot_every;
	/** Margin withheld from the value for exposures, in basis points:
	 *  0..9999. Default 1000 (10 %). */
	uint32_t exposure_margin_bps;
	uint32_t pad;                   /**< must be zero */
	/** An open exposure opened at seq S expires once the visible head is
	 *  above S + this; 0 = never. Default 0. */
	uint64_t exposure_ttl_commits;
	uint64_t reserved[4];           /**< must be zero */
};

/** aedb_accumulator_options_init - the defaults above. */
AEDB_API void aedb_accumulator_options_init(struct aedb_accumulator_options *opts);

/**
 * aedb_create_accumulator_with_options - create accumulator @name (1..128
 * bytes of [A-Za-z0-9_-]) in @project/@scope, durably (a DDL at one seq).
 * Returns 1 when created, 0 if an identical one exists, -AEDB_EEXIST if a
 * table or an accumulator with other options has the name, -AEDB_EINVAL for
 * bad options, -AEDB_ENAME, -AEDB_ENOPROJECT, -AEDB_ENOSCOPE.
 */
AEDB_API int aedb_create_accumulator_with_options(struct aedb *db, const char *project,
						  const char *scope, const char *name,
						  const struct aedb_accumulator_options *opts);
/** aedb_create_accumulator - as above with the default options. */
AEDB_API int aedb_create_accumulator(struct aedb *db, const char *project, const char *scope,
				     const char *name);
/**
 * aedb_drop_accumulator - drop @name and all its state (partials, dedupe
 * records, exposures). Returns 1 if dropped, 0 if there was none. A later
 * create starts from zero with no dedupe records.
 */
AEDB_API int aedb_drop_accumulator(struct aedb *db, const char *project, const char *scope,
				   const char *name);

#define AEDB_ACC_KEY_MAX 512u /**< longest dedupe key or exposure id, bytes */
#define AEDB_ACC_LANES 64u    /**< order lanes of an accumulator */

/** aedb_accumulator_lane - the order lane (0..AEDB_ACC_LANES-1) of a dedupe
 *  key of @len bytes: XXH3-64 of the bytes, modulo AEDB_ACC_LANES. */
AEDB_API uint32_t aedb_accumulator_lane(const void *dedupe_key, size_t len);

/**
 * aedb_accumulate - add @delta (any i64) to accumulator @name, exactly once
 * per @dedupe_key (a non-blank string of at most AEDB_ACC_KEY_MAX bytes),
 * with @order_key above the latest accepted in its lane (see the section
 * comment).
 * @finality as for commits; @res (may be NULL) gets the commit result.
 * Returns AEDB_COMMIT_APPLIED (0), AEDB_COMMIT_DUPLICATE (1, res->seq = the
 * original commit), or -AEDB_ENOACC, -AEDB_EORDER, -AEDB_EDEDUPE,
 * -AEDB_EINVAL (blank key), -AEDB_ETOOBIG, or a common commit error. A
 * failure writes nothing and consumes no seq.
 */
AEDB_API int aedb_accumulate(struct aedb *db, const char *project, const char *scope,
			     const char *name, int64_t delta, const char *dedupe_key,
			     uint64_t order_key, uint32_t finality, struct aedb_commit_result *res);
/**
 * aedb_accumulate_with_release - the settlement: aedb_accumulate() and, in the
 * same atomic commit, release open exposure @release_id (NULL: none). If the
 * delta is a duplicate nothing is released and the call returns
 * AEDB_COMMIT_DUPLICATE (so a retried settlement is harmless). An unknown,
 * released or expired @release_id fails the whole commit with
 * -AEDB_ENOTFOUND (res->failed_index 1): retry without the release.
 */
AEDB_API int aedb_accumulate_with_release(struct aedb *db, const char *project,
					  const char *scope, const char *name, int64_t delta,
					  const char *dedupe_key, uint64_t order_key,
					  const char *release_id, uint32_t finality,
					  struct aedb_commit_result *res);

/** One exposure of a batch (aedb_expose_accumulator_many_atomic()). */
struct aedb_exposure {
	int64_t amount;   /**< > 0 */
	const char *id;   /**< non-blank, at most AEDB_ACC_KEY_MAX bytes */
};

/*
 * Transaction entries: accumulator operations inside any transaction, atomic
 * with its other entries (KV, rows, other accumulators), and pipelined
 * through the submission queue with aedb_prep_commit(). Each returns the
 * entry's index among the mutations, or the error of the matching call
 * above (checked when added; nothing is added on error). In such a
 * transaction a duplicate delta is a no-op entry and the rest of the commit
 * applies (the single-call helpers instead return AEDB_COMMIT_DUPLICATE);
 * deltas of one accumulator in one transaction see each other (order keys
 * ascend per lane, a dedupe key repeated with the same payload counts once).
 * aedb_preflight() of a transaction with accumulator entries is
 * -AEDB_ENOTSUP.
 */
AEDB_API int aedb_txn_accumulate(struct aedb_txn *txn, const char *project, const char *scope,
				 const char *name, int64_t delta, const char *dedupe_key,
				 uint64_t order_key);
AEDB_API int aedb_txn_expose(struct aedb_txn *txn, const char *project, const char *scope,
			     const char *name, int64_t amount, const char *id);
AEDB_API int aedb_txn_release_exposure(struct aedb_txn *txn, const char *project,
				       const char *scope, const char *name, const char *id);

/**
 * aedb_expose_accumulator - open exposure @id of @amount (> 0) if the circuit
 * breaker allows it. An exposure already open under @id with the same amount
 * is a success that changes nothing (its opening seq is kept); with another
 * amount -AEDB_EEXIST. Returns 0, -AEDB_ELIMIT (over the limit),
 * -AEDB_EOVERFLOW (E + amount past i64), -AEDB_ENOACC, -AEDB_EINVAL, or a
 * common commit error; a failure changes nothing.
 */
AEDB_API int aedb_expose_accumulator(struct aedb *db, const char *project, const char *scope,
				     const char *name, int64_t amount, const char *id,
				     uint32_t finality, struct aedb_commit_result *res);
/**
 * aedb_expose_accumulator_many_atomic - open @n (1..4096) exposures all or
 * none: each is checked against the limit with the ones before it counted;
 * an id repeated in the batch with the same amount counts once, with
 * another amount -AEDB_EEXIST. res->failed_index names the failing entry.
 */
AEDB_API int aedb_expose_accumulator_many_atomic(struct aedb *db, const char *project,
						 const char *scope, const char *name,
						 const struct aedb_exposure *list, size_t n,
						 uint32_t finality, struct aedb_commit_result *res);
/**
 * aedb_release_accumulator_exposure - close open exposure @id. Not
 * idempotent by itself: an unknown, released or expired id is
 * -AEDB_ENOTFOUND (use aedb_accumulate_with_release() to settle).
 */
AEDB_API int aedb_release_accumulator_exposure(struct aedb *db, const char *project,
					       const char *scope, const char *name,
					       const char *id, uint32_t finality,
					       struct aedb_commit_result *res);

/*
 * Reads. Each reads one snapshot (@at: AEDB_LATEST or aedb_at_seq(seq)) and,
 * if @snapshot_seq is not NULL, stores it there. Errors: -AEDB_ENOACC,
 * -AEDB_EOVERFLOW (a sum outside i64), and the common read errors
 * (-AEDB_ENOPROJECT, -AEDB_ENOSCOPE, -AEDB_ESEQFUTURE, -AEDB_ESEQGC, ...).
 * Any thread.
 */

/** aedb_accumulator_value - the projected value V (see the section comment:
 *  equal to the strong value at the same snapshot). */
AEDB_API int aedb_accumulator_value(struct aedb *db, const char *project, const char *scope,
				    const char *name, struct aedb_at at, int64_t *value,
				    uint64_t *snapshot_seq);
/** aedb_accumulator_value_strong - the sum of every shard's partial at one
 *  snapshot. */
AEDB_API int aedb_accumulator_value_strong(struct aedb *db, const char *project,
					   const char *scope, const char *name, struct aedb_at at,
					   int64_t *value, uint64_t *snapshot_seq);

/** Projection state (aedb_accumulator_lag()). */
struct aedb_accumulator_lag {
	uint64_t latest_order_key;        /**< highest order key accepted (any lane) */
	uint64_t last_applied_order_key;  /**< highest folded into V */
	uint64_t lag_orders;              /**< their difference (0 in aedb) */
	uint64_t latest_seq;              /**< commit of the newest delta */
	uint64_t materialized_seq;        /**< newest delta folded into V */
	uint64_t lag_commits;             /**< their difference (0 in aedb) */
	uint64_t unapplied_deltas;        /**< deltas not folded yet (0) */
	uint64_t deltas;                  /**< deltas accepted in all */
	uint32_t overflow;                /**< 1 if the sum is outside i64 */
	uint32_t pad;
	uint64_t reserved[2];
};
/** aedb_accumulator_lag - the projection state at one snapshot. */
AEDB_API int aedb_accumulator_lag(struct aedb *db, const char *project, const char *scope,
				  const char *name, struct aedb_at at,
				  struct aedb_accumulator_lag *lag, uint64_t *snapshot_seq);
/** aedb_accumulator_exposure - the total open exposure E (expired ones
 *  excluded). */
AEDB_API int aedb_accumulator_exposure(struct aedb *db, const char *project, const char *scope,
				       const char *name, struct aedb_at at, int64_t *exposure,
				       uint64_t *snapshot_seq);
/** aedb_accumulator_available - V - E (may be negative). */
AEDB_API int aedb_accumulator_available(struct aedb *db, const char *project,
					const char *scope, const char *name, struct aedb_at at,
					int64_t *available, uint64_t *snapshot_seq);

/** Exposure figures (aedb_accumulator_exposure_metrics()). */
struct aedb_exposure_metrics {
	int64_t total_exposure;      /**< E */
	int64_t available;           /**< V - E */
	int64_t limit;               /**< trunc(V * (10000 - bps) / 10000) */
	uint64_t rejection_count;    /**< always 0 (see the section comment) */
	uint64_t open_exposure_count;
	uint64_t reserved[3];
};
/** aedb_accumulator_exposure_metrics - E, V - E, the limit and the open
 *  count at one snapshot. */
AEDB_API int aedb_accumulator_exposure_metrics(struct aedb *db, const char *project,
					       const char *scope, const char *name,
					       struct aedb_at at, struct aedb_exposure_metrics *m,
					       uint64_t *snapshot_seq);

#ifdef __cplusplus
}
#endif

#endif /* AEDB_H */
