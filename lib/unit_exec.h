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
#include "unit_name.h"

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
 * is a word of its own. With UNIT_WORD_RELAX, 2 says the word kept an
 * unknown escape as written (systemd warns about those).
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

/* Where a command line comes from, and what its specifiers expand to. */
struct unit_exec_src {
	const char *unit;			/* unit name; NULL: specifiers are left alone */
	const char *unit_path;			/* %y */
	const struct unit_spec_env *env;
	const char *file;
	unsigned line;
};

/* What unit_exec_parse has to say besides its result. */
enum {
	UNIT_EXEC_NOTE_IGNORABLE = 1 << 0,	/* the bad command had the '-' prefix */
	UNIT_EXEC_NOTE_RELAXED = 1 << 1,	/* an unknown escape in an argument was kept */
};

/*
 * Split an Exec*= value into commands and append them to list, allocating
 * from a, in systemd's way: each word is unquoted and unescaped first, then
 * its specifiers are expanded (so an expansion holding spaces stays one
 * word). Commands are separated by a lone ";" word (empty commands are
 * skipped); "\;" is a literal ";" argument. An absolute program path is
 * simplified ("/bin//x" runs "/bin/x"; argv[0] stays as written).
 *
 * On a bad command, -EINVAL with e->msg saying why. If that command has the
 * '-' prefix, UNIT_EXEC_NOTE_IGNORABLE is set in *notes and the commands
 * before it on the line are appended: systemd ignores the rest of the line
 * with a warning. Without '-', nothing is appended, and systemd refuses the
 * unit. UNIT_EXEC_NOTE_RELAXED is set when an unknown escape was kept.
 */
int unit_exec_parse(struct arena *a, struct unit_exec_list *list, const char *value,
		    const struct unit_exec_src *src, unsigned *notes, struct err *e);

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
