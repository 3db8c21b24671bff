#include "rand.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004	/* Linux 5.6 */
#endif

/* splitmix64's finaliser: spreads every input bit over the output. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * When the kernel gives nothing without waiting (before Linux 5.6 and
 * before its pool is ready): the clocks, the pid and a counter. Distinct
 * per call and per process; guessable by anyone who knows the boot time.
 */
static void fallback_bytes(unsigned char *out, size_t len)
{
	static uint64_t counter;
	struct timespec mono, real;
	uint64_t s;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	s = mix64((uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec) ^
	    mix64((uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec + 1) ^
	    mix64((uint64_t)getpid() << 32 | ++counter);
	while (len) {
		uint64_t v = mix64(s += 0x9e3779b97f4a7c15ull);
		size_t n = len < sizeof(v) ? len : sizeof(v);

		memcpy(out, &v, n);
		out += n;
		len -= n;
	}
}

/* getrandom(2) with flags until len bytes or an error: 0 or -errno. */
static int getrandom_all(unsigned char *out, size_t len, unsigned flags)
{
	while (len) {
		ssize_t n = getrandom(out, len, flags);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

void rand_id_bytes(void *out, size_t len)
{
	/* GRND_INSECURE: the pool's bytes whether or not it is ready yet.
	 * An older kernel rejects the flag; then GRND_NONBLOCK, which gives
	 * EAGAIN until the pool is ready. */
	if (getrandom_all(out, len, GRND_INSECURE) == 0 ||
	    getrandom_all(out, len, GRND_NONBLOCK) == 0)
		return;
	fallback_bytes(out, len);
}

int rand_key_bytes(void *out, size_t len)
{
	return getrandom_all(out, len, 0);
}
