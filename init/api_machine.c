/*
 * The machine routes of the local API: GET /v1/metrics (units and the
 * journal, in Prometheus' text format; the control port serves it as
 * /metrics with its own counters appended) and POST /v1/machine/reboot
 * and /v1/machine/poweroff.
 */
#include <string.h>

#include "api_conn.h"
#include "cgroup.h"

/* The answer goes out before the way down starts. */
#define API_POWER_DELAY_MS 100

/* Label values escape backslash, quote and newline (the text format's rule). */
static void label(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

static void unit_line(struct buf *b, const char *metric, const char *unit, uint64_t v)
{
	buf_printf(b, "%s{unit=\"", metric);
	label(b, unit);
	buf_printf(b, "\"} %llu\n", (unsigned long long)v);
}

void api_metrics(struct conn *c)
{
	struct manager *m = c->api->m;
	struct journal *j = c->api->j;
	struct buf b = BUF_INIT;
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "pith_unit_active", "gauge", "1 when the unit is active (or reloading), else 0." },
		{ "pith_unit_restarts_total", "counter", "Automatic restarts since the unit was loaded." },
		{ "pith_unit_memory_bytes", "gauge", "memory.current of the unit's control group." },
		{ "pith_unit_cpu_seconds_total", "counter", "CPU time of the unit's control group." },
		{ "pith_unit_tasks", "gauge", "pids.current of the unit's control group." },
		{ "pith_unit_oom_kills_total", "counter", "Processes of the unit killed for memory." },
	};

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
			   fam[f].name, fam[f].type);
		for (size_t i = 0; i < m->nunits; i++) {
			struct mu *u = m->units[i];
			struct cg_stats st = { CG_UNKNOWN, CG_UNKNOWN, CG_UNKNOWN, CG_UNKNOWN,
					       CG_UNKNOWN };
			uint64_t v;

			if (!u || u->load == UNIT_NOT_FOUND)
				continue;
			if (f >= 2 && (!u->cgroup || !m->cg || cg_unit_stats(m->cg, u->name, &st) < 0))
				continue;
			switch (f) {
			case 0: v = u->active == MU_ACTIVE || u->active == MU_RELOADING; break;
			case 1: v = u->restarts; break;
			case 2: v = st.memory_current; break;
			case 3: v = st.cpu_usage_usec; break;
			case 4: v = st.pids_current; break;
			default: v = st.oom_kills; break;
			}
			if (v == CG_UNKNOWN)
				continue;
			if (f == 3) {
				buf_puts(&b, "pith_unit_cpu_seconds_total{unit=\"");
				label(&b, u->name);
				buf_printf(&b, "\"} %llu.%06llu\n", (unsigned long long)(v / 1000000),
					   (unsigned long long)(v % 1000000));
				continue;
			}
			unit_line(&b, fam[f].name, u->name, v);
		}
	}
	buf_printf(&b, "# HELP pith_units Units PID 1 has loaded.\n# TYPE pith_units gauge\n"
		       "pith_units %zu\n", m->nunits);
	if (j)
		buf_printf(&b, "# HELP pith_journal_entries_total Entries written to the journal.\n"
			       "# TYPE pith_journal_entries_total counter\n"
			       "pith_journal_entries_total %llu\n"
			       "# HELP pith_journal_evicted_total Entries pushed out of memory by newer ones.\n"
			       "# TYPE pith_journal_evicted_total counter\n"
			       "pith_journal_evicted_total %llu\n"
			       "# HELP pith_journal_dropped_total Entries the journal refused.\n"
			       "# TYPE pith_journal_dropped_total counter\n"
			       "pith_journal_dropped_total %llu\n",
			   (unsigned long long)journal_last_seq(j), (unsigned long long)j->evicted,
			   (unsigned long long)j->dropped);
	api_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
	buf_free(&b);
}

static void power_fire(struct loop *l, void *arg)
{
	struct api *a = arg;

	a->power(a->power_arg, a->power_action);
}

void api_machine_power(struct conn *c, const char *what)
{
	struct api *a = c->api;
	struct buf b = BUF_INIT;

	if (!a->power)
		return api_respond_error(c, 503, "Power actions are not available.");
	if (a->power_armed)
		return api_respond_error(c, 409, "The machine is already going down.");
	a->power_action = !strcmp(what, "reboot") ? POWER_REBOOT : POWER_OFF;
	a->power_armed = true;
	loop_timer_set(a->loop, &a->power_timer, API_POWER_DELAY_MS, power_fire, a);
	buf_printf(&b, "{\"action\":\"%s\"}\n", what);
	api_respond_json(c, 202, &b);
}
