/*
 * `pith gen`: the cluster's credentials, made on the operator's machine.
 *
 *	pith gen ca                        DIR/ca.crt, DIR/ca.key
 *	pith gen node NAME [--ip A]... [--dns N]...
 *	                                   DIR/nodes/NAME.crt, DIR/nodes/NAME.key
 *	pith gen client NAME [--role R]    DIR/clients/NAME.crt, DIR/clients/NAME.key
 *	pith gen token [--role R] [--name N]
 *	                                   prints a token; adds its digest to DIR/tokens
 *
 * docs/security.md says where each file goes on a node and how to rotate
 * them. Exit codes: 0, 100 for usage or a file that exists already, 111
 * for a system error.
 */
#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "cert.h"
#include "log.h"
#include "tls.h"

#define GEN_DIR_DEFAULT "pith-credentials"
#define GEN_CA_DAYS 3650
#define GEN_CERT_DAYS 825
/* Clocks disagree: a certificate is valid from an hour before it was made. */
#define GEN_BACKDATE_SEC 3600

static const char usage[] =
	"usage: pith gen ca|node NAME|client NAME|token [options]\n"
	"\n"
	"  ca            a new cluster CA: DIR/ca.crt and DIR/ca.key\n"
	"  node NAME     a node's certificate for the control port and KV peers,\n"
	"                signed by DIR/ca.*: DIR/nodes/NAME.crt and .key; its names are\n"
	"                NAME, localhost, 127.0.0.1, ::1 and each --dns and --ip\n"
	"  client NAME   a client certificate with the role as its O:\n"
	"                DIR/clients/NAME.crt and .key\n"
	"  token         a new bearer token, printed on stdout; its SHA-256 is\n"
	"                appended to DIR/tokens, the file nodes check tokens against\n"
	"\n"
	"options:\n"
	"  --dir DIR     where the files are (default ./" GEN_DIR_DEFAULT ")\n"
	"  --role ROLE   admin (default) or read-only: client and token\n"
	"  --name NAME   a name for the token, written beside its digest\n"
	"  --ip ADDR     another IP address the node answers on (repeatable)\n"
	"  --dns NAME    another DNS name the node answers on (repeatable)\n"
	"  --days N      validity (default 3650 for the CA, 825 for the rest)\n"
	"  --force       replace files that exist\n";

struct gen {
	const char *dir;
	const char *what;	/* ca, node, client, token */
	const char *name;
	enum auth_role role;
	const char *token_name;
	const char *ips[CERT_SAN_MAX];
	size_t nips;
	const char *dns[CERT_SAN_MAX];
	size_t ndns;
	long days;
	bool force;
};

static int mkdirs(const char *path)
{
	char p[4096];

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Keys are written into dir: whoever else may write to it could plant a
 * link or a file where a key is about to go, or swap the key for theirs.
 * Its parents are not checked (a directory under /tmp is fine). */
static void dir_check(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		die(EXIT_TEMP, "unable to use %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die(EXIT_USAGE, "unable to use %s: not a directory", dir);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		die(EXIT_USAGE, "unable to use %s: group or others may write to it (mode %04o); "
				"chmod go-w it or choose another --dir",
		    dir, (unsigned)(st.st_mode & 07777));
}

/* Write b to path with mode, atomically; refuse to replace a file unless
 * force. The temporary file is made new: one in the way (an interrupted
 * run's, or a planted link) is an error, never written through. */
static void file_put(const struct gen *g, const char *path, const struct buf *b, mode_t mode)
{
	char tmp[4200];
	int fd, r;

	if (!g->force && access(path, F_OK) == 0)
		die(EXIT_USAGE, "unable to write %s: it exists (--force replaces it)", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST)
		die(EXIT_USAGE, "unable to write %s: %s is in the way (left by an interrupted run, "
				"or not made by pith gen): remove it", path, tmp);
	if (fd < 0)
		die(EXIT_TEMP, "unable to write %s: %s", tmp, strerror(errno));
	if (write(fd, b->data, b->len) != (ssize_t)b->len || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		r = errno;
		unlink(tmp);
		die(EXIT_TEMP, "unable to write %s: %s", path, strerror(r));
	}
}

static void path_of(char *out, size_t len, const struct gen *g, const char *sub, const char *name,
		    const char *ext)
{
	if (snprintf(out, len, "%s%s%s/%s%s", g->dir, *sub ? "/" : "", sub, name, ext) >= (int)len)
		die(EXIT_USAGE, "unable to use %s: the path is too long", g->dir);
}

static void ca_load(const struct gen *g, struct tls_chain *ca, struct cert_key *key)
{
	char crt[4096], kp[4096];
	struct tls_key k;
	struct err e = { 0 };

	path_of(crt, sizeof(crt), g, "", "ca", ".crt");
	path_of(kp, sizeof(kp), g, "", "ca", ".key");
	if (tls_chain_load(ca, crt, &e) < 0 || tls_key_load(&k, kp, &e) < 0)
		die(EXIT_USAGE, "unable to read the CA: %s (make one with pith gen ca)", e.msg);
	if (k.type != BR_KEYTYPE_EC || cert_key_from_private(key, &k.ec) < 0)
		die(EXIT_USAGE, "unable to use %s: the CA key must be an EC P-256 key", kp);
	tls_key_free(&k);
}

static void issue(const struct gen *g, struct cert_request *req, const char *sub, const char *name)
{
	struct buf crt = BUF_INIT, key = BUF_INIT;
	struct tls_chain ca = { .n = 0 };
	struct cert_key k, cak;
	struct err e = { 0 };
	char dir[4096], path[4096];
	int64_t now = time(NULL);

	req->not_before = now - GEN_BACKDATE_SEC;
	req->not_after = now + (int64_t)g->days * 86400;
	if (!req->ca)
		ca_load(g, &ca, &cak);
	if (cert_key_generate(&k) < 0)
		die(EXIT_TEMP, "unable to generate a key: no random bytes from the system");
	if (cert_make(&crt, req, &k, req->ca ? NULL : &ca.certs[0], req->ca ? NULL : &cak, &e) < 0)
		die(EXIT_USAGE, "unable to make the certificate: %s", e.msg);
	if (cert_key_pem(&key, &k) < 0)
		die(EXIT_TEMP, "unable to encode the key");
	snprintf(dir, sizeof(dir), "%s%s%s", g->dir, *sub ? "/" : "", sub);
	if (mkdirs(dir) < 0)
		die(EXIT_TEMP, "unable to create %s: %s", dir, strerror(errno));
	dir_check(g->dir);
	dir_check(dir);
	path_of(path, sizeof(path), g, sub, name, ".key");
	file_put(g, path, &key, 0600);
	path_of(path, sizeof(path), g, sub, name, ".crt");
	file_put(g, path, &crt, 0644);
	printf("%s\n", path);
	explicit_bzero(&k, sizeof(k));
	explicit_bzero(&cak, sizeof(cak));
	buf_free(&crt);
	buf_free(&key);
	tls_chain_free(&ca);
}

static void gen_token(const struct gen *g)
{
	char token[AUTH_TOKEN_LEN + 1], hex[65], path[4096];
	unsigned char h[32];
	int fd;

	if (g->token_name && (strlen(g->token_name) > AUTH_NAME_MAX ||
			      strspn(g->token_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789-._@") != strlen(g->token_name) || !*g->token_name))
		die(EXIT_USAGE, "unable to use --name %s: 1 to %d letters, digits, -._@",
		    g->token_name, AUTH_NAME_MAX);
	if (auth_token_generate(token) < 0)
		die(EXIT_TEMP, "unable to generate a token: no random bytes from the system");
	auth_token_hash(token, strlen(token), h);
	auth_hash_hex(h, hex);
	if (mkdirs(g->dir) < 0)
		die(EXIT_TEMP, "unable to create %s: %s", g->dir, strerror(errno));
	dir_check(g->dir);
	path_of(path, sizeof(path), g, "", "tokens", "");
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ELOOP)
		die(EXIT_USAGE, "unable to write %s: it is a symbolic link", path);
	if (fd < 0 || dprintf(fd, "%s sha256:%s%s%s\n", auth_role_name(g->role), hex,
			      g->token_name ? " " : "", g->token_name ? g->token_name : "") < 0 ||
	    fsync(fd) < 0 || close(fd) < 0)
		die(EXIT_TEMP, "unable to write %s: %s", path, strerror(errno));
	printf("%s\n", token);
	explicit_bzero(token, sizeof(token));
}

int cmd_gen(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "role", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'i' },
		{ "dns", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct gen g = { .dir = GEN_DIR_DEFAULT, .role = AUTH_ADMIN };
	struct cert_request req = { 0 };
	char *end;
	int c;

	log_init("pith gen", 2);
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			g.dir = optarg;
			break;
		case 'r':
			if ((g.role = auth_role_parse(optarg)) == AUTH_NONE)
				die(EXIT_USAGE, "unable to use --role %s: admin or read-only", optarg);
			break;
		case 'n':
			g.token_name = optarg;
			break;
		case 'i':
		case 's':
			if ((c == 'i' ? g.nips : g.ndns) == CERT_SAN_MAX - 3)
				die(EXIT_USAGE, "unable to add %s: too many names", optarg);
			if (c == 'i')
				g.ips[g.nips++] = optarg;
			else
				g.dns[g.ndns++] = optarg;
			break;
		case 'D':
			g.days = strtol(optarg, &end, 10);
			if (*end || g.days < 1 || g.days > 36500)
				die(EXIT_USAGE, "unable to use --days %s: 1 to 36500", optarg);
			break;
		case 'f':
			g.force = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	g.what = argv[optind++];
	if (!strcmp(g.what, "node") || !strcmp(g.what, "client")) {
		if (optind >= argc)
			die(EXIT_USAGE, "unable to make a %s certificate: give it a NAME", g.what);
		g.name = argv[optind++];
		if (!*g.name || strlen(g.name) > 63 ||
		    strspn(g.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") !=
			    strlen(g.name) || g.name[0] == '.')
			die(EXIT_USAGE, "unable to use the name %s: 1 to 63 letters, digits, -._", g.name);
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument %s", argv[optind]);
	if (!g.days)
		g.days = !strcmp(g.what, "ca") ? GEN_CA_DAYS : GEN_CERT_DAYS;

	if (!strcmp(g.what, "ca")) {
		req.cn = "Pith cluster CA";
		req.ca = true;
		issue(&g, &req, "", "ca");
	} else if (!strcmp(g.what, "node")) {
		req.cn = g.name;
		req.server_auth = req.client_auth = true;
		req.dns[req.ndns++] = g.name;
		req.dns[req.ndns++] = "localhost";
		for (size_t i = 0; i < g.ndns; i++)
			req.dns[req.ndns++] = g.dns[i];
		req.ips[req.nips++] = "127.0.0.1";
		req.ips[req.nips++] = "::1";
		for (size_t i = 0; i < g.nips; i++)
			req.ips[req.nips++] = g.ips[i];
		issue(&g, &req, "nodes", g.name);
	} else if (!strcmp(g.what, "client")) {
		req.cn = g.name;
		req.org = auth_role_name(g.role);
		req.client_auth = true;
		issue(&g, &req, "clients", g.name);
	} else if (!strcmp(g.what, "token")) {
		gen_token(&g);
	} else {
		fputs(usage, stderr);
		die(EXIT_USAGE, "unknown gen command %s", g.what);
	}
	return 0;
}
