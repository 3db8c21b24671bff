/* libFuzzer: the INI tokenizer never crashes, reads out of bounds or leaks,
 * and every item it reports is well formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

static int check(const struct ini_item *it, void *arg)
{
	(void)arg;
	if (!it->section || !it->key || !it->value || it->line == 0)
		abort();
	if (it->kind == INI_ENTRY && (it->key[0] == 0 || strlen(it->key) > INI_NAME_MAX))
		abort();
	if (strlen(it->value) > INI_LINE_MAX)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ini_parse((const char *)data, size, check, NULL);
	return 0;
}
