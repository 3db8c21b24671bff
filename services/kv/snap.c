/*
 * Snapshots of the state machine (thesis chapter 5): the store and the
 * member table, in <data-dir>/snap/<index>-<term>.snap.
 *
 * A file:
 *	"PKVS", u32 version (1), u64 index, u64 term,
 *	the configuration as of index (raft_conf_encode, length-prefixed),
 *	the blob (length-prefixed): what Raft sends to a lagging member,
 *	u32 CRC-32C of everything before it
 * The blob: the store (store_snapshot, length-prefixed), then the member
 * table (kv_members_encode).
 *
 * Order, so that a crash at any point leaves a state that starts: the file
 * is written to a temporary name, synced, renamed, the directory synced;
 * only then does the WAL get its mark (wal_compact), and only then does
 * Raft drop the entries the snapshot covers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "kv.h"
#include "unit_load.h"

#define SNAP_MAGIC "PKVS"
#define SNAP_VERSION 2
/* Snapshot files kept: the newest, and one before it. */
#define SNAP_KEEP 2
/* The largest snapshot file read back. */
#define SNAP_FILE_MAX (1024u * 1024 * 1024)

static int blob_make(struct kv *kv, struct buf *out)
{
	struct buf st = BUF_INIT;
	struct enc e = { out, true };
	int r;

	if ((r = store_snapshot(&kv->store, &st)) < 0)
		return r;
	enc_str(&e, st.data, st.len);
	buf_free(&st);
	if (!e.ok)
		return -ENOMEM;
	return kv_members_encode(kv->members, kv->nmembers, out);
}

static int blob_apply(struct kv *kv, const void *data, size_t len)
{
	struct dec d = { data, len, true };
	struct kv_member m[RAFT_MEMBERS_MAX];
	size_t slen, n;
	const unsigned char *st = dec_str(&d, SNAP_FILE_MAX, &slen);
	int r;

	if (!d.ok || kv_members_decode(m, &n, d.p, d.len) < 0)
		return -EBADMSG;
	if ((r = store_restore(&kv->store, st, slen)) < 0)
		return r;
	kv_members_set(kv, m, n);
	return 0;
}

static void snap_name(char *out, size_t len, uint64_t index, uint64_t term)
{
	snprintf(out, len, "%016llx-%016llx.snap", (unsigned long long)index, (unsigned long long)term);
}

static int snap_dir(struct kv *kv, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/snap", kv->cfg.data_dir) >= len)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove snapshot files older than the SNAP_KEEP newest, and any newer
 * than index (written before a crash that kept the WAL from marking them). */
static void snap_prune(const char *dir, uint64_t index)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct { uint64_t index; char name[40]; } have[64];
	size_t n = 0;
	char path[4400];

	if (!d)
		return;
	while ((de = readdir(d)) && n < 64) {
		unsigned long long i, t;

		if (sscanf(de->d_name, "%16llx-%16llx.snap", &i, &t) != 2 || strlen(de->d_name) != 38)
			continue;
		have[n].index = i;
		memcpy(have[n++].name, de->d_name, 39);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		size_t newer = 0;

		for (size_t j = 0; j < n; j++)
			newer += have[j].index > have[i].index && have[j].index <= index;
		if (have[i].index > index || newer >= SNAP_KEEP) {
			snprintf(path, sizeof(path), "%s/%s", dir, have[i].name);
			unlink(path);
		}
	}
}

static int snap_write(struct kv *kv, uint64_t index, uint64_t term, const struct raft_conf *conf,
		      const struct buf *blob, struct err *e)
{
	char dir[4096], tmp[4400], path[4400], name[64];
	unsigned char cb[RAFT_CONF_BYTES];
	struct buf f = BUF_INIT;
	struct enc en = { &f, true };
	int n = raft_conf_encode(conf, cb, sizeof(cb)), fd = -1, r;
	uint32_t crc;
	size_t off = 0;

	if ((r = snap_dir(kv, dir, sizeof(dir))) < 0) {
		err_set(e, 0, "%s/snap: %s", kv->cfg.data_dir, strerror(-r));
		return r;
	}
	if (n < 0)
		return n;
	enc_bytes(&en, SNAP_MAGIC, 4);
	enc_u32(&en, SNAP_VERSION);
	enc_u64(&en, index);
	enc_u64(&en, term);
	enc_str(&en, cb, (size_t)n);
	enc_str(&en, blob->data, blob->len);
	crc = wal_crc32c(0, f.data, f.len);
	enc_u32(&en, crc);
	if (!en.ok) {
		buf_free(&f);
		return -ENOMEM;
	}
	snap_name(name, sizeof(name), index, term);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (fd >= 0 && off < f.len) {
		ssize_t w = write(fd, f.data + off, f.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	r = fd < 0 || off < f.len || fsync(fd) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (!r && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) < 0)
			r = -errno;
		close(fd);
	}
	buf_free(&f);
	if (r < 0) {
		unlink(tmp);
		err_set(e, 0, "%s: %s", path, strerror(-r ? -r : EIO));
		return r ? r : -EIO;
	}
	return 0;
}

int kv_snapshot_maybe(struct kv *kv, struct err *e)
{
	struct buf blob = BUF_INIT;
	const struct raft_entry *at;
	uint64_t index = kv->applied, term;
	struct raft_hard_state hs = { kv->raft.term, kv->raft.vote, kv->raft.commit };
	char dir[4096];
	int r;

	uint64_t t0 = loop_now_ms();

	/* Every --snapshot-count entries, as etcd; and also when the log kept
	 * in memory since the last snapshot passes KV_SNAPSHOT_LOG_BYTES (and
	 * twice the last snapshot, so that a large store is not written out
	 * over and over): memory stays bounded whatever the count. */
	if (index <= kv->snap_index ||
	    ((!kv->cfg.snapshot_count || index < kv->snap_index + kv->cfg.snapshot_count) &&
	     (kv->log_bytes < KV_SNAPSHOT_LOG_BYTES || kv->log_bytes < 2 * kv->snap_blob.len)))
		return 0;
	if (!(at = raft_entry_at(&kv->raft, index)))
		return 0;
	term = at->term;
	if ((r = blob_make(kv, &blob)) < 0 ||
	    (r = snap_write(kv, index, term, &kv->applied_conf, &blob, e)) < 0)
		goto fail;
	/* The entries after the snapshot stay in the log, and in the WAL's new
	 * segment: followers behind by fewer still get entries, not the snapshot. */
	{
		const struct raft_entry *first = raft_entry_at(&kv->raft, index + 1);
		size_t n = first ? (size_t)(raft_last_index(&kv->raft) - index) : 0;

		if ((r = wal_compact(&kv->wal, &kv->meta, &hs, index, term, first, n, e)) < 0)
			goto fail;
	}
	buf_free(&kv->snap_blob);
	kv->snap_blob = blob;
	kv->snap_index = index;
	kv->snap_term = term;
	if ((r = raft_compact(&kv->raft, index, kv->snap_blob.data, kv->snap_blob.len)) < 0) {
		err_set(e, 0, "compacting the log at %llu: %s", (unsigned long long)index, strerror(-r));
		return r;
	}
	if (snap_dir(kv, dir, sizeof(dir)) == 0)
		snap_prune(dir, index);
	kv->log_bytes = 0;
	log_info("snapshot at index %llu (%zu bytes, %llu ms); the log starts after it",
		 (unsigned long long)index, kv->snap_blob.len, (unsigned long long)(loop_now_ms() - t0));
	return 0;
fail:
	buf_free(&blob);
	return r;
}

int kv_snapshot_persist(struct kv *kv, const struct raft_ready *rd, struct err *e)
{
	struct buf blob = BUF_INIT;
	int r;

	if (buf_append(&blob, rd->snapshot_data, rd->snapshot_len) < 0)
		return -ENOMEM;
	if ((r = snap_write(kv, rd->snapshot.index, rd->snapshot.term, &rd->snapshot.conf, &blob, e)) < 0 ||
	    (r = wal_compact(&kv->wal, &kv->meta, &rd->hs, rd->snapshot.index, rd->snapshot.term, NULL, 0,
			     e)) < 0) {
		buf_free(&blob);
		return r;
	}
	buf_free(&kv->snap_blob);
	kv->snap_blob = blob;
	kv->snap_index = rd->snapshot.index;
	kv->snap_term = rd->snapshot.term;
	return 0;
}

int kv_snapshot_apply(struct kv *kv, const struct raft_ready *rd, struct err *e)
{
	int r = blob_apply(kv, kv->snap_blob.data, kv->snap_blob.len);

	if (r < 0) {
		/* The leader's own state machine made it; bytes that do not
		 * restore mean a bug or a damaged transfer: stop, restart, and
		 * be sent it again. */
		err_set(e, 0, "the leader's snapshot at %llu does not restore: %s",
			(unsigned long long)rd->snapshot.index, strerror(-r));
		return r;
	}
	kv->applied = rd->snapshot.index;
	kv->applied_conf = rd->snapshot.conf;
	kv->log_bytes = 0;
	kv->expiry_dirty = true;
	log_info("restored the leader's snapshot at index %llu", (unsigned long long)rd->snapshot.index);
	return 0;
}

int kv_snapshot_load(struct kv *kv, uint64_t index, uint64_t term, struct raft_conf *conf,
		     struct err *e)
{
	char dir[4096], name[64], path[4400];
	struct buf f = BUF_INIT;
	const char *text;
	size_t len, clen, blen;
	struct dec d;
	const unsigned char *cb, *blob;
	uint32_t v;
	int r;

	if ((r = snap_dir(kv, dir, sizeof(dir))) < 0)
		return r;
	snap_name(name, sizeof(name), index, term);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((r = unit_file_read(path, SNAP_FILE_MAX, &f)) < 0) {
		err_set(e, 0, "%s: %s (the write-ahead log needs this snapshot)", path, strerror(-r));
		return r;
	}
	text = f.data;
	len = f.len;
	d = (struct dec){ (unsigned char *)text, len, true };
	r = -EBADMSG;
	if (len < 8 || memcmp(text, SNAP_MAGIC, 4) ||
	    wal_crc32c(0, text, len - 4) != ((uint32_t)(unsigned char)text[len - 4] << 24 |
					     (uint32_t)(unsigned char)text[len - 3] << 16 |
					     (uint32_t)(unsigned char)text[len - 2] << 8 |
					     (unsigned char)text[len - 1]))
		goto bad;
	dec_bytes(&d, 4);
	if ((v = dec_u32(&d)) != SNAP_VERSION) {
		err_set(e, 0, "%s: snapshot format %u, this pith-kv reads %u", path, v, SNAP_VERSION);
		r = -EBADMSG;
		goto out;
	}
	if (dec_u64(&d) != index || dec_u64(&d) != term)
		goto bad;
	cb = dec_str(&d, RAFT_CONF_BYTES, &clen);
	blob = dec_str(&d, len, &blen);
	if (!d.ok || d.len != 4 || raft_conf_decode(conf, cb, clen) < 0)
		goto bad;
	buf_free(&kv->snap_blob);
	if (buf_append(&kv->snap_blob, blob, blen) < 0) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = blob_apply(kv, kv->snap_blob.data, kv->snap_blob.len)) < 0)
		goto bad;
	kv->snap_index = index;
	kv->snap_term = term;
	snap_prune(dir, index);
	r = 0;
	goto out;
bad:
	err_set(e, 0, "%s: not a snapshot, or damaged (%s)", path, strerror(-r));
out:
	buf_free(&f);
	return r;
}
