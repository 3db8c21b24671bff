/*
 * The journal on disk: the record format (journal.h documents it), the
 * writer with its batches and rotation, and a reader that trusts nothing it
 * reads.
 */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAGIC "JREC"
#define ARCHIVE_PREFIX "journal-"
#define ARCHIVE_SUFFIX ".pjl"
/* "journal-" + 16 hex digits + ".pjl" + NUL */
#define ARCHIVE_NAME_SIZE 29

/* ---- encoding ------------------------------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Reflected polynomial 0xEDB88320, four bits at a time. */
uint32_t journal_crc32(uint32_t crc, const void *data, size_t len)
{
	static const uint32_t nibble[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const unsigned char *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

static uint32_t record_crc(const unsigned char *rec, size_t len)
{
	return journal_crc32(journal_crc32(0, rec, 8), rec + 12, len - 12);
}

int journal_record_encode(const struct journal_entry *e, void *out, size_t cap, size_t *len)
{
	unsigned char *p = out;
	size_t unit_len, n;

	if (!e->unit || e->priority < 0 || e->priority > 7 || e->msg_len > JOURNAL_MSG_MAX ||
	    (!e->msg && e->msg_len))
		return -EINVAL;
	unit_len = strnlen(e->unit, JOURNAL_UNIT_MAX + 1);
	if (unit_len > JOURNAL_UNIT_MAX)
		return -EINVAL;
	n = JOURNAL_RECORD_HEADER + unit_len + 1 + e->msg_len + 1;
	if (n > cap)
		return -ENOSPC;

	memcpy(p, RECORD_MAGIC, 4);
	put32(p + 4, n);
	put64(p + 12, e->seq);
	put64(p + 20, e->boot_id);
	put64(p + 28, e->realtime_usec);
	put64(p + 36, e->monotonic_usec);
	put32(p + 44, (uint32_t)e->pid);
	p[48] = (unsigned char)e->priority;
	p[49] = 0;
	p[50] = (unsigned char)unit_len;
	p[51] = (unsigned char)(unit_len >> 8);
	put32(p + 52, e->msg_len);
	memcpy(p + JOURNAL_RECORD_HEADER, e->unit, unit_len);
	p[JOURNAL_RECORD_HEADER + unit_len] = 0;
	if (e->msg_len)
		memcpy(p + JOURNAL_RECORD_HEADER + unit_len + 1, e->msg, e->msg_len);
	p[n - 1] = 0;
	put32(p + 8, record_crc(p, n));
	*len = n;
	return 0;
}

int journal_record_decode(const void *data, size_t avail, struct journal_entry *e, size_t *len)
{
	const unsigned char *p = data;
	size_t n, unit_len, msg_len;

	if (avail < 8)
		return memcmp(p, RECORD_MAGIC, avail < 4 ? avail : 4) == 0 ? -EAGAIN : -EBADMSG;
	if (memcmp(p, RECORD_MAGIC, 4) != 0)
		return -EBADMSG;
	n = get32(p + 4);
	if (n < JOURNAL_RECORD_HEADER + 2 || n > JOURNAL_RECORD_MAX)
		return -EBADMSG;
	if (avail < n)
		return -EAGAIN;
	unit_len = p[50] | (size_t)p[51] << 8;
	msg_len = get32(p + 52);
	if (get32(p + 8) != record_crc(p, n) || p[48] > 7 || p[49] != 0 ||
	    unit_len > JOURNAL_UNIT_MAX || msg_len > JOURNAL_MSG_MAX ||
	    n != JOURNAL_RECORD_HEADER + unit_len + msg_len + 2 ||
	    p[JOURNAL_RECORD_HEADER + unit_len] != 0 || p[n - 1] != 0 ||
	    memchr(p + JOURNAL_RECORD_HEADER, 0, unit_len))
		return -EBADMSG;

	e->seq = get64(p + 12);
	e->boot_id = get64(p + 20);
	e->realtime_usec = get64(p + 28);
	e->monotonic_usec = get64(p + 36);
	e->pid = (int32_t)get32(p + 44);
	e->priority = p[48];
	e->unit = (const char *)p + JOURNAL_RECORD_HEADER;
	e->msg = e->unit + unit_len + 1;
	e->msg_len = msg_len;
	*len = n;
	return 0;
}

/* ---- the directory -------------------------------------------------------- */

static void archive_name(char *out, uint64_t num)
{
	snprintf(out, ARCHIVE_NAME_SIZE, ARCHIVE_PREFIX "%016" PRIx64 ARCHIVE_SUFFIX, num);
}

/* 1 and the number if name is an archive's, 0 if not. */
static int archive_number(const char *name, uint64_t *num)
{
	const size_t plen = sizeof ARCHIVE_PREFIX - 1;
	uint64_t v = 0;
	size_t i;

	if (strlen(name) != ARCHIVE_NAME_SIZE - 1 || strncmp(name, ARCHIVE_PREFIX, plen) != 0 ||
	    strcmp(name + plen + 16, ARCHIVE_SUFFIX) != 0)
		return 0;
	for (i = plen; i < plen + 16; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	*num = v;
	return 1;
}

/*
 * Scan the archives in dirfd: how many, the lowest and highest numbers,
 * and (when nums is given) the newest `max` numbers, unsorted, in nums.
 */
struct archive_scan {
	size_t count;
	uint64_t lowest, highest;
	uint64_t *nums;
	size_t max, kept;
};

static int archives_scan(int dirfd, struct archive_scan *sc)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(dirfd);

	sc->count = sc->kept = 0;
	sc->lowest = UINT64_MAX;
	sc->highest = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		uint64_t num;

		if (!archive_number(de->d_name, &num))
			continue;
		sc->count++;
		if (num < sc->lowest)
			sc->lowest = num;
		if (num > sc->highest)
			sc->highest = num;
		if (!sc->nums)
			continue;
		if (sc->kept < sc->max) {
			sc->nums[sc->kept++] = num;
		} else {
			size_t lo = 0;

			for (size_t i = 1; i < sc->kept; i++)
				if (sc->nums[i] < sc->nums[lo])
					lo = i;
			if (sc->kept && num > sc->nums[lo])
				sc->nums[lo] = num;
		}
	}
	closedir(d);
	return 0;
}

/* Delete the oldest archives until at most max_files are left. */
static int archives_prune(struct journal_store *s)
{
	struct archive_scan sc = { 0 };
	char name[ARCHIVE_NAME_SIZE];
	int r;

	for (;;) {
		r = archives_scan(s->dirfd, &sc);
		if (r < 0)
			return r;
		if (sc.count <= s->max_files)
			return 0;
		archive_name(name, sc.lowest);
		if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int journal_files_each(const char *dir, journal_file_fn *fn, void *arg)
{
	uint64_t nums[JOURNAL_FILES_MAX];
	struct archive_scan sc = { .nums = nums, .max = JOURNAL_FILES_MAX };
	char name[ARCHIVE_NAME_SIZE];
	struct stat st;
	int dirfd, r;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = archives_scan(dirfd, &sc);
	if (r == 0) {
		qsort(nums, sc.kept, sizeof nums[0], cmp_u64);
		for (size_t i = 0; i < sc.kept && r == 0; i++) {
			archive_name(name, nums[i]);
			r = fn(dirfd, name, arg);
		}
	}
	if (r == 0 && fstatat(dirfd, JOURNAL_ACTIVE_NAME, &st, 0) == 0)
		r = fn(dirfd, JOURNAL_ACTIVE_NAME, arg);
	close(dirfd);
	return r;
}

/* ---- the writer -------------------------------------------------------------- */

/* Turn persistence off after a failure; returns r for the caller to pass on. */
static int store_fail(struct journal_store *s, int r, const char *what)
{
	err_set(&s->err, 0, "%s: %s", what, strerror(-r));
	s->error = r;
	journal_store_close(s);
	return r;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Move the active file, if it holds anything, to the next archive name. */
static int store_archive_active(struct journal_store *s)
{
	char name[ARCHIVE_NAME_SIZE];
	struct stat st;

	if (fstatat(s->dirfd, JOURNAL_ACTIVE_NAME, &st, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (st.st_size == 0)
		return 0;
	archive_name(name, s->next_archive);
	if (renameat(s->dirfd, JOURNAL_ACTIVE_NAME, s->dirfd, name) < 0)
		return -errno;
	s->next_archive++;
	return archives_prune(s);
}

static int store_start_active(struct journal_store *s)
{
	unsigned char hdr[JOURNAL_FILE_HEADER] = { 0 };
	int r;

	s->fd = openat(s->dirfd, JOURNAL_ACTIVE_NAME,
		       O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (s->fd < 0)
		return -errno;
	memcpy(hdr, JOURNAL_FILE_MAGIC, 8);
	put32(hdr + 8, JOURNAL_FILE_VERSION);
	r = write_all(s->fd, hdr, sizeof hdr);
	s->file_bytes = sizeof hdr;
	return r;
}

int journal_persist(struct journal *j, const char *dir, uint64_t max_file_bytes,
		    unsigned max_files, struct err *err)
{
	struct journal_store *s = &j->store;
	struct archive_scan sc = { 0 };
	int r;

	journal_store_close(s);
	s->error = 0;
	s->err.msg[0] = 0;
	if (max_file_bytes < JOURNAL_FILE_BYTES_MIN || max_files < 1 ||
	    max_files > JOURNAL_FILES_MAX) {
		err_set(err, 0, "journal file limits out of range");
		return -EINVAL;
	}
	s->max_file_bytes = max_file_bytes;
	s->max_files = max_files;
	s->pending = malloc(JOURNAL_PENDING_MAX);
	if (!s->pending) {
		err_set(err, 0, "no memory for the journal's write batch");
		return -ENOMEM;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		err_set(err, 0, "create %s: %s", dir, strerror(-r));
		journal_store_close(s);
		return r;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = -errno;
		err_set(err, 0, "open %s: %s", dir, strerror(-r));
		journal_store_close(s);
		return r;
	}
	r = archives_scan(s->dirfd, &sc);
	s->next_archive = sc.count ? sc.highest + 1 : 1;
	if (r == 0)
		r = store_archive_active(s);
	if (r == 0)
		r = store_start_active(s);
	if (r < 0) {
		err_set(err, 0, "start %s/%s: %s", dir, JOURNAL_ACTIVE_NAME, strerror(-r));
		journal_store_close(s);
		return r;
	}
	return 0;
}

void journal_store_add(struct journal_store *s, const struct journal_entry *e)
{
	size_t n;

	if (s->fd < 0)
		return;
	if (journal_record_encode(e, s->pending + s->pending_len,
				  JOURNAL_PENDING_MAX - s->pending_len, &n) < 0) {
		s->dropped++;
		return;
	}
	s->pending_len += n;
}

int journal_flush_due(const struct journal *j)
{
	return j->store.fd >= 0 && j->store.pending_len >= JOURNAL_FLUSH_BYTES;
}

static int store_write(struct journal_store *s)
{
	int r = write_all(s->fd, s->pending, s->pending_len);

	if (r < 0)
		return store_fail(s, r, "write " JOURNAL_ACTIVE_NAME);
	s->file_bytes += s->pending_len;
	s->pending_len = 0;
	return 0;
}

static int store_rotate(struct journal_store *s)
{
	int r;

	close(s->fd);
	s->fd = -1;
	r = store_archive_active(s);
	if (r < 0)
		return store_fail(s, r, "archive " JOURNAL_ACTIVE_NAME);
	r = store_start_active(s);
	if (r < 0)
		return store_fail(s, r, "create " JOURNAL_ACTIVE_NAME);
	s->rotations++;
	return 0;
}

int journal_flush(struct journal *j)
{
	struct journal_store *s = &j->store;
	int r;

	if (s->fd < 0 || s->pending_len == 0)
		return 0;
	r = store_write(s);
	if (r == 0 && s->file_bytes >= s->max_file_bytes)
		r = store_rotate(s);
	return r;
}

/* The file is synced before it can be rotated, so an archive is always on disk. */
int journal_sync(struct journal *j)
{
	struct journal_store *s = &j->store;
	int r = 0;

	if (s->fd < 0)
		return 0;
	if (s->pending_len > 0)
		r = store_write(s);
	if (r == 0 && fsync(s->fd) < 0)
		r = store_fail(s, -errno, "fsync " JOURNAL_ACTIVE_NAME);
	if (r == 0 && s->file_bytes >= s->max_file_bytes)
		r = store_rotate(s);
	if (r == 0 && fsync(s->dirfd) < 0)
		r = store_fail(s, -errno, "fsync the journal directory");
	return r;
}

void journal_store_close(struct journal_store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->fd = s->dirfd = -1;
	free(s->pending);
	s->pending = NULL;
	s->pending_len = 0;
}

/* ---- the reader -------------------------------------------------------------- */

void journal_file_reader_init(struct journal_file_reader *r, int fd)
{
	r->fd = fd;
	r->end = JOURNAL_FILE_READING;
	r->entries = r->offset = r->unread = 0;
	r->off = r->len = 0;
	r->header_seen = 0;
}

/* Stop reading at buf[off]: end says why, unread what is left of the file. */
static int reader_stop(struct journal_file_reader *r, enum journal_file_end end)
{
	struct stat st;
	uint64_t at = r->offset + r->off;

	r->end = end;
	r->unread = r->len - r->off;
	if (fstat(r->fd, &st) == 0 && (uint64_t)st.st_size > at)
		r->unread = (uint64_t)st.st_size - at;
	return 0;
}

/* Read more into buf after the unconsumed bytes; returns what read(2) did. */
static ssize_t reader_fill(struct journal_file_reader *r)
{
	ssize_t n;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->offset += r->off;
		r->len -= r->off;
		r->off = 0;
	}
	do
		n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		r->len += n;
	return n;
}

int journal_file_reader_next(struct journal_file_reader *r, struct journal_entry *e)
{
	for (;;) {
		size_t avail = r->len - r->off, n;
		const unsigned char *p = r->buf + r->off;
		ssize_t got;
		int d = -EAGAIN;

		if (r->end != JOURNAL_FILE_READING)
			return 0;
		if (!r->header_seen && avail >= JOURNAL_FILE_HEADER) {
			if (memcmp(p, JOURNAL_FILE_MAGIC, 8) != 0 ||
			    get32(p + 8) != JOURNAL_FILE_VERSION)
				return reader_stop(r, JOURNAL_FILE_CORRUPT);
			r->header_seen = 1;
			r->off += JOURNAL_FILE_HEADER;
			continue;
		}
		if (r->header_seen && avail > 0) {
			d = journal_record_decode(p, avail, e, &n);
			if (d == 0) {
				r->off += n;
				r->entries++;
				return 1;
			}
			if (d == -EBADMSG)
				return reader_stop(r, JOURNAL_FILE_CORRUPT);
		}
		got = reader_fill(r);
		if (got < 0)
			return -errno;
		if (got == 0)
			return reader_stop(r, r->len == r->off ? JOURNAL_FILE_DONE : JOURNAL_FILE_TORN);
	}
}
