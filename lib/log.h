/*
 * Logging, and the one error contract.
 *
 * Library functions return 0 or -errno and never print; where a message
 * helps, they fill a caller's struct err. Programs print through this file:
 * log_* for ongoing messages, die() once from main() on a fatal error, in the
 * shape "prog: fatal: unable to <verb> <object>: <reason>".
 */
#ifndef PITH_LOG_H
#define PITH_LOG_H

#include <stddef.h>

/* Exit codes, as skarnet's tools use them. */
enum {
	EXIT_USAGE = 100,	/* bad usage or a permanent error */
	EXIT_TEMP = 111,	/* a temporary or system error */
};

/* syslog(3) priorities, so the journal can keep them as they are. */
enum log_prio {
	LOG_PRIO_ERR = 3,
	LOG_PRIO_WARNING = 4,
	LOG_PRIO_NOTICE = 5,
	LOG_PRIO_INFO = 6,
	LOG_PRIO_DEBUG = 7,
};

#define ERR_MSG_MAX 256

/* A message from a library function that failed; empty when it has none. */
struct err {
	unsigned line;		/* input line the message is about, 0 if none */
	char msg[ERR_MSG_MAX];
};

void err_set(struct err *e, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Messages go to fd (2 by default) as "prog: message\n". */
void log_init(const char *prog, int fd);
void log_max_prio(enum log_prio max);

void log_msg(enum log_prio prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)  log_msg(LOG_PRIO_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_PRIO_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_PRIO_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_PRIO_DEBUG, __VA_ARGS__)

/*
 * Also hand every message logged from now on to fn: its priority and text
 * (tag included, program name and newline not), len bytes. PID 1 uses it
 * to put its own messages in the journal. fn must not log.
 */
typedef void log_hook_fn(void *arg, enum log_prio prio, const char *msg, size_t len);
void log_set_hook(log_hook_fn *fn, void *arg);

/* Print "prog: fatal: message" and exit with code. Only main() calls it. */
void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
