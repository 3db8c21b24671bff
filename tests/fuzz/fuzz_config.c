/* libFuzzer: node config from fw_cfg/a file and from the kernel command
 * line. Whatever the input, the result is a valid config. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void quiet(void *arg, const char *origin, unsigned line, const char *msg)
{
	(void)arg;
	(void)origin;
	(void)line;
	if (strlen(msg) >= 256)
		abort();
}

static void valid(const struct node_config *c)
{
	if (strlen(c->name) == 0 || strlen(c->name) > CONFIG_NAME_MAX)
		abort();
	if (c->net == NET_STATIC && (c->prefix < 1 || c->prefix > 32))
		abort();
	if (c->ndns < 0 || c->ndns > CONFIG_DNS_MAX || strlen(c->run) > CONFIG_RUN_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_config c;
	char *line;

	config_defaults(&c);
	config_apply_ini(&c, (const char *)data, size, "fuzz", quiet, NULL);
	valid(&c);
	/* The same bytes as a command line (which ends at the first NUL). */
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	config_apply_cmdline(&c, line, quiet, NULL);
	valid(&c);
	free(line);
	return 0;
}
