#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "pith";
static int log_fd = 2;
static enum log_prio max_prio = LOG_PRIO_INFO;
static log_hook_fn *hook;
static void *hook_arg;

void log_set_hook(log_hook_fn *fn, void *arg)
{
	hook = fn;
	hook_arg = arg;
}

void log_init(const char *name, int fd)
{
	const char *slash = strrchr(name, '/');

	prog = slash ? slash + 1 : name;
	log_fd = fd;
}

void log_max_prio(enum log_prio max)
{
	max_prio = max;
}

void err_set(struct err *e, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

/* One write(2) per message, so lines from several processes never interleave. */
static void log_vwrite(enum log_prio prio, const char *tag, const char *fmt, va_list ap)
{
	char line[1024];
	int n, m;
	int saved = errno;

	n = snprintf(line, sizeof line, "%s: %s", prog, tag);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	m = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	while (write(log_fd, line, n) < 0 && errno == EINTR)
		;
	if (hook) {
		/* The hook gets the message without the program name. */
		size_t skip = strlen(prog) + 2;

		if ((size_t)n > skip)
			hook(hook_arg, prio, line + skip, (size_t)n - skip - 1);
	}
	errno = saved;
}

void log_msg(enum log_prio prio, const char *fmt, ...)
{
	va_list ap;
	const char *tag = "";

	if (prio > max_prio)
		return;
	if (prio <= LOG_PRIO_ERR)
		tag = "error: ";
	else if (prio == LOG_PRIO_WARNING)
		tag = "warning: ";
	va_start(ap, fmt);
	log_vwrite(prio, tag, fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_PRIO_ERR, "fatal: ", fmt, ap);
	va_end(ap);
	exit(code);
}
