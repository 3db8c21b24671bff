/* `pith machine|reboot|poweroff|health|metrics`: the node itself. */
#ifndef PITH_CLI_MACHINE_H
#define PITH_CLI_MACHINE_H

/* argv[0] is the verb. */
int cmd_machine(int argc, char **argv);

#endif
