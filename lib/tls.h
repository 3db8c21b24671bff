/*
 * TLS over BearSSL: credentials read from PEM files, the one server profile
 * and the one client profile Pith speaks, and words for BearSSL's errors.
 *
 * The profile, on both sides: TLS 1.2 only, ECDHE key exchange, AEAD
 * suites only (AES-GCM and ChaCha20-Poly1305), no renegotiation, no
 * session resumption (a resumed session would skip the client
 * certificate, and the server keeps no state between connections).
 *
 * BearSSL does no I/O: the caller owns the engine and moves bytes with its
 * buf/ack function pairs. tls_sendrec() and tls_recvrec() do the socket
 * side of that, one system call each; the caller's loop still decides when,
 * and what its plaintext buffers take. Nothing else here does I/O, except
 * the _load functions, which read one file. Credentials are allocated once
 * at start and freed with their *_free(); the engines are inside
 * caller-owned structs and allocate nothing.
 *
 * Errors: 0 or -errno, with a message in the caller's struct err; the
 * record functions return -errno alone, and their callers word it.
 */
#ifndef PITH_TLS_H
#define PITH_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <bearssl.h>

#include "log.h"

/* Largest PEM file read: a chain of a few certificates, or one key. */
#define TLS_PEM_FILE_MAX (256 * 1024)
/* Certificates in a chain file, and CA certificates in an anchors file. */
#define TLS_CHAIN_MAX 8
#define TLS_ANCHORS_MAX 16
/* Longest subject name element kept from a peer certificate (CN, O);
 * RFC 5280's upper bound for both is 64 characters. */
#define TLS_NAME_MAX 64
/* Largest end-entity certificate kept to read what BearSSL does not: its
 * iPAddress names and its extKeyUsage. */
#define TLS_EE_CERT_MAX 8192

/* A certificate chain, end-entity first, as DER. */
struct tls_chain {
	br_x509_certificate certs[TLS_CHAIN_MAX];
	size_t n;
};

/* A private key: EC (any curve BearSSL knows) or RSA. */
struct tls_key {
	int type;		/* BR_KEYTYPE_EC or BR_KEYTYPE_RSA */
	br_ec_private_key ec;
	br_rsa_private_key rsa;
	unsigned char *mem;	/* the key's bytes, which ec or rsa point into */
};

/* CA certificates a peer's chain must end at. */
struct tls_anchors {
	br_x509_trust_anchor ta[TLS_ANCHORS_MAX];
	size_t n;
};

/*
 * Read the PEM file at path: every "CERTIFICATE" object (a chain), the
 * first private key ("EC PRIVATE KEY", "RSA PRIVATE KEY" or an unencrypted
 * PKCS#8 "PRIVATE KEY"), or every CA certificate. -ENOENT/-EACCES/...
 * when the file cannot be read, -EINVAL when it holds nothing usable,
 * -E2BIG past the limits above; e says which file and why.
 */
int tls_chain_load(struct tls_chain *c, const char *path, struct err *e);
int tls_key_load(struct tls_key *k, const char *path, struct err *e);
int tls_anchors_load(struct tls_anchors *a, const char *path, struct err *e);

/* The same from PEM text in memory (len bytes); what = a name for messages. */
int tls_chain_parse(struct tls_chain *c, const char *pem, size_t len, const char *what,
		    struct err *e);
int tls_key_parse(struct tls_key *k, const char *pem, size_t len, const char *what,
		  struct err *e);
int tls_anchors_parse(struct tls_anchors *a, const char *pem, size_t len, const char *what,
		      struct err *e);

void tls_chain_free(struct tls_chain *c);
void tls_key_free(struct tls_key *k);
void tls_anchors_free(struct tls_anchors *a);

/*
 * Who a peer's certificate says it is. A validator wraps BearSSL's minimal
 * X.509 engine: it validates the chain against the anchors as that engine
 * does, and also keeps the end-entity's subject CN and O and reads two
 * extensions BearSSL does not: the iPAddress names (client side, an IP
 * address connected to must be one of them) and the extKeyUsage.
 *
 * Node and client certificates: a node's certificate lists serverAuth in
 * its extKeyUsage, a client's does not (pith gen node / pith gen client;
 * docs/security.md). node says which one the peer showed. The client side
 * refuses a server whose extKeyUsage does not allow serverAuth (RFC 5280,
 * 4.2.1.12), so a client certificate never serves; with want_node, either
 * side refuses a chain that is not a node's.
 */
struct tls_peer {
	const br_x509_class *vtable;	/* first: BearSSL calls through it */
	br_x509_minimal_context x;
	br_name_element names[2];
	char cn[TLS_NAME_MAX + 1];
	char org[TLS_NAME_MAX + 1];
	bool verified;		/* the last chain ended at an anchor (and passed the checks below) */
	unsigned err;		/* the last chain's BR_ERR_X509_* (0: none) */
	bool node;		/* the end-entity lists serverAuth: a node's certificate */
	bool want_node;		/* set before the handshake: refuse any other (BR_ERR_X509_FORBIDDEN_KEY_USAGE) */
	bool of_server;		/* client side: the peer serves, its extKeyUsage must allow it */
	/* Client side, connecting to an IP address: the address to find. */
	unsigned char ip[16];
	size_t ip_len;		/* 4, 16, or 0 when the peer was named by DNS */
	unsigned ncerts;	/* certificates seen in the chain */
	unsigned char *ee;	/* TLS_EE_CERT_MAX bytes for the end-entity (in tls_server, tls_client) */
	size_t ee_len;
	bool ee_too_big;
};

/*
 * Records the server writes carry at most this much plaintext. Incoming
 * records can be 16 KiB (the client decides), so the input buffer is whole,
 * but a smaller output buffer keeps an idle connection's memory to a few
 * pages, and an answer is sent in 4 KiB records, which a client can
 * decrypt as they come.
 */
#define TLS_SERVER_RECORD_OUT 4096

/* The server side of one connection. The fields are in the order they are
 * touched, so that a connection that is open and idle dirties few pages. */
struct tls_server {
	br_ssl_server_context sc;
	struct tls_peer peer;	/* the client's certificate, when it sent one */
	unsigned char obuf[TLS_SERVER_RECORD_OUT + (BR_SSL_BUFSIZE_OUTPUT - 16384)];
	unsigned char ibuf[BR_SSL_BUFSIZE_INPUT];
	unsigned char ee[TLS_EE_CERT_MAX];	/* touched only by a client that shows a certificate */
};

/*
 * Ready s for a new connection, answering with chain and key. With
 * client_cas (not NULL, n > 0) a certificate is requested from the client
 * and validated against them; a client that sends none is still accepted,
 * and s->peer.verified says whether one was validated. Waits for the
 * kernel's random pool (rand_key_bytes). 0, -EINVAL for a key type the
 * profile cannot use, or -EIO when no random bytes could be had.
 */
int tls_server_init(struct tls_server *s, const struct tls_chain *chain, const struct tls_key *key,
		    const struct tls_anchors *client_cas);

/*
 * Does the peer's end-entity certificate list addr (an IPv4 or IPv6
 * address, as text) among its iPAddress names? false for anything else: no
 * certificate, one too large to have been kept, addr not an address.
 */
bool tls_peer_names_ip(const struct tls_peer *p, const char *addr);

/* The client side of one connection. */
struct tls_client {
	br_ssl_client_context cc;
	struct tls_peer peer;	/* the server's certificate */
	unsigned char ee[TLS_EE_CERT_MAX];
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

/*
 * Ready c to connect to host (a DNS name, checked against the server
 * certificate's DNS names and sent as SNI; or an IPv4/IPv6 literal,
 * checked against its iPAddress names), trusting anchors. chain and key
 * (both NULL, or both set) are the client's own certificate. Waits for the
 * kernel's random pool (rand_key_bytes). 0, or -EINVAL or -EIO with a
 * message.
 */
int tls_client_init(struct tls_client *c, const char *host, const struct tls_anchors *anchors,
		    const struct tls_chain *chain, const struct tls_key *key, struct err *e);

/*
 * Records between an engine and a non-blocking socket, one send() or
 * recv() a call, the bytes moved acknowledged to the engine. Call
 * tls_sendrec() when the engine's state has BR_SSL_SENDREC, tls_recvrec()
 * when it has BR_SSL_RECVREC.
 *
 * tls_sendrec: the bytes sent, -EAGAIN when the socket takes none now, or
 * -errno (-EPIPE, -ECONNRESET, ...). It sends with MSG_NOSIGNAL: a peer
 * that is gone is an error, not a signal.
 * tls_recvrec: the bytes read, 0 when the peer has closed the connection,
 * -EAGAIN when the socket has none now, or -errno. What a close means
 * (before the handshake ended, after a whole answer) is the caller's to say.
 *
 * EINTR is -EAGAIN too: the callers come back when epoll says the socket
 * is ready, as they do for EAGAIN.
 */
ssize_t tls_sendrec(br_ssl_engine_context *eng, int fd);
ssize_t tls_recvrec(br_ssl_engine_context *eng, int fd);

/*
 * Plaintext into the engine, when its state has BR_SSL_SENDAPP: as much of
 * data (len bytes) as its buffer has room for; returns the bytes taken.
 * They go out in a record when the buffer is full or when the caller
 * flushes (br_ssl_engine_flush); when to flush is the caller's choice.
 */
size_t tls_sendapp(br_ssl_engine_context *eng, const void *data, size_t len);

/* A short English phrase for a BearSSL error code (engine or X.509). */
const char *tls_strerror(int err);

/* The suite's IANA name ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), "" if unknown. */
const char *tls_suite_name(unsigned suite);

/*
 * Compare n bytes in time that depends only on n: 0 when they are equal,
 * nonzero otherwise. Use it for secrets (tokens, digests), never memcmp.
 */
int tls_ct_compare(const void *a, const void *b, size_t n);

#endif
