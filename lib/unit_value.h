/*
 * Parsers for the value syntaxes of unit-file options, as systemd 252
 * documents them (systemd.time(7), systemd.exec(5), systemd.kill(5),
 * systemd.resource-control(5), systemd.service(5)), and the two formatters
 * status output uses.
 *
 * Every parser takes a NUL-terminated value that the caller has already
 * trimmed of surrounding whitespace, writes its result only on success, and
 * returns 0, -EINVAL for a malformed value or -ERANGE for a well-formed
 * number outside what the option allows. Nothing here allocates, does I/O
 * or keeps state.
 */
#ifndef PITH_UNIT_VALUE_H
#define PITH_UNIT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* "infinity" for time spans, sizes, limits and counts. */
#define UV_INFINITY UINT64_MAX

#define UV_USEC_PER_MSEC UINT64_C(1000)
#define UV_USEC_PER_SEC UINT64_C(1000000)

/* Fraction digits honoured in "1.5s" or "1.5G"; later digits are ignored. */
#define UV_FRACTION_DIGITS_MAX 9

/* CPUWeight= and IOWeight= range, as cgroup v2's cpu.weight and io.weight. */
#define UV_WEIGHT_MIN 1
#define UV_WEIGHT_MAX 10000

/* Buffer sizes that always hold a whole formatted value. */
#define UV_TIMESPAN_FORMAT_MAX 64
#define UV_BYTES_FORMAT_MAX 16

/*
 * systemd's boolean words, case-insensitive: 1 yes y true t on give true,
 * 0 no n false f off give false. Anything else is -EINVAL.
 */
int uv_bool(const char *s, bool *out);

/*
 * A time span as in systemd.time(7): "infinity" (giving UV_INFINITY), or one
 * or more parts, each a number with an optional unit, summed: "1min 30s",
 * "2h5m", "1.5s", ".5s", "100ms". Whitespace may separate parts and a number
 * from its unit. Units, case-sensitive: usec us µs, msec ms, seconds second
 * sec s, minutes minute min m, hours hour hr h, days day d, weeks week w,
 * months month M (30.44 days), years year y (365.25 days). A number without a
 * unit counts default_usec microseconds each (UV_USEC_PER_SEC for most
 * options; must not be 0). Fractions below a microsecond are dropped. The
 * result is in microseconds. -EINVAL for an empty or malformed span, -ERANGE
 * when the sum reaches UV_INFINITY.
 */
int uv_timespan(const char *s, uint64_t default_usec, uint64_t *usec);

/*
 * A size in bytes: "infinity" (UV_INFINITY), or one or more parts summed,
 * each a number with an optional suffix B K M G T P E (base 1024,
 * case-sensitive), decimals allowed: "512", "1.5G", "1G 512M". Fractions of a
 * byte are dropped. -ERANGE when the sum reaches UV_INFINITY.
 */
int uv_bytes(const char *s, uint64_t *out);

/*
 * A MemoryMax=, MemoryHigh= or TasksMax= value. "infinity" gives UV_INFINITY;
 * "N%" with up to two decimals ("12.5%", "0.01%") gives the share in
 * ten-thousandths (0..10000, more is -ERANGE) with *is_relative set, to be
 * applied to physical memory or to the kernel's pid limit; otherwise a size
 * as uv_bytes takes it, or with is_count a plain decimal count. Whether 0 is
 * acceptable is the option's business, not this function's.
 */
int uv_limit(const char *s, bool is_count, uint64_t *out, bool *is_relative);

/*
 * CPUWeight= or IOWeight=: UV_WEIGHT_MIN..UV_WEIGHT_MAX, else -ERANGE. With
 * allow_idle (CPUWeight=), "idle" is accepted and gives 0.
 */
int uv_weight(const char *s, bool allow_idle, uint64_t *out);

/*
 * CPUQuota=: a percentage with up to two decimals, ending in '%', which may
 * exceed 100 (a share of several CPUs). The result is in hundredths of a
 * percent: "20%" gives 2000, "12.5%" gives 1250, "200%" gives 20000. "0%" is
 * -ERANGE.
 */
int uv_cpu_quota(const char *s, uint64_t *per_ten_thousand);

/*
 * A signal: its name with or without "SIG" ("SIGTERM", "TERM"; names are
 * case-sensitive), a real-time signal as "SIGRTMIN", "SIGRTMIN+n",
 * "SIGRTMAX" or "SIGRTMAX-n" (again with or without "SIG"), or a number
 * 1.._NSIG-1. A number or real-time offset out of range is -ERANGE.
 */
int uv_signal(const char *s, int *sig);

/*
 * The name to show for a signal, "SIGTERM" or "SIGRTMIN+3"; NULL when the
 * signal has none (0, out of range, or reserved by the C library). The
 * string is static.
 */
const char *uv_signal_name(int sig);

/*
 * The name of an exit status that systemd knows by name for
 * SuccessExitStatus= ("SUCCESS", "FAILURE", the LSB codes 2..7 and the BSD
 * sysexits codes 64..78 such as "TEMPFAIL"); NULL for other codes. Static.
 */
const char *uv_exit_status_name(int code);

/*
 * The exit codes and signals that SuccessExitStatus= or
 * RestartPreventExitStatus= name. The caller zeroes it before first use.
 */
struct uv_status_set {
	uint8_t code[256 / 8];	/* bit n of byte n / 8 = exit code n */
	uint64_t sig;		/* bit n = signal n, n < 64 */
};

/*
 * Add a space-separated list of exit codes (0..255), exit status names (see
 * uv_exit_status_name) and signal names (as uv_signal takes them, but not as
 * numbers, which are exit codes) to *set. An empty list clears the set, as an
 * empty assignment resets the option. On error the set is left unchanged:
 * -EINVAL for an unknown word, -ERANGE for a code above 255 or a signal that
 * does not fit the set.
 */
int uv_status_set_add(const char *s, struct uv_status_set *set);
bool uv_status_set_has_code(const struct uv_status_set *set, int code);
bool uv_status_set_has_signal(const struct uv_status_set *set, int sig);

/*
 * A Limit*= value for resource (RLIMIT_*): "soft:hard", or one value for
 * both. Each value is "infinity" (RLIM_INFINITY) or, by resource: a size as
 * uv_bytes takes it for RLIMIT_AS, CORE, DATA, FSIZE, MEMLOCK, MSGQUEUE, RSS
 * and STACK; a time span for RLIMIT_CPU (seconds by default, rounded up to
 * whole seconds) and RLIMIT_RTTIME (microseconds by default, kept in
 * microseconds); for RLIMIT_NICE, "+n" or "-n" as a nice level -20..19 or an
 * unsigned raw limit 0..40; a plain decimal number for the rest. A soft limit
 * above the hard one, or an unknown resource, is -EINVAL.
 */
int uv_rlimit(const char *s, int resource, struct rlimit *out);

/*
 * The RLIMIT_* resource behind an option name, "LimitNOFILE" giving
 * RLIMIT_NOFILE, for the 16 Limit*= options; -1 for any other name.
 */
int uv_rlimit_resource(const char *option);

/* UMask=: octal digits, 0..0777 ("22", "0022"); more is -ERANGE. */
int uv_umask(const char *s, mode_t *out);

/*
 * Write a time span into buf (len bytes, truncated to fit, NUL-terminated
 * when len > 0) as systemctl shows one: "0", "infinity", "1min 30s", "100ms",
 * "1.500000s", "1y 2month". Parts run from years down to microseconds; below
 * a minute, a remainder is written as decimals of the largest unit. The
 * result parses back to the same value. Returns buf.
 */
char *uv_timespan_format(uint64_t usec, char *buf, size_t len);

/*
 * The same, showing nothing finer than accuracy_usec (a power of ten, 0
 * taken as 1): with UV_USEC_PER_MSEC, 1234567us gives "1.234s", as
 * systemctl status shows CPU time. Returns buf.
 */
char *uv_timespan_format_accuracy(uint64_t usec, uint64_t accuracy_usec,
				  char *buf, size_t len);

/*
 * Write a size into buf as systemctl status shows memory: bytes below 1K as
 * "512B", larger sizes in the largest fitting base-1024 unit with one
 * truncated decimal, "1.5M", "812.0K", "2.0G"; UV_INFINITY as "infinity".
 * Truncated to fit len; returns buf.
 */
char *uv_bytes_format(uint64_t bytes, char *buf, size_t len);

#endif
