/*
 * test_admin: the admin socket's transport (src/admin/admin.c) with a fake core
 * (tests/support/fake_core.c): the server runs on a unix or TCP socket and a libuv client in
 * the same loop checks framing, keepalive, garbage, oversize input, output watermarks, replies
 * that wait for a remote query (answered late, never, or abandoned by the client) and the
 * start-up rules of AdminListen (stale socket files, mode 0660, disabled, bad addresses). The
 * last test runs the real yggdrasilctl 0.5.12 against the server when it is installed
 * (skipped loudly otherwise).
 * Invariants: every loop test ends with uv_loop_close() == 0; every test removes its files.
 * Timers: each conversation has a 10 s guard timer that fails it instead of hanging.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin.h"
#include "config/config.h"
#include "lib/log.h"
#include "support/capture.h"
#include "support/fake_core.h"

#define YGGDRASILCTL "/root/.cache/ygg-ref/usr/sbin/yggdrasilctl"

enum { MAX_CHUNKS = 4, GUARD_MS = 30000 };

struct talk {
	/* inputs */
	const char *listen;
	struct core *core;
	struct tun *tun;
	unsigned query_timeout_ms; /* 0: the admin's default */
	const char *chunk[MAX_CHUNKS];
	size_t chunk_len[MAX_CHUNKS]; /* 0: strlen */
	size_t n_chunks;
	unsigned gap_ms;	/* between chunks, and how long to wait for a close after (counted
				   from the last byte received once every chunk is sent) */
	unsigned read_delay_ms; /* the client starts reading this late */
	bool is_half_close;	/* shutdown(SHUT_WR) after the last chunk */
	bool is_client_close;	/* gap_ms after the last chunk close, then wait gap_ms more */
	/* outputs */
	int start;
	char *rx;
	size_t rx_len, rx_cap;
	size_t rx_before[MAX_CHUNKS]; /* bytes received before chunk i went out */
	bool is_closed_by_server, is_timed_out, is_connected;
	unsigned n_cancels_at_finish; /* the fake core's cancels before admin_close */
	/* internals */
	uv_loop_t loop;
	struct admin *admin;
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} cl;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	uv_write_t wreq[MAX_CHUNKS];
	uv_timer_t timer, guard;
	size_t next;
	bool is_reading, is_finished, is_admin_closed, is_client_closed;
};

static void on_admin_closed(void *arg)
{
	struct talk *t = arg;

	t->is_admin_closed = true;
}

static void talk_finish(struct talk *t)
{
	if (t->is_finished)
		return;
	t->is_finished = true;
	if (t->core)
		t->n_cancels_at_finish = t->core->n_cancels;
	if (t->cl.h.loop && !uv_is_closing(&t->cl.h))
		uv_close(&t->cl.h, NULL);
	uv_close((uv_handle_t *)&t->timer, NULL);
	uv_close((uv_handle_t *)&t->guard, NULL);
	admin_close(t->admin, on_admin_closed, t);
}

static void on_rx_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct talk *t = h->data;

	if (t->rx_cap - t->rx_len < hint) {
		t->rx_cap = t->rx_len + hint + 1;
		t->rx = realloc(t->rx, t->rx_cap);
	}
	*b = uv_buf_init(t->rx + t->rx_len, (unsigned)(t->rx_cap - t->rx_len - 1));
}

static void on_timer(uv_timer_t *tm);

static void on_rx(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct talk *t = s->data;

	(void)b;
	if (n > 0) {
		t->rx_len += (size_t)n;
		t->rx[t->rx_len] = '\0';
		/*
		 * Once everything is sent, gap_ms counts from the last reply byte, not from the
		 * last chunk: a slow machine (a sanitizer build beside other tests) takes longer
		 * to deliver megabytes of replies, and that is not the server keeping quiet.
		 */
		if (t->next == t->n_chunks && !t->is_client_close &&
		    uv_is_active((uv_handle_t *)&t->timer))
			uv_timer_start(&t->timer, on_timer, t->gap_ms, 0);
	} else if (n < 0) {
		t->is_closed_by_server = true;
		talk_finish(t);
	}
}

static void start_reading(struct talk *t)
{
	if (!t->is_reading && !t->is_finished) {
		t->is_reading = true;
		cr_assert_eq(uv_read_start(&t->cl.s, on_rx_alloc, on_rx), 0);
	}
}

static void on_wrote(uv_write_t *req, int status)
{
	(void)req;
	(void)status; /* the server may close before it has read everything */
}

static void on_shut(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status;
}

static void send_next(struct talk *t)
{
	size_t i = t->next++;
	size_t n = t->chunk_len[i] ? t->chunk_len[i] : strlen(t->chunk[i]);
	uv_buf_t b = uv_buf_init((char *)t->chunk[i], (unsigned)n);

	t->rx_before[i] = t->rx_len;
	if (uv_write(&t->wreq[i], &t->cl.s, &b, 1, on_wrote) < 0)
		return;
	if (t->next == t->n_chunks && t->is_half_close)
		uv_shutdown(&t->sreq, &t->cl.s, on_shut);
}

static void on_timer(uv_timer_t *tm)
{
	struct talk *t = tm->data;

	if (t->is_finished)
		return;
	if (!t->is_reading) {
		/* End of the read delay: now wait as after any chunk. */
		start_reading(t);
		uv_timer_start(&t->timer, on_timer, t->gap_ms, 0);
		return;
	}
	if (t->next < t->n_chunks) {
		send_next(t);
		uv_timer_start(&t->timer, on_timer, t->gap_ms, 0);
	} else if (t->is_client_close && !t->is_client_closed) {
		/* The client goes away; the server gets gap_ms to notice. */
		t->is_client_closed = true;
		uv_close(&t->cl.h, NULL);
		uv_timer_start(&t->timer, on_timer, t->gap_ms, 0);
	} else {
		talk_finish(t); /* the server kept the connection open */
	}
}

static void on_guard(uv_timer_t *tm)
{
	struct talk *t = tm->data;

	t->is_timed_out = true;
	talk_finish(t);
}

static void on_connected(uv_connect_t *req, int status)
{
	struct talk *t = req->data;

	cr_assert_eq(status, 0, "connect: %s", uv_strerror(status));
	t->is_connected = true;
	if (!t->read_delay_ms)
		start_reading(t);
	send_next(t);
	uv_timer_start(&t->timer, on_timer, t->read_delay_ms ? t->read_delay_ms : t->gap_ms, 0);
}

/* Runs one client conversation against a fresh server; t's outputs are filled. */
static void talk(struct talk *t)
{
	struct config cfg = {.admin_listen = (char *)t->listen};

	signal(SIGPIPE, SIG_IGN);
	if (!t->gap_ms)
		t->gap_ms = 150;
	cr_assert_eq(uv_loop_init(&t->loop), 0);
	t->admin = admin_new(&t->loop, &cfg, t->core, t->tun);
	cr_assert_not_null(t->admin);
	if (t->core)
		t->core->loop = &t->loop;
	if (t->query_timeout_ms)
		admin_set_query_timeout(t->admin, t->query_timeout_ms);
	t->start = admin_start(t->admin);
	uv_timer_init(&t->loop, &t->timer);
	uv_timer_init(&t->loop, &t->guard);
	t->timer.data = t->guard.data = t->creq.data = t;
	uv_timer_start(&t->guard, on_guard, GUARD_MS, 0);
	if (t->start < 0) {
		talk_finish(t);
	} else if (!strncmp(t->listen, "unix://", 7)) {
		uv_pipe_init(&t->loop, &t->cl.pipe, 0);
		t->cl.h.data = t;
		uv_pipe_connect(&t->creq, &t->cl.pipe, t->listen + 7, on_connected);
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		const char *port = strrchr(t->listen, ':');

		sin.sin_port = htons((uint16_t)atoi(port + 1));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		uv_tcp_init(&t->loop, &t->cl.tcp);
		t->cl.h.data = t;
		cr_assert_eq(uv_tcp_connect(&t->creq, &t->cl.tcp, (struct sockaddr *)&sin,
					    on_connected),
			     0);
	}
	uv_run(&t->loop, UV_RUN_DEFAULT);
	cr_assert(t->is_admin_closed, "admin_close reported done");
	admin_free(t->admin);
	cr_assert_eq(uv_loop_close(&t->loop), 0, "every handle closed");
	cr_assert_not(t->is_timed_out, "conversation timed out; got %zu bytes", t->rx_len);
}

static char sock_dir[64], sock_uri[128];

static void mk_sock(void)
{
	log_set_level(LOG_LEVEL_WARN); /* expected start-up errors still show */
	strcpy(sock_dir, "/tmp/ygg64-admin-XXXXXX");
	cr_assert_not_null(mkdtemp(sock_dir));
	snprintf(sock_uri, sizeof(sock_uri), "unix://%s/s.sock", sock_dir);
}

static void rm_sock(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/s.sock", sock_dir);
	unlink(p);
	rmdir(sock_dir);
}

TestSuite(admin, .init = mk_sock, .fini = rm_sock);

/*
 * Occurrences of needle in s. Not a strstr loop: ASan's strstr measures the whole haystack on
 * every call, which makes counting thousands of replies in megabytes quadratic.
 */
static size_t count(const char *s, const char *needle)
{
	size_t n = 0, k = strlen(needle);

	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == *needle && !strncmp(p, needle, k)) {
			n++;
			p += k - 1;
		}
	}
	return n;
}

Test(admin, unix_socket_mode_and_cleanup)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .chunk = {"{\"request\":\"getSelf\"}"}};
	char path[128], *raw = cap_load("admin-raw.txt");
	char *want = cap_ours(cap_section(raw, "getself, no keepalive"));
	struct stat st;

	free(raw);
	want = cap_subst(want, "\"request\": \"getself\"", "\"request\": \"getSelf\"");
	talk(&t);
	cr_expect_eq(t.start, 0);
	cr_expect_str_eq(t.rx, want);
	cr_expect(t.is_closed_by_server, "closed after a request without keepalive");
	snprintf(path, sizeof(path), "%s/s.sock", sock_dir);
	cr_expect(stat(path, &st) < 0 && errno == ENOENT, "socket file removed on close");
	free(want);
	free(t.rx);
	free(t.core);
}

Test(admin, two_objects_in_one_write)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .chunk = {"{\"request\":\"getSelf\",\"keepalive\":true}\n"
				   "  {\"request\":\"list\"} {\"request\":\"getTree\"}"}};

	talk(&t);
	cr_expect_eq(count(t.rx, "\"status\": \"success\""), 2, "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"build_name\""), 1);
	cr_expect_eq(count(t.rx, "\"command\": \"list\""), 1);
	cr_expect_eq(count(t.rx, "\"tree\""), 0, "nothing is read after a non-keepalive request");
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

Test(admin, object_split_across_writes)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 3,
			 .chunk = {"{\"request\":\"get", "Self\",\"arguments\":{\"x\":\"}{\\\"",
				   "\"}}"}};

	talk(&t);
	cr_expect_eq(t.rx_before[1], 0, "no reply to half an object");
	cr_expect_eq(t.rx_before[2], 0, "braces inside strings do not end the object");
	cr_expect_eq(count(t.rx, "\"status\": \"success\""), 1, "%s", t.rx);
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

Test(admin, keepalive_keeps_the_connection)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 2,
			 .chunk = {"{\"request\":\"getSelf\",\"keepalive\":true}",
				   "{\"request\":\"getPeers\"}"}};

	talk(&t);
	cr_expect_gt(t.rx_before[1], 0, "first reply arrived before the second request");
	cr_expect_eq(count(t.rx, "\"status\": \"success\""), 2, "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"keepalive\": true"), 1);
	cr_expect(t.is_closed_by_server);

	/* With keepalive and nothing more, the server waits. */
	struct talk u = {.listen = sock_uri, .core = t.core, .n_chunks = 1,
			 .chunk = {"{\"request\":\"getSelf\",\"keepalive\":true}"}};
	talk(&u);
	cr_expect_eq(count(u.rx, "\"status\": \"success\""), 1);
	cr_expect_not(u.is_closed_by_server, "keepalive connection stays open");
	free(u.rx);
	free(t.rx);
	free(t.core);
}

Test(admin, eof_after_keepalive_gets_failed_to_find)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .is_half_close = true,
			 .chunk = {"{\"request\":\"getSelf\",\"keepalive\":true}"}};

	talk(&t);
	cr_expect_eq(count(t.rx, "\"status\": \"success\""), 1, "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"error\": \"Failed to find request\""), 1,
		     "yggdrasil answers its decoder's EOF");
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

Test(admin, garbage_is_failed_to_find_request)
{
	static const char *const bad[] = {"hello", "}{", "\x01\x02\x03", "{\"request\":\"getSelf\"]",
					  "{\"request\":\"getSelf\",}"};
	char *raw = cap_load("admin-raw.txt"), *want = cap_section(raw, "not JSON");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
				 .chunk = {bad[i]}};

		talk(&t);
		cr_expect_str_eq(t.rx, want, "input %zu", i);
		cr_expect(t.is_closed_by_server, "input %zu closes", i);
		cr_expect_eq(t.core->n_calls, 0);
		free(t.rx);
		free(t.core);
	}
	/* An unfinished object at EOF, and a top-level number ended by EOF. */
	{
		struct talk t = {.listen = sock_uri, .n_chunks = 1, .is_half_close = true,
				 .chunk = {"{\"request\":\"getSelf\""}};

		talk(&t);
		cr_expect_str_eq(t.rx, want);
		cr_expect(t.is_closed_by_server);
		free(t.rx);
	}
	{
		struct talk t = {.listen = sock_uri, .n_chunks = 1, .is_half_close = true,
				 .chunk = {"  42"}};

		talk(&t);
		cr_expect(strstr(t.rx, "\"Failed to unmarshal request\"") != NULL, "%s", t.rx);
		free(t.rx);
	}
	free(want);
	free(raw);
}

/* Top-level scalars end where Go's json.Decoder ends them (checked against 0.5.12). */
Test(admin, scalars_end_like_go_decoder)
{
	static const struct {
		const char *in;
		bool is_half_close;
		const char *error; /* NULL: no reply, the connection stays open */
	} v[] = {
		{"5x", false, "Failed to unmarshal request"},
		{"1-2 ", false, "Failed to unmarshal request"},
		{"truex", false, "Failed to unmarshal request"},
		{"\"getSelf\" ", false, "Failed to unmarshal request"},
		{"\"getSelf\"", true, "Failed to unmarshal request"},
		{"\"getSelf\"", false, NULL},
		{"true", false, NULL},
		{"12", false, NULL},
		{"null\n", false, "No request specified"},
		{"tru", true, "Failed to find request"},
		{"trux", false, "Failed to find request"},
		{"-x", false, "Failed to find request"},
		{"1.", true, "Failed to find request"},
		{"1e+5", true, "Failed to unmarshal request"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct talk t = {.listen = sock_uri, .n_chunks = 1, .chunk = {v[i].in},
				 .is_half_close = v[i].is_half_close};
		char want[128];

		talk(&t);
		if (!v[i].error) {
			cr_expect_eq(t.rx_len, 0, "%s: %s", v[i].in, t.rx);
			cr_expect_not(t.is_closed_by_server, "%s waits for one more byte", v[i].in);
		} else {
			snprintf(want, sizeof(want), "\"error\": \"%s\"", v[i].error);
			cr_expect(t.rx && strstr(t.rx, want), "%s: %s", v[i].in, t.rx);
			cr_expect(t.is_closed_by_server, "%s", v[i].in);
		}
		free(t.rx);
	}
}

Test(admin, unknown_action_and_case_insensitive_names)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .chunk = {"{\"request\":\"GETSELF\",\"keepalive\":true}"
				   "{\"request\":\"gEtPeErS\",\"keepalive\":true}"
				   "{\"request\":\"Bogus\"}"}};

	talk(&t);
	cr_expect_eq(count(t.rx, "\"status\": \"success\""), 2, "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"error\": \"Unknown action 'bogus', try 'list' for help\""), 1,
		     "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"request\": \"Bogus\""), 1);
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

Test(admin, oversize_input_is_refused)
{
	static const char head[] = "{\"request\":\"getSelf\",\"arguments\":{\"x\":\"";
	size_t n = (1 << 20) + 200000;
	char *big = malloc(n);
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .gap_ms = 1000};

	memset(big, 'a', n);
	memcpy(big, head, sizeof(head) - 1);
	t.chunk[0] = big;
	t.chunk_len[0] = n;
	talk(&t);
	cr_expect(strstr(t.rx ? t.rx : "", "\"error\": \"Request too large\"") != NULL, "%s",
		  t.rx ? t.rx : "(nothing)");
	cr_expect(t.is_closed_by_server);
	cr_expect_eq(t.core->n_calls, 0);
	free(big);
	free(t.rx);
	free(t.core);
}

Test(admin, slow_reader_gets_every_reply)
{
	/* 3000 pipelined requests (~6 MB of replies): the server pauses past its high mark. */
	static const char one[] = "{\"request\":\"list\",\"keepalive\":true}";
	static const char last[] = "{\"request\":\"getSelf\"}";
	size_t n = 3000, len = n * (sizeof(one) - 1) + sizeof(last);
	char *all = malloc(len), *p = all;
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .read_delay_ms = 300, .gap_ms = 5000};

	for (size_t i = 0; i < n; i++, p += sizeof(one) - 1)
		memcpy(p, one, sizeof(one) - 1);
	memcpy(p, last, sizeof(last));
	t.chunk[0] = all;
	talk(&t);
	cr_expect_eq(count(t.rx, "\"command\": \"addpeer\""), n);
	cr_expect_eq(count(t.rx, "\"build_name\": \"ygg64\""), 1, "the last reply came last");
	cr_expect(t.rx && strstr(t.rx, "\"build_name\"") > strstr(t.rx + t.rx_len - 2000, "\"s"),
		  "in order");
	cr_expect(t.is_closed_by_server);
	free(all);
	free(t.rx);
	free(t.core);
}

/* ---- replies that wait for a remote query ---- */

static void done_flag(void *arg);

#define QUERY_B "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"" FAKE_KEY_B "\"}}"
#define QUERY_B_KA                                                                                 \
	"{\"request\":\"getNodeInfo\",\"keepalive\":true,\"arguments\":{\"key\":\"" FAKE_KEY_B    \
	"\"}}"

Test(admin, query_reply_arrives_when_the_core_answers)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .gap_ms = 1000, .chunk = {QUERY_B}};
	char *want = cap_load("ctl-A-getNodeInfo-B.json");
	json_t *g, *w = json_loads(want, 0, NULL);

	t.core->answer_delay_ms = 300;
	fake_core_set_answer(t.core, CORE_QUERY_NODEINFO,
			     "{\"location\":\"netns\",\"name\":\"node-B\"}", 0);
	talk(&t);
	cr_expect_eq(t.core->n_answered, 1);
	cr_expect(t.is_closed_by_server, "closed after the late reply");
	g = json_loads(t.rx ? t.rx : "", 0, NULL);
	cr_assert_not_null(g, "one JSON reply: %s", t.rx);
	cap_same_json(json_object_get(g, "response"), w, "getNodeInfo", 0);
	cr_expect_eq(t.n_cancels_at_finish, 0);
	json_decref(g);
	json_decref(w);
	free(want);
	free(t.rx);
	free(t.core);
}

Test(admin, query_times_out_with_yggdrasil_texts)
{
#define TREE_C "{\"request\":\"debug_remoteGetTree\",\"arguments\":{\"key\":\"" FAKE_KEY_C "\"}}"
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .gap_ms = 1000, .query_timeout_ms = 200, .chunk = {QUERY_B_KA TREE_C}};

	talk(&t); /* the core never answers */
	cr_expect_eq(count(t.rx, "\"error\": \"Timed out waiting for response\""), 1, "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"error\": \"timeout\""), 1, "%s", t.rx);
	cr_expect_lt(strstr(t.rx ? t.rx : "", "Timed out"), strstr(t.rx ? t.rx : "", "\"timeout\""),
		     "in request order");
	cr_expect_eq(t.core->n_queries, 2);
	cr_expect_eq(t.n_cancels_at_finish, 2, "an expired query is cancelled in the core");
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

/* Keepalive requests behind a pending one wait, and are answered in order after it. */
Test(admin, keepalive_pipeline_waits_for_the_async_reply)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .gap_ms = 1000,
			 .chunk = {"{\"request\":\"getSelf\",\"keepalive\":true}" QUERY_B_KA
				   "{\"request\":\"getPeers\"}"}};
	const char *self, *info, *peers;

	t.core->answer_delay_ms = 300;
	fake_core_set_answer(t.core, CORE_QUERY_NODEINFO, "{\"name\":\"node-B\"}", 0);
	talk(&t);
	self = strstr(t.rx ? t.rx : "", "\"build_name\"");
	info = strstr(t.rx ? t.rx : "", "\"name\": \"node-B\"");
	peers = strstr(t.rx ? t.rx : "", "\"peers\": [");
	cr_assert(self && info && peers, "%s", t.rx);
	cr_expect(self < info && info < peers, "replies in request order");
	cr_expect_eq(t.core->queries[0].n_calls_at_answer, 2,
		     "getPeers did not run while the query was pending");
	cr_expect_eq(t.core->n_calls, 3);
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

Test(admin, client_hanging_up_cancels_its_query)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .gap_ms = 200, .is_client_close = true, .chunk = {QUERY_B_KA}};

	talk(&t); /* the core never answers; the 6 s timeout is far away */
	cr_expect_eq(t.core->n_queries, 1);
	cr_expect_eq(t.n_cancels_at_finish, 1, "cancelled when the client left, not at shutdown");
	cr_expect_eq(t.rx_len, 0);
	free(t.rx);
	free(t.core);
}

/* A client that only shut its sending half still gets the answer (yggdrasil writes it too). */
Test(admin, half_closed_client_still_gets_the_reply)
{
	struct talk t = {.listen = sock_uri, .core = fake_core_node_a(), .n_chunks = 1,
			 .gap_ms = 1000, .is_half_close = true, .chunk = {QUERY_B_KA}};

	t.core->answer_delay_ms = 200;
	fake_core_set_answer(t.core, CORE_QUERY_NODEINFO, "{\"name\":\"node-B\"}", 0);
	talk(&t);
	cr_expect_eq(count(t.rx, "\"name\": \"node-B\""), 1, "%s", t.rx);
	cr_expect_eq(count(t.rx, "\"Failed to find request\""), 1,
		     "then the EOF is answered as after any keepalive request");
	cr_expect_eq(t.n_cancels_at_finish, 0);
	cr_expect(t.is_closed_by_server);
	free(t.rx);
	free(t.core);
}

/* Reads what fd has without blocking (appending to buf); true once it holds a whole reply. */
static bool read_reply(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n = recv(fd, buf + *len, cap - 1 - *len, MSG_DONTWAIT);

	if (n > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
	return *len > 2 && !strcmp(buf + *len - 2, "}\n");
}

Test(admin, other_clients_are_served_while_one_waits)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct config cfg = {.admin_listen = sock_uri};
	struct core *c = fake_core_node_a();
	char b1[4096], b2[4096];
	size_t n1 = 0, n2 = 0;
	int fd1, fd2, done = 0;
	uv_loop_t loop;
	struct admin *a;

	cr_assert_eq(uv_loop_init(&loop), 0);
	a = admin_new(&loop, &cfg, c, NULL);
	admin_set_query_timeout(a, 300);
	cr_assert_eq(admin_start(a), 0);
	cr_assert_lt(strlen(sock_uri + 7), sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock_uri + 7, strlen(sock_uri + 7) + 1);
	fd1 = socket(AF_UNIX, SOCK_STREAM, 0);
	fd2 = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd1, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(connect(fd2, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(send(fd1, QUERY_B, strlen(QUERY_B), 0), (ssize_t)strlen(QUERY_B));
	for (int i = 0; i < 50 && !c->n_queries; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(c->n_queries, 1, "the first client's query is pending");
	cr_assert_eq(send(fd2, "{\"request\":\"getSelf\"}", 21, 0), 21);
	for (int i = 0; i < 200 && !read_reply(fd2, b2, sizeof(b2), &n2); i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_expect(strstr(b2, "\"build_name\": \"ygg64\""), "second client served: %s", b2);
	cr_expect_not(read_reply(fd1, b1, sizeof(b1), &n1), "first still waiting: %s", b1);
	for (int i = 0; i < 200 && !read_reply(fd1, b1, sizeof(b1), &n1); i++)
		uv_run(&loop, UV_RUN_ONCE);
	cr_expect(strstr(b1, "\"Timed out waiting for response\""), "%s", b1);
	close(fd1);
	close(fd2);
	admin_close(a, done_flag, &done);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_expect_eq(done, 1);
	admin_free(a);
	cr_assert_eq(uv_loop_close(&loop), 0);
	free(c);
}

static int free_tcp_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

Test(admin, tcp_listen_forms)
{
	char uri[64], *want = cap_ours(cap_load("admin-raw-B-tcp.txt"));
	struct core *b = fake_core_new();

	fake_core_self(b, FAKE_KEY_B, 3);
	for (int form = 0; form < 2; form++) {
		struct talk t = {.listen = uri, .core = b, .n_chunks = 1,
				 .chunk = {"{\"request\":\"getSelf\"}\n"}};

		snprintf(uri, sizeof(uri), "%s127.0.0.1:%d", form ? "" : "tcp://", free_tcp_port());
		talk(&t);
		cr_expect_eq(t.start, 0, "%s", uri);
		cr_expect_str_eq(t.rx, want, "%s", uri);
		cr_expect(t.is_closed_by_server);
		free(t.rx);
	}
	free(want);
	free(b);
}

/* ---- start-up rules (§6.1) ---- */

static void done_flag(void *arg)
{
	*(int *)arg += 1;
}

/* admin_new + admin_start on listen; then closes and checks that done ran and nothing leaked. */
static int start_once(const char *listen)
{
	struct config cfg = {.admin_listen = (char *)listen};
	uv_loop_t loop;
	struct admin *a;
	int r, done = 0;

	cr_assert_eq(uv_loop_init(&loop), 0);
	a = admin_new(&loop, &cfg, NULL, NULL);
	cr_assert_not_null(a, "%s", listen);
	r = admin_start(a);
	admin_close(a, done_flag, &done);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_expect_eq(done, 1, "done runs exactly once");
	admin_free(a);
	cr_assert_eq(uv_loop_close(&loop), 0);
	return r;
}

Test(admin, disabled_and_bad_listen)
{
	struct config cfg = {.admin_listen = "udp://127.0.0.1:1"};
	uv_loop_t loop;

	cr_expect_eq(start_once("none"), 0);
	cr_expect_eq(start_once(""), 0);
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_expect_null(admin_new(&loop, &cfg, NULL, NULL), "unknown scheme");
	cfg.admin_listen = "unix://";
	cr_expect_null(admin_new(&loop, &cfg, NULL, NULL), "empty path");
	cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(admin, stale_socket_is_replaced_live_one_is_not)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char path[128];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/s.sock", sock_dir);
	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);

	/* A socket file nobody listens on: removed, then ours is bound with mode 0660. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	{
		struct config cfg = {.admin_listen = sock_uri};
		uv_loop_t loop;
		struct admin *a;
		int done = 0;

		cr_assert_eq(uv_loop_init(&loop), 0);
		a = admin_new(&loop, &cfg, NULL, NULL);
		cr_expect_eq(admin_start(a), 0);
		cr_assert_eq(stat(path, &st), 0);
		cr_expect(S_ISSOCK(st.st_mode));
		cr_expect_eq(st.st_mode & 0777, 0660, "mode %o", st.st_mode & 0777);
		admin_close(a, done_flag, &done);
		uv_run(&loop, UV_RUN_DEFAULT);
		admin_free(a);
		cr_assert_eq(uv_loop_close(&loop), 0);
		cr_expect_eq(done, 1);
	}

	/* A live listener: start fails and its file stays. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_expect_eq(start_once(sock_uri), -EADDRINUSE);
	cr_expect_eq(stat(path, &st), 0, "someone else's socket is left alone");
	close(fd);
	unlink(path);

	/* Not a socket: never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_expect_eq(start_once(sock_uri), -EEXIST);
	cr_expect_eq(stat(path, &st), 0);
	cr_expect(S_ISREG(st.st_mode));
	unlink(path);
}

Test(admin, abstract_socket)
{
	char uri[64];
	struct config cfg = {.admin_listen = uri};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uv_loop_t loop;
	struct admin *a;
	size_t n;
	int fd, done = 0;

	/* libuv 1.44 connects to paths only, so the client is a plain socket. */
	snprintf(uri, sizeof(uri), "unix://@ygg64-test-%d", (int)getpid());
	n = strlen(uri + 8);
	cr_assert_eq(uv_loop_init(&loop), 0);
	a = admin_new(&loop, &cfg, NULL, NULL);
	cr_assert_eq(admin_start(a), 0);
	memcpy(sun.sun_path + 1, uri + 8, n);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_expect_eq(connect(fd, (struct sockaddr *)&sun,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)),
		     0, "abstract socket is listening");
	close(fd);
	admin_close(a, done_flag, &done);
	uv_run(&loop, UV_RUN_DEFAULT);
	admin_free(a);
	cr_assert_eq(uv_loop_close(&loop), 0);
	cr_expect_eq(done, 1);
}

/* ---- the real yggdrasilctl 0.5.12 against our server ---- */

struct ctl {
	uv_process_t proc;
	uv_pipe_t out;
	char buf[65536];
	size_t len;
	int64_t status;
	bool is_exited, is_eof;
	struct admin *admin;
	bool is_admin_closed;
};

static void on_admin_closed_ctl(void *arg)
{
	((struct ctl *)arg)->is_admin_closed = true;
}

static void ctl_maybe_end(struct ctl *x)
{
	if (x->is_exited && x->is_eof) {
		uv_close((uv_handle_t *)&x->proc, NULL);
		uv_close((uv_handle_t *)&x->out, NULL);
		admin_close(x->admin, on_admin_closed_ctl, x);
	}
}

static void ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct ctl *x = h->data;

	(void)hint;
	*b = uv_buf_init(x->buf + x->len, (unsigned)(sizeof(x->buf) - 1 - x->len));
}

static void ctl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ctl *x = s->data;

	(void)b;
	if (n > 0) {
		x->len += (size_t)n;
		x->buf[x->len] = '\0';
	} else if (n < 0) {
		x->is_eof = true;
		uv_read_stop(s);
		ctl_maybe_end(x);
	}
}

static void ctl_exit(uv_process_t *p, int64_t status, int sig)
{
	struct ctl *x = p->data;

	(void)sig;
	x->status = status;
	x->is_exited = true;
	ctl_maybe_end(x);
}

/*
 * Runs `yggdrasilctl -endpoint=<sock_uri> args...` against a server on core and tun (the fake
 * core answers remote queries after 50 ms); NULL: skipped.
 */
static char *yggdrasilctl(struct core *core, struct tun *tun, const char *const *args,
			  int64_t *status)
{
	const char *bin = getenv("YGGDRASILCTL") ? getenv("YGGDRASILCTL") : YGGDRASILCTL;
	struct config cfg = {.admin_listen = sock_uri};
	char endpoint[160];
	char *argv[12];
	size_t n = 0;
	uv_stdio_container_t io[3];
	uv_process_options_t po = {0};
	uv_loop_t loop;
	struct ctl *x;
	char *out;

	if (access(bin, X_OK) != 0)
		return NULL;
	x = calloc(1, sizeof(*x));
	snprintf(endpoint, sizeof(endpoint), "-endpoint=%s", sock_uri);
	argv[n++] = (char *)bin;
	argv[n++] = endpoint;
	for (; *args && n < 11; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	cr_assert_eq(uv_loop_init(&loop), 0);
	x->admin = admin_new(&loop, &cfg, core, tun);
	cr_assert_eq(admin_start(x->admin), 0);
	core->loop = &loop;
	core->answer_delay_ms = 50;
	uv_pipe_init(&loop, &x->out, 0);
	x->out.data = x->proc.data = x;
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&x->out;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = 2;
	po.file = bin;
	po.args = argv;
	po.stdio = io;
	po.stdio_count = 3;
	po.exit_cb = ctl_exit;
	cr_assert_eq(uv_spawn(&loop, &x->proc, &po), 0);
	cr_assert_eq(uv_read_start((uv_stream_t *)&x->out, ctl_alloc, ctl_read), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert(x->is_admin_closed);
	admin_free(x->admin);
	cr_assert_eq(uv_loop_close(&loop), 0);
	*status = x->status;
	out = strdup(x->buf);
	free(x);
	return out;
}

/*
 * yggdrasilctl -json prints the reply's "response" re-indented: it must equal ours. arg is NULL
 * or one "key=value" argument (sent as a JSON string, as yggdrasilctl does).
 */
static void ctl_json_matches(struct core *core, struct tun *tun, const char *cmd, const char *arg)
{
	char req[256], *mine, *theirs;
	int64_t status;
	json_t *m, *t;

	theirs = yggdrasilctl(core, tun, (const char *const[]){"-json", cmd, arg, NULL}, &status);
	if (!theirs) {
		cr_log_warn("SKIPPED: %s not found (set YGGDRASILCTL)", YGGDRASILCTL);
		cr_skip_test("yggdrasilctl 0.5.12 is not installed");
	}
	cr_expect_eq(status, 0, "yggdrasilctl %s: %s", cmd, theirs);
	if (arg)
		snprintf(req, sizeof(req), "{\"request\":\"%s\",\"arguments\":{\"%.*s\":\"%s\"}}",
			 cmd, (int)(strchr(arg, '=') - arg), arg, strchr(arg, '=') + 1);
	else
		snprintf(req, sizeof(req), "{\"request\":\"%s\"}", cmd);
	core->answer_delay_ms = FAKE_NEVER; /* cap_run answers at once */
	mine = cap_run_on(core, tun, req, NULL);
	m = json_loads(mine, 0, NULL);
	t = json_loads(theirs, 0, NULL);
	cr_assert_not_null(t, "yggdrasilctl printed JSON: %s", theirs);
	cap_same_json(json_object_get(m, "response"), t, cmd, 0.001);
	json_decref(m);
	json_decref(t);
	free(mine);
	free(theirs);
}

Test(admin, real_yggdrasilctl)
{
	struct core *c = fake_core_node_a();
	char *out;
	int64_t status;

	fake_core_peer(c, "tcp://127.0.0.1:1", NULL)->has_error = true;
	snprintf(c->peers[1].last_error, sizeof(c->peers[1].last_error), "connection refused");
	c->peers[1].last_error_age_ms = 1500;
	struct tun tun = {.info = {.name = "ygtunA", .mtu = 65535}};
	uint8_t keys[64];

	fake_core_set_answer(c, CORE_QUERY_NODEINFO, "{\"location\":\"netns\",\"name\":\"node-B\"}",
			     0);
	fake_core_set_answer(c, CORE_QUERY_SELF,
			     "{\"key\":\"" FAKE_KEY_C "\",\"routing_entries\":\"2\"}", 0);
	fake_core_key(FAKE_KEY_A, keys);
	fake_core_key(FAKE_KEY_C, keys + 32);
	fake_core_set_answer(c, CORE_QUERY_PEERS, keys, 64);
	ctl_json_matches(c, NULL, "getSelf", NULL);
	ctl_json_matches(c, NULL, "list", NULL);
	ctl_json_matches(c, NULL, "getPeers", NULL);
	ctl_json_matches(c, NULL, "getTree", NULL);
	ctl_json_matches(c, NULL, "getPaths", NULL);
	ctl_json_matches(c, NULL, "getSessions", NULL);
	ctl_json_matches(c, &tun, "getTun", NULL);
	ctl_json_matches(c, NULL, "getTun", NULL);
	ctl_json_matches(c, NULL, "getNodeInfo", "key=" FAKE_KEY_B);
	ctl_json_matches(c, NULL, "debug_remoteGetSelf", "key=" FAKE_KEY_C);
	ctl_json_matches(c, NULL, "debug_remoteGetPeers", "key=" FAKE_KEY_B);

	/* Table output parses our replies with 0.5.12's own structs. */
	out = yggdrasilctl(c, NULL, (const char *const[]){"getPeers", NULL}, &status);
	cr_assert_not_null(out);
	cr_expect_eq(status, 0);
	cr_expect(strstr(out, "tcp://10.99.0.2:12346") && strstr(out, "0.60ms") &&
			  strstr(out, "2s ago: connection refused"),
		  "%s", out);
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"getSelf", NULL}, &status);
	cr_expect(strstr(out, "ygg64") && strstr(out, "200:2ac8:d97f:92a8:de5a:1c50:50ff:fa0") &&
			  strstr(out, "300:2ac8:d97f:92a8::/64"),
		  "%s", out);
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"addPeer", "uri=tcp://[::1]:9", NULL},
			   &status);
	cr_expect_eq(status, 0, "%s", out);
	cr_expect_eq(c->n_uris, 1);
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"addPeer", "uri=tcp://[::1]:9", NULL},
			   &status);
	cr_expect_eq(status, 1);
	cr_expect_str_eq(out, "Admin socket returned an error: peer is already configured\n");
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"nosuch", NULL}, &status);
	cr_expect_str_eq(out,
			 "Admin socket returned an error: Unknown action 'nosuch', try 'list' for "
			 "help\n");
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"getSessions", NULL}, &status);
	cr_expect_eq(status, 0);
	cr_expect(strstr(out, FAKE_KEY_B "\t201:705:f5a1:eff9:3bd0:4dea:1f2f:fe45 \t4s") &&
			  strstr(out, "\t0.9KB\t3.3KB\t") && strstr(out, FAKE_KEY_C),
		  "%s", out);
	free(out);
	out = yggdrasilctl(c, &tun, (const char *const[]){"getTun", NULL}, &status);
	cr_expect(strstr(out, "TUN enabled:   \ttrue") && strstr(out, "name:\tygtunA") &&
			  strstr(out, "MTU: \t65535"),
		  "%s", out);
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"getNodeInfo", "key=" FAKE_KEY_B, NULL},
			   &status);
	cr_expect_eq(status, 0);
	cr_expect(strstr(out, "\"name\": \"node-B\""), "%s", out);
	free(out);
	out = yggdrasilctl(c, NULL, (const char *const[]){"getNodeInfo", "key=zz", NULL}, &status);
	cr_expect_eq(status, 1);
	cr_expect_str_eq(out, "Admin socket returned an error: Failed to decode public key: "
			      "encoding/hex: invalid byte: U+007A 'z'\n");
	free(out);
	cr_expect_eq(c->n_cancels, 0, "every query was answered");
	free(c);
}

