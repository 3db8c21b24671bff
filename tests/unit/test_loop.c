/* The event loop: timers in order, I/O readiness, signals via signalfd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "buf.h"
#include "loop.h"

static char order[16];
static int norder;

static void mark(struct loop *l, void *arg)
{
	order[norder++] = *(const char *)arg;
	if (norder == 3)
		loop_stop(l);
}

static void timers_fire_in_deadline_order(void **state)
{
	struct loop l;
	struct loop_timer a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

	norder = 0;
	assert_int_equal(loop_init(&l), 0);
	loop_timer_set(&l, &a, 30, mark, "a");
	loop_timer_set(&l, &b, 10, mark, "b");
	loop_timer_set(&l, &c, 20, mark, "c");
	loop_timer_set(&l, &d, 15, mark, "d");
	loop_timer_cancel(&l, &d);
	assert_int_equal(loop_run(&l), 0);
	assert_memory_equal(order, "bca", 3);
	assert_false(a.armed || b.armed || c.armed || d.armed);
	loop_close(&l);
}

static void rearm_moves_a_timer(void **state)
{
	struct loop l;
	struct loop_timer a = { 0 }, b = { 0 }, c = { 0 };

	norder = 0;
	assert_int_equal(loop_init(&l), 0);
	loop_timer_set(&l, &a, 5, mark, "a");
	loop_timer_set(&l, &b, 10, mark, "b");
	loop_timer_set(&l, &c, 15, mark, "c");
	loop_timer_set(&l, &a, 20, mark, "a");
	assert_int_equal(loop_run(&l), 0);
	assert_memory_equal(order, "bca", 3);
	loop_close(&l);
}

static void readable(struct loop *l, int fd, uint32_t ev, void *arg)
{
	char c;

	assert_true(ev & EPOLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	*(char *)arg = c;
	loop_stop(l);
}

static void io_callback_gets_the_fd(void **state)
{
	struct loop l;
	struct loop_io io;
	int p[2];
	char got = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(loop_io_add(&l, &io, p[0], EPOLLIN, readable, &got), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(got, 'x');
	loop_io_del(&l, &io);
	loop_close(&l);
	close(p[0]);
	close(p[1]);
}

static void on_sig(struct loop *l, int signo, void *arg)
{
	*(int *)arg = signo;
	loop_stop(l);
}

static void signals_arrive_through_the_loop(void **state)
{
	struct loop l;
	sigset_t set, old;
	int got = 0;

	sigprocmask(SIG_SETMASK, NULL, &old);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(loop_signals(&l, &set, on_sig, &got), 0);
	kill(getpid(), SIGUSR1);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(got, SIGUSR1);
	loop_close(&l);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void buf_grows_and_consumes(void **state)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%03d,", i), 0);
	assert_int_equal(b.len, 4000);
	assert_memory_equal(b.data, "000,001,", 8);
	buf_consume(&b, 3996);
	assert_string_equal(b.data, "999,");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(rearm_moves_a_timer),
		cmocka_unit_test(io_callback_gets_the_fd),
		cmocka_unit_test(signals_arrive_through_the_loop),
		cmocka_unit_test(buf_grows_and_consumes),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
