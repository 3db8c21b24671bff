/*
 * Unit names, templates and specifiers, as systemd defines them
 * (systemd.unit(5), "DESCRIPTION" and "SPECIFIERS").
 *
 * A name is "prefix.type" or, for an instance of a template,
 * "prefix@instance.type"; the template itself is "prefix@.type". Prefix
 * characters are ASCII letters, digits and ":-_.\"; an instance may also hold
 * '@'. A name is at most UNIT_NAME_MAX bytes. All of this is pure: the
 * facts specifiers need about the machine come in a struct from the caller.
 */
#ifndef PITH_UNIT_NAME_H
#define PITH_UNIT_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define UNIT_NAME_MAX 255

/* Every type systemd knows, so any Debian unit file parses; Pith runs
 * services and targets, the rest load as unsupported. */
enum unit_type {
	UNIT_SERVICE,
	UNIT_TARGET,
	UNIT_SOCKET,
	UNIT_TIMER,
	UNIT_MOUNT,
	UNIT_AUTOMOUNT,
	UNIT_SWAP,
	UNIT_PATH,
	UNIT_SLICE,
	UNIT_SCOPE,
	UNIT_DEVICE,
	UNIT_TYPE_MAX,
};

/* "service" for UNIT_SERVICE; NULL out of range. */
const char *unit_type_name(enum unit_type t);

struct unit_name_parts {
	enum unit_type type;
	size_t prefix_len;	/* bytes before '@' or the type suffix */
	const char *instance;	/* into the name; NULL unless there is an '@' */
	size_t instance_len;	/* 0 for a template */
};

/* Split a name into its parts. -EINVAL when it is not a valid name. */
int unit_name_parse(const char *name, struct unit_name_parts *p);
bool unit_name_is_valid(const char *name);
bool unit_name_is_template(const char *name);
bool unit_name_is_instance(const char *name);

/* "foo@bar.service" -> "foo@.service". -EINVAL if name is no instance,
 * -ENAMETOOLONG if out is too small. */
int unit_name_template(const char *name, char *out, size_t len);

/* "foo@.service" + "bar" -> "foo@bar.service"; the result is checked. */
int unit_name_instantiate(const char *tmpl, const char *instance, char *out, size_t len);

/*
 * Undo systemd's name escaping on n bytes of s: "-" becomes "/" and "\xNN"
 * the byte NN. Appends to out. -EINVAL on a malformed escape or a NUL.
 */
int unit_name_unescape(const char *s, size_t n, struct buf *out);

/* What specifiers expand to besides the unit's own name. Any field may be
 * NULL; a specifier whose fact is missing expands to "". */
struct unit_spec_env {
	const char *hostname;		/* %H; %l is its first label */
	const char *machine_id;		/* %m */
	const char *boot_id;		/* %b */
	const char *kernel_release;	/* %v */
	const char *arch;		/* %a */
	const char *os_id;		/* %o, and the os-release fields below */
	const char *os_version_id;	/* %w */
	const char *os_build_id;	/* %B */
	const char *os_variant_id;	/* %W */
	const char *os_image_id;	/* %M */
	const char *os_image_version;	/* %A */
};

/*
 * Expand the specifiers in n bytes of s for unit name (a valid name) whose
 * file is path (may be NULL), appending to out. An unknown specifier is
 * -EBADMSG (systemd refuses it too), with its character in *bad; a lone
 * '%' at the end is kept as it is.
 * The manager runs as root, so %u %U %g %G %h %s are root's.
 */
int unit_spec_expand(const char *name, const char *path, const struct unit_spec_env *env,
		     const char *s, size_t n, struct buf *out, char *bad);

#endif
