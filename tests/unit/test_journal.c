/* The journal: the ring and its queries, line splitting, /dev/kmsg records,
 * and the files on disk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "journal.h"

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t now_rt = 1700000000000000ull;	/* 2023-11-14 */
static uint64_t now_mono = 5000000;

static void fake_clock(uint64_t *rt, uint64_t *mono)
{
	*rt = now_rt;
	*mono = now_mono;
}

static void open_journal(struct journal *j, size_t capacity)
{
	assert_int_equal(journal_init(j, capacity), 0);
	j->clock = fake_clock;
	j->boot_id = 42;
}

static void add(struct journal *j, const char *unit, int prio, const char *msg)
{
	struct journal_entry e = { .unit = unit, .priority = prio, .pid = 7,
				   .msg = msg, .msg_len = strlen(msg) };

	assert_int_equal(journal_append(j, &e), 0);
}

/* Non-printable bytes as \xHH, so transcripts can show NULs and '\r'. */
static void put_bytes(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			buf_printf(b, "\\x%02x", c);
		else
			buf_append(b, &p[i], 1);
	}
}

/* What a reader gets from here on, one "seq unit prio message" line each. */
static void expect_read(struct journal *j, struct journal_reader *r,
			const struct journal_filter *f, const char *transcript)
{
	struct journal_entry e;
	struct buf b = BUF_INIT;

	while (journal_read_next(j, r, f, &e) == 1) {
		buf_printf(&b, "%llu %s %d ", (unsigned long long)e.seq, e.unit, e.priority);
		put_bytes(&b, e.msg, e.msg_len);
		buf_puts(&b, "\n");
		assert_int_equal(e.msg[e.msg_len], 0);
	}
	assert_string_equal(b.data ? b.data : "", transcript);
	buf_free(&b);
}

static void expect_all(struct journal *j, const struct journal_filter *f, const char *transcript)
{
	struct journal_reader r;

	journal_reader_init(&r);
	expect_read(j, &r, f, transcript);
}

/* ---- the ring ----------------------------------------------------------------- */

static void append_numbers_entries_from_one_and_keeps_every_field(void **state)
{
	static const char msg[] = "bytes \xff\xfe kept, even \0 NUL";
	struct journal_entry in = { .unit = "web.service", .priority = 4, .pid = 1234,
				    .msg = msg, .msg_len = sizeof msg - 1 };
	struct journal_reader r;
	struct journal_entry e;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	assert_int_equal(journal_last_seq(&j), 0);
	assert_int_equal(journal_append(&j, &in), 0);
	assert_int_equal(journal_append(&j, &in), 0);
	assert_int_equal(journal_last_seq(&j), 2);
	assert_int_equal(journal_count(&j), 2);

	journal_reader_init(&r);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.seq, 1);
	assert_int_equal(e.boot_id, 42);
	assert_int_equal(e.realtime_usec, now_rt);
	assert_int_equal(e.monotonic_usec, now_mono);
	assert_int_equal(e.pid, 1234);
	assert_int_equal(e.priority, 4);
	assert_string_equal(e.unit, "web.service");
	assert_int_equal(e.msg_len, sizeof msg - 1);
	assert_memory_equal(e.msg, msg, sizeof msg);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.seq, 2);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 0);
	journal_free(&j);
}

static void full_ring_evicts_the_oldest_and_counts_them(void **state)
{
	char msg[1001];
	struct journal_reader r;
	struct journal_entry e;
	struct journal j;
	uint64_t appended = 0, seq;

	open_journal(&j, JOURNAL_RING_MIN);
	memset(msg, 'm', 1000);
	msg[1000] = 0;
	while (j.evicted < 10) {
		add(&j, "a", 6, msg);
		appended++;
	}
	assert_int_equal(journal_count(&j) + j.evicted, appended);
	assert_int_equal(j.first_seq, j.evicted + 1);
	assert_true(j.used <= j.capacity);

	journal_reader_init(&r);
	for (seq = j.first_seq; journal_read_next(&j, &r, NULL, &e) == 1; seq++) {
		assert_int_equal(e.seq, seq);
		assert_int_equal(e.msg_len, 1000);
	}
	assert_int_equal(seq, appended + 1);
	assert_int_equal(r.lost, 0);	/* starting from the oldest loses nothing */
	journal_free(&j);
}

/* Entry seq has a length and a byte derived from seq, so any entry can be checked. */
static size_t mixed_len(uint64_t seq)
{
	return (seq * 2654435761u) % (JOURNAL_MSG_MAX + 1);
}

static void ring_survives_many_wraps_with_mixed_sizes(void **state)
{
	static char msg[JOURNAL_MSG_MAX], want[JOURNAL_MSG_MAX];
	struct journal_reader r;
	struct journal_entry e;
	struct journal j;
	uint64_t seq;

	open_journal(&j, JOURNAL_RING_MIN + 1000);
	for (seq = 1; seq <= 20000; seq++) {
		struct journal_entry in = { .unit = seq % 3 ? "u" : "unit-two", .priority = seq % 8,
					    .msg = msg, .msg_len = mixed_len(seq) };

		memset(msg, (int)(seq & 0xff), in.msg_len);
		assert_int_equal(journal_append(&j, &in), 0);
		/* Every live entry is intact after every append. */
		journal_reader_init(&r);
		while (journal_read_next(&j, &r, NULL, &e) == 1) {
			assert_int_equal(e.msg_len, mixed_len(e.seq));
			assert_string_equal(e.unit, e.seq % 3 ? "u" : "unit-two");
			assert_int_equal(e.priority, e.seq % 8);
			memset(want, (int)(e.seq & 0xff), e.msg_len);
			assert_memory_equal(e.msg, want, e.msg_len);
		}
		assert_int_equal(r.cursor, seq);
		assert_true(j.used <= j.capacity);
		/* Once full, it stays full but for at most two of the largest entries. */
		if (j.evicted)
			assert_true(j.used + 2 * (JOURNAL_MSG_MAX + 512) >= j.capacity);
	}
	assert_int_equal(journal_count(&j) + j.evicted, 20000);
	journal_free(&j);
}

static void invalid_entries_are_refused_and_counted(void **state)
{
	char unit[JOURNAL_UNIT_MAX + 2];
	static char big[JOURNAL_MSG_MAX + 1];
	struct journal_entry e = { .unit = "a", .msg = big };
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	e.priority = 8;
	assert_int_equal(journal_append(&j, &e), -EINVAL);
	e.priority = -1;
	assert_int_equal(journal_append(&j, &e), -EINVAL);
	e.priority = 3;
	e.unit = NULL;
	assert_int_equal(journal_append(&j, &e), -EINVAL);

	memset(unit, 'u', sizeof unit - 1);
	unit[sizeof unit - 1] = 0;
	e.unit = unit;
	assert_int_equal(journal_append(&j, &e), -EINVAL);
	unit[JOURNAL_UNIT_MAX] = 0;
	assert_int_equal(journal_append(&j, &e), 0);

	e.msg_len = JOURNAL_MSG_MAX + 1;
	assert_int_equal(journal_append(&j, &e), -EMSGSIZE);
	e.msg_len = JOURNAL_MSG_MAX;
	assert_int_equal(journal_append(&j, &e), 0);

	assert_int_equal(j.dropped, 5);
	assert_int_equal(journal_last_seq(&j), 2);	/* refused entries use no seq */
	journal_free(&j);
}

static void init_refuses_a_ring_out_of_bounds(void **state)
{
	struct journal j;

	assert_int_equal(journal_init(&j, JOURNAL_RING_MIN - 1), -EINVAL);
	journal_free(&j);
	assert_int_equal(journal_init(&j, (size_t)JOURNAL_RING_MAX + 8), -EINVAL);
	journal_free(&j);
}

static void timestamps_default_to_the_clock(void **state)
{
	struct journal_entry in = { .unit = "a", .priority = 6 }, e;
	struct journal_reader r;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	assert_int_equal(journal_append(&j, &in), 0);		/* both now */
	in.realtime_usec = 1000;
	assert_int_equal(journal_append(&j, &in), 0);		/* monotonic now */
	in.realtime_usec = 0;
	in.monotonic_usec = now_mono - 2000000;
	assert_int_equal(journal_append(&j, &in), 0);		/* a kernel record 2 s old */
	in.monotonic_usec = now_mono + 1;
	assert_int_equal(journal_append(&j, &in), 0);		/* not in the past: now */

	journal_reader_init(&r);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.realtime_usec, now_rt);
	assert_int_equal(e.monotonic_usec, now_mono);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.realtime_usec, 1000);
	assert_int_equal(e.monotonic_usec, now_mono);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.realtime_usec, now_rt - 2000000);
	assert_int_equal(e.monotonic_usec, now_mono - 2000000);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.realtime_usec, now_rt);
	journal_free(&j);
}

static void last_n_entries_of_one_unit(void **state)
{
	struct journal_filter web = { .unit = "web" };
	struct journal_reader r;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	add(&j, "web", 6, "w1");
	add(&j, "db", 6, "d1");
	add(&j, "web", 6, "w2");
	add(&j, "web", 6, "w3");
	add(&j, "db", 6, "d2");
	add(&j, "web", 6, "w4");
	add(&j, "db", 6, "d3");

	journal_reader_seek_tail(&j, &r, &web, 2);
	expect_read(&j, &r, &web, "4 web 6 w3\n6 web 6 w4\n");
	journal_reader_seek_tail(&j, &r, &web, 10);
	expect_read(&j, &r, &web, "1 web 6 w1\n3 web 6 w2\n4 web 6 w3\n6 web 6 w4\n");
	journal_reader_seek_tail(&j, &r, NULL, 2);
	expect_read(&j, &r, NULL, "6 web 6 w4\n7 db 6 d3\n");
	journal_reader_seek_tail(&j, &r, &web, 0);
	expect_read(&j, &r, &web, "");
	add(&j, "db", 6, "d4");
	add(&j, "web", 6, "w5");
	expect_read(&j, &r, &web, "9 web 6 w5\n");
	journal_free(&j);
}

static void since_and_until_select_by_realtime_inclusively(void **state)
{
	struct journal_filter f = { .since_usec = 2000, .until_usec = 3000 };
	struct journal j;
	struct journal_reader r;

	open_journal(&j, JOURNAL_RING_MIN);
	for (uint64_t t = 1000; t <= 4000; t += 500) {
		now_rt = t;
		add(&j, t % 1000 ? "half" : "whole", 6, "at");
	}
	now_rt = 1700000000000000ull;
	expect_all(&j, &f, "3 whole 6 at\n4 half 6 at\n5 whole 6 at\n");
	f.until_usec = 0;
	f.unit = "whole";
	expect_all(&j, &f, "3 whole 6 at\n5 whole 6 at\n7 whole 6 at\n");
	f.since_usec = 0;
	f.until_usec = 1999;
	expect_all(&j, &f, "1 whole 6 at\n");
	journal_reader_seek_tail(&j, &r, &f, 1);
	expect_read(&j, &r, &f, "1 whole 6 at\n");
	journal_free(&j);
}

static void priority_mask_selects_like_journalctl_p(void **state)
{
	struct journal_filter f = { .priorities = JOURNAL_PRIO_UPTO(3) };
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	for (int p = 0; p < 8; p++)
		add(&j, "a", p, "m");
	expect_all(&j, &f, "1 a 0 m\n2 a 1 m\n3 a 2 m\n4 a 3 m\n");
	f.priorities = 1u << 7 | 1u << 4;
	expect_all(&j, &f, "5 a 4 m\n8 a 7 m\n");
	f.priorities = JOURNAL_PRIO_UPTO(7);
	expect_all(&j, &f, "1 a 0 m\n2 a 1 m\n3 a 2 m\n4 a 3 m\n5 a 4 m\n6 a 5 m\n7 a 6 m\n8 a 7 m\n");
	journal_free(&j);
}

static void reader_learns_its_cursor_was_evicted(void **state)
{
	char msg[1001];
	struct journal_reader r;
	struct journal_entry e;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	add(&j, "a", 6, "first");
	add(&j, "a", 6, "second");
	journal_reader_init(&r);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(r.cursor, 1);

	memset(msg, 'x', 1000);
	msg[1000] = 0;
	while (j.first_seq < 10)
		add(&j, "a", 6, msg);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.seq, j.first_seq);
	assert_int_equal(r.lost, j.first_seq - 2);	/* seq 2 up to the oldest live one */

	/* A filter that matches nothing still moves the cursor, so the loss is told once. */
	struct journal_filter none = { .unit = "nobody" };

	r.lost = 0;
	r.cursor = 1;
	assert_int_equal(journal_read_next(&j, &r, &none, &e), 0);
	assert_int_equal(r.cursor, journal_last_seq(&j));
	assert_int_equal(r.lost, j.first_seq - 2);
	assert_int_equal(journal_read_next(&j, &r, &none, &e), 0);
	assert_int_equal(r.lost, j.first_seq - 2);
	journal_free(&j);
}

struct notes {
	struct buf seen;
	int calls;
};

static void note(struct journal *j, const struct journal_entry *e, void *arg)
{
	struct notes *n = arg;

	n->calls++;
	buf_printf(&n->seen, "%llu:%.*s ", (unsigned long long)e->seq, (int)e->msg_len, e->msg);
	if (e->seq == 2)
		add(j, "a", 6, "from the hook");
}

static void follower_is_notified_and_polls_its_cursor(void **state)
{
	struct notes n = { BUF_INIT, 0 };
	struct journal_reader r;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	add(&j, "a", 6, "old");
	journal_set_notify(&j, note, &n);
	journal_reader_seek_tail(&j, &r, NULL, 0);
	expect_read(&j, &r, NULL, "");

	add(&j, "a", 6, "new");
	add(&j, "a", 6, "newer");
	assert_int_equal(n.calls, 2);	/* the hook's own append does not call it again */
	assert_string_equal(n.seen.data, "2:new 4:newer ");
	expect_read(&j, &r, NULL, "2 a 6 new\n3 a 6 from the hook\n4 a 6 newer\n");

	journal_set_notify(&j, NULL, NULL);
	add(&j, "a", 6, "quiet");
	assert_int_equal(n.calls, 2);
	buf_free(&n.seen);
	journal_free(&j);
}

/* ---- stream lines --------------------------------------------------------------- */

static void open_stream(struct journal *j, struct journal_stream *s)
{
	open_journal(j, JOURNAL_RING_MIN);
	assert_int_equal(journal_stream_init(s, j, "app", 99, LOG_PRIO_INFO), 0);
}

static void feed(struct journal_stream *s, const char *text)
{
	journal_stream_feed(s, text, strlen(text));
}

static void stream_splits_lines_and_holds_partial_ones(void **state)
{
	struct journal_stream s;
	struct journal_reader r;
	struct journal_entry e;
	struct journal j;

	open_stream(&j, &s);
	feed(&s, "one\ntw");
	feed(&s, "o\n\nthr");
	feed(&s, "ee");
	journal_reader_init(&r);
	expect_read(&j, &r, NULL, "1 app 6 one\n2 app 6 two\n3 app 6 \n");
	journal_stream_flush(&s);
	expect_read(&j, &r, NULL, "4 app 6 three\n");
	journal_stream_flush(&s);
	expect_read(&j, &r, NULL, "");
	journal_reader_init(&r);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.pid, 99);
	journal_free(&j);
}

static void stream_long_line_becomes_several_entries_with_one_priority(void **state)
{
	static char line[2 * JOURNAL_MSG_MAX + 16];
	struct journal_stream s;
	struct journal_reader r;
	struct journal_entry e;
	struct journal j;
	size_t n;

	open_stream(&j, &s);
	/* "<3>", then x up to the limit, then "<5>" and 900 y on the same line. */
	memcpy(line, "<3>", 3);
	memset(line + 3, 'x', JOURNAL_MSG_MAX - 3);
	memcpy(line + JOURNAL_MSG_MAX, "<5>", 3);
	memset(line + JOURNAL_MSG_MAX + 3, 'y', 900);
	n = JOURNAL_MSG_MAX + 903;
	line[n++] = '\n';
	for (size_t i = 0; i < n; i += 1000)	/* in pieces, as a pipe delivers it */
		journal_stream_feed(&s, line + i, n - i < 1000 ? n - i : 1000);

	journal_reader_init(&r);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.priority, 3);
	assert_int_equal(e.msg_len, JOURNAL_MSG_MAX - 3);
	assert_int_equal(e.msg[0], 'x');
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.priority, 3);
	assert_int_equal(e.msg_len, 903);
	assert_memory_equal(e.msg, "<5>yyy", 6);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 0);

	/* Exactly JOURNAL_MSG_MAX bytes and then the newline: one entry. */
	memset(line, 'z', JOURNAL_MSG_MAX);
	line[JOURNAL_MSG_MAX] = '\n';
	journal_stream_feed(&s, line, JOURNAL_MSG_MAX);
	journal_stream_feed(&s, line + JOURNAL_MSG_MAX, 1);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.msg_len, JOURNAL_MSG_MAX);
	assert_int_equal(e.priority, 6);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 0);

	/* The same in one feed goes through without being held. */
	journal_stream_feed(&s, line, JOURNAL_MSG_MAX + 1);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 1);
	assert_int_equal(e.msg_len, JOURNAL_MSG_MAX);
	assert_int_equal(journal_read_next(&j, &r, NULL, &e), 0);
	journal_free(&j);
}

static void stream_level_prefix_sets_the_priority(void **state)
{
	struct journal_stream s;
	struct journal j;

	open_stream(&j, &s);
	feed(&s, "<0>emerg\n<7>debug\n<14>user.info\n<191>last\n<3>\n"
		 "<192>too big\n<1234>too long\n<>empty\n<3 no close\nx<3>not first\n<a>x\n");
	expect_all(&j, NULL,
		   "1 app 0 emerg\n"
		   "2 app 7 debug\n"
		   "3 app 6 user.info\n"
		   "4 app 7 last\n"
		   "5 app 3 \n"
		   "6 app 6 <192>too big\n"
		   "7 app 6 <1234>too long\n"
		   "8 app 6 <>empty\n"
		   "9 app 6 <3 no close\n"
		   "10 app 6 x<3>not first\n"
		   "11 app 6 <a>x\n");

	s.level_prefix = 0;
	feed(&s, "<2>kept as is\n");
	struct journal_reader r = { .cursor = 11 };
	expect_read(&j, &r, NULL, "12 app 6 <2>kept as is\n");
	journal_free(&j);
}

static void stream_splits_at_nul_and_drops_a_final_cr(void **state)
{
	static const char text[] = "a\0b\r\nc\rd\n\r\n<4>e\r";
	struct journal_stream s;
	struct journal j;

	open_stream(&j, &s);
	journal_stream_feed(&s, text, sizeof text - 1);
	journal_stream_flush(&s);
	expect_all(&j, NULL,
		   "1 app 6 a\n"
		   "2 app 6 b\n"
		   "3 app 6 c\\x0dd\n"
		   "4 app 6 \n"
		   "5 app 4 e\n");
	journal_free(&j);
}

static void stream_init_checks_its_arguments(void **state)
{
	char unit[JOURNAL_UNIT_MAX + 2];
	struct journal_stream s;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	memset(unit, 'u', sizeof unit - 1);
	unit[sizeof unit - 1] = 0;
	assert_int_equal(journal_stream_init(&s, &j, unit, 1, 6), -EINVAL);
	assert_int_equal(journal_stream_init(&s, &j, "a", 1, 8), -EINVAL);
	assert_int_equal(journal_stream_init(&s, &j, "a", 1, 3), 0);
	feed(&s, "stderr line\n");
	expect_all(&j, NULL, "1 a 3 stderr line\n");
	journal_free(&j);
}

static void stream_drain_reads_a_pipe_in_bounded_bites(void **state)
{
	static char chunk[JOURNAL_STREAM_READS_MAX * JOURNAL_STREAM_READ_BYTES + 100];
	struct journal_stream s;
	struct journal j;
	int p[2], r, rounds = 0;

	open_journal(&j, 1 << 20);	/* room for every line */
	assert_int_equal(journal_stream_init(&s, &j, "app", 99, LOG_PRIO_INFO), 0);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= (int)sizeof chunk);

	assert_int_equal(journal_stream_drain(&s, p[0]), JOURNAL_DRAIN_IDLE);
	assert_int_equal(write(p[1], "one\ntwo\nthr", 11), 11);
	assert_int_equal(journal_stream_drain(&s, p[0]), JOURNAL_DRAIN_IDLE);
	assert_int_equal(journal_count(&j), 2);

	/* More than one call's worth: the first call stops and says so. */
	memset(chunk, 'c', sizeof chunk);
	for (size_t i = 99; i < sizeof chunk; i += 100)
		chunk[i] = '\n';
	assert_int_equal(write(p[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
	while ((r = journal_stream_drain(&s, p[0])) == JOURNAL_DRAIN_MORE)
		rounds++;
	assert_int_equal(r, JOURNAL_DRAIN_IDLE);
	assert_int_equal(rounds, 1);
	assert_int_equal(journal_count(&j), 2 + sizeof chunk / 100);

	/* At end of file the partial line is flushed. */
	assert_int_equal(write(p[1], "tail", 4), 4);
	close(p[1]);
	assert_int_equal(journal_stream_drain(&s, p[0]), JOURNAL_DRAIN_EOF);
	struct journal_reader rd = { .cursor = 2 };
	struct journal_entry e;
	assert_int_equal(journal_read_next(&j, &rd, NULL, &e), 1);
	assert_int_equal(e.msg_len, 3 + 99);
	assert_memory_equal(e.msg, "thrccc", 6);
	journal_reader_seek_tail(&j, &rd, NULL, 1);
	assert_int_equal(journal_read_next(&j, &rd, NULL, &e), 1);
	assert_int_equal(e.seq, 2 + sizeof chunk / 100 + 1);
	assert_int_equal(e.msg_len, sizeof chunk % 100 + 4);
	assert_memory_equal(e.msg + e.msg_len - 5, "ctail", 6);
	close(p[0]);
	assert_int_equal(journal_stream_drain(&s, p[0]), -EBADF);
	journal_free(&j);
}

/* ---- /dev/kmsg -------------------------------------------------------------------- */

static int kmsg(const char *rec, struct journal_entry *e, char *buf, uint64_t *kseq)
{
	return journal_kmsg_parse(rec, strlen(rec), e, buf, kseq);
}

static void kmsg_records_as_the_kernel_writes_them(void **state)
{
	char buf[JOURNAL_MSG_MAX + 1];
	struct journal_entry e;
	uint64_t kseq;

	assert_int_equal(kmsg("7,160,424069,-;pci_root PNP0A03:00: host bridge window "
			      "[io  0x0000-0x0cf7] (ignored)\n SUBSYSTEM=acpi\n"
			      " DEVICE=+acpi:PNP0A03:00\n", &e, buf, &kseq), 0);
	assert_int_equal(kseq, 160);
	assert_int_equal(e.priority, 7);
	assert_int_equal(e.monotonic_usec, 424069);
	assert_int_equal(e.realtime_usec, 0);
	assert_int_equal(e.pid, 0);
	assert_string_equal(e.unit, "kernel");
	assert_string_equal(e.msg, "pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)");
	assert_int_equal(e.msg_len, strlen(e.msg));

	assert_int_equal(kmsg("30,340,5690716,-;udevd[80]: starting version 181\n", &e, buf, &kseq), 0);
	assert_int_equal(e.priority, 6);	/* facility 3, daemon */
	assert_string_equal(e.msg, "udevd[80]: starting version 181");

	/* Fields after FLAGS are ignored, FLAGS may be missing, so may the newline. */
	assert_int_equal(kmsg("4,12,99,c,caller=T1;frag\n", &e, buf, &kseq), 0);
	assert_string_equal(e.msg, "frag");
	assert_int_equal(kmsg("2,13,100;no flags", &e, buf, &kseq), 0);
	assert_int_equal(e.priority, 2);
	assert_int_equal(e.monotonic_usec, 100);
	assert_string_equal(e.msg, "no flags");
	assert_int_equal(kmsg("6,14,101,-;\n", &e, buf, &kseq), 0);
	assert_int_equal(e.msg_len, 0);
}

static void kmsg_escapes_are_decoded(void **state)
{
	char buf[JOURNAL_MSG_MAX + 1];
	struct journal_entry e;
	uint64_t kseq;

	assert_int_equal(kmsg("6,1,2,-;a\\x0ab\\x5c\\x00c\\xzz\\x4\\\n", &e, buf, &kseq), 0);
	assert_int_equal(e.msg_len, 14);
	assert_memory_equal(e.msg, "a\nb\\\0c\\xzz\\x4\\", 15);
}

static void kmsg_malformed_records_are_refused(void **state)
{
	static const char *const bad[] = {
		"", "hello\n", "6,1;x\n", "a,1,2;x\n", "6,,2;x\n", "6,1,2x;x\n", "6,1,;x\n",
		"2048,1,2;x\n", "6,1,99999999999999999999;x\n", "6,1,2\n;x\n", ";\n", ",,;\n",
		"-6,1,2;x\n", " 6,1,2;x\n",
	};
	char buf[JOURNAL_MSG_MAX + 1];
	struct journal_entry e;
	uint64_t kseq;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (kmsg(bad[i], &e, buf, &kseq) != -EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	assert_int_equal(kmsg("2047,18446744073709551615,0;x\n", &e, buf, &kseq), 0);
	assert_int_equal(kseq, UINT64_MAX);
}

/* read(2) for journal_kmsg_drain: one scripted record or error per call. */
static const char *const *script;

static ssize_t scripted_read(int fd, void *buf, size_t len)
{
	const char *s = *script;

	if (!s || strncmp(s, "errno:", 6) == 0) {
		errno = s ? atoi(s + 6) : EAGAIN;
		if (s)
			script++;
		return -1;
	}
	script++;
	memcpy(buf, s, strlen(s));
	return strlen(s);
}

static void kmsg_drain_counts_bad_and_lost_records(void **state)
{
	static const char *const reads[] = {
		"6,1,1000000,-;first\n",
		"errno:32",			/* EPIPE: overwritten records */
		"3,5,4000000,-;after a gap\n SUBSYSTEM=x\n",
		"garbage",
		"errno:4",			/* EINTR */
		"14,6,4500000,-;user\n",
		NULL,
	};
	struct journal_kmsg k;
	struct journal j;

	open_journal(&j, JOURNAL_RING_MIN);
	journal_kmsg_init(&k, &j);
	k.read = scripted_read;
	script = reads;
	assert_int_equal(journal_kmsg_drain(&k, 3), JOURNAL_DRAIN_IDLE);
	assert_int_equal(k.records, 3);
	assert_int_equal(k.bad, 1);
	assert_int_equal(k.lost, 3);
	assert_int_equal(k.next_kseq, 7);
	expect_all(&j, NULL, "1 kernel 6 first\n2 kernel 3 after a gap\n3 kernel 6 user\n");

	static const char *const broken[] = { "errno:5", NULL };
	script = broken;
	assert_int_equal(journal_kmsg_drain(&k, 3), -EIO);
	journal_free(&j);
}

/* ---- files --------------------------------------------------------------------------- */

static char tmpdir[64];
static char jdir[96];

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/test_journal.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(jdir, sizeof jdir, "%s/journal", tmpdir);
	return 0;
}

static void rm_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int remove_tmpdir(void **state)
{
	rm_files(jdir);
	rmdir(tmpdir);
	return 0;
}

static void open_persistent(struct journal *j, uint64_t max_bytes, unsigned max_files)
{
	struct err err = { 0 };

	open_journal(j, JOURNAL_RING_MIN);
	if (journal_persist(j, jdir, max_bytes, max_files, &err) < 0)
		fail_msg("journal_persist: %s", err.msg);
}

/* Every entry of one file as a transcript line "seq/boot unit prio pid message". */
struct file_read {
	struct buf text;
	enum journal_file_end end;
	uint64_t unread;
};

static void read_file(int dirfd, const char *name, struct file_read *out)
{
	struct journal_file_reader *r = malloc(sizeof *r);
	struct journal_entry e;
	int fd = openat(dirfd, name, O_RDONLY);

	assert_non_null(r);
	assert_true(fd >= 0);
	journal_file_reader_init(r, fd);
	while (journal_file_reader_next(r, &e) == 1) {
		buf_printf(&out->text, "%llu/%llu %s %d %d ", (unsigned long long)e.seq,
			   (unsigned long long)e.boot_id, e.unit, e.priority, e.pid);
		put_bytes(&out->text, e.msg, e.msg_len);
		buf_puts(&out->text, "\n");
	}
	out->end = r->end;
	out->unread = r->unread;
	close(fd);
	free(r);
}

static int read_each(int dirfd, const char *name, void *arg)
{
	struct buf *names = arg;

	buf_printf(names, "%s\n", name);
	return 0;
}

static void persisted_entries_read_back_in_order(void **state)
{
	static const char odd[] = "tab\there \0 nul \xff";
	struct journal_entry in = { .unit = "x", .priority = 2, .pid = -5,
				    .msg = odd, .msg_len = sizeof odd - 1 };
	struct file_read f = { BUF_INIT, 0, 0 };
	struct buf names = BUF_INIT;
	struct journal j;
	int dirfd;

	open_persistent(&j, 1 << 20, 4);
	add(&j, "web", 6, "hello");
	assert_int_equal(journal_append(&j, &in), 0);
	add(&j, "", 0, "");
	assert_int_equal(journal_flush(&j), 0);
	assert_int_equal(journal_sync(&j), 0);

	assert_int_equal(journal_files_each(jdir, read_each, &names), 0);
	assert_string_equal(names.data, "journal.pjl\n");
	dirfd = open(jdir, O_RDONLY | O_DIRECTORY);
	read_file(dirfd, "journal.pjl", &f);
	assert_string_equal(f.text.data,
			    "1/42 web 6 7 hello\n"
			    "2/42 x 2 -5 tab\\x09here \\x00 nul \\xff\n"
			    "3/42  0 7 \n");
	assert_int_equal(f.end, JOURNAL_FILE_DONE);
	assert_int_equal(f.unread, 0);
	close(dirfd);
	buf_free(&f.text);
	buf_free(&names);
	journal_free(&j);
}

static uint64_t file_size(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", jdir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void nothing_reaches_disk_before_a_flush(void **state)
{
	char msg[1001];
	struct journal j;

	open_persistent(&j, 1 << 20, 4);
	memset(msg, 'm', 1000);
	msg[1000] = 0;
	add(&j, "a", 6, msg);
	assert_int_equal(file_size("journal.pjl"), JOURNAL_FILE_HEADER);
	assert_false(journal_flush_due(&j));
	while (j.store.pending_len < JOURNAL_FLUSH_BYTES)
		add(&j, "a", 6, msg);
	assert_true(journal_flush_due(&j));
	assert_int_equal(journal_flush(&j), 0);
	assert_false(journal_flush_due(&j));
	assert_int_equal(file_size("journal.pjl"), j.store.file_bytes);
	assert_true(j.store.file_bytes > JOURNAL_FLUSH_BYTES);
	journal_free(&j);
}

static void a_full_batch_drops_entries_from_disk_only(void **state)
{
	char msg[JOURNAL_MSG_MAX + 1];
	struct journal j;
	uint64_t n = 0;

	open_persistent(&j, 1 << 20, 4);
	memset(msg, 'm', JOURNAL_MSG_MAX);
	msg[JOURNAL_MSG_MAX] = 0;
	while (j.store.dropped == 0) {
		add(&j, "a", 6, msg);
		n++;
	}
	assert_int_equal(n, JOURNAL_PENDING_MAX / (JOURNAL_RECORD_HEADER + 2 + 1 + JOURNAL_MSG_MAX) + 1);
	assert_int_equal(journal_last_seq(&j), n);
	assert_int_equal(j.dropped, 0);
	assert_int_equal(journal_flush(&j), 0);
	add(&j, "a", 6, "fits again");
	assert_int_equal(j.store.dropped, 1);
	journal_free(&j);
}

struct collect {
	struct buf names;
	struct buf text;
};

static int collect_file(int dirfd, const char *name, void *arg)
{
	struct collect *c = arg;
	struct file_read f = { BUF_INIT, 0, 0 };

	buf_printf(&c->names, "%s\n", name);
	read_file(dirfd, name, &f);
	if (f.text.len)
		buf_append(&c->text, f.text.data, f.text.len);
	assert_int_equal(f.end, JOURNAL_FILE_DONE);
	buf_free(&f.text);
	return 0;
}

static void rotation_keeps_at_most_max_files_archives(void **state)
{
	struct collect c = { BUF_INIT, BUF_INIT };
	char msg[1001], *line, *save;
	struct journal j;
	uint64_t seq = 0;
	int i;

	open_persistent(&j, JOURNAL_FILE_BYTES_MIN, 2);
	memset(msg, 'r', 1000);
	msg[1000] = 0;
	for (i = 1; i <= 300; i++) {
		add(&j, "a", 6, msg);
		if (i % 10 == 0)
			assert_int_equal(journal_flush(&j), 0);
	}
	assert_int_equal(j.store.rotations, 4);
	assert_int_equal(journal_files_each(jdir, collect_file, &c), 0);
	assert_string_equal(c.names.data,
			    "journal-0000000000000003.pjl\n"
			    "journal-0000000000000004.pjl\n"
			    "journal.pjl\n");
	/* The files kept hold a run of entries up to the newest. */
	for (line = strtok_r(c.text.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t s = strtoull(line, NULL, 10);

		if (seq)
			assert_int_equal(s, seq + 1);
		seq = s;
	}
	assert_int_equal(seq, 300);
	assert_true(file_size("journal-0000000000000003.pjl") >= JOURNAL_FILE_BYTES_MIN);
	buf_free(&c.names);
	buf_free(&c.text);
	journal_free(&j);
}

static void sync_writes_everything_and_rotates_a_full_file(void **state)
{
	struct collect c = { BUF_INIT, BUF_INIT };
	char msg[1001];
	struct journal j;

	open_persistent(&j, JOURNAL_FILE_BYTES_MIN, 2);
	memset(msg, 's', 1000);
	msg[1000] = 0;
	while (j.store.pending_len < JOURNAL_FILE_BYTES_MIN)
		add(&j, "a", 6, msg);
	assert_int_equal(journal_sync(&j), 0);
	assert_int_equal(j.store.rotations, 1);
	assert_int_equal(j.store.pending_len, 0);
	assert_int_equal(file_size("journal.pjl"), JOURNAL_FILE_HEADER);
	assert_int_equal(journal_files_each(jdir, collect_file, &c), 0);
	assert_string_equal(c.names.data, "journal-0000000000000001.pjl\njournal.pjl\n");
	size_t lines = 0;
	for (char *q = c.text.data; (q = strchr(q, '\n')); q++)
		lines++;
	assert_int_equal(lines, journal_last_seq(&j));	/* all of them, in the archive */
	buf_free(&c.names);
	buf_free(&c.text);
	journal_free(&j);
}

static void an_earlier_boots_file_becomes_an_archive(void **state)
{
	struct collect c = { BUF_INIT, BUF_INIT };
	struct journal j;

	open_persistent(&j, 1 << 20, 4);
	add(&j, "a", 6, "boot one");
	assert_int_equal(journal_sync(&j), 0);
	journal_free(&j);

	open_persistent(&j, 1 << 20, 4);
	j.boot_id = 43;
	add(&j, "a", 6, "boot two");
	assert_int_equal(journal_flush(&j), 0);
	assert_int_equal(journal_files_each(jdir, collect_file, &c), 0);
	assert_string_equal(c.names.data, "journal-0000000000000001.pjl\njournal.pjl\n");
	assert_string_equal(c.text.data, "1/42 a 6 7 boot one\n1/43 a 6 7 boot two\n");
	buf_free(&c.names);
	buf_free(&c.text);
	journal_free(&j);

	/* An active file with nothing in it is simply started again. */
	struct collect c2 = { BUF_INIT, BUF_INIT };
	char path[512];

	snprintf(path, sizeof path, "%s/journal.pjl", jdir);
	assert_int_equal(truncate(path, 0), 0);
	open_persistent(&j, 1 << 20, 4);
	assert_int_equal(journal_files_each(jdir, collect_file, &c2), 0);
	assert_string_equal(c2.names.data, "journal-0000000000000001.pjl\njournal.pjl\n");
	buf_free(&c2.names);
	buf_free(&c2.text);
	journal_free(&j);
}

/* Write three entries to the active file and return its path in path. */
static void three_entries_on_disk(char *path, size_t len)
{
	struct journal j;

	open_persistent(&j, 1 << 20, 4);
	add(&j, "a", 6, "one");
	add(&j, "a", 6, "two");
	add(&j, "a", 6, "three");
	assert_int_equal(journal_flush(&j), 0);
	journal_free(&j);
	snprintf(path, len, "%s/journal.pjl", jdir);
}

static void torn_tail_stops_the_reader(void **state)
{
	struct file_read f = { BUF_INIT, 0, 0 };
	char path[512];
	int dirfd;

	three_entries_on_disk(path, sizeof path);
	assert_int_equal(truncate(path, file_size("journal.pjl") - 3), 0);
	dirfd = open(jdir, O_RDONLY | O_DIRECTORY);
	read_file(dirfd, "journal.pjl", &f);
	assert_string_equal(f.text.data, "1/42 a 6 7 one\n2/42 a 6 7 two\n");
	assert_int_equal(f.end, JOURNAL_FILE_TORN);
	assert_int_equal(f.unread, JOURNAL_RECORD_HEADER + 2 + 1 + 5 - 3);
	buf_free(&f.text);

	/* Cut inside the file header: torn, and nothing read. */
	struct file_read g = { BUF_INIT, 0, 0 };

	assert_int_equal(truncate(path, 5), 0);
	read_file(dirfd, "journal.pjl", &g);
	assert_null(g.text.data);
	assert_int_equal(g.end, JOURNAL_FILE_TORN);
	assert_int_equal(g.unread, 5);
	close(dirfd);
}

static void corrupt_record_stops_the_reader(void **state)
{
	struct file_read f = { BUF_INIT, 0, 0 }, g = { BUF_INIT, 0, 0 };
	size_t rec1 = JOURNAL_RECORD_HEADER + 2 + 1 + 3;
	char path[512];
	int fd, dirfd;

	three_entries_on_disk(path, sizeof path);
	fd = open(path, O_WRONLY);
	/* One byte of the second record's message. */
	assert_int_equal(pwrite(fd, "T", 1, JOURNAL_FILE_HEADER + rec1 + JOURNAL_RECORD_HEADER + 2), 1);
	dirfd = open(jdir, O_RDONLY | O_DIRECTORY);
	read_file(dirfd, "journal.pjl", &f);
	assert_string_equal(f.text.data, "1/42 a 6 7 one\n");
	assert_int_equal(f.end, JOURNAL_FILE_CORRUPT);
	assert_int_equal(f.unread, file_size("journal.pjl") - JOURNAL_FILE_HEADER - rec1);
	buf_free(&f.text);

	/* A file that is not a journal file at all. */
	assert_int_equal(pwrite(fd, "NOTJRNL!", 8, 0), 8);
	read_file(dirfd, "journal.pjl", &g);
	assert_null(g.text.data);
	assert_int_equal(g.end, JOURNAL_FILE_CORRUPT);
	assert_int_equal(g.unread, file_size("journal.pjl"));
	close(fd);
	close(dirfd);
}

static void write_error_turns_persistence_off_but_not_the_ring(void **state)
{
	struct journal j;
	int full = open("/dev/full", O_WRONLY);

	assert_true(full >= 0);
	open_persistent(&j, 1 << 20, 4);
	add(&j, "a", 6, "before");
	assert_int_equal(dup2(full, j.store.fd), j.store.fd);	/* the disk fills up */
	close(full);
	assert_int_equal(journal_flush(&j), -ENOSPC);
	assert_int_equal(j.store.error, -ENOSPC);
	assert_non_null(strstr(j.store.err.msg, "write journal.pjl"));
	assert_int_equal(j.store.fd, -1);
	assert_int_equal(journal_flush(&j), 0);		/* told once */
	assert_int_equal(journal_sync(&j), 0);
	add(&j, "a", 6, "after");
	expect_all(&j, NULL, "1 a 6 before\n2 a 6 after\n");
	journal_free(&j);
}

static void persist_refuses_bad_limits_and_a_missing_parent(void **state)
{
	struct err err = { 0 };
	struct journal j;
	char path[160];

	open_journal(&j, JOURNAL_RING_MIN);
	assert_int_equal(journal_persist(&j, jdir, JOURNAL_FILE_BYTES_MIN - 1, 4, &err), -EINVAL);
	assert_int_equal(journal_persist(&j, jdir, 1 << 20, 0, &err), -EINVAL);
	assert_int_equal(journal_persist(&j, jdir, 1 << 20, JOURNAL_FILES_MAX + 1, &err), -EINVAL);
	snprintf(path, sizeof path, "%s/no/such", tmpdir);
	assert_int_equal(journal_persist(&j, path, 1 << 20, 4, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no/such"));
	assert_int_equal(j.store.fd, -1);
	add(&j, "a", 6, "ring only");
	assert_int_equal(journal_flush(&j), 0);
	journal_free(&j);
}

/* Give a hand-edited record a good CRC again, so only the other checks can refuse it. */
static void recrc(unsigned char *rec, size_t n)
{
	uint32_t crc = journal_crc32(journal_crc32(0, rec, 8), rec + 12, n - 12);

	for (int i = 0; i < 4; i++)
		rec[8 + i] = (unsigned char)(crc >> (8 * i));
}

static void record_codec_checks_every_field(void **state)
{
	unsigned char rec[JOURNAL_RECORD_MAX], copy[JOURNAL_RECORD_MAX];
	struct journal_entry in = { .seq = 9, .boot_id = 1, .unit = "u", .priority = 5,
				    .msg = "hi", .msg_len = 2 }, e;
	size_t n, used;

	assert_int_equal(journal_crc32(0, "123456789", 9), 0xcbf43926);

	assert_int_equal(journal_record_encode(&in, rec, sizeof rec, &n), 0);
	assert_int_equal(n, JOURNAL_RECORD_HEADER + 1 + 1 + 2 + 1);
	assert_int_equal(journal_record_encode(&in, rec, n - 1, &n), -ENOSPC);
	in.priority = 8;
	assert_int_equal(journal_record_encode(&in, rec, sizeof rec, &n), -EINVAL);
	in.priority = 5;
	assert_int_equal(journal_record_encode(&in, rec, sizeof rec, &n), 0);

	assert_int_equal(journal_record_decode(rec, n, &e, &used), 0);
	assert_int_equal(used, n);
	assert_int_equal(e.seq, 9);
	assert_string_equal(e.unit, "u");
	assert_int_equal(journal_record_decode(rec, n - 1, &e, &used), -EAGAIN);
	assert_int_equal(journal_record_decode(rec, 3, &e, &used), -EAGAIN);
	assert_int_equal(journal_record_decode("JRX", 3, &e, &used), -EBADMSG);

	/* Each change below is caught, by the CRC or by a bound. */
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, rec, n);
		copy[i] ^= 0x10;
		if (journal_record_decode(copy, n, &e, &used) == 0)
			fail_msg("a change at byte %zu went unnoticed", i);
	}
	/* A unit with a NUL inside, even with a good CRC. */
	memcpy(copy, rec, n);
	copy[50] = 2;
	copy[52] = 1;
	copy[JOURNAL_RECORD_HEADER + 1] = 0;
	copy[JOURNAL_RECORD_HEADER + 2] = 0;
	copy[JOURNAL_RECORD_HEADER + 3] = 'h';
	recrc(copy, n);
	assert_int_equal(journal_record_decode(copy, n, &e, &used), -EBADMSG);
	/* A message without its NUL. */
	memcpy(copy, rec, n);
	copy[n - 1] = '!';
	recrc(copy, n);
	assert_int_equal(journal_record_decode(copy, n, &e, &used), -EBADMSG);
	/* A priority out of range. */
	memcpy(copy, rec, n);
	copy[48] = 8;
	recrc(copy, n);
	assert_int_equal(journal_record_decode(copy, n, &e, &used), -EBADMSG);
	/* The same layout as above with a real unit of two bytes is fine. */
	memcpy(copy, rec, n);
	copy[50] = 2;
	copy[52] = 1;
	copy[JOURNAL_RECORD_HEADER + 1] = 'v';
	copy[JOURNAL_RECORD_HEADER + 2] = 0;
	copy[JOURNAL_RECORD_HEADER + 3] = 'h';
	copy[JOURNAL_RECORD_HEADER + 4] = 0;
	recrc(copy, n);
	assert_int_equal(journal_record_decode(copy, n, &e, &used), 0);
	assert_string_equal(e.unit, "uv");
	assert_int_equal(e.msg_len, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_numbers_entries_from_one_and_keeps_every_field),
		cmocka_unit_test(full_ring_evicts_the_oldest_and_counts_them),
		cmocka_unit_test(ring_survives_many_wraps_with_mixed_sizes),
		cmocka_unit_test(invalid_entries_are_refused_and_counted),
		cmocka_unit_test(init_refuses_a_ring_out_of_bounds),
		cmocka_unit_test(timestamps_default_to_the_clock),
		cmocka_unit_test(last_n_entries_of_one_unit),
		cmocka_unit_test(since_and_until_select_by_realtime_inclusively),
		cmocka_unit_test(priority_mask_selects_like_journalctl_p),
		cmocka_unit_test(reader_learns_its_cursor_was_evicted),
		cmocka_unit_test(follower_is_notified_and_polls_its_cursor),
		cmocka_unit_test(stream_splits_lines_and_holds_partial_ones),
		cmocka_unit_test(stream_long_line_becomes_several_entries_with_one_priority),
		cmocka_unit_test(stream_level_prefix_sets_the_priority),
		cmocka_unit_test(stream_splits_at_nul_and_drops_a_final_cr),
		cmocka_unit_test(stream_init_checks_its_arguments),
		cmocka_unit_test(stream_drain_reads_a_pipe_in_bounded_bites),
		cmocka_unit_test(kmsg_records_as_the_kernel_writes_them),
		cmocka_unit_test(kmsg_escapes_are_decoded),
		cmocka_unit_test(kmsg_malformed_records_are_refused),
		cmocka_unit_test(kmsg_drain_counts_bad_and_lost_records),
		cmocka_unit_test_setup_teardown(persisted_entries_read_back_in_order, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(nothing_reaches_disk_before_a_flush, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(a_full_batch_drops_entries_from_disk_only, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(rotation_keeps_at_most_max_files_archives, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(sync_writes_everything_and_rotates_a_full_file, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(an_earlier_boots_file_becomes_an_archive, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(torn_tail_stops_the_reader, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(corrupt_record_stops_the_reader, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(write_error_turns_persistence_off_but_not_the_ring, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(persist_refuses_bad_limits_and_a_missing_parent, make_tmpdir, remove_tmpdir),
		cmocka_unit_test(record_codec_checks_every_field),
	};
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
