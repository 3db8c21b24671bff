/* `pith check --dump`: a unit as Pith understood it, as JSON. */
#include "unit.h"

#include <string.h>

#include "json.h"

static void dump_command(struct json *j, const struct unit_exec *c)
{
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {
		{ UNIT_EXEC_IGNORE_FAILURE, "ignore_failure" },
		{ UNIT_EXEC_ARGV0, "separate_argv0" },
		{ UNIT_EXEC_NO_ENV_EXPAND, "no_env_expand" },
		{ UNIT_EXEC_PRIVILEGED, "privileged" },
		{ UNIT_EXEC_NO_SETUID, "no_setuid" },
		{ UNIT_EXEC_AMBIENT, "ambient" },
	};

	json_obj_begin(j);
	json_key(j, "path");
	json_str(j, c->path);
	json_key(j, "argv");
	json_arr_begin(j);
	for (size_t i = 0; i < c->argc; i++)
		json_str(j, c->argv[i]);
	json_arr_end(j);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		json_key(j, flags[i].name);
		json_bool(j, c->flags & flags[i].flag);
	}
	json_key(j, "file");
	json_str(j, c->file);
	json_key(j, "line");
	json_uint(j, c->line);
	json_obj_end(j);
}

static void dump_setting(struct json *j, const struct unit *u, const struct unit_setting *s)
{
	const void *typed;

	json_key(j, s->key);
	switch (unit_setting_form(u, s, &typed)) {
	case UNIT_FORM_COMMANDS: {
		const struct unit_exec_list *l = typed;

		json_arr_begin(j);
		for (size_t i = 0; i < l->n; i++)
			dump_command(j, &l->v[i]);
		json_arr_end(j);
		break;
	}
	case UNIT_FORM_WORDS: {
		const struct unit_strv *l = typed;

		json_arr_begin(j);
		for (size_t i = 0; i < l->n; i++)
			json_str(j, l->v[i]);
		json_arr_end(j);
		break;
	}
	case UNIT_FORM_VALUES:
		if (!s->list) {
			json_str(j, s->n ? s->values[s->n - 1].text : "");
			break;
		}
		json_arr_begin(j);
		for (size_t i = 0; i < s->n; i++)
			json_str(j, s->values[i].text);
		json_arr_end(j);
		break;
	}
}

/* Sections in the order their first setting appeared. */
static void dump_sections(struct json *j, const struct unit *u)
{
	json_obj_begin(j);
	for (size_t i = 0; i < u->n_settings; i++) {
		const struct unit_setting *s = &u->settings[i];
		bool seen = s->ignored;

		for (size_t k = 0; k < i && !seen; k++)
			seen = !u->settings[k].ignored && strcmp(u->settings[k].section, s->section) == 0;
		if (seen)
			continue;
		json_key(j, s->section);
		if (s->verbatim) {
			/* X- sections: every line as [key, value], in order. */
			json_arr_begin(j);
			for (size_t k = i; k < u->n_settings; k++) {
				const struct unit_setting *x = &u->settings[k];

				if (strcmp(x->section, s->section))
					continue;
				json_arr_begin(j);
				json_str(j, x->key);
				json_str(j, x->n ? x->values[0].text : "");
				json_arr_end(j);
			}
			json_arr_end(j);
			continue;
		}
		json_obj_begin(j);
		for (size_t k = i; k < u->n_settings; k++)
			if (!strcmp(u->settings[k].section, s->section) && u->settings[k].n &&
			    !u->settings[k].ignored)
				dump_setting(j, u, &u->settings[k]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

/* Options Pith does not support, as "Section": {"Key": [values]}. */
static void dump_ignored(struct json *j, const struct unit *u)
{
	json_obj_begin(j);
	for (size_t i = 0; i < u->n_settings; i++) {
		const struct unit_setting *s = &u->settings[i];
		bool seen = !s->ignored;

		for (size_t k = 0; k < i && !seen; k++)
			seen = u->settings[k].ignored && strcmp(u->settings[k].section, s->section) == 0;
		if (seen)
			continue;
		json_key(j, s->section);
		json_obj_begin(j);
		for (size_t k = i; k < u->n_settings; k++) {
			const struct unit_setting *x = &u->settings[k];

			if (!x->ignored || strcmp(x->section, s->section))
				continue;
			json_key(j, x->key);
			json_arr_begin(j);
			for (size_t v = 0; v < x->n; v++)
				json_str(j, x->values[v].text);
			json_arr_end(j);
		}
		json_obj_end(j);
	}
	json_obj_end(j);
}

static void dump_strv(struct json *j, const char *key, const struct unit_strv *l)
{
	json_key(j, key);
	json_arr_begin(j);
	for (size_t i = 0; i < l->n; i++)
		json_str(j, l->v[i]);
	json_arr_end(j);
}

/* The typed values PID 1 runs the unit with, named and worded as systemd's
 * own dump names them, so they can be set side by side. */
static void dump_loaded(struct json *j, const struct unit *u)
{
	static const char *const types[] = { "simple", "exec", "forking", "oneshot", "notify" };
	static const char *const restarts[] = {
		"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always",
	};
	static const char *const kills[] = { "control-group", "mixed", "process", "none" };
	static const char *const notifies[] = { "none", "main", "exec", "all" };
	const struct service *s = &u->service;

	json_obj_begin(j);
	json_key(j, "Description");
	json_str(j, u->description ? u->description : u->name);
	dump_strv(j, "Documentation", &u->documentation);
	for (int d = 0; d < UNIT_DEP_MAX; d++)
		dump_strv(j, unit_dep_name((enum unit_dep)d), &u->deps[d]);
	if (u->type == UNIT_SERVICE) {
		json_key(j, "Type");
		json_str(j, types[s->type]);
		json_key(j, "Restart");
		json_str(j, restarts[s->restart]);
		json_key(j, "KillMode");
		json_str(j, kills[s->kill_mode]);
		json_key(j, "RemainAfterExit");
		json_str(j, s->remain_after_exit ? "yes" : "no");
		json_key(j, "NotifyAccess");
		json_str(j, notifies[s->notify_access]);
		dump_strv(j, "Environment", &s->environment);
		for (int k = 0; k < EXEC_KIND_MAX; k++) {
			const struct unit_exec_list *l = &s->exec[k];

			json_key(j, unit_exec_kind_name((enum service_exec_kind)k));
			json_arr_begin(j);
			for (size_t i = 0; i < l->n; i++) {
				json_arr_begin(j);
				for (size_t a = 0; a < l->v[i].argc; a++)
					json_str(j, l->v[i].argv[a]);
				json_arr_end(j);
			}
			json_arr_end(j);
		}
	}
	json_obj_end(j);
}

int unit_dump_json(const struct unit *u, const char *load_state, struct buf *out)
{
	struct json j;

	json_init(&j, out, true);
	json_obj_begin(&j);
	json_key(&j, "name");
	json_str(&j, u->name);
	json_key(&j, "type");
	json_str(&j, unit_type_name(u->type));
	json_key(&j, "load_state");
	json_str(&j, load_state);
	json_key(&j, "path");
	json_str(&j, u->path);
	json_key(&j, "dropins");
	json_arr_begin(&j);
	for (size_t i = 0; i < u->dropins.n; i++)
		json_str(&j, u->dropins.v[i]);
	json_arr_end(&j);
	json_key(&j, "errors");
	json_uint(&j, u->errors);
	json_key(&j, "warnings");
	json_uint(&j, u->warnings);
	json_key(&j, "sections");
	dump_sections(&j, u);
	json_key(&j, "ignored");
	dump_ignored(&j, u);
	json_key(&j, "loaded");
	dump_loaded(&j, u);
	json_obj_end(&j);
	return json_end(&j);
}
