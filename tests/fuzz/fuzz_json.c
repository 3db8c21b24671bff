/* libFuzzer: the JSON the CLI reads and the JSON PID 1 and the control port
 * write. The input is parsed as an API answer (cJSON, nesting bounded) and
 * handed to the formatters systemctl and journalctl use, as a unit, a
 * list and a journal entry: whatever the shape, they answer without
 * crashing. The input is also written as a JSON string by lib/json.c, and
 * what it writes must parse back as one string. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cJSON.h"
#include "journalctl.h"
#include "json.h"
#include "output.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out_opts o = { .now_usec = 1764000000000000ull, .hostname = "h" };
	struct out_filter f = { 0 };
	struct jctl_state st = { 0 };
	struct buf b = BUF_INIT;
	struct json j;
	cJSON *doc = NULL, *back;
	unsigned n;

	if (out_json_parse((const char *)data, size, &doc) == 0) {
		out_unit_status(&b, doc, cJSON_GetObjectItemCaseSensitive(doc, "units"), &o);
		buf_reset(&b);
		out_unit_list(&b, cJSON_GetObjectItemCaseSensitive(doc, "units"), &f, &o, &n);
		buf_reset(&b);
		o.json = 1;
		out_unit_list(&b, cJSON_GetObjectItemCaseSensitive(doc, "units"), &f, &o, &n);
		buf_reset(&b);
		for (int m = 0; m <= JCTL_JSON_PRETTY; m++) {
			jctl_entry_format(&b, doc, (enum jctl_mode)m, cJSON_GetObjectItemCaseSensitive(doc, "processes"),
					  &st, &o);
			buf_reset(&b);
		}
		cJSON_Delete(doc);
	}
	json_init(&j, &b, false);
	json_strn(&j, (const char *)data, size);
	check(json_end(&j) == 0);
	back = cJSON_ParseWithLength(b.data, b.len);
	check(back && cJSON_IsString(back));
	cJSON_Delete(back);
	buf_free(&b);
	return 0;
}
