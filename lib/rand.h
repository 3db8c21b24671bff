/*
 * Random bytes from the kernel, in two grades.
 *
 * Until the kernel's random pool is initialised ("random: crng init done"),
 * a blocking read of it waits, and reading /dev/urandom runs the kernel's
 * jitter loop until it is done. A machine without a hardware RNG (no
 * virtio-rng, no RDRAND) may take a second or more to get there, so:
 *
 * - rand_id_bytes never waits. Its bytes are unpredictable enough to tell
 *   machines, boots and attempts apart (machine ids, unit invocation ids,
 *   DHCP transaction ids, Raft election timeouts) and are never to be used
 *   as keys. PID 1 uses only this grade.
 * - rand_key_bytes waits for the pool: keys, tokens, certificate serials,
 *   TLS. Only a process that may wait calls it (a service, the CLI), never
 *   PID 1.
 */
#ifndef PITH_RAND_H
#define PITH_RAND_H

#include <stddef.h>

/* Fill out with len bytes; never blocks and never fails. Not for secrets. */
void rand_id_bytes(void *out, size_t len);

/* Fill out with len bytes fit for keys, waiting (in the caller) for the
 * kernel's pool to be initialised. 0, or -errno from getrandom(2). */
int rand_key_bytes(void *out, size_t len);

#endif
