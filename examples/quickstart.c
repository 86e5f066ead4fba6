/* SPDX-License-Identifier: MIT */
/*
 * quickstart - the first aedb program: open a data directory, make a project,
 * write and read a few keys (blocking calls), then do the same through the
 * submission queue, and scan the scope in key order.
 *
 *   quickstart <data-dir>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aedb.h>

static int check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "quickstart: %s: %s\n", what, aedb_strerror(rc));
		exit(1);
	}
	return rc;
}

static void blocking_tour(struct aedb *db)
{
	struct aedb_kv_item *item;
	uint64_t seq;

	check(aedb_create_project(db, "demo"), "create project");
	check(aedb_kv_set(db, "demo", "app", "user:1", 6, "alice", 5, AEDB_FINALITY_VISIBLE,
			  &seq), "kv_set");
	printf("set user:1 = alice at seq %llu\n", (unsigned long long)seq);
	check(aedb_kv_get(db, "demo", "app", "user:1", 6, AEDB_LATEST, &item), "kv_get");
	printf("get user:1 -> %.*s (version %llu, snapshot %llu)\n", (int)item->entry.val_len,
	       (const char *)item->entry.val, (unsigned long long)item->entry.version,
	       (unsigned long long)item->snapshot_seq);
	aedb_kv_item_free(item);
}

static void ring_tour(struct aedb *db)
{
	static const char *names[] = { "bob", "carol", "dave", "erin" };
	char keys[4][16];
	struct aedb_ring ring;
	struct aedb_cqe *cqe;
	uint32_t ns;

	check(aedb_scope_id(db, "demo", "app", &ns), "scope_id");
	check(aedb_ring_init(db, 64, &ring, 0), "ring_init");
	for (int i = 0; i < 4; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(&ring);

		snprintf(keys[i], sizeof(keys[i]), "user:%d", i + 2);
		aedb_prep_kv_set(sqe, ns, keys[i], (uint32_t)strlen(keys[i]), names[i],
				 (uint32_t)strlen(names[i]), AEDB_FINALITY_VISIBLE, NULL);
		aedb_sqe_set_data64(sqe, (uint64_t)i);
	}
	printf("submitted %d writes through the ring\n", check(aedb_submit(&ring), "submit"));
	for (int i = 0; i < 4; i++) {
		check(aedb_wait_cqe(&ring, &cqe), "wait_cqe");
		check(cqe->res, "ring write");
		aedb_cqe_seen(&ring, cqe);
	}
	aedb_ring_exit(&ring);
}

int main(int argc, char **argv)
{
	struct aedb_config cfg;
	struct aedb_kv_page *page;
	struct aedb *db;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <data-dir>\n", argv[0]);
		return 2;
	}
	printf("aedb %s\n", aedb_version_string());
	aedb_config_init(&cfg);
	check(aedb_open(argv[1], &cfg, &db), "open");
	printf("opened %s with %u shards\n", argv[1], aedb_shard_count(db));
	blocking_tour(db);
	ring_tour(db);
	check(aedb_kv_scan_prefix(db, "demo", "app", "user:", 5, 100, NULL, AEDB_LATEST, &page),
	      "scan");
	printf("scan user:* at snapshot %llu:\n", (unsigned long long)page->snapshot_seq);
	for (uint32_t i = 0; i < page->count; i++)
		printf("  %.*s = %.*s\n", (int)page->entries[i].key_len,
		       (const char *)page->entries[i].key, (int)page->entries[i].val_len,
		       (const char *)page->entries[i].val);
	aedb_kv_page_free(page);
	check(aedb_close(db), "close");
	return 0;
}
