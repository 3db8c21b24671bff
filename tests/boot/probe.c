/*
 * pith-probe: runs inside a test image (started by pith.run=) and reports
 * what the boot tests check, one "probe: ..." line each.
 *
 *   pith-probe orphan   make an orphaned grandchild, let it exit, and report
 *                       whether PID 1 reaped it
 *   pith-probe net      addresses, default route and resolv.conf
 *   pith-probe random   wait for the kernel's random pool, as whatever
 *                       makes keys does, and say when it is ready
 *   pith-probe all      all three, then "probe: done"
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* State letter of pid from /proc, or 0 if it is gone. */
static char proc_state(int pid, int *ppid)
{
	char path[64], buf[512], *rp;
	char st = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')))
		sscanf(rp + 1, " %c %d", &st, ppid);
	fclose(f);
	return st;
}

static int count_zombies(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0, ppid;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
		    proc_state(atoi(de->d_name), &ppid) == 'Z')
			n++;
	closedir(d);
	return n;
}

static void orphan(void)
{
	int p[2], gc = 0, ppid = 0, i;
	pid_t child;
	char st;

	if (pipe(p) < 0)
		return;
	child = fork();
	if (child == 0) {
		pid_t g = fork();
		if (g == 0) {
			sleep_ms(300);
			_exit(0);
		}
		write(p[1], &g, sizeof g);
		_exit(0);	/* the grandchild is now an orphan */
	}
	read(p[0], &gc, sizeof gc);
	waitpid(child, NULL, 0);
	sleep_ms(50);
	st = proc_state(gc, &ppid);
	printf("probe: orphan: grandchild %d state %c parent %d\n", gc, st ? st : '-', ppid);
	/* Give it time to exit and PID 1 time to reap it. */
	for (i = 0; i < 40 && (st = proc_state(gc, &ppid)) != 0; i++)
		sleep_ms(50);
	printf("probe: orphan: grandchild %s\n", st == 0 ? "reaped" : st == 'Z' ? "left a zombie" : "still running");
	printf("probe: orphan: zombies %d\n", count_zombies());
	fflush(stdout);
}

static void net(void)
{
	struct ifaddrs *ifa, *i;
	char line[256];
	FILE *f;

	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i; i = i->ifa_next) {
			char a[INET_ADDRSTRLEN];
			unsigned m, len = 0;

			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof a);
			m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
			while (m & 0x80000000u) {
				len++;
				m <<= 1;
			}
			printf("probe: net: inet %s %s/%u\n", i->ifa_name, a, len);
		}
		freeifaddrs(ifa);
	}
	f = fopen("/proc/net/route", "r");
	while (f && fgets(line, sizeof line, f)) {
		char ifn[32];
		unsigned dst, gw;

		if (sscanf(line, "%31s %x %x", ifn, &dst, &gw) == 3 && dst == 0) {
			struct in_addr g = { gw };
			printf("probe: net: default via %s dev %s\n", inet_ntoa(g), ifn);
		}
	}
	if (f)
		fclose(f);
	f = fopen("/etc/resolv.conf", "r");
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] && line[0] != '#')
			printf("probe: net: resolv.conf %s\n", line);
	}
	if (f)
		fclose(f);
	fflush(stdout);
}

static void random_wait(void)
{
	unsigned char b[16];
	ssize_t n;

	while ((n = getrandom(b, sizeof(b), 0)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(b))
		printf("probe: random: pool ready\n");
	else
		printf("probe: random: getrandom: %s\n", n < 0 ? strerror(errno) : "short read");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(what, "orphan") && strcmp(what, "net") && strcmp(what, "random") &&
	    strcmp(what, "all")) {
		printf("probe: unknown command '%s'\n", what);
		return 2;
	}
	if (!strcmp(what, "orphan") || !strcmp(what, "all"))
		orphan();
	if (!strcmp(what, "net") || !strcmp(what, "all"))
		net();
	if (!strcmp(what, "random") || !strcmp(what, "all"))
		random_wait();
	printf("probe: done\n");
	return 0;
}
