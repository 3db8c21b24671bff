#include "manager.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/*
 * Targets Pith knows without a file, so the default dependencies of every
 * service resolve (systemd.special(7)). A file of the same name in a unit
 * directory replaces one.
 */
static const struct {
	const char *name, *text;
} builtin[] = {
	{ "sysinit.target", "[Unit]\nDescription=System Initialization\nDefaultDependencies=no\n"
			    "Conflicts=shutdown.target\nBefore=shutdown.target\n" },
	{ "basic.target", "[Unit]\nDescription=Basic System\nRequires=sysinit.target\n"
			  "After=sysinit.target\n" },
	{ "network.target", "[Unit]\nDescription=Network\n" },
	{ "network-online.target", "[Unit]\nDescription=Network is Online\nAfter=network.target\n" },
	{ "multi-user.target", "[Unit]\nDescription=Multi-User System\nRequires=basic.target\n"
			       "After=basic.target\nConflicts=shutdown.target\n" },
	{ "shutdown.target", "[Unit]\nDescription=System Shutdown\nDefaultDependencies=no\n" },
	/* What the boot starts; systemd makes it an alias of multi-user.target,
	 * here it pulls that in, so WantedBy= either works. */
	{ "default.target", "[Unit]\nDescription=Default target\nRequires=multi-user.target\n"
			    "After=multi-user.target\n" },
};

static const char *const active_names[] = {
	[MU_INACTIVE] = "inactive", [MU_ACTIVATING] = "activating", [MU_ACTIVE] = "active",
	[MU_RELOADING] = "reloading", [MU_DEACTIVATING] = "deactivating", [MU_FAILED] = "failed",
};
static const char *const sub_names[] = {
	[SUB_DEAD] = "dead", [SUB_CONDITION] = "condition", [SUB_START_PRE] = "start-pre",
	[SUB_START] = "start", [SUB_START_POST] = "start-post", [SUB_RUNNING] = "running",
	[SUB_EXITED] = "exited", [SUB_RELOAD] = "reload", [SUB_STOP] = "stop",
	[SUB_STOP_SIGTERM] = "stop-sigterm", [SUB_STOP_SIGKILL] = "stop-sigkill",
	[SUB_STOP_POST] = "stop-post", [SUB_FINAL_SIGTERM] = "final-sigterm",
	[SUB_FINAL_SIGKILL] = "final-sigkill", [SUB_FAILED] = "failed",
	[SUB_AUTO_RESTART] = "auto-restart", [SUB_ACTIVE] = "active",
};
static const char *const result_names[] = {
	[RES_SUCCESS] = "success", [RES_EXIT_CODE] = "exit-code", [RES_SIGNAL] = "signal",
	[RES_CORE_DUMP] = "core-dump", [RES_TIMEOUT] = "timeout", [RES_WATCHDOG] = "watchdog",
	[RES_START_LIMIT] = "start-limit-hit", [RES_OOM_KILL] = "oom-kill",
	[RES_RESOURCES] = "resources", [RES_PROTOCOL] = "protocol",
};
static const char *const job_result_names[] = {
	[JOB_DONE] = "done", [JOB_FAILED] = "failed", [JOB_DEPENDENCY] = "dependency",
	[JOB_TIMEOUT] = "timeout", [JOB_CANCELED] = "canceled", [JOB_SKIPPED] = "skipped",
	[JOB_UNSUPPORTED] = "unsupported", [JOB_INVALID] = "invalid",
};

const char *mu_active_name(enum mu_active a) { return active_names[a]; }
const char *mu_sub_name(enum mu_sub s) { return sub_names[s]; }
const char *mu_result_name(enum mu_result r) { return result_names[r]; }
const char *job_result_name(enum job_result r) { return job_result_names[r]; }

uint64_t manager_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static enum ug_load ug_load_of(enum unit_load_state s)
{
	switch (s) {
	case UNIT_LOADED: return UG_LOADED;
	case UNIT_NOT_FOUND: return UG_LOAD_NOT_FOUND;
	case UNIT_MASKED: return UG_LOAD_MASKED;
	case UNIT_BAD_SETTING: return UG_LOAD_BAD_SETTING;
	default: return UG_LOAD_ERROR;
	}
}

enum ug_active manager_ug_active(enum mu_active a)
{
	switch (a) {
	case MU_ACTIVE: case MU_RELOADING: return UG_ACTIVE;
	case MU_ACTIVATING: return UG_ACTIVATING;
	case MU_DEACTIVATING: return UG_DEACTIVATING;
	case MU_FAILED: return UG_FAILED;
	default: return UG_INACTIVE;
	}
}

static void report_to_log(void *arg, enum unit_severity sev, const char *file, unsigned line,
			  const char *msg)
{
	if (line)
		log_msg(sev == UNIT_ERROR ? LOG_PRIO_ERR : LOG_PRIO_WARNING, "%s:%u: %s", file, line, msg);
	else
		log_msg(sev == UNIT_ERROR ? LOG_PRIO_ERR : LOG_PRIO_WARNING, "%s: %s", file, msg);
}

/* --- loading ------------------------------------------------------------ */

/* Put u in m->units[id], growing the array. */
static int slot_put(struct manager *m, unsigned id, struct mu *u)
{
	if (id >= m->cap_units) {
		size_t cap = m->cap_units ? m->cap_units * 2 : 64;
		struct mu **v;

		while (cap <= id)
			cap *= 2;
		v = realloc(m->units, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memset(v + m->cap_units, 0, (cap - m->cap_units) * sizeof(*v));
		m->units = v;
		m->cap_units = cap;
	}
	m->units[id] = u;
	if (id >= m->nunits)
		m->nunits = id + 1;
	return 0;
}

static struct mu *unit_new(struct manager *m, const char *name)
{
	struct mu *u;
	unsigned id;

	if (m->nunits >= MANAGER_UNITS_MAX || ug_unit_add(&m->graph, name, &id) < 0)
		return NULL;
	if (id < m->nunits && m->units[id])
		return m->units[id];
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->m = m;
	u->id = id;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->load = UNIT_NOT_FOUND;
	u->state_change_usec = manager_now_usec();
	if (slot_put(m, id, u) < 0) {
		free(u);
		return NULL;
	}
	return u;
}

struct mu *manager_unit_find(struct manager *m, const char *name)
{
	unsigned id;

	if (ug_unit_find(&m->graph, name, &id) < 0 || id >= m->nunits)
		return NULL;
	return m->units[id];
}

/* Names in "<dir>/<name>.wants/" (or .requires/) of every search dir. */
static void links_scan(struct manager *m, const char *name, const char *suffix, enum ug_dep dep,
		       struct mu *u)
{
	for (size_t i = 0; m->dirs[i]; i++) {
		char path[PATH_MAX];
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s%s", m->dirs[i], name, suffix);
		if (!(d = opendir(path)))
			continue;
		while ((de = readdir(d)))
			if (unit_name_is_valid(de->d_name))
				ug_dep_add(&m->graph, u->name, dep, de->d_name);
		closedir(d);
	}
}

static int unit_load_one(struct manager *m, struct mu *u)
{
	struct unit *x = &u->u;
	char tmpl[UNIT_NAME_MAX + 1] = "";

	u->load = unit_load(x, u->name, m->dirs, m->env, report_to_log, NULL);
	if (u->load == UNIT_NOT_FOUND) {
		for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
			if (strcmp(builtin[i].name, u->name) == 0) {
				unit_free(x);
				unit_init(x, u->name, m->env, report_to_log, NULL);
				unit_parse(x, "(built-in)", builtin[i].text, strlen(builtin[i].text));
				u->load = unit_verify(x) == 0 ? UNIT_LOADED : UNIT_BAD_SETTING;
			}
	}
	ug_unit_set_load(&m->graph, u->id, ug_load_of(u->load));
	if (u->load != UNIT_LOADED && u->load != UNIT_BAD_SETTING)
		return 0;
	for (int d = 0; d < UNIT_DEP_MAX; d++)
		for (size_t i = 0; i < x->deps[d].n; i++)
			ug_dep_add(&m->graph, u->name, (enum ug_dep)d, x->deps[d].v[i]);
	links_scan(m, u->name, ".wants", UG_WANTS, u);
	links_scan(m, u->name, ".requires", UG_REQUIRES, u);
	if (unit_name_template(u->name, tmpl, sizeof(tmpl)) == 0) {
		links_scan(m, tmpl, ".wants", UG_WANTS, u);
		links_scan(m, tmpl, ".requires", UG_REQUIRES, u);
	}
	if (x->default_dependencies && x->type == UNIT_SERVICE) {
		ug_dep_add(&m->graph, u->name, UG_REQUIRES, "sysinit.target");
		ug_dep_add(&m->graph, u->name, UG_AFTER, "sysinit.target");
		ug_dep_add(&m->graph, u->name, UG_AFTER, "basic.target");
		ug_dep_add(&m->graph, u->name, UG_CONFLICTS, "shutdown.target");
		ug_dep_add(&m->graph, u->name, UG_BEFORE, "shutdown.target");
	} else if (x->default_dependencies && x->type == UNIT_TARGET) {
		ug_dep_add(&m->graph, u->name, UG_CONFLICTS, "shutdown.target");
		ug_dep_add(&m->graph, u->name, UG_BEFORE, "shutdown.target");
	}
	return 0;
}

/* A target is ordered after what it wants, when that has default
 * dependencies (systemd.target(5)). Done once the wanted units are loaded. */
static void target_orderings(struct manager *m, struct mu *t)
{
	static const enum ug_dep kinds[] = { UG_WANTS, UG_REQUIRES, UG_BINDS_TO };

	if (t->u.type != UNIT_TARGET || !t->u.default_dependencies)
		return;
	for (size_t k = 0; k < 3; k++) {
		size_t cur = 0;
		unsigned to;

		while (ug_dep_next(&m->graph, t->id, kinds[k], &cur, &to) == 1) {
			struct mu *o = to < m->nunits ? m->units[to] : NULL;

			if (o && o->load == UNIT_LOADED && o->u.default_dependencies &&
			    strcmp(o->name, "shutdown.target"))
				ug_dep_add_id(&m->graph, t->id, UG_AFTER, to);
		}
	}
}

/*
 * Load every unit the graph names from id from on but has not loaded:
 * dependencies are loaded as systemd loads them, on demand. Units are
 * numbered in the order they are first named, so what a load names is never
 * below from; a lookup looks only at what it added, not at every unit.
 */
static void load_pending(struct manager *m, size_t from)
{
	static const enum ug_dep by[] = { UG_WANTED_BY, UG_REQUIRED_BY, UG_BOUND_BY };
	bool more = true;

	while (more) {
		more = false;
		for (size_t i = from; i < m->graph.nunits; i++) {
			const char *name = ug_unit_name(&m->graph, (unsigned)i);
			struct mu *u = i < m->nunits ? m->units[i] : NULL;

			if (u || !name)
				continue;
			u = unit_new(m, name);
			if (!u)
				return;
			unit_load_one(m, u);
			more = true;
		}
	}
	for (size_t i = from; i < m->nunits; i++) {
		struct mu *o = m->units[i];

		if (!o)
			continue;
		target_orderings(m, o);
		/* A target named o before o was loaded (a load stopped at
		 * MANAGER_UNITS_MAX): its orderings are owed now. */
		for (size_t k = 0; k < sizeof(by) / sizeof(by[0]); k++) {
			size_t cur = 0;
			unsigned t;

			while (ug_dep_next(&m->graph, o->id, by[k], &cur, &t) == 1)
				if (t < from && t < m->nunits && m->units[t])
					target_orderings(m, m->units[t]);
		}
	}
}

/* Does name have a definition: a file in the search directories (its own
 * or its template's, masked or not) or a built-in one? */
static bool unit_defined(struct manager *m, const char *name)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i].name, name) == 0)
			return true;
	return unit_file_exists(name, m->dirs);
}

int manager_unit_lookup(struct manager *m, const char *name, struct mu **out)
{
	struct mu *u = manager_unit_find(m, name);
	size_t from = m->graph.nunits;

	*out = u;
	if (u)
		return 0;
	if (!unit_name_is_valid(name))
		return -EINVAL;
	if (!unit_defined(m, name))
		return -ENOENT;
	u = unit_new(m, name);
	if (!u)
		return m->nunits >= MANAGER_UNITS_MAX ? -ENOSPC : -ENOMEM;
	if (u->id < from)
		from = u->id;
	unit_load_one(m, u);
	load_pending(m, from);
	*out = u;
	return 0;
}

struct mu *manager_unit(struct manager *m, const char *name)
{
	struct mu *u;

	return manager_unit_lookup(m, name, &u) == 0 ? u : NULL;
}

/* --- processes, notify messages, cgroup events -------------------------- */

bool manager_child_exited(struct manager *m, pid_t pid, int st)
{
	for (size_t i = 0; i < m->nunits; i++) {
		struct mu *u = m->units[i];

		if (u && (u->main_pid == pid || u->control_pid == pid) && pid > 0) {
			service_child_exited(u, pid, st);
			return true;
		}
	}
	return false;
}

/* The unit whose control group holds pid, from /proc/<pid>/cgroup. */
static struct mu *unit_of_pid(struct manager *m, pid_t pid)
{
	char path[64], text[1024], *slash;
	ssize_t n;
	int fd;

	for (size_t i = 0; i < m->nunits; i++) {
		struct mu *u = m->units[i];

		if (u && pid > 0 && (u->main_pid == pid || u->control_pid == pid))
			return u;
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	text[n] = 0;
	/* "0::/…/pith.slice/hello.service": the last component names it. */
	text[strcspn(text, "\n")] = 0;
	slash = strrchr(text, '/');
	return slash ? manager_unit_find(m, slash + 1) : NULL;
}

static void notify_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct manager *m = arg;

	for (int k = 0; k < 64; k++) {
		char buf[NOTIFY_MSG_MAX + 1];
		char ctl[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { buf, NOTIFY_MSG_MAX };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct ucred *cred = NULL;
		struct mu *u;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);

		if (n < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				cred = (struct ucred *)CMSG_DATA(c);
			else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				/* No file descriptor store here: close what was sent. */
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
					close(((int *)CMSG_DATA(c))[i]);
		}
		if (!cred || n > NOTIFY_MSG_MAX || (mh.msg_flags & MSG_TRUNC))
			continue;
		u = unit_of_pid(m, cred->pid);
		if (!u || u->u.type != UNIT_SERVICE)
			continue;
		service_notify(u, cred->pid, buf, (size_t)n);
	}
}

static int notify_open(struct manager *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, one = 1;

	socklen_t len = sizeof(sa);

	/* A run directory too deep for a socket path (tests' temporary roots)
	 * gets an abstract socket, which NOTIFY_SOCKET writes as "@name". */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", m->run_dir) >=
	    sizeof(sa.sun_path)) {
		int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "pith/%d/notify", (int)getpid());

		sa.sun_path[0] = 0;
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
		snprintf(m->notify_addr, sizeof(m->notify_addr), "@%s", sa.sun_path + 1);
	} else {
		snprintf(m->notify_addr, sizeof(m->notify_addr), "%s", sa.sun_path);
		unlink(sa.sun_path);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	m->notify_fd = fd;
	return loop_io_add(m->loop, &m->notify_io, fd, EPOLLIN, notify_readable, m);
}

static void cg_event(struct cg *cg, const char *unit, enum cg_watch_file file, void *arg)
{
	struct mu *u = manager_unit_find(arg, unit);

	if (u && u->u.type == UNIT_SERVICE)
		service_cgroup_event(u, file == CG_WATCH_MEMORY_EVENTS);
}

static void cg_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct manager *m = arg;

	cg_watch_read(m->cg, cg_event, m);
}

/* Without a watch, memory.events is read every CG_POLL_MS instead. */
#define CG_POLL_MS 1000

static void cg_poll_tick(struct loop *l, void *arg)
{
	struct manager *m = arg;

	for (size_t i = 0; i < m->nunits; i++) {
		struct mu *u = m->units[i];

		if (u && u->cgroup && u->u.type == UNIT_SERVICE)
			service_cgroup_event(u, true);
	}
	loop_timer_set(l, &m->cg_poll, CG_POLL_MS, cg_poll_tick, m);
}

/* --- reload, boot, shutdown --------------------------------------------- */

/*
 * A unit the reload may forget: it has no file any more and holds nothing
 * (inactive, no job, no process, no control group). If a unit still names
 * it, it comes back as a new not-found entry; if none does, it is gone, as
 * systemd collects such units.
 */
static bool unit_collectable(struct manager *m, const struct mu *u)
{
	return u->active == MU_INACTIVE && !u->job && u->main_pid <= 0 && u->control_pid <= 0 &&
	       !u->cgroup && !u->reload_done && !unit_defined(m, u->name);
}

int manager_daemon_reload(struct manager *m)
{
	struct mu **old = m->units;
	size_t n = m->nunits;
	int r = 0;

	/* A new graph from the files; the units keep running as they are. */
	ug_graph_free(&m->graph);
	ug_graph_init(&m->graph);
	m->units = NULL;
	m->nunits = m->cap_units = 0;
	for (size_t i = 0; i < n; i++) {
		struct mu *u = old[i];
		unsigned id;

		if (!u)
			continue;
		if (unit_collectable(m, u)) {
			service_release(u);
			unit_free(&u->u);
			free(u);
			continue;
		}
		if (ug_unit_add(&m->graph, u->name, &id) < 0 || slot_put(m, id, u) < 0) {
			r = -ENOMEM;
			continue;
		}
		u->id = id;
	}
	free(old);
	for (size_t i = 0; i < m->nunits; i++) {
		struct mu *u = m->units[i];

		if (!u)
			continue;
		unit_free(&u->u);
		unit_load_one(m, u);
		ug_unit_set_active(&m->graph, u->id, manager_ug_active(u->active));
	}
	load_pending(m, 0);
	return r;
}

void manager_boot(struct manager *m, const char *target)
{
	struct mu *u = manager_unit(m, target);
	struct err e = { 0 };

	if (!u) {
		log_err("unable to load %s", target);
		return;
	}
	if (manager_job(m, u, UG_JOB_START, NULL, NULL, &e) < 0)
		log_err("unable to start %s: %s", target, e.msg);
}

struct shutdown {
	job_done_fn *done;
	void *arg;
};

static void shutdown_done(void *arg, struct mu *u, enum job_result r)
{
	struct shutdown *s = arg;

	s->done(s->arg, u, r);
	free(s);
}

void manager_shutdown(struct manager *m, job_done_fn *done, void *arg)
{
	struct mu *t = manager_unit(m, "shutdown.target");
	struct shutdown *s = calloc(1, sizeof(*s));
	struct err e = { 0 };

	m->shutting_down = true;
	/* shutdown.target conflicts with everything that has default
	 * dependencies: starting it stops them, in reverse order. */
	if (!t || !s || (s->done = done, s->arg = arg,
			 manager_job(m, t, UG_JOB_START, shutdown_done, s, &e) < 0)) {
		log_err("unable to stop the units in order: %s", e.msg[0] ? e.msg : "out of memory");
		free(s);
		done(arg, t, JOB_FAILED);
	}
}

int manager_init(struct manager *m, const struct manager_config *c)
{
	size_t n = 0;
	int r;

	memset(m, 0, sizeof(*m));
	m->loop = c->loop;
	m->cg = c->cg;
	m->journal = c->journal;
	m->env = c->env;
	m->notify_fd = -1;
	ug_graph_init(&m->graph);
	for (; c->dirs[n] && n < MANAGER_DIRS_MAX; n++)
		m->dirs[n] = c->dirs[n];
	m->dirs[n] = NULL;
	snprintf(m->etc_dir, sizeof(m->etc_dir), "%s", c->etc_dir);
	snprintf(m->run_dir, sizeof(m->run_dir), "%s", c->run_dir);
	manager_mkdir_p(m->run_dir);
	r = notify_open(m);
	if (r < 0)
		log_warn("unable to open the notify socket: %s; Type=notify will not work", strerror(-r));
	if (m->cg) {
		r = cg_watch_init(m->cg);
		if (r >= 0)
			r = loop_io_add(m->loop, &m->cg_io, m->cg->watch_fd, EPOLLIN, cg_readable, m);
		if (r < 0) {
			log_warn("unable to watch control groups: %s; polling them instead", strerror(-r));
			loop_timer_set(m->loop, &m->cg_poll, CG_POLL_MS, cg_poll_tick, m);
		}
	}
	return 0;
}
