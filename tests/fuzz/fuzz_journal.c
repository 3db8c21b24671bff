/* libFuzzer: the journal's parsers never crash, read out of bounds or leak,
 * and what they store keeps the journal's bounds. The same input goes to
 * the /dev/kmsg parser (whole, and line by line as records), to the line
 * splitter (in pieces whose sizes the input chooses), and to the file
 * reader (through a memory-backed fd) and the record decoder. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "journal.h"

static struct journal j;
static int memfd = -1;

static void fixed_clock(uint64_t *rt, uint64_t *mono)
{
	*rt = 1700000000000000ull;
	*mono = 1000000;
}

/* Every live entry is within bounds and NUL-terminated where promised. */
static void check_ring(void)
{
	struct journal_reader r;
	struct journal_entry e;
	uint64_t seq = 0;

	journal_reader_init(&r);
	while (journal_read_next(&j, &r, NULL, &e) == 1) {
		if (e.msg_len > JOURNAL_MSG_MAX || e.priority < 0 || e.priority > 7 ||
		    strlen(e.unit) > JOURNAL_UNIT_MAX || e.msg[e.msg_len] != 0 ||
		    (seq && e.seq != seq + 1))
			abort();
		seq = e.seq;
	}
	if (j.used > j.capacity || r.lost)
		abort();
}

static void fuzz_kmsg(const uint8_t *data, size_t size)
{
	struct journal_kmsg k;
	char msg[JOURNAL_MSG_MAX + 1];
	struct journal_entry e;
	const char *p = (const char *)data, *end = p + size;
	uint64_t kseq;

	journal_kmsg_init(&k, &j);
	if (journal_kmsg_parse(p, size, &e, msg, &kseq) == 0) {
		static unsigned char rec[JOURNAL_RECORD_MAX];
		struct journal_entry back;
		size_t n, used;

		if (e.msg_len > JOURNAL_MSG_MAX || e.priority > 7 || msg[e.msg_len] != 0)
			abort();
		/* What is parsed survives the file format unchanged. */
		if (journal_record_encode(&e, rec, sizeof rec, &n) < 0 ||
		    journal_record_decode(rec, n, &back, &used) < 0 || used != n ||
		    back.msg_len != e.msg_len || memcmp(back.msg, e.msg, e.msg_len) != 0 ||
		    back.priority != e.priority || back.monotonic_usec != e.monotonic_usec)
			abort();
		journal_append(&j, &e);
	}
	/* Lines not starting with ' ' begin a record, as they would in reads. */
	while (p < end) {
		const char *q = p;

		do {
			const char *nl = memchr(q, '\n', end - q);
			q = nl ? nl + 1 : end;
		} while (q < end && *q == ' ');
		if (journal_kmsg_parse(p, q - p, &e, msg, &kseq) == 0)
			journal_append(&j, &e);
		p = q;
	}
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
	struct journal_stream *s = malloc(sizeof *s);
	size_t off = 0;

	if (!s || journal_stream_init(s, &j, "fuzz.service", 1, LOG_PRIO_INFO) < 0)
		abort();
	s->level_prefix = size && (data[0] & 1);
	while (off < size) {
		/* Piece sizes from the data itself, some of them past the line limit. */
		size_t n = (size_t)data[off] * 37 + 1;

		if (n > size - off)
			n = size - off;
		journal_stream_feed(s, data + off, n);
		if (s->len > JOURNAL_MSG_MAX)
			abort();
		off += n;
	}
	journal_stream_flush(s);
	free(s);
}

static void fuzz_files(const uint8_t *data, size_t size)
{
	struct journal_file_reader *r = malloc(sizeof *r);
	static const char header[JOURNAL_FILE_HEADER] = JOURNAL_FILE_MAGIC "\1\0\0\0\0\0\0";
	struct journal_entry e;
	size_t off, n;

	if (!r)
		abort();
	/* As a whole file, and as records after a good header. */
	for (int pass = 0; pass < 2; pass++) {
		if (ftruncate(memfd, 0) < 0 || lseek(memfd, 0, SEEK_SET) < 0)
			abort();
		if (pass == 1 && write(memfd, header, sizeof header) != (ssize_t)sizeof header)
			abort();
		if (size && write(memfd, data, size) != (ssize_t)size)
			abort();
		lseek(memfd, 0, SEEK_SET);
		journal_file_reader_init(r, memfd);
		while (journal_file_reader_next(r, &e) == 1) {
			if (e.msg_len > JOURNAL_MSG_MAX || e.priority > 7 || e.msg[e.msg_len] != 0 ||
			    strlen(e.unit) > JOURNAL_UNIT_MAX)
				abort();
		}
		if (r->end == JOURNAL_FILE_READING || r->unread > size + sizeof header)
			abort();
	}
	free(r);

	for (off = 0; off < size; off += n) {
		n = 1;
		if (journal_record_decode(data + off, size - off, &e, &n) == 0 &&
		    (n > size - off || e.msg_len > JOURNAL_MSG_MAX))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0) {
		if (journal_init(&j, JOURNAL_RING_MIN) < 0)
			abort();
		j.clock = fixed_clock;
		memfd = memfd_create("fuzz_journal", 0);
		if (memfd < 0)
			abort();
	}
	fuzz_kmsg(data, size);
	fuzz_stream(data, size);
	fuzz_files(data, size);
	check_ring();
	return 0;
}
