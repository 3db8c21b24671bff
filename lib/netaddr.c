#include "netaddr.h"

#include <netinet/in.h>
#include <string.h>

bool netaddr_same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr;
		const struct in6_addr *y = &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr;
		bool v4 = IN6_IS_ADDR_V4MAPPED(x) || IN6_IS_ADDR_V4MAPPED(y);

		return !memcmp(x, y, v4 ? 16 : 8);
	}
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	return false;
}
