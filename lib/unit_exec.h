/*
 * Command lines and word splitting in unit files, the way systemd splits
 * them (systemd.service(5), "COMMAND LINES"; systemd.syntax(7), "QUOTING").
 *
 * Specifiers are expanded by the caller before anything here runs, as
 * systemd does: "%%" has become "%" by the time a line is split. Environment
 * variables ("$FOO", "${FOO}") stay in the words; they are expanded when the
 * command runs, by unit_exec_expand_env().
 */
#ifndef PITH_UNIT_EXEC_H
#define PITH_UNIT_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "log.h"

/* Bounds on one Exec*= line: words per command, commands per line. */
#define UNIT_EXEC_ARGS_MAX 4096
#define UNIT_EXEC_CMDS_MAX 256

enum {
	UNIT_WORD_UNQUOTE = 1 << 0,	/* '…' and "…" group and are removed */
	UNIT_WORD_CUNESCAPE = 1 << 1,	/* C escapes (\n, \x41, \101, \u00e9, \s …) */
	UNIT_WORD_RELAX = 1 << 2,	/* an unknown escape or trailing '\' is kept as is */
};

/*
 * Take the next word from *p (whitespace separates words), appending it to
 * out (which the caller resets). Returns 1 with a word, 0 when only
 * whitespace is left, -EINVAL on an unterminated quote or a bad escape
 * (with *p left where it was). Quotes may start or end mid-word: a"b c"d is
 * the one word "ab cd". With UNIT_WORD_UNQUOTE the empty quoted word ""
 * is a word of its own.
 */
int unit_word_next(const char **p, unsigned flags, struct buf *out);

/* Prefixes of an Exec*= command, in systemd's meaning. */
enum {
	UNIT_EXEC_IGNORE_FAILURE = 1 << 0,	/* '-': a failing exit status is ignored */
	UNIT_EXEC_ARGV0 = 1 << 1,		/* '@': the second word is argv[0] */
	UNIT_EXEC_NO_ENV_EXPAND = 1 << 2,	/* ':': "$FOO" is left alone */
	UNIT_EXEC_PRIVILEGED = 1 << 3,		/* '+': no User=, Group=, limits of privilege */
	UNIT_EXEC_NO_SETUID = 1 << 4,		/* '!': credentials not changed by the manager */
	UNIT_EXEC_AMBIENT = 1 << 5,		/* '!!': as '!', for systems without ambient caps */
};

/* One command of an Exec*= line. */
struct unit_exec {
	const char *path;	/* as written; no '/' means the fixed search path */
	char **argv;		/* NULL-terminated, argc >= 1 */
	size_t argc;
	unsigned flags;		/* UNIT_EXEC_* */
	const char *file;	/* where it was written */
	unsigned line;
};

struct unit_exec_list {
	struct unit_exec *v;
	size_t n, cap;
};

/*
 * Split an Exec*= value (specifiers already expanded) into commands and
 * append them to list, allocating from a. Several commands on one line are
 * separated by a lone ";" word; "\;" is a literal ";" argument. On a syntax
 * error nothing is appended, e->msg says what is wrong and -EINVAL is
 * returned.
 */
int unit_exec_parse(struct arena *a, struct unit_exec_list *list, const char *value,
		    const char *file, unsigned line, struct err *e);

/* Does "NAME=value" name a valid variable (letters, digits, '_', not
 * starting with a digit) with a value of valid UTF-8? */
bool unit_env_assignment_is_valid(const char *s);

/*
 * The argv a command runs with: "$NAME" as a whole word becomes the
 * variable's value split on whitespace (no words if unset or empty);
 * "${NAME}" anywhere becomes its value in place (empty if unset); "$$" is
 * "$". Without expansion (UNIT_EXEC_NO_ENV_EXPAND) the words are copied.
 * env is a NULL-terminated "NAME=value" array, later entries winning.
 * Returns a NULL-terminated array from a, or NULL with -ENOMEM / -E2BIG in *r.
 */
char **unit_exec_expand_env(struct arena *a, const struct unit_exec *cmd, char *const *env,
			    int *r);

#endif
