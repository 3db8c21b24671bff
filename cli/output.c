#include "output.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit_name.h"
#include "unit_value.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)
#define USEC_PER_WEEK (7 * USEC_PER_DAY)
/* systemd's month and year: 30.44 and 365.25 days. */
#define USEC_PER_MONTH (UINT64_C(2629800) * USEC_PER_SEC)
#define USEC_PER_YEAR (UINT64_C(31557600) * USEC_PER_SEC)

/* Bytes strftime needs for any format used here. */
#define TIME_TEXT_MAX 64

/* Label column of `systemctl status`: "TriggeredBy" is the widest. */
#define STATUS_LABEL_WIDTH 11
#define STATUS_INDENT "             "

/* ---- JSON ----------------------------------------------------------------- */

int out_json_parse(const char *s, size_t len, cJSON **out)
{
	*out = cJSON_ParseWithLength(s, len);
	return *out ? 0 : -EBADMSG;
}

const char *out_str(const cJSON *obj, const char *key)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

bool out_u64(const cJSON *obj, const char *key, uint64_t *v)
{
	const cJSON *n = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	if (!cJSON_IsNumber(n) || n->valuedouble < 0)
		return false;
	*v = n->valuedouble >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)n->valuedouble;
	return true;
}

uint64_t out_u64_or(const cJSON *obj, const char *key, uint64_t dflt)
{
	uint64_t v;

	return out_u64(obj, key, &v) ? v : dflt;
}

const char *out_answer_error(const cJSON *answer, int status, char *msg, size_t size)
{
	const char *text = out_str(answer, "error");

	if (*text)
		snprintf(msg, size, "%s", text);
	else if (status == 401 || status == 403)
		snprintf(msg, size, "Access denied");
	else
		snprintf(msg, size, "HTTP %d", status);
	return msg;
}

bool out_color_wanted(int fd)
{
	const char *term = getenv("TERM"), *colors = getenv("SYSTEMD_COLORS");
	bool yes;

	if (colors && uv_bool(colors, &yes) == 0)
		return yes;
	return isatty(fd) && !getenv("NO_COLOR") && !(term && !strcmp(term, "dumb"));
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static bool word_in(const char *w, const char *const *list)
{
	for (; list && *list; list++)
		if (is(w, *list))
			return true;
	return false;
}

/* Columns a UTF-8 string takes, counting each character as one. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int pad(struct buf *b, const char *s, size_t width)
{
	size_t w = text_width(s);
	int r = buf_puts(b, s);

	while (!r && w++ < width)
		r = buf_append(b, " ", 1);
	return r;
}

/* ---- time ------------------------------------------------------------------ */

static bool tm_of(uint64_t usec, bool utc, struct tm *tm)
{
	time_t t = (time_t)(usec / USEC_PER_SEC);

	return (utc ? gmtime_r(&t, tm) : localtime_r(&t, tm)) != NULL;
}

int out_time_fmt(struct buf *b, uint64_t usec, bool utc, const char *fmt)
{
	char s[TIME_TEXT_MAX];
	struct tm tm;

	if (!tm_of(usec, utc, &tm) || !strftime(s, sizeof(s), fmt, &tm))
		return buf_puts(b, "n/a");
	return buf_puts(b, s);
}

int out_time_abs(struct buf *b, uint64_t usec, bool utc)
{
	return out_time_fmt(b, usec, utc, utc ? "%a %Y-%m-%d %H:%M:%S UTC" : "%a %Y-%m-%d %H:%M:%S %Z");
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int out_time_rel(struct buf *b, uint64_t usec, uint64_t now)
{
	const char *s = usec <= now ? "ago" : "left";
	uint64_t d = usec <= now ? now - usec : usec - now, a, c;

	if (d == 0)
		return buf_puts(b, "now");
	if (d >= USEC_PER_YEAR) {
		a = d / USEC_PER_YEAR;
		c = d % USEC_PER_YEAR / USEC_PER_MONTH;
		return buf_printf(b, "%" PRIu64 " %s %" PRIu64 " %s %s", a, plural(a, "year", "years"),
				  c, plural(c, "month", "months"), s);
	}
	if (d >= USEC_PER_MONTH) {
		a = d / USEC_PER_MONTH;
		c = d % USEC_PER_MONTH / USEC_PER_DAY;
		return buf_printf(b, "%" PRIu64 " %s %" PRIu64 " %s %s", a, plural(a, "month", "months"),
				  c, plural(c, "day", "days"), s);
	}
	if (d >= USEC_PER_WEEK) {
		a = d / USEC_PER_WEEK;
		c = d % USEC_PER_WEEK / USEC_PER_DAY;
		return buf_printf(b, "%" PRIu64 " %s %" PRIu64 " %s %s", a, plural(a, "week", "weeks"),
				  c, plural(c, "day", "days"), s);
	}
	if (d >= 2 * USEC_PER_DAY)
		return buf_printf(b, "%" PRIu64 " days %s", d / USEC_PER_DAY, s);
	if (d >= 25 * USEC_PER_HOUR)
		return buf_printf(b, "1 day %" PRIu64 "h %s", (d - USEC_PER_DAY) / USEC_PER_HOUR, s);
	if (d >= 6 * USEC_PER_HOUR)
		return buf_printf(b, "%" PRIu64 "h %s", d / USEC_PER_HOUR, s);
	if (d >= USEC_PER_HOUR)
		return buf_printf(b, "%" PRIu64 "h %" PRIu64 "min %s", d / USEC_PER_HOUR,
				  d % USEC_PER_HOUR / USEC_PER_MINUTE, s);
	if (d >= 5 * USEC_PER_MINUTE)
		return buf_printf(b, "%" PRIu64 "min %s", d / USEC_PER_MINUTE, s);
	if (d >= USEC_PER_MINUTE)
		return buf_printf(b, "%" PRIu64 "min %" PRIu64 "s %s", d / USEC_PER_MINUTE,
				  d % USEC_PER_MINUTE / USEC_PER_SEC, s);
	if (d >= USEC_PER_SEC)
		return buf_printf(b, "%" PRIu64 "s %s", d / USEC_PER_SEC, s);
	if (d >= UV_USEC_PER_MSEC)
		return buf_printf(b, "%" PRIu64 "ms %s", d / UV_USEC_PER_MSEC, s);
	return buf_printf(b, "%" PRIu64 "us %s", d, s);
}

/* ---- systemctl status ------------------------------------------------------ */

static const char *state_glyph(const char *active)
{
	if (is(active, "failed"))
		return "×";
	if (is(active, "reloading"))
		return "↻";
	if (is(active, "inactive") || is(active, "maintenance"))
		return "○";
	return "●";
}

static const char *state_color(const char *active)
{
	if (is(active, "failed"))
		return OUT_RED;
	if (is(active, "active") || is(active, "reloading"))
		return OUT_GREEN;
	return NULL;
}

static int label(struct buf *b, const char *name)
{
	return buf_printf(b, "%*s: ", STATUS_LABEL_WIDTH, name);
}

bool out_comm(const cJSON *procs, uint64_t pid, char comm[OUT_COMM_MAX + 1])
{
	const char *cmd = NULL, *base;
	const cJSON *p;
	size_t n;

	cJSON_ArrayForEach(p, procs)
		if (out_u64_or(p, "pid", 0) == pid) {
			cmd = out_str(p, "command");
			break;
		}
	if (!cmd)
		return false;
	n = strcspn(cmd, " ");
	base = memrchr(cmd, '/', n);
	base = base ? base + 1 : cmd;
	n -= (size_t)(base - cmd);
	if (n > OUT_COMM_MAX)
		n = OUT_COMM_MAX;
	memcpy(comm, base, n);
	comm[n] = 0;
	return true;
}

static bool load_is_error(const char *load)
{
	return is(load, "not-found") || is(load, "bad-setting") || is(load, "error") ||
	       is(load, "masked");
}

static int status_loaded(struct buf *b, const cJSON *u, const struct out_opts *o)
{
	const char *name = out_str(u, "name"), *load = out_str(u, "load_state");
	const char *path = out_str(u, "fragment_path"), *file = out_str(u, "unit_file_state");
	const char *fc = is(file, "enabled") ? OUT_GREEN : is(file, "disabled") ? OUT_YELLOW : NULL;
	const char *lc = load_is_error(load) ? OUT_RED : NULL;
	int r = label(b, "Loaded");

	r = r ? r : buf_printf(b, "%s%s%s", out_on(o, lc), load, out_off(o, lc));
	if (r)
		return r;
	if (is(load, "not-found"))
		return buf_printf(b, " (Reason: Unit %s not found.)\n", name);
	if (is(load, "masked"))
		return buf_printf(b, " (Reason: Unit %s is masked.)\n", name);
	if (is(load, "bad-setting"))
		return buf_printf(b, " (Reason: Unit %s has a bad unit file setting.)\n", name);
	if (is(load, "error"))
		return buf_printf(b, " (Reason: Unit %s failed to load properly.)\n", name);
	if (!*path)
		return buf_puts(b, "\n");
	if (!*file)
		return buf_printf(b, " (%s)\n", path);
	r = buf_printf(b, " (%s; %s%s%s", path, out_on(o, fc), file, out_off(o, fc));
	/* No preset files exist in Pith; systemd's policy without any is "enable". */
	if (!r && (is(file, "enabled") || is(file, "disabled")))
		r = buf_printf(b, "; preset: %senabled%s", out_on(o, OUT_GREEN), out_off(o, OUT_GREEN));
	return r ? r : buf_puts(b, ")\n");
}

/* Drop-ins grouped by directory: the directory, then its files on one line. */
static int status_dropins(struct buf *b, const cJSON *u)
{
	const cJSON *d, *list = cJSON_GetObjectItemCaseSensitive(u, "dropins");
	size_t dir_len = 0;
	const char *dir = NULL;
	int r = 0;

	cJSON_ArrayForEach(d, list) {
		const char *p = cJSON_IsString(d) ? d->valuestring : "";
		const char *slash = strrchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : 0;

		if (!dir || n != dir_len || strncmp(p, dir, n) != 0) {
			r = r ? r : buf_puts(b, dir ? "\n" STATUS_INDENT : "    Drop-In: ");
			r = r ? r : buf_printf(b, "%.*s\n" STATUS_INDENT "└─", (int)n, p);
			dir = p;
			dir_len = n;
		} else {
			r = r ? r : buf_puts(b, ", ");
		}
		r = r ? r : buf_puts(b, slash ? slash + 1 : p);
	}
	return dir && !r ? buf_puts(b, "\n") : r;
}

static int status_active(struct buf *b, const cJSON *u, const struct out_opts *o)
{
	const char *active = out_str(u, "active_state"), *sub = out_str(u, "sub_state");
	const char *result = out_str(u, "result"), *c = state_color(active);
	uint64_t when = 0;
	int r = label(b, "Active");

	if (is(active, "active") || is(active, "reloading"))
		when = out_u64_or(u, "active_enter_usec", 0);
	else if (is(active, "inactive") || is(active, "failed"))
		when = out_u64_or(u, "inactive_enter_usec", 0);
	if (!when)
		when = out_u64_or(u, "state_change_usec", 0);
	if (!r && *sub && !is(sub, active))
		r = buf_printf(b, "%s%s (%s)%s", out_on(o, c), active, sub, out_off(o, c));
	else if (!r)
		r = buf_printf(b, "%s%s%s", out_on(o, c), active, out_off(o, c));
	if (!r && *result && !is(result, "success"))
		r = buf_printf(b, " (Result: %s)", result);
	if (!r && when && when != UINT64_MAX) {
		r = buf_puts(b, " since ");
		r = r ? r : out_time_abs(b, when, o->utc);
		r = r ? r : buf_puts(b, "; ");
		r = r ? r : out_time_rel(b, when, o->now_usec);
	}
	return r ? r : buf_puts(b, "\n");
}

static const cJSON *unit_find(const cJSON *units, const char *name)
{
	const cJSON *u;

	cJSON_ArrayForEach(u, units)
		if (is(out_str(u, "name"), name))
			return u;
	return NULL;
}

static int status_triggers(struct buf *b, const cJSON *u, const cJSON *units,
			   const struct out_opts *o)
{
	const cJSON *t, *list = cJSON_GetObjectItemCaseSensitive(u, "triggered_by");
	bool first = true;
	int r = 0;

	cJSON_ArrayForEach(t, list) {
		const char *name = cJSON_IsString(t) ? t->valuestring : "";
		const char *active = out_str(unit_find(units, name), "active_state");
		const char *c = state_color(active);

		r = r ? r : first ? label(b, "TriggeredBy") : buf_puts(b, STATUS_INDENT);
		r = r ? r : buf_printf(b, "%s%s%s %s\n", out_on(o, c), state_glyph(active), out_off(o, c), name);
		first = false;
	}
	return r;
}

static int status_main_pid(struct buf *b, const cJSON *u)
{
	const char *code = out_str(u, "exec_main_code");
	uint64_t pid = out_u64_or(u, "main_pid", 0), status = out_u64_or(u, "exec_main_status", 0);
	char comm[OUT_COMM_MAX + 1];
	const char *name;
	int r;

	if (!pid)
		pid = out_u64_or(u, "exec_main_pid", 0);
	if (!pid)
		return 0;
	r = label(b, "Main PID");
	r = r ? r : buf_printf(b, "%" PRIu64, pid);
	if (!r && !*code && out_comm(cJSON_GetObjectItemCaseSensitive(u, "processes"), pid, comm)) {
		r = buf_printf(b, " (%s)", comm);
	} else if (!r && is(code, "exited")) {
		name = uv_exit_status_name((int)status);
		r = buf_printf(b, " (code=exited, status=%" PRIu64 "%s%s)", status, name ? "/" : "",
			       name ? name : "");
	} else if (!r && *code) {
		name = uv_signal_name((int)status);
		if (name && !strncmp(name, "SIG", 3))
			name += 3;
		r = name ? buf_printf(b, " (code=%s, signal=%s)", code, name)
			 : buf_printf(b, " (code=%s, signal=%" PRIu64 ")", code, status);
	}
	return r ? r : buf_puts(b, "\n");
}

static int status_resources(struct buf *b, const cJSON *u)
{
	char s[UV_TIMESPAN_FORMAT_MAX];
	uint64_t v, lim;
	int r = 0;

	if (out_u64(u, "tasks", &v)) {
		r = label(b, "Tasks");
		r = r ? r : buf_printf(b, "%" PRIu64, v);
		if (!r && out_u64(u, "tasks_max", &lim) && lim != UV_INFINITY)
			r = buf_printf(b, " (limit: %" PRIu64 ")", lim);
		r = r ? r : buf_puts(b, "\n");
	}
	if (!r && out_u64(u, "memory_current", &v)) {
		uint64_t high = out_u64_or(u, "memory_high", UV_INFINITY);
		uint64_t max = out_u64_or(u, "memory_max", UV_INFINITY);

		r = label(b, "Memory");
		r = r ? r : buf_puts(b, uv_bytes_format(v, s, sizeof(s)));
		if (!r && high != UV_INFINITY)
			r = buf_printf(b, " (high: %s", uv_bytes_format(high, s, sizeof(s)));
		if (!r && max != UV_INFINITY)
			r = buf_printf(b, "%smax: %s", high != UV_INFINITY ? " " : " (",
				       uv_bytes_format(max, s, sizeof(s)));
		if (!r && (high != UV_INFINITY || max != UV_INFINITY))
			r = buf_puts(b, ")");
		r = r ? r : buf_puts(b, "\n");
	}
	if (!r && out_u64(u, "cpu_usage_usec", &v)) {
		r = label(b, "CPU");
		r = r ? r : buf_printf(b, "%s\n",
				       uv_timespan_format_accuracy(v, UV_USEC_PER_MSEC, s, sizeof(s)));
	}
	return r;
}

static int status_cgroup(struct buf *b, const cJSON *u)
{
	const cJSON *p, *procs = cJSON_GetObjectItemCaseSensitive(u, "processes");
	const char *cg = out_str(u, "cgroup"), *active = out_str(u, "active_state");
	int r;

	if (!*cg || ((is(active, "inactive") || is(active, "failed")) && !cJSON_GetArraySize(procs)))
		return 0;
	r = label(b, "CGroup");
	r = r ? r : buf_printf(b, "%s\n", cg);
	cJSON_ArrayForEach(p, procs)
		if (!r)
			r = buf_printf(b, STATUS_INDENT "%s%" PRIu64 " %s\n", p->next ? "├─" : "└─",
				       out_u64_or(p, "pid", 0), out_str(p, "command"));
	return r;
}

int out_unit_status(struct buf *b, const cJSON *unit, const cJSON *units,
		    const struct out_opts *o)
{
	const char *name = out_str(unit, "name"), *desc = out_str(unit, "description");
	const char *active = out_str(unit, "active_state"), *c = state_color(active);
	const char *status = out_str(unit, "status_text");
	int r;

	r = buf_printf(b, "%s%s%s %s", out_on(o, c), state_glyph(active), out_off(o, c), name);
	if (!r && *desc && !is(desc, name))
		r = buf_printf(b, " - %s", desc);
	r = r ? r : buf_puts(b, "\n");
	r = r ? r : status_loaded(b, unit, o);
	r = r ? r : status_dropins(b, unit);
	r = r ? r : status_active(b, unit, o);
	r = r ? r : status_triggers(b, unit, units, o);
	r = r ? r : status_main_pid(b, unit);
	if (!r && *status) {
		r = label(b, "Status");
		r = r ? r : buf_printf(b, "\"%s\"\n", status);
	}
	r = r ? r : status_resources(b, unit);
	return r ? r : status_cgroup(b, unit);
}

/* ---- lists ------------------------------------------------------------------ */

static bool name_wanted(const char *name, const struct out_filter *f)
{
	const char *dot = strrchr(name, '.');
	const char *const *p;

	if (f->types && !(dot && word_in(dot + 1, f->types)))
		return false;
	if (!f->patterns || !*f->patterns)
		return true;
	for (p = f->patterns; *p; p++)
		if (fnmatch(*p, name, FNM_NOESCAPE) == 0)
			return true;
	return false;
}

static bool unit_wanted(const cJSON *u, const struct out_filter *f)
{
	const char *load = out_str(u, "load_state"), *active = out_str(u, "active_state");
	const char *sub = out_str(u, "sub_state");

	if (!name_wanted(out_str(u, "name"), f))
		return false;
	if (f->states && *f->states)
		return word_in(load, f->states) || word_in(active, f->states) || word_in(sub, f->states);
	return f->all || !is(active, "inactive");
}

struct col {
	const char *head;
	size_t width;
};

static void widen(struct col *c, const char *s)
{
	size_t w = text_width(s);

	if (w > c->width)
		c->width = w;
}

/* A table as systemctl -o json prints it: one object per row, the column
 * headings in lower case with "_" for spaces as keys. */
static int json_rows(struct buf *b, cJSON *rows, const struct out_opts *o)
{
	char *text = o->json > 1 ? cJSON_Print(rows) : cJSON_PrintUnformatted(rows);
	int r = text ? buf_printf(b, "%s\n", text) : -ENOMEM;

	free(text);
	cJSON_Delete(rows);
	return r;
}

static int json_row(cJSON *rows, const char *const *kv)
{
	cJSON *row = cJSON_CreateObject();

	if (!row || !cJSON_AddItemToArray(rows, row))
		return -ENOMEM;
	for (; *kv; kv += 2)
		if (!cJSON_AddStringToObject(row, kv[0], kv[1]))
			return -ENOMEM;
	return 0;
}

static int unit_list_json(struct buf *b, const cJSON *units, const struct out_filter *f,
			  const struct out_opts *o, unsigned *listed)
{
	cJSON *rows = cJSON_CreateArray();
	const cJSON *u;
	int r = rows ? 0 : -ENOMEM;

	*listed = 0;
	cJSON_ArrayForEach(u, units) {
		const char *kv[] = { "unit", out_str(u, "name"), "load", out_str(u, "load_state"),
				     "active", out_str(u, "active_state"), "sub", out_str(u, "sub_state"),
				     "description", out_str(u, "description"), NULL };

		if (r || !unit_wanted(u, f))
			continue;
		r = json_row(rows, kv);
		(*listed)++;
	}
	if (r) {
		cJSON_Delete(rows);
		return r;
	}
	return json_rows(b, rows, o);
}

int out_unit_list(struct buf *b, const cJSON *units, const struct out_filter *f,
		  const struct out_opts *o, unsigned *listed)
{
	size_t h = o->no_legend ? 0 : 1;
	struct col col[] = { { "UNIT", 4 * h }, { "LOAD", 4 * h }, { "ACTIVE", 6 * h }, { "SUB", 3 * h } };
	const char *dot = o->plain ? "" : "  ";
	const char *nc;
	const cJSON *u;
	unsigned n = 0;
	int r = 0;

	if (o->json)
		return unit_list_json(b, units, f, o, listed);
	cJSON_ArrayForEach(u, units) {
		if (!unit_wanted(u, f))
			continue;
		widen(&col[0], out_str(u, "name"));
		widen(&col[1], out_str(u, "load_state"));
		widen(&col[2], out_str(u, "active_state"));
		widen(&col[3], out_str(u, "sub_state"));
	}
	if (!o->no_legend) {
		r = buf_printf(b, "%s%s", out_on(o, OUT_UNDERLINE), dot);
		for (size_t i = 0; i < 4 && !r; i++)
			if (!(r = pad(b, col[i].head, col[i].width)))
				r = buf_puts(b, " ");
		r = r ? r : buf_printf(b, "DESCRIPTION%s\n", out_off(o, OUT_UNDERLINE));
	}
	cJSON_ArrayForEach(u, units) {
		const char *load = out_str(u, "load_state"), *active = out_str(u, "active_state");
		const char *lc = is(load, "loaded") ? NULL : OUT_RED;
		const char *ac = is(active, "failed") ? OUT_RED : NULL;

		if (r || !unit_wanted(u, f))
			continue;
		n++;
		if (!o->plain)
			r = lc || ac ? buf_printf(b, "%s●%s ", out_on(o, OUT_RED), out_off(o, OUT_RED))
				     : buf_puts(b, "  ");
		r = r ? r : pad(b, out_str(u, "name"), col[0].width + 1);
		r = r ? r : buf_puts(b, out_on(o, lc));
		r = r ? r : pad(b, load, col[1].width);
		r = r ? r : buf_printf(b, "%s %s", out_off(o, lc), out_on(o, ac));
		r = r ? r : pad(b, active, col[2].width);
		r = r ? r : buf_puts(b, " ");
		r = r ? r : pad(b, out_str(u, "sub_state"), col[3].width);
		r = r ? r : buf_printf(b, "%s %s\n", out_off(o, ac), out_str(u, "description"));
	}
	*listed = n;
	if (r || o->no_legend)
		return r;
	if (n)
		r = buf_puts(b, "\n"
			     "LOAD   = Reflects whether the unit definition was properly loaded.\n"
			     "ACTIVE = The high-level unit activation state, i.e. generalization of SUB.\n"
			     "SUB    = The low-level unit activation state, values depend on unit type.\n");
	nc = n ? OUT_BOLD : OUT_RED;
	if (!r && (f->all || word_in("inactive", f->states)))
		r = buf_printf(b, "%s%u loaded units listed.%s\n"
			       "To show all installed unit files use 'systemctl list-unit-files'.\n",
			       out_on(o, nc), n, out_off(o, nc));
	else if (!r && !(f->states && *f->states))
		r = buf_printf(b, "%s%u loaded units listed.%s Pass --all to see loaded but inactive "
			       "units, too.\n"
			       "To show all installed unit files use 'systemctl list-unit-files'.\n",
			       out_on(o, nc), n, out_off(o, nc));
	else if (!r)
		r = buf_printf(b, "%u loaded units listed.\n", n);
	return r;
}

static const char *file_state_color(const char *state)
{
	if (is(state, "enabled"))
		return OUT_GREEN;
	if (is(state, "disabled"))
		return OUT_YELLOW;
	if (is(state, "masked") || is(state, "bad"))
		return OUT_RED;
	return NULL;
}

/* Pith has no preset files; systemd's policy without any is "enable". */
static const char *file_preset(const char *state)
{
	return is(state, "static") || !*state ? "-" : "enabled";
}

int out_unit_file_list(struct buf *b, const cJSON *files, const struct out_filter *f,
		       const struct out_opts *o, unsigned *listed)
{
	size_t h = o->no_legend ? 0 : 1;
	struct col col[] = { { "UNIT FILE", 9 * h }, { "STATE", 5 * h } };
	const cJSON *u;
	unsigned n = 0;
	int r = 0;

	if (o->json) {
		cJSON *rows = cJSON_CreateArray();

		r = rows ? 0 : -ENOMEM;
		cJSON_ArrayForEach(u, files) {
			const char *kv[] = { "unit_file", out_str(u, "name"), "state",
					     out_str(u, "state"), NULL };

			if (r || !name_wanted(out_str(u, "name"), f) ||
			    (f->states && !word_in(out_str(u, "state"), f->states)))
				continue;
			r = json_row(rows, kv);
			n++;
		}
		*listed = n;
		if (r) {
			cJSON_Delete(rows);
			return r;
		}
		return json_rows(b, rows, o);
	}

	cJSON_ArrayForEach(u, files)
		if (name_wanted(out_str(u, "name"), f) &&
		    (!f->states || word_in(out_str(u, "state"), f->states))) {
			widen(&col[0], out_str(u, "name"));
			widen(&col[1], out_str(u, "state"));
		}
	if (!o->no_legend) {
		r = buf_puts(b, out_on(o, OUT_UNDERLINE));
		r = r ? r : pad(b, col[0].head, col[0].width + 1);
		r = r ? r : pad(b, col[1].head, col[1].width + 1);
		r = r ? r : buf_printf(b, "PRESET%s\n", out_off(o, OUT_UNDERLINE));
	}
	cJSON_ArrayForEach(u, files) {
		const char *state = out_str(u, "state"), *c = file_state_color(state);
		const char *preset = file_preset(state);
		const char *pc = is(preset, "enabled") ? OUT_GREEN : NULL;

		if (r || !name_wanted(out_str(u, "name"), f) ||
		    (f->states && !word_in(state, f->states)))
			continue;
		n++;
		r = pad(b, out_str(u, "name"), col[0].width + 1);
		r = r ? r : buf_puts(b, out_on(o, c));
		r = r ? r : pad(b, state, col[1].width);
		r = r ? r : buf_printf(b, "%s %s%s%s\n", out_off(o, c), out_on(o, pc), preset, out_off(o, pc));
	}
	*listed = n;
	if (!r && !o->no_legend)
		r = buf_printf(b, "\n%u unit files listed.\n", n);
	return r;
}

/* ---- show ------------------------------------------------------------------- */

enum prop_kind {
	PROP_STR,	/* a string member as it is */
	PROP_NUM,	/* an unsigned number; missing is empty */
	PROP_CUR,	/* a current value; null is "[not set]" */
	PROP_LIMIT,	/* a limit; null is "infinity" */
	PROP_TIME,	/* a realtime in usec; 0 is empty */
	PROP_LIST,	/* an array of strings, space-separated */
	PROP_EXITCODE,	/* "exited"/"killed"/"dumped" as the CLD_* number */
	PROP_NSEC,	/* usec, shown in nanoseconds; null is "[not set]" */
};

struct prop {
	const char *name;
	const char *key;
	enum prop_kind kind;
};

/* Service properties first, then the unit's, as systemctl show orders them. */
static const struct prop props_all[] = {
	{ "MainPID", "main_pid", PROP_NUM },
	{ "StatusText", "status_text", PROP_STR },
	{ "Result", "result", PROP_STR },
	{ "NRestarts", "restarts", PROP_NUM },
	{ "ExecMainCode", "exec_main_code", PROP_EXITCODE },
	{ "ExecMainStatus", "exec_main_status", PROP_NUM },
	{ "ControlGroup", "cgroup", PROP_STR },
	{ "MemoryCurrent", "memory_current", PROP_CUR },
	{ "MemoryPeak", "memory_peak", PROP_CUR },
	{ "CPUUsageNSec", "cpu_usage_usec", PROP_NSEC },
	{ "TasksCurrent", "tasks", PROP_CUR },
	{ "MemoryHigh", "memory_high", PROP_LIMIT },
	{ "MemoryMax", "memory_max", PROP_LIMIT },
	{ "TasksMax", "tasks_max", PROP_LIMIT },
	{ "Id", "name", PROP_STR },
	{ "Names", "name", PROP_STR },
	{ "Requires", "requires", PROP_LIST },
	{ "Wants", "wants", PROP_LIST },
	{ "RequiredBy", "required_by", PROP_LIST },
	{ "WantedBy", "wanted_by", PROP_LIST },
	{ "TriggeredBy", "triggered_by", PROP_LIST },
	{ "Before", "before", PROP_LIST },
	{ "After", "after", PROP_LIST },
	{ "Description", "description", PROP_STR },
	{ "LoadState", "load_state", PROP_STR },
	{ "ActiveState", "active_state", PROP_STR },
	{ "SubState", "sub_state", PROP_STR },
	{ "FragmentPath", "fragment_path", PROP_STR },
	{ "DropInPaths", "dropins", PROP_LIST },
	{ "UnitFileState", "unit_file_state", PROP_STR },
	{ "StateChangeTimestamp", "state_change_usec", PROP_TIME },
	{ "ActiveEnterTimestamp", "active_enter_usec", PROP_TIME },
	{ "InactiveEnterTimestamp", "inactive_enter_usec", PROP_TIME },
};

static int prop_value(struct buf *b, const cJSON *u, const struct prop *p, const struct out_opts *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, p->key), *s;
	const char *code;
	uint64_t n = 0;
	int r = 0;

	switch (p->kind) {
	case PROP_STR:
		return buf_puts(b, out_str(u, p->key));
	case PROP_NUM:
		return out_u64(u, p->key, &n) ? buf_printf(b, "%" PRIu64, n) : 0;
	case PROP_CUR:
	case PROP_NSEC:
		if (!out_u64(u, p->key, &n))
			return cJSON_IsNull(v) ? buf_puts(b, "[not set]") : 0;
		return buf_printf(b, "%" PRIu64, p->kind == PROP_NSEC ? n * 1000 : n);
	case PROP_LIMIT:
		if (!out_u64(u, p->key, &n) || n == UV_INFINITY)
			return cJSON_IsNull(v) || n == UV_INFINITY ? buf_puts(b, "infinity") : 0;
		return buf_printf(b, "%" PRIu64, n);
	case PROP_TIME:
		return out_u64(u, p->key, &n) && n ? out_time_abs(b, n, o->utc) : 0;
	case PROP_LIST:
		cJSON_ArrayForEach(s, v)
			if (!r && cJSON_IsString(s))
				r = buf_printf(b, "%s%s", s == v->child ? "" : " ", s->valuestring);
		return r;
	case PROP_EXITCODE:
		code = out_str(u, p->key);
		n = is(code, "exited") ? 1 : is(code, "killed") ? 2 : is(code, "dumped") ? 3 : 0;
		return buf_printf(b, "%" PRIu64, n);
	}
	return 0;
}

int out_unit_show(struct buf *b, const cJSON *unit, const char *const *props, bool all,
		  bool value_only, const struct out_opts *o)
{
	struct buf v = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < sizeof(props_all) / sizeof(props_all[0]) && !r; i++) {
		const struct prop *p = &props_all[i];
		bool asked = props && word_in(p->name, props);

		if (props && *props && !asked)
			continue;
		buf_reset(&v);
		r = prop_value(&v, unit, p, o);
		if (r || (!v.len && !all && !asked))
			continue;
		if (value_only)
			r = buf_printf(b, "%s\n", v.len ? v.data : "");
		else
			r = buf_printf(b, "%s=%s\n", p->name, v.len ? v.data : "");
	}
	buf_free(&v);
	return r;
}

/* ---- cat, enable, jobs ------------------------------------------------------- */

static int cat_one(struct buf *b, const char *path, const char *content, bool *first,
		   const struct out_opts *o)
{
	size_t n = strlen(content);
	int r = *first ? 0 : buf_puts(b, "\n");

	*first = false;
	r = r ? r : buf_printf(b, "%s# %s%s\n", out_on(o, OUT_BLUE), path, out_off(o, OUT_BLUE));
	r = r ? r : buf_append(b, content, n);
	if (!r && n && content[n - 1] != '\n')
		r = buf_puts(b, "\n");
	return r;
}

int out_unit_cat(struct buf *b, const cJSON *file, bool *first, const struct out_opts *o)
{
	const cJSON *d;
	int r = cat_one(b, out_str(file, "path"), out_str(file, "content"), first, o);

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(file, "dropins"))
		if (!r)
			r = cat_one(b, out_str(d, "path"), out_str(d, "content"), first, o);
	return r;
}

int out_unit_changes(struct buf *b, const cJSON *answer)
{
	const cJSON *c;
	int r = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(answer, "changes")) {
		const char *type = out_str(c, "type");

		if (r)
			break;
		if (is(type, "symlink"))
			r = buf_printf(b, "Created symlink %s → %s.\n", out_str(c, "path"),
				       out_str(c, "target"));
		else if (is(type, "unlink"))
			r = buf_printf(b, "Removed \"%s\".\n", out_str(c, "path"));
	}
	return r;
}

/* Why a service failed, in the words systemctl uses after "failed because". */
static const char *result_explained(const char *result)
{
	static const struct {
		const char *result, *text;
	} words[] = {
		{ "resources", "of unavailable resources or another system error" },
		{ "protocol", "the service did not take the steps required by its unit configuration" },
		{ "timeout", "a timeout was exceeded" },
		{ "exit-code", "the control process exited with error code" },
		{ "signal", "a fatal signal was delivered to the control process" },
		{ "core-dump", "a fatal signal was delivered causing the control process to dump core" },
		{ "watchdog", "the service failed to send watchdog ping" },
		{ "start-limit-hit", "start of the service was attempted too often" },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is(result, words[i].result))
			return words[i].text;
	return NULL;
}

int out_job_error(struct buf *b, const char *verb, const char *unit, const char *job_result,
		  const char *unit_result)
{
	const char *why = result_explained(unit_result);

	if (is(job_result, "done") || is(job_result, "skipped"))
		return 0;
	if (is(job_result, "canceled"))
		return buf_printf(b, "Job for %s canceled.\n", unit);
	if (is(job_result, "timeout"))
		return buf_printf(b, "Job for %s timed out.\n", unit);
	if (is(job_result, "dependency"))
		return buf_printf(b, "A dependency job for %s failed. See 'journalctl -xe' for details.\n",
				  unit);
	if (is(job_result, "invalid"))
		return buf_printf(b, "%s is not active, cannot %s.\n", unit, verb);
	if (is(job_result, "unsupported"))
		return buf_printf(b, "Operation on or unit type of %s not supported on this system.\n",
				  unit);
	if (why)
		return buf_printf(b, "Job for %s failed because %s.\n"
				  "See \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n",
				  unit, why, unit, unit);
	return buf_printf(b, "Job for %s failed.\n"
			  "See \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n",
			  unit, unit, unit);
}
