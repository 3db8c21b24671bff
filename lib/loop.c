#include "loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* Events handled per epoll_wait; more simply wait for the next round. */
#define LOOP_EVENTS_MAX 64

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof *l);
	l->sigio.fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_close(struct loop *l)
{
	if (l->sigio.fd >= 0)
		close(l->sigio.fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->sigio.fd = -1;
}

int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
		loop_io_fn *fn, void *arg)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->fn = fn;
	io->arg = arg;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
	if (io->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fn = NULL;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **pp;

	if (!t->armed)
		return;
	for (pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->next = NULL;
	t->armed = 0;
}

/* A sorted list: programs here hold a handful of timers, not thousands. */
void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ms,
		    loop_timer_fn *fn, void *arg)
{
	struct loop_timer **pp;

	loop_timer_cancel(l, t);
	t->when = loop_now_ms() + delay_ms;
	t->fn = fn;
	t->arg = arg;
	for (pp = &l->timers; *pp && (*pp)->when <= t->when; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	t->armed = 1;
}

static void loop_signal_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof si) == sizeof si)
		l->sigfn(l, (int)si.ssi_signo, l->sigarg);
}

int loop_signals(struct loop *l, const sigset_t *set, loop_signal_fn *fn, void *arg)
{
	int fd, r;

	if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	l->sigfn = fn;
	l->sigarg = arg;
	r = loop_io_add(l, &l->sigio, fd, EPOLLIN, loop_signal_ready, NULL);
	if (r < 0) {
		close(fd);
		l->sigio.fd = -1;
	}
	return r;
}

static void loop_run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();
	struct loop_timer *t;

	while ((t = l->timers) && t->when <= now) {
		l->timers = t->next;
		t->next = NULL;
		t->armed = 0;
		t->fn(l, t->arg);
	}
}

int loop_run_once(struct loop *l, int max_ms)
{
	struct epoll_event ev[LOOP_EVENTS_MAX];
	int timeout = max_ms, n, i;

	if (l->timers) {
		uint64_t now = loop_now_ms();
		uint64_t wait = l->timers->when > now ? l->timers->when - now : 0;

		if (timeout < 0 || wait < (uint64_t)timeout)
			timeout = wait > 1000000 ? 1000000 : (int)wait;
	}
	n = epoll_wait(l->epfd, ev, LOOP_EVENTS_MAX, timeout);
	if (n < 0 && errno != EINTR)
		return -errno;
	l->dispatching++;
	for (i = 0; i < n; i++) {
		struct loop_io *io = ev[i].data.ptr;

		if (io->fn)
			io->fn(l, io->fd, ev[i].events, io->arg);
	}
	l->dispatching--;
	loop_run_timers(l);
	return 0;
}

int loop_run(struct loop *l)
{
	int r = 0;

	l->stop = 0;
	while (!l->stop && r == 0)
		r = loop_run_once(l, -1);
	return r;
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}
