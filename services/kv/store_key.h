/*
 * Keys in store form. An etcd key may hold any byte, NUL included, but the
 * store, the commands in the log and the snapshot keep keys (and error
 * causes) as C strings. So a key is kept escaped: NUL as \x01\x01, \x01 as
 * \x01\x02, every other byte as itself; the escape is undone wherever a
 * key leaves the service (JSON, causes, a redirect's Location).
 *
 * The escape keeps byte order (the store's children stay in etcd's order),
 * leaves '/' alone and is a prefix code (a path is a prefix of a key
 * exactly when its escape is a prefix of the key's escape), and it changes
 * no key without NUL or \x01, so logs and snapshots written before it read
 * the same.
 */
#ifndef PITH_KV_STORE_KEY_H
#define PITH_KV_STORE_KEY_H

#include <stddef.h>

#include "buf.h"

/* Append the store form of s (n bytes) to out. 0 or -ENOMEM. */
int store_key_escape(struct buf *out, const char *s, size_t n);

/* Append the real bytes of s (n bytes in store form) to out. A \x01 not
 * followed by \x01 or \x02 (a key stored before the escape) is itself.
 * 0 or -ENOMEM. */
int store_key_unescape(struct buf *out, const char *s, size_t n);

#endif
