/*
 * Jobs: a request becomes a transaction over the unit graph
 * (lib/unit_graph.h); each job runs when the jobs it waits for are done and
 * finishes when its unit gets where the job asked, or cannot.
 */
#include "manager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	ug_unit_set_active(&m->graph, u->id, manager_ug_active(u->active));
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

