/* Unit files: what Pith understands from each line, as systemd would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

/* Reports become lines of a transcript: "E 3 message" or "W 3 message". */
static void record(void *arg, enum unit_severity sev, const char *file, unsigned line,
		   const char *msg)
{
	buf_printf(arg, "%c %u %s\n", sev == UNIT_ERROR ? 'E' : 'W', line, msg);
}

static const struct unit_spec_env env = {
	.hostname = "node1.example", .machine_id = "0123456789abcdef0123456789abcdef",
	.boot_id = "fedcba9876543210fedcba9876543210", .kernel_release = "6.1.0",
};

static struct buf reports;

static struct unit *load(const char *name, const char *text)
{
	static struct unit u;

	unit_free(&u);
	buf_reset(&reports);
	assert_int_equal(unit_init(&u, name, &env, record, &reports), 0);
	assert_int_equal(unit_parse(&u, "/etc/pith/units/x", text, strlen(text)), 0);
	return &u;
}

static const char *said(void)
{
	return reports.data ? reports.data : "";
}

/* argv of command i of an Exec list, joined with '|'. */
static const char *argv_of(const struct unit_exec_list *l, size_t i)
{
	static char s[1024];
	size_t n = 0;

	assert_true(i < l->n);
	s[0] = 0;
	for (size_t k = 0; k < l->v[i].argc; k++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s", k ? "|" : "", l->v[i].argv[k]);
	return s;
}

static void the_seed_unit(void **state)
{
	struct unit *u = load("hello.service",
		"[Unit]\n"
		"Description=Hello World\n"
		"After=docker.service\n"
		"Requires=docker.service\n"
		"\n"
		"[Service]\n"
		"TimeoutStartSec=0\n"
		"ExecStartPre=-/usr/bin/docker kill busybox1\n"
		"ExecStartPre=-/usr/bin/docker rm busybox1\n"
		"ExecStartPre=/usr/bin/docker pull busybox\n"
		"ExecStart=/usr/bin/docker run --name busybox1 busybox /bin/sh -c "
		"\"trap 'exit 0' INT TERM; while true; do echo Hello World; sleep 1; done\"\n"
		"ExecStop=/usr/bin/docker stop busybox1\n"
		"\n"
		"[Install]\n"
		"WantedBy=multi-user.target\n");
	struct service *s = &u->service;

	assert_string_equal(said(), "");
	assert_string_equal(u->description, "Hello World");
	assert_int_equal(u->deps[UNIT_AFTER].n, 1);
	assert_string_equal(u->deps[UNIT_REQUIRES].v[0], "docker.service");
	assert_true(s->timeout_start_usec == UV_INFINITY);
	assert_int_equal(s->exec[EXEC_START_PRE].n, 3);
	assert_true(s->exec[EXEC_START_PRE].v[0].flags & UNIT_EXEC_IGNORE_FAILURE);
	assert_false(s->exec[EXEC_START_PRE].v[2].flags & UNIT_EXEC_IGNORE_FAILURE);
	assert_string_equal(argv_of(&s->exec[EXEC_START_PRE], 1), "/usr/bin/docker|rm|busybox1");
	assert_string_equal(argv_of(&s->exec[EXEC_START], 0),
			    "/usr/bin/docker|run|--name|busybox1|busybox|/bin/sh|-c|"
			    "trap 'exit 0' INT TERM; while true; do echo Hello World; sleep 1; done");
	assert_int_equal(s->exec[EXEC_START].v[0].line, 11);
	assert_string_equal(u->wanted_by.v[0], "multi-user.target");
	assert_int_equal(unit_verify(u), 0);
}

static void defaults_are_systemds(void **state)
{
	struct unit *u = load("a.service", "[Service]\nExecStart=/bin/true\n");
	struct service *s = &u->service;

	assert_int_equal(unit_verify(u), 0);
	assert_int_equal(s->type, SERVICE_SIMPLE);
	assert_int_equal(s->restart, RESTART_NO);
	assert_true(s->restart_usec == 100000);
	assert_true(s->timeout_start_usec == 90000000 && s->timeout_stop_usec == 90000000);
	assert_int_equal(s->kill_mode, KILL_CONTROL_GROUP);
	assert_int_equal(s->kill_signal, SIGTERM);
	assert_true(s->send_sigkill);
	assert_int_equal(s->umask, 0022);
	assert_true(u->default_dependencies);
	assert_true(u->start_limit_interval_usec == 10000000 && u->start_limit_burst == 5);
	assert_true(s->tasks_max.relative && s->tasks_max.value == 1500);
	assert_int_equal(s->std_output, OUTPUT_JOURNAL);
	assert_int_equal(s->std_error, OUTPUT_INHERIT);
	assert_int_equal(s->notify_access, NOTIFY_NONE);
}

static void continuation_and_comments(void **state)
{
	struct unit *u = load("a.service",
		"# comment\n; comment\n[Service]\n"
		"ExecStart=/bin/echo one \\\n"
		"# a comment inside is skipped\n"
		"  two \\\n"
		"  three\n");

	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0), "/bin/echo|one|two|three");
}

static void exec_quoting_and_escapes(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\n"
		"ExecStart=/bin/x \"a b\" 'c \"d\"' e\\ f \"\" x\"y z\"w \\x41\\102\\u00e9 \\t \"\\n\"\n");

	/* "e\ f" keeps its unknown escape, with a warning, as systemd does. */
	assert_string_equal(said(), "W 2 ExecStart=: an unknown escape is kept as written\n");
	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0),
			    "/bin/x|a b|c \"d\"|e\\ f||xy zw|AB\xc3\xa9|\t|\n");
}

/* Arguments keep an escape C does not know, backslash and all ("e\\ f"
 * above, "\\d" here); the executable path may not have one. */
static void unknown_escapes_in_arguments_are_kept(void **state)
{
	struct unit *u = load("a.service", "[Service]\nExecStart=/bin/grep -E \\d+\\.\\w\n");

	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0), "/bin/grep|-E|\\d+\\.\\w");
}

static void exec_prefixes(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nType=oneshot\n"
		"ExecStart=-@/bin/sh mysh -c true\n"
		"ExecStart=+/bin/a\n"
		"ExecStart=!/bin/b\n"
		"ExecStart=!!/bin/c\n"
		"ExecStart=:-/bin/d $X\n");
	struct unit_exec_list *l = &u->service.exec[EXEC_START];

	assert_string_equal(said(), "");
	assert_int_equal(l->n, 5);
	assert_int_equal(l->v[0].flags, UNIT_EXEC_IGNORE_FAILURE | UNIT_EXEC_ARGV0);
	assert_string_equal(l->v[0].path, "/bin/sh");
	assert_string_equal(argv_of(l, 0), "mysh|-c|true");
	assert_int_equal(l->v[1].flags, UNIT_EXEC_PRIVILEGED);
	assert_int_equal(l->v[2].flags, UNIT_EXEC_NO_SETUID);
	assert_int_equal(l->v[3].flags, UNIT_EXEC_AMBIENT);
	assert_int_equal(l->v[4].flags, UNIT_EXEC_NO_ENV_EXPAND | UNIT_EXEC_IGNORE_FAILURE);
}

static void bad_exec_lines(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nType=oneshot\n"
		"ExecStart=/bin/ok\n"
		"ExecStart=-\n"
		"ExecStart=bin/sh\n"
		"ExecStart=/bin/x \"unterminated\n"
		"ExecStart=@/bin/x\n"
		"ExecStart=+!/bin/x\n"
		"ExecStart=/bin/../x\n");

	/* "/bin/../x" is taken, as systemd takes it; "-" alone is a warning. */
	assert_int_equal(u->service.exec[EXEC_START].n, 2);
	assert_int_equal(u->errors, 4);
	assert_non_null(strstr(said(), "W 4 ExecStart=-: empty executable path; ignored\n"));
	assert_non_null(strstr(said(), "E 5 ExecStart=bin/sh:"));
	assert_non_null(strstr(said(), "E 6 ExecStart=/bin/x \"unterminated: unterminated quote"));
	assert_non_null(strstr(said(), "E 7 ExecStart=@/bin/x: '@' prefix but no argv[0]"));
	assert_int_equal(unit_verify(u), -EINVAL);
}

static void program_names_use_the_search_path(void **state)
{
	struct unit *u = load("a.service", "[Service]\nExecStart=sleep 10\n");

	assert_string_equal(said(), "");
	assert_string_equal(u->service.exec[EXEC_START].v[0].path, "sleep");
}

static void semicolons_separate_commands(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nType=oneshot\nExecStartPre=/bin/a 1 ; /bin/b \\; \";\" ;\n");
	struct unit_exec_list *l = &u->service.exec[EXEC_START_PRE];

	assert_string_equal(said(), "");
	assert_int_equal(l->n, 2);
	assert_string_equal(argv_of(l, 0), "/bin/a|1");
	assert_string_equal(argv_of(l, 1), "/bin/b|;|;");
}

static void empty_assignment_resets_a_list(void **state)
{
	struct unit *u = load("a.service",
		"[Unit]\nAfter=a.service b.service\nAfter=\nAfter=c.service\n"
		"[Service]\nExecStartPre=/bin/one\nExecStartPre=\nExecStartPre=/bin/two\n"
		"ExecStart=/bin/x\nEnvironment=A=1\nEnvironment=\nEnvironment=B=2\n");

	assert_int_equal(u->deps[UNIT_AFTER].n, 1);
	assert_string_equal(u->deps[UNIT_AFTER].v[0], "c.service");
	assert_int_equal(u->service.exec[EXEC_START_PRE].n, 1);
	assert_string_equal(u->service.exec[EXEC_START_PRE].v[0].path, "/bin/two");
	assert_int_equal(u->service.environment.n, 1);
	assert_string_equal(u->service.environment.v[0], "B=2");
}

static void a_bad_value_keeps_the_earlier_one(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\nRestart=always\nRestart=sometimes\nRestartSec=5\nRestartSec=soon\n");

	assert_int_equal(u->service.restart, RESTART_ALWAYS);
	assert_true(u->service.restart_usec == 5000000);
	assert_string_equal(said(),
		"W 4 Restart=sometimes: not one of the accepted words; ignored\n"
		"W 6 RestartSec=soon: not a time span; ignored\n");
	assert_int_equal(u->errors, 0);
}

static void specifiers(void **state)
{
	struct unit *u = load("web-front@a\\x2db-c.service",
		"[Unit]\nDescription=%n %N %p %i %I %j %H %l %m %b %v %%\n"
		"[Service]\nExecStart=/bin/echo %f %t/%p\n");

	assert_string_equal(said(), "");
	assert_string_equal(u->description,
		"web-front@a\\x2db-c.service web-front@a\\x2db-c web-front a\\x2db-c a-b/c front "
		"node1.example node1 0123456789abcdef0123456789abcdef fedcba9876543210fedcba9876543210 "
		"6.1.0 %");
	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0), "/bin/echo|/a-b/c|/run/web-front");
}

/* Outside Exec*=, systemd ignores the assignment with a warning. */
static void unknown_specifier_is_a_warning(void **state)
{
	struct unit *u = load("a.service", "[Unit]\nDescription=ok\nDescription=50%q\n");

	assert_string_equal(u->description, "ok");
	assert_string_equal(said(), "W 3 Description=: unknown specifier %q; ignored\n");
	assert_int_equal(u->errors, 0);
}

static void templates_instantiate(void **state)
{
	char name[UNIT_NAME_MAX + 1];
	struct unit *u;

	assert_int_equal(unit_name_template("getty@tty1.service", name, sizeof(name)), 0);
	assert_string_equal(name, "getty@.service");
	assert_int_equal(unit_name_instantiate("getty@.service", "ttyS0", name, sizeof(name)), 0);
	assert_string_equal(name, "getty@ttyS0.service");
	assert_int_equal(unit_name_instantiate("getty@.service", "a/b", name, sizeof(name)), -EINVAL);
	assert_int_equal(unit_name_template("getty.service", name, sizeof(name)), -EINVAL);
	u = load("getty@ttyS0.service", "[Unit]\nBindsTo=dev-%i.device\n[Service]\nExecStart=/sbin/agetty %I\n");
	assert_string_equal(u->deps[UNIT_BINDS_TO].v[0], "dev-ttyS0.device");
	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0), "/sbin/agetty|ttyS0");
}

static void unit_names(void **state)
{
	assert_true(unit_name_is_valid("a.service"));
	assert_true(unit_name_is_valid("-.mount"));
	assert_true(unit_name_is_valid("foo@bar@baz.service"));
	assert_true(unit_name_is_template("foo@.target"));
	assert_false(unit_name_is_valid("a.serv"));
	assert_false(unit_name_is_valid(".service"));
	assert_false(unit_name_is_valid("@x.service"));
	assert_false(unit_name_is_valid("a b.service"));
	assert_false(unit_name_is_valid("a/b.service"));
	assert_false(unit_name_is_valid(""));
}

static void dropins_apply_in_order(void **state)
{
	struct unit *u = load("a.service",
		"[Unit]\nDescription=base\nWants=x.service\n[Service]\nExecStart=/bin/old\nRestart=no\n");

	assert_int_equal(unit_parse(u, "/etc/pith/units/a.service.d/10-a.conf",
				    "[Service]\nExecStart=\nExecStart=/bin/new\n",
				    strlen("[Service]\nExecStart=\nExecStart=/bin/new\n")), 0);
	assert_int_equal(unit_parse(u, "/etc/pith/units/a.service.d/20-b.conf",
				    "[Unit]\nWants=y.service\n[Service]\nRestart=on-failure\n",
				    strlen("[Unit]\nWants=y.service\n[Service]\nRestart=on-failure\n")), 0);
	assert_string_equal(said(), "");
	assert_string_equal(u->service.exec[EXEC_START].v[0].path, "/bin/new");
	assert_string_equal(u->service.exec[EXEC_START].v[0].file, "/etc/pith/units/a.service.d/10-a.conf");
	assert_int_equal(u->deps[UNIT_WANTS].n, 2);
	assert_int_equal(u->service.restart, RESTART_ON_FAILURE);
	assert_int_equal(u->dropins.n, 2);
	assert_string_equal(u->path, "/etc/pith/units/x");
	assert_int_equal(unit_verify(u), 0);
}

static void x_sections_are_kept_verbatim(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\n[X-Fleet]\nMachineMetadata=region=us\nMachineMetadata=disk=ssd\nGlobal=true\n");
	size_t n = 0;

	assert_string_equal(said(), "");
	for (size_t i = 0; i < u->n_settings; i++)
		if (u->settings[i].verbatim) {
			assert_string_equal(u->settings[i].section, "X-Fleet");
			n++;
		}
	assert_int_equal(n, 3);
}

static void unknown_things_warn(void **state)
{
	struct unit *u = load("a.service",
		"Stray=1\n[Unit]\nFrobnicate=yes\n[Service]\nExecStart=/bin/x\nPrivateTmp=yes\n[Bogus]\nA=b\n[Socket]\nListenStream=1\n");

	assert_int_equal(u->errors, 0);
	assert_string_equal(said(),
		"W 1 Stray= outside any section ignored\n"
		"W 3 [Unit] Frobnicate= is not supported by Pith; ignored\n"
		"W 6 [Service] PrivateTmp= is not supported by Pith; ignored\n"
		"W 7 unknown section [Bogus] ignored\n"
		"W 9 unknown section [Socket] ignored\n");
}

static void malformed_lines(void **state)
{
	load("a.service", "[Service]\nExecStart=/bin/x\nno equals sign\n[Broken\nA=b\n");

	assert_string_equal(said(),
		"W 3 missing '='; line ignored\n"
		"E 4 section header without closing ']'\n"
		"W 5 option after a malformed section header; line ignored\n");
}

static void service_rules(void **state)
{
	struct unit *u = load("a.service", "[Service]\nType=simple\n");

	assert_int_equal(unit_verify(u), -EINVAL);
	u = load("a.service", "[Unit]\nDescription=x\n");
	assert_int_equal(unit_verify(u), -EINVAL);
	u = load("a.service", "[Service]\nRemainAfterExit=yes\nExecStop=/bin/x\n");
	assert_int_equal(unit_verify(u), 0);
	assert_int_equal(u->service.type, SERVICE_ONESHOT);
	u = load("a.service", "[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n");
	assert_int_equal(unit_verify(u), -EINVAL);
	assert_non_null(strstr(said(), "more than one ExecStart="));
	u = load("a.service", "[Service]\nType=oneshot\nRestart=always\nExecStart=/bin/a\n");
	assert_int_equal(unit_verify(u), -EINVAL);
	u = load("a.target", "[Unit]\nDescription=t\n");
	assert_int_equal(unit_verify(u), 0);
	u = load("a.socket", "[Socket]\nListenStream=80\n");
	assert_int_equal(unit_verify(u), -EOPNOTSUPP);
	assert_int_equal(u->errors, 0);
}

static void every_supported_option(void **state)
{
	struct unit *u = load("a.service",
		"[Unit]\nDocumentation=man:a(1) https://x\nWants=w.service\nBindsTo=b.service\n"
		"PartOf=p.service\nRequisite=r.service\nConflicts=c.service\nBefore=z.target\n"
		"ConditionPathExists=|!/etc/x\nAssertPathExists=/etc/y\nDefaultDependencies=no\n"
		"StartLimitIntervalSec=1min\nStartLimitBurst=3\n"
		"[Service]\nType=notify\nExecStart=/bin/x\nExecStartPost=/bin/post\nExecReload=/bin/kill -HUP $MAINPID\n"
		"ExecStopPost=/bin/cleanup\nRemainAfterExit=yes\nRestart=on-abnormal\nTimeoutStopSec=5s\n"
		"WatchdogSec=30\nKillMode=mixed\nKillSignal=SIGINT\nSendSIGKILL=no\nSuccessExitStatus=3 SIGUSR1\n"
		"NotifyAccess=all\nPIDFile=a.pid\nEnvironment=\"A=1 2\" B=3\nEnvironmentFile=-/etc/default/a\n"
		"WorkingDirectory=-/srv\nUser=daemon\nGroup=nogroup\nUMask=0077\nLimitNOFILE=1024:4096\n"
		"LimitCORE=infinity\nStandardOutput=journal+console\nStandardError=null\nMemoryMax=64M\n"
		"MemoryHigh=50%\nCPUWeight=200\nCPUQuota=150%\nTasksMax=64\nIOWeight=300\n"
		"[Install]\nRequiredBy=r.target\nAlso=b.service\nAlias=alias.service\n");
	struct service *s = &u->service;

	assert_string_equal(said(), "");
	assert_int_equal(unit_verify(u), 0);
	assert_int_equal(u->documentation.n, 2);
	for (int d = 0; d < UNIT_DEP_MAX; d++)
		if (d != UNIT_REQUIRES && d != UNIT_AFTER)
			assert_int_equal(u->deps[d].n, 1);
	assert_true(u->conditions.v[0].trigger && u->conditions.v[0].negate);
	assert_string_equal(u->asserts.v[0].path, "/etc/y");
	assert_false(u->default_dependencies);
	assert_true(u->start_limit_interval_usec == 60000000 && u->start_limit_burst == 3);
	assert_int_equal(s->type, SERVICE_NOTIFY);
	assert_string_equal(argv_of(&s->exec[EXEC_RELOAD], 0), "/bin/kill|-HUP|$MAINPID");
	assert_true(s->remain_after_exit);
	assert_int_equal(s->restart, RESTART_ON_ABNORMAL);
	assert_true(s->timeout_stop_usec == 5000000 && s->watchdog_usec == 30000000);
	assert_int_equal(s->kill_mode, KILL_MIXED);
	assert_int_equal(s->kill_signal, SIGINT);
	assert_false(s->send_sigkill);
	assert_true(uv_status_set_has_code(&s->success_status, 3));
	assert_true(uv_status_set_has_signal(&s->success_status, SIGUSR1));
	assert_int_equal(s->notify_access, NOTIFY_ALL);
	assert_string_equal(s->pid_file, "/run/a.pid");
	assert_string_equal(s->environment.v[0], "A=1 2");
	assert_string_equal(s->environment.v[1], "B=3");
	assert_string_equal(s->environment_files.v[0], "-/etc/default/a");
	assert_string_equal(s->working_directory, "/srv");
	assert_true(s->working_directory_missing_ok);
	assert_string_equal(s->user, "daemon");
	assert_string_equal(s->group, "nogroup");
	assert_int_equal(s->umask, 0077);
	assert_true(s->rlimit_set & (1u << RLIMIT_NOFILE));
	assert_int_equal(s->rlimit[RLIMIT_NOFILE].rlim_cur, 1024);
	assert_int_equal(s->rlimit[RLIMIT_NOFILE].rlim_max, 4096);
	assert_true(s->rlimit[RLIMIT_CORE].rlim_max == RLIM_INFINITY);
	assert_int_equal(s->std_output, OUTPUT_JOURNAL_CONSOLE);
	assert_int_equal(s->std_error, OUTPUT_NULL);
	assert_true(s->memory_max.value == 64 << 20 && !s->memory_max.relative);
	assert_true(s->memory_high.value == 5000 && s->memory_high.relative);
	assert_true(s->cpu_weight == 200 && s->io_weight == 300 && s->cpu_quota == 15000);
	assert_true(s->tasks_max.value == 64 && !s->tasks_max.relative);
	assert_string_equal(u->required_by.v[0], "r.target");
	assert_string_equal(u->also.v[0], "b.service");
	assert_string_equal(u->alias.v[0], "alias.service");
}

/* systemd.service(5): lines merge, an empty one resets, the main
 * process's codes, names and signals; a bad word is ignored with a
 * warning and the line's other words are taken, as systemd 252 does. */
static void restart_prevent_exit_status(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\nRestart=always\n"
		"RestartPreventExitStatus=1 6 SIGABRT\n"
		"RestartPreventExitStatus=\n"
		"RestartPreventExitStatus=100 TEMPFAIL\n"
		"RestartPreventExitStatus=TERM\n"
		"RestartPreventExitStatus=101 NOSUCHNAME\n"
		"RestartPreventExitStatus=256\n");
	const struct uv_status_set *p = &u->service.restart_prevent_status;

	assert_true(uv_status_set_has_code(p, 100));
	assert_true(uv_status_set_has_code(p, 75));	/* TEMPFAIL */
	assert_true(uv_status_set_has_signal(p, SIGTERM));
	/* Reset by the empty line. */
	assert_false(uv_status_set_has_code(p, 1));
	assert_false(uv_status_set_has_code(p, 6));
	assert_false(uv_status_set_has_signal(p, SIGABRT));
	/* A bad word is dropped; the rest of its line is taken. */
	assert_true(uv_status_set_has_code(p, 101));
	assert_false(uv_status_set_has_code(p, 0));
	/* Not SuccessExitStatus=: 100 is still a failure. */
	assert_false(uv_status_set_has_code(&u->service.success_status, 100));
	assert_int_equal(u->errors, 0);
	assert_non_null(strstr(said(), "W 8 RestartPreventExitStatus=: \"NOSUCHNAME\" is not an exit code or signal; ignored"));
	assert_non_null(strstr(said(), "W 9 RestartPreventExitStatus=: \"256\" is not an exit code or signal; ignored"));
	assert_null(strstr(said(), "unknown"));
	assert_null(strstr(said(), "E "));
}

static void environment_assignments(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\nEnvironment=GOOD=1 9BAD=2 =3 \"SP=a b\" NOEQ\n");

	assert_int_equal(u->service.environment.n, 2);
	assert_string_equal(u->service.environment.v[1], "SP=a b");
	assert_int_equal(u->errors, 0);
	assert_int_equal(u->warnings, 3);
}

static void env_expansion_at_exec_time(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x $WORDS ${ONE} pre${ONE}post $$HOME $UNSET ${UNSET}x\n");
	char *env[] = { "WORDS=a  b c", "ONE=1 1", NULL };
	struct arena a = ARENA_INIT;
	char **argv;
	int r;

	argv = unit_exec_expand_env(&a, &u->service.exec[EXEC_START].v[0], env, &r);
	assert_int_equal(r, 0);
	assert_string_equal(argv[0], "/bin/x");
	assert_string_equal(argv[1], "a");
	assert_string_equal(argv[2], "b");
	assert_string_equal(argv[3], "c");
	assert_string_equal(argv[4], "1 1");
	assert_string_equal(argv[5], "pre1 1post");
	assert_string_equal(argv[6], "$HOME");
	assert_string_equal(argv[7], "x");
	assert_null(argv[8]);
	arena_free(&a);
}

static void dump_is_json_of_what_was_understood(void **state)
{
	struct unit *u = load("a.service",
		"[Unit]\nDescription=A \"quoted\" thing\nAfter=b.service c.service\n"
		"[Service]\nExecStart=-/bin/echo 'hi there'\nPrivateTmp=yes\n[X-Fleet]\nGlobal=true\n");
	struct buf b = BUF_INIT;

	assert_int_equal(unit_dump_json(u, "loaded", &b), 0);
	assert_non_null(strstr(b.data, "\"Description\": \"A \\\"quoted\\\" thing\""));
	assert_non_null(strstr(b.data, "\"After\": [\n        \"b.service\",\n        \"c.service\"\n      ]"));
	assert_non_null(strstr(b.data, "\"argv\": [\n            \"/bin/echo\",\n            \"hi there\"\n          ]"));
	assert_non_null(strstr(b.data, "\"ignore_failure\": true"));
	assert_non_null(strstr(b.data, "\"X-Fleet\": [\n      [\n        \"Global\",\n        \"true\"\n      ]\n    ]"));
	assert_non_null(strstr(b.data, "\"ignored\": {\n    \"Service\": {\n      \"PrivateTmp\": [\n        \"yes\""));
	buf_free(&b);
}

/* --- what systemd 252 does with odd lines (tests/api/test_unit_diff.py) --- */

static void exec_paths_are_simplified(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nType=oneshot\nExecStart=/bin///echo hi\nExecStart=/bin/./echo\n"
		"ExecStart=/usr/../bin/echo\nExecStart=/bin/echo/.\n");
	struct unit_exec_list *l = &u->service.exec[EXEC_START];

	assert_string_equal(said(), "");
	assert_int_equal(l->n, 4);
	assert_string_equal(l->v[0].path, "/bin/echo");
	assert_string_equal(argv_of(l, 0), "/bin///echo|hi");
	assert_string_equal(l->v[1].path, "/bin/echo");
	assert_string_equal(l->v[2].path, "/usr/../bin/echo");
	assert_string_equal(l->v[3].path, "/bin/echo");
	assert_int_equal(unit_verify(u), 0);
}

/* A bad command with '-' is a warning and the line is dropped; without it,
 * systemd refuses the unit. */
static void misplaced_prefixes(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/true\n"
		"ExecStartPre=--/bin/echo x\n"
		"ExecStartPre=-@-/bin/echo x\n"
		"ExecStartPre=-\n"
		"ExecStartPre=- /bin/echo x\n"
		"ExecStartPre=-@/bin/echo\n"
		"ExecStartPre=-/bin/echo %z\n"
		"ExecStartPre=-/bin/%z\n"
		"ExecStartPre=-bin/echo\n");

	assert_int_equal(u->errors, 0);
	assert_int_equal(u->warnings, 8);
	assert_int_equal(u->service.exec[EXEC_START_PRE].n, 0);
	assert_int_equal(unit_verify(u), 0);

	u = load("a.service", "[Service]\nExecStart=/bin/true\nExecStartPre=@\n"
		 "ExecStartPre=@@/bin/echo x\nExecStartPre=/bin/echo %z\nExecStartPre=@ /bin/echo\n");
	assert_int_equal(u->errors, 4);
	assert_int_equal(u->warnings, 0);
	assert_non_null(strstr(said(), "E 5 ExecStartPre=/bin/echo %z: unknown specifier %z"));
	assert_int_equal(unit_verify(u), -EINVAL);
}

static void environment_keeps_the_valid_words(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\nEnvironment=A=1 bad B=2\nEnvironment=C=1 \"D=2\n");

	assert_int_equal(u->errors, 0);
	assert_int_equal(u->warnings, 2);
	assert_int_equal(u->service.environment.n, 3);
	assert_string_equal(u->service.environment.v[2], "C=1");
	assert_int_equal(unit_verify(u), 0);
}

static void a_bad_enum_keeps_the_default(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\nType=bogus\nKillMode=all\nNotifyAccess=some\n");

	assert_int_equal(u->errors, 0);
	assert_int_equal(u->warnings, 3);
	assert_int_equal(u->service.type, SERVICE_SIMPLE);
	assert_int_equal(u->service.kill_mode, KILL_CONTROL_GROUP);
	assert_int_equal(unit_verify(u), 0);
}

static void environment_set_again_keeps_its_place(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/x\nEnvironment=A=1 B=2 A=0\nEnvironment=A=3\n");

	assert_string_equal(said(), "");
	assert_int_equal(u->service.environment.n, 2);
	assert_string_equal(u->service.environment.v[0], "A=3");
	assert_string_equal(u->service.environment.v[1], "B=2");
}

static void documentation_drops_what_is_not_a_url(void **state)
{
	struct unit *u = load("a.service",
		"[Unit]\nDocumentation=notaurl https://example.org man:true(1) man: file:/x info:ls\n"
		"[Service]\nExecStart=/bin/x\n");

	assert_int_equal(u->errors, 0);
	assert_int_equal(u->warnings, 2);
	assert_int_equal(u->documentation.n, 4);
	assert_string_equal(u->documentation.v[0], "https://example.org");
	assert_string_equal(u->documentation.v[3], "info:ls");
}

static void x_keys_in_standard_sections_are_silent(void **state)
{
	struct unit *u = load("a.service",
		"[Unit]\nX-Mine=1\n[Service]\nX-Custom=1\nExecStart=/bin/x\n[Install]\nX-Too=y\n");

	assert_string_equal(said(), "");
	assert_int_equal(u->warnings, 0);
}

static void instance_specifiers_keep_the_escapes(void **state)
{
	struct unit *u = load("foo@a\\x2db.service",
		"[Unit]\nDescription=%n|%N|%i|%I\nWants=bar@.service\n"
		"[Service]\nExecStart=/bin/echo %I\n");

	assert_string_equal(u->description, "foo@a\\x2db.service|foo@a\\x2db|a\\x2db|a-b");
	/* A template in a dependency takes this unit's instance. */
	assert_string_equal(u->deps[UNIT_WANTS].v[0], "bar@a\\x2db.service");

	u = load("plain.service", "[Unit]\nDescription=[%i][%I]\nWants=bar@.service\n");
	assert_string_equal(u->description, "[][]");
	assert_string_equal(u->deps[UNIT_WANTS].v[0], "bar@plain.service");

	/* Specifiers are expanded in a word after it was split: a space that
	 * comes from the name stays inside the word. */
	u = load("s@a\\x20b.service", "[Service]\nExecStart=/bin/echo %I x%Iy\n");
	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0), "/bin/echo|a b|xa by");
}

static void empty_commands_between_separators_are_skipped(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nType=oneshot\nExecStart=/bin/echo a ; ; /bin/echo b ;\nExecStart=; /bin/c\n");
	struct unit_exec_list *l = &u->service.exec[EXEC_START];

	assert_string_equal(said(), "");
	assert_int_equal(l->n, 3);
	assert_string_equal(argv_of(l, 1), "/bin/echo|b");
	assert_string_equal(argv_of(l, 2), "/bin/c");
}

static void control_characters_in_the_path_are_refused(void **state)
{
	struct unit *u = load("a.service",
		"[Service]\nExecStart=/bin/true\nExecStartPre=/bin/ec\\nho\nExecStartPre=/bin/ec\\tho\n"
		"ExecStartPre=/bin/ec\\qho\nExecStartPost=/bin/\\x65cho\n");

	assert_int_equal(u->errors, 3);
	assert_int_equal(u->service.exec[EXEC_START_PRE].n, 0);
	assert_string_equal(u->service.exec[EXEC_START_POST].v[0].path, "/bin/echo");
}

static void kept_escapes_are_warnings(void **state)
{
	struct unit *u = load("a.service", "[Service]\nExecStart=/bin/echo a\\qb \\x00\n");

	assert_int_equal(u->errors, 0);
	assert_string_equal(said(), "W 2 ExecStart=: an unknown escape is kept as written\n");
	assert_string_equal(argv_of(&u->service.exec[EXEC_START], 0), "/bin/echo|a\\qb|\\x00");
}

static void odd_lines_load_as_systemd_loads_them(void **state)
{
	struct unit *u = load("a.service",
		"[]\nX=1\n[Unit]\nDescription=100%\nWants=ok.service \"a.service b.service\"\n"
		"[Service]\nExecStart=/bin/x\nEnvironment=A=\0001\nWorkingDirectory=-srv\n");

	assert_int_equal(u->errors, 0);
	assert_string_equal(u->description, "100%");
	assert_int_equal(u->deps[UNIT_WANTS].n, 1);
	/* The NUL ended the line: A is empty and "1" is a line without '='. */
	assert_string_equal(u->service.environment.v[0], "A=");
	assert_null(u->service.working_directory);

	u = load("a.service", "[Service]\nExecStart=/bin/x\nWorkingDirectory=srv\n");
	assert_int_equal(u->errors, 1);
}

static void limits_hold(void **state)
{
	struct buf text = BUF_INIT;
	struct unit *u;

	buf_puts(&text, "[Service]\nExecStart=/bin/x\n");
	for (int i = 0; i < UNIT_SECTIONS_MAX + 10; i++)
		buf_puts(&text, "[Unit]\nDescription=x\n");
	u = load("a.service", text.data);
	assert_non_null(strstr(said(), "more than 256 sections; the rest of the file is ignored"));
	assert_int_equal(u->errors, 1);
	buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_seed_unit),
		cmocka_unit_test(defaults_are_systemds),
		cmocka_unit_test(continuation_and_comments),
		cmocka_unit_test(exec_quoting_and_escapes),
		cmocka_unit_test(unknown_escapes_in_arguments_are_kept),
		cmocka_unit_test(exec_prefixes),
		cmocka_unit_test(bad_exec_lines),
		cmocka_unit_test(program_names_use_the_search_path),
		cmocka_unit_test(semicolons_separate_commands),
		cmocka_unit_test(empty_assignment_resets_a_list),
		cmocka_unit_test(a_bad_value_keeps_the_earlier_one),
		cmocka_unit_test(specifiers),
		cmocka_unit_test(unknown_specifier_is_a_warning),
		cmocka_unit_test(templates_instantiate),
		cmocka_unit_test(unit_names),
		cmocka_unit_test(dropins_apply_in_order),
		cmocka_unit_test(x_sections_are_kept_verbatim),
		cmocka_unit_test(unknown_things_warn),
		cmocka_unit_test(malformed_lines),
		cmocka_unit_test(service_rules),
		cmocka_unit_test(every_supported_option),
		cmocka_unit_test(restart_prevent_exit_status),
		cmocka_unit_test(environment_assignments),
		cmocka_unit_test(env_expansion_at_exec_time),
		cmocka_unit_test(dump_is_json_of_what_was_understood),
		cmocka_unit_test(exec_paths_are_simplified),
		cmocka_unit_test(misplaced_prefixes),
		cmocka_unit_test(environment_keeps_the_valid_words),
		cmocka_unit_test(a_bad_enum_keeps_the_default),
		cmocka_unit_test(environment_set_again_keeps_its_place),
		cmocka_unit_test(documentation_drops_what_is_not_a_url),
		cmocka_unit_test(x_keys_in_standard_sections_are_silent),
		cmocka_unit_test(instance_specifiers_keep_the_escapes),
		cmocka_unit_test(empty_commands_between_separators_are_skipped),
		cmocka_unit_test(control_characters_in_the_path_are_refused),
		cmocka_unit_test(kept_escapes_are_warnings),
		cmocka_unit_test(odd_lines_load_as_systemd_loads_them),
		cmocka_unit_test(limits_hold),
	};
	int r = cmocka_run_group_tests_name("unit files", tests, NULL, NULL);

	buf_free(&reports);
	return r;
}
