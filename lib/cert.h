/*
 * Making the cluster's credentials: P-256 keys and X.509 v3 certificates
 * signed with ECDSA-SHA256, written as PEM. `pith gen` uses it; BearSSL
 * reads and checks certificates but has no way to write one, so the DER is
 * built here (lib/der.c).
 *
 * Every certificate made here has a random 128-bit serial, a subject of CN
 * and optionally O, basicConstraints and keyUsage marked critical,
 * extKeyUsage, subjectKeyIdentifier (the leftmost 160 bits of SHA-256 of
 * the public key, RFC 7093 method 1) and, when signed by a CA,
 * authorityKeyIdentifier copied from the CA's own subjectKeyIdentifier.
 */
#ifndef PITH_CERT_H
#define PITH_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "buf.h"
#include "log.h"

/* Subject alternative names in one certificate, of each kind. */
#define CERT_SAN_MAX 16

/* A new P-256 key pair. The private scalar lives in sk_buf. */
struct cert_key {
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char sk_buf[BR_EC_KBUF_PRIV_MAX_SIZE];
	unsigned char pk_buf[BR_EC_KBUF_PUB_MAX_SIZE];
};

struct cert_request {
	const char *cn;			/* subject CN, required */
	const char *org;		/* subject O, or NULL */
	bool ca;			/* a CA: may sign certificates */
	bool server_auth;		/* extKeyUsage serverAuth */
	bool client_auth;		/* extKeyUsage clientAuth */
	const char *dns[CERT_SAN_MAX];	/* dNSName entries */
	size_t ndns;
	const char *ips[CERT_SAN_MAX];	/* iPAddress entries, as text (IPv4 or IPv6) */
	size_t nips;
	int64_t not_before;		/* seconds since the epoch */
	int64_t not_after;
};

/* len bytes from the system's random source (an HMAC-DRBG seeded by
 * rand_key_bytes(): it waits for the kernel's random pool). 0 or -EIO. */
int cert_random(void *out, size_t len);

/* Generate a P-256 key from the system's random source (waits for the
 * kernel's random pool, as cert_random does). 0 or -EIO. */
int cert_key_generate(struct cert_key *k);

/* Fill k's public half from a private EC key (from a file). 0 or -EINVAL. */
int cert_key_from_private(struct cert_key *k, const br_ec_private_key *sk);

/* Append the private key as PEM ("EC PRIVATE KEY", SEC 1). 0 or -ENOMEM. */
int cert_key_pem(struct buf *out, const struct cert_key *k);

/*
 * Append to out, as PEM, a certificate for req with k's public key, signed
 * by issuer_key with issuer_cert (DER) as the issuer, or self-signed when
 * issuer_cert is NULL (then issuer_key is k). 0; -EINVAL with a message for
 * a bad request (an address that does not parse, an empty CN, a name over
 * 64 bytes, an issuer certificate that cannot be read); -ENOMEM; -EIO when
 * no random bytes could be had.
 */
int cert_make(struct buf *out, const struct cert_request *req, const struct cert_key *k,
	      const br_x509_certificate *issuer_cert, const struct cert_key *issuer_key,
	      struct err *e);

/*
 * A certificate's validity period (RFC 5280 section 4.1.2.5), in seconds
 * since the epoch: UTCTime (years 1950 to 2049) or GeneralizedTime, in
 * UTC ("Z"), with seconds. 0 or -EINVAL.
 */
int cert_validity(const void *cert, size_t len, int64_t *not_before, int64_t *not_after);

/*
 * Find the extension with this OID (its DER contents, without tag and
 * length) in a certificate; *value gets the extension's OCTET STRING
 * contents. 0, -ENOENT, or -EINVAL for a certificate that is not DER.
 */
int cert_ext_find(const void *cert, size_t len, const unsigned char *oid, size_t oid_len,
		  const unsigned char **value, size_t *value_len);

/* The purposes an extKeyUsage lists (others are ignored). A node's
 * certificate lists serverAuth and clientAuth, a client's clientAuth only
 * (cli/gen.c): serverAuth is what tells them apart. */
#define CERT_EKU_SERVER 1u	/* id-kp-serverAuth */
#define CERT_EKU_CLIENT 2u	/* id-kp-clientAuth */
#define CERT_EKU_ANY 4u		/* anyExtendedKeyUsage */

/*
 * The purposes the certificate's extKeyUsage lists, as CERT_EKU_* bits in
 * *eku. 0; -ENOENT when it has no extKeyUsage (which RFC 5280 reads as
 * any purpose); -EINVAL for a certificate or an extension that is not DER.
 */
int cert_eku(const void *cert, size_t len, unsigned *eku);

/* Does the certificate's subjectAltName list this IP address (ip_len 4
 * or 16 bytes, network order) as an iPAddress? false too when the
 * certificate cannot be read. */
bool cert_names_ip(const void *cert, size_t len, const unsigned char *ip, size_t ip_len);

#endif
