/*
 * The DHCP client: lwIP's, fed with the NIC's frames through an AF_PACKET
 * socket. lwIP shares the NIC with the kernel's stack, so a socket filter
 * lets through only what it needs (DHCP replies to port 68 and ARP replies)
 * and lwIP is built without TCP and ICMP: it can never answer for the
 * kernel. The lease is handed to the caller, who applies it to the kernel.
 *
 * One client per process (lwIP keeps global state). It keeps the lease for
 * as long as the loop runs: renewing at T1, rebinding at T2, starting over
 * when the lease is lost.
 */
#ifndef PITH_INIT_DHCPC_H
#define PITH_INIT_DHCPC_H

#include <netinet/in.h>

#include "config.h"
#include "loop.h"

struct dhcpc_lease {
	struct in_addr addr;
	int prefix;
	struct in_addr gateway;		/* 0.0.0.0 when the server gave none */
	struct in_addr server;
	struct in_addr dns[CONFIG_DNS_MAX];
	int ndns;
	unsigned seconds;		/* lease time */
};

/* lease is NULL when the lease was lost. renewed: same address as before. */
typedef void dhcpc_lease_fn(void *arg, const struct dhcpc_lease *lease, int renewed);

int dhcpc_start(struct loop *l, const char *ifname, int ifindex, const char *hostname,
		dhcpc_lease_fn *fn, void *arg);

#endif
