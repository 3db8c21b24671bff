/*
 * The KV's write-ahead log: what is synced comes back after a restart,
 * later entries replace earlier ones at the same index, a snapshot mark
 * drops what it covers, a torn tail is cut, and corruption with valid
 * records after it is refused without touching anything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

#include "wal.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/pith-wal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct raft_entry ent(uint64_t term, uint64_t index, const char *data)
{
	return (struct raft_entry){ term, index, RAFT_ENTRY_NORMAL, (uint32_t)strlen(data),
				    (unsigned char *)data };
}

static void write_some(const char *path, int n_entries)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct wal_meta m = { .member_id = 7, .cluster_id = 99, .conf = { .voters = { 7, 8, 9 }, .nvoters = 3 } };
	struct raft_hard_state hs = { 3, 8, 2 };
	char data[32][16];

	assert_int_equal(wal_open(&w, path, &st, &e), 0);
	assert_false(st.found);
	assert_int_equal(wal_meta(&w, &m), 0);
	assert_int_equal(wal_hard_state(&w, &hs), 0);
	for (int i = 1; i <= n_entries; i++) {
		struct raft_entry x;

		snprintf(data[i], sizeof(data[i]), "value-%d", i);
		x = ent(3, (uint64_t)i, data[i]);
		assert_int_equal(wal_entries(&w, &x, 1), 0);
	}
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_state_free(&st);
	wal_close(&w);
}

static char *seg_path(void)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/wal/0000000000000001.wal", dir);
	return p;
}

static char *wal_dir(void)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/wal", dir);
	return p;
}

static void synced_records_come_back(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };

	write_some(wal_dir(), 5);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_true(st.found);
	assert_int_equal(st.meta.member_id, 7);
	assert_int_equal(st.meta.cluster_id, 99);
	assert_int_equal(st.meta.conf.nvoters, 3);
	/* A meta record without a member table (as written before there was
	 * one) reads back with none. */
	assert_int_equal(st.meta.members_len, 0);
	assert_int_equal(st.hs.term, 3);
	assert_int_equal(st.hs.vote, 8);
	assert_int_equal(st.hs.commit, 2);
	assert_int_equal(st.nentries, 5);
	assert_int_equal(st.entries[4].index, 5);
	assert_memory_equal(st.entries[4].data, "value-5", 7);
	assert_int_equal(st.truncated_bytes, 0);
	wal_state_free(&st);
	wal_close(&w);
}

static void the_member_table_is_kept_in_the_meta_record(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	static struct wal_meta m = { .member_id = 7, .cluster_id = 99,
				     .conf = { .voters = { 7 }, .nvoters = 1 } };

	memcpy(m.members, "the table's bytes", 17);
	m.members_len = 17;
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(wal_meta(&w, &m), 0);
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_state_free(&st);
	wal_close(&w);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_true(st.found);
	assert_int_equal(st.meta.conf.nvoters, 1);
	assert_int_equal(st.meta.members_len, 17);
	assert_memory_equal(st.meta.members, "the table's bytes", 17);
	wal_state_free(&st);
	wal_close(&w);
}

static void later_entries_replace_and_snapshots_drop(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct raft_entry x[2] = { ent(4, 3, "new-3"), ent(4, 4, "new-4") };

	write_some(wal_dir(), 5);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	wal_state_free(&st);
	/* A new leader cut this log back at 3. */
	assert_int_equal(wal_entries(&w, x, 2), 0);
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_close(&w);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.nentries, 4);
	assert_int_equal(st.entries[2].term, 4);
	assert_memory_equal(st.entries[3].data, "new-4", 5);
	wal_state_free(&st);
	/* A snapshot's mark starts the log again: what is still needed
	 * after it is written after it (wal_compact does so). */
	assert_int_equal(wal_snapshot_mark(&w, 3, 4), 0);
	assert_int_equal(wal_entries(&w, &x[1], 1), 0);
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_close(&w);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.snap_index, 3);
	assert_int_equal(st.snap_term, 4);
	assert_int_equal(st.nentries, 1);
	assert_int_equal(st.entries[0].index, 4);
	wal_state_free(&st);
	wal_close(&w);
}

static void compaction_keeps_what_follows_and_drops_stale_entries(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct wal_meta m = { .member_id = 7, .cluster_id = 9, .conf = { .voters = { 7 }, .nvoters = 1 } };
	struct raft_hard_state hs = { 5, 7, 4 };
	struct raft_entry after = ent(5, 5, "kept");
	DIR *d;
	struct dirent *de;
	int segs = 0;

	write_some(wal_dir(), 5);	/* entries 1..5 */
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	wal_state_free(&st);
	/* A leader's snapshot at 4: the local 5 is stale; 5 from the new log follows. */
	assert_int_equal(wal_compact(&w, &m, &hs, 4, 5, &after, 1, &e), 0);
	wal_close(&w);
	assert_non_null(d = opendir(wal_dir()));
	while ((de = readdir(d)))
		segs += strstr(de->d_name, ".wal") != NULL;
	closedir(d);
	assert_int_equal(segs, 1);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.snap_index, 4);
	assert_int_equal(st.meta.member_id, 7);
	assert_int_equal(st.hs.term, 5);
	assert_int_equal(st.nentries, 1);
	assert_memory_equal(st.entries[0].data, "kept", 4);
	wal_state_free(&st);
	wal_close(&w);
}

/* Where the records end: segments are preallocated, zeros follow. */
static off_t records_end(void)
{
	struct stat sb;
	off_t end;
	unsigned char b = 0;
	int fd = open(seg_path(), O_RDONLY);

	fstat(fd, &sb);
	for (end = sb.st_size; end > 0; end--) {
		assert_int_equal(pread(fd, &b, 1, end - 1), 1);
		if (b)
			break;
	}
	close(fd);
	return end;
}

static void segments_are_preallocated_and_read_to_the_zeros(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct stat sb;

	struct statfs sf;

	write_some(wal_dir(), 5);
	stat(seg_path(), &sb);
	/* Not in memory file systems, where the space would be memory. */
	assert_int_equal(statfs(wal_dir(), &sf), 0);
	if (sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC)
		assert_int_equal(sb.st_size, WAL_SEGMENT_BYTES);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.nentries, 5);
	assert_int_equal(st.truncated_bytes, 0);
	wal_state_free(&st);
	wal_close(&w);
}

static void a_torn_tail_is_cut_and_appending_goes_on(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct raft_entry x = ent(3, 5, "after");
	off_t end;
	int fd;

	write_some(wal_dir(), 5);
	end = records_end();
	/* The last write stopped halfway, then garbage. */
	fd = open(seg_path(), O_WRONLY);
	assert_int_equal(pwrite(fd, "\xde\xad\xbe\xef\x01", 5, end - 4), 5);
	close(fd);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.nentries, 4);
	assert_true(st.truncated_bytes > 0);
	wal_state_free(&st);
	assert_int_equal(wal_entries(&w, &x, 1), 0);
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_close(&w);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.nentries, 5);
	assert_memory_equal(st.entries[4].data, "after", 5);
	assert_int_equal(st.truncated_bytes, 0);
	wal_state_free(&st);
	wal_close(&w);
}

static void corruption_in_the_middle_is_refused_and_left_alone(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct stat before, after;
	unsigned char b;
	int fd;

	write_some(wal_dir(), 5);
	stat(seg_path(), &before);
	/* A byte inside the third record's payload. */
	fd = open(seg_path(), O_RDWR);
	assert_int_equal(pread(fd, &b, 1, 100), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, 100), 1);
	close(fd);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "is corrupt and valid records follow it"));
	assert_non_null(strstr(e.msg, "0000000000000001.wal"));
	stat(seg_path(), &after);
	assert_int_equal(before.st_size, after.st_size);
}

/* Two batches: entries 1-2, then 3-6 of 3,000 bytes each, synced. Entry 3
 * lies in the first page; the second page holds the rest of entry 4 and
 * the start of entry 5; entry 6 is whole after it. Then that page is
 * overwritten with fill. */
static void two_batches_then_fill_the_second_page(int fill)
{
	static char big[4][3001];
	char page[4096];
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct raft_entry x[4];
	int fd;

	write_some(wal_dir(), 2);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	wal_state_free(&st);
	for (int i = 0; i < 4; i++) {
		memset(big[i], 'a' + i, 3000);
		x[i] = ent(3, (uint64_t)(3 + i), big[i]);
	}
	assert_int_equal(wal_entries(&w, x, 4), 0);
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_close(&w);
	memset(page, fill, sizeof(page));
	fd = open(seg_path(), O_WRONLY);
	assert_int_equal(pwrite(fd, page, sizeof(page), 4096), 4096);
	close(fd);
}

/* A crash before a batch's fdatasync left one of its middle pages
 * unwritten (zeros) and later records of the batch on disk: nothing from
 * the zero page on was acknowledged, so it is cut like a torn tail, not
 * refused as corruption. */
static void an_unwritten_page_of_the_last_batch_is_cut(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };

	two_batches_then_fill_the_second_page(0);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(st.nentries, 3);
	assert_int_equal(st.entries[2].index, 3);
	assert_true(st.truncated_bytes > 0);
	wal_state_free(&st);
	wal_close(&w);
}

/* The same page holding anything but zeros is corruption. */
static void a_damaged_page_before_valid_records_is_refused(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };

	two_batches_then_fill_the_second_page(0x5a);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "is corrupt and valid records follow it"));
}

static void a_gap_in_the_log_is_corruption(void **state)
{
	struct wal w;
	struct wal_state st;
	struct err e = { 0 };
	struct raft_entry x[2] = { ent(1, 1, "a"), ent(1, 3, "c") };

	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), 0);
	assert_int_equal(wal_entries(&w, x, 2), 0);
	assert_int_equal(wal_sync(&w, &e), 0);
	wal_close(&w);
	wal_state_free(&st);
	assert_int_equal(wal_open(&w, wal_dir(), &st, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "does not follow"));
}

static void crc32c_is_castagnoli(void **state)
{
	assert_int_equal(wal_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(wal_crc32c(0, "", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(synced_records_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(the_member_table_is_kept_in_the_meta_record, setup, teardown),
		cmocka_unit_test_setup_teardown(later_entries_replace_and_snapshots_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(compaction_keeps_what_follows_and_drops_stale_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(segments_are_preallocated_and_read_to_the_zeros, setup, teardown),
		cmocka_unit_test_setup_teardown(a_torn_tail_is_cut_and_appending_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(corruption_in_the_middle_is_refused_and_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(an_unwritten_page_of_the_last_batch_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(a_damaged_page_before_valid_records_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_gap_in_the_log_is_corruption, setup, teardown),
		cmocka_unit_test(crc32c_is_castagnoli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
