/*
 * Network bring-up for boot step 3: loopback, then the first NIC (or the one
 * the config names) by DHCP or with a static address. Addresses and routes
 * go to the kernel through rtnetlink; DNS servers into resolv.conf.
 */
#ifndef PITH_INIT_NET_H
#define PITH_INIT_NET_H

#include "config.h"
#include "loop.h"

/* Called once: the network is configured, or it gave up waiting. */
typedef void net_ready_fn(void *arg, int configured);

/*
 * Start bringing the network up as c says; root prefixes the paths written
 * (resolv.conf). Returns 0 or -errno; failures of single steps are logged,
 * and ready is always called exactly once.
 */
int net_start(struct loop *l, const struct node_config *c, const char *root,
	      net_ready_fn *ready, void *arg);

/* The first non-loopback Ethernet interface by index. 0 or -ENODEV. */
int net_first_ether(char name[IF_NAMESIZE], int *ifindex);

#endif
