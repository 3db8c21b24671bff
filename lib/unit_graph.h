/*
 * The unit dependency graph, and the job transactions built over it the way
 * systemd 252 builds them (systemd.unit(5), [Unit] dependencies). PID 1 asks
 * it what to do when a unit is started or stopped; `pith check` asks it for
 * ordering cycles and missing requirements before an image is built.
 *
 * It is pure: no I/O, no clock, no printing. Units are named by the
 * caller (the unit-file loader feeds it names, never parsed files) and
 * numbered here with small integers, their ids, in the order they were
 * first named. Names start with ug_, for "unit graph". unit_graph.c holds
 * the graph and the offline check, unit_tx.c the transactions.
 *
 * Requirement and ordering are independent, as in systemd: Requires= pulls
 * a unit in, After= only says which job goes first when both have one.
 *
 * The graph
 *   ug_graph_init(), then ug_unit_add() and ug_dep_add() in any order. A
 *   unit may be named by a dependency before (or without) being loaded: it
 *   starts "not-found" and inactive, and the caller sets its load state and
 *   its activity as they change. Each declared dependency is also kept
 *   from the other end: X Requires Y gives Y RequiredBy X, X Conflicts Y
 *   gives Y ConflictedBy X, and X Before Y is the same fact as Y After X
 *   (either end lists it under Before/After).
 *
 * A transaction: ug_tx_build() for one anchor job, in these steps
 *   1. Pull in, from each new job:
 *        start, restart  Requires=, BindsTo= targets get start jobs that
 *                        matter; Wants= targets start jobs that do not;
 *                        Requisite= targets verify-active jobs; Conflicts=
 *                        targets stop jobs that matter, and units that
 *                        declare Conflicts= on this one stop jobs that do
 *                        not.
 *        stop            every unit that Requires=, BindsTo=, Requisite=
 *                        or is PartOf= this one gets a stop job.
 *        restart         those same units get a restart job if they are
 *                        active or activating, nothing otherwise.
 *      A job "matters" to the anchor when a chain of mattering pulls leads
 *      to it from the anchor; a job pulled only through Wants= (or a
 *      reverse Conflicts=) does not.
 *   2. Unmet requirements. Starting (verifying, restarting) a unit that is
 *      not loaded is impossible; stopping one is fine. If the anchor is such
 *      a unit, or a job that matters needs one through Requires=, BindsTo=
 *      or Requisite=, the transaction fails naming both units. A job that
 *      does not matter and needs one is deleted, with the jobs that needed
 *      it; a Wants= on such a unit is ignored. Each is a finding.
 *   3. In mode UG_MODE_FAIL, stop jobs that do not matter and would stop an
 *      active or activating unit are deleted, with the jobs that needed them.
 *   4. Jobs whose unit is already in the state they ask for are deleted
 *      (start or verify-active of an active unit, stop of an inactive or
 *      failed one, restart of an activating one) -- except the anchor, which
 *      stays and is marked noop.
 *   5. Jobs that nothing pulls in any more are deleted. Then ordering cycles
 *      among the jobs are searched for. A cycle is broken by deleting every
 *      job of the first unit along it that does not matter (then the jobs
 *      that needed them, then what nothing pulls in any more), and the
 *      search starts again. If every unit in it matters, the transaction
 *      fails.
 *   6. A unit with both a stop job and a start-like job: if one of the two
 *      does not matter it is deleted (when neither matters the stop goes,
 *      unless a Conflicts= of the unit being started asked for it, in which
 *      case the start goes), with the jobs that needed it and what nothing
 *      pulls in any more, until no unit has both; if both matter, the
 *      transaction fails. Then the jobs left for one unit merge into one:
 *      start and verify-active make start, restart with either makes
 *      restart.
 *   7. Step 4 once more, then the result.
 *
 * Ordering between two jobs, for units A Before B (that is, B After A):
 * A's job goes first unless B's job is a stop or a restart, in which case
 * B's goes first. So two starts run A then B, two stops B then A, and a
 * stop always runs before a start. A restart is ordered as a stop, which is
 * its first half: the caller runs it as a stop and then, like systemd, turns
 * it into a start that waits for the start-like jobs of the units it is
 * After. Ordering binds only jobs in the same transaction.
 */
#ifndef PITH_UNIT_GRAPH_H
#define PITH_UNIT_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define UG_NAME_MAX 255			/* bytes in a unit name, as systemd allows */
#define UG_UNITS_MAX 100000		/* units in one graph */
#define UG_DEPS_MAX 1000000		/* declared dependencies in one graph */

enum ug_dep {
	/* What a unit file declares: ug_dep_add() takes these. Their order is
	 * the unit-file parser's (enum unit_dep in unit.h) and must stay so. */
	UG_REQUIRES,
	UG_WANTS,
	UG_BINDS_TO,
	UG_PART_OF,
	UG_REQUISITE,
	UG_CONFLICTS,
	UG_AFTER,
	UG_BEFORE,
	/* Kept by the graph at the other end; ug_dep_next() lists them. */
	UG_REQUIRED_BY,
	UG_WANTED_BY,
	UG_BOUND_BY,
	UG_CONSISTS_OF,
	UG_REQUISITE_OF,
	UG_CONFLICTED_BY,
	UG_DEP_MAX,
};

enum ug_load {
	UG_LOAD_NOT_FOUND,		/* the default: named, but no file loaded */
	UG_LOADED,
	UG_LOAD_BAD_SETTING,		/* loaded, but it cannot run as written */
	UG_LOAD_ERROR,			/* its file could not be read or parsed */
	UG_LOAD_MASKED,
	UG_LOAD_MAX,
};

enum ug_active {
	UG_INACTIVE,			/* the default */
	UG_ACTIVATING,
	UG_ACTIVE,
	UG_DEACTIVATING,
	UG_FAILED,
	UG_ACTIVE_MAX,
};

struct ug_unit;
struct ug_edge;

/* The struct belongs to the caller; what it points to, to the graph. */
struct unit_graph {
	struct ug_unit *units;
	size_t nunits, cap_units;
	struct ug_edge *edges;		/* in pairs: as declared, then reversed */
	size_t nedges, cap_edges;
	uint32_t *names;		/* hash of names to id + 1 */
	size_t cap_names;
	uint32_t *deps;			/* hash of declared dependencies to pair + 1 */
	size_t cap_deps;
};

void ug_graph_init(struct unit_graph *g);
void ug_graph_free(struct unit_graph *g);

/*
 * The id of the unit called name, adding it (not-found, inactive) if it is
 * new. A name is 1 to UG_NAME_MAX bytes of printable ASCII without spaces
 * or '/'; the graph checks nothing more about it. 0; -EINVAL for a bad name;
 * -ENOSPC past UG_UNITS_MAX; -ENOMEM, leaving the graph as it was.
 */
int ug_unit_add(struct unit_graph *g, const char *name, unsigned *id);

/* 0 with *id set, or -ENOENT if no unit has that name (-EINVAL if bad). */
int ug_unit_find(const struct unit_graph *g, const char *name, unsigned *id);

/* The unit's name, valid as long as the graph; NULL for an unknown id. */
const char *ug_unit_name(const struct unit_graph *g, unsigned id);

/* Set by the caller as its units load and run. 0, or -EINVAL. */
int ug_unit_set_load(struct unit_graph *g, unsigned id, enum ug_load load);
int ug_unit_set_active(struct unit_graph *g, unsigned id, enum ug_active active);
/* The current values, or -EINVAL for an unknown id. */
int ug_unit_load(const struct unit_graph *g, unsigned id);
int ug_unit_active(const struct unit_graph *g, unsigned id);

/*
 * Declare "from dep to" (dep one of UG_REQUIRES .. UG_BEFORE), adding either
 * unit if it is new. Declaring what is already there is a no-op. A
 * dependency of a unit on itself is dropped, as systemd drops it, and
 * -ELOOP returned; an ordering one is still remembered so that
 * ug_check_run() reports it as a cycle of one. 0; -EINVAL for a bad name or
 * kind; -ENOSPC past UG_DEPS_MAX; -ENOMEM (either unit may then have been
 * added, the dependency has not).
 */
int ug_dep_add(struct unit_graph *g, const char *from, enum ug_dep dep, const char *to);
/* The same by id: -EINVAL for an unknown id. */
int ug_dep_add_id(struct unit_graph *g, unsigned from, enum ug_dep dep, unsigned to);

/*
 * The units that unit id has a dep on (any kind, declared or kept at the
 * other end), in the order they were declared. Set *cursor to 0, then call
 * until it returns 0: 1 with *to set, 0 at the end, -EINVAL on bad
 * arguments. The graph must not change during the walk.
 */
int ug_dep_next(const struct unit_graph *g, unsigned id, enum ug_dep dep, size_t *cursor,
		unsigned *to);

/* "Requires", "RequiredBy", ... as unit files and systemctl show spell them. */
const char *ug_dep_name(enum ug_dep dep);
/* The reverse of ug_dep_name(): 0, or -EINVAL for a name it does not know. */
int ug_dep_from_name(const char *name, enum ug_dep *dep);
/* "loaded", "not-found", "bad-setting", "error", "masked". */
const char *ug_load_name(enum ug_load load);
/* "inactive", "activating", "active", "deactivating", "failed". */
const char *ug_active_name(enum ug_active active);

/* --- transactions ------------------------------------------------------- */

enum ug_job_type {
	UG_JOB_START,
	UG_JOB_VERIFY_ACTIVE,		/* succeed if active, wait if activating, else fail */
	UG_JOB_STOP,
	UG_JOB_RESTART,
	UG_JOB_TYPE_MAX,
};

/* "start", "verify-active", "stop", "restart". */
const char *ug_job_type_name(enum ug_job_type type);

enum ug_mode {
	UG_MODE_REPLACE,		/* systemctl's default */
	UG_MODE_FAIL,			/* also leave running units alone unless needed */
};

struct ug_step {
	unsigned unit;
	enum ug_job_type type;
};

struct ug_job {
	unsigned unit;
	enum ug_job_type type;
	bool noop;			/* the anchor only: its unit is already there */
	const unsigned *waits;		/* indices in tx->jobs of the jobs to finish first */
	size_t nwaits;
};

enum ug_finding_kind {
	/* job needs unit other through dep, and other is not loaded */
	UG_FOUND_UNLOADED,
	/* tx->steps[first ..] form an ordering cycle: each waits for the
	 * next, the last for the first */
	UG_FOUND_CYCLE,
	/* job was deleted from the transaction; why says what for */
	UG_FOUND_DELETED,
};

enum ug_drop {
	UG_DROP_UNMET,			/* it needs other through dep, not loaded */
	UG_DROP_NEEDED_DELETED,		/* it needed cause, which was deleted */
	UG_DROP_UNNEEDED,		/* nothing pulls it in any more */
	UG_DROP_CYCLE,			/* to break the cycle found just before */
	UG_DROP_CONFLICT,		/* its unit also had cause, the job kept */
	UG_DROP_IMPACT,			/* mode fail: it would stop a running unit */
	UG_DROP_REDUNDANT,		/* its unit is already in that state */
};

struct ug_finding {
	enum ug_finding_kind kind;
	struct ug_step job;
	enum ug_drop why;		/* DELETED */
	struct ug_step cause;		/* DELETED: NEEDED_DELETED, CONFLICT */
	enum ug_dep dep;		/* UNLOADED; DELETED: UNMET */
	unsigned other;			/* likewise */
	size_t first, count;		/* CYCLE */
};

/* A transaction. The struct is the caller's; ug_tx_free() frees what it points to. */
struct ug_tx {
	struct ug_job *jobs;		/* jobs[0] is the anchor's */
	size_t njobs;
	unsigned *order;		/* every job once, each after those it waits for */
	struct ug_finding *findings;	/* in the order they happened */
	size_t nfindings, cap_findings;
	struct ug_step *steps;		/* the members of cycles found */
	size_t nsteps, cap_steps;
	unsigned *wait_store;		/* behind jobs[].waits */
};

/*
 * Build the transaction for a job of type on unit anchor, in the steps
 * above. tx need not be initialised; free it with ug_tx_free() after any
 * return. The graph is only read: several transactions may be built from
 * it, and it may change once they are built.
 *
 * 0: tx holds the jobs, their waits, an order to start them in and the
 * findings. Otherwise tx holds no jobs, the findings up to the failure,
 * and e (if not NULL) a message naming the units:
 *   -ENOENT, -ENOEXEC, -EIO, -ERFKILL  the anchor, or a requirement that
 *            matters, is not found, has a bad setting, failed to load, or
 *            is masked
 *   -ELOOP   an ordering cycle in which every job matters
 *   -EDEADLK a unit would need both a stop and a start that matter
 *   -EINVAL  an unknown anchor, type or mode;  -ENOMEM
 */
int ug_tx_build(struct ug_tx *tx, const struct unit_graph *g, unsigned anchor,
		enum ug_job_type type, enum ug_mode mode, struct err *e);
void ug_tx_free(struct ug_tx *tx);

/* --- the offline check -------------------------------------------------- */

struct ug_cycle {
	/* c->units[path ..]: each unit is After the next, the last After the
	 * first; a shortest such loop through the knot's lowest id */
	size_t path, npath;
	/* c->units[members ..]: every unit of the knot (the strongly
	 * connected part of the After relation), by id */
	size_t members, nmembers;
};

struct ug_unmet {
	unsigned unit;
	enum ug_dep dep;		/* UG_REQUIRES, UG_BINDS_TO or UG_REQUISITE */
	unsigned target;		/* not loaded */
};

struct ug_check {
	struct ug_cycle *cycles;	/* by lowest id */
	size_t ncycles;
	struct ug_unmet *unmet;		/* by unit, then kind, then as declared */
	size_t nunmet;
	unsigned *units;
	size_t nunits;
};

/*
 * Everything `pith check` reports about the graph as a whole: every
 * ordering cycle (a knot of units ordered After each other, or a unit After
 * itself), and every hard requirement on a unit that is not loaded. c need
 * not be initialised; free it with ug_check_free() after any return.
 * 0, -EINVAL or -ENOMEM.
 */
int ug_check_run(struct ug_check *c, const struct unit_graph *g);
void ug_check_free(struct ug_check *c);

#endif
