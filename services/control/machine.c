/*
 * GET /v1/machine's body. What cannot change while the program runs (the
 * machine and boot IDs, the kernel) is read once; the name and the
 * addresses at most once a second (a getifaddrs() is a netlink dump);
 * uptime, load and memory with pread() on files kept open. The answer
 * itself is kept for MACHINE_ANSWER_MS: a node polled by many monitors
 * renders /proc/meminfo ten times a second, not ten thousand.
 */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "json.h"
#include "version.h"

/* Addresses kept; more are left out of the answer. */
#define MACHINE_ADDRS_MAX 32
/* How old the name and the addresses may be. */
#define MACHINE_REFRESH_MS 1000
/* How old a whole answer may be (docs/api.md says so). */
#define MACHINE_ANSWER_MS 100

struct addr {
	char ifname[IF_NAMESIZE];
	bool v6;
	char text[INET6_ADDRSTRLEN];
};

static struct {
	bool ready;
	char id[64], boot[64], kernel[65], name[65];
	int fd_uptime, fd_load, fd_mem;
	struct addr addrs[MACHINE_ADDRS_MAX];
	size_t naddrs;
	uint64_t refreshed_ms;
	struct buf answer;
	uint64_t answered_ms;
} mach;

static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

/* The file's text, NUL-terminated, from its start; "" if unreadable. */
static void pread_text(int fd, char *out, size_t len)
{
	ssize_t n = fd >= 0 ? pread(fd, out, len - 1, 0) : -1;

	out[n > 0 ? (size_t)n : 0] = 0;
}

static void refresh(void)
{
	struct ifaddrs *ifa, *i;
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(mach.name, sizeof(mach.name), "%s", u.nodename);
	mach.naddrs = 0;
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i && mach.naddrs < MACHINE_ADDRS_MAX; i = i->ifa_next) {
		struct addr *a = &mach.addrs[mach.naddrs];

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, a->text,
				  sizeof(a->text));
		else if (i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, a->text,
				  sizeof(a->text));
		else
			continue;
		a->v6 = i->ifa_addr->sa_family == AF_INET6;
		snprintf(a->ifname, sizeof(a->ifname), "%s", i->ifa_name);
		mach.naddrs++;
	}
	freeifaddrs(ifa);
}

static void setup(void)
{
	struct utsname u;

	read_line("/etc/machine-id", mach.id, sizeof(mach.id));
	read_line("/proc/sys/kernel/random/boot_id", mach.boot, sizeof(mach.boot));
	if (uname(&u) == 0)
		snprintf(mach.kernel, sizeof(mach.kernel), "%s", u.release);
	mach.fd_uptime = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	mach.fd_load = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	mach.fd_mem = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	mach.ready = true;
}

/* /proc/meminfo's value for key, in bytes; -1 if absent. */
static int64_t meminfo(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	if (!p || (p != text && p[-1] != '\n'))
		return -1;
	return strtoll(p + strlen(key), NULL, 10) * 1024;
}

/* "12.34" as hundredths, without floating point. */
static uint64_t hundredths(const char *s, char **end)
{
	uint64_t whole = strtoull(s, end, 10), frac = 0;

	if (**end == '.') {
		const char *f = *end + 1;

		frac = (uint64_t)(f[0] >= '0' && f[0] <= '9' ? f[0] - '0' : 0) * 10 +
		       (uint64_t)(f[0] >= '0' && f[0] <= '9' && f[1] >= '0' && f[1] <= '9' ? f[1] - '0' : 0);
		for (*end = (char *)f; **end >= '0' && **end <= '9'; (*end)++)
			;
	}
	return whole * 100 + frac;
}

static int render(struct buf *b, uint64_t now);

int machine_json(struct buf *b)
{
	uint64_t now = loop_now_ms();

	if (!mach.answer.len || now - mach.answered_ms >= MACHINE_ANSWER_MS) {
		buf_reset(&mach.answer);
		if (render(&mach.answer, now) < 0) {
			buf_reset(&mach.answer);
			return -ENOMEM;
		}
		mach.answered_ms = now;
	}
	return buf_append(b, mach.answer.data, mach.answer.len);
}

static int render(struct buf *b, uint64_t now)
{
	char up[128], load[128], mem[4096], *p;
	struct json j;

	if (!mach.ready)
		setup();
	if (!mach.refreshed_ms || now - mach.refreshed_ms >= MACHINE_REFRESH_MS) {
		refresh();
		mach.refreshed_ms = now;
	}
	pread_text(mach.fd_uptime, up, sizeof(up));
	pread_text(mach.fd_load, load, sizeof(load));
	pread_text(mach.fd_mem, mem, sizeof(mem));

	json_init(&j, b, false);
	json_obj_begin(&j);
	json_key(&j, "name");
	json_str(&j, mach.name);
	json_key(&j, "machine_id");
	json_str(&j, mach.id);
	json_key(&j, "boot_id");
	json_str(&j, mach.boot);
	json_key(&j, "version");
	json_str(&j, PITH_VERSION);
	json_key(&j, "kernel");
	json_str(&j, mach.kernel);
	json_key(&j, "uptime_usec");
	json_uint(&j, hundredths(up, &p) * 10000);
	json_key(&j, "load");
	json_arr_begin(&j);
	p = load;
	for (int k = 0; k < 3; k++)
		json_hundredths(&j, hundredths(p, &p)), p += *p == ' ';
	json_arr_end(&j);
	json_key(&j, "memory");
	json_obj_begin(&j);
	json_key(&j, "total_bytes");
	json_int(&j, meminfo(mem, "MemTotal:"));
	json_key(&j, "available_bytes");
	json_int(&j, meminfo(mem, "MemAvailable:"));
	json_obj_end(&j);
	json_key(&j, "addresses");
	json_arr_begin(&j);
	for (size_t i = 0; i < mach.naddrs; i++) {
		json_obj_begin(&j);
		json_key(&j, "interface");
		json_str(&j, mach.addrs[i].ifname);
		json_key(&j, "family");
		json_str(&j, mach.addrs[i].v6 ? "inet6" : "inet");
		json_key(&j, "address");
		json_str(&j, mach.addrs[i].text);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	if (json_end(&j) < 0)
		return -ENOMEM;
	return buf_puts(b, "\n");
}
