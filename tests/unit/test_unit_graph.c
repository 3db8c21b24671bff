/*
 * The unit graph and its transactions: what systemd does when a unit is
 * started, stopped or restarted, as a transcript of findings, jobs and the
 * order they run in.
 *
 * Graphs are written one fact per line: "a Requires b c" declares a
 * dependency, "b active" or "c not-found" sets a state. Every unit named is
 * loaded and inactive unless a line says otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "unit_graph.h"

static void state_set(struct unit_graph *g, unsigned id, const char *word)
{
	for (unsigned l = 0; l < UG_LOAD_MAX; l++)
		if (strcmp(word, ug_load_name(l)) == 0) {
			assert_int_equal(ug_unit_set_load(g, id, l), 0);
			return;
		}
	for (unsigned a = 0; a < UG_ACTIVE_MAX; a++)
		if (strcmp(word, ug_active_name(a)) == 0) {
			assert_int_equal(ug_unit_set_active(g, id, a), 0);
			return;
		}
	fail_msg("no such state: %s", word);
}

static unsigned unit(struct unit_graph *g, const char *name)
{
	size_t before = g->nunits;
	unsigned id;

	assert_int_equal(ug_unit_add(g, name, &id), 0);
	if (g->nunits > before)
		assert_int_equal(ug_unit_set_load(g, id, UG_LOADED), 0);
	return id;
}

static void build(struct unit_graph *g, const char *spec)
{
	char *text = strdup(spec), *line, *lsave;

	ug_graph_init(g);
	for (line = strtok_r(text, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
		char *wsave, *word = strtok_r(line, " ", &wsave);
		unsigned from = unit(g, word);
		enum ug_dep dep;

		word = strtok_r(NULL, " ", &wsave);
		if (word && ug_dep_from_name(word, &dep) == 0) {
			while ((word = strtok_r(NULL, " ", &wsave)))
				assert_int_equal(ug_dep_add_id(g, from, dep, unit(g, word)), 0);
			continue;
		}
		for (; word; word = strtok_r(NULL, " ", &wsave))
			state_set(g, from, word);
	}
	free(text);
}

static const char *err_name(int r)
{
	switch (-r) {
	case ENOENT: return "ENOENT";
	case ENOEXEC: return "ENOEXEC";
	case EIO: return "EIO";
	case ERFKILL: return "ERFKILL";
	case ELOOP: return "ELOOP";
	case EDEADLK: return "EDEADLK";
	case EINVAL: return "EINVAL";
	default: return "?";
	}
}

static void step_print(struct buf *b, const struct unit_graph *g, struct ug_step s)
{
	buf_printf(b, "%s/%s", ug_unit_name(g, s.unit), ug_job_type_name(s.type));
}

static void finding_print(struct buf *b, const struct unit_graph *g, const struct ug_tx *tx,
			  const struct ug_finding *f)
{
	switch (f->kind) {
	case UG_FOUND_UNLOADED:
		buf_puts(b, "unloaded: ");
		step_print(b, g, f->job);
		buf_printf(b, " needs %s by %s (%s)\n", ug_unit_name(g, f->other), ug_dep_name(f->dep),
			   ug_load_name(ug_unit_load(g, f->other)));
		return;
	case UG_FOUND_CYCLE:
		buf_puts(b, "cycle: ");
		for (size_t i = 0; i < f->count; i++) {
			step_print(b, g, tx->steps[f->first + i]);
			buf_puts(b, " -> ");
		}
		step_print(b, g, tx->steps[f->first]);
		buf_puts(b, "\n");
		return;
	case UG_FOUND_DELETED:
		buf_puts(b, "deleted ");
		step_print(b, g, f->job);
		switch (f->why) {
		case UG_DROP_UNMET:
			buf_printf(b, ": needs %s by %s (%s)\n", ug_unit_name(g, f->other),
				   ug_dep_name(f->dep), ug_load_name(ug_unit_load(g, f->other)));
			return;
		case UG_DROP_NEEDED_DELETED:
			buf_puts(b, ": needed ");
			step_print(b, g, f->cause);
			buf_puts(b, "\n");
			return;
		case UG_DROP_CONFLICT:
			buf_puts(b, ": conflicts with ");
			step_print(b, g, f->cause);
			buf_puts(b, "\n");
			return;
		case UG_DROP_UNNEEDED:
			buf_puts(b, ": nothing needs it\n");
			return;
		case UG_DROP_CYCLE:
			buf_puts(b, ": breaks the cycle\n");
			return;
		case UG_DROP_IMPACT:
			buf_puts(b, ": would stop a running unit\n");
			return;
		case UG_DROP_REDUNDANT:
			buf_puts(b, ": redundant\n");
			return;
		}
	}
	fail_msg("unknown finding");
}

/* The transcript of one transaction: findings, jobs with their waits, order. */
static char *tx_text(const struct unit_graph *g, const char *anchor, enum ug_job_type type,
		     enum ug_mode mode)
{
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	struct ug_tx tx;
	unsigned id;
	int r;

	assert_int_equal(ug_unit_find(g, anchor, &id), 0);
	r = ug_tx_build(&tx, g, id, type, mode, &e);
	for (size_t i = 0; i < tx.nfindings; i++)
		finding_print(&b, g, &tx, &tx.findings[i]);
	if (r < 0) {
		assert_int_equal(tx.njobs, 0);
		buf_printf(&b, "error %s: %s\n", err_name(r), e.msg);
	}
	for (size_t i = 0; i < tx.njobs; i++) {
		const struct ug_job *j = &tx.jobs[i];

		buf_puts(&b, "job ");
		step_print(&b, g, (struct ug_step){ j->unit, j->type });
		buf_puts(&b, j->noop ? " noop" : "");
		buf_puts(&b, j->nwaits ? " waits" : "");
		for (size_t w = 0; w < j->nwaits; w++) {
			buf_puts(&b, " ");
			step_print(&b, g, (struct ug_step){ tx.jobs[j->waits[w]].unit,
							    tx.jobs[j->waits[w]].type });
		}
		buf_puts(&b, "\n");
	}
	if (tx.njobs)
		buf_puts(&b, "order:");
	for (size_t i = 0; i < tx.njobs; i++) {
		buf_puts(&b, " ");
		step_print(&b, g, (struct ug_step){ tx.jobs[tx.order[i]].unit,
						    tx.jobs[tx.order[i]].type });
	}
	buf_puts(&b, tx.njobs ? "\n" : "");
	ug_tx_free(&tx);
	return b.data ? b.data : strdup("");
}

static void expect_tx(const char *spec, const char *anchor, enum ug_job_type type,
		      enum ug_mode mode, const char *transcript)
{
	struct unit_graph g;
	char *text;

	build(&g, spec);
	text = tx_text(&g, anchor, type, mode);
	assert_string_equal(text, transcript);
	free(text);
	ug_graph_free(&g);
}

#define START(spec, anchor, transcript) \
	expect_tx(spec, anchor, UG_JOB_START, UG_MODE_REPLACE, transcript)
#define STOP(spec, anchor, transcript) \
	expect_tx(spec, anchor, UG_JOB_STOP, UG_MODE_REPLACE, transcript)

/* --- the graph ----------------------------------------------------------- */

static void units_are_numbered_by_name_in_order_of_first_mention(void **state)
{
	struct unit_graph g;
	char longest[UG_NAME_MAX + 2];
	unsigned id = 99;

	ug_graph_init(&g);
	assert_int_equal(ug_unit_add(&g, "a.service", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(ug_unit_add(&g, "b.target", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(ug_unit_add(&g, "a.service", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(ug_unit_find(&g, "b.target", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(ug_unit_find(&g, "c.service", &id), -ENOENT);
	assert_string_equal(ug_unit_name(&g, 1), "b.target");
	assert_int_equal(ug_unit_load(&g, 0), UG_LOAD_NOT_FOUND);
	assert_int_equal(ug_unit_active(&g, 0), UG_INACTIVE);

	memset(longest, 'x', sizeof longest);
	longest[UG_NAME_MAX] = 0;
	assert_int_equal(ug_unit_add(&g, longest, NULL), 0);
	longest[UG_NAME_MAX] = 'x';
	longest[UG_NAME_MAX + 1] = 0;
	assert_int_equal(ug_unit_add(&g, longest, NULL), -EINVAL);
	assert_int_equal(ug_unit_add(&g, "", NULL), -EINVAL);
	assert_int_equal(ug_unit_add(&g, "a b", NULL), -EINVAL);
	assert_int_equal(ug_unit_add(&g, "a/b", NULL), -EINVAL);
	assert_int_equal(ug_unit_add(&g, "a\tb", NULL), -EINVAL);
	assert_int_equal(g.nunits, 3);
	ug_graph_free(&g);
}

static void unknown_ids_and_kinds_are_refused(void **state)
{
	struct unit_graph g;
	struct ug_tx tx;
	size_t cursor = 0;

	build(&g, "a Requires b");
	assert_null(ug_unit_name(&g, 2));
	assert_int_equal(ug_unit_set_load(&g, 2, UG_LOADED), -EINVAL);
	assert_int_equal(ug_unit_set_load(&g, 0, UG_LOAD_MAX), -EINVAL);
	assert_int_equal(ug_unit_set_active(&g, 0, UG_ACTIVE_MAX), -EINVAL);
	assert_int_equal(ug_unit_load(&g, 7), -EINVAL);
	assert_int_equal(ug_dep_add_id(&g, 0, UG_REQUIRES, 2), -EINVAL);
	assert_int_equal(ug_dep_add_id(&g, 0, UG_REQUIRED_BY, 1), -EINVAL);
	assert_int_equal(ug_dep_add(&g, "a", UG_WANTED_BY, "b"), -EINVAL);
	assert_int_equal(ug_dep_add(&g, "a", UG_WANTS, "no/slash"), -EINVAL);
	assert_int_equal(ug_dep_next(&g, 2, UG_REQUIRES, &cursor, NULL), -EINVAL);
	cursor = 1000;
	assert_int_equal(ug_dep_next(&g, 0, UG_REQUIRES, &cursor, NULL), -EINVAL);
	assert_int_equal(ug_tx_build(&tx, &g, 2, UG_JOB_START, UG_MODE_REPLACE, NULL), -EINVAL);
	ug_tx_free(&tx);
	assert_int_equal(ug_tx_build(&tx, &g, 0, UG_JOB_TYPE_MAX, UG_MODE_REPLACE, NULL), -EINVAL);
	ug_tx_free(&tx);
	assert_int_equal(ug_tx_build(&tx, &g, 0, UG_JOB_START, 7, NULL), -EINVAL);
	ug_tx_free(&tx);
	assert_int_equal(ug_dep_from_name("Needs", &(enum ug_dep){ 0 }), -EINVAL);
	ug_graph_free(&g);
}

static char *deps_text(const struct unit_graph *g)
{
	struct buf b = BUF_INIT;

	for (unsigned u = 0; u < g->nunits; u++) {
		buf_printf(&b, "%s:", ug_unit_name(g, u));
		for (unsigned d = 0; d < UG_DEP_MAX; d++) {
			size_t cursor = 0;
			unsigned to;

			if (ug_dep_next(g, u, d, &cursor, &to) <= 0)
				continue;
			buf_printf(&b, " %s", ug_dep_name(d));
			do
				buf_printf(&b, " %s", ug_unit_name(g, to));
			while (ug_dep_next(g, u, d, &cursor, &to) > 0);
			buf_puts(&b, ";");
		}
		buf_puts(&b, "\n");
	}
	return b.data;
}

static void dependencies_are_kept_from_both_ends(void **state)
{
	struct unit_graph g;
	char *text;

	build(&g, "a Requires b\na Wants c\na BindsTo d\na PartOf e\na Requisite f\n"
		  "a Conflicts g\na After h\na Before i\ni After a\nh Before a");
	text = deps_text(&g);
	assert_string_equal(text,
			    "a: Requires b; Wants c; BindsTo d; PartOf e; Requisite f; Conflicts g;"
			    " After h; Before i;\n"
			    "b: RequiredBy a;\n"
			    "c: WantedBy a;\n"
			    "d: BoundBy a;\n"
			    "e: ConsistsOf a;\n"
			    "f: RequisiteOf a;\n"
			    "g: ConflictedBy a;\n"
			    "h: Before a;\n"
			    "i: After a;\n");
	free(text);
	ug_graph_free(&g);
}

static void a_dependency_on_itself_is_dropped(void **state)
{
	struct unit_graph g;
	size_t cursor = 0;

	ug_graph_init(&g);
	assert_int_equal(ug_dep_add(&g, "a", UG_REQUIRES, "a"), -ELOOP);
	assert_int_equal(ug_dep_add(&g, "a", UG_AFTER, "a"), -ELOOP);
	assert_int_equal(ug_dep_next(&g, 0, UG_REQUIRES, &cursor, NULL), 0);
	assert_int_equal(ug_dep_next(&g, 0, UG_AFTER, &cursor, NULL), 0);
	ug_graph_free(&g);
}

/* --- pulling jobs in ------------------------------------------------------ */

static void start_pulls_in_what_the_unit_requires_and_wants(void **state)
{
	/* PartOf= only propagates stops; an active Requisite= needs no job. */
	START("a Requires b\na Wants c\na BindsTo d\na Requisite e\na PartOf f\nb Wants g\n"
	      "e active",
	      "a",
	      "deleted e/verify-active: redundant\n"
	      "job a/start\n"
	      "job b/start\n"
	      "job d/start\n"
	      "job c/start\n"
	      "job g/start\n"
	      "order: a/start b/start d/start c/start g/start\n");
}

static void requisite_verifies_unless_the_unit_is_started_anyway(void **state)
{
	START("a Requisite e", "a",
	      "job a/start\n"
	      "job e/verify-active\n"
	      "order: a/start e/verify-active\n");
	START("a Requisite e\na Wants e", "a",
	      "job a/start\n"
	      "job e/start\n"
	      "order: a/start e/start\n");
}

static void start_stops_conflicting_units_in_both_directions(void **state)
{
	START("a Conflicts b\nc Conflicts a\nb active\nc active\nd Conflicts a", "a",
	      "deleted d/stop: redundant\n"
	      "job a/start\n"
	      "job b/stop\n"
	      "job c/stop\n"
	      "order: a/start b/stop c/stop\n");
}

static void stop_propagates_to_units_that_need_it(void **state)
{
	/* Wants= does not propagate; a unit already stopped needs no job. */
	STOP("a Requires x\nb BindsTo x\nc PartOf x\nd Requisite x\ne Wants x\nf Requires a\n"
	     "g Requires x\nx active\na active\nb active\nc active\nd active\ne active\n"
	     "f active",
	     "x",
	     "deleted g/stop: redundant\n"
	     "job x/stop\n"
	     "job a/stop\n"
	     "job b/stop\n"
	     "job c/stop\n"
	     "job d/stop\n"
	     "job f/stop\n"
	     "order: x/stop a/stop b/stop c/stop d/stop f/stop\n");
}

static void restart_propagates_to_active_dependents_only(void **state)
{
	/*
	 * c is inactive, so its Requires= gets no restart. A restart pulls in
	 * what a start does: a's pulls a start of x, which merges into x's
	 * restart, and x's stops w, which conflicts with it. A restart is
	 * ordered like a stop: a After x restarts a first.
	 */
	expect_tx("a Requires x\nb PartOf x\nc Requires x\nx Requires y\nx Conflicts w\n"
		  "a After x\na active\nb active\nx active\ny active\nw active",
		  "x", UG_JOB_RESTART, UG_MODE_REPLACE,
		  "deleted y/start: redundant\n"
		  "job x/restart waits a/restart\n"
		  "job w/stop\n"
		  "job a/restart\n"
		  "job b/restart\n"
		  "order: w/stop a/restart b/restart x/restart\n");
}

static void jobs_for_units_already_there_are_dropped_but_the_anchor_stays(void **state)
{
	/* c was pulled in only by b's start, which went. */
	START("a Requires b\nb Requires c\na active\nb active", "a",
	      "deleted b/start: redundant\n"
	      "deleted c/start: nothing needs it\n"
	      "job a/start noop\n"
	      "order: a/start\n");
	STOP("a Requires b", "b",
	     "deleted a/stop: redundant\n"
	     "job b/stop noop\n"
	     "order: b/stop\n");
}

/* --- units that are not loaded ------------------------------------------- */

static void a_requirement_that_is_not_loaded_fails_naming_both_units(void **state)
{
	START("a Requires b\nb not-found", "a",
	      "unloaded: a/start needs b by Requires (not-found)\n"
	      "error ENOENT: a needs b (Requires=), which is not found\n");
	START("a BindsTo b\nb bad-setting", "a",
	      "unloaded: a/start needs b by BindsTo (bad-setting)\n"
	      "error ENOEXEC: a needs b (BindsTo=), which has a bad setting\n");
	START("a Requisite b\nb masked", "a",
	      "unloaded: a/start needs b by Requisite (masked)\n"
	      "error ERFKILL: a needs b (Requisite=), which is masked\n");
	START("a Requires b\nb Requires c\nc error", "a",
	      "unloaded: b/start needs c by Requires (error)\n"
	      "error EIO: b needs c (Requires=), which failed to load\n");
	START("a not-found", "a", "error ENOENT: a is not found\n");
}

static void a_unit_not_loaded_can_still_be_stopped(void **state)
{
	STOP("a not-found active", "a",
	     "job a/stop\n"
	     "order: a/stop\n");
}

static void a_wanted_unit_that_cannot_start_is_left_out(void **state)
{
	START("a Wants b c\nb not-found\nc Requires d\nc Wants e\nd not-found", "a",
	      "unloaded: a/start needs b by Wants (not-found)\n"
	      "unloaded: c/start needs d by Requires (not-found)\n"
	      "deleted c/start: needs d by Requires (not-found)\n"
	      "deleted e/start: nothing needs it\n"
	      "job a/start\n"
	      "order: a/start\n");
}

/* --- conflicts and modes ---------------------------------------------------- */

static void start_and_stop_of_one_unit_that_both_matter_fail(void **state)
{
	/* c stops b, and b's stop stops a, which requires it. */
	START("a Requires b c\nc Conflicts b", "a",
	      "error EDEADLK: conflicting jobs start and stop for a\n");
}

static void when_neither_matters_the_conflicting_unit_wins(void **state)
{
	START("a Wants b c\nc Conflicts b\nb active", "a",
	      "deleted b/start: conflicts with b/stop\n"
	      "deleted c/stop: nothing needs it\n"
	      "job a/start\n"
	      "job c/start\n"
	      "job b/stop\n"
	      "order: a/start c/start b/stop\n");
}

static void the_job_that_does_not_matter_gives_way(void **state)
{
	/*
	 * c's start would stop b and so a, which requires b. The anchor's
	 * start wins; what needed the stops goes with them. c was not running.
	 */
	START("a Requires b\na Wants c\nc Conflicts b", "a",
	      "deleted a/stop: conflicts with a/start\n"
	      "deleted b/stop: needed a/stop\n"
	      "deleted c/start: needed b/stop\n"
	      "deleted c/stop: redundant\n"
	      "job a/start\n"
	      "job b/start\n"
	      "order: a/start b/start\n");
}

static void mode_fail_leaves_running_units_alone_unless_needed(void **state)
{
	static const char spec[] = "a Conflicts b\nc Conflicts a\na Wants d\nd Conflicts e\n"
				   "b active\nc active\ne active";

	expect_tx(spec, "a", UG_JOB_START, UG_MODE_REPLACE,
		  "job a/start\n"
		  "job d/start\n"
		  "job b/stop\n"
		  "job c/stop\n"
		  "job e/stop\n"
		  "order: a/start d/start b/stop c/stop e/stop\n");
	expect_tx(spec, "a", UG_JOB_START, UG_MODE_FAIL,
		  "deleted c/stop: would stop a running unit\n"
		  "deleted e/stop: would stop a running unit\n"
		  "deleted d/start: needed e/stop\n"
		  "job a/start\n"
		  "job b/stop\n"
		  "order: a/start b/stop\n");
}

/* --- ordering ------------------------------------------------------------- */

static void starts_run_in_after_order(void **state)
{
	/* d is not in the transaction, so a does not wait for it. */
	START("a Requires b\na After b d\nb Wants c\nc Before b", "a",
	      "job a/start waits b/start\n"
	      "job b/start waits c/start\n"
	      "job c/start\n"
	      "order: c/start b/start a/start\n");
}

static void stops_run_in_reverse_order(void **state)
{
	STOP("a Requires b\na After b\nc PartOf b\nc Before b\na active\nb active\nc active", "b",
	     "job b/stop waits a/stop\n"
	     "job a/stop\n"
	     "job c/stop waits b/stop\n"
	     "order: a/stop b/stop c/stop\n");
}

static void a_stop_runs_before_a_start_whichever_way_they_are_ordered(void **state)
{
	START("a Conflicts b c\na After b\na Before c\nb active\nc active", "a",
	      "job a/start waits b/stop c/stop\n"
	      "job b/stop\n"
	      "job c/stop\n"
	      "order: b/stop c/stop a/start\n");
}

/* --- ordering cycles -------------------------------------------------------- */

static void a_cycle_through_a_wanted_unit_is_broken_by_deleting_it(void **state)
{
	/* d existed only for c, so it goes with it. */
	START("a Requires b\na Wants c\na After b\nb After c\nc After a\nc Requires d", "a",
	      "cycle: b/start -> c/start -> a/start -> b/start\n"
	      "deleted c/start: breaks the cycle\n"
	      "deleted d/start: nothing needs it\n"
	      "job a/start waits b/start\n"
	      "job b/start\n"
	      "order: b/start a/start\n");
}

static void a_cycle_of_jobs_that_all_matter_fails(void **state)
{
	START("a Requires b\nb Requires c\nc Requires a\na After b\nb After c\nc After a", "a",
	      "cycle: b/start -> c/start -> a/start -> b/start\n"
	      "error ELOOP: ordering cycle b/start -> c/start -> a/start -> b/start cannot be"
	      " broken: every job in it is needed\n");
}

/* --- scale -------------------------------------------------------------------- */

#define CHAIN 10000

/* u0 Requires and is After u1, u1 the same of u2, ... */
static void chain_build(struct unit_graph *g)
{
	char name[32];
	unsigned prev = 0, id;

	ug_graph_init(g);
	for (int i = 0; i < CHAIN; i++) {
		snprintf(name, sizeof name, "u%d", i);
		assert_int_equal(ug_unit_add(g, name, &id), 0);
		assert_int_equal(ug_unit_set_load(g, id, UG_LOADED), 0);
		if (i) {
			assert_int_equal(ug_dep_add_id(g, prev, UG_REQUIRES, id), 0);
			assert_int_equal(ug_dep_add_id(g, prev, UG_AFTER, id), 0);
		}
		prev = id;
	}
}

static void a_chain_of_ten_thousand_starts_from_its_far_end(void **state)
{
	struct unit_graph g;
	struct ug_tx tx;

	chain_build(&g);
	assert_int_equal(ug_tx_build(&tx, &g, 0, UG_JOB_START, UG_MODE_REPLACE, NULL), 0);
	assert_int_equal(tx.njobs, CHAIN);
	for (unsigned i = 0; i < CHAIN; i++) {
		assert_int_equal(tx.jobs[tx.order[i]].unit, CHAIN - 1 - i);
		assert_int_equal(tx.jobs[i].nwaits, i == CHAIN - 1 ? 0 : 1);
	}
	ug_tx_free(&tx);

	/* Stopping the far end stops all of it, nearest end first. */
	for (unsigned i = 0; i < CHAIN; i++)
		ug_unit_set_active(&g, i, UG_ACTIVE);
	assert_int_equal(ug_tx_build(&tx, &g, CHAIN - 1, UG_JOB_STOP, UG_MODE_REPLACE, NULL), 0);
	assert_int_equal(tx.njobs, CHAIN);
	for (unsigned i = 0; i < CHAIN; i++)
		assert_int_equal(tx.jobs[tx.order[i]].unit, i);
	ug_tx_free(&tx);
	ug_graph_free(&g);
}

static void a_cycle_ten_thousand_long_is_found(void **state)
{
	struct unit_graph g;
	struct ug_check c;
	struct ug_tx tx;
	struct err e;

	chain_build(&g);
	assert_int_equal(ug_dep_add_id(&g, CHAIN - 1, UG_AFTER, 0), 0);
	assert_int_equal(ug_tx_build(&tx, &g, 0, UG_JOB_START, UG_MODE_REPLACE, &e), -ELOOP);
	assert_int_equal(tx.nfindings, 1);
	assert_int_equal(tx.findings[0].count, CHAIN);
	ug_tx_free(&tx);

	assert_int_equal(ug_check_run(&c, &g), 0);
	assert_int_equal(c.ncycles, 1);
	assert_int_equal(c.cycles[0].npath, CHAIN);
	assert_int_equal(c.cycles[0].nmembers, CHAIN);
	for (unsigned i = 0; i < CHAIN; i++)
		assert_int_equal(c.units[c.cycles[0].path + i], i);
	ug_check_free(&c);
	ug_graph_free(&g);
}

/*
 * 10,000 units, 100,000 dependencies, all pointing to higher numbers so
 * there is no cycle: every wait must come earlier in the order.
 */
static void ten_thousand_units_and_a_hundred_thousand_edges(void **state)
{
	struct unit_graph g;
	struct ug_check c;
	struct ug_tx tx;
	unsigned *pos = calloc(CHAIN + 1, sizeof *pos), top, seed = 1, id;
	clock_t t0 = clock();

	chain_build(&g);
	assert_int_equal(ug_unit_add(&g, "all.target", &top), 0);
	ug_unit_set_load(&g, top, UG_LOADED);
	for (unsigned i = 0; i < CHAIN; i++)
		assert_int_equal(ug_dep_add_id(&g, top, UG_WANTS, i), 0);
	while (g.nedges / 2 < 100000) {
		unsigned a, b;

		seed = seed * 1103515245u + 12345u;
		a = (seed >> 8) % CHAIN;
		seed = seed * 1103515245u + 12345u;
		b = (seed >> 8) % CHAIN;
		if (a == b)
			continue;
		assert_int_equal(ug_dep_add_id(&g, a < b ? a : b, (seed >> 4) & 1 ? UG_AFTER : UG_WANTS,
					       a < b ? b : a), 0);
	}
	assert_int_equal(ug_unit_find(&g, "u5000", &id), 0);
	assert_int_equal(id, 5000);

	assert_int_equal(ug_tx_build(&tx, &g, top, UG_JOB_START, UG_MODE_REPLACE, NULL), 0);
	assert_int_equal(tx.njobs, CHAIN + 1);
	for (unsigned i = 0; i < tx.njobs; i++)
		pos[tx.order[i]] = i;
	for (unsigned i = 0; i < tx.njobs; i++)
		for (size_t w = 0; w < tx.jobs[i].nwaits; w++)
			assert_true(pos[tx.jobs[i].waits[w]] < pos[i]);
	ug_tx_free(&tx);

	assert_int_equal(ug_check_run(&c, &g), 0);
	assert_int_equal(c.ncycles, 0);
	ug_check_free(&c);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);
	free(pos);
	ug_graph_free(&g);
}

/* --- the offline check ---------------------------------------------------- */

static char *check_text(const struct unit_graph *g)
{
	struct buf b = BUF_INIT;
	struct ug_check c;

	assert_int_equal(ug_check_run(&c, g), 0);
	for (size_t i = 0; i < c.ncycles; i++) {
		const struct ug_cycle *y = &c.cycles[i];

		buf_puts(&b, "cycle:");
		for (size_t k = 0; k < y->npath; k++)
			buf_printf(&b, " %s ->", ug_unit_name(g, c.units[y->path + k]));
		buf_printf(&b, " %s; knot:", ug_unit_name(g, c.units[y->path]));
		for (size_t k = 0; k < y->nmembers; k++)
			buf_printf(&b, " %s", ug_unit_name(g, c.units[y->members + k]));
		buf_puts(&b, "\n");
	}
	for (size_t i = 0; i < c.nunmet; i++)
		buf_printf(&b, "unmet: %s %s %s (%s)\n", ug_unit_name(g, c.unmet[i].unit),
			   ug_dep_name(c.unmet[i].dep), ug_unit_name(g, c.unmet[i].target),
			   ug_load_name(ug_unit_load(g, c.unmet[i].target)));
	ug_check_free(&c);
	return b.data ? b.data : strdup("");
}

static void the_check_finds_every_ordering_cycle_and_missing_requirement(void **state)
{
	struct unit_graph g;
	char *text;

	/*
	 * a-b-c is a plain loop; e and f are ordered against each other from
	 * both sides; k, l and m make one knot whose shortest loop through k
	 * is k-l; g is only After a loop, not in one.
	 */
	build(&g, "a After b\nb After c\nc After a\nd\ne Before f\nf Before e\ng After a\n"
		  "h Requires x\nh BindsTo y\nh Requisite z\nh Wants w\nx not-found\n"
		  "y bad-setting\nk After l\nl After m k\nm After k");
	assert_int_equal(ug_dep_add(&g, "d", UG_AFTER, "d"), -ELOOP);
	text = check_text(&g);
	assert_string_equal(text,
			    "cycle: a -> b -> c -> a; knot: a b c\n"
			    "cycle: d -> d; knot: d\n"
			    "cycle: e -> f -> e; knot: e f\n"
			    "cycle: k -> l -> k; knot: k l m\n"
			    "unmet: h Requires x (not-found)\n"
			    "unmet: h BindsTo y (bad-setting)\n");
	free(text);
	ug_graph_free(&g);

	ug_graph_init(&g);
	text = check_text(&g);
	assert_string_equal(text, "");
	free(text);
	ug_graph_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(units_are_numbered_by_name_in_order_of_first_mention),
		cmocka_unit_test(unknown_ids_and_kinds_are_refused),
		cmocka_unit_test(dependencies_are_kept_from_both_ends),
		cmocka_unit_test(a_dependency_on_itself_is_dropped),
		cmocka_unit_test(start_pulls_in_what_the_unit_requires_and_wants),
		cmocka_unit_test(requisite_verifies_unless_the_unit_is_started_anyway),
		cmocka_unit_test(start_stops_conflicting_units_in_both_directions),
		cmocka_unit_test(stop_propagates_to_units_that_need_it),
		cmocka_unit_test(restart_propagates_to_active_dependents_only),
		cmocka_unit_test(jobs_for_units_already_there_are_dropped_but_the_anchor_stays),
		cmocka_unit_test(a_requirement_that_is_not_loaded_fails_naming_both_units),
		cmocka_unit_test(a_unit_not_loaded_can_still_be_stopped),
		cmocka_unit_test(a_wanted_unit_that_cannot_start_is_left_out),
		cmocka_unit_test(start_and_stop_of_one_unit_that_both_matter_fail),
		cmocka_unit_test(when_neither_matters_the_conflicting_unit_wins),
		cmocka_unit_test(the_job_that_does_not_matter_gives_way),
		cmocka_unit_test(mode_fail_leaves_running_units_alone_unless_needed),
		cmocka_unit_test(starts_run_in_after_order),
		cmocka_unit_test(stops_run_in_reverse_order),
		cmocka_unit_test(a_stop_runs_before_a_start_whichever_way_they_are_ordered),
		cmocka_unit_test(a_cycle_through_a_wanted_unit_is_broken_by_deleting_it),
		cmocka_unit_test(a_cycle_of_jobs_that_all_matter_fails),
		cmocka_unit_test(a_chain_of_ten_thousand_starts_from_its_far_end),
		cmocka_unit_test(a_cycle_ten_thousand_long_is_found),
		cmocka_unit_test(ten_thousand_units_and_a_hundred_thousand_edges),
		cmocka_unit_test(the_check_finds_every_ordering_cycle_and_missing_requirement),
	};
	return cmocka_run_group_tests_name("unit_graph", tests, NULL, NULL);
}
