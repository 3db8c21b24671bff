/*
 * Client addresses, as the limits per client count them: one client is
 * one IPv4 address, or one IPv6 /64 (a host's usual share of a network,
 * any address of which it may use at no cost). An IPv4 address mapped
 * into IPv6 (::ffff:a.b.c.d) is the IPv4 address.
 */
#ifndef PITH_NETADDR_H
#define PITH_NETADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* Are a and b the same client? The ports do not matter. */
bool netaddr_same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
