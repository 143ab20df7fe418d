/*
 * table: the stateful NAT64 state (RFC 6146 §3) under a fake clock (plain millisecond values):
 * endpoint-independent mapping and filtering, address-dependent filtering, the port choice
 * (parity, range class, the range only, exhaustion and reuse), the caps, every TCP transition
 * of RFC 6146 §3.5.2.2 with its timer (6 s, 4 min, 2 h 04 min, the probe), UDP and ICMP
 * lifetimes, lookups that change nothing, growth to 100000 sessions checked against what was
 * created, the memory back to a fresh table's, snapshot restore, and ticks after long jumps.
 *
 * X' are 2001:db8::<host>, Y are 198.51.100.<n> (RFC 5737), the pool is 10.5.0.1 (and .2-.4).
 * Times are whole seconds unless a test is about the rounding.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "nat64/table.h"
#include "support/rng.h"

enum {
	SEC = 1000,
	MIN = 60 * SEC,
	UDP_MS = 5 * MIN,
	ICMP_MS = 1 * MIN,
	EST_MS = (2 * 60 + 4) * MIN, /* RFC 6146 §4: TCP_EST at least 2 h 04 min */
	TRANS_MS = 4 * MIN,	     /* TCP_TRANS */
	SYN_MS = 6 * SEC,	     /* TCP_INCOMING_SYN */
	SYN = NAT64_SYN,
	ACK = NAT64_ACK,
	FIN = NAT64_FIN,
	RST = NAT64_RST,
};

static const uint8_t POOL[][4] = {{10, 5, 0, 1}, {10, 5, 0, 2}, {10, 5, 0, 3}, {10, 5, 0, 4}};

static struct nat64_table_params params(void)
{
	struct nat64_table_params p = {
	    .pool = POOL,
	    .npool = 1,
	    .port_min = 61001,
	    .port_max = 65535,
	    .max_bib = 1000,
	    .max_sessions = 10000,
	    .udp_ms = UDP_MS,
	    .icmp_ms = ICMP_MS,
	    .tcp_est_ms = EST_MS,
	    .tcp_trans_ms = TRANS_MS,
	    .tcp_incoming_syn_ms = SYN_MS,
	    .secret = {0x5e, 0xc7, 0x3e, 0x70, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
	};
	return p;
}

static struct nat64_table *mk(const struct nat64_table_params *p)
{
	struct nat64_table *t = nat64_table_new(p);

	cr_assert_not_null(t);
	return t;
}

static struct nat64_table *mk_default(void)
{
	struct nat64_table_params p = params();

	return mk(&p);
}

static void x6(uint8_t *a, uint32_t host)
{
	static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};

	memcpy(a, base, 16);
	a[12] = (uint8_t)(host >> 24);
	a[13] = (uint8_t)(host >> 16);
	a[14] = (uint8_t)(host >> 8);
	a[15] = (uint8_t)host;
}

static void y4(uint8_t *a, uint8_t n)
{
	a[0] = 198;
	a[1] = 51;
	a[2] = 100;
	a[3] = n;
}

/* A 6->4 packet from (2001:db8::host, x) to (198.51.100.y, yp); tu gets (T, t). */
static int out(struct nat64_table *t, struct nat64_tuple *tu, uint8_t proto, uint32_t host,
	       uint16_t x, uint8_t y, uint16_t yp, uint8_t flags, uint64_t now)
{
	memset(tu, 0, sizeof(*tu));
	tu->proto = proto;
	x6(tu->addr6, host);
	tu->port6 = x;
	y4(tu->raddr, y);
	tu->rport = yp;
	return nat64_table_out(t, tu, flags, true, now);
}

/* A 4->6 packet from (198.51.100.y, yp) to (T, tp); tu gets (X', x). */
static int in(struct nat64_table *t, struct nat64_tuple *tu, uint8_t proto, const uint8_t *T,
	      uint16_t tp, uint8_t y, uint16_t yp, uint8_t flags, uint64_t now)
{
	memset(tu, 0, sizeof(*tu));
	tu->proto = proto;
	memcpy(tu->addr4, T, 4);
	tu->port4 = tp;
	y4(tu->raddr, y);
	tu->rport = yp;
	return nat64_table_in(t, tu, flags, now);
}

/* Finding one session through foreach (the only view of state and expiry). */
struct want {
	struct nat64_tuple k;
	struct nat64_session_info got;
	int n;
};

static bool want_cb(void *ctx, const struct nat64_session_info *s)
{
	struct want *w = ctx;

	if (s->tu.proto == w->k.proto && s->tu.port6 == w->k.port6 && s->tu.rport == w->k.rport &&
	    !memcmp(s->tu.addr6, w->k.addr6, 16) && !memcmp(s->tu.raddr, w->k.raddr, 4)) {
		w->got = *s;
		w->n++;
	}
	return true;
}

/* The session of tu's (proto, X', x, Y, y), or false. */
static bool sess(const struct nat64_table *t, const struct nat64_tuple *tu,
		 struct nat64_session_info *si)
{
	struct want w = {.k = *tu};

	nat64_table_foreach(t, NAT64_NPROTO, want_cb, &w);
	cr_assert(w.n <= 1, "one session per tuple");
	if (w.n && si)
		*si = w.got;
	return w.n == 1;
}

static void expect(const struct nat64_table *t, const struct nat64_tuple *tu, int state,
		   uint64_t expires)
{
	struct nat64_session_info si = {0};

	cr_assert(sess(t, tu, &si), "session exists");
	cr_expect_eq(si.tcp_state, state, "state %d, want %d", si.tcp_state, state);
	cr_expect_eq(si.expires, expires, "expires %llu, want %llu", (unsigned long long)si.expires,
		     (unsigned long long)expires);
}

static struct nat64_table_info info(const struct nat64_table *t)
{
	struct nat64_table_info i;

	nat64_table_info(t, &i);
	return i;
}

/* Probe recorder. */
struct probes {
	int n;
	struct nat64_tuple last;
};

static void probe_cb(void *ctx, const struct nat64_tuple *tu)
{
	struct probes *p = ctx;

	p->n++;
	p->last = *tu;
}

static void tick(struct nat64_table *t, uint64_t now)
{
	nat64_table_tick(t, now, NULL, NULL);
}

/* B 7: one (T, t) for every destination of (X', x). */
Test(table, eim_two_destinations)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, b;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &b, NAT64_UDP, 1, 5000, 2, 123, 0, 0), NAT64_T_OK);
	cr_expect_arr_eq(a.addr4, POOL[0], 4);
	cr_expect_arr_eq(b.addr4, a.addr4, 4);
	cr_expect_eq(b.port4, a.port4);
	cr_expect(a.port4 >= 61001);
	struct nat64_table_info i = info(t);

	cr_expect_eq(i.bib[NAT64_UDP], 1);
	cr_expect_eq(i.sessions[NAT64_UDP], 2);
	cr_expect_eq(i.bib_created, 1);
	cr_expect_eq(i.sessions_created, 2);
	/* Another source port is another binding. */
	cr_assert_eq(out(t, &b, NAT64_UDP, 1, 5001, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_neq(b.port4, a.port4);
	nat64_table_free(t);
}

/* B 8: under endpoint-independent filtering any (Y, y) reaches (T, t), making a session. */
Test(table, eif_any_remote)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_UDP, a.addr4, a.port4, 99, 4444, 0, SEC), NAT64_T_OK);
	uint8_t want[16];

	x6(want, 1);
	cr_expect_arr_eq(r.addr6, want, 16);
	cr_expect_eq(r.port6, 5000);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 2);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 99, 4444, 0, SEC), NAT64_T_OK);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 2, "the inbound session is the same one");
	nat64_table_free(t);
}

/* B 8: address-dependent filtering admits a Y that X' has a session with, on any port. */
Test(table, adf_filters_unknown_address)
{
	struct nat64_table_params p = params();

	p.is_adf = true;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_eq(in(t, &r, NAT64_UDP, a.addr4, a.port4, 2, 53, 0, 0), NAT64_T_FILTERED);
	cr_expect_eq(info(t).refused[NAT64_T_FILTERED], 1);
	cr_expect_eq(in(t, &r, NAT64_UDP, a.addr4, a.port4, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_eq(in(t, &r, NAT64_UDP, a.addr4, a.port4, 1, 9999, 0, 0), NAT64_T_OK);
	cr_expect_eq(r.port6, 5000);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 2);
	/* TCP: a V4 SYN from a contacted Y on another port makes a V4_INIT session. */
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 6000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_expect_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 2, 80, SYN, 0), NAT64_T_FILTERED);
	cr_expect_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 81, SYN, 0), NAT64_T_OK);
	expect(t, &r, NAT64_TCP_V4_INIT, SYN_MS);
	cr_expect_eq(info(t).refused[NAT64_T_FILTERED], 2);
	nat64_table_free(t);
}

Test(table, inbound_unbound_no_bib)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;
	static const uint8_t other[4] = {10, 5, 0, 9};

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	uint16_t free_port = a.port4 == 61001 ? 61002 : 61001;

	cr_expect_eq(in(t, &r, NAT64_UDP, a.addr4, free_port, 1, 53, 0, 0), NAT64_T_NO_BIB);
	cr_expect_eq(in(t, &r, NAT64_UDP, other, a.port4, 1, 53, 0, 0), NAT64_T_NO_BIB);
	cr_expect_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 53, SYN, 0), NAT64_T_NO_BIB,
		     "the UDP binding is not a TCP one");
	cr_expect_eq(info(t).refused[NAT64_T_NO_BIB], 3);
	nat64_table_free(t);
}

/* B 9, RFC 4787 REQ-4: t has x's parity while the range has such ports free. */
Test(table, port_parity)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a;

	for (uint32_t i = 0; i < 400; i++) {
		uint16_t x = (uint16_t)(20000 + i * 7);

		cr_assert_eq(out(t, &a, NAT64_UDP, i, x, 1, 53, 0, 0), NAT64_T_OK);
		cr_assert_eq(a.port4 & 1, x & 1, "x %u -> t %u", x, a.port4);
		cr_assert(a.port4 >= 61001 && a.port4 <= 65535);
	}
	nat64_table_free(t);

	/* A range of one odd port: an even x gets it anyway. */
	struct nat64_table_params p = params();

	p.port_min = p.port_max = 61001;
	t = mk(&p);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 2000, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_eq(a.port4, 61001);
	nat64_table_free(t);
}

/* B 9, RFC 4787 REQ-3: the range class of x when the range has ports of it; the range only. */
Test(table, port_range_class)
{
	struct nat64_table_params p = params();

	p.port_min = 600;
	p.port_max = 1500;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;

	for (uint32_t i = 0; i < 300; i++) {
		cr_assert_eq(out(t, &a, NAT64_UDP, i, (uint16_t)(1 + i), 1, 53, 0, 0), NAT64_T_OK);
		cr_assert(a.port4 >= 600 && a.port4 <= 1023, "x %u -> t %u", 1 + i, a.port4);
		cr_assert_eq(out(t, &a, NAT64_UDP, i, (uint16_t)(40000 + i), 1, 53, 0, 0),
			     NAT64_T_OK);
		cr_assert(a.port4 >= 1024 && a.port4 <= 1500, "x %u -> t %u", 40000 + i, a.port4);
	}
	nat64_table_free(t);

	/* The default range has no port < 1024: a privileged x gets one of the range. */
	t = mk_default();
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 80, 1, 80, SYN, 0), NAT64_T_OK);
	cr_expect(a.port4 >= 61001);
	cr_expect_eq(a.port4 & 1, 0);
	nat64_table_free(t);

	/* A class full spills into the other class of the range. */
	p.port_min = 1020;
	p.port_max = 1030;
	t = mk(&p);
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(out(t, &a, NAT64_UDP, i, 22, 1, 53, 0, 0), NAT64_T_OK);
		cr_assert(a.port4 >= 1020 && a.port4 <= 1023);
	}
	cr_assert_eq(out(t, &a, NAT64_UDP, 9, 22, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect(a.port4 >= 1024 && a.port4 <= 1030, "t %u", a.port4);
	nat64_table_free(t);
}

/* B 13: an echo request makes (X', i) <-> (T, j); the reply maps back; j from the range. */
Test(table, icmp_ids)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_ICMP, 1, 0x1234, 1, 0x1234, 0, 0), NAT64_T_OK);
	cr_expect(a.port4 >= 61001 && a.port4 <= 65535);
	cr_expect_eq(a.port4 & 1, 0x1234 & 1);
	/* The reply carries j as its identifier; the remote "port" is not part of the session. */
	cr_assert_eq(in(t, &r, NAT64_ICMP, a.addr4, a.port4, 1, a.port4, 0, 10 * SEC), NAT64_T_OK);
	cr_expect_eq(r.port6, 0x1234);
	cr_expect_eq(info(t).sessions[NAT64_ICMP], 1);
	a.rport = 0;
	expect(t, &a, NAT64_TCP_CLOSED, 10 * SEC + ICMP_MS);
	/* Anything but a request does not make a binding. */
	memset(&a, 0, sizeof(a));
	a.proto = NAT64_ICMP;
	x6(a.addr6, 2);
	a.port6 = 7;
	y4(a.raddr, 1);
	cr_expect_eq(nat64_table_out(t, &a, 0, false, 0), NAT64_T_NO_BIB);
	/* A second id of the same host is a second binding. */
	cr_assert_eq(out(t, &a, NAT64_ICMP, 1, 0x1235, 1, 0, 0, 0), NAT64_T_OK);
	cr_expect_eq(info(t).bib[NAT64_ICMP], 2);
	nat64_table_free(t);
}

/* B 9: TCP and UDP may share a (T, t), one protocol never. */
Test(table, tcp_udp_share_port)
{
	struct nat64_table_params p = params();

	p.port_min = p.port_max = 61001;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 2, 5000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_expect_eq(a.port4, 61001);
	cr_assert_eq(out(t, &a, NAT64_ICMP, 3, 5000, 1, 0, 0, 0), NAT64_T_OK);
	cr_expect_eq(out(t, &a, NAT64_UDP, 2, 5000, 1, 53, 0, 0), NAT64_T_NO_PORT);
	cr_expect_eq(out(t, &a, NAT64_TCP, 1, 5000, 1, 80, SYN, 0), NAT64_T_NO_PORT);
	cr_expect_eq(info(t).refused[NAT64_T_NO_PORT], 2);
	nat64_table_free(t);
}

/* B 11: a range of 4 ports: the fifth binding fails, counted; freed ports are reused. */
Test(table, exhaustion_no_port_then_reuse)
{
	struct nat64_table_params p = params();

	p.port_min = 61000;
	p.port_max = 61003;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;
	bool seen[4] = {false};

	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(out(t, &a, NAT64_UDP, i, 5000, 1, 53, 0, 0), NAT64_T_OK);
		cr_assert(a.port4 >= 61000 && a.port4 <= 61003);
		cr_assert_not(seen[a.port4 - 61000]);
		seen[a.port4 - 61000] = true;
	}
	cr_expect_eq(info(t).ports_total, 4);
	cr_expect_eq(out(t, &a, NAT64_UDP, 4, 5000, 1, 53, 0, 0), NAT64_T_NO_PORT);
	cr_expect_eq(out(t, &a, NAT64_UDP, 5, 5001, 1, 53, 0, 1), NAT64_T_NO_PORT);
	cr_expect_eq(info(t).refused[NAT64_T_NO_PORT], 2);
	/* An existing binding still gets new sessions. */
	cr_expect_eq(out(t, &a, NAT64_UDP, 0, 5000, 2, 53, 0, 0), NAT64_T_OK);
	tick(t, UDP_MS - SEC);
	cr_expect_eq(info(t).bib[NAT64_UDP], 4);
	tick(t, UDP_MS);
	cr_expect_eq(info(t).bib[NAT64_UDP], 0);
	cr_expect_eq(info(t).bib_expired, 4);
	cr_assert_eq(out(t, &a, NAT64_UDP, 4, 5000, 1, 53, 0, UDP_MS), NAT64_T_OK);
	cr_expect(a.port4 >= 61000 && a.port4 <= 61003);
	nat64_table_free(t);
}

/* RFC 4787 REQ-2: an X' keeps its pool address while it has a free port; then the next one. */
Test(table, pool_second_address_when_full)
{
	struct nat64_table_params p = params();

	p.npool = 2;
	p.port_min = 61000;
	p.port_max = 61001;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;
	uint8_t first[4];

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	memcpy(first, a.addr4, 4);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5001, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_arr_eq(a.addr4, first, 4, "paired: the same address while it has ports");
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5002, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect(memcmp(a.addr4, first, 4) != 0);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5003, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_eq(out(t, &a, NAT64_UDP, 1, 5004, 1, 53, 0, 0), NAT64_T_NO_PORT);
	cr_expect_eq(info(t).ports_total, 4);
	nat64_table_free(t);
}

/* G 53: max_bib per protocol and max_sessions in all. */
Test(table, caps_counted)
{
	struct nat64_table_params p = params();

	p.max_bib = 2;
	p.max_sessions = 5;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 1, 1, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_UDP, 2, 1, 1, 53, 0, 0), NAT64_T_OK);
	cr_expect_eq(out(t, &a, NAT64_UDP, 3, 1, 1, 53, 0, 0), NAT64_T_BIB_FULL);
	cr_assert_eq(out(t, &a, NAT64_TCP, 3, 1, 1, 53, SYN, 0), NAT64_T_OK, "per protocol");
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 1, 2, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 1, 3, 53, 0, 0), NAT64_T_OK);
	struct nat64_tuple u = a;

	cr_expect_eq(out(t, &a, NAT64_UDP, 1, 1, 4, 53, 0, 0), NAT64_T_SESS_FULL);
	cr_expect_eq(in(t, &a, NAT64_UDP, u.addr4, u.port4, 9, 9, 0, 0), NAT64_T_SESS_FULL);
	cr_expect_eq(out(t, &a, NAT64_ICMP, 1, 1, 1, 0, 0, 0), NAT64_T_SESS_FULL);
	struct nat64_table_info i = info(t);

	cr_expect_eq(i.refused[NAT64_T_BIB_FULL], 1);
	cr_expect_eq(i.refused[NAT64_T_SESS_FULL], 3);
	cr_expect_eq(i.max_bib, 2);
	cr_expect_eq(i.max_sessions, 5);
	cr_expect_eq(i.sessions[NAT64_UDP] + i.sessions[NAT64_TCP], 5);
	cr_expect_eq(i.bib[NAT64_ICMP], 0, "a refusal leaves nothing behind");
	nat64_table_free(t);
}

/* B 14: V6 SYN -> V6_INIT with the transitory timer; freed after 4 min, the BIB entry too. */
Test(table, tcp_v6_syn_v6_init_expires)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 10 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_INIT, 10 * SEC + TRANS_MS);
	cr_expect_eq(info(t).tcp_states[NAT64_TCP_V6_INIT], 1);
	/* Non-SYN traffic does not refresh V6_INIT. */
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, 20 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_INIT, 10 * SEC + TRANS_MS);
	tick(t, 10 * SEC + TRANS_MS - SEC);
	cr_expect(sess(t, &a, NULL));
	tick(t, 10 * SEC + TRANS_MS);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_eq(info(t).bib[NAT64_TCP], 0);
	cr_expect_eq(info(t).tcp_states[NAT64_TCP_V6_INIT], 0);
	cr_expect_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, SYN | ACK, 0), NAT64_T_NO_BIB);
	nat64_table_free(t);
}

/* RFC 6146 §3.5.2.2 V6 INIT: a V6 SYN again sets the transitory lifetime again. */
Test(table, tcp_v6_init_syn_again_refreshes)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a;

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 3 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_INIT, 3 * SEC + TRANS_MS);
	tick(t, TRANS_MS);
	cr_expect(sess(t, &a, NULL), "refreshed: not freed at the first expiry");
	tick(t, 3 * SEC + TRANS_MS);
	cr_expect_not(sess(t, &a, NULL));
	nat64_table_free(t);
}

/*
 * V6 SYN, V4 SYN -> ESTABLISHED (2 h 04 min); at expiry the probe (B 15) and TRANS for 4 min;
 * nothing came back: freed, the BIB entry with it.
 */
Test(table, tcp_established_probe_then_delete)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;
	struct probes pr = {0};

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, SYN | ACK, SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_ESTABLISHED, SEC + EST_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, 2 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_ESTABLISHED, 2 * SEC + EST_MS);
	uint64_t e = 2 * SEC + EST_MS;

	nat64_table_tick(t, e - SEC, probe_cb, &pr);
	cr_expect_eq(pr.n, 0);
	nat64_table_tick(t, e, probe_cb, &pr);
	cr_assert_eq(pr.n, 1);
	cr_expect_arr_eq(pr.last.addr6, a.addr6, 16);
	cr_expect_eq(pr.last.port6, 40000);
	cr_expect_arr_eq(pr.last.addr4, a.addr4, 4);
	cr_expect_eq(pr.last.port4, a.port4);
	cr_expect_arr_eq(pr.last.raddr, a.raddr, 4);
	cr_expect_eq(pr.last.rport, 80);
	cr_expect_eq(pr.last.proto, NAT64_TCP);
	expect(t, &a, NAT64_TCP_TRANS, e + TRANS_MS);
	cr_expect_eq(info(t).probes, 1);
	nat64_table_tick(t, e + TRANS_MS - SEC, probe_cb, &pr);
	cr_expect(sess(t, &a, NULL));
	nat64_table_tick(t, e + TRANS_MS, probe_cb, &pr);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_eq(pr.n, 1, "TRANS is not probed");
	cr_expect_eq(info(t).bib[NAT64_TCP], 0);
	cr_expect_eq(info(t).sessions_expired, 1);
	nat64_table_free(t);
}

/* The probe's answer (any non-RST) brings the session back to ESTABLISHED. */
Test(table, tcp_probe_answered)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;
	struct probes pr = {0};

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, SYN | ACK, 0), NAT64_T_OK);
	nat64_table_tick(t, EST_MS, probe_cb, &pr);
	cr_assert_eq(pr.n, 1);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, EST_MS + 5 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_ESTABLISHED, EST_MS + 5 * SEC + EST_MS);
	nat64_table_tick(t, EST_MS + TRANS_MS, probe_cb, &pr);
	cr_expect(sess(t, &a, NULL));
	cr_expect_eq(pr.n, 1);
	nat64_table_free(t);
}

/* V4 SYN on an existing BIB entry (EIF) -> V4_INIT for 6 s, then freed. */
Test(table, tcp_v4_syn_v4_init_6s)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 2, 5555, SYN, 10 * SEC), NAT64_T_OK);
	cr_expect_eq(r.port6, 40000);
	expect(t, &r, NAT64_TCP_V4_INIT, 10 * SEC + SYN_MS);
	/* A non-SYN from v4 does not change it. */
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 2, 5555, ACK, 11 * SEC), NAT64_T_OK);
	expect(t, &r, NAT64_TCP_V4_INIT, 10 * SEC + SYN_MS);
	tick(t, 10 * SEC + SYN_MS - SEC);
	cr_expect(sess(t, &r, NULL));
	tick(t, 10 * SEC + SYN_MS);
	cr_expect_not(sess(t, &r, NULL));
	cr_expect(sess(t, &a, NULL), "the other session and the BIB entry stay");
	cr_expect_eq(info(t).bib[NAT64_TCP], 1);
	nat64_table_free(t);
}

/* V4_INIT + V6 SYN -> ESTABLISHED (simultaneous open). */
Test(table, tcp_v4_init_v6_syn_established)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 2, 5555, SYN, SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 2, 5555, SYN | ACK, 3 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_ESTABLISHED, 3 * SEC + EST_MS);
	tick(t, SEC + SYN_MS);
	cr_expect(sess(t, &a, NULL));
	nat64_table_free(t);
}

/* B 17 and the header: a v4 non-SYN without a session is refused, no state made. */
Test(table, tcp_v4_nonsyn_no_session)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_expect_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 2, 5555, ACK, 0), NAT64_T_NO_SESSION);
	cr_expect_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 2, 5555, RST, 0), NAT64_T_NO_SESSION);
	cr_expect_eq(info(t).refused[NAT64_T_NO_SESSION], 2);
	cr_expect_eq(info(t).sessions[NAT64_TCP], 1);
	nat64_table_free(t);
}

/* B 17: a v6 non-SYN passes on a BIB entry without making a session; without one, refused. */
Test(table, tcp_v6_nonsyn)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, b;

	cr_expect_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, 0), NAT64_T_NO_BIB);
	cr_expect_eq(info(t).bib[NAT64_TCP], 0);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &b, NAT64_TCP, 1, 40000, 7, 443, ACK, 0), NAT64_T_OK);
	cr_expect_eq(b.port4, a.port4);
	cr_expect_not(sess(t, &b, NULL));
	cr_expect_eq(info(t).sessions[NAT64_TCP], 1);
	cr_expect_eq(info(t).refused[NAT64_T_NO_BIB], 1);
	nat64_table_free(t);
}

/* Opens a TCP session to ESTABLISHED at time 0; a is the 6->4 tuple. */
static void established(struct nat64_table *t, struct nat64_tuple *a)
{
	struct nat64_tuple r;

	cr_assert_eq(out(t, a, NAT64_TCP, 1, 40000, 1, 80, SYN, 0), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a->addr4, a->port4, 1, 80, SYN | ACK, 0), NAT64_T_OK);
	expect(t, a, NAT64_TCP_ESTABLISHED, EST_MS);
}

/*
 * ESTABLISHED + V6 FIN -> V6_FIN_RCV (a FIN is no refresh: "any other packet" is); other
 * packets refresh the established timer; + V4 FIN -> both FINs, transitory, never refreshed.
 */
Test(table, tcp_v6_fin_then_v4_fin)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	established(t, &a);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, FIN | ACK, 10 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_FIN_RCV, EST_MS);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, ACK, 20 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_FIN_RCV, 20 * SEC + EST_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, FIN | ACK, 25 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_FIN_RCV, 25 * SEC + EST_MS);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, FIN | ACK, 30 * SEC),
		     NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_FIN_V4_FIN, 30 * SEC + TRANS_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, 40 * SEC), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, RST, 41 * SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, SYN, 42 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_FIN_V4_FIN, 30 * SEC + TRANS_MS);
	struct probes pr = {0};

	nat64_table_tick(t, 30 * SEC + TRANS_MS, probe_cb, &pr);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_eq(pr.n, 0);
	nat64_table_free(t);
}

/* ESTABLISHED + V4 FIN -> V4_FIN_RCV; + V6 FIN -> both FINs. */
Test(table, tcp_v4_fin_then_v6_fin)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	established(t, &a);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, FIN | ACK, 10 * SEC),
		     NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V4_FIN_RCV, EST_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, 20 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V4_FIN_RCV, 20 * SEC + EST_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, FIN | ACK, 30 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_V6_FIN_V4_FIN, 30 * SEC + TRANS_MS);
	cr_expect_eq(info(t).tcp_states[NAT64_TCP_V6_FIN_V4_FIN], 1);
	cr_expect_eq(info(t).tcp_states[NAT64_TCP_ESTABLISHED], 0);
	tick(t, 30 * SEC + TRANS_MS - SEC);
	cr_expect(sess(t, &a, NULL));
	tick(t, 30 * SEC + TRANS_MS);
	cr_expect_not(sess(t, &a, NULL));
	nat64_table_free(t);
}

/* A FIN_RCV session that times out is freed, not probed. */
Test(table, tcp_fin_rcv_expiry_not_probed)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a;
	struct probes pr = {0};

	established(t, &a);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, FIN, 10 * SEC), NAT64_T_OK);
	nat64_table_tick(t, EST_MS, probe_cb, &pr);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_eq(pr.n, 0);
	nat64_table_free(t);
}

/*
 * B 14: RST in ESTABLISHED -> TRANS; a non-RST -> back to ESTABLISHED. The wheel first moves
 * the session to its 2 h slot (tick at 300 s), so the RST has to bring it forward at once.
 */
Test(table, tcp_rst_trans_and_back)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;
	uint64_t t0 = 300 * SEC;

	established(t, &a);
	tick(t, t0);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, RST, t0 + 10 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_TRANS, t0 + 10 * SEC + TRANS_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, RST, t0 + 20 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_TRANS, t0 + 10 * SEC + TRANS_MS);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, ACK, t0 + 30 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_ESTABLISHED, t0 + 30 * SEC + EST_MS);
	tick(t, 2 * t0);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, RST | ACK, 2 * t0), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_TRANS, 2 * t0 + TRANS_MS);
	tick(t, 2 * t0 + TRANS_MS - SEC);
	cr_expect(sess(t, &a, NULL));
	tick(t, 2 * t0 + TRANS_MS);
	cr_expect_not(sess(t, &a, NULL), "freed at the transitory time, not at the old 2 h slot");
	nat64_table_free(t);
}

/* Jool's handle-rst-during-fin-rcv: a RST in V4_FIN_RCV or V6_FIN_RCV -> TRANS. */
Test(table, tcp_rst_in_fin_rcv)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	established(t, &a);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, FIN, 10 * SEC), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, RST, 20 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_TRANS, 20 * SEC + TRANS_MS);
	nat64_table_free(t);

	t = mk_default();
	established(t, &a);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 1, 80, FIN, 10 * SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 1, 80, RST, 20 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_TRANS, 20 * SEC + TRANS_MS);
	nat64_table_free(t);
}

/* B 12: UDP lives 5 min, refreshed by packets out and in. */
Test(table, udp_expiry_and_refresh)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_CLOSED, UDP_MS);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 100 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_CLOSED, 100 * SEC + UDP_MS);
	cr_assert_eq(in(t, &r, NAT64_UDP, a.addr4, a.port4, 1, 53, 0, 200 * SEC), NAT64_T_OK);
	expect(t, &a, NAT64_TCP_CLOSED, 200 * SEC + UDP_MS);
	tick(t, UDP_MS);
	tick(t, 100 * SEC + UDP_MS);
	cr_expect(sess(t, &a, NULL));
	tick(t, 200 * SEC + UDP_MS - SEC);
	cr_expect(sess(t, &a, NULL));
	tick(t, 200 * SEC + UDP_MS);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_eq(info(t).bib[NAT64_UDP], 0);
	nat64_table_free(t);
}

/* Expiry rounds up to the next whole second, never earlier. */
Test(table, expiry_rounding)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 1500), NAT64_T_OK);
	tick(t, 1500 + UDP_MS - 1);
	cr_expect(sess(t, &a, NULL));
	tick(t, 1500 + UDP_MS + 499);
	cr_expect(sess(t, &a, NULL));
	tick(t, 1500 + UDP_MS + 500);
	cr_expect_not(sess(t, &a, NULL));
	nat64_table_free(t);
}

/* B 6: a BIB entry goes with its last session, not before. */
Test(table, bib_freed_with_last_session)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, b, r;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &b, NAT64_UDP, 1, 5000, 2, 53, 0, 60 * SEC), NAT64_T_OK);
	tick(t, UDP_MS);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect(sess(t, &b, NULL));
	cr_expect_eq(info(t).bib[NAT64_UDP], 1);
	cr_expect_eq(nat64_table_find_in(t, &r), NAT64_T_NO_BIB, "r is all zero");
	r = b;
	cr_expect_eq(nat64_table_find_in(t, &r), NAT64_T_OK);
	tick(t, 60 * SEC + UDP_MS);
	struct nat64_table_info i = info(t);

	cr_expect_eq(i.bib[NAT64_UDP], 0);
	cr_expect_eq(i.sessions[NAT64_UDP], 0);
	cr_expect_eq(i.bib_expired, 1);
	cr_expect_eq(i.sessions_expired, 2);
	cr_expect_eq(in(t, &r, NAT64_UDP, b.addr4, b.port4, 2, 53, 0, 60 * SEC + UDP_MS),
		     NAT64_T_NO_BIB);
	nat64_table_free(t);
}

/* RFC 5508, B 12: the lookups for ICMP errors change nothing, timers included. */
Test(table, find_changes_nothing)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, q;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	struct nat64_table_info before = info(t);

	memset(&q, 0, sizeof(q));
	q.proto = NAT64_UDP;
	x6(q.addr6, 1);
	q.port6 = 5000;
	cr_assert_eq(nat64_table_find_out(t, &q), NAT64_T_OK);
	cr_expect_arr_eq(q.addr4, a.addr4, 4);
	cr_expect_eq(q.port4, a.port4);
	memset(&q, 0, sizeof(q));
	q.proto = NAT64_UDP;
	memcpy(q.addr4, a.addr4, 4);
	q.port4 = a.port4;
	cr_assert_eq(nat64_table_find_in(t, &q), NAT64_T_OK);
	cr_expect_arr_eq(q.addr6, a.addr6, 16);
	cr_expect_eq(q.port6, 5000);
	q.proto = NAT64_TCP;
	cr_expect_eq(nat64_table_find_in(t, &q), NAT64_T_NO_BIB);
	q.proto = NAT64_UDP;
	q.port6 = 5001;
	cr_expect_eq(nat64_table_find_out(t, &q), NAT64_T_NO_BIB);
	struct nat64_table_info after = info(t);

	cr_expect(!memcmp(&before, &after, sizeof(before)), "nothing counted or changed");
	expect(t, &a, NAT64_TCP_CLOSED, UDP_MS);
	tick(t, UDP_MS);
	cr_expect_not(sess(t, &a, NULL), "still expires at the old time");
	nat64_table_free(t);
}

/* B 10: owns is the pool and the range only. */
Test(table, owns_and_is_pool)
{
	struct nat64_table_params p = params();

	p.npool = 3;
	struct nat64_table *t = mk(&p);
	static const uint8_t other[4] = {10, 5, 0, 4};

	cr_expect(nat64_table_is_pool(t, POOL[0]));
	cr_expect(nat64_table_is_pool(t, POOL[2]));
	cr_expect_not(nat64_table_is_pool(t, other));
	cr_expect(nat64_table_owns(t, POOL[1], 61001));
	cr_expect(nat64_table_owns(t, POOL[1], 65535));
	cr_expect_not(nat64_table_owns(t, POOL[1], 61000));
	cr_expect_not(nat64_table_owns(t, POOL[1], 22));
	cr_expect_not(nat64_table_owns(t, other, 61001));
	nat64_table_free(t);
}

Test(table, result_names)
{
	cr_expect_str_eq(nat64_table_result_name(NAT64_T_OK), "ok");
	cr_expect_str_eq(nat64_table_result_name(NAT64_T_NO_PORT), "no_port");
	cr_expect_str_eq(nat64_table_result_name(NAT64_T_NO_SESSION), "no_session");
	cr_expect_str_eq(nat64_table_result_name(NAT64_T_NRESULTS), "unknown");
	cr_expect_str_eq(nat64_table_result_name(-1), "unknown");
	for (int r = 0; r < NAT64_T_NRESULTS; r++)
		cr_expect(strcmp(nat64_table_result_name(r), "unknown") != 0);
}

Test(table, bad_params)
{
	struct nat64_table_params p = params();

	p.npool = 0;
	cr_expect_null(nat64_table_new(&p));
	p = params();
	p.port_min = 0;
	cr_expect_null(nat64_table_new(&p));
	p = params();
	p.port_min = 2000;
	p.port_max = 1999;
	cr_expect_null(nat64_table_new(&p));
	p = params();
	p.pool = NULL;
	cr_expect_null(nat64_table_new(&p));
	p = params();
	p.max_sessions = 0;
	cr_expect_null(nat64_table_new(&p));
	static const uint8_t twice[][4] = {{10, 5, 0, 1}, {10, 5, 0, 1}};

	p = params();
	p.pool = twice;
	p.npool = 2;
	cr_expect_null(nat64_table_new(&p));
	cr_expect_null(nat64_table_new(NULL));
}

/* The sizes quoted in table.c, and an empty table's few KiB (the 4 MiB idle target). */
Test(table, info_sizes)
{
	struct nat64_table *t = mk_default();
	struct nat64_table_info i = info(t);

	cr_expect_eq(i.bytes_per_bib, 48);
	cr_expect_eq(i.bytes_per_session, 48);
	cr_expect_leq(i.memory, 12 * 1024, "empty table: %zu bytes", i.memory);
	cr_expect_eq(i.ports_total, 4535);
	nat64_table_free(t);
}

/* Growth to thousands of entries by doubling, and back to a fresh table's memory. */
Test(table, growth_and_back)
{
	struct nat64_table_params p = params();

	p.max_bib = 10000;
	p.port_min = 1024;
	struct nat64_table *t = mk(&p);
	size_t fresh = info(t).memory;
	struct nat64_tuple a;

	for (uint32_t round = 0; round < 2; round++) {
		uint64_t now = round * 2 * UDP_MS;

		for (uint32_t i = 0; i < 5000; i++)
			cr_assert_eq(out(t, &a, NAT64_UDP, i, 7, 1, 53, 0, now), NAT64_T_OK);
		struct nat64_table_info g = info(t);

		cr_expect_eq(g.bib[NAT64_UDP], 5000);
		cr_expect_geq(g.memory, fresh + 5000 * 48);
		cr_expect_leq(g.memory, fresh + 5000 * 48 * 4, "at most twice the live bytes");
		tick(t, now + UDP_MS);
		cr_expect_eq(info(t).bib[NAT64_UDP], 0);
		cr_expect_eq(info(t).memory, fresh, "back to %zu, is %zu", fresh, info(t).memory);
	}
	nat64_table_free(t);
}

/* A mapping made by the big test: what each (X', x) got. */
struct made {
	uint8_t addr6[16];
	uint16_t port6;
	uint8_t addr4[4];
	uint16_t port4;
	uint8_t raddr[2][4];
	uint16_t rport[2];
};

static int cmp_t(const void *a, const void *b)
{
	const struct made *x = a, *y = b;
	int c = memcmp(x->addr4, y->addr4, 4);

	return c ? c : (int)x->port4 - (int)y->port4;
}

/* 50000 bindings with two sessions each, random addresses and ports, every lookup checked. */
Test(table, many_sessions)
{
	struct nat64_table_params p = params();

	p.npool = 4;
	p.port_min = 1024;
	p.max_bib = 100000;
	p.max_sessions = 200000;
	struct nat64_table *t = mk(&p);
	enum { N = 50000 };
	struct made *m = calloc(N, sizeof(*m));
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct nat64_tuple tu;

	cr_assert_not_null(m);
	for (uint32_t i = 0; i < N; i++) {
		th_rnd_bytes(&rng, m[i].addr6, 16);
		m[i].addr6[0] = 0x20; /* 2000::/3, with i in the last bytes: all distinct */
		m[i].addr6[12] = (uint8_t)(i >> 24);
		m[i].addr6[13] = (uint8_t)(i >> 16);
		m[i].addr6[14] = (uint8_t)(i >> 8);
		m[i].addr6[15] = (uint8_t)i;
		m[i].port6 = (uint16_t)(th_xorshift64(&rng) | 1);
		for (int k = 0; k < 2; k++) {
			th_rnd_bytes(&rng, m[i].raddr[k], 4);
			m[i].raddr[k][3] = (uint8_t)k; /* the two differ */
			m[i].rport[k] = (uint16_t)th_xorshift64(&rng);
			memset(&tu, 0, sizeof(tu));
			tu.proto = NAT64_UDP;
			memcpy(tu.addr6, m[i].addr6, 16);
			tu.port6 = m[i].port6;
			memcpy(tu.raddr, m[i].raddr[k], 4);
			tu.rport = m[i].rport[k];
			cr_assert_eq(nat64_table_out(t, &tu, 0, true, i / 100), NAT64_T_OK);
			if (k == 0) {
				memcpy(m[i].addr4, tu.addr4, 4);
				m[i].port4 = tu.port4;
			} else {
				cr_assert_eq(tu.port4, m[i].port4);
				cr_assert_arr_eq(tu.addr4, m[i].addr4, 4);
			}
		}
	}
	struct nat64_table_info in4 = info(t);

	cr_expect_eq(in4.bib[NAT64_UDP], N);
	cr_expect_eq(in4.sessions[NAT64_UDP], 2 * N);
	cr_expect_eq(in4.refused[NAT64_T_NO_PORT], 0);
	cr_expect_leq(in4.memory, (size_t)(2 * N) * 48 * 3, "memory %zu", in4.memory);
	for (uint32_t i = 0; i < N; i++) {
		memset(&tu, 0, sizeof(tu));
		tu.proto = NAT64_UDP;
		memcpy(tu.addr6, m[i].addr6, 16);
		tu.port6 = m[i].port6;
		cr_assert_eq(nat64_table_find_out(t, &tu), NAT64_T_OK);
		cr_assert_eq(tu.port4, m[i].port4);
		cr_assert_arr_eq(tu.addr4, m[i].addr4, 4);
		for (int k = 0; k < 2; k++) {
			memset(&tu, 0, sizeof(tu));
			tu.proto = NAT64_UDP;
			memcpy(tu.addr4, m[i].addr4, 4);
			tu.port4 = m[i].port4;
			memcpy(tu.raddr, m[i].raddr[k], 4);
			tu.rport = m[i].rport[k];
			cr_assert_eq(nat64_table_in(t, &tu, 0, 1000), NAT64_T_OK);
			cr_assert_arr_eq(tu.addr6, m[i].addr6, 16);
			cr_assert_eq(tu.port6, m[i].port6);
		}
	}
	cr_expect_eq(info(t).sessions[NAT64_UDP], 2 * N, "inbound found the sessions");
	qsort(m, N, sizeof(*m), cmp_t);
	for (uint32_t i = 1; i < N; i++)
		cr_assert(cmp_t(&m[i - 1], &m[i]) != 0, "(T, t) bound twice");
	for (uint32_t i = 0; i < N; i++)
		cr_assert(m[i].port4 >= 1024 && (m[i].port4 & 1), "parity of x kept");
	tick(t, 1000 + UDP_MS);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 0);
	struct nat64_table *fresh = mk(&p);

	cr_expect_eq(info(t).memory, info(fresh).memory);
	nat64_table_free(fresh);
	free(m);
	nat64_table_free(t);
}

/* Snapshot restore (G 54): foreach, restore into a new table, foreach again: the same. */
struct snap {
	struct nat64_session_info s[64];
	int n;
};

static bool snap_cb(void *ctx, const struct nat64_session_info *s)
{
	struct snap *sn = ctx;

	cr_assert_lt(sn->n, 64);
	sn->s[sn->n++] = *s;
	return true;
}

static int cmp_info(const void *a, const void *b)
{
	const struct nat64_session_info *x = a, *y = b;
	int c;

	if (x->tu.proto != y->tu.proto)
		return x->tu.proto - y->tu.proto;
	if ((c = memcmp(x->tu.addr6, y->tu.addr6, 16)))
		return c;
	if (x->tu.port6 != y->tu.port6)
		return x->tu.port6 - y->tu.port6;
	if ((c = memcmp(x->tu.raddr, y->tu.raddr, 4)))
		return c;
	return x->tu.rport - y->tu.rport;
}

static void same(const struct nat64_session_info *x, const struct nat64_session_info *y)
{
	cr_assert_eq(cmp_info(x, y), 0);
	cr_assert_arr_eq(x->tu.addr4, y->tu.addr4, 4);
	cr_assert_eq(x->tu.port4, y->tu.port4);
	cr_assert_eq(x->tcp_state, y->tcp_state);
	cr_assert_eq(x->expires, y->expires);
}

Test(table, restore_roundtrip)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, r;
	struct snap s1 = {0}, s2 = {0};

	established(t, &a);
	cr_assert_eq(out(t, &a, NAT64_TCP, 1, 40000, 2, 443, SYN, SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 2, 40001, 2, 443, SYN, SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_TCP, 2, 40001, 2, 443, FIN, SEC), NAT64_T_OK);
	cr_assert_eq(in(t, &r, NAT64_TCP, a.addr4, a.port4, 3, 80, SYN, 2 * SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 40000, 1, 53, 0, 3 * SEC), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_UDP, 3, 53, 4, 53, 0, 4 * SEC), NAT64_T_OK);
	uint16_t udp_t = a.port4;

	cr_assert_eq(out(t, &a, NAT64_ICMP, 1, 77, 1, 0, 0, 5 * SEC), NAT64_T_OK);
	nat64_table_foreach(t, NAT64_NPROTO, snap_cb, &s1);
	cr_assert_eq(s1.n, 7);

	struct nat64_table *u = mk_default();

	for (int i = 0; i < s1.n; i++)
		cr_assert_eq(nat64_table_restore(u, &s1.s[i]), NAT64_T_OK);
	cr_assert_eq(nat64_table_restore(u, &s1.s[0]), NAT64_T_OK, "twice is harmless");
	nat64_table_foreach(u, NAT64_NPROTO, snap_cb, &s2);
	cr_assert_eq(s2.n, s1.n);
	qsort(s1.s, s1.n, sizeof(s1.s[0]), cmp_info);
	qsort(s2.s, s2.n, sizeof(s2.s[0]), cmp_info);
	for (int i = 0; i < s1.n; i++)
		same(&s1.s[i], &s2.s[i]);
	struct nat64_table_info i1 = info(t), i2 = info(u);

	cr_expect_arr_eq(i1.bib, i2.bib, sizeof(i1.bib));
	cr_expect_arr_eq(i1.tcp_states, i2.tcp_states, sizeof(i1.tcp_states));
	/* The restored table works: a known flow keeps its (T, t), the V4_INIT expires at 8 s. */
	cr_assert_eq(out(u, &r, NAT64_UDP, 3, 53, 4, 53, 0, 6 * SEC), NAT64_T_OK);
	cr_expect_eq(r.port4, udp_t);
	s2.n = 0;
	nat64_table_foreach(u, NAT64_TCP, snap_cb, &s2);
	cr_expect_eq(s2.n, 4, "foreach by protocol");
	tick(u, 2 * SEC + SYN_MS - SEC);
	cr_expect_eq(info(u).tcp_states[NAT64_TCP_V4_INIT], 1);
	tick(u, 2 * SEC + SYN_MS);
	cr_expect_eq(info(u).tcp_states[NAT64_TCP_V4_INIT], 0);
	cr_expect_eq(info(u).sessions[NAT64_TCP], 3);
	nat64_table_free(u);
	nat64_table_free(t);
}

/* Restore refuses a (T, t) held by another X', a second (T, t) for one X', and non-pool. */
Test(table, restore_refusals)
{
	struct nat64_table *t = mk_default();
	struct nat64_session_info s = {.expires = UDP_MS};

	s.tu.proto = NAT64_UDP;
	x6(s.tu.addr6, 1);
	s.tu.port6 = 5000;
	memcpy(s.tu.addr4, POOL[0], 4);
	s.tu.port4 = 62000;
	y4(s.tu.raddr, 1);
	s.tu.rport = 53;
	cr_assert_eq(nat64_table_restore(t, &s), NAT64_T_OK);
	struct nat64_session_info o = s;

	x6(o.tu.addr6, 2);
	cr_expect_eq(nat64_table_restore(t, &o), NAT64_T_NO_PORT, "(T, t) is X' 1's");
	o = s;
	o.tu.port4 = 62001;
	o.tu.rport = 54;
	cr_expect_eq(nat64_table_restore(t, &o), NAT64_T_NO_PORT, "X' 1 has (T, 62000)");
	o = s;
	o.tu.port4 = 1000;
	x6(o.tu.addr6, 3);
	cr_expect_eq(nat64_table_restore(t, &o), NAT64_T_NO_PORT, "outside the range");
	o.tu.port4 = 62002;
	o.tu.addr4[3] = 9;
	cr_expect_eq(nat64_table_restore(t, &o), NAT64_T_NO_PORT, "outside the pool");
	o = s;
	o.tu.proto = NAT64_TCP;
	o.tcp_state = NAT64_TCP_CLOSED;
	cr_expect_eq(nat64_table_restore(t, &o), NAT64_T_NO_SESSION, "TCP needs a state");
	o.tcp_state = NAT64_TCP_ESTABLISHED;
	cr_expect_eq(nat64_table_restore(t, &o), NAT64_T_OK, "TCP may share UDP's (T, t)");
	cr_expect_eq(info(t).refused[NAT64_T_NO_PORT], 4);
	/* Restored before any clock, freed by the first tick past its expiry. */
	tick(t, UDP_MS - SEC);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 1);
	tick(t, UDP_MS);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 0);
	nat64_table_free(t);
}

/* A restored session already past its time goes at the next tick. */
Test(table, restore_expired)
{
	struct nat64_table *t = mk_default();
	struct nat64_session_info s = {.expires = 5 * SEC};

	tick(t, 100 * SEC);
	s.tu.proto = NAT64_UDP;
	x6(s.tu.addr6, 1);
	s.tu.port6 = 5000;
	memcpy(s.tu.addr4, POOL[0], 4);
	s.tu.port4 = 62000;
	y4(s.tu.raddr, 1);
	cr_assert_eq(nat64_table_restore(t, &s), NAT64_T_OK);
	tick(t, 101 * SEC);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 0);
	nat64_table_free(t);
}

/* A jump of days: one tick does it all (each slot once), then the wheel goes on as before. */
Test(table, tick_long_jump)
{
	struct nat64_table *t = mk_default();
	struct nat64_tuple a, e, r;
	struct probes pr = {0};

	established(t, &e);
	cr_assert_eq(out(t, &a, NAT64_ICMP, 1, 1, 1, 0, 0, 0), NAT64_T_OK);
	for (uint32_t i = 0; i < 300; i++)
		cr_assert_eq(out(t, &a, NAT64_UDP, i, 5000, 1, 53, 0, i * SEC), NAT64_T_OK);
	uint64_t now = 10ull * 24 * 3600 * SEC;

	nat64_table_tick(t, now, probe_cb, &pr);
	cr_expect_eq(pr.n, 1);
	struct nat64_table_info i = info(t);

	cr_expect_eq(i.sessions[NAT64_UDP], 0);
	cr_expect_eq(i.sessions[NAT64_ICMP], 0);
	cr_expect_eq(i.tcp_states[NAT64_TCP_TRANS], 1);
	expect(t, &e, NAT64_TCP_TRANS, now + TRANS_MS);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, now + SEC), NAT64_T_OK);
	nat64_table_tick(t, now + TRANS_MS, probe_cb, &pr);
	cr_expect_eq(info(t).sessions[NAT64_TCP], 0);
	nat64_table_tick(t, now + SEC + UDP_MS - SEC, probe_cb, &pr);
	cr_expect(sess(t, &a, NULL));
	nat64_table_tick(t, now + SEC + UDP_MS, probe_cb, &pr);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_eq(in(t, &r, NAT64_UDP, a.addr4, a.port4, 1, 53, 0, now + UDP_MS + SEC),
		     NAT64_T_NO_BIB);
	nat64_table_free(t);
}

/* A lifetime of several revolutions of the wheel (3 h), ticked every 7 minutes and jumped. */
Test(table, lifetime_past_one_revolution)
{
	struct nat64_table_params p = params();

	p.udp_ms = 3 * 60 * MIN;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a, b;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, 0), NAT64_T_OK);
	cr_assert_eq(out(t, &b, NAT64_UDP, 2, 5000, 1, 53, 0, 0), NAT64_T_OK);
	for (uint64_t now = 7 * MIN; now < p.udp_ms; now += 7 * MIN) {
		tick(t, now);
		cr_assert(sess(t, &a, NULL), "alive at %llu", (unsigned long long)now);
	}
	tick(t, p.udp_ms - SEC);
	cr_expect(sess(t, &a, NULL));
	tick(t, p.udp_ms);
	cr_expect_not(sess(t, &a, NULL));
	cr_expect_not(sess(t, &b, NULL));

	/* Refreshed later than its slot, then jumped over: the refresh holds. */
	uint64_t t0 = p.udp_ms;

	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, t0), NAT64_T_OK);
	cr_assert_eq(out(t, &a, NAT64_UDP, 1, 5000, 1, 53, 0, t0 + 90 * MIN), NAT64_T_OK);
	tick(t, t0 + p.udp_ms + 80 * MIN);
	cr_expect(sess(t, &a, NULL));
	tick(t, t0 + 90 * MIN + p.udp_ms);
	cr_expect_not(sess(t, &a, NULL));
	nat64_table_free(t);
}

/* Lookups of the (T, t) and of the sessions of hosts first..first+n-1 (port x, Y 1 and 2). */
static void check_alive(struct nat64_table *t, uint32_t first, uint32_t n, uint32_t step,
			bool alive, uint64_t now)
{
	for (uint32_t h = first; h < first + n; h += step) {
		struct nat64_tuple q = {.proto = NAT64_UDP, .port6 = 7}, r;

		x6(q.addr6, h);
		if (!alive) {
			cr_assert_eq(nat64_table_find_out(t, &q), NAT64_T_NO_BIB, "host %u", h);
			continue;
		}
		cr_assert_eq(nat64_table_find_out(t, &q), NAT64_T_OK, "host %u", h);
		r = q;
		memset(r.addr6, 0, 16);
		cr_assert_eq(nat64_table_find_in(t, &r), NAT64_T_OK, "host %u", h);
		cr_assert_arr_eq(r.addr6, q.addr6, 16);
		for (uint8_t y = 1; y <= 2; y++)
			cr_assert_eq(in(t, &r, NAT64_UDP, q.addr4, q.port4, y, 53, 0, now),
				     NAT64_T_OK);
	}
}

/*
 * Half the entries freed (no compaction: more than a quarter stay): the backward-shift
 * deletion leaves every other entry reachable, and sessions were found, not made anew.
 */
Test(table, deletion_keeps_others_reachable)
{
	struct nat64_table_params p = params();

	p.port_min = 1024;
	p.max_bib = 10000;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;

	for (uint32_t h = 0; h < 3000; h++)
		for (uint8_t y = 1; y <= 2; y++)
			cr_assert_eq(out(t, &a, NAT64_UDP, h, 7, y, 53, 0, (h & 1) * 100 * SEC),
				     NAT64_T_OK);
	size_t full = info(t).memory;

	tick(t, UDP_MS);
	cr_assert_eq(info(t).bib[NAT64_UDP], 1500);
	cr_expect_eq(info(t).memory, full, "not compacted");
	check_alive(t, 1, 3000, 2, true, UDP_MS);
	check_alive(t, 0, 3000, 2, false, UDP_MS);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 3000);
	/* The freed entries are reused before the arrays grow. */
	for (uint32_t h = 0; h < 3000; h += 2)
		cr_assert_eq(out(t, &a, NAT64_UDP, h, 7, 1, 53, 0, UDP_MS), NAT64_T_OK);
	cr_expect_eq(info(t).memory, full);
	check_alive(t, 1, 3000, 2, true, UDP_MS);
	nat64_table_free(t);
}

/*
 * A few survivors through a compaction: their bindings, sessions, BIB session lists and wheel
 * slots are renumbered, and everything goes on working.
 */
Test(table, compaction_keeps_survivors)
{
	struct nat64_table_params p = params();

	p.port_min = 1024;
	p.max_bib = 10000;
	struct nat64_table *t = mk(&p);
	struct nat64_tuple a;

	for (uint32_t h = 0; h < 3000; h++)
		for (uint8_t y = 1; y <= 2; y++)
			cr_assert_eq(
			    out(t, &a, NAT64_UDP, h, 7, y, 53, 0, h % 20 == 3 ? 100 * SEC : 0),
			    NAT64_T_OK);
	size_t full = info(t).memory;

	tick(t, UDP_MS);
	cr_assert_eq(info(t).bib[NAT64_UDP], 150);
	cr_expect_lt(info(t).memory, full / 4, "compacted: %zu of %zu", info(t).memory, full);
	check_alive(t, 3, 3000, 20, true, UDP_MS);
	check_alive(t, 4, 3000, 20, false, UDP_MS);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 300);
	/* A new session on a survivor, living past its two old ones. */
	cr_assert_eq(out(t, &a, NAT64_UDP, 3, 7, 9, 53, 0, UDP_MS + 10 * SEC), NAT64_T_OK);
	tick(t, 2 * UDP_MS);
	cr_expect_eq(info(t).bib[NAT64_UDP], 1);
	cr_expect_eq(info(t).sessions[NAT64_UDP], 1);
	tick(t, 2 * UDP_MS + 10 * SEC);
	cr_expect_eq(info(t).bib[NAT64_UDP], 0);
	cr_expect_eq(info(t).sessions_expired, 6001);
	nat64_table_free(t);
}
