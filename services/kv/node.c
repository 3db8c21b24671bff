/*
 * The member: Raft driven by the event loop. Ticks come from a timer,
 * messages from peer.c, commands from api.c; kv_node_ready() then does
 * what raft.h says in the order it says it: persist (one fdatasync for
 * everything the batch produced), send, apply. A client's command is
 * answered when its entry is applied here, whichever member proposed it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kv.h"
#include "rand.h"

int64_t kv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t kv_next_seq(struct kv *kv)
{
	return ++kv->seq;
}

const struct kv_member *kv_member_find(const struct kv *kv, uint64_t id)
{
	for (size_t i = 0; i < kv->nmembers; i++)
		if (kv->members[i].id == id)
			return &kv->members[i];
	return NULL;
}

/* --- waiters ---------------------------------------------------------------- */

static void waiter_unlink(struct kv *kv, struct kv_waiter *w)
{
	for (struct kv_waiter **pp = &kv->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			w->next = NULL;
			if (!w->sent)
				kv->nunsent--;
			if (w->reading)
				kv->nreading--;
			w->sent = true;
			w->reading = false;
			return;
		}
}

static struct kv_waiter *waiter_find(struct kv *kv, uint64_t seq)
{
	for (struct kv_waiter *w = kv->waiters; w; w = w->next)
		if (w->seq == seq)
			return w;
	return NULL;
}

static void waiter_done(struct kv *kv, struct kv_waiter *w, const struct kv_result *res)
{
	waiter_unlink(kv, w);
	buf_free(&w->cmd);
	w->done(kv, w, res);
}

/* Propose an encoded command here, the leader: a member added or removed
 * is a configuration change (section 4.1), its command the entry's context. */
static int64_t propose(struct kv *kv, const void *data, size_t len)
{
	const unsigned char *p = data;
	struct kv_cmd c;

	if (len > 1 && p[1] == KV_CMD_MEMBER && kv_cmd_decode(&c, data, len) == 0 &&
	    c.member_op != KV_MEMBER_UPDATE)
		return raft_change_conf(&kv->raft, c.member_op == KV_MEMBER_ADD ? RAFT_ADD_VOTER : RAFT_REMOVE,
					c.member, data, len);
	return raft_propose(&kv->raft, data, (uint32_t)len);
}

/* Hand w's command to the leader: Raft here, or the leader over the peer
 * connection. Once handed over it is never sent again: a second copy could
 * be applied twice (a POST, a compare-and-swap). */
static void waiter_send(struct kv *kv, struct kv_waiter *w)
{
	if (w->sent)
		return;
	if (w->cmd.len > 1 && w->cmd.data[1] == KV_CMD_QGET && !w->by_log && kv->raft.leader != RAFT_NONE &&
	    (kv->raft.role == RAFT_LEADER ? raft_read_index(&kv->raft, w->seq) == 0
					  : kv_peer_read(kv, kv->raft.leader, w->seq))) {
		/* A quorum read: ReadIndex (section 6.4), here or at the
		 * leader, nothing written. The command stays to be answered
		 * from. */
		w->sent = w->reading = true;
		w->read_term = kv->raft.term;
		w->read_leader = kv->raft.leader;
		w->read_index = 0;
		w->read_asked_ms = loop_now_ms();
		kv->nunsent--;
		kv->nreading++;
		return;
	}
	if (kv->raft.role == RAFT_LEADER) {
		int64_t r = propose(kv, w->cmd.data, w->cmd.len);

		if (r == -EINVAL) {
			/* A membership change Raft refuses (too many members,
			 * none left): the caller checked, so only a race. It
			 * is answered from the timeout sweep, not from here
			 * (kv_submit's caller is not done with w yet). */
			w->failed = -EINVAL;
			w->deadline = 0;
		}
		if (r < 0)
			return;	/* busy (a leadership transfer, a change under way) or out of memory: later */
	} else if (kv->raft.leader != RAFT_NONE) {
		if (!kv_peer_forward(kv, kv->raft.leader, w->cmd.data, w->cmd.len))
			return;	/* not even queued: try again with the next ready */
	} else {
		return;
	}
	w->sent = true;
	kv->nunsent--;
	buf_free(&w->cmd);
}

void kv_submit(struct kv *kv, struct kv_waiter *w)
{
	w->deadline = loop_now_ms() + KV_REQUEST_TIMEOUT_MS + 2 * kv->cfg.election_ms;
	w->sent = false;
	w->reading = false;
	w->by_log = false;
	w->failed = 0;
	w->next = kv->waiters;
	kv->waiters = w;
	kv->nunsent++;
	waiter_send(kv, w);
}

void kv_cancel(struct kv *kv, struct kv_waiter *w)
{
	waiter_unlink(kv, w);
	buf_free(&w->cmd);
}

/*
 * What a follower forwards is what its own clients asked (api.c) and its
 * own attributes (publish): commands whose origin is that follower, and an
 * ATTR only for itself. A peer that sends anything else (another member's
 * name, another origin's request, the leader's own expiry) is not a
 * follower doing its work, and is refused.
 */
static const char *forward_refusal(const struct kv_cmd *c, uint64_t from)
{
	if (c->origin != from)
		return "a command on another member's behalf";
	if (c->kind == KV_CMD_ATTR && c->member != from)
		return "another member's name and client URLs";
	if (c->kind == KV_CMD_STORE && c->store.op == STORE_EXPIRE)
		return "an expiry, which only the leader proposes";
	return NULL;
}

bool kv_forwarded(struct kv *kv, uint64_t from, const void *cmd, size_t len)
{
	struct kv_cmd c;
	const char *why;

	if (kv_cmd_decode(&c, cmd, len) < 0) {
		log_warn("peer %llx: a malformed command, closed", (unsigned long long)from);
		return false;
	}
	if ((why = forward_refusal(&c, from))) {
		log_warn("peer %llx: refused a proposal of %s, closed", (unsigned long long)from, why);
		return false;
	}
	/* A follower whose leader has just stepped down loses this one to
	 * its timeout, as in etcd. */
	if (kv->raft.role == RAFT_LEADER)
		propose(kv, cmd, len);
	return true;
}

static void read_again(struct kv *kv, struct kv_waiter *w, bool by_log);

static void timeouts_fire(struct loop *l, void *arg)
{
	struct kv *kv = arg;
	uint64_t now = loop_now_ms();
	struct kv_waiter *w = kv->waiters, *next;

	for (; w; w = next) {
		next = w->next;
		/* A READ or its answer lost with a connection: ask again. */
		if (w->reading && !w->read_index && w->read_leader != kv->id &&
		    now - w->read_asked_ms >= kv->cfg.election_ms)
			read_again(kv, w, false);
		if (w->deadline <= now) {
			struct kv_result res = { .code = w->failed ? w->failed : -ETIMEDOUT,
						 .store_index = kv->store.index };

			waiter_done(kv, w, &res);
		}
	}
	if (now / 1000 != kv->swept_s) {
		kv->swept_s = now / 1000;
		kv_peers_sweep(kv);
	}
	loop_timer_set(l, &kv->timeouts, 100, timeouts_fire, kv);
}

/* --- publishing this member's attributes ------------------------------------------ */

static void published(struct kv *kv, struct kv_waiter *w, const struct kv_result *res)
{
	if (res->code == 0)
		kv->published = true;
	w->done = NULL;
}

/* Once there is a leader, put this member's name and client URLs in the
 * log (etcd publishes them so too): the other members list them. */
static void publish(struct kv *kv)
{
	struct kv_waiter *w = &kv->publish;
	struct kv_cmd c = { .kind = KV_CMD_ATTR, .origin = kv->id };

	if (kv->published || w->done || kv->raft.leader == RAFT_NONE)
		return;
	memset(w, 0, sizeof(*w));
	c.seq = w->seq = kv_next_seq(kv);
	c.member = kv->id;
	c.name = kv->cfg.name;
	c.client_urls = kv->cfg.advertise_client;
	if (kv_cmd_encode(&c, &w->cmd) < 0)
		return;
	w->done = published;
	kv_submit(kv, w);
}

/* --- applying --------------------------------------------------------------------- */

void kv_member_attr(struct kv *kv, uint64_t id, const char *name, const char *client_urls)
{
	struct kv_member *m = (struct kv_member *)kv_member_find(kv, id);

	if (!m)
		return;
	snprintf(m->name, sizeof(m->name), "%s", name);
	kv_member_clients(m, client_urls);
}

void kv_members_set(struct kv *kv, const struct kv_member *m, size_t n)
{
	struct kv_member *self;

	memcpy(kv->members, m, n * sizeof(*m));
	kv->nmembers = n;
	kv_members_sort(kv->members, kv->nmembers);
	/* This member's own client URLs are known before it publishes them. */
	if ((self = (struct kv_member *)kv_member_find(kv, kv->id)) && !self->name[0])
		kv_member_attr(kv, kv->id, kv->cfg.name, kv->cfg.advertise_client);
	kv_peers_sync(kv);
}

/*
 * A member added, removed or moved to new peer URLs, as a configuration
 * entry (or, for new URLs, an ordinary one) carries it. The table changes
 * when the entry is applied, as etcd's does; Raft's configuration changed
 * when it was appended.
 */
static void apply_member(struct kv *kv, const struct kv_cmd *c)
{
	struct kv_member *m = (struct kv_member *)kv_member_find(kv, c->member);
	struct kv_member t = { .id = c->member };
	struct err e = { 0 };

	switch (c->member_op) {
	case KV_MEMBER_ADD:
		if (m || kv->nmembers == RAFT_MEMBERS_MAX ||
		    kv_urls_parse(t.peer, &t.npeer, c->peer_urls, &e) < 0)
			return;
		kv->members[kv->nmembers++] = t;
		kv_members_sort(kv->members, kv->nmembers);
		log_info("member %llx added (%s)", (unsigned long long)c->member, c->peer_urls);
		break;
	case KV_MEMBER_REMOVE:
		if (!m)
			return;
		*m = kv->members[--kv->nmembers];
		kv_members_sort(kv->members, kv->nmembers);
		log_info("member %llx removed", (unsigned long long)c->member);
		if (c->member == kv->id)
			kv->removed = true;
		break;
	case KV_MEMBER_UPDATE:
		if (!m || kv_urls_parse(t.peer, &t.npeer, c->peer_urls, &e) < 0)
			return;
		memcpy(m->peer, t.peer, sizeof(t.peer));
		m->npeer = t.npeer;
		log_info("member %llx has peer URLs %s", (unsigned long long)c->member, c->peer_urls);
		break;
	}
	kv_peers_sync(kv);
}

/* A configuration entry's member command (its context), if it has one. */
static bool conf_member(const struct raft_entry *e, struct raft_conf *cf, struct kv_cmd *c)
{
	const unsigned char *ctx;
	size_t n;

	return raft_conf_entry_decode(cf, e->data, e->len, &ctx, &n) == 0 && n &&
	       kv_cmd_decode(c, ctx, n) == 0 && c->kind == KV_CMD_MEMBER;
}

void kv_learn_members(struct kv *kv, const struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct raft_conf cf;
		struct kv_cmd c;
		struct kv_url u[KV_URLS_MAX];
		size_t nu;
		struct err er = { 0 };

		if (e[i].type == RAFT_ENTRY_CONF && conf_member(&e[i], &cf, &c) &&
		    c.member_op == KV_MEMBER_ADD && c.member != kv->id &&
		    kv_urls_parse(u, &nu, c.peer_urls, &er) == 0)
			kv_peer_learn(kv, c.member, &u[0]);
	}
}

/* Answer a quorum read from the store as it is now. */
static void qget_answer(struct kv *kv, struct kv_waiter *w, const struct kv_cmd *c, uint64_t raft_index)
{
	struct kv_result res = { .raft_index = raft_index, .raft_term = kv->raft.term };
	struct buf cause = BUF_INIT, body = BUF_INIT;
	int r = store_get(&kv->store, c->store.path, c->store.recursive, c->sorted, kv_now_ns(), &body,
			  &cause);

	res.code = r;
	res.body = &body;
	res.cause = cause.data ? cause.data : "";
	res.store_index = kv->store.index;
	waiter_done(kv, w, &res);
	buf_free(&body);
	buf_free(&cause);
}

static int apply_entry(struct kv *kv, const struct raft_entry *e, struct err *er)
{
	struct kv_cmd c;
	struct kv_waiter *w;
	struct kv_result res = { 0 };
	struct store_event ev;
	struct buf cause = BUF_INIT;
	int r;

	kv->applied = e->index;
	kv->log_bytes += e->len + sizeof(*e) + 32;
	if (e->type == RAFT_ENTRY_CONF) {
		struct raft_conf cf;

		if (raft_conf_entry_decode(&cf, e->data, e->len, NULL, NULL) < 0)
			return 0;
		kv->applied_conf = cf;
		if (!conf_member(e, &cf, &c))
			return 0;
		apply_member(kv, &c);
		if (c.origin == kv->id && (w = waiter_find(kv, c.seq))) {
			res.raft_index = e->index;
			res.raft_term = kv->raft.term;
			res.store_index = kv->store.index;
			waiter_done(kv, w, &res);
		}
		return 0;
	}
	if (!e->len)
		return 0;
	if (kv_cmd_decode(&c, e->data, e->len) < 0) {
		/* The leader checks what it proposes, so this is a bug or a
		 * damaged log; every member skips it alike. */
		log_err("entry %llu: not a command, skipped", (unsigned long long)e->index);
		return 0;
	}
	w = c.origin == kv->id ? waiter_find(kv, c.seq) : NULL;
	res.raft_index = e->index;
	res.raft_term = kv->raft.term;
	switch (c.kind) {
	case KV_CMD_MEMBER:
		apply_member(kv, &c);
		res.store_index = kv->store.index;
		if (w)
			waiter_done(kv, w, &res);
		return 0;
	case KV_CMD_ATTR:
		kv_member_attr(kv, c.member, c.name, c.client_urls);
		res.store_index = kv->store.index;
		if (w)
			waiter_done(kv, w, &res);
		return 0;
	case KV_CMD_QGET:
		if (w)
			qget_answer(kv, w, &c, e->index);
		return 0;
	case KV_CMD_STORE:
		break;
	}
	r = store_apply(&kv->store, &c.store, &ev, &cause);
	if (r < 0) {
		/* Every member must make the same change: one that cannot
		 * must stop and replay the log when it starts again. */
		buf_free(&cause);
		err_set(er, 0, "apply entry %llu: %s", (unsigned long long)e->index, strerror(-r));
		return r;
	}
	if (c.store.op == STORE_EXPIRE || c.store.has_ttl || c.store.refresh)
		kv->expiry_dirty = true;
	if (w) {
		res.code = r;
		res.ev = r == 0 ? &ev : NULL;
		res.cause = cause.data ? cause.data : "";
		res.store_index = kv->store.index;
		waiter_done(kv, w, &res);
	}
	if (r == 0)
		store_event_free(&ev);
	buf_free(&cause);
	return 0;
}

/* A read waiting for its index goes to the leader again, or through the
 * log (by_log): reads may be asked twice. */
static void read_again(struct kv *kv, struct kv_waiter *w, bool by_log)
{
	w->reading = false;
	w->sent = false;
	w->by_log = by_log;
	kv->nreading--;
	kv->nunsent++;
}

/* This member's read w is confirmed at index (0: refused). */
static void read_confirmed(struct kv *kv, struct kv_waiter *w, uint64_t index)
{
	if (!w || !w->reading || w->read_index)
		return;
	if (!index)
		read_again(kv, w, true);
	else
		w->read_index = index;
}

/* Answer the reads whose index this member has applied; send the ones
 * still unconfirmed again if their leader or term has passed (Raft drops
 * the pending reads of a leader that steps down, a follower's leader may
 * never answer). */
static void reads_sweep(struct kv *kv)
{
	bool moved = kv->raft.term != kv->reads_term || kv->raft.leader != kv->reads_leader;
	struct kv_waiter *w = kv->waiters, *next;

	kv->reads_term = kv->raft.term;
	kv->reads_leader = kv->raft.leader;
	if (moved)
		memset(kv->remote, 0, sizeof(kv->remote));
	for (; w && kv->nreading; w = next) {
		struct kv_cmd c;

		next = w->next;
		if (!w->reading)
			continue;
		if (w->read_index && w->read_index <= kv->applied) {
			if (kv_cmd_decode(&c, w->cmd.data, w->cmd.len) < 0)
				read_again(kv, w, true);
			else
				qget_answer(kv, w, &c, kv->raft.commit);
		} else if (!w->read_index && moved &&
			   (w->read_term != kv->raft.term || w->read_leader != kv->raft.leader)) {
			read_again(kv, w, false);
		}
	}
}

void kv_read_asked(struct kv *kv, uint64_t from, uint64_t seq)
{
	uint64_t ctx = KV_REMOTE_READ | ++kv->remote_next;
	struct kv_remote_read *r = &kv->remote[kv->remote_next % KV_REMOTE_READS];

	/* No longer the leader: no answer; the follower asks again when it
	 * learns of the next one. */
	if (kv->raft.role != RAFT_LEADER)
		return;
	if (r->ctx || raft_read_index(&kv->raft, ctx) < 0) {
		kv_peer_read_index(kv, from, seq, 0);
		return;
	}
	*r = (struct kv_remote_read){ ctx, from, seq };
}

void kv_read_index(struct kv *kv, uint64_t from, uint64_t seq, uint64_t index)
{
	struct kv_waiter *w = waiter_find(kv, seq);

	/* Only from the leader it was asked of. */
	if (w && w->read_leader == from && w->read_term == kv->raft.term)
		read_confirmed(kv, w, index);
}

/* A read Raft confirmed here, the leader: this member's own, or a
 * follower's, which is told its index. */
static void read_ready(struct kv *kv, uint64_t ctx, uint64_t index)
{
	struct kv_remote_read *r = &kv->remote[(ctx & ~KV_REMOTE_READ) % KV_REMOTE_READS];

	if (!(ctx & KV_REMOTE_READ)) {
		read_confirmed(kv, waiter_find(kv, ctx), index);
	} else if (r->ctx == ctx) {
		kv_peer_read_index(kv, r->from, r->seq, index);
		r->ctx = 0;
	}
}

/* --- expiry, driven by the leader ------------------------------------------------ */

static void expiry_fire(struct loop *l, void *arg)
{
	struct kv *kv = arg;
	struct kv_cmd c = { .kind = KV_CMD_STORE };
	struct buf b = BUF_INIT;
	int64_t idx;

	if (kv->raft.role != RAFT_LEADER || kv->expire_index)
		return;
	c.store.op = STORE_EXPIRE;
	c.store.path = "/";
	c.store.time_ns = kv_now_ns();
	if (kv_cmd_encode(&c, &b) == 0 && (idx = raft_propose(&kv->raft, b.data, (uint32_t)b.len)) > 0)
		kv->expire_index = (uint64_t)idx;
	buf_free(&b);
	if (!kv->expire_index)
		loop_timer_set(l, &kv->expiry, 100, expiry_fire, kv);
}

static void expiry_arm(struct kv *kv)
{
	int64_t next = store_next_expiry(&kv->store), now = kv_now_ns();

	if (kv->raft.role != RAFT_LEADER || !next || kv->expire_index) {
		loop_timer_cancel(kv->loop, &kv->expiry);
		return;
	}
	loop_timer_set(kv->loop, &kv->expiry, next > now ? (uint64_t)(next - now) / 1000000 + 1 : 0,
		       expiry_fire, kv);
}

/* --- the Raft loop ----------------------------------------------------------------- */

static void tick_fire(struct loop *l, void *arg)
{
	struct kv *kv = arg;

	raft_tick(&kv->raft);
	loop_timer_set(l, &kv->tick, kv->tick_ms, tick_fire, kv);
}

static void send_all(struct kv *kv, const struct raft_ready *rd)
{
	for (size_t i = 0; i < rd->nmsgs; i++) {
		if (rd->msgs[i].type == RAFT_MSG_APPEND)
			kv->stats.send_append++;
		kv_peer_send(kv, &rd->msgs[i]);
	}
}

int kv_node_ready(struct kv *kv, struct err *e)
{
	int r;

	while (raft_has_ready(&kv->raft)) {
		struct raft_ready rd;
		bool sync = false;

		raft_ready(&kv->raft, &rd);
		kv_learn_members(kv, rd.entries, rd.nentries);
		/* A leader's messages go first: its followers write while it does. */
		if (rd.role == RAFT_LEADER)
			send_all(kv, &rd);
		if (rd.has_snapshot) {
			/* Written with the hard state into a fresh WAL segment. */
			if ((r = kv_snapshot_persist(kv, &rd, e)) < 0)
				return r;
			rd.hs_changed = false;
		}
		/* Entries before the hard state: a crash that cuts the batch
		 * short cuts the commit index with the entries it covers. */
		if (rd.nentries) {
			if ((r = wal_entries(&kv->wal, rd.entries, rd.nentries)) < 0)
				goto wal_failed;
			sync = true;
		}
		if (rd.hs_changed) {
			if ((r = wal_hard_state(&kv->wal, &rd.hs)) < 0)
				goto wal_failed;
			/* A term or a vote must be durable before anything is sent
			 * (section 3.8); the commit index need not be (it is
			 * learnt again from the leader), so it alone is written
			 * with the next sync, as etcd does. */
			sync = sync || rd.hs.term != kv->hs_synced.term || rd.hs.vote != kv->hs_synced.vote;
		}
		if (sync) {
			if ((r = wal_sync(&kv->wal, e)) < 0)
				return r;
			kv->hs_synced = rd.hs;
		}
		if (rd.role != RAFT_LEADER)
			send_all(kv, &rd);
		if (rd.has_snapshot && (r = kv_snapshot_apply(kv, &rd, e)) < 0)
			return r;
		for (size_t i = 0; i < rd.ncommitted; i++) {
			if ((r = apply_entry(kv, &rd.committed[i], e)) < 0)
				return r;
		}
		for (size_t i = 0; i < rd.nreads; i++)
			read_ready(kv, rd.reads[i].context, rd.reads[i].index);
		if (kv->nreading)
			reads_sweep(kv);
		if (rd.leader != kv->leader) {
			kv->leader = rd.leader;
			kv->leader_since_ns = kv_now_ns();
			kv->expire_index = 0;
			kv->expiry_dirty = true;
			if (rd.leader != RAFT_NONE)
				log_info("leader is %llx, term %llu", (unsigned long long)rd.leader,
					 (unsigned long long)rd.hs.term);
		}
		raft_advance(&kv->raft, &rd);
		/* Raft now serves the snapshot it took to members behind. */
		if (rd.has_snapshot)
			raft_compact(&kv->raft, kv->snap_index, kv->snap_blob.data, kv->snap_blob.len);
	}
	if ((r = kv_snapshot_maybe(kv, e)) < 0)
		return r;
	if (kv->expire_index && kv->applied >= kv->expire_index) {
		kv->expire_index = 0;
		kv->expiry_dirty = true;
	}
	if (kv->nreading || kv->raft.term != kv->reads_term || kv->raft.leader != kv->reads_leader)
		reads_sweep(kv);
	if (kv->nunsent && kv->leader != RAFT_NONE)
		for (struct kv_waiter *w = kv->waiters; w; w = w->next)
			waiter_send(kv, w);
	publish(kv);
	/* Walking the tree for the next expiry costs: only when it may have
	 * moved (a TTL set or refreshed, an expiry applied, a new leader). */
	if (kv->expiry_dirty) {
		kv->expiry_dirty = false;
		expiry_arm(kv);
	}
	return 0;
wal_failed:
	err_set(e, 0, "write-ahead log: %s", strerror(-r));
	return r;
}

/* --- start and stop ------------------------------------------------------------------ */

/* mkdir -p, mode 0700 as etcd makes its data directory. */
static int mkdirs(const char *path)
{
	char p[4096];
	size_t n = strlen(path);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i])
			continue;
		p[i] = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		p[i] = i < n ? '/' : 0;
	}
	return 0;
}

/* The seed of the election timeouts: no secret, so it does not wait for
 * the kernel's random pool. */
static uint64_t seed(void)
{
	uint64_t s;

	rand_id_bytes(&s, sizeof(s));
	return s | 1;
}

/* A member of a new cluster: who it is in --initial-cluster. */
static int bootstrap(struct kv *kv, struct kv_member *m, size_t *n, struct err *e)
{
	const struct kv_member *self = NULL;
	int r;

	if ((r = kv_cluster_parse(m, n, kv->cfg.initial_cluster, kv->cfg.token, e)) < 0)
		return r;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(m[i].name, kv->cfg.name))
			self = &m[i];
	if (!self) {
		err_set(e, 0, "--initial-cluster has no member named %s", kv->cfg.name);
		return -EINVAL;
	}
	kv->id = self->id;
	kv->cluster_id = kv_cluster_id(m, *n);
	return 0;
}

int kv_node_start(struct kv *kv, struct err *e)
{
	struct kv_member *init = calloc(RAFT_MEMBERS_MAX, sizeof(*init));
	size_t ninit = 0;
	struct wal_state st;
	struct raft_config rc = { 0 };
	char dir[4096];
	int r;

	if (!init)
		return -ENOMEM;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/wal", kv->cfg.data_dir) >= sizeof(dir)) {
		err_set(e, 0, "--data-dir is too long");
		r = -ENAMETOOLONG;
		goto out_init;
	}
	if ((r = mkdirs(kv->cfg.data_dir)) < 0) {
		err_set(e, 0, "%s: %s", kv->cfg.data_dir, strerror(-r));
		goto out_init;
	}
	if ((r = wal_open(&kv->wal, dir, &st, e)) < 0)
		goto out_init;
	if (!st.found) {
		/* A new member: of a new cluster (--initial-cluster names
		 * everyone), or one joining a running cluster, which says
		 * who is in it. The table is kept in the WAL: flags are not
		 * read again once the member exists, as etcd's are not. */
		struct wal_meta *m = &st.meta;
		struct buf b = BUF_INIT;

		if ((r = kv->cfg.cluster_existing ? kv_peers_join(kv, init, &ninit, e) :
						     bootstrap(kv, init, &ninit, e)) < 0)
			goto out;
		memset(m, 0, sizeof(*m));
		m->member_id = kv->id;
		m->cluster_id = kv->cluster_id;
		for (size_t i = 0; i < ninit; i++)
			m->conf.voters[m->conf.nvoters++] = init[i].id;
		if ((r = kv_members_encode(init, ninit, &b)) < 0 || b.len > sizeof(m->members)) {
			buf_free(&b);
			r = -ENOMEM;
			goto out;
		}
		memcpy(m->members, b.data, b.len);
		m->members_len = b.len;
		buf_free(&b);
		if ((r = wal_meta(&kv->wal, m)) < 0 || (r = wal_sync(&kv->wal, e)) < 0)
			goto out;
	} else if (st.meta.members_len) {
		kv->id = st.meta.member_id;
		kv->cluster_id = st.meta.cluster_id;
		if (kv_members_decode(init, &ninit, st.meta.members, st.meta.members_len) < 0) {
			err_set(e, 0, "%s: the member table in the write-ahead log is damaged", dir);
			r = -EBADMSG;
			goto out;
		}
	} else {
		/* A directory from before the WAL kept the member table:
		 * --initial-cluster, as it was bootstrapped. */
		if ((r = bootstrap(kv, init, &ninit, e)) < 0)
			goto out;
		if (st.meta.member_id != kv->id) {
			err_set(e, 0, "%s belongs to member %llx, not %llx (%s)", kv->cfg.data_dir,
				(unsigned long long)st.meta.member_id, (unsigned long long)kv->id,
				kv->cfg.name);
			r = -EINVAL;
			goto out;
		}
		kv->cluster_id = st.meta.cluster_id;
	}
	kv_members_set(kv, init, ninit);
	kv->meta = st.meta;
	kv->applied_conf = st.meta.conf;
	if ((r = store_init(&kv->store)) < 0)
		goto out;
	rc.snapshot.conf = st.meta.conf;
	if (st.snap_index) {
		if ((r = kv_snapshot_load(kv, st.snap_index, st.snap_term, &rc.snapshot.conf, e)) < 0)
			goto out;
		kv->applied_conf = rc.snapshot.conf;
	}
	if (st.truncated_bytes)
		log_warn("write-ahead log: cut %llu bytes of an unfinished write",
			 (unsigned long long)st.truncated_bytes);
	rc.id = kv->id;
	/* A tick is a tenth of the heartbeat interval: election timeouts are
	 * drawn from [election, 2 x election) in steps of a tick, and with
	 * a hundred steps instead of ten, two members rarely time out
	 * together and split the vote (section 3.4). */
	kv->tick_ms = kv->cfg.heartbeat_ms >= 10 ? kv->cfg.heartbeat_ms / 10 : 1;
	rc.heartbeat_tick = kv->cfg.heartbeat_ms / kv->tick_ms;
	rc.election_tick = kv->cfg.election_ms / kv->tick_ms;
	rc.pre_vote = true;
	rc.check_quorum = true;
	rc.seed = seed();
	rc.hs = st.hs;
	kv->hs_synced = st.hs;
	rc.snapshot.index = st.snap_index;
	rc.snapshot.term = st.snap_term;
	rc.entries = st.entries;
	rc.nentries = st.nentries;
	rc.conf = st.meta.conf;
	if ((r = raft_init(&kv->raft, &rc)) < 0) {
		err_set(e, 0, "the stored Raft state does not hold together (%s)", strerror(-r));
		goto out;
	}
	kv->applied = st.snap_index;
	if (st.snap_index)
		raft_compact(&kv->raft, st.snap_index, kv->snap_blob.data, kv->snap_blob.len);
	kv->seq = (uint64_t)kv_now_ns();
	kv->start_ns = kv_now_ns();
	log_info("member %llx (%s) of cluster %llx: term %llu, %zu entries in the log",
		 (unsigned long long)kv->id, kv->cfg.name, (unsigned long long)kv->cluster_id,
		 (unsigned long long)st.hs.term, st.nentries);
	loop_timer_set(kv->loop, &kv->tick, kv->tick_ms, tick_fire, kv);
	loop_timer_set(kv->loop, &kv->timeouts, 100, timeouts_fire, kv);
	r = 0;
out:
	wal_state_free(&st);
out_init:
	free(init);
	return r;
}

void kv_node_stop(struct kv *kv)
{
	struct kv_result res = { .code = -ECANCELED };

	while (kv->waiters)
		waiter_done(kv, kv->waiters, &res);
	raft_free(&kv->raft);
	store_free(&kv->store);
	wal_close(&kv->wal);
	buf_free(&kv->snap_blob);
}
