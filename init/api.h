/*
 * PID 1's local API: HTTP/1.1 and JSON on a unix socket only root can
 * reach (/run/pith/init.sock), with the routes and shapes of docs/api.md.
 * Everything is non-blocking and bounded: a slow or vanished client costs
 * a buffer, never a stall, and a journal follower that falls behind is
 * told how many entries it lost.
 */
#ifndef PITH_INIT_API_H
#define PITH_INIT_API_H

#include "journal.h"
#include "loop.h"
#include "manager.h"
#include "power.h"

/* Connections at once; one more is accepted and answered 503 (left in
 * the listen queue, it would wake the loop on every turn). A refused
 * connection is closed API_REFUSED_LINGER_MS later, once what its client
 * sent is read: closing a unix socket with unread bytes resets it, and
 * the client would lose the answer. At most API_REFUSED_MAX wait so; past
 * that they are closed at once. */
#define API_CONN_MAX 64
#define API_REFUSED_MAX 16
#define API_REFUSED_LINGER_MS 1000
/* Journal followers at once, whoever asks: a follow never ends, so the
 * rest of API_CONN_MAX stays free for requests that do (the control port
 * keeps its own share lower still, per credential and in all). */
#define API_FOLLOW_MAX 32
/* Response bytes held for one client before a follower stops reading the
 * journal for it (it catches up from its cursor when the client reads). */
#define API_OUT_HIGH (256 * 1024)
/* Largest request body: a unit file. */
#define API_BODY_MAX UNIT_FILE_MAX

struct api;

/* Listen on path (replacing a stale socket). NULL with *r = -errno. */
struct api *api_start(struct loop *l, struct manager *m, struct journal *j, const char *path,
		      int *r);

/* What POST /v1/machine/reboot and /poweroff call, shortly after they
 * have answered 202. Without it they answer 503. */
typedef void api_power_fn(void *arg, enum power_action a);
void api_set_power(struct api *a, api_power_fn *fn, void *arg);

#endif
