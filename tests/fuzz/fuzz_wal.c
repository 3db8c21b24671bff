/* libFuzzer: reading a write-ahead log back. The input is written as the
 * only segment of a fresh directory and opened: whatever the bytes, the
 * open either succeeds with a log whose entries follow one another after
 * the snapshot mark, or fails with -EBADMSG and a message; nothing
 * crashes, leaks or reads outside the file. A second open of what the
 * first left (a torn tail cut) gives the same entries. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	char path[128];
	struct wal w;
	struct wal_state st, st2;
	struct err e = { 0 };
	int fd, r;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/pith-fuzz-wal-%d", getpid());
		mkdir(dir, 0700);
	}
	snprintf(path, sizeof(path), "%s/0000000000000001.wal", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0);
	check(write(fd, data, size) == (ssize_t)size);
	close(fd);
	r = wal_open(&w, dir, &st, &e);
	check(r == 0 || r == -EBADMSG);
	if (r == -EBADMSG) {
		check(e.msg[0] != 0);
		return 0;
	}
	for (size_t i = 0; i < st.nentries; i++)
		check(st.entries[i].index == st.snap_index + 1 + i);
	wal_close(&w);
	check(wal_open(&w, dir, &st2, &e) == 0);
	check(st2.nentries == st.nentries && st2.truncated_bytes == 0);
	wal_state_free(&st);
	wal_state_free(&st2);
	wal_close(&w);
	return 0;
}
