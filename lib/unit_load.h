/*
 * Finding and reading unit files: the edge around the pure parser in
 * unit.h. PID 1 and `pith check` load units through here.
 *
 * A unit name is looked up in a list of directories, first match winning
 * (in the image: /etc/pith/units, /run/pith/units, /usr/lib/pith/units).
 * An instance "foo@bar.service" without a file of its own uses its
 * template's, "foo@.service". A file that is a symbolic link to /dev/null,
 * or is empty, masks the unit. Drop-ins are "*.conf" files in "<name>.d/"
 * (and, for an instance, "<template>.d/") in any of the directories; a
 * drop-in in an earlier directory hides one of the same file name in a later
 * one, and all are applied in the order of their file names.
 */
#ifndef PITH_UNIT_LOAD_H
#define PITH_UNIT_LOAD_H

#include "unit.h"

/* Drop-ins per unit, and directory entries looked at per drop-in folder. */
#define UNIT_DROPINS_MAX 128

enum unit_load_state {
	UNIT_LOADED,
	UNIT_NOT_FOUND,
	UNIT_MASKED,
	UNIT_BAD_SETTING,	/* the file says something Pith will not run */
	UNIT_LOAD_ERROR,	/* the file could not be read */
};

/* "loaded", "not-found", "masked", "bad-setting", "error": systemctl's words. */
const char *unit_load_state_name(enum unit_load_state s);

/*
 * Load name from dirs (NULL-terminated) into u, which the call initialises
 * and the caller frees with unit_free() whatever the result. Problems in the
 * files go to report; the result says what state the unit is in. An
 * unsupported unit type loads as UNIT_LOADED: unit_type_is_supported() is
 * the caller's question.
 */
enum unit_load_state unit_load(struct unit *u, const char *name, const char *const *dirs,
			       const struct unit_spec_env *env, unit_report_fn *report, void *arg);

/*
 * Whether unit_load() would find a file for name in dirs: its own or, for
 * an instance, its template's (a masking link counts). It reads no file and
 * no directory: one access() per directory searched.
 */
bool unit_file_exists(const char *name, const char *const *dirs);

/* The instance a template file is checked as. */
#define UNIT_CHECK_INSTANCE "instance"

/*
 * Load the file at path as the unit its base name says, with drop-ins from
 * "<path>.d/" beside it (for `pith check FILE`). A template
 * "foo@.service" loads as "foo@instance.service". A path whose base name is
 * no valid unit name is UNIT_LOAD_ERROR, reported.
 */
enum unit_load_state unit_load_path(struct unit *u, const char *path,
				    const struct unit_spec_env *env, unit_report_fn *report,
				    void *arg);

/* Read a whole file of at most max bytes into b (reset first). 0 or -errno;
 * -EFBIG when it is larger. */
int unit_file_read(const char *path, size_t max, struct buf *b);

#endif
