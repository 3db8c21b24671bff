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

static enum ug_active ug_active_of(enum mu_active a)
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

/* Load every unit the graph names but has not loaded: dependencies are
 * loaded as systemd loads them, on demand. */
static void load_pending(struct manager *m)
{
	bool more = true;

	while (more) {
		more = false;
		for (size_t i = 0; i < m->graph.nunits; i++) {
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
	for (size_t i = 0; i < m->nunits; i++)
		if (m->units[i])
			target_orderings(m, m->units[i]);
}

struct mu *manager_unit(struct manager *m, const char *name)
{
	struct mu *u = manager_unit_find(m, name);

	if (u)
		return u;
	if (!unit_name_is_valid(name))
		return NULL;
	u = unit_new(m, name);
	if (!u)
		return NULL;
	unit_load_one(m, u);
	load_pending(m);
	return u;
}

/* --- jobs --------------------------------------------------------------- */

/*
 * A job's outcome is recorded where it happens (often deep inside a state
 * change) and acted on by dispatch(), which is never re-entered: callbacks
 * and new state changes during it only mark work for its next round.
 */
struct job_state {
	enum job_result result;
	bool finished, begun;
};

/* The job's state lives beside it; kept out of the public struct. */
struct job_full {
	struct job j;
	struct job_state s;
};

static struct job_state *js(struct job *j)
{
	return &((struct job_full *)j)->s;
}

static void dispatch(struct manager *m);

static void job_finish(struct job *j, enum job_result r)
{
	if (js(j)->finished)
		return;
	js(j)->finished = true;
	js(j)->result = r;
}

static const char *describe(struct mu *u)
{
	return u->u.description ? u->u.description : u->name;
}

static void job_log(struct job *j, enum job_result r)
{
	struct mu *u = j->unit;

	if (u->u.type != UNIT_SERVICE)
		return;
	if (j->type == UG_JOB_STOP && r == JOB_DONE)
		log_info("Stopped %s - %s.", u->name, describe(u));
	else if (j->type != UG_JOB_STOP && r == JOB_DONE && (u->active == MU_ACTIVE))
		log_info("Started %s - %s.", u->name, describe(u));
	else if (j->type != UG_JOB_STOP && r == JOB_DONE)
		log_info("Finished %s - %s.", u->name, describe(u));
	else if (j->type != UG_JOB_STOP && r == JOB_DEPENDENCY)
		log_warn("Dependency failed for %s - %s.", u->name, describe(u));
	else if (j->type != UG_JOB_STOP && r != JOB_CANCELED)
		log_err("Failed to start %s - %s.", u->name, describe(u));
}

/* Does unit a need unit b (Requires=, BindsTo=, Requisite=)? */
static bool needs(struct manager *m, struct mu *a, struct mu *b)
{
	static const enum ug_dep kinds[] = { UG_REQUIRES, UG_BINDS_TO, UG_REQUISITE };

	for (size_t k = 0; k < 3; k++) {
		size_t cur = 0;
		unsigned to;

		while (ug_dep_next(&m->graph, a->id, kinds[k], &cur, &to) == 1)
			if (to == b->id)
				return true;
	}
	return false;
}

/* Take a finished job out: tell its waiters, fail what needed it. */
static void job_retire(struct manager *m, struct job *j)
{
	enum job_result r = js(j)->result;
	struct job_waiter *w, *next;
	struct job **pp;

	for (struct job *o = m->jobs; o; o = o->next) {
		for (size_t i = 0; i < o->nwaits; i++) {
			if (o->waits[i] != j)
				continue;
			o->waits[i] = NULL;
			if (r != JOB_DONE && j->type != UG_JOB_STOP && o->type != UG_JOB_STOP &&
			    needs(m, o->unit, j->unit))
				job_finish(o, JOB_DEPENDENCY);
		}
	}
	for (pp = &m->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->unit->job == j)
		j->unit->job = NULL;
	job_log(j, r);
	for (w = j->waiters; w; w = next) {
		next = w->next;
		w->fn(w->arg, j->unit, r);
		free(w);
	}
	free(j->waits);
	free(j);
}

static bool job_ready(const struct job *j)
{
	for (size_t i = 0; i < j->nwaits; i++)
		if (j->waits[i])
			return false;
	return true;
}

static bool is_up(const struct mu *u)
{
	return u->active == MU_ACTIVE || u->active == MU_RELOADING;
}

static bool is_down(const struct mu *u)
{
	return u->active == MU_INACTIVE || u->active == MU_FAILED;
}

static void unit_target_set(struct mu *u, bool up)
{
	enum mu_active old = u->active;
	uint64_t now = manager_now_usec();

	u->active = up ? MU_ACTIVE : MU_INACTIVE;
	u->sub = up ? SUB_ACTIVE : SUB_DEAD;
	if (old != u->active) {
		u->state_change_usec = now;
		*(up ? &u->active_enter_usec : &u->inactive_enter_usec) = now;
		manager_unit_changed(u, old);
	}
}

static void job_begin_start(struct job *j)
{
	struct mu *u = j->unit;
	int r;

	js(j)->begun = true;
	if (is_up(u))
		return job_finish(j, JOB_DONE);
	if (u->load != UNIT_LOADED)
		return job_finish(j, JOB_INVALID);
	if (unit_name_is_template(u->name)) {
		/* Pulled in by a dependency on the template's own name. */
		log_warn("%s is a template and cannot be started; name an instance", u->name);
		return job_finish(j, JOB_INVALID);
	}
	if (!unit_type_is_supported(u->u.type)) {
		log_warn("%s: Pith does not run .%s units", u->name, unit_type_name(u->u.type));
		return job_finish(j, JOB_UNSUPPORTED);
	}
	if (u->u.type == UNIT_TARGET) {
		r = unit_conditions_check(u);
		if (r == 0)
			unit_target_set(u, true);
		return job_finish(j, r == -EINVAL ? JOB_FAILED : JOB_DONE);
	}
	if (u->active == MU_ACTIVATING && u->sub != SUB_AUTO_RESTART)
		return;		/* already on its way */
	if (u->active == MU_DEACTIVATING) {
		js(j)->begun = false;	/* start once it is down */
		return;
	}
	log_info("Starting %s - %s...", u->name, describe(u));
	r = service_start(u);
	if (r == -ECANCELED)
		job_finish(j, JOB_DONE);	/* a condition was not met: skipped, not failed */
	else if (r < 0)
		job_finish(j, JOB_FAILED);
}

static void job_begin_stop(struct job *j)
{
	struct mu *u = j->unit;

	js(j)->begun = true;
	if (is_down(u) && u->sub != SUB_AUTO_RESTART)
		return job_finish(j, JOB_DONE);
	if (u->u.type != UNIT_SERVICE) {
		unit_target_set(u, false);
		return job_finish(j, JOB_DONE);
	}
	if (u->active != MU_DEACTIVATING)
		log_info("Stopping %s - %s...", u->name, describe(u));
	service_stop(u);
	if (is_down(u) && u->sub != SUB_AUTO_RESTART)
		job_finish(j, JOB_DONE);
}

static void job_run(struct job *j)
{
	j->running = true;
	js(j)->begun = true;
	switch (j->type) {
	case UG_JOB_START:
		job_begin_start(j);
		break;
	case UG_JOB_STOP:
		job_begin_stop(j);
		break;
	case UG_JOB_RESTART:
		if (!j->restart_stopped && !(is_down(j->unit) && j->unit->sub != SUB_AUTO_RESTART)) {
			job_begin_stop(j);
			if (js(j)->finished) {
				/* Down already: now the start half. */
				js(j)->finished = false;
				j->restart_stopped = true;
				job_begin_start(j);
			}
		} else {
			j->restart_stopped = true;
			job_begin_start(j);
		}
		break;
	case UG_JOB_VERIFY_ACTIVE:
		if (is_up(j->unit))
			job_finish(j, JOB_DONE);
		else if (j->unit->active != MU_ACTIVATING)
			job_finish(j, JOB_DEPENDENCY);
		break;
	default:
		job_finish(j, JOB_INVALID);
		break;
	}
}

static void dispatch(struct manager *m)
{
	bool again = true;

	if (m->dispatching) {
		m->dispatching = 2;
		return;
	}
	while (again) {
		m->dispatching = 1;
		again = false;
		for (struct job *j = m->jobs, *next; j; j = next) {
			next = j->next;
			if (js(j)->finished) {
				job_retire(m, j);
				again = true;
				break;	/* the list changed under us */
			}
			if (!j->running && job_ready(j)) {
				job_run(j);
				again = true;
			} else if (j->running && !js(j)->begun && j->type != UG_JOB_STOP &&
				   is_down(j->unit)) {
				/* A start that waited for its unit to finish stopping. */
				job_begin_start(j);
				again = true;
			}
		}
		if (m->dispatching == 2)
			again = true;
	}
	m->dispatching = 0;
}

/* A state change: complete the job that waited for it. */
void manager_unit_changed(struct mu *u, enum mu_active old)
{
	struct manager *m = u->m;
	struct job *j = u->job;

	ug_unit_set_active(&m->graph, u->id, ug_active_of(u->active));
	if (j && j->running && !js(j)->finished && js(j)->begun) {
		switch (j->type) {
		case UG_JOB_START:
		case UG_JOB_RESTART:
			if (j->type == UG_JOB_RESTART && !j->restart_stopped) {
				if (is_down(u) || u->sub == SUB_AUTO_RESTART) {
					j->restart_stopped = true;
					js(j)->begun = false;	/* dispatch starts it */
				}
				break;
			}
			if (is_up(u))
				job_finish(j, JOB_DONE);
			else if (u->active == MU_FAILED || u->sub == SUB_AUTO_RESTART)
				job_finish(j, u->result == RES_TIMEOUT ? JOB_TIMEOUT : JOB_FAILED);
			else if (u->active == MU_INACTIVE)
				job_finish(j, u->result == RES_SUCCESS ? JOB_DONE : JOB_FAILED);
			break;
		case UG_JOB_STOP:
			if (is_down(u))
				job_finish(j, JOB_DONE);
			break;
		case UG_JOB_VERIFY_ACTIVE:
			if (is_up(u))
				job_finish(j, JOB_DONE);
			else if (u->active != MU_ACTIVATING)
				job_finish(j, JOB_DEPENDENCY);
			break;
		default:
			break;
		}
	}
	if (u->active == MU_FAILED && old != MU_FAILED)
		log_warn("%s: failed with result '%s'.", u->name, mu_result_name(u->result));
	/* BindsTo=: units bound to one that went down go down with it. */
	if (is_down(u) && old != MU_INACTIVE && old != MU_FAILED) {
		size_t cur = 0;
		unsigned to;

		while (ug_dep_next(&m->graph, u->id, UG_BOUND_BY, &cur, &to) == 1) {
			struct mu *b = to < m->nunits ? m->units[to] : NULL;

			if (b && !b->job && !is_down(b))
				manager_job(m, b, UG_JOB_STOP, NULL, NULL, NULL);
		}
	}
	dispatch(m);
}

static void log_findings(struct manager *m, const struct ug_tx *tx)
{
	for (size_t i = 0; i < tx->nfindings; i++) {
		const struct ug_finding *f = &tx->findings[i];
		const char *name = ug_unit_name(&m->graph, f->job.unit);

		switch (f->kind) {
		case UG_FOUND_CYCLE: {
			char buf[1024];
			size_t n = 0;

			for (size_t k = 0; k < f->count && n < sizeof(buf) - 1; k++)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s/%s", k ? " -> " : "",
						      ug_unit_name(&m->graph, tx->steps[f->first + k].unit),
						      ug_job_type_name(tx->steps[f->first + k].type));
			log_warn("ordering cycle found: %s", buf);
			break;
		}
		case UG_FOUND_DELETED:
			if (f->why == UG_DROP_CYCLE)
				log_warn("job %s/%s deleted to break the ordering cycle", name,
					 ug_job_type_name(f->job.type));
			break;
		case UG_FOUND_UNLOADED:
			log_warn("%s: %s %s, which is not loaded", name, ug_dep_name(f->dep),
				 ug_unit_name(&m->graph, f->other));
			break;
		}
	}
}

int manager_job(struct manager *m, struct mu *u, enum ug_job_type type, job_done_fn *done,
		void *arg, struct err *e)
{
	struct err local = { 0 };
	struct ug_tx tx = { 0 };
	struct job **made;
	int r;

	if (!e)
		e = &local;
	if (u->load == UNIT_NOT_FOUND && type != UG_JOB_STOP) {
		err_set(e, 0, "Unit %s not found.", u->name);
		return -ENOENT;
	}
	if (u->load == UNIT_MASKED && type != UG_JOB_STOP) {
		err_set(e, 0, "Unit %s is masked.", u->name);
		return -ESHUTDOWN;
	}
	if (unit_name_is_template(u->name) && type != UG_JOB_STOP) {
		err_set(e, 0, "Unit %s is a template: name an instance, like %.*s@NAME%s.", u->name,
			(int)strcspn(u->name, "@"), u->name, strrchr(u->name, '.'));
		return -EINVAL;
	}
	r = ug_tx_build(&tx, &m->graph, u->id, type, UG_MODE_REPLACE, e);
	if (r < 0) {
		log_warn("%s: transaction for %s refused: %s", u->name, ug_job_type_name(type), e->msg);
		return r;
	}
	log_findings(m, &tx);
	made = calloc(tx.njobs ? tx.njobs : 1, sizeof(*made));
	if (!made) {
		ug_tx_free(&tx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < tx.njobs; i++) {
		struct mu *x = m->units[tx.jobs[i].unit];
		struct job_full *f;

		if (x->job && x->job->type == tx.jobs[i].type && !js(x->job)->finished) {
			made[i] = x->job;	/* merged with the one already there */
			continue;
		}
		if (x->job && !js(x->job)->finished)
			job_finish(x->job, JOB_CANCELED);
		f = calloc(1, sizeof(*f));
		if (!f) {
			r = -ENOMEM;
			break;
		}
		f->j.unit = x;
		f->j.type = tx.jobs[i].type;
		f->j.next = m->jobs;
		m->jobs = &f->j;
		x->job = &f->j;
		made[i] = &f->j;
	}
	for (size_t i = 0; i < tx.njobs && r >= 0; i++) {
		struct job *j = made[i];

		if (!j || j->running || j->nwaits || !tx.jobs[i].nwaits)
			continue;
		j->waits = calloc(tx.jobs[i].nwaits, sizeof(*j->waits));
		if (!j->waits)
			continue;	/* it runs without waiting: better than not at all */
		for (size_t k = 0; k < tx.jobs[i].nwaits; k++)
			if (made[tx.jobs[i].waits[k]] != j)
				j->waits[j->nwaits++] = made[tx.jobs[i].waits[k]];
	}
	if (r >= 0 && done && made[0]) {
		struct job_waiter *w = calloc(1, sizeof(*w));

		if (w) {
			w->fn = done;
			w->arg = arg;
			w->next = made[0]->waiters;
			made[0]->waiters = w;
		} else {
			r = -ENOMEM;
		}
	}
	free(made);
	ug_tx_free(&tx);
	dispatch(m);
	return r < 0 ? r : 0;
}

int manager_reload_unit(struct manager *m, struct mu *u, job_done_fn *done, void *arg,
			struct err *e)
{
	int r;

	if (u->u.type != UNIT_SERVICE || !is_up(u)) {
		err_set(e, 0, "Unit %s is not active, cannot reload.", u->name);
		return -ENOTCONN;
	}
	if (u->reload_done) {
		err_set(e, 0, "A reload of %s is already running.", u->name);
		return -EBUSY;
	}
	u->reload_done = done;
	u->reload_arg = arg;
	r = service_reload(u);
	if (r < 0) {
		u->reload_done = NULL;
		err_set(e, 0, r == -EOPNOTSUPP ? "Unit %s does not support reloading."
						: "Reload of %s failed.", u->name);
	}
	return r;
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

/* --- enable, disable ---------------------------------------------------- */

static bool link_points_at(const char *link, const char *name)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	const char *base;

	if (n <= 0)
		return false;
	target[n] = 0;
	base = strrchr(target, '/');
	return strcmp(base ? base + 1 : target, name) == 0;
}

/* Is name linked from some "<x>.wants/" or ".requires/" in a unit dir? */
static bool is_linked(struct manager *m, const char *name)
{
	for (size_t i = 0; m->dirs[i]; i++) {
		struct dirent *de;
		DIR *d = opendir(m->dirs[i]);

		if (!d)
			continue;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			char path[PATH_MAX];
			struct stat st;

			if (!((n > 6 && !strcmp(de->d_name + n - 6, ".wants")) ||
			      (n > 9 && !strcmp(de->d_name + n - 9, ".requires"))))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", m->dirs[i], de->d_name, name);
			if (lstat(path, &st) == 0) {
				closedir(d);
				return true;
			}
		}
		closedir(d);
	}
	return false;
}

const char *manager_unit_file_state(struct manager *m, struct mu *u)
{
	const struct unit *x = &u->u;

	if (u->load == UNIT_MASKED)
		return "masked";
	if (!x->path || u->load == UNIT_NOT_FOUND)
		return "";
	if (!strcmp(x->path, "(built-in)"))
		return "static";
	if (is_linked(m, u->name))
		return "enabled";
	if (!x->wanted_by.n && !x->required_by.n && !x->alias.n && !x->also.n)
		return "static";
	return "disabled";
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int link_make(struct manager *m, const char *dir, const char *name, const char *target,
		     manager_change_fn *fn, void *arg)
{
	char path[PATH_MAX];
	int r;

	if (dir) {
		snprintf(path, sizeof(path), "%s/%s", m->etc_dir, dir);
		if ((r = mkdir_p(path)) < 0)
			return r;
		snprintf(path, sizeof(path), "%s/%s/%s", m->etc_dir, dir, name);
	} else {
		snprintf(path, sizeof(path), "%s/%s", m->etc_dir, name);
	}
	if (link_points_at(path, strrchr(target, '/') ? strrchr(target, '/') + 1 : target))
		return 0;
	unlink(path);
	if (symlink(target, path) < 0)
		return -errno;
	if (fn)
		fn(arg, true, path, target);
	return 0;
}

/* Remove links to name: in every .wants/.requires of etc_dir, and aliases. */
static void links_remove(struct manager *m, const char *name, const char *target_base,
			 manager_change_fn *fn, void *arg)
{
	DIR *d = opendir(m->etc_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[PATH_MAX];

		if ((n > 6 && !strcmp(de->d_name + n - 6, ".wants")) ||
		    (n > 9 && !strcmp(de->d_name + n - 9, ".requires"))) {
			snprintf(path, sizeof(path), "%s/%s/%s", m->etc_dir, de->d_name, name);
			if (unlink(path) == 0 && fn)
				fn(arg, false, path, NULL);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", m->etc_dir, de->d_name);
		if (strcmp(de->d_name, name) && link_points_at(path, target_base) && unlink(path) == 0 && fn)
			fn(arg, false, path, NULL);
	}
	closedir(d);
}

int manager_enable(struct manager *m, struct mu *u, bool enable, manager_change_fn *fn,
		   void *arg, struct err *e)
{
	const struct unit *x = &u->u;
	char dir[UNIT_NAME_MAX + 16];
	const char *base;
	int r = 0;

	if (u->load == UNIT_MASKED) {
		err_set(e, 0, "Unit %s is masked.", u->name);
		return -ESHUTDOWN;
	}
	if (!x->path || u->load == UNIT_NOT_FOUND || !strcmp(x->path, "(built-in)")) {
		err_set(e, 0, "Unit %s does not exist.", u->name);
		return -ENOENT;
	}
	base = strrchr(x->path, '/') ? strrchr(x->path, '/') + 1 : x->path;
	if (unit_name_is_template(u->name)) {
		char inst[UNIT_NAME_MAX + 1];
		struct mu *i;

		/* A template is enabled as its DefaultInstance=. */
		if (!x->default_instance ||
		    unit_name_instantiate(u->name, x->default_instance, inst, sizeof(inst)) < 0 ||
		    !(i = manager_unit(m, inst))) {
			err_set(e, 0, "Unit %s is a template without DefaultInstance=: enable an instance.", u->name);
			return -EINVAL;
		}
		return manager_enable(m, i, enable, fn, arg, e);
	}
	if (!enable) {
		links_remove(m, u->name, base, fn, arg);
	} else {
		for (size_t i = 0; i < x->wanted_by.n && r == 0; i++) {
			snprintf(dir, sizeof(dir), "%s.wants", x->wanted_by.v[i]);
			r = link_make(m, dir, u->name, x->path, fn, arg);
		}
		for (size_t i = 0; i < x->required_by.n && r == 0; i++) {
			snprintf(dir, sizeof(dir), "%s.requires", x->required_by.v[i]);
			r = link_make(m, dir, u->name, x->path, fn, arg);
		}
		for (size_t i = 0; i < x->alias.n && r == 0; i++)
			r = link_make(m, NULL, x->alias.v[i], x->path, fn, arg);
		if (r < 0) {
			err_set(e, 0, "Failed to enable %s: %s", u->name, strerror(-r));
			return r;
		}
	}
	for (size_t i = 0; i < x->also.n; i++) {
		struct mu *o = manager_unit(m, x->also.v[i]);

		if (o && o != u)
			manager_enable(m, o, enable, fn, arg, NULL);
	}
	return manager_daemon_reload(m);
}

/* --- reload, boot, shutdown --------------------------------------------- */

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
		ug_unit_set_active(&m->graph, u->id, ug_active_of(u->active));
	}
	load_pending(m);
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
	mkdir_p(m->run_dir);
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
