/*
 * The control port's credentials that are not certificates: bearer tokens,
 * the file of their digests that a node keeps, and the Authorization
 * header that carries one (RFC 6750 Bearer, or RFC 7617 Basic with the
 * token as the password, for clients that only know user and password).
 *
 * A token is "pith_" and 43 characters of base64url (256 random bits). A
 * node never holds a token, only its SHA-256: the tokens file
 * (/etc/pith/tokens) has one line per token,
 *
 *	<role> sha256:<64 hex digits> [<name>]
 *
 * with role "admin" or "read-only"; blank lines and lines starting with
 * '#' are ignored. Matching hashes what was presented and compares it with
 * every line in constant time, whatever matches first.
 */
#ifndef PITH_AUTH_H
#define PITH_AUTH_H

#include <stddef.h>

#include "log.h"

#define AUTH_TOKEN_PREFIX "pith_"
#define AUTH_TOKEN_LEN 48		/* prefix + 43 */
#define AUTH_TOKENS_MAX 256		/* lines in a tokens file */
#define AUTH_TOKENS_FILE_MAX (64 * 1024)
#define AUTH_NAME_MAX 63		/* a token's name, for the log */
/* Longest secret taken from a header; longer is refused unread. */
#define AUTH_SECRET_MAX 1024

enum auth_role {
	AUTH_NONE,
	AUTH_READ_ONLY,		/* GET and HEAD */
	AUTH_ADMIN,		/* everything */
};

struct auth_entry {
	enum auth_role role;
	unsigned char hash[32];
	char name[AUTH_NAME_MAX + 1];
};

struct auth_tokens {
	struct auth_entry e[AUTH_TOKENS_MAX];
	size_t n;
};

/* "admin", "read-only", "none". */
const char *auth_role_name(enum auth_role role);
/* AUTH_ADMIN or AUTH_READ_ONLY from their names; AUTH_NONE otherwise. */
enum auth_role auth_role_parse(const char *s);

/* Parse a tokens file's text (len bytes). 0, or -EINVAL with the line
 * and what is wrong in e; t is then left empty. */
int auth_tokens_parse(struct auth_tokens *t, const char *text, size_t len, const char *what,
		      struct err *e);

/* A new token, NUL-terminated, from the system's random source. 0 or -EIO. */
int auth_token_generate(char out[AUTH_TOKEN_LEN + 1]);

/* SHA-256 of a token, as the tokens file keeps it; and its hex form. */
void auth_token_hash(const char *token, size_t len, unsigned char out[32]);
void auth_hash_hex(const unsigned char hash[32], char out[65]);

/*
 * The secret in an Authorization field value: the token of "Bearer
 * <token>", or the password of "Basic <base64(user:password)>" (scheme
 * names without case, RFC 9110 section 11.1). Copied NUL-terminated into
 * out (outlen bytes). 0; -ENOTSUP for another scheme; -EINVAL for a
 * malformed value; -E2BIG for a secret over AUTH_SECRET_MAX or outlen.
 */
int auth_header_secret(const char *value, char *out, size_t outlen);

/* The entry whose hash matches secret, or NULL. Time depends only on the
 * number of entries. */
const struct auth_entry *auth_tokens_match(const struct auth_tokens *t, const char *secret,
					   size_t len);

#endif
