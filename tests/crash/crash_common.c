/* SPDX-License-Identifier: MIT */
/* crash_common - child processes, SIGKILL and reopen for the crash tests. */
#include "crash_common.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Hand every complete line of buf[0..*len) to @on_line; keep the rest. */
static size_t cr_lines(char *buf, size_t len, void (*on_line)(char *, void *), void *arg,
		       uint32_t *count)
{
	char *p = buf, *nl;

	while ((nl = memchr(p, '\n', (size_t)(buf + len - p)))) {
		*nl = '\0';
		on_line(p, arg);
		(*count)++;
		p = nl + 1;
	}
	len = (size_t)(buf + len - p);
	memmove(buf, p, len);
	return len;
}

void cr_run_child(const char *self, const char *dir, uint32_t shards, uint32_t cycle,
		  uint32_t ms, const char *kill_spec, void (*on_line)(char *line, void *arg),
		  void *arg)
{
	char cyc[16], sh[16], buf[65536];
	uint64_t end = t_now_ns() + 60000000000ull; /* nothing for a minute: stuck */
	uint32_t lines = 0;
	size_t have = 0;
	int fds[2], status, armed = 0;
	pid_t pid;

	snprintf(cyc, sizeof(cyc), "%u", cycle);
	snprintf(sh, sizeof(sh), "%u", shards);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (kill_spec)
			setenv("AEDB_DEBUG_KILL", kill_spec, 1);
		else
			unsetenv("AEDB_DEBUG_KILL");
		execl(self, self, "--child", dir, sh, cyc, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (uint64_t now; (now = t_now_ns()) < end;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (!kill_spec && !armed && lines) {
			armed = 1;
			end = now + (uint64_t)ms * 1000000ull;
		}
		if (poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1) <= 0)
			continue;
		n = read(fds[0], buf + have, sizeof(buf) - have);
		if (n <= 0)
			break; /* the child died (a kill point) */
		have = cr_lines(buf, have + (size_t)n, on_line, arg, &lines);
	}
	if ((kill_spec || !armed) && t_now_ns() >= end) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("cycle %u: the child %s within a minute", cycle,
			 kill_spec ? "did not kill itself" : "reported nothing");
	}
	kill(pid, SIGKILL);
	for (ssize_t n; (n = read(fds[0], buf + have, sizeof(buf) - have)) > 0;)
		have = cr_lines(buf, have + (size_t)n, on_line, arg, &lines);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("child ended without SIGKILL (status 0x%x)", status);
}

struct aedb *cr_open(const char *dir, uint32_t shards, struct aedb_open_report *rep)
{
	struct aedb_open_report local;
	struct aedb_config cfg;
	struct aedb *db = NULL;
	int rc;

	if (!rep)
		rep = &local;
	aedb_config_init(&cfg);
	cfg.shards = shards;
	cfg.wal_segment_bytes = CR_SEGMENT_BYTES;
	memset(rep, 0, sizeof(*rep));
	rc = aedb_open_ex(dir, &cfg, &db, rep);
	if (rc < 0)
		fail_msg("reopen: %s: %s", aedb_strerror(rc), rep->message);
	return db;
}

struct aedb *cr_child_open(char **argv)
{
	struct aedb_config cfg;
	struct aedb *db;
	int rc;

	aedb_config_init(&cfg);
	cfg.shards = (uint32_t)atoi(argv[3]);
	cfg.wal_segment_bytes = CR_SEGMENT_BYTES;
	rc = aedb_open(argv[2], &cfg, &db);
	if (rc < 0) {
		fprintf(stderr, "child: open: %s\n", aedb_strerror(rc));
		exit(2);
	}
	return db;
}
