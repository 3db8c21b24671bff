/*
 * libFuzzer: frames reaching pith-init's DHCP client. lwIP is built as in
 * the image (same lwipopts.h) and fed what the socket filter would let
 * through: the input is a DHCP reply's BOOTP payload, with the transaction
 * id and hardware address patched to match the request in flight (so the
 * parser goes deep), wrapped in Ethernet/IPv4/UDP; or, when the first byte
 * is odd, a raw frame. Time moves on a little with every input so the
 * client walks through its states.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

static struct netif nif;
static uint32_t now;
static const u8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

u32_t sys_now(void) { return now; }
unsigned int pith_lwip_rand(void) { return 0x1234567u; }
void pith_lwip_diag(const char *fmt, ...) { (void)fmt; }
void pith_lwip_assert(const char *msg, const char *file, int line)
{
	(void)msg; (void)file; (void)line;
	__builtin_trap();
}

static err_t discard(struct netif *n, struct pbuf *p) { (void)n; (void)p; return ERR_OK; }

static err_t init(struct netif *n)
{
	n->mtu = 1500;
	n->hwaddr_len = 6;
	memcpy(n->hwaddr, mac, 6);
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	n->output = etharp_output;
	n->linkoutput = discard;
	return ERR_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	lwip_init();
	netif_add(&nif, NULL, NULL, NULL, NULL, init, ethernet_input);
	netif_set_default(&nif);
	netif_set_up(&nif);
	netif_set_link_up(&nif);
	dhcp_start(&nif);
	return 0;
}

static u16_t ip_sum(const u8_t *h)
{
	u32_t s = 0;
	int i;

	for (i = 0; i < 20; i += 2)
		s += (u32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (u16_t)~s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static u8_t frame[1536];
	struct dhcp *d = netif_dhcp_data(&nif);
	size_t len;
	struct pbuf *p;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		len = size - 1 > sizeof frame ? sizeof frame : size - 1;
		memcpy(frame, data + 1, len);
	} else {
		size_t pl = size - 1;
		u8_t *ip = frame + 14, *udp = ip + 20, *b = udp + 8;

		if (pl > sizeof frame - 42)
			pl = sizeof frame - 42;
		memset(frame, 0xff, 6);
		memcpy(frame + 6, "\x52\x55\x0a\x00\x02\x02", 6);
		frame[12] = 0x08; frame[13] = 0x00;
		memset(ip, 0, 20);
		ip[0] = 0x45; ip[8] = 64; ip[9] = 17;
		ip[2] = (u8_t)((20 + 8 + pl) >> 8); ip[3] = (u8_t)(20 + 8 + pl);
		memcpy(ip + 12, "\x0a\x00\x02\x02", 4);
		memset(ip + 16, 0xff, 4);
		ip[10] = ip[11] = 0;
		{ u16_t s = ip_sum(ip); ip[10] = (u8_t)(s >> 8); ip[11] = (u8_t)s; }
		udp[0] = 0; udp[1] = 67; udp[2] = 0; udp[3] = 68;
		udp[4] = (u8_t)((8 + pl) >> 8); udp[5] = (u8_t)(8 + pl);
		udp[6] = udp[7] = 0;	/* no UDP checksum */
		memcpy(b, data + 1, pl);
		if (pl >= 34 && d) {
			b[4] = (u8_t)(d->xid >> 24); b[5] = (u8_t)(d->xid >> 16);
			b[6] = (u8_t)(d->xid >> 8); b[7] = (u8_t)d->xid;
			memcpy(b + 28, mac, 6);
		}
		len = 42 + pl;
	}
	p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p)
		return 0;
	pbuf_take(p, frame, (u16_t)len);
	if (nif.input(p, &nif) != ERR_OK)
		pbuf_free(p);
	now += 500;
	sys_check_timeouts();
	return 0;
}
