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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "mounts.h"
#include "net.h"
#include "power.h"
#include "version.h"

/* Time processes get to stop on the way down before SIGKILL. */
#define STOP_GRACE_MS 5000
/* Words in a pith.run command. */
#define RUN_ARGS_MAX 64

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
} init = { .root = "" };

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

/* Read a whole small file into b; -EFBIG past max. */
static int read_text(const char *path, size_t max, struct buf *b)
{
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (b->len + (size_t)n > max) {
			r = -EFBIG;
			break;
		}
		if ((r = buf_append(b, chunk, (size_t)n)) < 0)
			break;
	}
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static void config_from_file(const char *path, const char *origin)
{
	struct buf b = BUF_INIT;
	int r = read_text(path, CONFIG_TEXT_MAX, &b);

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
		int r = read_text("/proc/cmdline", CONFIG_CMDLINE_MAX, &b);

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

static void net_ready(void *arg, int configured)
{
	char line[128];
	int n;

	(void)arg;
	(void)configured;
	if (init.ready)
		return;
	init.ready = 1;
	/* The one line tests and the boot benchmark look for. */
	n = snprintf(line, sizeof line, "pith: ready in %llu ms (init started at %llu ms)\n",
		     (unsigned long long)since_start_ms(), (unsigned long long)init.boot_ms);
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere to say it */
	}
	if (init.cfg.run[0])
		run_spawn(init.cfg.run);
}

static void reap(void)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p != init.run_pid)
			continue;
		init.run_pid = 0;
		if (WIFEXITED(st))
			log_info("run: exited with status %d", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			log_info("run: killed by signal %d", WTERMSIG(st));
	}
}

static void shutdown_now(enum power_action a, const char *why)
{
	log_info("shutting down: %s", why);
	power_mark_start();
	if (!init.pid1) {
		power_down(POWER_EXIT, STOP_GRACE_MS);
		log_info("stopped");
		loop_stop(&init.loop);
		return;
	}
	power_down(a, STOP_GRACE_MS);
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

int main(int argc, char **argv)
{
	sigset_t set;
	int r;

	init.pid1 = getpid() == 1;
	init.start_ms = loop_now_ms();
	log_init("pith-init", 2);
	parse_args(argc, argv);
	init.boot_ms = since_start_ms();

	if (init.pid1) {
		umask(022);
		mounts_setup();
		console_setup();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		/* Ctrl-Alt-Del becomes SIGINT instead of an instant reboot. */
		reboot(RB_DISABLE_CAD);
	} else if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		die(EXIT_TEMP, "unable to become a subreaper: %s", strerror(errno));
	}
	log_info("starting, version %s%s", PITH_VERSION, init.pid1 ? " as PID 1" : "");

	config_read();
	if (init.pid1 && sethostname(init.cfg.name, strlen(init.cfg.name)) < 0)
		log_warn("unable to set the hostname: %s", strerror(errno));

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

	net_start(&init.loop, &init.cfg, init.root, net_ready, NULL);

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
