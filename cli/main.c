/*
 * pith: the operator's command-line client. Commands that talk to a node
 * arrive with the control port; for now it reports its version and usage.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "version.h"

static const char usage[] =
	"usage: pith COMMAND\n"
	"\n"
	"commands:\n"
	"  check      check unit files offline (pith check --help)\n"
	"  version    print the version\n"
	"  help       print this text\n";

int main(int argc, char **argv)
{
	log_init(argv[0], 2);
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("pith %s\n", PITH_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	fputs(usage, stderr);
	die(EXIT_USAGE, "unknown command %s", argv[1]);
}
