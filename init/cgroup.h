/*
 * The cgroup v2 manager of PID 1: one group per unit under a Pith slice.
 *
 *   <root>/init.scope          PID 1 itself (no process may sit in an inner
 *                              group that hands controllers to its children)
 *   <root>/pith.slice/         the slice, with controllers enabled for units
 *   <root>/pith.slice/<unit>/  one group per unit, e.g. "hello.service"
 *
 * In the image <root> is /sys/fs/cgroup, a pure cgroup v2 mount with the
 * cpu, io, memory and pids controllers. On a host with a hybrid mount it is
 * the process's own group under /sys/fs/cgroup/unified, where grouping,
 * cgroup.events and cgroup.kill work but no controller is available; the
 * slice is then a per-instance directory chosen by the caller.
 *
 * Every operation on a unit works relative to an open directory fd of the
 * slice (openat, mkdirat, unlinkat), and the kernel's interface files are
 * read and written as ordinary files. That is the seam the tests use: the
 * manager pointed at a temporary directory of hand-written control files
 * behaves as it does on cgroupfs, minus what only the kernel does (creating
 * the control files on mkdir, killing on a write to cgroup.kill).
 *
 * Nothing here prints or exits; functions return 0 (or a count) or -errno.
 * The kernel's small files are parsed strictly, within the bounds below:
 * content that does not have the documented shape is -EBADMSG, never a
 * crash and never a guess. No pid read from a file is ever 0 or negative,
 * and the calling process is never signalled.
 */
#ifndef PITH_INIT_CGROUP_H
#define PITH_INIT_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where PID 1 moves itself, under the root, before enabling controllers. */
#define CG_INIT_SCOPE "init.scope"

/* Longest unit name, as systemd allows it. */
#define CG_UNIT_NAME_MAX 255
/* Longest slice directory path; a unit's files sit at most
 * CG_UNIT_NAME_MAX + 32 bytes below it, well inside PATH_MAX. */
#define CG_SLICE_PATH_MAX 1024
/* Units that can be watched at once: a node runs tens of units. */
#define CG_WATCH_UNITS_MAX 2048
/* Largest single-value or flat-keyed file read (cgroup.events, cpu.stat,
 * memory.events, cgroup.controllers, /proc/self/cgroup): the kernel fills
 * these from one page. A longer file is -EFBIG. */
#define CG_SMALL_FILE_MAX 4096
/* Depth of child groups followed below a unit's group when listing or
 * signalling its processes; deeper nesting is -ELOOP. */
#define CG_DEPTH_MAX 16
/* Passes over cgroup.procs when signalling pid by pid, and how many pids
 * one cg_unit_kill remembers so that none is signalled twice. */
#define CG_KILL_PASSES_MAX 16
#define CG_KILL_TRACK_MAX 1024

/* Limit values: leave the file alone, or write "max" (no limit). */
#define CG_UNSET UINT64_MAX
#define CG_NO_LIMIT (UINT64_MAX - 1)
/* A statistic whose file is absent or unreadable. */
#define CG_UNKNOWN UINT64_MAX

/* cpu.max is written for this period, systemd's default CPUQuotaPeriodSec. */
#define CG_CPU_PERIOD_USEC 100000
/* The kernel refuses a quota under 1 ms; smaller quotas are raised to it. */
#define CG_CPU_QUOTA_MIN_USEC 1000
/* Largest CPUQuota= accepted, in hundredths of a percent (10000 CPUs). */
#define CG_CPU_QUOTA_MAX 100000000
/* Range of cpu.weight and io.weight, as the kernel documents it. */
#define CG_WEIGHT_MIN 1
#define CG_WEIGHT_MAX 10000

/* Controllers, as a bit mask. */
enum {
	CG_CTRL_CPU = 1 << 0,
	CG_CTRL_IO = 1 << 1,
	CG_CTRL_MEMORY = 1 << 2,
	CG_CTRL_PIDS = 1 << 3,
	CG_CTRL_ALL = (1 << 4) - 1,
};

/* Limit files, as a bit mask (what cg_unit_limits_apply found missing). */
enum {
	CG_FILE_MEMORY_MAX = 1 << 0,
	CG_FILE_MEMORY_HIGH = 1 << 1,
	CG_FILE_CPU_WEIGHT = 1 << 2,
	CG_FILE_CPU_MAX = 1 << 3,
	CG_FILE_PIDS_MAX = 1 << 4,
	CG_FILE_IO_WEIGHT = 1 << 5,
};

/* What changed, as reported by cg_watch_read. */
enum cg_watch_file {
	CG_WATCH_EVENTS,	/* cgroup.events: "populated" may have changed */
	CG_WATCH_MEMORY_EVENTS,	/* memory.events: "oom_kill" may have grown */
};

struct cg_watch {
	int events_wd;		/* -1 when not watched */
	int memory_wd;		/* -1 when not watched or absent */
	char unit[CG_UNIT_NAME_MAX + 1];	/* "" for a free slot */
};

/* The manager. The caller owns it; cg_init fills it, cg_close releases its
 * descriptors. Fields are read-only for the caller. */
struct cg {
	int slice_fd;
	int watch_fd;		/* inotify, -1 until cg_watch_init */
	char slice[CG_SLICE_PATH_MAX];
	struct cg_watch watches[CG_WATCH_UNITS_MAX];
};

/*
 * Resource limits of a unit, in the units systemd's options use. Every field
 * is CG_UNSET unless the unit sets it (cg_limits_init does that).
 */
struct cg_limits {
	uint64_t memory_max;	/* MemoryMax=, bytes or CG_NO_LIMIT */
	uint64_t memory_high;	/* MemoryHigh=, bytes or CG_NO_LIMIT */
	uint64_t cpu_weight;	/* CPUWeight=, 1..10000 */
	uint64_t cpu_quota_per_ten_thousand;	/* CPUQuota=20% is 2000; or CG_NO_LIMIT */
	uint64_t tasks_max;	/* TasksMax=, a count or CG_NO_LIMIT */
	uint64_t io_weight;	/* IOWeight=, 1..10000 */
};

/* Accounting of a unit; a field is CG_UNKNOWN when its file is absent
 * (the controller is not enabled) or does not parse. */
struct cg_stats {
	uint64_t memory_current;	/* memory.current, bytes */
	uint64_t memory_peak;		/* memory.peak, bytes */
	uint64_t cpu_usage_usec;	/* cpu.stat usage_usec (present without the cpu controller) */
	uint64_t pids_current;		/* pids.current */
	uint64_t oom_kills;		/* memory.events oom_kill */
};

/*
 * Find this process's own cgroup v2 directory: the cgroup2 mount
 * (/sys/fs/cgroup when that is cgroup2, else /sys/fs/cgroup/unified) joined
 * with the "0::" path of /proc/self/cgroup. Writes a NUL-terminated path to
 * out. 0, -ENODEV when no cgroup2 is mounted at either place, -ENAMETOOLONG
 * when out is too small, or -errno from reading /proc.
 */
int cg_find_root(char *out, size_t len);

/*
 * Take the cgroup v2 path out of the text of a /proc/<pid>/cgroup file (the
 * "0::/path" line; v1 lines are skipped) into out. 0, -ENOENT when there is
 * no v2 line, -EBADMSG when it is not an absolute path, -ENAMETOOLONG.
 */
int cg_self_path_parse(const char *text, size_t len, char *out, size_t outlen);

/*
 * Move the calling process into <root>/init.scope, creating the group if
 * needed. PID 1 does this first: afterwards the root holds no process of
 * ours, so it may hand controllers down. 0 or -errno.
 */
int cg_init_scope_enter(const char *root);

/*
 * Enable, in the cgroup.subtree_control of directory dir (relative to
 * dirfd, which may be AT_FDCWD; "." for dirfd itself), each controller of
 * want that its cgroup.controllers lists. Each is written on its own
 * ("+cpu", "+io", ...) so one refusal does not cost the others. Returns the
 * mask of controllers now enabled by this call (want minus what is missing
 * or refused; the caller warns about the difference), or -errno when
 * cgroup.controllers cannot be read.
 */
int cg_subtree_enable(int dirfd, const char *dir, unsigned want);

/*
 * Open (creating it when absent) the slice directory slice_dir, an absolute
 * path shorter than CG_SLICE_PATH_MAX; its parent must exist. The caller
 * enables controllers in it with cg_subtree_enable(cg->slice_fd, ".", ...)
 * and removes the directory, if it wants to, after cg_close. 0 or -errno.
 */
int cg_init(struct cg *cg, const char *slice_dir);

/* Close the slice and the watcher. Groups on disk are left as they are. */
void cg_close(struct cg *cg);

/*
 * 0 if unit can name a group: 1 to CG_UNIT_NAME_MAX characters from
 * systemd's unit-name set (letters, digits, ":-_.\@"), not starting with a
 * dot and without "..". Anything else, '/' included, is -EINVAL.
 */
int cg_unit_name_check(const char *unit);

/* Create the unit's group. Idempotent: an existing group is 0; a non-
 * directory in its place is -ENOTDIR. 0 or -errno. */
int cg_unit_create(struct cg *cg, const char *unit);

/*
 * Remove the unit's group and any child groups below it (deepest first).
 * -EBUSY while a process is in it (the kernel refuses); an absent group is
 * 0. 0 or -errno.
 */
int cg_unit_remove(struct cg *cg, const char *unit);

/*
 * Placing a process before exec, in two halves. The parent, before fork,
 * opens the group's cgroup.procs (O_WRONLY | O_CLOEXEC; the fd is returned,
 * or -errno). The child, after fork and before exec, calls cg_attach_self
 * on it, which writes "0" (the calling process) with one write(2): it is
 * async-signal-safe, allocates nothing and uses no stdio. 0 or -errno. The
 * parent closes the fd after fork; the child's copy closes on exec.
 *
 * clone3() with CLONE_INTO_CGROUP and an O_DIRECTORY fd of the group
 * (Linux 5.7) creates the child inside the group in one step, so not even
 * the instant between fork and the write is spent outside. musl has no
 * wrapper for it; this write path works on every kernel and is the one
 * kept.
 */
int cg_unit_procs_open(struct cg *cg, const char *unit);
int cg_attach_self(int procs_fd);

/*
 * Signal every process of the unit's group, child groups included. For
 * SIGKILL, cgroup.kill (Linux 5.14) does it atomically in the kernel,
 * forks included; the count returned is then of the processes listed just
 * before. Without cgroup.kill, and for every other signal, cgroup.procs is
 * read and each pid signalled, pass after pass, until a pass finds no pid
 * it has not signalled yet (at most CG_KILL_PASSES_MAX passes), so a child
 * forked while its parent was being signalled is still reached. No pid is
 * signalled twice unless the group holds more than CG_KILL_TRACK_MAX.
 * Returns how many processes were signalled, or -errno (-ENOENT when the
 * group does not exist).
 */
int cg_unit_kill(struct cg *cg, const char *unit, int sig);

/* 1 if the group or a child group holds a live process, 0 if not, from the
 * "populated" line of cgroup.events; or -errno (-EBADMSG if malformed). */
int cg_unit_populated(struct cg *cg, const char *unit);

/*
 * The pids in the unit's group and its child groups, the group's own first.
 * Stores at most max of them in out and returns how many there are in all
 * (more than max means out was too small), or -errno.
 */
int cg_unit_pids(struct cg *cg, const char *unit, pid_t *out, size_t max);

/* Set every field of l to CG_UNSET. */
void cg_limits_init(struct cg_limits *l);

/*
 * Write each set limit to its file with the kernel's syntax: memory.max and
 * memory.high ("<bytes>" or "max"), cpu.weight ("<w>"), cpu.max ("<quota>
 * 100000" or "max 100000"; quota in microseconds per 100 ms period),
 * pids.max ("<n>" or "max") and io.weight ("default <w>"). Out-of-range
 * values are -EINVAL before anything is written. A missing file (its
 * controller is not enabled, or the kernel lacks it, as io.weight may) is
 * not an error: its bit is set in *missing (if not NULL) and the others are
 * still written. Returns 0, or the first other -errno met, after trying
 * every set limit.
 */
int cg_unit_limits_apply(struct cg *cg, const char *unit, const struct cg_limits *l,
			 unsigned *missing);

/* Fill s from the unit's accounting files (see struct cg_stats). 0, or
 * -errno when the group itself cannot be opened (-ENOENT: no such group). */
int cg_unit_stats(struct cg *cg, const char *unit, struct cg_stats *s);

/*
 * Watching. cg_watch_init creates a non-blocking inotify descriptor and
 * returns it (or -errno) for the caller's event loop; cg_close closes it.
 * cg_watch_unit watches the group's cgroup.events and, when present, its
 * memory.events for changes; watching a unit again renews its watches. 0,
 * -EBADF before cg_watch_init, -ENOSPC when CG_WATCH_UNITS_MAX units are
 * watched, or -errno.
 * cg_unwatch_unit forgets a unit; so does cg_unit_remove, and a group
 * removed by other means is forgotten when the kernel drops its watches.
 */
typedef void cg_watch_fn(struct cg *cg, const char *unit, enum cg_watch_file file,
			 void *arg);

int cg_watch_init(struct cg *cg);
int cg_watch_unit(struct cg *cg, const char *unit);
void cg_unwatch_unit(struct cg *cg, const char *unit);

/*
 * Drain the watcher (a bounded number of reads; the fd stays readable if
 * more is queued) and call fn once per change, with the unit's name and
 * which file changed. The file says only that something changed: fn reads
 * cg_unit_populated or cg_unit_stats to learn what. When the kernel's queue
 * overflowed, fn is called for every watched file. fn may watch, unwatch
 * and remove units; the name it gets is valid only during the call.
 * Returns the number of calls made, or -errno.
 */
int cg_watch_read(struct cg *cg, cg_watch_fn *fn, void *arg);

#endif
