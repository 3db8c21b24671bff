#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sched.h>

#include "cgroup.h"

const char *spawn_step_name(int code)
{
	switch (code) {
	case SPAWN_CHDIR: return "CHDIR";
	case SPAWN_EXEC: return "EXEC";
	case SPAWN_LIMITS: return "LIMITS";
	case SPAWN_SIGNAL_MASK: return "SIGNAL_MASK";
	case SPAWN_STDIN: return "STDIN";
	case SPAWN_STDOUT: return "STDOUT";
	case SPAWN_GROUP: return "GROUP";
	case SPAWN_USER: return "USER";
	case SPAWN_CGROUP: return "CGROUP";
	case SPAWN_SETSID: return "SETSID";
	case SPAWN_STDERR: return "STDERR";
	}
	return NULL;
}

static __attribute__((noreturn)) void fail(const struct spawn_req *r, int step, int err)
{
	struct spawn_error e = { step, err };

	if (write(r->err_fd, &e, sizeof(e)) < 0) {
		/* the parent sees the exit code anyway */
	}
	_exit(step);
}

/* Put fd on target (0, 1, 2), or /dev/null when fd is -1. */
static int fd_onto(int fd, int target)
{
	int null = -1;

	if (fd < 0) {
		null = open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
		if (null < 0)
			return -1;
		fd = null;
	}
	if (fd != target && dup2(fd, target) < 0)
		return -1;
	if (null >= 0 && null != target)
		close(null);
	return 0;
}

static void exec_search(const struct spawn_req *r)
{
	char path[PATH_MAX];
	const char *dir = SPAWN_SEARCH_PATH;
	int err = ENOENT;

	if (strchr(r->path, '/')) {
		execve(r->path, r->argv, r->envp);
		fail(r, SPAWN_EXEC, errno);
	}
	while (*dir) {
		size_t n = strcspn(dir, ":");

		if (snprintf(path, sizeof(path), "%.*s/%s", (int)n, dir, r->path) < (int)sizeof(path)) {
			execve(path, r->argv, r->envp);
			/* Keep the most telling error: a file that exists but will
			 * not run says more than the ones that are not there. */
			if (errno != ENOENT && errno != ENOTDIR)
				err = errno;
		}
		dir += n + (dir[n] == ':');
	}
	fail(r, SPAWN_EXEC, err);
}

void spawn_creds(struct spawn_req *r, struct spawn_creds *c, const char *user, const char *group)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;

	r->set_creds = false;
	r->creds_error = 0;
	r->home = "/root";
	if (!user && !group)
		return;
	r->set_creds = true;
	r->uid = 0;
	r->gid = 0;
	r->groups = c->groups;
	r->ngroups = 0;
	if (user) {
		pw = getpwnam(user);
		if (!pw) {
			r->creds_error = SPAWN_USER;
			return;
		}
		r->uid = pw->pw_uid;
		r->gid = pw->pw_gid;
		snprintf(c->home, sizeof(c->home), "%s", pw->pw_dir);
		r->home = c->home;
	}
	if (group) {
		gr = getgrnam(group);
		if (!gr) {
			r->creds_error = SPAWN_GROUP;
			return;
		}
		r->gid = gr->gr_gid;
	}
	if (pw) {
		int n = SPAWN_GROUPS_MAX;

		if (getgrouplist(pw->pw_name, r->gid, c->groups, &n) < 0)
			n = SPAWN_GROUPS_MAX;
		r->ngroups = n;
	}
}

static void child(const struct spawn_req *r, int procs_fd)
{
	sigset_t none;
	int sig;

	/* PID 1 blocks the signals it reads through signalfd; the child must
	 * start with none blocked and every handler at its default. */
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		fail(r, SPAWN_SIGNAL_MASK, errno);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if (procs_fd >= 0 && cg_attach_self(procs_fd) < 0)
		fail(r, SPAWN_CGROUP, errno);
	if (setsid() < 0)
		fail(r, SPAWN_SETSID, errno);
	if (fd_onto(-1, 0) < 0)
		fail(r, SPAWN_STDIN, errno);
	if (fd_onto(r->stdout_fd, 1) < 0)
		fail(r, SPAWN_STDOUT, errno);
	if (fd_onto(r->stderr_fd, 2) < 0)
		fail(r, SPAWN_STDERR, errno);
	if (!(r->rlimit_set & (1u << RLIMIT_NOFILE))) {
		/* PID 1 raised its own soft limit; units get systemd's default
		 * soft limit of 1024 (select() breaks above it), the hard one kept. */
		struct rlimit nf;

		if (getrlimit(RLIMIT_NOFILE, &nf) == 0 && nf.rlim_cur > SPAWN_NOFILE_SOFT) {
			nf.rlim_cur = SPAWN_NOFILE_SOFT;
			setrlimit(RLIMIT_NOFILE, &nf);
		}
	}
	for (int res = 0; res < RLIM_NLIMITS; res++)
		if ((r->rlimit_set & (1u << res)) && setrlimit(res, &r->rlimit[res]) < 0)
			fail(r, SPAWN_LIMITS, errno);
	umask(r->umask);
	if (r->creds_error)
		fail(r, r->creds_error, ESRCH);
	if (r->workdir) {
		const char *dir = strcmp(r->workdir, "~") == 0 ? r->home : r->workdir;

		if (chdir(dir) < 0 && !r->workdir_missing_ok)
			fail(r, SPAWN_CHDIR, errno);
	} else if (chdir("/") < 0) {
		fail(r, SPAWN_CHDIR, errno);
	}
	if (r->set_creds) {
		if (setgroups((size_t)r->ngroups, r->groups) < 0)
			fail(r, SPAWN_GROUP, errno);
		if (setresgid(r->gid, r->gid, r->gid) < 0)
			fail(r, SPAWN_GROUP, errno);
		if (setresuid(r->uid, r->uid, r->uid) < 0)
			fail(r, SPAWN_USER, errno);
	}
	exec_search(r);
}

pid_t spawn_start(const struct spawn_req *r)
{
	int procs_fd;
	pid_t pid;

	if (r->cgroup_fd >= 0) {
		struct clone_args a;

		memset(&a, 0, sizeof(a));
		a.flags = CLONE_INTO_CGROUP;
		a.exit_signal = SIGCHLD;
		a.cgroup = (uint64_t)r->cgroup_fd;
		pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
		if (pid == 0)
			child(r, -1);	/* only system calls from here: see spawn.h */
		if (pid > 0)
			return pid;
		if (errno != ENOSYS && errno != E2BIG && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
	}
	/* The fallback: the child moves itself through cgroup.procs. */
	procs_fd = r->cgroup_fd >= 0 ? openat(r->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC) : -1;
	if (r->cgroup_fd >= 0 && procs_fd < 0)
		return -errno;
	pid = fork();
	if (pid == 0)
		child(r, procs_fd);
	if (pid < 0)
		pid = -errno;
	if (procs_fd >= 0)
		close(procs_fd);
	return pid;
}
