/*
 * Running one command of a service: its output to the journal (or where
 * StandardOutput= says), its environment, its credentials and limits, and
 * the fork into its control group (spawn.c). The state machine in
 * service.c decides what runs when; this file only runs it.
 */
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "envfile.h"
#include "spawn.h"

/* Output of one process, on its way to the journal. */
struct mu_output {
	struct loop_io io;
	struct journal_stream js;
	struct loop *loop;
	bool console;		/* journal+console: a copy goes to PID 1's console */
};

/* --- output ------------------------------------------------------------- */

/* Like journal_stream_drain(), copying each read to the console. */
static int drain_to_console(struct mu_output *o, int fd)
{
	char chunk[JOURNAL_STREAM_READ_BYTES];

	for (int i = 0; i < JOURNAL_STREAM_READS_MAX; i++) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? JOURNAL_DRAIN_IDLE : -errno;
		if (n == 0)
			return JOURNAL_DRAIN_EOF;
		if (write(2, chunk, (size_t)n) < 0) {
			/* the console is best effort */
		}
		journal_stream_feed(&o->js, chunk, (size_t)n);
	}
	return JOURNAL_DRAIN_MORE;
}

static void output_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mu_output *o = arg;
	int r = o->console ? drain_to_console(o, fd) : journal_stream_drain(&o->js, fd);

	if (r == JOURNAL_DRAIN_EOF || r < 0) {
		journal_stream_flush(&o->js);
		loop_io_del(l, &o->io);
		close(fd);
		free(o);
	}
}

/*
 * A pipe whose read end feeds the journal as the unit's output; returns the
 * write end for the child, or -1 (the child then writes to /dev/null).
 */
static int output_pipe(struct mu *u, struct mu_output **op)
{
	struct mu_output *o;
	int p[2];

	if (!u->m->journal || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	o = calloc(1, sizeof(*o));
	*op = NULL;
	if (!o || journal_stream_init(&o->js, u->m->journal, u->name, 0, LOG_PRIO_INFO) < 0 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ||
	    loop_io_add(u->m->loop, &o->io, p[0], EPOLLIN, output_readable, o) < 0) {
		free(o);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	o->loop = u->m->loop;
	*op = o;
	return p[1];
}

/* Open what StandardOutput=/StandardError= name. -1: /dev/null. */
static int output_open(struct mu *u, enum unit_output out, const char *path, int journal_fd)
{
	int fd;

	switch (out) {
	case OUTPUT_NULL:
	case OUTPUT_INHERIT:	/* stdout inherits stdin, which is /dev/null */
		return -1;
	case OUTPUT_TTY:
		return fcntl(2, F_DUPFD_CLOEXEC, 3);
	case OUTPUT_FILE:
	case OUTPUT_TRUNCATE:
	case OUTPUT_APPEND:
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
			  (out == OUTPUT_APPEND ? O_APPEND : out == OUTPUT_TRUNCATE ? O_TRUNC : 0), 0644);
		if (fd < 0)
			log_warn("%s: unable to open %s: %s; output discarded", u->name, path,
				 strerror(errno));
		return fd;
	default:
		return journal_fd >= 0 ? fcntl(journal_fd, F_DUPFD_CLOEXEC, 3) : -1;
	}
}

/* --- environment -------------------------------------------------------- */

struct env {
	char **v;
	size_t n, cap;
	struct arena *a;
};

/* Add "NAME=value", replacing an earlier value of NAME. */
static int env_put(void *arg, const char *assign)
{
	struct env *e = arg;
	size_t nlen = strcspn(assign, "=");
	char *copy;

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], assign, nlen + 1) == 0) {
			copy = arena_strdup(e->a, assign);
			if (!copy)
				return -ENOMEM;
			e->v[i] = copy;
			return 0;
		}
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		char **v = arena_array(e->a, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (e->n)
			memcpy(v, e->v, e->n * sizeof(*v));
		e->v = v;
		e->cap = cap;
	}
	if (!(e->v[e->n] = arena_strdup(e->a, assign)))
		return -ENOMEM;
	e->v[++e->n] = NULL;
	return 0;
}

static int env_putf(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int env_putf(struct env *e, const char *fmt, ...)
{
	char s[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	return env_put(e, s);
}

static int env_file_load(struct mu *u, struct env *e, const char *spec)
{
	bool optional = spec[0] == '-';
	const char *path = spec + optional;
	struct buf b = BUF_INIT;
	struct err er = { 0 };
	unsigned bad = 0;
	int r = unit_file_read(path, ENVFILE_BYTES_MAX, &b);

	if (r < 0) {
		buf_free(&b);
		if (optional && r == -ENOENT)
			return 0;
		log_err("%s: unable to read EnvironmentFile %s: %s", u->name, path, strerror(-r));
		return r;
	}
	r = envfile_parse(b.data ? b.data : "", b.len, env_put, e, &bad, &er);
	if (bad)
		log_warn("%s: %s:%u: %s; %u line(s) ignored", u->name, path, er.line, er.msg, bad);
	buf_free(&b);
	return r;
}

/* The environment a process of u runs with; control says it is not main. */
static int env_build(struct mu *u, struct env *e, bool control)
{
	struct service *s = &u->u.service;
	int r = 0;

	r |= env_putf(e, "PATH=%s", SPAWN_SEARCH_PATH);
	r |= env_putf(e, "INVOCATION_ID=%s", u->invocation);
	if ((s->type == SERVICE_NOTIFY || s->watchdog_usec || s->notify_access != NOTIFY_NONE) &&
	    u->m->notify_addr[0])
		r |= env_putf(e, "NOTIFY_SOCKET=%s", u->m->notify_addr);
	if (control && u->main_pid > 0)
		r |= env_putf(e, "MAINPID=%d", (int)u->main_pid);
	if (!control && s->watchdog_usec && s->watchdog_usec != UV_INFINITY)
		r |= env_putf(e, "WATCHDOG_USEC=%llu", (unsigned long long)s->watchdog_usec);
	if (s->user) {
		struct passwd *pw = getpwnam(s->user);

		if (pw) {
			r |= env_putf(e, "USER=%s", pw->pw_name);
			r |= env_putf(e, "LOGNAME=%s", pw->pw_name);
			r |= env_putf(e, "HOME=%s", pw->pw_dir);
			r |= env_putf(e, "SHELL=%s", pw->pw_shell);
		}
	}
	if (r)
		return -ENOMEM;
	for (size_t i = 0; i < s->environment.n; i++)
		if ((r = env_put(e, s->environment.v[i])) < 0)
			return r;
	/* Files come after Environment= and win, as in systemd. */
	for (size_t i = 0; i < s->environment_files.n; i++)
		if ((r = env_file_load(u, e, s->environment_files.v[i])) < 0)
			return r;
	return 0;
}

/* --- spawning ----------------------------------------------------------- */

pid_t service_exec_run(struct mu *u, const struct unit_exec *c, bool control, bool *spawn_failed)
{
	struct service *s = &u->u.service;
	struct arena a = ARENA_INIT;
	struct env e = { .a = &a };
	struct spawn_req r = { 0 };
	char **argv;
	struct mu_output *out = NULL;
	struct spawn_creds creds;
	int out_pipe, err_pipe[2] = { -1, -1 }, rc;
	pid_t pid = -ENOMEM;

	if (env_build(u, &e, control) < 0) {
		arena_free(&a);
		return -EINVAL;
	}
	argv = unit_exec_expand_env(&a, c, e.v, &rc);
	if (!argv || !argv[0]) {
		log_err("%s: unable to build the command line of %s", u->name, c->path);
		arena_free(&a);
		return -EINVAL;
	}
	out_pipe = output_pipe(u, &out);
	if (out)
		out->console = s->std_output == OUTPUT_JOURNAL_CONSOLE ||
			       s->std_error == OUTPUT_JOURNAL_CONSOLE;
	r.path = c->path;
	r.argv = argv;
	r.envp = e.v;
	r.workdir = s->working_directory;
	r.workdir_missing_ok = s->working_directory_missing_ok;
	if (!(c->flags & (UNIT_EXEC_PRIVILEGED | UNIT_EXEC_NO_SETUID | UNIT_EXEC_AMBIENT)))
		spawn_creds(&r, &creds, s->user, s->group);
	else
		r.home = "/root";
	r.umask = s->umask;
	r.rlimit = s->rlimit;
	r.rlimit_set = s->rlimit_set;
	r.stdout_fd = output_open(u, s->std_output, s->std_output_path, out_pipe);
	r.stderr_fd = s->std_error == OUTPUT_INHERIT ? r.stdout_fd
						      : output_open(u, s->std_error, s->std_error_path, out_pipe);
	r.cgroup_fd = u->cgroup ? openat(u->m->cg->slice_fd, u->name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (pipe2(err_pipe, O_CLOEXEC) == 0) {
		r.err_fd = err_pipe[1];
		pid = spawn_start(&r);
		close(err_pipe[1]);
	} else {
		pid = -errno;
	}
	if (pid > 0) {
		/*
		 * Did the child get as far as exec? Its error comes first, or
		 * EOF when exec closed the pipe. This waits for the child's
		 * set-up, which is local system calls only (no network, no
		 * locks PID 1 holds), and it is what makes Type=exec exact.
		 */
		struct spawn_error se;
		ssize_t n;

		while ((n = read(err_pipe[0], &se, sizeof(se))) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof(se)) {
			log_err("%s: failed at step %s spawning %s: %s", u->name,
				spawn_step_name(se.step) ? spawn_step_name(se.step) : "?", c->path,
				strerror(se.err));
			if (spawn_failed)
				*spawn_failed = true;
		}
	} else {
		log_err("%s: unable to fork: %s", u->name, strerror(-pid));
	}
	if (err_pipe[0] >= 0)
		close(err_pipe[0]);
	if (out && pid > 0)
		out->js.pid = (int)pid;
	if (r.stdout_fd >= 0)
		close(r.stdout_fd);
	if (r.stderr_fd >= 0 && r.stderr_fd != r.stdout_fd)
		close(r.stderr_fd);
	if (out_pipe >= 0)
		close(out_pipe);
	if (r.cgroup_fd >= 0)
		close(r.cgroup_fd);
	arena_free(&a);
	return pid;
}

