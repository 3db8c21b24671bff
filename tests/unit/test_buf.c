/*
 * The growable buffer: what buf_wipe() leaves of a secret it held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"

static void a_wiped_buffer_keeps_no_byte_even_of_what_was_consumed(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(buf_puts(&b, "Authorization: Bearer pith_Zq9XkW7v\r\n\r\nGET / HTTP/1.1"), 0);
	/* The request was parsed: its bytes are behind len now, not gone. */
	buf_consume(&b, strlen("Authorization: Bearer pith_Zq9XkW7v\r\n\r\n"));
	assert_string_equal(b.data, "GET / HTTP/1.1");
	buf_wipe(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	for (size_t i = 0; i < b.cap; i++)
		assert_int_equal(b.data[i], 0);
	/* Still a buffer. */
	assert_int_equal(buf_puts(&b, "x"), 0);
	assert_string_equal(b.data, "x");
	buf_free(&b);
	buf_wipe(&b);	/* nothing allocated: nothing to do */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_wiped_buffer_keeps_no_byte_even_of_what_was_consumed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
