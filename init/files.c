#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "unit_load.h"

/* A path component we are willing to create: no "..", no hidden tricks. */
static bool name_ok(const char *s)
{
	return *s && *s != '.' && strlen(s) <= NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(s);
}

static int write_file(const char *dst, const struct buf *b)
{
	char tmp[PATH_MAX];
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, b->data ? b->data : "", b->len) != (ssize_t)b->len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, dst) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* src: a directory of the fw_cfg tree; dst: where it goes. */
static int walk(const char *src, const char *dst, const char *rel, int depth)
{
	char s[PATH_MAX], d[PATH_MAX], r2[PATH_MAX];
	struct dirent *de;
	struct buf b = BUF_INIT;
	DIR *dir;
	int n = 0, r;

	/* An entry: a directory holding "raw". */
	snprintf(s, sizeof(s), "%s/raw", src);
	if (access(s, R_OK) == 0 && depth > 0) {
		r = unit_file_read(s, FILES_SIZE_MAX, &b);
		if (r == 0)
			r = write_file(dst, &b);
		if (r < 0)
			log_warn("files: fw_cfg opt/pith/etc/%s: not written: %s", rel,
				 r == -EFBIG ? "larger than 256 KiB" : strerror(-r));
		else
			log_info("files: /etc/pith/%s from fw_cfg (%zu bytes)", rel, b.len);
		buf_free(&b);
		return r < 0 ? 0 : 1;
	}
	if (depth >= FILES_DEPTH_MAX || !(dir = opendir(src)))
		return 0;
	if (depth > 0 && mkdir(dst, 0700) < 0 && errno != EEXIST) {
		log_warn("files: unable to create %s: %s", dst, strerror(errno));
		closedir(dir);
		return 0;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!name_ok(de->d_name)) {
			log_warn("files: fw_cfg opt/pith/etc/%s%s%s: unusable name; skipped", rel,
				 *rel ? "/" : "", de->d_name);
			continue;
		}
		if (snprintf(s, sizeof(s), "%s/%s", src, de->d_name) >= (int)sizeof(s) ||
		    snprintf(d, sizeof(d), "%s/%s", dst, de->d_name) >= (int)sizeof(d) ||
		    snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= (int)sizeof(r2))
			continue;
		n += walk(s, d, r2, depth + 1);
	}
	closedir(dir);
	return n;
}

int files_from_fw_cfg(const char *root)
{
	char src[PATH_MAX], dst[PATH_MAX];

	snprintf(src, sizeof(src), "%s/sys/firmware/qemu_fw_cfg/by_name/opt/pith/etc", root);
	snprintf(dst, sizeof(dst), "%s/etc/pith", root);
	if (access(src, F_OK) < 0)
		return 0;
	return walk(src, dst, "", 0);
}
