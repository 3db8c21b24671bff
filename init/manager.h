/*
 * The unit manager: every unit PID 1 knows, their jobs, and the service
 * state machine that runs them (systemd's model, in the subset Pith
 * supports; docs/units.md).
 *
 * Loading: units are loaded by name from the search directories, with
 * everything they name (dependencies, .wants/ and .requires/ links) loaded
 * in turn, and fed into a unit_graph. Jobs: a request (start hello.service)
 * becomes a transaction over that graph (lib/unit_graph.h); each job runs
 * when the jobs it waits for have finished, and finishes when its unit
 * reaches the state it asked for or cannot. Services: an explicit state
 * machine per unit (struct mu, sub-states as systemd names them), driven by
 * child exits, notify messages and timers from PID 1's one event loop.
 *
 * Nothing here blocks: processes are forked and reaped, timers are loop
 * timers, output is read when the loop says it is readable.
 */
#ifndef PITH_INIT_MANAGER_H
#define PITH_INIT_MANAGER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "journal.h"
#include "loop.h"
#include "unit.h"
#include "unit_graph.h"
#include "unit_load.h"

/* Units one manager holds, whatever the files say. */
#define MANAGER_UNITS_MAX 20000
/* Search directories. */
#define MANAGER_DIRS_MAX 8
/* Bytes of one sd_notify datagram. */
#define NOTIFY_MSG_MAX 4096

enum mu_active {
	MU_INACTIVE,
	MU_ACTIVATING,
	MU_ACTIVE,
	MU_RELOADING,
	MU_DEACTIVATING,
	MU_FAILED,
};

enum mu_sub {
	SUB_DEAD,
	SUB_CONDITION,
	SUB_START_PRE,
	SUB_START,
	SUB_START_POST,
	SUB_RUNNING,
	SUB_EXITED,
	SUB_RELOAD,
	SUB_STOP,
	SUB_STOP_SIGTERM,
	SUB_STOP_SIGKILL,
	SUB_STOP_POST,
	SUB_FINAL_SIGTERM,
	SUB_FINAL_SIGKILL,
	SUB_FAILED,
	SUB_AUTO_RESTART,
	SUB_ACTIVE,		/* targets */
};

enum mu_result {
	RES_SUCCESS,
	RES_EXIT_CODE,
	RES_SIGNAL,
	RES_CORE_DUMP,
	RES_TIMEOUT,
	RES_WATCHDOG,
	RES_START_LIMIT,
	RES_OOM_KILL,
	RES_RESOURCES,
	RES_PROTOCOL,
};

enum job_result {
	JOB_DONE,
	JOB_FAILED,
	JOB_DEPENDENCY,
	JOB_TIMEOUT,
	JOB_CANCELED,
	JOB_SKIPPED,
	JOB_UNSUPPORTED,
	JOB_INVALID,
};

/* systemctl's words for each. */
const char *mu_active_name(enum mu_active a);
const char *mu_sub_name(enum mu_sub s);
const char *mu_result_name(enum mu_result r);
const char *job_result_name(enum job_result r);

struct manager;
struct mu;
struct job;

/* Called once when a job finishes, with its result. */
typedef void job_done_fn(void *arg, struct mu *u, enum job_result r);

struct job_waiter {
	job_done_fn *fn;
	void *arg;
	struct job_waiter *next;
};

struct job {
	struct mu *unit;
	enum ug_job_type type;
	bool running;
	bool restart_stopped;		/* a restart whose stop half is done */
	struct job **waits;		/* jobs to finish first; NULL when finished */
	size_t nwaits;
	struct job_waiter *waiters;
	struct job *next;		/* in the manager's list */
};

/* A process of a unit whose output is being read. */
struct mu_output;

/* One managed unit. */
struct mu {
	struct manager *m;
	char name[UNIT_NAME_MAX + 1];
	unsigned id;			/* in m->graph */
	struct unit u;			/* as loaded; u.name is NULL when never loaded */
	enum unit_load_state load;
	enum mu_active active;
	enum mu_sub sub;
	enum mu_result result;
	struct job *job;

	pid_t main_pid, control_pid;
	enum service_exec_kind control_kind;
	size_t control_index;		/* the command of control_kind running */
	size_t main_index;		/* oneshot: the ExecStart= command running */
	bool main_exited;		/* main_pid has been reaped */
	int main_code, main_status;	/* CLD_EXITED/KILLED/DUMPED and status */
	bool stop_requested;		/* a stop job, not the service, ended it */
	bool ready;			/* READY=1 seen (Type=notify) */
	bool cgroup;			/* its control group exists */
	uint64_t oom_kills;

	struct loop_timer timer;	/* timeouts and RestartSec= */
	struct loop_timer watchdog;
	uint64_t state_change_usec, active_enter_usec, inactive_enter_usec;
	uint64_t start_window;		/* monotonic usec the start limit's window opened */
	unsigned nstarts;		/* starts in that window */
	bool started_ok;		/* reached running (or a oneshot finished): ExecStop= runs */
	unsigned restarts;
	char status_text[256];
	char invocation[33];
	job_done_fn *reload_done;	/* answers a reload when ExecReload= ends */
	void *reload_arg;
};

struct manager {
	struct loop *loop;
	struct unit_graph graph;
	struct mu **units;		/* by graph id */
	size_t nunits, cap_units;
	struct job *jobs;
	const char *dirs[MANAGER_DIRS_MAX + 1];
	char etc_dir[1024];		/* where enable links and uploaded files go */
	char run_dir[1024];		/* runtime state: the notify socket */
	char notify_addr[108];		/* what NOTIFY_SOCKET says: a path, or "@name" */
	struct cg *cg;			/* NULL: processes stay in PID 1's group */
	struct journal *journal;
	const struct unit_spec_env *env;
	int notify_fd;
	struct loop_io notify_io;
	struct loop_io cg_io;
	struct loop_timer cg_poll;	/* where inotify is missing: look for OOM kills */
	int dispatching;		/* 1 inside dispatch(), 2: go round again */
	bool shutting_down;
};

struct manager_config {
	struct loop *loop;
	const char *const *dirs;	/* search directories, first wins; NULL-terminated */
	const char *etc_dir;		/* the first of them, writable */
	const char *run_dir;		/* e.g. /run/pith */
	struct cg *cg;
	struct journal *journal;
	const struct unit_spec_env *env;
};

int manager_init(struct manager *m, const struct manager_config *c);

/*
 * The unit called name: the entry already known, or else one loaded from
 * its file (with what it names). A name that nothing has named and that no
 * file (nor a built-in unit) defines gets no entry: a lookup of a unit that
 * does not exist leaves nothing behind, however many are made. 0 with *u
 * set; -ENOENT for such a name; -EINVAL for an invalid one; -ENOSPC past
 * MANAGER_UNITS_MAX; -ENOMEM.
 */
int manager_unit_lookup(struct manager *m, const char *name, struct mu **u);
/* The same, NULL for any failure. */
struct mu *manager_unit(struct manager *m, const char *name);
/* Only if already known. */
struct mu *manager_unit_find(struct manager *m, const char *name);

/*
 * Queue a job for u ("start", "stop", "restart", "reload"). done (may be
 * NULL) is called once with the result. 0, or -errno with e filled when the
 * transaction could not be built (done is then not called).
 */
int manager_job(struct manager *m, struct mu *u, enum ug_job_type type, job_done_fn *done,
		void *arg, struct err *e);
/* ExecReload= for a running service. */
int manager_reload_unit(struct manager *m, struct mu *u, job_done_fn *done, void *arg,
			struct err *e);

/* Read every unit file again, keeping what runs. A unit left without a
 * file that holds nothing (inactive, no job, no process) is forgotten; if
 * another unit still names it, it is there again as not-found. Pointers to
 * such units are no longer valid. 0 or -errno. */
int manager_daemon_reload(struct manager *m);

/* enable/disable: links per [Install]; each change reported through fn. */
typedef void manager_change_fn(void *arg, bool link, const char *path, const char *target);
int manager_enable(struct manager *m, struct mu *u, bool enable, manager_change_fn *fn,
		   void *arg, struct err *e);
/* "enabled", "disabled", "static", "masked" or "" (no file). */
const char *manager_unit_file_state(struct manager *m, struct mu *u);

/* Start the default target: the boot. */
void manager_boot(struct manager *m, const char *target);
/* Stop everything; done when all is stopped. */
void manager_shutdown(struct manager *m, job_done_fn *done, void *arg);

/* A child exited (from PID 1's reaper): true if it was a unit's. */
bool manager_child_exited(struct manager *m, pid_t pid, int status);

/* Realtime microseconds now. */
uint64_t manager_now_usec(void);

/* --- between manager.c and service.c ------------------------------------ */

/* service.c runs a unit; each returns 0, or -errno when it could not
 * begin (the unit's state says why). */
int service_start(struct mu *u);
int service_stop(struct mu *u);
int service_reload(struct mu *u);
/* u's process pid ended with wait status st. */
void service_child_exited(struct mu *u, pid_t pid, int st);
/* A datagram from pid in u's group, already split into fields. */
void service_notify(struct mu *u, pid_t pid, const char *msg, size_t len);
/* The cgroup's files changed: it may be empty now, or have seen an OOM kill. */
void service_cgroup_event(struct mu *u, bool memory);
/* Forget runtime state when the unit is dropped. */
void service_release(struct mu *u);

/* service_exec.c: start command c of service u, as the main process or a
 * control one. Returns the pid, or -errno; *spawn_failed (may be NULL)
 * says the child did not get as far as exec. */
pid_t service_exec_run(struct mu *u, const struct unit_exec *c, bool control, bool *spawn_failed);

/* ConditionPathExists= and AssertPathExists=: 0 when they hold,
 * -ECANCELED for a condition (skip the unit), -EINVAL for an assertion
 * (fail the job). */
int unit_conditions_check(struct mu *u);

/* The graph's word for an active state. */
enum ug_active manager_ug_active(enum mu_active a);

/* install.c: mkdir -p; 0 or -errno. */
int manager_mkdir_p(const char *path);

/* Called by service.c on every state change. */
void manager_unit_changed(struct mu *u, enum mu_active old);

#endif
