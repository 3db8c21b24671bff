#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ini.h"

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL

static const char *const dep_names[UNIT_DEP_MAX] = {
	[UNIT_REQUIRES] = "Requires", [UNIT_WANTS] = "Wants", [UNIT_BINDS_TO] = "BindsTo",
	[UNIT_PART_OF] = "PartOf", [UNIT_REQUISITE] = "Requisite",
	[UNIT_CONFLICTS] = "Conflicts", [UNIT_AFTER] = "After", [UNIT_BEFORE] = "Before",
};

static const char *const exec_names[EXEC_KIND_MAX] = {
	[EXEC_START_PRE] = "ExecStartPre", [EXEC_START] = "ExecStart",
	[EXEC_START_POST] = "ExecStartPost", [EXEC_RELOAD] = "ExecReload",
	[EXEC_STOP] = "ExecStop", [EXEC_STOP_POST] = "ExecStopPost",
};

const char *unit_dep_name(enum unit_dep d)
{
	return (unsigned)d < UNIT_DEP_MAX ? dep_names[d] : NULL;
}

const char *unit_exec_kind_name(enum service_exec_kind k)
{
	return (unsigned)k < EXEC_KIND_MAX ? exec_names[k] : NULL;
}

bool unit_type_is_supported(enum unit_type t)
{
	return t == UNIT_SERVICE || t == UNIT_TARGET;
}

/* State of one unit_parse() call. */
struct pctx {
	struct unit *u;
	const char *file;		/* arena copy of the path */
	enum { SEC_NONE, SEC_UNIT, SEC_SERVICE, SEC_INSTALL, SEC_X, SEC_IGNORED } sec;
	const char *sec_name;		/* arena copy, for X- settings */
	unsigned sections, reports;
	int nomem;
};

static void vreport(struct pctx *c, enum unit_severity sev, unsigned line, const char *fmt,
		    va_list ap)
{
	struct unit *u = c->u;
	char msg[ERR_MSG_MAX + 128];

	if (sev == UNIT_ERROR)
		u->errors++;
	else
		u->warnings++;
	if (!u->report || c->reports > UNIT_REPORTS_MAX)
		return;
	if (++c->reports > UNIT_REPORTS_MAX) {
		u->report(u->report_arg, UNIT_WARNING, c->file, line,
			  "too many problems in this file; not reporting more");
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	u->report(u->report_arg, sev, c->file, line, msg);
}

static void __attribute__((format(printf, 4, 5)))
report(struct pctx *c, enum unit_severity sev, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, sev, line, fmt, ap);
	va_end(ap);
}

/* --- the settings store ------------------------------------------------- */

static struct unit_setting *setting_get(struct pctx *c, const char *section, const char *key,
					bool list, bool verbatim)
{
	struct unit *u = c->u;
	struct unit_setting *s;

	if (!verbatim)
		for (size_t i = 0; i < u->n_settings; i++) {
			s = &u->settings[i];
			if (!s->verbatim && strcmp(s->key, key) == 0 && strcmp(s->section, section) == 0)
				return s;
		}
	if (u->n_settings >= UNIT_SETTINGS_MAX)
		return NULL;
	if (u->n_settings == u->cap_settings) {
		size_t cap = u->cap_settings ? u->cap_settings * 2 : 16;
		struct unit_setting *v = arena_array(&u->arena, cap, sizeof(*v));

		if (!v) {
			c->nomem = 1;
			return NULL;
		}
		if (u->n_settings)
			memcpy(v, u->settings, u->n_settings * sizeof(*v));
		u->settings = v;
		u->cap_settings = cap;
	}
	s = &u->settings[u->n_settings];
	memset(s, 0, sizeof(*s));
	s->section = arena_strdup(&u->arena, section);
	s->key = arena_strdup(&u->arena, key);
	if (!s->section || !s->key) {
		c->nomem = 1;
		return NULL;
	}
	s->list = list;
	s->verbatim = verbatim;
	u->n_settings++;
	return s;
}

/* Record value (already expanded) for an option; a list option with an
 * empty value forgets what it had. */
static void setting_put(struct pctx *c, struct unit_setting *s, const char *value, unsigned line)
{
	struct unit *u = c->u;
	struct unit_value *v;

	if (!s)
		return;
	if (s->list && !*value) {
		s->n = 0;
		return;
	}
	if (!s->list)
		s->n = 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 2;

		v = arena_array(&u->arena, cap, sizeof(*v));
		if (!v) {
			c->nomem = 1;
			return;
		}
		if (s->n)
			memcpy(v, s->values, s->n * sizeof(*v));
		s->values = v;
		s->cap = cap;
	}
	v = &s->values[s->n];
	v->text = arena_strdup(&u->arena, value);
	v->file = c->file;
	v->line = line;
	if (!v->text) {
		c->nomem = 1;
		return;
	}
	s->n++;
}

/* --- typed lists -------------------------------------------------------- */

static int strv_add(struct arena *a, struct unit_strv *l, const char *s)
{
	if (l->n >= UNIT_LIST_MAX)
		return -E2BIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		const char **v = arena_array(a, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = arena_strdup(a, s)))
		return -ENOMEM;
	l->n++;
	return 0;
}

/* --- option handlers ---------------------------------------------------- */

struct option;
typedef int handler_fn(struct pctx *c, const struct option *o, const char *v, unsigned line);

struct option {
	const char *section;	/* "Unit", "Service", "Install" */
	const char *name;
	handler_fn *fn;
	size_t off;		/* field in struct unit */
	int arg;
	unsigned flags;
};

enum {
	OPT_LIST = 1 << 0,	/* empty resets; the store keeps every value */
	OPT_EXPAND = 1 << 1,	/* specifiers are expanded first */
};

#define FIELD(c, o, type) ((type *)((char *)(c)->u + (o)->off))

/* A value systemd logs and ignores: a warning, and the option keeps what it
 * had. */
static int bad(struct pctx *c, const struct option *o, unsigned line, const char *v,
	       const char *why)
{
	report(c, UNIT_WARNING, line, "%s=%.128s: %s; ignored", o->name, v, why);
	return -EINVAL;
}

/* A value systemd refuses the whole unit for: an error, so bad-setting. */
static int fatal(struct pctx *c, const struct option *o, unsigned line, const char *v,
		 const char *why)
{
	report(c, UNIT_ERROR, line, "%s=%.128s: %s", o->name, v, why);
	return -EINVAL;
}

static int h_string(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	const char **f = FIELD(c, o, const char *);

	*f = *v ? arena_strdup(&c->u->arena, v) : NULL;
	return *v && !*f ? -ENOMEM : 0;
}

static int h_bool(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	if (uv_bool(v, FIELD(c, o, bool)) < 0)
		return bad(c, o, line, v, "not a boolean");
	return 0;
}

static int h_uint(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || n > 1000000 || v[0] == '-' || v[0] == '+')
		return bad(c, o, line, v, "not a number from 0 to 1000000");
	*FIELD(c, o, unsigned) = (unsigned)n;
	return 0;
}

/* Time spans; arg 1 means 0 is "no timeout" (TimeoutStartSec= and friends). */
static int h_time(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	uint64_t us;

	if (uv_timespan(v, USEC_PER_SEC, &us) < 0)
		return bad(c, o, line, v, "not a time span");
	if (o->arg == 1 && us == 0)
		us = UV_INFINITY;
	*FIELD(c, o, uint64_t) = us;
	return 0;
}

static int h_timeout_both(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	uint64_t us;

	if (uv_timespan(v, USEC_PER_SEC, &us) < 0)
		return bad(c, o, line, v, "not a time span");
	if (us == 0)
		us = UV_INFINITY;
	c->u->service.timeout_start_usec = c->u->service.timeout_stop_usec = us;
	return 0;
}

struct enum_word {
	const char *word;
	int value;
};

static const struct enum_word type_words[] = {
	{ "simple", SERVICE_SIMPLE }, { "exec", SERVICE_EXEC }, { "forking", SERVICE_FORKING },
	{ "oneshot", SERVICE_ONESHOT }, { "notify", SERVICE_NOTIFY },
	/* No D-Bus here: such a service is started as a simple one. */
	{ "dbus", SERVICE_SIMPLE }, { "idle", SERVICE_SIMPLE }, { 0, 0 },
};
static const struct enum_word restart_words[] = {
	{ "no", RESTART_NO }, { "on-success", RESTART_ON_SUCCESS },
	{ "on-failure", RESTART_ON_FAILURE }, { "on-abnormal", RESTART_ON_ABNORMAL },
	{ "on-watchdog", RESTART_ON_WATCHDOG }, { "on-abort", RESTART_ON_ABORT },
	{ "always", RESTART_ALWAYS }, { 0, 0 },
};
static const struct enum_word kill_words[] = {
	{ "control-group", KILL_CONTROL_GROUP }, { "mixed", KILL_MIXED },
	{ "process", KILL_PROCESS }, { "none", KILL_NONE }, { 0, 0 },
};
static const struct enum_word notify_words[] = {
	{ "none", NOTIFY_NONE }, { "main", NOTIFY_MAIN }, { "exec", NOTIFY_EXEC },
	{ "all", NOTIFY_ALL }, { 0, 0 },
};

static const struct enum_word *enum_table(const struct option *o)
{
	switch (o->arg) {
	case 0: return type_words;
	case 1: return restart_words;
	case 2: return kill_words;
	default: return notify_words;
	}
}

static int h_enum(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	const struct enum_word *w = enum_table(o);

	for (; w->word; w++)
		if (strcmp(v, w->word) == 0) {
			*FIELD(c, o, int) = w->value;
			if (o->arg == 0 && strcmp(v, "dbus") == 0)
				report(c, UNIT_WARNING, line, "Type=dbus: there is no D-Bus; started as Type=simple");
			if (o->arg == 0 && strcmp(v, "idle") == 0)
				report(c, UNIT_WARNING, line, "Type=idle: started as Type=simple");
			if (o->arg == 3)
				c->u->service.notify_access_set = true;
			return 0;
		}
	return bad(c, o, line, v, "not one of the accepted words");
}

static int h_signal(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	if (uv_signal(v, FIELD(c, o, int)) < 0)
		return bad(c, o, line, v, "not a signal");
	return 0;
}

static int h_status(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct uv_status_set *set = FIELD(c, o, struct uv_status_set);

	const char *p = v;
	int invalid = 0;

	if (!*v) {
		memset(set, 0, sizeof(*set));
		return 0;
	}
	/* As systemd: a word that is not a code, a name or a signal is
	 * ignored with a warning; the others are taken. */
	while (*p) {
		char word[32];
		size_t n = strcspn(p, " \t");

		if (n) {
			snprintf(word, sizeof(word), "%.*s", (int)n, p);
			if (n >= sizeof(word) || uv_status_set_add(word, set) < 0) {
				report(c, UNIT_WARNING, line, "%s=: \"%.*s\" is not an exit code or signal; ignored",
				       o->name, n > 128 ? 128 : (int)n, p);
				invalid = 1;
			}
		}
		p += n;
		p += strspn(p, " \t");
	}
	return invalid ? -EINVAL : 0;
}

static int h_exec(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_exec_list *l = FIELD(c, o, struct unit_exec_list);
	struct unit_exec_src src = {
		.unit = c->u->name, .unit_path = c->u->path, .env = c->u->env,
		.file = c->file, .line = line,
	};
	struct err e = { 0 };
	unsigned notes;
	int r;

	if (!*v) {
		l->n = 0;
		return 0;
	}
	r = unit_exec_parse(&c->u->arena, l, v, &src, &notes, &e);
	if (notes & UNIT_EXEC_NOTE_RELAXED)
		report(c, UNIT_WARNING, line, "%s=: an unknown escape is kept as written", o->name);
	if (r == -EINVAL && (notes & UNIT_EXEC_NOTE_IGNORABLE))
		return bad(c, o, line, v, e.msg);
	if (r == -EINVAL)
		return fatal(c, o, line, v, e.msg);
	return r;
}

/* "foo@.service" in word becomes foo@INSTANCE.service, INSTANCE being the
 * instance of unit name, or its prefix when it is no instance. */
static int dep_instantiate(const char *name, char *word, size_t len)
{
	struct unit_name_parts p;
	char inst[UNIT_NAME_MAX + 1], out[UNIT_NAME_MAX + 1];

	if (unit_name_parse(name, &p) < 0)
		return -EINVAL;
	if (p.instance_len)
		snprintf(inst, sizeof(inst), "%.*s", (int)p.instance_len, p.instance);
	else
		snprintf(inst, sizeof(inst), "%.*s", (int)p.prefix_len, name);
	if (unit_name_instantiate(word, inst, out, sizeof(out)) < 0)
		return -EINVAL;
	snprintf(word, len, "%s", out);
	return 0;
}

/* Requires= and the other lists of unit names; also [Install] lists. As in
 * systemd, words are separated by whitespace and nothing else: quotes and
 * backslashes are part of the name (and make it invalid, but for "\\x2d"). */
static int h_names(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_strv *l = FIELD(c, o, struct unit_strv);
	char word[UNIT_NAME_MAX + 2];
	const char *p = v;
	int r = 0, invalid = 0;

	if (!*v) {
		l->n = 0;
		return 0;
	}
	for (;;) {
		struct unit_name_parts np;
		size_t n;

		p += strspn(p, " \t\n\r");
		if (!*p)
			break;
		n = strcspn(p, " \t\n\r");
		snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) - 1 ? n : sizeof(word) - 1), p);
		p += n;
		/* A template named by a [Unit] dependency is instantiated with
		 * this unit's instance, or its prefix, as in systemd. */
		if (o->arg == 0 && strcmp(o->section, "Unit") == 0 && unit_name_is_template(word) &&
		    dep_instantiate(c->u->name, word, sizeof(word)) < 0)
			n = UNIT_NAME_MAX + 1;
		if (n > UNIT_NAME_MAX || unit_name_parse(word, &np) < 0 ||
		    (o->arg == 1 && np.type != c->u->type)) {
			report(c, UNIT_WARNING, line, "%s=: \"%.128s\" is not a valid unit name%s; ignored",
			       o->name, word, o->arg == 1 ? " of this unit's type" : "");
			invalid = 1;
		} else if ((r = strv_add(&c->u->arena, l, word)) < 0) {
			if (r == -E2BIG) {
				report(c, UNIT_WARNING, line, "%s=: more than %d names; the rest ignored",
				       o->name, UNIT_LIST_MAX);
				r = 0;
			}
			break;
		}
	}
	if (r < 0)
		return r;
	return invalid ? -EINVAL : 0;
}

/* systemd's test for a Documentation= URL: http://, https://, file:/,
 * info: or man:, something after the scheme, and only ASCII. */
static bool doc_url_is_valid(const char *s)
{
	static const char *const schemes[] = { "http://", "https://", "file:/", "info:", "man:" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);

		if (strncmp(s, schemes[i], n))
			continue;
		if (!s[n])
			return false;
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
				return false;
		return true;
	}
	return false;
}

static int h_doc(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_strv *l = FIELD(c, o, struct unit_strv);
	struct buf w = BUF_INIT;
	const char *p = v;
	int r, invalid = 0;

	if (!*v) {
		l->n = 0;
		return 0;
	}
	while ((r = unit_word_next(&p, UNIT_WORD_UNQUOTE, &w)) > 0) {
		const char *url = w.data ? w.data : "";

		if (!doc_url_is_valid(url)) {
			report(c, UNIT_WARNING, line, "Documentation=: \"%.128s\" is not a URL; ignored", url);
			invalid = 1;
			r = 0;
		} else {
			r = strv_add(&c->u->arena, l, url);
		}
		buf_reset(&w);
		if (r < 0)
			break;
	}
	buf_free(&w);
	if (r == -EINVAL)
		return bad(c, o, line, v, "unterminated quote");
	if (r == -E2BIG)
		return bad(c, o, line, v, "too many values");
	if (r < 0)
		return r;
	return invalid ? -EINVAL : 0;
}

static int h_cond(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_conds *l = FIELD(c, o, struct unit_conds);
	struct unit_cond cond = { .file = c->file, .line = line };

	if (!*v) {
		l->n = 0;
		return 0;
	}
	if (*v == '|') {
		cond.trigger = true;
		v++;
	}
	if (*v == '!') {
		cond.negate = true;
		v++;
	}
	if (*v != '/')
		return bad(c, o, line, v, "not an absolute path");
	if (l->n >= UNIT_LIST_MAX)
		return bad(c, o, line, v, "too many conditions");
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 2;
		struct unit_cond *n = arena_array(&c->u->arena, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (l->n)
			memcpy(n, l->v, l->n * sizeof(*n));
		l->v = n;
		l->cap = cap;
	}
	if (!(cond.path = arena_strdup(&c->u->arena, v)))
		return -ENOMEM;
	l->v[l->n++] = cond;
	return 0;
}

/* Set "NAME=value" in l: a name already there gets the new value in its
 * place, as systemd does it. */
static int env_set(struct arena *a, struct unit_strv *l, const char *assignment)
{
	size_t n = strcspn(assignment, "=") + 1;

	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i], assignment, n) == 0)
			return (l->v[i] = arena_strdup(a, assignment)) ? 0 : -ENOMEM;
	return strv_add(a, l, assignment);
}

static int h_env(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_strv *l = FIELD(c, o, struct unit_strv);
	struct buf w = BUF_INIT;
	const char *p = v;
	int r, invalid = 0;

	if (!*v) {
		l->n = 0;
		return 0;
	}
	while ((r = unit_word_next(&p, UNIT_WORD_UNQUOTE | UNIT_WORD_CUNESCAPE, &w)) > 0) {
		const char *a = w.data ? w.data : "";

		if (!unit_env_assignment_is_valid(a)) {
			report(c, UNIT_WARNING, line, "Environment=: \"%.128s\" is not a valid NAME=value assignment; ignored", a);
			invalid = 1;
		} else if ((r = env_set(&c->u->arena, l, a)) < 0) {
			break;
		}
		buf_reset(&w);
	}
	buf_free(&w);
	if (r == -EINVAL)
		return bad(c, o, line, v, "bad quoting or escape");
	if (r == -E2BIG)
		return bad(c, o, line, v, "too many assignments");
	if (r < 0)
		return r;
	return invalid ? -EINVAL : 0;
}

static int h_envfile(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_strv *l = FIELD(c, o, struct unit_strv);
	int r;

	if (!*v) {
		l->n = 0;
		return 0;
	}
	if (v[v[0] == '-'] != '/')
		return bad(c, o, line, v, "not an absolute path");
	r = strv_add(&c->u->arena, l, v);
	return r == -E2BIG ? bad(c, o, line, v, "too many files") : r;
}

static int h_workdir(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct service *s = &c->u->service;
	bool missing_ok = v[0] == '-';

	if (!*v) {
		s->working_directory = NULL;
		return 0;
	}
	v += missing_ok;
	/* systemd refuses the unit for this, unless the path may be missing. */
	if (*v != '/' && strcmp(v, "~") != 0)
		return (missing_ok ? bad : fatal)(c, o, line, v, "neither an absolute path nor \"~\"");
	s->working_directory_missing_ok = missing_ok;
	s->working_directory = arena_strdup(&c->u->arena, v);
	return s->working_directory ? 0 : -ENOMEM;
}

static int h_user(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	size_t n = strlen(v);

	if (!*v) {
		*FIELD(c, o, const char *) = NULL;
		return 0;
	}
	if (n > 256 || v[0] == '-')
		return bad(c, o, line, v, "not a valid user or group name");
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-' || ch == '.' || (ch == '$' && i == n - 1)))
			return bad(c, o, line, v, "not a valid user or group name");
	}
	return h_string(c, o, v, line);
}

static int h_umask(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	if (uv_umask(v, &c->u->service.umask) < 0)
		return bad(c, o, line, v, "not an octal mode");
	return 0;
}

static int h_rlimit(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct service *s = &c->u->service;

	if (uv_rlimit(v, o->arg, &s->rlimit[o->arg]) < 0)
		return bad(c, o, line, v, "not a limit (\"soft:hard\", a value or \"infinity\")");
	s->rlimit_set |= 1u << o->arg;
	return 0;
}

static int h_output(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	static const struct enum_word words[] = {
		{ "inherit", OUTPUT_INHERIT }, { "null", OUTPUT_NULL }, { "tty", OUTPUT_TTY },
		{ "journal", OUTPUT_JOURNAL }, { "journal+console", OUTPUT_JOURNAL_CONSOLE },
		/* The journal is where kernel-log and syslog output ends up too. */
		{ "kmsg", OUTPUT_JOURNAL }, { "kmsg+console", OUTPUT_JOURNAL_CONSOLE },
		{ "syslog", OUTPUT_JOURNAL }, { "syslog+console", OUTPUT_JOURNAL_CONSOLE },
		{ 0, 0 },
	};
	struct service *s = &c->u->service;
	bool err = o->arg == 1;
	enum unit_output *out = err ? &s->std_error : &s->std_output;
	const char **path = err ? &s->std_error_path : &s->std_output_path;
	const char *colon = strchr(v, ':');

	for (const struct enum_word *w = words; w->word; w++)
		if (strcmp(v, w->word) == 0) {
			*out = w->value;
			return 0;
		}
	if (colon && (!strncmp(v, "file:", 5) || !strncmp(v, "truncate:", 9) ||
		      !strncmp(v, "append:", 7))) {
		if (colon[1] != '/')
			return bad(c, o, line, v, "the file is not an absolute path");
		*out = v[0] == 'a' ? OUTPUT_APPEND : v[0] == 't' ? OUTPUT_TRUNCATE : OUTPUT_FILE;
		*path = arena_strdup(&c->u->arena, colon + 1);
		return *path ? 0 : -ENOMEM;
	}
	if (!strcmp(v, "console")) {
		/* Not a systemd word, but an obvious wish: the console. */
		report(c, UNIT_WARNING, line, "%s=console: systemd calls this \"tty\"; taken as tty",
		       o->name);
		*out = OUTPUT_TTY;
		return 0;
	}
	if (!strcmp(v, "socket") || !strncmp(v, "fd:", 3)) {
		report(c, UNIT_WARNING, line, "%s=%s: there are no socket units; the journal is used",
		       o->name, v);
		*out = OUTPUT_JOURNAL;
		return 0;
	}
	return bad(c, o, line, v, "not an output Pith knows");
}

static int h_limit(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct unit_limit *l = FIELD(c, o, struct unit_limit);
	uint64_t n;
	bool rel;

	if (!*v) {
		l->value = UNIT_LIMIT_UNSET;
		return 0;
	}
	if (uv_limit(v, o->arg == 1, &n, &rel) < 0)
		return bad(c, o, line, v, o->arg ? "not a number, percentage or \"infinity\""
						 : "not a size, percentage or \"infinity\"");
	l->value = n == UV_INFINITY ? UNIT_LIMIT_INFINITY : n;
	l->relative = rel;
	return 0;
}

static int h_weight(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	uint64_t w;

	if (!*v) {
		*FIELD(c, o, uint64_t) = 0;
		return 0;
	}
	if (uv_weight(v, o->arg == 1, &w) < 0)
		return bad(c, o, line, v, o->arg == 1 ? "not a weight from 1 to 10000, or \"idle\""
						  : "not a weight from 1 to 10000");
	/* "idle" is the lowest weight there is here: the kernel's cpu.idle
	 * is not used. */
	if (w == 0)
		w = 1;
	*FIELD(c, o, uint64_t) = w;
	return 0;
}

static int h_cpu_quota(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	if (!*v) {
		c->u->service.cpu_quota = 0;
		return 0;
	}
	if (uv_cpu_quota(v, &c->u->service.cpu_quota) < 0)
		return bad(c, o, line, v, "not a percentage above 0%");
	return 0;
}

static int h_pidfile(struct pctx *c, const struct option *o, const char *v, unsigned line)
{
	struct service *s = &c->u->service;
	char path[4096];

	if (!*v) {
		s->pid_file = NULL;
		return 0;
	}
	/* A relative name is under /run, as systemd has it. */
	if (snprintf(path, sizeof(path), "%s%s", *v == '/' ? "" : "/run/", v) >= (int)sizeof(path))
		return bad(c, o, line, v, "path too long");
	s->pid_file = arena_strdup(&c->u->arena, path);
	return s->pid_file ? 0 : -ENOMEM;
}

#define U(f) offsetof(struct unit, f)
#define S(f) offsetof(struct unit, service.f)

static const struct option options[] = {
	{ "Unit", "Description", h_string, U(description), 0, OPT_EXPAND },
	{ "Unit", "Documentation", h_doc, U(documentation), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "Requires", h_names, U(deps[UNIT_REQUIRES]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "Wants", h_names, U(deps[UNIT_WANTS]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "BindsTo", h_names, U(deps[UNIT_BINDS_TO]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "PartOf", h_names, U(deps[UNIT_PART_OF]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "Requisite", h_names, U(deps[UNIT_REQUISITE]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "Conflicts", h_names, U(deps[UNIT_CONFLICTS]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "After", h_names, U(deps[UNIT_AFTER]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "Before", h_names, U(deps[UNIT_BEFORE]), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "ConditionPathExists", h_cond, U(conditions), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "AssertPathExists", h_cond, U(asserts), 0, OPT_LIST | OPT_EXPAND },
	{ "Unit", "DefaultDependencies", h_bool, U(default_dependencies), 0, 0 },
	{ "Unit", "StartLimitIntervalSec", h_time, U(start_limit_interval_usec), 0, 0 },
	{ "Unit", "StartLimitInterval", h_time, U(start_limit_interval_usec), 0, 0 },
	{ "Unit", "StartLimitBurst", h_uint, U(start_limit_burst), 0, 0 },
	/* The old places of the start limit, still accepted by systemd. */
	{ "Service", "StartLimitInterval", h_time, U(start_limit_interval_usec), 0, 0 },
	{ "Service", "StartLimitIntervalSec", h_time, U(start_limit_interval_usec), 0, 0 },
	{ "Service", "StartLimitBurst", h_uint, U(start_limit_burst), 0, 0 },

	{ "Service", "Type", h_enum, S(type), 0, 0 },
	{ "Service", "ExecStartPre", h_exec, S(exec[EXEC_START_PRE]), 0, OPT_LIST },
	{ "Service", "ExecStart", h_exec, S(exec[EXEC_START]), 0, OPT_LIST },
	{ "Service", "ExecStartPost", h_exec, S(exec[EXEC_START_POST]), 0, OPT_LIST },
	{ "Service", "ExecReload", h_exec, S(exec[EXEC_RELOAD]), 0, OPT_LIST },
	{ "Service", "ExecStop", h_exec, S(exec[EXEC_STOP]), 0, OPT_LIST },
	{ "Service", "ExecStopPost", h_exec, S(exec[EXEC_STOP_POST]), 0, OPT_LIST },
	{ "Service", "RemainAfterExit", h_bool, S(remain_after_exit), 0, 0 },
	{ "Service", "Restart", h_enum, S(restart), 1, 0 },
	{ "Service", "RestartSec", h_time, S(restart_usec), 0, 0 },
	{ "Service", "TimeoutStartSec", h_time, S(timeout_start_usec), 1, 0 },
	{ "Service", "TimeoutStopSec", h_time, S(timeout_stop_usec), 1, 0 },
	{ "Service", "TimeoutSec", h_timeout_both, 0, 0, 0 },
	{ "Service", "WatchdogSec", h_time, S(watchdog_usec), 0, 0 },
	{ "Service", "KillMode", h_enum, S(kill_mode), 2, 0 },
	{ "Service", "KillSignal", h_signal, S(kill_signal), 0, 0 },
	{ "Service", "SendSIGKILL", h_bool, S(send_sigkill), 0, 0 },
	{ "Service", "SuccessExitStatus", h_status, S(success_status), 0, OPT_LIST },
	{ "Service", "RestartPreventExitStatus", h_status, S(restart_prevent_status), 0, OPT_LIST },
	{ "Service", "NotifyAccess", h_enum, S(notify_access), 3, 0 },
	{ "Service", "PIDFile", h_pidfile, 0, 0, OPT_EXPAND },
	{ "Service", "Environment", h_env, S(environment), 0, OPT_LIST | OPT_EXPAND },
	{ "Service", "EnvironmentFile", h_envfile, S(environment_files), 0, OPT_LIST | OPT_EXPAND },
	{ "Service", "WorkingDirectory", h_workdir, 0, 0, OPT_EXPAND },
	{ "Service", "User", h_user, S(user), 0, OPT_EXPAND },
	{ "Service", "Group", h_user, S(group), 0, OPT_EXPAND },
	{ "Service", "UMask", h_umask, 0, 0, 0 },
	{ "Service", "LimitCPU", h_rlimit, 0, RLIMIT_CPU, 0 },
	{ "Service", "LimitFSIZE", h_rlimit, 0, RLIMIT_FSIZE, 0 },
	{ "Service", "LimitDATA", h_rlimit, 0, RLIMIT_DATA, 0 },
	{ "Service", "LimitSTACK", h_rlimit, 0, RLIMIT_STACK, 0 },
	{ "Service", "LimitCORE", h_rlimit, 0, RLIMIT_CORE, 0 },
	{ "Service", "LimitRSS", h_rlimit, 0, RLIMIT_RSS, 0 },
	{ "Service", "LimitNOFILE", h_rlimit, 0, RLIMIT_NOFILE, 0 },
	{ "Service", "LimitAS", h_rlimit, 0, RLIMIT_AS, 0 },
	{ "Service", "LimitNPROC", h_rlimit, 0, RLIMIT_NPROC, 0 },
	{ "Service", "LimitMEMLOCK", h_rlimit, 0, RLIMIT_MEMLOCK, 0 },
	{ "Service", "LimitLOCKS", h_rlimit, 0, RLIMIT_LOCKS, 0 },
	{ "Service", "LimitSIGPENDING", h_rlimit, 0, RLIMIT_SIGPENDING, 0 },
	{ "Service", "LimitMSGQUEUE", h_rlimit, 0, RLIMIT_MSGQUEUE, 0 },
	{ "Service", "LimitNICE", h_rlimit, 0, RLIMIT_NICE, 0 },
	{ "Service", "LimitRTPRIO", h_rlimit, 0, RLIMIT_RTPRIO, 0 },
	{ "Service", "LimitRTTIME", h_rlimit, 0, RLIMIT_RTTIME, 0 },
	{ "Service", "StandardOutput", h_output, 0, 0, OPT_EXPAND },
	{ "Service", "StandardError", h_output, 0, 1, OPT_EXPAND },
	{ "Service", "MemoryMax", h_limit, S(memory_max), 0, 0 },
	{ "Service", "MemoryHigh", h_limit, S(memory_high), 0, 0 },
	{ "Service", "TasksMax", h_limit, S(tasks_max), 1, 0 },
	{ "Service", "CPUWeight", h_weight, S(cpu_weight), 1, 0 },
	{ "Service", "IOWeight", h_weight, S(io_weight), 0, 0 },
	{ "Service", "CPUQuota", h_cpu_quota, 0, 0, 0 },

	{ "Install", "WantedBy", h_names, U(wanted_by), 0, OPT_LIST | OPT_EXPAND },
	{ "Install", "RequiredBy", h_names, U(required_by), 0, OPT_LIST | OPT_EXPAND },
	{ "Install", "Also", h_names, U(also), 0, OPT_LIST | OPT_EXPAND },
	{ "Install", "Alias", h_names, U(alias), 1, OPT_LIST | OPT_EXPAND },
	{ "Install", "DefaultInstance", h_string, U(default_instance), 0, OPT_EXPAND },
	{ 0 },
};

static const struct option *option_find(const char *section, const char *key)
{
	for (const struct option *o = options; o->name; o++)
		if (strcmp(o->name, key) == 0 && strcmp(o->section, section) == 0)
			return o;
	return NULL;
}

/* --- the parse ---------------------------------------------------------- */

static const char *const foreign_sections[] = {
	"Socket", "Timer", "Mount", "Automount", "Swap", "Path", "Slice", "Scope", NULL,
};

static void section_begin(struct pctx *c, const char *name, unsigned line)
{
	struct unit *u = c->u;

	if (++c->sections > UNIT_SECTIONS_MAX)
		return;
	c->sec_name = NULL;
	if (strcmp(name, "Unit") == 0) {
		c->sec = SEC_UNIT;
	} else if (strcmp(name, "Install") == 0) {
		c->sec = SEC_INSTALL;
	} else if (strcmp(name, "Service") == 0 && u->type == UNIT_SERVICE) {
		c->sec = SEC_SERVICE;
	} else if (strncmp(name, "X-", 2) == 0) {
		c->sec = SEC_X;
		if (!(c->sec_name = arena_strdup(&u->arena, name)))
			c->nomem = 1;
	} else {
		bool own = false;

		for (const char *const *f = foreign_sections; *f; f++)
			if (strcmp(name, *f) == 0 && strcasecmp(name, unit_type_name(u->type)) == 0)
				own = true;
		/* A .socket unit's [Socket] needs no warning of its own:
		 * unit_verify() says the whole unit will not run. */
		c->sec = SEC_IGNORED;
		if (!own)
			report(c, UNIT_WARNING, line, "unknown section [%.64s] ignored", name);
	}
}

static void entry(struct pctx *c, const struct ini_item *it)
{
	static const char *const sec_names[] = {
		[SEC_UNIT] = "Unit", [SEC_SERVICE] = "Service", [SEC_INSTALL] = "Install",
	};
	struct unit *u = c->u;
	const struct option *o;
	struct unit_setting *s;
	struct buf exp = BUF_INIT;
	const char *v = it->value;
	int r;

	switch (c->sec) {
	case SEC_NONE:
		report(c, UNIT_WARNING, it->line, "%.64s= outside any section ignored", it->key);
		return;
	case SEC_IGNORED:
		return;
	case SEC_X:
		s = setting_get(c, c->sec_name, it->key, false, true);
		if (!s && !c->nomem)
			report(c, UNIT_ERROR, it->line, "more than %d options; %.64s= ignored",
			       UNIT_SETTINGS_MAX, it->key);
		setting_put(c, s, v, it->line);
		return;
	default:
		break;
	}
	o = option_find(sec_names[c->sec], it->key);
	if (!o) {
		/* An X- key is the writer's own, kept silently, as in systemd. */
		if (strncmp(it->key, "X-", 2) == 0) {
			s = setting_get(c, sec_names[c->sec], it->key, true, false);
			if (s) {
				s->ignored = true;
				setting_put(c, s, v, it->line);
			}
			return;
		}
		report(c, UNIT_WARNING, it->line, "[%s] %.64s= is not supported by Pith; ignored",
		       sec_names[c->sec], it->key);
		s = setting_get(c, sec_names[c->sec], it->key, true, false);
		if (s) {
			s->ignored = true;
			setting_put(c, s, v, it->line);
		}
		return;
	}
	if (o->flags & OPT_EXPAND) {
		char badc;

		/* %y and %Y name the unit's own file, even in a drop-in. */
		r = unit_spec_expand(u->name, u->path, u->env, v, strlen(v), &exp, &badc);
		if (r == -EBADMSG) {
			report(c, UNIT_WARNING, it->line, "%s=: unknown specifier %%%c; ignored",
			       o->name, badc);
			buf_free(&exp);
			return;
		}
		if (r < 0) {
			c->nomem = 1;
			buf_free(&exp);
			return;
		}
		v = exp.data ? exp.data : "";
	}
	r = o->fn(c, o, v, it->line);
	if (r == -ENOMEM)
		c->nomem = 1;
	/* An invalid value leaves the option as it was, but a list option's
	 * valid words were taken: the store shows what is in effect. */
	if (r == 0 || (r == -EINVAL && (o->flags & OPT_LIST) && o->fn != h_exec &&
		       o->fn != h_cond && o->fn != h_status && o->fn != h_envfile)) {
		s = setting_get(c, o->section, o->name, o->flags & OPT_LIST, false);
		if (!s && !c->nomem)
			report(c, UNIT_ERROR, it->line, "more than %d options; %.64s= ignored",
			       UNIT_SETTINGS_MAX, it->key);
		setting_put(c, s, v, it->line);
	}
	buf_free(&exp);
}

static int item(const struct ini_item *it, void *arg)
{
	struct pctx *c = arg;

	if (c->sections > UNIT_SECTIONS_MAX)
		return 0;
	switch (it->kind) {
	case INI_SECTION:
		section_begin(c, it->section, it->line);
		if (c->sections > UNIT_SECTIONS_MAX)
			report(c, UNIT_ERROR, it->line,
			       "more than %d sections; the rest of the file is ignored",
			       UNIT_SECTIONS_MAX);
		break;
	case INI_ENTRY:
		entry(c, it);
		break;
	case INI_BAD:
		/* A line systemd would refuse the whole file for is an error; a
		 * line it skips is a warning. */
		if (!strcmp(it->value, "missing '='") || !strcmp(it->value, "invalid key") ||
		    !strcmp(it->value, "option after a malformed section header"))
			report(c, UNIT_WARNING, it->line, "%s; line ignored", it->value);
		else
			report(c, UNIT_ERROR, it->line, "%s", it->value);
		break;
	}
	return c->nomem ? -ENOMEM : 0;
}

int unit_init(struct unit *u, const char *name, const struct unit_spec_env *env,
	      unit_report_fn *report_fn, void *arg)
{
	struct unit_name_parts p;
	struct service *s = &u->service;

	memset(u, 0, sizeof(*u));
	if (unit_name_parse(name, &p) < 0)
		return -EINVAL;
	u->type = p.type;
	u->report = report_fn;
	u->report_arg = arg;
	u->env = env;
	if (!(u->name = arena_strdup(&u->arena, name)))
		return -ENOMEM;
	u->default_dependencies = true;
	u->start_limit_interval_usec = 10 * USEC_PER_SEC;
	u->start_limit_burst = 5;
	s->type = SERVICE_SIMPLE;
	s->restart = RESTART_NO;
	s->restart_usec = 100 * USEC_PER_MSEC;
	s->timeout_start_usec = s->timeout_stop_usec = 90 * USEC_PER_SEC;
	s->kill_mode = KILL_CONTROL_GROUP;
	s->kill_signal = SIGTERM;
	s->send_sigkill = true;
	s->umask = 0022;
	s->std_output = OUTPUT_JOURNAL;
	s->std_error = OUTPUT_INHERIT;
	s->memory_max.value = s->memory_high.value = UNIT_LIMIT_UNSET;
	s->tasks_max.value = 1500;	/* 15%, in 1/10000 */
	s->tasks_max.relative = true;
	return 0;
}

int unit_parse(struct unit *u, const char *path, const char *text, size_t len)
{
	struct pctx c = { .u = u, .sec = SEC_NONE };
	int r;

	if (len > UNIT_FILE_MAX)
		return -EFBIG;
	c.file = arena_strdup(&u->arena, path ? path : "");
	if (!c.file)
		return -ENOMEM;
	if (!u->path)
		u->path = c.file;
	else if (strv_add(&u->arena, &u->dropins, c.file) < 0)
		return -ENOMEM;
	/* A byte-order mark is allowed at the start, as in systemd. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	r = ini_parse(text, len, item, &c);
	return c.nomem ? -ENOMEM : r;
}

static bool has_setting(const struct unit *u, const char *section, const char *key)
{
	for (size_t i = 0; i < u->n_settings; i++)
		if (!strcmp(u->settings[i].key, key) && !strcmp(u->settings[i].section, section))
			return u->settings[i].n > 0;
	return false;
}

int unit_verify(struct unit *u)
{
	struct pctx c = { .u = u, .file = u->path ? u->path : "" };
	struct service *s = &u->service;
	bool success_action = has_setting(u, "Unit", "SuccessAction");

	if (!unit_type_is_supported(u->type)) {
		report(&c, UNIT_WARNING, 0, "Pith does not run .%s units; this one will not start",
		       unit_type_name(u->type));
		return -EOPNOTSUPP;
	}
	if (u->type == UNIT_SERVICE) {
		size_t starts = s->exec[EXEC_START].n;

		/* Without Type= and ExecStart=, a service is a oneshot. */
		if (!starts && !has_setting(u, "Service", "Type"))
			s->type = SERVICE_ONESHOT;

		if (!starts && !s->exec[EXEC_STOP].n && !success_action)
			report(&c, UNIT_ERROR, 0, "the service has no ExecStart= and no ExecStop=");
		else if (!starts && s->type != SERVICE_ONESHOT)
			report(&c, UNIT_ERROR, 0,
			       "the service has no ExecStart=, which only Type=oneshot allows");
		else if (!starts && !s->remain_after_exit && !success_action)
			report(&c, UNIT_ERROR, 0,
			       "the service has no ExecStart= and no RemainAfterExit=yes");
		if (starts > 1 && s->type != SERVICE_ONESHOT)
			report(&c, UNIT_ERROR, 0,
			       "the service has more than one ExecStart= command, which only Type=oneshot allows");
		if (s->type == SERVICE_ONESHOT &&
		    (s->restart == RESTART_ALWAYS || s->restart == RESTART_ON_SUCCESS))
			report(&c, UNIT_ERROR, 0,
			       "Restart=always and Restart=on-success are not allowed with Type=oneshot");
		if (s->type == SERVICE_ONESHOT && !has_setting(u, "Service", "TimeoutStartSec") &&
		    !has_setting(u, "Service", "TimeoutSec"))
			s->timeout_start_usec = UV_INFINITY;
		if (!s->notify_access_set)
			s->notify_access = s->type == SERVICE_NOTIFY || s->watchdog_usec ? NOTIFY_MAIN
											 : NOTIFY_NONE;
	}
	return u->errors ? -EINVAL : 0;
}

enum unit_setting_form unit_setting_form(const struct unit *u, const struct unit_setting *s,
					 const void **typed)
{
	const struct option *o = s->verbatim ? NULL : option_find(s->section, s->key);

	*typed = NULL;
	if (!o)
		return UNIT_FORM_VALUES;
	if (o->fn == h_exec) {
		*typed = (const char *)u + o->off;
		return UNIT_FORM_COMMANDS;
	}
	if (o->fn == h_names || o->fn == h_doc || o->fn == h_env) {
		*typed = (const char *)u + o->off;
		return UNIT_FORM_WORDS;
	}
	return UNIT_FORM_VALUES;
}

void unit_free(struct unit *u)
{
	arena_free(&u->arena);
	memset(u, 0, sizeof(*u));
}
