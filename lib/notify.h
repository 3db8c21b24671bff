/*
 * The readiness protocol of Type=notify units: a datagram "READY=1" to the
 * socket PID 1 names in NOTIFY_SOCKET (a path, or "@name" for an abstract
 * socket). Nothing happens when the variable is unset: the program was
 * not started as such a unit.
 */
#ifndef PITH_NOTIFY_H
#define PITH_NOTIFY_H

void notify_ready(void);

#endif
