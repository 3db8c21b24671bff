/*
 * pause: the trivial long-lived service that bench/units starts a thousand
 * times under each supervisor.
 *
 * When BENCH_STAMP names a file, it first appends one fixed-width line,
 * "<pid> <CLOCK_MONOTONIC in ns>\n", so the benchmark learns when each
 * process began running from the process itself rather than by polling.
 * Then it waits for signals until one ends it; SIGTERM and SIGKILL keep
 * their default action.
 *
 * Built by bench/units, statically, so that its own start-up cost is as
 * small and as equal between supervisors as it can be.
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* bench/units counts lines by file size: keep in step with STAMP_LINE there. */
#define STAMP_LINE 32

static void stamp(const char *path)
{
	char line[STAMP_LINE + 1];
	struct timespec ts;
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof line, "%10d %20llu\n", (int)getpid(),
		     (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
	if (n != STAMP_LINE)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* One write of a whole line: O_APPEND keeps concurrent writers apart. */
	if (write(fd, line, STAMP_LINE) != STAMP_LINE) {
		/* the benchmark notices the missing line and says so */
	}
	close(fd);
}

int main(void)
{
	const char *path = getenv("BENCH_STAMP");

	if (path && *path)
		stamp(path);
	for (;;)
		pause();
}
