/*
 * Node config: what this machine is called, how its network comes up, and
 * what it runs at boot. Read from, in rising precedence, QEMU's fw_cfg
 * (opt/pith/config) and the kernel command line (pith.*). Both go through
 * the same setters, so the same checks apply to either.
 *
 * Bad input never fails the boot: each bad value is reported through the
 * warn callback (with where it came from) and the previous value is kept.
 * Pure code, no I/O.
 */
#ifndef PITH_INIT_CONFIG_H
#define PITH_INIT_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>

#define CONFIG_NAME_MAX 63
#define CONFIG_DNS_MAX 3
#define CONFIG_RUN_MAX 1023
/* Largest config text accepted from fw_cfg or a file. */
#define CONFIG_TEXT_MAX (64 * 1024)
/* Longest kernel command line looked at (the x86 kernel's own limit is 2048). */
#define CONFIG_CMDLINE_MAX 4096
/* Longest a boot waits for a DHCP lease before it says ready anyway. */
#define CONFIG_DHCP_WAIT_MAX_MS (10 * 60 * 1000)

enum net_mode { NET_DHCP, NET_STATIC, NET_OFF };

struct node_config {
	char name[CONFIG_NAME_MAX + 1];
	enum net_mode net;
	char iface[IF_NAMESIZE];	/* "" means the first ethernet NIC */
	struct in_addr addr;		/* static address, NET_STATIC only */
	int prefix;
	struct in_addr gateway;		/* 0.0.0.0: none */
	struct in_addr dns[CONFIG_DNS_MAX];
	int ndns;
	unsigned dhcp_wait_ms;
	char run[CONFIG_RUN_MAX + 1];	/* command run once boot is ready */
};

typedef void config_warn_fn(void *arg, const char *origin, unsigned line, const char *msg);

void config_defaults(struct node_config *c);

/* "[Node] Name=", "[Network] Address= Gateway= DNS= Interface= DHCPWaitSec=", "[Boot] Run=". */
int config_apply_ini(struct node_config *c, const char *text, size_t len,
		     const char *origin, config_warn_fn *warn, void *arg);

/*
 * The kernel command line: pith.name= pith.ip=dhcp|off|ADDR/LEN pith.gateway=
 * pith.dns=A[,B...] pith.iface= pith.dhcp_wait= pith.run=. Double quotes group
 * a value with spaces, as the kernel's own parser does. Other words are ignored.
 */
int config_apply_cmdline(struct node_config *c, const char *cmdline,
			 config_warn_fn *warn, void *arg);

#endif
