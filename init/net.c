#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dhcpc.h"
#include "log.h"
#include "netlink.h"

/* How often to look again for a NIC that is not there yet. */
#define NET_NIC_RETRY_MS 1000

static struct {
	struct loop *loop;
	const struct node_config *cfg;
	const char *root;
	net_ready_fn *ready;
	void *arg;
	int called;
	int nl;
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct loop_timer wait, retry;
	int nic_missing_logged;
	struct dhcpc_lease applied;
	int have;
} n = { .nl = -1 };

static void net_say_ready(int configured)
{
	if (n.called)
		return;
	n.called = 1;
	loop_timer_cancel(n.loop, &n.wait);
	n.ready(n.arg, configured);
}

int net_first_ether(char name[IF_NAMESIZE], int *ifindex)
{
	struct if_nameindex *all = if_nameindex(), *i;
	int fd, best = 0;

	if (!all)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (i = all; fd >= 0 && i->if_index; i++) {
		struct ifreq ifr;

		memset(&ifr, 0, sizeof ifr);
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
			continue;
		if (best == 0 || (int)i->if_index < best) {
			best = (int)i->if_index;
			snprintf(name, IF_NAMESIZE, "%s", i->if_name);
		}
	}
	if (fd >= 0)
		close(fd);
	if_freenameindex(all);
	if (!best)
		return -ENODEV;
	*ifindex = best;
	return 0;
}

/* Render resolv.conf for servers into out. Bytes written or -ENOSPC. */
static int net_resolv_render(char *out, size_t size, const char *ifname,
			     const struct in_addr *dns, int ndns)
{
	size_t len;
	int i, w;

	w = snprintf(out, size, "# Written by pith-init from the network config of %s.\n", ifname);
	if (w < 0 || (size_t)w >= size)
		return -ENOSPC;
	len = (size_t)w;
	for (i = 0; i < ndns; i++) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &dns[i], a, sizeof a);
		w = snprintf(out + len, size - len, "nameserver %s\n", a);
		if (w < 0 || (size_t)w >= size - len)
			return -ENOSPC;
		len += (size_t)w;
	}
	return (int)len;
}

/* Replace <root>/etc/resolv.conf atomically. */
static int net_write_resolv(const struct in_addr *dns, int ndns)
{
	char text[1024], path[4096], tmp[4200];
	int len, fd, r = 0;

	len = net_resolv_render(text, sizeof text, n.ifname, dns, ndns);
	if (len < 0)
		return len;
	snprintf(path, sizeof path, "%s/etc/resolv.conf", n.root);
	snprintf(tmp, sizeof tmp, "%s.pith-new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len)
		r = -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static const char *ip(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void net_forget(void)
{
	char a[INET_ADDRSTRLEN];
	int r;

	if (!n.have)
		return;
	if (n.applied.gateway.s_addr)
		nl_route_default_del(n.nl, n.ifindex, n.applied.gateway);
	r = nl_addr_del(n.nl, n.ifindex, n.applied.addr, n.applied.prefix);
	if (r < 0 && r != -EADDRNOTAVAIL)
		log_warn("net: %s: unable to remove %s/%d: %s", n.ifname,
			 ip(n.applied.addr, a), n.applied.prefix, strerror(-r));
	n.have = 0;
}

/* Apply an address, a gateway and DNS servers; a lease or the static config. */
static int net_apply(const struct dhcpc_lease *l)
{
	char a[INET_ADDRSTRLEN];
	int r;

	if (n.have && (n.applied.addr.s_addr != l->addr.s_addr || n.applied.prefix != l->prefix))
		net_forget();
	r = nl_addr_add(n.nl, n.ifindex, l->addr, l->prefix);
	if (r < 0) {
		log_err("net: %s: unable to add address %s/%d: %s", n.ifname,
			ip(l->addr, a), l->prefix, strerror(-r));
		return r;
	}
	n.applied = *l;
	n.have = 1;
	if (l->gateway.s_addr) {
		r = nl_route_default_add(n.nl, n.ifindex, l->gateway);
		if (r < 0)
			log_err("net: %s: unable to add default route via %s: %s", n.ifname,
				ip(l->gateway, a), strerror(-r));
	}
	if (l->ndns) {
		r = net_write_resolv(l->dns, l->ndns);
		if (r < 0)
			log_err("net: unable to write %s/etc/resolv.conf: %s", n.root, strerror(-r));
	}
	return 0;
}

static void net_lease(void *arg, const struct dhcpc_lease *l, int renewed)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	char dns[CONFIG_DNS_MAX * (INET_ADDRSTRLEN + 1) + 1] = "";
	int i;

	(void)arg;
	if (!l) {
		log_warn("dhcp: %s: lease lost, address removed; asking again", n.ifname);
		net_forget();
		return;
	}
	if (n.cfg->ndns) {
		/* DNS= in the config wins over the lease's servers. */
		static struct dhcpc_lease own;

		own = *l;
		memcpy(own.dns, n.cfg->dns, sizeof own.dns);
		own.ndns = n.cfg->ndns;
		l = &own;
	}
	for (i = 0; i < l->ndns; i++) {
		char d[INET_ADDRSTRLEN];

		strcat(dns, i ? "," : "");
		strcat(dns, ip(l->dns[i], d));
	}
	if (renewed) {
		log_info("dhcp: %s: lease on %s renewed for %u s", n.ifname, ip(l->addr, a), l->seconds);
		if (l->gateway.s_addr == n.applied.gateway.s_addr && l->ndns == n.applied.ndns &&
		    !memcmp(l->dns, n.applied.dns, sizeof l->dns))
			return;
	} else {
		log_info("dhcp: %s: lease %s/%d gateway %s dns %s from %s for %u s", n.ifname,
			 ip(l->addr, a), l->prefix,
			 l->gateway.s_addr ? ip(l->gateway, g) : "none",
			 l->ndns ? dns : "none", ip(l->server, s), l->seconds);
	}
	if (net_apply(l) == 0)
		net_say_ready(1);
}

static void net_wait_expired(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	if (n.ifindex)
		log_warn("dhcp: %s: no lease after %u s; going on without one, still asking",
			 n.ifname, n.cfg->dhcp_wait_ms / 1000);
	else
		log_warn("net: no network interface after %u s; going on without one, still looking",
			 n.cfg->dhcp_wait_ms / 1000);
	net_say_ready(0);
}

/* The NIC named by the config, or the first Ethernet one. 0 or -ENODEV. */
static int net_find_nic(void)
{
	if (n.cfg->iface[0]) {
		snprintf(n.ifname, sizeof n.ifname, "%s", n.cfg->iface);
		n.ifindex = (int)if_nametoindex(n.cfg->iface);
		return n.ifindex ? 0 : -ENODEV;
	}
	return net_first_ether(n.ifname, &n.ifindex);
}

static void net_nic_up(struct loop *l, void *arg)
{
	const struct node_config *c = n.cfg;
	int r;

	(void)arg;
	r = net_find_nic();
	if (r < 0) {
		/* Drivers may still be probing: look again, quietly, every second. */
		if (!n.nic_missing_logged)
			log_warn("net: no network interface %s yet; looking again every second",
				 c->iface[0] ? c->iface : "(no Ethernet NIC)");
		n.nic_missing_logged = 1;
		loop_timer_set(l, &n.retry, NET_NIC_RETRY_MS, net_nic_up, NULL);
		return;
	}
	r = nl_link_up(n.nl, n.ifindex);
	if (r < 0)
		log_warn("net: unable to bring up %s: %s", n.ifname, strerror(-r));

	if (c->net == NET_STATIC) {
		struct dhcpc_lease s;
		char a[INET_ADDRSTRLEN];

		memset(&s, 0, sizeof s);
		s.addr = c->addr;
		s.prefix = c->prefix;
		s.gateway = c->gateway;
		memcpy(s.dns, c->dns, sizeof s.dns);
		s.ndns = c->ndns;
		r = net_apply(&s);
		if (r == 0)
			log_info("net: %s: static address %s/%d", n.ifname, ip(c->addr, a), c->prefix);
		net_say_ready(r == 0);
		return;
	}
	r = dhcpc_start(l, n.ifname, n.ifindex, c->name, net_lease, NULL);
	if (r < 0) {
		log_err("dhcp: %s: unable to start: %s", n.ifname, strerror(-r));
		net_say_ready(0);
		return;
	}
	log_info("dhcp: %s: asking for a lease", n.ifname);
}

int net_start(struct loop *l, const struct node_config *c, const char *root,
	      net_ready_fn *ready, void *arg)
{
	int r, lo;

	n.loop = l;
	n.cfg = c;
	n.root = root;
	n.ready = ready;
	n.arg = arg;
	if (c->net == NET_OFF) {
		log_info("net: off by config");
		net_say_ready(0);
		return 0;
	}
	n.nl = nl_open();
	if (n.nl < 0) {
		log_err("net: unable to open rtnetlink: %s", strerror(-n.nl));
		net_say_ready(0);
		return n.nl;
	}
	lo = (int)if_nametoindex("lo");
	if (lo && (r = nl_link_up(n.nl, lo)) < 0)
		log_warn("net: unable to bring up lo: %s", strerror(-r));
	/* However the NIC and the lease come, the boot waits no longer than this. */
	loop_timer_set(l, &n.wait, c->dhcp_wait_ms, net_wait_expired, NULL);
	net_nic_up(l, NULL);
	return 0;
}
