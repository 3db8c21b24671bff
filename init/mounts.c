#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct mount_spec {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
};

static const struct mount_spec api_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666" },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate" },
};

int mounts_setup(void)
{
	size_t i;
	int failed = 0;

	for (i = 0; i < sizeof api_mounts / sizeof api_mounts[0]; i++) {
		const struct mount_spec *m = &api_mounts[i];

		if (mkdir(m->target, 0755) < 0 && errno != EEXIST)
			log_warn("unable to create %s: %s", m->target, strerror(errno));
		if (mount(m->source, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY) {
			log_warn("unable to mount %s on %s: %s", m->type, m->target, strerror(errno));
			failed++;
		}
	}
	mkdir("/run/pith", 0755);
	mkdir("/etc", 0755);
	mkdir("/tmp", 01777);
	chmod("/tmp", 01777);
	return failed;
}

void console_setup(void)
{
	int fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR);
		if (fd >= 0 && fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}
