/* Unit-file option values: systemd's syntaxes for times, sizes, limits, signals. */
#include "unit_value.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define USEC_PER_MIN	(60 * UV_USEC_PER_SEC)
#define USEC_PER_HOUR	(60 * USEC_PER_MIN)
#define USEC_PER_DAY	(24 * USEC_PER_HOUR)
#define USEC_PER_WEEK	(7 * USEC_PER_DAY)
/* systemd.time(7): a month is 30.44 days and a year 365.25 days. */
#define USEC_PER_MONTH	(UINT64_C(2629800) * UV_USEC_PER_SEC)
#define USEC_PER_YEAR	(UINT64_C(31557600) * UV_USEC_PER_SEC)

/* RLIMIT_NICE holds 20 - nice, so nice levels -20..19 are limits 40..1. */
#define NICE_LEVEL_MIN	(-20)
#define NICE_LEVEL_MAX	19
#define NICE_LIMIT_MAX	(20 - NICE_LEVEL_MIN)

#define EXIT_CODE_MAX	255

struct uv_unit {
	const char *name;
	uint64_t factor;
};

static const struct uv_unit time_units[] = {
	{ "usec", 1 }, { "us", 1 }, { "\xc2\xb5s", 1 }, { "\xce\xbcs", 1 },
	{ "msec", UV_USEC_PER_MSEC }, { "ms", UV_USEC_PER_MSEC },
	{ "seconds", UV_USEC_PER_SEC }, { "second", UV_USEC_PER_SEC },
	{ "sec", UV_USEC_PER_SEC }, { "s", UV_USEC_PER_SEC },
	{ "minutes", USEC_PER_MIN }, { "minute", USEC_PER_MIN },
	{ "min", USEC_PER_MIN }, { "m", USEC_PER_MIN },
	{ "hours", USEC_PER_HOUR }, { "hour", USEC_PER_HOUR },
	{ "hr", USEC_PER_HOUR }, { "h", USEC_PER_HOUR },
	{ "days", USEC_PER_DAY }, { "day", USEC_PER_DAY }, { "d", USEC_PER_DAY },
	{ "weeks", USEC_PER_WEEK }, { "week", USEC_PER_WEEK }, { "w", USEC_PER_WEEK },
	{ "months", USEC_PER_MONTH }, { "month", USEC_PER_MONTH }, { "M", USEC_PER_MONTH },
	{ "years", USEC_PER_YEAR }, { "year", USEC_PER_YEAR }, { "y", USEC_PER_YEAR },
};

/* Largest first: the order uv_timespan_format writes parts in. */
static const struct uv_unit time_shown[] = {
	{ "y", USEC_PER_YEAR }, { "month", USEC_PER_MONTH }, { "w", USEC_PER_WEEK },
	{ "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MIN },
	{ "s", UV_USEC_PER_SEC }, { "ms", UV_USEC_PER_MSEC }, { "us", 1 },
};

/* Smallest first; uv_bytes_format walks it backwards and never shows "B". */
static const struct uv_unit size_units[] = {
	{ "B", 1 }, { "K", UINT64_C(1) << 10 }, { "M", UINT64_C(1) << 20 },
	{ "G", UINT64_C(1) << 30 }, { "T", UINT64_C(1) << 40 },
	{ "P", UINT64_C(1) << 50 }, { "E", UINT64_C(1) << 60 },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

/* Whether [p, end) is exactly word. */
static bool span_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) == n && memcmp(p, word, n) == 0;
}

/* Read the digits at *pp, advancing it; none is not an error here. */
static int digits_read(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t n = 0;

	for (; p < end && is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*pp = p;
	*out = n;
	return 0;
}

/* [p, end) holds a decimal number and nothing else. */
static int uint_parse(const char *p, const char *end, uint64_t *out)
{
	const char *start = p;
	int r;

	r = digits_read(&p, end, out);
	if (r < 0)
		return r;
	return p == start || p != end ? -EINVAL : 0;
}

/*
 * Parts of a number (with an optional fraction) and an optional unit from
 * units, summed; a number without a unit counts dflt each. A sum that
 * reaches UV_INFINITY is -ERANGE.
 */
static int sum_parse(const char *p, const char *end, const struct uv_unit *units,
		     size_t n_units, uint64_t dflt, uint64_t *out)
{
	uint64_t total = 0;
	bool any = false;

	for (;;) {
		uint64_t whole, frac = 0, scale = 1, factor = dflt, part;
		unsigned n_frac = 0;
		const char *start, *word;
		size_t i;
		int r;

		p = skip_blank(p, end);
		if (p == end)
			break;
		start = p;
		r = digits_read(&p, end, &whole);
		if (r < 0)
			return r;
		if (p < end && *p == '.') {
			if (++p == end || !is_digit(*p))
				return -EINVAL;
			for (; p < end && is_digit(*p); p++) {
				if (n_frac++ < UV_FRACTION_DIGITS_MAX) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					scale *= 10;
				}
			}
		}
		if (p == start || (p < end && *p == '.'))
			return -EINVAL;

		p = skip_blank(p, end);
		word = p;
		while (p < end && !is_blank(*p) && !is_digit(*p) && *p != '.')
			p++;
		if (p > word) {
			for (i = 0; i < n_units && !span_is(word, p, units[i].name); i++)
				;
			if (i == n_units)
				return -EINVAL;
			factor = units[i].factor;
		}

		/* frac / scale of factor, split so no product exceeds 64 bits. */
		if (__builtin_mul_overflow(whole, factor, &part) ||
		    __builtin_add_overflow(part, factor / scale * frac + factor % scale * frac / scale,
					   &part) ||
		    __builtin_add_overflow(total, part, &total) || total == UV_INFINITY)
			return -ERANGE;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*out = total;
	return 0;
}

static int timespan_parse(const char *p, const char *end, uint64_t default_usec, uint64_t *usec)
{
	if (default_usec == 0)
		return -EINVAL;
	if (span_is(p, end, "infinity")) {
		*usec = UV_INFINITY;
		return 0;
	}
	return sum_parse(p, end, time_units, N_ELEMS(time_units), default_usec, usec);
}

static int bytes_parse(const char *p, const char *end, uint64_t *out)
{
	if (span_is(p, end, "infinity")) {
		*out = UV_INFINITY;
		return 0;
	}
	return sum_parse(p, end, size_units, N_ELEMS(size_units), 1, out);
}

/* "N%", "N.N%" or "N.NN%", in hundredths of a percent. */
static int percent_parse(const char *s, uint64_t *out)
{
	const char *p = s, *end = s + strlen(s);
	uint64_t whole, frac = 0;
	int r;

	if (p == end || end[-1] != '%')
		return -EINVAL;
	end--;
	r = digits_read(&p, end, &whole);
	if (r < 0)
		return r;
	if (p == s)
		return -EINVAL;
	if (p < end && *p == '.') {
		const char *f = ++p;

		r = digits_read(&p, end, &frac);
		if (r < 0 || p == f || p - f > 2)
			return -EINVAL;
		if (p - f == 1)
			frac *= 10;
	}
	if (p != end)
		return -EINVAL;
	if (whole > (UINT64_MAX - frac) / 100)
		return -ERANGE;
	*out = whole * 100 + frac;
	return 0;
}

int uv_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
	size_t i;

	for (i = 0; i < N_ELEMS(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int uv_timespan(const char *s, uint64_t default_usec, uint64_t *usec)
{
	return timespan_parse(s, s + strlen(s), default_usec, usec);
}

int uv_bytes(const char *s, uint64_t *out)
{
	return bytes_parse(s, s + strlen(s), out);
}

int uv_limit(const char *s, bool is_count, uint64_t *out, bool *is_relative)
{
	const char *end = s + strlen(s);
	uint64_t v;
	int r;

	if (end > s && end[-1] == '%') {
		r = percent_parse(s, &v);
		if (r < 0)
			return r;
		if (v > 10000)
			return -ERANGE;
		*out = v;
		*is_relative = true;
		return 0;
	}
	if (span_is(s, end, "infinity")) {
		v = UV_INFINITY;
	} else if (is_count) {
		r = uint_parse(s, end, &v);
		if (r < 0)
			return r;
		if (v == UV_INFINITY)
			return -ERANGE;
	} else {
		r = bytes_parse(s, end, &v);
		if (r < 0)
			return r;
	}
	*out = v;
	*is_relative = false;
	return 0;
}

int uv_weight(const char *s, bool allow_idle, uint64_t *out)
{
	uint64_t v;
	int r;

	if (allow_idle && strcmp(s, "idle") == 0) {
		*out = 0;
		return 0;
	}
	r = uint_parse(s, s + strlen(s), &v);
	if (r < 0)
		return r;
	if (v < UV_WEIGHT_MIN || v > UV_WEIGHT_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

int uv_cpu_quota(const char *s, uint64_t *per_ten_thousand)
{
	uint64_t v;
	int r;

	r = percent_parse(s, &v);
	if (r < 0)
		return r;
	if (v == 0)
		return -ERANGE;
	*per_ten_thousand = v;
	return 0;
}

/* --- signals and exit statuses ------------------------------------------- */

static const struct {
	int sig;
	const char *name;
} signals[] = {
	{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
	{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
	{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
	{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
	{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT, "SIGSTKFLT" },
#endif
	{ SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" },
	{ SIGTSTP, "SIGTSTP" }, { SIGTTIN, "SIGTTIN" }, { SIGTTOU, "SIGTTOU" },
	{ SIGURG, "SIGURG" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
	{ SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" }, { SIGWINCH, "SIGWINCH" },
	{ SIGIO, "SIGIO" }, { SIGPWR, "SIGPWR" }, { SIGSYS, "SIGSYS" },
};

/*
 * Real-time signals by offset from SIGRTMIN, which the C library decides at
 * run time; Linux has 33 of them, of which the library keeps two or three.
 */
static const char *const rt_names[] = {
	"SIGRTMIN", "SIGRTMIN+1", "SIGRTMIN+2", "SIGRTMIN+3", "SIGRTMIN+4",
	"SIGRTMIN+5", "SIGRTMIN+6", "SIGRTMIN+7", "SIGRTMIN+8", "SIGRTMIN+9",
	"SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14",
	"SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMIN+17", "SIGRTMIN+18", "SIGRTMIN+19",
	"SIGRTMIN+20", "SIGRTMIN+21", "SIGRTMIN+22", "SIGRTMIN+23", "SIGRTMIN+24",
	"SIGRTMIN+25", "SIGRTMIN+26", "SIGRTMIN+27", "SIGRTMIN+28", "SIGRTMIN+29",
	"SIGRTMIN+30", "SIGRTMIN+31", "SIGRTMIN+32",
};

/* The names systemd-analyze exit-status lists for the libc, LSB and BSD codes. */
static const struct {
	int code;
	const char *name;
} exit_names[] = {
	{ 0, "SUCCESS" }, { 1, "FAILURE" },
	{ 2, "INVALIDARGUMENT" }, { 3, "NOTIMPLEMENTED" }, { 4, "NOPERMISSION" },
	{ 5, "NOTINSTALLED" }, { 6, "NOTCONFIGURED" }, { 7, "NOTRUNNING" },
	{ 64, "USAGE" }, { 65, "DATAERR" }, { 66, "NOINPUT" }, { 67, "NOUSER" },
	{ 68, "NOHOST" }, { 69, "UNAVAILABLE" }, { 70, "SOFTWARE" }, { 71, "OSERR" },
	{ 72, "OSFILE" }, { 73, "CANTCREAT" }, { 74, "IOERR" }, { 75, "TEMPFAIL" },
	{ 76, "PROTOCOL" }, { 77, "NOPERM" }, { 78, "CONFIG" },
};

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" in [p, end); -EINVAL if not one. */
static int rt_signal_parse(const char *p, const char *end, int *sig)
{
	int base, dir;
	uint64_t k;
	int r;

	if (end - p < 5)
		return -EINVAL;
	if (memcmp(p, "RTMIN", 5) == 0)
		base = SIGRTMIN, dir = 1;
	else if (memcmp(p, "RTMAX", 5) == 0)
		base = SIGRTMAX, dir = -1;
	else
		return -EINVAL;
	p += 5;
	if (p == end) {
		*sig = base;
		return 0;
	}
	if (*p != (dir > 0 ? '+' : '-') || ++p == end)
		return -EINVAL;
	r = uint_parse(p, end, &k);
	if (r < 0)
		return r;
	if (k > (uint64_t)(SIGRTMAX - SIGRTMIN))
		return -ERANGE;
	*sig = base + dir * (int)k;
	return 0;
}

/* A signal name in [p, end), "SIG" optional; numbers are not names. */
static int signal_name_parse(const char *p, const char *end, int *sig)
{
	size_t i;

	if (end - p >= 3 && memcmp(p, "SIG", 3) == 0)
		p += 3;
	for (i = 0; i < N_ELEMS(signals); i++) {
		if (span_is(p, end, signals[i].name + 3)) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return rt_signal_parse(p, end, sig);
}

int uv_signal(const char *s, int *sig)
{
	const char *end = s + strlen(s);
	uint64_t n;
	int r;

	if (!is_digit(*s))
		return signal_name_parse(s, end, sig);
	r = uint_parse(s, end, &n);
	if (r < 0)
		return r;
	if (n < 1 || n >= _NSIG)
		return -ERANGE;
	*sig = (int)n;
	return 0;
}

const char *uv_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < N_ELEMS(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX && (size_t)(sig - SIGRTMIN) < N_ELEMS(rt_names))
		return rt_names[sig - SIGRTMIN];
	return NULL;
}

const char *uv_exit_status_name(int code)
{
	size_t i;

	for (i = 0; i < N_ELEMS(exit_names); i++)
		if (exit_names[i].code == code)
			return exit_names[i].name;
	return NULL;
}

static int status_word_add(const char *p, const char *end, struct uv_status_set *set)
{
	uint64_t code;
	size_t i;
	int sig, r;

	if (is_digit(*p)) {
		r = uint_parse(p, end, &code);
		if (r < 0)
			return r;
		if (code > EXIT_CODE_MAX)
			return -ERANGE;
		set->code[code / 8] |= (uint8_t)(1u << (code % 8));
		return 0;
	}
	for (i = 0; i < N_ELEMS(exit_names); i++) {
		if (span_is(p, end, exit_names[i].name)) {
			code = (uint64_t)exit_names[i].code;
			set->code[code / 8] |= (uint8_t)(1u << (code % 8));
			return 0;
		}
	}
	r = signal_name_parse(p, end, &sig);
	if (r < 0)
		return r;
	if (sig >= 64)
		return -ERANGE;
	set->sig |= UINT64_C(1) << sig;
	return 0;
}

int uv_status_set_add(const char *s, struct uv_status_set *set)
{
	struct uv_status_set next = *set;
	const char *p = s, *end = s + strlen(s);
	bool any = false;

	for (;;) {
		const char *word;
		int r;

		p = skip_blank(p, end);
		if (p == end)
			break;
		word = p;
		while (p < end && !is_blank(*p))
			p++;
		r = status_word_add(word, p, &next);
		if (r < 0)
			return r;
		any = true;
	}
	if (any)
		*set = next;
	else
		memset(set, 0, sizeof(*set));
	return 0;
}

bool uv_status_set_has_code(const struct uv_status_set *set, int code)
{
	if (code < 0 || code > EXIT_CODE_MAX)
		return false;
	return set->code[code / 8] & (1u << (code % 8));
}

bool uv_status_set_has_signal(const struct uv_status_set *set, int sig)
{
	if (sig < 1 || sig >= 64)
		return false;
	return set->sig & (UINT64_C(1) << sig);
}

/* --- resource limits and modes ------------------------------------------- */

static const struct {
	const char *option;
	int resource;
} rlimit_options[] = {
	{ "LimitCPU", RLIMIT_CPU }, { "LimitFSIZE", RLIMIT_FSIZE },
	{ "LimitDATA", RLIMIT_DATA }, { "LimitSTACK", RLIMIT_STACK },
	{ "LimitCORE", RLIMIT_CORE }, { "LimitRSS", RLIMIT_RSS },
	{ "LimitNOFILE", RLIMIT_NOFILE }, { "LimitAS", RLIMIT_AS },
	{ "LimitNPROC", RLIMIT_NPROC }, { "LimitMEMLOCK", RLIMIT_MEMLOCK },
	{ "LimitLOCKS", RLIMIT_LOCKS }, { "LimitSIGPENDING", RLIMIT_SIGPENDING },
	{ "LimitMSGQUEUE", RLIMIT_MSGQUEUE }, { "LimitNICE", RLIMIT_NICE },
	{ "LimitRTPRIO", RLIMIT_RTPRIO }, { "LimitRTTIME", RLIMIT_RTTIME },
};

int uv_rlimit_resource(const char *option)
{
	size_t i;

	for (i = 0; i < N_ELEMS(rlimit_options); i++)
		if (strcmp(option, rlimit_options[i].option) == 0)
			return rlimit_options[i].resource;
	return -1;
}

/* "+n" and "-n" are nice levels; a bare number is the raw limit. */
static int nice_limit_parse(const char *p, const char *end, rlim_t *out)
{
	char sign = p < end ? *p : 0;
	uint64_t n;
	int r;

	if (sign == '+' || sign == '-')
		p++;
	r = uint_parse(p, end, &n);
	if (r < 0)
		return r;
	if (sign == '+') {
		if (n > NICE_LEVEL_MAX)
			return -ERANGE;
		*out = 20 - n;
	} else if (sign == '-') {
		if (n > -NICE_LEVEL_MIN)
			return -ERANGE;
		*out = 20 + n;
	} else {
		if (n > NICE_LIMIT_MAX)
			return -ERANGE;
		*out = n;
	}
	return 0;
}

static int rlimit_value_parse(const char *p, const char *end, int resource, rlim_t *out)
{
	uint64_t v;
	int r;

	if (span_is(p, end, "infinity")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	switch (resource) {
	case RLIMIT_AS: case RLIMIT_CORE: case RLIMIT_DATA: case RLIMIT_FSIZE:
	case RLIMIT_MEMLOCK: case RLIMIT_MSGQUEUE: case RLIMIT_RSS: case RLIMIT_STACK:
		r = bytes_parse(p, end, &v);
		break;
	case RLIMIT_CPU:
		r = timespan_parse(p, end, UV_USEC_PER_SEC, &v);
		/* The kernel counts CPU time in seconds; round up, never down. */
		if (r == 0)
			v = v / UV_USEC_PER_SEC + (v % UV_USEC_PER_SEC != 0);
		break;
	case RLIMIT_RTTIME:
		r = timespan_parse(p, end, 1, &v);
		break;
	case RLIMIT_NICE:
		return nice_limit_parse(p, end, out);
	default:
		r = uint_parse(p, end, &v);
		if (r == 0 && v == RLIM_INFINITY)
			r = -ERANGE;
		break;
	}
	if (r < 0)
		return r;
	*out = v;
	return 0;
}

int uv_rlimit(const char *s, int resource, struct rlimit *out)
{
	const char *end = s + strlen(s);
	const char *colon = memchr(s, ':', (size_t)(end - s));
	rlim_t soft, hard;
	int r;

	if (resource < 0 || resource >= RLIMIT_NLIMITS)
		return -EINVAL;
	r = rlimit_value_parse(s, colon ? colon : end, resource, &soft);
	if (r < 0)
		return r;
	hard = soft;
	if (colon) {
		r = rlimit_value_parse(colon + 1, end, resource, &hard);
		if (r < 0)
			return r;
		if (soft > hard)
			return -EINVAL;
	}
	out->rlim_cur = soft;
	out->rlim_max = hard;
	return 0;
}

int uv_umask(const char *s, mode_t *out)
{
	const char *p;
	unsigned v = 0;

	if (*s == 0)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -EINVAL;
		v = v * 8 + (unsigned)(*p - '0');
		if (v > 0777)
			return -ERANGE;
	}
	*out = (mode_t)v;
	return 0;
}

/* --- formatting ---------------------------------------------------------- */

/* Append to buf at *pos; false once the text no longer fits. */
static bool append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *pos) {
		*pos = len - 1;
		return false;
	}
	*pos += (size_t)n;
	return true;
}

static int decimal_digits(uint64_t v)
{
	int d = 0;

	for (; v >= 10; v /= 10)
		d++;
	return d;
}

char *uv_timespan_format_accuracy(uint64_t usec, uint64_t accuracy_usec, char *buf, size_t len)
{
	size_t pos = 0, i;

	if (len == 0)
		return buf;
	buf[0] = 0;
	if (usec == UV_INFINITY || usec == 0) {
		append(buf, len, &pos, "%s", usec ? "infinity" : "0");
		return buf;
	}
	if (accuracy_usec == 0)
		accuracy_usec = 1;

	for (i = 0; i < N_ELEMS(time_shown) && usec > 0; i++) {
		const struct uv_unit *u = &time_shown[i];
		const char *sep = pos > 0 ? " " : "";
		uint64_t whole = usec / u->factor, rest = usec % u->factor;
		int decimals = decimal_digits(u->factor) - decimal_digits(accuracy_usec);

		if (usec < accuracy_usec && pos > 0)
			break;
		if (whole == 0)
			continue;
		/* Under a minute, "1.500000s" reads better than "1s 500ms". */
		if (usec < USEC_PER_MIN && rest > 0 && decimals > 0) {
			append(buf, len, &pos, "%s%" PRIu64 ".%0*" PRIu64 "%s", sep, whole,
			       decimals, rest / accuracy_usec, u->name);
			break;
		}
		if (!append(buf, len, &pos, "%s%" PRIu64 "%s", sep, whole, u->name))
			break;
		usec = rest;
	}
	return buf;
}

char *uv_timespan_format(uint64_t usec, char *buf, size_t len)
{
	return uv_timespan_format_accuracy(usec, 1, buf, len);
}

char *uv_bytes_format(uint64_t bytes, char *buf, size_t len)
{
	size_t pos = 0, i;

	if (len == 0)
		return buf;
	if (bytes == UV_INFINITY) {
		append(buf, len, &pos, "infinity");
		return buf;
	}
	for (i = N_ELEMS(size_units) - 1; i > 0; i--) {
		uint64_t factor = size_units[i].factor;

		if (bytes >= factor) {
			/*
			 * The tenths digit comes from the size in the next smaller
			 * unit, truncated, as systemctl computes it: 1153485 bytes
			 * is "1.0M" there, not "1.1M".
			 */
			uint64_t tenths = bytes / (factor / 1024) * 10 / 1024 % 10;

			append(buf, len, &pos, "%" PRIu64 ".%" PRIu64 "%s",
			       bytes / factor, tenths, size_units[i].name);
			return buf;
		}
	}
	append(buf, len, &pos, "%" PRIu64 "B", bytes);
	return buf;
}
