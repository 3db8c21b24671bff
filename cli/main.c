/*
 * pith: the operator's command-line client. Run as `systemctl` or
 * `journalctl` (a link to it under that name), it is that tool, with the
 * tool's own options and exit codes; the same personalities are reached as
 * `pith systemctl ...` and `pith journalctl ...`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"
#include "machine.h"
#include "journalctl.h"
#include "log.h"
#include "systemctl.h"
#include "version.h"

static const char usage[] =
	"usage: pith [--endpoint URL] COMMAND\n"
	"\n"
	"commands:\n"
	"  systemctl  control a node's units (pith systemctl --help)\n"
	"  journalctl read a node's journal (pith journalctl --help)\n"
	"  machine    the node: name, IDs, uptime, load, memory, addresses\n"
	"  reboot     reboot the node\n"
	"  poweroff   power the node off\n"
	"  health     check that the node's control port answers\n"
	"  metrics    the node's metrics (Prometheus text)\n"
	"  check      check unit files offline (pith check --help)\n"
	"  gen        make the cluster's CA, certificates and tokens (pith gen --help)\n"
	"  version    print the version\n"
	"  help       print this text\n"
	"\n"
	"Linked or copied under the name systemctl or journalctl, pith is that tool.\n"
	"The node is --endpoint URL, else $PITH_ENDPOINT, else the config file's\n"
	"Endpoint=, else unix:/run/pith/init.sock. Over https, $PITH_CA is the cluster's\n"
	"CA certificate; $PITH_TOKEN a bearer token, or $PITH_CERT and $PITH_KEY a\n"
	"client certificate. docs/cli.md has the details and the exit statuses.\n";

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : argc > 0 ? argv[0] : "pith";
	if (!strcmp(base, "systemctl"))
		return cmd_systemctl(argc, argv);
	if (!strcmp(base, "journalctl"))
		return cmd_journalctl(argc, argv);
	log_init(argv[0], 2);
	/* A global --endpoint, before the command, is the same as $PITH_ENDPOINT. */
	while (argc > 1 && !strncmp(argv[1], "--endpoint", 10)) {
		const char *url = argv[1][10] == '=' ? argv[1] + 11 : argv[1][10] ? NULL : argv[2];

		if (!url || !*url)
			die(EXIT_USAGE, "--endpoint needs a URL");
		int used = argv[1][10] == '=' ? 1 : 2;

		setenv("PITH_ENDPOINT", url, 1);
		argc -= used;
		argv += used;
	}
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("pith %s\n", PITH_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "systemctl"))
		return cmd_systemctl(argc - 1, argv + 1);
	if (!strcmp(argv[1], "journalctl"))
		return cmd_journalctl(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "machine") || !strcmp(argv[1], "reboot") || !strcmp(argv[1], "poweroff") ||
	    !strcmp(argv[1], "health") || !strcmp(argv[1], "metrics"))
		return cmd_machine(argc - 1, argv + 1);
	fputs(usage, stderr);
	die(EXIT_USAGE, "unknown command %s", argv[1]);
}
