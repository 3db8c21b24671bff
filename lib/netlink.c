#include "netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests here are one header and a few small attributes. */
#define NL_REQ_MAX 256
#define NL_ACK_MAX 8192

struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifinfomsg link;
		struct ifaddrmsg addr;
		struct rtmsg route;
	} u;
	char attrs[NL_REQ_MAX];
};

static unsigned nl_seq;

int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Send r and return the kernel's verdict on it. */
static int nl_call(int fd, struct nl_req *r)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char ack[NL_ACK_MAX];
	ssize_t n;

	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = ++nl_seq;
	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, ack, sizeof ack, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (h = (struct nlmsghdr *)ack; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;	/* a late answer to an earlier request */
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
		}
	}
}

int nl_link_up(int fd, int ifindex)
{
	struct nl_req r;

	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof r.u.link);
	r.h.nlmsg_type = RTM_NEWLINK;
	r.u.link.ifi_family = AF_UNSPEC;
	r.u.link.ifi_index = ifindex;
	r.u.link.ifi_flags = IFF_UP;
	r.u.link.ifi_change = IFF_UP;
	return nl_call(fd, &r);
}

static int nl_addr(int fd, int type, int flags, int ifindex, struct in_addr addr, int prefix)
{
	struct nl_req r;

	if (prefix < 0 || prefix > 32)
		return -EINVAL;
	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof r.u.addr);
	r.h.nlmsg_type = (unsigned short)type;
	r.h.nlmsg_flags = (unsigned short)flags;
	r.u.addr.ifa_family = AF_INET;
	r.u.addr.ifa_prefixlen = (unsigned char)prefix;
	r.u.addr.ifa_scope = RT_SCOPE_UNIVERSE;
	r.u.addr.ifa_index = (unsigned)ifindex;
	nl_attr(&r, IFA_LOCAL, &addr, sizeof addr);
	nl_attr(&r, IFA_ADDRESS, &addr, sizeof addr);
	if (type == RTM_NEWADDR && prefix < 31) {
		struct in_addr brd = addr;
		brd.s_addr |= htonl(prefix ? 0xffffffffu >> prefix : 0xffffffffu);
		nl_attr(&r, IFA_BROADCAST, &brd, sizeof brd);
	}
	return nl_call(fd, &r);
}

int nl_addr_add(int fd, int ifindex, struct in_addr addr, int prefix)
{
	return nl_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, addr, prefix);
}

int nl_addr_del(int fd, int ifindex, struct in_addr addr, int prefix)
{
	return nl_addr(fd, RTM_DELADDR, 0, ifindex, addr, prefix);
}

static int nl_route_default(int fd, int type, int flags, int ifindex, struct in_addr gw)
{
	struct nl_req r;
	unsigned oif = (unsigned)ifindex;

	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof r.u.route);
	r.h.nlmsg_type = (unsigned short)type;
	r.h.nlmsg_flags = (unsigned short)flags;
	r.u.route.rtm_family = AF_INET;
	r.u.route.rtm_table = RT_TABLE_MAIN;
	r.u.route.rtm_protocol = RTPROT_BOOT;
	r.u.route.rtm_scope = RT_SCOPE_UNIVERSE;
	r.u.route.rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, &gw, sizeof gw);
	nl_attr(&r, RTA_OIF, &oif, sizeof oif);
	return nl_call(fd, &r);
}

int nl_route_default_add(int fd, int ifindex, struct in_addr gw)
{
	return nl_route_default(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ifindex, gw);
}

int nl_route_default_del(int fd, int ifindex, struct in_addr gw)
{
	return nl_route_default(fd, RTM_DELROUTE, 0, ifindex, gw);
}
