/*
 * The journal: every unit's stdout and stderr, PID 1's own messages and the
 * kernel log, kept as entries in a ring of fixed size and, when /var is
 * persistent, in files under /var/log/journal.
 *
 * PID 1 owns one struct journal. Nothing here blocks on a reader or
 * allocates after setup: an append copies bytes into the ring, evicting the
 * oldest entries when it is full; readers hold a cursor (a sequence number)
 * and ask for what came after it, so a slow or absent reader costs nothing.
 * Files are written in batches that the owner flushes from a timer, and an
 * I/O error turns persistence off without touching the ring.
 *
 * Layers, each usable on its own:
 *   entries and the ring ........... journal.c        (no I/O)
 *   line splitting, /dev/kmsg ...... journal_stream.c (parsing has no I/O;
 *                                    the *_drain functions read a fd)
 *   file format, files on disk ..... journal_file.c
 *
 * A typical owner:
 *
 *	journal_init(&j, 8 << 20);
 *	j.boot_id = ...;			// from /proc/sys/kernel/random/boot_id
 *	journal_set_notify(&j, woke, arg);	// wake followers; flush when due
 *	if (var_is_persistent && journal_persist(&j, "/var/log/journal",
 *						 8 << 20, 8, &err) < 0)
 *		report err.msg
 *	every second: journal_flush(&j);	// logs j.store.err once if it fails
 *	at shutdown:  journal_sync(&j);
 */
#ifndef PITH_INIT_JOURNAL_H
#define PITH_INIT_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

/*
 * Longest message of one entry. A longer line becomes several entries, as
 * journald does at its LineMax=; 4 KiB holds any line a person reads whole
 * and keeps the largest entry far below the smallest ring.
 */
#define JOURNAL_MSG_MAX 4096
/* Longest unit name: systemd's own limit on unit names. */
#define JOURNAL_UNIT_MAX 256

/* Unit names the journal gives to the sources that are not units. */
#define JOURNAL_UNIT_KERNEL "kernel"
#define JOURNAL_UNIT_INIT "pith-init"

/* Ring sizes: the smallest holds a dozen of the largest entries; offsets are 32-bit. */
#define JOURNAL_RING_MIN (64 * 1024)
#define JOURNAL_RING_MAX (1024 * 1024 * 1024)

/*
 * One entry. On append, seq and boot_id are ignored (the journal sets them)
 * and a zero timestamp means "now" (see journal_append). On read, unit and
 * msg point into the journal's memory, and msg[msg_len] is a NUL byte that
 * msg_len does not count; the message itself may hold any bytes.
 */
struct journal_entry {
	uint64_t seq;			/* from 1, strictly increasing within a boot */
	uint64_t boot_id;
	uint64_t realtime_usec;		/* CLOCK_REALTIME */
	uint64_t monotonic_usec;	/* CLOCK_MONOTONIC */
	int pid;			/* 0 when no process (the kernel) */
	int priority;			/* syslog priority, 0 (emerg) .. 7 (debug) */
	const char *unit;		/* NUL-terminated, at most JOURNAL_UNIT_MAX bytes */
	const char *msg;
	size_t msg_len;			/* at most JOURNAL_MSG_MAX */
};

/*
 * Which entries a query wants. A zeroed filter matches every entry.
 * priorities is a bit mask (bit p set: priority p wanted), 0 for all;
 * JOURNAL_PRIO_UPTO(p) is journalctl's "-p p".
 */
struct journal_filter {
	const char *unit;		/* exact unit name; NULL for every unit */
	uint64_t since_usec;		/* realtime at or after; 0: no lower bound */
	uint64_t until_usec;		/* realtime at or before; 0: no upper bound */
	unsigned priorities;
};

#define JOURNAL_PRIO_UPTO(p) ((2u << (p)) - 1)

/* 1 if e is wanted by f (a NULL f wants everything), 0 if not. */
int journal_filter_match(const struct journal_filter *f, const struct journal_entry *e);

/* ---- persistence state (journal_file.c) --------------------------------- */

/* Bytes of encoded entries kept for the next journal_flush; when full, entries are not persisted. */
#define JOURNAL_PENDING_MAX (256 * 1024)
/* journal_flush_due() says yes from this many pending bytes on. */
#define JOURNAL_FLUSH_BYTES (64 * 1024)
/* Bounds on journal_persist's max_file_bytes and max_files. */
#define JOURNAL_FILE_BYTES_MIN (64 * 1024)
#define JOURNAL_FILES_MAX 256

/* Owned by struct journal; fields are read-only outside journal_file.c. */
struct journal_store {
	int dirfd;			/* the directory; -1 when persistence is off */
	int fd;				/* the active file; -1 when persistence is off */
	uint64_t file_bytes;		/* size of the active file */
	uint64_t max_file_bytes;
	unsigned max_files;		/* archives kept */
	uint64_t next_archive;		/* number the next archive gets */
	unsigned char *pending;		/* JOURNAL_PENDING_MAX bytes once persisting */
	size_t pending_len;
	uint64_t dropped;		/* entries never persisted: the batch was full */
	uint64_t rotations;
	int error;			/* -errno that turned persistence off; 0 if none */
	struct err err;			/* says what failed, for the owner's log */
};

/* ---- the journal and its ring (journal.c) ------------------------------- */

struct journal;

/* Called after every append with the stored entry (valid during the call). */
typedef void journal_notify_fn(struct journal *j, const struct journal_entry *e, void *arg);
/* Fills the current CLOCK_REALTIME and CLOCK_MONOTONIC in microseconds. */
typedef void journal_clock_fn(uint64_t *realtime_usec, uint64_t *monotonic_usec);

/*
 * The caller owns the struct; journal_init allocates the ring and its index
 * once. Fields are read-only for the owner except boot_id and clock, which
 * it may set after journal_init.
 */
struct journal {
	unsigned char *ring;
	uint32_t *index;		/* ring offset of each live entry, by seq % index_len */
	size_t capacity;
	size_t index_len;
	size_t head;			/* offset of the oldest entry */
	size_t tail;			/* offset where the next entry goes */
	size_t wrap;			/* end of the entries before the ring wrapped */
	int wrapped;
	size_t used;			/* bytes held by live entries */
	uint64_t first_seq;		/* oldest live entry; equals next_seq when empty */
	uint64_t next_seq;
	uint64_t evicted;		/* entries pushed out by newer ones */
	uint64_t dropped;		/* entries refused by journal_append */
	uint64_t boot_id;
	journal_clock_fn *clock;
	journal_notify_fn *notify;
	void *notify_arg;
	int notifying;
	struct journal_store store;
};

/* CLOCK_REALTIME and CLOCK_MONOTONIC from the kernel; the default clock. */
void journal_clock_system(uint64_t *realtime_usec, uint64_t *monotonic_usec);

/*
 * Allocate a ring of capacity bytes (JOURNAL_RING_MIN..JOURNAL_RING_MAX;
 * rounded down to a multiple of 8) plus an index of about 1/12 of that.
 * 0, -EINVAL or -ENOMEM. Persistence starts off.
 */
int journal_init(struct journal *j, size_t capacity);

/* Free the ring and close the files without flushing (journal_sync first). */
void journal_free(struct journal *j);

/*
 * Store a copy of e as the next entry and return 0. Evicts the oldest
 * entries to make room; never allocates and never blocks. The entry is
 * added to the pending file batch when persisting, then the notify hook
 * runs (an append from inside the hook is stored but does not notify again).
 *
 * Timestamps: both zero means now; a monotonic time with a zero realtime
 * (a kernel record) gets the realtime of that moment by the current offset
 * between the clocks; a realtime with a zero monotonic gets monotonic now.
 *
 * A priority outside 0..7, a NULL or overlong unit, or a message longer
 * than JOURNAL_MSG_MAX is refused with -EINVAL or -EMSGSIZE and counted in
 * j->dropped.
 */
int journal_append(struct journal *j, const struct journal_entry *e);

/* The seq of the newest entry, 0 if there has never been one. */
uint64_t journal_last_seq(const struct journal *j);

/* Entries now in the ring. */
uint64_t journal_count(const struct journal *j);

/* Set (or clear, with NULL) the hook journal_append calls. */
void journal_set_notify(struct journal *j, journal_notify_fn *fn, void *arg);

/*
 * A reader is a cursor: the seq of the last entry it looked at (0: before
 * the oldest). The caller owns it and may set cursor directly, e.g. from a
 * client's "after this entry". lost adds up the entries that were evicted
 * before the reader got to them; a follower reports it and sets it to 0.
 */
struct journal_reader {
	uint64_t cursor;
	uint64_t lost;
};

/* Start before the oldest entry. */
void journal_reader_init(struct journal_reader *r);

/*
 * Place r so that the next reads return the last n entries matching f
 * (fewer if the ring has fewer), scanning back from the newest; n = 0
 * places it after the newest, for a follower that wants only new entries.
 */
void journal_reader_seek_tail(const struct journal *j, struct journal_reader *r,
			      const struct journal_filter *f, size_t n);

/*
 * Fill e with the first entry after r->cursor that matches f, advance the
 * cursor past it and return 1; return 0 when there is none yet, with the
 * cursor past every entry looked at, so polling again costs only what is
 * new. If the cursor's successor was evicted, the gap is added to r->lost
 * and reading goes on from the oldest entry. A cursor past the newest entry
 * (from an earlier boot, say) sees nothing until seqs pass it: the caller
 * checks boot_id. e points into the ring and is valid until the next
 * journal_append.
 */
int journal_read_next(const struct journal *j, struct journal_reader *r,
		      const struct journal_filter *f, struct journal_entry *e);

/* ---- stream input: a unit's stdout or stderr (journal_stream.c) --------- */

/* A drain reads at most this many times per call, this many bytes each. */
#define JOURNAL_STREAM_READS_MAX 16
#define JOURNAL_STREAM_READ_BYTES 4096

/* What journal_stream_drain and journal_kmsg_drain return when they do not fail. */
enum journal_drain {
	JOURNAL_DRAIN_IDLE = 0,		/* the fd would block: wait for the next event */
	JOURNAL_DRAIN_MORE = 1,		/* the read bound was hit; more may be waiting */
	JOURNAL_DRAIN_EOF = 2,		/* end of file; a partial line was flushed */
};

/*
 * Turns the bytes of one pipe into entries, one per line. Lines end at '\n'
 * or at a NUL byte, as journald splits them; a '\r' right before the end of
 * a line is dropped, since it only ever comes from programs written for
 * terminals and shows as garbage in a log. A line longer than
 * JOURNAL_MSG_MAX becomes several entries; the later ones keep the first
 * one's priority.
 *
 * With level_prefix set (the default, as SyslogLevelPrefix=yes), a line
 * starting "<N>" with N of one to three digits below 192 gets priority
 * N & 7 (the facility is ignored) and loses the prefix. Other lines get the
 * stream's priority: LOG_PRIO_INFO for stdout and stderr alike, as systemd
 * does (SyslogLevel= defaults to info and applies to both).
 */
struct journal_stream {
	struct journal *journal;
	char unit[JOURNAL_UNIT_MAX + 1];
	int pid;
	int priority;			/* for lines without a prefix */
	int level_prefix;		/* honour "<N>"; the owner may clear it */
	int continued;			/* the held bytes continue a split line */
	int line_priority;		/* priority of the line being continued */
	size_t len;			/* bytes held in line */
	char line[JOURNAL_MSG_MAX];
};

/* 0, or -EINVAL for a unit name too long or a priority outside 0..7. */
int journal_stream_init(struct journal_stream *s, struct journal *j,
			const char *unit, int pid, int priority);

/* Append an entry for every line the bytes complete; hold the rest. */
void journal_stream_feed(struct journal_stream *s, const void *data, size_t len);

/* At end of file: append the partial line held, if any. */
void journal_stream_flush(struct journal_stream *s);

/*
 * Read the non-blocking fd into s until it would block, at most
 * JOURNAL_STREAM_READS_MAX times, so one busy unit cannot starve the
 * event loop (which calls again while the fd stays readable). Returns an
 * enum journal_drain, or -errno from read(2); after EOF or an error the
 * caller closes the fd (and calls journal_stream_flush after an error).
 */
int journal_stream_drain(struct journal_stream *s, int fd);

/* ---- the kernel log, /dev/kmsg (journal_stream.c) ----------------------- */

/* Largest record read(2) returns: the kernel's CONSOLE_EXT_LOG_MAX. */
#define JOURNAL_KMSG_RECORD_MAX 8192
#define JOURNAL_KMSG_READS_MAX 64

/*
 * Parse one record as read(2) from /dev/kmsg returns it:
 * "PRIO,SEQ,USEC[,FLAGS...];MESSAGE\n" then lines starting with ' ' that
 * hold KEY=value (ignored). PRIO & 7 is the priority, USEC the monotonic
 * time; the kernel's "\xHH" escapes are decoded into msgbuf, which must
 * have JOURNAL_MSG_MAX + 1 bytes (a longer message is cut there; the
 * kernel never writes one). Fills e (unit "kernel", pid 0, realtime 0, so
 * journal_append derives it) and *kseq. 0, or -EINVAL for a malformed
 * record. Fragments (flag 'c') are kept as entries of their own.
 */
int journal_kmsg_parse(const char *rec, size_t len, struct journal_entry *e,
		       char *msgbuf, uint64_t *kseq);

/*
 * Reads /dev/kmsg into a journal. read is read(2); tests put in their own.
 */
struct journal_kmsg {
	struct journal *journal;
	ssize_t (*read)(int fd, void *buf, size_t len);
	uint64_t next_kseq;		/* the kernel seq expected next; 0 before the first */
	uint64_t records;		/* records appended */
	uint64_t bad;			/* records skipped as malformed */
	uint64_t lost;			/* records the kernel overwrote before they were read */
};

void journal_kmsg_init(struct journal_kmsg *k, struct journal *j);

/*
 * Read records from the non-blocking fd until it would block, at most
 * JOURNAL_KMSG_READS_MAX. EPIPE (the kernel overwrote records) is counted
 * through the gap in sequence numbers and reading goes on. Returns an enum
 * journal_drain or -errno.
 */
int journal_kmsg_drain(struct journal_kmsg *k, int fd);

/* ---- files (journal_file.c) -------------------------------------------- */

/*
 * On-disk format, all integers little-endian.
 *
 * A file starts with a 16-byte header: the 8 bytes "PITHJRNL", a u32
 * version (1) and a u32 that is 0. Then records, back to back:
 *
 *	offset size
 *	 0     4    magic, the bytes "JREC"
 *	 4     4    length of the whole record, from magic to the last NUL
 *	 8     4    CRC-32 (IEEE 802.3, as zlib's crc32) of bytes 0..7 and
 *	            12..length-1, i.e. of everything but itself
 *	12     8    seq
 *	20     8    boot_id
 *	28     8    realtime usec
 *	36     8    monotonic usec
 *	44     4    pid (two's complement)
 *	48     1    priority, 0..7
 *	49     1    0
 *	50     2    U, unit length, at most JOURNAL_UNIT_MAX
 *	52     4    M, message length, at most JOURNAL_MSG_MAX
 *	56     U+1  unit and a NUL (the unit holds no NUL)
 *	57+U   M+1  message and a NUL
 *
 * so length = 58 + U + M. A record is appended whole or the file ends
 * inside it (torn); readers stop at the first record that is torn or
 * fails a check.
 *
 * In the directory, the active file is JOURNAL_ACTIVE_NAME and archives
 * are "journal-<16 hex digits>.pjl", numbered upwards: the highest is the
 * newest. Rotation renames the active file to the next archive name.
 */
#define JOURNAL_FILE_MAGIC "PITHJRNL"
#define JOURNAL_FILE_VERSION 1
#define JOURNAL_FILE_HEADER 16
#define JOURNAL_RECORD_HEADER 56
#define JOURNAL_RECORD_MAX (JOURNAL_RECORD_HEADER + JOURNAL_UNIT_MAX + JOURNAL_MSG_MAX + 2)
#define JOURNAL_ACTIVE_NAME "journal.pjl"

/* CRC-32 as zlib computes it; pass 0 as crc to start. */
uint32_t journal_crc32(uint32_t crc, const void *data, size_t len);

/*
 * Encode e into out (cap bytes); *len gets the record's size.
 * 0, -EINVAL for a field out of bounds, -ENOSPC if cap is too small.
 */
int journal_record_encode(const struct journal_entry *e, void *out, size_t cap, size_t *len);

/*
 * Decode the record at the start of the avail bytes at p into e, whose
 * unit and msg then point into p; *len gets the record's size. 0; -EAGAIN
 * if avail ends inside the record; -EBADMSG if the record fails a check.
 */
int journal_record_decode(const void *p, size_t avail, struct journal_entry *e, size_t *len);

/*
 * Start writing dir/JOURNAL_ACTIVE_NAME (dir is created if missing, its
 * parent is not). An active file left by an earlier boot is archived
 * first, so each boot starts its own file and a torn tail is always the
 * end of an archive. After a flush leaves the active file at max_file_bytes
 * or more (>= JOURNAL_FILE_BYTES_MIN) it is archived and a new one started;
 * beyond max_files (1..JOURNAL_FILES_MAX) archives, the oldest are deleted.
 * 0 or -errno with err filled; on failure persistence stays off.
 */
int journal_persist(struct journal *j, const char *dir, uint64_t max_file_bytes,
		    unsigned max_files, struct err *err);

/* Encode e into the pending batch; journal_append calls it for each entry. */
void journal_store_add(struct journal_store *s, const struct journal_entry *e);

/* Close the files and free the batch, unflushed; journal_free calls it. */
void journal_store_close(struct journal_store *s);

/* 1 when at least JOURNAL_FLUSH_BYTES wait for journal_flush. */
int journal_flush_due(const struct journal *j);

/*
 * Write the pending batch to the active file (no fsync) and rotate when it
 * is full. 0 when written or when persistence is off; on the call where an
 * I/O error turns persistence off, that -errno (j->store.err says what).
 */
int journal_flush(struct journal *j);

/* journal_flush with an fsync of the file (before any rotation) and the directory: for shutdown. */
int journal_sync(struct journal *j);

/* Why a file reader stopped. */
enum journal_file_end {
	JOURNAL_FILE_READING = 0,
	JOURNAL_FILE_DONE,		/* clean end of file */
	JOURNAL_FILE_TORN,		/* the file ends inside a record */
	JOURNAL_FILE_CORRUPT,		/* a record (or the header) failed a check */
};

#define JOURNAL_FILE_BUF (4 * JOURNAL_RECORD_MAX)

/*
 * Reads the records of one file from a fd the caller opened (and closes).
 * After it stops, end says why and unread counts the bytes from the record
 * it stopped at to the end of the file.
 */
struct journal_file_reader {
	int fd;
	enum journal_file_end end;
	uint64_t entries;		/* records returned */
	uint64_t offset;		/* file offset of buf[0] */
	uint64_t unread;
	size_t off, len;		/* the unconsumed bytes are buf[off..len) */
	int header_seen;
	unsigned char buf[JOURNAL_FILE_BUF];
};

void journal_file_reader_init(struct journal_file_reader *r, int fd);

/*
 * 1 with the next record in e (pointing into r, valid until the next
 * call); 0 when reading has stopped (see r->end); -errno from read(2).
 */
int journal_file_reader_next(struct journal_file_reader *r, struct journal_entry *e);

/* Called with an open directory fd and a file name; nonzero stops the walk. */
typedef int journal_file_fn(int dirfd, const char *name, void *arg);

/*
 * Call fn for the journal files in dir, oldest first: the archives (the
 * newest JOURNAL_FILES_MAX of them) by number, then the active file if
 * present. Returns 0, what fn returned, or -errno.
 */
int journal_files_each(const char *dir, journal_file_fn *fn, void *arg);

#endif
