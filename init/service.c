/*
 * The service state machine: systemd's sub-states and transitions
 * (systemd.service(5)) for the Types and options Pith supports. Every
 * function here runs from the event loop and returns at once; progress
 * comes from child exits, notify messages, cgroup events and timers.
 *
 * The path of a start:  dead -> start-pre -> start -> start-post ->
 * running (or exited, for a oneshot that remains). The path of a stop, and
 * of a main process that ended on its own:  stop (ExecStop=) ->
 * stop-sigterm -> stop-sigkill -> stop-post (ExecStopPost=) ->
 * final-sigterm -> final-sigkill -> dead or failed, then auto-restart when
 * Restart= says so. A phase with nothing to do is passed through at once.
 */
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rand.h"

#define USEC_PER_MSEC 1000ULL
/* How long a SIGKILLed group gets to go before the unit is given up. */
#define KILL_WAIT_USEC (10 * 1000000ULL)
/* Polling interval for an empty control group where no watch exists. */
#define CGROUP_POLL_MS 100

static void set_state(struct mu *u, enum mu_active a, enum mu_sub s)
{
	enum mu_active old = u->active;
	uint64_t now = manager_now_usec();

	u->sub = s;
	if (old == a)
		return;
	u->active = a;
	u->state_change_usec = now;
	if (a == MU_ACTIVE && old != MU_RELOADING)
		u->active_enter_usec = now;
	if (a == MU_INACTIVE || a == MU_FAILED)
		u->inactive_enter_usec = now;
	manager_unit_changed(u, old);
}

static void timer_arm(struct mu *u, uint64_t usec, loop_timer_fn *fn)
{
	loop_timer_cancel(u->m->loop, &u->timer);
	if (usec == UV_INFINITY)
		return;
	loop_timer_set(u->m->loop, &u->timer, (usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC, fn, u);
}

/* --- the state machine -------------------------------------------------- */

static void enter_dead(struct mu *u, enum mu_result res);
static void enter_stop(struct mu *u, enum mu_result res);
static void enter_signal(struct mu *u, enum mu_sub sub, enum mu_result res);
static void enter_stop_post(struct mu *u, enum mu_result res);
static void enter_running(struct mu *u);
static void enter_start_post(struct mu *u);
static void reload_answer(struct mu *u, enum job_result r);

static const struct unit_exec *command(struct mu *u, enum service_exec_kind k, size_t i)
{
	const struct unit_exec_list *l = &u->u.service.exec[k];

	return i < l->n ? &l->v[i] : NULL;
}

/* Is a process's end a success for this unit? */
static bool exit_clean(struct mu *u, int st, bool main)
{
	const struct service *s = &u->u.service;

	/* SuccessExitStatus= is about the main process only, as in systemd. */
	if (WIFEXITED(st))
		return WEXITSTATUS(st) == 0 ||
		       (main && uv_status_set_has_code(&s->success_status, WEXITSTATUS(st)));
	if (!WIFSIGNALED(st))
		return false;
	if (main && uv_status_set_has_signal(&s->success_status, WTERMSIG(st)))
		return true;
	/* A daemon told to go by these signals went cleanly (systemd's rule). */
	return main && (WTERMSIG(st) == SIGHUP || WTERMSIG(st) == SIGINT ||
			WTERMSIG(st) == SIGTERM || WTERMSIG(st) == SIGPIPE);
}

static enum mu_result exit_result(int st)
{
	if (WIFEXITED(st))
		return RES_EXIT_CODE;
	return WCOREDUMP(st) ? RES_CORE_DUMP : RES_SIGNAL;
}

static void on_timeout(struct loop *l, void *arg);

static void timeout_for(struct mu *u)
{
	const struct service *s = &u->u.service;
	uint64_t t;

	switch (u->sub) {
	case SUB_START_PRE:
	case SUB_START:
	case SUB_START_POST:
		t = s->timeout_start_usec;
		break;
	case SUB_RELOAD:
		t = s->timeout_start_usec;
		break;
	case SUB_STOP:
	case SUB_STOP_SIGTERM:
	case SUB_STOP_POST:
	case SUB_FINAL_SIGTERM:
		t = s->timeout_stop_usec;
		break;
	case SUB_STOP_SIGKILL:
	case SUB_FINAL_SIGKILL:
		t = KILL_WAIT_USEC;
		break;
	default:
		t = UV_INFINITY;
		break;
	}
	timer_arm(u, t, on_timeout);
}

/* Run command i of kind k as the control process; false if there is none
 * or it could not start (then *failed says so). */
static bool control_run(struct mu *u, enum service_exec_kind k, size_t i, bool *failed)
{
	const struct unit_exec *c = command(u, k, i);
	pid_t pid;

	*failed = false;
	if (!c)
		return false;
	pid = service_exec_run(u, c, true, NULL);
	if (pid < 0) {
		*failed = !(c->flags & UNIT_EXEC_IGNORE_FAILURE);
		return false;
	}
	u->control_pid = pid;
	u->control_kind = k;
	u->control_index = i;
	return true;
}

/* systemd's rate limit: at most burst starts in a window that opens with
 * the first start after the last one closed. */
static bool start_limit_hit(struct mu *u)
{
	uint64_t now = loop_now_ms() * USEC_PER_MSEC, win = u->u.start_limit_interval_usec;
	unsigned burst = u->u.start_limit_burst;

	if (!burst || !win)
		return false;
	if (!u->nstarts || now - u->start_window >= win) {
		u->start_window = now;
		u->nstarts = 0;
	}
	if (u->nstarts >= burst)
		return true;
	u->nstarts++;
	return false;
}

static bool conditions_hold(struct mu *u, const struct unit_conds *c, bool *any_trigger)
{
	bool trig_seen = false, trig_ok = false;

	for (size_t i = 0; i < c->n; i++) {
		bool ok = (access(c->v[i].path, F_OK) == 0) != c->v[i].negate;

		if (c->v[i].trigger) {
			trig_seen = true;
			trig_ok |= ok;
		} else if (!ok) {
			log_info("%s: %s=%s%s not met", u->name,
				 c == &u->u.asserts ? "AssertPathExists" : "ConditionPathExists",
				 c->v[i].negate ? "!" : "", c->v[i].path);
			return false;
		}
	}
	*any_trigger = trig_seen;
	return !trig_seen || trig_ok;
}

static void invocation_new(struct mu *u)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];

	/* Not /dev/urandom: before the kernel's pool is ready, reading it
	 * makes the kernel generate entropy until it is, and PID 1 waits. */
	rand_id_bytes(b, sizeof(b));
	for (int i = 0; i < 16; i++) {
		u->invocation[2 * i] = hex[b[i] >> 4];
		u->invocation[2 * i + 1] = hex[b[i] & 15];
	}
	u->invocation[32] = 0;
}

static void cgroup_prepare(struct mu *u)
{
	const struct service *s = &u->u.service;
	struct cg_limits l;
	unsigned missing = 0;
	int r;

	if (!u->m->cg)
		return;
	r = cg_unit_create(u->m->cg, u->name);
	if (r < 0) {
		log_warn("%s: unable to create its control group: %s", u->name, strerror(-r));
		return;
	}
	u->cgroup = true;
	cg_watch_unit(u->m->cg, u->name);
	cg_limits_init(&l);
	if (s->memory_max.value != UNIT_LIMIT_UNSET && !s->memory_max.relative)
		l.memory_max = s->memory_max.value == UNIT_LIMIT_INFINITY ? CG_NO_LIMIT : s->memory_max.value;
	if (s->memory_high.value != UNIT_LIMIT_UNSET && !s->memory_high.relative)
		l.memory_high = s->memory_high.value == UNIT_LIMIT_INFINITY ? CG_NO_LIMIT : s->memory_high.value;
	if (s->memory_max.relative || s->memory_high.relative || s->tasks_max.relative) {
		/* Shares of the machine: physical memory, the kernel's pid limit,
		 * read once. */
		static uint64_t mem, pids;

		if (!mem) {
			struct buf b = BUF_INIT;

			mem = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
			pids = 4194304;
			if (unit_file_read("/proc/sys/kernel/pid_max", 64, &b) == 0 && b.data)
				pids = strtoull(b.data, NULL, 10);
			buf_free(&b);
		}
		if (s->memory_max.relative)
			l.memory_max = mem / 10000 * s->memory_max.value;
		if (s->memory_high.relative)
			l.memory_high = mem / 10000 * s->memory_high.value;
		if (s->tasks_max.relative && s->tasks_max.value != UNIT_LIMIT_UNSET)
			l.tasks_max = pids * s->tasks_max.value / 10000;
	}
	if (!s->tasks_max.relative && s->tasks_max.value != UNIT_LIMIT_UNSET)
		l.tasks_max = s->tasks_max.value == UNIT_LIMIT_INFINITY ? CG_NO_LIMIT : s->tasks_max.value;
	if (s->cpu_weight)
		l.cpu_weight = s->cpu_weight;
	if (s->io_weight)
		l.io_weight = s->io_weight;
	if (s->cpu_quota)
		l.cpu_quota_per_ten_thousand = s->cpu_quota;
	/* Beyond what the kernel takes is the same as no limit. */
	if (l.tasks_max != CG_UNSET && l.tasks_max != CG_NO_LIMIT && l.tasks_max > 4194304)
		l.tasks_max = CG_NO_LIMIT;
	if (l.cpu_quota_per_ten_thousand != CG_UNSET && l.cpu_quota_per_ten_thousand != CG_NO_LIMIT &&
	    l.cpu_quota_per_ten_thousand > CG_CPU_QUOTA_MAX)
		l.cpu_quota_per_ten_thousand = CG_NO_LIMIT;
	r = cg_unit_limits_apply(u->m->cg, u->name, &l, &missing);
	if (r < 0)
		log_warn("%s: unable to set its resource limits: %s", u->name, strerror(-r));
	if (missing)
		log_debug("%s: some resource controls are not available here (mask %#x)", u->name, missing);
	{
		struct cg_stats st;

		if (cg_unit_stats(u->m->cg, u->name, &st) == 0 && st.oom_kills != CG_UNKNOWN)
			u->oom_kills = st.oom_kills;
	}
}

static void enter_start_cmd(struct mu *u);

static void enter_start_pre(struct mu *u, size_t i)
{
	bool failed;

	if (control_run(u, EXEC_START_PRE, i, &failed)) {
		set_state(u, MU_ACTIVATING, SUB_START_PRE);
		timeout_for(u);
		return;
	}
	if (failed) {
		enter_signal(u, SUB_STOP_SIGTERM, RES_RESOURCES);
		return;
	}
	if (command(u, EXEC_START_PRE, i))	/* '-' and could not run: go on */
		return enter_start_pre(u, i + 1);
	enter_start_cmd(u);
}

static void enter_start_cmd(struct mu *u)
{
	const struct service *s = &u->u.service;
	const struct unit_exec *c = command(u, EXEC_START, u->main_index);
	bool spawn_failed = false;
	pid_t pid;

	if (!c) {
		/* A oneshot without ExecStart=, or past its last one. */
		enter_start_post(u);
		return;
	}
	pid = service_exec_run(u, c, s->type == SERVICE_FORKING, &spawn_failed);
	if (pid < 0) {
		enter_signal(u, SUB_STOP_SIGTERM, RES_RESOURCES);
		return;
	}
	if (s->type == SERVICE_FORKING) {
		u->control_pid = pid;
		u->control_kind = EXEC_START;
		u->control_index = u->main_index;
	} else {
		u->main_pid = pid;
		u->main_exited = false;
	}
	switch (s->type) {
	case SERVICE_EXEC:
		/* Type=exec is started only once exec succeeded; run() knows. */
		if (spawn_failed && !(c->flags & UNIT_EXEC_IGNORE_FAILURE)) {
			set_state(u, MU_ACTIVATING, SUB_START);
			enter_signal(u, SUB_STOP_SIGTERM, RES_EXIT_CODE);
			break;
		}
		enter_start_post(u);
		break;
	case SERVICE_SIMPLE:
		/* Started once forked; a failed exec is the main process's exit. */
		enter_start_post(u);
		break;
	default:
		set_state(u, MU_ACTIVATING, SUB_START);
		timeout_for(u);
		break;
	}
}

int unit_conditions_check(struct mu *u)
{
	bool trig;

	if (!conditions_hold(u, &u->u.conditions, &trig))
		return -ECANCELED;
	if (!conditions_hold(u, &u->u.asserts, &trig)) {
		log_warn("%s: an assertion failed; not starting", u->name);
		return -EINVAL;
	}
	return 0;
}

int service_start(struct mu *u)
{
	int r;

	if (u->sub == SUB_AUTO_RESTART)
		loop_timer_cancel(u->m->loop, &u->timer);
	u->result = RES_SUCCESS;	/* an earlier failure says nothing now */
	r = unit_conditions_check(u);
	if (r < 0) {
		/* Not started, and not failed either: the job says so. */
		set_state(u, MU_INACTIVE, SUB_DEAD);
		return r;
	}
	if (start_limit_hit(u)) {
		log_warn("%s: start request repeated too quickly", u->name);
		u->result = RES_START_LIMIT;
		set_state(u, MU_FAILED, SUB_FAILED);
		return -EAGAIN;
	}
	u->result = RES_SUCCESS;
	u->main_pid = u->control_pid = 0;
	u->main_index = 0;
	u->main_exited = false;
	u->ready = false;
	u->started_ok = false;
	u->stop_requested = false;
	u->status_text[0] = 0;
	u->main_code = u->main_status = 0;
	invocation_new(u);
	cgroup_prepare(u);
	enter_start_pre(u, 0);
	return 0;
}

static void enter_start_post_cmd(struct mu *u, size_t i)
{
	bool failed;

	if (control_run(u, EXEC_START_POST, i, &failed)) {
		set_state(u, MU_ACTIVATING, SUB_START_POST);
		timeout_for(u);
		return;
	}
	if (failed) {
		enter_stop(u, RES_RESOURCES);
		return;
	}
	if (command(u, EXEC_START_POST, i))
		return enter_start_post_cmd(u, i + 1);
	enter_running(u);
}

static void enter_start_post(struct mu *u)
{
	enter_start_post_cmd(u, 0);
}

static void watchdog_fired(struct loop *l, void *arg)
{
	struct mu *u = arg;

	log_warn("%s: watchdog timeout; killing it", u->name);
	u->result = RES_WATCHDOG;
	enter_signal(u, SUB_STOP_SIGTERM, RES_WATCHDOG);
}

static void watchdog_arm(struct mu *u)
{
	uint64_t t = u->u.service.watchdog_usec;

	loop_timer_cancel(u->m->loop, &u->watchdog);
	if (t && t != UV_INFINITY && u->main_pid > 0)
		loop_timer_set(u->m->loop, &u->watchdog, t / USEC_PER_MSEC, watchdog_fired, u);
}

static void enter_running(struct mu *u)
{
	const struct service *s = &u->u.service;

	loop_timer_cancel(u->m->loop, &u->timer);
	u->started_ok = true;
	if (u->main_pid > 0 && !u->main_exited) {
		set_state(u, MU_ACTIVE, SUB_RUNNING);
		watchdog_arm(u);
	} else if (s->remain_after_exit) {
		set_state(u, MU_ACTIVE, SUB_EXITED);
	} else {
		/* Nothing left running: the service is done, as a stop. */
		enter_stop(u, RES_SUCCESS);
	}
}

/* Who gets the signal of sub, as KillMode= says. */
static void kill_unit(struct mu *u, int sig, bool all)
{
	const struct service *s = &u->u.service;
	bool group = s->kill_mode == KILL_CONTROL_GROUP || (s->kill_mode == KILL_MIXED && all);

	if (s->kill_mode == KILL_NONE)
		return;		/* no process is killed, in any phase */
	if (u->main_pid > 0 && !u->main_exited) {
		kill(u->main_pid, sig);
		if (sig != SIGKILL)
			kill(u->main_pid, SIGCONT);
	}
	if (u->control_pid > 0) {
		kill(u->control_pid, sig);
		if (sig != SIGKILL)
			kill(u->control_pid, SIGCONT);
	}
	if (group && u->cgroup) {
		int r = cg_unit_kill(u->m->cg, u->name, sig);

		if (r > 0 && sig != SIGKILL)
			cg_unit_kill(u->m->cg, u->name, SIGCONT);
	}
}

/* Anything of u still running that kill phase sub must wait for? */
static bool has_processes(struct mu *u, enum mu_sub sub)
{
	const struct service *s = &u->u.service;

	/* KillMode=none: what is left is left running, unwatched. */
	if (s->kill_mode == KILL_NONE)
		return u->control_pid > 0;
	/* KillMode=mixed: the SIGTERM phase waits for the main process only;
	 * the rest of the group gets SIGKILL in the final phase. */
	if (s->kill_mode == KILL_MIXED && sub == SUB_STOP_SIGTERM &&
	    !((u->main_pid > 0 && !u->main_exited) || u->control_pid > 0))
		return false;

	if ((u->main_pid > 0 && !u->main_exited) || u->control_pid > 0)
		return true;
	if (u->cgroup && s->kill_mode != KILL_PROCESS && s->kill_mode != KILL_NONE)
		return cg_unit_populated(u->m->cg, u->name) == 1;
	return false;
}

static void poll_empty(struct loop *l, void *arg);

static void enter_signal(struct mu *u, enum mu_sub sub, enum mu_result res)
{
	const struct service *s = &u->u.service;
	bool final = sub == SUB_FINAL_SIGTERM || sub == SUB_FINAL_SIGKILL;
	bool kill9 = sub == SUB_STOP_SIGKILL || sub == SUB_FINAL_SIGKILL;

	if (u->result == RES_SUCCESS)
		u->result = res;
	loop_timer_cancel(u->m->loop, &u->watchdog);
	if (kill9 && !s->send_sigkill) {
		/* SendSIGKILL=no: leave them be. */
		final ? enter_dead(u, RES_SUCCESS) : enter_stop_post(u, RES_SUCCESS);
		return;
	}
	if (final && s->kill_mode == KILL_MIXED)
		kill9 = true;
	kill_unit(u, kill9 ? SIGKILL : u->result == RES_WATCHDOG ? SIGABRT : s->kill_signal, kill9 || final);
	if (!has_processes(u, sub)) {
		final ? enter_dead(u, RES_SUCCESS) : enter_stop_post(u, RES_SUCCESS);
		return;
	}
	set_state(u, MU_DEACTIVATING, sub);
	timeout_for(u);
	/* The group's emptiness is watched; poll too where no watch exists. */
	if (u->cgroup)
		loop_timer_set(u->m->loop, &u->watchdog, CGROUP_POLL_MS, poll_empty, u);
}

/* After a kill phase: has everything gone? Then move on. */
static void kill_phase_check(struct mu *u)
{
	if (has_processes(u, u->sub))
		return;
	switch (u->sub) {
	case SUB_STOP_SIGTERM:
	case SUB_STOP_SIGKILL:
		enter_stop_post(u, RES_SUCCESS);
		break;
	case SUB_FINAL_SIGTERM:
	case SUB_FINAL_SIGKILL:
		enter_dead(u, RES_SUCCESS);
		break;
	default:
		break;
	}
}

static void poll_empty(struct loop *l, void *arg)
{
	struct mu *u = arg;

	if (u->sub != SUB_STOP_SIGTERM && u->sub != SUB_STOP_SIGKILL &&
	    u->sub != SUB_FINAL_SIGTERM && u->sub != SUB_FINAL_SIGKILL)
		return;
	kill_phase_check(u);
	if (u->sub == SUB_STOP_SIGTERM || u->sub == SUB_STOP_SIGKILL ||
	    u->sub == SUB_FINAL_SIGTERM || u->sub == SUB_FINAL_SIGKILL)
		loop_timer_set(l, &u->watchdog, CGROUP_POLL_MS, poll_empty, u);
}

static void enter_stop_cmd(struct mu *u, size_t i)
{
	bool failed;

	if (control_run(u, EXEC_STOP, i, &failed)) {
		set_state(u, MU_DEACTIVATING, SUB_STOP);
		timeout_for(u);
		return;
	}
	if (command(u, EXEC_STOP, i) && !failed)
		return enter_stop_cmd(u, i + 1);
	enter_signal(u, SUB_STOP_SIGTERM, failed ? RES_EXIT_CODE : RES_SUCCESS);
}

static void enter_stop(struct mu *u, enum mu_result res)
{
	reload_answer(u, JOB_CANCELED);
	if (u->result == RES_SUCCESS)
		u->result = res;
	loop_timer_cancel(u->m->loop, &u->watchdog);
	/* ExecStop= runs only for a service that started successfully
	 * (systemd.service(5)): one that got as far as running, or a oneshot
	 * whose commands all succeeded. */
	if (u->started_ok)
		enter_stop_cmd(u, 0);
	else
		enter_signal(u, SUB_STOP_SIGTERM, RES_SUCCESS);
}

static void enter_stop_post_cmd(struct mu *u, size_t i)
{
	bool failed;

	if (control_run(u, EXEC_STOP_POST, i, &failed)) {
		set_state(u, MU_DEACTIVATING, SUB_STOP_POST);
		timeout_for(u);
		return;
	}
	if (command(u, EXEC_STOP_POST, i))
		return enter_stop_post_cmd(u, i + 1);
	enter_signal(u, SUB_FINAL_SIGTERM, RES_SUCCESS);
}

static void enter_stop_post(struct mu *u, enum mu_result res)
{
	if (u->result == RES_SUCCESS)
		u->result = res;
	enter_stop_post_cmd(u, 0);
}

/* Did the main process end in a way RestartPreventExitStatus= names? Only
 * its ending in this run counts, whatever the result (systemd.service(5)). */
static bool restart_prevented(const struct mu *u)
{
	const struct uv_status_set *p = &u->u.service.restart_prevent_status;

	if (u->main_code == CLD_EXITED)
		return uv_status_set_has_code(p, u->main_status);
	if (u->main_code == CLD_KILLED || u->main_code == CLD_DUMPED)
		return uv_status_set_has_signal(p, u->main_status);
	return false;
}

static bool should_restart(struct mu *u)
{
	enum mu_result r = u->result;

	if (u->stop_requested || u->m->shutting_down || r == RES_START_LIMIT)
		return false;
	if (u->u.service.restart != RESTART_NO && restart_prevented(u)) {
		log_info("%s: main process %s %d: not restarted (RestartPreventExitStatus=)",
			 u->name, u->main_code == CLD_EXITED ? "exited with status" :
			 "was killed by signal", u->main_status);
		return false;
	}
	switch (u->u.service.restart) {
	case RESTART_NO: return false;
	case RESTART_ALWAYS: return true;
	case RESTART_ON_SUCCESS: return r == RES_SUCCESS;
	case RESTART_ON_FAILURE: return r != RES_SUCCESS;
	case RESTART_ON_ABNORMAL:
		return r == RES_SIGNAL || r == RES_CORE_DUMP || r == RES_TIMEOUT || r == RES_WATCHDOG;
	case RESTART_ON_WATCHDOG: return r == RES_WATCHDOG;
	case RESTART_ON_ABORT: return r == RES_SIGNAL || r == RES_CORE_DUMP;
	}
	return false;
}

static void restart_fire(struct loop *l, void *arg)
{
	struct mu *u = arg;

	u->restarts++;
	log_info("%s: scheduled restart, restart counter is at %u", u->name, u->restarts);
	if (service_start(u) < 0 && u->active != MU_FAILED)
		set_state(u, MU_FAILED, SUB_FAILED);
}

static void enter_dead(struct mu *u, enum mu_result res)
{
	if (u->result == RES_SUCCESS)
		u->result = res;
	loop_timer_cancel(u->m->loop, &u->timer);
	loop_timer_cancel(u->m->loop, &u->watchdog);
	u->main_pid = 0;
	u->control_pid = 0;
	if (should_restart(u)) {
		/* The group stays for the restart: it is empty, and making it
		 * again would only cost time. */
		/* systemd 252 shows a unit waiting to restart as activating. */
		set_state(u, MU_ACTIVATING, SUB_AUTO_RESTART);
		loop_timer_set(u->m->loop, &u->timer, u->u.service.restart_usec / USEC_PER_MSEC,
			       restart_fire, u);
		return;
	}
	if (u->cgroup) {
		cg_unwatch_unit(u->m->cg, u->name);
		if (cg_unit_remove(u->m->cg, u->name) == 0)
			u->cgroup = false;
	}
	if (u->result == RES_SUCCESS)
		set_state(u, MU_INACTIVE, SUB_DEAD);
	else
		set_state(u, MU_FAILED, SUB_FAILED);
}

int service_stop(struct mu *u)
{
	u->stop_requested = true;
	switch (u->sub) {
	case SUB_AUTO_RESTART:
		loop_timer_cancel(u->m->loop, &u->timer);
		if (u->cgroup) {
			cg_unwatch_unit(u->m->cg, u->name);
			if (cg_unit_remove(u->m->cg, u->name) == 0)
				u->cgroup = false;
		}
		set_state(u, MU_INACTIVE, SUB_DEAD);
		return 0;
	case SUB_DEAD:
	case SUB_FAILED:
	case SUB_CONDITION:
		set_state(u, u->active == MU_FAILED ? MU_FAILED : MU_INACTIVE, u->sub);
		return 0;
	case SUB_START_PRE:
	case SUB_START:
	case SUB_START_POST:
		/* Cut short: no ExecStop=, straight to the kill. */
		enter_signal(u, SUB_STOP_SIGTERM, RES_SUCCESS);
		return 0;
	case SUB_RUNNING:
	case SUB_EXITED:
	case SUB_RELOAD:
		enter_stop(u, RES_SUCCESS);
		return 0;
	default:
		/* Already on its way down. */
		return 0;
	}
}

int service_reload(struct mu *u)
{
	bool failed;

	if (u->sub != SUB_RUNNING && u->sub != SUB_EXITED)
		return -EBUSY;
	if (!control_run(u, EXEC_RELOAD, 0, &failed))
		return failed ? -EIO : -EOPNOTSUPP;
	set_state(u, MU_RELOADING, SUB_RELOAD);
	timeout_for(u);
	return 0;
}

/* Tell whoever asked for a reload how it went. */
static void reload_answer(struct mu *u, enum job_result r)
{
	job_done_fn *fn = u->reload_done;

	u->reload_done = NULL;
	if (fn)
		fn(u->reload_arg, u, r);
}

/* The next command of the running control process's list, or what follows it. */
static void control_done(struct mu *u, bool ok)
{
	size_t next = u->control_index + 1;
	bool failed;

	u->control_pid = 0;
	switch (u->sub) {
	case SUB_START_PRE:
		if (!ok)
			return enter_signal(u, SUB_STOP_SIGTERM, RES_EXIT_CODE);
		return enter_start_pre(u, next);
	case SUB_START:
		/* Type=forking: the parent exited. */
		if (!ok)
			return enter_signal(u, SUB_STOP_SIGTERM, RES_EXIT_CODE);
		if (u->u.service.pid_file) {
			struct buf b = BUF_INIT;

			if (unit_file_read(u->u.service.pid_file, 64, &b) == 0 && b.data)
				u->main_pid = (pid_t)strtol(b.data, NULL, 10);
			buf_free(&b);
		}
		if (u->main_pid <= 0 && u->cgroup) {
			pid_t pids[2];

			/* Without PIDFile=, the one process left is the main one. */
			if (cg_unit_pids(u->m->cg, u->name, pids, 2) == 1)
				u->main_pid = pids[0];
		}
		u->main_exited = u->main_pid <= 0 || kill(u->main_pid, 0) < 0;
		if (u->main_exited)
			u->main_pid = 0;
		return enter_start_post(u);
	case SUB_START_POST:
		if (!ok)
			return enter_stop(u, RES_EXIT_CODE);
		return enter_start_post_cmd(u, next);
	case SUB_RELOAD:
		if (!ok)
			log_warn("%s: reload failed", u->name);
		else if (control_run(u, EXEC_RELOAD, next, &failed))
			return;
		loop_timer_cancel(u->m->loop, &u->timer);
		set_state(u, MU_ACTIVE, u->main_pid > 0 && !u->main_exited ? SUB_RUNNING : SUB_EXITED);
		reload_answer(u, ok && !failed ? JOB_DONE : JOB_FAILED);
		return;
	case SUB_STOP:
		if (ok && control_run(u, EXEC_STOP, next, &failed))
			return;
		return enter_signal(u, SUB_STOP_SIGTERM, ok ? RES_SUCCESS : RES_EXIT_CODE);
	case SUB_STOP_POST:
		if (control_run(u, EXEC_STOP_POST, next, &failed))
			return;
		return enter_signal(u, SUB_FINAL_SIGTERM, RES_SUCCESS);
	default:
		kill_phase_check(u);
		return;
	}
}

static void main_done(struct mu *u, int st)
{
	const struct service *s = &u->u.service;
	const struct unit_exec *c = command(u, EXEC_START, u->main_index);
	bool ok = exit_clean(u, st, true) || (c && (c->flags & UNIT_EXEC_IGNORE_FAILURE));

	u->main_exited = true;
	u->main_code = WIFEXITED(st) ? CLD_EXITED : WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED;
	u->main_status = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
	if (u->stop_requested && WIFSIGNALED(st) && WTERMSIG(st) == s->kill_signal)
		ok = true;
	switch (u->sub) {
	case SUB_START:
		if (s->type == SERVICE_ONESHOT) {
			if (!ok)
				return enter_signal(u, SUB_STOP_SIGTERM, exit_result(st));
			u->main_index++;
			u->main_pid = 0;
			if (command(u, EXEC_START, u->main_index))
				return enter_start_cmd(u);
			return enter_start_post(u);
		}
		/* notify: gone before READY=1 */
		return enter_signal(u, SUB_STOP_SIGTERM, ok ? RES_PROTOCOL : exit_result(st));
	case SUB_START_POST:
		if (!ok)
			enter_stop(u, exit_result(st));
		return;
	case SUB_RUNNING:
	case SUB_RELOAD:
		if (ok && s->remain_after_exit) {
			/* Done, and remembered as active: ExecStop= runs on stop. */
			loop_timer_cancel(u->m->loop, &u->watchdog);
			u->main_pid = 0;
			set_state(u, MU_ACTIVE, SUB_EXITED);
			return;
		}
		enter_stop(u, ok ? RES_SUCCESS : exit_result(st));
		return;
	default:
		kill_phase_check(u);
		return;
	}
}

void service_child_exited(struct mu *u, pid_t pid, int st)
{
	if (pid == u->main_pid && !u->main_exited) {
		if (!exit_clean(u, st, true))
			log_info("%s: main process %d %s %d", u->name, (int)pid,
				 WIFEXITED(st) ? "exited with status" : "was killed by signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		main_done(u, st);
	} else if (pid == u->control_pid) {
		const struct unit_exec *c = command(u, u->control_kind, u->control_index);
		bool ok = exit_clean(u, st, false) || (c && (c->flags & UNIT_EXEC_IGNORE_FAILURE));

		if (!exit_clean(u, st, false))
			log_info("%s: %s process %d %s %d%s", u->name,
				 unit_exec_kind_name(u->control_kind), (int)pid,
				 WIFEXITED(st) ? "exited with status" : "was killed by signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), ok ? " (ignored)" : "");
		control_done(u, ok);
	}
}

static void on_timeout(struct loop *l, void *arg)
{
	struct mu *u = arg;

	log_warn("%s: %s timed out", u->name, mu_sub_name(u->sub));
	switch (u->sub) {
	case SUB_START_PRE:
	case SUB_START:
	case SUB_START_POST:
		enter_signal(u, SUB_STOP_SIGTERM, RES_TIMEOUT);
		break;
	case SUB_RELOAD:
		set_state(u, MU_ACTIVE, u->main_pid > 0 && !u->main_exited ? SUB_RUNNING : SUB_EXITED);
		reload_answer(u, JOB_TIMEOUT);
		break;
	case SUB_STOP:
		enter_signal(u, SUB_STOP_SIGTERM, RES_TIMEOUT);
		break;
	case SUB_STOP_SIGTERM:
		enter_signal(u, SUB_STOP_SIGKILL, RES_TIMEOUT);
		break;
	case SUB_STOP_SIGKILL:
		log_warn("%s: processes still around after SIGKILL; ignoring them", u->name);
		enter_stop_post(u, RES_TIMEOUT);
		break;
	case SUB_STOP_POST:
		enter_signal(u, SUB_FINAL_SIGTERM, RES_TIMEOUT);
		break;
	case SUB_FINAL_SIGTERM:
		enter_signal(u, SUB_FINAL_SIGKILL, RES_TIMEOUT);
		break;
	case SUB_FINAL_SIGKILL:
		log_warn("%s: processes still around after SIGKILL; ignoring them", u->name);
		enter_dead(u, RES_TIMEOUT);
		break;
	default:
		break;
	}
}

void service_notify(struct mu *u, pid_t pid, const char *msg, size_t len)
{
	const struct service *s = &u->u.service;
	enum notify_access acc = s->notify_access;
	bool ready = false, stopping = false, watchdog = false;
	const char *p = msg, *end = msg + len;

	if (acc == NOTIFY_NONE || (acc == NOTIFY_MAIN && pid != u->main_pid) ||
	    (acc == NOTIFY_EXEC && pid != u->main_pid && pid != u->control_pid)) {
		log_warn("%s: notify message from pid %d refused (NotifyAccess=)", u->name, (int)pid);
		return;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n == 7 && !memcmp(p, "READY=1", 7))
			ready = true;
		else if (n == 10 && !memcmp(p, "STOPPING=1", 10))
			stopping = true;
		else if (n == 10 && !memcmp(p, "WATCHDOG=1", 10))
			watchdog = true;
		else if (n >= 7 && !memcmp(p, "STATUS=", 7))
			snprintf(u->status_text, sizeof(u->status_text), "%.*s", (int)(n - 7), p + 7);
		else if (n > 8 && !memcmp(p, "MAINPID=", 8) && (acc == NOTIFY_ALL || pid == u->main_pid ||
								 pid == u->control_pid)) {
			char num[16];
			long v;

			snprintf(num, sizeof(num), "%.*s", (int)(n - 8), p + 8);
			v = strtol(num, NULL, 10);
			if (v > 1) {
				u->main_pid = (pid_t)v;
				u->main_exited = false;
			}
		}
		p += n + 1;
	}
	if (watchdog && u->sub == SUB_RUNNING)
		watchdog_arm(u);
	if (ready && !u->ready) {
		u->ready = true;
		if (s->type == SERVICE_NOTIFY && u->sub == SUB_START)
			enter_start_post(u);
	}
	if (stopping && (u->sub == SUB_RUNNING || u->sub == SUB_EXITED)) {
		/* The service is on its way down by itself: wait for it under
		 * TimeoutStopSec=, as after a SIGTERM, without sending one. */
		loop_timer_cancel(u->m->loop, &u->watchdog);
		set_state(u, MU_DEACTIVATING, SUB_STOP_SIGTERM);
		timeout_for(u);
	}
}

void service_cgroup_event(struct mu *u, bool memory)
{
	if (memory) {
		struct cg_stats st;

		if (cg_unit_stats(u->m->cg, u->name, &st) == 0 && st.oom_kills != CG_UNKNOWN &&
		    st.oom_kills > u->oom_kills) {
			u->oom_kills = st.oom_kills;
			log_warn("%s: a process of the unit was killed by the OOM killer", u->name);
			if (u->active == MU_ACTIVE || u->active == MU_ACTIVATING ||
			    u->active == MU_RELOADING) {
				u->result = RES_OOM_KILL;
				enter_stop(u, RES_OOM_KILL);
			} else if (u->result == RES_SUCCESS) {
				u->result = RES_OOM_KILL;
			}
		}
		return;
	}
	kill_phase_check(u);
}

void service_release(struct mu *u)
{
	loop_timer_cancel(u->m->loop, &u->timer);
	loop_timer_cancel(u->m->loop, &u->watchdog);
}
