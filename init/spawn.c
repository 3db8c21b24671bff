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
#include <unistd.h>

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

static void child(const struct spawn_req *r)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
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
	if (r->cgroup_procs_fd >= 0 && cg_attach_self(r->cgroup_procs_fd) < 0)
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
	if (r->user) {
		errno = 0;
		pw = getpwnam(r->user);
		if (!pw)
			fail(r, SPAWN_USER, errno ? errno : ESRCH);
	}
	if (r->group) {
		errno = 0;
		gr = getgrnam(r->group);
		if (!gr)
			fail(r, SPAWN_GROUP, errno ? errno : ESRCH);
	}
	if (r->workdir) {
		const char *dir = strcmp(r->workdir, "~") == 0 ? (pw ? pw->pw_dir : "/root") : r->workdir;

		if (chdir(dir) < 0 && !r->workdir_missing_ok)
			fail(r, SPAWN_CHDIR, errno);
	} else if (chdir("/") < 0) {
		fail(r, SPAWN_CHDIR, errno);
	}
	if (gr || pw) {
		gid_t gid = gr ? gr->gr_gid : pw->pw_gid;

		if (pw ? initgroups(pw->pw_name, gid) < 0 : setgroups(0, NULL) < 0)
			fail(r, SPAWN_GROUP, errno);
		if (setresgid(gid, gid, gid) < 0)
			fail(r, SPAWN_GROUP, errno);
	}
	if (pw && setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fail(r, SPAWN_USER, errno);
	exec_search(r);
}

pid_t spawn_start(const struct spawn_req *r)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(r);
	return pid;
}
