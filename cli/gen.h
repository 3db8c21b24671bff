/* `pith gen`: the cluster CA, node and client certificates, tokens. */
#ifndef PITH_CLI_GEN_H
#define PITH_CLI_GEN_H

int cmd_gen(int argc, char **argv);

#endif
