#ifndef PITH_CLI_CHECK_H
#define PITH_CLI_CHECK_H

/* `pith check`: argv[0] is "check". Returns the exit status. */
int cmd_check(int argc, char **argv);

#endif
