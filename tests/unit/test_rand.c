/* Random bytes in two grades: rand_id_bytes never waits and never fails,
 * even where getrandom(2) gives nothing; rand_key_bytes fills its buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rand.h"

static int all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void id_bytes_fill_and_differ(void **state)
{
	unsigned char a[33], b[33];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	rand_id_bytes(a, sizeof(a));
	rand_id_bytes(b, sizeof(b));
	assert_false(all_zero(a, sizeof(a)));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void key_bytes_fill(void **state)
{
	unsigned char a[64] = { 0 }, b[64] = { 0 };

	assert_int_equal(rand_key_bytes(a, sizeof(a)), 0);
	assert_int_equal(rand_key_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

/*
 * As before the kernel's pool is ready on a kernel without GRND_INSECURE:
 * a seccomp filter makes every getrandom(2) fail with EAGAIN. rand_id_bytes
 * still returns, with bytes that differ from one call to the next, over a
 * length that is not a multiple of 8.
 */
static void id_bytes_without_getrandom(void **state)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char a[13] = { 0 }, b[13] = { 0 }, c[4];

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(2);
		if (getrandom(c, sizeof(c), GRND_INSECURE) >= 0 || errno != EAGAIN)
			_exit(3);	/* the filter is not in force */
		rand_id_bytes(a, sizeof(a));
		rand_id_bytes(b, sizeof(b));
		_exit(all_zero(a, sizeof(a)) || !memcmp(a, b, sizeof(a)) || !memcmp(a + 8, b + 8, 5) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(id_bytes_fill_and_differ),
		cmocka_unit_test(key_bytes_fill),
		cmocka_unit_test(id_bytes_without_getrandom),
	};
	return cmocka_run_group_tests_name("rand", tests, NULL, NULL);
}
