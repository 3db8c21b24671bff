#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cert.h"
#include "der.h"
#include "rand.h"
#include "unit_load.h"

/* Entropy injected into each engine: SHA-256's security strength. */
#define TLS_SEED_BYTES 32

/* --- PEM files ---------------------------------------------------------- */

typedef int pem_fn(void *arg, const char *name, const unsigned char *der, size_t len,
		   struct err *e);

struct pem_sink {
	struct buf der;
	bool nomem;
};

static void pem_take(void *ctx, const void *data, size_t len)
{
	struct pem_sink *s = ctx;

	if (buf_append(&s->der, data, len) < 0)
		s->nomem = true;
}

/* Call fn for each object in the PEM text, in order. */
static int pem_each(const char *pem, size_t len, const char *what, pem_fn *fn, void *arg,
		    struct err *e)
{
	br_pem_decoder_context pc;
	struct pem_sink sink = { BUF_INIT, false };
	char name[128] = "";
	bool inside = false, tail = false;
	int r = 0;

	br_pem_decoder_init(&pc);
	br_pem_decoder_setdest(&pc, pem_take, &sink);
	/* The decoder needs a line end after the last line; give it one. */
	while (len || !tail) {
		size_t n;

		if (!len) {
			tail = true;
			pem = "\n";
			len = 1;
		}
		n = br_pem_decoder_push(&pc, pem, len);
		pem += n;
		len -= n;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			snprintf(name, sizeof(name), "%s", br_pem_decoder_name(&pc));
			buf_reset(&sink.der);
			inside = true;
			break;
		case BR_PEM_END_OBJ:
			inside = false;
			if (sink.nomem) {
				err_set(e, 0, "%s: out of memory", what);
				r = -ENOMEM;
				goto out;
			}
			if (!sink.der.len) {
				err_set(e, 0, "%s: the PEM object \"%s\" is empty", what, name);
				r = -EINVAL;
				goto out;
			}
			if ((r = fn(arg, name, (unsigned char *)sink.der.data, sink.der.len, e)) < 0)
				goto out;
			break;
		case BR_PEM_ERROR:
			err_set(e, 0, "%s: not valid PEM", what);
			r = -EINVAL;
			goto out;
		}
	}
	if (inside) {
		err_set(e, 0, "%s: the PEM object \"%s\" has no END line", what, name);
		r = -EINVAL;
	}
out:
	buf_free(&sink.der);
	return r;
}

typedef int pem_parse_fn(void *obj, const char *pem, size_t len, const char *what,
			 struct err *e);

static int pem_load(void *obj, const char *path, pem_parse_fn *parse, struct err *e)
{
	struct buf b = BUF_INIT;
	int r = unit_file_read(path, TLS_PEM_FILE_MAX, &b);

	if (r == -EFBIG)
		err_set(e, 0, "%s: larger than %d bytes", path, TLS_PEM_FILE_MAX);
	else if (r < 0)
		err_set(e, 0, "%s: %s", path, strerror(-r));
	if (r == -EFBIG)
		r = -E2BIG;
	if (!r)
		r = parse(obj, b.data ? b.data : "", b.len, path, e);
	buf_free(&b);
	return r;
}

static bool is_cert(const char *name)
{
	return !strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE");
}

/* --- chains ------------------------------------------------------------- */

static int chain_add(void *arg, const char *name, const unsigned char *der, size_t len,
		     struct err *e)
{
	struct tls_chain *c = arg;
	unsigned char *copy;

	if (!is_cert(name))
		return 0;
	if (c->n == TLS_CHAIN_MAX) {
		err_set(e, 0, "more than %d certificates", TLS_CHAIN_MAX);
		return -E2BIG;
	}
	if (!(copy = malloc(len ? len : 1)))
		return -ENOMEM;
	memcpy(copy, der, len);
	c->certs[c->n].data = copy;
	c->certs[c->n].data_len = len;
	c->n++;
	return 0;
}

static int chain_parse(void *obj, const char *pem, size_t len, const char *what, struct err *e)
{
	struct tls_chain *c = obj;
	int r;

	memset(c, 0, sizeof(*c));
	r = pem_each(pem, len, what, chain_add, c, e);
	if (r == -E2BIG || r == -ENOMEM) {
		char m[ERR_MSG_MAX];

		snprintf(m, sizeof(m), "%s", e->msg);
		err_set(e, 0, "%s: %s", what, r == -ENOMEM ? "out of memory" : m);
	}
	if (!r && !c->n) {
		err_set(e, 0, "%s: no certificate in it", what);
		r = -EINVAL;
	}
	if (r < 0)
		tls_chain_free(c);
	return r;
}

int tls_chain_parse(struct tls_chain *c, const char *pem, size_t len, const char *what,
		    struct err *e)
{
	return chain_parse(c, pem, len, what, e);
}

int tls_chain_load(struct tls_chain *c, const char *path, struct err *e)
{
	memset(c, 0, sizeof(*c));
	return pem_load(c, path, chain_parse, e);
}

void tls_chain_free(struct tls_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->certs[i].data);
	c->n = 0;
}

/* --- private keys ------------------------------------------------------- */

struct key_load {
	struct tls_key *k;
	const char *what;
	bool found;
};

static int key_copy(struct tls_key *k, const br_skey_decoder_context *d)
{
	const br_ec_private_key *ec;
	const br_rsa_private_key *rsa;
	unsigned char *p;

	k->type = br_skey_decoder_key_type(d);
	if (k->type == BR_KEYTYPE_EC) {
		ec = br_skey_decoder_get_ec(d);
		if (!(k->mem = p = malloc(ec->xlen)))
			return -ENOMEM;
		memcpy(p, ec->x, ec->xlen);
		k->ec = (br_ec_private_key){ ec->curve, p, ec->xlen };
		return 0;
	}
	rsa = br_skey_decoder_get_rsa(d);
	if (!(k->mem = p = malloc(rsa->plen + rsa->qlen + rsa->dplen + rsa->dqlen + rsa->iqlen + 1)))
		return -ENOMEM;
	k->rsa.n_bitlen = rsa->n_bitlen;
#define KEY_PART(f) \
	memcpy(p, rsa->f, rsa->f##len); k->rsa.f = p; k->rsa.f##len = rsa->f##len; p += rsa->f##len
	KEY_PART(p);
	KEY_PART(q);
	KEY_PART(dp);
	KEY_PART(dq);
	KEY_PART(iq);
#undef KEY_PART
	return 0;
}

static int key_add(void *arg, const char *name, const unsigned char *der, size_t len,
		   struct err *e)
{
	struct key_load *l = arg;
	br_skey_decoder_context d;
	int r;

	if (l->found || (strcmp(name, "EC PRIVATE KEY") && strcmp(name, "RSA PRIVATE KEY") &&
			 strcmp(name, "PRIVATE KEY")))
		return 0;
	br_skey_decoder_init(&d);
	br_skey_decoder_push(&d, der, len);
	if ((r = br_skey_decoder_last_error(&d)) != 0) {
		err_set(e, 0, "%s: the private key cannot be read: %s", l->what, tls_strerror(r));
		return -EINVAL;
	}
	if ((r = key_copy(l->k, &d)) < 0) {
		err_set(e, 0, "%s: out of memory", l->what);
		return r;
	}
	l->found = true;
	return 0;
}

static int key_parse(void *obj, const char *pem, size_t len, const char *what, struct err *e)
{
	struct key_load l = { obj, what, false };
	int r;

	memset(l.k, 0, sizeof(*l.k));
	r = pem_each(pem, len, what, key_add, &l, e);
	if (!r && !l.found) {
		err_set(e, 0, "%s: no private key in it (an encrypted key is not supported)", what);
		r = -EINVAL;
	}
	if (r < 0)
		tls_key_free(l.k);
	return r;
}

int tls_key_parse(struct tls_key *k, const char *pem, size_t len, const char *what, struct err *e)
{
	return key_parse(k, pem, len, what, e);
}

int tls_key_load(struct tls_key *k, const char *path, struct err *e)
{
	memset(k, 0, sizeof(*k));
	return pem_load(k, path, key_parse, e);
}

void tls_key_free(struct tls_key *k)
{
	if (k->mem)
		explicit_bzero(k->mem, k->type == BR_KEYTYPE_EC ? k->ec.xlen :
			       k->rsa.plen + k->rsa.qlen + k->rsa.dplen + k->rsa.dqlen + k->rsa.iqlen);
	free(k->mem);
	memset(k, 0, sizeof(*k));
}

/* --- trust anchors ------------------------------------------------------ */

struct anchor_load {
	struct tls_anchors *a;
	const char *what;
};

static int anchor_add(void *arg, const char *name, const unsigned char *der, size_t len,
		      struct err *e)
{
	struct anchor_load *l = arg;
	br_x509_trust_anchor *ta;
	br_x509_decoder_context d;
	struct pem_sink dn = { BUF_INIT, false };
	const br_x509_pkey *pk;
	unsigned char *p;
	size_t klen;
	int r = 0;

	if (!is_cert(name))
		return 0;
	if (l->a->n == TLS_ANCHORS_MAX) {
		err_set(e, 0, "%s: more than %d certificates", l->what, TLS_ANCHORS_MAX);
		return -E2BIG;
	}
	br_x509_decoder_init(&d, pem_take, &dn);
	br_x509_decoder_push(&d, der, len);
	if (!(pk = br_x509_decoder_get_pkey(&d))) {
		err_set(e, 0, "%s: certificate %zu cannot be read: %s", l->what, l->a->n + 1,
			tls_strerror(br_x509_decoder_last_error(&d)));
		r = -EINVAL;
		goto out;
	}
	if (dn.nomem) {
		r = -ENOMEM;
		goto out;
	}
	klen = pk->key_type == BR_KEYTYPE_EC ? pk->key.ec.qlen :
	       pk->key.rsa.nlen + pk->key.rsa.elen;
	if (!(p = malloc(dn.der.len + klen + 1))) {
		r = -ENOMEM;
		goto out;
	}
	ta = &l->a->ta[l->a->n++];
	memset(ta, 0, sizeof(*ta));
	memcpy(p, dn.der.data, dn.der.len);
	ta->dn = (br_x500_name){ p, dn.der.len };
	p += dn.der.len;
	ta->flags = br_x509_decoder_isCA(&d) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_EC) {
		memcpy(p, pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec = (br_ec_public_key){ pk->key.ec.curve, p, pk->key.ec.qlen };
	} else {
		memcpy(p, pk->key.rsa.n, pk->key.rsa.nlen);
		memcpy(p + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa = (br_rsa_public_key){ p, pk->key.rsa.nlen, p + pk->key.rsa.nlen,
							pk->key.rsa.elen };
	}
out:
	if (r == -ENOMEM)
		err_set(e, 0, "%s: out of memory", l->what);
	buf_free(&dn.der);
	return r;
}

static int anchors_parse(void *obj, const char *pem, size_t len, const char *what,
			 struct err *e)
{
	struct anchor_load l = { obj, what };
	int r;

	memset(l.a, 0, sizeof(*l.a));
	r = pem_each(pem, len, what, anchor_add, &l, e);
	if (!r && !l.a->n) {
		err_set(e, 0, "%s: no certificate in it", what);
		r = -EINVAL;
	}
	if (r < 0)
		tls_anchors_free(l.a);
	return r;
}

int tls_anchors_parse(struct tls_anchors *a, const char *pem, size_t len, const char *what,
		      struct err *e)
{
	return anchors_parse(a, pem, len, what, e);
}

int tls_anchors_load(struct tls_anchors *a, const char *path, struct err *e)
{
	memset(a, 0, sizeof(*a));
	return pem_load(a, path, anchors_parse, e);
}

void tls_anchors_free(struct tls_anchors *a)
{
	/* One allocation per anchor, starting at its DN. */
	for (size_t i = 0; i < a->n; i++)
		free(a->ta[i].dn.data);
	a->n = 0;
}

/* --- the peer's certificate --------------------------------------------- */

/* Does the end-entity certificate name the address connected to? */
static bool ee_names_ip(const struct tls_peer *p)
{
	return p->ee && !p->ee_too_big && cert_names_ip(p->ee, p->ee_len, p->ip, p->ip_len);
}

bool tls_peer_names_ip(const struct tls_peer *p, const char *addr)
{
	unsigned char ip[16];
	size_t len = 0;

	if (inet_pton(AF_INET, addr, ip) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, addr, ip) == 1)
		len = 16;
	return len && p->ee && !p->ee_too_big && p->ncerts && cert_names_ip(p->ee, p->ee_len, ip, len);
}

/* The end-entity's extKeyUsage, checked as struct tls_peer says (BearSSL
 * skips the extension unless it is critical). 0 or BR_ERR_X509_*. */
static unsigned ee_usage(struct tls_peer *p)
{
	unsigned eku = 0;
	int r = -EINVAL;

	if (p->ee && !p->ee_too_big)
		r = cert_eku(p->ee, p->ee_len, &eku);
	p->node = r == 0 && (eku & CERT_EKU_SERVER);
	if (p->want_node && !p->node)
		return BR_ERR_X509_FORBIDDEN_KEY_USAGE;
	/* No extKeyUsage allows any use; one not kept (too large) is not
	 * judged, as before this check. */
	if (p->of_server && p->ee && !p->ee_too_big && r != -ENOENT &&
	    (r < 0 || !(eku & (CERT_EKU_SERVER | CERT_EKU_ANY))))
		return BR_ERR_X509_FORBIDDEN_KEY_USAGE;
	return 0;
}

static void peer_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_peer *p = (struct tls_peer *)(void *)ctx;

	p->verified = false;
	p->err = 0;
	p->ncerts = 0;
	p->ee_len = 0;
	p->ee_too_big = false;
	p->node = false;
	p->cn[0] = p->org[0] = 0;
	p->x.vtable->start_chain(&p->x.vtable, server_name);
}

static void peer_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_peer *p = (struct tls_peer *)(void *)ctx;

	p->ncerts++;
	p->x.vtable->start_cert(&p->x.vtable, length);
}

static void peer_append(const br_x509_class **ctx, const unsigned char *data, size_t len)
{
	struct tls_peer *p = (struct tls_peer *)(void *)ctx;

	if (p->ncerts == 1 && p->ee) {
		if (len > TLS_EE_CERT_MAX - p->ee_len)
			p->ee_too_big = true;
		else
			memcpy(p->ee + p->ee_len, data, len), p->ee_len += len;
	}
	p->x.vtable->append(&p->x.vtable, data, len);
}

static void peer_end_cert(const br_x509_class **ctx)
{
	struct tls_peer *p = (struct tls_peer *)(void *)ctx;

	p->x.vtable->end_cert(&p->x.vtable);
}

static unsigned peer_end_chain(const br_x509_class **ctx)
{
	struct tls_peer *p = (struct tls_peer *)(void *)ctx;
	unsigned r = p->x.vtable->end_chain(&p->x.vtable);

	if (!p->names[0].status)
		p->cn[0] = 0;
	if (!p->names[1].status)
		p->org[0] = 0;
	if (!r && p->ip_len && !ee_names_ip(p))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	if (!r)
		r = ee_usage(p);
	p->err = r;
	p->verified = r == 0;
	return r;
}

static const br_x509_pkey *peer_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct tls_peer *p = (const struct tls_peer *)(const void *)ctx;

	return p->x.vtable->get_pkey(&p->x.vtable, usages);
}

static const br_x509_class peer_vtable = {
	sizeof(struct tls_peer),
	peer_start_chain,
	peer_start_cert,
	peer_append,
	peer_end_cert,
	peer_end_chain,
	peer_get_pkey,
};

static void peer_init(struct tls_peer *p, const struct tls_anchors *a)
{
	/* id-at-commonName and id-at-organizationName, as BearSSL wants OIDs. */
	static const unsigned char oid_cn[] = { 3, 0x55, 0x04, 0x03 };
	static const unsigned char oid_o[] = { 3, 0x55, 0x04, 0x0a };

	memset(p, 0, sizeof(*p));
	p->vtable = &peer_vtable;
	br_x509_minimal_init_full(&p->x, a->ta, a->n);
	p->names[0] = (br_name_element){ oid_cn, p->cn, sizeof(p->cn), 0 };
	p->names[1] = (br_name_element){ oid_o, p->org, sizeof(p->org), 0 };
	br_x509_minimal_set_name_elements(&p->x, p->names, 2);
}

/* --- the profile -------------------------------------------------------- */

/* Server preference: AES-128-GCM first (AES-NI makes it the cheapest where
 * there is AES-NI), then AES-256-GCM, then ChaCha20-Poly1305. */
static const uint16_t tls_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

static void profile(br_ssl_engine_context *eng)
{
	/* The hashes handshake signatures may use, either way (and the PRFs'
	 * SHA-256 and SHA-384). Not SHA-1: its collisions are practical, and
	 * a peer that offers nothing else is refused. */
	static const br_hash_class *const hashes[] = {
		&br_sha224_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};

	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, tls_suites, sizeof(tls_suites) / sizeof(tls_suites[0]));
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		br_ssl_engine_set_hash(eng, (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) &
						   BR_HASHDESC_ID_MASK), hashes[i]);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_ec(eng);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_default_chapol(eng);
	br_ssl_engine_set_default_ecdsa(eng);
	br_ssl_engine_set_default_rsavrfy(eng);
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
}

/* Random bytes for the handshake from rand_key_bytes(), which waits for the
 * kernel's pool: BearSSL's own seeder reads /dev/urandom, which does not. */
static int engine_seed(br_ssl_engine_context *eng)
{
	unsigned char seed[TLS_SEED_BYTES];

	if (rand_key_bytes(seed, sizeof(seed)) < 0)
		return -EIO;
	br_ssl_engine_inject_entropy(eng, seed, sizeof(seed));
	explicit_bzero(seed, sizeof(seed));
	return 0;
}

int tls_server_init(struct tls_server *s, const struct tls_chain *chain, const struct tls_key *key,
		    const struct tls_anchors *client_cas)
{
	br_ssl_engine_context *eng = &s->sc.eng;

	br_ssl_server_zero(&s->sc);
	profile(eng);
	br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	if (key->type == BR_KEYTYPE_EC)
		br_ssl_server_set_single_ec(&s->sc, chain->certs, chain->n, &key->ec,
					    BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
					    br_ecdsa_sign_asn1_get_default());
	else if (key->type == BR_KEYTYPE_RSA)
		br_ssl_server_set_single_rsa(&s->sc, chain->certs, chain->n, &key->rsa,
					     BR_KEYTYPE_SIGN, br_rsa_private_get_default(),
					     br_rsa_pkcs1_sign_get_default());
	else
		return -EINVAL;
	if (client_cas && client_cas->n) {
		peer_init(&s->peer, client_cas);
		s->peer.ee = s->ee;
		br_ssl_engine_set_x509(eng, &s->peer.vtable);
		br_ssl_server_set_trust_anchor_names_alt(&s->sc, client_cas->ta, client_cas->n);
		br_ssl_engine_add_flags(eng, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
	} else {
		memset(&s->peer, 0, sizeof(s->peer));
	}
	br_ssl_engine_set_buffers_bidi(eng, s->ibuf, sizeof(s->ibuf), s->obuf, sizeof(s->obuf));
	if (engine_seed(eng) < 0)
		return -EIO;
	return br_ssl_server_reset(&s->sc) ? 0 : -EINVAL;
}

int tls_client_init(struct tls_client *c, const char *host, const struct tls_anchors *anchors,
		    const struct tls_chain *chain, const struct tls_key *key, struct err *e)
{
	br_ssl_engine_context *eng = &c->cc.eng;
	const char *name = host;

	br_ssl_client_zero(&c->cc);
	profile(eng);
	br_ssl_client_set_default_rsapub(&c->cc);
	peer_init(&c->peer, anchors);
	c->peer.ee = c->ee;
	c->peer.of_server = true;
	if (inet_pton(AF_INET, host, c->peer.ip) == 1)
		c->peer.ip_len = 4;
	else if (inet_pton(AF_INET6, host, c->peer.ip) == 1)
		c->peer.ip_len = 16;
	/* An address is checked by peer_end_chain, and is never SNI. */
	if (c->peer.ip_len)
		name = NULL;
	br_ssl_engine_set_x509(eng, &c->peer.vtable);
	if (chain && key) {
		if (key->type == BR_KEYTYPE_EC)
			br_ssl_client_set_single_ec(&c->cc, chain->certs, chain->n, &key->ec,
						    BR_KEYTYPE_SIGN, BR_KEYTYPE_EC,
						    br_ec_get_default(),
						    br_ecdsa_sign_asn1_get_default());
		else
			br_ssl_client_set_single_rsa(&c->cc, chain->certs, chain->n, &key->rsa,
						     br_rsa_pkcs1_sign_get_default());
	}
	br_ssl_engine_set_buffer(eng, c->iobuf, sizeof(c->iobuf), 1);
	if (engine_seed(eng) < 0) {
		err_set(e, 0, "TLS: cannot start: no random bytes from the system");
		return -EIO;
	}
	if (!br_ssl_client_reset(&c->cc, name, 0)) {
		err_set(e, 0, "TLS: cannot start: %s", tls_strerror(br_ssl_engine_last_error(eng)));
		return -EINVAL;
	}
	return 0;
}

/* --- records and the socket --------------------------------------------- */

ssize_t tls_sendrec(br_ssl_engine_context *eng, int fd)
{
	size_t len;
	unsigned char *b = br_ssl_engine_sendrec_buf(eng, &len);
	ssize_t n = send(fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (n > 0)
		br_ssl_engine_sendrec_ack(eng, (size_t)n);
	return n;
}

ssize_t tls_recvrec(br_ssl_engine_context *eng, int fd)
{
	size_t len;
	unsigned char *b = br_ssl_engine_recvrec_buf(eng, &len);
	ssize_t n = recv(fd, b, len, MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (n > 0)
		br_ssl_engine_recvrec_ack(eng, (size_t)n);
	return n;
}

size_t tls_sendapp(br_ssl_engine_context *eng, const void *data, size_t len)
{
	size_t room;
	unsigned char *b = br_ssl_engine_sendapp_buf(eng, &room);

	if (len > room)
		len = room;
	memcpy(b, data, len);
	br_ssl_engine_sendapp_ack(eng, len);
	return len;
}

/* --- words -------------------------------------------------------------- */

const char *tls_strerror(int err)
{
	static const struct {
		int code;
		const char *text;
	} words[] = {
		{ BR_ERR_OK, "no error" },
		{ BR_ERR_BAD_PARAM, "bad parameter" },
		{ BR_ERR_BAD_STATE, "bad state" },
		{ BR_ERR_UNSUPPORTED_VERSION, "the peer offers no TLS version we accept (TLS 1.2 only)" },
		{ BR_ERR_BAD_VERSION, "the peer changed the protocol version" },
		{ BR_ERR_BAD_LENGTH, "a record with a bad length" },
		{ BR_ERR_TOO_LARGE, "a record too large" },
		{ BR_ERR_BAD_MAC, "a record failed its integrity check" },
		{ BR_ERR_NO_RANDOM, "no source of random numbers" },
		{ BR_ERR_UNKNOWN_TYPE, "a record of unknown type (is the peer speaking TLS?)" },
		{ BR_ERR_UNEXPECTED, "an unexpected message" },
		{ BR_ERR_BAD_CCS, "a bad ChangeCipherSpec" },
		{ BR_ERR_BAD_ALERT, "a bad alert" },
		{ BR_ERR_BAD_HANDSHAKE, "a malformed handshake message" },
		{ BR_ERR_OVERSIZED_ID, "a session ID too long" },
		{ BR_ERR_BAD_CIPHER_SUITE, "no cipher suite in common (ECDHE with AES-GCM or ChaCha20-Poly1305 only)" },
		{ BR_ERR_BAD_COMPRESSION, "no compression method in common" },
		{ BR_ERR_BAD_FRAGLEN, "a bad maximum fragment length" },
		{ BR_ERR_BAD_SECRENEG, "secure renegotiation failed" },
		{ BR_ERR_EXTRA_EXTENSION, "an extension that was not asked for" },
		{ BR_ERR_BAD_SNI, "a malformed server name" },
		{ BR_ERR_BAD_HELLO_DONE, "a malformed ServerHelloDone" },
		{ BR_ERR_LIMIT_EXCEEDED, "a limit was exceeded" },
		{ BR_ERR_BAD_FINISHED, "the Finished message did not match (wrong keys?)" },
		{ BR_ERR_RESUME_MISMATCH, "a resumed session did not match" },
		{ BR_ERR_INVALID_ALGORITHM, "an algorithm not supported" },
		{ BR_ERR_BAD_SIGNATURE, "a bad handshake signature" },
		{ BR_ERR_WRONG_KEY_USAGE, "the key may not be used that way" },
		{ BR_ERR_NO_CLIENT_AUTH, "no client certificate" },
		{ BR_ERR_IO, "an I/O error" },
		{ BR_ERR_X509_INVALID_VALUE, "a malformed certificate (invalid value)" },
		{ BR_ERR_X509_TRUNCATED, "a truncated certificate" },
		{ BR_ERR_X509_EMPTY_CHAIN, "no certificate was sent" },
		{ BR_ERR_X509_INNER_TRUNC, "a malformed certificate (inner truncation)" },
		{ BR_ERR_X509_BAD_TAG_CLASS, "a malformed certificate (tag class)" },
		{ BR_ERR_X509_BAD_TAG_VALUE, "a malformed certificate (tag value)" },
		{ BR_ERR_X509_INDEFINITE_LENGTH, "a malformed certificate (indefinite length)" },
		{ BR_ERR_X509_EXTRA_ELEMENT, "a malformed certificate (extra element)" },
		{ BR_ERR_X509_UNEXPECTED, "a malformed certificate (unexpected element)" },
		{ BR_ERR_X509_NOT_CONSTRUCTED, "a malformed certificate (not constructed)" },
		{ BR_ERR_X509_NOT_PRIMITIVE, "a malformed certificate (not primitive)" },
		{ BR_ERR_X509_PARTIAL_BYTE, "a malformed certificate (partial byte)" },
		{ BR_ERR_X509_BAD_BOOLEAN, "a malformed certificate (boolean)" },
		{ BR_ERR_X509_OVERFLOW, "a malformed certificate (overflow)" },
		{ BR_ERR_X509_BAD_DN, "a malformed distinguished name" },
		{ BR_ERR_X509_BAD_TIME, "a malformed validity time" },
		{ BR_ERR_X509_UNSUPPORTED, "a certificate feature not supported" },
		{ BR_ERR_X509_LIMIT_EXCEEDED, "a certificate over a limit" },
		{ BR_ERR_X509_WRONG_KEY_TYPE, "a key of the wrong type" },
		{ BR_ERR_X509_BAD_SIGNATURE, "a certificate with a bad signature" },
		{ BR_ERR_X509_TIME_UNKNOWN, "the time is not known" },
		{ BR_ERR_X509_EXPIRED, "the certificate has expired or is not yet valid" },
		{ BR_ERR_X509_DN_MISMATCH, "the issuer name does not match" },
		{ BR_ERR_X509_BAD_SERVER_NAME, "the certificate is not for this host name or address" },
		{ BR_ERR_X509_CRITICAL_EXTENSION, "a critical extension not supported" },
		{ BR_ERR_X509_NOT_CA, "an issuer that is not a CA" },
		{ BR_ERR_X509_FORBIDDEN_KEY_USAGE, "the certificate's key usage forbids this use (a client "
		  "certificate where a node's is needed?)" },
		{ BR_ERR_X509_WEAK_PUBLIC_KEY, "a public key too weak" },
		{ BR_ERR_X509_NOT_TRUSTED, "the certificate is not signed by a trusted CA" },
	};

	if (err >= BR_ERR_SEND_FATAL_ALERT) {
		switch (err - BR_ERR_SEND_FATAL_ALERT) {
		case 40: return "no protocol version or cipher suite in common (we sent: handshake failure)";
		case 42: return "the peer's certificate was refused (we sent: bad certificate)";
		case 48: return "the peer's certificate is not from a trusted CA (we sent: unknown CA)";
		case 50: return "a malformed message (we sent: decode error)";
		case 70: return "the peer offers no TLS version we accept (we sent: protocol version)";
		default: return "we sent a fatal alert";
		}
	}
	if (err >= BR_ERR_RECV_FATAL_ALERT) {
		switch (err - BR_ERR_RECV_FATAL_ALERT) {
		case 40: return "the peer refused the handshake (alert: handshake failure)";
		case 42: return "the peer refused our certificate (alert: bad certificate)";
		case 45: return "the peer says our certificate expired (alert: certificate expired)";
		case 46: return "the peer refused our certificate (alert: certificate unknown)";
		case 48: return "the peer does not trust our certificate's CA (alert: unknown CA)";
		case 70: return "the peer does not speak this protocol version (alert: protocol version)";
		case 71: return "the peer wants a stronger cipher suite (alert: insufficient security)";
		case 116: return "the peer wants a client certificate (alert: certificate required)";
		default: return "the peer sent a fatal alert";
		}
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (words[i].code == err)
			return words[i].text;
	return "an unknown TLS error";
}

const char *tls_suite_name(unsigned suite)
{
	switch (suite) {
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
	case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
	case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
	case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
	case BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
	}
	return "";
}

int tls_ct_compare(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d;
}
