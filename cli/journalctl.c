#include "journalctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "json.h"
#include "unit_value.h"
#include "version.h"

#define USEC_PER_SEC UINT64_C(1000000)

/* ---- formatting ------------------------------------------------------------ */

static const char *const mode_names[] = {
	[JCTL_SHORT] = "short",
	[JCTL_SHORT_PRECISE] = "short-precise",
	[JCTL_SHORT_ISO] = "short-iso",
	[JCTL_SHORT_ISO_PRECISE] = "short-iso-precise",
	[JCTL_SHORT_UNIX] = "short-unix",
	[JCTL_SHORT_MONOTONIC] = "short-monotonic",
	[JCTL_CAT] = "cat",
	[JCTL_JSON] = "json",
	[JCTL_JSON_PRETTY] = "json-pretty",
};

int jctl_mode_parse(const char *s, enum jctl_mode *m)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(s, mode_names[i])) {
			*m = (enum jctl_mode)i;
			return 0;
		}
	return -EINVAL;
}

bool jctl_mode_is_json(enum jctl_mode m)
{
	return m == JCTL_JSON || m == JCTL_JSON_PRETTY;
}

static void ident_of(const cJSON *e, const cJSON *procs, char *out, size_t len)
{
	const char *unit = out_str(e, "unit"), *dot;
	char comm[OUT_COMM_MAX + 1];

	if (*out_str(e, "identifier"))
		snprintf(out, len, "%s", out_str(e, "identifier"));
	else if (out_comm(procs, out_u64_or(e, "pid", 0), comm))
		snprintf(out, len, "%s", comm);
	else if (unit_name_is_valid(unit) && (dot = strrchr(unit, '.')))
		snprintf(out, len, "%.*s", (int)(dot - unit), unit);
	else
		snprintf(out, len, "%s", unit);
}

static const char *prio_color(uint64_t prio)
{
	if (prio <= LOG_PRIO_ERR)
		return OUT_RED;
	if (prio == LOG_PRIO_WARNING)
		return OUT_YELLOW;
	if (prio == LOG_PRIO_NOTICE)
		return OUT_BOLD;
	if (prio == LOG_PRIO_DEBUG)
		return OUT_GREY;
	return NULL;
}

static int short_time(struct buf *b, enum jctl_mode m, uint64_t rt, uint64_t mono,
		      const struct out_opts *o)
{
	uint64_t us = rt % USEC_PER_SEC;
	int r;

	switch (m) {
	case JCTL_SHORT_PRECISE:
		r = out_time_fmt(b, rt, o->utc, "%b %d %H:%M:%S");
		return r ? r : buf_printf(b, ".%06" PRIu64, us);
	case JCTL_SHORT_ISO:
		return out_time_fmt(b, rt, o->utc, "%Y-%m-%dT%H:%M:%S%z");
	case JCTL_SHORT_ISO_PRECISE:
		r = out_time_fmt(b, rt, o->utc, "%Y-%m-%dT%H:%M:%S");
		r = r ? r : buf_printf(b, ".%06" PRIu64, us);
		return r ? r : out_time_fmt(b, rt, o->utc, "%z");
	case JCTL_SHORT_UNIX:
		return buf_printf(b, "%" PRIu64 ".%06" PRIu64, rt / USEC_PER_SEC, us);
	case JCTL_SHORT_MONOTONIC:
		return buf_printf(b, "[%5" PRIu64 ".%06" PRIu64 "]", mono / USEC_PER_SEC,
				  mono % USEC_PER_SEC);
	default:
		return out_time_fmt(b, rt, o->utc, "%b %d %H:%M:%S");
	}
}

/* systemd's pretty JSON: a tab per level and " : " between key and value. */
static int json_field(struct buf *b, bool pretty, bool first, const char *key, const char *val)
{
	int r = buf_puts(b, pretty ? (first ? "\t" : ",\n\t") : (first ? "" : ","));

	r = r ? r : json_quote(b, key, strlen(key));
	r = r ? r : buf_puts(b, pretty ? " : " : ":");
	return r ? r : json_quote(b, val, strlen(val));
}

static int entry_json(struct buf *b, const cJSON *e, bool pretty, const char *host,
		      const char *ident)
{
	const char *unit = out_str(e, "unit"), *boot = out_str(e, "boot_id");
	uint64_t rt = out_u64_or(e, "realtime_usec", 0), mono = out_u64_or(e, "monotonic_usec", 0);
	uint64_t pid = out_u64_or(e, "pid", 0);
	bool kernel = !strcmp(unit, "kernel");
	char cursor[160], num[24];
	int r;

	snprintf(cursor, sizeof(cursor), "i=%" PRIx64 ";b=%.64s;m=%" PRIx64 ";t=%" PRIx64,
		 out_u64_or(e, "seq", 0), boot, mono, rt);
	r = buf_puts(b, pretty ? "{\n" : "{");
	r = r ? r : json_field(b, pretty, true, "__CURSOR", cursor);
	snprintf(num, sizeof(num), "%" PRIu64, rt);
	r = r ? r : json_field(b, pretty, false, "__REALTIME_TIMESTAMP", num);
	snprintf(num, sizeof(num), "%" PRIu64, mono);
	r = r ? r : json_field(b, pretty, false, "__MONOTONIC_TIMESTAMP", num);
	r = r ? r : json_field(b, pretty, false, "_BOOT_ID", boot);
	snprintf(num, sizeof(num), "%" PRIu64, out_u64_or(e, "priority", LOG_PRIO_INFO));
	r = r ? r : json_field(b, pretty, false, "PRIORITY", num);
	if (!r && host && *host)
		r = json_field(b, pretty, false, "_HOSTNAME", host);
	r = r ? r : json_field(b, pretty, false, "_TRANSPORT",
			       kernel ? "kernel" : !strcmp(unit, "pith-init") ? "journal" : "stdout");
	r = r ? r : json_field(b, pretty, false, "SYSLOG_IDENTIFIER", ident);
	snprintf(num, sizeof(num), "%" PRIu64, pid);
	if (!r && pid)
		r = json_field(b, pretty, false, "_PID", num);
	if (!r && !kernel)
		r = json_field(b, pretty, false, "_SYSTEMD_UNIT", unit);
	r = r ? r : json_field(b, pretty, false, "MESSAGE", out_str(e, "message"));
	return r ? r : buf_puts(b, pretty ? "\n}\n" : "}\n");
}

int jctl_entry_format(struct buf *b, const cJSON *entry, enum jctl_mode m, const cJSON *procs,
		      struct jctl_state *st, const struct out_opts *o)
{
	const char *boot = out_str(entry, "boot_id"), *host = out_str(entry, "hostname");
	uint64_t prio = out_u64_or(entry, "priority", LOG_PRIO_INFO);
	uint64_t pid = out_u64_or(entry, "pid", 0);
	const char *pc = prio_color(prio);
	char ident[UNIT_NAME_MAX + 1];
	int r = 0;

	if (!*host)
		host = o->hostname;
	ident_of(entry, procs, ident, sizeof(ident));
	if (jctl_mode_is_json(m)) {
		r = entry_json(b, entry, m == JCTL_JSON_PRETTY, host, ident);
	} else {
		if (st->shown && *boot && strncmp(boot, st->boot_id, JCTL_BOOT_ID_MAX) != 0)
			r = buf_printf(b, "%s-- Boot %s --%s\n", out_on(o, OUT_BOLD), boot,
				       out_off(o, OUT_BOLD));
		if (!r && m != JCTL_CAT) {
			r = short_time(b, m, out_u64_or(entry, "realtime_usec", 0),
				       out_u64_or(entry, "monotonic_usec", 0), o);
			if (!r && host && *host && !o->no_hostname)
				r = buf_printf(b, " %s", host);
			r = r ? r : buf_printf(b, " %s", ident);
			if (!r && pid)
				r = buf_printf(b, "[%" PRIu64 "]", pid);
			r = r ? r : buf_puts(b, ": ");
		}
		r = r ? r : buf_printf(b, "%s%s%s\n", out_on(o, pc), out_str(entry, "message"),
				       out_off(o, pc));
	}
	snprintf(st->boot_id, sizeof(st->boot_id), "%s", boot);
	st->shown++;
	return r;
}

/* ---- --since, --until, -p ---------------------------------------------------- */

/* Exactly n digits at *p, as a number; advances *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + (*p)[i] - '0';
	}
	*p += n;
	*out = v;
	return true;
}

static int tm_to_usec(struct tm *tm, bool utc, uint64_t frac, uint64_t *usec)
{
	time_t t;

	tm->tm_isdst = -1;
	t = utc ? timegm(tm) : mktime(tm);
	if (t == (time_t)-1 || t < 0)
		return -EINVAL;
	*usec = (uint64_t)t * USEC_PER_SEC + frac;
	return 0;
}

static bool tm_now(uint64_t now, bool utc, struct tm *tm)
{
	time_t t = (time_t)(now / USEC_PER_SEC);

	return (utc ? gmtime_r(&t, tm) : localtime_r(&t, tm)) != NULL;
}

/* "[Wed ]YYYY-MM-DD[ HH:MM[:SS[.frac]]]" or "HH:MM[:SS[.frac]]", of len bytes. */
static int absolute_parse(const char *s, size_t len, bool utc, uint64_t now, uint64_t *usec)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	char text[64];
	const char *p = text;
	struct tm tm;
	int wday = -1, y, mo, d, h = 0, mi = 0, sec = 0, r;
	uint64_t frac = 0, scale = USEC_PER_SEC / 10;
	size_t n;

	if (len >= sizeof(text) || !tm_now(now, utc, &tm))
		return -EINVAL;
	memcpy(text, s, len);
	text[len] = 0;
	n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
	if (n && p[n] == ' ') {
		for (int i = 0; i < 7; i++)
			if (!strncasecmp(p, days[i], 3))
				wday = i;
		if (wday < 0)
			return -EINVAL;
		p += n + 1;
	}
	if (strlen(p) >= 10 && p[4] == '-') {
		if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
		    !digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
			return -EINVAL;
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		if (*p && *p != ' ' && *p != 'T')
			return -EINVAL;
		if (*p)
			p++;
		if (!*p)
			goto done;
	}
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
		return -EINVAL;
	if (*p == ':' && (p++, !digits(&p, 2, &sec) || sec > 60))
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (uint64_t)(*p - '0') * scale;
	}
	if (*p)
		return -EINVAL;
done:
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	r = tm_to_usec(&tm, utc, frac, usec);
	if (!r && wday >= 0 && tm.tm_wday != wday)
		return -EINVAL;
	return r;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

static int span_parse(const char *s, size_t len, uint64_t *usec)
{
	char text[64];

	if (len >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, len);
	text[len] = 0;
	return uv_timespan(text, USEC_PER_SEC, usec) < 0 ? -EINVAL : 0;
}

int jctl_time_parse(const char *s, uint64_t now, uint64_t *usec)
{
	size_t len = strlen(s);
	bool utc = ends_with(s, len, " UTC");
	uint64_t d;
	struct tm tm;
	int day;

	if (!strcmp(s, "now")) {
		*usec = now;
		return 0;
	}
	if (s[0] == '@')
		return span_parse(s + 1, len - 1, usec);
	if (s[0] == '+' || s[0] == '-') {
		if (span_parse(s + 1, len - 1, &d) < 0 || (s[0] == '-' ? d > now : d > UINT64_MAX - now))
			return -EINVAL;
		*usec = s[0] == '-' ? now - d : now + d;
		return 0;
	}
	if (ends_with(s, len, " ago") || ends_with(s, len, " left")) {
		bool ago = ends_with(s, len, " ago");

		if (span_parse(s, len - (ago ? 4 : 5), &d) < 0 || (ago ? d > now : d > UINT64_MAX - now))
			return -EINVAL;
		*usec = ago ? now - d : now + d;
		return 0;
	}
	if (utc)
		len -= 4;
	day = !strncmp(s, "today", len) && len == 5 ? 0 :
	      !strncmp(s, "yesterday", len) && len == 9 ? -1 :
	      !strncmp(s, "tomorrow", len) && len == 8 ? 1 : 2;
	if (day == 2)
		return absolute_parse(s, len, utc, now, usec);
	if (!tm_now(now, utc, &tm))
		return -EINVAL;
	tm.tm_mday += day;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return tm_to_usec(&tm, utc, 0, usec);
}

static int prio_one(const char *s, size_t len, unsigned *p)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
					     "warning", "notice", "info", "debug" };

	if (len == 1 && s[0] >= '0' && s[0] <= '7') {
		*p = (unsigned)(s[0] - '0');
		return 0;
	}
	for (unsigned i = 0; i < 8; i++)
		if (strlen(names[i]) == len && !strncmp(s, names[i], len)) {
			*p = i;
			return 0;
		}
	return -EINVAL;
}

int jctl_prio_parse(const char *s, unsigned *min, unsigned *max)
{
	const char *dots = strstr(s, "..");
	unsigned a, b;

	if (!dots) {
		*min = 0;
		return prio_one(s, strlen(s), max);
	}
	if (prio_one(s, (size_t)(dots - s), &a) < 0 || prio_one(dots + 2, strlen(dots + 2), &b) < 0)
		return -EINVAL;
	*min = a < b ? a : b;
	*max = a < b ? b : a;
	return 0;
}

/* ---- the command line ---------------------------------------------------------- */

enum {
	OPT_NO_PAGER = 0x100,
	OPT_UTC,
	OPT_NO_HOSTNAME,
	OPT_SYSTEM,
	OPT_NO_FULL,
	OPT_ENDPOINT,
	OPT_VERSION,
};

static const struct option jctl_options[] = {
	{ "unit", required_argument, NULL, 'u' },
	{ "follow", no_argument, NULL, 'f' },
	{ "lines", optional_argument, NULL, 'n' },
	{ "since", required_argument, NULL, 'S' },
	{ "until", required_argument, NULL, 'U' },
	{ "priority", required_argument, NULL, 'p' },
	{ "output", required_argument, NULL, 'o' },
	{ "boot", optional_argument, NULL, 'b' },
	{ "dmesg", no_argument, NULL, 'k' },
	{ "reverse", no_argument, NULL, 'r' },
	{ "pager-end", no_argument, NULL, 'e' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "catalog", no_argument, NULL, 'x' },
	{ "all", no_argument, NULL, 'a' },
	{ "help", no_argument, NULL, 'h' },
	{ "no-pager", no_argument, NULL, OPT_NO_PAGER },
	{ "utc", no_argument, NULL, OPT_UTC },
	{ "no-hostname", no_argument, NULL, OPT_NO_HOSTNAME },
	{ "system", no_argument, NULL, OPT_SYSTEM },
	{ "no-full", no_argument, NULL, OPT_NO_FULL },
	{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* A unit argument as systemctl mangles it: no valid suffix means ".service". */
static int unit_add(struct jctl_args *a, const char *name, struct err *e)
{
	size_t n = strlen(name);
	bool bare = !unit_name_is_valid(name) && strcmp(name, "kernel") && strcmp(name, "pith-init");

	if (a->n_units == JCTL_UNITS_MAX) {
		err_set(e, 0, "Too many units given (at most %d).", JCTL_UNITS_MAX);
		return -EINVAL;
	}
	if (!n || n + (bare ? 8 : 0) > UNIT_NAME_MAX) {
		err_set(e, 0, "Invalid unit name \"%s\".", name);
		return -EINVAL;
	}
	snprintf(a->units[a->n_units++], UNIT_NAME_MAX + 1, "%s%s", name, bare ? ".service" : "");
	return 0;
}

/* -n's value: a count or "all"; -1 for all. */
static int lines_parse(const char *s, long *lines)
{
	char *end;
	long v;

	if (!strcmp(s, "all")) {
		*lines = -1;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (!*s || *end || v < 0)
		return -EINVAL;
	*lines = v;
	return 0;
}

static int time_arg(const char *opt, const char *s, uint64_t now, uint64_t *usec, struct err *e)
{
	if (jctl_time_parse(s, now, usec) == 0)
		return 0;
	err_set(e, 0, "Failed to parse %s timestamp: %s", opt, s);
	return -EINVAL;
}

/* An offset ("0", "-1", "+2") or a 32-digit boot ID. */
static bool boot_like(const char *s)
{
	size_t n = strlen(s);

	if (n == 32 && strspn(s, "0123456789abcdefABCDEF") == 32)
		return true;
	s += *s == '-' || *s == '+';
	return *s && strspn(s, "0123456789") == strlen(s);
}

int jctl_args_parse(int argc, char **argv, uint64_t now, struct jctl_args *a, struct err *e)
{
	bool lines_set = false, end = false;
	const char *arg;
	int c;

	memset(a, 0, sizeof(*a));
	a->prio_max = LOG_PRIO_DEBUG;
	a->lines = -1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":u:fn::S:U:p:o:b::krqexah", jctl_options, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (unit_add(a, optarg, e) < 0)
				return -EINVAL;
			break;
		case 'f':
			a->follow = true;
			break;
		case 'n':
			arg = optarg;
			/* Like journalctl: "-n 5" takes the next word when it is a count. */
			if (!arg && optind < argc && lines_parse(argv[optind], &a->lines) == 0)
				arg = argv[optind++];
			if (lines_parse(arg ? arg : "10", &a->lines) < 0) {
				err_set(e, 0, "Failed to parse lines '%s'", arg);
				return -EINVAL;
			}
			lines_set = true;
			break;
		case 'S':
			if (time_arg("since", optarg, now, &a->since, e) < 0)
				return -EINVAL;
			break;
		case 'U':
			if (time_arg("until", optarg, now, &a->until, e) < 0)
				return -EINVAL;
			break;
		case 'p':
			if (jctl_prio_parse(optarg, &a->prio_min, &a->prio_max) < 0) {
				err_set(e, 0, "Unknown log level %s", optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			if (jctl_mode_parse(optarg, &a->mode) < 0) {
				err_set(e, 0, "Unknown output format '%s'.", optarg);
				return -EINVAL;
			}
			break;
		case 'b':
			arg = optarg;
			/* Like journalctl: "-b -1" takes the next word when it names a boot. */
			if (!arg && optind < argc && boot_like(argv[optind]))
				arg = argv[optind++];
			if (arg && strcmp(arg, "0") != 0) {
				err_set(e, 0, "Only the current boot can be shown (-b or -b 0), not %s.", arg);
				return -EINVAL;
			}
			a->boot = true;
			break;
		case 'k':
			a->boot = true;
			if (unit_add(a, "kernel", e) < 0)
				return -EINVAL;
			break;
		case 'r':
			a->reverse = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'e':
			end = true;
			break;
		case 'h':
			a->help = true;
			break;
		case OPT_UTC:
			a->utc = true;
			break;
		case OPT_NO_HOSTNAME:
			a->no_hostname = true;
			break;
		case OPT_ENDPOINT:
			a->endpoint = optarg;
			break;
		case OPT_VERSION:
			a->version = true;
			break;
		case 'x':
		case 'a':
		case OPT_NO_PAGER:
		case OPT_SYSTEM:
		case OPT_NO_FULL:
			break;
		case ':':
			err_set(e, 0, "option '%s' requires an argument", argv[optind - 1]);
			return -EINVAL;
		default:
			if (optopt)
				err_set(e, 0, "invalid option -- '%c'", optopt);
			else
				err_set(e, 0, "unrecognized option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	for (; optind < argc; optind++) {
		if (strncmp(argv[optind], "_SYSTEMD_UNIT=", 14) != 0) {
			err_set(e, 0, "Unsupported match \"%s\": only _SYSTEMD_UNIT=NAME is supported.",
				argv[optind]);
			return -EINVAL;
		}
		if (unit_add(a, argv[optind] + 14, e) < 0)
			return -EINVAL;
	}
	if (a->follow && a->reverse) {
		err_set(e, 0, "Please specify either --reverse or --follow, not both.");
		return -EINVAL;
	}
	if (!lines_set && end)
		a->lines = 1000;
	else if (!lines_set && a->follow && !a->since)
		a->lines = 10;
	return 0;
}

/* ---- running it ---------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

struct run {
	const struct jctl_args *a;
	struct client c;
	struct out_opts o;
	struct jctl_state st;
	cJSON *procs;		/* processes of the -u units, for identifiers */
	char boot[JCTL_BOOT_ID_MAX + 1];	/* -b: the current boot */
	uint64_t last_seq;	/* newest entry the stream carried */
	bool filter_units;	/* the stream carries other units too */
	bool probing;		/* take every entry: probe() wants the newest */
	cJSON *collect;		/* gather entries here rather than print them */
	struct buf out;		/* text not written yet */
	struct err e;
};

static int flush(struct run *x)
{
	if (x->out.len && fwrite(x->out.data, 1, x->out.len, stdout) != x->out.len)
		return -EPIPE;
	buf_reset(&x->out);
	return fflush(stdout) ? -EPIPE : 0;
}

static bool entry_wanted(const struct run *x, const cJSON *en)
{
	const char *unit = out_str(en, "unit");
	unsigned i;

	if (x->probing)
		return true;
	if (out_u64_or(en, "priority", LOG_PRIO_INFO) < x->a->prio_min)
		return false;
	if (x->boot[0] && strcmp(out_str(en, "boot_id"), x->boot) != 0)
		return false;
	if (!x->filter_units)
		return true;
	for (i = 0; i < x->a->n_units; i++)
		if (!strcmp(unit, x->a->units[i]))
			return true;
	return false;
}

/* One line of the stream: an entry, or a note that entries were lost. */
static int line_take(void *arg, char *line, size_t len)
{
	struct run *x = arg;
	uint64_t v;
	cJSON *en;
	int r = 0;

	if (!len)
		return 0;
	if (out_json_parse(line, len, &en) < 0) {
		err_set(&x->e, 0, "Bad journal entry from %s", client_where(&x->c));
		return -EBADMSG;
	}
	if (out_u64(en, "lost", &v)) {
		fprintf(stderr, "Warning: %" PRIu64 " journal entries were dropped before they could be "
			"shown.\n", v);
	} else if (cJSON_IsObject(en)) {
		if (out_u64(en, "seq", &v) && v > x->last_seq)
			x->last_seq = v;
		if (entry_wanted(x, en) && x->collect) {
			cJSON_AddItemToArray(x->collect, en);
			return 0;
		}
		if (entry_wanted(x, en))
			r = jctl_entry_format(&x->out, en, x->a->mode, x->procs, &x->st, &x->o);
	}
	cJSON_Delete(en);
	return r ? r : x->a->follow && !x->collect ? flush(x) : 0;
}

static int query_add(struct buf *t, const char *key, const char *value)
{
	int r = buf_printf(t, "%c%s=", strchr(t->data, '?') ? '&' : '?', key);

	return r ? r : client_escape(t, value);
}

static int query_num(struct buf *t, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return query_add(t, key, num);
}

/*
 * Read GET /v1/journal through line_take: the entries of unit (NULL: all)
 * after cursor (0: from the oldest), the last lines of them (-1: all), and
 * with x->probing none of the command line's filters.
 */
static int fetch(struct run *x, const char *unit, long lines, uint64_t cursor, bool follow)
{
	const struct jctl_args *a = x->a;
	struct client_response resp = { 0 };
	struct buf t = BUF_INIT;
	int r = buf_puts(&t, "/v1/journal");

	if (!r && unit)
		r = query_add(&t, "unit", unit);
	if (!r && lines >= 0)
		r = query_num(&t, "lines", (uint64_t)lines);
	if (!r && a->since && !x->probing)
		r = query_num(&t, "since", a->since);
	if (!r && a->until && !x->probing)
		r = query_num(&t, "until", a->until);
	if (!r && a->prio_max < LOG_PRIO_DEBUG && !x->probing)
		r = query_num(&t, "priority", a->prio_max);
	if (!r && cursor)
		r = query_num(&t, "cursor", cursor);
	if (!r && follow)
		r = query_add(&t, "follow", "1");
	if (r)
		err_set(&x->e, 0, "Out of memory");
	r = r ? r : client_stream_lines(&x->c, t.data, &resp, line_take, x, &x->e);
	if (!r && resp.status != 200) {
		char why[ERR_MSG_MAX];
		cJSON *answer = NULL;

		out_json_parse(resp.body.data, resp.body.len, &answer);
		err_set(&x->e, 0, "Failed to read the journal: %s",
			out_answer_error(answer, resp.status, why, sizeof(why)));
		cJSON_Delete(answer);
		r = -EIO;
	}
	buf_free(&resp.body);
	buf_free(&t);
	return r;
}

/* The current boot and the newest seq: what the newest entry says. */
static int probe(struct run *x)
{
	cJSON *newest;
	int r;

	x->collect = cJSON_CreateArray();
	x->probing = true;
	r = x->collect ? fetch(x, NULL, 1, 0, false) : -ENOMEM;
	x->probing = false;
	newest = cJSON_GetArrayItem(x->collect, cJSON_GetArraySize(x->collect) - 1);
	if (!r && x->a->boot)
		snprintf(x->boot, sizeof(x->boot), "%s", out_str(newest, "boot_id"));
	cJSON_Delete(x->collect);
	x->collect = NULL;
	return r;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const cJSON *a = *(const cJSON *const *)pa, *b = *(const cJSON *const *)pb;
	uint64_t ta = out_u64_or(a, "realtime_usec", 0), tb = out_u64_or(b, "realtime_usec", 0);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	ta = out_u64_or(a, "seq", 0);
	tb = out_u64_or(b, "seq", 0);
	return ta < tb ? -1 : ta > tb;
}

/* Print what was collected: in time order, the last lines of it, newest first for -r. */
static int collected_print(struct run *x)
{
	size_t n = (size_t)cJSON_GetArraySize(x->collect), first = 0, i = 0;
	const cJSON **v = calloc(n ? n : 1, sizeof(*v));
	const cJSON *en;
	int r = 0;

	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(en, x->collect)
		v[i++] = en;
	if (x->a->n_units > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	if (x->a->lines >= 0 && n > (size_t)x->a->lines)
		first = n - (size_t)x->a->lines;
	for (i = first; i < n && !r; i++)
		r = jctl_entry_format(&x->out, v[x->a->reverse ? n - 1 - (i - first) : i],
				      x->a->mode, x->procs, &x->st, &x->o);
	free(v);
	return r;
}

/* The -u units' processes, so that their lines name the process. Best effort. */
static void procs_load(struct run *x)
{
	struct client_response resp = { 0 };
	struct buf t = BUF_INIT;
	struct err e;
	cJSON *u, *p, *list;

	x->procs = cJSON_CreateArray();
	for (unsigned i = 0; i < x->a->n_units && x->procs; i++) {
		buf_reset(&t);
		if (buf_puts(&t, "/v1/units/") || client_escape(&t, x->a->units[i]) ||
		    client_request(&x->c, "GET", t.data, NULL, 0, &resp, &e) < 0) {
			buf_free(&resp.body);
			continue;
		}
		if (resp.status == 200 && out_json_parse(resp.body.data, resp.body.len, &u) == 0) {
			list = cJSON_DetachItemFromObjectCaseSensitive(u, "processes");
			while (list && (p = cJSON_DetachItemFromArray(list, 0)))
				cJSON_AddItemToArray(x->procs, p);
			cJSON_Delete(list);
			cJSON_Delete(u);
		}
		buf_free(&resp.body);
	}
	buf_free(&t);
}

static int run(struct run *x)
{
	const struct jctl_args *a = x->a;
	const char *only = a->n_units == 1 ? a->units[0] : NULL;
	uint64_t probed = 0;
	int r = 0;

	if (a->boot || a->follow) {
		r = probe(x);
		probed = x->last_seq;
	}
	if (!r && a->n_units)
		procs_load(x);
	if (!r && (a->reverse || a->n_units > 1) && !(x->collect = cJSON_CreateArray()))
		r = -ENOMEM;
	for (unsigned i = 0; !r && a->lines != 0 && i < (a->n_units > 1 ? a->n_units : 1); i++)
		r = fetch(x, a->n_units > 1 ? a->units[i] : only, a->lines, 0, false);
	if (!r && x->collect)
		r = collected_print(x);
	cJSON_Delete(x->collect);
	x->collect = NULL;
	if (!r && !a->follow && !x->st.shown && !a->quiet && !jctl_mode_is_json(a->mode))
		r = buf_puts(&x->out, "-- No entries --\n");
	r = r ? r : flush(x);
	if (r || !a->follow)
		return r;
	x->filter_units = a->n_units > 1;
	/* A signal that came during the queries above ends it here. */
	if (interrupted)
		return 0;
	r = fetch(x, only, -1, x->last_seq > probed ? x->last_seq : probed, true);
	return interrupted && (r == -EINTR || r == 0) ? 0 : r;
}

static const char help[] =
	"journalctl [OPTIONS...] [_SYSTEMD_UNIT=UNIT]\n"
	"\n"
	"Query the journal of a Pith node.\n"
	"\n"
	"  -u --unit=UNIT          Show logs from the specified unit\n"
	"  -f --follow             Follow the journal\n"
	"  -n --lines[=INTEGER]    Number of journal entries to show\n"
	"  -S --since=DATE         Show entries not older than the specified date\n"
	"  -U --until=DATE         Show entries not newer than the specified date\n"
	"  -p --priority=RANGE     Show entries within the specified priority range\n"
	"  -b --boot[=0]           Show the current boot\n"
	"  -k --dmesg              Show the kernel log of the current boot\n"
	"  -o --output=STRING      Output mode (short, short-precise, short-iso,\n"
	"                            short-iso-precise, short-unix, short-monotonic,\n"
	"                            cat, json, json-pretty)\n"
	"  -r --reverse            Show the newest entries first\n"
	"  -e --pager-end          Show the last 1000 entries unless -n says otherwise\n"
	"  -q --quiet              Do not show info messages\n"
	"     --utc                Express time in Coordinated Universal Time (UTC)\n"
	"     --no-hostname        Suppress output of hostname field\n"
	"     --no-pager           Accepted; there is no pager\n"
	"     --endpoint=URL       unix:/PATH or https://HOST[:PORT] (else $PITH_ENDPOINT,\n"
	"                            else unix:" CLIENT_SOCKET_DEFAULT ")\n"
	"  -h --help               Show this help text\n"
	"     --version            Show package version\n";

int cmd_journalctl(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t stop;
	struct run x = { .out = BUF_INIT };
	static char host[CLIENT_HOST_MAX + 1];
	struct jctl_args a;
	struct timespec now;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	x.o.now_usec = (uint64_t)now.tv_sec * USEC_PER_SEC + (uint64_t)now.tv_nsec / 1000;
	if (jctl_args_parse(argc, argv, x.o.now_usec, &a, &x.e) < 0) {
		fprintf(stderr, "%s\n", x.e.msg);
		return 1;
	}
	if (a.help || a.version) {
		if (a.help)
			fputs(help, stdout);
		else
			printf("pith %s\n", PITH_VERSION);
		return 0;
	}
	x.a = &a;
	if (client_setup(&x.c, a.endpoint, &x.e) < 0) {
		fprintf(stderr, "%s\n", x.e.msg);
		return CLIENT_EXIT_USAGE;
	}
	host[0] = 0;
	if (!a.no_hostname)
		client_node_name(&x.c, host, sizeof(host));
	x.o.hostname = host;
	x.o.color = out_color_wanted(STDOUT_FILENO);
	x.o.utc = a.utc;
	x.o.no_hostname = a.no_hostname;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	client_stop_on(&interrupted, &stop);
	r = run(&x);
	if (r == -ENOMEM && !x.e.msg[0])
		err_set(&x.e, 0, "Out of memory");
	if (r < 0 && r != -EPIPE && !(r == -EINTR && interrupted))
		fprintf(stderr, "%s\n", x.e.msg[0] ? x.e.msg : strerror(-r));
	cJSON_Delete(x.procs);
	buf_free(&x.out);
	client_free(&x.c);
	if (r < 0 && r != -EPIPE && !(r == -EINTR && interrupted))
		return r == -EIO || r == -ENOMEM ? 1 : client_exit_code(r);
	return 0;
}
