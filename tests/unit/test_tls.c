/*
 * Credentials and TLS: DER reading and writing, certificates made by
 * lib/cert.c and read back by lib/tls.c, tokens and the Authorization
 * header (lib/auth.c), and whole handshakes between lib/tls's server and
 * client profiles, run in memory by moving bytes between the two engines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "cert.h"
#include "der.h"
#include "tls.h"

/* --- DER ---------------------------------------------------------------- */

static void der_reads_short_and_long_lengths_and_refuses_the_rest(void **state)
{
	static const unsigned char ok[] = { 0x30, 0x03, 0x02, 0x01, 0x05, 0x04, 0x81, 0x80 };
	unsigned char big[3 + 0x80];
	struct der d, el, in;

	der_init(&d, ok, 5);
	assert_int_equal(der_get(&d, DER_SEQUENCE, &el), 0);
	assert_int_equal(el.len, 3);
	assert_int_equal(der_get(&el, DER_INTEGER, &in), 0);
	assert_int_equal(in.len, 1);
	assert_int_equal(in.p[0], 5);
	assert_int_equal(der_next(&d, &el), -ENOENT);

	memset(big, 'x', sizeof(big));
	memcpy(big, "\x04\x81\x80", 3);
	der_init(&d, big, sizeof(big));
	assert_int_equal(der_get(&d, DER_OCTET_STRING, &el), 0);
	assert_int_equal(el.len, 0x80);

	/* Truncated, indefinite, non-minimal, high tag numbers. */
	der_init(&d, ok + 5, 3);
	assert_int_equal(der_next(&d, &el), -EINVAL);
	der_init(&d, "\x30\x80\x00\x00", 4);
	assert_int_equal(der_next(&d, &el), -EINVAL);
	der_init(&d, "\x04\x81\x05xxxxx", 8);
	assert_int_equal(der_next(&d, &el), -EINVAL);
	der_init(&d, "\x1f\x01\x00", 3);
	assert_int_equal(der_next(&d, &el), -EINVAL);
	der_init(&d, "\x04\x85\x01\x00\x00\x00\x00", 7);
	assert_int_equal(der_next(&d, &el), -EINVAL);
}

static void der_writes_what_it_reads(void **state)
{
	struct buf b = BUF_INIT;
	char long_text[300];
	struct der d, el, in;

	memset(long_text, 'a', sizeof(long_text));
	assert_int_equal(der_put_uint(&b, "\x00\x00\x80\x01", 4), 0);
	assert_memory_equal(b.data, "\x02\x03\x00\x80\x01", 5);
	buf_reset(&b);
	assert_int_equal(der_put_uint(&b, "\x00", 1), 0);
	assert_memory_equal(b.data, "\x02\x01\x00", 3);
	buf_reset(&b);
	assert_int_equal(der_put(&b, DER_UTF8_STRING, long_text, sizeof(long_text)), 0);
	assert_int_equal(der_wrap(&b, 0, DER_SEQUENCE), 0);
	der_init(&d, b.data, b.len);
	assert_int_equal(der_get(&d, DER_SEQUENCE, &el), 0);
	assert_int_equal(der_get(&el, DER_UTF8_STRING, &in), 0);
	assert_int_equal(in.len, sizeof(long_text));
	buf_free(&b);
}

/* --- certificates --------------------------------------------------------- */

struct pki {
	struct cert_key ca_key, node_key, client_key;
	struct buf ca, node, client, node_key_pem, client_key_pem;
};

static void issue(struct buf *out, struct cert_request *req, struct cert_key *k,
		  const struct buf *ca_pem, struct cert_key *ca_key)
{
	struct tls_chain ca;
	struct err e = { 0 };
	time_t now = time(NULL);

	req->not_before = now - 60;
	req->not_after = now + 86400;
	assert_int_equal(cert_key_generate(k), 0);
	if (!ca_pem) {
		assert_int_equal(cert_make(out, req, k, NULL, NULL, &e), 0);
		return;
	}
	assert_int_equal(tls_chain_parse(&ca, ca_pem->data, ca_pem->len, "ca", &e), 0);
	assert_int_equal(cert_make(out, req, k, &ca.certs[0], ca_key, &e), 0);
	tls_chain_free(&ca);
}

static struct pki *pki_make(const char *client_role)
{
	struct pki *p = calloc(1, sizeof(*p));
	struct cert_request ca = { .cn = "Test CA", .ca = true };
	struct cert_request node = { .cn = "node1", .server_auth = true, .client_auth = true,
				     .dns = { "node1", "localhost" }, .ndns = 2,
				     .ips = { "127.0.0.1", "fd00::7" }, .nips = 2 };
	struct cert_request client = { .cn = "alice", .org = client_role, .client_auth = true };

	issue(&p->ca, &ca, &p->ca_key, NULL, NULL);
	issue(&p->node, &node, &p->node_key, &p->ca, &p->ca_key);
	issue(&p->client, &client, &p->client_key, &p->ca, &p->ca_key);
	assert_int_equal(cert_key_pem(&p->node_key_pem, &p->node_key), 0);
	assert_int_equal(cert_key_pem(&p->client_key_pem, &p->client_key), 0);
	return p;
}

static void pki_free(struct pki *p)
{
	buf_free(&p->ca);
	buf_free(&p->node);
	buf_free(&p->client);
	buf_free(&p->node_key_pem);
	buf_free(&p->client_key_pem);
	free(p);
}

/* Validate a chain with BearSSL's own engine, as a peer would. */
static unsigned validate(const struct buf *chain_pem, const struct buf *ca_pem, const char *name)
{
	struct tls_chain chain;
	struct tls_anchors a;
	br_x509_minimal_context x;
	struct err e = { 0 };
	unsigned r;

	assert_int_equal(tls_chain_parse(&chain, chain_pem->data, chain_pem->len, "chain", &e), 0);
	assert_int_equal(tls_anchors_parse(&a, ca_pem->data, ca_pem->len, "ca", &e), 0);
	br_x509_minimal_init_full(&x, a.ta, a.n);
	x.vtable->start_chain(&x.vtable, name);
	for (size_t i = 0; i < chain.n; i++) {
		x.vtable->start_cert(&x.vtable, (uint32_t)chain.certs[i].data_len);
		x.vtable->append(&x.vtable, chain.certs[i].data, chain.certs[i].data_len);
		x.vtable->end_cert(&x.vtable);
	}
	r = x.vtable->end_chain(&x.vtable);
	tls_chain_free(&chain);
	tls_anchors_free(&a);
	return r;
}

static void made_certificates_validate_against_their_ca_only(void **state)
{
	struct pki *p = pki_make("admin"), *q = pki_make("admin");
	struct tls_anchors a;
	struct err e = { 0 };

	assert_int_equal(tls_anchors_parse(&a, p->ca.data, p->ca.len, "ca", &e), 0);
	assert_int_equal(a.n, 1);
	assert_true(a.ta[0].flags & BR_X509_TA_CA);
	tls_anchors_free(&a);
	assert_int_equal(validate(&p->node, &p->ca, "node1"), 0);
	assert_int_equal(validate(&p->node, &p->ca, "localhost"), 0);
	assert_int_equal(validate(&p->node, &p->ca, "node2"), BR_ERR_X509_BAD_SERVER_NAME);
	assert_int_equal(validate(&p->node, &q->ca, "node1"), BR_ERR_X509_NOT_TRUSTED);
	assert_int_equal(validate(&p->client, &p->ca, NULL), 0);
	pki_free(p);
	pki_free(q);
}

static void the_san_holds_the_addresses_given(void **state)
{
	static const unsigned char san[] = { 0x55, 0x1d, 0x11 }, none[] = { 0x55, 0x1d, 0x7f };
	struct pki *p = pki_make("admin");
	struct tls_chain c;
	struct err e = { 0 };
	const unsigned char *v;
	size_t vlen;

	assert_int_equal(tls_chain_parse(&c, p->node.data, p->node.len, "node", &e), 0);
	assert_int_equal(cert_ext_find(c.certs[0].data, c.certs[0].data_len, san, 3, &v, &vlen), 0);
	assert_non_null(memmem(v, vlen, "\x87\x04\x7f\x00\x00\x01", 6));
	assert_non_null(memmem(v, vlen, "\x82\x05node1", 7));
	assert_int_equal(cert_ext_find(c.certs[0].data, c.certs[0].data_len, none, 3, &v, &vlen), -ENOENT);
	assert_int_equal(cert_ext_find("\x30\x03", 2, san, 3, &v, &vlen), -EINVAL);
	tls_chain_free(&c);
	pki_free(p);
}

static void the_validity_period_reads_back_as_made(void **state)
{
	/* 2049 is the last UTCTime year, 2050 the first GeneralizedTime one. */
	static const int64_t when[][2] = {
		{ 0, 86399 }, { 1700000000, 2524607999 }, { 2524608000, 4102444800 },
	};
	struct cert_request r = { .cn = "x" };
	struct cert_key k;
	struct buf out = BUF_INIT;
	struct tls_chain c;
	struct err e = { 0 };
	int64_t nb, na;

	assert_int_equal(cert_key_generate(&k), 0);
	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		r.not_before = when[i][0];
		r.not_after = when[i][1];
		buf_reset(&out);
		assert_int_equal(cert_make(&out, &r, &k, NULL, NULL, &e), 0);
		assert_int_equal(tls_chain_parse(&c, out.data, out.len, "x", &e), 0);
		assert_int_equal(cert_validity(c.certs[0].data, c.certs[0].data_len, &nb, &na), 0);
		assert_int_equal(nb, when[i][0]);
		assert_int_equal(na, when[i][1]);
		/* Cut anywhere before its end, it is not a certificate. */
		assert_int_equal(cert_validity(c.certs[0].data, 40, &nb, &na), -EINVAL);
		tls_chain_free(&c);
	}
	buf_free(&out);
}

static void bad_requests_and_bad_pem_are_refused_with_a_reason(void **state)
{
	struct cert_request r = { .cn = "x", .ips = { "300.1.2.3" }, .nips = 1 };
	struct cert_key k;
	struct buf out = BUF_INIT;
	struct tls_chain c;
	struct tls_key key;
	struct err e = { 0 };

	assert_int_equal(cert_key_generate(&k), 0);
	assert_int_equal(cert_make(&out, &r, &k, NULL, NULL, &e), -EINVAL);
	assert_string_equal(e.msg, "invalid IP address \"300.1.2.3\"");
	r = (struct cert_request){ .cn = "" };
	assert_int_equal(cert_make(&out, &r, &k, NULL, NULL, &e), -EINVAL);
	r = (struct cert_request){ .cn = "x", .dns = { "a b" }, .ndns = 1 };
	assert_int_equal(cert_make(&out, &r, &k, NULL, NULL, &e), -EINVAL);
	assert_int_equal(out.len, 0);

	assert_int_equal(tls_chain_parse(&c, "", 0, "empty.pem", &e), -EINVAL);
	assert_string_equal(e.msg, "empty.pem: no certificate in it");
	assert_int_equal(tls_chain_parse(&c, "-----BEGIN CERTIFICATE-----\n!!!\n", 33, "bad.pem", &e), -EINVAL);
	assert_int_equal(tls_key_parse(&key, "hello\n", 6, "k.pem", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no private key"));
	assert_int_equal(tls_key_parse(&key, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
				       64, "k.pem", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "cannot be read"));
}

/* --- handshakes in memory ----------------------------------------------------- */

/* Move records between the engines until neither moves; true if both
 * reached application data. */
static bool converse(br_ssl_engine_context *a, br_ssl_engine_context *b)
{
	for (int round = 0; round < 1000; round++) {
		bool moved = false;
		br_ssl_engine_context *from[2] = { a, b }, *to[2] = { b, a };

		for (int i = 0; i < 2; i++) {
			unsigned sf = br_ssl_engine_current_state(from[i]);
			unsigned st = br_ssl_engine_current_state(to[i]);
			size_t n, m;
			unsigned char *src, *dst;

			if ((sf & BR_SSL_SENDREC) && (st & BR_SSL_RECVREC)) {
				src = br_ssl_engine_sendrec_buf(from[i], &n);
				dst = br_ssl_engine_recvrec_buf(to[i], &m);
				if (n > m)
					n = m;
				memcpy(dst, src, n);
				br_ssl_engine_sendrec_ack(from[i], n);
				br_ssl_engine_recvrec_ack(to[i], n);
				moved = true;
			}
		}
		if (!moved)
			break;
	}
	return (br_ssl_engine_current_state(a) & BR_SSL_SENDAPP) &&
	       (br_ssl_engine_current_state(b) & BR_SSL_SENDAPP);
}

struct pair {
	struct tls_chain chain, cchain;
	struct tls_key key, ckey;
	struct tls_anchors anchors;
	struct tls_server *s;
	struct tls_client *c;
};

/* A server and a client ready to begin, neither having said anything. */
static void pair_make(struct pki *p, struct pki *trusted, const char *host, bool client_cert,
		      struct pair *x)
{
	struct err e = { 0 };

	memset(x, 0, sizeof(*x));
	x->s = malloc(sizeof(*x->s));
	x->c = malloc(sizeof(*x->c));
	assert_int_equal(tls_chain_parse(&x->chain, p->node.data, p->node.len, "n", &e), 0);
	assert_int_equal(tls_key_parse(&x->key, p->node_key_pem.data, p->node_key_pem.len, "k", &e), 0);
	assert_int_equal(tls_anchors_parse(&x->anchors, trusted->ca.data, trusted->ca.len, "ca", &e), 0);
	assert_int_equal(tls_chain_parse(&x->cchain, p->client.data, p->client.len, "c", &e), 0);
	assert_int_equal(tls_key_parse(&x->ckey, p->client_key_pem.data, p->client_key_pem.len, "ck", &e), 0);
	assert_int_equal(tls_server_init(x->s, &x->chain, &x->key, &x->anchors), 0);
	assert_int_equal(tls_client_init(x->c, host, &x->anchors, client_cert ? &x->cchain : NULL,
					 client_cert ? &x->ckey : NULL, &e), 0);
}

static bool handshake(struct pki *p, struct pki *trusted, const char *host, bool client_cert,
		      struct pair *x)
{
	pair_make(p, trusted, host, client_cert, x);
	return converse(&x->c->cc.eng, &x->s->sc.eng);
}

static void pair_free(struct pair *x)
{
	tls_chain_free(&x->chain);
	tls_chain_free(&x->cchain);
	tls_key_free(&x->key);
	tls_key_free(&x->ckey);
	tls_anchors_free(&x->anchors);
	free(x->s);
	free(x->c);
}

static void a_handshake_names_the_peer_and_checks_addresses(void **state)
{
	struct pki *p = pki_make("read-only"), *q = pki_make("admin");
	struct pair x;

	assert_true(handshake(p, p, "127.0.0.1", true, &x));
	assert_true(x.c->peer.verified);
	assert_string_equal(x.c->peer.cn, "node1");
	assert_true(x.s->peer.verified);
	assert_string_equal(x.s->peer.cn, "alice");
	assert_string_equal(x.s->peer.org, "read-only");
	assert_int_equal(br_ssl_engine_get_version(&x.s->sc.eng), BR_TLS12);
	assert_string_equal(tls_suite_name(x.s->sc.eng.session.cipher_suite),
			    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
	pair_free(&x);

	/* By name, by IPv6 address, and without a client certificate. */
	assert_true(handshake(p, p, "node1", false, &x));
	assert_false(x.s->peer.verified);
	pair_free(&x);
	assert_true(handshake(p, p, "fd00::7", false, &x));
	pair_free(&x);

	/* An address or a name the certificate does not carry. */
	assert_false(handshake(p, p, "127.0.0.2", false, &x));
	assert_int_equal(br_ssl_engine_last_error(&x.c->cc.eng), BR_ERR_X509_BAD_SERVER_NAME);
	pair_free(&x);
	assert_false(handshake(p, p, "node2", false, &x));
	assert_int_equal(br_ssl_engine_last_error(&x.c->cc.eng), BR_ERR_X509_BAD_SERVER_NAME);
	pair_free(&x);

	/* A client that trusts another CA. */
	assert_false(handshake(p, q, "127.0.0.1", false, &x));
	assert_int_equal(br_ssl_engine_last_error(&x.c->cc.eng), BR_ERR_X509_NOT_TRUSTED);
	pair_free(&x);
	pki_free(p);
	pki_free(q);
}

/* Credentials parsed from a pki, for handshakes that mix them. */
struct creds {
	struct tls_chain node, client;
	struct tls_key node_key, client_key;
	struct tls_anchors ca;
};

static void creds_parse(struct pki *p, struct creds *k)
{
	struct err e = { 0 };

	assert_int_equal(tls_chain_parse(&k->node, p->node.data, p->node.len, "n", &e), 0);
	assert_int_equal(tls_key_parse(&k->node_key, p->node_key_pem.data, p->node_key_pem.len, "nk", &e), 0);
	assert_int_equal(tls_chain_parse(&k->client, p->client.data, p->client.len, "c", &e), 0);
	assert_int_equal(tls_key_parse(&k->client_key, p->client_key_pem.data, p->client_key_pem.len, "ck",
				       &e), 0);
	assert_int_equal(tls_anchors_parse(&k->ca, p->ca.data, p->ca.len, "ca", &e), 0);
}

static void creds_free(struct creds *k)
{
	tls_chain_free(&k->node);
	tls_chain_free(&k->client);
	tls_key_free(&k->node_key);
	tls_key_free(&k->client_key);
	tls_anchors_free(&k->ca);
}

/* A handshake: the server shows schain, the client (reaching host) cchain. */
static bool shake(struct tls_server *s, struct tls_client *c, const struct tls_anchors *ca,
		  const struct tls_chain *schain, const struct tls_key *skey, const struct tls_chain *cchain,
		  const struct tls_key *ckey, const char *host, bool want_node)
{
	struct err e = { 0 };

	assert_int_equal(tls_server_init(s, schain, skey, ca), 0);
	assert_int_equal(tls_client_init(c, host, ca, cchain, ckey, &e), 0);
	s->peer.want_node = c->peer.want_node = want_node;
	return converse(&c->cc.eng, &s->sc.eng);
}

static void node_and_client_certificates_are_told_apart(void **state)
{
	struct pki *p = pki_make("admin");
	struct tls_server *s = malloc(sizeof(*s));
	struct tls_client *c = malloc(sizeof(*c));
	struct creds k;
	unsigned eku;

	creds_parse(p, &k);
	assert_int_equal(cert_eku(k.node.certs[0].data, k.node.certs[0].data_len, &eku), 0);
	assert_int_equal(eku, CERT_EKU_SERVER | CERT_EKU_CLIENT);
	assert_int_equal(cert_eku(k.client.certs[0].data, k.client.certs[0].data_len, &eku), 0);
	assert_int_equal(eku, CERT_EKU_CLIENT);
	assert_int_equal(cert_eku("\x30\x03", 2, &eku), -EINVAL);

	/* A client certificate serving, reached by the name in its CN, which
	 * BearSSL's own engine matches: refused for its extKeyUsage. */
	assert_false(shake(s, c, &k.ca, &k.client, &k.client_key, &k.node, &k.node_key, "alice", false));
	assert_int_equal(br_ssl_engine_last_error(&c->cc.eng), BR_ERR_X509_FORBIDDEN_KEY_USAGE);

	/* A server that wants a node: a client certificate is not verified
	 * (the server tolerates it, its caller sees), a node's is. */
	assert_true(shake(s, c, &k.ca, &k.node, &k.node_key, &k.client, &k.client_key, "127.0.0.1", true));
	assert_false(s->peer.verified);
	assert_false(s->peer.node);
	assert_int_equal(s->peer.err, BR_ERR_X509_FORBIDDEN_KEY_USAGE);
	assert_true(shake(s, c, &k.ca, &k.node, &k.node_key, &k.node, &k.node_key, "127.0.0.1", true));
	assert_true(s->peer.verified && s->peer.node);
	assert_true(c->peer.verified && c->peer.node);
	assert_string_equal(s->peer.cn, "node1");

	/* The server reads the client's addresses. */
	assert_true(tls_peer_names_ip(&s->peer, "127.0.0.1"));
	assert_true(tls_peer_names_ip(&s->peer, "fd00::7"));
	assert_false(tls_peer_names_ip(&s->peer, "127.0.0.2"));
	assert_false(tls_peer_names_ip(&s->peer, "node1"));

	/* Without want_node a client certificate is verified, and not a node's. */
	assert_true(shake(s, c, &k.ca, &k.node, &k.node_key, &k.client, &k.client_key, "127.0.0.1", false));
	assert_true(s->peer.verified);
	assert_false(s->peer.node);
	assert_false(tls_peer_names_ip(&s->peer, "127.0.0.1"));

	creds_free(&k);
	free(s);
	free(c);
	pki_free(p);
}

/* --- records through a socket ------------------------------------------------ */

/* converse(), with tls_sendrec and tls_recvrec on the two ends of a
 * socket pair: each engine is given what it asks for, until neither moves. */
static bool converse_by_socket(br_ssl_engine_context *a, br_ssl_engine_context *b, const int fd[2])
{
	br_ssl_engine_context *eng[2] = { a, b };

	for (int round = 0; round < 1000; round++) {
		bool moved = false;

		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (br_ssl_engine_current_state(eng[i]) & BR_SSL_SENDREC) {
				n = tls_sendrec(eng[i], fd[i]);
				assert_true(n > 0 || n == -EAGAIN);
				moved |= n > 0;
			}
			/* The state again: sending may have changed what it wants. */
			if (br_ssl_engine_current_state(eng[i]) & BR_SSL_RECVREC) {
				n = tls_recvrec(eng[i], fd[i]);
				assert_true(n > 0 || n == -EAGAIN);
				moved |= n > 0;
			}
		}
		if (!moved)
			break;
	}
	return (br_ssl_engine_current_state(a) & BR_SSL_SENDAPP) &&
	       (br_ssl_engine_current_state(b) & BR_SSL_SENDAPP);
}

static void records_cross_a_socket_and_its_end_is_told(void **state)
{
	struct pki *p = pki_make("read-only");
	br_ssl_engine_context *c, *s;
	unsigned char *app;
	struct pair x;
	size_t len;
	int fd[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
	pair_make(p, p, "127.0.0.1", true, &x);
	c = &x.c->cc.eng;
	s = &x.s->sc.eng;
	assert_true(converse_by_socket(c, s, fd));
	assert_true(x.s->peer.verified);

	/* Nothing to read yet: -EAGAIN, not an end. */
	assert_int_equal(tls_recvrec(s, fd[1]), -EAGAIN);

	/* Plaintext in, up to the room the engine has, and out the other end. */
	assert_int_equal(tls_sendapp(c, "hello", 5), 5);
	br_ssl_engine_flush(c, 0);
	assert_true(tls_sendrec(c, fd[0]) > 0);
	/* The engine asks for a record's header, then for the rest. */
	while (!(br_ssl_engine_current_state(s) & BR_SSL_RECVAPP))
		assert_true(tls_recvrec(s, fd[1]) > 0);
	app = br_ssl_engine_recvapp_buf(s, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(app, "hello", 5);
	br_ssl_engine_recvapp_ack(s, len);

	/* The client's end closed: 0 to the server, then an error sending. */
	close(fd[0]);
	assert_int_equal(tls_recvrec(s, fd[1]), 0);
	assert_int_equal(tls_sendapp(s, "bye", 3), 3);
	br_ssl_engine_flush(s, 0);
	assert_int_equal(tls_sendrec(s, fd[1]), -EPIPE);
	close(fd[1]);
	pair_free(&x);
	pki_free(p);
}

/* --- tokens ------------------------------------------------------------------ */

static void tokens_are_long_random_and_hashed(void **state)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], line[256], hex[65];
	unsigned char h[32];
	struct auth_tokens *t = calloc(1, sizeof(*t));
	struct err e = { 0 };

	assert_int_equal(auth_token_generate(a), 0);
	assert_int_equal(auth_token_generate(b), 0);
	assert_int_equal(strlen(a), AUTH_TOKEN_LEN);
	assert_memory_equal(a, "pith_", 5);
	assert_string_not_equal(a, b);
	auth_token_hash(a, strlen(a), h);
	auth_hash_hex(h, hex);
	snprintf(line, sizeof(line), "# comment\n\nadmin sha256:%s ops\r\nread-only sha256:%s\n", hex,
		 "00000000000000000000000000000000000000000000000000000000000000ff");
	assert_int_equal(auth_tokens_parse(t, line, strlen(line), "tokens", &e), 0);
	assert_int_equal(t->n, 2);
	assert_ptr_equal(auth_tokens_match(t, a, strlen(a)), &t->e[0]);
	assert_string_equal(t->e[0].name, "ops");
	assert_int_equal(t->e[1].role, AUTH_READ_ONLY);
	assert_null(auth_tokens_match(t, b, strlen(b)));
	assert_null(auth_tokens_match(t, a, strlen(a) - 1));
	free(t);
}

static void a_bad_tokens_file_names_its_line_and_keeps_nothing(void **state)
{
	struct auth_tokens *t = calloc(1, sizeof(*t));
	struct err e = { 0 };
	static const char *bad[] = {
		"root sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
		"admin sha256:00\n",
		"admin md5:00000000000000000000000000000000\n",
		"admin sha256:000000000000000000000000000000000000000000000000000000000000000g\n",
		"admin\n",
		"admin sha256:0000000000000000000000000000000000000000000000000000000000000000 a b\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];

		snprintf(text, sizeof(text), "admin sha256:%064d\n%s", 0, bad[i]);
		assert_int_equal(auth_tokens_parse(t, text, strlen(text), "tokens", &e), -EINVAL);
		assert_int_equal(t->n, 0);
		assert_int_equal(e.line, 2);
		assert_memory_equal(e.msg, "tokens:2: ", 10);
	}
	free(t);
}

static void the_authorization_header_yields_the_secret(void **state)
{
	char s[AUTH_SECRET_MAX + 1], big[AUTH_SECRET_MAX + 32];

	assert_int_equal(auth_header_secret("Bearer pith_abc-_.~+/==", s, sizeof(s)), 0);
	assert_string_equal(s, "pith_abc-_.~+/==");
	assert_int_equal(auth_header_secret("bearer   tok  ", s, sizeof(s)), 0);
	assert_string_equal(s, "tok");
	/* root:pa:ss */
	assert_int_equal(auth_header_secret("Basic cm9vdDpwYTpzcw==", s, sizeof(s)), 0);
	assert_string_equal(s, "pa:ss");
	/* ":" (no user, empty password) */
	assert_int_equal(auth_header_secret("Basic Og==", s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(auth_header_secret("Basic cm9vdA==", s, sizeof(s)), -EINVAL);	/* no colon */
	assert_int_equal(auth_header_secret("Basic cm9vdDp=", s, sizeof(s)), -EINVAL);
	assert_int_equal(auth_header_secret("Basic cm9v dDpw", s, sizeof(s)), -EINVAL);
	assert_int_equal(auth_header_secret("Basic cm9vdDoAeA==", s, sizeof(s)), -EINVAL);	/* NUL */
	assert_int_equal(auth_header_secret("Bearer a b", s, sizeof(s)), -EINVAL);
	assert_int_equal(auth_header_secret("Bearer", s, sizeof(s)), -EINVAL);
	assert_int_equal(auth_header_secret("Bearer a=b", s, sizeof(s)), -EINVAL);
	assert_int_equal(auth_header_secret("Digest x", s, sizeof(s)), -ENOTSUP);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "Bearer ", 7);
	assert_int_equal(auth_header_secret(big, s, sizeof(s)), -E2BIG);
}

static void comparison_in_constant_time_still_compares(void **state)
{
	assert_int_equal(tls_ct_compare("abcd", "abcd", 4), 0);
	assert_int_not_equal(tls_ct_compare("abcd", "abce", 4), 0);
	assert_int_not_equal(tls_ct_compare("\x80", "\x00", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(der_reads_short_and_long_lengths_and_refuses_the_rest),
		cmocka_unit_test(der_writes_what_it_reads),
		cmocka_unit_test(made_certificates_validate_against_their_ca_only),
		cmocka_unit_test(the_san_holds_the_addresses_given),
		cmocka_unit_test(the_validity_period_reads_back_as_made),
		cmocka_unit_test(bad_requests_and_bad_pem_are_refused_with_a_reason),
		cmocka_unit_test(a_handshake_names_the_peer_and_checks_addresses),
		cmocka_unit_test(node_and_client_certificates_are_told_apart),
		cmocka_unit_test(records_cross_a_socket_and_its_end_is_told),
		cmocka_unit_test(tokens_are_long_random_and_hashed),
		cmocka_unit_test(a_bad_tokens_file_names_its_line_and_keeps_nothing),
		cmocka_unit_test(the_authorization_header_yields_the_secret),
		cmocka_unit_test(comparison_in_constant_time_still_compares),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
