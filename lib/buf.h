/*
 * A growable byte buffer. The struct belongs to the caller; the bytes it
 * points to belong to the buffer until buf_free(). data is always
 * NUL-terminated past len, so text can be handed to C string functions.
 */
#ifndef PITH_BUF_H
#define PITH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { 0, 0, 0 }

/* Make room for n more bytes (plus the terminator). 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Zero every byte of the allocation (what was consumed too) and empty b,
 * keeping the allocation: for a buffer that held a secret, before
 * buf_free(). What an earlier growth left behind (realloc) is not reached. */
void buf_wipe(struct buf *b);
void buf_free(struct buf *b);

#endif
