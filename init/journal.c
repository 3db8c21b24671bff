/*
 * The journal's ring: entries laid out back to back in one buffer, each in
 * one piece (an entry that would cross the end starts again at offset 0 and
 * the end is left unused), so a reader gets pointers into the ring and
 * nothing is copied twice. Live entries always hold consecutive seqs, so an
 * index of offsets by seq modulo its length finds any of them in O(1).
 */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What precedes the unit and message of every entry in the ring. */
struct ring_rec {
	uint64_t seq;
	uint64_t realtime;
	uint64_t monotonic;
	uint32_t size;			/* the whole entry, a multiple of 8 */
	uint32_t msg_len;
	int32_t pid;
	uint16_t unit_len;
	uint8_t priority;
	uint8_t pad;
};

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)
/* The smallest entry (empty unit and message, two NULs); it bounds the index. */
#define REC_MIN ALIGN8(sizeof(struct ring_rec) + 2)

void journal_clock_system(uint64_t *realtime_usec, uint64_t *monotonic_usec)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	*realtime_usec = (uint64_t)rt.tv_sec * 1000000 + (uint64_t)rt.tv_nsec / 1000;
	*monotonic_usec = (uint64_t)mono.tv_sec * 1000000 + (uint64_t)mono.tv_nsec / 1000;
}

int journal_filter_match(const struct journal_filter *f, const struct journal_entry *e)
{
	if (!f)
		return 1;
	if (f->unit && strcmp(f->unit, e->unit) != 0)
		return 0;
	if (f->since_usec && e->realtime_usec < f->since_usec)
		return 0;
	if (f->until_usec && e->realtime_usec > f->until_usec)
		return 0;
	if (f->priorities && !(f->priorities & (1u << (e->priority & 7))))
		return 0;
	return 1;
}

int journal_init(struct journal *j, size_t capacity)
{
	memset(j, 0, sizeof *j);
	j->store.dirfd = -1;
	j->store.fd = -1;
	j->first_seq = j->next_seq = 1;
	j->clock = journal_clock_system;
	if (capacity < JOURNAL_RING_MIN || capacity > JOURNAL_RING_MAX)
		return -EINVAL;
	j->capacity = capacity & ~(size_t)7;
	j->index_len = j->capacity / REC_MIN + 1;
	j->ring = malloc(j->capacity);
	j->index = malloc(j->index_len * sizeof *j->index);
	if (!j->ring || !j->index) {
		journal_free(j);
		return -ENOMEM;
	}
	return 0;
}

static void rec_get(const struct journal *j, size_t off, struct ring_rec *h)
{
	memcpy(h, j->ring + off, sizeof *h);
}

uint64_t journal_last_seq(const struct journal *j)
{
	return j->next_seq - 1;
}

uint64_t journal_count(const struct journal *j)
{
	return j->next_seq - j->first_seq;
}

void journal_set_notify(struct journal *j, journal_notify_fn *fn, void *arg)
{
	j->notify = fn;
	j->notify_arg = arg;
}

static void ring_evict_oldest(struct journal *j)
{
	struct ring_rec h;

	rec_get(j, j->head, &h);
	j->head += h.size;
	j->used -= h.size;
	j->first_seq++;
	j->evicted++;
	if (j->wrapped && j->head >= j->wrap) {
		j->head = 0;
		j->wrapped = 0;
	}
}

/*
 * The offset where an entry of size bytes goes, after evicting the entries
 * it would overwrite. Live bytes are [head, tail) before a wrap, and
 * [head, wrap) then [0, tail) after one; size <= capacity, so emptying the
 * ring always makes room.
 */
static size_t ring_reserve(struct journal *j, size_t size)
{
	for (;;) {
		if (journal_count(j) == 0) {
			j->head = j->tail = 0;
			j->wrapped = 0;
			return 0;
		}
		if (!j->wrapped) {
			if (j->tail + size <= j->capacity)
				return j->tail;
			j->wrap = j->tail;
			j->tail = 0;
			j->wrapped = 1;
		}
		if (j->tail + size <= j->head)
			return j->tail;
		ring_evict_oldest(j);
	}
}

static void ring_entry(const struct journal *j, uint64_t seq, struct journal_entry *e)
{
	size_t off = j->index[seq % j->index_len];
	const char *p = (const char *)j->ring + off;
	struct ring_rec h;

	rec_get(j, off, &h);
	e->seq = h.seq;
	e->boot_id = j->boot_id;
	e->realtime_usec = h.realtime;
	e->monotonic_usec = h.monotonic;
	e->pid = h.pid;
	e->priority = h.priority;
	e->unit = p + sizeof h;
	e->msg = e->unit + h.unit_len + 1;
	e->msg_len = h.msg_len;
}

static void fill_times(const struct journal *j, const struct journal_entry *e,
		       uint64_t *realtime, uint64_t *monotonic)
{
	uint64_t now_rt, now_mono;

	*realtime = e->realtime_usec;
	*monotonic = e->monotonic_usec;
	if (*realtime && *monotonic)
		return;
	j->clock(&now_rt, &now_mono);
	if (!*realtime && *monotonic) {
		/* The same moment on the other clock, by their offset now. */
		uint64_t ago = now_mono > *monotonic ? now_mono - *monotonic : 0;
		*realtime = now_rt > ago ? now_rt - ago : 0;
		return;
	}
	if (!*realtime)
		*realtime = now_rt;
	*monotonic = now_mono;
}

int journal_append(struct journal *j, const struct journal_entry *e)
{
	struct ring_rec h;
	struct journal_entry stored;
	size_t unit_len, off;
	unsigned char *p;

	if (!j->ring || e->priority < 0 || e->priority > 7 || !e->unit ||
	    (!e->msg && e->msg_len)) {
		j->dropped++;
		return -EINVAL;
	}
	unit_len = strnlen(e->unit, JOURNAL_UNIT_MAX + 1);
	if (unit_len > JOURNAL_UNIT_MAX) {
		j->dropped++;
		return -EINVAL;
	}
	if (e->msg_len > JOURNAL_MSG_MAX) {
		j->dropped++;
		return -EMSGSIZE;
	}

	memset(&h, 0, sizeof h);
	fill_times(j, e, &h.realtime, &h.monotonic);
	h.seq = j->next_seq;
	h.size = ALIGN8(sizeof h + unit_len + 1 + e->msg_len + 1);
	h.msg_len = e->msg_len;
	h.pid = e->pid;
	h.unit_len = unit_len;
	h.priority = e->priority;

	off = ring_reserve(j, h.size);
	p = j->ring + off;
	memcpy(p, &h, sizeof h);
	p += sizeof h;
	memcpy(p, e->unit, unit_len);
	p[unit_len] = 0;
	p += unit_len + 1;
	if (e->msg_len)
		memcpy(p, e->msg, e->msg_len);
	p[e->msg_len] = 0;

	j->index[h.seq % j->index_len] = off;
	j->tail = off + h.size;
	j->used += h.size;
	j->next_seq++;

	ring_entry(j, h.seq, &stored);
	if (j->store.fd >= 0)
		journal_store_add(&j->store, &stored);
	if (j->notify && !j->notifying) {
		j->notifying = 1;
		j->notify(j, &stored, j->notify_arg);
		j->notifying = 0;
	}
	return 0;
}

void journal_reader_init(struct journal_reader *r)
{
	r->cursor = 0;
	r->lost = 0;
}

void journal_reader_seek_tail(const struct journal *j, struct journal_reader *r,
			      const struct journal_filter *f, size_t n)
{
	struct journal_entry e;
	uint64_t seq;

	r->cursor = journal_last_seq(j);
	if (n == 0)
		return;
	for (seq = journal_last_seq(j); seq >= j->first_seq && seq > 0; seq--) {
		ring_entry(j, seq, &e);
		if (journal_filter_match(f, &e) && --n == 0)
			break;
	}
	r->cursor = seq < j->first_seq ? j->first_seq - 1 : seq - 1;
}

int journal_read_next(const struct journal *j, struct journal_reader *r,
		      const struct journal_filter *f, struct journal_entry *e)
{
	uint64_t seq;

	if (r->cursor + 1 < j->first_seq) {
		if (r->cursor != 0)
			r->lost += j->first_seq - (r->cursor + 1);
		r->cursor = j->first_seq - 1;
	}
	for (seq = r->cursor + 1; seq < j->next_seq; seq++) {
		ring_entry(j, seq, e);
		r->cursor = seq;
		if (journal_filter_match(f, e))
			return 1;
	}
	return 0;
}

void journal_free(struct journal *j)
{
	free(j->ring);
	free(j->index);
	j->ring = NULL;
	j->index = NULL;
	j->capacity = 0;
	journal_store_close(&j->store);
}
