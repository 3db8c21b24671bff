#include "cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "der.h"
#include "rand.h"

/* Object identifiers, as DER contents. */
static const unsigned char oid_ec_public_key[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char oid_ecdsa_sha256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const unsigned char oid_cn[] = { 0x55, 0x04, 0x03 };
static const unsigned char oid_o[] = { 0x55, 0x04, 0x0a };
static const unsigned char oid_basic_constraints[] = { 0x55, 0x1d, 0x13 };
static const unsigned char oid_key_usage[] = { 0x55, 0x1d, 0x0f };
static const unsigned char oid_ext_key_usage[] = { 0x55, 0x1d, 0x25 };
static const unsigned char oid_san[] = { 0x55, 0x1d, 0x11 };
static const unsigned char oid_ski[] = { 0x55, 0x1d, 0x0e };
static const unsigned char oid_aki[] = { 0x55, 0x1d, 0x23 };
static const unsigned char oid_server_auth[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
static const unsigned char oid_client_auth[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };

/* Longest CN or O (RFC 5280's ub-common-name and ub-organization-name). */
#define CERT_NAME_MAX 64
/* The DRBG's seed: SHA-256's security strength. */
#define CERT_SEED_BYTES 32

/* Seeded from rand_key_bytes(), not BearSSL's system seeder: that one reads
 * /dev/urandom, which gives bytes before the kernel's pool is ready when
 * the kernel cannot make entropy itself; keys wait for the pool instead. */
static int rng_seed(br_hmac_drbg_context *rng)
{
	unsigned char seed[CERT_SEED_BYTES];

	if (rand_key_bytes(seed, sizeof(seed)) < 0)
		return -EIO;
	br_hmac_drbg_init(rng, &br_sha256_vtable, seed, sizeof(seed));
	explicit_bzero(seed, sizeof(seed));
	return 0;
}

int cert_random(void *out, size_t len)
{
	br_hmac_drbg_context rng;

	if (rng_seed(&rng) < 0)
		return -EIO;
	br_hmac_drbg_generate(&rng, out, len);
	explicit_bzero(&rng, sizeof(rng));
	return 0;
}

int cert_key_generate(struct cert_key *k)
{
	br_hmac_drbg_context rng;
	const br_ec_impl *ec = br_ec_get_default();
	int r = 0;

	if (rng_seed(&rng) < 0)
		return -EIO;
	if (!br_ec_keygen(&rng.vtable, ec, &k->sk, k->sk_buf, BR_EC_secp256r1) ||
	    !br_ec_compute_pub(ec, &k->pk, k->pk_buf, &k->sk))
		r = -EIO;
	explicit_bzero(&rng, sizeof(rng));
	return r;
}

int cert_key_from_private(struct cert_key *k, const br_ec_private_key *sk)
{
	if (sk->curve != BR_EC_secp256r1 || sk->xlen > sizeof(k->sk_buf))
		return -EINVAL;
	memcpy(k->sk_buf, sk->x, sk->xlen);
	k->sk = (br_ec_private_key){ sk->curve, k->sk_buf, sk->xlen };
	return br_ec_compute_pub(br_ec_get_default(), &k->pk, k->pk_buf, &k->sk) ? 0 : -EINVAL;
}

static int pem_append(struct buf *out, const void *der, size_t len, const char *banner)
{
	size_t n = br_pem_encode(NULL, der, len, banner, BR_PEM_LINE64);
	int r = buf_reserve(out, n + 1);

	if (r < 0)
		return r;
	out->len += br_pem_encode(out->data + out->len, der, len, banner, BR_PEM_LINE64);
	return 0;
}

int cert_key_pem(struct buf *out, const struct cert_key *k)
{
	unsigned char der[BR_EC_KBUF_PRIV_MAX_SIZE + BR_EC_KBUF_PUB_MAX_SIZE + 64];
	size_t n = br_encode_ec_raw_der(der, &k->sk, &k->pk);
	int r;

	if (!n)
		return -EINVAL;
	r = pem_append(out, der, n, "EC PRIVATE KEY");
	explicit_bzero(der, sizeof(der));
	return r;
}

/* --- reading a certificate ---------------------------------------------- */

/* The TBSCertificate's fields, in order (X.509 v3; version is explicit [0]). */
static int tbs_open(const void *cert, size_t len, struct der *tbs)
{
	struct der in, c;

	der_init(&in, cert, len);
	if (der_get(&in, DER_SEQUENCE, &c) < 0 || der_get(&c, DER_SEQUENCE, tbs) < 0)
		return -EINVAL;
	return 0;
}

int cert_ext_find(const void *cert, size_t len, const unsigned char *oid, size_t oid_len,
		  const unsigned char **value, size_t *value_len)
{
	struct der tbs, el, exts, ext, id, v;

	if (tbs_open(cert, len, &tbs) < 0)
		return -EINVAL;
	for (;;) {
		int r = der_next(&tbs, &el);

		if (r == -ENOENT)
			return -ENOENT;
		if (r < 0)
			return r;
		if (el.tag == DER_CTX_CONS(3))
			break;
	}
	if (der_get(&el, DER_SEQUENCE, &exts) < 0)
		return -EINVAL;
	while (der_next(&exts, &ext) == 0) {
		if (ext.tag != DER_SEQUENCE || der_get(&ext, DER_OID, &id) < 0)
			return -EINVAL;
		if (id.len != oid_len || memcmp(id.p, oid, oid_len))
			continue;
		if (der_peek(&ext) == DER_BOOLEAN && der_next(&ext, &v) < 0)
			return -EINVAL;
		if (der_get(&ext, DER_OCTET_STRING, &v) < 0)
			return -EINVAL;
		*value = v.p;
		*value_len = v.len;
		return 0;
	}
	return -ENOENT;
}

int cert_eku(const void *cert, size_t len, unsigned *eku)
{
	/* id-ce-extKeyUsage's anyExtendedKeyUsage, 2.5.29.37.0 */
	static const unsigned char oid_any[] = { 0x55, 0x1d, 0x25, 0x00 };
	const unsigned char *v;
	size_t vlen;
	struct der in, seq, id;
	int r = cert_ext_find(cert, len, oid_ext_key_usage, sizeof(oid_ext_key_usage), &v, &vlen);

	if (r < 0)
		return r;
	*eku = 0;
	der_init(&in, v, vlen);
	if (der_get(&in, DER_SEQUENCE, &seq) < 0)
		return -EINVAL;
	while ((r = der_next(&seq, &id)) == 0) {
		if (id.tag != DER_OID)
			return -EINVAL;
		if (id.len == sizeof(oid_server_auth) && !memcmp(id.p, oid_server_auth, id.len))
			*eku |= CERT_EKU_SERVER;
		else if (id.len == sizeof(oid_client_auth) && !memcmp(id.p, oid_client_auth, id.len))
			*eku |= CERT_EKU_CLIENT;
		else if (id.len == sizeof(oid_any) && !memcmp(id.p, oid_any, id.len))
			*eku |= CERT_EKU_ANY;
	}
	return r == -ENOENT ? 0 : -EINVAL;
}

bool cert_names_ip(const void *cert, size_t len, const unsigned char *ip, size_t ip_len)
{
	const unsigned char *v;
	size_t vlen;
	struct der in, names, name;

	if (cert_ext_find(cert, len, oid_san, sizeof(oid_san), &v, &vlen) < 0)
		return false;
	der_init(&in, v, vlen);
	if (der_get(&in, DER_SEQUENCE, &names) < 0)
		return false;
	while (der_next(&names, &name) == 0)
		if (name.tag == DER_CTX_PRIM(7) && name.len == ip_len && !memcmp(name.p, ip, ip_len))
			return true;
	return false;
}

/* The issuer's subject Name, whole (tag and length included). */
static int cert_subject(const void *cert, size_t len, const unsigned char **name, size_t *name_len)
{
	struct der tbs, el;
	size_t before = 0;

	if (tbs_open(cert, len, &tbs) < 0)
		return -EINVAL;
	if (der_peek(&tbs) == (int)DER_CTX_CONS(0) && der_next(&tbs, &el) < 0)
		return -EINVAL;
	/* serialNumber, signature, issuer, validity, then subject. */
	for (int i = 0; i < 5; i++) {
		before = tbs.off;
		if (der_next(&tbs, &el) < 0)
			return -EINVAL;
	}
	if (el.tag != DER_SEQUENCE)
		return -EINVAL;
	*name = tbs.p + before;
	*name_len = tbs.off - before;
	return 0;
}

/* Digits at p as a number; -1 if any is not a digit. */
static int digits(const unsigned char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int read_time(const struct der *t, int64_t *out)
{
	const unsigned char *p = t->p;
	int y, mo, d, h, mi, s;

	if (t->tag == DER_UTC_TIME && t->len == 13) {
		y = digits(p, 2);
		y += y < 50 ? 2000 : 1900;
		p += 2;
	} else if (t->tag == DER_GENERALIZED_TIME && t->len == 15) {
		y = digits(p, 4);
		p += 4;
	} else {
		return -EINVAL;
	}
	mo = digits(p, 2), d = digits(p + 2, 2), h = digits(p + 4, 2);
	mi = digits(p + 6, 2), s = digits(p + 8, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    s < 0 || s > 60 || p[10] != 'Z')
		return -EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

int cert_validity(const void *cert, size_t len, int64_t *not_before, int64_t *not_after)
{
	struct der tbs, el, t;

	if (tbs_open(cert, len, &tbs) < 0)
		return -EINVAL;
	if (der_peek(&tbs) == (int)DER_CTX_CONS(0) && der_next(&tbs, &el) < 0)
		return -EINVAL;
	/* serialNumber, signature, issuer, then validity. */
	for (int i = 0; i < 4; i++)
		if (der_next(&tbs, &el) < 0)
			return -EINVAL;
	if (el.tag != DER_SEQUENCE || der_next(&el, &t) < 0 || read_time(&t, not_before) < 0 ||
	    der_next(&el, &t) < 0 || read_time(&t, not_after) < 0)
		return -EINVAL;
	return 0;
}

/* --- writing one -------------------------------------------------------- */

static int put_oid(struct buf *b, const unsigned char *oid, size_t len)
{
	return der_put(b, DER_OID, oid, len);
}

static int put_name(struct buf *b, const char *cn, const char *org)
{
	size_t start = b->len, rdn;
	int r = 0;

	for (int i = 0; i < 2 && !r; i++) {
		const char *v = i ? cn : org;

		if (!v)
			continue;
		rdn = b->len;
		r = put_oid(b, i ? oid_cn : oid_o, 3);
		if (!r)
			r = der_put(b, DER_UTF8_STRING, v, strlen(v));
		if (!r)
			r = der_wrap(b, rdn, DER_SEQUENCE);
		if (!r)
			r = der_wrap(b, rdn, DER_SET);
	}
	return r < 0 ? r : der_wrap(b, start, DER_SEQUENCE);
}

static int put_time(struct buf *b, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	if (!gmtime_r(&tt, &tm))
		return -EINVAL;
	/* RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
	if (tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 < 2050) {
		strftime(s, sizeof(s), "%y%m%d%H%M%SZ", &tm);
		return der_put(b, DER_UTC_TIME, s, strlen(s));
	}
	strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
	return der_put(b, DER_GENERALIZED_TIME, s, strlen(s));
}

static int put_spki(struct buf *b, const br_ec_public_key *pk)
{
	size_t start = b->len, alg;
	int r;

	alg = b->len;
	r = put_oid(b, oid_ec_public_key, sizeof(oid_ec_public_key));
	if (!r)
		r = put_oid(b, oid_p256, sizeof(oid_p256));
	if (!r)
		r = der_wrap(b, alg, DER_SEQUENCE);
	if (!r) {
		size_t bits = b->len;

		r = buf_append(b, "", 1);	/* no unused bits */
		if (!r)
			r = buf_append(b, pk->q, pk->qlen);
		if (!r)
			r = der_wrap(b, bits, DER_BIT_STRING);
	}
	return r < 0 ? r : der_wrap(b, start, DER_SEQUENCE);
}

static void key_id(const br_ec_public_key *pk, unsigned char id[20])
{
	br_sha256_context h;
	unsigned char d[32];

	br_sha256_init(&h);
	br_sha256_update(&h, pk->q, pk->qlen);
	br_sha256_out(&h, d);
	memcpy(id, d, 20);
}

/* One Extension: its OID, critical or not, and the value the caller has
 * just written from `value` to the end of b. */
static int ext_wrap(struct buf *b, size_t start, size_t value, const unsigned char *oid,
		    size_t oid_len, bool critical)
{
	struct buf head = BUF_INIT;
	int r = der_wrap(b, value, DER_OCTET_STRING);

	if (!r)
		r = put_oid(&head, oid, oid_len);
	if (!r && critical)
		r = der_put(&head, DER_BOOLEAN, "\xff", 1);
	if (!r)
		r = buf_reserve(b, head.len);
	if (!r) {
		memmove(b->data + start + head.len, b->data + start, b->len - start);
		memcpy(b->data + start, head.data, head.len);
		b->len += head.len;
		r = der_wrap(b, start, DER_SEQUENCE);
	}
	buf_free(&head);
	return r;
}

static int put_extensions(struct buf *b, const struct cert_request *req, const br_ec_public_key *pk,
			  const unsigned char *aki, size_t aki_len)
{
	size_t outer = b->len, list, ext, value;
	unsigned char id[20];
	int r;

	list = b->len;
	/* basicConstraints: cA TRUE for a CA, an empty SEQUENCE otherwise. */
	ext = value = b->len;
	r = req->ca ? der_put(b, DER_BOOLEAN, "\xff", 1) : 0;
	if (!r)
		r = der_wrap(b, value, DER_SEQUENCE);
	if (!r)
		r = ext_wrap(b, ext, value, oid_basic_constraints, sizeof(oid_basic_constraints), true);

	/* keyUsage: digitalSignature (bit 0); a CA also keyCertSign and cRLSign (5, 6). */
	if (!r) {
		ext = value = b->len;
		r = req->ca ? der_put(b, DER_BIT_STRING, "\x01\x86", 2) :
			      der_put(b, DER_BIT_STRING, "\x07\x80", 2);
		if (!r)
			r = ext_wrap(b, ext, value, oid_key_usage, sizeof(oid_key_usage), true);
	}

	if (!r && (req->server_auth || req->client_auth)) {
		ext = value = b->len;
		if (req->server_auth)
			r = put_oid(b, oid_server_auth, sizeof(oid_server_auth));
		if (!r && req->client_auth)
			r = put_oid(b, oid_client_auth, sizeof(oid_client_auth));
		if (!r)
			r = der_wrap(b, value, DER_SEQUENCE);
		if (!r)
			r = ext_wrap(b, ext, value, oid_ext_key_usage, sizeof(oid_ext_key_usage), false);
	}

	if (!r && (req->ndns || req->nips)) {
		ext = value = b->len;
		for (size_t i = 0; i < req->ndns && !r; i++)
			r = der_put(b, DER_CTX_PRIM(2), req->dns[i], strlen(req->dns[i]));
		for (size_t i = 0; i < req->nips && !r; i++) {
			unsigned char a[16];

			if (inet_pton(AF_INET, req->ips[i], a) == 1)
				r = der_put(b, DER_CTX_PRIM(7), a, 4);
			else if (inet_pton(AF_INET6, req->ips[i], a) == 1)
				r = der_put(b, DER_CTX_PRIM(7), a, 16);
			else
				r = -EINVAL;
		}
		if (!r)
			r = der_wrap(b, value, DER_SEQUENCE);
		if (!r)
			r = ext_wrap(b, ext, value, oid_san, sizeof(oid_san), false);
	}

	if (!r) {
		key_id(pk, id);
		ext = value = b->len;
		r = der_put(b, DER_OCTET_STRING, id, sizeof(id));
		if (!r)
			r = ext_wrap(b, ext, value, oid_ski, sizeof(oid_ski), false);
	}
	if (!r && aki) {
		ext = value = b->len;
		r = der_put(b, DER_CTX_PRIM(0), aki, aki_len);
		if (!r)
			r = der_wrap(b, value, DER_SEQUENCE);
		if (!r)
			r = ext_wrap(b, ext, value, oid_aki, sizeof(oid_aki), false);
	}
	if (!r)
		r = der_wrap(b, list, DER_SEQUENCE);
	return r < 0 ? r : der_wrap(b, outer, DER_CTX_CONS(3));
}

static int put_sig_alg(struct buf *b)
{
	size_t start = b->len;
	int r = put_oid(b, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256));

	return r < 0 ? r : der_wrap(b, start, DER_SEQUENCE);
}

static int request_check(const struct cert_request *req, struct err *e)
{
	unsigned char a[16];

	if (!req->cn || !*req->cn || strlen(req->cn) > CERT_NAME_MAX) {
		err_set(e, 0, "a certificate needs a CN of 1 to %d bytes", CERT_NAME_MAX);
		return -EINVAL;
	}
	if (req->org && (!*req->org || strlen(req->org) > CERT_NAME_MAX)) {
		err_set(e, 0, "the O of a certificate must be 1 to %d bytes", CERT_NAME_MAX);
		return -EINVAL;
	}
	if (req->ndns > CERT_SAN_MAX || req->nips > CERT_SAN_MAX) {
		err_set(e, 0, "at most %d names of each kind", CERT_SAN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < req->ndns; i++)
		if (!*req->dns[i] || strlen(req->dns[i]) > 253 ||
		    strspn(req->dns[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789-.*") != strlen(req->dns[i])) {
			err_set(e, 0, "invalid DNS name \"%s\"", req->dns[i]);
			return -EINVAL;
		}
	for (size_t i = 0; i < req->nips; i++)
		if (inet_pton(AF_INET, req->ips[i], a) != 1 && inet_pton(AF_INET6, req->ips[i], a) != 1) {
			err_set(e, 0, "invalid IP address \"%s\"", req->ips[i]);
			return -EINVAL;
		}
	return 0;
}

int cert_make(struct buf *out, const struct cert_request *req, const struct cert_key *k,
	      const br_x509_certificate *issuer_cert, const struct cert_key *issuer_key,
	      struct err *e)
{
	struct buf c = BUF_INIT;
	const unsigned char *issuer = NULL, *aki = NULL;
	size_t issuer_len = 0, aki_len = 0, tbs, alg, n;
	unsigned char serial[16], hash[32], sig[128];
	br_sha256_context h;
	struct der a, ki;
	int r;

	if ((r = request_check(req, e)) < 0)
		return r;
	if (issuer_cert) {
		if (cert_subject(issuer_cert->data, issuer_cert->data_len, &issuer, &issuer_len) < 0) {
			err_set(e, 0, "the CA certificate cannot be read");
			return -EINVAL;
		}
		/* authorityKeyIdentifier = the CA's subjectKeyIdentifier, when it has one. */
		if (cert_ext_find(issuer_cert->data, issuer_cert->data_len, oid_ski, sizeof(oid_ski),
				  &a.p, &a.len) == 0) {
			der_init(&a, a.p, a.len);
			if (der_get(&a, DER_OCTET_STRING, &ki) == 0)
				aki = ki.p, aki_len = ki.len;
		}
	} else {
		issuer_key = k;
	}
	if (cert_random(serial, sizeof(serial)) < 0) {
		err_set(e, 0, "no random bytes from the system");
		return -EIO;
	}
	serial[0] &= 0x7f;	/* positive, and still 127 bits of chance */
	serial[0] |= 0x40;	/* never shorter than 16 bytes */

	tbs = c.len;
	alg = c.len;
	r = der_put(&c, DER_INTEGER, "\x02", 1);	/* v3 */
	if (!r)
		r = der_wrap(&c, alg, DER_CTX_CONS(0));
	if (!r)
		r = der_put_uint(&c, serial, sizeof(serial));
	if (!r)
		r = put_sig_alg(&c);
	if (!r)
		r = issuer ? buf_append(&c, issuer, issuer_len) : put_name(&c, req->cn, req->org);
	if (!r) {
		size_t v = c.len;

		r = put_time(&c, req->not_before);
		if (!r)
			r = put_time(&c, req->not_after);
		if (!r)
			r = der_wrap(&c, v, DER_SEQUENCE);
	}
	if (!r)
		r = put_name(&c, req->cn, req->org);
	if (!r)
		r = put_spki(&c, &k->pk);
	if (!r)
		r = put_extensions(&c, req, &k->pk, aki, aki_len);
	if (!r)
		r = der_wrap(&c, tbs, DER_SEQUENCE);
	if (r < 0)
		goto out;

	br_sha256_init(&h);
	br_sha256_update(&h, c.data, c.len);
	br_sha256_out(&h, hash);
	n = br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), &br_sha256_vtable, hash,
					       &issuer_key->sk, sig);
	if (!n) {
		err_set(e, 0, "signing the certificate failed");
		r = -EINVAL;
		goto out;
	}
	r = put_sig_alg(&c);
	if (!r) {
		size_t bits = c.len;

		r = buf_append(&c, "", 1);
		if (!r)
			r = buf_append(&c, sig, n);
		if (!r)
			r = der_wrap(&c, bits, DER_BIT_STRING);
	}
	if (!r)
		r = der_wrap(&c, 0, DER_SEQUENCE);
	if (!r)
		r = pem_append(out, c.data, c.len, "CERTIFICATE");
out:
	if (r == -ENOMEM)
		err_set(e, 0, "out of memory");
	else if (r == -EINVAL && !e->msg[0])
		err_set(e, 0, "the certificate cannot be encoded");
	buf_free(&c);
	return r;
}
