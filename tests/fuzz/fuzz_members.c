/* libFuzzer: the body of POST and PUT /v2/members (a client's JSON). Nothing
 * crashes or reads outside the input; an accepted body has between one and
 * KV_URLS_MAX peer URLs, each of which parses again to itself. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "members.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_url u[KV_URLS_MAX], again;
	struct err e = { 0 };
	size_t n;

	if (kv_member_req_parse((const char *)data, size, u, &n, &e) < 0) {
		check(e.msg[0] != 0);
		return 0;
	}
	check(n >= 1 && n <= KV_URLS_MAX);
	for (size_t i = 0; i < n; i++) {
		check(kv_url_parse(&again, u[i].text, &e) == 0);
		check(!strcmp(again.text, u[i].text) && again.port == u[i].port && again.tls == u[i].tls);
	}
	return 0;
}
