/*
 * `systemctl`: a node's units through the API (docs/api.md), with systemd
 * 252's verbs, options, output and exit codes.
 *
 * Verbs: list-units [PATTERN...] (the default), list-unit-files
 * [PATTERN...], status UNIT..., start, stop, restart, reload, try-restart,
 * reload-or-restart UNIT..., enable, disable UNIT... [--now], daemon-reload,
 * is-active, is-enabled, is-failed UNIT..., cat UNIT..., show UNIT... [-p
 * PROP,...] [--value] [--all], help. A unit name without a valid type suffix
 * means NAME.service, as systemctl mangles it.
 *
 * Options: -a/--all, -t/--type=, --state=, --failed, -p/--property=,
 * --value, -q/--quiet, --no-legend, --plain, --now, --no-block, -n/--lines=
 * (journal lines under status, 10 by default), -o/--output= (their format),
 * --endpoint=URL; -l/--full, --no-pager, --system, --no-ask-password and
 * -f/--force are accepted and change nothing.
 *
 * Exit status, systemctl's own (its LSB codes; see systemctl(1) EXIT
 * STATUS), which is why this personality does not use EXIT_USAGE:
 */
#ifndef PITH_CLI_SYSTEMCTL_H
#define PITH_CLI_SYSTEMCTL_H

#include <stdbool.h>

#include "journalctl.h"
#include "log.h"

enum {
	/* status, is-active: active; is-enabled: enabled; is-failed: failed. */
	SCTL_EXIT_OK = 0,
	/*
	 * Anything that failed: a job, an unreachable endpoint, a refused
	 * credential (HTTP 401/403), a bad answer, bad usage; is-enabled of a
	 * unit not enabled, is-failed of one not failed.
	 */
	SCTL_EXIT_FAILURE = 1,
	/* status, is-active: a unit is not active. */
	SCTL_EXIT_NOT_ACTIVE = 3,
	/* status: no such unit. */
	SCTL_EXIT_NO_UNIT = 4,
	/* start, stop, ...: no such unit (systemd's EXIT_NOTINSTALLED). */
	SCTL_EXIT_NOT_INSTALLED = 5,
};

/* Words kept per list option (--type, --state, -p), and their bytes in all. */
#define SCTL_LIST_MAX 32
#define SCTL_LIST_TEXT_MAX 2048

/* A comma-separated option's words, NULL-terminated. */
struct sctl_list {
	const char *w[SCTL_LIST_MAX + 1];
	unsigned n;
};

struct sctl_args {
	const char *verb;		/* "list-units" when none was given */
	char **names;			/* the arguments after the verb */
	int n_names;
	bool all, quiet, no_legend, plain, now, no_block, value, help, version;
	long lines;			/* journal lines under status */
	enum jctl_mode mode;		/* their format */
	const char *endpoint;		/* --endpoint, or NULL */
	struct sctl_list types, states, props;
	char text[SCTL_LIST_TEXT_MAX];	/* the lists' words */
	size_t text_len;
};

/*
 * Parse systemctl's command line (argv[0] is the program or "systemctl").
 * Options may come anywhere. -EINVAL with a message in e for bad usage.
 */
int sctl_args_parse(int argc, char **argv, struct sctl_args *a, struct err *e);

/*
 * A unit argument as systemctl mangles it into out (len bytes): a valid
 * name stays as it is; anything else gets ".service" appended and must
 * then be valid. -EINVAL for a name that cannot be a unit's.
 */
int sctl_name_mangle(const char *name, char *out, size_t len);

/* The systemctl personality; returns the exit status. */
int cmd_systemctl(int argc, char **argv);

#endif
