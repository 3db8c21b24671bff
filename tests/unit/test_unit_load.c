/*
 * Finding unit files: unit_file_exists() says yes exactly when unit_load()
 * finds a file, so that PID 1 can answer for a name that has none without
 * making an entry for it. Run against a temporary pair of unit directories.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_load.h"

static char top[PATH_MAX], etc[PATH_MAX + 8], lib[PATH_MAX + 8];

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state)
{
	snprintf(top, sizeof(top), "/tmp/pith-unit-load-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(etc, sizeof(etc), "%s/etc", top);
	snprintf(lib, sizeof(lib), "%s/lib", top);
	return mkdir(etc, 0755) || mkdir(lib, 0755);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	return nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* unit_load()'s answer for name: found or not. */
static bool loads(const char *name, const char *const *dirs)
{
	struct unit u;
	enum unit_load_state st = unit_load(&u, name, dirs, NULL, NULL, NULL);

	unit_free(&u);
	return st != UNIT_NOT_FOUND;
}

static void exists_exactly_when_a_file_loads(void **state)
{
	const char *dirs[] = { etc, lib, NULL };
	static const char *const names[] = {
		"own.service", "shipped.service", "web@one.service", "web@.service",
		"masked.service", "dangling.service", "nothing.service", "other@one.service",
		"own.target",
	};

	put(etc, "own.service", "[Service]\nExecStart=/bin/true\n");
	put(lib, "shipped.service", "[Service]\nExecStart=/bin/true\n");
	put(lib, "web@.service", "[Service]\nExecStart=/bin/echo %i\n");
	link_to(etc, "masked.service", "/dev/null");
	link_to(etc, "dangling.service", "/nowhere/at/all.service");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool want = i < 5;

		assert_true(unit_file_exists(names[i], dirs) == want);
		assert_true(loads(names[i], dirs) == want);
	}
}

static void no_directories_no_file(void **state)
{
	const char *none[] = { NULL };

	assert_false(unit_file_exists("own.service", none));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(exists_exactly_when_a_file_loads, setup, teardown),
		cmocka_unit_test(no_directories_no_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
