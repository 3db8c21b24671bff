/*
 * Starting one process of a unit: fork, set up the child as the unit says,
 * exec. The parent does everything that can fail slowly or needs memory
 * (environment, argv, opening files) before the fork; the child only makes
 * system calls. A child that cannot get as far as exec writes what failed
 * to err_fd and exits with systemd's code for that step (200 CHDIR,
 * 203 EXEC, 216 GROUP, 217 USER, 219 CGROUP …), so "status=203/EXEC"
 * means what an operator who knows systemd expects.
 */
#ifndef PITH_INIT_SPAWN_H
#define PITH_INIT_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* A unit's soft RLIMIT_NOFILE unless LimitNOFILE= says otherwise
 * (systemd's DefaultLimitNOFILE=1024:524288). */
#define SPAWN_NOFILE_SOFT 1024
#define SPAWN_NOFILE_HARD 524288

/* Where programs named without a '/' are looked for, as systemd does. */
#define SPAWN_SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* systemd's exit codes for a child that failed before exec. */
enum spawn_step {
	SPAWN_CHDIR = 200,
	SPAWN_EXEC = 203,
	SPAWN_LIMITS = 205,
	SPAWN_SIGNAL_MASK = 207,
	SPAWN_STDIN = 208,
	SPAWN_STDOUT = 209,
	SPAWN_GROUP = 216,
	SPAWN_USER = 217,
	SPAWN_CGROUP = 219,
	SPAWN_SETSID = 220,
	SPAWN_STDERR = 222,
};

/* "EXEC" for SPAWN_EXEC, as systemctl shows it ("status=203/EXEC"). */
const char *spawn_step_name(int code);

struct spawn_req {
	const char *path;		/* as written: absolute, or a name to search for */
	char *const *argv;
	char *const *envp;
	const char *workdir;		/* NULL: "/"; "~": home */
	bool workdir_missing_ok;
	/* Credentials, looked up by the parent (spawn_creds()): the child
	 * only makes system calls. */
	bool set_creds;			/* false: stay root */
	int creds_error;		/* the lookup failed: 216 GROUP or 217 USER */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;		/* supplementary groups */
	int ngroups;
	const char *home;		/* for "~" */
	mode_t umask;
	const struct rlimit *rlimit;	/* RLIM_NLIMITS entries, those in rlimit_set */
	uint32_t rlimit_set;
	int stdout_fd, stderr_fd;	/* -1: /dev/null; stdin is always /dev/null */
	int cgroup_fd;			/* the unit's group directory; -1: stay in PID 1's */
	int err_fd;			/* write end of a close-on-exec pipe */
};

/* The record a failed child writes to err_fd. */
struct spawn_error {
	int step;			/* enum spawn_step */
	int err;			/* errno */
};

/* Most supplementary groups passed on. */
#define SPAWN_GROUPS_MAX 64

/* Storage for what spawn_creds() looks up. */
struct spawn_creds {
	gid_t groups[SPAWN_GROUPS_MAX];
	char home[256];
};

/*
 * Fill r's credentials for User= user and Group= group (either may be
 * NULL) from the password and group files: uid, gid, supplementary groups
 * (the user's, as initgroups() would set them) and home. A name that does
 * not resolve sets r->creds_error, so the child fails at that step.
 */
void spawn_creds(struct spawn_req *r, struct spawn_creds *c, const char *user, const char *group);

/*
 * Start the child. With a cgroup directory it is created in that group
 * directly (clone3 with CLONE_INTO_CGROUP): moving a running process
 * between groups waits for an RCU grace period, several milliseconds that
 * every restart would pay. Without clone3 (an older kernel) it forks and
 * the child moves itself through cgroup.procs. Returns the child's pid, or
 * -errno if it could not be created.
 */
pid_t spawn_start(const struct spawn_req *r);

#endif
