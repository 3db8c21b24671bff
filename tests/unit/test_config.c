/* Node config: the kernel command line and the INI file, good and bad. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "config.h"

static struct buf warnings;

static void warn(void *arg, const char *origin, unsigned line, const char *msg)
{
	if (line)
		buf_printf(&warnings, "%s:%u: %s\n", origin, line, msg);
	else
		buf_printf(&warnings, "%s: %s\n", origin, msg);
}

static int setup(void **state)
{
	buf_reset(&warnings);
	return 0;
}

static int teardown_all(void **state)
{
	buf_free(&warnings);
	return 0;
}

static const char *ip(struct in_addr a)
{
	static char s[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, s[i], INET_ADDRSTRLEN);
}

static void defaults(void **state)
{
	struct node_config c;

	config_defaults(&c);
	assert_string_equal(c.name, "pith");
	assert_int_equal(c.net, NET_DHCP);
	assert_int_equal(c.dhcp_wait_ms, 30000);
	assert_string_equal(c.run, "");
}

static void cmdline_sets_every_key(void **state)
{
	struct node_config c;

	config_defaults(&c);
	config_apply_cmdline(&c, "console=ttyS0 quiet pith.name=node-1 pith.ip=10.0.0.2/24 "
			     "pith.gateway=10.0.0.1 pith.dns=10.0.0.53,1.1.1.1 pith.iface=eth1 "
			     "pith.dhcp_wait=5 pith.run=\"/bin/probe net --verbose\"\n", warn, NULL);
	assert_string_equal(warnings.data ? warnings.data : "", "");
	assert_string_equal(c.name, "node-1");
	assert_int_equal(c.net, NET_STATIC);
	assert_string_equal(ip(c.addr), "10.0.0.2");
	assert_int_equal(c.prefix, 24);
	assert_string_equal(ip(c.gateway), "10.0.0.1");
	assert_int_equal(c.ndns, 2);
	assert_string_equal(ip(c.dns[0]), "10.0.0.53");
	assert_string_equal(ip(c.dns[1]), "1.1.1.1");
	assert_string_equal(c.iface, "eth1");
	assert_int_equal(c.dhcp_wait_ms, 5000);
	assert_string_equal(c.run, "/bin/probe net --verbose");
}

static void cmdline_bad_values_keep_previous(void **state)
{
	struct node_config c;

	config_defaults(&c);
	config_apply_cmdline(&c, "pith.name=-x pith.ip=10.0.0.2/33 pith.ip=300.1.1.1/8 pith.gateway=g "
			     "pith.dns=1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4 pith.iface=a/b pith.dhcp_wait=-1 "
			     "pith.dhcp_wait=99999999 pith.nope=1 pith.name", warn, NULL);
	assert_string_equal(c.name, "pith");
	assert_int_equal(c.net, NET_DHCP);
	assert_int_equal(c.gateway.s_addr, 0);
	assert_int_equal(c.ndns, 0);
	assert_string_equal(c.iface, "");
	assert_int_equal(c.dhcp_wait_ms, 30000);
	/* one warning per bad word, each naming the parameter */
	assert_non_null(strstr(warnings.data, "pith.name: invalid node name '-x'"));
	assert_non_null(strstr(warnings.data, "pith.ip: invalid address '10.0.0.2/33'"));
	assert_non_null(strstr(warnings.data, "pith.ip: invalid address '300.1.1.1/8'"));
	assert_non_null(strstr(warnings.data, "invalid gateway 'g'"));
	assert_non_null(strstr(warnings.data, "more than 3 DNS servers"));
	assert_non_null(strstr(warnings.data, "invalid interface name 'a/b'"));
	assert_non_null(strstr(warnings.data, "unknown parameter pith.nope"));
	assert_non_null(strstr(warnings.data, "'pith.name' has no value"));
}

static void cmdline_unterminated_quote(void **state)
{
	struct node_config c;

	config_defaults(&c);
	config_apply_cmdline(&c, "pith.run=\"/bin/x a b", warn, NULL);
	assert_non_null(strstr(warnings.data, "unterminated quote"));
	assert_string_equal(c.run, "/bin/x a b");
}

static void cmdline_trailing_newline_is_not_part_of_a_quoted_value(void **state)
{
	struct node_config c;

	config_defaults(&c);
	config_apply_cmdline(&c, "pith.run=\"/bin/x net\n", warn, NULL);
	assert_string_equal(c.run, "/bin/x net");
}

static void cmdline_too_long_is_ignored(void **state)
{
	struct node_config c;
	static char line[CONFIG_CMDLINE_MAX + 100];

	memset(line, 'a', sizeof line - 1);
	memcpy(line, "pith.name=x ", 12);
	config_defaults(&c);
	assert_int_equal(config_apply_cmdline(&c, line, warn, NULL), -EFBIG);
	assert_string_equal(c.name, "pith");
}

static void ini_sets_keys_and_warns_on_unknown(void **state)
{
	static const char text[] =
		"[Node]\nName=alpha\n"
		"[Network]\nAddress=off\nFrobnicate=yes\n"
		"[Boot]\nRun=/bin/true\n"
		"[Mystery]\nA=b\n"
		"[X-Vendor]\nAnything=goes\n"
		"garbage line\n";
	struct node_config c;

	config_defaults(&c);
	config_apply_ini(&c, text, sizeof text - 1, "pith.conf", warn, NULL);
	assert_string_equal(c.name, "alpha");
	assert_int_equal(c.net, NET_OFF);
	assert_string_equal(c.run, "/bin/true");
	assert_string_equal(warnings.data,
			    "pith.conf:5: unknown option Frobnicate in [Network], ignored\n"
			    "pith.conf:8: unknown section [Mystery], its options are ignored\n"
			    "pith.conf:12: missing '=', line ignored\n");
}

static void later_source_overrides(void **state)
{
	static const char text[] = "[Node]\nName=from-file\n[Network]\nAddress=10.1.0.5/16\n";
	struct node_config c;

	config_defaults(&c);
	config_apply_ini(&c, text, sizeof text - 1, "fw_cfg", warn, NULL);
	config_apply_cmdline(&c, "pith.name=from-cmdline", warn, NULL);
	assert_string_equal(c.name, "from-cmdline");
	assert_int_equal(c.net, NET_STATIC);
	assert_int_equal(c.prefix, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(defaults, setup),
		cmocka_unit_test_setup(cmdline_sets_every_key, setup),
		cmocka_unit_test_setup(cmdline_bad_values_keep_previous, setup),
		cmocka_unit_test_setup(cmdline_unterminated_quote, setup),
		cmocka_unit_test_setup(cmdline_trailing_newline_is_not_part_of_a_quoted_value, setup),
		cmocka_unit_test_setup(cmdline_too_long_is_ignored, setup),
		cmocka_unit_test_setup(ini_sets_keys_and_warns_on_unknown, setup),
		cmocka_unit_test_setup(later_source_overrides, setup),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, teardown_all);
}
