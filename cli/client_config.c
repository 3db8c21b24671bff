/*
 * The client's settings (client.h): the endpoint and credentials from the
 * flag, the environment and the config file; the TLS material they name;
 * the node's name for journal lines; the fixed exit statuses.
 */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cJSON.h"
#include "ini.h"

int client_tls(struct client *c, const char *ca, const char *cert, const char *key,
	       struct err *e)
{
	int r;

	if (c->transport != CLIENT_HTTPS)
		return 0;
	if (!ca || !*ca) {
		err_set(e, 0, "%s is not set: the cluster's CA certificate (ca.crt) is needed to "
			"check %s", CLIENT_ENV_CA, client_where(c));
		return -EINVAL;
	}
	if (!cert != !key || (cert && (!*cert != !*key))) {
		err_set(e, 0, "%s and %s go together: a client certificate and its key",
			CLIENT_ENV_CERT, CLIENT_ENV_KEY);
		return -EINVAL;
	}
	snprintf(c->ca_path, sizeof(c->ca_path), "%s", ca);
	c->anchors = calloc(1, sizeof(*c->anchors));
	if (!c->anchors)
		return -ENOMEM;
	if ((r = tls_anchors_load(c->anchors, ca, e)) < 0)
		return r;
	if (!cert || !*cert)
		return 0;
	c->chain = calloc(1, sizeof(*c->chain));
	c->key = calloc(1, sizeof(*c->key));
	if (!c->chain || !c->key)
		return -ENOMEM;
	if ((r = tls_chain_load(c->chain, cert, e)) < 0 || (r = tls_key_load(c->key, key, e)) < 0)
		return r;
	return 0;
}

void client_free(struct client *c)
{
	if (c->anchors)
		tls_anchors_free(c->anchors);
	if (c->chain)
		tls_chain_free(c->chain);
	if (c->key)
		tls_key_free(c->key);
	free(c->anchors);
	free(c->chain);
	free(c->key);
	c->anchors = NULL;
	c->chain = NULL;
	c->key = NULL;
}

/* The config file's [Client] settings. */
struct config {
	char *endpoint, *token, *ca, *cert, *key;
	const char *path;
	struct err *e;
};

static int config_item(const struct ini_item *it, void *arg)
{
	struct config *cf = arg;
	char **slot = NULL;

	if (it->kind == INI_BAD) {
		err_set(cf->e, it->line, "%s:%u: %s", cf->path, it->line, it->value);
		return -EINVAL;
	}
	if (it->kind != INI_ENTRY || strcmp(it->section, "Client"))
		return 0;
	if (!strcmp(it->key, "Endpoint"))
		slot = &cf->endpoint;
	else if (!strcmp(it->key, "Token"))
		slot = &cf->token;
	else if (!strcmp(it->key, "CA"))
		slot = &cf->ca;
	else if (!strcmp(it->key, "Certificate"))
		slot = &cf->cert;
	else if (!strcmp(it->key, "Key"))
		slot = &cf->key;
	if (!slot)
		return 0;
	free(*slot);
	*slot = strdup(it->value);
	return *slot ? 0 : -ENOMEM;
}

static int config_read(struct config *cf, struct err *e)
{
	const char *env = getenv(CLIENT_ENV_CONFIG), *xdg = getenv("XDG_CONFIG_HOME"),
		   *home = getenv("HOME");
	static char path[4096];
	char text[CLIENT_CONFIG_MAX];
	size_t n;
	FILE *f;
	int r;

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/pith/config", xdg);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.config/pith/config", home);
	else
		return 0;
	cf->path = path;
	cf->e = e;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !(env && *env))
			return 0;
		r = -errno;
		err_set(e, 0, "Failed to read %s: %s", path, strerror(errno));
		return r;
	}
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (n == sizeof(text)) {
		err_set(e, 0, "Failed to read %s: larger than %d bytes", path, CLIENT_CONFIG_MAX);
		return -EFBIG;
	}
	return ini_parse(text, n, config_item, cf);
}

static const char *pick(const char *flag, const char *env_name, const char *file)
{
	const char *env = getenv(env_name);

	if (flag)
		return flag;
	if (env && *env)
		return env;
	return file;
}

int client_setup(struct client *c, const char *endpoint_flag, struct err *e)
{
	struct config cf = { 0 };
	const char *endpoint;
	int r = config_read(&cf, e);

	if (r == 0) {
		endpoint = pick(endpoint_flag, CLIENT_ENV_ENDPOINT, cf.endpoint);
		r = client_init(c, endpoint ? endpoint : CLIENT_ENDPOINT_DEFAULT,
				pick(NULL, CLIENT_ENV_TOKEN, cf.token), e);
	}
	if (r == 0)
		r = client_tls(c, pick(NULL, CLIENT_ENV_CA, cf.ca), pick(NULL, CLIENT_ENV_CERT, cf.cert),
			       pick(NULL, CLIENT_ENV_KEY, cf.key), e);
	if (r == -ENOMEM && !e->msg[0])
		err_set(e, 0, "Out of memory");
	if (cf.token)
		explicit_bzero(cf.token, strlen(cf.token));
	free(cf.endpoint);
	free(cf.token);
	free(cf.ca);
	free(cf.cert);
	free(cf.key);
	return r;
}

void client_node_name(struct client *c, char *out, size_t len)
{
	struct client_response r;
	struct err e = { 0 };
	cJSON *doc;
	const cJSON *name;

	if (c->transport == CLIENT_UNIX) {
		if (gethostname(out, len - 1) < 0)
			out[0] = 0;
		out[len - 1] = 0;
		return;
	}
	snprintf(out, len, "%s", c->host);
	if (client_request(c, "GET", "/v1/machine", NULL, 0, &r, &e) == 0 && r.status == 200 &&
	    (doc = cJSON_ParseWithLength(r.body.data, r.body.len))) {
		name = cJSON_GetObjectItemCaseSensitive(doc, "name");
		if (cJSON_IsString(name) && *name->valuestring)
			snprintf(out, len, "%s", name->valuestring);
		cJSON_Delete(doc);
	}
	buf_free(&r.body);
}

int client_exit_code(int r)
{
	switch (r) {
	case -EACCES:
		return CLIENT_EXIT_AUTH;
	case -EPERM:
		return CLIENT_EXIT_FORBIDDEN;
	case -EPROTO:
		return CLIENT_EXIT_TLS;
	case -EBADMSG:
	case -EFBIG:
	case -EMSGSIZE:
		return CLIENT_EXIT_PROTOCOL;
	case -EINVAL:
	case -ENAMETOOLONG:
		return CLIENT_EXIT_USAGE;
	default:
		return CLIENT_EXIT_UNREACHABLE;
	}
}
