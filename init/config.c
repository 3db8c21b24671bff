#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

struct config_ctx {
	struct node_config *c;
	const char *origin;
	config_warn_fn *warn;
	void *arg;
};

static void warnf(struct config_ctx *x, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warnf(struct config_ctx *x, unsigned line, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (x->warn)
		x->warn(x->arg, x->origin, line, msg);
}

void config_defaults(struct node_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->name, "pith");
	c->net = NET_DHCP;
	c->dhcp_wait_ms = 30 * 1000;
}

static int name_ok(const char *v)
{
	size_t n = strlen(v), i;

	if (n == 0 || n > CONFIG_NAME_MAX || v[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = v[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			return 0;
	}
	return 1;
}

static int ip4_parse(const char *v, struct in_addr *a)
{
	return inet_pton(AF_INET, v, a) == 1 ? 0 : -EINVAL;
}

/* "A.B.C.D/LEN" */
static int cidr_parse(const char *v, struct in_addr *a, int *prefix)
{
	char tmp[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(v, '/');
	char *end;
	long p;

	if (!slash || (size_t)(slash - v) >= INET_ADDRSTRLEN)
		return -EINVAL;
	memcpy(tmp, v, (size_t)(slash - v));
	tmp[slash - v] = 0;
	if (ip4_parse(tmp, a) < 0)
		return -EINVAL;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || p < 1 || p > 32)
		return -EINVAL;
	*prefix = (int)p;
	return 0;
}

static int set_name(struct config_ctx *x, unsigned line, const char *v)
{
	if (!name_ok(v)) {
		warnf(x, line, "invalid node name '%.80s' (letters, digits, '-', '.', '_', at most %d), keeping '%s'",
		      v, CONFIG_NAME_MAX, x->c->name);
		return -EINVAL;
	}
	strcpy(x->c->name, v);
	return 0;
}

static int set_address(struct config_ctx *x, unsigned line, const char *v)
{
	struct in_addr a;
	int prefix;

	if (!strcmp(v, "dhcp")) {
		x->c->net = NET_DHCP;
	} else if (!strcmp(v, "off")) {
		x->c->net = NET_OFF;
	} else if (cidr_parse(v, &a, &prefix) == 0) {
		x->c->net = NET_STATIC;
		x->c->addr = a;
		x->c->prefix = prefix;
	} else {
		warnf(x, line, "invalid address '%.80s' (want dhcp, off or A.B.C.D/LEN), keeping the previous setting", v);
		return -EINVAL;
	}
	return 0;
}

static int set_gateway(struct config_ctx *x, unsigned line, const char *v)
{
	struct in_addr a;

	if (ip4_parse(v, &a) < 0) {
		warnf(x, line, "invalid gateway '%.80s', ignored", v);
		return -EINVAL;
	}
	x->c->gateway = a;
	return 0;
}

/* A list separated by commas or spaces; all or nothing. */
static int set_dns(struct config_ctx *x, unsigned line, const char *v)
{
	struct in_addr dns[CONFIG_DNS_MAX];
	char tmp[INET_ADDRSTRLEN];
	int n = 0;

	while (*v) {
		size_t len = strcspn(v, ", ");

		if (len) {
			if (n == CONFIG_DNS_MAX) {
				warnf(x, line, "more than %d DNS servers, list ignored", CONFIG_DNS_MAX);
				return -EINVAL;
			}
			if (len >= sizeof tmp)
				goto bad;
			memcpy(tmp, v, len);
			tmp[len] = 0;
			if (ip4_parse(tmp, &dns[n]) < 0)
				goto bad;
			n++;
		}
		v += len;
		v += strspn(v, ", ");
	}
	memcpy(x->c->dns, dns, sizeof dns);
	x->c->ndns = n;
	return 0;
bad:
	warnf(x, line, "invalid DNS server in '%.80s', list ignored", v);
	return -EINVAL;
}

static int set_iface(struct config_ctx *x, unsigned line, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE || strchr(v, '/') || strpbrk(v, " \t:") || !strcmp(v, ".") || !strcmp(v, "..")) {
		warnf(x, line, "invalid interface name '%.80s', ignored", v);
		return -EINVAL;
	}
	strcpy(x->c->iface, v);
	return 0;
}

static int set_dhcp_wait(struct config_ctx *x, unsigned line, const char *v)
{
	char *end;
	unsigned long s;

	errno = 0;
	s = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || s * 1000 > CONFIG_DHCP_WAIT_MAX_MS) {
		warnf(x, line, "invalid DHCP wait '%.80s' (seconds, at most %d), keeping %u",
		      v, CONFIG_DHCP_WAIT_MAX_MS / 1000, x->c->dhcp_wait_ms / 1000);
		return -EINVAL;
	}
	x->c->dhcp_wait_ms = (unsigned)s * 1000;
	return 0;
}

static int set_run(struct config_ctx *x, unsigned line, const char *v)
{
	if (strlen(v) > CONFIG_RUN_MAX) {
		warnf(x, line, "run command longer than %d bytes, ignored", CONFIG_RUN_MAX);
		return -EINVAL;
	}
	strcpy(x->c->run, v);
	return 0;
}

struct config_key {
	const char *cmdline;	/* pith.<this> */
	const char *section;
	const char *key;
	int (*set)(struct config_ctx *, unsigned, const char *);
};

static const struct config_key keys[] = {
	{ "name", "Node", "Name", set_name },
	{ "ip", "Network", "Address", set_address },
	{ "gateway", "Network", "Gateway", set_gateway },
	{ "dns", "Network", "DNS", set_dns },
	{ "iface", "Network", "Interface", set_iface },
	{ "dhcp_wait", "Network", "DHCPWaitSec", set_dhcp_wait },
	{ "run", "Boot", "Run", set_run },
};

#define NKEYS (sizeof keys / sizeof keys[0])

static int ini_item(const struct ini_item *it, void *arg)
{
	struct config_ctx *x = arg;
	size_t i;

	switch (it->kind) {
	case INI_BAD:
		warnf(x, it->line, "%s, line ignored", it->value);
		return 0;
	case INI_SECTION:
		for (i = 0; i < NKEYS; i++)
			if (!strcmp(keys[i].section, it->section))
				return 0;
		if (strncmp(it->section, "X-", 2))
			warnf(x, it->line, "unknown section [%.80s], its options are ignored", it->section);
		return 0;
	case INI_ENTRY:
		for (i = 0; i < NKEYS; i++) {
			if (!strcmp(keys[i].section, it->section) && !strcmp(keys[i].key, it->key)) {
				keys[i].set(x, it->line, it->value);
				return 0;
			}
		}
		if (it->section[0] == 0)
			warnf(x, it->line, "option %.80s outside any section, ignored", it->key);
		else if (strncmp(it->section, "X-", 2)) {
			for (i = 0; i < NKEYS; i++)
				if (!strcmp(keys[i].section, it->section))
					break;
			if (i < NKEYS)
				warnf(x, it->line, "unknown option %.80s in [%.80s], ignored", it->key, it->section);
		}
		return 0;
	}
	return 0;
}

int config_apply_ini(struct node_config *c, const char *text, size_t len,
		     const char *origin, config_warn_fn *warn, void *arg)
{
	struct config_ctx x = { c, origin, warn, arg };

	if (len > CONFIG_TEXT_MAX) {
		warnf(&x, 0, "config is %zu bytes, larger than %d: ignored", len, CONFIG_TEXT_MAX);
		return -EFBIG;
	}
	return ini_parse(text, len, ini_item, &x);
}

int config_apply_cmdline(struct node_config *c, const char *cmdline,
			 config_warn_fn *warn, void *arg)
{
	struct config_ctx x = { c, "kernel command line", warn, arg };
	char word[CONFIG_CMDLINE_MAX];
	const char *p = cmdline;
	size_t len = strnlen(cmdline, CONFIG_CMDLINE_MAX + 1);

	if (len > CONFIG_CMDLINE_MAX) {
		warnf(&x, 0, "longer than %d bytes: ignored", CONFIG_CMDLINE_MAX);
		return -EFBIG;
	}
	/* /proc/cmdline ends in a newline the kernel's parser never saw. */
	while (len && (cmdline[len - 1] == '\n' || cmdline[len - 1] == ' ' || cmdline[len - 1] == '\t'))
		len--;
	for (;;) {
		size_t n = 0;
		int quoted = 0;
		char *eq;
		size_t i;

		while (p < cmdline + len && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
		if (p == cmdline + len)
			break;
		/* A word ends at unquoted whitespace; quotes are dropped. */
		for (; p < cmdline + len && (quoted || !(*p == ' ' || *p == '\t' || *p == '\n')); p++) {
			if (*p == '"')
				quoted = !quoted;
			else
				word[n++] = *p;
		}
		word[n] = 0;
		if (quoted)
			warnf(&x, 0, "unterminated quote in '%.80s'", word);
		if (strncmp(word, "pith.", 5))
			continue;
		eq = strchr(word, '=');
		if (!eq) {
			warnf(&x, 0, "'%.80s' has no value, ignored", word);
			continue;
		}
		*eq = 0;
		for (i = 0; i < NKEYS; i++) {
			if (!strcmp(keys[i].cmdline, word + 5)) {
				char what[96];

				snprintf(what, sizeof what, "kernel command line %.60s", word);
				x.origin = what;
				keys[i].set(&x, 0, eq + 1);
				x.origin = "kernel command line";
				break;
			}
		}
		if (i == NKEYS)
			warnf(&x, 0, "unknown parameter %.80s, ignored", word);
	}
	return 0;
}
