/*
 * What the `systemctl` personality prints, made from the API's JSON
 * (docs/api.md), and the pieces `journalctl` shares with it. All but
 * out_color_wanted is pure: it takes parsed JSON and appends text to a
 * struct buf, reads no clock and does no I/O. "now", the time zone and
 * whether to colour come from the caller in struct out_opts, so the same
 * input always gives the same text.
 *
 * The shapes are systemd 252's. Where the API lacks a fact systemctl shows,
 * the line is left out rather than invented, except for the preset: Pith
 * has no preset files, and systemd's policy without any is "enable".
 *
 * A member that is missing or of another type reads as empty or unknown, so
 * an older or newer server never makes these fail. Functions that append
 * return 0 or -ENOMEM.
 */
#ifndef PITH_CLI_OUTPUT_H
#define PITH_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "buf.h"

/* The ANSI sequences systemd uses; only written when out_opts.color is set. */
#define OUT_NORMAL "\033[0m"
#define OUT_BOLD "\033[0;1;39m"
#define OUT_RED "\033[0;1;31m"
#define OUT_GREEN "\033[0;1;32m"
#define OUT_YELLOW "\033[0;1;38;5;185m"
#define OUT_BLUE "\033[0;1;34m"
#define OUT_GREY "\033[0;38;5;245m"
#define OUT_UNDERLINE "\033[0;4m"

/* Longest process name the kernel keeps (TASK_COMM_LEN less its NUL). */
#define OUT_COMM_MAX 15

struct out_opts {
	uint64_t now_usec;	/* realtime "now", for "5s ago" */
	bool color;		/* highlight as systemctl does on a terminal */
	bool utc;		/* timestamps in UTC instead of the local zone */
	bool plain;		/* list-units: no status-dot column */
	bool no_legend;		/* lists: no header and no footer */
	bool no_hostname;	/* journal lines: leave the host name out */
	int json;		/* lists as JSON, as systemctl -o json: 1 compact, 2 pretty */
	const char *hostname;	/* journal lines: for entries that carry none */
};

/* ---- JSON ----------------------------------------------------------------- */

/*
 * Parse len bytes of JSON text into *out (free it with cJSON_Delete).
 * -EBADMSG when the text is not JSON (cJSON cannot tell that apart from
 * running out of memory; the CLI treats both as a bad answer).
 */
int out_json_parse(const char *s, size_t len, cJSON **out);

/* Member key of obj as a string; "" when obj is NULL or it is missing or no string. */
const char *out_str(const cJSON *obj, const char *key);

/*
 * Member key of obj as an unsigned integer. false (and *v untouched) when
 * it is missing, null, negative or no number: "not known".
 */
bool out_u64(const cJSON *obj, const char *key, uint64_t *v);
/* The same, or dflt when not known. */
uint64_t out_u64_or(const cJSON *obj, const char *key, uint64_t dflt);

/*
 * The name the kernel gives the process pid (its comm), made from its
 * command line in procs, a unit's "processes" array (may be NULL): the last
 * part of the first word, cut to OUT_COMM_MAX bytes. false when pid is not
 * in procs.
 */
bool out_comm(const cJSON *procs, uint64_t pid, char comm[OUT_COMM_MAX + 1]);

/* seq when colouring, else "", and the sequence that ends it. */
static inline const char *out_on(const struct out_opts *o, const char *seq)
{
	return o->color && seq ? seq : "";
}

static inline const char *out_off(const struct out_opts *o, const char *seq)
{
	return o->color && seq ? OUT_NORMAL : "";
}

/*
 * The message of an API error answer (may be NULL: no JSON body) of this
 * status, into msg (size bytes): its "error" member; else "Access denied"
 * for 401 and 403; else "HTTP 502". Returns msg.
 */
const char *out_answer_error(const cJSON *answer, int status, char *msg, size_t size);

/*
 * Whether to colour what goes to fd, as systemd decides: a terminal, TERM
 * not "dumb", NO_COLOR unset, and SYSTEMD_COLORS not a false word. The one
 * function here that looks outside its arguments.
 */
bool out_color_wanted(int fd);

/* ---- time ------------------------------------------------------------------ */

/* usec (realtime) through strftime(3) format fmt; "n/a" if it cannot be shown. */
int out_time_fmt(struct buf *b, uint64_t usec, bool utc, const char *fmt);

/* "Wed 2026-11-25 11:50:02 UTC", in the local zone unless utc. */
int out_time_abs(struct buf *b, uint64_t usec, bool utc);

/*
 * How long ago usec was at now, as systemd writes it: "now", "800ms ago",
 * "5s ago", "1min 3s ago", "2h 5min ago", "1 day 3h ago", "3 weeks 2 days
 * ago", "1 year 2 months ago"; a time after now ends in "left".
 */
int out_time_rel(struct buf *b, uint64_t usec, uint64_t now);

/* ---- systemctl ------------------------------------------------------------- */

/*
 * `systemctl status` for one unit, up to the journal lines that follow it
 * (the caller adds those with jctl_entry_format). unit is GET
 * /v1/units/{name}; units is GET /v1/units's "units" array, read only for
 * the state of the units listed as TriggeredBy (may be NULL: their dot is
 * then plain).
 */
int out_unit_status(struct buf *b, const cJSON *unit, const cJSON *units,
		    const struct out_opts *o);

/* What the lists show. Each NULL-terminated word list may be NULL for "any". */
struct out_filter {
	bool all;			/* list-units: also inactive units */
	const char *const *types;	/* "service", "target", ... */
	const char *const *states;	/* load, active or sub states; unit-file states */
	const char *const *patterns;	/* fnmatch(3) globs on the name */
};

/*
 * `systemctl list-units`: units is GET /v1/units's "units" array. Without
 * f->all or f->states, inactive units are left out, as systemctl does.
 * *listed gets the number of rows.
 */
int out_unit_list(struct buf *b, const cJSON *units, const struct out_filter *f,
		  const struct out_opts *o, unsigned *listed);

/* `systemctl list-unit-files`: files is GET /v1/unit-files's "unit_files" array. */
int out_unit_file_list(struct buf *b, const cJSON *files, const struct out_filter *f,
		       const struct out_opts *o, unsigned *listed);

/*
 * `systemctl show`: Key=value lines for the properties the API gives, in
 * systemctl's order. props (NULL-terminated, may be NULL) limits the output
 * to those names and shows them even when empty, as -p does; all shows
 * empty ones too; value_only prints only the values (--value).
 */
int out_unit_show(struct buf *b, const cJSON *unit, const char *const *props, bool all,
		  bool value_only, const struct out_opts *o);

/*
 * `systemctl cat`: file is GET /v1/units/{name}/file. Every file but the
 * very first of the command gets a blank line before its "# path" header;
 * *first says whether this is the very first and is cleared.
 */
int out_unit_cat(struct buf *b, const cJSON *file, bool *first, const struct out_opts *o);

/*
 * The lines `systemctl enable|disable` writes for the answer's "changes":
 * "Created symlink LINK → TARGET." and "Removed \"LINK\".".
 */
int out_unit_changes(struct buf *b, const cJSON *answer);

/*
 * What systemctl writes when a job did not succeed: verb is "start" and so
 * on, job_result the API's "result", unit_result the unit's own "result"
 * (why a service failed; may be ""). "Job for hello.service failed because
 * the control process exited with error code." plus the line saying where to
 * look. Nothing is appended for "done" and "skipped", which are success.
 */
int out_job_error(struct buf *b, const char *verb, const char *unit, const char *job_result,
		  const char *unit_result);

#endif
