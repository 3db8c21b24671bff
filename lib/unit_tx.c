/*
 * Transactions over the unit graph: the steps unit_graph.h lists, in that
 * order. The graph is read through its public functions only.
 */
#include "unit_graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* Grow *p to hold need elements; the old array stays valid on failure. */
static int grow(void *p, size_t *cap, size_t need, size_t size)
{
	void **pp = p, *q;
	size_t n = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*pp, n * size);
	if (!q)
		return -ENOMEM;
	*pp = q;
	*cap = n;
	return 0;
}

struct tx_job {
	uint32_t unit, next_same;	/* the unit's live jobs, in creation order */
	uint32_t in, out;		/* links that pull it in / that it pulls in */
	uint32_t nin;			/* live links pulling it in */
	uint32_t gen, marker;		/* cycle search: pass seen in, and way back */
	uint32_t unmet;			/* a unit it needs and cannot have, or NONE */
	uint8_t type, unmet_dep;
	bool live, matters;
};

struct tx_link {
	uint32_t subject, object, next_in, next_out;
	bool live, matters, conflicts;
};

struct tx_del {
	uint32_t job, cause;
	uint8_t why;
};

struct tx_frame {
	uint32_t job, other;		/* other: the next job to look at */
	size_t cursor;			/* in the unit's dir list */
	uint8_t dir;			/* UG_BEFORE, then UG_AFTER */
};

struct tx_state {
	const struct unit_graph *g;
	struct ug_tx *out;
	struct err *e;
	struct tx_job *jobs;
	size_t njobs, cap_jobs;
	struct tx_link *links;
	size_t nlinks, cap_links;
	uint32_t *first;		/* per unit: its first live job */
	uint32_t *work;			/* jobs to expand, then to mark as mattering */
	size_t nwork, cap_work;
	uint32_t *orphans;		/* jobs whose last puller went */
	size_t norphans, cap_orphans;
	struct tx_del *del;
	size_t ndel, cap_del;
	struct tx_frame *frames;
	size_t cap_frames;
	uint32_t gen;
};

struct pull {
	uint8_t dep, type;
	bool matters, conflicts;
};

static const struct pull pulls_start[] = {
	{ UG_REQUIRES, UG_JOB_START, true, false },
	{ UG_BINDS_TO, UG_JOB_START, true, false },
	{ UG_WANTS, UG_JOB_START, false, false },
	{ UG_REQUISITE, UG_JOB_VERIFY_ACTIVE, true, false },
	{ UG_CONFLICTS, UG_JOB_STOP, true, true },
	{ UG_CONFLICTED_BY, UG_JOB_STOP, false, false },
};

/* A stop propagates as a stop, a restart as a restart of what is running. */
static const struct pull pulls_stop[] = {
	{ UG_REQUIRED_BY, UG_JOB_STOP, true, false },
	{ UG_BOUND_BY, UG_JOB_STOP, true, false },
	{ UG_CONSISTS_OF, UG_JOB_STOP, true, false },
	{ UG_REQUISITE_OF, UG_JOB_STOP, true, false },
};

static bool stop_like(unsigned type)
{
	return type == UG_JOB_STOP || type == UG_JOB_RESTART;
}

/*
 * Does job type a go before job type b when a's unit is dir (Before or
 * After) b's? Of units X Before Y, X's job goes first unless Y's stops.
 */
static bool runs_first(unsigned a, unsigned b, unsigned dir)
{
	return dir == UG_BEFORE ? !stop_like(b) : stop_like(a);
}

static bool redundant(unsigned type, unsigned active)
{
	switch (type) {
	case UG_JOB_START:
	case UG_JOB_VERIFY_ACTIVE:
		return active == UG_ACTIVE;
	case UG_JOB_STOP:
		return active == UG_INACTIVE || active == UG_FAILED;
	default:
		return active == UG_ACTIVATING;
	}
}

static const char *unloaded_why(unsigned load, int *code)
{
	static const int codes[UG_LOAD_MAX] = { -ENOENT, 0, -ENOEXEC, -EIO, -ERFKILL };
	static const char *const why[UG_LOAD_MAX] = {
		"is not found", "", "has a bad setting", "failed to load", "is masked",
	};

	*code = codes[load];
	return why[load];
}

static struct ug_step step_of(const struct tx_state *t, uint32_t j)
{
	return (struct ug_step){ .unit = t->jobs[j].unit, .type = t->jobs[j].type };
}

static const char *uname(const struct tx_state *t, uint32_t unit)
{
	return ug_unit_name(t->g, unit);
}

static unsigned active_of(const struct tx_state *t, uint32_t unit)
{
	return (unsigned)ug_unit_active(t->g, unit);
}

static unsigned load_of(const struct tx_state *t, uint32_t unit)
{
	return (unsigned)ug_unit_load(t->g, unit);
}

static int report(struct tx_state *t, const struct ug_finding *f)
{
	struct ug_tx *o = t->out;

	if (grow(&o->findings, &o->cap_findings, o->nfindings + 1, sizeof *o->findings))
		return -ENOMEM;
	o->findings[o->nfindings++] = *f;
	return 0;
}

static int report_deleted(struct tx_state *t, uint32_t j, unsigned why, uint32_t cause)
{
	struct ug_finding f = { .kind = UG_FOUND_DELETED, .job = step_of(t, j), .why = why };

	if (cause != NONE)
		f.cause = step_of(t, cause);
	if (why == UG_DROP_UNMET) {
		f.dep = t->jobs[j].unmet_dep;
		f.other = t->jobs[j].unmet;
	}
	return report(t, &f);
}

static void unit_unlink(struct tx_state *t, uint32_t j)
{
	uint32_t *p = &t->first[t->jobs[j].unit];

	while (*p != j)
		p = &t->jobs[*p].next_same;
	*p = t->jobs[j].next_same;
	t->jobs[j].live = false;
}

/*
 * Delete job j and, when cascade is set, every job that needed it through a
 * link that matters, transitively. Jobs left with nothing pulling them in
 * become orphans for tx_collect().
 */
static int tx_delete(struct tx_state *t, uint32_t j, unsigned why, uint32_t cause, bool cascade)
{
	t->ndel = 0;
	t->del[t->ndel++] = (struct tx_del){ j, cause, (uint8_t)why };
	while (t->ndel) {
		struct tx_del d = t->del[--t->ndel];
		uint32_t l;
		int r;

		if (!t->jobs[d.job].live)
			continue;
		unit_unlink(t, d.job);
		r = report_deleted(t, d.job, d.why, d.cause);
		if (r)
			return r;
		for (l = t->jobs[d.job].out; l != NONE; l = t->links[l].next_out) {
			struct tx_link *k = &t->links[l];

			if (!k->live)
				continue;
			k->live = false;
			if (--t->jobs[k->object].nin == 0 && k->object != 0)
				t->orphans[t->norphans++] = k->object;
		}
		for (l = t->jobs[d.job].in; l != NONE; l = t->links[l].next_in) {
			struct tx_link *k = &t->links[l];

			if (!k->live)
				continue;
			k->live = false;
			if (!cascade || !k->matters)
				continue;
			if (grow(&t->del, &t->cap_del, t->ndel + 1, sizeof *t->del))
				return -ENOMEM;
			t->del[t->ndel++] = (struct tx_del){ k->subject, d.job, UG_DROP_NEEDED_DELETED };
		}
	}
	return 0;
}

static int tx_delete_unit(struct tx_state *t, uint32_t unit, unsigned why)
{
	int r = 0;

	while (!r && t->first[unit] != NONE)
		r = tx_delete(t, t->first[unit], why, NONE, true);
	return r;
}

static int tx_collect(struct tx_state *t)
{
	int r = 0;

	while (!r && t->norphans) {
		uint32_t j = t->orphans[--t->norphans];

		if (t->jobs[j].live && t->jobs[j].nin == 0)
			r = tx_delete(t, j, UG_DROP_UNNEEDED, NONE, true);
	}
	return r;
}

/* Find or add the job, link it to by, and queue it for expansion if new. */
static int tx_job_add(struct tx_state *t, unsigned type, uint32_t unit, uint32_t by,
		      const struct pull *p)
{
	uint32_t j, last = NONE;

	for (j = t->first[unit]; j != NONE && t->jobs[j].type != type; j = t->jobs[j].next_same)
		last = j;
	if (j == NONE) {
		if (grow(&t->jobs, &t->cap_jobs, t->njobs + 1, sizeof *t->jobs) ||
		    grow(&t->work, &t->cap_work, t->nwork + 1, sizeof *t->work))
			return -ENOMEM;
		j = (uint32_t)t->njobs++;
		t->jobs[j] = (struct tx_job){
			.unit = unit, .next_same = NONE, .in = NONE, .out = NONE,
			.marker = NONE, .unmet = NONE, .type = (uint8_t)type, .live = true,
		};
		*(last == NONE ? &t->first[unit] : &t->jobs[last].next_same) = j;
		t->work[t->nwork++] = j;
	}
	if (by != NONE) {
		uint32_t l;

		if (grow(&t->links, &t->cap_links, t->nlinks + 1, sizeof *t->links))
			return -ENOMEM;
		l = (uint32_t)t->nlinks++;
		t->links[l] = (struct tx_link){
			.subject = by, .object = j, .next_in = t->jobs[j].in,
			.next_out = t->jobs[by].out, .live = true,
			.matters = p->matters, .conflicts = p->conflicts,
		};
		t->jobs[j].in = t->jobs[by].out = l;
		t->jobs[j].nin++;
	}
	return 0;
}

/* With try_restart, a pull becomes a restart if the unit runs, else nothing. */
static int tx_pull(struct tx_state *t, uint32_t by, const struct pull *p, uint32_t unit,
		   bool try_restart)
{
	unsigned type = p->type, active = active_of(t, unit);

	if (try_restart) {
		if (active != UG_ACTIVE && active != UG_ACTIVATING)
			return 0;
		type = UG_JOB_RESTART;
	}
	if (type != UG_JOB_STOP && load_of(t, unit) != UG_LOADED) {
		struct ug_finding f = {
			.kind = UG_FOUND_UNLOADED, .job = step_of(t, by), .dep = p->dep, .other = unit,
		};

		if (p->matters && t->jobs[by].unmet == NONE) {
			t->jobs[by].unmet = unit;
			t->jobs[by].unmet_dep = p->dep;
		}
		return report(t, &f);
	}
	return tx_job_add(t, type, unit, by, p);
}

static int tx_pull_all(struct tx_state *t, uint32_t j, const struct pull *pulls, size_t n,
		       bool try_restart)
{
	for (size_t i = 0; i < n; i++) {
		size_t cursor = 0;
		unsigned to;

		while (ug_dep_next(t->g, t->jobs[j].unit, pulls[i].dep, &cursor, &to) > 0) {
			int r = tx_pull(t, j, &pulls[i], to, try_restart);

			if (r)
				return r;
		}
	}
	return 0;
}

/* Step 1: pull in from each new job until no job is new. */
static int tx_expand(struct tx_state *t)
{
	int r = 0;

	while (!r && t->nwork) {
		uint32_t j = t->work[--t->nwork];
		unsigned type = t->jobs[j].type;

		if (type == UG_JOB_START || type == UG_JOB_RESTART)
			r = tx_pull_all(t, j, pulls_start, sizeof pulls_start / sizeof *pulls_start,
					false);
		if (!r && (type == UG_JOB_STOP || type == UG_JOB_RESTART))
			r = tx_pull_all(t, j, pulls_stop, sizeof pulls_stop / sizeof *pulls_stop,
					type == UG_JOB_RESTART);
	}
	return r;
}

/* work has room for every job: expansion pushed each once. */
static void tx_mark_matters(struct tx_state *t)
{
	t->jobs[0].matters = true;
	t->work[t->nwork++] = 0;
	while (t->nwork) {
		uint32_t j = t->work[--t->nwork];

		for (uint32_t l = t->jobs[j].out; l != NONE; l = t->links[l].next_out) {
			struct tx_job *o = &t->jobs[t->links[l].object];

			if (t->links[l].matters && !o->matters) {
				o->matters = true;
				t->work[t->nwork++] = t->links[l].object;
			}
		}
	}
}

/* Step 2. */
static int tx_unmet(struct tx_state *t)
{
	for (uint32_t j = 0; j < t->njobs; j++) {
		const struct tx_job *x = &t->jobs[j];
		int code, r;

		if (!x->live || x->unmet == NONE)
			continue;
		if (x->matters) {
			const char *why = unloaded_why(load_of(t, x->unmet), &code);

			err_set(t->e, 0, "%s needs %s (%s=), which %s", uname(t, x->unit),
				uname(t, x->unmet), ug_dep_name(x->unmet_dep), why);
			return code;
		}
		r = tx_delete(t, j, UG_DROP_UNMET, NONE, true);
		if (r)
			return r;
	}
	return 0;
}

/* Step 3, systemd's "minimize impact". */
static int tx_spare_running(struct tx_state *t)
{
	for (uint32_t j = 0; j < t->njobs; j++) {
		const struct tx_job *x = &t->jobs[j];
		unsigned active = active_of(t, x->unit);
		int r;

		if (!x->live || x->matters || x->type != UG_JOB_STOP ||
		    (active != UG_ACTIVE && active != UG_ACTIVATING))
			continue;
		r = tx_delete(t, j, UG_DROP_IMPACT, NONE, true);
		if (r)
			return r;
	}
	return 0;
}

/* Steps 4 and 7: a unit's jobs go only if every one of them is redundant. */
static int tx_drop_redundant(struct tx_state *t)
{
	for (uint32_t j = 0; j < t->njobs; j++) {
		uint32_t unit = t->jobs[j].unit, k;
		int r;

		if (!t->jobs[j].live || t->first[unit] != j)
			continue;
		for (k = j; k != NONE; k = t->jobs[k].next_same)
			if (k == 0 || !redundant(t->jobs[k].type, active_of(t, unit)))
				break;
		while (k == NONE && t->first[unit] != NONE) {
			r = tx_delete(t, t->first[unit], UG_DROP_REDUNDANT, NONE, false);
			if (r)
				return r;
		}
	}
	return 0;
}

static bool unit_matters(const struct tx_state *t, uint32_t unit)
{
	for (uint32_t j = t->first[unit]; j != NONE; j = t->jobs[j].next_same)
		if (t->jobs[j].matters)
			return true;
	return false;
}

/* The next job that must wait for f->job, or NONE when there are no more. */
static uint32_t tx_next_later(struct tx_state *t, struct tx_frame *f)
{
	unsigned to;

	for (;;) {
		if (f->other != NONE) {
			uint32_t o = f->other;

			f->other = t->jobs[o].next_same;
			if (runs_first(t->jobs[f->job].type, t->jobs[o].type, f->dir))
				return o;
		} else if (ug_dep_next(t->g, t->jobs[f->job].unit, f->dir, &f->cursor, &to) > 0) {
			f->other = t->first[to];
		} else if (f->dir == UG_BEFORE) {
			f->dir = UG_AFTER;
			f->cursor = 0;
		} else {
			return NONE;
		}
	}
}

/*
 * The search found job to again, reached from job from: the path back from
 * from to to, through the markers, is the cycle, each job waiting for the
 * next. Report it, then delete the first unit along it that does not
 * matter, or fail.
 */
static int tx_break_cycle(struct tx_state *t, uint32_t from, uint32_t to)
{
	struct ug_tx *o = t->out;
	struct ug_finding f = { .kind = UG_FOUND_CYCLE, .first = o->nsteps };
	uint32_t victim = NONE, k = from;
	char msg[ERR_MSG_MAX] = "";
	size_t n = 0;
	int r;

	for (size_t i = 0; i < t->njobs; i++) {
		if (grow(&o->steps, &o->cap_steps, o->nsteps + 1, sizeof *o->steps))
			return -ENOMEM;
		o->steps[o->nsteps++] = step_of(t, k);
		if (victim == NONE && !unit_matters(t, t->jobs[k].unit))
			victim = k;
		if (n < sizeof msg)
			n += (size_t)snprintf(msg + n, sizeof msg - n, "%s/%s -> ",
					      uname(t, t->jobs[k].unit), ug_job_type_name(t->jobs[k].type));
		if (k == to)
			break;
		k = t->jobs[k].marker;
	}
	f.count = o->nsteps - f.first;
	r = report(t, &f);
	if (r)
		return r;
	if (victim == NONE) {
		err_set(t->e, 0, "ordering cycle %s%s/%s cannot be broken: every job in it is needed",
			msg, uname(t, t->jobs[from].unit), ug_job_type_name(t->jobs[from].type));
		return -ELOOP;
	}
	return tx_delete_unit(t, t->jobs[victim].unit, UG_DROP_CYCLE);
}

/* Step 5's search, a depth-first walk along "goes before" between jobs. */
static int tx_verify_order(struct tx_state *t, bool *again)
{
	uint32_t gen = ++t->gen;

	for (uint32_t root = 0; root < t->njobs; root++) {
		size_t n = 0;

		if (!t->jobs[root].live || t->jobs[root].gen == gen)
			continue;
		t->jobs[root].gen = gen;
		t->jobs[root].marker = root;
		t->frames[n++] = (struct tx_frame){ root, NONE, 0, UG_BEFORE };
		while (n) {
			struct tx_frame *f = &t->frames[n - 1];
			uint32_t o = tx_next_later(t, f);

			if (o == NONE) {
				t->jobs[f->job].marker = NONE;
				n--;
			} else if (t->jobs[o].gen != gen) {
				t->jobs[o].gen = gen;
				t->jobs[o].marker = f->job;
				t->frames[n++] = (struct tx_frame){ o, NONE, 0, UG_BEFORE };
			} else if (t->jobs[o].marker != NONE) {
				*again = true;
				return tx_break_cycle(t, f->job, o);
			}
		}
	}
	return 0;
}

static bool conflicted(const struct tx_state *t, uint32_t j)
{
	for (uint32_t l = t->jobs[j].in; l != NONE; l = t->links[l].next_in)
		if (t->links[l].live && t->links[l].conflicts)
			return true;
	return false;
}

/* Step 6's first half: settle a stop and a start-like job on one unit. */
static int tx_settle(struct tx_state *t, uint32_t a, uint32_t b, bool *again)
{
	bool ma = t->jobs[a].matters, mb = t->jobs[b].matters;
	uint32_t d;

	if (!ma && !mb) {
		uint32_t stop = t->jobs[a].type == UG_JOB_STOP ? a : b;

		d = conflicted(t, stop) ? (stop == a ? b : a) : stop;
	} else if (!ma || !mb) {
		d = ma ? b : a;
	} else {
		err_set(t->e, 0, "conflicting jobs %s and %s for %s", ug_job_type_name(t->jobs[a].type),
			ug_job_type_name(t->jobs[b].type), uname(t, t->jobs[a].unit));
		return -EDEADLK;
	}
	*again = true;
	return tx_delete(t, d, UG_DROP_CONFLICT, d == a ? b : a, true);
}

static int tx_merge(struct tx_state *t, bool *again)
{
	for (uint32_t j = 0; j < t->njobs; j++) {
		if (!t->jobs[j].live || t->first[t->jobs[j].unit] != j)
			continue;
		for (uint32_t a = j; a != NONE; a = t->jobs[a].next_same)
			for (uint32_t b = t->jobs[a].next_same; b != NONE; b = t->jobs[b].next_same)
				if ((t->jobs[a].type == UG_JOB_STOP) != (t->jobs[b].type == UG_JOB_STOP))
					return tx_settle(t, a, b, again);
	}
	/* The first job of a unit, the anchor's among them, is the one kept. */
	for (uint32_t j = 0; j < t->njobs; j++) {
		if (!t->jobs[j].live || t->first[t->jobs[j].unit] != j)
			continue;
		for (uint32_t k = t->jobs[j].next_same; k != NONE; k = t->jobs[k].next_same) {
			if (t->jobs[k].type == UG_JOB_RESTART || t->jobs[j].type == UG_JOB_VERIFY_ACTIVE)
				t->jobs[j].type = t->jobs[k].type;
			t->jobs[j].matters |= t->jobs[k].matters;
			unit_unlink(t, k);
		}
	}
	return 0;
}

/* Append to out the jobs j waits for: those of units it is ordered against that go first. */
static size_t tx_waits(struct tx_state *t, uint32_t j, const uint32_t *index, uint32_t *stamp,
		       unsigned *out)
{
	static const uint8_t lists[2][2] = { { UG_AFTER, UG_BEFORE }, { UG_BEFORE, UG_AFTER } };
	size_t n = 0, cursor;
	unsigned to;

	for (int i = 0; i < 2; i++)
		for (cursor = 0; ug_dep_next(t->g, t->jobs[j].unit, lists[i][0], &cursor, &to) > 0;)
			for (uint32_t o = t->first[to]; o != NONE; o = t->jobs[o].next_same) {
				if (!runs_first(t->jobs[o].type, t->jobs[j].type, lists[i][1]) ||
				    stamp[index[o]] == j + 1)
					continue;
				stamp[index[o]] = j + 1;
				if (out)
					out[n] = index[o];
				n++;
			}
	return n;
}

/* The result: live jobs in creation order (the anchor first) and their waits. */
static int tx_output(struct tx_state *t)
{
	struct ug_tx *o = t->out;
	uint32_t *index = calloc(t->njobs, sizeof *index);
	uint32_t *stamp = calloc(t->njobs, sizeof *stamp);
	size_t n = 0, total = 0;
	int r = -ENOMEM;

	if (!index || !stamp)
		goto out;
	for (uint32_t j = 0; j < t->njobs; j++)
		if (t->jobs[j].live)
			index[j] = (uint32_t)n++;
	for (uint32_t j = 0; j < t->njobs; j++)
		if (t->jobs[j].live)
			total += tx_waits(t, j, index, stamp, NULL);
	o->jobs = calloc(n, sizeof *o->jobs);
	o->order = calloc(n, sizeof *o->order);
	o->wait_store = calloc(total ? total : 1, sizeof *o->wait_store);
	if (!o->jobs || !o->order || !o->wait_store)
		goto out;
	memset(stamp, 0, t->njobs * sizeof *stamp);
	total = 0;
	for (uint32_t j = 0; j < t->njobs; j++) {
		struct ug_job *x = &o->jobs[index[j]];

		if (!t->jobs[j].live)
			continue;
		x->unit = t->jobs[j].unit;
		x->type = t->jobs[j].type;
		x->noop = j == 0 && redundant(x->type, active_of(t, x->unit));
		x->waits = o->wait_store + total;
		x->nwaits = tx_waits(t, j, index, stamp, o->wait_store + total);
		total += x->nwaits;
	}
	o->njobs = n;
	r = 0;
out:
	free(index);
	free(stamp);
	return r;
}

/* Kahn's algorithm, first come first served, so the order is stable. */
static int tx_order(struct tx_state *t)
{
	struct ug_tx *o = t->out;
	size_t n = o->njobs, total = 0, head = 0, tail = 0, *left, *off;
	unsigned *waiter;
	int r = -ENOMEM;

	for (size_t i = 0; i < n; i++)
		total += o->jobs[i].nwaits;
	left = calloc(n + 1, sizeof *left);
	off = calloc(n + 1, sizeof *off);
	waiter = calloc(total + 1, sizeof *waiter);
	if (!left || !off || !waiter)
		goto out;
	/* waiter[off[x] .. off[x + 1]] are the jobs waiting for job x. */
	for (size_t i = 0; i < n; i++)
		for (size_t w = 0; w < o->jobs[i].nwaits; w++)
			off[o->jobs[i].waits[w] + 1]++;
	for (size_t i = 0; i < n; i++)
		off[i + 1] += off[i];
	for (size_t i = 0; i < n; i++)
		for (size_t w = 0; w < o->jobs[i].nwaits; w++)
			waiter[off[o->jobs[i].waits[w]] + left[o->jobs[i].waits[w]]++] = (unsigned)i;
	for (size_t i = 0; i < n; i++) {
		left[i] = o->jobs[i].nwaits;
		if (!left[i])
			o->order[tail++] = (unsigned)i;
	}
	while (head < tail) {
		unsigned x = o->order[head++];

		for (size_t w = off[x]; w < off[x + 1]; w++)
			if (--left[waiter[w]] == 0)
				o->order[tail++] = waiter[w];
	}
	r = 0;
	if (tail < n) {
		/* Cannot happen: step 5 left no cycle, and merging adds no edge. */
		err_set(t->e, 0, "ordering cycle left in the transaction");
		r = -ELOOP;
	}
out:
	free(left);
	free(off);
	free(waiter);
	return r;
}

static void tx_state_free(struct tx_state *t)
{
	free(t->jobs);
	free(t->links);
	free(t->first);
	free(t->work);
	free(t->orphans);
	free(t->del);
	free(t->frames);
}

static int tx_run(struct tx_state *t, unsigned anchor, unsigned type, enum ug_mode mode)
{
	static const struct pull none = { 0 };
	bool again;
	int r;

	r = tx_job_add(t, type, anchor, NONE, &none);
	if (!r)
		r = tx_expand(t);
	/* Every later push is of a distinct job, at most once. */
	if (!r && (grow(&t->work, &t->cap_work, t->njobs + 1, sizeof *t->work) ||
		   grow(&t->orphans, &t->cap_orphans, t->njobs, sizeof *t->orphans) ||
		   grow(&t->del, &t->cap_del, 1, sizeof *t->del) ||
		   grow(&t->frames, &t->cap_frames, t->njobs, sizeof *t->frames)))
		r = -ENOMEM;
	if (r)
		return r;
	tx_mark_matters(t);
	r = tx_unmet(t);
	if (!r && mode == UG_MODE_FAIL)
		r = tx_spare_running(t);
	if (!r)
		r = tx_drop_redundant(t);
	do {
		again = false;
		if (!r)
			r = tx_collect(t);
		if (!r)
			r = tx_verify_order(t, &again);
	} while (!r && again);
	do {
		again = false;
		if (!r)
			r = tx_merge(t, &again);
		if (!r && again)
			r = tx_collect(t);
	} while (!r && again);
	if (!r)
		r = tx_drop_redundant(t);
	if (!r)
		r = tx_output(t);
	if (!r)
		r = tx_order(t);
	return r;
}

int ug_tx_build(struct ug_tx *tx, const struct unit_graph *g, unsigned anchor,
		enum ug_job_type type, enum ug_mode mode, struct err *e)
{
	struct tx_state t = { .g = g, .out = tx, .e = e };
	int r;

	if (!tx)
		return -EINVAL;
	memset(tx, 0, sizeof *tx);
	if (!g || anchor >= g->nunits || (unsigned)type >= UG_JOB_TYPE_MAX ||
	    (mode != UG_MODE_REPLACE && mode != UG_MODE_FAIL)) {
		err_set(e, 0, "no such unit, job type or mode");
		return -EINVAL;
	}
	if (type != UG_JOB_STOP && ug_unit_load(g, anchor) != UG_LOADED) {
		const char *why = unloaded_why((unsigned)ug_unit_load(g, anchor), &r);

		err_set(e, 0, "%s %s", ug_unit_name(g, anchor), why);
		return r;
	}
	t.first = malloc(g->nunits * sizeof *t.first);
	if (!t.first)
		return -ENOMEM;
	memset(t.first, 0xff, g->nunits * sizeof *t.first);
	r = tx_run(&t, anchor, type, mode);
	tx_state_free(&t);
	if (r) {
		if (r == -ENOMEM)
			err_set(e, 0, "out of memory");
		free(tx->jobs);
		free(tx->order);
		free(tx->wait_store);
		tx->jobs = NULL;
		tx->order = tx->wait_store = NULL;
		tx->njobs = 0;
	}
	return r;
}

void ug_tx_free(struct ug_tx *tx)
{
	free(tx->jobs);
	free(tx->order);
	free(tx->findings);
	free(tx->steps);
	free(tx->wait_store);
	memset(tx, 0, sizeof *tx);
}

