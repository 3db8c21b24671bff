#include "unit_name.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[UNIT_TYPE_MAX] = {
	[UNIT_SERVICE] = "service", [UNIT_TARGET] = "target", [UNIT_SOCKET] = "socket",
	[UNIT_TIMER] = "timer", [UNIT_MOUNT] = "mount", [UNIT_AUTOMOUNT] = "automount",
	[UNIT_SWAP] = "swap", [UNIT_PATH] = "path", [UNIT_SLICE] = "slice",
	[UNIT_SCOPE] = "scope", [UNIT_DEVICE] = "device",
};

const char *unit_type_name(enum unit_type t)
{
	return (unsigned)t < UNIT_TYPE_MAX ? type_names[t] : NULL;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '-' || c == '_' || c == '.' || c == '\\';
}

int unit_name_parse(const char *name, struct unit_name_parts *p)
{
	const char *dot, *at;
	size_t len = strlen(name);
	int t;

	if (len == 0 || len > UNIT_NAME_MAX)
		return -EINVAL;
	dot = strrchr(name, '.');
	if (!dot || dot == name)
		return -EINVAL;
	for (t = 0; t < UNIT_TYPE_MAX; t++)
		if (strcmp(dot + 1, type_names[t]) == 0)
			break;
	if (t == UNIT_TYPE_MAX)
		return -EINVAL;
	at = memchr(name, '@', (size_t)(dot - name));
	p->type = t;
	p->prefix_len = (size_t)((at ? at : dot) - name);
	p->instance = at ? at + 1 : NULL;
	p->instance_len = at ? (size_t)(dot - at - 1) : 0;
	if (p->prefix_len == 0)
		return -EINVAL;
	for (size_t i = 0; i < p->prefix_len; i++)
		if (!name_char(name[i]))
			return -EINVAL;
	for (size_t i = 0; i < p->instance_len; i++)
		if (!name_char(p->instance[i]) && p->instance[i] != '@')
			return -EINVAL;
	return 0;
}

bool unit_name_is_valid(const char *name)
{
	struct unit_name_parts p;

	return unit_name_parse(name, &p) == 0;
}

bool unit_name_is_template(const char *name)
{
	struct unit_name_parts p;

	return unit_name_parse(name, &p) == 0 && p.instance && p.instance_len == 0;
}

bool unit_name_is_instance(const char *name)
{
	struct unit_name_parts p;

	return unit_name_parse(name, &p) == 0 && p.instance_len > 0;
}

int unit_name_template(const char *name, char *out, size_t len)
{
	struct unit_name_parts p;
	int n;

	if (unit_name_parse(name, &p) < 0 || p.instance_len == 0)
		return -EINVAL;
	n = snprintf(out, len, "%.*s@.%s", (int)p.prefix_len, name, type_names[p.type]);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int unit_name_instantiate(const char *tmpl, const char *instance, char *out, size_t len)
{
	struct unit_name_parts p;
	int n;

	if (unit_name_parse(tmpl, &p) < 0 || !p.instance || p.instance_len)
		return -EINVAL;
	n = snprintf(out, len, "%.*s@%s.%s", (int)p.prefix_len, tmpl, instance,
		     type_names[p.type]);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return unit_name_is_valid(out) ? 0 : -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int unit_name_unescape(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int r;

		if (c == '-') {
			c = '/';
		} else if (c == '\\') {
			int hi, lo;

			if (n - i < 4 || s[i + 1] != 'x')
				return -EINVAL;
			hi = hexval(s[i + 2]);
			lo = hexval(s[i + 3]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 3;
		}
		r = buf_append(out, &c, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* %f: "/" and the unescaped instance (or prefix), as a path. */
static int spec_path(const char *s, size_t n, struct buf *out)
{
	if (n == 0 || s[0] != '-') {
		int r = buf_append(out, "/", 1);

		if (r < 0)
			return r;
	}
	return unit_name_unescape(s, n, out);
}

static int put(struct buf *out, const char *s)
{
	return s ? buf_append(out, s, strlen(s)) : 0;
}

int unit_spec_expand(const char *name, const char *path, const struct unit_spec_env *env,
		     const char *s, size_t n, struct buf *out, char *bad)
{
	static const struct unit_spec_env none;
	struct unit_name_parts p;
	const char *dot = strrchr(name, '.');
	const char *dash;
	size_t plen;
	int r = 0;

	if (!env)
		env = &none;
	if (unit_name_parse(name, &p) < 0)
		return -EINVAL;
	*bad = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (s[i] != '%') {
			size_t j = i;

			while (j < n && s[j] != '%')
				j++;
			r = buf_append(out, s + i, j - i);
			i = j - 1;
			continue;
		}
		/* A '%' at the very end stands for itself, as in systemd. */
		if (++i == n)
			return buf_append(out, "%", 1);
		/* %j: the prefix after its last dash, or all of it. */
		dash = memrchr(name, '-', p.prefix_len);
		plen = dash ? p.prefix_len - (size_t)(dash + 1 - name) : p.prefix_len;
		switch (s[i]) {
		case '%': r = buf_append(out, "%", 1); break;
		case 'n': r = put(out, name); break;
		case 'N': r = buf_append(out, name, (size_t)(dot - name)); break;
		case 'p': r = buf_append(out, name, p.prefix_len); break;
		case 'P': r = unit_name_unescape(name, p.prefix_len, out); break;
		case 'i': r = buf_append(out, p.instance ? p.instance : "", p.instance_len); break;
		case 'I': r = unit_name_unescape(p.instance ? p.instance : "", p.instance_len, out); break;
		case 'j': r = buf_append(out, name + p.prefix_len - plen, plen); break;
		case 'J': r = unit_name_unescape(name + p.prefix_len - plen, plen, out); break;
		case 'f':
			r = p.instance_len ? spec_path(p.instance, p.instance_len, out)
					   : spec_path(name, p.prefix_len, out);
			break;
		case 'y': r = put(out, path); break;
		case 'Y':
			if (path && strrchr(path, '/'))
				r = buf_append(out, path, (size_t)(strrchr(path, '/') - path));
			break;
		case 'H': r = put(out, env->hostname); break;
		case 'l':
			if (env->hostname)
				r = buf_append(out, env->hostname, strcspn(env->hostname, "."));
			break;
		case 'm': r = put(out, env->machine_id); break;
		case 'b': r = put(out, env->boot_id); break;
		case 'v': r = put(out, env->kernel_release); break;
		case 'a': r = put(out, env->arch); break;
		case 'o': r = put(out, env->os_id); break;
		case 'w': r = put(out, env->os_version_id); break;
		case 'B': r = put(out, env->os_build_id); break;
		case 'W': r = put(out, env->os_variant_id); break;
		case 'M': r = put(out, env->os_image_id); break;
		case 'A': r = put(out, env->os_image_version); break;
		case 'u': case 'g': r = put(out, "root"); break;
		case 'U': case 'G': r = put(out, "0"); break;
		case 'h': r = put(out, "/root"); break;
		case 's': r = put(out, "/bin/sh"); break;
		case 't': r = put(out, "/run"); break;
		case 'S': r = put(out, "/var/lib"); break;
		case 'C': r = put(out, "/var/cache"); break;
		case 'L': r = put(out, "/var/log"); break;
		case 'E': r = put(out, "/etc"); break;
		case 'T': r = put(out, "/tmp"); break;
		case 'V': r = put(out, "/var/tmp"); break;
		case 'd': r = put(out, "/run/credentials/"); if (r == 0) r = put(out, name); break;
		default:
			*bad = s[i];
			return -EBADMSG;
		}
	}
	return r;
}
