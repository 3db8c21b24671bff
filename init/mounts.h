/*
 * Boot step 1: the API file systems PID 1 and every service expect.
 */
#ifndef PITH_INIT_MOUNTS_H
#define PITH_INIT_MOUNTS_H

/* Mount /proc, /sys, /dev, /dev/pts, /run, cgroup2 and fw_cfg's sysfs.
 * Each failure is logged and skipped; returns how many failed. */
int mounts_setup(void);

/* Make sure fds 0, 1 and 2 are open, on /dev/console if they are not. */
void console_setup(void);

#endif
