/*
 * Decoding v2 keys requests (services/kv/v2req.c) as etcd 3.4 decodes them:
 * where parameters come from, which wins, how booleans and numbers read,
 * and which error a bad request gets (code and cause, as recorded from
 * etcd), in etcd's order when there are several.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "v2req.h"

#define FORM "application/x-www-form-urlencoded"

static struct v2_req q;

static int parse(const char *method, const char *target, const char *body, const char *ctype)
{
	v2_req_free(&q);
	return v2_req_parse(&q, method, target, body, body ? strlen(body) : 0, ctype);
}

static void expect_error(int code, const char *cause, const char *method, const char *target,
			 const char *body)
{
	assert_int_equal(parse(method, target, body, body ? FORM : NULL), code);
	assert_string_equal(q.cause.data, cause);
}

static void parameters_come_from_body_then_query(void **state)
{
	assert_int_equal(parse("PUT", "/v2/keys/foo", "value=bar", FORM), V2_OK);
	assert_string_equal(q.path, "/foo");
	assert_string_equal(q.value, "bar");
	assert_int_equal(parse("PUT", "/v2/keys/k?value=fromquery", "value=frombody", FORM), V2_OK);
	assert_string_equal(q.value, "frombody");
	assert_int_equal(parse("PUT", "/v2/keys/k?value=a&value=b", NULL, NULL), V2_OK);
	assert_string_equal(q.value, "a");
	/* '+' and escapes in values; an empty value is a value. */
	assert_int_equal(parse("PUT", "/v2/keys/k", "value=a+b%26c%3D", FORM), V2_OK);
	assert_string_equal(q.value, "a b&c=");
	assert_int_equal(parse("PUT", "/v2/keys/k", "value=", FORM), V2_OK);
	assert_int_equal(q.value_len, 0);
	/* A JSON body is not a form; a DELETE's body is never read. */
	assert_int_equal(parse("PUT", "/v2/keys/k", "{\"value\":1}", "application/json"), V2_OK);
	assert_null(q.value);
	assert_int_equal(parse("DELETE", "/v2/keys/d", "dir=true", FORM), V2_OK);
	assert_false(q.dir);
	assert_int_equal(parse("PUT", "/v2/keys/k", "value=x", "application/x-www-form-urlencoded; charset=utf-8"), V2_OK);
	assert_string_equal(q.value, "x");
}

static void booleans_numbers_and_flags(void **state)
{
	assert_int_equal(parse("GET", "/v2/keys/d?recursive=1&sorted=TRUE&quorum=t&wait=True&waitIndex=7", NULL, NULL), V2_OK);
	assert_true(q.recursive && q.sorted && q.quorum && q.wait);
	assert_int_equal(q.wait_index, 7);
	assert_int_equal(parse("PUT", "/v2/keys/k?prevExist=false&prevIndex=0&ttl=", "value=v", FORM), V2_OK);
	assert_int_equal(q.prev_exist, STORE_EXIST_FALSE);
	assert_int_equal(q.prev_index, 0);
	assert_false(q.has_ttl);
	assert_int_equal(parse("PUT", "/v2/keys/k?ttl=100&prevValue=old&noValueOnSuccess=true", NULL, NULL), V2_OK);
	assert_true(q.has_ttl);
	assert_int_equal(q.ttl, 100);
	assert_string_equal(q.prev_value, "old");
	assert_int_equal(q.prev_value_len, 3);
	assert_true(q.no_value_on_success);
	/* A prevValue may hold NUL; one that is only a NUL is not empty. */
	assert_int_equal(parse("PUT", "/v2/keys/k?prevValue=a%00b", NULL, NULL), V2_OK);
	assert_int_equal(q.prev_value_len, 3);
	assert_memory_equal(q.prev_value, "a\0b", 3);
	assert_int_equal(parse("PUT", "/v2/keys/k?prevValue=%00", NULL, NULL), V2_OK);
	assert_int_equal(q.prev_value_len, 1);
}

static void bad_fields_get_etcds_errors(void **state)
{
	expect_error(STORE_EINVALIDFIELD, "invalid value for \"dir\"", "PUT", "/v2/keys/k?dir=", NULL);
	expect_error(STORE_EINVALIDFIELD, "invalid value for \"recursive\"", "GET", "/v2/keys/k?recursive=yes", NULL);
	expect_error(STORE_ETTLNAN, "invalid value for \"ttl\"", "PUT", "/v2/keys/k", "ttl=abc");
	expect_error(STORE_ETTLNAN, "invalid value for \"ttl\"", "PUT", "/v2/keys/k", "ttl=-1");
	expect_error(STORE_ETTLNAN, "invalid value for \"ttl\"", "PUT", "/v2/keys/k", "ttl=1.5");
	expect_error(STORE_ETTLNAN, "invalid value for \"ttl\"", "PUT", "/v2/keys/k", "ttl=99999999999999999999");
	expect_error(STORE_EINDEXNAN, "invalid value for \"prevIndex\"", "PUT", "/v2/keys/k?prevIndex=abc", NULL);
	expect_error(STORE_EINDEXNAN, "invalid value for \"waitIndex\"", "GET", "/v2/keys/k?waitIndex=-1", NULL);
	expect_error(STORE_EINVALIDFIELD, "invalid value for prevExist", "PUT", "/v2/keys/k?prevExist=maybe", NULL);
	expect_error(STORE_EINVALIDFIELD, "invalid value for refresh", "PUT", "/v2/keys/k", "ttl=5&refresh=abc");
	expect_error(STORE_EPREVVALUEREQUIRED, "\"prevValue\" cannot be empty", "PUT", "/v2/keys/k?prevValue=", NULL);
	expect_error(STORE_EINVALIDFIELD, "\"wait\" can only be used with GET requests", "PUT", "/v2/keys/k?wait=true", NULL);
	expect_error(STORE_EREFRESHVALUE, "A value was provided on a refresh", "PUT", "/v2/keys/k", "ttl=20&refresh=true&value=new");
	expect_error(STORE_EREFRESHTTLREQUIRED, "No TTL value set", "PUT", "/v2/keys/k", "refresh=true");
	expect_error(STORE_EINVALIDFORM, "invalid URL escape \"%zz\"", "GET", "/v2/keys/k?a=%zz", NULL);
	expect_error(STORE_EINVALIDFORM, "invalid URL escape \"%zz\"", "PUT", "/v2/keys/k", "value=%zz");
	expect_error(STORE_EINVALIDFORM, "invalid URL escape \"%4\"", "PUT", "/v2/keys/k", "value=%4");
	expect_error(STORE_EINVALIDFORM, "invalid semicolon separator in query", "GET", "/v2/keys/k?a=1;b=2", NULL);
	/* Several faults: etcd's order decides (prevIndex before the booleans). */
	expect_error(STORE_EINDEXNAN, "invalid value for \"prevIndex\"", "PUT", "/v2/keys/k?dir=x&prevIndex=y", NULL);
	expect_error(STORE_EINVALIDFIELD, "invalid value for \"wait\"", "GET", "/v2/keys/k?wait=x&dir=y", NULL);
}

static void paths_are_decoded_cleaned_or_redirected(void **state)
{
	assert_int_equal(parse("GET", "/v2/keys", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/");
	assert_int_equal(parse("GET", "/v2/keys/", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/");
	assert_int_equal(parse("GET", "/v2/keys/trail/", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/trail");
	assert_int_equal(parse("GET", "/v2/keys/a%2Fc", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/a/c");
	assert_int_equal(parse("GET", "/v2/keys/%E2%9C%93%3F", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/\xe2\x9c\x93?");
	assert_int_equal(parse("GET", "/v2/keys/a/../b?recursive=true", NULL, NULL), V2_REDIRECT);
	assert_string_equal(q.location.data, "/v2/keys/b?recursive=true");
	assert_int_equal(parse("PUT", "/v2/keys//x", NULL, NULL), V2_REDIRECT);
	assert_string_equal(q.location.data, "/v2/keys/x");
	assert_int_equal(parse("GET", "/v2/keys/%2E%2E/x", NULL, NULL), V2_REDIRECT);
	assert_string_equal(q.location.data, "/v2/x");
	assert_int_equal(parse("PATCH", "/v2/keys/a", NULL, NULL), V2_NOT_ALLOWED);
}

/* etcd keeps a key holding NUL; the key is handed on in store form
 * (store_key.h), and a redirect writes the real bytes back as escapes. */
static void keys_holding_nul_are_kept_in_store_form(void **state)
{
	struct buf loc = BUF_INIT;
	char target[32 + 3 * 2100];

	assert_int_equal(parse("PUT", "/v2/keys/a%00b/%01%02?value=v", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/a\x01\x01" "b/\x01\x02\x02");
	assert_int_equal(parse("GET", "/v2/keys/%00/", NULL, NULL), V2_OK);
	assert_string_equal(q.path, "/\x01\x01");
	assert_int_equal(parse("GET", "/v2/keys/x%00//y%01?sorted=true", NULL, NULL), V2_REDIRECT);
	assert_string_equal(q.location.data, "/v2/keys/x%00/y%01?sorted=true");
	assert_int_equal(parse("GET", "/v2/keys/x%00/../y", NULL, NULL), V2_REDIRECT);
	assert_string_equal(q.location.data, "/v2/keys/y");
	assert_int_equal(v2_path_check("/v2/keys/a%00b", &loc), V2_OK);
	assert_int_equal(v2_path_check("/version%00//", &loc), V2_REDIRECT);
	assert_string_equal(loc.data, "/version%00/");
	/* STORE_KEY_MAX bounds the store form: NUL counts twice. */
	strcpy(target, "/v2/keys/");
	for (int i = 0; i < STORE_KEY_MAX / 2 - 1; i++)
		strcat(target, "%00");
	assert_int_equal(parse("GET", target, NULL, NULL), V2_OK);
	assert_int_equal(strlen(q.path), STORE_KEY_MAX - 1);
	strcat(target, "%00");
	assert_int_equal(parse("GET", target, NULL, NULL), STORE_EINVALIDFORM);
	assert_string_equal(q.cause.data, "invalid key");
	buf_free(&loc);
}

static int teardown(void **state)
{
	v2_req_free(&q);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parameters_come_from_body_then_query),
		cmocka_unit_test(booleans_numbers_and_flags),
		cmocka_unit_test(bad_fields_get_etcds_errors),
		cmocka_unit_test(paths_are_decoded_cleaned_or_redirected),
		cmocka_unit_test(keys_holding_nul_are_kept_in_store_form),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
