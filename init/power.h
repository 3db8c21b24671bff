/*
 * The power button, and the way down. QEMU's system_powerdown and EC2's
 * stop both press an ACPI power button, which the kernel reports as
 * KEY_POWER on an evdev device.
 */
#ifndef PITH_INIT_POWER_H
#define PITH_INIT_POWER_H

#include "loop.h"

typedef void power_key_fn(void *arg);

/* Watch every /dev/input/event* (under root) that can send KEY_POWER.
 * Returns how many devices are watched (0 is no error: there may be none). */
int power_watch(struct loop *l, const char *root, power_key_fn *fn, void *arg);

/* Note when the way down began; power_down() reports the time since. */
void power_mark_start(void);

enum power_action { POWER_OFF, POWER_REBOOT, POWER_EXIT };

/*
 * Stop everything and act. As PID 1: SIGTERM to every process, SIGKILL to
 * what remains after grace_ms, sync, unmount, then power off or reboot.
 * Otherwise (POWER_EXIT): the same to this process's own children, then
 * return so main() can exit. Never returns for POWER_OFF or POWER_REBOOT.
 */
void power_down(enum power_action a, unsigned grace_ms);

#endif
