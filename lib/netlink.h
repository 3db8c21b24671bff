/*
 * A small rtnetlink client: the few requests PID 1 and the overlay need to
 * configure links, addresses and routes. Each call sends one request and
 * reads its acknowledgement; the kernel handles rtnetlink requests inside
 * sendmsg(2), so the answer is already queued and nothing ever waits.
 * Every function returns 0 or -errno (the kernel's own error for a refused
 * request).
 */
#ifndef PITH_NETLINK_H
#define PITH_NETLINK_H

#include <netinet/in.h>

/* A NETLINK_ROUTE socket, close-on-exec; fd or -errno. */
int nl_open(void);

int nl_link_up(int fd, int ifindex);

/* Add (replacing the same address) or delete addr/prefix on ifindex. */
int nl_addr_add(int fd, int ifindex, struct in_addr addr, int prefix);
int nl_addr_del(int fd, int ifindex, struct in_addr addr, int prefix);

/* The IPv4 default route through gw on ifindex. */
int nl_route_default_add(int fd, int ifindex, struct in_addr gw);
int nl_route_default_del(int fd, int ifindex, struct in_addr gw);

#endif
