/* pith-kv's member table: its bytes (snapshots, the WAL, JOIN answers),
 * the member commands in the log, the JSON body of POST /v2/members, and
 * IDs for members added at run time. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "members.h"

static void two_members(struct kv_member *m)
{
	struct err e = { 0 };
	size_t n;

	memset(m, 0, 2 * sizeof(*m));
	m[0].id = 0x20;
	strcpy(m[0].name, "n2");
	assert_int_equal(kv_urls_parse(m[0].peer, &m[0].npeer, "https://10.0.0.2:2380,https://[::1]:2380", &e), 0);
	kv_member_clients(&m[0], "http://10.0.0.2:2379");
	m[1].id = 0x10;
	assert_int_equal(kv_urls_parse(m[1].peer, &n, "https://10.0.0.1:2380", &e), 0);
	m[1].npeer = n;
}

static void the_table_survives_its_bytes(void **state)
{
	struct kv_member m[2], back[RAFT_MEMBERS_MAX];
	struct buf b = BUF_INIT;
	size_t n;

	two_members(m);
	assert_int_equal(kv_members_encode(m, 2, &b), 0);
	assert_int_equal(kv_members_decode(back, &n, b.data, b.len), 0);
	assert_int_equal(n, 2);
	assert_int_equal(back[0].id, 0x20);
	assert_string_equal(back[0].name, "n2");
	assert_int_equal(back[0].npeer, 2);
	assert_string_equal(back[0].peer[1].text, "https://[::1]:2380");
	assert_int_equal(back[0].nclient, 1);
	assert_string_equal(back[0].client[0], "http://10.0.0.2:2379");
	assert_string_equal(back[1].name, "");
	assert_int_equal(back[1].nclient, 0);
	kv_members_sort(back, n);
	assert_int_equal(back[0].id, 0x10);
	/* Cut anywhere, or with a byte more, it is refused. */
	for (size_t cut = 0; cut < b.len; cut++)
		assert_int_equal(kv_members_decode(back, &n, b.data, cut), -EBADMSG);
	buf_append(&b, "x", 1);
	assert_int_equal(kv_members_decode(back, &n, b.data, b.len), -EBADMSG);
	buf_free(&b);
}

static void a_table_with_a_bad_url_or_a_repeated_id_is_refused(void **state)
{
	struct kv_member m[2], back[RAFT_MEMBERS_MAX];
	struct buf b = BUF_INIT;
	size_t n;

	two_members(m);
	m[1].id = m[0].id;
	assert_int_equal(kv_members_encode(m, 2, &b), 0);
	assert_int_equal(kv_members_decode(back, &n, b.data, b.len), -EBADMSG);
	buf_free(&b);
	two_members(m);
	strcpy(m[1].peer[0].text, "ftp://10.0.0.1:21");
	assert_int_equal(kv_members_encode(m, 2, &b), 0);
	assert_int_equal(kv_members_decode(back, &n, b.data, b.len), -EBADMSG);
	buf_free(&b);
}

static void member_commands_encode_and_decode(void **state)
{
	struct kv_cmd c = { .kind = KV_CMD_MEMBER, .origin = 5, .seq = 9, .member = 0xabc,
			    .member_op = KV_MEMBER_ADD, .peer_urls = "https://10.0.0.4:2380" }, d;
	struct buf b = BUF_INIT;

	assert_int_equal(kv_cmd_encode(&c, &b), 0);
	assert_int_equal(kv_cmd_decode(&d, b.data, b.len), 0);
	assert_int_equal(d.kind, KV_CMD_MEMBER);
	assert_int_equal(d.member_op, KV_MEMBER_ADD);
	assert_int_equal(d.member, 0xabc);
	assert_int_equal(d.origin, 5);
	assert_string_equal(d.peer_urls, "https://10.0.0.4:2380");
	/* An operation out of range, or no member, is not a command. */
	b.data[2 + 16] = 7;
	assert_int_equal(kv_cmd_decode(&d, b.data, b.len), -EBADMSG);
	buf_free(&b);
	c.member = 0;
	assert_int_equal(kv_cmd_encode(&c, &b), -EINVAL);
	buf_free(&b);
}

static void store_commands_keep_a_prev_value_holding_nul(void **state)
{
	struct kv_cmd c = { .kind = KV_CMD_STORE, .origin = 1, .seq = 2 }, d;
	struct buf b = BUF_INIT;

	c.store = (struct store_cmd){ .op = STORE_SET, .path = "/k", .value = "w", .value_len = 1,
				      .prev_value = "x\0y", .prev_value_len = 3 };
	assert_int_equal(kv_cmd_encode(&c, &b), 0);
	/* Last in the command: its length with a NUL after it, the shape a
	 * prevValue had when it was a C string, so older logs read the same. */
	assert_true(b.len > 8);
	assert_memory_equal(b.data + b.len - 8, "\0\0\0\4x\0y\0", 8);
	assert_int_equal(kv_cmd_decode(&d, b.data, b.len), 0);
	assert_int_equal(d.store.prev_value_len, 3);
	assert_memory_equal(d.store.prev_value, "x\0y", 3);
	/* Without its NUL the command is cut short. */
	assert_int_equal(kv_cmd_decode(&d, b.data, b.len - 1), -EBADMSG);
	b.data[b.len - 1] = 'z';
	assert_int_equal(kv_cmd_decode(&d, b.data, b.len), -EBADMSG);
	buf_free(&b);
}

static int req(const char *body, size_t *n, struct kv_url *u, char *msg)
{
	struct err e = { 0 };
	int r = kv_member_req_parse(body, strlen(body), u, n, &e);

	strcpy(msg, e.msg);
	return r;
}

static void the_body_of_member_add_is_read_as_etcd_reads_it(void **state)
{
	struct kv_url u[KV_URLS_MAX];
	size_t n;
	char msg[256];

	assert_int_equal(req("{\"peerURLs\":[\"http://127.0.0.1:2380\"],\"other\":1}", &n, u, msg), 0);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].text, "http://127.0.0.1:2380");
	/* Go matches field names without regard to case. */
	assert_int_equal(req("{\"PEERURLS\":[\"https://10.1.1.1:7001\",\"https://10.1.1.2:7001\"]}", &n, u, msg), 0);
	assert_int_equal(n, 2);
	assert_int_equal(req("{\"peerURLs\":[]}", &n, u, msg), -EINVAL);
	assert_string_equal(msg, "no valid URLs given");
	assert_int_equal(req("{}", &n, u, msg), -EINVAL);
	assert_string_equal(msg, "no valid URLs given");
	assert_int_equal(req("{\"peerURLs\":[\"foo\"]}", &n, u, msg), -EINVAL);
	assert_string_equal(msg, "URL scheme must be http, https, unix, or unixs: foo");
	assert_int_equal(req("{\"peerURLs\":", &n, u, msg), -EINVAL);
	assert_int_equal(req("{\"peerURLs\":\"x\"}", &n, u, msg), -EINVAL);
	assert_int_equal(req("[]", &n, u, msg), -EINVAL);
	assert_int_equal(req("{\"peerURLs\":[1]}", &n, u, msg), -EINVAL);
	assert_int_equal(req("", &n, u, msg), -EINVAL);
	assert_string_equal(msg, "unexpected end of JSON input");
}

static void added_members_get_ids_of_their_own(void **state)
{
	struct kv_url u[1];
	size_t n;
	struct err e = { 0 };
	uint64_t a, b;

	assert_int_equal(kv_urls_parse(u, &n, "http://127.0.0.1:2380", &e), 0);
	a = kv_member_id_new(u, n, "etcd-cluster", 1000);
	b = kv_member_id_new(u, n, "etcd-cluster", 2000);
	assert_int_not_equal(a, b);
	assert_int_not_equal(a, kv_member_id(u, n, "etcd-cluster"));
	assert_int_equal(a, kv_member_id_new(u, n, "etcd-cluster", 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_table_survives_its_bytes),
		cmocka_unit_test(a_table_with_a_bad_url_or_a_repeated_id_is_refused),
		cmocka_unit_test(member_commands_encode_and_decode),
		cmocka_unit_test(store_commands_keep_a_prev_value_holding_nul),
		cmocka_unit_test(the_body_of_member_add_is_read_as_etcd_reads_it),
		cmocka_unit_test(added_members_get_ids_of_their_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
