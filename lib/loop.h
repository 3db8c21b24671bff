/*
 * The event loop: one per program. epoll for file descriptors, a sorted list
 * of timers on the monotonic clock, and signals through signalfd.
 *
 * Nothing here allocates: the caller owns every struct loop_io and struct
 * loop_timer and keeps it alive while it is registered or armed. Callbacks
 * run from loop_run_once(); a callback may add, remove or re-arm any io or
 * timer, including its own.
 */
#ifndef PITH_LOOP_H
#define PITH_LOOP_H

#include <signal.h>
#include <stdint.h>

struct loop;

typedef void loop_io_fn(struct loop *l, int fd, uint32_t events, void *arg);
typedef void loop_timer_fn(struct loop *l, void *arg);
typedef void loop_signal_fn(struct loop *l, int signo, void *arg);

struct loop_io {
	int fd;
	loop_io_fn *fn;
	void *arg;
};

struct loop_timer {
	uint64_t when;		/* loop_now_ms() at which it fires */
	loop_timer_fn *fn;
	void *arg;
	struct loop_timer *next;
	int armed;
};

struct loop {
	int epfd;
	int stop;
	struct loop_timer *timers;	/* sorted by when, earliest first */
	struct loop_io sigio;
	loop_signal_fn *sigfn;
	void *sigarg;
	int dispatching;	/* inside loop_run_once's io callbacks: the batch may
				 * still hold events for any registered io */
};

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);

int loop_init(struct loop *l);
void loop_close(struct loop *l);

/* Watch io->fd for events (EPOLLIN, EPOLLOUT, ...). 0 or -errno. */
int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
		loop_io_fn *fn, void *arg);
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
void loop_io_del(struct loop *l, struct loop_io *io);

/* Arm t to call fn(arg) delay_ms from now; re-arming moves it. */
void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ms,
		    loop_timer_fn *fn, void *arg);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

/*
 * Block the signals in set and deliver them through a signalfd to fn.
 * Call once; 0 or -errno.
 */
int loop_signals(struct loop *l, const sigset_t *set, loop_signal_fn *fn, void *arg);

/*
 * Wait for at most max_ms (-1: until the next timer or event), then run the
 * due timers and ready callbacks. 0 or -errno from epoll_wait (never -EINTR).
 */
int loop_run_once(struct loop *l, int max_ms);

/* Run until loop_stop(). */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
