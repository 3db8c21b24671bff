#include "dhcpc.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "log.h"
#include "rand.h"

/* An Ethernet frame with a VLAN tag, rounded up; longer ones are dropped. */
#define DHCP_FRAME_MAX 1536
/* lwIP's timers are checked at least this often. */
#define DHCP_TICK_MAX_MS 1000

static struct {
	struct loop *loop;
	struct netif netif;
	struct loop_io pkt_io, udp_io;
	struct loop_timer tick;
	int pkt_fd, udp_fd, ifindex;
	char ifname[IF_NAMESIZE];
	char hostname[CONFIG_NAME_MAX + 1];
	dhcpc_lease_fn *fn;
	void *arg;
	int bound;
	u8_t state;
	struct dhcpc_lease lease;
} c = { .pkt_fd = -1, .udp_fd = -1 };

static uint64_t t0;

u32_t sys_now(void)
{
	if (!t0)
		t0 = loop_now_ms();
	return (u32_t)(loop_now_ms() - t0);
}

/* Transaction ids and the like: never waits for the kernel's pool. */
unsigned int pith_lwip_rand(void)
{
	unsigned int r;

	rand_id_bytes(&r, sizeof r);
	return r;
}

void pith_lwip_diag(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = 0;
	log_debug("dhcp: lwip: %s", msg);
}

void pith_lwip_assert(const char *msg, const char *file, int line)
{
	log_err("dhcp: lwip assertion failed at %s:%d: %s", file, line, msg);
}

/*
 * The socket filter: ARP replies, and unfragmented UDP to port 68. Frames the
 * kernel sends itself (PACKET_OUTGOING) are not ours to see.
 */
static struct sock_filter dhcp_filter[] = {
	/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 13, 0),
	/* 2 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),		/* ethertype */
	/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 2),
	/* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),		/* ARP opcode */
	/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 8, 9),	/* a reply */
	/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
	/* 7 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),		/* IP protocol */
	/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),	/* UDP */
	/* 9 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),		/* MF + offset */
	/* 10 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 4, 0),
	/* 11 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),		/* IP header length */
	/* 12 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),		/* UDP destination */
	/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, 0, 1),
	/* 14 */ BPF_STMT(BPF_RET | BPF_K, DHCP_FRAME_MAX),
	/* 15 */ BPF_STMT(BPF_RET | BPF_K, 0),
};

static err_t dhcp_link_output(struct netif *n, struct pbuf *p)
{
	unsigned char frame[DHCP_FRAME_MAX];
	u16_t len;

	(void)n;
	if (p->tot_len > sizeof frame)
		return ERR_BUF;
	len = pbuf_copy_partial(p, frame, p->tot_len, 0);
	if (send(c.pkt_fd, frame, len, MSG_DONTWAIT) < 0) {
		log_debug("dhcp: %s: send: %s", c.ifname, strerror(errno));
		return ERR_IF;
	}
	return ERR_OK;
}

static int dhcp_hwaddr(unsigned char mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", c.ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		r = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return r;
}

static err_t dhcp_netif_init(struct netif *n)
{
	n->name[0] = 'p';
	n->name[1] = 'h';
	n->mtu = 1500;
	n->hwaddr_len = 6;
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	n->output = etharp_output;
	n->linkoutput = dhcp_link_output;
	return dhcp_hwaddr(n->hwaddr) < 0 ? ERR_IF : ERR_OK;
}

static int mask_prefix(u32_t mask_net)
{
	u32_t m = lwip_ntohl(mask_net);
	int p = 0;

	while (m & 0x80000000u) {
		p++;
		m <<= 1;
	}
	return p;
}

/* Compare lwIP's view with what was last handed out; report changes. */
static void dhcp_check(void)
{
	struct dhcp *d = netif_dhcp_data(&c.netif);
	u8_t prev = c.state;

	if (!d)
		return;
	c.state = d->state;
	if (dhcp_supplied_address(&c.netif)) {
		struct dhcpc_lease l;
		int i;

		memset(&l, 0, sizeof l);
		l.addr.s_addr = ip4_addr_get_u32(netif_ip4_addr(&c.netif));
		l.prefix = mask_prefix(ip4_addr_get_u32(netif_ip4_netmask(&c.netif)));
		l.gateway.s_addr = ip4_addr_get_u32(netif_ip4_gw(&c.netif));
		l.server.s_addr = ip4_addr_get_u32(ip_2_ip4(&d->server_ip_addr));
		for (i = 0; i < CONFIG_DNS_MAX; i++) {
			const ip_addr_t *s = dns_getserver((u8_t)i);

			if (s && !ip_addr_isany(s))
				l.dns[l.ndns++].s_addr = ip4_addr_get_u32(ip_2_ip4(s));
		}
		l.seconds = d->offered_t0_lease;
		if (!c.bound || l.addr.s_addr != c.lease.addr.s_addr ||
		    l.prefix != c.lease.prefix || l.gateway.s_addr != c.lease.gateway.s_addr) {
			int renewed = c.bound && l.addr.s_addr == c.lease.addr.s_addr;

			c.lease = l;
			c.bound = 1;
			c.fn(c.arg, &c.lease, renewed);
		} else if (d->state == DHCP_STATE_BOUND &&
			   (prev == DHCP_STATE_RENEWING || prev == DHCP_STATE_REBINDING)) {
			c.lease = l;
			c.fn(c.arg, &c.lease, 1);
		}
	} else if (c.bound) {
		c.bound = 0;
		c.fn(c.arg, NULL, 0);
	}
}

static void dhcp_tick(struct loop *l, void *arg)
{
	u32_t next;

	(void)arg;
	sys_check_timeouts();
	dhcp_check();
	next = sys_timeouts_sleeptime();
	if (next > DHCP_TICK_MAX_MS)
		next = DHCP_TICK_MAX_MS;
	loop_timer_set(l, &c.tick, next, dhcp_tick, NULL);
}

/*
 * The UDP checksum of an IPv4 frame that passed the socket filter: 1 when
 * it is right or absent, 0 when wrong. Frames shorter than their headers
 * say are left for lwIP to reject.
 */
static int udp_checksum_ok(const unsigned char *f, size_t n)
{
	const unsigned char *ip = f + 14, *udp;
	size_t ihl, ulen, i;
	uint32_t sum = 0;

	if (n < 14 + 20 || (ip[0] >> 4) != 4)
		return 1;
	ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || n < 14 + ihl + 8)
		return 1;
	udp = ip + ihl;
	ulen = (size_t)udp[4] << 8 | udp[5];
	if (ulen < 8 || 14 + ihl + ulen > n)
		return 1;
	if (udp[6] == 0 && udp[7] == 0)
		return 1;	/* the sender did not compute one */
	for (i = 12; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	sum += 17 + (uint32_t)ulen;
	for (i = 0; i + 1 < ulen; i += 2)
		sum += (uint32_t)udp[i] << 8 | udp[i + 1];
	if (ulen & 1)
		sum += (uint32_t)udp[ulen - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static void dhcp_frames(struct loop *l, int fd, uint32_t events, void *arg)
{
	unsigned char frame[DHCP_FRAME_MAX];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	int n_frames = 0;

	(void)events;
	(void)arg;
	/* Bounded, so a flood cannot starve the rest of PID 1's loop. */
	while (n_frames++ < 64) {
		struct iovec iov = { frame, sizeof frame };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = &ctl, .msg_controllen = sizeof ctl };
		struct cmsghdr *cm;
		unsigned status = 0;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
		struct pbuf *p;

		if (n < 0)
			break;
		if (n > (ssize_t)sizeof frame || n < 14)
			continue;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_PACKET && cm->cmsg_type == PACKET_AUXDATA) {
				struct tpacket_auxdata aux;

				memcpy(&aux, CMSG_DATA(cm), sizeof aux);
				status = aux.tp_status;
			}
		}
		/* Offloaded checksums are not filled in yet (or already checked). */
		if (frame[12] == 0x08 && frame[13] == 0x00 &&
		    !(status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID)) &&
		    !udp_checksum_ok(frame, (size_t)n)) {
			log_debug("dhcp: %s: dropped a reply with a bad UDP checksum", c.ifname);
			continue;
		}
		p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_POOL);
		if (!p)
			continue;
		if (pbuf_take(p, frame, (u16_t)n) != ERR_OK || c.netif.input(p, &c.netif) != ERR_OK)
			pbuf_free(p);
	}
	dhcp_tick(l, NULL);
}

/* The kernel's copy of replies to port 68: read and dropped, so it does not
 * answer them with ICMP port-unreachable. */
static void dhcp_udp_drain(struct loop *l, int fd, uint32_t events, void *arg)
{
	char b[DHCP_FRAME_MAX];
	int i;

	(void)l;
	(void)events;
	(void)arg;
	for (i = 0; i < 64 && recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0; i++)
		;
}

static int dhcp_open_packet(void)
{
	struct sock_fprog prog = {
		.len = sizeof dhcp_filter / sizeof dhcp_filter[0],
		.filter = dhcp_filter,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = c.ifindex,
	};
	char junk[DHCP_FRAME_MAX];
	int fd, e, one = 1;

	/* Protocol 0: nothing is queued until bind(), so the filter sees every frame. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) >= 0)
		;
	return fd;
}

static int dhcp_open_udp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(68) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c.ifname, (socklen_t)strlen(c.ifname));
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int dhcpc_start(struct loop *l, const char *ifname, int ifindex, const char *hostname,
		dhcpc_lease_fn *fn, void *arg)
{
	int r;

	if (c.loop)
		return -EALREADY;
	c.loop = l;
	c.ifindex = ifindex;
	snprintf(c.ifname, sizeof c.ifname, "%s", ifname);
	snprintf(c.hostname, sizeof c.hostname, "%s", hostname);
	c.fn = fn;
	c.arg = arg;
	r = dhcp_open_packet();
	if (r < 0)
		goto fail;
	c.pkt_fd = r;
	/* Best effort: without it the kernel only sends a few needless ICMPs. */
	c.udp_fd = dhcp_open_udp();
	if (c.udp_fd >= 0)
		loop_io_add(l, &c.udp_io, c.udp_fd, EPOLLIN, dhcp_udp_drain, NULL);

	lwip_init();
	if (!netif_add(&c.netif, NULL, NULL, NULL, NULL, dhcp_netif_init, ethernet_input)) {
		r = -ENODEV;
		goto fail;
	}
	netif_set_hostname(&c.netif, c.hostname);
	netif_set_default(&c.netif);
	netif_set_up(&c.netif);
	netif_set_link_up(&c.netif);
	r = loop_io_add(l, &c.pkt_io, c.pkt_fd, EPOLLIN, dhcp_frames, NULL);
	if (r < 0)
		goto fail;
	if (dhcp_start(&c.netif) != ERR_OK) {
		r = -ENOMEM;
		goto fail;
	}
	dhcp_tick(l, NULL);
	return 0;
fail:
	if (c.pkt_fd >= 0)
		close(c.pkt_fd);
	c.pkt_fd = -1;
	c.loop = NULL;
	return r;
}
