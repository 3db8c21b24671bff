/*
 * Input to the journal: lines from a unit's pipes and records from the
 * kernel's /dev/kmsg. Splitting and parsing do no I/O; only the *_drain
 * functions read.
 */
#include "journal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* ---- stream lines -------------------------------------------------------- */

int journal_stream_init(struct journal_stream *s, struct journal *j,
			const char *unit, int pid, int priority)
{
	size_t n = strnlen(unit, JOURNAL_UNIT_MAX + 1);

	memset(s, 0, sizeof *s);
	if (n > JOURNAL_UNIT_MAX || priority < 0 || priority > 7)
		return -EINVAL;
	memcpy(s->unit, unit, n);
	s->journal = j;
	s->pid = pid;
	s->priority = priority;
	s->level_prefix = 1;
	return 0;
}

/* Length of a "<N>" prefix at p (0 if none) and its priority in *prio. */
static size_t level_prefix(const char *p, size_t len, int *prio)
{
	unsigned v = 0;
	size_t i;

	if (len < 3 || p[0] != '<')
		return 0;
	for (i = 1; i < len && i <= 3 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	if (i == 1 || i >= len || p[i] != '>' || v >= 192)
		return 0;
	*prio = (int)(v & 7);
	return i + 1;
}

/* Append one line or piece of a line; complete says the line ended here. */
static void stream_emit(struct journal_stream *s, const char *msg, size_t len, int complete)
{
	struct journal_entry e;
	int prio = s->priority;
	size_t skip;

	if (s->continued) {
		prio = s->line_priority;
	} else if (s->level_prefix) {
		skip = level_prefix(msg, len, &prio);
		msg += skip;
		len -= skip;
	}
	if (complete && len > 0 && msg[len - 1] == '\r')
		len--;
	memset(&e, 0, sizeof e);
	e.pid = s->pid;
	e.priority = prio;
	e.unit = s->unit;
	e.msg = msg;
	e.msg_len = len;
	journal_append(s->journal, &e);
	s->continued = !complete;
	s->line_priority = prio;
}

static const char *line_end(const char *p, const char *end)
{
	while (p < end && *p != '\n' && *p != 0)
		p++;
	return p;
}

void journal_stream_feed(struct journal_stream *s, const void *data, size_t len)
{
	const char *p = data, *end = p + len;

	while (p < end) {
		const char *d = line_end(p, end);

		/* A whole line in the input goes straight to the ring. */
		if (s->len == 0 && d < end && (size_t)(d - p) <= JOURNAL_MSG_MAX) {
			stream_emit(s, p, d - p, 1);
			p = d + 1;
			continue;
		}
		while (p < d) {
			size_t take = JOURNAL_MSG_MAX - s->len;

			/* Split only once a byte beyond the limit arrives, so a
			 * line of exactly JOURNAL_MSG_MAX stays one entry. */
			if (take == 0) {
				stream_emit(s, s->line, s->len, 0);
				s->len = 0;
				take = JOURNAL_MSG_MAX;
			}
			if (take > (size_t)(d - p))
				take = d - p;
			memcpy(s->line + s->len, p, take);
			s->len += take;
			p += take;
		}
		if (d < end) {
			stream_emit(s, s->line, s->len, 1);
			s->len = 0;
			p = d + 1;
		}
	}
}

void journal_stream_flush(struct journal_stream *s)
{
	if (s->len > 0)
		stream_emit(s, s->line, s->len, 1);
	s->len = 0;
	s->continued = 0;
}

int journal_stream_drain(struct journal_stream *s, int fd)
{
	char buf[JOURNAL_STREAM_READ_BYTES];
	int i;

	for (i = 0; i < JOURNAL_STREAM_READS_MAX; i++) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n > 0) {
			journal_stream_feed(s, buf, n);
		} else if (n == 0) {
			journal_stream_flush(s);
			return JOURNAL_DRAIN_EOF;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return JOURNAL_DRAIN_IDLE;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return JOURNAL_DRAIN_MORE;
}

/* ---- /dev/kmsg ----------------------------------------------------------- */

/* A decimal number of at least one digit; 0 or -EINVAL (also on overflow). */
static int parse_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (p == end)
		return -EINVAL;
	for (; p < end; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (*p < '0' || *p > '9' || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the kernel's "\xHH" escapes; any other backslash is kept. */
static size_t kmsg_unescape(const char *p, const char *end, char *out)
{
	size_t n = 0;

	while (p < end && n < JOURNAL_MSG_MAX) {
		int hi, lo;

		if (*p == '\\' && end - p >= 4 && p[1] == 'x' &&
		    (hi = hex_digit(p[2])) >= 0 && (lo = hex_digit(p[3])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			p += 4;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = 0;
	return n;
}

/* The largest PRIO: 3 bits of priority under the kernel's facility bits. */
#define KMSG_PRIO_MAX 0x7ff

int journal_kmsg_parse(const char *rec, size_t len, struct journal_entry *e,
		       char *msgbuf, uint64_t *kseq)
{
	const char *end = rec + len, *line_end, *semi, *field[3], *p;
	uint64_t prio, seq, usec;
	int i;

	line_end = memchr(rec, '\n', len);
	if (!line_end)
		line_end = end;
	semi = memchr(rec, ';', line_end - rec);
	if (!semi)
		return -EINVAL;

	/* PRIO, SEQ and USEC; FLAGS and any later fields are optional. */
	p = rec;
	for (i = 0; i < 3; i++) {
		const char *comma = memchr(p, ',', semi - p);

		field[i] = p;
		if (i < 2 && !comma)
			return -EINVAL;
		p = comma ? comma + 1 : semi;
	}
	if (parse_u64(field[0], field[1] - 1, &prio) < 0 || prio > KMSG_PRIO_MAX ||
	    parse_u64(field[1], field[2] - 1, &seq) < 0)
		return -EINVAL;
	p = memchr(field[2], ',', semi - field[2]);
	if (parse_u64(field[2], p ? p : semi, &usec) < 0)
		return -EINVAL;

	memset(e, 0, sizeof *e);
	e->priority = (int)(prio & 7);
	e->monotonic_usec = usec;
	e->unit = JOURNAL_UNIT_KERNEL;
	e->msg = msgbuf;
	e->msg_len = kmsg_unescape(semi + 1, line_end, msgbuf);
	*kseq = seq;
	return 0;
}

void journal_kmsg_init(struct journal_kmsg *k, struct journal *j)
{
	memset(k, 0, sizeof *k);
	k->journal = j;
	k->read = read;
}

static void kmsg_record(struct journal_kmsg *k, const char *rec, size_t len)
{
	char msg[JOURNAL_MSG_MAX + 1];
	struct journal_entry e;
	uint64_t kseq;

	if (journal_kmsg_parse(rec, len, &e, msg, &kseq) < 0) {
		k->bad++;
		return;
	}
	if (k->next_kseq && kseq > k->next_kseq)
		k->lost += kseq - k->next_kseq;
	k->next_kseq = kseq + 1;
	if (journal_append(k->journal, &e) == 0)
		k->records++;
}

int journal_kmsg_drain(struct journal_kmsg *k, int fd)
{
	char rec[JOURNAL_KMSG_RECORD_MAX];
	int i;

	for (i = 0; i < JOURNAL_KMSG_READS_MAX; i++) {
		ssize_t n = k->read(fd, rec, sizeof rec);

		if (n > 0)
			kmsg_record(k, rec, n);
		else if (n == 0)
			return JOURNAL_DRAIN_EOF;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return JOURNAL_DRAIN_IDLE;
		else if (errno != EINTR && errno != EPIPE)
			return -errno;
	}
	return JOURNAL_DRAIN_MORE;
}
