/*
 * `journalctl`: a node's journal through GET /v1/journal (docs/api.md),
 * printed as systemd 252's journalctl prints it.
 *
 * Supported: -u UNIT (repeatable; "hello" means hello.service), -f, -n [N]
 * (10 without a value, "all"), -S/--since, -U/--until, -p PRIO or FROM..TO,
 * -o MODE (short, short-precise, short-iso, short-iso-precise, short-unix,
 * short-monotonic, cat, json, json-pretty), -b [0] (the current boot only),
 * -k, -r, -e, -q, --utc, --no-hostname, --endpoint URL; -x, -a, --no-pager,
 * --system and --no-full are accepted and change nothing (there is no pager
 * and no catalog). A positional match is taken only as _SYSTEMD_UNIT=NAME.
 *
 * Exit status, as journalctl's: 0 on success, also when -f is ended by
 * SIGINT or SIGTERM; 1 for every failure, bad usage included.
 */
#ifndef PITH_CLI_JOURNALCTL_H
#define PITH_CLI_JOURNALCTL_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "buf.h"
#include "log.h"
#include "output.h"
#include "unit_name.h"

/* -u options kept; more is a usage error. */
#define JCTL_UNITS_MAX 32

enum jctl_mode {
	JCTL_SHORT,		/* Nov 25 11:50:05 node1 sh[312]: Hello World */
	JCTL_SHORT_PRECISE,	/* ... with microseconds */
	JCTL_SHORT_ISO,		/* 2026-11-25T11:50:05+0000 ... */
	JCTL_SHORT_ISO_PRECISE,
	JCTL_SHORT_UNIX,	/* 1764071405.123456 ... */
	JCTL_SHORT_MONOTONIC,	/* [ 1234.567890] ... */
	JCTL_CAT,		/* the message alone */
	JCTL_JSON,		/* one object per line, systemd's field names */
	JCTL_JSON_PRETTY,
};

/* -o's word for a mode. -EINVAL for a word not listed above. */
int jctl_mode_parse(const char *s, enum jctl_mode *m);
bool jctl_mode_is_json(enum jctl_mode m);

/* Longest boot ID remembered from one entry to the next. */
#define JCTL_BOOT_ID_MAX 64

/* What the formatter remembers between entries; zero it before the first. */
struct jctl_state {
	char boot_id[JCTL_BOOT_ID_MAX + 1];
	unsigned long shown;
};

/*
 * Append one journal entry (an object of GET /v1/journal) in mode m. In
 * the text modes a "-- Boot ID --" line comes first when the boot changed
 * since the previous entry, as journalctl prints. 0 or -ENOMEM.
 *
 * The identifier before "[pid]" is the entry's own "identifier" if the
 * server sends one; else the process name of its pid in procs (a unit's
 * "processes" array, may be NULL), as the kernel names it; else, since the
 * journal does not record process names, the unit name without its type
 * suffix ("kernel" and "pith-init" stay as they are).
 *
 * -o json writes systemd's field names, every value a string: __CURSOR,
 * __REALTIME_TIMESTAMP, __MONOTONIC_TIMESTAMP, _BOOT_ID, PRIORITY,
 * _HOSTNAME, _TRANSPORT, SYSLOG_IDENTIFIER, _PID, _SYSTEMD_UNIT, MESSAGE.
 * The cursor has systemd's shape, "i=SEQ;b=BOOT;m=MONO;t=REALTIME" in hex
 * (BOOT as sent), and no "s=" or "x=" parts.
 */
int jctl_entry_format(struct buf *b, const cJSON *entry, enum jctl_mode m, const cJSON *procs,
		      struct jctl_state *st, const struct out_opts *o);

/*
 * A --since/--until time as systemd.time(7) writes it, into realtime
 * microseconds: "2026-11-25 11:50:02" (seconds, and a fraction, optional;
 * 'T' may stand for the space), "2026-11-25", "11:50" (today), an optional
 * leading weekday that must match, an optional trailing " UTC"; "now",
 * "today", "yesterday", "tomorrow"; "@1764071402" (seconds since the epoch,
 * fraction allowed); "-5min", "+1h", "5 min ago", "2h left". Dates and
 * times are in the local zone unless " UTC" ends them. now_usec is "now".
 * -EINVAL for anything else.
 */
int jctl_time_parse(const char *s, uint64_t now_usec, uint64_t *usec);

/*
 * -p: a priority by number (0..7) or name (emerg alert crit err warning
 * notice info debug), meaning that one and the more important; or FROM..TO,
 * a range of either order. Sets the most and least important priority
 * wanted. -EINVAL for anything else.
 */
int jctl_prio_parse(const char *s, unsigned *min, unsigned *max);

/* The parsed command line. */
struct jctl_args {
	char units[JCTL_UNITS_MAX][UNIT_NAME_MAX + 1];
	unsigned n_units;
	bool follow, reverse, quiet, boot, utc, no_hostname, help, version;
	long lines;			/* entries at the end; -1: all */
	uint64_t since, until;		/* realtime usec; 0: no bound */
	unsigned prio_min, prio_max;	/* 0..7, min the most important */
	enum jctl_mode mode;
	const char *endpoint;		/* --endpoint, or NULL */
};

/*
 * Parse journalctl's command line (argv[0] is the program or "journalctl").
 * now_usec resolves relative --since/--until. -EINVAL with a message in e
 * for bad usage.
 */
int jctl_args_parse(int argc, char **argv, uint64_t now_usec, struct jctl_args *a,
		    struct err *e);

/* The journalctl personality; returns the exit status. */
int cmd_journalctl(int argc, char **argv);

#endif
