/*
 * Files the host hands a node at boot, beside its config: every QEMU
 * fw_cfg entry named opt/pith/etc/<path> becomes /etc/pith/<path> (mode
 * 0600, directories 0700). This is how a node gets its credentials
 * (tls/ca.crt, tls/node.crt, tls/node.key, tokens) from `boot/cluster up`
 * without a per-node image; docs/security.md lists them.
 */
#ifndef PITH_INIT_FILES_H
#define PITH_INIT_FILES_H

/* Largest file taken; a larger entry is skipped with a warning. */
#define FILES_SIZE_MAX (256 * 1024)
/* Deepest path below opt/pith/etc/. */
#define FILES_DEPTH_MAX 4

/* Copy the entries under root's fw_cfg directory into root/etc/pith.
 * Each failure is logged and skipped; returns the number of files written. */
int files_from_fw_cfg(const char *root);

#endif
