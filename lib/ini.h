/*
 * The INI tokenizer shared by unit files and node config.
 *
 * It follows systemd's syntax: "[Section]" headers; "Key=Value" with
 * whitespace around both trimmed; whole-line comments starting with '#' or
 * ';'; a line ending in '\' continues on the next line (the backslash becomes
 * a space, and comment lines inside a continuation are skipped). Values are
 * passed on raw: quoting, escapes and specifiers belong to whoever reads the
 * option. It does no I/O and keeps no state between calls.
 *
 * A malformed line is reported as an INI_BAD item with a message and the line
 * is skipped; the caller decides whether that is a warning or an error.
 */
#ifndef PITH_INI_H
#define PITH_INI_H

#include <stddef.h>

#include "log.h"

/* Longest logical line, continuations joined, as in systemd. Longer lines
 * are INI_BAD. */
#define INI_LINE_MAX (1024 * 1024)
/* Longest section name and key. */
#define INI_NAME_MAX 256

enum ini_kind {
	INI_SECTION,	/* section holds the new section's name */
	INI_ENTRY,	/* key and value; section is the current one ("" before any) */
	INI_BAD,	/* value holds a message saying what is wrong */
};

struct ini_item {
	enum ini_kind kind;
	unsigned line;		/* first physical line of the item, from 1 */
	const char *section;
	const char *key;
	const char *value;
};

/* Return 0 to go on; anything else stops ini_parse, which returns it. */
typedef int ini_fn(const struct ini_item *it, void *arg);

/*
 * Tokenize len bytes of text (need not be NUL-terminated). Calls fn for each
 * section header, entry and bad line, in order. Returns 0, what fn returned,
 * or -ENOMEM. A NUL byte ends a line, as a newline does (systemd's reading).
 */
int ini_parse(const char *text, size_t len, ini_fn *fn, void *arg);

#endif
