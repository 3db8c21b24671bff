/*
 * pith-init: PID 1. Mounts the API file systems, reads the node config,
 * brings up the network, reaps every orphan and takes the machine down in
 * order. Run with --root DIR it is an ordinary process (a subreaper) that
 * tests can drive on the host.
 *
 * PID 1 never exits and never blocks: a failed step is logged and the boot
 * goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "cgroup.h"
#include "config.h"
#include "files.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "mounts.h"
#include "net.h"
#include "power.h"
#include "rand.h"
#include "spawn.h"
#include "version.h"

/* Time processes get to stop on the way down before SIGKILL. */
#define STOP_GRACE_MS 5000
/* Words in a pith.run command. */
#define RUN_ARGS_MAX 64
/* The journal's memory: entries beyond it push out the oldest. */
#define JOURNAL_RING_BYTES (8 * 1024 * 1024)
/* Persistent journal files: size of one, and archives kept. */
#define JOURNAL_FILE_BYTES (8 * 1024 * 1024)
#define JOURNAL_FILES 8
/* How often buffered journal entries are written out: often enough that
 * the batch (JOURNAL_PENDING_MAX) does not fill at any sane rate. */
#define JOURNAL_FLUSH_MS 250
/* The longest the units get to stop in order on the way down. */
#define SHUTDOWN_UNITS_MS 30000
/* The target started at boot. */
#define DEFAULT_TARGET "default.target"

static struct {
	struct loop loop;
	struct node_config cfg;
	const char *root;	/* "" when this is the real root */
	const char *cmdline;	/* --cmdline, for --root mode */
	int pid1;
	int net;
	pid_t run_pid;
	uint64_t start_ms;
	uint64_t boot_ms;	/* since kernel start, when PID 1 began */
	int ready;
	struct journal journal;
	int journal_ok;
	struct journal_kmsg kmsg;
	struct loop_io kmsg_io;
	struct loop_timer flush_timer;
	struct cg cg;
	int cg_ok;
	struct manager manager;
	char dirs[3][PATH_MAX];
	const char *dirv[4];
	char run_dir[PATH_MAX];
	struct unit_spec_env spec;
	enum power_action pending;
	struct loop_timer shutdown_timer;
	int shutting_down;
	char boot_id[40];
} init;	/* zero: in .bss, not in the file */

static const char usage[] =
	"usage: pith-init [--root DIR] [--cmdline TEXT] [--net]\n"
	"\n"
	"As PID 1 it boots the machine. Otherwise it runs as an ordinary process\n"
	"for tests: DIR holds the etc/, run/ and dev/ it would use, TEXT stands in\n"
	"for the kernel command line, and --net brings up the network (root only).\n";

static void config_warn(void *arg, const char *origin, unsigned line, const char *msg)
{
	(void)arg;
	if (line)
		log_warn("config: %s:%u: %s", origin, line, msg);
	else
		log_warn("config: %s: %s", origin, msg);
}

static void config_from_file(const char *path, const char *origin)
{
	struct buf b = BUF_INIT;
	int r = unit_file_read(path, CONFIG_TEXT_MAX, &b);

	if (r == 0) {
		config_apply_ini(&init.cfg, b.data ? b.data : "", b.len, origin, config_warn, NULL);
	} else if (r != -ENOENT) {
		log_warn("config: unable to read %s: %s; ignored", origin,
			 r == -EFBIG ? "larger than the limit" : strerror(-r));
	}
	buf_free(&b);
}

/* Boot step 2, lowest precedence first: the file, fw_cfg, the command line. */
static void config_read(void)
{
	char path[PATH_MAX];

	config_defaults(&init.cfg);
	if (!init.pid1)
		init.cfg.net = init.net ? NET_DHCP : NET_OFF;
	snprintf(path, sizeof path, "%s/etc/pith/pith.conf", init.root);
	config_from_file(path, "/etc/pith/pith.conf");
	snprintf(path, sizeof path, "%s/sys/firmware/qemu_fw_cfg/by_name/opt/pith/config/raw", init.root);
	config_from_file(path, "fw_cfg opt/pith/config");
	if (init.pid1) {
		struct buf b = BUF_INIT;
		int r = unit_file_read("/proc/cmdline", CONFIG_CMDLINE_MAX, &b);

		if (r == 0)
			config_apply_cmdline(&init.cfg, b.data ? b.data : "", config_warn, NULL);
		else
			log_warn("config: unable to read the kernel command line: %s", strerror(-r));
		buf_free(&b);
	} else if (init.cmdline) {
		config_apply_cmdline(&init.cfg, init.cmdline, config_warn, NULL);
	}
	if (!init.pid1 && !init.net && init.cfg.net != NET_OFF) {
		log_warn("config: network settings ignored without --net");
		init.cfg.net = NET_OFF;
	}
}

static uint64_t since_start_ms(void)
{
	struct timespec ts;

	if (!init.pid1)
		return loop_now_ms() - init.start_ms;
	/* CLOCK_BOOTTIME counts from the kernel's start. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_spawn(const char *cmd)
{
	char copy[CONFIG_RUN_MAX + 1], *argv[RUN_ARGS_MAX + 1], *save = NULL, *w;
	int argc = 0;
	sigset_t none;
	pid_t pid;

	snprintf(copy, sizeof copy, "%s", cmd);
	for (w = strtok_r(copy, " \t", &save); w && argc < RUN_ARGS_MAX; w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (!argc)
		return;
	pid = fork();
	if (pid < 0) {
		log_err("run: unable to fork for %s: %s", argv[0], strerror(errno));
		return;
	}
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		execvp(argv[0], argv);
		log_err("run: unable to execute %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	init.run_pid = pid;
	log_info("run: started %s as pid %d", argv[0], (int)pid);
}

/* Where the boot's time went: each step's end, since the kernel's start. */
static struct {
	const char *what;
	uint64_t ms;
} marks[12];
static unsigned nmarks;

static void boot_mark(const char *what)
{
	if (nmarks < sizeof(marks) / sizeof(marks[0]))
		marks[nmarks++] = (typeof(marks[0])){ what, since_start_ms() };
}

/* "boot: mounts 12 ms, config 3 ms, ...": each step's share, in order. */
static void boot_marks_log(void)
{
	char line[512];
	size_t n = 0;
	uint64_t prev = init.boot_ms;

	for (unsigned i = 0; i < nmarks && n < sizeof(line); i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %llu ms", i ? ", " : "",
				      marks[i].what, (unsigned long long)(marks[i].ms - prev));
		prev = marks[i].ms;
	}
	log_info("boot: %s", line);
}

static void net_ready(void *arg, int configured)
{
	char line[128];
	int n;

	(void)arg;
	(void)configured;
	if (init.ready)
		return;
	init.ready = 1;
	boot_mark(configured ? "lease" : "network");
	/* The one line tests and the boot benchmark look for. */
	n = snprintf(line, sizeof line, "pith: ready in %llu ms (init started at %llu ms)\n",
		     (unsigned long long)since_start_ms(), (unsigned long long)init.boot_ms);
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere to say it */
	}
	boot_marks_log();
	manager_boot(&init.manager, DEFAULT_TARGET);
	if (init.cfg.run[0])
		run_spawn(init.cfg.run);
}

static void reap(void)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (manager_child_exited(&init.manager, p, st))
			continue;
		if (p != init.run_pid)
			continue;
		init.run_pid = 0;
		if (WIFEXITED(st))
			log_info("run: exited with status %d", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			log_info("run: killed by signal %d", WTERMSIG(st));
	}
}

/* On the host, leave no empty groups behind: the units' and the slice. */
static void slice_remove(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (!init.cg_ok || (fd = dup(init.cg.slice_fd)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			cg_unit_remove(&init.cg, de->d_name);
	closedir(d);
	if (rmdir(init.cg.slice) < 0 && errno != ENOENT)
		log_warn("cgroup: unable to remove %s: %s", init.cg.slice, strerror(errno));
}

/* The units are down (or took too long): end the remaining processes. */
static void shutdown_finish(void)
{
	loop_timer_cancel(&init.loop, &init.shutdown_timer);
	if (init.journal_ok)
		journal_sync(&init.journal);
	if (!init.pid1) {
		power_down(POWER_EXIT, STOP_GRACE_MS);
		slice_remove();
		log_info("stopped");
		loop_stop(&init.loop);
		return;
	}
	power_down(init.pending, STOP_GRACE_MS);
}

static void shutdown_units_done(void *arg, struct mu *u, enum job_result r)
{
	(void)arg;
	(void)u;
	if (r != JOB_DONE)
		log_warn("not every unit stopped in order");
	shutdown_finish();
}

static void shutdown_timeout(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("units took longer than %d ms to stop; ending them", SHUTDOWN_UNITS_MS);
	shutdown_finish();
}

static void shutdown_now(enum power_action a, const char *why)
{
	if (init.shutting_down)
		return;
	init.shutting_down = 1;
	log_info("shutting down: %s", why);
	power_mark_start();
	init.pending = a;
	loop_timer_set(&init.loop, &init.shutdown_timer, SHUTDOWN_UNITS_MS, shutdown_timeout, NULL);
	manager_shutdown(&init.manager, shutdown_units_done, NULL);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	(void)l;
	(void)arg;
	switch (signo) {
	case SIGCHLD:
		reap();
		break;
	case SIGTERM:
	case SIGPWR:
		shutdown_now(POWER_OFF, signo == SIGTERM ? "SIGTERM" : "SIGPWR");
		break;
	case SIGINT:
		/* Ctrl-Alt-Del, as PID 1: the conventional meaning is reboot. */
		shutdown_now(POWER_REBOOT, "SIGINT");
		break;
	default:
		break;
	}
}

static void on_power_key(void *arg)
{
	(void)arg;
	shutdown_now(POWER_OFF, "power button");
}

static void parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--root") && i + 1 < argc && !init.pid1) {
			init.root = argv[++i];
		} else if (!strcmp(a, "--cmdline") && i + 1 < argc && !init.pid1) {
			init.cmdline = argv[++i];
		} else if (!strcmp(a, "--net") && !init.pid1) {
			init.net = 1;
		} else if (!strcmp(a, "--help") && !init.pid1) {
			fputs(usage, stdout);
			exit(0);
		} else if (!strcmp(a, "--version") && !init.pid1) {
			printf("pith-init %s\n", PITH_VERSION);
			exit(0);
		} else if (!init.pid1) {
			fputs(usage, stderr);
			die(EXIT_USAGE, "unknown argument %s", a);
		}
		/* As PID 1, words the kernel passes on from its command line are not ours. */
	}
	if (!init.pid1 && init.root[0] == 0)
		die(EXIT_USAGE, "not PID 1: give --root DIR to run as an ordinary process");
}

/* PID 1's own messages go to the journal too. */
static void log_to_journal(void *arg, enum log_prio prio, const char *msg, size_t len)
{
	struct journal_entry e = { 0 };

	(void)arg;
	e.unit = JOURNAL_UNIT_INIT;
	e.pid = (int)getpid();
	e.priority = prio;
	e.msg = msg;
	e.msg_len = len;
	journal_append(&init.journal, &e);
}

static void flush_tick(struct loop *l, void *arg)
{
	(void)arg;
	if (init.journal.store.pending_len) {
		int r = journal_flush(&init.journal);

		if (r < 0)
			log_warn("journal: no longer persistent: %s", init.journal.store.err.msg);
	}
	loop_timer_set(l, &init.flush_timer, JOURNAL_FLUSH_MS, flush_tick, NULL);
}

static void kmsg_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)events;
	(void)arg;
	journal_kmsg_drain(&init.kmsg, fd);
}

static void first_line(const char *path, char *out, size_t len)
{
	struct buf b = BUF_INIT;

	out[0] = 0;
	if (unit_file_read(path, 4096, &b) == 0 && b.data)
		snprintf(out, len, "%.*s", (int)strcspn(b.data, "\n"), b.data);
	buf_free(&b);
}

/* The kernel's boot id, read once: 32 hex digits without dashes, as
 * systemd writes ids (%b, and the journal's boot id). */
static void boot_id_read(void)
{
	char *w = init.boot_id;

	first_line("/proc/sys/kernel/random/boot_id", init.boot_id, sizeof init.boot_id);
	for (const char *r = init.boot_id; *r; r++)
		if (*r != '-')
			*w++ = *r;
	*w = 0;
}

/* /etc/machine-id: kept when it holds an ID, otherwise a new random one,
 * as systemd does on a first boot (it lasts as long as /etc does: until
 * the data partition exists, one boot). The ID names the machine and is
 * no secret: its bytes never wait for the kernel's random pool. */
static void machine_id_ensure(void)
{
	char path[PATH_MAX], id[64] = "";
	unsigned char raw[16];
	FILE *f;

	snprintf(path, sizeof path, "%s/etc/machine-id", init.root);
	first_line(path, id, sizeof id);
	if (strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32)
		return;
	rand_id_bytes(raw, sizeof raw);
	if (!(f = fopen(path, "we"))) {
		log_warn("machine-id: unable to write %s: %s", path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		fprintf(f, "%02x", raw[i]);
	fputc('\n', f);
	if (fclose(f) != 0)
		log_warn("machine-id: unable to write %s: %s", path, strerror(errno));
}

static void journal_setup(void)
{
	char dir[PATH_MAX];
	struct stat st;
	struct err e = { 0 };
	int r = journal_init(&init.journal, JOURNAL_RING_BYTES);

	if (r < 0) {
		log_err("journal: unable to set up: %s; unit output is discarded", strerror(-r));
		return;
	}
	init.journal_ok = 1;
	/* The first 64 bits of the kernel's boot id name this boot. */
	for (const char *p = init.boot_id; *p && init.journal.boot_id >> 60 == 0; p++)
		init.journal.boot_id = init.journal.boot_id << 4 |
				       (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	log_set_hook(log_to_journal, NULL);
	/* Persistent only where /var/log/journal exists: a data partition. */
	snprintf(dir, sizeof dir, "%s/var/log/journal", init.root);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = journal_persist(&init.journal, dir, JOURNAL_FILE_BYTES, JOURNAL_FILES, &e);
		if (r < 0)
			log_warn("journal: not persistent: %s", e.msg[0] ? e.msg : strerror(-r));
	}
	loop_timer_set(&init.loop, &init.flush_timer, JOURNAL_FLUSH_MS, flush_tick, NULL);
	if (init.pid1) {
		int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

		journal_kmsg_init(&init.kmsg, &init.journal);
		if (fd < 0 || loop_io_add(&init.loop, &init.kmsg_io, fd, EPOLLIN, kmsg_readable, NULL) < 0)
			log_warn("journal: unable to read the kernel log");
	}
}

static void cgroup_setup(void)
{
	char root[CG_SLICE_PATH_MAX], slice[CG_SLICE_PATH_MAX + 64];
	int r;

	if (init.pid1) {
		snprintf(root, sizeof root, "/sys/fs/cgroup");
		r = cg_init_scope_enter(root);
		if (r < 0)
			log_warn("cgroup: unable to move PID 1 to %s: %s", CG_INIT_SCOPE, strerror(-r));
		cg_subtree_enable(AT_FDCWD, root, CG_CTRL_ALL);
		snprintf(slice, sizeof slice, "%s/pith.slice", root);
	} else {
		r = cg_find_root(root, sizeof root);
		if (r < 0) {
			log_warn("cgroup: no cgroup2 hierarchy here (%s); units run without groups",
				 strerror(-r));
			return;
		}
		/* One slice per instance: tests run several side by side. */
		snprintf(slice, sizeof slice, "%s/pith-%d.slice", root, (int)getpid());
	}
	r = cg_init(&init.cg, slice);
	if (r < 0) {
		log_warn("cgroup: unable to use %s: %s; units run without groups", slice, strerror(-r));
		return;
	}
	if (init.pid1)
		cg_subtree_enable(init.cg.slice_fd, ".", CG_CTRL_ALL);
	init.cg_ok = 1;
}


static void manager_setup(void)
{
	static char machine_id[64], release[128];
	static const char *const sub[] = { "etc/pith/units", "run/pith/units", "usr/lib/pith/units" };
	struct manager_config c = { 0 };
	struct utsname un;

	for (int i = 0; i < 3; i++) {
		snprintf(init.dirs[i], sizeof init.dirs[i], "%s/%s", init.root, sub[i]);
		init.dirv[i] = init.dirs[i];
	}
	init.dirv[3] = NULL;
	snprintf(init.run_dir, sizeof init.run_dir, "%s/run/pith", init.root);
	first_line("/etc/machine-id", machine_id, sizeof machine_id);
	if (uname(&un) == 0)
		snprintf(release, sizeof release, "%s", un.release);
	init.spec.hostname = init.cfg.name;
	init.spec.machine_id = machine_id;
	init.spec.boot_id = init.boot_id;
	init.spec.kernel_release = release;
	init.spec.arch = "x86-64";
	init.spec.os_id = "pith";
	c.loop = &init.loop;
	c.dirs = init.dirv;
	c.etc_dir = init.dirs[0];
	c.run_dir = init.run_dir;
	c.cg = init.cg_ok ? &init.cg : NULL;
	c.journal = init.journal_ok ? &init.journal : NULL;
	c.env = &init.spec;
	manager_init(&init.manager, &c);
}

static void api_power(void *arg, enum power_action a)
{
	(void)arg;
	shutdown_now(a, a == POWER_REBOOT ? "reboot requested over the API" :
					    "power-off requested over the API");
}

static void api_setup(void)
{
	char path[PATH_MAX + 16];
	struct api *a;
	int r;

	snprintf(path, sizeof path, "%s/init.sock", init.run_dir);
	a = api_start(&init.loop, &init.manager, init.journal_ok ? &init.journal : NULL, path, &r);
	if (!a)
		log_err("api: unable to listen on %s: %s", path, strerror(-r));
	else
		api_set_power(a, api_power, NULL);
}

int main(int argc, char **argv)
{
	sigset_t set;
	int r;

	init.root = "";
	init.pid1 = getpid() == 1;
	init.start_ms = loop_now_ms();
	log_init("pith-init", 2);
	parse_args(argc, argv);
	init.boot_ms = since_start_ms();

	{
		/* Every running unit holds a pipe to the journal: PID 1 needs far
		 * more descriptors than the 1024 the kernel starts it with. */
		struct rlimit nf;

		if (getrlimit(RLIMIT_NOFILE, &nf) == 0) {
			if (init.pid1 && nf.rlim_max < SPAWN_NOFILE_HARD)
				nf.rlim_max = SPAWN_NOFILE_HARD;
			nf.rlim_cur = nf.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nf) < 0)
				log_warn("unable to raise the file descriptor limit: %s", strerror(errno));
		}
	}
	if (init.pid1) {
		umask(022);
		mounts_setup();
		console_setup();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		/* Ctrl-Alt-Del becomes SIGINT instead of an instant reboot. */
		reboot(RB_DISABLE_CAD);
		boot_mark("mounts");
	} else if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		die(EXIT_TEMP, "unable to become a subreaper: %s", strerror(errno));
	}
	log_info("starting, version %s%s", PITH_VERSION, init.pid1 ? " as PID 1" : "");

	config_read();
	files_from_fw_cfg(init.root);
	if (init.pid1 && sethostname(init.cfg.name, strlen(init.cfg.name)) < 0)
		log_warn("unable to set the hostname: %s", strerror(errno));
	boot_mark("config");

	/* Without the loop nothing works; as PID 1, keep trying rather than exit. */
	while ((r = loop_init(&init.loop)) < 0) {
		if (!init.pid1)
			die(EXIT_TEMP, "unable to create the event loop: %s", strerror(-r));
		log_err("unable to create the event loop: %s; retrying", strerror(-r));
		sleep(1);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPWR);
	sigaddset(&set, SIGHUP);
	r = loop_signals(&init.loop, &set, on_signal, NULL);
	if (r < 0)
		log_err("unable to watch signals: %s", strerror(-r));
	power_watch(&init.loop, init.root, on_power_key, NULL);
	boot_id_read();
	machine_id_ensure();
	boot_mark("ids");
	journal_setup();
	boot_mark("journal");
	cgroup_setup();
	boot_mark("cgroups");
	manager_setup();
	api_setup();
	boot_mark("units");

	net_start(&init.loop, &init.cfg, init.root, net_ready, NULL);
	if (!init.ready)
		boot_mark("nic");

	for (;;) {
		r = loop_run(&init.loop);
		if (!init.pid1 && init.loop.stop)
			break;
		if (r < 0) {
			log_err("event loop: %s", strerror(-r));
			sleep(1);
		}
	}
	return 0;
}
