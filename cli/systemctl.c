#include "systemctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "output.h"
#include "unit_name.h"
#include "version.h"

/* ---- the command line ---------------------------------------------------------- */

enum {
	OPT_STATE = 0x100,
	OPT_FAILED,
	OPT_VALUE,
	OPT_NO_LEGEND,
	OPT_PLAIN,
	OPT_NOW,
	OPT_NO_BLOCK,
	OPT_ENDPOINT,
	OPT_VERSION,
	OPT_IGNORED,
};

static const struct option sctl_options[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "type", required_argument, NULL, 't' },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "failed", no_argument, NULL, OPT_FAILED },
	{ "property", required_argument, NULL, 'p' },
	{ "value", no_argument, NULL, OPT_VALUE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-legend", no_argument, NULL, OPT_NO_LEGEND },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "now", no_argument, NULL, OPT_NOW },
	{ "no-block", no_argument, NULL, OPT_NO_BLOCK },
	{ "lines", required_argument, NULL, 'n' },
	{ "output", required_argument, NULL, 'o' },
	{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "full", no_argument, NULL, 'l' },
	{ "force", no_argument, NULL, 'f' },
	{ "no-pager", no_argument, NULL, OPT_IGNORED },
	{ "system", no_argument, NULL, OPT_IGNORED },
	{ "no-ask-password", no_argument, NULL, OPT_IGNORED },
	{ NULL, 0, NULL, 0 },
};

/* Add the comma-separated words of s to l, copied into a's text. */
static int list_add(struct sctl_args *a, struct sctl_list *l, const char *opt, const char *s,
		    struct err *e)
{
	size_t n = strlen(s);
	char *p = a->text + a->text_len, *w;

	if (n + 1 > sizeof(a->text) - a->text_len) {
		err_set(e, 0, "Too many words given to --%s.", opt);
		return -EINVAL;
	}
	memcpy(p, s, n + 1);
	a->text_len += n + 1;
	for (w = strtok(p, ","); w; w = strtok(NULL, ",")) {
		if (l->n == SCTL_LIST_MAX) {
			err_set(e, 0, "Too many words given to --%s.", opt);
			return -EINVAL;
		}
		l->w[l->n++] = w;
	}
	return 0;
}

int sctl_args_parse(int argc, char **argv, struct sctl_args *a, struct err *e)
{
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->lines = 10;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":at:p:qn:o:hlf", sctl_options, NULL)) != -1) {
		int r = 0;

		switch (c) {
		case 'a':
			a->all = true;
			break;
		case 't':
			r = list_add(a, &a->types, "type", optarg, e);
			break;
		case OPT_STATE:
			r = list_add(a, &a->states, "state", optarg, e);
			break;
		case OPT_FAILED:
			r = list_add(a, &a->states, "state", "failed", e);
			break;
		case 'p':
			r = list_add(a, &a->props, "property", optarg, e);
			break;
		case OPT_VALUE:
			a->value = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case OPT_NO_LEGEND:
			a->no_legend = true;
			break;
		case OPT_PLAIN:
			a->plain = true;
			break;
		case OPT_NOW:
			a->now = true;
			break;
		case OPT_NO_BLOCK:
			a->no_block = true;
			break;
		case 'n':
			a->lines = strtol(optarg, &end, 10);
			if (!*optarg || *end || a->lines < 0) {
				err_set(e, 0, "Failed to parse lines '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			if (jctl_mode_parse(optarg, &a->mode) < 0) {
				err_set(e, 0, "Unknown output '%s'.", optarg);
				return -EINVAL;
			}
			break;
		case OPT_ENDPOINT:
			a->endpoint = optarg;
			break;
		case 'h':
			a->help = true;
			break;
		case OPT_VERSION:
			a->version = true;
			break;
		case 'l':
		case 'f':
		case OPT_IGNORED:
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
		if (r < 0)
			return r;
	}
	a->verb = optind < argc ? argv[optind++] : "list-units";
	a->names = argv + optind;
	a->n_names = argc - optind;
	return 0;
}

int sctl_name_mangle(const char *name, char *out, size_t len)
{
	if (unit_name_is_valid(name)) {
		if (strlen(name) >= len)
			return -EINVAL;
		strcpy(out, name);
		return 0;
	}
	if ((size_t)snprintf(out, len, "%s.service", name) >= len || !unit_name_is_valid(out))
		return -EINVAL;
	return 0;
}

/* ---- talking to the API ---------------------------------------------------------- */

struct ctx {
	const struct sctl_args *a;
	struct client c;
	struct out_opts o;
	struct buf out;		/* for stdout */
	struct buf err;		/* for stderr */
	cJSON *units;		/* GET /v1/units, once needed */
};

/* Write what the buffers hold. */
static void emit(struct ctx *x)
{
	if (x->out.len)
		fwrite(x->out.data, 1, x->out.len, stdout);
	fflush(stdout);
	if (x->err.len)
		fwrite(x->err.data, 1, x->err.len, stderr);
	buf_reset(&x->out);
	buf_reset(&x->err);
}

static void oom(void)
{
	fputs("Out of memory.\n", stderr);
	exit(SCTL_EXIT_FAILURE);
}

/* The CLI may die when memory runs out (STYLE.md, 7); it says so first. */
static void no_oom(int r)
{
	if (r == -ENOMEM)
		oom();
}

/*
 * method on "/v1/units/NAME/ACTION" (name and action may be NULL, then
 * path is used as it is). 0 with *status and *answer (NULL when the body is
 * empty); -1 after writing why to stderr.
 */
static int call(struct ctx *x, const char *method, const char *path, const char *name,
		const char *action, int *status, cJSON **answer)
{
	struct client_response resp;
	struct buf t = BUF_INIT;
	struct err e = { 0 };
	int r;

	*answer = NULL;
	no_oom(buf_puts(&t, path));
	if (name)
		no_oom(client_escape(&t, name));
	if (action)
		no_oom(buf_printf(&t, "/%s%s", action, x->a->no_block ? "?no_block=1" : ""));
	r = client_request(&x->c, method, t.data, NULL, 0, &resp, &e);
	buf_free(&t);
	*status = resp.status;
	if (r == 0 && resp.body.len && out_json_parse(resp.body.data, resp.body.len, answer) < 0 &&
	    resp.status / 100 == 2) {
		err_set(&e, 0, "Bad answer from %s: not JSON", client_where(&x->c));
		r = -EBADMSG;
	}
	buf_free(&resp.body);
	if (r == -ENOMEM)
		oom();
	if (r < 0) {
		/* No verb can go on without its node: the exit status says why. */
		emit(x);
		fprintf(stderr, "%s\n", e.msg);
		exit(client_exit_code(r));
	}
	return 0;
}

/* GET /v1/units's "units", fetched once; NULL after a message when it failed. */
static const cJSON *units_all(struct ctx *x)
{
	char msg[ERR_MSG_MAX];
	int status;

	if (!x->units && call(x, "GET", "/v1/units", NULL, NULL, &status, &x->units) == 0 &&
	    status != 200) {
		fprintf(stderr, "Failed to list units: %s\n",
			out_answer_error(x->units, status, msg, sizeof(msg)));
		cJSON_Delete(x->units);
		x->units = NULL;
	}
	return cJSON_GetObjectItemCaseSensitive(x->units, "units");
}

/* Each name mangled into out; false after a message for a name that cannot be a unit's. */
static bool name_get(const char *arg, char out[UNIT_NAME_MAX + 1])
{
	if (sctl_name_mangle(arg, out, UNIT_NAME_MAX + 1) == 0)
		return true;
	fprintf(stderr, "Invalid unit name \"%s\".\n", arg);
	return false;
}

static struct out_filter filter_of(const struct sctl_args *a)
{
	return (struct out_filter){
		.all = a->all,
		.types = a->types.n ? a->types.w : NULL,
		.states = a->states.n ? a->states.w : NULL,
		/* The names are argv's tail, so NULL-terminated. */
		.patterns = a->n_names ? (const char *const *)a->names : NULL,
	};
}

/* ---- verbs ------------------------------------------------------------------------ */

static int verb_list_units(struct ctx *x)
{
	struct out_filter f = filter_of(x->a);
	const cJSON *units = units_all(x);
	unsigned n;

	if (!x->units)
		return SCTL_EXIT_FAILURE;
	no_oom(out_unit_list(&x->out, units, &f, &x->o, &n));
	emit(x);
	return SCTL_EXIT_OK;
}

static int verb_list_unit_files(struct ctx *x)
{
	struct out_filter f = filter_of(x->a);
	char msg[ERR_MSG_MAX];
	cJSON *answer;
	unsigned n = 0;
	int status;

	if (call(x, "GET", "/v1/unit-files", NULL, NULL, &status, &answer) < 0)
		return SCTL_EXIT_FAILURE;
	if (status == 200)
		no_oom(out_unit_file_list(&x->out, cJSON_GetObjectItemCaseSensitive(answer, "unit_files"),
					 &f, &x->o, &n));
	else
		fprintf(stderr, "Failed to list unit files: %s\n",
			out_answer_error(answer, status, msg, sizeof(msg)));
	cJSON_Delete(answer);
	emit(x);
	return status == 200 && n ? SCTL_EXIT_OK : SCTL_EXIT_FAILURE;
}

struct tail {
	struct ctx *x;
	const cJSON *procs;
	struct jctl_state st;
};

static int tail_line(void *arg, char *line, size_t len)
{
	struct tail *t = arg;
	cJSON *en;

	if (out_json_parse(line, len, &en) < 0)
		return 0;
	if (out_u64(en, "seq", &(uint64_t){ 0 })) {
		if (!t->st.shown)
			no_oom(buf_puts(&t->x->out, "\n"));
		no_oom(jctl_entry_format(&t->x->out, en, t->x->a->mode, t->procs, &t->st, &t->x->o));
	}
	cJSON_Delete(en);
	return 0;
}

/* The last lines of a unit's journal under its status; best effort. */
static void status_journal(struct ctx *x, const char *name, const cJSON *unit)
{
	struct tail t = { x, cJSON_GetObjectItemCaseSensitive(unit, "processes"), { .shown = 0 } };
	struct client_response resp;
	struct buf target = BUF_INIT;
	struct err e;

	if (!x->a->lines)
		return;
	no_oom(buf_puts(&target, "/v1/journal?unit="));
	no_oom(client_escape(&target, name));
	no_oom(buf_printf(&target, "&lines=%ld", x->a->lines));
	client_stream_lines(&x->c, target.data, &resp, tail_line, &t, &e);
	buf_free(&resp.body);
	buf_free(&target);
}

static int verb_status(struct ctx *x)
{
	char name[UNIT_NAME_MAX + 1], msg[ERR_MSG_MAX];
	int rc = SCTL_EXIT_OK, status;
	bool first = true;
	cJSON *unit;

	if (!x->a->n_names) {
		fputs("Name the units: the system-wide status is not available here.\n", stderr);
		return SCTL_EXIT_FAILURE;
	}
	for (int i = 0; i < x->a->n_names; i++) {
		if (!name_get(x->a->names[i], name))
			return SCTL_EXIT_FAILURE;
		if (call(x, "GET", "/v1/units/", name, NULL, &status, &unit) < 0)
			return SCTL_EXIT_FAILURE;
		if (status == 404) {
			fprintf(stderr, "Unit %s could not be found.\n", name);
			rc = SCTL_EXIT_NO_UNIT;
		} else if (status != 200) {
			fprintf(stderr, "Failed to get properties: %s\n",
				out_answer_error(unit, status, msg, sizeof(msg)));
			cJSON_Delete(unit);
			return SCTL_EXIT_FAILURE;
		} else {
			if (!first)
				no_oom(buf_puts(&x->out, "\n"));
			first = false;
			no_oom(out_unit_status(&x->out, unit,
					      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(unit,
							"triggered_by")) ? units_all(x) : NULL, &x->o));
			status_journal(x, name, unit);
			if (rc == SCTL_EXIT_OK && strcmp(out_str(unit, "active_state"), "active") &&
			    strcmp(out_str(unit, "active_state"), "reloading"))
				rc = SCTL_EXIT_NOT_ACTIVE;
		}
		cJSON_Delete(unit);
		emit(x);
	}
	return rc;
}

/* One job on one unit; the exit status it gives. */
static int job(struct ctx *x, const char *verb, const char *name)
{
	char msg[ERR_MSG_MAX];
	cJSON *answer, *unit;
	int status, rc = SCTL_EXIT_FAILURE;

	if (call(x, "POST", "/v1/units/", name, verb, &status, &answer) < 0)
		return SCTL_EXIT_FAILURE;
	if (status == 200 || status == 202) {
		rc = SCTL_EXIT_OK;
	} else if (status == 409 && !strcmp(out_str(answer, "result"), "skipped")) {
		rc = SCTL_EXIT_OK;
	} else if (status == 409) {
		/* The unit's own result says why, as systemctl asks for it. */
		if (call(x, "GET", "/v1/units/", name, NULL, &status, &unit) == 0) {
			no_oom(out_job_error(&x->err, verb, name, out_str(answer, "result"),
					    status == 200 ? out_str(unit, "result") : ""));
			cJSON_Delete(unit);
		}
	} else {
		no_oom(buf_printf(&x->err, "Failed to %s %s: %s\n", verb, name,
				 out_answer_error(answer, status, msg, sizeof(msg))));
		if (status == 404)
			rc = SCTL_EXIT_NOT_INSTALLED;
	}
	cJSON_Delete(answer);
	emit(x);
	return rc;
}

static int verb_job(struct ctx *x)
{
	char name[UNIT_NAME_MAX + 1];
	int rc = SCTL_EXIT_OK, r;

	if (!x->a->n_names) {
		fprintf(stderr, "Too few arguments.\n");
		return SCTL_EXIT_FAILURE;
	}
	for (int i = 0; i < x->a->n_names; i++) {
		if (!name_get(x->a->names[i], name))
			return SCTL_EXIT_FAILURE;
		r = job(x, x->a->verb, name);
		rc = rc ? rc : r;
	}
	return rc;
}

static const char no_install_text[] =
	"The unit files have no installation config (WantedBy=, RequiredBy=, Also=,\n"
	"Alias= settings in the [Install] section, and DefaultInstance= for template\n"
	"units). This means they are not meant to be enabled using systemctl.\n"
	" \n"
	"Possible reasons for having this kind of units are:\n"
	"• A unit may be statically enabled by being symlinked from another unit's\n"
	"  .wants/ or .requires/ directory.\n"
	"• A unit's purpose may be to act as a helper for some other unit which has\n"
	"  a requirement dependency on it.\n"
	"• A unit may be started when needed via activation (socket, path, timer,\n"
	"  D-Bus, udev, scripted systemctl call, ...).\n"
	"• In case of template units, the unit is meant to be enabled with some\n"
	"  instance name specified.\n";

static int verb_enable(struct ctx *x)
{
	bool enable = !strcmp(x->a->verb, "enable");
	char name[UNIT_NAME_MAX + 1], msg[ERR_MSG_MAX];
	cJSON *answer, *unit;
	int status, got, rc = SCTL_EXIT_OK;

	if (!x->a->n_names) {
		fprintf(stderr, "Too few arguments.\n");
		return SCTL_EXIT_FAILURE;
	}
	for (int i = 0; i < x->a->n_names && rc == SCTL_EXIT_OK; i++) {
		if (!name_get(x->a->names[i], name))
			return SCTL_EXIT_FAILURE;
		if (call(x, "POST", "/v1/units/", name, x->a->verb, &status, &answer) < 0)
			return SCTL_EXIT_FAILURE;
		if (status == 404) {
			/* systemctl 252's words; its disable still succeeds. */
			no_oom(buf_printf(&x->err, "Failed to %s unit, unit %s does not exist.\n",
					 x->a->verb, name));
			rc = enable ? SCTL_EXIT_FAILURE : SCTL_EXIT_OK;
		} else if (status == 409) {
			no_oom(buf_printf(&x->err, "Failed to %s unit, unit %s is masked.\n", x->a->verb,
					 name));
			rc = SCTL_EXIT_FAILURE;
		} else if (status != 200) {
			no_oom(buf_printf(&x->err, "Failed to %s unit: %s\n", x->a->verb,
					 out_answer_error(answer, status, msg, sizeof(msg))));
			rc = SCTL_EXIT_FAILURE;
		} else if (!x->a->quiet) {
			no_oom(out_unit_changes(&x->err, answer));
		}
		if (status == 200 && enable &&
		    !cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(answer, "changes"))) {
			if (call(x, "GET", "/v1/units/", name, NULL, &got, &unit) == 0 && got == 200 &&
			    !strcmp(out_str(unit, "unit_file_state"), "static"))
				no_oom(buf_puts(&x->err, no_install_text));
			cJSON_Delete(unit);
		}
		cJSON_Delete(answer);
		emit(x);
		if (status == 200 && x->a->now)
			rc = job(x, enable ? "start" : "stop", name);
	}
	return rc;
}

static int verb_daemon_reload(struct ctx *x)
{
	char msg[ERR_MSG_MAX];
	cJSON *answer;
	int status;

	if (call(x, "POST", "/v1/daemon-reload", NULL, NULL, &status, &answer) < 0)
		return SCTL_EXIT_FAILURE;
	if (status != 200)
		fprintf(stderr, "Failed to reload daemon: %s\n", out_answer_error(answer, status, msg, sizeof(msg)));
	cJSON_Delete(answer);
	return status == 200 ? SCTL_EXIT_OK : SCTL_EXIT_FAILURE;
}

/* is-active, is-failed, is-enabled: one word per unit, and a verdict. */
static int verb_is(struct ctx *x)
{
	bool enabled = !strcmp(x->a->verb, "is-enabled"), failed = !strcmp(x->a->verb, "is-failed");
	static const char *const enabled_words[] = { "enabled", "enabled-runtime", "static", "alias",
						     "indirect", "generated", "transient", NULL };
	char name[UNIT_NAME_MAX + 1], msg[ERR_MSG_MAX];
	bool yes = false;
	cJSON *unit;
	int status;

	if (!x->a->n_names) {
		fprintf(stderr, "Too few arguments.\n");
		return SCTL_EXIT_FAILURE;
	}
	for (int i = 0; i < x->a->n_names; i++) {
		const char *word;

		if (!name_get(x->a->names[i], name) ||
		    call(x, "GET", "/v1/units/", name, NULL, &status, &unit) < 0)
			return SCTL_EXIT_FAILURE;
		word = status == 200 ? out_str(unit, enabled ? "unit_file_state" : "active_state")
				     : "inactive";
		if (status != 200 && status != 404) {
			fprintf(stderr, "Failed to get unit state for %s: %s\n", name,
				out_answer_error(unit, status, msg, sizeof(msg)));
			cJSON_Delete(unit);
			return SCTL_EXIT_FAILURE;
		}
		if (enabled && (status == 404 || !*word)) {
			fprintf(stderr, "Failed to get unit file state for %s: No such file or directory\n",
				name);
			cJSON_Delete(unit);
			return SCTL_EXIT_FAILURE;
		}
		if (enabled) {
			for (const char *const *w = enabled_words; *w; w++)
				yes = yes || !strcmp(word, *w);
		} else {
			yes = yes || !strcmp(word, failed ? "failed" : "active");
		}
		if (!x->a->quiet)
			no_oom(buf_printf(&x->out, "%s\n", word));
		cJSON_Delete(unit);
	}
	emit(x);
	if (yes)
		return SCTL_EXIT_OK;
	return enabled || failed ? SCTL_EXIT_FAILURE : SCTL_EXIT_NOT_ACTIVE;
}

static int verb_cat(struct ctx *x)
{
	char name[UNIT_NAME_MAX + 1], msg[ERR_MSG_MAX];
	int status, rc = SCTL_EXIT_OK;
	bool first = true;
	cJSON *file;

	if (!x->a->n_names) {
		fprintf(stderr, "Too few arguments.\n");
		return SCTL_EXIT_FAILURE;
	}
	for (int i = 0; i < x->a->n_names; i++) {
		if (!name_get(x->a->names[i], name) ||
		    call(x, "GET", "/v1/units/", name, "file", &status, &file) < 0)
			return SCTL_EXIT_FAILURE;
		if (status == 200) {
			no_oom(out_unit_cat(&x->out, file, &first, &x->o));
		} else {
			if (status == 404)
				no_oom(buf_printf(&x->err, "No files found for %s.\n", name));
			else
				no_oom(buf_printf(&x->err, "Failed to read %s: %s\n", name,
						 out_answer_error(file, status, msg, sizeof(msg))));
			rc = SCTL_EXIT_FAILURE;
		}
		cJSON_Delete(file);
		emit(x);
	}
	return rc;
}

static int verb_show(struct ctx *x)
{
	const char *const *props = x->a->props.n ? x->a->props.w : NULL;
	char name[UNIT_NAME_MAX + 1], msg[ERR_MSG_MAX];
	cJSON *unit;
	int status;

	if (!x->a->n_names) {
		fputs("Name the units: the manager's own properties are not available here.\n", stderr);
		return SCTL_EXIT_FAILURE;
	}
	for (int i = 0; i < x->a->n_names; i++) {
		if (!name_get(x->a->names[i], name) ||
		    call(x, "GET", "/v1/units/", name, NULL, &status, &unit) < 0)
			return SCTL_EXIT_FAILURE;
		if (status == 404) {
			/* What systemctl shows for a unit it cannot load. */
			cJSON_Delete(unit);
			unit = cJSON_CreateObject();
			if (!unit || !cJSON_AddStringToObject(unit, "name", name) ||
			    !cJSON_AddStringToObject(unit, "load_state", "not-found") ||
			    !cJSON_AddStringToObject(unit, "active_state", "inactive") ||
			    !cJSON_AddStringToObject(unit, "sub_state", "dead"))
				oom();
		} else if (status != 200) {
			fprintf(stderr, "Failed to get properties: %s\n", out_answer_error(unit, status, msg, sizeof(msg)));
			cJSON_Delete(unit);
			return SCTL_EXIT_FAILURE;
		}
		if (i)
			no_oom(buf_puts(&x->out, "\n"));
		no_oom(out_unit_show(&x->out, unit, props, x->a->all, x->a->value, &x->o));
		cJSON_Delete(unit);
		emit(x);
	}
	return SCTL_EXIT_OK;
}

static const char help[] =
	"systemctl [OPTIONS...] COMMAND ...\n"
	"\n"
	"Query or send control commands to the units of a Pith node.\n"
	"\n"
	"Unit Commands:\n"
	"  list-units [PATTERN...]             List units currently in memory\n"
	"  status [UNIT...]                    Show runtime status of one or more units\n"
	"  show [UNIT...]                      Show properties of one or more units\n"
	"  cat UNIT...                         Show files and drop-ins of specified units\n"
	"  is-active UNIT...                   Check whether units are active\n"
	"  is-failed UNIT...                   Check whether units are failed\n"
	"  start UNIT...                       Start (activate) one or more units\n"
	"  stop UNIT...                        Stop (deactivate) one or more units\n"
	"  reload UNIT...                      Reload one or more units\n"
	"  restart UNIT...                     Start or restart one or more units\n"
	"  try-restart UNIT...                 Restart one or more units if active\n"
	"  reload-or-restart UNIT...           Reload one or more units if possible,\n"
	"                                      otherwise start or restart\n"
	"\n"
	"Unit File Commands:\n"
	"  list-unit-files [PATTERN...]        List installed unit files\n"
	"  enable [UNIT...]                    Enable one or more unit files\n"
	"  disable UNIT...                     Disable one or more unit files\n"
	"  is-enabled UNIT...                  Check whether unit files are enabled\n"
	"\n"
	"Manager State Commands:\n"
	"  daemon-reload                       Reload the unit files\n"
	"\n"
	"Options:\n"
	"  -h --help              Show this help\n"
	"     --version           Show package version\n"
	"  -t --type=TYPE         List units of a particular type\n"
	"     --state=STATE       List units with particular LOAD or SUB or ACTIVE state\n"
	"     --failed            Shortcut for --state=failed\n"
	"  -p --property=NAME     Show only properties by this name\n"
	"  -a --all               Show all properties/all units currently in memory\n"
	"     --value             When showing properties, only print the value\n"
	"  -q --quiet             Suppress output\n"
	"     --no-block          Do not wait until operation finished\n"
	"     --no-legend         Do not print a legend (column headers and hints)\n"
	"     --plain             Print unit dependencies as a list instead of a tree\n"
	"     --now               Start or stop unit after enabling or disabling it\n"
	"  -n --lines=INTEGER     Number of journal entries to show\n"
	"  -o --output=STRING     Change journal output mode (short, short-precise,\n"
	"                           short-iso, short-iso-precise, short-unix,\n"
	"                           short-monotonic, cat, json, json-pretty)\n"
	"     --endpoint=URL      unix:/PATH or https://HOST[:PORT] (else $PITH_ENDPOINT,\n"
	"                           else unix:" CLIENT_SOCKET_DEFAULT ")\n"
	"     --no-pager          Accepted; there is no pager\n";

static const struct verb {
	const char *name;
	int (*fn)(struct ctx *x);
} verbs[] = {
	{ "list-units", verb_list_units },
	{ "list-unit-files", verb_list_unit_files },
	{ "status", verb_status },
	{ "start", verb_job },
	{ "stop", verb_job },
	{ "restart", verb_job },
	{ "reload", verb_job },
	{ "try-restart", verb_job },
	{ "reload-or-restart", verb_job },
	{ "enable", verb_enable },
	{ "disable", verb_enable },
	{ "daemon-reload", verb_daemon_reload },
	{ "is-active", verb_is },
	{ "is-enabled", verb_is },
	{ "is-failed", verb_is },
	{ "cat", verb_cat },
	{ "show", verb_show },
};

int cmd_systemctl(int argc, char **argv)
{
	struct ctx x = { .out = BUF_INIT, .err = BUF_INIT };
	const struct verb *v = NULL;
	struct sctl_args a;
	struct timespec now;
	struct err e = { 0 };
	int rc;

	if (sctl_args_parse(argc, argv, &a, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return SCTL_EXIT_FAILURE;
	}
	if (a.help || !strcmp(a.verb, "help")) {
		fputs(help, stdout);
		return SCTL_EXIT_OK;
	}
	if (a.version) {
		printf("pith %s\n", PITH_VERSION);
		return SCTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(a.verb, verbs[i].name))
			v = &verbs[i];
	if (!v) {
		fprintf(stderr, "Unknown command verb %s.\n", a.verb);
		return SCTL_EXIT_FAILURE;
	}
	if (client_setup(&x.c, a.endpoint, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return CLIENT_EXIT_USAGE;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	x.a = &a;
	x.o.now_usec = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	x.o.color = out_color_wanted(STDOUT_FILENO);
	x.o.plain = a.plain;
	x.o.no_legend = a.no_legend;
	x.o.json = a.mode == JCTL_JSON ? 1 : a.mode == JCTL_JSON_PRETTY ? 2 : 0;
	if (!strcmp(v->name, "status") && a.lines) {
		static char host[CLIENT_HOST_MAX + 1];

		client_node_name(&x.c, host, sizeof(host));
		x.o.hostname = host;
	}
	rc = v->fn(&x);
	emit(&x);
	client_free(&x.c);
	cJSON_Delete(x.units);
	buf_free(&x.out);
	buf_free(&x.err);
	return rc;
}
