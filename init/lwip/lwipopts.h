/*
 * lwIP options for pith-init's DHCP client.
 *
 * lwIP shares the NIC with the kernel's own IP stack. It is built to do one
 * job, DHCP: no TCP, no ICMP, no raw sockets, so it can never answer a packet
 * on the kernel's behalf. It sees only the frames the socket filter in
 * init/dhcp.c lets through (DHCP replies and ARP replies). DNS is compiled in
 * only so that lwIP asks for and records the lease's DNS servers; nothing ever
 * resolves a name through it.
 */
#ifndef PITH_LWIPOPTS_H
#define PITH_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0

#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_UDP                    1
#define LWIP_TCP                    0
#define LWIP_ICMP                   0
#define LWIP_RAW                    0
#define LWIP_IGMP                   0
#define LWIP_AUTOIP                 0
#define LWIP_DHCP                   1
#define LWIP_DNS                    1
#define DNS_MAX_SERVERS             3
#define LWIP_DHCP_MAX_DNS_SERVERS   3
#define IP_FORWARD                  0
#define IP_REASSEMBLY               0
#define IP_FRAG                     0

/* The kernel owns the address: lwIP must not probe it or defend it. */
#define DHCP_DOES_ARP_CHECK         0
#define LWIP_DHCP_DOES_ACD_CHECK    0
#define ETHARP_SUPPORT_STATIC_ENTRIES 0

#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_NETIF_HOSTNAME         1

/* One netif, a handful of DHCP messages in flight: small pools suffice. */
#define MEM_ALIGNMENT               8
#define MEM_SIZE                    (16 * 1024)
#define MEMP_NUM_PBUF               16
#define MEMP_NUM_UDP_PCB            4
#define PBUF_POOL_SIZE              16
#define PBUF_POOL_BUFSIZE           1536
#define ARP_TABLE_SIZE              4

/*
 * UDP checksums are checked in init/dhcpc.c, not by lwIP: a frame the kernel
 * hands to a packet socket may carry a checksum it has not filled in yet
 * (offload on veth and virtio), which only the socket's aux data reveals.
 */
#define CHECKSUM_CHECK_UDP          0

#define LWIP_STATS                  0
#define LWIP_CHECKSUM_ON_COPY       0

/* Random numbers for DHCP transaction ids come from getrandom(2). */
#define LWIP_RAND()                 pith_lwip_rand()
unsigned int pith_lwip_rand(void);

#endif
