/*
 * EnvironmentFile= files: lines of NAME=value, as systemd reads them.
 * Blank lines and lines starting with '#' or ';' are skipped; whitespace
 * around the name and an unquoted value is dropped; a value may be quoted
 * with '…' (taken as is) or "…" (where \" \\ \$ \` and a backslash before a
 * newline are escapes); outside quotes a backslash escapes the next
 * character and one at the end of the line joins the next line. Pure.
 */
#ifndef PITH_ENVFILE_H
#define PITH_ENVFILE_H

#include <stddef.h>

#include "buf.h"
#include "log.h"

/* Bounds on one file. */
#define ENVFILE_BYTES_MAX (1024 * 1024)
#define ENVFILE_VARS_MAX 4096

/* Called with each "NAME=value", NUL-terminated; return non-zero to stop. */
typedef int envfile_fn(void *arg, const char *assignment);

/*
 * Parse len bytes of text. Lines that are not valid assignments are
 * skipped with a message in e (the last one) and counted in *bad.
 * Returns 0, what fn returned, or -ENOMEM / -E2BIG.
 */
int envfile_parse(const char *text, size_t len, envfile_fn *fn, void *arg, unsigned *bad,
		  struct err *e);

#endif
