#include "unit_load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *unit_load_state_name(enum unit_load_state s)
{
	switch (s) {
	case UNIT_LOADED: return "loaded";
	case UNIT_NOT_FOUND: return "not-found";
	case UNIT_MASKED: return "masked";
	case UNIT_BAD_SETTING: return "bad-setting";
	case UNIT_LOAD_ERROR: return "error";
	}
	return "error";
}

int unit_file_read(const char *path, size_t max, struct buf *b)
{
	struct stat st;
	int fd, r = 0;

	buf_reset(b);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (b->len > max) {
			r = -EFBIG;
			break;
		}
		if ((r = buf_reserve(b, 65536)) < 0)
			break;
		n = read(fd, b->data + b->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = 0;
	}
	if (r == 0 && b->len > max)
		r = -EFBIG;
out:
	close(fd);
	return r;
}

static void say(unit_report_fn *report, void *arg, enum unit_severity sev, const char *file,
		const char *fmt, const char *what, int err)
{
	char msg[512];

	if (!report)
		return;
	snprintf(msg, sizeof(msg), fmt, what, strerror(err));
	report(arg, sev, file, 0, msg);
}

/* Is path masked: a link to /dev/null, or an empty file? */
static bool is_masked(const char *path, size_t len)
{
	char target[16];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n == 9 && memcmp(target, "/dev/null", 9) == 0)
		return true;
	return len == 0;
}

struct dropin {
	char name[NAME_MAX + 1];
	char path[PATH_MAX];
};

static int dropin_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name, ((const struct dropin *)b)->name);
}

/* Add the "*.conf" files of dir to v, skipping names already there. */
static void dropins_scan(const char *dir, struct dropin *v, size_t *n, unit_report_fn *report,
			 void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t seen = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && seen++ < 4 * UNIT_DROPINS_MAX) {
		size_t len = strlen(de->d_name), i;

		if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0 || de->d_name[0] == '.')
			continue;
		for (i = 0; i < *n; i++)
			if (strcmp(v[i].name, de->d_name) == 0)
				break;
		if (i < *n)
			continue;
		if (*n == UNIT_DROPINS_MAX) {
			say(report, arg, UNIT_WARNING, dir, "%s: more than 128 drop-ins; the rest ignored%.0s",
			    dir, 0);
			break;
		}
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", de->d_name);
		if (snprintf(v[*n].path, sizeof(v[*n].path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(v[*n].path))
			(*n)++;
	}
	closedir(d);
}

/* Parse the main file at path, then the drop-ins found in the folders. */
static enum unit_load_state load_files(struct unit *u, const char *path, char **folders,
				       size_t n_folders, unit_report_fn *report, void *arg)
{
	struct dropin *v = calloc(UNIT_DROPINS_MAX, sizeof(*v));
	struct buf b = BUF_INIT;
	enum unit_load_state st = UNIT_LOADED;
	size_t n = 0;
	int r;

	if (!v)
		return UNIT_LOAD_ERROR;
	r = unit_file_read(path, UNIT_FILE_MAX, &b);
	if (r < 0) {
		say(report, arg, UNIT_ERROR, path,
		    r == -EFBIG ? "%s: larger than the 4 MiB a unit file may be%.0s" : "%s: %s", path, -r);
		st = UNIT_LOAD_ERROR;
		goto out;
	}
	if (is_masked(path, b.len)) {
		st = UNIT_MASKED;
		goto out;
	}
	if (unit_parse(u, path, b.data, b.len) < 0) {
		st = UNIT_LOAD_ERROR;
		goto out;
	}
	for (size_t i = 0; i < n_folders; i++)
		dropins_scan(folders[i], v, &n, report, arg);
	qsort(v, n, sizeof(*v), dropin_cmp);
	for (size_t i = 0; i < n; i++) {
		r = unit_file_read(v[i].path, UNIT_FILE_MAX, &b);
		if (r < 0) {
			say(report, arg, UNIT_ERROR, v[i].path, "%s: %s", v[i].path, -r);
			u->errors++;
			continue;
		}
		if (unit_parse(u, v[i].path, b.data, b.len) < 0) {
			st = UNIT_LOAD_ERROR;
			goto out;
		}
	}
	r = unit_verify(u);
	if (r == -EINVAL)
		st = UNIT_BAD_SETTING;
out:
	buf_free(&b);
	free(v);
	return st;
}

static char *join(const char *dir, const char *name, const char *suffix)
{
	char *p;

	return asprintf(&p, "%s/%s%s", dir, name, suffix) < 0 ? NULL : p;
}

/* How many of dirs are searched. */
static size_t dirs_count(const char *const *dirs)
{
	size_t nd = 0;

	while (dirs[nd] && nd < 16)
		nd++;
	return nd;
}

/* The file name loads from: its own in the first directory that has one,
 * else its template's; NULL (or out of memory) when there is none. tmpl is
 * set to the template's name for an instance, "" otherwise. */
static char *main_find(const char *name, const char *const *dirs, char *tmpl, size_t len)
{
	size_t nd = dirs_count(dirs);

	tmpl[0] = 0;
	if (unit_name_is_instance(name))
		unit_name_template(name, tmpl, len);
	for (size_t i = 0; i < nd; i++) {
		char *p = join(dirs[i], name, "");

		if (p && access(p, F_OK) == 0)
			return p;
		free(p);
	}
	for (size_t i = 0; i < nd && *tmpl; i++) {
		char *p = join(dirs[i], tmpl, "");

		if (p && access(p, F_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

bool unit_file_exists(const char *name, const char *const *dirs)
{
	char tmpl[UNIT_NAME_MAX + 1];
	char *p = main_find(name, dirs, tmpl, sizeof(tmpl));

	free(p);
	return p != NULL;
}

enum unit_load_state unit_load(struct unit *u, const char *name, const char *const *dirs,
			       const struct unit_spec_env *env, unit_report_fn *report, void *arg)
{
	char tmpl[UNIT_NAME_MAX + 1];
	char *folders[64], *main;
	size_t nf = 0, nd = dirs_count(dirs);
	enum unit_load_state st;

	if (unit_init(u, name, env, report, arg) < 0)
		return UNIT_LOAD_ERROR;
	main = main_find(name, dirs, tmpl, sizeof(tmpl));
	if (!main) {
		/* Even a unit without a file may have been masked by name. */
		return UNIT_NOT_FOUND;
	}
	for (size_t i = 0; i < nd; i++) {
		if ((folders[nf] = join(dirs[i], name, ".d")))
			nf++;
		if (*tmpl && (folders[nf] = join(dirs[i], tmpl, ".d")))
			nf++;
	}
	st = load_files(u, main, folders, nf, report, arg);
	for (size_t i = 0; i < nf; i++)
		free(folders[i]);
	free(main);
	return st;
}

enum unit_load_state unit_load_path(struct unit *u, const char *path,
				    const struct unit_spec_env *env, unit_report_fn *report,
				    void *arg)
{
	const char *base = strrchr(path, '/');
	char *folder;
	enum unit_load_state st;

	char name[UNIT_NAME_MAX + 1];

	/* A template is checked as an instance, so that "%i.device" and the
	 * like make valid names. */
	base = base ? base + 1 : path;
	if (unit_name_is_template(base) &&
	    unit_name_instantiate(base, UNIT_CHECK_INSTANCE, name, sizeof(name)) == 0)
		base = name;
	if (unit_init(u, base, env, report, arg) < 0) {
		if (report)
			report(arg, UNIT_ERROR, path, 0,
			       "the file name is not a unit name (like \"name.service\")");
		return UNIT_LOAD_ERROR;
	}
	if (asprintf(&folder, "%s.d", path) < 0)
		return UNIT_LOAD_ERROR;
	st = load_files(u, path, &folder, 1, report, arg);
	free(folder);
	return st;
}
