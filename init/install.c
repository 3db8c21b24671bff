/*
 * [Install]: enable and disable as links under the operator's unit
 * directory (<target>.wants/, <target>.requires/, aliases), and the unit
 * file state systemctl shows.
 */
#include "manager.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- enable, disable ---------------------------------------------------- */

static bool link_points_at(const char *link, const char *name)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	const char *base;

	if (n <= 0)
		return false;
	target[n] = 0;
	base = strrchr(target, '/');
	return strcmp(base ? base + 1 : target, name) == 0;
}

/* Is name linked from some "<x>.wants/" or ".requires/" in a unit dir? */
static bool is_linked(struct manager *m, const char *name)
{
	for (size_t i = 0; m->dirs[i]; i++) {
		struct dirent *de;
		DIR *d = opendir(m->dirs[i]);

		if (!d)
			continue;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			char path[PATH_MAX];
			struct stat st;

			if (!((n > 6 && !strcmp(de->d_name + n - 6, ".wants")) ||
			      (n > 9 && !strcmp(de->d_name + n - 9, ".requires"))))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", m->dirs[i], de->d_name, name);
			if (lstat(path, &st) == 0) {
				closedir(d);
				return true;
			}
		}
		closedir(d);
	}
	return false;
}

const char *manager_unit_file_state(struct manager *m, struct mu *u)
{
	const struct unit *x = &u->u;

	if (u->load == UNIT_MASKED)
		return "masked";
	if (!x->path || u->load == UNIT_NOT_FOUND)
		return "";
	if (!strcmp(x->path, "(built-in)"))
		return "static";
	if (is_linked(m, u->name))
		return "enabled";
	if (!x->wanted_by.n && !x->required_by.n && !x->alias.n && !x->also.n)
		return "static";
	return "disabled";
}

int manager_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int link_make(struct manager *m, const char *dir, const char *name, const char *target,
		     manager_change_fn *fn, void *arg)
{
	char path[PATH_MAX];
	int r;

	if (dir) {
		snprintf(path, sizeof(path), "%s/%s", m->etc_dir, dir);
		if ((r = manager_mkdir_p(path)) < 0)
			return r;
		snprintf(path, sizeof(path), "%s/%s/%s", m->etc_dir, dir, name);
	} else {
		snprintf(path, sizeof(path), "%s/%s", m->etc_dir, name);
	}
	if (link_points_at(path, strrchr(target, '/') ? strrchr(target, '/') + 1 : target))
		return 0;
	unlink(path);
	if (symlink(target, path) < 0)
		return -errno;
	if (fn)
		fn(arg, true, path, target);
	return 0;
}

/* Remove links to name: in every .wants/.requires of etc_dir, and aliases. */
static void links_remove(struct manager *m, const char *name, const char *target_base,
			 manager_change_fn *fn, void *arg)
{
	DIR *d = opendir(m->etc_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[PATH_MAX];

		if ((n > 6 && !strcmp(de->d_name + n - 6, ".wants")) ||
		    (n > 9 && !strcmp(de->d_name + n - 9, ".requires"))) {
			snprintf(path, sizeof(path), "%s/%s/%s", m->etc_dir, de->d_name, name);
			if (unlink(path) == 0 && fn)
				fn(arg, false, path, NULL);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", m->etc_dir, de->d_name);
		if (strcmp(de->d_name, name) && link_points_at(path, target_base) && unlink(path) == 0 && fn)
			fn(arg, false, path, NULL);
	}
	closedir(d);
}

/* Units one enable or disable reaches through Also= and DefaultInstance=;
 * the rest are left alone. */
#define ENABLE_UNITS_MAX 64

/* The units an enable has reached: each is done once, so Also= pointing
 * back (a.service Also=b.service, b.service Also=a.service) ends. */
struct enable_walk {
	const struct mu *done[ENABLE_UNITS_MAX];
	size_t n;
};

/* manager_enable() without the reload, which may free units: done once,
 * after the links of u and of its Also= units are all made. */
static int enable_links(struct manager *m, struct mu *u, bool enable, manager_change_fn *fn,
			void *arg, struct err *e, struct enable_walk *w)
{
	const struct unit *x = &u->u;
	char dir[UNIT_NAME_MAX + 16];
	const char *base;
	int r = 0;

	for (size_t i = 0; i < w->n; i++)
		if (w->done[i] == u)
			return 0;
	if (w->n == ENABLE_UNITS_MAX)
		return 0;
	w->done[w->n++] = u;
	if (u->load == UNIT_MASKED) {
		err_set(e, 0, "Unit %s is masked.", u->name);
		return -ESHUTDOWN;
	}
	if (!x->path || u->load == UNIT_NOT_FOUND || !strcmp(x->path, "(built-in)")) {
		err_set(e, 0, "Unit %s does not exist.", u->name);
		return -ENOENT;
	}
	base = strrchr(x->path, '/') ? strrchr(x->path, '/') + 1 : x->path;
	if (unit_name_is_template(u->name)) {
		char inst[UNIT_NAME_MAX + 1];
		struct mu *i;

		/* A template is enabled as its DefaultInstance=. */
		if (!x->default_instance ||
		    unit_name_instantiate(u->name, x->default_instance, inst, sizeof(inst)) < 0 ||
		    !(i = manager_unit(m, inst))) {
			err_set(e, 0, "Unit %s is a template without DefaultInstance=: enable an instance.", u->name);
			return -EINVAL;
		}
		return enable_links(m, i, enable, fn, arg, e, w);
	}
	if (!enable) {
		links_remove(m, u->name, base, fn, arg);
	} else {
		for (size_t i = 0; i < x->wanted_by.n && r == 0; i++) {
			snprintf(dir, sizeof(dir), "%s.wants", x->wanted_by.v[i]);
			r = link_make(m, dir, u->name, x->path, fn, arg);
		}
		for (size_t i = 0; i < x->required_by.n && r == 0; i++) {
			snprintf(dir, sizeof(dir), "%s.requires", x->required_by.v[i]);
			r = link_make(m, dir, u->name, x->path, fn, arg);
		}
		for (size_t i = 0; i < x->alias.n && r == 0; i++)
			r = link_make(m, NULL, x->alias.v[i], x->path, fn, arg);
		if (r < 0) {
			err_set(e, 0, "Failed to enable %s: %s", u->name, strerror(-r));
			return r;
		}
	}
	for (size_t i = 0; i < x->also.n; i++) {
		struct mu *o = manager_unit(m, x->also.v[i]);

		if (o)
			enable_links(m, o, enable, fn, arg, NULL, w);
	}
	return 0;
}

int manager_enable(struct manager *m, struct mu *u, bool enable, manager_change_fn *fn,
		   void *arg, struct err *e)
{
	struct enable_walk w = { .n = 0 };
	int r = enable_links(m, u, enable, fn, arg, e, &w);

	return r < 0 ? r : manager_daemon_reload(m);
}

