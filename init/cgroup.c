#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* cgroup.procs is read in chunks of this size, so a group of any size is
 * listed in bounded memory; a line (one pid) is far shorter. */
#define CG_PROCS_CHUNK 4096
/* inotify is read this much at a time, at most this many times per call. */
#define CG_WATCH_BUF 4096
#define CG_WATCH_READS_MAX 64
/* pids.max refuses more than PID_MAX_LIMIT on 64-bit kernels. */
#define CG_TASKS_LIMIT 4194304
/* A unit's file relative to the slice: "<unit>/<file>". */
#define CG_UNIT_PATH_MAX (CG_UNIT_NAME_MAX + 32)
/* An absolute path of a unit's file, for inotify, which takes no dirfd. */
#define CG_FULL_PATH_MAX (CG_SLICE_PATH_MAX + CG_UNIT_PATH_MAX)

#define CG_STR_(x) #x
#define CG_STR(x) CG_STR_(x)

static const char *const cg_mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

static const struct {
	unsigned bit;
	const char *name;
} cg_controllers[] = {
	{ CG_CTRL_CPU, "cpu" },
	{ CG_CTRL_IO, "io" },
	{ CG_CTRL_MEMORY, "memory" },
	{ CG_CTRL_PIDS, "pids" },
};

/* --- files ---------------------------------------------------------------- */

/*
 * Read the whole of a small file into buf and NUL-terminate it; *len gets
 * its length. A file of cap bytes or more is -EFBIG rather than cut short:
 * a truncated kernel file would parse as something it is not.
 */
static int small_read(int dirfd, const char *path, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	ssize_t r = 1;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (n < cap && r != 0) {
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno != EINTR)
			break;
		n += r > 0 ? (size_t)r : 0;
	}
	r = r < 0 ? -errno : n == cap ? -EFBIG : 0;
	close(fd);
	*len = n < cap ? n : 0;
	buf[*len] = '\0';
	return (int)r;
}

/* The kernel takes each value of an interface file in one write(2), so a
 * short write is an error, not something to continue. */
static int fd_write(int fd, const char *s, size_t len)
{
	ssize_t r;

	do
		r = write(fd, s, len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

/* O_TRUNC changes nothing on cgroupfs; on an ordinary file it leaves exactly
 * what was written, as the kernel would see it. */
static int file_write(int dirfd, const char *path, const char *s)
{
	int err, fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	err = fd_write(fd, s, strlen(s));
	close(fd);
	return err;
}

/* --- parsing the kernel's small files --------------------------------------- */

/* n decimal digits, nothing else, no overflow. */
static int dec_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A single-value file: digits and an optional final newline. */
static int single_parse(const char *text, size_t len, uint64_t *out)
{
	if (len > 0 && text[len - 1] == '\n')
		len--;
	return dec_parse(text, len, out);
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * The value of key in a flat-keyed file: lines of "key value", the last
 * newline optional. Every line must have that shape, keys of [a-z0-9_] and a
 * non-empty value; the wanted value must be decimal and appear once. 0,
 * -ENOENT when the key is absent, or -EBADMSG.
 */
static int flat_get(const char *text, size_t len, const char *key, uint64_t *out)
{
	size_t pos = 0, klen = strlen(key);
	int found = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, k = 0;

		pos += n + 1;
		while (k < n && is_key_char(line[k]))
			k++;
		if (k == 0 || k + 1 >= n || line[k] != ' ')
			return -EBADMSG;
		if (k != klen || memcmp(line, key, klen) != 0)
			continue;
		if (found || dec_parse(line + k + 1, n - k - 1, out) < 0)
			return -EBADMSG;
		found = 1;
	}
	return found ? 0 : -ENOENT;
}

int cg_self_path_parse(const char *text, size_t len, char *out, size_t outlen)
{
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		pos += n + 1;
		if (n < 3 || memcmp(line, "0::", 3) != 0)
			continue;
		line += 3;
		n -= 3;
		if (n == 0 || line[0] != '/' || memchr(line, '\0', n))
			return -EBADMSG;
		if (n >= outlen)
			return -ENAMETOOLONG;
		memcpy(out, line, n);
		out[n] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* --- the root, init.scope and controllers --------------------------------- */

int cg_find_root(char *out, size_t len)
{
	char text[CG_SMALL_FILE_MAX], path[CG_SLICE_PATH_MAX];
	const char *mnt = NULL;
	struct statfs st;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof cg_mounts / sizeof cg_mounts[0] && !mnt; i++)
		if (statfs(cg_mounts[i], &st) == 0 && (unsigned long)st.f_type == CGROUP2_SUPER_MAGIC)
			mnt = cg_mounts[i];
	if (!mnt)
		return -ENODEV;
	r = small_read(AT_FDCWD, "/proc/self/cgroup", text, sizeof text, &n);
	if (r == 0)
		r = cg_self_path_parse(text, n, path, sizeof path);
	if (r < 0)
		return r;
	r = snprintf(out, len, "%s%s", mnt, strcmp(path, "/") == 0 ? "" : path);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int cg_init_scope_enter(const char *root)
{
	int r, fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	r = mkdirat(fd, CG_INIT_SCOPE, 0755) < 0 && errno != EEXIST ? -errno : 0;
	if (r == 0)
		r = file_write(fd, CG_INIT_SCOPE "/cgroup.procs", "0");
	close(fd);
	return r;
}

/* The mask of our controllers named in a cgroup.controllers text. */
static unsigned controllers_parse(char *text)
{
	unsigned mask = 0;
	char *save, *w;
	size_t i;

	for (w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		for (i = 0; i < sizeof cg_controllers / sizeof cg_controllers[0]; i++)
			if (strcmp(w, cg_controllers[i].name) == 0)
				mask |= cg_controllers[i].bit;
	return mask;
}

int cg_subtree_enable(int dirfd, const char *dir, unsigned want)
{
	char text[CG_SMALL_FILE_MAX], word[16];
	unsigned avail, enabled = 0;
	size_t i, n;
	int r, fd, dfd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	r = small_read(dfd, "cgroup.controllers", text, sizeof text, &n);
	avail = r == 0 ? controllers_parse(text) : 0;
	if (want & avail) {
		fd = openat(dfd, "cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			r = -errno;
		for (i = 0; fd >= 0 && i < sizeof cg_controllers / sizeof cg_controllers[0]; i++) {
			if (!(want & avail & cg_controllers[i].bit))
				continue;
			snprintf(word, sizeof word, "+%s\n", cg_controllers[i].name);
			if (fd_write(fd, word, strlen(word)) == 0)
				enabled |= cg_controllers[i].bit;
		}
		if (fd >= 0)
			close(fd);
	}
	close(dfd);
	return r < 0 ? r : (int)enabled;
}

/* --- the slice and its groups ---------------------------------------------- */

int cg_init(struct cg *cg, const char *slice_dir)
{
	size_t n = strlen(slice_dir);

	memset(cg, 0, sizeof *cg);
	cg->slice_fd = -1;
	cg->watch_fd = -1;
	if (slice_dir[0] != '/')
		return -EINVAL;
	if (n >= CG_SLICE_PATH_MAX)
		return -ENAMETOOLONG;
	if (mkdir(slice_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	cg->slice_fd = open(slice_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->slice_fd < 0)
		return -errno;
	memcpy(cg->slice, slice_dir, n + 1);
	return 0;
}

void cg_close(struct cg *cg)
{
	if (cg->watch_fd >= 0)
		close(cg->watch_fd);
	if (cg->slice_fd >= 0)
		close(cg->slice_fd);
	cg->watch_fd = -1;
	cg->slice_fd = -1;
}

int cg_unit_name_check(const char *unit)
{
	size_t i, n = strnlen(unit, CG_UNIT_NAME_MAX + 1);

	if (n == 0 || n > CG_UNIT_NAME_MAX || unit[0] == '.' || strstr(unit, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = unit[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(":-_.\\@", c)))
			return -EINVAL;
	}
	return 0;
}

/* "<unit>/<file>", relative to the slice, in out (CG_UNIT_PATH_MAX bytes). */
static int unit_path(char *out, const char *unit, const char *file)
{
	int r = cg_unit_name_check(unit);

	if (r == 0)
		snprintf(out, CG_UNIT_PATH_MAX, "%s/%s", unit, file);
	return r;
}

/* An O_DIRECTORY fd of the unit's group, or -errno. */
static int group_open(struct cg *cg, const char *unit)
{
	int fd, r = cg_unit_name_check(unit);

	if (r < 0)
		return r;
	fd = openat(cg->slice_fd, unit, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cg_unit_create(struct cg *cg, const char *unit)
{
	struct stat st;
	int r = cg_unit_name_check(unit);

	if (r < 0)
		return r;
	if (mkdirat(cg->slice_fd, unit, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (fstatat(cg->slice_fd, unit, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Whether entry e of directory dirfd is a child group (control files are not). */
static int is_child_group(int dirfd, const struct dirent *e)
{
	struct stat st;

	if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
		return 0;
	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_DIR;
	return fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

typedef int child_fn(int parentfd, const char *name, unsigned depth, void *arg);

/*
 * Call fn(dirfd, name, depth + 1, arg) for each child group of dirfd; past
 * CG_DEPTH_MAX it is -ELOOP. Stops at fn's first non-zero return and
 * returns it.
 */
static int children_each(int dirfd, unsigned depth, child_fn *fn, void *arg)
{
	struct dirent *e;
	DIR *d = NULL;
	int r = 0, fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* a stream of its own: fdopendir(dirfd) would take dirfd away */
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (r == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (!is_child_group(dirfd, e))
			continue;
		r = depth >= CG_DEPTH_MAX ? -ELOOP : fn(dirfd, e->d_name, depth + 1, arg);
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

/* rmdir name below parentfd, its child groups first. */
static int group_rmdir(int parentfd, const char *name, unsigned depth, void *arg)
{
	int r, fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = children_each(fd, depth, group_rmdir, arg);
	close(fd);
	if (r == 0 && unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int cg_unit_remove(struct cg *cg, const char *unit)
{
	int r = cg_unit_name_check(unit);

	if (r == 0)
		r = group_rmdir(cg->slice_fd, unit, 0, NULL);
	if (r == 0)
		cg_unwatch_unit(cg, unit);
	return r;
}

/* --- processes -------------------------------------------------------------- */

typedef int pid_fn(pid_t pid, void *arg);

static int pid_line(const char *s, size_t n, pid_fn *fn, void *arg)
{
	uint64_t v;

	if (dec_parse(s, n, &v) < 0 || v == 0 || v > INT_MAX)
		return -EBADMSG;
	return fn((pid_t)v, arg);
}

/* Call fn for each pid of the cgroup.procs in dirfd; stops at fn's first
 * non-zero return and returns it. */
static int procs_each(int dirfd, pid_fn *fn, void *arg)
{
	char buf[CG_PROCS_CHUNK];
	size_t have = 0;
	ssize_t n;
	int r = 0, fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (r == 0) {
		size_t start = 0;
		char *nl;

		n = read(fd, buf + have, sizeof buf - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		have += (size_t)n;
		while (r == 0 && (nl = memchr(buf + start, '\n', have - start)) != NULL) {
			r = pid_line(buf + start, (size_t)(nl - buf) - start, fn, arg);
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == sizeof buf)
			r = -EBADMSG;
	}
	if (r == 0 && have > 0)
		r = pid_line(buf, have, fn, arg);
	close(fd);
	return r;
}

struct walk {
	pid_fn *fn;
	void *arg;
};

/* procs_each over group name below parentfd, then over its child groups. */
static int group_walk(int parentfd, const char *name, unsigned depth, void *arg)
{
	struct walk *w = arg;
	int r, fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)	/* a child group removed since readdir is no error */
		return errno == ENOENT && depth > 0 ? 0 : -errno;
	r = procs_each(fd, w->fn, w->arg);
	if (r == 0)
		r = children_each(fd, depth, group_walk, arg);
	close(fd);
	return r;
}

/* group_walk over the unit's group: -ENOENT if there is none. */
static int unit_walk(struct cg *cg, const char *unit, pid_fn *fn, void *arg)
{
	struct walk w = { fn, arg };
	int r = cg_unit_name_check(unit);

	return r < 0 ? r : group_walk(cg->slice_fd, unit, 0, &w);
}

struct pid_list {
	pid_t *out;
	size_t max, n;
};

static int pid_collect(pid_t pid, void *arg)
{
	struct pid_list *l = arg;

	if (l->n < l->max)
		l->out[l->n] = pid;
	l->n++;
	return 0;
}

int cg_unit_pids(struct cg *cg, const char *unit, pid_t *out, size_t max)
{
	struct pid_list l = { out, max, 0 };
	int r = unit_walk(cg, unit, pid_collect, &l);

	if (r < 0)
		return r;
	return l.n > INT_MAX ? INT_MAX : (int)l.n;
}

int cg_unit_procs_open(struct cg *cg, const char *unit)
{
	char path[CG_UNIT_PATH_MAX];
	int fd, r = unit_path(path, unit, "cgroup.procs");

	if (r < 0)
		return r;
	fd = openat(cg->slice_fd, path, O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cg_attach_self(int procs_fd)
{
	return fd_write(procs_fd, "0", 1);
}

struct kill_state {
	int sig;
	pid_t self;
	int fresh;		/* pids signalled in this pass */
	int total;
	int err;		/* first failure other than "already gone" */
	size_t nseen;
	pid_t seen[CG_KILL_TRACK_MAX];
};

static int kill_one(pid_t pid, void *arg)
{
	struct kill_state *k = arg;
	size_t i;

	if (pid == k->self)
		return 0;
	for (i = 0; i < k->nseen; i++)
		if (k->seen[i] == pid)
			return 0;
	if (k->nseen < CG_KILL_TRACK_MAX)
		k->seen[k->nseen++] = pid;
	if (kill(pid, k->sig) < 0) {
		if (errno != ESRCH && k->err == 0)
			k->err = -errno;
		return 0;
	}
	k->fresh++;
	k->total++;
	return 0;
}

static int pid_count(pid_t pid, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

int cg_unit_kill(struct cg *cg, const char *unit, int sig)
{
	struct kill_state k = { .sig = sig, .self = getpid() };
	char path[CG_UNIT_PATH_MAX];
	int r = unit_path(path, unit, "cgroup.kill"), pass, count = 0;

	if (r < 0)
		return r;
	/* the count is informative: a listing error must not stop the kill */
	if (sig == SIGKILL && (unit_walk(cg, unit, pid_count, &count),
			       file_write(cg->slice_fd, path, "1") == 0))
		return count;
	/* without cgroup.kill (or if it refuses), and for other signals */
	for (pass = 0; r == 0 && pass < CG_KILL_PASSES_MAX; pass++) {
		k.fresh = 0;
		r = unit_walk(cg, unit, kill_one, &k);
		if (k.fresh == 0)
			break;
	}
	if (r < 0)
		return r;
	return k.total == 0 && k.err < 0 ? k.err : k.total;
}

/* --- state, limits and accounting ------------------------------------------ */

int cg_unit_populated(struct cg *cg, const char *unit)
{
	char text[CG_SMALL_FILE_MAX], path[CG_UNIT_PATH_MAX];
	uint64_t v;
	size_t n;
	int r = unit_path(path, unit, "cgroup.events");

	if (r == 0)
		r = small_read(cg->slice_fd, path, text, sizeof text, &n);
	if (r == 0)
		r = flat_get(text, n, "populated", &v);
	if (r < 0)
		return r;
	return v <= 1 ? (int)v : -EBADMSG;
}

void cg_limits_init(struct cg_limits *l)
{
	l->memory_max = CG_UNSET;
	l->memory_high = CG_UNSET;
	l->cpu_weight = CG_UNSET;
	l->cpu_quota_per_ten_thousand = CG_UNSET;
	l->tasks_max = CG_UNSET;
	l->io_weight = CG_UNSET;
}

/* How each limit is written, in the order of struct cg_limits' fields: its
 * range, whether CG_NO_LIMIT ("max") is allowed, and the line around it. */
static const struct {
	const char *file, *fmt;
	unsigned bit;
	uint64_t min, max;
	int may_be_max;
} cg_limit_files[] = {
	{ "memory.max", "%s\n", CG_FILE_MEMORY_MAX, 0, CG_NO_LIMIT - 1, 1 },
	{ "memory.high", "%s\n", CG_FILE_MEMORY_HIGH, 0, CG_NO_LIMIT - 1, 1 },
	{ "cpu.weight", "%s\n", CG_FILE_CPU_WEIGHT, CG_WEIGHT_MIN, CG_WEIGHT_MAX, 0 },
	{ "cpu.max", "%s " CG_STR(CG_CPU_PERIOD_USEC) "\n", CG_FILE_CPU_MAX, 1, CG_CPU_QUOTA_MAX, 1 },
	{ "pids.max", "%s\n", CG_FILE_PIDS_MAX, 0, CG_TASKS_LIMIT, 1 },
	{ "io.weight", "default %s\n", CG_FILE_IO_WEIGHT, CG_WEIGHT_MIN, CG_WEIGHT_MAX, 0 },
};

int cg_unit_limits_apply(struct cg *cg, const char *unit, const struct cg_limits *l,
			 unsigned *missing)
{
	const uint64_t v[] = { l->memory_max, l->memory_high, l->cpu_weight,
			       l->cpu_quota_per_ten_thousand, l->tasks_max, l->io_weight };
	char num[24], text[64];
	unsigned miss = 0;
	size_t i;
	int r, fd, err = 0;

	if (missing)
		*missing = 0;
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		if (v[i] != CG_UNSET && !(v[i] == CG_NO_LIMIT && cg_limit_files[i].may_be_max) &&
		    (v[i] < cg_limit_files[i].min || v[i] > cg_limit_files[i].max))
			return -EINVAL;
	fd = group_open(cg, unit);
	if (fd < 0)
		return fd;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint64_t x = v[i];

		if (x == CG_UNSET)
			continue;
		if (cg_limit_files[i].bit == CG_FILE_CPU_MAX && x != CG_NO_LIMIT) {
			/* hundredths of a percent of one CPU, as microseconds per period */
			x = x * CG_CPU_PERIOD_USEC / 10000;
			x = x < CG_CPU_QUOTA_MIN_USEC ? CG_CPU_QUOTA_MIN_USEC : x;
		}
		if (x == CG_NO_LIMIT)
			snprintf(num, sizeof num, "max");
		else
			snprintf(num, sizeof num, "%llu", (unsigned long long)x);
		snprintf(text, sizeof text, cg_limit_files[i].fmt, num);
		r = file_write(fd, cg_limit_files[i].file, text);
		if (r == -ENOENT)
			miss |= cg_limit_files[i].bit;
		else if (r < 0 && err == 0)
			err = r;
	}
	close(fd);
	if (missing)
		*missing = miss;
	return err;
}

/* The number in a single-value file, or with a key in a flat-keyed one;
 * CG_UNKNOWN when the file is absent or does not parse. */
static uint64_t stat_read(int fd, const char *file, const char *key)
{
	char text[CG_SMALL_FILE_MAX];
	uint64_t v;
	size_t n;

	if (small_read(fd, file, text, sizeof text, &n) < 0 ||
	    (key ? flat_get(text, n, key, &v) : single_parse(text, n, &v)) < 0)
		return CG_UNKNOWN;
	return v;
}

int cg_unit_stats(struct cg *cg, const char *unit, struct cg_stats *s)
{
	int fd = group_open(cg, unit);

	if (fd < 0)
		return fd;
	s->memory_current = stat_read(fd, "memory.current", NULL);
	s->memory_peak = stat_read(fd, "memory.peak", NULL);
	s->cpu_usage_usec = stat_read(fd, "cpu.stat", "usage_usec");
	s->pids_current = stat_read(fd, "pids.current", NULL);
	s->oom_kills = stat_read(fd, "memory.events", "oom_kill");
	close(fd);
	return 0;
}

/* --- watching ---------------------------------------------------------------- */

int cg_watch_init(struct cg *cg)
{
	if (cg->watch_fd < 0)
		cg->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return cg->watch_fd < 0 ? -errno : cg->watch_fd;
}

/* The slot of unit, or with "" a free slot; NULL if none. */
static struct cg_watch *watch_find(struct cg *cg, const char *unit)
{
	size_t i;

	for (i = 0; i < CG_WATCH_UNITS_MAX; i++)
		if (strcmp(cg->watches[i].unit, unit) == 0)
			return &cg->watches[i];
	return NULL;
}

static struct cg_watch *watch_by_wd(struct cg *cg, int wd)
{
	size_t i;

	for (i = 0; wd >= 0 && i < CG_WATCH_UNITS_MAX; i++)
		if (cg->watches[i].unit[0] &&
		    (cg->watches[i].events_wd == wd || cg->watches[i].memory_wd == wd))
			return &cg->watches[i];
	return NULL;
}

static int watch_add(struct cg *cg, const char *unit, const char *file)
{
	char path[CG_FULL_PATH_MAX];
	int wd;

	snprintf(path, sizeof path, "%s/%s/%s", cg->slice, unit, file);
	wd = inotify_add_watch(cg->watch_fd, path, IN_MODIFY);
	return wd < 0 ? -errno : wd;
}

int cg_watch_unit(struct cg *cg, const char *unit)
{
	struct cg_watch *w;
	int ewd, mwd, r = cg_unit_name_check(unit);

	if (r < 0 || cg->watch_fd < 0)
		return r < 0 ? r : -EBADF;
	w = watch_find(cg, unit);
	if (!w && !(w = watch_find(cg, "")))
		return -ENOSPC;
	ewd = watch_add(cg, unit, "cgroup.events");
	if (ewd < 0)
		return ewd;
	/* memory.events exists only where the memory controller is enabled */
	mwd = watch_add(cg, unit, "memory.events");
	if (mwd < 0 && mwd != -ENOENT) {
		if (!w->unit[0])
			inotify_rm_watch(cg->watch_fd, ewd);
		return mwd;
	}
	w->events_wd = ewd;
	w->memory_wd = mwd < 0 ? -1 : mwd;
	memcpy(w->unit, unit, strlen(unit) + 1);
	return 0;
}

void cg_unwatch_unit(struct cg *cg, const char *unit)
{
	struct cg_watch *w = unit[0] ? watch_find(cg, unit) : NULL;

	if (w && w->events_wd >= 0)
		inotify_rm_watch(cg->watch_fd, w->events_wd);
	if (w && w->memory_wd >= 0)
		inotify_rm_watch(cg->watch_fd, w->memory_wd);
	if (w)
		w->unit[0] = '\0';
}

/* Call fn about w's file, on a copy of the name: fn may free the slot. */
static int watch_report(struct cg *cg, const struct cg_watch *w, enum cg_watch_file file,
			cg_watch_fn *fn, void *arg)
{
	char name[CG_UNIT_NAME_MAX + 1];

	memcpy(name, w->unit, sizeof name);
	fn(cg, name, file, arg);
	return 1;
}

static int watch_event(struct cg *cg, const struct inotify_event *ev, cg_watch_fn *fn,
		       void *arg)
{
	struct cg_watch *w = watch_by_wd(cg, ev->wd);
	int i, calls = 0;

	if (ev->mask & IN_Q_OVERFLOW) {
		/* events were lost: every watched file may have changed */
		for (i = 0; i < CG_WATCH_UNITS_MAX; i++) {
			w = &cg->watches[i];
			if (w->unit[0] && w->events_wd >= 0)
				calls += watch_report(cg, w, CG_WATCH_EVENTS, fn, arg);
			if (w->unit[0] && w->memory_wd >= 0)
				calls += watch_report(cg, w, CG_WATCH_MEMORY_EVENTS, fn, arg);
		}
		return calls;
	}
	if (!w)
		return 0;
	if (ev->mask & IN_IGNORED) {
		/* the file is gone (its group was removed): forget the watch */
		*(ev->wd == w->events_wd ? &w->events_wd : &w->memory_wd) = -1;
		if (w->events_wd < 0 && w->memory_wd < 0)
			w->unit[0] = '\0';
		return 0;
	}
	if (!(ev->mask & IN_MODIFY))
		return 0;
	return watch_report(cg, w, ev->wd == w->events_wd ? CG_WATCH_EVENTS : CG_WATCH_MEMORY_EVENTS,
			    fn, arg);
}

int cg_watch_read(struct cg *cg, cg_watch_fn *fn, void *arg)
{
	char buf[CG_WATCH_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	int reads, calls = 0;

	if (cg->watch_fd < 0)
		return -EBADF;
	for (reads = 0; reads < CG_WATCH_READS_MAX; reads++) {
		ssize_t n = read(cg->watch_fd, buf, sizeof buf);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		while (off + sizeof(struct inotify_event) <= (size_t)n) {
			const struct inotify_event *ev = (const void *)(buf + off);

			if (ev->len > (size_t)n - off - sizeof *ev)
				return -EBADMSG;
			calls += watch_event(cg, ev, fn, arg);
			off += sizeof *ev + ev->len;
		}
	}
	return calls;
}
