/*
 * DER (X.690), just enough of it for certificates: a reader that walks
 * TLV elements in place, and a writer that builds them in a struct buf.
 * Only low tag numbers (below 31) and definite lengths below 2^32 exist
 * here; anything else is malformed. Nothing allocates except the writer's
 * buffer; the reader never reads outside the bytes it was given.
 */
#ifndef PITH_DER_H
#define PITH_DER_H

#include <stddef.h>

#include "buf.h"

enum {
	DER_BOOLEAN = 0x01,
	DER_INTEGER = 0x02,
	DER_BIT_STRING = 0x03,
	DER_OCTET_STRING = 0x04,
	DER_NULL = 0x05,
	DER_OID = 0x06,
	DER_UTF8_STRING = 0x0c,
	DER_PRINTABLE_STRING = 0x13,
	DER_IA5_STRING = 0x16,
	DER_UTC_TIME = 0x17,
	DER_GENERALIZED_TIME = 0x18,
	DER_SEQUENCE = 0x30,
	DER_SET = 0x31,
};
#define DER_CTX_PRIM(n) (0x80u | (n))	/* [n] IMPLICIT, primitive */
#define DER_CTX_CONS(n) (0xa0u | (n))	/* [n], constructed */

/* An element's contents, read front to back as a sequence of elements. */
struct der {
	const unsigned char *p;
	size_t len;
	unsigned tag;		/* the element's tag; 0 for what der_init was given */
	size_t off;		/* how far der_next has read */
};

/* A reader over len bytes of data. 0. */
int der_init(struct der *d, const void *data, size_t len);
/* Read the next element of d into el (which may be d itself). 0, -ENOENT
 * at the end, -EINVAL if it is malformed. */
int der_next(struct der *d, struct der *el);
/* The same, but the element must have this tag (-EINVAL otherwise). */
int der_get(struct der *d, unsigned tag, struct der *el);
/* The tag of the next element, or -1 at the end. */
int der_peek(const struct der *d);

/* Append a whole element. 0 or -ENOMEM. */
int der_put(struct buf *b, unsigned tag, const void *content, size_t len);
/* Make the bytes of b from start to its end the contents of one element
 * with this tag (the header is inserted before them). 0 or -ENOMEM. */
int der_wrap(struct buf *b, size_t start, unsigned tag);
/* An INTEGER from an unsigned big-endian magnitude (leading zeros are
 * dropped, a 0x00 is added where the top bit is set). 0 or -ENOMEM. */
int der_put_uint(struct buf *b, const void *be, size_t len);

#endif
