/*
 * Inside the store: its tree, for store.c and store_snap.c only.
 */
#ifndef PITH_KV_STORE_NODE_H
#define PITH_KV_STORE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_node {
	char *name;		/* "" for the root */
	struct store_node *parent;
	bool dir;
	char *value;
	size_t vlen;
	uint64_t created, modified;
	int64_t expire_ns;	/* 0: permanent */
	struct store_node **kids;	/* sorted by name */
	size_t nkids, capkids;
};

/* A node called name (len bytes), without a parent; NULL when out of memory. */
struct store_node *store_node_new(const char *name, size_t len, bool dir);
/* Free n and everything under it. */
void store_node_free(struct store_node *n);
/* Insert k among d's children at position at (k's name keeps them sorted). 0 or -ENOMEM. */
int store_kid_insert(struct store_node *d, struct store_node *k, size_t at);

#endif
