/* libFuzzer: the unit-file parser, drop-ins, checks, --dump and the
 * EnvironmentFile= reader never crash,
 * read out of bounds or leak, whatever the bytes; what they produce is
 * well formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "json.h"
#include "unit.h"

static int env_check(void *arg, const char *assignment)
{
	(void)arg;
	if (!unit_env_assignment_is_valid(assignment))
		abort();
	return 0;
}

static void count(void *arg, enum unit_severity sev, const char *file, unsigned line,
		  const char *msg)
{
	if (!file || !msg || !*msg)
		abort();
	++*(unsigned *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct unit_spec_env env = { .hostname = "h", .machine_id = "m" };
	const char *text = (const char *)data;
	struct arena a = ARENA_INIT;
	struct buf b = BUF_INIT;
	struct unit u;
	unsigned n = 0;

	if (unit_init(&u, "fuzz@in\\x2dst.service", &env, count, &n) < 0)
		abort();
	unit_parse(&u, "/u/fuzz@.service", text, size);
	/* The same bytes again as a drop-in: resets and overrides. */
	unit_parse(&u, "/u/fuzz@.service.d/x.conf", text, size);
	unit_verify(&u);
	if (n > 2 * (UNIT_REPORTS_MAX + 1) + 16)
		abort();
	if (unit_dump_json(&u, "loaded", &b) < 0)
		abort();
	for (int k = 0; k < EXEC_KIND_MAX; k++)
		for (size_t i = 0; i < u.service.exec[k].n; i++) {
			const struct unit_exec *c = &u.service.exec[k].v[i];
			char *envp[] = { "A=x y", NULL };
			int r;

			if (!c->path || !c->argv || c->argc == 0 || c->argv[c->argc])
				abort();
			unit_exec_expand_env(&a, c, envp, &r);
		}
	{
		/* The same bytes as an EnvironmentFile=. */
		struct err e = { 0 };
		unsigned bad;

		envfile_parse(text, size, env_check, NULL, &bad, &e);
	}
	buf_free(&b);
	arena_free(&a);
	unit_free(&u);
	return 0;
}
