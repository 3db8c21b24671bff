/*
 * pith: the operator's command-line client. Run as `systemctl` or
 * `journalctl` (a link to it under that name), it is that tool, with the
 * tool's own options and exit codes; the same personalities are reached as
 * `pith systemctl ...` and `pith journalctl ...`.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gen.h"
#include "journalctl.h"
#include "log.h"
#include "systemctl.h"
#include "version.h"

static const char usage[] =
	"usage: pith COMMAND\n"
	"\n"
	"commands:\n"
	"  systemctl  control a node's units (pith systemctl --help)\n"
	"  journalctl read a node's journal (pith journalctl --help)\n"
	"  check      check unit files offline (pith check --help)\n"
	"  gen        make the cluster's CA, certificates and tokens (pith gen --help)\n"
	"  version    print the version\n"
	"  help       print this text\n"
	"\n"
	"Linked or copied under the name systemctl or journalctl, pith is that tool.\n"
	"The node is --endpoint URL, else $PITH_ENDPOINT, else unix:/run/pith/init.sock;\n"
	"$PITH_TOKEN is sent as a bearer token when set.\n";

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : argc > 0 ? argv[0] : "pith";
	if (!strcmp(base, "systemctl"))
		return cmd_systemctl(argc, argv);
	if (!strcmp(base, "journalctl"))
		return cmd_journalctl(argc, argv);
	log_init(argv[0], 2);
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
	fputs(usage, stderr);
	die(EXIT_USAGE, "unknown command %s", argv[1]);
}
