#include "power.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Input devices watched for the power key; machines have one or two. */
#define POWER_DEVICES_MAX 8
/* Most mount points unmounted on the way down. */
#define POWER_MOUNTS_MAX 64

static uint64_t down_since;

void power_mark_start(void)
{
	down_since = loop_now_ms();
}

static struct {
	struct loop_io io[POWER_DEVICES_MAX];
	int n;
	power_key_fn *fn;
	void *arg;
} pw;

#define BITS_LONG (8 * sizeof(long))
#define TEST_BIT(bit, a) (((a)[(bit) / BITS_LONG] >> ((bit) % BITS_LONG)) & 1)

static void power_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct input_event ev[16];
	ssize_t r;
	size_t i;

	(void)l;
	(void)events;
	(void)arg;
	while ((r = read(fd, ev, sizeof ev)) > 0) {
		for (i = 0; i < (size_t)r / sizeof ev[0]; i++)
			if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1)
				pw.fn(pw.arg);
	}
}

int power_watch(struct loop *l, const char *root, power_key_fn *fn, void *arg)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;

	pw.fn = fn;
	pw.arg = arg;
	snprintf(dir, sizeof dir, "%s/dev/input", root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && pw.n < POWER_DEVICES_MAX) {
		unsigned long keys[KEY_MAX / BITS_LONG + 1];
		char path[4400], name[64] = "";
		int fd;

		if (strncmp(de->d_name, "event", 5))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(keys, 0, sizeof keys);
		if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0 || !TEST_BIT(KEY_POWER, keys) ||
		    loop_io_add(l, &pw.io[pw.n], fd, EPOLLIN, power_event, NULL) < 0) {
			close(fd);
			continue;
		}
		ioctl(fd, EVIOCGNAME(sizeof name - 1), name);
		log_info("power: watching %s (%s) for the power key", path, name);
		pw.n++;
	}
	closedir(d);
	return pw.n;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Children of this process, found through /proc (the only way to see the
 * orphans a subreaper has inherited). Sends sig to each; returns how many. */
static int signal_children(int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[300], stat[512], *rp;
		long ppid;
		int fd;
		ssize_t len;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, stat, sizeof stat - 1);
		close(fd);
		if (len <= 0)
			continue;
		stat[len] = 0;
		/* "pid (comm) state ppid ...": comm may hold anything, so search from the last ')'. */
		rp = strrchr(stat, ')');
		if (!rp || sscanf(rp + 1, " %*c %ld", &ppid) != 1 || ppid != self)
			continue;
		if (rp[2] == 'Z')
			continue;
		kill((pid_t)atol(de->d_name), sig);
		count++;
	}
	closedir(d);
	return count;
}

/* Reap until no child is left or ms pass. 1 if none is left. */
static int reap_all(unsigned ms)
{
	unsigned waited = 0;

	for (;;) {
		pid_t p;

		while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (p < 0 && errno == ECHILD)
			return 1;
		if (waited >= ms)
			return 0;
		sleep_ms(10);
		waited += 10;
	}
}

static void unmount_all(void)
{
	char *dirs[POWER_MOUNTS_MAX];
	struct mntent *m;
	int n = 0, i;
	FILE *f = setmntent("/proc/self/mounts", "re");

	if (!f)
		return;
	while ((m = getmntent(f)) && n < POWER_MOUNTS_MAX)
		if (strcmp(m->mnt_dir, "/"))
			dirs[n++] = strdup(m->mnt_dir);
	endmntent(f);
	/* Deepest first: the table lists parents before their children. */
	for (i = n - 1; i >= 0; i--) {
		if (!dirs[i])
			continue;
		if (umount2(dirs[i], 0) < 0) {
			if (errno == EBUSY)
				umount2(dirs[i], MNT_DETACH);
			else if (errno != EINVAL)
				log_debug("power: umount %s: %s", dirs[i], strerror(errno));
		}
		free(dirs[i]);
	}
}

void power_down(enum power_action a, unsigned grace_ms)
{
	int left;

	if (a == POWER_EXIT) {
		signal_children(SIGTERM);
		if (!reap_all(grace_ms)) {
			left = signal_children(SIGKILL);
			log_warn("power: %d processes did not stop in %u ms, killed", left, grace_ms);
			reap_all(2000);
		}
		return;
	}
	kill(-1, SIGTERM);
	kill(-1, SIGCONT);
	if (!reap_all(grace_ms)) {
		log_warn("power: processes did not stop in %u ms, killing them", grace_ms);
		kill(-1, SIGKILL);
		reap_all(2000);
	}
	sync();
	unmount_all();
	sync();
	log_info("power: %s after %llu ms", a == POWER_REBOOT ? "rebooting" : "powering off",
		 (unsigned long long)(loop_now_ms() - down_since));
	reboot(a == POWER_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF);
	/* Only reached if the kernel refused; PID 1 must not exit. */
	log_err("power: reboot(2) failed: %s", strerror(errno));
	for (;;)
		pause();
}
