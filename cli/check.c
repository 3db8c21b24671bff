/*
 * `pith check [--dump] PATH...`: the unit-file parser and the dependency
 * checker (ordering cycles, missing requirements), offline. Reports go to stderr as "file:line: error|warning: …";
 * the exit status is 1 when there was an error, 0 otherwise (warnings do not
 * count), 100 for bad usage.
 */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "unit_graph.h"
#include "unit_load.h"

struct tally {
	unsigned units, errors, warnings, skipped;
	struct unit_graph graph;	/* every unit checked, for the graph check */
};

static void print_report(void *arg, enum unit_severity sev, const char *file, unsigned line,
			 const char *msg)
{
	struct tally *t = arg;

	if (line)
		fprintf(stderr, "%s:%u: %s: %s\n", file, line, sev == UNIT_ERROR ? "error" : "warning", msg);
	else
		fprintf(stderr, "%s: %s: %s\n", file, sev == UNIT_ERROR ? "error" : "warning", msg);
	if (sev == UNIT_ERROR)
		t->errors++;
	else
		t->warnings++;
}

/* The first line of a small file, for specifiers. */
static char *first_line(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");
	char *s = NULL;

	if (!f)
		return NULL;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		s = strdup(buf);
	}
	fclose(f);
	return s;
}

/* Specifiers expand to this machine's facts, as systemd-analyze does. */
static void spec_env_fill(struct unit_spec_env *env)
{
	static char host[256];
	static struct utsname u;

	if (gethostname(host, sizeof(host) - 1) == 0)
		env->hostname = host;
	if (uname(&u) == 0) {
		env->kernel_release = u.release;
		env->arch = strcmp(u.machine, "x86_64") == 0 ? "x86-64" : u.machine;
	}
	env->machine_id = first_line("/etc/machine-id");
	env->boot_id = first_line("/proc/sys/kernel/random/boot_id");
	/* %b is 32 hex digits, as systemd writes ids. */
	for (char *r = (char *)env->boot_id, *w = r; r && (*r == '-' || (*w++ = *r)); r++)
		;
}

/* What the graph check needs of a unit: its name and dependencies. */
static void graph_add(struct tally *t, const struct unit *u, enum unit_load_state st)
{
	unsigned id;

	if (ug_unit_add(&t->graph, u->name, &id) < 0)
		die(EXIT_TEMP, "unable to check the dependency graph: out of memory");
	ug_unit_set_load(&t->graph, id, st == UNIT_LOADED ? UG_LOADED : UG_LOAD_BAD_SETTING);
	for (int d = 0; d < UNIT_DEP_MAX; d++)
		for (size_t i = 0; i < u->deps[d].n; i++)
			ug_dep_add(&t->graph, u->name, (enum ug_dep)d, u->deps[d].v[i]);
}

/*
 * Ordering cycles are errors: PID 1 would have to drop a job to break one,
 * or refuse the start. A hard requirement on a unit that was not checked
 * is only a warning: it may come from elsewhere on the node.
 */
static void graph_check(struct tally *t)
{
	struct ug_check c;

	if (ug_check_run(&c, &t->graph) < 0)
		die(EXIT_TEMP, "unable to check the dependency graph: out of memory");
	for (size_t i = 0; i < c.ncycles; i++) {
		const struct ug_cycle *cy = &c.cycles[i];

		fprintf(stderr, "%s: error: ordering cycle: ", ug_unit_name(&t->graph, c.units[cy->path]));
		for (size_t k = 0; k < cy->npath; k++)
			fprintf(stderr, "%s is after ", ug_unit_name(&t->graph, c.units[cy->path + k]));
		fprintf(stderr, "%s\n", ug_unit_name(&t->graph, c.units[cy->path]));
		t->errors++;
	}
	for (size_t i = 0; i < c.nunmet; i++) {
		fprintf(stderr, "%s: warning: %s=%s, which is not among the units checked\n",
			ug_unit_name(&t->graph, c.unmet[i].unit), ug_dep_name(c.unmet[i].dep),
			ug_unit_name(&t->graph, c.unmet[i].target));
		t->warnings++;
	}
	ug_check_free(&c);
}

static int check_file(const char *path, const struct unit_spec_env *env, struct tally *t,
		      bool dump)
{
	struct unit u;
	enum unit_load_state st = unit_load_path(&u, path, env, print_report, t);
	int r = 0;

	if (st == UNIT_MASKED) {
		fprintf(stderr, "%s: masked; not checked\n", path);
		t->skipped++;
	} else if (dump && (st == UNIT_LOADED || st == UNIT_BAD_SETTING)) {
		struct buf b = BUF_INIT;

		if (unit_dump_json(&u, unit_load_state_name(st), &b) < 0)
			die(EXIT_TEMP, "unable to format %s: out of memory", path);
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	}
	if (st != UNIT_MASKED)
		t->units++;
	if (st == UNIT_LOADED || st == UNIT_BAD_SETTING)
		graph_add(t, &u, st);
	unit_free(&u);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every unit file in dir, in name order; drop-in and .wants folders are
 * read with their unit. */
static void check_dir(const char *dir, const struct unit_spec_env *env, struct tally *t)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		fprintf(stderr, "%s: error: %s\n", dir, strerror(errno));
		t->errors++;
		return;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!unit_name_is_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				die(EXIT_TEMP, "unable to list %s: out of memory", dir);
		}
		if (!(names[n++] = strdup(path)))
			die(EXIT_TEMP, "unable to list %s: out of memory", dir);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		check_file(names[i], env, t, false);
		free(names[i]);
	}
	free(names);
}

static const char usage[] =
	"usage: pith check [--dump] PATH...\n"
	"\n"
	"Parse unit files as PID 1 would and report what is wrong with them.\n"
	"PATH is a unit file or a directory of them; drop-ins are read from\n"
	"\"<file>.d/\". Exits 1 if there was an error (warnings do not count).\n"
	"\n"
	"  --dump   print each FILE as Pith understood it, as JSON\n";

int cmd_check(int argc, char **argv)
{
	struct unit_spec_env env = { 0 };
	struct tally t = { 0 };
	bool dump = false;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--dump")) {
			dump = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fputs(usage, stderr);
			die(EXIT_USAGE, "unknown option %s", argv[i]);
		}
	}
	if (i == argc) {
		fputs(usage, stderr);
		die(EXIT_USAGE, "no unit file or directory given");
	}
	spec_env_fill(&env);
	ug_graph_init(&t.graph);
	for (; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: error: %s\n", argv[i], strerror(errno));
			t.errors++;
		} else if (S_ISDIR(st.st_mode)) {
			if (dump)
				die(EXIT_USAGE, "--dump takes unit files, and %s is a directory", argv[i]);
			check_dir(argv[i], &env, &t);
		} else {
			check_file(argv[i], &env, &t, dump);
		}
	}
	graph_check(&t);
	ug_graph_free(&t.graph);
	fprintf(stderr, "pith check: %u units, %u errors, %u warnings%s\n", t.units, t.errors,
		t.warnings, t.skipped ? ", some masked units skipped" : "");
	return t.errors ? 1 : 0;
}
