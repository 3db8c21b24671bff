/*
 * lwIP platform glue for musl on Linux. Diagnostics go to pith-init's log;
 * a failed lwIP assertion is logged and never aborts PID 1.
 */
#ifndef PITH_LWIP_ARCH_CC_H
#define PITH_LWIP_ARCH_CC_H

#include <stdint.h>
#include <stdlib.h>

#define LWIP_NO_CTYPE_H 0
#define LWIP_ERRNO_STDINCLUDE 1

void pith_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pith_lwip_assert(const char *msg, const char *file, int line);

#define LWIP_PLATFORM_DIAG(x)   do { pith_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) pith_lwip_assert((x), __FILE__, __LINE__)

#endif
