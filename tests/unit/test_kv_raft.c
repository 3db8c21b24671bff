/*
 * Raft (services/kv/raft.c) in simulated clusters: a few members in memory,
 * a network that can drop, cut and heal, disks that survive restarts, and
 * time as ticks. Every run checks the safety properties whatever faults it
 * injects (section 3.6.3): one leader per term, and no two members apply
 * different entries at the same index.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

#define N_MAX 5
#define APPLIED_MAX 4096
#define QUEUE_MAX 100000

struct disk {
	struct raft_hard_state hs;
	struct raft_entry *log;		/* from index 1 (or after the snapshot) */
	size_t nlog;
	struct raft_snapshot_meta snap;
	unsigned char *snap_data;
	size_t snap_len;
};

struct member {
	struct raft r;
	bool up;
	struct disk disk;
	/* What the state machine applied: data of each normal entry, by index. */
	char *applied[APPLIED_MAX];
	uint64_t applied_to;
	uint64_t reads_done[64];
	size_t nreads_done;
};

struct net_msg {
	struct raft_msg m;
	struct raft_entry *entries;
	unsigned char *snap;
};

struct sim {
	struct member mem[N_MAX + 1];	/* by id; [0] unused */
	size_t n;
	bool cut[N_MAX + 1][N_MAX + 1];	/* cut[a][b]: a cannot reach b */
	unsigned drop_percent;
	uint64_t rng;
	struct net_msg *q;
	size_t nq;
	uint64_t leader_of_term[4096];
	struct raft_conf boot;		/* the cluster's first configuration */
	size_t sent[RAFT_MSG_TYPES];	/* messages handed to send(), by type */
};

static uint64_t sim_rand(struct sim *s)
{
	s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return s->rng >> 33;
}

static struct raft_entry copy_entry(const struct raft_entry *e)
{
	struct raft_entry c = *e;

	c.data = NULL;
	if (e->len) {
		c.data = malloc(e->len);
		memcpy(c.data, e->data, e->len);
	}
	return c;
}

static void disk_free(struct disk *d)
{
	for (size_t i = 0; i < d->nlog; i++)
		free(d->log[i].data);
	free(d->log);
	free(d->snap_data);
	memset(d, 0, sizeof(*d));
}

static void member_start(struct sim *s, uint64_t id, const struct raft_conf *conf)
{
	struct member *m = &s->mem[id];
	struct raft_config c = {
		.id = id, .election_tick = 10, .heartbeat_tick = 1, .pre_vote = true,
		.check_quorum = true, .seed = id * 7919 + s->rng,
		.hs = m->disk.hs, .snapshot = m->disk.snap,
		.entries = m->disk.log, .nentries = m->disk.nlog,
	};

	c.conf = conf ? *conf : s->boot;
	assert_int_equal(raft_init(&m->r, &c), 0);
	if (m->disk.snap.index) {
		raft_compact(&m->r, m->disk.snap.index, m->disk.snap_data, m->disk.snap_len);
		m->applied_to = m->disk.snap.index;
	} else {
		m->applied_to = 0;
	}
	/* The state machine is rebuilt from the log on restart. */
	m->up = true;
}

static void sim_init(struct sim *s, size_t n, uint64_t seed)
{
	struct raft_conf conf = { .nvoters = n };

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->rng = seed;
	s->q = calloc(QUEUE_MAX, sizeof(*s->q));
	for (size_t i = 0; i < n; i++)
		conf.voters[i] = i + 1;
	s->boot = conf;
	for (uint64_t id = 1; id <= n; id++)
		member_start(s, id, &conf);
}

static void sim_free(struct sim *s)
{
	for (uint64_t id = 1; id <= N_MAX; id++) {
		struct member *m = &s->mem[id];

		if (m->up)
			raft_free(&m->r);
		disk_free(&m->disk);
		for (size_t i = 0; i < APPLIED_MAX; i++)
			free(m->applied[i]);
	}
	for (size_t i = 0; i < s->nq; i++) {
		for (size_t k = 0; k < s->q[i].m.nentries; k++)
			free(s->q[i].entries[k].data);
		free(s->q[i].entries);
		free(s->q[i].snap);
	}
	free(s->q);
}

/* The disk: entries at index i replace i and what follows. */
static void persist(struct member *m, const struct raft_ready *rd)
{
	struct disk *d = &m->disk;

	if (rd->hs_changed)
		d->hs = rd->hs;
	if (rd->has_snapshot) {
		for (size_t i = 0; i < d->nlog; i++)
			free(d->log[i].data);
		d->nlog = 0;
		d->snap = rd->snapshot;
		free(d->snap_data);
		d->snap_data = malloc(rd->snapshot_len + 1);
		memcpy(d->snap_data, rd->snapshot_data, rd->snapshot_len);
		d->snap_len = rd->snapshot_len;
	}
	for (size_t i = 0; i < rd->nentries; i++) {
		const struct raft_entry *e = &rd->entries[i];
		uint64_t first = d->snap.index + 1;

		assert_true(e->index >= first);
		while (d->nlog && d->log[d->nlog - 1].index >= e->index)
			free(d->log[--d->nlog].data);
		assert_int_equal(e->index, first + d->nlog);
		d->log = realloc(d->log, (d->nlog + 1) * sizeof(*d->log));
		d->log[d->nlog++] = copy_entry(e);
	}
}

/* The state machine: a snapshot is the list of applied commands, joined. */
static void apply(struct sim *s, struct member *m, const struct raft_ready *rd)
{
	if (rd->has_snapshot) {
		const char *p = rd->snapshot_data;

		/* The snapshot holds "index=data\n" lines. */
		for (size_t i = 0; i < APPLIED_MAX; i++) {
			free(m->applied[i]);
			m->applied[i] = NULL;
		}
		while (p && p < (const char *)rd->snapshot_data + rd->snapshot_len) {
			char *nl = memchr(p, '\n', (size_t)((const char *)rd->snapshot_data + rd->snapshot_len - p));
			uint64_t idx = strtoull(p, NULL, 10);
			const char *eq = strchr(p, '=');

			m->applied[idx] = strndup(eq + 1, (size_t)(nl - eq - 1));
			p = nl + 1;
		}
		m->applied_to = rd->snapshot.index;
	}
	for (size_t i = 0; i < rd->ncommitted; i++) {
		const struct raft_entry *e = &rd->committed[i];

		assert_int_equal(e->index, m->applied_to + 1);
		m->applied_to = e->index;
		if (e->type == RAFT_ENTRY_NORMAL && e->len) {
			assert_true(e->index < APPLIED_MAX);
			m->applied[e->index] = strndup((const char *)e->data, e->len);
		}
	}
	for (size_t i = 0; i < rd->nreads; i++) {
		assert_true(rd->reads[i].index <= m->applied_to || rd->reads[i].index <= m->r.commit);
		if (m->nreads_done < 64)
			m->reads_done[m->nreads_done++] = rd->reads[i].context;
	}
	/* Safety: one leader per term (section 3.6.3, Election Safety). */
	if (rd->role == RAFT_LEADER && m->r.term < 4096) {
		uint64_t *l = &s->leader_of_term[m->r.term];

		assert_true(*l == 0 || *l == m->r.id);
		*l = m->r.id;
	}
}

static void send(struct sim *s, const struct raft_msg *m)
{
	struct net_msg *n;

	s->sent[m->type]++;
	if (!s->mem[m->to].up || s->cut[m->from][m->to] ||
	    (s->drop_percent && sim_rand(s) % 100 < s->drop_percent) || s->nq == QUEUE_MAX)
		return;
	n = &s->q[s->nq++];
	n->m = *m;
	n->entries = NULL;
	n->snap = NULL;
	if (m->nentries) {
		n->entries = malloc(m->nentries * sizeof(*n->entries));
		for (size_t i = 0; i < m->nentries; i++)
			n->entries[i] = copy_entry(&m->entries[i]);
	}
	n->m.entries = n->entries;
	if (m->type == RAFT_MSG_SNAPSHOT) {
		n->snap = malloc(m->snap_len + 1);
		memcpy(n->snap, m->snap_data, m->snap_len);
		n->m.snap_data = n->snap;
	}
}

static void process(struct sim *s, uint64_t id)
{
	struct member *m = &s->mem[id];
	struct raft_ready rd;

	while (m->up && raft_has_ready(&m->r)) {
		raft_ready(&m->r, &rd);
		persist(m, &rd);
		for (size_t i = 0; i < rd.nmsgs; i++)
			send(s, &rd.msgs[i]);
		apply(s, m, &rd);
		raft_advance(&m->r, &rd);
	}
}

/* Deliver what is queued (and what that causes), in a shuffled order. */
static void deliver(struct sim *s)
{
	for (int rounds = 0; rounds < 50 && s->nq; rounds++) {
		size_t n = s->nq;
		struct net_msg *batch = malloc(n * sizeof(*batch));

		memcpy(batch, s->q, n * sizeof(*batch));
		s->nq = 0;
		for (size_t i = n; i > 1; i--) {
			size_t j = sim_rand(s) % i;
			struct net_msg t = batch[i - 1];

			batch[i - 1] = batch[j];
			batch[j] = t;
		}
		for (size_t i = 0; i < n; i++) {
			struct member *to = &s->mem[batch[i].m.to];

			if (to->up && !s->cut[batch[i].m.from][batch[i].m.to]) {
				raft_step(&to->r, &batch[i].m);
				process(s, batch[i].m.to);
			}
			for (size_t k = 0; k < batch[i].m.nentries; k++)
				free(batch[i].entries[k].data);
			free(batch[i].entries);
			free(batch[i].snap);
		}
		free(batch);
	}
}

static void tick(struct sim *s, unsigned ticks)
{
	for (unsigned t = 0; t < ticks; t++) {
		for (uint64_t id = 1; id <= s->n; id++)
			if (s->mem[id].up) {
				raft_tick(&s->mem[id].r);
				process(s, id);
			}
		deliver(s);
	}
}

static uint64_t leader(struct sim *s)
{
	uint64_t l = 0, term = 0;

	for (uint64_t id = 1; id <= s->n; id++)
		if (s->mem[id].up && s->mem[id].r.role == RAFT_LEADER && s->mem[id].r.term >= term)
			l = id, term = s->mem[id].r.term;
	return l;
}

static uint64_t wait_leader(struct sim *s, unsigned max_ticks)
{
	for (unsigned t = 0; t < max_ticks; t++) {
		uint64_t l = leader(s);

		if (l)
			return l;
		tick(s, 1);
	}
	return 0;
}

static int64_t propose(struct sim *s, uint64_t id, const char *text)
{
	int64_t idx = raft_propose(&s->mem[id].r, text, (uint32_t)strlen(text));

	process(s, id);
	deliver(s);
	return idx;
}

/* State Machine Safety (section 3.6.3): no two members applied different
 * commands at one index. */
static void check_safety(struct sim *s)
{
	for (size_t i = 1; i < APPLIED_MAX; i++) {
		const char *seen = NULL;

		for (uint64_t id = 1; id <= s->n; id++) {
			const char *a = s->mem[id].applied[i];

			if (!a)
				continue;
			if (seen)
				assert_string_equal(seen, a);
			seen = a;
		}
	}
}

static void crash(struct sim *s, uint64_t id)
{
	struct member *m = &s->mem[id];

	raft_free(&m->r);
	m->up = false;
	for (size_t i = 0; i < APPLIED_MAX; i++) {
		free(m->applied[i]);
		m->applied[i] = NULL;
	}
}

static void restart(struct sim *s, uint64_t id)
{
	member_start(s, id, NULL);
	/* Replaying the snapshot and the committed log rebuilds the state. */
	if (s->mem[id].disk.snap.index) {
		struct raft_ready rd = { .has_snapshot = true, .snapshot = s->mem[id].disk.snap,
					 .snapshot_data = s->mem[id].disk.snap_data,
					 .snapshot_len = s->mem[id].disk.snap_len };
		apply(s, &s->mem[id], &rd);
	}
}

static void isolate(struct sim *s, uint64_t id, bool cut)
{
	for (uint64_t o = 1; o <= N_MAX; o++) {
		s->cut[id][o] = cut;
		s->cut[o][id] = cut;
	}
}

/* --- tests ----------------------------------------------------------------- */

static void three_members_elect_one_leader_and_replicate(void **state)
{
	struct sim s;
	uint64_t l, commit;

	sim_init(&s, 3, 1);
	l = wait_leader(&s, 100);
	assert_int_not_equal(l, 0);
	for (int i = 0; i < 20; i++) {
		char cmd[32];

		snprintf(cmd, sizeof(cmd), "set k%d", i);
		assert_true(propose(&s, l, cmd) > 0);
	}
	tick(&s, 5);
	commit = s.mem[l].r.commit;
	for (uint64_t id = 1; id <= 3; id++) {
		assert_int_equal(s.mem[id].r.commit, commit);
		assert_int_equal(s.mem[id].applied_to, commit);
		assert_int_equal(s.mem[id].r.leader, l);
		assert_int_equal(s.mem[id].r.term, s.mem[l].r.term);
	}
	assert_string_equal(s.mem[1].applied[commit], "set k19");
	check_safety(&s);
	/* A follower refuses proposals and names the leader. */
	assert_int_equal(raft_propose(&s.mem[l % 3 + 1].r, "x", 1), -EPERM);
	sim_free(&s);
}

static void a_lone_member_leads_itself(void **state)
{
	struct sim s;

	sim_init(&s, 1, 2);
	assert_int_equal(wait_leader(&s, 30), 1);
	assert_true(propose(&s, 1, "solo") > 0);
	assert_string_equal(s.mem[1].applied[s.mem[1].r.commit], "solo");
	sim_free(&s);
}

static void a_cut_off_leader_steps_down_and_its_entries_are_dropped(void **state)
{
	struct sim s;
	uint64_t old, fresh;
	int64_t lost;

	sim_init(&s, 5, 3);
	old = wait_leader(&s, 100);
	assert_true(propose(&s, old, "before") > 0);
	tick(&s, 3);
	isolate(&s, old, true);
	lost = propose(&s, old, "lost");
	assert_true(lost > 0);
	tick(&s, 40);
	fresh = leader(&s);
	assert_int_not_equal(fresh, 0);
	assert_int_not_equal(fresh, old);
	/* CheckQuorum (section 6.2): the old leader noticed and stepped down. */
	assert_int_not_equal(s.mem[old].r.role, RAFT_LEADER);
	assert_true(propose(&s, fresh, "after") > 0);
	isolate(&s, old, false);
	tick(&s, 30);
	for (uint64_t id = 1; id <= 5; id++) {
		assert_int_equal(s.mem[id].r.leader, fresh);
		assert_int_equal(s.mem[id].r.commit, s.mem[fresh].r.commit);
	}
	/* The entry the old leader took alone was never applied anywhere. */
	for (uint64_t id = 1; id <= 5; id++)
		for (size_t i = 1; i < APPLIED_MAX; i++)
			if (s.mem[id].applied[i])
				assert_string_not_equal(s.mem[id].applied[i], "lost");
	check_safety(&s);
	sim_free(&s);
}

static void prevote_keeps_an_isolated_member_from_raising_terms(void **state)
{
	struct sim s;
	uint64_t l, f, term;

	sim_init(&s, 3, 4);
	l = wait_leader(&s, 100);
	term = s.mem[l].r.term;
	f = l % 3 + 1;
	isolate(&s, f, true);
	tick(&s, 200);
	/* Section 9.6: it kept failing pre-votes, so its term never moved. */
	assert_int_equal(s.mem[f].r.term, term);
	isolate(&s, f, false);
	tick(&s, 20);
	assert_int_equal(leader(&s), l);
	assert_int_equal(s.mem[l].r.term, term);
	sim_free(&s);
}

static void a_restarted_member_recovers_from_its_disk(void **state)
{
	struct sim s;
	uint64_t l, f;

	sim_init(&s, 3, 5);
	l = wait_leader(&s, 100);
	f = l % 3 + 1;
	propose(&s, l, "one");
	tick(&s, 3);
	crash(&s, f);
	propose(&s, l, "two");
	propose(&s, l, "three");
	tick(&s, 3);
	restart(&s, f);
	tick(&s, 20);
	assert_int_equal(s.mem[f].r.commit, s.mem[l].r.commit);
	assert_string_equal(s.mem[f].applied[s.mem[l].r.commit], "three");
	check_safety(&s);
	sim_free(&s);
}

/* The state machine's snapshot: its applied commands, one per line. */
static char *snapshot_of(struct member *m, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);

	for (size_t i = 1; i <= m->applied_to && i < APPLIED_MAX; i++)
		if (m->applied[i])
			n += (size_t)snprintf(out + n, cap - n, "%zu=%s\n", i, m->applied[i]);
	*len = n;
	return out;
}

static void a_lagging_member_gets_a_snapshot(void **state)
{
	struct sim s;
	uint64_t l, f;
	char *snap;
	size_t len;

	sim_init(&s, 3, 6);
	l = wait_leader(&s, 100);
	f = l % 3 + 1;
	isolate(&s, f, true);
	for (int i = 0; i < 50; i++) {
		char cmd[16];

		snprintf(cmd, sizeof(cmd), "w%d", i);
		propose(&s, l, cmd);
	}
	tick(&s, 3);
	snap = snapshot_of(&s.mem[l], &len);
	assert_int_equal(raft_compact(&s.mem[l].r, s.mem[l].r.applied, snap, len), 0);
	assert_null(raft_entry_at(&s.mem[l].r, s.mem[l].r.applied));
	isolate(&s, f, false);
	tick(&s, 30);
	assert_int_equal(s.mem[f].r.commit, s.mem[l].r.commit);
	assert_string_equal(s.mem[f].applied[s.mem[l].r.commit], "w49");
	assert_int_equal(s.mem[f].disk.snap.index, s.mem[l].r.snapshot.index);
	check_safety(&s);
	sim_free(&s);
	free(snap);
}

static void members_are_added_and_removed_one_at_a_time(void **state)
{
	struct sim s;
	uint64_t l;
	int64_t idx;

	sim_init(&s, 3, 7);
	s.n = 4;
	l = wait_leader(&s, 100);
	/* The new member starts empty and learns the configuration from the log. */
	{
		struct raft_conf none = { .nvoters = 3, .voters = { 1, 2, 3 } };

		member_start(&s, 4, &none);
	}
	idx = raft_change_conf(&s.mem[l].r, RAFT_ADD_LEARNER, 4, NULL, 0);
	assert_true(idx > 0);
	assert_int_equal(raft_change_conf(&s.mem[l].r, RAFT_ADD_VOTER, 4, NULL, 0), -EBUSY);
	process(&s, l);
	deliver(&s);
	tick(&s, 5);
	assert_true(s.mem[4].r.commit >= (uint64_t)idx);
	assert_true(raft_change_conf(&s.mem[l].r, RAFT_ADD_VOTER, 4, NULL, 0) > 0);
	process(&s, l);
	tick(&s, 5);
	assert_int_equal(s.mem[l].r.conf.nvoters, 4);
	assert_true(raft_is_voter(&s.mem[4].r.conf, 4));
	propose(&s, l, "with four");
	tick(&s, 5);
	assert_string_equal(s.mem[4].applied[s.mem[l].r.commit], "with four");
	/* Removing the leader: it steps down once that is committed (4.2.2). */
	assert_true(raft_change_conf(&s.mem[l].r, RAFT_REMOVE, l, NULL, 0) > 0);
	process(&s, l);
	tick(&s, 60);
	assert_int_not_equal(leader(&s), 0);
	assert_int_not_equal(leader(&s), l);
	assert_false(raft_is_voter(&s.mem[leader(&s)].r.conf, l));
	check_safety(&s);
	sim_free(&s);
}

/* A change takes effect once committed under the configuration before it
 * (as etcd's): a member is added to a cluster of one before it runs, and
 * the cluster of two then waits for it. */
static void a_change_commits_under_the_old_configuration(void **state)
{
	struct sim s;
	uint64_t l;
	int64_t idx;

	sim_init(&s, 1, 11);
	l = wait_leader(&s, 100);
	assert_int_equal(l, 1);
	tick(&s, 2);
	idx = raft_change_conf(&s.mem[1].r, RAFT_ADD_VOTER, 2, "ctx", 3);
	assert_true(idx > 0);
	/* Not in force while it is only appended. */
	assert_int_equal(s.mem[1].r.conf.nvoters, 1);
	assert_int_equal(s.mem[1].r.pending_conf_index, (uint64_t)idx);
	assert_int_equal(raft_change_conf(&s.mem[1].r, RAFT_ADD_VOTER, 3, NULL, 0), -EBUSY);
	process(&s, 1);
	deliver(&s);
	/* Committed by the one member there was, then in force. */
	assert_true(s.mem[1].r.commit >= (uint64_t)idx);
	assert_int_equal(s.mem[1].r.conf.nvoters, 2);
	assert_int_equal(s.mem[1].r.pending_conf_index, 0);
	{
		const struct raft_entry *e = raft_entry_at(&s.mem[1].r, (uint64_t)idx);
		const unsigned char *ctx;
		size_t n;
		struct raft_conf c;

		assert_non_null(e);
		assert_int_equal(raft_conf_entry_decode(&c, e->data, e->len, &ctx, &n), 0);
		assert_int_equal(n, 3);
		assert_memory_equal(ctx, "ctx", 3);
		assert_int_equal(c.nvoters, 2);
	}
	/* With two voters and one running, nothing more commits... */
	idx = propose(&s, 1, "waits");
	tick(&s, 5);
	assert_true(s.mem[1].r.commit < (uint64_t)idx);
	/* ... until the new member starts (with the configuration it was
	 * told, as a joining member is) and catches up. */
	s.n = 2;
	{
		struct raft_conf two = { .nvoters = 2, .voters = { 1, 2 } };

		member_start(&s, 2, &two);
	}
	tick(&s, 20);
	assert_true(s.mem[1].r.commit >= (uint64_t)idx);
	assert_string_equal(s.mem[2].applied[idx], "waits");
	check_safety(&s);
	sim_free(&s);
}

/* A leader proposes no change before an entry of its own term is committed. */
static void no_change_before_the_leader_commits_in_its_term(void **state)
{
	struct raft r;
	struct raft_ready rd;
	struct raft_entry old = { .term = 2, .index = 1, .type = RAFT_ENTRY_NORMAL };
	struct raft_config c = {
		.id = 1, .election_tick = 10, .heartbeat_tick = 1, .pre_vote = true, .seed = 3,
		.conf = { .voters = { 1 }, .nvoters = 1 }, .hs = { 2, 1, 1 },
		.entries = &old, .nentries = 1,
	};

	c.snapshot.conf = c.conf;
	assert_int_equal(raft_init(&r, &c), 0);
	for (int i = 0; i < 40 && r.role != RAFT_LEADER; i++)
		raft_tick(&r);
	assert_int_equal(r.role, RAFT_LEADER);
	/* Its no-op of term 3 is not on disk yet, so not committed. */
	assert_int_equal(raft_change_conf(&r, RAFT_ADD_VOTER, 2, NULL, 0), -EBUSY);
	while (raft_has_ready(&r)) {
		raft_ready(&r, &rd);
		raft_advance(&r, &rd);
	}
	assert_int_equal(r.commit, 2);
	assert_true(raft_change_conf(&r, RAFT_ADD_VOTER, 2, NULL, 0) > 0);
	raft_free(&r);
}

static void leadership_moves_on_request(void **state)
{
	struct sim s;
	uint64_t l, to;

	sim_init(&s, 3, 8);
	l = wait_leader(&s, 100);
	to = l % 3 + 1;
	propose(&s, l, "x");
	assert_int_equal(raft_transfer_leader(&s.mem[l].r, to), 0);
	assert_int_equal(raft_propose(&s.mem[l].r, "y", 1), -EBUSY);
	process(&s, l);
	deliver(&s);
	tick(&s, 3);
	assert_int_equal(leader(&s), to);
	sim_free(&s);
}

static void read_index_needs_a_majority(void **state)
{
	struct sim s;
	uint64_t l;

	sim_init(&s, 3, 9);
	l = wait_leader(&s, 100);
	tick(&s, 2);
	assert_int_equal(raft_read_index(&s.mem[l].r, 77), 0);
	process(&s, l);
	deliver(&s);
	assert_int_equal(s.mem[l].nreads_done, 1);
	assert_int_equal(s.mem[l].reads_done[0], 77);
	/* Cut off, the leader cannot confirm it still leads: no read. */
	isolate(&s, l, true);
	assert_int_equal(raft_read_index(&s.mem[l].r, 78), 0);
	process(&s, l);
	deliver(&s);
	tick(&s, 3);
	assert_int_equal(s.mem[l].nreads_done, 1);
	sim_free(&s);
}

static size_t queued(const struct sim *s, enum raft_msg_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nq; i++)
		n += s->q[i].m.type == type;
	return n;
}

/* Reads asked between two readies share one heartbeat round; a read asked
 * after a round went out waits for the next one (it must start after the
 * read was asked), and none is confirmed before a majority answers. */
static void reads_between_readies_share_a_round(void **state)
{
	struct sim s;
	uint64_t l;
	size_t before;

	sim_init(&s, 3, 11);
	l = wait_leader(&s, 100);
	tick(&s, 2);
	process(&s, l);
	deliver(&s);
	before = queued(&s, RAFT_MSG_HEARTBEAT);
	for (uint64_t ctx = 1; ctx <= 3; ctx++)
		assert_int_equal(raft_read_index(&s.mem[l].r, ctx), 0);
	assert_int_equal(s.mem[l].r.nmsgs, 0);
	process(&s, l);
	assert_int_equal(queued(&s, RAFT_MSG_HEARTBEAT), before + 2);
	assert_int_equal(s.mem[l].nreads_done, 0);
	/* Asked now, the fourth cannot ride on the round already sent. */
	assert_int_equal(raft_read_index(&s.mem[l].r, 4), 0);
	assert_true(s.mem[l].r.read_round_due);
	assert_int_equal(s.mem[l].r.pending_reads[3].seq, s.mem[l].r.pending_reads[0].seq + 1);
	deliver(&s);
	assert_int_equal(s.mem[l].nreads_done, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(s.mem[l].reads_done[i], i + 1);
	sim_free(&s);
}

static size_t sent_total(const struct sim *s)
{
	size_t n = 0;

	for (size_t t = 0; t < RAFT_MSG_TYPES; t++)
		n += s->sent[t];
	return n;
}

/* An idle cluster costs one heartbeat per interval per follower and its
 * answer, nothing more: no append goes out when there is nothing to append
 * and every follower already knows the commit index. */
static void an_idle_cluster_sends_only_heartbeats(void **state)
{
	struct sim s;
	uint64_t l;
	unsigned hb = 1;	/* member_start's heartbeat_tick */

	sim_init(&s, 3, 5);
	l = wait_leader(&s, 100);
	assert_int_not_equal(l, 0);
	assert_true(propose(&s, l, "set k") > 0);
	tick(&s, 5);
	memset(s.sent, 0, sizeof(s.sent));
	tick(&s, 50 * hb);
	assert_int_equal(leader(&s), l);
	assert_int_equal(s.sent[RAFT_MSG_HEARTBEAT], 50 * 2);
	assert_int_equal(s.sent[RAFT_MSG_HEARTBEAT_RESP], 50 * 2);
	assert_int_equal(sent_total(&s), 50 * 2 * 2);
	/* A write in between costs its appends and answers, then quiet again. */
	assert_true(propose(&s, l, "set k2") > 0);
	tick(&s, 1);
	memset(s.sent, 0, sizeof(s.sent));
	tick(&s, 50 * hb);
	assert_int_equal(sent_total(&s), 50 * 2 * 2);
	sim_free(&s);
}

/* Deliver the first queued message that matches (0 or -1: any), and
 * queue what it causes. false if none matched. */
static bool deliver_first(struct sim *s, uint64_t from, uint64_t to, int type, int64_t index)
{
	for (size_t i = 0; i < s->nq; i++) {
		struct net_msg n = s->q[i];

		if ((from && n.m.from != from) || (to && n.m.to != to) ||
		    (type >= 0 && (int)n.m.type != type) || (index >= 0 && n.m.index != (uint64_t)index))
			continue;
		memmove(&s->q[i], &s->q[i + 1], (s->nq - i - 1) * sizeof(*s->q));
		s->nq--;
		raft_step(&s->mem[n.m.to].r, &n.m);
		process(s, n.m.to);
		for (size_t k = 0; k < n.m.nentries; k++)
			free(n.entries[k].data);
		free(n.entries);
		free(n.snap);
		return true;
	}
	return false;
}

static size_t queued_to(const struct sim *s, enum raft_msg_type type, uint64_t to)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nq; i++)
		n += s->q[i].m.type == type && s->q[i].m.to == to;
	return n;
}

/* An answer that commits a configuration change rebuilds the leader's
 * progress table; what the leader then does for the member that answered
 * (more entries, or the go-ahead of a leadership transfer) is decided on
 * that member's progress, not on whoever took its place in the table. */
static void a_configuration_change_committed_by_an_answer_is_followed_up_for_that_member(void **state)
{
	struct sim s;
	uint64_t l, rm, a;
	int64_t x;

	/* A cluster that 3 does not lead: 3 is the last voter in the table,
	 * and when another voter is removed it moves into that one's place
	 * and the learner into its own. */
	for (uint64_t seed = 13;; seed++) {
		sim_init(&s, 3, seed);
		l = wait_leader(&s, 100);
		if (l != 3)
			break;
		sim_free(&s);
	}
	s.n = 4;
	{
		struct raft_conf none = { .nvoters = 3, .voters = { 1, 2, 3 } };

		member_start(&s, 4, &none);
	}
	assert_true(raft_change_conf(&s.mem[l].r, RAFT_ADD_LEARNER, 4, NULL, 0) > 0);
	process(&s, l);
	deliver(&s);
	tick(&s, 5);
	/* rm is removed, and a's answer commits that. */
	rm = l == 1 ? 2 : 1;
	a = 3;
	x = raft_change_conf(&s.mem[l].r, RAFT_REMOVE, rm, NULL, 0);
	assert_true(x > 0);
	process(&s, l);
	assert_int_equal(raft_propose(&s.mem[l].r, "after", 5), x + 1);
	process(&s, l);
	assert_int_equal(raft_transfer_leader(&s.mem[l].r, a), 0);
	process(&s, l);
	/* The learner gets everything; a gets the change but not what follows. */
	while (deliver_first(&s, 0, 4, -1, -1) || deliver_first(&s, 4, l, -1, -1))
		;
	assert_int_equal(raft_last_index(&s.mem[4].r), (uint64_t)x + 1);
	assert_true(deliver_first(&s, l, a, RAFT_MSG_APPEND, x - 1));
	assert_true(deliver_first(&s, a, l, RAFT_MSG_APPEND_RESP, x));
	assert_true(s.mem[l].r.commit >= (uint64_t)x);
	assert_false(raft_is_voter(&s.mem[l].r.conf, rm));
	/* a lacks x + 1: it must not be told to campaign yet. */
	assert_int_equal(queued_to(&s, RAFT_MSG_TIMEOUT_NOW, a), 0);
	deliver(&s);
	tick(&s, 5);
	assert_int_equal(leader(&s), a);
	check_safety(&s);
	sim_free(&s);
}

static void bad_messages_are_refused(void **state)
{
	struct sim s;
	struct raft_msg m = { .type = RAFT_MSG_TYPES, .from = 2, .to = 1, .term = 1 };

	sim_init(&s, 3, 10);
	assert_int_equal(raft_step(&s.mem[1].r, &m), -EINVAL);
	m.type = RAFT_MSG_APPEND;
	m.to = 3;
	assert_int_equal(raft_step(&s.mem[1].r, &m), -EINVAL);
	m.to = 1;
	m.from = 1;
	assert_int_equal(raft_step(&s.mem[1].r, &m), -EINVAL);
	/* An append whose entries do not follow their prev index changes nothing. */
	{
		struct raft_entry e = { .term = 1, .index = 7 };

		m.from = 2;
		m.index = 0;
		m.log_term = 0;
		m.entries = &e;
		m.nentries = 1;
		assert_int_equal(raft_step(&s.mem[1].r, &m), 0);
		assert_int_equal(raft_last_index(&s.mem[1].r), 0);
	}
	sim_free(&s);
}

static unsigned count_down(struct sim *s)
{
	unsigned n = 0;

	for (uint64_t id = 1; id <= s->n; id++)
		n += !s->mem[id].up || s->cut[id][id % s->n + 1];
	return n;
}

/* Random partitions, message loss, crashes and restarts, many seeds, at
 * most two of five members out at once: the safety properties hold all
 * along, the cluster keeps committing, and everyone catches up once healed. */
static void random_faults_never_break_safety(void **state)
{
	unsigned changes = 0;

	for (uint64_t seed = 100; seed < 130; seed++) {
		struct sim s;
		unsigned proposed = 0;

		sim_init(&s, 5, seed);
		for (int round = 0; round < 60; round++) {
			uint64_t l = leader(&s), victim = sim_rand(&s) % 5 + 1;
			char cmd[32];

			switch (sim_rand(&s) % 7) {
			case 0:
				if (s.cut[victim][victim % 5 + 1])
					isolate(&s, victim, false);
				else if (count_down(&s) < 2)
					isolate(&s, victim, true);
				break;
			case 1:
				s.drop_percent = (unsigned)(sim_rand(&s) % 30);
				break;
			case 2:
				if (!s.mem[victim].up)
					restart(&s, victim);
				else if (count_down(&s) < 2)
					crash(&s, victim);
				break;
			case 3:
				/* Member 5 leaves the configuration and comes back. */
				if (l && raft_change_conf(&s.mem[l].r, raft_is_voter(&s.mem[l].r.conf, 5) ?
							  RAFT_REMOVE : RAFT_ADD_VOTER, 5, NULL, 0) > 0)
					changes++;
				break;
			default:
				if (l) {
					snprintf(cmd, sizeof(cmd), "s%lu-r%d", (unsigned long)seed, round);
					if (propose(&s, l, cmd) > 0)
						proposed++;
				}
			}
			tick(&s, 3);
			check_safety(&s);
		}
		/* Heal everything: a leader emerges and everyone catches up. */
		memset(s.cut, 0, sizeof(s.cut));
		s.drop_percent = 0;
		for (uint64_t id = 1; id <= 5; id++)
			if (!s.mem[id].up)
				restart(&s, id);
		assert_int_not_equal(wait_leader(&s, 300), 0);
		for (int i = 0; i < 50 && !raft_is_voter(&s.mem[leader(&s)].r.conf, 5); i++) {
			raft_change_conf(&s.mem[leader(&s)].r, RAFT_ADD_VOTER, 5, NULL, 0);
			tick(&s, 5);
			assert_int_not_equal(wait_leader(&s, 300), 0);
		}
		propose(&s, leader(&s), "final");
		tick(&s, 30);
		for (uint64_t id = 1; id <= 5; id++)
			assert_int_equal(s.mem[id].r.commit, s.mem[leader(&s)].r.commit);
		check_safety(&s);
		if (!proposed)
			fprintf(stderr, "seed %lu: nothing proposed\n", (unsigned long)seed);
		assert_true(proposed > 0);
		sim_free(&s);
	}
	/* Membership changes happened amid the faults. */
	assert_true(changes > 10);
}

static void configurations_encode_and_decode(void **state)
{
	struct raft_conf c = { .voters = { 1, 2, 0x1122334455667788ULL }, .nvoters = 3,
			       .learners = { 9 }, .nlearners = 1 }, d;
	unsigned char buf[RAFT_CONF_BYTES];
	int n = raft_conf_encode(&c, buf, sizeof(buf));

	assert_int_equal(n, 2 + 8 * 4);
	assert_int_equal(raft_conf_decode(&d, buf, (size_t)n), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(raft_conf_decode(&d, buf, (size_t)n - 1), -EINVAL);
	buf[2 + 7] = 2;	/* the first voter becomes 2: a duplicate */
	buf[2 + 6] = 0;
	assert_int_equal(raft_conf_decode(&d, buf, (size_t)n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_members_elect_one_leader_and_replicate),
		cmocka_unit_test(a_lone_member_leads_itself),
		cmocka_unit_test(a_cut_off_leader_steps_down_and_its_entries_are_dropped),
		cmocka_unit_test(prevote_keeps_an_isolated_member_from_raising_terms),
		cmocka_unit_test(a_restarted_member_recovers_from_its_disk),
		cmocka_unit_test(a_lagging_member_gets_a_snapshot),
		cmocka_unit_test(members_are_added_and_removed_one_at_a_time),
		cmocka_unit_test(a_change_commits_under_the_old_configuration),
		cmocka_unit_test(no_change_before_the_leader_commits_in_its_term),
		cmocka_unit_test(leadership_moves_on_request),
		cmocka_unit_test(read_index_needs_a_majority),
		cmocka_unit_test(reads_between_readies_share_a_round),
		cmocka_unit_test(an_idle_cluster_sends_only_heartbeats),
		cmocka_unit_test(a_configuration_change_committed_by_an_answer_is_followed_up_for_that_member),
		cmocka_unit_test(bad_messages_are_refused),
		cmocka_unit_test(random_faults_never_break_safety),
		cmocka_unit_test(configurations_encode_and_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
