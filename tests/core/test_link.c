/*
 * Tests for core/link on a real libuv loop over loopback TCP: a raw peer written here speaks
 * the wire by hand (spec yggdrasil-link-routing.md §2.4, §3) against one of our links, or two of
 * our links talk to each other. Covered: our meta byte for byte against the captured vectors
 * (§11), every meta refusal (password, version, preamble, length, pins, AllowedPublicKeys,
 * self), the handshake deadline, framing (split input, KeepAlive/Dummy kept in the link,
 * N == 0, N > 131070, unknown type, overlong uvarint), liveness (§3.2: keepalive after 1 s, no
 * keepalive when answered, the 3 s read deadline, a link idle for 5 s with real timers), batched
 * writes, the bounded queue, invalid frames we refuse to send, and oversize input frames.
 * Every test ends with all pkts back in the pool and uv_loop_close() == 0.
 */
#include "core/link.h"
#include "core/proto.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/log.h"
#include "lib/pkt.h"
#include "support/hex.h"
#include "support/uvwait.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

/* §11 test keys: A seed 00..1f, B seed 20..3f, C seed 40..5f. */
static const char a_priv[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
			     "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char b_priv[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
			     "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
static const char c_priv[] = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
			     "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d";

/* §11: meta of key B, no password, priority 0. */
static const char meta_b_hex[] =
    "6d657461 0075 0000 0002 0000 0001 0002 0005 0002 0020"
    "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7 0003 0001 00"
    "ebccd3e77d07fb4ed9834cd79e17cbb4eaab98c45eb5ed516359ddd58a890d52"
    "0e332299e378eca19d3b83c2116d6a31df6b96d6ddc87e7c329de6a1f6353f0d";
/* §11: signature of key B's meta with password "hunter2". */
static const char sig_b_hunter2[] =
    "dcc3ebcee70fbfa99e9726b220ce78c7c42001e43276ec94024abc21b12af91d"
    "3856814dddfb5ee30a11cbe2c52f7515d2b46c1f724b452449b3bcd50ed19906";
/* §11: SigReq A->B, a complete frame with its length prefix. */
static const char sigreq_hex[] = "0c0202b8c094c7cf9bf3c6a801";

/* One of our links and what its callbacks saw. */
struct side {
	struct link *l;
	int ups, closes, frames;
	uint8_t key[32];
	uint8_t prio;
	struct link_close_info ci;
	char why[200];
	uint8_t frame[512];
	size_t frame_len;
	size_t lens[8]; /* every frame's length and FNV-1a hash, in order (the first 8) */
	uint32_t hashes[8];
	int frame_ret;
	bool echo; /* answer every frame with a SigReq */
};

/* The peer written by hand. */
struct raw {
	uv_tcp_t tcp;
	uv_connect_t req;
	bool is_open, is_connected, is_eof;
	uint8_t rx[1 << 18];
	size_t rxlen;
};

enum accept_mode { ACCEPT_LINK, ACCEPT_RAW };

static struct {
	uv_loop_t loop;
	struct pkt_pool *pool;
	struct keypair *a, *b, *c;
	uv_tcp_t srv;
	struct sockaddr_in addr;
	enum accept_mode mode;
	struct link_params accept_params;
	struct side *accept_side;
	struct raw raw;
	struct side s1, s2;
	struct link_timing timing;
} fx;

static void setup(void)
{
	int len = sizeof(fx.addr);

	cr_assert_eq(keys_init(), 0);
	log_set_level(LOG_LEVEL_WARN);
	memset(&fx, 0, sizeof(fx));
	cr_assert_eq(uv_loop_init(&fx.loop), 0);
	fx.pool = pkt_pool_new(256, 4096);
	cr_assert_not_null(fx.pool);
	fx.a = keys_from_hex(a_priv, NULL);
	fx.b = keys_from_hex(b_priv, NULL);
	fx.c = keys_from_hex(c_priv, NULL);
	cr_assert(fx.a && fx.b && fx.c);
	uv_tcp_init(&fx.loop, &fx.srv);
	uv_ip4_addr("127.0.0.1", 0, &fx.addr);
	cr_assert_eq(uv_tcp_bind(&fx.srv, (const struct sockaddr *)&fx.addr, 0), 0);
	uv_tcp_getsockname(&fx.srv, (struct sockaddr *)&fx.addr, &len);
}

static void teardown(void)
{
	struct side *sides[] = {&fx.s1, &fx.s2};

	for (size_t i = 0; i < 2; i++)
		if (sides[i]->l && !sides[i]->closes)
			link_close(sides[i]->l, -ESHUTDOWN, "test over");
	if (fx.raw.is_open)
		uv_close((uv_handle_t *)&fx.raw.tcp, NULL);
	uv_close((uv_handle_t *)&fx.srv, NULL);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < 2; i++)
		cr_assert(!sides[i]->l || sides[i]->closes == 1, "cbs.closed runs exactly once");
	pkt_pool_free(fx.pool); /* asserts that every pkt came back */
	cr_assert_eq(uv_loop_close(&fx.loop), 0);
	keys_free(fx.a);
	keys_free(fx.b);
	keys_free(fx.c);
}

TestSuite(link, .init = setup, .fini = teardown, .timeout = 30);

/* ---- our links ---- */

static void cb_up(void *ctx, struct link *l, const uint8_t key[32], uint8_t prio)
{
	struct side *s = ctx;

	cr_assert_eq(l, s->l);
	s->ups++;
	memcpy(s->key, key, 32);
	s->prio = prio;
}

static struct pkt *frame_pkt(const char *hex)
{
	struct pkt *p = pkt_alloc(fx.pool);
	uint8_t buf[512];
	long n = th_unhex(hex, buf, sizeof(buf));

	cr_assert_not_null(p);
	cr_assert_geq(n, 0);
	memcpy(pkt_put(p, (size_t)n), buf, (size_t)n);
	return p;
}

static uint32_t fnv1a(const uint8_t *b, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static int cb_frame(void *ctx, struct link *l, struct pkt *frame)
{
	struct side *s = ctx;

	s->frames++;
	s->frame_len = frame->len < sizeof(s->frame) ? frame->len : sizeof(s->frame);
	memcpy(s->frame, frame->data, s->frame_len);
	if ((size_t)s->frames <= sizeof(s->lens) / sizeof(s->lens[0])) {
		s->lens[s->frames - 1] = frame->len;
		s->hashes[s->frames - 1] = fnv1a(frame->data, frame->len);
	}
	pkt_free(frame);
	if (s->echo)
		link_send(l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	return s->frame_ret;
}

static void cb_closed(void *ctx, struct link *l, const struct link_close_info *ci)
{
	struct side *s = ctx;

	cr_assert_eq(l, s->l);
	s->closes++;
	s->ci = *ci;
	snprintf(s->why, sizeof(s->why), "%s", ci->why);
}

static struct link *side_new(struct side *s, const struct link_params *base)
{
	struct link_params p = *base;
	const struct link_cbs cbs = {s, cb_up, cb_frame, cb_closed};

	p.pool = fx.pool;
	if (!p.kp)
		p.kp = fx.b;
	p.timing = &fx.timing;
	s->l = link_new(&fx.loop, &p, &cbs);
	return s->l;
}

/* ---- the raw peer ---- */

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	*buf = uv_buf_init((char *)fx.raw.rx + fx.raw.rxlen,
			   (unsigned)(sizeof(fx.raw.rx) - fx.raw.rxlen));
}

static void raw_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	(void)st;
	(void)buf;
	if (n > 0)
		fx.raw.rxlen += (size_t)n;
	else if (n < 0)
		fx.raw.is_eof = true;
}

static void raw_connected(uv_connect_t *req, int status)
{
	(void)req;
	cr_assert_eq(status, 0);
	fx.raw.is_connected = true;
	uv_read_start((uv_stream_t *)&fx.raw.tcp, raw_alloc, raw_read);
}

static void on_server_conn(uv_stream_t *srv, int status)
{
	cr_assert_eq(status, 0);
	if (fx.mode == ACCEPT_LINK) {
		link_accept(side_new(fx.accept_side, &fx.accept_params), srv);
		return;
	}
	uv_tcp_init(&fx.loop, &fx.raw.tcp);
	fx.raw.is_open = true;
	cr_assert_eq(uv_accept(srv, (uv_stream_t *)&fx.raw.tcp), 0);
	fx.raw.is_connected = true;
	uv_read_start((uv_stream_t *)&fx.raw.tcp, raw_alloc, raw_read);
}

static void raw_send_bytes(const uint8_t *b, size_t n)
{
	while (n > 0) {
		uv_buf_t buf = uv_buf_init((char *)b, (unsigned)n);
		int r = uv_try_write((uv_stream_t *)&fx.raw.tcp, &buf, 1);

		if (r == UV_EAGAIN) {
			uv_run(&fx.loop, UV_RUN_NOWAIT);
			continue;
		}
		cr_assert_gt(r, 0, "raw write: %s", uv_strerror(r));
		b += r;
		n -= (size_t)r;
	}
}

static void raw_send(const char *hex)
{
	static uint8_t buf[1 << 17];
	long n = th_unhex(hex, buf, sizeof(buf));

	cr_assert_geq(n, 0);
	raw_send_bytes(buf, (size_t)n);
}

/* A meta as the Go encoder writes it (§2.4), with a chosen version. */
static void make_meta(uint8_t out[PROTO_META_LEN], const struct keypair *kp, const char *pw,
		      uint8_t prio, uint16_t minor)
{
	struct proto_meta m = {.major = 0, .minor = minor, .priority = prio};
	uint8_t digest[64];

	keys_public(kp, m.key);
	hash_blake2b512((const uint8_t *)pw, strlen(pw), m.key, 32, digest);
	sign_detached(kp, digest, sizeof(digest), m.sig);
	proto_meta_encode(out, &m);
}

static void raw_send_meta(const struct keypair *kp, const char *pw, uint8_t prio)
{
	uint8_t m[PROTO_META_LEN];

	make_meta(m, kp, pw, prio, 5);
	raw_send_bytes(m, sizeof(m));
}

/* ---- loop helpers ---- */

/* Runs the loop until *v reaches want (true) or ms pass (false); run_for: ms of running. */
static bool run_until(const volatile int *v, int want, uint64_t ms)
{
	return uvwait_until(&fx.loop, v, want, ms);
}

static void run_for(uint64_t ms)
{
	uvwait_for(&fx.loop, ms);
}

static bool raw_has(size_t n, uint64_t ms)
{
	uv_update_time(&fx.loop);
	for (uint64_t end = uv_now(&fx.loop) + ms; fx.raw.rxlen < n && uv_now(&fx.loop) < end;)
		run_for(5);
	return fx.raw.rxlen >= n;
}

static bool raw_eof(uint64_t ms)
{
	uv_update_time(&fx.loop);
	for (uint64_t end = uv_now(&fx.loop) + ms; !fx.raw.is_eof && uv_now(&fx.loop) < end;)
		run_for(5);
	return fx.raw.is_eof;
}

/* Our inbound link (params p) accepts the raw peer's connection. */
static void inbound_with_raw(const struct link_params *p)
{
	fx.mode = ACCEPT_LINK;
	fx.accept_params = *p;
	fx.accept_side = &fx.s1;
	cr_assert_eq(uv_listen((uv_stream_t *)&fx.srv, 8, on_server_conn), 0);
	uv_tcp_init(&fx.loop, &fx.raw.tcp);
	fx.raw.is_open = true;
	uv_tcp_connect(&fx.raw.req, &fx.raw.tcp, (const struct sockaddr *)&fx.addr, raw_connected);
	cr_assert(raw_has(PROTO_META_LEN, 2000), "our meta arrives first");
}

/* Inbound link with default params and key B; the raw peer (key A) completes the handshake. */
static void up_with_raw(void)
{
	const struct link_params p = {.is_inbound = true};

	inbound_with_raw(&p);
	raw_send_meta(fx.a, "", 0);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
	fx.raw.rxlen = 0;
}

/* ---- meta ---- */

Test(link, our_meta_is_the_vector_and_the_link_comes_up)
{
	uint8_t want[PROTO_META_LEN], pub_a[32];
	const struct link_params p = {.is_inbound = true};
	struct link_info li;

	cr_assert_eq(th_unhex(meta_b_hex, want, sizeof(want)), PROTO_META_LEN);
	inbound_with_raw(&p);
	cr_assert_eq(memcmp(fx.raw.rx, want, PROTO_META_LEN), 0, "meta of key B differs from §11");
	link_get_info(fx.s1.l, &li);
	cr_assert_not(li.is_up);
	raw_send_meta(fx.a, "", 1);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
	keys_public(fx.a, pub_a);
	cr_assert_eq(memcmp(fx.s1.key, pub_a, 32), 0);
	cr_assert_eq(fx.s1.prio, 1, "effective priority is max(0, 1)");
	link_get_info(fx.s1.l, &li);
	cr_assert(li.is_up);
	cr_assert(li.is_inbound);
	cr_assert_eq(li.bytes_recvd, PROTO_META_LEN);
	cr_assert_eq(li.bytes_sent, PROTO_META_LEN);
	cr_assert_eq(memcmp(li.key, pub_a, 32), 0);
	cr_assert(strncmp(link_name(fx.s1.l), "tcp://127.0.0.1:", 16) == 0, "%s",
		  link_name(fx.s1.l));
	cr_assert_eq(fx.s1.closes, 0);
}

Test(link, password_meta_is_the_vector)
{
	uint8_t want[64];
	const struct link_params p = {
	    .is_inbound = true,
	    .password = (const uint8_t *)"hunter2",
	    .password_len = 7,
	    .priority = 3,
	};

	cr_assert_eq(th_unhex(sig_b_hunter2, want, sizeof(want)), 64);
	inbound_with_raw(&p);
	cr_assert_eq(fx.raw.rx[PROTO_META_LEN - 65], 3, "priority byte");
	cr_assert_eq(memcmp(fx.raw.rx + PROTO_META_LEN - 64, want, 64), 0);
	raw_send_meta(fx.a, "hunter2", 0);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
	cr_assert_eq(fx.s1.prio, 3);
}

static void refused(const struct link_params *p, const struct keypair *raw_kp, const char *pw,
		    uint16_t minor, const char *why)
{
	uint8_t m[PROTO_META_LEN];

	inbound_with_raw(p);
	make_meta(m, raw_kp, pw, 0, minor);
	raw_send_bytes(m, sizeof(m));
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert_eq(fx.s1.ups, 0);
	cr_assert_not(fx.s1.ci.was_up);
	cr_assert(fx.s1.ci.was_connected);
	cr_assert(strstr(fx.s1.why, why), "why: %s", fx.s1.why);
	cr_assert(raw_eof(2000), "the raw peer is disconnected");
}

Test(link, wrong_password_refused)
{
	const struct link_params p = {
	    .is_inbound = true, .password = (const uint8_t *)"right", .password_len = 5};

	refused(&p, fx.a, "wrong", 5, "password does not match remote side");
	cr_assert_eq(fx.s1.ci.err, -EACCES);
}

Test(link, missing_password_refused)
{
	const struct link_params p = {.is_inbound = true};

	refused(&p, fx.a, "secret", 5, "password does not match remote side");
}

Test(link, other_version_refused)
{
	const struct link_params p = {.is_inbound = true};

	refused(&p, fx.a, "", 4, "remote node incompatible version (local 0.5, remote 0.4)");
}

Test(link, own_key_refused)
{
	const struct link_params p = {.is_inbound = true};

	refused(&p, fx.b, "", 5, "own key");
}

Test(link, allowed_public_keys_refusal)
{
	uint8_t allowed[1][32];
	struct link_params p = {
	    .is_inbound = true, .keys = (const uint8_t(*)[32])allowed, .n_keys = 1};

	keys_public(fx.c, allowed[0]);
	refused(&p, fx.a, "", 5, "is not in AllowedPublicKeys");
}

Test(link, allowed_public_keys_accepts_listed)
{
	uint8_t allowed[2][32];
	const struct link_params p = {
	    .is_inbound = true, .keys = (const uint8_t(*)[32])allowed, .n_keys = 2};

	keys_public(fx.c, allowed[0]);
	keys_public(fx.a, allowed[1]);
	inbound_with_raw(&p);
	raw_send_meta(fx.a, "", 0);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
}

Test(link, not_yggdrasil_refused)
{
	const struct link_params p = {.is_inbound = true};

	inbound_with_raw(&p);
	raw_send("474554202f20485454502f312e310d0a0d0a"); /* GET / HTTP/1.1 */
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert(strstr(fx.s1.why, "not Yggdrasil"), "%s", fx.s1.why);
}

Test(link, short_meta_length_refused)
{
	const struct link_params p = {.is_inbound = true};

	inbound_with_raw(&p);
	raw_send("6d657461 003f"); /* L = 63 < 64 */
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert(strstr(fx.s1.why, "invalid handshake length"), "%s", fx.s1.why);
}

Test(link, handshake_deadline)
{
	const struct link_params p = {.is_inbound = true};

	fx.timing.handshake_ms = 200;
	inbound_with_raw(&p);
	uv_update_time(&fx.loop);
	cr_assert_not(run_until(&fx.s1.closes, 1, 120), "not before the deadline");
	cr_assert(run_until(&fx.s1.closes, 1, 1000));
	cr_assert_str_eq(fx.s1.why, "handshake timeout");
	cr_assert_eq(fx.s1.ci.err, -ETIMEDOUT);
}

/* Outbound: our link dials; the raw peer is the accepted side and checks our pins. */
static void outbound_to_raw(const struct link_params *p)
{
	fx.mode = ACCEPT_RAW;
	cr_assert_eq(uv_listen((uv_stream_t *)&fx.srv, 8, on_server_conn), 0);
	link_connect_tcp(side_new(&fx.s1, p), (const struct sockaddr *)&fx.addr, NULL);
	cr_assert(raw_has(PROTO_META_LEN, 2000));
}

Test(link, pinned_keys)
{
	uint8_t pins[2][32];
	const struct link_params p = {.keys = (const uint8_t(*)[32])pins, .n_keys = 2};

	keys_public(fx.c, pins[0]);
	keys_public(fx.a, pins[1]);
	outbound_to_raw(&p);
	raw_send_meta(fx.a, "", 0);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
	cr_assert_not(fx.s1.ci.was_up);
}

Test(link, pinned_key_mismatch)
{
	uint8_t pins[1][32];
	const struct link_params p = {.keys = (const uint8_t(*)[32])pins, .n_keys = 1};

	keys_public(fx.c, pins[0]);
	outbound_to_raw(&p);
	raw_send_meta(fx.a, "", 0);
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert(strstr(fx.s1.why, "does not match pinned keys"), "%s", fx.s1.why);
	cr_assert_eq(fx.s1.ups, 0);
}

Test(link, dial_refused)
{
	const struct link_params p = {0};
	struct sockaddr_in dead = fx.addr; /* bound, never listening */

	link_connect_tcp(side_new(&fx.s1, &p), (const struct sockaddr *)&dead, NULL);
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert_not(fx.s1.ci.was_connected);
	cr_assert_eq(fx.s1.ci.err, UV_ECONNREFUSED);
	cr_assert(strstr(fx.s1.why, "dial"), "%s", fx.s1.why);
}

Test(link, unknown_interface_fails_cleanly)
{
	const struct link_params p = {0};

	link_connect_tcp(side_new(&fx.s1, &p), (const struct sockaddr *)&fx.addr, "no-such-if0");
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert_not(fx.s1.ci.was_connected);
	cr_assert(strstr(fx.s1.why, "SO_BINDTODEVICE"), "%s", fx.s1.why);
}

/* ---- framing ---- */

Test(link, frames_split_byte_by_byte)
{
	static const char *stream = "0101 0100 0c0202b8c094c7cf9bf3c6a801 0101";
	uint8_t buf[64], want[16];
	long n = th_unhex(stream, buf, sizeof(buf));
	struct link_info li;

	up_with_raw();
	for (long i = 0; i < n; i++) {
		raw_send_bytes(buf + i, 1);
		run_for(2);
	}
	cr_assert(run_until(&fx.s1.frames, 1, 1000));
	run_for(50);
	cr_assert_eq(fx.s1.frames, 1, "KeepAlive and Dummy stay in the link");
	cr_assert_eq(th_unhex(sigreq_hex, want, sizeof(want)), 13);
	cr_assert_eq(fx.s1.frame_len, 12);
	cr_assert_eq(memcmp(fx.s1.frame, want + 1, 12), 0, "type || body, no length");
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.frames_recvd, 4);
	cr_assert_eq(li.bytes_recvd, PROTO_META_LEN + (uint64_t)n);
	cr_assert_eq(fx.s1.closes, 0);
}

Test(link, malformed_frames_disconnect)
{
	static const struct {
		const char *hex, *why;
	} cases[] = {
	    {"00", "bad frame length 0"},
	    {"ffff07", "bad frame length 131071"},
	    {"010a", "unrecognized message type 10"},
	    {"02ff00", "unrecognized message type 255"},
	    {"8080808080808080808001", "bad frame length encoding"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		teardown();
		setup();
		up_with_raw();
		raw_send(cases[i].hex);
		cr_assert(run_until(&fx.s1.closes, 1, 2000), "case %zu", i);
		cr_assert_str_eq(fx.s1.why, cases[i].why);
		cr_assert(fx.s1.ci.was_up);
		cr_assert_eq(fx.s1.ci.err, -EPROTO);
		cr_assert(raw_eof(2000), "case %zu: disconnected", i);
	}
}

Test(link, largest_frame_length_is_accepted)
{
	/* N = 131070 announced: valid; with a pool of 4096-byte buffers it is dropped, counted. */
	static uint8_t big[3 + 131070];
	struct link_info li;

	up_with_raw();
	big[0] = 0xfe;
	big[1] = 0xff;
	big[2] = 0x07;
	big[3] = PROTO_TRAFFIC;
	raw_send_bytes(big, sizeof(big));
	raw_send(sigreq_hex);
	cr_assert(run_until(&fx.s1.frames, 1, 2000));
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.rx_drops, 1);
	cr_assert_eq(li.frames_recvd, 2);
	cr_assert_eq(fx.s1.frame[0], PROTO_SIGREQ);
	cr_assert_eq(fx.s1.closes, 0);
}

/*
 * A long frame (3001 bytes: uvarint b9 17) of the given type: its length prefix comes a byte at
 * a time, then its body in pieces of 700 bytes, the last piece in one write with a SigReq
 * frame. The link reads a long partial frame straight into its pkt (link.c, rx_big).
 */
enum { LONG_N = 3001 };
static uint8_t long_stream[2 + LONG_N + 13];

static void send_long_frame(uint8_t type)
{
	size_t n = 0, at;

	long_stream[n++] = 0xb9;
	long_stream[n++] = 0x17;
	long_stream[n++] = type;
	for (size_t i = 1; i < LONG_N; i++)
		long_stream[n++] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(th_unhex(sigreq_hex, long_stream + n, 13), 13);
	n += 13;
	raw_send_bytes(long_stream, 1);
	run_for(5);
	raw_send_bytes(long_stream + 1, 1);
	run_for(5);
	for (at = 2; at + 700 < n - 13; at += 700) {
		raw_send_bytes(long_stream + at, 700);
		run_for(5);
	}
	raw_send_bytes(long_stream + at, n - at);
}

Test(link, long_frame_in_pieces_is_read_whole)
{
	struct link_info li;

	up_with_raw();
	send_long_frame(PROTO_TRAFFIC);
	cr_assert(run_until(&fx.s1.frames, 2, 2000));
	cr_assert_eq(fx.s1.lens[0], LONG_N);
	cr_assert_eq(fx.s1.hashes[0], fnv1a(long_stream + 2, LONG_N), "the same bytes, in order");
	cr_assert_eq(fx.s1.lens[1], 12);
	cr_assert_eq(fx.s1.frame[0], PROTO_SIGREQ, "the frame after it is parsed from rbuf again");
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.frames_recvd, 2);
	cr_assert_eq(li.rx_drops, 0);
	cr_assert_eq(li.bytes_recvd, PROTO_META_LEN + (uint64_t)sizeof(long_stream));
	cr_assert_eq(fx.s1.closes, 0);
}

Test(link, long_frames_back_to_back_after_a_long_one)
{
	/* After a long frame the link reads an empty rbuf BULK_READ bytes at a time: two more
	 * long frames and a SigReq in one write must still come up whole and in order. */
	static uint8_t two[2 * (2 + LONG_N) + 13];
	struct link_info li;
	size_t n = 0;

	up_with_raw();
	send_long_frame(PROTO_TRAFFIC);
	cr_assert(run_until(&fx.s1.frames, 2, 2000));
	for (int f = 0; f < 2; f++) {
		two[n++] = 0xb9;
		two[n++] = 0x17;
		two[n++] = PROTO_TRAFFIC;
		for (size_t i = 1; i < LONG_N; i++)
			two[n++] = (uint8_t)(i * 13 + (size_t)f);
	}
	cr_assert_eq(th_unhex(sigreq_hex, two + n, 13), 13);
	raw_send_bytes(two, sizeof(two));
	cr_assert(run_until(&fx.s1.frames, 5, 2000));
	cr_assert_eq(fx.s1.lens[2], LONG_N);
	cr_assert_eq(fx.s1.hashes[2], fnv1a(two + 2, LONG_N));
	cr_assert_eq(fx.s1.lens[3], LONG_N);
	cr_assert_eq(fx.s1.hashes[3], fnv1a(two + 4 + LONG_N, LONG_N));
	cr_assert_eq(fx.s1.lens[4], 12);
	cr_assert_eq(fx.s1.frame[0], PROTO_SIGREQ);
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.frames_recvd, 5);
	cr_assert_eq(li.bytes_recvd,
		     PROTO_META_LEN + (uint64_t)sizeof(long_stream) + (uint64_t)sizeof(two));
	cr_assert_eq(fx.s1.closes, 0);
}

Test(link, long_dummy_in_pieces_stays_in_the_link)
{
	struct link_info li;

	up_with_raw();
	send_long_frame(PROTO_DUMMY);
	cr_assert(run_until(&fx.s1.frames, 1, 2000));
	run_for(20);
	cr_assert_eq(fx.s1.frames, 1);
	cr_assert_eq(fx.s1.frame[0], PROTO_SIGREQ);
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.frames_recvd, 2);
	cr_assert_eq(fx.s1.closes, 0);
}

Test(link, long_frame_of_unknown_type_disconnects)
{
	up_with_raw();
	send_long_frame(10);
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert_str_eq(fx.s1.why, "unrecognized message type 10");
	cr_assert_eq(fx.s1.frames, 0);
	cr_assert(raw_eof(2000));
}

Test(link, upper_layer_rejection_closes)
{
	up_with_raw();
	fx.s1.frame_ret = -EPROTO;
	raw_send(sigreq_hex);
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert_str_eq(fx.s1.why, "bad SigReq frame");
	cr_assert(raw_eof(2000));
}

Test(link, remote_close)
{
	up_with_raw();
	uv_close((uv_handle_t *)&fx.raw.tcp, NULL);
	fx.raw.is_open = false;
	cr_assert(run_until(&fx.s1.closes, 1, 2000));
	cr_assert_str_eq(fx.s1.why, "remote side closed the connection");
	cr_assert(fx.s1.ci.was_up);
}

/* ---- transmit ---- */

Test(link, batched_write)
{
	struct link_info before, after;
	uint8_t want[13];

	up_with_raw();
	run_for(20);
	link_get_info(fx.s1.l, &before);
	for (int i = 0; i < 50; i++)
		link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	cr_assert(raw_has(50 * 13, 2000));
	link_get_info(fx.s1.l, &after);
	cr_assert_eq(after.writes - before.writes, 1, "50 frames, one uv_write");
	cr_assert_eq(after.frames_sent - before.frames_sent, 50);
	cr_assert_eq(after.bytes_sent - before.bytes_sent, 50 * 13);
	th_unhex(sigreq_hex, want, sizeof(want));
	for (int i = 0; i < 50; i++)
		cr_assert_eq(memcmp(fx.raw.rx + 13 * i, want, 13), 0);
}

Test(link, bounded_queue_counts_drops)
{
	const struct link_params p = {.is_inbound = true, .txq_limit = 8};
	struct link_info li;

	inbound_with_raw(&p);
	raw_send_meta(fx.a, "", 0);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
	fx.raw.rxlen = 0;
	for (int i = 0; i < 20; i++)
		link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.tx_drops, 12);
	cr_assert_eq(li.txq_len, 8);
	cr_assert(raw_has(8 * 13, 2000));
	run_for(50);
	cr_assert_eq(fx.raw.rxlen, 8 * 13);
}

Test(link, refuses_to_send_invalid_frames)
{
	struct link_info li;

	up_with_raw();
	link_send(fx.s1.l, pkt_alloc(fx.pool)); /* empty */
	link_send(fx.s1.l, frame_pkt("0a00"));	/* unknown type */
	link_send(fx.s1.l, frame_pkt("ff"));	/* unknown type */
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.tx_drops, 3);
	run_for(100);
	cr_assert_eq(fx.raw.rxlen, 0);
}

Test(link, send_before_up_is_dropped)
{
	const struct link_params p = {.is_inbound = true};
	struct link_info li;

	inbound_with_raw(&p);
	link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.tx_drops, 1);
}

/* ---- liveness (§3.2) with short timers ---- */

static size_t count_keepalives(void)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < fx.raw.rxlen; i += 2)
		if (fx.raw.rx[i] == 1 && fx.raw.rx[i + 1] == 1)
			n++;
	return n;
}

Test(link, keepalive_answers_an_unanswered_frame)
{
	fx.timing.keepalive_ms = 100;
	up_with_raw();
	raw_send(sigreq_hex);
	cr_assert(run_until(&fx.s1.frames, 1, 1000));
	cr_assert_not(raw_has(2, 60), "no keepalive before the delay");
	cr_assert(raw_has(2, 1000));
	run_for(300);
	cr_assert_eq(fx.raw.rxlen, 2, "exactly one keepalive");
	cr_assert_eq(count_keepalives(), 1);
	/* A KeepAlive from the peer needs no answer. */
	raw_send("0101");
	run_for(300);
	cr_assert_eq(fx.raw.rxlen, 2);
}

Test(link, no_keepalive_when_answered)
{
	fx.timing.keepalive_ms = 100;
	up_with_raw();
	fx.s1.echo = true;
	raw_send(sigreq_hex);
	cr_assert(raw_has(13, 1000));
	run_for(300);
	cr_assert_eq(fx.raw.rxlen, 13, "the answer replaced the keepalive");
}

Test(link, read_deadline_after_our_frame)
{
	fx.timing.timeout_ms = 300;
	up_with_raw();
	run_for(400);
	cr_assert_eq(fx.s1.closes, 0, "an idle link has no deadline");
	link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	cr_assert_not(run_until(&fx.s1.closes, 1, 200));
	cr_assert(run_until(&fx.s1.closes, 1, 1000));
	cr_assert(strstr(fx.s1.why, "peer timeout"), "%s", fx.s1.why);
	cr_assert_eq(fx.s1.ci.err, -ETIMEDOUT);
}

Test(link, keepalive_from_peer_disarms_deadline)
{
	fx.timing.timeout_ms = 300;
	up_with_raw();
	link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	run_for(150);
	raw_send("0101");
	run_for(500);
	cr_assert_eq(fx.s1.closes, 0);
}

/* Two of our links: link 1 dials, link 2 is accepted. */
static void pair_up(void)
{
	const struct link_params dialer = {.kp = fx.a};

	fx.mode = ACCEPT_LINK;
	fx.accept_params = (struct link_params){.is_inbound = true, .kp = fx.b};
	fx.accept_side = &fx.s2;
	cr_assert_eq(uv_listen((uv_stream_t *)&fx.srv, 8, on_server_conn), 0);
	link_connect_tcp(side_new(&fx.s1, &dialer), (const struct sockaddr *)&fx.addr, NULL);
	cr_assert(run_until(&fx.s1.ups, 1, 2000));
	cr_assert(run_until(&fx.s2.ups, 1, 2000));
}

Test(link, idle_pair_stays_up_five_seconds_with_spec_timers, .timeout = 30)
{
	struct link_info l1, l2;

	pair_up();
	/* One non-keepalive frame each way, never answered by the upper layers. */
	link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	link_send(fx.s2.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	run_for(5000);
	cr_assert_eq(fx.s1.closes + fx.s2.closes, 0, "keepalives kept both deadlines at bay");
	link_get_info(fx.s1.l, &l1);
	link_get_info(fx.s2.l, &l2);
	cr_assert(l1.is_up && l2.is_up);
	/* Each side: meta + SigReq + KeepAlive out; nothing else on an idle link. */
	cr_assert_eq(l1.bytes_sent, PROTO_META_LEN + 13 + 2);
	cr_assert_eq(l2.bytes_sent, PROTO_META_LEN + 13 + 2);
	cr_assert_eq(l1.frames_recvd, 2);
	cr_assert_geq(l1.uptime_ms, 4900);
}

Test(link, silent_peer_dropped_after_three_seconds_with_spec_timers, .timeout = 30)
{
	uint64_t t0;

	up_with_raw();
	uv_update_time(&fx.loop);
	t0 = uv_now(&fx.loop);
	link_send(fx.s1.l, frame_pkt("0202b8c094c7cf9bf3c6a801"));
	cr_assert(run_until(&fx.s1.closes, 1, 5000));
	cr_assert_geq(uv_now(&fx.loop) - t0, 2990);
	cr_assert_leq(uv_now(&fx.loop) - t0, 3300);
}

Test(link, rate_tick)
{
	struct link_info li;

	up_with_raw();
	link_rate_tick(fx.s1.l);
	raw_send(sigreq_hex);
	cr_assert(run_until(&fx.s1.frames, 1, 1000));
	link_rate_tick(fx.s1.l);
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.rate_recvd, 13);
	cr_assert_eq(li.rate_sent, 0);
	link_rate_tick(fx.s1.l);
	link_get_info(fx.s1.l, &li);
	cr_assert_eq(li.rate_recvd, 0);
}
