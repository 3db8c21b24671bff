/* The local API's unit routes (docs/api.md): listing, status, jobs,
 * enable/disable and unit files. */
#include "api_conn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"

/* --- units -------------------------------------------------------------- */

static void unit_summary(struct json *j, struct manager *m, struct mu *u)
{
	json_key(j, "name");
	json_str(j, u->name);
	json_key(j, "description");
	json_str(j, u->u.description ? u->u.description : u->name);
	json_key(j, "load_state");
	json_str(j, unit_load_state_name(u->load));
	json_key(j, "active_state");
	json_str(j, mu_active_name(u->active));
	json_key(j, "sub_state");
	json_str(j, mu_sub_name(u->sub));
	json_key(j, "unit_file_state");
	json_str(j, manager_unit_file_state(m, u));
	json_key(j, "main_pid");
	json_int(j, u->main_pid > 0 && !u->main_exited ? u->main_pid : 0);
	json_key(j, "job");
	json_str(j, u->job ? ug_job_type_name(u->job->type) : NULL);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct mu *const *)a)->name, (*(struct mu *const *)b)->name);
}

void api_units_list(struct conn *c)
{
	struct manager *m = c->api->m;
	struct mu **v = calloc(m->nunits ? m->nunits : 1, sizeof(*v));
	struct buf b = BUF_INIT;
	struct json j;
	size_t n = 0;

	if (!v)
		return api_respond_error(c, 503, "out of memory");
	for (size_t i = 0; i < m->nunits; i++)
		if (m->units[i])
			v[n++] = m->units[i];
	qsort(v, n, sizeof(*v), name_cmp);
	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "units");
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(&j);
		unit_summary(&j, m, v[i]);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	free(v);
	api_respond_doc(c, 200, &j, &b);
}

static void deps_list(struct json *j, struct manager *m, struct mu *u, const char *key,
		      enum ug_dep d)
{
	size_t cur = 0;
	unsigned to;

	json_key(j, key);
	json_arr_begin(j);
	while (ug_dep_next(&m->graph, u->id, d, &cur, &to) == 1)
		json_str(j, ug_unit_name(&m->graph, to));
	json_arr_end(j);
}

static void limit_value(struct json *j, const struct unit_limit *l)
{
	if (l->value == UNIT_LIMIT_UNSET || l->value == UNIT_LIMIT_INFINITY || l->relative)
		json_null(j);
	else
		json_uint(j, l->value);
}

static void stat_value(struct json *j, uint64_t v)
{
	if (v == CG_UNKNOWN)
		json_null(j);
	else
		json_uint(j, v);
}

static void process_command(pid_t pid, char *out, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return;
	out[n] = 0;
	for (ssize_t i = 0; i < n - 1; i++)
		if (!out[i])
			out[i] = ' ';
}

void api_unit_status(struct conn *c, struct mu *u)
{
	struct manager *m = c->api->m;
	struct cg_stats st = { CG_UNKNOWN, CG_UNKNOWN, CG_UNKNOWN, CG_UNKNOWN, CG_UNKNOWN };
	struct buf b = BUF_INIT;
	struct json j;
	pid_t pids[256];
	int np = 0;
	char cgpath[UNIT_NAME_MAX + 32];

	if (u->cgroup && m->cg) {
		cg_unit_stats(m->cg, u->name, &st);
		np = cg_unit_pids(m->cg, u->name, pids, 256);
		if (np < 0)
			np = 0;
	}
	json_init(&j, &b, false);
	json_obj_begin(&j);
	unit_summary(&j, m, u);
	json_key(&j, "fragment_path");
	json_str(&j, u->u.path ? u->u.path : "");
	json_key(&j, "dropins");
	json_arr_begin(&j);
	for (size_t i = 0; i < u->u.dropins.n; i++)
		json_str(&j, u->u.dropins.v[i]);
	json_arr_end(&j);
	json_key(&j, "state_change_usec");
	json_uint(&j, u->state_change_usec);
	json_key(&j, "active_enter_usec");
	json_uint(&j, u->active_enter_usec);
	json_key(&j, "inactive_enter_usec");
	json_uint(&j, u->inactive_enter_usec);
	json_key(&j, "result");
	json_str(&j, mu_result_name(u->result));
	json_key(&j, "exec_main_code");
	json_str(&j, !u->main_code ? "" : u->main_code == CLD_EXITED ? "exited"
				     : u->main_code == CLD_DUMPED ? "dumped" : "killed");
	json_key(&j, "exec_main_status");
	json_int(&j, u->main_status);
	json_key(&j, "status_text");
	json_str(&j, u->status_text);
	json_key(&j, "restarts");
	json_uint(&j, u->restarts);
	json_key(&j, "invocation_id");
	json_str(&j, u->invocation);
	snprintf(cgpath, sizeof(cgpath), "/pith.slice/%s", u->name);
	json_key(&j, "cgroup");
	json_str(&j, u->u.type == UNIT_SERVICE ? cgpath : "");
	json_key(&j, "tasks");
	stat_value(&j, st.pids_current);
	json_key(&j, "memory_current");
	stat_value(&j, st.memory_current);
	json_key(&j, "memory_peak");
	stat_value(&j, st.memory_peak);
	json_key(&j, "cpu_usage_usec");
	stat_value(&j, st.cpu_usage_usec);
	json_key(&j, "tasks_max");
	limit_value(&j, &u->u.service.tasks_max);
	json_key(&j, "memory_max");
	limit_value(&j, &u->u.service.memory_max);
	json_key(&j, "memory_high");
	limit_value(&j, &u->u.service.memory_high);
	json_key(&j, "processes");
	json_arr_begin(&j);
	for (int i = 0; i < np; i++) {
		char cmd[512];

		process_command(pids[i], cmd, sizeof(cmd));
		json_obj_begin(&j);
		json_key(&j, "pid");
		json_int(&j, pids[i]);
		json_key(&j, "command");
		json_str(&j, cmd);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	deps_list(&j, m, u, "wants", UG_WANTS);
	deps_list(&j, m, u, "requires", UG_REQUIRES);
	deps_list(&j, m, u, "after", UG_AFTER);
	deps_list(&j, m, u, "wanted_by", UG_WANTED_BY);
	deps_list(&j, m, u, "required_by", UG_REQUIRED_BY);
	json_obj_end(&j);
	api_respond_doc(c, 200, &j, &b);
}

struct job_reply {
	struct conn *c;
	char job[64];
};

static void job_answered(void *arg, struct mu *u, enum job_result r)
{
	struct job_reply *jr = arg;
	struct conn *c = jr->c;
	struct buf b = BUF_INIT;
	struct json j;

	c->waiting = false;
	if (c->dead) {
		free(jr);
		api_conn_close(c);
		return;
	}
	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "unit");
	json_str(&j, u->name);
	json_key(&j, "job");
	json_str(&j, jr->job);
	json_key(&j, "result");
	json_str(&j, job_result_name(r));
	if (r != JOB_DONE) {
		char msg[512];

		if (r == JOB_FAILED && u->result == RES_EXIT_CODE)
			snprintf(msg, sizeof(msg), "Job for %s failed because the control process exited with error code.", u->name);
		else if (r == JOB_FAILED || r == JOB_TIMEOUT)
			snprintf(msg, sizeof(msg), "Job for %s failed because %s.", u->name,
				 u->result == RES_TIMEOUT ? "a timeout was exceeded" :
				 u->result == RES_START_LIMIT ? "the start of the service was attempted too often" :
				 u->result == RES_SIGNAL ? "a fatal signal was delivered to the control process" :
				 u->result == RES_RESOURCES ? "of unavailable resources or another system error" :
				 "the service failed");
		else if (r == JOB_DEPENDENCY)
			snprintf(msg, sizeof(msg), "A dependency job for %s failed. See 'journalctl -xe' for details.", u->name);
		else
			snprintf(msg, sizeof(msg), "Job for %s %s.", u->name, job_result_name(r));
		json_key(&j, "error");
		json_str(&j, msg);
	}
	json_obj_end(&j);
	json_end(&j);
	buf_puts(&b, "\n");
	free(jr);
	api_respond_json(c, r == JOB_DONE ? 200 : 409, &b);
}

void api_unit_action(struct conn *c, struct mu *u, const char *action)
{
	struct manager *m = c->api->m;
	struct job_reply *jr;
	struct err e = { 0 };
	char q[8];
	bool no_block = http_query_get(http_request_target(&c->p), "no_block", q, sizeof(q)) >= 0 &&
			strcmp(q, "0") != 0;
	enum ug_job_type type;
	int r;

	if (!strcmp(action, "start"))
		type = UG_JOB_START;
	else if (!strcmp(action, "stop"))
		type = UG_JOB_STOP;
	else if (!strcmp(action, "restart") || !strcmp(action, "reload-or-restart"))
		type = UG_JOB_RESTART;
	else if (!strcmp(action, "try-restart")) {
		if (u->active != MU_ACTIVE && u->active != MU_RELOADING) {
			struct buf b = BUF_INIT;

			buf_printf(&b, "{\"unit\":\"%s\",\"job\":\"try-restart\",\"result\":\"done\"}\n", u->name);
			return api_respond_json(c, 200, &b);
		}
		type = UG_JOB_RESTART;
	} else if (!strcmp(action, "reload"))
		type = UG_JOB_TYPE_MAX;
	else
		return api_respond_error(c, 404, "No such action: %s", action);
	jr = calloc(1, sizeof(*jr));
	if (!jr)
		return api_respond_error(c, 503, "out of memory");
	jr->c = c;
	snprintf(jr->job, sizeof(jr->job), "%s", action);
	c->waiting = true;
	if (type == UG_JOB_TYPE_MAX)
		r = manager_reload_unit(m, u, no_block ? NULL : job_answered, jr, &e);
	else
		r = manager_job(m, u, type, no_block ? NULL : job_answered, jr, &e);
	if (r < 0) {
		c->waiting = false;
		free(jr);
		return api_respond_error(c, r == -ENOENT ? 404 : 409, "%s", e.msg[0] ? e.msg : strerror(-r));
	}
	if (no_block) {
		struct buf b = BUF_INIT;

		c->waiting = false;
		free(jr);
		buf_printf(&b, "{\"unit\":\"%s\",\"job\":\"%s\",\"result\":\"queued\"}\n", u->name, action);
		api_respond_json(c, 202, &b);
	}
}

void api_unit_unknown(struct conn *c, const char *name, const char *rest)
{
	const char *method = c->p.method;
	struct buf b = BUF_INIT;
	struct json j;
	char q[8];
	bool no_block;

	/* As route() answers for a not-found entry, in the same order. */
	if (!*rest) {
		if (strcmp(method, "GET"))
			return api_respond_error(c, 405, "Use GET.");
		return api_respond_error(c, 404, "Unit %s could not be found.", name);
	}
	if (!strcmp(rest, "file"))
		return api_respond_error(c, 404, "No files found for %s.", name);
	if (strcmp(method, "POST"))
		return api_respond_error(c, 405, "Use POST.");
	if (!strcmp(rest, "enable") || !strcmp(rest, "disable"))
		return api_respond_error(c, 404, "Unit %s does not exist.", name);
	if (strcmp(rest, "stop"))
		return api_respond_error(c, 404, "Unit %s not found.", name);
	/* Stopping what is not there is done at once, as its stop job is. */
	no_block = http_query_get(http_request_target(&c->p), "no_block", q, sizeof(q)) >= 0 &&
		   strcmp(q, "0") != 0;
	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "unit");
	json_str(&j, name);
	json_key(&j, "job");
	json_str(&j, "stop");
	json_key(&j, "result");
	json_str(&j, no_block ? "queued" : "done");
	json_obj_end(&j);
	api_respond_doc(c, no_block ? 202 : 200, &j, &b);
}

static void change(void *arg, bool link, const char *path, const char *target)
{
	struct json *j = arg;

	json_obj_begin(j);
	json_key(j, "type");
	json_str(j, link ? "symlink" : "unlink");
	json_key(j, "path");
	json_str(j, path);
	json_key(j, "target");
	json_str(j, target ? target : "");
	json_obj_end(j);
}

void api_unit_enable(struct conn *c, struct mu *u, bool enable)
{
	struct buf b = BUF_INIT;
	struct err e = { 0 };
	struct json j;
	int r;

	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "changes");
	json_arr_begin(&j);
	r = manager_enable(c->api->m, u, enable, change, &j, &e);
	json_arr_end(&j);
	json_obj_end(&j);
	if (r < 0) {
		buf_free(&b);
		return api_respond_error(c, r == -ENOENT ? 404 : 409, "%s", e.msg[0] ? e.msg : strerror(-r));
	}
	api_respond_doc(c, 200, &j, &b);
}

static void file_content(struct json *j, const char *path)
{
	struct buf t = BUF_INIT;

	json_key(j, "path");
	json_str(j, path);
	json_key(j, "content");
	if (unit_file_read(path, UNIT_FILE_MAX, &t) == 0)
		json_strn(j, t.data ? t.data : "", t.len);
	else
		json_null(j);
	buf_free(&t);
}

void api_unit_file_get(struct conn *c, struct mu *u)
{
	struct buf b = BUF_INIT;
	struct json j;

	if (!u->u.path || u->load == UNIT_NOT_FOUND)
		return api_respond_error(c, 404, "No files found for %s.", u->name);
	json_init(&j, &b, false);
	json_obj_begin(&j);
	if (!strcmp(u->u.path, "(built-in)")) {
		json_key(&j, "path");
		json_str(&j, u->u.path);
		json_key(&j, "content");
		json_null(&j);
	} else {
		file_content(&j, u->u.path);
	}
	json_key(&j, "dropins");
	json_arr_begin(&j);
	for (size_t i = 0; i < u->u.dropins.n; i++) {
		json_obj_begin(&j);
		file_content(&j, u->u.dropins.v[i]);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	api_respond_doc(c, 200, &j, &b);
}

struct reports {
	struct json *j;
	unsigned errors;
};

static void report_json(void *arg, enum unit_severity sev, const char *file, unsigned line,
			const char *msg)
{
	struct reports *r = arg;

	if (sev == UNIT_ERROR)
		r->errors++;
	json_obj_begin(r->j);
	json_key(r->j, "file");
	json_str(r->j, file);
	json_key(r->j, "line");
	json_uint(r->j, line);
	json_key(r->j, "severity");
	json_str(r->j, sev == UNIT_ERROR ? "error" : "warning");
	json_key(r->j, "message");
	json_str(r->j, msg);
	json_obj_end(r->j);
}

/* Write text to path atomically: a temporary file, then rename. */
static int file_replace(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len && r == 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			text += n, len -= (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

void api_unit_file_put(struct conn *c, const char *name)
{
	struct manager *m = c->api->m;
	struct buf b = BUF_INIT;
	struct reports rep;
	struct json j;
	struct unit u;
	char path[PATH_MAX];
	struct stat st;
	bool existed;
	int r;

	snprintf(path, sizeof(path), "%s/%s", m->etc_dir, name);
	existed = lstat(path, &st) == 0;
	json_init(&j, &b, false);
	rep.j = &j;
	rep.errors = 0;
	json_obj_begin(&j);
	json_key(&j, "reports");
	json_arr_begin(&j);
	r = unit_init(&u, name, m->env, report_json, &rep);
	if (r == 0) {
		r = unit_parse(&u, path, c->body.data ? c->body.data : "", c->body.len);
		if (r == 0)
			unit_verify(&u);
	}
	unit_free(&u);
	json_arr_end(&j);
	if (r < 0 || rep.errors) {
		json_key(&j, "error");
		json_str(&j, r < 0 ? strerror(-r) : "The unit file has errors; nothing was changed.");
		json_obj_end(&j);
		json_end(&j);
		buf_puts(&b, "\n");
		return api_respond_json(c, 400, &b);
	}
	mkdir(m->etc_dir, 0755);
	r = file_replace(path, c->body.data ? c->body.data : "", c->body.len);
	if (r < 0) {
		buf_free(&b);
		return api_respond_error(c, 500, "Unable to write %s: %s", path, strerror(-r));
	}
	manager_daemon_reload(m);
	manager_unit(m, name);
	json_key(&j, "path");
	json_str(&j, path);
	json_obj_end(&j);
	api_respond_doc(c, existed ? 200 : 201, &j, &b);
}

void api_unit_file_remove(struct conn *c, const char *name)
{
	struct manager *m = c->api->m;
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	struct mu *u = manager_unit_find(m, name);
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", m->etc_dir, name);
	if (lstat(path, &st) < 0) {
		if (u && u->u.path && u->load != UNIT_NOT_FOUND)
			return api_respond_error(c, 403, "%s is not an operator's unit (it is in %s).", name, u->u.path);
		return api_respond_error(c, 404, "No file for %s in %s.", name, m->etc_dir);
	}
	if (u) {
		if (u->active != MU_INACTIVE && u->active != MU_FAILED)
			manager_job(m, u, UG_JOB_STOP, NULL, NULL, NULL);
		manager_enable(m, u, false, NULL, NULL, NULL);
	}
	if (unlink(path) < 0)
		return api_respond_error(c, 500, "Unable to remove %s: %s", path, strerror(errno));
	manager_daemon_reload(m);
	buf_printf(&b, "{\"removed\":\"%s\"}\n", path);
	api_respond_json(c, 200, &b);
}

void api_unit_files_list(struct conn *c)
{
	struct manager *m = c->api->m;
	struct buf b = BUF_INIT;
	struct json j;

	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "unit_files");
	json_arr_begin(&j);
	for (size_t d = 0; m->dirs[d]; d++) {
		DIR *dir = opendir(m->dirs[d]);
		struct dirent *de;

		if (!dir)
			continue;
		while ((de = readdir(dir))) {
			char path[PATH_MAX];
			struct stat st;
			struct mu *u;
			bool shadowed = false;

			if (!unit_name_is_valid(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", m->dirs[d], de->d_name);
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				continue;
			for (size_t e = 0; e < d && !shadowed; e++) {
				char other[PATH_MAX];

				snprintf(other, sizeof(other), "%s/%s", m->dirs[e], de->d_name);
				shadowed = lstat(other, &st) == 0;
			}
			if (shadowed)
				continue;
			u = unit_name_is_template(de->d_name) ? NULL : manager_unit(m, de->d_name);
			json_obj_begin(&j);
			json_key(&j, "name");
			json_str(&j, de->d_name);
			json_key(&j, "path");
			json_str(&j, path);
			json_key(&j, "state");
			json_str(&j, u ? manager_unit_file_state(m, u) : "static");
			json_obj_end(&j);
		}
		closedir(dir);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	api_respond_doc(c, 200, &j, &b);
}

