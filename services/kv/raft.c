#include "raft.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- small things ------------------------------------------------------- */

static uint64_t rand_next(struct raft *r)
{
	/* xorshift64*: enough to spread election timeouts (section 3.4). */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1DULL;
}

static void reset_timeout(struct raft *r)
{
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->randomized_timeout = r->election_tick + (unsigned)(rand_next(r) % r->election_tick);
}

static bool in_list(const uint64_t *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

bool raft_is_voter(const struct raft_conf *c, uint64_t id)
{
	return in_list(c->voters, c->nvoters, id);
}

static size_t quorum(const struct raft *r)
{
	return r->conf.nvoters / 2 + 1;
}

const char *raft_role_name(enum raft_role role)
{
	static const char *const names[] = { "follower", "pre-candidate", "candidate", "leader" };

	return role <= RAFT_LEADER ? names[role] : "?";
}

const char *raft_msg_name(enum raft_msg_type type)
{
	static const char *const names[] = {
		"PreVote", "PreVoteResp", "Vote", "VoteResp", "Append", "AppendResp",
		"Heartbeat", "HeartbeatResp", "Snapshot", "TimeoutNow",
	};

	return type < RAFT_MSG_TYPES ? names[type] : "?";
}

/* --- configurations ------------------------------------------------------ */

int raft_conf_encode(const struct raft_conf *c, unsigned char *out, size_t len)
{
	size_t need = 2 + 8 * (c->nvoters + c->nlearners);

	if (c->nvoters > RAFT_MEMBERS_MAX || c->nlearners > RAFT_MEMBERS_MAX || len < need)
		return -EINVAL;
	out[0] = (unsigned char)c->nvoters;
	out[1] = (unsigned char)c->nlearners;
	for (size_t i = 0; i < c->nvoters + c->nlearners; i++) {
		uint64_t id = i < c->nvoters ? c->voters[i] : c->learners[i - c->nvoters];

		for (int b = 0; b < 8; b++)
			out[2 + 8 * i + b] = (unsigned char)(id >> (56 - 8 * b));
	}
	return (int)need;
}

int raft_conf_decode(struct raft_conf *c, const unsigned char *in, size_t len)
{
	size_t nv, nl;

	if (len < 2)
		return -EINVAL;
	nv = in[0];
	nl = in[1];
	if (nv > RAFT_MEMBERS_MAX || nl > RAFT_MEMBERS_MAX || len != 2 + 8 * (nv + nl))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < nv + nl; i++) {
		uint64_t id = 0;

		for (int b = 0; b < 8; b++)
			id = id << 8 | in[2 + 8 * i + b];
		if (id == RAFT_NONE || in_list(c->voters, c->nvoters, id) ||
		    in_list(c->learners, c->nlearners, id))
			return -EINVAL;
		if (i < nv)
			c->voters[c->nvoters++] = id;
		else
			c->learners[c->nlearners++] = id;
	}
	return 0;
}

int raft_conf_entry_decode(struct raft_conf *c, const unsigned char *in, size_t len,
			   const unsigned char **ctx, size_t *ctx_len)
{
	size_t need;

	if (len < 2)
		return -EINVAL;
	need = 2 + 8 * ((size_t)in[0] + in[1]);
	if (len < need || raft_conf_decode(c, in, need) < 0)
		return -EINVAL;
	if (ctx) {
		*ctx = in + need;
		*ctx_len = len - need;
	}
	return 0;
}

/* --- the log ------------------------------------------------------------- */

uint64_t raft_last_index(const struct raft *r)
{
	return r->first_index + r->nlog - 1;
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
	if (index < r->first_index || index > raft_last_index(r))
		return NULL;
	return &r->log[index - r->first_index];
}

/* The term of the entry at index; 0 when it is unknown (compacted, or past
 * the end). The snapshot's own index has the snapshot's term. */
static uint64_t term_at(const struct raft *r, uint64_t index)
{
	const struct raft_entry *e;

	if (index == r->snapshot.index)
		return r->snapshot.term;
	e = raft_entry_at(r, index);
	return e ? e->term : 0;
}

uint64_t raft_last_term(const struct raft *r)
{
	return term_at(r, raft_last_index(r));
}

/* Section 3.6.1: is a candidate's log at least as up to date as ours? */
static bool up_to_date(const struct raft *r, uint64_t term, uint64_t index)
{
	uint64_t lt = raft_last_term(r);

	return term > lt || (term == lt && index >= raft_last_index(r));
}

static void entry_free(struct raft_entry *e)
{
	free(e->data);
	e->data = NULL;
}

/* Drop entries from index on (a follower's conflicting suffix). */
static void log_truncate(struct raft *r, uint64_t index)
{
	while (r->nlog && raft_last_index(r) >= index)
		entry_free(&r->log[--r->nlog]);
	if (r->stable >= index)
		r->stable = index - 1;
}

static int log_reserve(struct raft *r, size_t more)
{
	struct raft_entry *n;
	size_t cap;

	if (r->nlog + more <= r->caplog)
		return 0;
	cap = r->caplog ? r->caplog : 64;
	while (cap < r->nlog + more)
		cap *= 2;
	if (!(n = realloc(r->log, cap * sizeof(*n))))
		return -ENOMEM;
	r->log = n;
	r->caplog = cap;
	return 0;
}

/* Append one entry (its data copied) at the end. */
static int log_push(struct raft *r, uint64_t term, uint8_t type, const void *data, uint32_t len)
{
	struct raft_entry *e;
	unsigned char *copy = NULL;

	if (log_reserve(r, 1) < 0)
		return -ENOMEM;
	if (len && !(copy = malloc(len)))
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	e = &r->log[r->nlog++];
	*e = (struct raft_entry){ term, raft_last_index(r), type, len, copy };
	return 0;
}

static void progress_keep_reset(struct raft *r);

/*
 * The configuration in force: the newest committed one in the log, else
 * the snapshot's. A change takes effect once committed under the
 * configuration before it, as etcd's Raft does, rather than once appended
 * (section 4.1): so a member can be added to a cluster of one before it
 * runs. Safety holds the same way, because the leader allows one change
 * at a time and only after it has committed an entry of its own term
 * (raft_change_conf). pending_conf_index is the newest configuration entry
 * in the log if it is not in force yet.
 */
static void reads_ack(struct raft *r, uint64_t from, uint64_t seq);

static void conf_recompute(struct raft *r)
{
	uint64_t was = r->conf_index;
	bool found = false;

	r->pending_conf_index = 0;
	for (size_t i = r->nlog; i-- > 0 && !found;) {
		struct raft_conf c;

		if (r->log[i].type != RAFT_ENTRY_CONF ||
		    raft_conf_entry_decode(&c, r->log[i].data, r->log[i].len, NULL, NULL) < 0)
			continue;
		if (r->log[i].index > r->commit) {
			if (!r->pending_conf_index)
				r->pending_conf_index = r->log[i].index;
			continue;
		}
		r->conf = c;
		r->conf_index = r->log[i].index;
		found = true;
	}
	if (!found) {
		r->conf = r->snapshot.conf;
		r->conf_index = 0;
	}
	if (r->role == RAFT_LEADER && r->conf_index != was) {
		progress_keep_reset(r);
		/* Fewer voters may make a quorum of the acks already in (down
		 * to this member alone, whom no heartbeat answers). */
		if (r->npending_reads)
			reads_ack(r, r->id, r->read_seq);
	}
}

/* --- messages ------------------------------------------------------------ */

static struct raft_msg *msg_new(struct raft *r, enum raft_msg_type type, uint64_t to)
{
	struct raft_msg *m;

	if (r->nmsgs == RAFT_MSGS_MAX)
		return NULL;	/* dropped: Raft resends what matters */
	m = &r->msgs[r->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
	return m;
}

static struct raft_progress *progress(struct raft *r, uint64_t id)
{
	for (size_t i = 0; i < r->nprs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

/* --- roles ---------------------------------------------------------------- */

static void become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
	if (term != r->term) {
		r->term = term;
		r->vote = RAFT_NONE;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	r->transferee = RAFT_NONE;
	r->npending_reads = 0;
	r->read_round_due = false;
	reset_timeout(r);
}

static void progress_reset(struct raft *r)
{
	uint64_t last = raft_last_index(r);

	r->nprs = 0;
	for (size_t k = 0; k < r->conf.nvoters + r->conf.nlearners; k++) {
		struct raft_progress *p = &r->prs[r->nprs++];
		bool learner = k >= r->conf.nvoters;

		memset(p, 0, sizeof(*p));
		p->id = learner ? r->conf.learners[k - r->conf.nvoters] : r->conf.voters[k];
		p->learner = learner;
		p->next = last + 1;
		p->state = PR_PROBE;
		p->hb_unblock = true;
		/* The leader's own log counts once it is on disk (raft_advance). */
		if (p->id == r->id)
			p->match = r->stable < last ? r->stable : last;
	}
}

static void send_append(struct raft *r, struct raft_progress *p, bool empty_too);

/* Progress for a new configuration, keeping what is known of those in both. */
static void progress_keep_reset(struct raft *r)
{
	struct raft_progress old[RAFT_MEMBERS_MAX * 2];
	size_t nold = r->nprs;

	memcpy(old, r->prs, sizeof(old));
	progress_reset(r);
	for (size_t i = 0; i < r->nprs; i++)
		for (size_t k = 0; k < nold; k++)
			if (old[k].id == r->prs[i].id) {
				bool learner = r->prs[i].learner;

				r->prs[i] = old[k];
				r->prs[i].learner = learner;
			}
	/* A member just removed gets one last append, whose commit index
	 * covers its removal: it applies that and can stop, instead of
	 * waiting for a leader that no longer writes to it. */
	for (size_t k = 0; k < nold; k++)
		if (old[k].id != r->id && !progress(r, old[k].id)) {
			struct raft_progress p = old[k];

			p.state = PR_PROBE;
			p.paused = false;
			p.next = p.match + 1;
			send_append(r, &p, true);
		}
}

static void broadcast_append(struct raft *r)
{
	for (size_t i = 0; i < r->nprs; i++)
		if (r->prs[i].id != r->id)
			send_append(r, &r->prs[i], false);
}

static void become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = r->id;
	r->transferee = RAFT_NONE;
	r->npending_reads = 0;
	r->read_round_due = false;
	reset_timeout(r);
	progress_reset(r);
	/* Section 3.6.2: an entry of the new term lets earlier ones commit; it
	 * also makes ReadIndex possible (section 6.4). */
	if (log_push(r, r->term, RAFT_ENTRY_NORMAL, NULL, 0) == 0) {
		struct raft_progress *self = progress(r, r->id);

		if (self)
			self->next = raft_last_index(r) + 1;
	}
	broadcast_append(r);
}

static bool maybe_commit(struct raft *r);

/* Start an election: a pre-vote round first when asked (section 9.6). */
static void campaign(struct raft *r, bool pre, bool transfer)
{
	enum raft_msg_type type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;
	uint64_t term = pre ? r->term + 1 : r->term;

	if (pre) {
		r->role = RAFT_PRE_CANDIDATE;
		r->leader = RAFT_NONE;
		reset_timeout(r);
	} else {
		become_follower(r, r->term + 1, RAFT_NONE);
		r->role = RAFT_CANDIDATE;
		r->vote = r->id;
		term = r->term;
	}
	r->ngranted = r->nrefused = 0;
	r->granted[r->ngranted++] = r->id;
	if (r->ngranted >= quorum(r)) {
		if (pre)
			campaign(r, false, transfer);
		else
			become_leader(r);
		return;
	}
	for (size_t i = 0; i < r->conf.nvoters; i++) {
		struct raft_msg *m;

		if (r->conf.voters[i] == r->id || !(m = msg_new(r, type, r->conf.voters[i])))
			continue;
		m->term = term;
		m->index = raft_last_index(r);
		m->log_term = raft_last_term(r);
		m->context = transfer;
	}
}

/* --- replication (leader) ------------------------------------------------- */

static void send_snapshot(struct raft *r, struct raft_progress *p)
{
	struct raft_msg *m;

	if (!r->snap_data && r->snapshot.index)
		return;	/* the caller has not given its snapshot yet */
	if (!(m = msg_new(r, RAFT_MSG_SNAPSHOT, p->id)))
		return;
	m->snap = r->snapshot;
	m->snap_data = r->snap_data;
	m->snap_len = r->snap_len;
	p->state = PR_SNAPSHOT;
	p->snap_elapsed = 0;
	p->pending_snapshot = r->snapshot.index;
}

/* An AppendEntries for p (section 3.5); in the replicate state several go
 * out without waiting (pipelining). With nothing new to send, an empty one
 * goes when empty_too (it makes a follower that lost messages say where
 * its log ends), or to carry a commit index p has not been sent; never
 * otherwise, or every answer to an empty append would call for another.
 * The entries are attached by raft_ready(), from the log as it is then. */
static void send_append(struct raft *r, struct raft_progress *p, bool empty_too)
{
	uint64_t last = raft_last_index(r), prev, end, commit;
	size_t bytes = 0;
	struct raft_msg *m;

	if (p->state == PR_SNAPSHOT || (p->state == PR_PROBE && p->paused) ||
	    (p->state == PR_REPLICATE && p->inflight == RAFT_INFLIGHT_MAX))
		return;
	if (p->next < r->first_index) {
		send_snapshot(r, p);
		return;
	}
	prev = p->next - 1;
	for (end = p->next; end <= last; end++) {
		bytes += raft_entry_at(r, end)->len;
		if (end > p->next && bytes > RAFT_MSG_BYTES_MAX)
			break;
	}
	/* What the follower may commit on this message: no further than the
	 * entries it carries. */
	commit = r->commit < end - 1 ? r->commit : end - 1;
	if (end == p->next && !empty_too &&
	    ((p->state == PR_REPLICATE && p->inflight) || p->sent_commit >= commit))
		return;	/* nothing new, and the commit index is on its way or known */
	if (!(m = msg_new(r, RAFT_MSG_APPEND, p->id)))
		return;
	m->index = prev;
	m->log_term = term_at(r, prev);
	m->nentries = (size_t)(end - p->next);
	m->commit = r->commit;
	if (commit > p->sent_commit)
		p->sent_commit = commit;
	if (p->state == PR_REPLICATE) {
		if (m->nentries) {
			p->inflight_last[p->inflight++] = end - 1;
			p->next = end;
		}
	} else {
		p->paused = true;
	}
}

static void inflight_free_to(struct raft_progress *p, uint64_t index)
{
	size_t k = 0;

	while (k < p->inflight && p->inflight_last[k] <= index)
		k++;
	memmove(p->inflight_last, p->inflight_last + k, (p->inflight - k) * sizeof(uint64_t));
	p->inflight -= (unsigned)k;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Section 3.6.2: the highest index a majority holds, if it is of this term. */
static bool maybe_commit(struct raft *r)
{
	uint64_t m[RAFT_MEMBERS_MAX], idx;
	size_t n = 0;

	for (size_t i = 0; i < r->nprs; i++)
		if (!r->prs[i].learner && raft_is_voter(&r->conf, r->prs[i].id))
			m[n++] = r->prs[i].match;
	if (!n)
		return false;
	qsort(m, n, sizeof(m[0]), cmp_desc);
	idx = m[quorum(r) - 1];
	if (idx > r->commit && term_at(r, idx) == r->term) {
		r->commit = idx;
		return true;
	}
	return false;
}

static void after_commit(struct raft *r);

static void leader_append_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *p = progress(r, m->from);

	if (!p)
		return;
	p->recent_active = true;
	if (m->reject) {
		/* Only the answer to what was sent last counts (older ones are stale). */
		if (p->state == PR_REPLICATE) {
			if (m->index <= p->match)
				return;
			p->state = PR_PROBE;
			p->inflight = 0;
		} else if (p->next - 1 != m->index) {
			return;
		}
		p->next = m->index < m->hint + 1 ? m->index : m->hint + 1;
		if (p->next <= p->match)
			p->next = p->match + 1;
		if (p->next < 1)
			p->next = 1;
		p->paused = false;
		send_append(r, p, true);
		return;
	}
	if (p->state == PR_SNAPSHOT && m->index >= p->pending_snapshot) {
		p->state = PR_PROBE;
		p->paused = false;
	}
	if (m->index > p->match) {
		p->match = m->index;
		if (p->next <= p->match)
			p->next = p->match + 1;
		if (p->state == PR_PROBE) {
			p->state = PR_REPLICATE;
			p->paused = false;
			p->inflight = 0;
			p->next = p->match + 1;
		} else {
			inflight_free_to(p, m->index);
		}
		if (maybe_commit(r)) {
			after_commit(r);
			if (r->role != RAFT_LEADER)
				return;
			broadcast_append(r);
			/* A configuration that took effect rebuilt the progress
			 * table: p may now be another member's, or none. */
			if (!(p = progress(r, m->from)))
				return;
		}
	} else if (p->state == PR_PROBE) {
		p->paused = false;
	}
	send_append(r, p, false);
	if (r->transferee == m->from && p->match == raft_last_index(r))
		msg_new(r, RAFT_MSG_TIMEOUT_NOW, m->from);
}

/* --- reads (section 6.4) ---------------------------------------------------- */

static void reads_ack(struct raft *r, uint64_t from, uint64_t seq)
{
	size_t done = 0;

	for (size_t i = 0; i < r->npending_reads; i++) {
		if (r->pending_reads[i].seq > seq)
			break;
		if (!in_list(r->pending_reads[i].acks, r->pending_reads[i].nacks, from) &&
		    raft_is_voter(&r->conf, from) && r->pending_reads[i].nacks < RAFT_MEMBERS_MAX)
			r->pending_reads[i].acks[r->pending_reads[i].nacks++] = from;
	}
	/* Confirmed in order: a later one's round also confirms the earlier. */
	for (size_t i = 0; i < r->npending_reads; i++)
		if (r->pending_reads[i].nacks >= quorum(r))
			done = i + 1;
	/* What does not fit in this ready stays pending, confirmed: the next
	 * ack hands it out. */
	if (done > RAFT_READS_MAX - r->nreads)
		done = RAFT_READS_MAX - r->nreads;
	for (size_t i = 0; i < done; i++)
		r->reads[r->nreads++] = (struct raft_read){ r->pending_reads[i].index,
							    r->pending_reads[i].context };
	memmove(r->pending_reads, r->pending_reads + done,
		(r->npending_reads - done) * sizeof(r->pending_reads[0]));
	r->npending_reads -= done;
}

static void broadcast_heartbeat(struct raft *r, uint64_t context)
{
	for (size_t i = 0; i < r->nprs; i++) {
		struct raft_progress *p = &r->prs[i];
		struct raft_msg *m;

		if (p->id == r->id || !(m = msg_new(r, RAFT_MSG_HEARTBEAT, p->id)))
			continue;
		m->commit = p->match < r->commit ? p->match : r->commit;
		m->context = context;
		if (m->commit > p->sent_commit)
			p->sent_commit = m->commit;
	}
}

int raft_read_index(struct raft *r, uint64_t context)
{
	size_t n = r->npending_reads;

	if (r->role != RAFT_LEADER)
		return -EPERM;
	if (term_at(r, r->commit) != r->term)
		return -EBUSY;
	if (quorum(r) == 1 && raft_is_voter(&r->conf, r->id)) {
		if (r->nreads == RAFT_READS_MAX)
			return -EBUSY;
		r->reads[r->nreads++] = (struct raft_read){ r->commit, context };
		return 0;
	}
	if (n == RAFT_READS_MAX)
		return -EBUSY;
	/* The round that confirms it must start after it was asked: the next
	 * one, shared by every read asked before the next ready. */
	if (!r->read_round_due) {
		r->read_seq++;
		r->read_round_due = true;
	}
	r->pending_reads[n].index = r->commit;
	r->pending_reads[n].seq = r->read_seq;
	r->pending_reads[n].context = context;
	r->pending_reads[n].nacks = 0;
	r->pending_reads[n].acks[r->pending_reads[n].nacks++] = r->id;
	r->npending_reads++;
	return 0;
}

/* --- followers ------------------------------------------------------------ */

static void follower_commit(struct raft *r, uint64_t commit)
{
	if (commit > r->commit) {
		uint64_t last = raft_last_index(r);

		r->commit = commit < last ? commit : last;
		if (r->pending_conf_index && r->pending_conf_index <= r->commit)
			conf_recompute(r);
	}
}

static void handle_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg *resp;
	uint64_t last_new;

	if (m->index < r->commit) {
		/* Already committed here: say how far this log goes. */
		if ((resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from)))
			resp->index = r->commit;
		return;
	}
	if (term_at(r, m->index) != m->log_term || m->index > raft_last_index(r)) {
		if ((resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from))) {
			resp->reject = true;
			resp->index = m->index;
			resp->hint = raft_last_index(r);
		}
		return;
	}
	/* Section 3.5: skip what matches, cut at the first conflict, append the rest. */
	for (size_t i = 0; i < m->nentries; i++) {
		const struct raft_entry *e = &m->entries[i];
		uint64_t t = term_at(r, e->index);

		if (e->index <= raft_last_index(r) && t == e->term)
			continue;
		if (e->index <= raft_last_index(r))
			log_truncate(r, e->index);
		if (e->index != raft_last_index(r) + 1 ||
		    log_push(r, e->term, e->type, e->data, e->len) < 0)
			return;	/* malformed, or out of memory: no answer, the leader retries */
		if (e->type == RAFT_ENTRY_CONF || t)
			conf_recompute(r);
	}
	last_new = m->index + m->nentries;
	follower_commit(r, m->commit < last_new ? m->commit : last_new);
	if ((resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from)))
		resp->index = last_new;
}

static void handle_snapshot(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg *resp;
	unsigned char *copy = NULL;

	if (m->snap.index <= r->commit) {
		if ((resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from)))
			resp->index = r->commit;
		return;
	}
	if (m->snap.index <= raft_last_index(r) && term_at(r, m->snap.index) == m->snap.term) {
		/* The log already holds it: commit up to it and keep the rest. */
		r->commit = m->snap.index;
		conf_recompute(r);
		if ((resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from)))
			resp->index = raft_last_index(r);
		return;
	}
	if (m->snap_len && !(copy = malloc(m->snap_len)))
		return;
	if (m->snap_len)
		memcpy(copy, m->snap_data, m->snap_len);
	/* Section 5.2: the snapshot replaces the whole log. */
	while (r->nlog)
		entry_free(&r->log[--r->nlog]);
	free(r->in_snap_data);
	r->in_snap_data = copy;
	r->in_snap_len = m->snap_len;
	r->snapshot = m->snap;
	r->first_index = m->snap.index + 1;
	r->commit = r->stable = m->snap.index;
	r->has_snapshot = true;
	conf_recompute(r);
	if ((resp = msg_new(r, RAFT_MSG_APPEND_RESP, m->from)))
		resp->index = m->snap.index;
}

/* --- votes ------------------------------------------------------------------- */

static void handle_vote(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can = r->vote == m->from || (r->vote == RAFT_NONE && r->leader == RAFT_NONE) ||
		   (pre && m->term > r->term);
	struct raft_msg *resp = NULL;

	if (can && up_to_date(r, m->log_term, m->index)) {
		if ((resp = msg_new(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from)))
			resp->term = m->term;
		if (!pre) {
			r->vote = m->from;
			r->election_elapsed = 0;
		} else if (r->role == RAFT_FOLLOWER) {
			/* Having granted a pre-vote, give that candidate time to
			 * win before campaigning too, so that two timeouts close
			 * together do not split the vote (section 9.6 leaves this
			 * open; only the timeout moves: election_elapsed still
			 * measures the leader's silence for section 4.2.3). */
			r->randomized_timeout = r->election_elapsed + r->election_tick +
						(unsigned)(rand_next(r) % r->election_tick);
		}
		return;
	}
	if ((resp = msg_new(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from)))
		resp->reject = true;
}

static void tally(struct raft *r, const struct raft_msg *m)
{
	if (in_list(r->granted, r->ngranted, m->from) || in_list(r->refused, r->nrefused, m->from) ||
	    !raft_is_voter(&r->conf, m->from))
		return;
	if (m->reject)
		r->refused[r->nrefused++] = m->from;
	else
		r->granted[r->ngranted++] = m->from;
	if (r->ngranted >= quorum(r)) {
		if (r->role == RAFT_PRE_CANDIDATE)
			campaign(r, false, false);
		else
			become_leader(r);
	} else if (r->nrefused >= quorum(r)) {
		become_follower(r, r->term, RAFT_NONE);
	}
}

/* --- stepping ------------------------------------------------------------------ */

/* Committed configuration changes that concern the leader itself. */
static void after_commit(struct raft *r)
{
	if (r->pending_conf_index && r->pending_conf_index <= r->commit)
		conf_recompute(r);
	/* Section 4.2.2: a leader removed from the configuration steps down
	 * once the change is committed. */
	if (r->role == RAFT_LEADER && !raft_is_voter(&r->conf, r->id))
		become_follower(r, r->term, RAFT_NONE);
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
	bool vote = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;

	if ((unsigned)m->type >= RAFT_MSG_TYPES || m->to != r->id || m->from == RAFT_NONE ||
	    m->from == r->id)
		return -EINVAL;

	if (m->term > r->term) {
		/* Section 4.2.3: while a leader is heard from, a vote request is a
		 * disrupting server's, and is ignored (not for a transfer). */
		if (vote && r->check_quorum && r->leader != RAFT_NONE && !m->context &&
		    r->election_elapsed < r->election_tick)
			return 0;
		if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
			/* A pre-vote never changes terms. */
		} else if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
			   m->type == RAFT_MSG_SNAPSHOT) {
			become_follower(r, m->term, m->from);
		} else {
			become_follower(r, m->term, RAFT_NONE);
		}
	} else if (m->term < r->term) {
		struct raft_msg *resp;

		/* A stale leader learns the new term from the answer and steps down. */
		if ((r->check_quorum || r->pre_vote) &&
		    (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT))
			msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
		else if (m->type == RAFT_MSG_PREVOTE && (resp = msg_new(r, RAFT_MSG_PREVOTE_RESP, m->from)))
			resp->reject = true;
		return 0;
	}

	if (vote) {
		handle_vote(r, m);
		return 0;
	}
	switch (r->role) {
	case RAFT_FOLLOWER:
		switch (m->type) {
		case RAFT_MSG_APPEND:
			r->election_elapsed = 0;
			r->leader = m->from;
			handle_append(r, m);
			break;
		case RAFT_MSG_HEARTBEAT: {
			struct raft_msg *resp;

			r->election_elapsed = 0;
			r->leader = m->from;
			follower_commit(r, m->commit);
			if ((resp = msg_new(r, RAFT_MSG_HEARTBEAT_RESP, m->from)))
				resp->context = m->context;
			break;
		}
		case RAFT_MSG_SNAPSHOT:
			r->election_elapsed = 0;
			r->leader = m->from;
			handle_snapshot(r, m);
			break;
		case RAFT_MSG_TIMEOUT_NOW:
			if (raft_is_voter(&r->conf, r->id))
				campaign(r, false, true);
			break;
		default:
			break;
		}
		break;
	case RAFT_PRE_CANDIDATE:
	case RAFT_CANDIDATE:
		switch (m->type) {
		case RAFT_MSG_APPEND:
		case RAFT_MSG_HEARTBEAT:
		case RAFT_MSG_SNAPSHOT:
			/* Section 3.4: a leader of this term exists. */
			become_follower(r, m->term, m->from);
			return raft_step(r, m);
		case RAFT_MSG_PREVOTE_RESP:
			if (r->role == RAFT_PRE_CANDIDATE)
				tally(r, m);
			break;
		case RAFT_MSG_VOTE_RESP:
			if (r->role == RAFT_CANDIDATE)
				tally(r, m);
			break;
		default:
			break;
		}
		break;
	case RAFT_LEADER:
		switch (m->type) {
		case RAFT_MSG_APPEND_RESP:
			leader_append_resp(r, m);
			break;
		case RAFT_MSG_HEARTBEAT_RESP: {
			struct raft_progress *p = progress(r, m->from);

			if (!p)
				break;
			p->recent_active = true;
			if (p->hb_unblock) {
				p->hb_unblock = false;
				if (p->state == PR_PROBE)
					p->paused = false;
				/* Messages lost on the way never free their
				 * slots: the heartbeat's answer frees one, so
				 * replication goes on. */
				if (p->state == PR_REPLICATE && p->inflight == RAFT_INFLIGHT_MAX)
					inflight_free_to(p, p->inflight_last[0]);
				if (p->match < raft_last_index(r))
					send_append(r, p, true);
			}
			if (m->context)
				reads_ack(r, m->from, m->context);
			break;
		}
		default:
			break;
		}
		break;
	}
	return 0;
}

/* --- time ---------------------------------------------------------------------- */

void raft_tick(struct raft *r)
{
	if (r->role != RAFT_LEADER) {
		if (++r->election_elapsed >= r->randomized_timeout) {
			r->election_elapsed = 0;
			if (raft_is_voter(&r->conf, r->id))
				campaign(r, r->pre_vote, false);
		}
		return;
	}
	r->heartbeat_elapsed++;
	/* A snapshot that was lost on the way (a dropped connection, a
	 * member that restarted) is never answered: after two election
	 * timeouts the follower is probed again, and sent it again. */
	for (size_t i = 0; i < r->nprs; i++) {
		struct raft_progress *p = &r->prs[i];

		if (p->state == PR_SNAPSHOT && ++p->snap_elapsed >= 2 * r->election_tick) {
			p->state = PR_PROBE;
			p->paused = false;
			p->pending_snapshot = 0;
		}
	}
	if (++r->election_elapsed >= r->election_tick) {
		r->election_elapsed = 0;
		if (r->check_quorum) {
			size_t active = 0;

			for (size_t i = 0; i < r->nprs; i++) {
				struct raft_progress *p = &r->prs[i];

				if (raft_is_voter(&r->conf, p->id) && (p->id == r->id || p->recent_active))
					active++;
				p->recent_active = false;
			}
			/* Section 6.2: a leader cut off from a majority steps down. */
			if (active < quorum(r)) {
				become_follower(r, r->term, RAFT_NONE);
				return;
			}
		}
		if (r->transferee != RAFT_NONE)
			r->transferee = RAFT_NONE;	/* the transfer took too long: abort */
	}
	if (r->heartbeat_elapsed >= r->heartbeat_tick) {
		r->heartbeat_elapsed = 0;
		for (size_t i = 0; i < r->nprs; i++)
			r->prs[i].hb_unblock = true;
		broadcast_heartbeat(r, r->npending_reads ? r->read_seq : 0);
	}
}

/* --- the caller's requests -------------------------------------------------------- */

/* The leader appends an entry of its own and sends it on. Its index, or -ENOMEM. */
static int64_t leader_append(struct raft *r, uint8_t type, const void *data, uint32_t len)
{
	struct raft_progress *self;

	if (log_push(r, r->term, type, data, len) < 0)
		return -ENOMEM;
	if (type == RAFT_ENTRY_CONF)
		r->pending_conf_index = raft_last_index(r);
	if ((self = progress(r, r->id)))
		self->next = raft_last_index(r) + 1;
	if (maybe_commit(r))
		after_commit(r);
	broadcast_append(r);
	return (int64_t)raft_last_index(r);
}

int64_t raft_propose(struct raft *r, const void *data, uint32_t len)
{
	if (r->role != RAFT_LEADER)
		return -EPERM;
	if (r->transferee != RAFT_NONE)
		return -EBUSY;
	return leader_append(r, RAFT_ENTRY_NORMAL, data, len);
}

int64_t raft_change_conf(struct raft *r, enum raft_conf_change what, uint64_t id,
			 const void *ctx, size_t ctx_len)
{
	struct raft_conf c = r->conf;
	unsigned char *buf;
	int64_t idx;
	int n;

	if (r->role != RAFT_LEADER)
		return -EPERM;
	/* One change at a time, and none before this leader has committed an
	 * entry of its term: a change a previous leader left uncommitted may
	 * still be in force on some members. */
	if (r->pending_conf_index || r->transferee != RAFT_NONE || term_at(r, r->commit) != r->term)
		return -EBUSY;
	if (id == RAFT_NONE)
		return -EINVAL;
	/* Take it out of both lists, then put it where it goes. */
	for (size_t i = 0; i < c.nvoters; i++)
		if (c.voters[i] == id)
			c.voters[i] = c.voters[--c.nvoters];
	for (size_t i = 0; i < c.nlearners; i++)
		if (c.learners[i] == id)
			c.learners[i] = c.learners[--c.nlearners];
	if (what == RAFT_ADD_VOTER) {
		if (c.nvoters == RAFT_MEMBERS_MAX)
			return -EINVAL;
		c.voters[c.nvoters++] = id;
	} else if (what == RAFT_ADD_LEARNER) {
		if (c.nlearners == RAFT_MEMBERS_MAX)
			return -EINVAL;
		c.learners[c.nlearners++] = id;
	} else if (!raft_is_voter(&r->conf, id) && !in_list(r->conf.learners, r->conf.nlearners, id)) {
		return -EINVAL;
	}
	if (!c.nvoters)
		return -EINVAL;
	if (ctx_len > RAFT_CONF_CONTEXT_MAX)
		return -EINVAL;
	if (!(buf = malloc(RAFT_CONF_BYTES + ctx_len)))
		return -ENOMEM;
	if ((n = raft_conf_encode(&c, buf, RAFT_CONF_BYTES)) < 0) {
		free(buf);
		return n;
	}
	if (ctx_len)
		memcpy(buf + n, ctx, ctx_len);
	idx = leader_append(r, RAFT_ENTRY_CONF, buf, (uint32_t)((size_t)n + ctx_len));
	free(buf);
	return idx;
}

int raft_transfer_leader(struct raft *r, uint64_t to)
{
	struct raft_progress *p;

	if (r->role != RAFT_LEADER)
		return -EPERM;
	if (to == r->id || !raft_is_voter(&r->conf, to) || !(p = progress(r, to)))
		return -EINVAL;
	r->transferee = to;
	r->election_elapsed = 0;
	if (p->match == raft_last_index(r))
		msg_new(r, RAFT_MSG_TIMEOUT_NOW, to);
	else
		send_append(r, p, true);
	return 0;
}

int raft_compact(struct raft *r, uint64_t index, const void *data, size_t len)
{
	const struct raft_entry *e = raft_entry_at(r, index);
	size_t drop;

	if (index == r->snapshot.index) {
		r->snap_data = data;
		r->snap_len = len;
		return 0;
	}
	if (!e || index > r->applied)
		return -EINVAL;
	r->snapshot.index = index;
	r->snapshot.term = e->term;
	/* The configuration as of index: the newest conf entry at or before it. */
	for (uint64_t i = index; i >= r->first_index; i--) {
		const struct raft_entry *c = raft_entry_at(r, i);

		if (c->type == RAFT_ENTRY_CONF) {
			raft_conf_entry_decode(&r->snapshot.conf, c->data, c->len, NULL, NULL);
			break;
		}
		if (i == r->first_index)
			break;
	}
	drop = (size_t)(index - r->first_index + 1);
	for (size_t i = 0; i < drop; i++)
		entry_free(&r->log[i]);
	memmove(r->log, r->log + drop, (r->nlog - drop) * sizeof(*r->log));
	r->nlog -= drop;
	r->first_index = index + 1;
	r->snap_data = data;
	r->snap_len = len;
	return 0;
}

/* --- ready and advance -------------------------------------------------------------- */

bool raft_has_ready(const struct raft *r)
{
	return r->nmsgs || r->nreads || r->read_round_due || r->has_snapshot || r->stable < raft_last_index(r) ||
	       r->applied < r->commit || r->term != r->prev_hs.term || r->vote != r->prev_hs.vote ||
	       r->commit != r->prev_hs.commit;
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
	uint64_t last = raft_last_index(r), from;
	size_t out = 0;

	if (r->read_round_due) {
		r->read_round_due = false;
		broadcast_heartbeat(r, r->read_seq);
	}
	memset(rd, 0, sizeof(*rd));
	rd->hs = (struct raft_hard_state){ r->term, r->vote, r->commit };
	rd->hs_changed = memcmp(&rd->hs, &r->prev_hs, sizeof(rd->hs)) != 0;
	if (r->has_snapshot) {
		rd->has_snapshot = true;
		rd->snapshot = r->snapshot;
		rd->snapshot_data = r->in_snap_data;
		rd->snapshot_len = r->in_snap_len;
	}
	from = r->stable + 1 < r->first_index ? r->first_index : r->stable + 1;
	if (from <= last) {
		rd->entries = &r->log[from - r->first_index];
		rd->nentries = (size_t)(last - from + 1);
	}
	/* Messages: attach the entries of each APPEND, from the log as it is. */
	for (size_t i = 0; i < r->nmsgs; i++) {
		struct raft_msg *m = &r->msgs[i];

		if (m->type == RAFT_MSG_APPEND && m->nentries) {
			uint64_t first = m->index + 1;

			if (first < r->first_index || first + m->nentries - 1 > last)
				continue;	/* compacted meanwhile: the progress resends */
			m->entries = &r->log[first - r->first_index];
		}
		r->msgs[out++] = *m;
	}
	r->nmsgs = out;
	rd->msgs = r->msgs;
	rd->nmsgs = r->nmsgs;
	from = r->applied + 1;
	if (r->has_snapshot && from <= r->snapshot.index)
		from = r->snapshot.index + 1;
	if (from < r->first_index)
		from = r->first_index;
	if (from <= r->commit) {
		rd->committed = &r->log[from - r->first_index];
		rd->ncommitted = (size_t)(r->commit - from + 1);
	}
	rd->reads = r->reads;
	rd->nreads = r->nreads;
	rd->leader = r->leader;
	rd->role = r->role;
	r->ready_stable = last;
	r->ready_applied = r->commit;
}

void raft_advance(struct raft *r, const struct raft_ready *rd)
{
	r->prev_hs = rd->hs;
	if (r->ready_stable > r->stable)
		r->stable = r->ready_stable;
	if (r->ready_applied > r->applied)
		r->applied = r->ready_applied;
	r->nmsgs = 0;
	r->nreads = 0;
	if (r->role == RAFT_LEADER) {
		/* Section 10.2.1: the leader's own entries count toward a
		 * majority only once they are durable, so that it may send them
		 * to followers before writing them itself. */
		struct raft_progress *self = progress(r, r->id);

		if (self && r->stable > self->match) {
			self->match = r->stable;
			if (maybe_commit(r))
				after_commit(r);
		}
	}
	if (rd->has_snapshot) {
		r->has_snapshot = false;
		/* The caller keeps its own copy; this one served the apply. */
		free(r->in_snap_data);
		r->in_snap_data = NULL;
		r->in_snap_len = 0;
	}
}

/* --- life ------------------------------------------------------------------------ */

int raft_init(struct raft *r, const struct raft_config *c)
{
	memset(r, 0, sizeof(*r));
	if (c->id == RAFT_NONE || c->election_tick < 2 || !c->heartbeat_tick ||
	    c->heartbeat_tick >= c->election_tick)
		return -EINVAL;
	r->id = c->id;
	r->election_tick = c->election_tick;
	r->heartbeat_tick = c->heartbeat_tick;
	r->pre_vote = c->pre_vote;
	r->check_quorum = c->check_quorum;
	r->rng = c->seed ? c->seed : 0x9E3779B97F4A7C15ULL ^ c->id;
	r->snapshot = c->snapshot;
	if (!r->snapshot.index)
		r->snapshot.conf = c->conf;
	r->first_index = r->snapshot.index + 1;
	for (size_t i = 0; i < c->nentries; i++) {
		const struct raft_entry *e = &c->entries[i];

		int err = e->index != raft_last_index(r) + 1 ||
				  e->term < term_at(r, raft_last_index(r)) ? -EINVAL : 0;

		if (!err)
			err = log_push(r, e->term, e->type, e->data, e->len);
		if (err) {
			raft_free(r);
			return err;
		}
	}
	r->term = c->hs.term;
	r->vote = c->hs.vote;
	r->commit = c->hs.commit < r->snapshot.index ? r->snapshot.index : c->hs.commit;
	if (r->commit > raft_last_index(r))
		r->commit = raft_last_index(r);
	conf_recompute(r);
	if (!r->conf.nvoters) {
		raft_free(r);
		return -EINVAL;
	}
	r->applied = r->snapshot.index;
	r->stable = raft_last_index(r);
	r->prev_hs = (struct raft_hard_state){ r->term, r->vote, r->commit };
	r->role = RAFT_FOLLOWER;
	reset_timeout(r);
	return 0;
}

void raft_free(struct raft *r)
{
	while (r->nlog)
		entry_free(&r->log[--r->nlog]);
	free(r->log);
	free(r->in_snap_data);
	r->log = NULL;
	r->in_snap_data = NULL;
}
