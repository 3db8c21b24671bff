/* The INI tokenizer: systemd's syntax, and what it does with bad lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ini.h"

/* Each item becomes one line of a transcript the tests compare. */
static int record(const struct ini_item *it, void *arg)
{
	struct buf *b = arg;

	switch (it->kind) {
	case INI_SECTION:
		buf_printf(b, "%u section [%s]\n", it->line, it->section);
		break;
	case INI_ENTRY:
		buf_printf(b, "%u entry [%s] %s=<%s>\n", it->line, it->section, it->key, it->value);
		break;
	case INI_BAD:
		buf_printf(b, "%u bad: %s\n", it->line, it->value);
		break;
	}
	return 0;
}

static void expect(const char *text, size_t len, const char *transcript)
{
	struct buf b = BUF_INIT;

	assert_int_equal(ini_parse(text, len, record, &b), 0);
	assert_string_equal(b.data ? b.data : "", transcript);
	buf_free(&b);
}

#define EXPECT(text, transcript) expect(text, strlen(text), transcript)

static void sections_and_entries(void **state)
{
	EXPECT("[Unit]\nDescription = A thing \n\n[Service]\nExecStart=/bin/x  -a\n",
	       "1 section [Unit]\n"
	       "2 entry [Unit] Description=<A thing>\n"
	       "4 section [Service]\n"
	       "5 entry [Service] ExecStart=</bin/x  -a>\n");
}

static void comments_are_whole_lines_only(void **state)
{
	EXPECT("# a comment\n; another\n[A]\nK=v # not a comment\n  # indented comment\n",
	       "3 section [A]\n"
	       "4 entry [A] K=<v # not a comment>\n");
}

static void continuation_joins_lines_with_a_space(void **state)
{
	EXPECT("[A]\nK=one \\\n  two\\\n# skipped inside\nthree\nL=x\n",
	       "1 section [A]\n"
	       "2 entry [A] K=<one    two three>\n"
	       "6 entry [A] L=<x>\n");
}

static void backslash_followed_by_space_does_not_continue(void **state)
{
	EXPECT("[A]\nK=v\\ \nL=w\n", "1 section [A]\n2 entry [A] K=<v\\>\n3 entry [A] L=<w>\n");
}

static void continuation_at_end_of_file(void **state)
{
	EXPECT("[A]\nK=v\\", "1 section [A]\n2 entry [A] K=<v>\n");
}

static void empty_value_and_equals_in_value(void **state)
{
	EXPECT("[A]\nK=\nE=a=b\n",
	       "1 section [A]\n2 entry [A] K=<>\n3 entry [A] E=<a=b>\n");
}

static void crlf_line_endings(void **state)
{
	EXPECT("[A]\r\nK=v\r\n", "1 section [A]\n2 entry [A] K=<v>\n");
}

static void entry_before_any_section(void **state)
{
	EXPECT("K=v\n", "1 entry [] K=<v>\n");
}

static void bad_lines_are_reported_and_skipped(void **state)
{
	EXPECT("[A\nno equals\n=v\n[]\n[B]x\n[C]\nK=v\n",
	       "1 bad: section header without closing ']'\n"
	       "2 bad: missing '='\n"
	       "3 bad: invalid key\n"
	       "4 section []\n"
	       "5 bad: section header without closing ']'\n"
	       "6 section [C]\n"
	       "7 entry [C] K=<v>\n");
}

static void options_after_a_bad_header_are_not_given_to_the_previous_section(void **state)
{
	EXPECT("[Good]\nA=1\n[Bad\nB=2\n[Good]\nC=3\n",
	       "1 section [Good]\n"
	       "2 entry [Good] A=<1>\n"
	       "3 bad: section header without closing ']'\n"
	       "4 bad: option after a malformed section header\n"
	       "5 section [Good]\n"
	       "6 entry [Good] C=<3>\n");
}

/* As systemd reads a file: a NUL ends a line, like a newline. */
static void nul_byte_ends_a_line(void **state)
{
	static const char text[] = "[A]\nK=a\0b\nL=c\n";

	expect(text, sizeof text - 1,
	       "1 section [A]\n2 entry [A] K=<a>\n3 bad: missing '='\n4 entry [A] L=<c>\n");
}

static void overlong_line_is_bad(void **state)
{
	size_t n = INI_LINE_MAX + 10;
	char *text = malloc(n + 16);

	memcpy(text, "[A]\nK=", 6);
	memset(text + 6, 'x', n);
	memcpy(text + 6 + n, "\nL=y\n", 5);
	expect(text, 6 + n + 5, "1 section [A]\n2 bad: line too long\n3 entry [A] L=<y>\n");
	free(text);
}

static int stop_at_entry(const struct ini_item *it, void *arg)
{
	(*(int *)arg)++;
	return it->kind == INI_ENTRY ? 42 : 0;
}

static void callback_can_stop_parsing(void **state)
{
	int calls = 0;

	assert_int_equal(ini_parse("[A]\nK=v\nL=w\n", 12, stop_at_entry, &calls), 42);
	assert_int_equal(calls, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sections_and_entries),
		cmocka_unit_test(comments_are_whole_lines_only),
		cmocka_unit_test(continuation_joins_lines_with_a_space),
		cmocka_unit_test(backslash_followed_by_space_does_not_continue),
		cmocka_unit_test(continuation_at_end_of_file),
		cmocka_unit_test(empty_value_and_equals_in_value),
		cmocka_unit_test(crlf_line_endings),
		cmocka_unit_test(entry_before_any_section),
		cmocka_unit_test(bad_lines_are_reported_and_skipped),
		cmocka_unit_test(options_after_a_bad_header_are_not_given_to_the_previous_section),
		cmocka_unit_test(nul_byte_ends_a_line),
		cmocka_unit_test(overlong_line_is_bad),
		cmocka_unit_test(callback_can_stop_parsing),
	};
	return cmocka_run_group_tests_name("ini", tests, NULL, NULL);
}
