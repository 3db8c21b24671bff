/* libFuzzer: credentials files and certificates. The input is read as a
 * PEM chain, a PEM key and a PEM CA file, and as one DER certificate whose
 * extensions are searched. Nothing crashes, leaks or reads outside the
 * input; what parses is within the documented limits; what fails says why.
 * The extKeyUsage, the iPAddress names and the validity period are read as
 * a peer's are. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "der.h"
#include "tls.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char san[] = { 0x55, 0x1d, 0x11 };
	const char *pem = (const char *)data;
	struct tls_chain c;
	struct tls_key k;
	struct tls_anchors a;
	struct err e = { 0 };
	const unsigned char *v;
	size_t vlen;
	struct der d, el;
	unsigned eku;
	int64_t nb, na;
	bool named;
	int r;

	r = tls_chain_parse(&c, pem, size, "fuzz", &e);
	check(r == 0 ? c.n >= 1 && c.n <= TLS_CHAIN_MAX : e.msg[0] != 0);
	if (!r)
		tls_chain_free(&c);
	r = tls_key_parse(&k, pem, size, "fuzz", &e);
	check(r == 0 ? (k.type == BR_KEYTYPE_EC || k.type == BR_KEYTYPE_RSA) : e.msg[0] != 0);
	if (!r)
		tls_key_free(&k);
	r = tls_anchors_parse(&a, pem, size, "fuzz", &e);
	check(r == 0 ? a.n >= 1 && a.n <= TLS_ANCHORS_MAX : e.msg[0] != 0);
	if (!r)
		tls_anchors_free(&a);

	r = cert_ext_find(data, size, san, sizeof(san), &v, &vlen);
	check(r == 0 || r == -ENOENT || r == -EINVAL);
	if (r == 0)
		check(v >= data && v + vlen <= data + size);
	r = cert_eku(data, size, &eku);
	check(r == 0 ? !(eku & ~(CERT_EKU_SERVER | CERT_EKU_CLIENT | CERT_EKU_ANY)) :
	      r == -ENOENT || r == -EINVAL);
	r = cert_validity(data, size, &nb, &na);
	/* Times are whole seconds from year 0 to 9999. */
	check(r == 0 ? nb >= -62167219200LL && nb <= 253402300800LL && na >= -62167219200LL &&
			       na <= 253402300800LL :
		       r == -EINVAL);
	named = cert_names_ip(data, size, (const unsigned char *)"\x7f\0\0\1", 4);
	check(!named || cert_ext_find(data, size, san, sizeof(san), &v, &vlen) == 0);
	der_init(&d, data, size);
	while (der_next(&d, &el) == 0)
		check(el.p >= data && el.p + el.len <= data + size);
	return 0;
}
