/*
 * The members of a pith-kv cluster as etcd names them: an ID made from
 * the member's peer URLs and the cluster token, a name, peer URLs and
 * client URLs. IDs and the cluster ID are computed as etcd computes them
 * (SHA-1 of the sorted peer URLs and the token; SHA-1 of the sorted member
 * IDs), so one --initial-cluster gives the same IDs to either program.
 */
#ifndef PITH_KV_MEMBERS_H
#define PITH_KV_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "raft.h"

#define KV_URLS_MAX 4
#define KV_URL_MAX 128
#define KV_NAME_MAX 63
/* --initial-cluster-token's default, as etcd's. */
#define KV_CLUSTER_TOKEN_DEFAULT "etcd-cluster"

struct kv_url {
	bool tls;			/* https */
	char host[KV_URL_MAX];		/* an IP address: v4, or v6 without brackets */
	uint16_t port;
	char text[KV_URL_MAX];		/* as given */
};

struct kv_member {
	uint64_t id;
	char name[KV_NAME_MAX + 1];
	struct kv_url peer[KV_URLS_MAX];
	size_t npeer;
	char client[KV_URLS_MAX][KV_URL_MAX];
	size_t nclient;
};

/* "http://IP:PORT" or "https://IP:PORT" (IPv6 as [addr]); a trailing "/"
 * is allowed. 0 or -EINVAL (e says why). */
int kv_url_parse(struct kv_url *u, const char *s, struct err *e);

/* A comma-separated list of URLs into at most KV_URLS_MAX. */
int kv_urls_parse(struct kv_url *u, size_t *n, const char *list, struct err *e);

/* Is the host a loopback address (127.0.0.0/8, ::1)? */
bool kv_url_is_loopback(const struct kv_url *u);

/*
 * --initial-cluster: "name=url,name=url,..." (a name may come more than
 * once, one URL each time), into at most RAFT_MEMBERS_MAX members with
 * their IDs. 0 or -EINVAL (e says why).
 */
int kv_cluster_parse(struct kv_member *m, size_t *n, const char *spec, const char *token,
		     struct err *e);

/* etcd's member ID for peer URLs and a cluster token. */
uint64_t kv_member_id(const struct kv_url *peer, size_t npeer, const char *token);

/* etcd's cluster ID for these members. */
uint64_t kv_cluster_id(const struct kv_member *m, size_t n);

/*
 * A member table as bytes (snapshots, the WAL's meta record, the answer to
 * a joining member): u32 count, then for each u64 id and three
 * length-prefixed strings: the name, the peer URLs and the client URLs,
 * each list joined by commas. Decoding checks every URL: 0 or -EBADMSG.
 */
int kv_members_encode(const struct kv_member *m, size_t n, struct buf *out);
int kv_members_decode(struct kv_member *m, size_t *n, const void *data, size_t len);

/* URLs joined by commas, as --initial-cluster and the table's bytes write
 * them; out holds KV_URLS_MAX * KV_URL_MAX bytes, enough for any list. */
void kv_urls_join(const struct kv_url *u, size_t n, char *out, size_t len);
void kv_member_peer_list(const struct kv_member *m, char *out, size_t len);

/* A member ID for peer URLs added at run time: etcd's own IDs for added
 * members mix the time in, so that a member removed and added again on the
 * same URLs is a new member. */
uint64_t kv_member_id_new(const struct kv_url *peer, size_t npeer, const char *token, int64_t now_ns);

/* Set m's client URLs from a comma-separated list (those too long are skipped). */
void kv_member_clients(struct kv_member *m, const char *list);

/* Sort members by ID, as etcd lists them. */
void kv_members_sort(struct kv_member *m, size_t n);

/*
 * The body of POST /v2/members and PUT /v2/members/<id>, as etcd reads it:
 * a JSON object whose "peerURLs" (the name matched without regard to case)
 * is an array of URLs; other fields are ignored. 0, or -EINVAL with the
 * message to answer in e.
 */
int kv_member_req_parse(const char *body, size_t len, struct kv_url *u, size_t *n, struct err *e);

/* One member as /v2/members writes it:
 * {"id":"...","name":"...","peerURLs":[...],"clientURLs":[...]} */
int kv_member_json(const struct kv_member *m, struct buf *out);

#endif
