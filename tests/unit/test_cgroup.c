/*
 * The cgroup v2 manager. Most tests point it at a temporary directory of
 * hand-written control files, the way the kernel lays them out; the last
 * group runs against the machine's real cgroup2 hierarchy when it can
 * (root, and a writable cgroup2 mount) and is skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cgroup.h"

struct fixture {
	char dir[PATH_MAX];	/* the temporary directory, or the real parent group */
	char slice[PATH_MAX + 64];
	struct cg cg;
};

/* --- helpers ------------------------------------------------------------------ */

static void put_n(const struct fixture *f, const char *rel, const char *text, size_t len)
{
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof path, "%s/%s", f->slice, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Write a fake control file below the slice. */
static void put(const struct fixture *f, const char *rel, const char *text)
{
	put_n(f, rel, text, strlen(text));
}

/* A fake group: a directory below the slice. */
static void group(const struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof path, "%s/%s", f->slice, rel);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* What a file below the slice holds, or "<absent>". */
static const char *get(const struct fixture *f, const char *rel)
{
	static char text[8192];
	char path[PATH_MAX * 2];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/%s", f->slice, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return "<absent>";
	n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static int exists(const struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof path, "%s/%s", f->slice, rel);
	return access(path, F_OK) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int fake_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/pith-test-cgroup.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->slice, sizeof f->slice, "%s/pith.slice", f->dir);
	if (cg_init(&f->cg, f->slice) < 0)
		return -1;
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fixture *f = *state;

	cg_close(&f->cg);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Children of a failed test must not linger: each ends itself by then. */
#define CHILD_LIFETIME_S 30

/* A child that waits to be signalled; it dies of whatever it gets. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_LIFETIME_S);
		for (;;)
			pause();
	}
	return pid;
}

/* Wait for pid with a bound; its wait status, or -1 if it did not end. */
static int reap(pid_t pid, int timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status, waited;

	for (waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		nanosleep(&tick, NULL);
	}
	return -1;
}

static void put_pids(const struct fixture *f, const char *rel, const pid_t *pids, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		buf_printf(&b, "%d\n", (int)pids[i]);
	put_n(f, rel, b.data ? b.data : "", b.len);
	buf_free(&b);
}

/* --- names, groups --------------------------------------------------------------- */

static void unit_names_follow_systemd_and_cannot_leave_the_slice(void **state)
{
	static const char *const good[] = {
		"hello.service", "foo@bar.service", "a-b_c:d\\x2d.socket", "init.scope", "x",
	};
	static const char *const bad[] = {
		"", ".", "..", "../etc", "a/b", "/abs", "x..y.service", ".hidden",
		"with space.service", "new\nline", "caf\xc3\xa9.service",
	};
	char longest[CG_UNIT_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(cg_unit_name_check(good[i]), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cg_unit_name_check(bad[i]), -EINVAL);
	memset(longest, 'a', CG_UNIT_NAME_MAX);
	longest[CG_UNIT_NAME_MAX] = '\0';
	assert_int_equal(cg_unit_name_check(longest), 0);
	longest[CG_UNIT_NAME_MAX] = 'a';
	longest[CG_UNIT_NAME_MAX + 1] = '\0';
	assert_int_equal(cg_unit_name_check(longest), -EINVAL);
}

static void every_operation_refuses_a_bad_name(void **state)
{
	struct fixture *f = *state;
	struct cg_limits l;
	struct cg_stats s;
	pid_t pid;

	cg_limits_init(&l);
	assert_int_equal(cg_unit_create(&f->cg, "../escaped"), -EINVAL);
	assert_int_equal(cg_unit_remove(&f->cg, ".."), -EINVAL);
	assert_int_equal(cg_unit_procs_open(&f->cg, "a/b"), -EINVAL);
	assert_int_equal(cg_unit_kill(&f->cg, "..", SIGTERM), -EINVAL);
	assert_int_equal(cg_unit_populated(&f->cg, ""), -EINVAL);
	assert_int_equal(cg_unit_pids(&f->cg, "../x", &pid, 1), -EINVAL);
	assert_int_equal(cg_unit_limits_apply(&f->cg, "/x", &l, NULL), -EINVAL);
	assert_int_equal(cg_unit_stats(&f->cg, "x/..", &s), -EINVAL);
	assert_false(exists(f, "../escaped"));
}

static void init_needs_an_absolute_path_whose_parent_exists(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 64], longer[CG_SLICE_PATH_MAX + 8];
	struct cg cg;

	assert_int_equal(cg_init(&cg, "relative.slice"), -EINVAL);
	snprintf(path, sizeof path, "%s/no/such.slice", f->dir);
	assert_int_equal(cg_init(&cg, path), -ENOENT);
	memset(longer, 'a', sizeof longer - 1);
	longer[0] = '/';
	longer[sizeof longer - 1] = '\0';
	assert_int_equal(cg_init(&cg, longer), -ENAMETOOLONG);
	/* opening an existing slice again is fine */
	assert_int_equal(cg_init(&cg, f->slice), 0);
	cg_close(&cg);
}

static void create_is_idempotent(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cg_unit_create(&f->cg, "hello.service"), 0);
	assert_int_equal(cg_unit_create(&f->cg, "hello.service"), 0);
	assert_true(exists(f, "hello.service"));
	put(f, "cgroup.procs", "");
	assert_int_equal(cg_unit_create(&f->cg, "cgroup.procs"), -ENOTDIR);
}

static void remove_takes_child_groups_first_and_is_idempotent(void **state)
{
	struct fixture *f = *state;

	group(f, "hello.service");
	group(f, "hello.service/worker");
	group(f, "hello.service/worker/deeper");
	assert_int_equal(cg_unit_remove(&f->cg, "hello.service"), 0);
	assert_false(exists(f, "hello.service"));
	assert_int_equal(cg_unit_remove(&f->cg, "hello.service"), 0);
	/* an ordinary directory with files in it is not empty; cgroupfs would be */
	group(f, "busy.service");
	put(f, "busy.service/cgroup.procs", "");
	assert_int_equal(cg_unit_remove(&f->cg, "busy.service"), -ENOTEMPTY);
}

/* --- limits ------------------------------------------------------------------------ */

static const char *const limit_files[] = {
	"memory.max", "memory.high", "cpu.weight", "cpu.max", "pids.max", "io.weight",
};

static void fake_limit_files(const struct fixture *f, const char *unit, const char *text)
{
	char rel[PATH_MAX];
	size_t i;

	group(f, unit);
	for (i = 0; i < sizeof limit_files / sizeof limit_files[0]; i++) {
		snprintf(rel, sizeof rel, "%s/%s", unit, limit_files[i]);
		put(f, rel, text);
	}
}

static void limits_are_written_with_the_kernels_syntax(void **state)
{
	struct fixture *f = *state;
	struct cg_limits l;
	unsigned missing = 99;

	fake_limit_files(f, "hello.service", "");
	cg_limits_init(&l);
	l.memory_max = 1024 * 1024 * 1024;
	l.memory_high = CG_NO_LIMIT;
	l.cpu_weight = 50;
	l.cpu_quota_per_ten_thousand = 2000;	/* CPUQuota=20% */
	l.tasks_max = 64;
	l.io_weight = 500;
	assert_int_equal(cg_unit_limits_apply(&f->cg, "hello.service", &l, &missing), 0);
	assert_int_equal(missing, 0);
	assert_string_equal(get(f, "hello.service/memory.max"), "1073741824\n");
	assert_string_equal(get(f, "hello.service/memory.high"), "max\n");
	assert_string_equal(get(f, "hello.service/cpu.weight"), "50\n");
	assert_string_equal(get(f, "hello.service/cpu.max"), "20000 100000\n");
	assert_string_equal(get(f, "hello.service/pids.max"), "64\n");
	assert_string_equal(get(f, "hello.service/io.weight"), "default 500\n");
}

static void cpu_quota_is_microseconds_per_100ms(void **state)
{
	static const struct {
		uint64_t per_ten_thousand;
		const char *cpu_max;
	} cases[] = {
		{ 15000, "150000 100000\n" },	/* 150%: one and a half CPUs */
		{ 10000, "100000 100000\n" },
		{ 100, "1000 100000\n" },	/* 1% is the kernel's 1 ms minimum */
		{ 50, "1000 100000\n" },	/* 0.5% is raised to it */
		{ CG_NO_LIMIT, "max 100000\n" },
	};
	struct fixture *f = *state;
	struct cg_limits l;
	size_t i;

	fake_limit_files(f, "hello.service", "");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cg_limits_init(&l);
		l.cpu_quota_per_ten_thousand = cases[i].per_ten_thousand;
		assert_int_equal(cg_unit_limits_apply(&f->cg, "hello.service", &l, NULL), 0);
		assert_string_equal(get(f, "hello.service/cpu.max"), cases[i].cpu_max);
	}
}

static void unset_limits_leave_their_files_alone(void **state)
{
	struct fixture *f = *state;
	struct cg_limits l;

	fake_limit_files(f, "hello.service", "untouched\n");
	cg_limits_init(&l);
	l.tasks_max = CG_NO_LIMIT;
	assert_int_equal(cg_unit_limits_apply(&f->cg, "hello.service", &l, NULL), 0);
	assert_string_equal(get(f, "hello.service/pids.max"), "max\n");
	assert_string_equal(get(f, "hello.service/memory.max"), "untouched\n");
	assert_string_equal(get(f, "hello.service/cpu.weight"), "untouched\n");
	assert_string_equal(get(f, "hello.service/io.weight"), "untouched\n");
}

static void out_of_range_limits_write_nothing(void **state)
{
	struct fixture *f = *state;
	struct cg_limits l;
	size_t i;

	fake_limit_files(f, "hello.service", "untouched\n");
	for (i = 0; i < 6; i++) {
		cg_limits_init(&l);
		l.memory_max = 4096;	/* valid, and still not written */
		switch (i) {
		case 0: l.cpu_weight = 0; break;
		case 1: l.cpu_weight = 10001; break;
		case 2: l.io_weight = CG_NO_LIMIT; break;
		case 3: l.cpu_quota_per_ten_thousand = 0; break;
		case 4: l.cpu_quota_per_ten_thousand = CG_CPU_QUOTA_MAX + 1; break;
		case 5: l.tasks_max = 4194305; break;
		}
		assert_int_equal(cg_unit_limits_apply(&f->cg, "hello.service", &l, NULL), -EINVAL);
		assert_string_equal(get(f, "hello.service/memory.max"), "untouched\n");
	}
}

static void missing_controller_files_are_reported_not_fatal(void **state)
{
	struct fixture *f = *state;
	struct cg_limits l;
	unsigned missing = 0;

	/* as in the image without io.weight, and a group without pids */
	group(f, "hello.service");
	put(f, "hello.service/memory.max", "");
	put(f, "hello.service/cpu.weight", "");
	cg_limits_init(&l);
	l.memory_max = 1 << 20;
	l.memory_high = 1 << 19;
	l.cpu_weight = 200;
	l.cpu_quota_per_ten_thousand = 5000;
	l.tasks_max = 10;
	l.io_weight = 10;
	assert_int_equal(cg_unit_limits_apply(&f->cg, "hello.service", &l, &missing), 0);
	assert_int_equal(missing, CG_FILE_MEMORY_HIGH | CG_FILE_CPU_MAX | CG_FILE_PIDS_MAX |
				  CG_FILE_IO_WEIGHT);
	assert_string_equal(get(f, "hello.service/memory.max"), "1048576\n");
	assert_string_equal(get(f, "hello.service/cpu.weight"), "200\n");
	assert_false(exists(f, "hello.service/io.weight"));
	assert_int_equal(cg_unit_limits_apply(&f->cg, "absent.service", &l, &missing), -ENOENT);
}

/* --- accounting and state ------------------------------------------------------------- */

static void stats_come_from_the_accounting_files(void **state)
{
	struct fixture *f = *state;
	struct cg_stats s;

	group(f, "hello.service");
	put(f, "hello.service/memory.current", "1232896\n");
	put(f, "hello.service/memory.peak", "4198400\n");
	put(f, "hello.service/cpu.stat", "usage_usec 7781\nuser_usec 4000\nsystem_usec 3781\n"
					 "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
	put(f, "hello.service/pids.current", "3\n");
	put(f, "hello.service/memory.events", "low 0\nhigh 12\nmax 4\noom 1\noom_kill 1\n"
					      "oom_group_kill 0\n");
	assert_int_equal(cg_unit_stats(&f->cg, "hello.service", &s), 0);
	assert_true(s.memory_current == 1232896);
	assert_true(s.memory_peak == 4198400);
	assert_true(s.cpu_usage_usec == 7781);
	assert_true(s.pids_current == 3);
	assert_true(s.oom_kills == 1);
}

static void absent_or_odd_stat_files_are_unknown(void **state)
{
	struct fixture *f = *state;
	char big[CG_SMALL_FILE_MAX + 16];
	struct cg_stats s;

	group(f, "hello.service");
	/* the host's unified hierarchy: only cpu.stat, without the cpu controller */
	put(f, "hello.service/cpu.stat", "usage_usec 12\nuser_usec 10\nsystem_usec 2\n");
	assert_int_equal(cg_unit_stats(&f->cg, "hello.service", &s), 0);
	assert_true(s.cpu_usage_usec == 12);
	assert_true(s.memory_current == CG_UNKNOWN && s.memory_peak == CG_UNKNOWN);
	assert_true(s.pids_current == CG_UNKNOWN && s.oom_kills == CG_UNKNOWN);

	put(f, "hello.service/memory.current", "18446744073709551616\n");	/* 2^64 */
	put(f, "hello.service/memory.peak", "");
	put(f, "hello.service/cpu.stat", "usage_usec 12x\n");
	put(f, "hello.service/pids.current", "-1\n");
	put(f, "hello.service/memory.events", "oom_kill 1\noom_kill 2\n");
	assert_int_equal(cg_unit_stats(&f->cg, "hello.service", &s), 0);
	assert_true(s.memory_current == CG_UNKNOWN && s.memory_peak == CG_UNKNOWN);
	assert_true(s.cpu_usage_usec == CG_UNKNOWN && s.pids_current == CG_UNKNOWN);
	assert_true(s.oom_kills == CG_UNKNOWN);

	memset(big, '1', sizeof big);
	put_n(f, "hello.service/memory.current", big, sizeof big);
	put(f, "hello.service/cpu.stat", "user_usec 10\n");
	put(f, "hello.service/memory.events", "oom_kill 3\nbroken\n");
	assert_int_equal(cg_unit_stats(&f->cg, "hello.service", &s), 0);
	assert_true(s.memory_current == CG_UNKNOWN);
	assert_true(s.cpu_usage_usec == CG_UNKNOWN);
	assert_true(s.oom_kills == CG_UNKNOWN);

	assert_int_equal(cg_unit_stats(&f->cg, "absent.service", &s), -ENOENT);
}

static void populated_is_read_strictly_from_cgroup_events(void **state)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen(text) */
		int want;
	} cases[] = {
		{ "populated 1\nfrozen 0\n", 0, 1 },
		{ "populated 0\nfrozen 0\n", 0, 0 },
		{ "frozen 0\npopulated 1", 0, 1 },	/* no final newline */
		{ "populated 2\n", 0, -EBADMSG },
		{ "populated\n", 0, -EBADMSG },
		{ "populated \n", 0, -EBADMSG },
		{ "populated  1\n", 0, -EBADMSG },
		{ "populated 1 \n", 0, -EBADMSG },
		{ "populated +1\n", 0, -EBADMSG },
		{ "populated 1\npopulated 0\n", 0, -EBADMSG },
		{ "populated 1\n\nfrozen 0\n", 0, -EBADMSG },
		{ "Populated 1\n", 0, -EBADMSG },
		{ "populated 1\0\n", 13, -EBADMSG },
		{ "frozen 0\n", 0, -ENOENT },
		{ "", 0, -ENOENT },
	};
	struct fixture *f = *state;
	size_t i;

	group(f, "hello.service");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);

		put_n(f, "hello.service/cgroup.events", cases[i].text, len);
		if (cg_unit_populated(&f->cg, "hello.service") != cases[i].want)
			fail_msg("cgroup.events case %zu: got %d, want %d", i,
				 cg_unit_populated(&f->cg, "hello.service"), cases[i].want);
	}
	assert_int_equal(cg_unit_populated(&f->cg, "absent.service"), -ENOENT);
}

/* --- processes ------------------------------------------------------------------------- */

static void pids_include_child_groups(void **state)
{
	struct fixture *f = *state;
	pid_t pids[4] = { 0 };

	group(f, "hello.service");
	group(f, "hello.service/worker");
	put(f, "hello.service/cgroup.procs", "10\n20\n");
	put(f, "hello.service/worker/cgroup.procs", "30\n");
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", pids, 4), 3);
	assert_int_equal(pids[0], 10);
	assert_int_equal(pids[1], 20);
	assert_int_equal(pids[2], 30);
	/* too small a buffer: the count says how many there are */
	memset(pids, 0, sizeof pids);
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", pids, 2), 3);
	assert_int_equal(pids[1], 20);
	assert_int_equal(pids[2], 0);
	assert_int_equal(cg_unit_pids(&f->cg, "absent.service", pids, 4), -ENOENT);
}

static void a_long_pid_list_is_read_in_chunks(void **state)
{
	struct fixture *f = *state;
	static pid_t want[3000], got[3000];
	size_t i;

	for (i = 0; i < 3000; i++)
		want[i] = (pid_t)(4000000 + i);
	group(f, "hello.service");
	put_pids(f, "hello.service/cgroup.procs", want, 3000);
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", got, 3000), 3000);
	assert_memory_equal(got, want, sizeof want);
}

static void odd_pid_lists_are_errors(void **state)
{
	static const char *const odd[] = {
		"10\nabc\n", "0\n", "-5\n", "10\n\n20\n", "2147483648\n", " 10\n", "10 \n",
	};
	struct fixture *f = *state;
	char line[8192];
	pid_t pids[4];
	size_t i;

	group(f, "hello.service");
	for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		put(f, "hello.service/cgroup.procs", odd[i]);
		if (cg_unit_pids(&f->cg, "hello.service", pids, 4) != -EBADMSG)
			fail_msg("cgroup.procs %s was accepted", odd[i]);
	}
	memset(line, '1', sizeof line);
	put_n(f, "hello.service/cgroup.procs", line, sizeof line);
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", pids, 4), -EBADMSG);
	put(f, "hello.service/cgroup.procs", "");
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", pids, 4), 0);
	put(f, "hello.service/cgroup.procs", "7");
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", pids, 4), 1);
	assert_int_equal(pids[0], 7);
}

static void attach_writes_zero_to_the_groups_cgroup_procs(void **state)
{
	struct fixture *f = *state;
	int fd;

	group(f, "hello.service");
	put(f, "hello.service/cgroup.procs", "");
	fd = cg_unit_procs_open(&f->cg, "hello.service");
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(cg_attach_self(fd), 0);
	close(fd);
	assert_string_equal(get(f, "hello.service/cgroup.procs"), "0");
	assert_int_equal(cg_unit_procs_open(&f->cg, "absent.service"), -ENOENT);
}

static void sigkill_goes_through_cgroup_kill_when_present(void **state)
{
	struct fixture *f = *state;
	pid_t child = sleeper();

	group(f, "hello.service");
	put_pids(f, "hello.service/cgroup.procs", &child, 1);
	put(f, "hello.service/cgroup.kill", "");
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGKILL), 1);
	assert_string_equal(get(f, "hello.service/cgroup.kill"), "1");
	/* the kernel would have killed it; an ordinary file does not */
	assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
	kill(child, SIGKILL);
	assert_int_equal(reap(child, 5000), SIGKILL);
}

static void without_cgroup_kill_every_pid_is_signalled(void **state)
{
	struct fixture *f = *state;
	pid_t kids[3];
	int status;

	kids[0] = sleeper();
	kids[1] = sleeper();
	kids[2] = sleeper();
	group(f, "hello.service");
	group(f, "hello.service/worker");
	put_pids(f, "hello.service/cgroup.procs", kids, 2);
	put_pids(f, "hello.service/worker/cgroup.procs", kids + 2, 1);
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGKILL), 3);
	status = reap(kids[0], 5000);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	status = reap(kids[1], 5000);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	status = reap(kids[2], 5000);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/*
 * A child that holds SIGRTMIN blocked, so that each one sent is queued, and
 * once told (a byte on go) writes how many it received to result.
 */
static pid_t rt_counter(const int go[2], const int result[2])
{
	sigset_t rt;
	pid_t pid;

	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec none = { 0, 0 };
		char c, n = 0;

		alarm(CHILD_LIFETIME_S);
		close(go[1]);
		close(result[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		while (sigtimedwait(&rt, NULL, &none) == SIGRTMIN)
			n++;
		_exit(write(result[1], &n, 1) == 1 ? 0 : 1);
	}
	sigprocmask(SIG_UNBLOCK, &rt, NULL);
	return pid;
}

/* Let n rt_counter children count, and return what the first one got. */
static int rt_counts(const int go[2], const int result[2], const pid_t *kids, int n)
{
	char got = -1, c;
	int i;

	for (i = 0; i < n; i++)
		assert_int_equal(write(go[1], "g", 1), 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(read(result[0], &c, 1), 1);
		got = i == 0 ? c : got;
		assert_int_equal(c, got);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(reap(kids[i], 5000), 0);
	return got;
}

static void repeated_passes_signal_each_process_once(void **state)
{
	struct fixture *f = *state;
	int go[2], result[2];
	pid_t kids[2];

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(result), 0);
	kids[0] = rt_counter(go, result);
	kids[1] = rt_counter(go, result);
	group(f, "hello.service");
	put_pids(f, "hello.service/cgroup.procs", kids, 2);
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGRTMIN), 2);
	assert_int_equal(rt_counts(go, result, kids, 2), 1);
	close(go[0]);
	close(go[1]);
	close(result[0]);
	close(result[1]);
}

static void passes_are_bounded_past_the_tracked_pids(void **state)
{
	struct fixture *f = *state;
	static pid_t pids[CG_KILL_TRACK_MAX + 1];
	int go[2], result[2], i;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(result), 0);
	/* above PID_MAX_LIMIT: no such process can exist, yet each is tracked */
	for (i = 0; i < CG_KILL_TRACK_MAX; i++)
		pids[i] = 2000000000 + i;
	pids[CG_KILL_TRACK_MAX] = rt_counter(go, result);
	group(f, "hello.service");
	put_pids(f, "hello.service/cgroup.procs", pids, CG_KILL_TRACK_MAX + 1);
	/* the untracked pid looks new on every pass, until the bound */
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGRTMIN), CG_KILL_PASSES_MAX);
	assert_int_equal(rt_counts(go, result, &pids[CG_KILL_TRACK_MAX], 1), CG_KILL_PASSES_MAX);
	close(go[0]);
	close(go[1]);
	close(result[0]);
	close(result[1]);
}

static volatile sig_atomic_t usr2_seen;

static void on_usr2(int sig)
{
	usr2_seen++;
}

static void the_calling_process_is_never_signalled(void **state)
{
	struct fixture *f = *state;
	struct sigaction sa = { .sa_handler = on_usr2 }, old;
	pid_t self = getpid();

	sigaction(SIGUSR2, &sa, &old);
	usr2_seen = 0;
	group(f, "hello.service");
	put_pids(f, "hello.service/cgroup.procs", &self, 1);
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGUSR2), 0);
	assert_int_equal(usr2_seen, 0);
	sigaction(SIGUSR2, &old, NULL);
}

static void kill_reports_odd_lists_and_absent_groups(void **state)
{
	struct fixture *f = *state;

	group(f, "hello.service");
	put(f, "hello.service/cgroup.procs", "-1\n");
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGTERM), -EBADMSG);
	put(f, "hello.service/cgroup.procs", "");
	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGTERM), 0);
	assert_int_equal(cg_unit_kill(&f->cg, "absent.service", SIGTERM), -ENOENT);
	assert_int_equal(cg_unit_kill(&f->cg, "absent.service", SIGKILL), -ENOENT);
}

/* --- watching ------------------------------------------------------------------------------ */

/* Each report becomes a line "<unit> <file>" of a transcript. */
static void record(struct cg *cg, const char *unit, enum cg_watch_file file, void *arg)
{
	buf_printf(arg, "%s %s\n", unit,
		   file == CG_WATCH_EVENTS ? "cgroup.events" : "memory.events");
}

static void watch_reports_changes_by_unit_and_file(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	struct pollfd p;

	assert_int_equal(cg_watch_unit(&f->cg, "a.service"), -EBADF);
	p.fd = cg_watch_init(&f->cg);
	p.events = POLLIN;
	assert_true(p.fd >= 0);
	group(f, "a.service");
	put(f, "a.service/cgroup.events", "populated 1\nfrozen 0\n");
	put(f, "a.service/memory.events", "oom_kill 0\n");
	group(f, "b.service");
	put(f, "b.service/cgroup.events", "populated 1\nfrozen 0\n");
	assert_int_equal(cg_watch_unit(&f->cg, "a.service"), 0);
	assert_int_equal(cg_watch_unit(&f->cg, "b.service"), 0);
	assert_int_equal(cg_watch_unit(&f->cg, "absent.service"), -ENOENT);
	assert_int_equal(cg_watch_read(&f->cg, record, &b), 0);

	put(f, "a.service/memory.events", "oom_kill 1\n");
	put(f, "b.service/cgroup.events", "populated 0\nfrozen 0\n");
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(cg_watch_read(&f->cg, record, &b), 2);
	assert_string_equal(b.data, "a.service memory.events\nb.service cgroup.events\n");

	cg_unwatch_unit(&f->cg, "a.service");
	put(f, "a.service/cgroup.events", "populated 0\nfrozen 0\n");
	assert_int_equal(cg_watch_read(&f->cg, record, &b), 0);
	buf_free(&b);
}

static int watched(const struct fixture *f, const char *unit)
{
	size_t i;

	for (i = 0; i < CG_WATCH_UNITS_MAX; i++)
		if (strcmp(f->cg.watches[i].unit, unit) == 0)
			return 1;
	return 0;
}

static void a_removed_group_forgets_its_watch(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	char path[PATH_MAX * 2];

	assert_true(cg_watch_init(&f->cg) >= 0);
	group(f, "a.service");
	put(f, "a.service/cgroup.events", "populated 0\nfrozen 0\n");
	group(f, "b.service");
	put(f, "b.service/cgroup.events", "populated 0\nfrozen 0\n");
	assert_int_equal(cg_watch_unit(&f->cg, "a.service"), 0);
	assert_int_equal(cg_watch_unit(&f->cg, "b.service"), 0);
	/* removed through the manager: forgotten at once */
	snprintf(path, sizeof path, "%s/a.service/cgroup.events", f->slice);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cg_unit_remove(&f->cg, "a.service"), 0);
	assert_false(watched(f, "a.service"));
	/* removed behind its back: forgotten when the kernel drops the watch */
	snprintf(path, sizeof path, "%s/b.service/cgroup.events", f->slice);
	assert_int_equal(unlink(path), 0);
	assert_true(watched(f, "b.service"));
	assert_int_equal(cg_watch_read(&f->cg, record, &b), 0);
	assert_false(watched(f, "b.service"));
	buf_free(&b);
}

static void a_full_watch_table_is_enospc(void **state)
{
	struct fixture *f = *state;
	char name[32], rel[64];
	size_t i;

	assert_true(cg_watch_init(&f->cg) >= 0);
	for (i = 0; i <= CG_WATCH_UNITS_MAX; i++) {
		snprintf(name, sizeof name, "u%zu.service", i);
		snprintf(rel, sizeof rel, "%s/cgroup.events", name);
		group(f, name);
		put(f, rel, "populated 0\n");
		assert_int_equal(cg_watch_unit(&f->cg, name), i < CG_WATCH_UNITS_MAX ? 0 : -ENOSPC);
	}
	/* watching an already watched unit again needs no new slot */
	assert_int_equal(cg_watch_unit(&f->cg, "u0.service"), 0);
}

static void a_queue_overflow_reports_every_watched_file(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	char path[2][PATH_MAX * 2], text[32];
	int fd[2], i, r, max = 0;
	FILE *q = fopen("/proc/sys/fs/inotify/max_queued_events", "r");

	if (!q || fscanf(q, "%d", &max) != 1 || max > 200000) {
		if (q)
			fclose(q);
		skip();
	}
	fclose(q);
	assert_true(cg_watch_init(&f->cg) >= 0);
	group(f, "a.service");
	put(f, "a.service/cgroup.events", "populated 1\n");
	put(f, "a.service/memory.events", "oom_kill 0\n");
	group(f, "quiet.service");
	put(f, "quiet.service/cgroup.events", "populated 1\n");
	assert_int_equal(cg_watch_unit(&f->cg, "a.service"), 0);
	assert_int_equal(cg_watch_unit(&f->cg, "quiet.service"), 0);
	snprintf(path[0], sizeof path[0], "%s/a.service/cgroup.events", f->slice);
	snprintf(path[1], sizeof path[1], "%s/a.service/memory.events", f->slice);
	fd[0] = open(path[0], O_WRONLY);
	fd[1] = open(path[1], O_WRONLY);
	assert_true(fd[0] >= 0 && fd[1] >= 0);
	/* alternating files, so that the kernel cannot merge the events */
	for (i = 0; i < max + 16; i++)
		assert_int_equal(pwrite(fd[i % 2], "1", 1, 0), 1);
	close(fd[0]);
	close(fd[1]);
	for (i = 0; i < 16 && (r = cg_watch_read(&f->cg, record, &b)) > 0; i++)
		;
	assert_int_equal(r, 0);
	/* quiet.service never changed: only the overflow can report it */
	snprintf(text, sizeof text, "quiet.service cgroup.events\n");
	assert_non_null(b.data);
	assert_non_null(strstr(b.data, text));
	buf_free(&b);
}

/* --- the root and controllers ---------------------------------------------------------------- */

static void own_path_is_the_v2_line_of_proc_self_cgroup(void **state)
{
	static const char hybrid[] = "9:name=systemd:/\n4:memory:/a/b\n0::/user.slice/x.scope\n";
	char out[64];

	assert_int_equal(cg_self_path_parse(hybrid, strlen(hybrid), out, sizeof out), 0);
	assert_string_equal(out, "/user.slice/x.scope");
	assert_int_equal(cg_self_path_parse("0::/", 4, out, sizeof out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cg_self_path_parse("4:memory:/a\n", 12, out, sizeof out), -ENOENT);
	assert_int_equal(cg_self_path_parse("", 0, out, sizeof out), -ENOENT);
	assert_int_equal(cg_self_path_parse("0::\n", 4, out, sizeof out), -EBADMSG);
	assert_int_equal(cg_self_path_parse("0::relative\n", 12, out, sizeof out), -EBADMSG);
	assert_int_equal(cg_self_path_parse("0::/a\0b\n", 7, out, sizeof out), -EBADMSG);
	assert_int_equal(cg_self_path_parse(hybrid, strlen(hybrid), out, 8), -ENAMETOOLONG);
}

static void controllers_are_enabled_one_by_one_where_available(void **state)
{
	struct fixture *f = *state;

	put(f, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(f, "cgroup.subtree_control", "");
	assert_int_equal(cg_subtree_enable(f->cg.slice_fd, ".", CG_CTRL_ALL), CG_CTRL_ALL);
	assert_string_equal(get(f, "cgroup.subtree_control"), "+cpu\n+io\n+memory\n+pids\n");

	/* a kernel without the io controller */
	put(f, "cgroup.controllers", "cpu memory pids\n");
	put(f, "cgroup.subtree_control", "");
	assert_int_equal(cg_subtree_enable(f->cg.slice_fd, ".", CG_CTRL_ALL),
			 CG_CTRL_ALL & ~CG_CTRL_IO);
	assert_string_equal(get(f, "cgroup.subtree_control"), "+cpu\n+memory\n+pids\n");

	put(f, "cgroup.subtree_control", "");
	assert_int_equal(cg_subtree_enable(AT_FDCWD, f->slice, CG_CTRL_MEMORY), CG_CTRL_MEMORY);
	assert_string_equal(get(f, "cgroup.subtree_control"), "+memory\n");
}

static void no_available_controller_touches_nothing(void **state)
{
	struct fixture *f = *state;

	/* the host's unified hierarchy: every controller is bound to v1 */
	put(f, "cgroup.controllers", "\n");
	assert_int_equal(cg_subtree_enable(f->cg.slice_fd, ".", CG_CTRL_ALL), 0);
	assert_false(exists(f, "cgroup.subtree_control"));
	assert_int_equal(cg_subtree_enable(f->cg.slice_fd, "absent", CG_CTRL_ALL), -ENOENT);
}

static void init_scope_enter_writes_zero_to_its_procs(void **state)
{
	struct fixture *f = *state;

	group(f, "init.scope");
	put(f, "init.scope/cgroup.procs", "");
	assert_int_equal(cg_init_scope_enter(f->slice), 0);
	assert_string_equal(get(f, "init.scope/cgroup.procs"), "0");
}

/* --- against the real cgroup2 hierarchy -------------------------------------------------------- */

static const char *const real_units[] = { "hello.service", "term.service", "init.scope" };

static int real_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	f->cg.slice_fd = -1;
	f->cg.watch_fd = -1;
	*state = f;
	if (geteuid() != 0 || cg_find_root(f->dir, sizeof f->dir) < 0)
		return 0;
	snprintf(f->slice, sizeof f->slice, "%s/pith-test-%d.slice", f->dir, (int)getpid());
	if (cg_init(&f->cg, f->slice) < 0)
		f->slice[0] = '\0';
	/* orphans of the groups' processes come back here to be reaped */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

/* Wait (bounded) until the unit's group is empty. */
static int wait_empty(struct fixture *f, const char *unit, int timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 10) {
		if (cg_unit_populated(&f->cg, unit) != 1)
			return cg_unit_populated(&f->cg, unit);
		nanosleep(&tick, NULL);
	}
	return 1;
}

/* Kill and remove whatever a test left, pass or fail. */
static int real_teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	if (f->slice[0]) {
		for (i = 0; i < sizeof real_units / sizeof real_units[0]; i++) {
			cg_unit_kill(&f->cg, real_units[i], SIGKILL);
			wait_empty(f, real_units[i], 5000);
			cg_unit_remove(&f->cg, real_units[i]);
		}
		cg_close(&f->cg);
		rmdir(f->slice);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	free(f);
	return 0;
}

static struct fixture *real_or_skip(void **state)
{
	struct fixture *f = *state;

	if (!f->slice[0]) {
		print_message("no writable cgroup2 hierarchy here (needs root): skipped\n");
		skip();
	}
	return f;
}

/*
 * A daemon the way old init scripts start one: the child placed in the
 * unit's group forks, and the grandchild would outlive it. pids gets both.
 */
static void start_double_forked(struct fixture *f, const char *unit, pid_t pids[2])
{
	int p[2], procs;
	pid_t child;

	assert_int_equal(cg_unit_create(&f->cg, unit), 0);
	procs = cg_unit_procs_open(&f->cg, unit);
	assert_true(procs >= 0);
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pid_t self;

		alarm(CHILD_LIFETIME_S);
		if (cg_attach_self(procs) < 0)
			_exit(2);
		if (fork() == 0) {
			alarm(CHILD_LIFETIME_S);
			self = getpid();
			if (write(p[1], &self, sizeof self) != sizeof self)
				_exit(3);
			for (;;)
				pause();
		}
		self = getpid();
		if (write(p[1], &self, sizeof self) != sizeof self)
			_exit(3);
		for (;;)
			pause();
	}
	close(procs);
	close(p[1]);
	assert_int_equal(read(p[0], &pids[0], sizeof pids[0]), sizeof pids[0]);
	assert_int_equal(read(p[0], &pids[1], sizeof pids[1]), sizeof pids[1]);
	close(p[0]);
}

static int pid_in(pid_t pid, const pid_t *list, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i] == pid)
			return 1;
	return 0;
}

static void real_double_forked_daemon_dies_with_its_group(void **state)
{
	struct fixture *f = real_or_skip(state);
	struct buf b = BUF_INIT;
	struct pollfd p = { .events = POLLIN };
	pid_t pids[2], listed[8];
	int i, status;

	p.fd = cg_watch_init(&f->cg);
	assert_true(p.fd >= 0);
	start_double_forked(f, "hello.service", pids);
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", listed, 8), 2);
	assert_true(pid_in(pids[0], listed, 2) && pid_in(pids[1], listed, 2));
	assert_int_equal(cg_unit_populated(&f->cg, "hello.service"), 1);
	assert_int_equal(cg_watch_unit(&f->cg, "hello.service"), 0);

	assert_int_equal(cg_unit_kill(&f->cg, "hello.service", SIGKILL), 2);
	/* the kernel announces the change: "group became empty" reaches PID 1 */
	for (i = 0; i < 50 && !(b.data && strstr(b.data, "hello.service cgroup.events\n") &&
				cg_unit_populated(&f->cg, "hello.service") == 0); i++)
		if (poll(&p, 1, 100) == 1)
			assert_true(cg_watch_read(&f->cg, record, &b) >= 0);
	assert_int_equal(cg_unit_populated(&f->cg, "hello.service"), 0);
	assert_non_null(b.data);
	assert_non_null(strstr(b.data, "hello.service cgroup.events\n"));

	for (i = 0; i < 2; i++) {
		status = reap(pids[i], 5000);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	assert_int_equal(cg_unit_pids(&f->cg, "hello.service", listed, 8), 0);
	assert_int_equal(cg_unit_remove(&f->cg, "hello.service"), 0);
	assert_false(exists(f, "hello.service"));
	buf_free(&b);
}

static void real_other_signals_reach_every_pid(void **state)
{
	struct fixture *f = real_or_skip(state);
	pid_t pids[2];
	int i, status;

	start_double_forked(f, "term.service", pids);
	assert_int_equal(cg_unit_remove(&f->cg, "term.service"), -EBUSY);
	assert_int_equal(cg_unit_kill(&f->cg, "term.service", SIGTERM), 2);
	assert_int_equal(wait_empty(f, "term.service", 5000), 0);
	for (i = 0; i < 2; i++) {
		status = reap(pids[i], 5000);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	}
	assert_int_equal(cg_unit_remove(&f->cg, "term.service"), 0);
}

static void real_init_scope_enter_moves_the_caller(void **state)
{
	struct fixture *f = real_or_skip(state);
	pid_t child, listed[4];
	int p[2];
	char r;

	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		alarm(CHILD_LIFETIME_S);
		r = (char)-cg_init_scope_enter(f->slice);
		if (write(p[1], &r, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	assert_int_equal(read(p[0], &r, 1), 1);
	close(p[0]);
	close(p[1]);
	assert_int_equal(r, 0);
	assert_int_equal(cg_unit_pids(&f->cg, CG_INIT_SCOPE, listed, 4), 1);
	assert_int_equal(listed[0], child);
}

static void real_root_is_this_processs_own_group(void **state)
{
	struct fixture *f = real_or_skip(state);
	char path[PATH_MAX * 2], line[32];
	int found = 0;
	FILE *procs;

	snprintf(path, sizeof path, "%s/cgroup.procs", f->dir);
	procs = fopen(path, "r");
	assert_non_null(procs);
	while (fgets(line, sizeof line, procs))
		found |= atoi(line) == (int)getpid();
	fclose(procs);
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest fake[] = {
		cmocka_unit_test(unit_names_follow_systemd_and_cannot_leave_the_slice),
		cmocka_unit_test_setup_teardown(every_operation_refuses_a_bad_name, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(init_needs_an_absolute_path_whose_parent_exists, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(create_is_idempotent, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(remove_takes_child_groups_first_and_is_idempotent, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(limits_are_written_with_the_kernels_syntax, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(cpu_quota_is_microseconds_per_100ms, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(unset_limits_leave_their_files_alone, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(out_of_range_limits_write_nothing, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(missing_controller_files_are_reported_not_fatal, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(stats_come_from_the_accounting_files, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(absent_or_odd_stat_files_are_unknown, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(populated_is_read_strictly_from_cgroup_events, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(pids_include_child_groups, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(a_long_pid_list_is_read_in_chunks, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(odd_pid_lists_are_errors, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(attach_writes_zero_to_the_groups_cgroup_procs, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(sigkill_goes_through_cgroup_kill_when_present, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(without_cgroup_kill_every_pid_is_signalled, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(repeated_passes_signal_each_process_once, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(passes_are_bounded_past_the_tracked_pids, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(the_calling_process_is_never_signalled, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(kill_reports_odd_lists_and_absent_groups, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(watch_reports_changes_by_unit_and_file, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(a_removed_group_forgets_its_watch, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(a_full_watch_table_is_enospc, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(a_queue_overflow_reports_every_watched_file, fake_setup, fake_teardown),
		cmocka_unit_test(own_path_is_the_v2_line_of_proc_self_cgroup),
		cmocka_unit_test_setup_teardown(controllers_are_enabled_one_by_one_where_available, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(no_available_controller_touches_nothing, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(init_scope_enter_writes_zero_to_its_procs, fake_setup, fake_teardown),
	};
	const struct CMUnitTest real[] = {
		cmocka_unit_test_setup_teardown(real_root_is_this_processs_own_group, real_setup, real_teardown),
		cmocka_unit_test_setup_teardown(real_double_forked_daemon_dies_with_its_group, real_setup, real_teardown),
		cmocka_unit_test_setup_teardown(real_other_signals_reach_every_pid, real_setup, real_teardown),
		cmocka_unit_test_setup_teardown(real_init_scope_enter_moves_the_caller, real_setup, real_teardown),
	};
	int failed = cmocka_run_group_tests_name("cgroup", fake, NULL, NULL);

	return failed + cmocka_run_group_tests_name("cgroup (real cgroup2)", real, NULL, NULL);
}
