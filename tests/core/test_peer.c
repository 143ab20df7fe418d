/*
 * Tests for core/peer: URI parsing against yggdrasil's rules (§2.1: options, percent-decoding,
 * refused schemes, bad values), the backoff formula (§2.5), then peer tables on one real loop:
 * tcp://, unix:// and tls:// peerings with each other's key, priorities, frames both ways,
 * getPeers rows, passwords, AllowedPublicKeys, pinned keys, self-connection, add/remove rules,
 * every resolved address tried, and reconnection after the remote comes back. Every loop test
 * ends with all pkts back in the pool and uv_loop_close() == 0.
 */
#include "config/config.h"
#include "core/link.h"
#include "core/peer.h"
#include "crypto/keys.h"
#include "lib/log.h"
#include "lib/pkt.h"
#include "support/hex.h"
#include "support/uvwait.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static const char a_priv[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
			     "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char b_priv[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
			     "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
static const char a_pub[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char b_pub[] = "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
static const char c_pub[] = "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d";

/* ======================= URIs ======================= */

TestSuite(peer_uri);

Test(peer_uri, tcp_with_every_option)
{
	struct peer_uri u;
	const char *err = NULL;
	uint8_t b[32];

	cr_assert_eq(peer_uri_parse("TCP://example.org:1234?key=29acbae141bccaf0b22e1a94d34d0bc736"
				    "1e526d0bfe12c89794bc9322966dd7&priority=7&password=a%20b+c%"
				    "26&maxbackoff=1m30s&key=0102#frag",
				    false, &u, &err),
		     0, "%s", err);
	cr_assert_eq(u.scheme, PEER_TCP);
	cr_assert_str_eq(u.base, "tcp://example.org:1234");
	cr_assert_str_eq(u.host, "example.org");
	cr_assert_eq(u.port, 1234);
	cr_assert_eq(u.n_pins, 2);
	th_unhex(b_pub, b, sizeof(b));
	cr_assert_eq(memcmp(u.pins[0], b, 32), 0);
	cr_assert_eq(u.pins[1][0], 1, "short keys are zero-padded, as Go's copy()");
	cr_assert_eq(u.pins[1][1], 2);
	cr_assert_eq(u.pins[1][2], 0);
	cr_assert_eq(u.priority, 7);
	cr_assert_str_eq(u.password, "a b c&");
	cr_assert_eq(u.password_len, 6);
	cr_assert_eq(u.maxbackoff_ms, 90000);
	cr_assert_str_eq(u.sni, "example.org", "SNI defaults to the host name");
}

static const struct uri_ok {
	const char *uri;
	enum peer_scheme scheme;
	const char *base, *host, *path, *sni;
	uint16_t port;
	uint64_t maxbackoff_ms;
	uint8_t priority;
	const char *password;
} uri_ok[] = {
    {"tcp://1.2.3.4:5", PEER_TCP, "tcp://1.2.3.4:5", "1.2.3.4", "", "", 5, PEER_BACKOFF_DEFAULT_MS,
     0, ""},
    {"tcp://[::1]:80", PEER_TCP, "tcp://[::1]:80", "::1", "", "", 80, PEER_BACKOFF_DEFAULT_MS, 0,
     ""},
    {"tcp://[fe80::1%25eth0]:9001", PEER_TCP, "tcp://[fe80::1%25eth0]:9001", "fe80::1%eth0", "", "",
     9001, PEER_BACKOFF_DEFAULT_MS, 0, ""},
    {"tls://node.example:443?sni=other.example", PEER_TLS, "tls://node.example:443", "node.example",
     "", "other.example", 443, PEER_BACKOFF_DEFAULT_MS, 0, ""},
    {"tls://node.example:443?sni=10.0.0.1", PEER_TLS, "tls://node.example:443", "node.example", "",
     "node.example", 443, PEER_BACKOFF_DEFAULT_MS, 0, "" /* IP sni= ignored */},
    {"tls://10.0.0.1:443?sni=name.example", PEER_TLS, "tls://10.0.0.1:443", "10.0.0.1", "",
     "name.example", 443, PEER_BACKOFF_DEFAULT_MS, 0, ""},
    {"tls://10.0.0.1:443", PEER_TLS, "tls://10.0.0.1:443", "10.0.0.1", "", "", 443,
     PEER_BACKOFF_DEFAULT_MS, 0, ""},
    {"unix:///run/ygg.sock?priority=2", PEER_UNIX, "unix:///run/ygg.sock", "", "/run/ygg.sock", "",
     0, PEER_BACKOFF_DEFAULT_MS, 2, ""},
    {"unix://ignored/x%20y", PEER_UNIX, "unix://ignored/x%20y", "", "/x y", "", 0,
     PEER_BACKOFF_DEFAULT_MS, 0, ""},
    {"tcp://h:1?maxbackoff=30s", PEER_TCP, "tcp://h:1", "h", "", "h", 1, 30000, 0, ""},
    {"tcp://h:1?maxbackoff=1.5h", PEER_TCP, "tcp://h:1", "h", "", "h", 1, 5400000, 0, ""},
    {"tcp://h:1?maxbackoff=30000000us", PEER_TCP, "tcp://h:1", "h", "", "h", 1, 30000, 0, ""},
    /* url.Query(): ';' pairs and bad escapes are dropped, the first value wins, "" is unset. */
    {"tcp://h:1?priority=3;x&password=%zz&priority=9", PEER_TCP, "tcp://h:1", "h", "", "h", 1,
     PEER_BACKOFF_DEFAULT_MS, 9, ""},
    {"tcp://h:1?priority=4&priority=9&password=&password=late", PEER_TCP, "tcp://h:1", "h", "", "h",
     1, PEER_BACKOFF_DEFAULT_MS, 4, ""},
    {"tcp://h:1?unknown=1&priority=255", PEER_TCP, "tcp://h:1", "h", "", "h", 1,
     PEER_BACKOFF_DEFAULT_MS, 255, ""},
    {"tcp://user:pw@h:1", PEER_TCP, "tcp://user:pw@h:1", "h", "", "h", 1, PEER_BACKOFF_DEFAULT_MS,
     0, ""},
    {"tcp://h:1?password=" /* 64 bytes */
     "0123456789012345678901234567890123456789012345678901234567890123",
     PEER_TCP, "tcp://h:1", "h", "", "h", 1, PEER_BACKOFF_DEFAULT_MS, 0,
     "0123456789012345678901234567890123456789012345678901234567890123"},
};

Test(peer_uri, valid_table)
{
	for (size_t i = 0; i < sizeof(uri_ok) / sizeof(uri_ok[0]); i++) {
		const struct uri_ok *c = &uri_ok[i];
		struct peer_uri u;
		const char *err = NULL;

		cr_assert_eq(peer_uri_parse(c->uri, false, &u, &err), 0, "%s: %s", c->uri, err);
		cr_assert_eq(u.scheme, c->scheme, "%s", c->uri);
		cr_assert_str_eq(u.base, c->base, "%s", c->uri);
		cr_assert_str_eq(u.host, c->host, "%s", c->uri);
		cr_assert_str_eq(u.path, c->path, "%s", c->uri);
		cr_assert_str_eq(u.sni, c->sni, "%s", c->uri);
		cr_assert_eq(u.port, c->port, "%s", c->uri);
		cr_assert_eq(u.maxbackoff_ms, c->maxbackoff_ms, "%s", c->uri);
		cr_assert_eq(u.priority, c->priority, "%s", c->uri);
		cr_assert_str_eq(u.password, c->password, "%s", c->uri);
	}
}

static const struct uri_bad {
	const char *uri;
	bool is_listen;
	int code;
	const char *err;
} uri_bad[] = {
    {"quic://h:1", false, -ENOTSUP, "quic:// peerings are not supported yet"},
    {"ws://h:1/path", false, -ENOTSUP, "ws:// peerings are not supported yet"},
    {"WSS://h:1", false, -ENOTSUP, "wss:// peerings are not supported yet"},
    {"socks://u:p@proxy:1080/target:1", false, -ENOTSUP, "socks:// peerings are not supported yet"},
    {"sockstls://proxy:1080/target:1", false, -ENOTSUP,
     "sockstls:// peerings are not supported yet"},
    {"socks://proxy:1080/target:1", true, -ENOTSUP, "socks:// peerings are not supported yet"},
    {"http://h:1", false, -EINVAL, "link schema unknown"},
    {"h:1", false, -EINVAL, "peer URI must look like scheme://address"},
    {"tcp:h:1", false, -EINVAL, "peer URI must look like scheme://address"},
    {"tcp://h", false, -EINVAL, "missing port in address"},
    {"tcp://[::1]", false, -EINVAL, "missing port in address"},
    {"tcp://::1:80", false, -EINVAL, "too many colons in address"},
    {"tcp://h:", false, -EINVAL, "invalid port in address"},
    {"tcp://h:65536", false, -EINVAL, "invalid port in address"},
    {"tcp://h:8x", false, -EINVAL, "invalid port in address"},
    {"tcp://:80", false, -EINVAL, "missing host in peer URI"},
    {"tcp://h%zz:1", false, -EINVAL, "malformed host in peer URI"},
    {"unix://", false, -EINVAL, "unix:// needs a socket path (at most 107 bytes)"},
    {"tcp://h:1?priority=256", false, -EINVAL, "priority value is invalid"},
    {"tcp://h:1?priority=-1", false, -EINVAL, "priority value is invalid"},
    {"tcp://h:1?priority=%2B1", false, -EINVAL, "priority value is invalid"},
    {"tcp://h:1?priority=1x", true, -EINVAL, "priority value is invalid"},
    {"tcp://h:1?password=" /* 65 bytes */
     "01234567890123456789012345678901234567890123456789012345678901234",
     false, -EINVAL, "invalid password supplied"},
    {"tcp://h:1?maxbackoff=29s", false, -EINVAL, "max backoff duration invalid"},
    {"tcp://h:1?maxbackoff=60", false, -EINVAL, "max backoff duration invalid"},
    {"tcp://h:1?maxbackoff=1d", false, -EINVAL, "max backoff duration invalid"},
    {"tcp://h:1?maxbackoff=-1h", false, -EINVAL, "max backoff duration invalid"},
    {"tcp://h:1?maxbackoff=.s", false, -EINVAL, "max backoff duration invalid"},
    {"tcp://h:1?maxbackoff=9999999999h", false, -EINVAL, "max backoff duration invalid"},
    {"tcp://h:1?key=xyz0", false, -EINVAL, "pinned public key is invalid"},
    {"tcp://h:1?key=123", false, -EINVAL, "pinned public key is invalid"},
};

Test(peer_uri, invalid_table)
{
	for (size_t i = 0; i < sizeof(uri_bad) / sizeof(uri_bad[0]); i++) {
		const struct uri_bad *c = &uri_bad[i];
		struct peer_uri u;
		const char *err = NULL;

		cr_assert_eq(peer_uri_parse(c->uri, c->is_listen, &u, &err), c->code, "%s", c->uri);
		cr_assert_not_null(err, "%s", c->uri);
		cr_assert_str_eq(err, c->err, "%s", c->uri);
	}
}

Test(peer_uri, listeners_read_only_priority_and_password)
{
	struct peer_uri u;
	const char *err = NULL;

	cr_assert_eq(peer_uri_parse("tls://[::]:0?priority=3&password=pw&key=zz&maxbackoff=1s",
				    true, &u, &err),
		     0, "%s", err);
	cr_assert_str_eq(u.host, "::");
	cr_assert_eq(u.port, 0);
	cr_assert_eq(u.priority, 3);
	cr_assert_str_eq(u.password, "pw");
	cr_assert_eq(u.n_pins, 0);
	cr_assert_eq(peer_uri_parse("tcp://:9000", true, &u, &err), 0,
		     "an empty host listens on all");
	cr_assert_eq(peer_uri_parse("wss://h:1", true, &u, &err), -ENOTSUP);
}

Test(peer_uri, parse_base_ignores_options)
{
	struct peer_uri u;
	const char *err = NULL;

	cr_assert_eq(peer_uri_parse_base("tcp://h:1?priority=999", &u, &err), 0);
	cr_assert_str_eq(u.base, "tcp://h:1");
	cr_assert_eq(peer_uri_parse_base("quic://h:1?x", &u, &err), -ENOTSUP);
	cr_assert_str_eq(u.base, "quic://h:1");
}

Test(peer_uri, backoff)
{
	const uint64_t def = PEER_BACKOFF_DEFAULT_MS;

	/* §2.5: observed dials at t = 0, +2 s, +6 s: delays 2 s then 4 s. */
	cr_assert_eq(peer_backoff_ms(1, def, 1000), 2000);
	cr_assert_eq(peer_backoff_ms(2, def, 1000), 4000);
	cr_assert_eq(peer_backoff_ms(11, def, 1000), 2048000);
	cr_assert_eq(peer_backoff_ms(12, def, 1000), 4096000);
	cr_assert_eq(peer_backoff_ms(13, def, 1000), 4096000, "capped at maxbackoff");
	cr_assert_eq(peer_backoff_ms(32, UINT64_MAX, 1000), 1000ULL << 32);
	cr_assert_eq(peer_backoff_ms(1000, UINT64_MAX, 1000), 1000ULL << 32, "n is capped at 32");
	cr_assert_eq(peer_backoff_ms(5, 30000, 1000), 30000);
	cr_assert_eq(peer_backoff_ms(4, 30000, 1000), 16000);
	cr_assert_eq(peer_backoff_ms(3, def, 10), 80, "tests scale the unit");
	cr_assert_eq(peer_backoff_ms(32, UINT64_MAX, UINT64_MAX), UINT64_MAX, "no overflow");
}

/* ======================= tables on a loop ======================= */

struct node {
	struct keypair *kp;
	struct config cfg;
	struct peer_table *t;
	bool is_closed;
	int ups, downs, frames;
	uint32_t up_id, down_id;
	uint8_t key[32];
	uint8_t prio;
	uint8_t frame[256];
	size_t frame_len;
	int frame_ret;
	const char *refuse; /* the loop guard (addr_allowed): an address to refuse, "*" for all */
	int asked;	    /* addr_allowed calls */
};

static struct {
	uv_loop_t loop;
	struct pkt_pool *pool;
	struct node n[3];
	char dir[64];
	struct link_timing timing;
} fx;

static void on_up(void *ctx, uint32_t id, const uint8_t key[32], uint8_t prio)
{
	struct node *n = ctx;

	cr_assert_neq(id, 0);
	n->ups++;
	n->up_id = id;
	memcpy(n->key, key, 32);
	n->prio = prio;
}

static void on_down(void *ctx, uint32_t id)
{
	struct node *n = ctx;

	n->downs++;
	n->down_id = id;
	cr_assert_leq(n->downs, n->ups, "link_down only after link_up");
}

static int on_frame(void *ctx, uint32_t id, struct pkt *frame)
{
	struct node *n = ctx;

	(void)id;
	n->frames++;
	n->frame_len = frame->len < sizeof(n->frame) ? frame->len : sizeof(n->frame);
	memcpy(n->frame, frame->data, n->frame_len);
	pkt_free(frame);
	return n->frame_ret;
}

/* The loop guard's hook: refuses n->refuse (an address in text form) or everything ("*"). */
static bool on_addr_allowed(void *ctx, const struct sockaddr *sa, char *why, size_t len)
{
	struct node *n = ctx;
	char a[INET6_ADDRSTRLEN] = "";

	n->asked++;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
	if (!n->refuse || (strcmp(n->refuse, "*") && strcmp(n->refuse, a)))
		return true;
	snprintf(why, len, "%s is tunnel-routed (test)", a);
	return false;
}

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
	log_set_level(LOG_LEVEL_ERROR);
	memset(&fx, 0, sizeof(fx));
	cr_assert_eq(uv_loop_init(&fx.loop), 0);
	fx.pool = pkt_pool_new(128, 4096);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/y64peer.XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	/* Short delays: failures show up fast, redials come within tens of ms. */
	fx.timing = (struct link_timing){.dial_ms = 2000, .handshake_ms = 2000};
}

static void on_table_closed(void *arg)
{
	((struct node *)arg)->is_closed = true;
}

static void node_stop(struct node *n)
{
	if (!n->t)
		return;
	peer_table_close(n->t, on_table_closed, n);
	while (!n->is_closed)
		uv_run(&fx.loop, UV_RUN_ONCE);
	cr_assert_eq(n->downs, n->ups, "one link_down per link_up");
	peer_table_free(n->t);
	n->t = NULL;
	config_fini(&n->cfg);
}

static void teardown(void)
{
	char cmd[100];

	for (int i = 0; i < 3; i++) {
		node_stop(&fx.n[i]);
		keys_free(fx.n[i].kp);
	}
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	pkt_pool_free(fx.pool); /* asserts every pkt came back */
	cr_assert_eq(uv_loop_close(&fx.loop), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(peer, .init = setup, .fini = teardown, .timeout = 60);

/* Starts node i with key priv and the YAML config text. */
static struct node *node_start(int i, const char *priv, const char *yaml)
{
	struct node *n = &fx.n[i];
	const struct peer_cbs cbs = {n, on_up, on_down, on_frame, on_addr_allowed};

	if (!n->kp)
		n->kp = keys_from_hex(priv, NULL);
	memset(&n->cfg, 0, sizeof(n->cfg));
	n->is_closed = false;
	config_init(&n->cfg);
	cr_assert_eq(config_load_buf(&n->cfg, "test", yaml, strlen(yaml), stderr), 0, "%s", yaml);
	n->t = peer_table_new(&fx.loop, &n->cfg, n->kp, fx.pool, &cbs);
	cr_assert_not_null(n->t);
	peer_table_set_timing(n->t, &fx.timing, 20);
	cr_assert_eq(peer_table_start(n->t), 0);
	return n;
}

/* Runs the loop until *v reaches want (true) or ms pass (false); run_for: ms of running. */
static bool run_until(const volatile int *v, int want, uint64_t ms)
{
	return uvwait_until(&fx.loop, v, want, ms);
}

static void run_for(uint64_t ms)
{
	uvwait_for(&fx.loop, ms);
}

static void add_peer(struct node *n, const char *uri)
{
	const char *err = NULL;

	cr_assert_eq(peer_add(n->t, uri, NULL, &err), 0, "%s: %s", uri, err ? err : "");
}

/* getPeers rows of a node, copied out. */
struct rows {
	size_t n;
	struct peer_link_info r[8];
};

static void collect(void *ctx, const struct peer_link_info *pi)
{
	struct rows *rows = ctx;

	cr_assert_lt(rows->n, 8);
	rows->r[rows->n++] = *pi;
}

static struct rows rows_of(const struct node *n)
{
	struct rows rows = {0};

	peer_foreach(n->t, collect, &rows);
	return rows;
}

static void assert_key(const struct node *n, const char *hex)
{
	uint8_t k[32];

	th_unhex(hex, k, sizeof(k));
	cr_assert_eq(memcmp(n->key, k, 32), 0);
}

/* B listens on uri_listen; A dials the bound address with query; both come up. */
static void pair(const char *listen, const char *query)
{
	char yaml[300], uri[600];
	struct node *b, *a;

	snprintf(yaml, sizeof(yaml), "Listen: [\"%s\"]\n", listen);
	b = node_start(1, b_priv, yaml);
	cr_assert_eq(peer_listener_count(b->t), 1);
	a = node_start(0, a_priv, "{}");
	snprintf(uri, sizeof(uri), "%s%s", peer_listener_uri(b->t, 0), query);
	add_peer(a, uri);
	cr_assert(run_until(&a->ups, 1, 3000), "A up");
	cr_assert(run_until(&b->ups, 1, 3000), "B up");
	assert_key(a, b_pub);
	assert_key(b, a_pub);
}

static void frames_flow(void)
{
	struct node *a = &fx.n[0], *b = &fx.n[1];
	static const uint8_t sigreq[] = {0x02, 0x02, 0xb8, 0xc0, 0x94, 0xc7,
					 0xcf, 0x9b, 0xf3, 0xc6, 0xa8, 0x01};
	struct pkt *p = pkt_alloc(fx.pool);

	memcpy(pkt_put(p, sizeof(sigreq)), sigreq, sizeof(sigreq));
	peer_send(a->t, a->up_id, p);
	cr_assert(run_until(&b->frames, 1, 2000));
	cr_assert_eq(b->frame_len, sizeof(sigreq));
	cr_assert_eq(memcmp(b->frame, sigreq, sizeof(sigreq)), 0);
	p = pkt_alloc(fx.pool);
	memcpy(pkt_put(p, sizeof(sigreq)), sigreq, sizeof(sigreq));
	peer_send(b->t, b->up_id, p);
	cr_assert(run_until(&a->frames, 1, 2000));
}

Test(peer, tcp_pair)
{
	struct rows ra, rb;

	pair("tcp://127.0.0.1:0", "");
	cr_assert(strncmp(peer_listener_uri(fx.n[1].t, 0), "tcp://127.0.0.1:", 16) == 0);
	frames_flow();
	ra = rows_of(&fx.n[0]);
	rb = rows_of(&fx.n[1]);
	cr_assert_eq(ra.n, 1);
	cr_assert(ra.r[0].is_up);
	cr_assert_not(ra.r[0].is_inbound);
	cr_assert_str_eq(ra.r[0].remote, peer_listener_uri(fx.n[1].t, 0));
	cr_assert_eq(ra.r[0].link_id, fx.n[0].up_id);
	cr_assert_gt(ra.r[0].bytes_sent, 123);
	cr_assert_gt(ra.r[0].bytes_recvd, 123);
	cr_assert_eq(rb.n, 1);
	cr_assert(rb.r[0].is_up);
	cr_assert(rb.r[0].is_inbound);
	cr_assert(strncmp(rb.r[0].remote, "tcp://127.0.0.1:", 16) == 0, "%s", rb.r[0].remote);
	cr_assert_str_neq(rb.r[0].remote, peer_listener_uri(fx.n[1].t, 0));
	cr_assert_eq(memcmp(rb.r[0].key, fx.n[1].key, 32), 0);
}

Test(peer, unix_pair_from_config)
{
	char yaml[300], path[100];
	struct node *a;

	snprintf(path, sizeof(path), "%s/b.sock", fx.dir);
	snprintf(yaml, sizeof(yaml), "Listen: [\"unix://%s/b.sock\"]\n", fx.dir);
	node_start(1, b_priv, yaml);
	snprintf(yaml, sizeof(yaml), "Peers: [\"unix://%s/b.sock?priority=4\"]\n", fx.dir);
	a = node_start(0, a_priv, yaml);
	cr_assert(run_until(&a->ups, 1, 3000));
	cr_assert(run_until(&fx.n[1].ups, 1, 3000));
	assert_key(a, b_pub);
	assert_key(&fx.n[1], a_pub);
	cr_assert_eq(a->prio, 4);
	cr_assert_eq(fx.n[1].prio, 4, "max(listener 0, remote 4)");
	frames_flow();
	node_stop(&fx.n[1]);
	cr_assert_eq(access(path, F_OK), -1, "the socket file is removed on close");
}

Test(peer, tls_pair)
{
	pair("tls://127.0.0.1:0?priority=2", "?priority=1");
	cr_assert(strncmp(peer_listener_uri(fx.n[1].t, 0), "tls://127.0.0.1:", 16) == 0);
	cr_assert_eq(fx.n[0].prio, 2);
	cr_assert_eq(fx.n[1].prio, 2);
	frames_flow();
	cr_assert(strncmp(rows_of(&fx.n[1]).r[0].remote, "tls://127.0.0.1:", 16) == 0);
}

Test(peer, ipv6_and_every_resolved_address)
{
	char uri[100];
	const char *l;

	/* localhost resolves to ::1 and 127.0.0.1; only one of them listens. */
	node_start(1, b_priv, "Listen: [\"tcp://127.0.0.1:0\"]\n");
	node_start(0, a_priv, "{}");
	l = peer_listener_uri(fx.n[1].t, 0);
	snprintf(uri, sizeof(uri), "tcp://localhost:%s", strrchr(l, ':') + 1);
	add_peer(&fx.n[0], uri);
	cr_assert(run_until(&fx.n[0].ups, 1, 3000));
	cr_assert_str_eq(rows_of(&fx.n[0]).r[0].remote, uri);
}

/*
 * B listens with listen_opts and extra_yaml; A dials with query and is refused with a_error (NULL:
 * A is not the side that refuses). B never comes up unless is_b_refused is false: each side writes
 * its meta before reading the other's (§2.4), so the side that accepts may come up briefly.
 */
static void refused_pair(const char *listen_opts, const char *extra_yaml, const char *query,
			 const char *a_error, bool is_b_refused)
{
	char yaml[400], uri[600];
	struct rows ra;

	snprintf(yaml, sizeof(yaml), "Listen: [\"tcp://127.0.0.1:0%s\"]\n%s", listen_opts,
		 extra_yaml);
	node_start(1, b_priv, yaml);
	node_start(0, a_priv, "{}");
	snprintf(uri, sizeof(uri), "%s%s", peer_listener_uri(fx.n[1].t, 0), query);
	add_peer(&fx.n[0], uri);
	run_for(400);
	if (is_b_refused)
		cr_assert_eq(fx.n[1].ups, 0, "the listener never brings the link up");
	cr_assert_eq(fx.n[1].downs, fx.n[1].ups);
	ra = rows_of(&fx.n[0]);
	cr_assert_eq(ra.n, 1);
	if (a_error) {
		cr_assert_eq(fx.n[0].ups, 0);
		cr_assert_not(ra.r[0].is_up);
		cr_assert(ra.r[0].has_error);
		cr_assert(strstr(ra.r[0].last_error, a_error), "%s", ra.r[0].last_error);
		cr_assert_lt(ra.r[0].last_error_age_ms, 400);
	}
	cr_assert_eq(rows_of(&fx.n[1]).n, 0, "no inbound row on B");
	/*
	 * A redials every 40, 80, 160 ms here, so at any instant one link may be up again. Remove
	 * the peer (no more redials, the open link closes), then every up must have had its down.
	 */
	{
		const char *err = NULL;

		cr_assert_eq(peer_remove(fx.n[0].t, uri, "", &err), 0, "%s", err ? err : "");
	}
	run_for(200);
	cr_assert_eq(fx.n[0].downs, fx.n[0].ups);
}

Test(peer, wrong_password_refused_on_both_sides)
{
	refused_pair("?password=right", "", "?password=wrong", "password does not match", true);
}

Test(peer, password_required_by_listener)
{
	refused_pair("?password=right", "", "", "password does not match", true);
}

Test(peer, password_accepted)
{
	pair("tcp://127.0.0.1:0?password=s3cret%21", "?password=s3cret!");
}

Test(peer, allowed_public_keys_refusal)
{
	char extra[200];

	snprintf(extra, sizeof(extra), "AllowedPublicKeys: [\"%s\"]\n", c_pub);
	/* A sees B's meta as valid, so it may come up briefly; B never does. */
	refused_pair("", extra, "", NULL, true);
}

Test(peer, allowed_public_keys_accepts_listed)
{
	char yaml[300], uri[300];

	snprintf(yaml, sizeof(yaml),
		 "Listen: [\"tcp://127.0.0.1:0\"]\nAllowedPublicKeys: [\"%s\", \"%s\"]\n", c_pub,
		 a_pub);
	node_start(1, b_priv, yaml);
	node_start(0, a_priv, "{}");
	snprintf(uri, sizeof(uri), "%s", peer_listener_uri(fx.n[1].t, 0));
	add_peer(&fx.n[0], uri);
	cr_assert(run_until(&fx.n[1].ups, 1, 3000));
}

Test(peer, pinned_key_mismatch_refused)
{
	char q[100];

	snprintf(q, sizeof(q), "?key=%s", c_pub);
	refused_pair("", "", q, "does not match pinned keys", false);
}

Test(peer, pinned_key_match)
{
	char q[200];

	snprintf(q, sizeof(q), "?key=%s&key=%s", c_pub, b_pub);
	pair("tcp://127.0.0.1:0", q);
}

Test(peer, self_connection_refused)
{
	struct node *a = node_start(0, a_priv, "Listen: [\"tcp://127.0.0.1:0\"]\n");
	char uri[100];
	struct rows r;

	snprintf(uri, sizeof(uri), "%s", peer_listener_uri(a->t, 0));
	add_peer(a, uri);
	run_for(300);
	cr_assert_eq(a->ups, 0);
	r = rows_of(a);
	cr_assert_eq(r.n, 1);
	cr_assert(strstr(r.r[0].last_error, "own key"), "%s", r.r[0].last_error);
}

Test(peer, add_remove_rules)
{
	struct node *a = node_start(0, a_priv, "{}");
	const char *err = NULL;

	cr_assert_eq(peer_add(a->t, "tcp://127.0.0.1:9?priority=1", NULL, &err), 0);
	cr_assert_eq(peer_add(a->t, "tcp://127.0.0.1:9?priority=2", NULL, &err), -EEXIST);
	cr_assert_str_eq(err, "peer is already configured");
	cr_assert_eq(peer_add(a->t, "tcp://127.0.0.1:9", "lo", &err), 0,
		     "another interface is another peering");
	cr_assert_eq(peer_add(a->t, "quic://127.0.0.1:9", NULL, &err), -ENOTSUP);
	cr_assert_str_eq(err, "quic:// peerings are not supported yet");
	cr_assert_eq(peer_add(a->t, "tcp://127.0.0.1:9?priority=x", NULL, &err), -EINVAL);
	cr_assert_str_eq(err, "priority value is invalid");
	cr_assert_eq(rows_of(a).n, 2);
	cr_assert_eq(peer_remove(a->t, "tcp://127.0.0.1:10", NULL, &err), -ENOENT);
	cr_assert_str_eq(err, "peer is not configured");
	cr_assert_eq(peer_remove(a->t, "quic://127.0.0.1:9", NULL, &err), -ENOENT);
	cr_assert_eq(peer_remove(a->t, "tcp://127.0.0.1:9?whatever", NULL, &err), 0);
	cr_assert_eq(peer_remove(a->t, "tcp://127.0.0.1:9", NULL, &err), -ENOENT);
	cr_assert_eq(peer_remove(a->t, "tcp://127.0.0.1:9", "lo", &err), 0);
	cr_assert_eq(rows_of(a).n, 0);
	/* Re-adding while the old one is still closing is a new peering. */
	cr_assert_eq(peer_add(a->t, "tcp://127.0.0.1:9", NULL, &err), 0);
	run_for(100);
}

Test(peer, dial_failure_recorded_and_retried)
{
	struct node *a = node_start(0, a_priv, "{}");
	struct rows r;
	uint64_t age1;

	add_peer(a, "tcp://127.0.0.1:1");
	run_for(100);
	r = rows_of(a);
	cr_assert_eq(r.n, 1);
	cr_assert_not(r.r[0].is_up);
	cr_assert(r.r[0].has_error);
	cr_assert(strstr(r.r[0].last_error, "connection refused"), "%s", r.r[0].last_error);
	age1 = r.r[0].last_error_age_ms;
	/* Backoff unit 20 ms: 40, 80, 160 ms... so the error keeps being refreshed. */
	run_for(250);
	r = rows_of(a);
	cr_assert_lt(r.r[0].last_error_age_ms, age1 + 250);
}

/* ---- the tunnel-routing loop guard's hooks (addr_allowed, peer_foreach_addr) ---- */

Test(peer, loop_guard_skips_refused_resolved_addresses)
{
	struct node *b = node_start(1, b_priv, "Listen: [\"tcp://[::]:0\"]\n");
	struct node *a = node_start(0, a_priv, "{}");
	const char *port = strrchr(peer_listener_uri(b->t, 0), ':') + 1;
	const char *err = NULL;
	char uri[64];
	struct rows r;

	/* a host name whose addresses are all refused: never dialled, and getPeers says why */
	a->refuse = "*";
	snprintf(uri, sizeof(uri), "tcp://localhost:%s", port);
	add_peer(a, uri);
	run_for(300);
	r = rows_of(a);
	cr_assert_eq(r.n, 1);
	cr_expect_not(r.r[0].is_up);
	cr_expect(strstr(r.r[0].last_error, "is tunnel-routed (test)"), "%s", r.r[0].last_error);
	cr_expect_eq(b->ups, 0, "B saw no link");
	cr_expect_geq(a->asked, 2, "asked again at each redial's resolution");
	cr_assert_eq(peer_remove(a->t, uri, NULL, NULL), 0);
	/* a refused literal is refused by peer_add itself, with the guard's words */
	a->refuse = "127.0.0.1";
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%s", port);
	cr_assert_eq(peer_add(a->t, uri, NULL, &err), -EPERM);
	cr_expect_str_eq(err, "127.0.0.1 is tunnel-routed (test)");
	cr_expect_eq(rows_of(a).n, 0, "not configured");
	/* another address of the same listener is not refused: dialled and up */
	snprintf(uri, sizeof(uri), "tcp://[::1]:%s", port);
	add_peer(a, uri);
	cr_assert(run_until(&a->ups, 1, 3000), "A up over ::1");
	r = rows_of(b);
	cr_assert_eq(r.n, 1);
	cr_expect(strstr(r.r[0].remote, "[::1]"), "%s", r.r[0].remote);
}

Test(peer, loop_guard_refuses_inbound_links)
{
	struct node *b = node_start(1, b_priv, "Listen: [\"tcp://127.0.0.1:0\"]\n");
	struct node *a = node_start(0, a_priv, "{}");

	b->refuse = "*";
	add_peer(a, peer_listener_uri(b->t, 0));
	run_for(300);
	cr_expect_eq(a->ups, 0);
	cr_expect_eq(b->ups, 0);
	cr_expect_geq(b->asked, 1);
	cr_expect_eq(rows_of(b).n, 0, "no inbound row");
}

struct addrs {
	size_t n;
	char what[8][160];
	char addr[8][INET6_ADDRSTRLEN];
};

static bool addr_one(void *ctx, const struct sockaddr *sa, const char *what)
{
	struct addrs *v = ctx;

	cr_assert_lt(v->n, 8);
	snprintf(v->what[v->n], sizeof(v->what[0]), "%s", what);
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, v->addr[v->n],
			  sizeof(v->addr[0]));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, v->addr[v->n],
			  sizeof(v->addr[0]));
	v->n++;
	return true;
}

Test(peer, foreach_addr_lists_literal_peers_listeners_and_links)
{
	struct addrs va = {0}, vb = {0};

	pair("tcp://127.0.0.1:0", "");
	add_peer(&fx.n[0], "tcp://host.invalid:7"); /* a name: not listed */
	add_peer(&fx.n[0], "tcp://[2001:db8::7]:7");
	peer_foreach_addr(fx.n[0].t, addr_one, &va);
	peer_foreach_addr(fx.n[1].t, addr_one, &vb);
	cr_assert_eq(va.n, 3, "A: two literal peers and its link");
	cr_expect(!strncmp(va.what[0], "peer tcp://127.0.0.1:", 21), "%s", va.what[0]);
	cr_expect_str_eq(va.addr[0], "127.0.0.1");
	cr_expect_str_eq(va.what[1], "peer tcp://[2001:db8::7]:7");
	cr_expect_str_eq(va.addr[1], "2001:db8::7");
	cr_expect(!strncmp(va.what[2], "outbound link tcp://127.0.0.1:", 30), "%s", va.what[2]);
	cr_assert_eq(vb.n, 2, "B: its listener and the inbound link");
	cr_expect_str_eq(vb.what[0], "listener tcp://127.0.0.1:0");
	cr_expect(!strncmp(vb.what[1], "inbound link tcp://127.0.0.1:", 29), "%s", vb.what[1]);
	cr_expect_str_eq(vb.addr[1], "127.0.0.1");
}

Test(peer, remove_closes_link_without_redial)
{
	char uri[100];

	pair("tcp://127.0.0.1:0", "");
	snprintf(uri, sizeof(uri), "%s", peer_listener_uri(fx.n[1].t, 0));
	cr_assert_eq(peer_remove(fx.n[0].t, uri, NULL, NULL), 0);
	cr_assert(run_until(&fx.n[0].downs, 1, 2000));
	cr_assert(run_until(&fx.n[1].downs, 1, 2000));
	cr_assert_eq(fx.n[0].down_id, fx.n[0].up_id);
	run_for(300);
	cr_assert_eq(fx.n[0].ups, 1, "not redialled");
	cr_assert_eq(fx.n[1].ups, 1);
}

Test(peer, reconnects_when_the_remote_comes_back)
{
	char uri[100], yaml[200];
	uint32_t first;

	pair("tcp://127.0.0.1:0", "");
	snprintf(uri, sizeof(uri), "%s", peer_listener_uri(fx.n[1].t, 0));
	first = fx.n[0].up_id;
	node_stop(&fx.n[1]);
	cr_assert(run_until(&fx.n[0].downs, 1, 2000));
	run_for(200);
	cr_assert(strstr(rows_of(&fx.n[0]).r[0].last_error, "refused"), "%s",
		  rows_of(&fx.n[0]).r[0].last_error);
	snprintf(yaml, sizeof(yaml), "Listen: [\"%s\"]\n", uri);
	fx.n[1].ups = fx.n[1].downs = 0;
	node_start(1, b_priv, yaml);
	cr_assert(run_until(&fx.n[0].ups, 2, 3000), "redialled after backoff");
	cr_assert(run_until(&fx.n[1].ups, 1, 3000));
	cr_assert_neq(fx.n[0].up_id, first, "a new link id");
}

Test(peer, upper_layer_rejection_closes_and_redials)
{
	struct pkt *p = pkt_alloc(fx.pool);

	pair("tcp://127.0.0.1:0", "");
	fx.n[1].frame_ret = -EPROTO;
	*(uint8_t *)pkt_put(p, 1) = 9; /* a Traffic frame the upper layer refuses */
	peer_send(fx.n[0].t, fx.n[0].up_id, p);
	cr_assert(run_until(&fx.n[1].downs, 1, 2000));
	cr_assert(run_until(&fx.n[0].downs, 1, 2000));
	cr_assert(run_until(&fx.n[0].ups, 2, 3000), "the dialer comes back");
}

Test(peer, send_to_unknown_link_is_dropped)
{
	struct node *a = node_start(0, a_priv, "{}");

	peer_send(a->t, 12345, pkt_alloc(fx.pool));
	cr_assert_eq(peer_send_drops(a->t), 1);
	peer_close_link(a->t, 12345, "nothing");
}

Test(peer, config_with_unsupported_and_bad_listeners)
{
	struct node *a = node_start(0, a_priv,
				    "Listen: [\"quic://127.0.0.1:0\", \"tcp://127.0.0.1:0\", "
				    "\"tcp://256.0.0.1:0\"]\n"
				    "Peers: [\"ws://127.0.0.1:1\", \"tcp://127.0.0.1:1\"]\n");

	cr_assert_eq(peer_listener_count(a->t), 1, "only the tcp listener opened");
	cr_assert_eq(rows_of(a).n, 1, "the ws peer is skipped");
}

Test(peer, close_before_start)
{
	struct node *n = &fx.n[0];
	const struct peer_cbs cbs = {n, on_up, on_down, on_frame, on_addr_allowed};

	n->kp = keys_from_hex(a_priv, NULL);
	config_init(&n->cfg);
	n->t = peer_table_new(&fx.loop, &n->cfg, n->kp, fx.pool, &cbs);
	cr_assert_not_null(n->t);
	node_stop(n);
	cr_assert(n->is_closed);
}

Test(peer, interface_peer_binds_to_device)
{
	char uri[100];
	struct rows r;

	if (geteuid() != 0)
		cr_skip_test("SO_BINDTODEVICE needs CAP_NET_RAW");
	node_start(1, b_priv, "Listen: [\"tcp://127.0.0.1:0\"]\n");
	node_start(0, a_priv, "{}");
	snprintf(uri, sizeof(uri), "%s", peer_listener_uri(fx.n[1].t, 0));
	cr_assert_eq(peer_add(fx.n[0].t, uri, "lo", NULL), 0);
	cr_assert(run_until(&fx.n[0].ups, 1, 3000));
	r = rows_of(&fx.n[0]);
	cr_assert_str_eq(r.r[0].iface, "lo");
	cr_assert(r.r[0].is_up);
	cr_assert_eq(peer_remove(fx.n[0].t, uri, NULL, NULL), -ENOENT,
		     "the interface is part of the key");
	cr_assert_eq(peer_remove(fx.n[0].t, uri, "lo", NULL), 0);
}
