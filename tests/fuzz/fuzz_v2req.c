/* libFuzzer: v2 keys request decoding. The input is "METHOD TARGET\n" then
 * a body (read as a form). Nothing crashes or reads outside the input; an
 * accepted request has a clean key no longer than STORE_KEY_MAX that
 * starts with "/", in store form (store_key.h: decoding and escaping it
 * again gives it back); an error has a cause; a redirect has a location
 * that decodes as accepted or as an error, never as another redirect. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_key.h"
#include "v2req.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[9000], *sp;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	struct v2_req q, q2;
	int r;

	if (n >= sizeof(line) || memchr(data, 0, n))
		return 0;
	memcpy(line, data, n);
	line[n] = 0;
	if (!(sp = strchr(line, ' ')))
		return 0;
	*sp++ = 0;
	r = v2_req_parse(&q, line, sp, nl ? (const char *)nl + 1 : NULL, nl ? size - n - 1 : 0,
			 "application/x-www-form-urlencoded");
	if (r == V2_OK) {
		check(q.path[0] == '/' && strlen(q.path) <= STORE_KEY_MAX);
		check(!strstr(q.path, "//") && !strstr(q.path, "/./") && !strstr(q.path, "/../"));
		check(strlen(q.path) == 1 || q.path[strlen(q.path) - 1] != '/');
		{
			struct buf real = BUF_INIT, again = BUF_INIT;

			check(!store_key_unescape(&real, q.path, strlen(q.path)) &&
			      !store_key_escape(&again, real.data, real.len));
			check(again.len == strlen(q.path) && !memcmp(again.data, q.path, again.len));
			buf_free(&real);
			buf_free(&again);
		}
	} else if (r > 0) {
		check(q.cause.len > 0);
	} else if (r == V2_REDIRECT) {
		check(q.location.len > 0);
		r = v2_req_parse(&q2, line, q.location.data, NULL, 0, NULL);
		check(r != V2_REDIRECT);
		v2_req_free(&q2);
	}
	v2_req_free(&q);
	return 0;
}
