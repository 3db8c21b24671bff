#include "der.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int der_init(struct der *d, const void *data, size_t len)
{
	*d = (struct der){ data, len, 0, 0 };
	return 0;
}

int der_peek(const struct der *d)
{
	return d->off < d->len ? d->p[d->off] : -1;
}

int der_next(struct der *d, struct der *el)
{
	const unsigned char *p = d->p + d->off;
	size_t left = d->len - d->off, n, len, hdr;
	unsigned tag;

	if (!left)
		return -ENOENT;
	if (left < 2)
		return -EINVAL;
	tag = p[0];
	if ((tag & 0x1f) == 0x1f)
		return -EINVAL;
	len = p[1];
	hdr = 2;
	if (len & 0x80) {
		n = len & 0x7f;
		/* No indefinite length, nothing past 32 bits, and DER's minimal form. */
		if (n == 0 || n > 4 || left < 2 + n || p[2] == 0)
			return -EINVAL;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return -EINVAL;
		hdr += n;
	}
	if (len > left - hdr)
		return -EINVAL;
	d->off += hdr + len;
	*el = (struct der){ p + hdr, len, tag, 0 };
	return 0;
}

int der_get(struct der *d, unsigned tag, struct der *el)
{
	struct der e;
	int r = der_next(d, &e);

	if (r < 0)
		return r == -ENOENT ? -EINVAL : r;
	if (e.tag != tag)
		return -EINVAL;
	*el = e;
	return 0;
}

static size_t header(unsigned char *h, unsigned tag, size_t len)
{
	size_t n = 0;

	h[0] = (unsigned char)tag;
	if (len < 0x80) {
		h[1] = (unsigned char)len;
		return 2;
	}
	for (size_t l = len; l; l >>= 8)
		n++;
	h[1] = (unsigned char)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		h[2 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

int der_put(struct buf *b, unsigned tag, const void *content, size_t len)
{
	unsigned char h[2 + sizeof(size_t)];
	int r = buf_append(b, h, header(h, tag, len));

	return r < 0 ? r : buf_append(b, content, len);
}

int der_wrap(struct buf *b, size_t start, unsigned tag)
{
	unsigned char h[2 + sizeof(size_t)];
	size_t n = header(h, tag, b->len - start);
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	memmove(b->data + start + n, b->data + start, b->len - start);
	memcpy(b->data + start, h, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int der_put_uint(struct buf *b, const void *be, size_t len)
{
	const unsigned char *p = be;
	size_t start = b->len;
	int r = 0;

	while (len && !p[0])
		p++, len--;
	/* Zero is one 0x00 byte; a set top bit needs one in front. */
	if (!len || (p[0] & 0x80))
		r = buf_append(b, "", 1);
	if (!r && len)
		r = buf_append(b, p, len);
	return r < 0 ? r : der_wrap(b, start, DER_INTEGER);
}
