/*
 * The CLI's way to a node's API (docs/api.md): one blocking HTTP/1.1
 * request per connection, its answer parsed by lib/http.
 *
 * Where the API is, is one string, the endpoint: "unix:/run/pith/init.sock"
 * (or a bare socket path) for PID 1's local socket, "https://host[:port]"
 * for a node's control port. Only the transport differs between them; the
 * requests, the answers and everything above this file are the same. Over
 * https the node's certificate is checked against the cluster CA ($PITH_CA)
 * and the node's name or address, with lib/tls's profile (TLS 1.2, ECDHE,
 * AEAD); the credential is a bearer token ($PITH_TOKEN) or a client
 * certificate ($PITH_CERT and $PITH_KEY), or both.
 *
 * Errors: 0 or -errno, with a one-line message in the caller's struct err
 * shaped as systemctl words its own ("Failed to connect to
 * /run/pith/init.sock: No such file or directory"). An HTTP error status
 * is an answer, not an error: the caller reads it in the response; except
 * 401 and 403, which no command can do anything with: they are -EACCES and
 * -EPERM. client_exit_code() turns every error into a fixed exit status.
 */
#ifndef PITH_CLI_CLIENT_H
#define PITH_CLI_CLIENT_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "log.h"
#include "tls.h"

#define CLIENT_SOCKET_DEFAULT "/run/pith/init.sock"
#define CLIENT_ENDPOINT_DEFAULT "unix:" CLIENT_SOCKET_DEFAULT
#define CLIENT_HTTPS_PORT 7443

/* The environment that names an endpoint and carries credentials. */
#define CLIENT_ENV_ENDPOINT "PITH_ENDPOINT"
#define CLIENT_ENV_TOKEN "PITH_TOKEN"
#define CLIENT_ENV_CA "PITH_CA"
#define CLIENT_ENV_CERT "PITH_CERT"
#define CLIENT_ENV_KEY "PITH_KEY"
/* A config file with the same settings, read when they are not in the
 * environment: $PITH_CONFIG, else $XDG_CONFIG_HOME/pith/config, else
 * ~/.config/pith/config. Its [Client] section has Endpoint=, Token=, CA=,
 * Certificate= and Key=. */
#define CLIENT_ENV_CONFIG "PITH_CONFIG"
#define CLIENT_CONFIG_MAX (64 * 1024)

/* How long a TCP connection to a node may take to open. */
#define CLIENT_CONNECT_TIMEOUT_MS 10000

/* Fixed exit statuses for what goes wrong between the CLI and a node, the
 * same for every command (docs/cli.md). */
enum {
	CLIENT_EXIT_USAGE = 100,	/* a bad endpoint, a credential file that cannot be read */
	CLIENT_EXIT_UNREACHABLE = 111,	/* no connection: refused, no route, timed out, no such host */
	CLIENT_EXIT_TLS = 112,		/* the TLS handshake failed (the node's certificate, or ours) */
	CLIENT_EXIT_AUTH = 113,		/* 401: no credential, or a wrong one */
	CLIENT_EXIT_FORBIDDEN = 114,	/* 403: the credential's role may not do this */
	CLIENT_EXIT_PROTOCOL = 115,	/* an answer that is not what the API sends */
};

/* Longest socket path (sun_path less its NUL) and host name. */
#define CLIENT_PATH_MAX 107
#define CLIENT_HOST_MAX 255
/* Longest bearer token; a header field must stay far below lib/http's limits. */
#define CLIENT_TOKEN_MAX 4096
/*
 * Largest answer client_request keeps in memory. The biggest answers are a
 * full unit listing and a unit file; a journal is read with client_stream.
 */
#define CLIENT_BODY_MAX (16 * 1024 * 1024)
/* Largest error body client_stream keeps when the status is not 2xx. */
#define CLIENT_ERROR_BODY_MAX (64 * 1024)

enum client_transport {
	CLIENT_UNIX,
	CLIENT_HTTPS,
};

/* The caller owns it; client_init fills it, client_free frees what
 * client_tls loaded. */
struct client {
	enum client_transport transport;
	char path[CLIENT_PATH_MAX + 1];		/* CLIENT_UNIX: the socket */
	char host[CLIENT_HOST_MAX + 1];		/* CLIENT_HTTPS */
	unsigned port;				/* CLIENT_HTTPS */
	char auth[CLIENT_TOKEN_MAX + 32];	/* "Authorization: Bearer …\r\n" or "" */
	/* CLIENT_HTTPS: set by client_tls. */
	struct tls_anchors *anchors;
	struct tls_chain *chain;		/* our certificate, or NULL */
	struct tls_key *key;
	char ca_path[256];			/* for messages */
};

struct client_response {
	int status;		/* 100..999 */
	struct buf body;	/* the caller frees it */
};

/*
 * The endpoint to use: flag (--endpoint) if not NULL, else $PITH_ENDPOINT
 * if set and not empty, else CLIENT_ENDPOINT_DEFAULT.
 */
const char *client_endpoint_pick(const char *flag);

/*
 * Ready c for endpoint, sending token (may be NULL or "") as a bearer
 * credential with every request. -EINVAL with a message for an endpoint
 * that is neither form, a path or host too long, or a token with bytes a
 * header cannot carry.
 */
int client_init(struct client *c, const char *endpoint, const char *token, struct err *e);

/*
 * For an https endpoint: the CA file that node certificates must come from
 * (required), and our own certificate and key (both NULL, or both set).
 * Nothing for a unix endpoint. 0, or -errno with a message naming the file.
 */
int client_tls(struct client *c, const char *ca, const char *cert, const char *key,
	       struct err *e);

/*
 * client_init and client_tls from the settings a command runs with: the
 * endpoint flag (NULL if not given), then the environment, then the config
 * file, setting by setting. 0, or -errno with a message.
 */
int client_setup(struct client *c, const char *endpoint_flag, struct err *e);

void client_free(struct client *c);

/* The node's name for journal lines: this machine's hostname on a unix
 * socket; over https what GET /v1/machine says, else the endpoint's host. */
void client_node_name(struct client *c, char *out, size_t len);

/* The exit status for an error a client function returned (r < 0). */
int client_exit_code(int r);

/* What messages call the endpoint: the socket path, or "host:port" (in
 * storage of its own that the next call reuses). */
const char *client_where(const struct client *c);

/*
 * Send method target (origin-form, already escaped, e.g. "/v1/units") with
 * body (len bytes of JSON; NULL for none) and wait for the whole answer:
 * out->status and out->body (NUL-terminated). 0; -errno from
 * connect/write/read (-ETIMEDOUT when the connection took too long,
 * -EHOSTUNREACH when the name does not resolve); -EPROTO when TLS failed;
 * -EACCES for a 401 answer and -EPERM for a 403; -EBADMSG for an answer
 * that is not HTTP or ends early; -EFBIG for one over CLIENT_BODY_MAX;
 * -ENOMEM.
 * out->body is initialised here; free it whatever the result.
 */
int client_request(struct client *c, const char *method, const char *target, const char *body,
		   size_t len, struct client_response *out, struct err *e);

/* Given each slice of a streamed body; nonzero stops the stream and is returned. */
typedef int client_chunk_fn(void *arg, const char *data, size_t len);

/*
 * The same as client_request for an answer that may never end (the journal
 * with follow=1): a 2xx body goes to fn slice by slice as it arrives, any
 * other status's body (up to CLIENT_ERROR_BODY_MAX) into out->body. Returns
 * 0 when the answer is complete, what fn returned, -EINTR when a signal
 * interrupted a read (install the handler without SA_RESTART), or the
 * errors of client_request.
 */
int client_stream(struct client *c, const char *method, const char *target,
		  struct client_response *out, client_chunk_fn *fn, void *arg, struct err *e);

/*
 * For a stream that ends on a signal (journalctl -f): block sigs, and from
 * now on end a stream's wait with -EINTR once *flag is set, with no window
 * in which a signal could be missed (they are let through only while the
 * stream waits for data). The handler sets *flag.
 */
void client_stop_on(volatile sig_atomic_t *flag, const sigset_t *sigs);

/* Longest line client_stream_lines accepts: a journal entry is far smaller
 * (a message is at most 4 KiB, six times that when every byte is escaped). */
#define CLIENT_LINE_MAX (64 * 1024)

/* Given each line of a streamed body, NUL-terminated, without its "\n". */
typedef int client_line_fn(void *arg, char *line, size_t len);

/*
 * client_stream for a body of lines, the API's journal stream
 * (application/x-ndjson): fn gets each complete line as it arrives, and
 * what follows the last "\n" when the answer ends. -EMSGSIZE with a
 * message for a line over CLIENT_LINE_MAX; otherwise as client_stream.
 */
int client_stream_lines(struct client *c, const char *target, struct client_response *out,
			client_line_fn *fn, void *arg, struct err *e);

/*
 * Append s to b percent-encoded for a path segment or a query value: every
 * byte but ALPHA DIGIT "-._~" becomes %XX. 0 or -ENOMEM.
 */
int client_escape(struct buf *b, const char *s);

#endif
