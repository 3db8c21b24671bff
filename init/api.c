#include "api.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"
#include "json.h"

struct conn {
	struct api *api;
	int fd;
	struct loop_io io;
	struct http_parser p;
	struct buf in;		/* bytes read and not yet parsed */
	struct buf body;	/* the request body */
	struct buf out;		/* bytes to write */
	bool closing;		/* close once out is written */
	bool waiting;		/* a job callback will answer */
	bool dead;		/* closed while waiting: the callback frees it */
	bool follow;		/* streaming the journal */
	bool chunked;		/* the response is chunked and still open */
	struct journal_reader reader;
	struct journal_filter filter;
	char unit[UNIT_NAME_MAX + 1];
	int64_t lines_left;	/* a journal query without follow: entries still to send */
	uint64_t lost_told;
	struct conn *next;
};

struct api {
	struct loop *loop;
	struct manager *m;
	struct journal *j;
	int fd;
	struct loop_io io;
	struct conn *conns;
	unsigned nconns;
	struct loop_timer pump;
	bool pump_armed;
};

static void conn_close(struct conn *c);
static void conn_want_write(struct conn *c);
static void pump_followers(struct api *a);

/* --- responses ---------------------------------------------------------- */

static void respond(struct conn *c, int status, const char *type, const struct buf *body)
{
	struct http_response_head h = {
		.status = status,
		.content_type = type,
		.length = body ? (int64_t)body->len : 0,
		.conn = c->closing || !c->p.keep_alive ? HTTP_CONN_CLOSE : HTTP_CONN_DEFAULT,
	};

	if (h.conn == HTTP_CONN_CLOSE)
		c->closing = true;
	if (http_response_head_append(&c->out, &h) < 0 ||
	    (body && buf_append(&c->out, body->data, body->len) < 0))
		c->closing = true;
	conn_want_write(c);
}

static void respond_json(struct conn *c, int status, struct buf *b)
{
	respond(c, status, "application/json", b);
	buf_free(b);
}

static void respond_error(struct conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void respond_error(struct conn *c, int status, const char *fmt, ...)
{
	char msg[512];
	struct buf b = BUF_INIT;
	struct json j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "error");
	json_str(&j, msg);
	json_obj_end(&j);
	json_end(&j);
	buf_puts(&b, "\n");
	respond_json(c, status, &b);
}

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

static void units_list(struct conn *c)
{
	struct manager *m = c->api->m;
	struct mu **v = calloc(m->nunits ? m->nunits : 1, sizeof(*v));
	struct buf b = BUF_INIT;
	struct json j;
	size_t n = 0;

	if (!v)
		return respond_error(c, 503, "out of memory");
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
	if (json_end(&j) < 0)
		return buf_free(&b), respond_error(c, 503, "out of memory");
	buf_puts(&b, "\n");
	respond_json(c, 200, &b);
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

static void unit_status(struct conn *c, struct mu *u)
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
	if (json_end(&j) < 0)
		return buf_free(&b), respond_error(c, 503, "out of memory");
	buf_puts(&b, "\n");
	respond_json(c, 200, &b);
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
		conn_close(c);
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
	respond_json(c, r == JOB_DONE ? 200 : 409, &b);
}

static void unit_action(struct conn *c, struct mu *u, const char *action)
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
			return respond_json(c, 200, &b);
		}
		type = UG_JOB_RESTART;
	} else if (!strcmp(action, "reload"))
		type = UG_JOB_TYPE_MAX;
	else
		return respond_error(c, 404, "No such action: %s", action);
	jr = calloc(1, sizeof(*jr));
	if (!jr)
		return respond_error(c, 503, "out of memory");
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
		return respond_error(c, r == -ENOENT ? 404 : 409, "%s", e.msg[0] ? e.msg : strerror(-r));
	}
	if (no_block) {
		struct buf b = BUF_INIT;

		c->waiting = false;
		free(jr);
		buf_printf(&b, "{\"unit\":\"%s\",\"job\":\"%s\",\"result\":\"queued\"}\n", u->name, action);
		respond_json(c, 202, &b);
	}
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

static void unit_enable(struct conn *c, struct mu *u, bool enable)
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
		return respond_error(c, r == -ENOENT ? 404 : 409, "%s", e.msg[0] ? e.msg : strerror(-r));
	}
	json_end(&j);
	buf_puts(&b, "\n");
	respond_json(c, 200, &b);
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

static void unit_file_get(struct conn *c, struct mu *u)
{
	struct buf b = BUF_INIT;
	struct json j;

	if (!u->u.path || u->load == UNIT_NOT_FOUND)
		return respond_error(c, 404, "No files found for %s.", u->name);
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
	if (json_end(&j) < 0)
		return buf_free(&b), respond_error(c, 503, "out of memory");
	buf_puts(&b, "\n");
	respond_json(c, 200, &b);
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

static void unit_file_put(struct conn *c, const char *name)
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
		return respond_json(c, 400, &b);
	}
	mkdir(m->etc_dir, 0755);
	r = file_replace(path, c->body.data ? c->body.data : "", c->body.len);
	if (r < 0) {
		buf_free(&b);
		return respond_error(c, 500, "Unable to write %s: %s", path, strerror(-r));
	}
	manager_daemon_reload(m);
	manager_unit(m, name);
	json_key(&j, "path");
	json_str(&j, path);
	json_obj_end(&j);
	json_end(&j);
	buf_puts(&b, "\n");
	respond_json(c, existed ? 200 : 201, &b);
}

static void unit_file_remove(struct conn *c, const char *name)
{
	struct manager *m = c->api->m;
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	struct mu *u = manager_unit_find(m, name);
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", m->etc_dir, name);
	if (lstat(path, &st) < 0) {
		if (u && u->u.path && u->load != UNIT_NOT_FOUND)
			return respond_error(c, 403, "%s is not an operator's unit (it is in %s).", name, u->u.path);
		return respond_error(c, 404, "No file for %s in %s.", name, m->etc_dir);
	}
	if (u) {
		if (u->active != MU_INACTIVE && u->active != MU_FAILED)
			manager_job(m, u, UG_JOB_STOP, NULL, NULL, NULL);
		manager_enable(m, u, false, NULL, NULL, NULL);
	}
	if (unlink(path) < 0)
		return respond_error(c, 500, "Unable to remove %s: %s", path, strerror(errno));
	manager_daemon_reload(m);
	buf_printf(&b, "{\"removed\":\"%s\"}\n", path);
	respond_json(c, 200, &b);
}

static void unit_files_list(struct conn *c)
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
	if (json_end(&j) < 0)
		return buf_free(&b), respond_error(c, 503, "out of memory");
	buf_puts(&b, "\n");
	respond_json(c, 200, &b);
}

/* --- the journal -------------------------------------------------------- */

static void entry_json(struct buf *b, const struct journal_entry *e)
{
	char boot[17];
	struct json j;

	json_init(&j, b, false);
	json_obj_begin(&j);
	json_key(&j, "seq");
	json_uint(&j, e->seq);
	json_key(&j, "realtime_usec");
	json_uint(&j, e->realtime_usec);
	json_key(&j, "monotonic_usec");
	json_uint(&j, e->monotonic_usec);
	snprintf(boot, sizeof(boot), "%016llx", (unsigned long long)e->boot_id);
	json_key(&j, "boot_id");
	json_str(&j, boot);
	json_key(&j, "unit");
	json_str(&j, e->unit);
	json_key(&j, "pid");
	json_int(&j, e->pid);
	json_key(&j, "priority");
	json_int(&j, e->priority);
	json_key(&j, "message");
	json_strn(&j, e->msg, e->msg_len);
	json_obj_end(&j);
	json_end(&j);
	buf_puts(b, "\n");
}

/* Move journal entries into c's response, as far as its buffer allows. */
static void journal_pump(struct conn *c)
{
	struct api *a = c->api;
	struct journal_entry e;
	struct buf line = BUF_INIT;

	bool exhausted = false;

	while (c->out.len < API_OUT_HIGH && c->lines_left != 0) {
		uint64_t lost = c->reader.lost;
		int r = journal_read_next(a->j, &c->reader, &c->filter, &e);

		if (c->reader.lost != lost) {
			buf_reset(&line);
			buf_printf(&line, "{\"lost\":%llu}\n", (unsigned long long)(c->reader.lost - lost));
			http_chunk_append(&c->out, line.data, line.len);
		}
		if (r <= 0) {
			exhausted = true;
			break;
		}
		buf_reset(&line);
		entry_json(&line, &e);
		if (http_chunk_append(&c->out, line.data, line.len) < 0) {
			c->closing = true;
			break;
		}
		if (c->lines_left > 0)
			c->lines_left--;
	}
	buf_free(&line);
	if (!c->follow && c->chunked && (c->lines_left == 0 || exhausted)) {
		/* A query ends when what it asked for is sent. */
		http_chunk_last_append(&c->out);
		c->chunked = false;
		if (!c->p.keep_alive)
			c->closing = true;
	}
	conn_want_write(c);
}

static uint64_t query_u64(const char *target, const char *name, uint64_t dflt, bool *bad)
{
	char v[32], *end;
	unsigned long long n;

	if (http_query_get(target, name, v, sizeof(v)) < 0)
		return dflt;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *end || errno)
		*bad = true;
	return n;
}

static void journal_query(struct conn *c)
{
	struct api *a = c->api;
	const char *t = http_request_target(&c->p);
	bool bad = false;
	uint64_t lines, prio;
	struct http_response_head h = { .status = 200, .content_type = "application/x-ndjson",
					.length = HTTP_LENGTH_CHUNKED };

	if (!a->j)
		return respond_error(c, 503, "The journal is not running.");
	memset(&c->filter, 0, sizeof(c->filter));
	if (http_query_get(t, "unit", c->unit, sizeof(c->unit)) >= 0)
		c->filter.unit = c->unit;
	c->filter.since_usec = query_u64(t, "since", 0, &bad);
	c->filter.until_usec = query_u64(t, "until", 0, &bad);
	prio = query_u64(t, "priority", 7, &bad);
	lines = query_u64(t, "lines", UINT64_MAX, &bad);
	c->follow = query_u64(t, "follow", 0, &bad) != 0;
	if (bad || prio > 7)
		return respond_error(c, 400, "Bad query parameter.");
	c->filter.priorities = JOURNAL_PRIO_UPTO(prio);
	journal_reader_init(&c->reader);
	if (http_query_get(t, "cursor", (char[32]){ 0 }, 32) >= 0)
		c->reader.cursor = query_u64(t, "cursor", 0, &bad);
	else if (lines != UINT64_MAX)
		journal_reader_seek_tail(a->j, &c->reader, &c->filter, (size_t)lines);
	c->lines_left = c->follow || lines == UINT64_MAX ? -1 : (int64_t)lines;
	h.conn = c->p.keep_alive && !c->follow ? HTTP_CONN_DEFAULT : HTTP_CONN_CLOSE;
	if (http_response_head_append(&c->out, &h) < 0)
		return conn_close(c);
	c->chunked = true;
	journal_pump(c);
}

static void pump_fire(struct loop *l, void *arg)
{
	struct api *a = arg;

	a->pump_armed = false;
	pump_followers(a);
}

static void pump_followers(struct api *a)
{
	for (struct conn *c = a->conns; c; c = c->next)
		if (c->follow && c->chunked && !c->dead)
			journal_pump(c);
}

/* After every append: wake the followers from the loop, not from inside
 * journal_append (which may run in the middle of anything). */
static void journal_woke(struct journal *j, const struct journal_entry *e, void *arg)
{
	struct api *a = arg;

	if (!a->pump_armed) {
		a->pump_armed = true;
		loop_timer_set(a->loop, &a->pump, 0, pump_fire, a);
	}
}

/* --- routing ------------------------------------------------------------ */

static void route(struct conn *c)
{
	struct manager *m = c->api->m;
	const char *method = c->p.method;
	char path[1024], name[UNIT_NAME_MAX + 1], rest[64];
	struct mu *u;
	const char *p, *slash;

	if (http_path_decode(http_request_target(&c->p), path, sizeof(path)) < 0)
		return respond_error(c, 400, "Bad request target.");
	if (!strcmp(path, "/v1/units") || !strcmp(path, "/v1/units/")) {
		if (strcmp(method, "GET"))
			return respond_error(c, 405, "Use GET.");
		return units_list(c);
	}
	if (!strcmp(path, "/v1/unit-files")) {
		if (strcmp(method, "GET"))
			return respond_error(c, 405, "Use GET.");
		return unit_files_list(c);
	}
	if (!strcmp(path, "/v1/daemon-reload")) {
		struct buf b = BUF_INIT;

		if (strcmp(method, "POST"))
			return respond_error(c, 405, "Use POST.");
		manager_daemon_reload(m);
		buf_printf(&b, "{\"units\":%zu}\n", m->nunits);
		return respond_json(c, 200, &b);
	}
	if (!strcmp(path, "/v1/journal")) {
		if (strcmp(method, "GET"))
			return respond_error(c, 405, "Use GET.");
		return journal_query(c);
	}
	if (strncmp(path, "/v1/units/", 10))
		return respond_error(c, 404, "No such route: %s", path);
	p = path + 10;
	slash = strchr(p, '/');
	snprintf(name, sizeof(name), "%.*s", (int)(slash ? (size_t)(slash - p) : strlen(p)), p);
	snprintf(rest, sizeof(rest), "%s", slash ? slash + 1 : "");
	if (!unit_name_is_valid(name))
		return respond_error(c, 400, "Invalid unit name: %s", name);
	if (!strcmp(rest, "file")) {
		if (!strcmp(method, "PUT"))
			return unit_file_put(c, name);
		if (!strcmp(method, "DELETE"))
			return unit_file_remove(c, name);
		if (strcmp(method, "GET"))
			return respond_error(c, 405, "Use GET, PUT or DELETE.");
	}
	u = manager_unit(m, name);
	if (!u)
		return respond_error(c, 503, "Unable to load %s.", name);
	if (!*rest) {
		if (strcmp(method, "GET"))
			return respond_error(c, 405, "Use GET.");
		if (u->load == UNIT_NOT_FOUND && u->active == MU_INACTIVE && !u->job)
			return respond_error(c, 404, "Unit %s could not be found.", name);
		return unit_status(c, u);
	}
	if (!strcmp(rest, "file"))
		return unit_file_get(c, u);
	if (strcmp(method, "POST"))
		return respond_error(c, 405, "Use POST.");
	if (!strcmp(rest, "enable") || !strcmp(rest, "disable"))
		return unit_enable(c, u, rest[0] == 'e');
	if (u->load == UNIT_NOT_FOUND && strcmp(rest, "stop"))
		return respond_error(c, 404, "Unit %s not found.", name);
	unit_action(c, u, rest);
}

/* --- connections -------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	struct api *a = c->api;
	struct conn **pp;

	if (c->waiting) {
		/* The job's callback still holds c: it frees it. */
		if (!c->dead) {
			c->dead = true;
			loop_io_del(a->loop, &c->io);
			close(c->fd);
			c->fd = -1;
		}
		return;
	}
	for (pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	a->nconns--;
	if (c->fd >= 0) {
		loop_io_del(a->loop, &c->io);
		close(c->fd);
	}
	buf_free(&c->in);
	buf_free(&c->body);
	buf_free(&c->out);
	free(c);
}

static void conn_want_write(struct conn *c)
{
	if (c->fd >= 0 && !c->dead)
		loop_io_mod(c->api->loop, &c->io, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
}

/* Parse what has arrived; answer each complete request in turn. */
static void conn_parse(struct conn *c)
{
	/* After a head or a body slice the parser may finish the message
	 * without another byte, so it is called again even with none. */
	while ((c->in.len || c->p.event == HTTP_EV_HEAD || c->p.event == HTTP_EV_BODY) &&
	       !c->waiting && !c->chunked && !c->closing) {
		size_t n = http_parse(&c->p, c->in.data, c->in.len);

		switch (c->p.event) {
		case HTTP_EV_BODY:
			if (buf_append(&c->body, c->p.body, c->p.body_len) < 0) {
				c->closing = true;
				respond_error(c, 503, "out of memory");
			}
			break;
		case HTTP_EV_HEAD:
			if (c->p.expect_continue)
				buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
			break;
		case HTTP_EV_DONE:
			buf_consume(&c->in, n);
			n = 0;
			route(c);
			buf_reset(&c->body);
			if (!c->chunked && !c->waiting)
				http_parser_reset(&c->p);
			break;
		case HTTP_EV_ERROR:
			c->closing = true;
			respond_error(c, c->p.error, "%s", c->p.reason ? c->p.reason : "bad request");
			break;
		default:
			break;
		}
		if (n)
			buf_consume(&c->in, n);
		if (c->p.event == HTTP_EV_NONE)
			break;
	}
	conn_want_write(c);
}

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (events & EPOLLOUT && c->out.len) {
		ssize_t n = send(fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return conn_close(c);
		if (n > 0)
			buf_consume(&c->out, (size_t)n);
		if (c->follow && c->chunked)
			journal_pump(c);
		else if (c->chunked)
			journal_pump(c);
		if (!c->out.len && c->closing && !c->waiting)
			return conn_close(c);
		if (!c->out.len && !c->chunked && !c->waiting && !c->follow) {
			/* A finished journal query lets the next request through. */
			if (!http_parser_idle(&c->p) && c->p.event == HTTP_EV_DONE)
				http_parser_reset(&c->p);
			conn_parse(c);
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (c->waiting) {
				c->closing = true;
				return conn_close(c);
			}
			return conn_close(c);
		}
		if (n > 0) {
			if (c->in.len + (size_t)n > 2 * HTTP_HEADER_BYTES_MAX + API_BODY_MAX)
				return conn_close(c);
			buf_append(&c->in, chunk, (size_t)n);
			conn_parse(c);
		}
	}
	conn_want_write(c);
}

static void accept_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct api *a = arg;

	for (int k = 0; k < 16 && a->nconns < API_CONN_MAX; k++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return;
		/* The socket's mode already keeps others out; check anyway. */
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			return;
		}
		c->api = a;
		c->fd = cfd;
		http_parser_init(&c->p, HTTP_REQUEST);
		c->p.body_max = API_BODY_MAX;
		if (loop_io_add(l, &c->io, cfd, EPOLLIN, conn_event, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = a->conns;
		a->conns = c;
		a->nconns++;
	}
}

struct api *api_start(struct loop *l, struct manager *m, struct journal *j, const char *path,
		      int *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api *a = calloc(1, sizeof(*a));
	mode_t old;

	*r = -ENOMEM;
	if (!a)
		return NULL;
	*r = -ENAMETOOLONG;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= sizeof(sa.sun_path))
		goto fail;
	a->loop = l;
	a->m = m;
	a->j = j;
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		*r = -errno;
		goto fail;
	}
	unlink(path);
	/* Only root: the socket is made with mode 0600. */
	old = umask(0177);
	if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(a->fd, 64) < 0) {
		*r = -errno;
		umask(old);
		close(a->fd);
		goto fail;
	}
	umask(old);
	*r = loop_io_add(l, &a->io, a->fd, EPOLLIN, accept_ready, a);
	if (*r < 0) {
		close(a->fd);
		goto fail;
	}
	if (j)
		journal_set_notify(j, journal_woke, a);
	*r = 0;
	return a;
fail:
	free(a);
	return NULL;
}
