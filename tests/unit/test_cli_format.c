/*
 * The systemctl and journalctl personalities: what they print for the API's
 * answers (docs/api.md), how they read their command lines and times, and
 * the client's transport over a real unix socket. Every time is shown in
 * UTC and "now" is fixed at Wed 2026-11-25 11:50:07 UTC.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "journalctl.h"
#include "output.h"
#include "systemctl.h"

#define NOW UINT64_C(1795607407000000)
#define SEC UINT64_C(1000000)

static const struct out_opts plain_opts = { .now_usec = NOW, .hostname = "node1" };

static cJSON *json(const char *text)
{
	cJSON *j = NULL;

	assert_int_equal(out_json_parse(text, strlen(text), &j), 0);
	return j;
}

/* ---- answers the tests share ------------------------------------------------------ */

static const char hello_json[] =
	"{\"name\": \"hello.service\", \"description\": \"Hello World\", \"load_state\": \"loaded\","
	" \"active_state\": \"active\", \"sub_state\": \"running\", \"unit_file_state\": \"enabled\","
	" \"main_pid\": 312, \"fragment_path\": \"/etc/pith/units/hello.service\","
	" \"dropins\": [\"/etc/pith/units/hello.service.d/limits.conf\","
	"   \"/etc/pith/units/hello.service.d/env.conf\", \"/usr/lib/pith/units/service.d/10-x.conf\"],"
	" \"state_change_usec\": 1795607402000000, \"active_enter_usec\": 1795607402000000,"
	" \"inactive_enter_usec\": 0, \"result\": \"success\", \"exec_main_code\": \"\","
	" \"exec_main_status\": 0, \"status_text\": \"\", \"restarts\": 0,"
	" \"cgroup\": \"/pith.slice/hello.service\", \"tasks\": 2, \"memory_current\": 1153434,"
	" \"memory_peak\": 2097152, \"cpu_usage_usec\": 12345, \"tasks_max\": 1203,"
	" \"memory_max\": null, \"memory_high\": null,"
	" \"processes\": [{\"pid\": 312, \"command\": \"/bin/sh -c \\\"while true; do echo Hello World;"
	" sleep 1; done\\\"\"}, {\"pid\": 318, \"command\": \"sleep 1\"}],"
	" \"triggered_by\": [], \"wants\": [], \"requires\": [], \"after\": [\"network.target\"],"
	" \"before\": [], \"wanted_by\": [\"multi-user.target\"], \"required_by\": []}";

static const char failed_json[] =
	"{\"name\": \"bad.service\", \"description\": \"Bad\", \"load_state\": \"loaded\","
	" \"active_state\": \"failed\", \"sub_state\": \"failed\", \"unit_file_state\": \"disabled\","
	" \"main_pid\": 0, \"exec_main_pid\": 400, \"fragment_path\": \"/etc/pith/units/bad.service\","
	" \"dropins\": [], \"state_change_usec\": 1795596607000000, \"active_enter_usec\": 0,"
	" \"inactive_enter_usec\": 1795596607000000, \"result\": \"exit-code\","
	" \"exec_main_code\": \"exited\", \"exec_main_status\": 1, \"status_text\": \"\","
	" \"cgroup\": \"/pith.slice/bad.service\", \"tasks\": null, \"memory_current\": null,"
	" \"cpu_usage_usec\": 4000, \"processes\": [], \"triggered_by\": [\"bad.timer\"]}";

static const char units_json[] =
	"[{\"name\": \"bad.service\", \"description\": \"Bad\", \"load_state\": \"loaded\","
	"  \"active_state\": \"failed\", \"sub_state\": \"failed\", \"unit_file_state\": \"disabled\"},"
	" {\"name\": \"bad.timer\", \"description\": \"Retry bad\", \"load_state\": \"loaded\","
	"  \"active_state\": \"active\", \"sub_state\": \"waiting\", \"unit_file_state\": \"enabled\"},"
	" {\"name\": \"ghost.service\", \"description\": \"ghost.service\", \"load_state\": \"not-found\","
	"  \"active_state\": \"inactive\", \"sub_state\": \"dead\", \"unit_file_state\": \"\"},"
	" {\"name\": \"hello.service\", \"description\": \"Hello World\", \"load_state\": \"loaded\","
	"  \"active_state\": \"active\", \"sub_state\": \"running\", \"unit_file_state\": \"enabled\"},"
	" {\"name\": \"idle.service\", \"description\": \"idle.service\", \"load_state\": \"loaded\","
	"  \"active_state\": \"inactive\", \"sub_state\": \"dead\", \"unit_file_state\": \"disabled\"},"
	" {\"name\": \"multi-user.target\", \"description\": \"Multi-User System\","
	"  \"load_state\": \"loaded\", \"active_state\": \"active\", \"sub_state\": \"active\","
	"  \"unit_file_state\": \"static\"}]";

/* Two lines of hello's journal, as GET /v1/journal sends them. */
static const char *const hello_journal[] = {
	"{\"seq\": 41, \"realtime_usec\": 1795607404000000, \"monotonic_usec\": 1234567,"
	" \"boot_id\": \"9f2c1e0b8a6d4c3e9b7a5f1d2c3b4a59\", \"unit\": \"hello.service\","
	" \"pid\": 312, \"priority\": 6, \"message\": \"Hello World\"}",
	"{\"seq\": 42, \"realtime_usec\": 1795607405123456, \"monotonic_usec\": 2357023,"
	" \"boot_id\": \"9f2c1e0b8a6d4c3e9b7a5f1d2c3b4a59\", \"unit\": \"hello.service\","
	" \"pid\": 312, \"priority\": 6, \"message\": \"Hello World\"}",
};

/* ---- systemctl status ------------------------------------------------------------- */

static void status_of_a_running_service_is_systemd_s_block(void **state)
{
	cJSON *unit = json(hello_json);
	struct jctl_state st = { .shown = 0 };
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, unit, NULL, &plain_opts), 0);
	buf_puts(&b, "\n");
	for (size_t i = 0; i < 2; i++) {
		cJSON *e = json(hello_journal[i]);

		assert_int_equal(jctl_entry_format(&b, e, JCTL_SHORT,
						   cJSON_GetObjectItem(unit, "processes"), &st,
						   &plain_opts), 0);
		cJSON_Delete(e);
	}
	assert_string_equal(b.data,
		"● hello.service - Hello World\n"
		"     Loaded: loaded (/etc/pith/units/hello.service; enabled; preset: enabled)\n"
		"    Drop-In: /etc/pith/units/hello.service.d\n"
		"             └─limits.conf, env.conf\n"
		"             /usr/lib/pith/units/service.d\n"
		"             └─10-x.conf\n"
		"     Active: active (running) since Wed 2026-11-25 11:50:02 UTC; 5s ago\n"
		"   Main PID: 312 (sh)\n"
		"      Tasks: 2 (limit: 1203)\n"
		"     Memory: 1.0M\n"
		"        CPU: 12ms\n"
		"     CGroup: /pith.slice/hello.service\n"
		"             ├─312 /bin/sh -c \"while true; do echo Hello World; sleep 1; done\"\n"
		"             └─318 sleep 1\n"
		"\n"
		"Nov 25 11:50:04 node1 sh[312]: Hello World\n"
		"Nov 25 11:50:05 node1 sh[312]: Hello World\n");
	buf_free(&b);
	cJSON_Delete(unit);
}

static void status_of_a_failed_service_says_why_and_how_it_ended(void **state)
{
	cJSON *unit = json(failed_json), *units = json(units_json);
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, unit, units, &plain_opts), 0);
	assert_string_equal(b.data,
		"× bad.service - Bad\n"
		"     Loaded: loaded (/etc/pith/units/bad.service; disabled; preset: enabled)\n"
		"     Active: failed (Result: exit-code) since Wed 2026-11-25 08:50:07 UTC; 3h 0min ago\n"
		"TriggeredBy: ● bad.timer\n"
		"   Main PID: 400 (code=exited, status=1/FAILURE)\n"
		"        CPU: 4ms\n");
	buf_free(&b);
	cJSON_Delete(unit);
	cJSON_Delete(units);
}

static void status_of_a_service_killed_by_a_signal_names_the_signal(void **state)
{
	cJSON *unit = json("{\"name\": \"k.service\", \"load_state\": \"loaded\", \"active_state\":"
			   " \"failed\", \"sub_state\": \"failed\", \"result\": \"signal\","
			   " \"exec_main_pid\": 77, \"exec_main_code\": \"killed\","
			   " \"exec_main_status\": 15}");
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, unit, NULL, &plain_opts), 0);
	assert_string_equal(b.data, "× k.service\n"
				    "     Loaded: loaded\n"
				    "     Active: failed (Result: signal)\n"
				    "   Main PID: 77 (code=killed, signal=TERM)\n");
	buf_free(&b);
	cJSON_Delete(unit);
}

static void status_of_an_inactive_unit_has_no_cgroup_and_no_since(void **state)
{
	cJSON *unit = json("{\"name\": \"idle.service\", \"description\": \"idle.service\","
			   " \"load_state\": \"loaded\", \"active_state\": \"inactive\","
			   " \"sub_state\": \"dead\", \"unit_file_state\": \"static\","
			   " \"fragment_path\": \"/usr/lib/pith/units/idle.service\","
			   " \"cgroup\": \"/pith.slice/idle.service\", \"processes\": [],"
			   " \"state_change_usec\": 0, \"result\": \"success\"}");
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, unit, NULL, &plain_opts), 0);
	assert_string_equal(b.data, "○ idle.service\n"
				    "     Loaded: loaded (/usr/lib/pith/units/idle.service; static)\n"
				    "     Active: inactive (dead)\n");
	buf_free(&b);
	cJSON_Delete(unit);
}

static void status_shows_memory_limits_and_the_status_text(void **state)
{
	cJSON *unit = json("{\"name\": \"db.service\", \"load_state\": \"loaded\","
			   " \"active_state\": \"reloading\", \"sub_state\": \"reload\","
			   " \"main_pid\": 9, \"status_text\": \"Ready to accept connections\","
			   " \"memory_current\": 512, \"memory_high\": 1073741824,"
			   " \"memory_max\": 2147483648, \"tasks\": 1, \"tasks_max\": null}");
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, unit, NULL, &plain_opts), 0);
	assert_string_equal(b.data, "↻ db.service\n"
				    "     Loaded: loaded\n"
				    "     Active: reloading (reload)\n"
				    "   Main PID: 9\n"
				    "     Status: \"Ready to accept connections\"\n"
				    "      Tasks: 1\n"
				    "     Memory: 512B (high: 1.0G max: 2.0G)\n");
	buf_free(&b);
	cJSON_Delete(unit);
}

static void status_gives_the_reason_a_unit_did_not_load(void **state)
{
	cJSON *masked = json("{\"name\": \"m.service\", \"load_state\": \"masked\","
			     " \"active_state\": \"inactive\", \"sub_state\": \"dead\"}");
	cJSON *bad = json("{\"name\": \"b.service\", \"load_state\": \"bad-setting\","
			  " \"active_state\": \"inactive\", \"sub_state\": \"dead\"}");
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, masked, NULL, &plain_opts), 0);
	assert_int_equal(out_unit_status(&b, bad, NULL, &plain_opts), 0);
	assert_string_equal(b.data,
		"○ m.service\n"
		"     Loaded: masked (Reason: Unit m.service is masked.)\n"
		"     Active: inactive (dead)\n"
		"○ b.service\n"
		"     Loaded: bad-setting (Reason: Unit b.service has a bad unit file setting.)\n"
		"     Active: inactive (dead)\n");
	buf_free(&b);
	cJSON_Delete(masked);
	cJSON_Delete(bad);
}

static void status_colours_only_when_asked(void **state)
{
	struct out_opts o = plain_opts;
	cJSON *unit = json(hello_json);
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_status(&b, unit, NULL, &o), 0);
	assert_null(strchr(b.data, '\033'));
	buf_reset(&b);
	o.color = true;
	assert_int_equal(out_unit_status(&b, unit, NULL, &o), 0);
	assert_memory_equal(b.data, OUT_GREEN "●" OUT_NORMAL " hello.service",
			    strlen(OUT_GREEN "●" OUT_NORMAL " hello.service"));
	assert_non_null(strstr(b.data, "Active: " OUT_GREEN "active (running)" OUT_NORMAL " since"));
	buf_free(&b);
	cJSON_Delete(unit);
}

/* ---- times ------------------------------------------------------------------------------ */

static void relative_times_read_as_systemd_writes_them(void **state)
{
	static const struct {
		uint64_t ago;
		const char *text;
	} cases[] = {
		{ 0, "now" },
		{ 800, "800us ago" },
		{ 800000, "800ms ago" },
		{ 5 * SEC, "5s ago" },
		{ 63 * SEC, "1min 3s ago" },
		{ 7 * 60 * SEC, "7min ago" },
		{ (2 * 3600 + 5 * 60) * SEC, "2h 5min ago" },
		{ 7 * 3600 * SEC, "7h ago" },
		{ 27 * 3600 * SEC, "1 day 3h ago" },
		{ 3 * 86400 * SEC, "3 days ago" },
		{ 15 * 86400 * SEC, "2 weeks 1 day ago" },
		{ 40 * 86400 * SEC, "1 month 9 days ago" },
		{ 430 * 86400 * SEC, "1 year 2 months ago" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		assert_int_equal(out_time_rel(&b, NOW - cases[i].ago, NOW), 0);
		assert_string_equal(b.data, cases[i].text);
	}
	buf_reset(&b);
	assert_int_equal(out_time_rel(&b, NOW + 90 * SEC, NOW), 0);
	assert_string_equal(b.data, "1min 30s left");
	buf_reset(&b);
	assert_int_equal(out_time_abs(&b, NOW, false), 0);
	assert_string_equal(b.data, "Wed 2026-11-25 11:50:07 UTC");
	buf_free(&b);
}

static void since_and_until_take_systemd_time_syntax(void **state)
{
	static const struct {
		const char *text;
		uint64_t usec;
	} cases[] = {
		{ "now", NOW },
		{ "2026-11-25 11:50:02", 1795607402 * SEC },
		{ "2026-11-25T11:50:02", 1795607402 * SEC },
		{ "2026-11-25 11:50:02.25", 1795607402 * SEC + 250000 },
		{ "2026-11-25 11:50", 1795607400 * SEC },
		{ "2026-11-25", 1795564800 * SEC },
		{ "Wed 2026-11-25 11:50:02 UTC", 1795607402 * SEC },
		{ "11:50:02", 1795607402 * SEC },
		{ "today", 1795564800 * SEC },
		{ "yesterday", 1795478400 * SEC },
		{ "tomorrow", 1795651200 * SEC },
		{ "@1795607402", 1795607402 * SEC },
		{ "@1795607402.5", 1795607402 * SEC + 500000 },
		{ "-5min", NOW - 300 * SEC },
		{ "+1h", NOW + 3600 * SEC },
		{ "5 min ago", NOW - 300 * SEC },
		{ "1h 30min ago", NOW - 5400 * SEC },
		{ "2s left", NOW + 2 * SEC },
	};
	static const char *const bad[] = {
		"", "garbage", "2026-13-01", "2026-11-25 25:00", "Thu 2026-11-25", "11:5",
		"2026-11-25 11:50:02 junk", "5 fortnights ago", "@", "-",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 0;
		assert_int_equal(jctl_time_parse(cases[i].text, NOW, &v), 0);
		assert_int_equal(v, cases[i].usec);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jctl_time_parse(bad[i], NOW, &v), -EINVAL);
}

/* ---- lists ------------------------------------------------------------------------------- */

static void list_units_hides_inactive_units_unless_asked(void **state)
{
	struct out_filter f = { .all = false };
	cJSON *units = json(units_json);
	struct buf b = BUF_INIT;
	unsigned n;

	assert_int_equal(out_unit_list(&b, units, &f, &plain_opts, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(b.data,
		"  UNIT              LOAD   ACTIVE SUB     DESCRIPTION\n"
		"● bad.service       loaded failed failed  Bad\n"
		"  bad.timer         loaded active waiting Retry bad\n"
		"  hello.service     loaded active running Hello World\n"
		"  multi-user.target loaded active active  Multi-User System\n"
		"\n"
		"LOAD   = Reflects whether the unit definition was properly loaded.\n"
		"ACTIVE = The high-level unit activation state, i.e. generalization of SUB.\n"
		"SUB    = The low-level unit activation state, values depend on unit type.\n"
		"4 loaded units listed. Pass --all to see loaded but inactive units, too.\n"
		"To show all installed unit files use 'systemctl list-unit-files'.\n");
	buf_reset(&b);
	f.all = true;
	assert_int_equal(out_unit_list(&b, units, &f, &plain_opts, &n), 0);
	assert_int_equal(n, 6);
	assert_non_null(strstr(b.data, "● ghost.service     not-found inactive dead    ghost.service\n"));
	assert_non_null(strstr(b.data, "\n6 loaded units listed.\nTo show all installed unit files"));
	buf_free(&b);
	cJSON_Delete(units);
}

static void list_units_filters_by_type_state_and_pattern(void **state)
{
	static const char *const services[] = { "service", NULL };
	static const char *const failed[] = { "failed", NULL };
	static const char *const running[] = { "running", NULL };
	static const char *const pattern[] = { "h*", NULL };
	struct out_opts o = plain_opts;
	cJSON *units = json(units_json);
	struct out_filter f = { .types = services, .states = failed };
	struct buf b = BUF_INIT;
	unsigned n;

	o.no_legend = true;
	o.plain = true;
	assert_int_equal(out_unit_list(&b, units, &f, &o, &n), 0);
	assert_string_equal(b.data, "bad.service loaded failed failed Bad\n");
	buf_reset(&b);
	f = (struct out_filter){ .states = running };
	assert_int_equal(out_unit_list(&b, units, &f, &plain_opts, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(b.data, "\n1 loaded units listed.\n"));
	assert_null(strstr(b.data, "Pass --all"));
	buf_reset(&b);
	f = (struct out_filter){ .patterns = pattern };
	assert_int_equal(out_unit_list(&b, units, &f, &o, &n), 0);
	assert_string_equal(b.data, "hello.service loaded active running Hello World\n");
	buf_free(&b);
	cJSON_Delete(units);
}

static void list_unit_files_shows_state_and_preset(void **state)
{
	cJSON *files = json("[{\"name\": \"hello.service\", \"path\": \"/etc/pith/units/hello.service\","
			    "  \"state\": \"disabled\"},"
			    " {\"name\": \"masked.service\", \"path\": \"/etc/pith/units/masked.service\","
			    "  \"state\": \"masked\"},"
			    " {\"name\": \"multi-user.target\", \"path\": \"/usr/lib/pith/units/x\","
			    "  \"state\": \"static\"}]");
	struct out_filter f = { .all = false };
	struct buf b = BUF_INIT;
	unsigned n;

	assert_int_equal(out_unit_file_list(&b, files, &f, &plain_opts, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(b.data, "UNIT FILE         STATE    PRESET\n"
				    "hello.service     disabled enabled\n"
				    "masked.service    masked   enabled\n"
				    "multi-user.target static   -\n"
				    "\n"
				    "3 unit files listed.\n");
	buf_free(&b);
	cJSON_Delete(files);
}

/* ---- show, cat, enable, jobs ------------------------------------------------------------ */

static void show_prints_the_properties_the_api_has(void **state)
{
	static const char *const props[] = { "ActiveState", "MemoryCurrent", "MemoryMax",
					     "StatusText", "NoSuchProperty", NULL };
	static const char *const one[] = { "MainPID", NULL };
	cJSON *unit = json(failed_json);
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_show(&b, unit, NULL, false, false, &plain_opts), 0);
	assert_string_equal(b.data,
		"MainPID=0\n"
		"Result=exit-code\n"
		"ExecMainCode=1\n"
		"ExecMainStatus=1\n"
		"ControlGroup=/pith.slice/bad.service\n"
		"MemoryCurrent=[not set]\n"
		"CPUUsageNSec=4000000\n"
		"TasksCurrent=[not set]\n"
		"Id=bad.service\n"
		"Names=bad.service\n"
		"TriggeredBy=bad.timer\n"
		"Description=Bad\n"
		"LoadState=loaded\n"
		"ActiveState=failed\n"
		"SubState=failed\n"
		"FragmentPath=/etc/pith/units/bad.service\n"
		"UnitFileState=disabled\n"
		"StateChangeTimestamp=Wed 2026-11-25 08:50:07 UTC\n"
		"InactiveEnterTimestamp=Wed 2026-11-25 08:50:07 UTC\n");
	buf_reset(&b);
	assert_int_equal(out_unit_show(&b, unit, props, false, false, &plain_opts), 0);
	assert_string_equal(b.data, "StatusText=\n"
				    "MemoryCurrent=[not set]\n"
				    "MemoryMax=\n"
				    "ActiveState=failed\n");
	buf_reset(&b);
	assert_int_equal(out_unit_show(&b, unit, one, false, true, &plain_opts), 0);
	assert_string_equal(b.data, "0\n");
	buf_free(&b);
	cJSON_Delete(unit);
}

static void show_writes_absent_limits_as_infinity(void **state)
{
	static const char *const props[] = { "MemoryHigh", "MemoryMax", "TasksMax", NULL };
	cJSON *unit = json(hello_json);
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_show(&b, unit, props, false, false, &plain_opts), 0);
	assert_string_equal(b.data, "MemoryHigh=infinity\nMemoryMax=infinity\nTasksMax=1203\n");
	buf_free(&b);
	cJSON_Delete(unit);
}

static void cat_separates_files_and_units_with_a_blank_line(void **state)
{
	cJSON *a = json("{\"path\": \"/etc/pith/units/a.service\", \"content\": \"[Unit]\\nDescription=A\\n\","
			" \"dropins\": [{\"path\": \"/etc/pith/units/a.service.d/x.conf\","
			" \"content\": \"[Service]\\nNice=5\"}]}");
	cJSON *b2 = json("{\"path\": \"/etc/pith/units/b.service\", \"content\": \"[Unit]\\n\","
			 " \"dropins\": []}");
	struct buf b = BUF_INIT;
	bool first = true;

	assert_int_equal(out_unit_cat(&b, a, &first, &plain_opts), 0);
	assert_int_equal(out_unit_cat(&b, b2, &first, &plain_opts), 0);
	assert_string_equal(b.data, "# /etc/pith/units/a.service\n"
				    "[Unit]\n"
				    "Description=A\n"
				    "\n"
				    "# /etc/pith/units/a.service.d/x.conf\n"
				    "[Service]\n"
				    "Nice=5\n"
				    "\n"
				    "# /etc/pith/units/b.service\n"
				    "[Unit]\n");
	buf_free(&b);
	cJSON_Delete(a);
	cJSON_Delete(b2);
}

static void enable_and_disable_report_each_link(void **state)
{
	cJSON *answer = json("{\"changes\": [{\"type\": \"symlink\","
			     " \"path\": \"/etc/pith/units/multi-user.target.wants/hello.service\","
			     " \"target\": \"/etc/pith/units/hello.service\"},"
			     " {\"type\": \"unlink\", \"path\": \"/etc/pith/units/old.target.wants/hello.service\"}]}");
	struct buf b = BUF_INIT;

	assert_int_equal(out_unit_changes(&b, answer), 0);
	assert_string_equal(b.data,
		"Created symlink /etc/pith/units/multi-user.target.wants/hello.service → "
		"/etc/pith/units/hello.service.\n"
		"Removed \"/etc/pith/units/old.target.wants/hello.service\".\n");
	buf_free(&b);
	cJSON_Delete(answer);
}

static void a_failed_job_is_explained_as_systemctl_does(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(out_job_error(&b, "start", "hello.service", "failed", "exit-code"), 0);
	assert_string_equal(b.data,
		"Job for hello.service failed because the control process exited with error code.\n"
		"See \"systemctl status hello.service\" and \"journalctl -xeu hello.service\" for details.\n");
	buf_reset(&b);
	assert_int_equal(out_job_error(&b, "start", "x.service", "failed", "success"), 0);
	assert_string_equal(b.data, "Job for x.service failed.\n"
				    "See \"systemctl status x.service\" and \"journalctl -xeu x.service\" "
				    "for details.\n");
	buf_reset(&b);
	assert_int_equal(out_job_error(&b, "reload", "x.service", "invalid", ""), 0);
	assert_string_equal(b.data, "x.service is not active, cannot reload.\n");
	buf_reset(&b);
	assert_int_equal(out_job_error(&b, "start", "x.service", "dependency", ""), 0);
	assert_string_equal(b.data, "A dependency job for x.service failed. See 'journalctl -xe' for details.\n");
	buf_reset(&b);
	assert_int_equal(out_job_error(&b, "stop", "x.service", "canceled", ""), 0);
	assert_string_equal(b.data, "Job for x.service canceled.\n");
	buf_reset(&b);
	assert_int_equal(out_job_error(&b, "start", "x.service", "done", ""), 0);
	assert_int_equal(out_job_error(&b, "start", "x.service", "skipped", ""), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void error_answers_give_the_server_s_message(void **state)
{
	cJSON *answer = json("{\"error\": \"Unit x.service not found.\"}");
	char msg[ERR_MSG_MAX];

	assert_string_equal(out_answer_error(answer, 404, msg, sizeof(msg)),
			    "Unit x.service not found.");
	assert_string_equal(out_answer_error(NULL, 401, msg, sizeof(msg)), "Access denied");
	assert_string_equal(out_answer_error(NULL, 502, msg, sizeof(msg)), "HTTP 502");
	cJSON_Delete(answer);
}

/* ---- journal lines ----------------------------------------------------------------------- */

static void format_entries(struct buf *b, const char *const *entries, size_t n, enum jctl_mode m,
			   const cJSON *procs, const struct out_opts *o)
{
	struct jctl_state st = { .shown = 0 };

	for (size_t i = 0; i < n; i++) {
		cJSON *e = json(entries[i]);

		assert_int_equal(jctl_entry_format(b, e, m, procs, &st, o), 0);
		cJSON_Delete(e);
	}
}

static void journal_short_names_unit_process_or_kernel(void **state)
{
	static const char *const entries[] = {
		"{\"seq\": 1, \"realtime_usec\": 1795607400000000, \"boot_id\": \"b1\","
		" \"unit\": \"kernel\", \"pid\": 0, \"priority\": 6, \"message\": \"virtio_net: link up\"}",
		"{\"seq\": 2, \"realtime_usec\": 1795607401000000, \"boot_id\": \"b1\","
		" \"unit\": \"pith-init\", \"pid\": 1, \"priority\": 5, \"message\": \"Started hello.service.\"}",
		"{\"seq\": 3, \"realtime_usec\": 1795607402000000, \"boot_id\": \"b1\","
		" \"unit\": \"getty@tty1.service\", \"pid\": 90, \"priority\": 6, \"message\": \"login:\"}",
		"{\"seq\": 4, \"realtime_usec\": 1795607403000000, \"boot_id\": \"b1\","
		" \"unit\": \"web.service\", \"pid\": 91, \"identifier\": \"nginx\", \"priority\": 6,"
		" \"message\": \"ready\", \"hostname\": \"node2\"}",
	};
	struct out_opts o = plain_opts;
	struct buf b = BUF_INIT;

	format_entries(&b, entries, 4, JCTL_SHORT, NULL, &o);
	assert_string_equal(b.data, "Nov 25 11:50:00 node1 kernel: virtio_net: link up\n"
				    "Nov 25 11:50:01 node1 pith-init[1]: Started hello.service.\n"
				    "Nov 25 11:50:02 node1 getty@tty1[90]: login:\n"
				    "Nov 25 11:50:03 node2 nginx[91]: ready\n");
	buf_reset(&b);
	o.no_hostname = true;
	format_entries(&b, entries, 1, JCTL_SHORT, NULL, &o);
	assert_string_equal(b.data, "Nov 25 11:50:00 kernel: virtio_net: link up\n");
	buf_free(&b);
}

static void journal_marks_where_a_new_boot_begins(void **state)
{
	static const char *const entries[] = {
		"{\"seq\": 9, \"realtime_usec\": 1795607300000000, \"boot_id\": \"aaaa\","
		" \"unit\": \"a.service\", \"pid\": 5, \"priority\": 6, \"message\": \"old\"}",
		"{\"seq\": 1, \"realtime_usec\": 1795607400000000, \"boot_id\": \"bbbb\","
		" \"unit\": \"a.service\", \"pid\": 6, \"priority\": 6, \"message\": \"new\"}",
	};
	struct buf b = BUF_INIT;

	format_entries(&b, entries, 2, JCTL_CAT, NULL, &plain_opts);
	assert_string_equal(b.data, "old\n-- Boot bbbb --\nnew\n");
	buf_reset(&b);
	format_entries(&b, entries, 2, JCTL_JSON, NULL, &plain_opts);
	assert_null(strstr(b.data, "-- Boot"));
	buf_free(&b);
}

static void journal_time_formats(void **state)
{
	static const struct {
		enum jctl_mode m;
		const char *line;
	} cases[] = {
		{ JCTL_SHORT_PRECISE, "Nov 25 11:50:05.123456 node1 hello[312]: Hello World\n" },
		{ JCTL_SHORT_ISO, "2026-11-25T11:50:05+0000 node1 hello[312]: Hello World\n" },
		{ JCTL_SHORT_ISO_PRECISE, "2026-11-25T11:50:05.123456+0000 node1 hello[312]: Hello World\n" },
		{ JCTL_SHORT_UNIX, "1795607405.123456 node1 hello[312]: Hello World\n" },
		{ JCTL_SHORT_MONOTONIC, "[    2.357023] node1 hello[312]: Hello World\n" },
		{ JCTL_CAT, "Hello World\n" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		format_entries(&b, &hello_journal[1], 1, cases[i].m, NULL, &plain_opts);
		assert_string_equal(b.data, cases[i].line);
	}
	buf_free(&b);
}

static void journal_json_uses_systemd_field_names_and_strings(void **state)
{
	struct buf b = BUF_INIT;

	format_entries(&b, &hello_journal[1], 1, JCTL_JSON, NULL, &plain_opts);
	assert_string_equal(b.data,
		"{\"__CURSOR\":\"i=2a;b=9f2c1e0b8a6d4c3e9b7a5f1d2c3b4a59;m=23f71f;t=661186d89d780\","
		"\"__REALTIME_TIMESTAMP\":\"1795607405123456\",\"__MONOTONIC_TIMESTAMP\":\"2357023\","
		"\"_BOOT_ID\":\"9f2c1e0b8a6d4c3e9b7a5f1d2c3b4a59\",\"PRIORITY\":\"6\","
		"\"_HOSTNAME\":\"node1\",\"_TRANSPORT\":\"stdout\",\"SYSLOG_IDENTIFIER\":\"hello\","
		"\"_PID\":\"312\",\"_SYSTEMD_UNIT\":\"hello.service\",\"MESSAGE\":\"Hello World\"}\n");
	buf_free(&b);
}

static void journal_json_pretty_indents_with_tabs(void **state)
{
	static const char *const kernel[] = {
		"{\"seq\": 3, \"realtime_usec\": 1795607400000000, \"monotonic_usec\": 5,"
		" \"boot_id\": \"b1\", \"unit\": \"kernel\", \"pid\": 0, \"priority\": 4,"
		" \"message\": \"say \\\"hi\\\"\"}",
	};
	struct buf b = BUF_INIT;

	format_entries(&b, kernel, 1, JCTL_JSON_PRETTY, NULL, &plain_opts);
	assert_string_equal(b.data, "{\n"
				    "\t\"__CURSOR\" : \"i=3;b=b1;m=5;t=661186d3baa00\",\n"
				    "\t\"__REALTIME_TIMESTAMP\" : \"1795607400000000\",\n"
				    "\t\"__MONOTONIC_TIMESTAMP\" : \"5\",\n"
				    "\t\"_BOOT_ID\" : \"b1\",\n"
				    "\t\"PRIORITY\" : \"4\",\n"
				    "\t\"_HOSTNAME\" : \"node1\",\n"
				    "\t\"_TRANSPORT\" : \"kernel\",\n"
				    "\t\"SYSLOG_IDENTIFIER\" : \"kernel\",\n"
				    "\t\"MESSAGE\" : \"say \\\"hi\\\"\"\n"
				    "}\n");
	buf_free(&b);
}

static void journal_colours_messages_by_priority(void **state)
{
	static const char *const err[] = {
		"{\"seq\": 1, \"realtime_usec\": 1795607400000000, \"boot_id\": \"b\","
		" \"unit\": \"a.service\", \"pid\": 2, \"priority\": 3, \"message\": \"boom\"}",
	};
	struct out_opts o = plain_opts;
	struct buf b = BUF_INIT;

	format_entries(&b, err, 1, JCTL_CAT, NULL, &o);
	assert_string_equal(b.data, "boom\n");
	buf_reset(&b);
	o.color = true;
	format_entries(&b, err, 1, JCTL_CAT, NULL, &o);
	assert_string_equal(b.data, OUT_RED "boom" OUT_NORMAL "\n");
	buf_free(&b);
}

static void journal_modes_and_priorities_parse(void **state)
{
	enum jctl_mode m;
	unsigned lo, hi;

	assert_int_equal(jctl_mode_parse("short-iso", &m), 0);
	assert_int_equal(m, JCTL_SHORT_ISO);
	assert_int_equal(jctl_mode_parse("verbose", &m), -EINVAL);
	assert_int_equal(jctl_prio_parse("err", &lo, &hi), 0);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 3);
	assert_int_equal(jctl_prio_parse("6", &lo, &hi), 0);
	assert_int_equal(hi, 6);
	assert_int_equal(jctl_prio_parse("err..warning", &lo, &hi), 0);
	assert_int_equal(lo, 3);
	assert_int_equal(hi, 4);
	assert_int_equal(jctl_prio_parse("debug..crit", &lo, &hi), 0);
	assert_int_equal(lo, 2);
	assert_int_equal(hi, 7);
	assert_int_equal(jctl_prio_parse("8", &lo, &hi), -EINVAL);
	assert_int_equal(jctl_prio_parse("loud", &lo, &hi), -EINVAL);
	assert_int_equal(jctl_prio_parse("err..", &lo, &hi), -EINVAL);
}

/* ---- command lines ----------------------------------------------------------------------- */

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define JCTL(a, e, ...) jctl_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), NOW, a, e)
#define SCTL(a, e, ...) sctl_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), a, e)

static void journalctl_reads_its_options_like_journalctl(void **state)
{
	struct jctl_args a;
	struct err e = { 0 };

	assert_int_equal(JCTL(&a, &e, "journalctl"), 0);
	assert_int_equal(a.lines, -1);
	assert_false(a.follow);
	assert_int_equal(JCTL(&a, &e, "journalctl", "-f"), 0);
	assert_int_equal(a.lines, 10);
	assert_int_equal(JCTL(&a, &e, "journalctl", "-n"), 0);
	assert_int_equal(a.lines, 10);
	assert_int_equal(JCTL(&a, &e, "journalctl", "-n", "5", "-u", "hello"), 0);
	assert_int_equal(a.lines, 5);
	assert_int_equal(a.n_units, 1);
	assert_string_equal(a.units[0], "hello.service");
	assert_int_equal(JCTL(&a, &e, "journalctl", "-n20", "--lines=all"), 0);
	assert_int_equal(a.lines, -1);
	assert_int_equal(JCTL(&a, &e, "journalctl", "-xeu", "web.target"), 0);
	assert_int_equal(a.lines, 1000);
	assert_string_equal(a.units[0], "web.target");
	assert_int_equal(JCTL(&a, &e, "journalctl", "-k", "-o", "json", "-p", "warning"), 0);
	assert_true(a.boot);
	assert_string_equal(a.units[0], "kernel");
	assert_int_equal(a.mode, JCTL_JSON);
	assert_int_equal(a.prio_max, 4);
	assert_int_equal(JCTL(&a, &e, "journalctl", "--since", "-5min", "-f", "_SYSTEMD_UNIT=x.service"), 0);
	assert_int_equal(a.since, NOW - 300 * SEC);
	assert_int_equal(a.lines, -1);
	assert_string_equal(a.units[0], "x.service");
	assert_int_equal(JCTL(&a, &e, "journalctl", "-b", "0", "--endpoint", "unix:/tmp/s"), 0);
	assert_true(a.boot);
	assert_string_equal(a.endpoint, "unix:/tmp/s");
}

static void journalctl_refuses_what_it_cannot_do(void **state)
{
	struct jctl_args a;
	struct err e = { 0 };

	assert_int_equal(JCTL(&a, &e, "journalctl", "-b", "-1"), -EINVAL);
	assert_string_equal(e.msg, "Only the current boot can be shown (-b or -b 0), not -1.");
	assert_int_equal(JCTL(&a, &e, "journalctl", "--since", "soon"), -EINVAL);
	assert_string_equal(e.msg, "Failed to parse since timestamp: soon");
	assert_int_equal(JCTL(&a, &e, "journalctl", "-o", "verbose"), -EINVAL);
	assert_string_equal(e.msg, "Unknown output format 'verbose'.");
	assert_int_equal(JCTL(&a, &e, "journalctl", "-Z"), -EINVAL);
	assert_string_equal(e.msg, "invalid option -- 'Z'");
	assert_int_equal(JCTL(&a, &e, "journalctl", "MESSAGE=x"), -EINVAL);
	assert_int_equal(JCTL(&a, &e, "journalctl", "-u"), -EINVAL);
	assert_string_equal(e.msg, "option '-u' requires an argument");
}

static void systemctl_reads_verbs_and_options_in_any_order(void **state)
{
	struct sctl_args a;
	struct err e = { 0 };

	assert_int_equal(SCTL(&a, &e, "systemctl"), 0);
	assert_string_equal(a.verb, "list-units");
	assert_int_equal(a.n_names, 0);
	assert_int_equal(SCTL(&a, &e, "systemctl", "status", "hello", "-n", "3", "--no-pager"), 0);
	assert_string_equal(a.verb, "status");
	assert_int_equal(a.n_names, 1);
	assert_string_equal(a.names[0], "hello");
	assert_int_equal(a.lines, 3);
	assert_int_equal(SCTL(&a, &e, "systemctl", "--type=service,target", "list-units", "--state",
			      "failed", "--failed", "-a", "--plain", "--no-legend"), 0);
	assert_int_equal(a.types.n, 2);
	assert_string_equal(a.types.w[1], "target");
	assert_null(a.types.w[2]);
	assert_int_equal(a.states.n, 2);
	assert_true(a.all && a.plain && a.no_legend);
	assert_int_equal(SCTL(&a, &e, "systemctl", "show", "-p", "MainPID,Result", "--value", "x"), 0);
	assert_int_equal(a.props.n, 2);
	assert_true(a.value);
	assert_int_equal(SCTL(&a, &e, "systemctl", "enable", "--now", "-q", "x", "y"), 0);
	assert_true(a.now && a.quiet);
	assert_int_equal(a.n_names, 2);
	assert_int_equal(SCTL(&a, &e, "systemctl", "status", "-n", "many"), -EINVAL);
	assert_int_equal(SCTL(&a, &e, "systemctl", "--bogus"), -EINVAL);
	assert_string_equal(e.msg, "unrecognized option '--bogus'");
}

static void unit_arguments_are_mangled_as_systemctl_does(void **state)
{
	char out[UNIT_NAME_MAX + 1];

	assert_int_equal(sctl_name_mangle("hello", out, sizeof(out)), 0);
	assert_string_equal(out, "hello.service");
	assert_int_equal(sctl_name_mangle("multi-user.target", out, sizeof(out)), 0);
	assert_string_equal(out, "multi-user.target");
	assert_int_equal(sctl_name_mangle("getty@tty1", out, sizeof(out)), 0);
	assert_string_equal(out, "getty@tty1.service");
	assert_int_equal(sctl_name_mangle("a/b", out, sizeof(out)), -EINVAL);
	assert_int_equal(sctl_name_mangle("", out, sizeof(out)), -EINVAL);
}

/* ---- the client ---------------------------------------------------------------------- */

static void endpoints_parse_and_name_themselves(void **state)
{
	struct client c;
	struct err e = { 0 };

	assert_int_equal(client_init(&c, "unix:/run/pith/init.sock", NULL, &e), 0);
	assert_int_equal(c.transport, CLIENT_UNIX);
	assert_string_equal(client_where(&c), "/run/pith/init.sock");
	assert_string_equal(c.auth, "");
	assert_int_equal(client_init(&c, "/tmp/x.sock", "t0k.en", &e), 0);
	assert_string_equal(c.path, "/tmp/x.sock");
	assert_string_equal(c.auth, "Authorization: Bearer t0k.en\r\n");
	assert_int_equal(client_init(&c, "https://node1", NULL, &e), 0);
	assert_int_equal(c.transport, CLIENT_HTTPS);
	assert_string_equal(client_where(&c), "node1:7443");
	assert_int_equal(client_init(&c, "https://[fd00::1]:8443/", NULL, &e), 0);
	assert_string_equal(client_where(&c), "[fd00::1]:8443");
	assert_int_equal(client_init(&c, "http://node1", NULL, &e), -EINVAL);
	assert_int_equal(client_init(&c, "https://node1:0", NULL, &e), -EINVAL);
	assert_int_equal(client_init(&c, "https://node1/v1", NULL, &e), -EINVAL);
	assert_int_equal(client_init(&c, "unix:", NULL, &e), -EINVAL);
	assert_int_equal(client_init(&c, "unix:/x", "a b", &e), -EINVAL);
	assert_string_equal(e.msg, "PITH_TOKEN holds a byte a bearer token cannot have");
}

static void the_endpoint_comes_from_the_flag_then_the_environment(void **state)
{
	unsetenv("PITH_ENDPOINT");
	assert_string_equal(client_endpoint_pick(NULL), "unix:/run/pith/init.sock");
	setenv("PITH_ENDPOINT", "https://n:1", 1);
	assert_string_equal(client_endpoint_pick(NULL), "https://n:1");
	assert_string_equal(client_endpoint_pick("unix:/s"), "unix:/s");
	setenv("PITH_ENDPOINT", "", 1);
	assert_string_equal(client_endpoint_pick(NULL), "unix:/run/pith/init.sock");
	unsetenv("PITH_ENDPOINT");
}

static void names_are_escaped_for_paths_and_queries(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(client_escape(&b, "a-b_c.d~e@f\\x2dg h/&"), 0);
	assert_string_equal(b.data, "a-b_c.d~e%40f%5Cx2dg%20h%2F%26");
	buf_free(&b);
}

/*
 * A one-shot server on a unix socket: it reads a request head, hands it to
 * the test through a pipe, answers with reply and closes.
 */
struct server {
	char dir[64];
	char path[96];
	pid_t pid;
	int head_fd;
};

static void server_start(struct server *s, const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[2], lfd, cfd;
	char req[8192];
	size_t n = 0;
	ssize_t k;

	snprintf(s->dir, sizeof(s->dir), "/tmp/pith-cli-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/api.sock", s->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(pipe(fds), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		cfd = accept(lfd, NULL, NULL);
		while (cfd >= 0 && n < sizeof(req) - 1 && (k = read(cfd, req + n, sizeof(req) - 1 - n)) > 0) {
			n += (size_t)k;
			req[n] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (write(fds[1], req, n) < 0 || write(cfd, reply, strlen(reply)) < 0)
			_exit(1);
		_exit(0);
	}
	close(lfd);
	close(fds[1]);
	s->head_fd = fds[0];
}

/* The request head the server saw; the server is gone afterwards. */
static void server_finish(struct server *s, char *head, size_t size)
{
	ssize_t n = read(s->head_fd, head, size - 1);
	int status;

	head[n > 0 ? n : 0] = 0;
	close(s->head_fd);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	unlink(s->path);
	rmdir(s->dir);
}

static void a_request_carries_the_token_and_returns_the_answer(void **state)
{
	struct client_response r;
	struct server s;
	struct client c;
	struct err e = { 0 };
	char head[8192];

	server_start(&s, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
			 "Content-Length: 38\r\n\r\n{\"error\": \"Unit x.service not found.\"}");
	assert_int_equal(client_init(&c, s.path, "sekrit", &e), 0);
	assert_int_equal(client_request(&c, "GET", "/v1/units/x.service", NULL, 0, &r, &e), 0);
	server_finish(&s, head, sizeof(head));
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.data, "{\"error\": \"Unit x.service not found.\"}");
	assert_non_null(strstr(head, "GET /v1/units/x.service HTTP/1.1\r\n"));
	assert_non_null(strstr(head, "\r\nAuthorization: Bearer sekrit\r\n"));
	assert_non_null(strstr(head, "\r\nConnection: close\r\n"));
	buf_free(&r.body);
}

struct lines {
	struct buf seen;
	int calls;
};

static int line_seen(void *arg, char *line, size_t len)
{
	struct lines *l = arg;

	l->calls++;
	buf_printf(&l->seen, "<%.*s>", (int)len, line);
	return 0;
}

static void a_stream_is_cut_into_lines_whatever_the_chunks(void **state)
{
	struct lines l = { BUF_INIT, 0 };
	struct client_response r;
	struct server s;
	struct client c;
	struct err e = { 0 };
	char head[8192];

	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n"
			 "4\r\n{\"a\"\r\n"
			 "7\r\n: 1}\n{\"\r\n"
			 "8\r\nb\": 2}\n\n\r\n"
			 "5\r\n{\"c\":\r\n"
			 "0\r\n\r\n");
	assert_int_equal(client_init(&c, s.path, NULL, &e), 0);
	assert_int_equal(client_stream_lines(&c, "/v1/journal?lines=3", &r, line_seen, &l, &e), 0);
	server_finish(&s, head, sizeof(head));
	assert_int_equal(r.status, 200);
	assert_string_equal(l.seen.data, "<{\"a\": 1}><{\"b\": 2}><><{\"c\":>");
	assert_null(strstr(head, "Authorization"));
	buf_free(&l.seen);
	buf_free(&r.body);
}

static void a_stream_that_answers_an_error_keeps_the_body(void **state)
{
	struct lines l = { BUF_INIT, 0 };
	struct client_response r;
	struct server s;
	struct client c;
	struct err e = { 0 };
	char head[8192];

	server_start(&s, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}");
	assert_int_equal(client_init(&c, s.path, NULL, &e), 0);
	assert_int_equal(client_stream_lines(&c, "/v1/journal", &r, line_seen, &l, &e), 0);
	server_finish(&s, head, sizeof(head));
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.data, "{}");
	assert_int_equal(l.calls, 0);
	buf_free(&r.body);
}

static void refused_credentials_are_errors_with_the_nodes_reason(void **state)
{
	struct client_response r;
	struct server s;
	struct client c;
	struct err e = { 0 };
	char head[8192];

	server_start(&s, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 26\r\n\r\n{\"error\":\"invalid token\"}\n");
	assert_int_equal(client_init(&c, s.path, "t", &e), 0);
	assert_int_equal(client_request(&c, "GET", "/v1/units", NULL, 0, &r, &e), -EACCES);
	server_finish(&s, head, sizeof(head));
	assert_memory_equal(e.msg, "Access denied by ", 17);
	assert_non_null(strstr(e.msg, ": invalid token (check PITH_TOKEN, or PITH_CERT and PITH_KEY)"));
	assert_int_equal(client_exit_code(-EACCES), CLIENT_EXIT_AUTH);
	buf_free(&r.body);
	server_start(&s, "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}");
	assert_int_equal(client_init(&c, s.path, "t", &e), 0);
	assert_int_equal(client_request(&c, "POST", "/v1/daemon-reload", NULL, 0, &r, &e), -EPERM);
	server_finish(&s, head, sizeof(head));
	assert_int_equal(client_exit_code(-EPERM), CLIENT_EXIT_FORBIDDEN);
	buf_free(&r.body);
}

static void a_truncated_answer_is_an_error(void **state)
{
	struct client_response r;
	struct server s;
	struct client c;
	struct err e = { 0 };
	char head[8192];

	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"");
	assert_int_equal(client_init(&c, s.path, NULL, &e), 0);
	assert_int_equal(client_request(&c, "POST", "/v1/daemon-reload", NULL, 0, &r, &e), -EBADMSG);
	server_finish(&s, head, sizeof(head));
	assert_non_null(strstr(head, "POST /v1/daemon-reload HTTP/1.1\r\n"));
	assert_non_null(strstr(head, "\r\nContent-Length: 0\r\n"));
	assert_non_null(strstr(e.msg, "closed the connection before the answer was complete"));
	buf_free(&r.body);
}

static void failing_to_connect_says_where_and_why(void **state)
{
	struct client_response r;
	struct client c;
	struct err e = { 0 };

	assert_int_equal(client_init(&c, "unix:/nonexistent/pith.sock", NULL, &e), 0);
	assert_int_equal(client_request(&c, "GET", "/v1/units", NULL, 0, &r, &e), -ENOENT);
	assert_string_equal(e.msg, "Failed to connect to /nonexistent/pith.sock: No such file or directory");
	buf_free(&r.body);
	assert_int_equal(client_init(&c, "https://node1:7443", NULL, &e), 0);
	assert_int_equal(client_request(&c, "GET", "/v1/units", NULL, 0, &r, &e), -EINVAL);
	assert_string_equal(e.msg, "Failed to connect to node1:7443: no CA to check its certificate with "
				   "(set PITH_CA to the cluster's ca.crt)");
	buf_free(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_of_a_running_service_is_systemd_s_block),
		cmocka_unit_test(status_of_a_failed_service_says_why_and_how_it_ended),
		cmocka_unit_test(status_of_a_service_killed_by_a_signal_names_the_signal),
		cmocka_unit_test(status_of_an_inactive_unit_has_no_cgroup_and_no_since),
		cmocka_unit_test(status_shows_memory_limits_and_the_status_text),
		cmocka_unit_test(status_gives_the_reason_a_unit_did_not_load),
		cmocka_unit_test(status_colours_only_when_asked),
		cmocka_unit_test(relative_times_read_as_systemd_writes_them),
		cmocka_unit_test(since_and_until_take_systemd_time_syntax),
		cmocka_unit_test(list_units_hides_inactive_units_unless_asked),
		cmocka_unit_test(list_units_filters_by_type_state_and_pattern),
		cmocka_unit_test(list_unit_files_shows_state_and_preset),
		cmocka_unit_test(show_prints_the_properties_the_api_has),
		cmocka_unit_test(show_writes_absent_limits_as_infinity),
		cmocka_unit_test(cat_separates_files_and_units_with_a_blank_line),
		cmocka_unit_test(enable_and_disable_report_each_link),
		cmocka_unit_test(a_failed_job_is_explained_as_systemctl_does),
		cmocka_unit_test(error_answers_give_the_server_s_message),
		cmocka_unit_test(journal_short_names_unit_process_or_kernel),
		cmocka_unit_test(journal_marks_where_a_new_boot_begins),
		cmocka_unit_test(journal_time_formats),
		cmocka_unit_test(journal_json_uses_systemd_field_names_and_strings),
		cmocka_unit_test(journal_json_pretty_indents_with_tabs),
		cmocka_unit_test(journal_colours_messages_by_priority),
		cmocka_unit_test(journal_modes_and_priorities_parse),
		cmocka_unit_test(journalctl_reads_its_options_like_journalctl),
		cmocka_unit_test(journalctl_refuses_what_it_cannot_do),
		cmocka_unit_test(systemctl_reads_verbs_and_options_in_any_order),
		cmocka_unit_test(unit_arguments_are_mangled_as_systemctl_does),
		cmocka_unit_test(endpoints_parse_and_name_themselves),
		cmocka_unit_test(the_endpoint_comes_from_the_flag_then_the_environment),
		cmocka_unit_test(names_are_escaped_for_paths_and_queries),
		cmocka_unit_test(a_request_carries_the_token_and_returns_the_answer),
		cmocka_unit_test(a_stream_is_cut_into_lines_whatever_the_chunks),
		cmocka_unit_test(a_stream_that_answers_an_error_keeps_the_body),
		cmocka_unit_test(a_truncated_answer_is_an_error),
		cmocka_unit_test(refused_credentials_are_errors_with_the_nodes_reason),
		cmocka_unit_test(failing_to_connect_says_where_and_why),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
