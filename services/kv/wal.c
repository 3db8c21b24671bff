#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER 9	/* length, CRC, type */

/* --- CRC-32C ---------------------------------------------------------------- */

uint32_t wal_crc32c(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = data;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* --- encoding --------------------------------------------------------------- */

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
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int reserve(struct wal *w, size_t n)
{
	unsigned char *b;
	size_t cap;

	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 65536;
	while (cap < w->len + n)
		cap *= 2;
	if (!(b = realloc(w->buf, cap)))
		return -ENOMEM;
	w->buf = b;
	w->cap = cap;
	return 0;
}

/* Queue one record: the payload is the concatenation of the parts. */
static int record(struct wal *w, enum wal_record type, const void *a, size_t alen, const void *b,
		  size_t blen)
{
	unsigned char *h;
	uint32_t crc;

	if (1 + alen + blen > WAL_RECORD_MAX || reserve(w, HEADER + alen + blen) < 0)
		return -ENOMEM;
	h = w->buf + w->len;
	put32(h, (uint32_t)(1 + alen + blen));
	h[8] = (unsigned char)type;
	memcpy(h + HEADER, a, alen);
	if (blen)
		memcpy(h + HEADER + alen, b, blen);
	crc = wal_crc32c(0, h + 8, 1 + alen + blen);
	put32(h + 4, crc);
	w->len += HEADER + alen + blen;
	return 0;
}

int wal_meta(struct wal *w, const struct wal_meta *m)
{
	unsigned char p[16 + RAFT_CONF_BYTES];
	int n;

	put64(p, m->member_id);
	put64(p + 8, m->cluster_id);
	if ((n = raft_conf_encode(&m->conf, p + 16, RAFT_CONF_BYTES)) < 0)
		return n;
	if (m->members_len > WAL_MEMBERS_MAX)
		return -EINVAL;
	return record(w, WAL_META, p, 16 + (size_t)n, m->members, m->members_len);
}

int wal_hard_state(struct wal *w, const struct raft_hard_state *hs)
{
	unsigned char p[24];

	put64(p, hs->term);
	put64(p + 8, hs->vote);
	put64(p + 16, hs->commit);
	return record(w, WAL_HARD_STATE, p, sizeof(p), NULL, 0);
}

int wal_entries(struct wal *w, const struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char p[17];
		int r;

		put64(p, e[i].term);
		put64(p + 8, e[i].index);
		p[16] = e[i].type;
		if ((r = record(w, WAL_ENTRY, p, sizeof(p), e[i].data, e[i].len)) < 0)
			return r;
	}
	return 0;
}

int wal_snapshot_mark(struct wal *w, uint64_t index, uint64_t term)
{
	unsigned char p[16];

	put64(p, index);
	put64(p + 8, term);
	return record(w, WAL_SNAPSHOT, p, sizeof(p), NULL, 0);
}

/* --- reading back ----------------------------------------------------------- */

static void entries_drop_from(struct wal_state *st, uint64_t index)
{
	while (st->nentries && st->entries[st->nentries - 1].index >= index)
		free(st->entries[--st->nentries].data);
}

/* Apply one good record to the state; -EBADMSG when it cannot be. */
static int replay(struct wal_state *st, unsigned type, const unsigned char *p, size_t len)
{
	switch (type) {
	case WAL_META: {
		const unsigned char *members;
		size_t mlen;

		/* The member table follows the configuration (a directory
		 * written before it had one has none). */
		if (len < 16 || raft_conf_entry_decode(&st->meta.conf, p + 16, len - 16, &members, &mlen) < 0 ||
		    mlen > WAL_MEMBERS_MAX)
			return -EBADMSG;
		memcpy(st->meta.members, members, mlen);
		st->meta.members_len = mlen;
		st->meta.member_id = get64(p);
		st->meta.cluster_id = get64(p + 8);
		st->found = true;
		return 0;
	}
	case WAL_HARD_STATE:
		if (len != 24)
			return -EBADMSG;
		st->hs = (struct raft_hard_state){ get64(p), get64(p + 8), get64(p + 16) };
		return 0;
	case WAL_SNAPSHOT: {
		uint64_t index;

		if (len != 16)
			return -EBADMSG;
		index = get64(p);
		if (index < st->snap_index)
			return 0;
		st->snap_index = index;
		st->snap_term = get64(p + 8);
		/* A mark starts the log again (wal_compact writes the entries
		 * still needed after it): entries before it, including any a
		 * leader's snapshot made stale, are gone. */
		entries_drop_from(st, 0);
		return 0;
	}
	case WAL_ENTRY: {
		struct raft_entry e, *n;
		uint64_t expect;

		if (len < 17)
			return -EBADMSG;
		e.term = get64(p);
		e.index = get64(p + 8);
		e.type = p[16];
		e.len = (uint32_t)(len - 17);
		if (e.index <= st->snap_index)
			return 0;
		entries_drop_from(st, e.index);
		expect = st->nentries ? st->entries[st->nentries - 1].index + 1 : st->snap_index + 1;
		if (e.index != expect)
			return -EBADMSG;	/* a gap: something between is missing */
		e.data = NULL;
		if (e.len && !(e.data = malloc(e.len)))
			return -ENOMEM;
		if (e.len)
			memcpy(e.data, p + 17, e.len);
		if (!(n = realloc(st->entries, (st->nentries + 1) * sizeof(*n)))) {
			free(e.data);
			return -ENOMEM;
		}
		st->entries = n;
		st->entries[st->nentries++] = e;
		return 0;
	}
	default:
		return -EBADMSG;
	}
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Is there a well-formed record anywhere from off on? */
static bool valid_after(const unsigned char *p, size_t size, size_t off)
{
	for (; off + HEADER <= size; off++) {
		uint32_t len = get32(p + off);

		if (len < 1 || len > size - off - 8 || p[off + 8] < WAL_META || p[off + 8] > WAL_SNAPSHOT)
			continue;
		if (wal_crc32c(0, p + off + 8, len) == get32(p + off + 4))
			return true;
	}
	return false;
}

/*
 * A crash between a batch's write and its fdatasync may leave any of the
 * batch's pages unwritten, in any order: zeros (the segment was
 * preallocated) where part of a record should be, and whole records of the
 * same batch after them. None of that was acknowledged: a sync after any
 * of it would have written the zero page too. So a bad record that reaches
 * a page holding only zeros from the record on is a torn write, cut like a
 * torn tail, whatever follows. Damage that is not a page of zeros is
 * corruption. (A record whose own data holds a whole page of zeros and
 * that is damaged elsewhere cannot be told from a torn write.)
 */
#define PAGE 4096

static bool torn_write(const unsigned char *p, size_t size, size_t off)
{
	uint32_t len = size - off >= HEADER ? get32(p + off) : 0;
	size_t end = off + HEADER;

	if (len >= 1 && len <= WAL_RECORD_MAX && len <= size - off - 8)
		end = off + 8 + len;
	if (end > size)
		end = size;
	for (size_t pg = off / PAGE * PAGE; pg < end; pg += PAGE) {
		size_t from = pg > off ? pg : off, to = pg + PAGE < size ? pg + PAGE : size;

		if (all_zero(p + from, to - from))
			return true;
	}
	return false;
}

static int read_file(int dirfd, const char *name, unsigned char **out, size_t *size)
{
	struct stat sb;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), r = 0;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	*size = (size_t)sb.st_size;
	if (!(*out = malloc(*size ? *size : 1))) {
		r = -ENOMEM;
		goto out;
	}
	while (got < *size) {
		ssize_t n = read(fd, *out + got, *size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			free(*out);
			goto out;
		}
		got += (size_t)n;
	}
out:
	close(fd);
	return r;
}

/* Read one segment; *good is where valid data ends. */
static int segment_read(struct wal *w, const char *name, bool last, struct wal_state *st,
			uint64_t *good, struct err *e)
{
	unsigned char *p = NULL;
	size_t size = 0, off = 0;
	int r = read_file(w->dirfd, name, &p, &size);

	if (r < 0) {
		err_set(e, 0, "%s/%s: %s", w->dir, name, strerror(-r));
		return r;
	}
	while (off < size) {
		uint32_t len = size - off >= HEADER ? get32(p + off) : 0;

		/* Nothing but zeros left: the segment's preallocated space. */
		if (!len && all_zero(p + off, size - off))
			break;
		bool ok = size - off >= HEADER && len >= 1 && len <= WAL_RECORD_MAX &&
			  len <= size - off - 8 && wal_crc32c(0, p + off + 8, len) == get32(p + off + 4);

		if (!ok) {
			if (last && (!valid_after(p, size, off + 1) || torn_write(p, size, off)))
				break;	/* a torn tail or batch: cut below */
			err_set(e, 0, "%s/%s: record at offset %zu is corrupt and valid records follow it; "
				"refusing to start (restore the member from a snapshot or remove it from the "
				"cluster and add it back)", w->dir, name, off);
			free(p);
			return -EBADMSG;
		}
		if ((r = replay(st, p[off + 8], p + off + HEADER, len - 1)) < 0) {
			err_set(e, 0, "%s/%s: record at offset %zu does not follow what came before: %s",
				w->dir, name, off, r == -ENOMEM ? "out of memory" : "malformed or out of order");
			free(p);
			return r == -ENOMEM ? r : -EBADMSG;
		}
		off += 8 + len;
	}
	*good = off;
	if (!all_zero(p + off, size - off))
		st->truncated_bytes += size - off;
	free(p);
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void seg_name(char *out, size_t len, uint64_t seq)
{
	snprintf(out, len, "%016llx.wal", (unsigned long long)seq);
}

/*
 * Give a segment its whole size up front, as zeros (where the file system
 * can): appending then changes no metadata, and fdatasync writes the data
 * alone instead of committing the file system's journal each time. Reading
 * back stops at the zeros.
 */
static int preallocate(const struct wal *w, int fd)
{
	/* In memory (tmpfs, ramfs) it would only take memory: there fdatasync
	 * costs nothing anyway. A disk too full for a whole segment still
	 * takes records as they come. */
	if (!w->prealloc)
		return 0;
	if (fallocate(fd, 0, 0, WAL_SEGMENT_BYTES) < 0 && errno != EOPNOTSUPP && errno != ENOSYS &&
	    errno != ENOSPC)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

static int segment_create(struct wal *w, uint64_t seq)
{
	char name[32];
	int fd, r;

	seg_name(name, sizeof(name), seq);
	fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if ((r = preallocate(w, fd)) < 0) {
		close(fd);
		unlinkat(w->dirfd, name, 0);
		return r;
	}
	if (fsync(w->dirfd) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->seq = seq;
	w->size = 0;
	return 0;
}

int wal_open(struct wal *w, const char *dir, struct wal_state *st, struct err *e)
{
	uint64_t *segs = NULL, good = 0;
	size_t nsegs = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	memset(w, 0, sizeof(*w));
	memset(st, 0, sizeof(*st));
	w->fd = -1;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		err_set(e, 0, "%s: %s", dir, strerror(errno));
		return r;
	}
	{
		struct statfs sf;

		w->prealloc = statfs(dir, &sf) < 0 ||
			      (sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC);
	}
	if ((w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !(d = fdopendir(dup(w->dirfd)))) {
		r = -errno;
		err_set(e, 0, "%s: %s", dir, strerror(errno));
		return r;
	}
	while ((de = readdir(d))) {
		unsigned long long seq;
		char tail[8];
		uint64_t *n;

		if (sscanf(de->d_name, "%16llx%7s", &seq, tail) != 2 || strcmp(tail, ".wal") ||
		    strlen(de->d_name) != 20)
			continue;
		if (!(n = realloc(segs, (nsegs + 1) * sizeof(*n)))) {
			r = -ENOMEM;
			break;
		}
		segs = n;
		segs[nsegs++] = seq;
	}
	closedir(d);
	if (!r && nsegs)
		qsort(segs, nsegs, sizeof(*segs), seg_cmp);
	for (size_t i = 0; i < nsegs && !r; i++) {
		char name[32];

		seg_name(name, sizeof(name), segs[i]);
		r = segment_read(w, name, i == nsegs - 1, st, &good, e);
	}
	if (!r && nsegs) {
		char name[32];

		/* Continue the last segment, without its torn tail: cut it, and
		 * make the space zeros again. */
		seg_name(name, sizeof(name), segs[nsegs - 1]);
		w->fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
		if (w->fd < 0 || ftruncate(w->fd, (off_t)good) < 0 || (errno = -preallocate(w, w->fd)) > 0) {
			r = -errno;
			err_set(e, 0, "%s/%s: %s", dir, name, strerror(errno));
		}
		w->seq = segs[nsegs - 1];
		w->size = good;
	} else if (!r) {
		if ((r = segment_create(w, 1)) < 0)
			err_set(e, 0, "%s: cannot create a segment: %s", dir, strerror(-r));
	}
	free(segs);
	if (r < 0) {
		wal_state_free(st);
		wal_close(w);
	}
	return r;
}

void wal_state_free(struct wal_state *st)
{
	entries_drop_from(st, 0);
	free(st->entries);
	st->entries = NULL;
}

int wal_sync(struct wal *w, struct err *e)
{
	size_t off = 0;

	while (off < w->len) {
		ssize_t n = pwrite(w->fd, w->buf + off, w->len - off, (off_t)(w->size + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			err_set(e, 0, "%s: write: %s", w->dir, strerror(errno));
			/* What was written of it is a torn tail now: cut it. */
			if (ftruncate(w->fd, (off_t)w->size) < 0) {
				/* reported on the next open */
			}
			w->len = 0;
			return r;
		}
		off += (size_t)n;
	}
	if (w->len && fdatasync(w->fd) < 0) {
		int r = -errno;

		err_set(e, 0, "%s: fdatasync: %s", w->dir, strerror(errno));
		w->len = 0;
		return r;
	}
	w->size += w->len;
	w->len = 0;
	if (w->size >= WAL_SEGMENT_BYTES) {
		int r = segment_create(w, w->seq + 1);

		if (r < 0) {
			err_set(e, 0, "%s: cannot start a new segment: %s", w->dir, strerror(-r));
			return r;
		}
	}
	return 0;
}

int wal_compact(struct wal *w, const struct wal_meta *m, const struct raft_hard_state *hs,
		uint64_t snap_index, uint64_t snap_term, const struct raft_entry *e, size_t n,
		struct err *er)
{
	uint64_t old = w->seq;
	int r;

	/* Queued records belong to the old segment: write them there first. */
	if ((r = wal_sync(w, er)) < 0)
		return r;
	if ((r = segment_create(w, w->seq + 1)) < 0) {
		err_set(er, 0, "%s: cannot start a new segment: %s", w->dir, strerror(-r));
		return r;
	}
	if ((r = wal_meta(w, m)) < 0 || (r = wal_hard_state(w, hs)) < 0 ||
	    (r = wal_snapshot_mark(w, snap_index, snap_term)) < 0 || (r = wal_entries(w, e, n)) < 0) {
		err_set(er, 0, "%s: out of memory", w->dir);
		return r;
	}
	if ((r = wal_sync(w, er)) < 0)
		return r;
	/* The new segment holds everything now: the old ones may go. A crash
	 * before they are all gone replays them first, then this one, which
	 * comes to the same state. */
	{
		DIR *d = fdopendir(dup(w->dirfd));
		struct dirent *de;

		/* A dup shares the directory's offset: start from the top. */
		if (d)
			rewinddir(d);
		while (d && (de = readdir(d))) {
			unsigned long long seq;
			char tail[8];

			if (sscanf(de->d_name, "%16llx%7s", &seq, tail) == 2 && !strcmp(tail, ".wal") &&
			    strlen(de->d_name) == 20 && seq <= old)
				unlinkat(w->dirfd, de->d_name, 0);
		}
		if (d)
			closedir(d);
	}
	if (fsync(w->dirfd) < 0) {
		r = -errno;
		err_set(er, 0, "%s: fsync: %s", w->dir, strerror(errno));
		return r;
	}
	return 0;
}

void wal_close(struct wal *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd > 0)
		close(w->dirfd);
	free(w->buf);
	w->fd = w->dirfd = -1;
	w->buf = NULL;
}
