/*
 * Unit-file option values. The time-span cases were checked against
 * systemd 252's `systemd-analyze timespan`, which prints both the parsed
 * microseconds and the human form systemctl shows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "unit_value.h"

#define UNTOUCHED UINT64_C(0x5a5a5a5a)

static void timespan_is(const char *s, uint64_t want)
{
	uint64_t v = UNTOUCHED;
	int r = uv_timespan(s, UV_USEC_PER_SEC, &v);

	if (r != 0 || v != want)
		fail_msg("uv_timespan(\"%s\") = %d, %" PRIu64 "; want 0, %" PRIu64, s, r, v, want);
}

static void timespan_fails(const char *s, int err)
{
	uint64_t v = UNTOUCHED;
	int r = uv_timespan(s, UV_USEC_PER_SEC, &v);

	if (r != err || v != UNTOUCHED)
		fail_msg("uv_timespan(\"%s\") = %d (value %" PRIu64 "); want %d, untouched",
			 s, r, v, err);
}

static void timespan_shows(uint64_t usec, const char *want)
{
	char buf[UV_TIMESPAN_FORMAT_MAX];

	assert_string_equal(uv_timespan_format(usec, buf, sizeof(buf)), want);
}

static void bytes_is(const char *s, uint64_t want)
{
	uint64_t v = UNTOUCHED;
	int r = uv_bytes(s, &v);

	if (r != 0 || v != want)
		fail_msg("uv_bytes(\"%s\") = %d, %" PRIu64 "; want 0, %" PRIu64, s, r, v, want);
}

static void bytes_fails(const char *s, int err)
{
	uint64_t v = UNTOUCHED;
	int r = uv_bytes(s, &v);

	if (r != err || v != UNTOUCHED)
		fail_msg("uv_bytes(\"%s\") = %d (value %" PRIu64 "); want %d, untouched",
			 s, r, v, err);
}

static void bytes_shows(uint64_t bytes, const char *want)
{
	char buf[UV_BYTES_FORMAT_MAX];

	assert_string_equal(uv_bytes_format(bytes, buf, sizeof(buf)), want);
}

/* --- time spans ---------------------------------------------------------- */

static void timespan_units_and_parts_are_summed(void **state)
{
	timespan_is("90s", 90000000);
	timespan_is("1min 30s", 90000000);
	timespan_is("1min30s", 90000000);
	timespan_is("2h5m", 7500000000);
	timespan_is("100ms", 100000);
	timespan_is("5 s", 5000000);
	timespan_is("1  s", 1000000);
	timespan_is("1\ts", 1000000);
	timespan_is("00001s", 1000000);
	timespan_is("1s 1s", 2000000);
	timespan_is("1y1M1w1d1h1m1s1ms1us", 34882261001001);
}

static void timespan_accepts_every_unit_name(void **state)
{
	timespan_is("5usec", 5);
	timespan_is("5us", 5);
	timespan_is("5\xc2\xb5s", 5);	/* MICRO SIGN */
	timespan_is("5\xce\xbcs", 5);	/* GREEK SMALL LETTER MU */
	timespan_is("1msec", 1000);
	timespan_is("1ms", 1000);
	timespan_is("1 seconds", 1000000);
	timespan_is("1 second", 1000000);
	timespan_is("1sec", 1000000);
	timespan_is("2 minutes", 120000000);
	timespan_is("2 minute", 120000000);
	timespan_is("2min", 120000000);
	timespan_is("2m", 120000000);
	timespan_is("2 hours", 7200000000);
	timespan_is("2 hour", 7200000000);
	timespan_is("2hr", 7200000000);
	timespan_is("2h", 7200000000);
	timespan_is("2 days", 172800000000);
	timespan_is("2 day", 172800000000);
	timespan_is("2d", 172800000000);
	timespan_is("3 weeks", 1814400000000);
	timespan_is("3 week", 1814400000000);
	timespan_is("3w", 1814400000000);
	timespan_is("2 months", 5259600000000);
	timespan_is("2 month", 5259600000000);
	timespan_is("1M", 2629800000000);
	timespan_is("2 years", 63115200000000);
	timespan_is("2 year", 63115200000000);
	timespan_is("1y", 31557600000000);
}

static void timespan_bare_number_takes_the_default_unit(void **state)
{
	uint64_t v = 0;

	timespan_is("0", 0);
	timespan_is("1", 1000000);
	timespan_is("1m1", 61000000);
	timespan_is("1 1", 2000000);
	timespan_is("1 ms 5", 5001000);
	timespan_is("1h 1", 3601000000);

	assert_int_equal(uv_timespan("5", 1, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(uv_timespan("5", UV_USEC_PER_MSEC, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(uv_timespan("5s", 1, &v), 0);
	assert_int_equal(v, 5000000);
	assert_int_equal(uv_timespan("5", 0, &v), -EINVAL);
}

static void timespan_fractions_are_truncated_to_microseconds(void **state)
{
	timespan_is("1.5s", 1500000);
	timespan_is("1.5", 1500000);
	timespan_is(".5s", 500000);
	timespan_is("01.50s", 1500000);
	timespan_is("1.0001s", 1000100);
	timespan_is("3.5min", 210000000);
	timespan_is("1.5y", 47336400000000);
	timespan_is("1.5ms", 1500);
	timespan_is("1.5us", 1);
	timespan_is("0.5us", 0);
	timespan_is("0.0000015min", 90);
	timespan_is("1.23456789s", 1234567);
	timespan_is("0.99999999999999999999999s", 999999);
	timespan_is("1.0000000000000000000000001s", 1000000);
	timespan_is("1.5 .5s", 2000000);
	timespan_is("1 .5s", 1500000);
}

static void timespan_infinity_is_the_whole_value(void **state)
{
	timespan_is("infinity", UV_INFINITY);
	timespan_fails("INFINITY", -EINVAL);
	timespan_fails("infinityy", -EINVAL);
	timespan_fails("infinity 1s", -EINVAL);
	timespan_fails("1s infinity", -EINVAL);
}

static void timespan_rejects_malformed_spans(void **state)
{
	timespan_fails("", -EINVAL);
	timespan_fails(" ", -EINVAL);
	timespan_fails("s", -EINVAL);
	timespan_fails(".", -EINVAL);
	timespan_fails("1.s", -EINVAL);
	timespan_fails("1. s", -EINVAL);
	timespan_fails("1.5.5s", -EINVAL);
	timespan_fails("1,5s", -EINVAL);
	timespan_fails("1e3s", -EINVAL);
	timespan_fails("0x10s", -EINVAL);
	timespan_fails("-1s", -EINVAL);
	timespan_fails("1Min", -EINVAL);
	timespan_fails("1 S", -EINVAL);
	timespan_fails("1 MS", -EINVAL);
	timespan_fails("1ns", -EINVAL);
	timespan_fails("1 nsec", -EINVAL);
	timespan_fails("1ss", -EINVAL);
	timespan_fails("1 s s", -EINVAL);
	timespan_fails("1s,", -EINVAL);
}

static void timespan_overflow_is_erange(void **state)
{
	timespan_is("584542y", UINT64_C(18446742619200000000));
	timespan_fails("584543y", -ERANGE);
	timespan_is("5124095576h", UINT64_C(18446744073600000000));
	timespan_fails("5124095577h", -ERANGE);
	timespan_is("18446744073709551614us", UV_INFINITY - 1);
	timespan_fails("18446744073709551", -ERANGE);
	timespan_fails("99999999999999999999s", -ERANGE);
	timespan_fails("18446744073709551615us", -ERANGE);
	timespan_is("9223372036854775807us 9223372036854775807us", UV_INFINITY - 1);
	timespan_fails("9223372036854775807us 9223372036854775808us", -ERANGE);
	timespan_fails("9223372036854775807us 9223372036854775807us 1us", -ERANGE);
}

static void timespan_format_matches_systemctl(void **state)
{
	timespan_shows(0, "0");
	timespan_shows(UV_INFINITY, "infinity");
	timespan_shows(1, "1us");
	timespan_shows(500000, "500ms");
	timespan_shows(100000, "100ms");
	timespan_shows(1001, "1.001ms");
	timespan_shows(1500000, "1.500000s");
	timespan_shows(1000100, "1.000100s");
	timespan_shows(59500000, "59.500000s");
	timespan_shows(90000000, "1min 30s");
	timespan_shows(61500000, "1min 1.500000s");
	timespan_shows(210000000, "3min 30s");
	timespan_shows(3600000000, "1h");
	timespan_shows(3601000000, "1h 1s");
	timespan_shows(7500000000, "2h 5min");
	timespan_shows(86400000000, "1d");
	timespan_shows(2592000000000, "4w 2d");
	timespan_shows(2678400000000, "1month 13h 30min");
	timespan_shows(31622400000000, "1y 18h");
	timespan_shows(47336400000000, "1y 6month");
	timespan_shows(34882261001001, "1y 1month 1w 1d 1h 1min 1.001001s");
	timespan_shows(INT64_MAX, "292271y 1w 1d 10h 54.775807s");
	timespan_shows(UV_INFINITY - 1, "584542y 2w 2d 20h 1min 49.551614s");
}

static void timespan_format_parses_back_to_the_same_value(void **state)
{
	static const uint64_t values[] = {
		1, 999, 1001, 1500000, 59999999, 61500000, 3601000001,
		34882261001001, INT64_MAX, UV_INFINITY - 1, UV_INFINITY,
	};
	char buf[UV_TIMESPAN_FORMAT_MAX];
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t v = UNTOUCHED;

		uv_timespan_format(values[i], buf, sizeof(buf));
		assert_int_equal(uv_timespan(buf, UV_USEC_PER_SEC, &v), 0);
		assert_int_equal(v, values[i]);
	}
}

static void timespan_format_with_accuracy_drops_finer_parts(void **state)
{
	char buf[UV_TIMESPAN_FORMAT_MAX];

	assert_string_equal(uv_timespan_format_accuracy(1234567, UV_USEC_PER_MSEC, buf, sizeof(buf)),
			    "1.234s");
	assert_string_equal(uv_timespan_format_accuracy(61234567, UV_USEC_PER_MSEC, buf, sizeof(buf)),
			    "1min 1.234s");
	assert_string_equal(uv_timespan_format_accuracy(123456, UV_USEC_PER_MSEC, buf, sizeof(buf)),
			    "123ms");
	assert_string_equal(uv_timespan_format_accuracy(90000000, UV_USEC_PER_MSEC, buf, sizeof(buf)),
			    "1min 30s");
	/* A remainder below the accuracy still asks for decimals, as in systemctl. */
	assert_string_equal(uv_timespan_format_accuracy(90000001, UV_USEC_PER_MSEC, buf, sizeof(buf)),
			    "1min 30.000s");
	assert_string_equal(uv_timespan_format_accuracy(1500000, UV_USEC_PER_SEC, buf, sizeof(buf)),
			    "1s");
	/* Nothing shown yet, so a value below the accuracy still shows. */
	assert_string_equal(uv_timespan_format_accuracy(500, UV_USEC_PER_MSEC, buf, sizeof(buf)),
			    "500us");
	assert_string_equal(uv_timespan_format_accuracy(1500000, 0, buf, sizeof(buf)), "1.500000s");
}

static void formats_truncate_to_the_buffer(void **state)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	assert_string_equal(uv_timespan_format(90000000, buf, 5), "1min");
	assert_string_equal(uv_timespan_format(90000000, buf, 3), "1m");
	assert_string_equal(uv_timespan_format(UV_INFINITY, buf, 4), "inf");
	assert_string_equal(uv_bytes_format(1572864, buf, 3), "1.");
	assert_string_equal(uv_bytes_format(512, buf, 1), "");

	memset(buf, 'x', sizeof(buf));
	uv_timespan_format(90000000, buf, 0);
	uv_bytes_format(512, buf, 0);
	assert_int_equal(buf[0], 'x');
}

/* --- sizes --------------------------------------------------------------- */

static void bytes_suffixes_are_base_1024(void **state)
{
	bytes_is("0", 0);
	bytes_is("512", 512);
	bytes_is("512B", 512);
	bytes_is("1K", 1024);
	bytes_is("2M", 2 * 1048576);
	bytes_is("1 G", 1073741824);
	bytes_is("1T", UINT64_C(1) << 40);
	bytes_is("1P", UINT64_C(1) << 50);
	bytes_is("1E", UINT64_C(1) << 60);
	bytes_is("1G 512M", 1610612736);
	bytes_is("infinity", UV_INFINITY);
}

static void bytes_decimals_are_exact_then_truncated(void **state)
{
	bytes_is("1.5G", 1610612736);
	bytes_is("1.5K", 1536);
	bytes_is("0.1K", 102);
	bytes_is("1.001K", 1025);
	bytes_is("0.5B", 0);
	bytes_is("1.0000000001K", 1024);
	bytes_is("15.5E", UINT64_C(31) << 59);
}

static void bytes_rejects_malformed_sizes(void **state)
{
	bytes_fails("", -EINVAL);
	bytes_fails("G", -EINVAL);
	bytes_fails("1k", -EINVAL);
	bytes_fails("1KB", -EINVAL);
	bytes_fails("1Ki", -EINVAL);
	bytes_fails("1.G", -EINVAL);
	bytes_fails(".G", -EINVAL);
	bytes_fails("1.5.5G", -EINVAL);
	bytes_fails("-1", -EINVAL);
	bytes_fails("1 G B", -EINVAL);
	bytes_fails("Infinity", -EINVAL);
}

static void bytes_overflow_is_erange(void **state)
{
	bytes_is("18446744073709551614", UV_INFINITY - 1);
	bytes_fails("18446744073709551615", -ERANGE);
	bytes_fails("16E", -ERANGE);
	bytes_fails("17179869184G", -ERANGE);
	bytes_fails("8E 8E", -ERANGE);
}

static void bytes_format_matches_systemctl_status(void **state)
{
	bytes_shows(0, "0B");
	bytes_shows(512, "512B");
	bytes_shows(1023, "1023B");
	bytes_shows(1024, "1.0K");
	bytes_shows(831488, "812.0K");
	bytes_shows(1048575, "1023.9K");
	bytes_shows(1572864, "1.5M");
	bytes_shows(14942208, "14.2M");
	bytes_shows(UINT64_C(2) << 30, "2.0G");
	bytes_shows(UINT64_C(1) << 60, "1.0E");
	bytes_shows(UV_INFINITY - 1, "15.9E");
	bytes_shows(UV_INFINITY, "infinity");
	/* The tenths digit is truncated from whole kibibytes, as systemctl does. */
	bytes_shows(1153485, "1.0M");
}

/* --- limits, weights, quotas --------------------------------------------- */

static void limit_is(const char *s, bool is_count, uint64_t want, bool want_relative)
{
	uint64_t v = UNTOUCHED;
	bool rel = !want_relative;
	int r = uv_limit(s, is_count, &v, &rel);

	if (r != 0 || v != want || rel != want_relative)
		fail_msg("uv_limit(\"%s\", %d) = %d, %" PRIu64 ", relative %d; want %" PRIu64 ", %d",
			 s, is_count, r, v, rel, want, want_relative);
}

static void limit_fails(const char *s, bool is_count, int err)
{
	uint64_t v = UNTOUCHED;
	bool rel = true;
	int r = uv_limit(s, is_count, &v, &rel);

	if (r != err || v != UNTOUCHED || !rel)
		fail_msg("uv_limit(\"%s\", %d) = %d; want %d, untouched", s, is_count, r, err);
}

static void limit_takes_sizes_percentages_and_infinity(void **state)
{
	limit_is("1G", false, 1073741824, false);
	limit_is("1.5M", false, 1572864, false);
	limit_is("0", false, 0, false);
	limit_is("infinity", false, UV_INFINITY, false);
	limit_is("50%", false, 5000, true);
	limit_is("12.5%", false, 1250, true);
	limit_is("12.34%", false, 1234, true);
	limit_is("0.01%", false, 1, true);
	limit_is("0%", false, 0, true);
	limit_is("100%", false, 10000, true);
}

static void limit_as_count_takes_plain_numbers(void **state)
{
	limit_is("4096", true, 4096, false);
	limit_is("infinity", true, UV_INFINITY, false);
	limit_is("25%", true, 2500, true);
	limit_fails("1K", true, -EINVAL);
	limit_fails("1.5", true, -EINVAL);
	limit_fails("18446744073709551615", true, -ERANGE);
	limit_fails("99999999999999999999", true, -ERANGE);
}

static void limit_rejects_bad_percentages(void **state)
{
	limit_fails("101%", false, -ERANGE);
	limit_fails("100.01%", false, -ERANGE);
	limit_fails("12.345%", false, -EINVAL);
	limit_fails("12.%", false, -EINVAL);
	limit_fails(".5%", false, -EINVAL);
	limit_fails("%", false, -EINVAL);
	limit_fails("50 %", false, -EINVAL);
	limit_fails("-5%", false, -EINVAL);
	limit_fails("5%%", false, -EINVAL);
	limit_fails("1x", false, -EINVAL);
	limit_fails("", false, -EINVAL);
	limit_fails("", true, -EINVAL);
}

static void weight_is_1_to_10000_or_idle(void **state)
{
	uint64_t v = UNTOUCHED;

	assert_int_equal(uv_weight("1", false, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(uv_weight("100", false, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(uv_weight("10000", true, &v), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(uv_weight("idle", true, &v), 0);
	assert_int_equal(v, 0);

	v = UNTOUCHED;
	assert_int_equal(uv_weight("idle", false, &v), -EINVAL);
	assert_int_equal(uv_weight("IDLE", true, &v), -EINVAL);
	assert_int_equal(uv_weight("0", true, &v), -ERANGE);
	assert_int_equal(uv_weight("10001", false, &v), -ERANGE);
	assert_int_equal(uv_weight("99999999999999999999", false, &v), -ERANGE);
	assert_int_equal(uv_weight("", false, &v), -EINVAL);
	assert_int_equal(uv_weight("1.5", false, &v), -EINVAL);
	assert_int_equal(uv_weight("-1", false, &v), -EINVAL);
	assert_int_equal(v, UNTOUCHED);
}

static void cpu_quota_is_hundredths_of_a_percent(void **state)
{
	uint64_t v = UNTOUCHED;

	assert_int_equal(uv_cpu_quota("20%", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(uv_cpu_quota("12.5%", &v), 0);
	assert_int_equal(v, 1250);
	assert_int_equal(uv_cpu_quota("12.55%", &v), 0);
	assert_int_equal(v, 1255);
	assert_int_equal(uv_cpu_quota("200%", &v), 0);
	assert_int_equal(v, 20000);
	assert_int_equal(uv_cpu_quota("0.01%", &v), 0);
	assert_int_equal(v, 1);

	v = UNTOUCHED;
	assert_int_equal(uv_cpu_quota("0%", &v), -ERANGE);
	assert_int_equal(uv_cpu_quota("0.00%", &v), -ERANGE);
	assert_int_equal(uv_cpu_quota("999999999999999999999%", &v), -ERANGE);
	assert_int_equal(uv_cpu_quota("20", &v), -EINVAL);
	assert_int_equal(uv_cpu_quota("20 %", &v), -EINVAL);
	assert_int_equal(uv_cpu_quota("12.555%", &v), -EINVAL);
	assert_int_equal(uv_cpu_quota("-20%", &v), -EINVAL);
	assert_int_equal(uv_cpu_quota("", &v), -EINVAL);
	assert_int_equal(v, UNTOUCHED);
}

/* --- booleans, signals, exit statuses ------------------------------------ */

static void bool_words_are_case_insensitive(void **state)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on", "YES", "On", "True" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off", "NO", "Off", "FALSE" };
	static const char *const bad[] = { "", "2", "yess", "enable", "o", "of", " yes" };
	size_t i;
	bool b;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(uv_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(uv_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = true;
		assert_int_equal(uv_bool(bad[i], &b), -EINVAL);
		assert_true(b);
	}
}

static void signal_is(const char *s, int want)
{
	int sig = -1;
	int r = uv_signal(s, &sig);

	if (r != 0 || sig != want)
		fail_msg("uv_signal(\"%s\") = %d, %d; want 0, %d", s, r, sig, want);
}

static void signal_fails(const char *s, int err)
{
	int sig = -1;
	int r = uv_signal(s, &sig);

	if (r != err || sig != -1)
		fail_msg("uv_signal(\"%s\") = %d, %d; want %d, untouched", s, r, sig, err);
}

static void signal_names_numbers_and_realtime_offsets(void **state)
{
	signal_is("SIGTERM", SIGTERM);
	signal_is("TERM", SIGTERM);
	signal_is("SIGKILL", SIGKILL);
	signal_is("HUP", SIGHUP);
	signal_is("SIGUSR1", SIGUSR1);
	signal_is("SIGCHLD", SIGCHLD);
	signal_is("9", 9);
	signal_is("1", 1);
	signal_is("64", 64);
	signal_is("SIGRTMIN", SIGRTMIN);
	signal_is("SIGRTMIN+0", SIGRTMIN);
	signal_is("SIGRTMIN+3", SIGRTMIN + 3);
	signal_is("RTMIN+3", SIGRTMIN + 3);
	signal_is("SIGRTMAX", SIGRTMAX);
	signal_is("RTMAX-2", SIGRTMAX - 2);
}

static void signal_rejects_unknown_names_and_bad_numbers(void **state)
{
	char s[32];

	signal_fails("", -EINVAL);
	signal_fails("SIG", -EINVAL);
	signal_fails("sigterm", -EINVAL);
	signal_fails("term", -EINVAL);
	signal_fails("SIGFOO", -EINVAL);
	signal_fails("SIGTERM2", -EINVAL);
	signal_fails("SIGSIGTERM", -EINVAL);
	signal_fails("-9", -EINVAL);
	signal_fails("9x", -EINVAL);
	signal_fails("SIGRTMIN+", -EINVAL);
	signal_fails("SIGRTMIN-1", -EINVAL);
	signal_fails("SIGRTMAX+1", -EINVAL);
	signal_fails("SIGRTMIN+x", -EINVAL);
	signal_fails("0", -ERANGE);
	signal_fails("65", -ERANGE);
	signal_fails("99999999999999999999", -ERANGE);
	snprintf(s, sizeof(s), "SIGRTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
	signal_fails(s, -ERANGE);
	snprintf(s, sizeof(s), "SIGRTMAX-%d", SIGRTMAX - SIGRTMIN + 1);
	signal_fails(s, -ERANGE);
}

static void signal_names_parse_back(void **state)
{
	int sig, got;

	assert_string_equal(uv_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(uv_signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(uv_signal_name(SIGRTMIN), "SIGRTMIN");
	assert_string_equal(uv_signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
	assert_null(uv_signal_name(0));
	assert_null(uv_signal_name(-1));
	assert_null(uv_signal_name(65));

	for (sig = 1; sig <= SIGRTMAX; sig++) {
		const char *name = uv_signal_name(sig);

		if (!name) {
			/* Only the signals the C library keeps for itself lack a name. */
			assert_true(sig > 31 && sig < SIGRTMIN);
			continue;
		}
		got = -1;
		assert_int_equal(uv_signal(name, &got), 0);
		assert_int_equal(got, sig);
	}
}

static void exit_status_names(void **state)
{
	assert_string_equal(uv_exit_status_name(0), "SUCCESS");
	assert_string_equal(uv_exit_status_name(1), "FAILURE");
	assert_string_equal(uv_exit_status_name(6), "NOTCONFIGURED");
	assert_string_equal(uv_exit_status_name(75), "TEMPFAIL");
	assert_string_equal(uv_exit_status_name(78), "CONFIG");
	assert_null(uv_exit_status_name(8));
	assert_null(uv_exit_status_name(200));
	assert_null(uv_exit_status_name(-1));
}

static void status_set_takes_codes_names_and_signals(void **state)
{
	struct uv_status_set set;

	memset(&set, 0, sizeof(set));
	/* The example from systemd.service(5). */
	assert_int_equal(uv_status_set_add("TEMPFAIL 250 SIGKILL", &set), 0);
	assert_true(uv_status_set_has_code(&set, 75));
	assert_true(uv_status_set_has_code(&set, 250));
	assert_true(uv_status_set_has_signal(&set, SIGKILL));
	assert_false(uv_status_set_has_code(&set, 0));
	assert_false(uv_status_set_has_code(&set, 9));
	assert_false(uv_status_set_has_signal(&set, SIGTERM));

	assert_int_equal(uv_status_set_add("  0\t255 TERM  SIGRTMIN+1 ", &set), 0);
	assert_true(uv_status_set_has_code(&set, 0));
	assert_true(uv_status_set_has_code(&set, 255));
	assert_true(uv_status_set_has_signal(&set, SIGTERM));
	assert_true(uv_status_set_has_signal(&set, SIGRTMIN + 1));
	assert_true(uv_status_set_has_code(&set, 75));	/* merged, not replaced */

	assert_false(uv_status_set_has_code(&set, -1));
	assert_false(uv_status_set_has_code(&set, 256));
	assert_false(uv_status_set_has_signal(&set, 0));
	assert_false(uv_status_set_has_signal(&set, 64));
}

static void status_set_empty_assignment_resets(void **state)
{
	struct uv_status_set set;

	memset(&set, 0, sizeof(set));
	assert_int_equal(uv_status_set_add("1 SIGHUP", &set), 0);
	assert_int_equal(uv_status_set_add("", &set), 0);
	assert_false(uv_status_set_has_code(&set, 1));
	assert_false(uv_status_set_has_signal(&set, SIGHUP));
}

static void status_set_error_changes_nothing(void **state)
{
	struct uv_status_set set, before;

	memset(&set, 0, sizeof(set));
	assert_int_equal(uv_status_set_add("3", &set), 0);
	before = set;

	assert_int_equal(uv_status_set_add("1 256", &set), -ERANGE);
	assert_int_equal(uv_status_set_add("1 BOGUS", &set), -EINVAL);
	assert_int_equal(uv_status_set_add("1 tempfail", &set), -EINVAL);
	assert_int_equal(uv_status_set_add("1 SIGRTMAX", &set), -ERANGE);
	assert_int_equal(uv_status_set_add("1 -1", &set), -EINVAL);
	assert_int_equal(uv_status_set_add("1,2", &set), -EINVAL);
	assert_memory_equal(&set, &before, sizeof(set));
	assert_false(uv_status_set_has_code(&set, 1));
}

/* --- resource limits and umask ------------------------------------------- */

static void rlimit_is(const char *s, int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { 7, 7 };
	int r = uv_rlimit(s, resource, &rl);

	if (r != 0 || rl.rlim_cur != soft || rl.rlim_max != hard)
		fail_msg("uv_rlimit(\"%s\", %d) = %d, %llu:%llu; want %llu:%llu", s, resource, r,
			 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
			 (unsigned long long)soft, (unsigned long long)hard);
}

static void rlimit_fails(const char *s, int resource, int err)
{
	struct rlimit rl = { 7, 7 };
	int r = uv_rlimit(s, resource, &rl);

	if (r != err || rl.rlim_cur != 7 || rl.rlim_max != 7)
		fail_msg("uv_rlimit(\"%s\", %d) = %d; want %d, untouched", s, resource, r, err);
}

static void rlimit_resource_knows_all_16_options(void **state)
{
	static const struct {
		const char *option;
		int resource;
	} cases[] = {
		{ "LimitCPU", RLIMIT_CPU }, { "LimitFSIZE", RLIMIT_FSIZE },
		{ "LimitDATA", RLIMIT_DATA }, { "LimitSTACK", RLIMIT_STACK },
		{ "LimitCORE", RLIMIT_CORE }, { "LimitRSS", RLIMIT_RSS },
		{ "LimitNOFILE", RLIMIT_NOFILE }, { "LimitAS", RLIMIT_AS },
		{ "LimitNPROC", RLIMIT_NPROC }, { "LimitMEMLOCK", RLIMIT_MEMLOCK },
		{ "LimitLOCKS", RLIMIT_LOCKS }, { "LimitSIGPENDING", RLIMIT_SIGPENDING },
		{ "LimitMSGQUEUE", RLIMIT_MSGQUEUE }, { "LimitNICE", RLIMIT_NICE },
		{ "LimitRTPRIO", RLIMIT_RTPRIO }, { "LimitRTTIME", RLIMIT_RTTIME },
	};
	size_t i;

	assert_int_equal(sizeof(cases) / sizeof(cases[0]), RLIMIT_NLIMITS);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(uv_rlimit_resource(cases[i].option), cases[i].resource);
	assert_int_equal(uv_rlimit_resource("LimitFOO"), -1);
	assert_int_equal(uv_rlimit_resource("limitnofile"), -1);
	assert_int_equal(uv_rlimit_resource("NOFILE"), -1);
	assert_int_equal(uv_rlimit_resource(""), -1);
}

static void rlimit_single_value_or_soft_hard_pair(void **state)
{
	rlimit_is("1024", RLIMIT_NOFILE, 1024, 1024);
	rlimit_is("1024:524288", RLIMIT_NOFILE, 1024, 524288);
	rlimit_is("0", RLIMIT_NPROC, 0, 0);
	rlimit_is("infinity", RLIMIT_NOFILE, RLIM_INFINITY, RLIM_INFINITY);
	rlimit_is("1024:infinity", RLIMIT_NOFILE, 1024, RLIM_INFINITY);
	rlimit_is("5:5", RLIMIT_RTPRIO, 5, 5);
}

static void rlimit_byte_resources_take_sizes(void **state)
{
	rlimit_is("4G:16G", RLIMIT_AS, UINT64_C(4) << 30, UINT64_C(16) << 30);
	rlimit_is("8M", RLIMIT_STACK, 8 << 20, 8 << 20);
	rlimit_is("64K", RLIMIT_MEMLOCK, 65536, 65536);
	rlimit_is("0:infinity", RLIMIT_CORE, 0, RLIM_INFINITY);
	rlimit_is("1.5K", RLIMIT_FSIZE, 1536, 1536);
	rlimit_is("819200", RLIMIT_MSGQUEUE, 819200, 819200);
	rlimit_is("1G", RLIMIT_DATA, 1 << 30, 1 << 30);
	rlimit_is("1G", RLIMIT_RSS, 1 << 30, 1 << 30);
	rlimit_fails("1K", RLIMIT_NOFILE, -EINVAL);
}

static void rlimit_time_resources_take_time_spans(void **state)
{
	rlimit_is("30", RLIMIT_CPU, 30, 30);
	rlimit_is("1min:2min", RLIMIT_CPU, 60, 120);
	rlimit_is("1.5", RLIMIT_CPU, 2, 2);
	rlimit_is("1ms", RLIMIT_CPU, 1, 1);
	rlimit_is("0", RLIMIT_CPU, 0, 0);
	rlimit_is("infinity", RLIMIT_CPU, RLIM_INFINITY, RLIM_INFINITY);
	rlimit_is("1000", RLIMIT_RTTIME, 1000, 1000);
	rlimit_is("50ms:1s", RLIMIT_RTTIME, 50000, 1000000);
	rlimit_fails("1x", RLIMIT_CPU, -EINVAL);
}

static void rlimit_nice_takes_nice_levels_or_raw_values(void **state)
{
	rlimit_is("+0", RLIMIT_NICE, 20, 20);
	rlimit_is("+19", RLIMIT_NICE, 1, 1);
	rlimit_is("-5", RLIMIT_NICE, 25, 25);
	rlimit_is("-20", RLIMIT_NICE, 40, 40);
	rlimit_is("0", RLIMIT_NICE, 0, 0);
	rlimit_is("40", RLIMIT_NICE, 40, 40);
	rlimit_is("+10:-10", RLIMIT_NICE, 10, 30);
	rlimit_fails("+20", RLIMIT_NICE, -ERANGE);
	rlimit_fails("-21", RLIMIT_NICE, -ERANGE);
	rlimit_fails("41", RLIMIT_NICE, -ERANGE);
	rlimit_fails("+", RLIMIT_NICE, -EINVAL);
	rlimit_fails("+-1", RLIMIT_NICE, -EINVAL);
	rlimit_fails("-10:+10", RLIMIT_NICE, -EINVAL);
}

static void rlimit_rejects_bad_values(void **state)
{
	rlimit_fails("2048:1024", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("infinity:1024", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("1:2:3", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails(":5", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("5:", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("1.5", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("-1", RLIMIT_NOFILE, -EINVAL);
	rlimit_fails("18446744073709551615", RLIMIT_NOFILE, -ERANGE);
	rlimit_fails("16E", RLIMIT_AS, -ERANGE);
	rlimit_fails("1", -1, -EINVAL);
	rlimit_fails("1", RLIMIT_NLIMITS, -EINVAL);
}

static void umask_is_octal_up_to_0777(void **state)
{
	mode_t m = 01234;

	assert_int_equal(uv_umask("0022", &m), 0);
	assert_int_equal(m, 022);
	assert_int_equal(uv_umask("22", &m), 0);
	assert_int_equal(m, 022);
	assert_int_equal(uv_umask("0", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(uv_umask("0777", &m), 0);
	assert_int_equal(m, 0777);

	m = 01234;
	assert_int_equal(uv_umask("1000", &m), -ERANGE);
	assert_int_equal(uv_umask("07777", &m), -ERANGE);
	assert_int_equal(uv_umask("0778", &m), -EINVAL);
	assert_int_equal(uv_umask("9", &m), -EINVAL);
	assert_int_equal(uv_umask("0x12", &m), -EINVAL);
	assert_int_equal(uv_umask("-1", &m), -EINVAL);
	assert_int_equal(uv_umask("", &m), -EINVAL);
	assert_int_equal(m, 01234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timespan_units_and_parts_are_summed),
		cmocka_unit_test(timespan_accepts_every_unit_name),
		cmocka_unit_test(timespan_bare_number_takes_the_default_unit),
		cmocka_unit_test(timespan_fractions_are_truncated_to_microseconds),
		cmocka_unit_test(timespan_infinity_is_the_whole_value),
		cmocka_unit_test(timespan_rejects_malformed_spans),
		cmocka_unit_test(timespan_overflow_is_erange),
		cmocka_unit_test(timespan_format_matches_systemctl),
		cmocka_unit_test(timespan_format_parses_back_to_the_same_value),
		cmocka_unit_test(timespan_format_with_accuracy_drops_finer_parts),
		cmocka_unit_test(formats_truncate_to_the_buffer),
		cmocka_unit_test(bytes_suffixes_are_base_1024),
		cmocka_unit_test(bytes_decimals_are_exact_then_truncated),
		cmocka_unit_test(bytes_rejects_malformed_sizes),
		cmocka_unit_test(bytes_overflow_is_erange),
		cmocka_unit_test(bytes_format_matches_systemctl_status),
		cmocka_unit_test(limit_takes_sizes_percentages_and_infinity),
		cmocka_unit_test(limit_as_count_takes_plain_numbers),
		cmocka_unit_test(limit_rejects_bad_percentages),
		cmocka_unit_test(weight_is_1_to_10000_or_idle),
		cmocka_unit_test(cpu_quota_is_hundredths_of_a_percent),
		cmocka_unit_test(bool_words_are_case_insensitive),
		cmocka_unit_test(signal_names_numbers_and_realtime_offsets),
		cmocka_unit_test(signal_rejects_unknown_names_and_bad_numbers),
		cmocka_unit_test(signal_names_parse_back),
		cmocka_unit_test(exit_status_names),
		cmocka_unit_test(status_set_takes_codes_names_and_signals),
		cmocka_unit_test(status_set_empty_assignment_resets),
		cmocka_unit_test(status_set_error_changes_nothing),
		cmocka_unit_test(rlimit_resource_knows_all_16_options),
		cmocka_unit_test(rlimit_single_value_or_soft_hard_pair),
		cmocka_unit_test(rlimit_byte_resources_take_sizes),
		cmocka_unit_test(rlimit_time_resources_take_time_spans),
		cmocka_unit_test(rlimit_nice_takes_nice_levels_or_raw_values),
		cmocka_unit_test(rlimit_rejects_bad_values),
		cmocka_unit_test(umask_is_octal_up_to_0777),
	};
	return cmocka_run_group_tests_name("unit_value", tests, NULL, NULL);
}
