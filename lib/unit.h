/*
 * Unit files: systemd's format and meaning for the options Pith supports
 * (docs/units.md lists each one). Pure: the caller reads the files and hands
 * in their text; nothing here touches the file system or the clock.
 *
 * Loading one unit goes:
 *   unit_init()            the name (instance names are checked against
 *                          their template by the caller's loader)
 *   unit_parse()           the main file (for an instance, its template's)
 *   unit_parse() again     each drop-in, in the order systemd applies them
 *   unit_verify()          the rules that need the whole unit (a service
 *                          needs ExecStart=, and so on)
 *   ... use it ...
 *   unit_free()
 *
 * Every assignment is checked when it is read, as systemd does: a bad value
 * is reported and ignored, and the option keeps its earlier value. An empty
 * assignment resets a list option. Specifiers are expanded when the value is
 * read. Problems go to the caller's report callback with file and line:
 * errors for values Pith cannot use, warnings for options and sections it
 * does not support. A unit with errors still loads; unit_verify() says
 * whether it can run.
 */
#ifndef PITH_UNIT_H
#define PITH_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "arena.h"
#include "unit_exec.h"
#include "unit_name.h"
#include "unit_value.h"

/* Bounds on what one unit may hold, whatever its files say. */
#define UNIT_FILE_MAX (4 * 1024 * 1024)	/* bytes of one unit file or drop-in */
#define UNIT_SETTINGS_MAX 4096		/* distinct options and X- entries */
#define UNIT_LIST_MAX 4096		/* values in one list option */
#define UNIT_SECTIONS_MAX 256		/* section headers in one file */
#define UNIT_REPORTS_MAX 1000		/* reports passed on per file */

enum unit_severity { UNIT_WARNING, UNIT_ERROR };

typedef void unit_report_fn(void *arg, enum unit_severity sev, const char *file, unsigned line,
			    const char *msg);

enum unit_dep {
	UNIT_REQUIRES,
	UNIT_WANTS,
	UNIT_BINDS_TO,
	UNIT_PART_OF,
	UNIT_REQUISITE,
	UNIT_CONFLICTS,
	UNIT_AFTER,
	UNIT_BEFORE,
	UNIT_DEP_MAX,
};

/* "Requires" for UNIT_REQUIRES. */
const char *unit_dep_name(enum unit_dep d);

enum service_type {
	SERVICE_SIMPLE,
	SERVICE_EXEC,
	SERVICE_FORKING,
	SERVICE_ONESHOT,
	SERVICE_NOTIFY,
};

enum service_restart {
	RESTART_NO,
	RESTART_ON_SUCCESS,
	RESTART_ON_FAILURE,
	RESTART_ON_ABNORMAL,
	RESTART_ON_WATCHDOG,
	RESTART_ON_ABORT,
	RESTART_ALWAYS,
};

enum kill_mode { KILL_CONTROL_GROUP, KILL_MIXED, KILL_PROCESS, KILL_NONE };

enum notify_access { NOTIFY_NONE, NOTIFY_MAIN, NOTIFY_EXEC, NOTIFY_ALL };

enum unit_output {
	OUTPUT_INHERIT,		/* stdout: the journal; stderr: wherever stdout goes */
	OUTPUT_NULL,
	OUTPUT_TTY,		/* the console */
	OUTPUT_JOURNAL,
	OUTPUT_JOURNAL_CONSOLE,
	OUTPUT_FILE,		/* file: written from the start, not truncated */
	OUTPUT_TRUNCATE,	/* truncate: */
	OUTPUT_APPEND,		/* append: */
};

enum service_exec_kind {
	EXEC_START_PRE,
	EXEC_START,
	EXEC_START_POST,
	EXEC_RELOAD,
	EXEC_STOP,
	EXEC_STOP_POST,
	EXEC_KIND_MAX,
};

/* "ExecStartPre" for EXEC_START_PRE. */
const char *unit_exec_kind_name(enum service_exec_kind k);

struct unit_strv {
	const char **v;
	size_t n, cap;
};

/* ConditionPathExists= / AssertPathExists=: "!" negates, "|" makes it one
 * of a group of which any may hold. */
struct unit_cond {
	const char *path;
	bool negate, trigger;
	const char *file;
	unsigned line;
};

struct unit_conds {
	struct unit_cond *v;
	size_t n, cap;
};

#define UNIT_LIMIT_UNSET UINT64_MAX
#define UNIT_LIMIT_INFINITY (UINT64_MAX - 1)

/* A memory or task limit: bytes/tasks, or a share of the machine's. */
struct unit_limit {
	uint64_t value;		/* UNIT_LIMIT_UNSET, UNIT_LIMIT_INFINITY, or the amount */
	bool relative;		/* value is in 1/10000 of the machine's total */
};

struct service {
	enum service_type type;
	struct unit_exec_list exec[EXEC_KIND_MAX];
	bool remain_after_exit;
	enum service_restart restart;
	uint64_t restart_usec;
	uint64_t timeout_start_usec, timeout_stop_usec;
	uint64_t watchdog_usec;			/* 0: no watchdog */
	enum kill_mode kill_mode;
	int kill_signal;
	bool send_sigkill;
	struct uv_status_set success_status;
	/* The main process's endings after which Restart= is not applied. */
	struct uv_status_set restart_prevent_status;
	enum notify_access notify_access;
	bool notify_access_set;
	const char *pid_file;

	/* systemd.exec */
	struct unit_strv environment;		/* "NAME=value", in order */
	struct unit_strv environment_files;	/* "-/path" when missing is fine */
	const char *working_directory;		/* "~" for the user's home */
	bool working_directory_missing_ok;
	const char *user, *group;
	mode_t umask;
	struct rlimit rlimit[RLIM_NLIMITS];
	uint32_t rlimit_set;			/* bit per resource */
	enum unit_output std_output, std_error;
	const char *std_output_path, *std_error_path;

	/* systemd.resource-control */
	struct unit_limit memory_max, memory_high, tasks_max;
	uint64_t cpu_weight, io_weight;		/* 0: unset */
	uint64_t cpu_quota;			/* percent * 100; 0: unset */
};

struct unit_setting;

struct unit {
	struct arena arena;
	const char *name;
	enum unit_type type;
	const char *path;		/* the main file; NULL until one is parsed */
	struct unit_strv dropins;	/* drop-in paths applied, in order */

	const char *description;
	struct unit_strv documentation;
	struct unit_strv deps[UNIT_DEP_MAX];
	struct unit_conds conditions, asserts;
	bool default_dependencies;
	uint64_t start_limit_interval_usec;
	unsigned start_limit_burst;

	struct service service;

	struct unit_strv wanted_by, required_by, also, alias;
	const char *default_instance;

	/* Every option as it stands after drop-ins and resets, in the order
	 * first seen; X- sections verbatim. For --dump and the scheduler. */
	struct unit_setting *settings;
	size_t n_settings, cap_settings;

	unsigned errors, warnings;	/* reports so far */
	unit_report_fn *report;
	void *report_arg;
	const struct unit_spec_env *env;
};

/*
 * One option's state, or one line of an X- section. values holds every
 * value of a list option, the last value of any other option, and the one
 * value of an X- line (which keeps its place: X- lines are never merged).
 */
struct unit_value {
	const char *text;
	const char *file;
	unsigned line;
};

struct unit_setting {
	const char *section, *key;
	struct unit_value *values;
	size_t n, cap;
	bool list;		/* a list option: the dump shows an array */
	bool verbatim;		/* a line of an X- section */
	bool ignored;		/* an option Pith does not support: every value kept */
};

/*
 * Start an empty unit called name (a valid name; a template loads for
 * checking, with %i empty, but never runs). Defaults
 * are systemd's: Type=simple, Restart=no, RestartSec=100ms, 90 s timeouts,
 * KillMode=control-group, KillSignal=SIGTERM, SendSIGKILL=yes,
 * UMask=0022, DefaultDependencies=yes, StartLimitIntervalSec=10s,
 * StartLimitBurst=5, TasksMax=15% (systemd's DefaultTasksMax). report and
 * env may be NULL. -EINVAL for a bad name, -ENOMEM.
 */
int unit_init(struct unit *u, const char *name, const struct unit_spec_env *env,
	      unit_report_fn *report, void *arg);

/*
 * Apply len bytes of text read from path (the main file first, then each
 * drop-in). The first call sets u->path. Returns 0 (problems in the text
 * are reported, not returned) or -ENOMEM, or -EFBIG past UNIT_FILE_MAX.
 */
int unit_parse(struct unit *u, const char *path, const char *text, size_t len);

/*
 * The checks that need the whole unit. Reports errors and returns -EINVAL
 * when the unit cannot run as written (what systemd calls "bad-setting").
 */
int unit_verify(struct unit *u);

void unit_free(struct unit *u);

/* How a setting is best shown: its values as written, the list of words
 * they became (unit names, NAME=value assignments, URLs), or commands. */
enum unit_setting_form { UNIT_FORM_VALUES, UNIT_FORM_WORDS, UNIT_FORM_COMMANDS };

/* The form of s, and in *typed the struct unit_strv or struct
 * unit_exec_list it became (NULL for UNIT_FORM_VALUES). */
enum unit_setting_form unit_setting_form(const struct unit *u, const struct unit_setting *s,
					 const void **typed);

/*
 * The unit as JSON for `pith check --dump` (docs/units.md gives the
 * shape), appended to out. load_state is the word to report, e.g. "loaded".
 * 0 or -ENOMEM.
 */
int unit_dump_json(const struct unit *u, const char *load_state, struct buf *out);

/* Does Pith run units of this type? (services and targets) */
bool unit_type_is_supported(enum unit_type t);

#endif
