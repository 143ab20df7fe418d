/*
 * test_snap: the NAT64 snapshot (nat64/snap) over real translators. Sessions are made by real
 * packets through nat64_input6/4 (a TCP handshake to ESTABLISHED, a bare SYN, UDP, an ICMP
 * echo), encoded, and restored into a fresh nat64 with another clock; then every session is
 * compared field by field, a flow keeps its outside port, and the wheel of the new table
 * expires each session at the right second. The refusals: truncation at every length, every
 * bit flip, magic, version, another key or prefix, a pool that lost T, the size cap; and, with
 * snapshots crafted here with msgpack-c (a valid CRC over invalid content), each corruption of
 * type or size and each impossible value.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "lib/crc32.h"
#include "lib/icmp.h"
#include "lib/pkt.h"
#include "nat64/nat64.h"
#include "nat64/snap.h"
#include "support/refcsum.h"

enum { PKT_CAP = 4096, MAXS = 64 };

/* Clocks: the first run (M1, W1), a restart 5e9 ms of uptime later on another host clock. */
static const uint64_t M1 = 1000000, W1 = 1700000000000ull, M2 = 5000000300ull;

static const uint8_t X1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t X2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
static const uint8_t T[4] = {203, 0, 113, 1};
static const uint8_t Y1[4] = {192, 0, 2, 2};
static const uint8_t Y2[4] = {192, 0, 2, 3};
static const uint8_t PREFIX[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x64};

static struct {
	struct pkt_pool *pool;
	size_t n4, n6;
	uint8_t last4[PKT_CAP], last6[PKT_CAP];
	size_t len4, len6;
} E;

static void on_out4(void *ctx, struct pkt *p)
{
	(void)ctx;
	cr_assert_leq(p->len, PKT_CAP);
	memcpy(E.last4, p->data, p->len);
	E.len4 = p->len;
	E.n4++;
	pkt_free(p);
}

static void on_out6(void *ctx, struct pkt *p)
{
	(void)ctx;
	cr_assert_leq(p->len, PKT_CAP);
	memcpy(E.last6, p->data, p->len);
	E.len6 = p->len;
	E.n6++;
	pkt_free(p);
}

static void setup(void)
{
	memset(&E, 0, sizeof(E));
	E.pool = pkt_pool_new(64, PKT_CAP);
	cr_assert_not_null(E.pool);
}

static void teardown(void)
{
	struct pkt_pool_info pi;

	pkt_pool_info(E.pool, &pi);
	cr_expect_eq(pi.in_use, 0, "%zu pkts leaked", pi.in_use);
	pkt_pool_free(E.pool);
}

TestSuite(snap, .init = setup, .fini = teardown);

/* A translator with prefix 2001:db8:64::/96, pool t4 (203.0.113.1 by default), PortRange. */
static struct nat64 *mk_pool(const uint8_t t4[4], uint16_t pmin, uint16_t pmax)
{
	struct config_nat64 c = {0};
	struct inet_prefix p4 = {.family = AF_INET, .len = 32};
	struct nat64_params np = {0};
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct nat64 *n;

	memcpy(p4.addr, t4, 4);
	c.is_enabled = true;
	c.prefix.family = AF_INET6;
	c.prefix.len = 96;
	memcpy(c.prefix.addr, PREFIX, 16);
	c.pool4 = &p4;
	c.n_pool4 = 1;
	c.port_min = pmin;
	c.port_max = pmax;
	c.mss_clamp = true;
	c.filtering = CONFIG_NAT64_FILTER_ENDPOINT_INDEPENDENT;
	c.udp_timeout = 300;
	c.icmp_timeout = 60;
	c.tcp_est_timeout = 7440;
	c.tcp_trans_timeout = 240;
	c.max_bib_entries = 65536;
	c.max_sessions = 262144;
	c.max_fragments = 16;
	c.max_stored_syns = 2;
	np.cfg = &c;
	np.mtu6 = 1500;
	np.mtu4 = 1500;
	np.pool = E.pool;
	np.out4 = on_out4;
	np.out6 = on_out6;
	np.secret = secret;
	n = nat64_new(&np);
	cr_assert_not_null(n);
	return n;
}

static struct nat64 *mk(void)
{
	return mk_pool(T, 61001, 65535);
}

static void id_of(struct nat64_snap_id *id)
{
	memset(id, 0, sizeof(*id));
	for (int i = 0; i < 32; i++)
		id->key[i] = (uint8_t)(0xa0 + i);
	memcpy(id->prefix, PREFIX, 16);
	id->prefix_len = 96;
}

/* Packets (RFC 8200, 791, 768, 9293, 4443 layouts, no options). */

static void p16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint16_t g16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void fix_l4(uint8_t *b, size_t len, size_t l3, size_t at)
{
	b[l3 + at] = b[l3 + at + 1] = 0;
	p16(b + l3 + at, (uint16_t)~ref_l4_sum(b, len));
}

static void embed(const uint8_t v4[4], uint8_t out[16])
{
	memcpy(out, PREFIX, 12);
	memcpy(out + 12, v4, 4);
}

static size_t ip6(uint8_t *b, const uint8_t src[16], const uint8_t v4dst[4], uint8_t nh,
		  size_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	p16(b + 4, (unsigned)plen);
	b[6] = nh;
	b[7] = 64;
	memcpy(b + 8, src, 16);
	embed(v4dst, b + 24);
	return 40 + plen;
}

static size_t udp6(uint8_t *b, const uint8_t src[16], const uint8_t dst[4], uint16_t sp,
		   uint16_t dp)
{
	size_t len = ip6(b, src, dst, 17, 12);

	p16(b + 40, sp);
	p16(b + 42, dp);
	p16(b + 44, 12);
	memcpy(b + 48, "ping", 4);
	fix_l4(b, len, 40, 6);
	return len;
}

static size_t tcp6(uint8_t *b, const uint8_t src[16], const uint8_t dst[4], uint16_t sp,
		   uint16_t dp, uint8_t flags)
{
	size_t len = ip6(b, src, dst, 6, 20);

	memset(b + 40, 0, 20);
	p16(b + 40, sp);
	p16(b + 42, dp);
	b[44] = 0x11;
	b[52] = 5 << 4;
	b[53] = flags;
	p16(b + 54, 65535);
	fix_l4(b, len, 40, 16);
	return len;
}

static size_t echo6(uint8_t *b, const uint8_t src[16], const uint8_t dst[4], uint16_t id)
{
	size_t len = ip6(b, src, dst, 58, 8);

	memset(b + 40, 0, 8);
	b[40] = ICMP6_ECHO_REQUEST;
	p16(b + 44, id);
	p16(b + 46, 1);
	fix_l4(b, len, 40, 2);
	return len;
}

static size_t tcp4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint16_t sp, uint16_t dp,
		   uint8_t flags)
{
	memset(b, 0, 40);
	b[0] = 0x45;
	p16(b + 2, 40);
	b[6] = 0x40;
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	p16(b + 10, (uint16_t)~ref_csum(b, 20, 0));
	p16(b + 20, sp);
	p16(b + 22, dp);
	b[24] = 0x22;
	b[32] = 5 << 4;
	b[33] = flags;
	p16(b + 34, 65535);
	fix_l4(b, 40, 20, 16);
	return 40;
}

static void in6(struct nat64 *n, const uint8_t *b, size_t len, uint64_t now)
{
	struct pkt *p = pkt_alloc(E.pool);

	cr_assert_not_null(p);
	memcpy(pkt_put(p, len), b, len);
	nat64_input6(n, p, now);
}

static void in4(struct nat64 *n, const uint8_t *b, size_t len, uint64_t now)
{
	struct pkt *p = pkt_alloc(E.pool);

	cr_assert_not_null(p);
	memcpy(pkt_put(p, len), b, len);
	nat64_input4(n, p, now);
}

/* The outside ports the sessions of make_sessions got. */
struct ports {
	uint16_t tcp, tcp2, udp, icmp;
};

/*
 * Four sessions at M1: X1:40000 -> Y1:80 TCP ESTABLISHED (SYN, SYN-ACK, ACK), X2:40001 ->
 * Y2:443 TCP V6_INIT (a bare SYN), X1:5353 -> Y1:53 UDP, X1 echo id 77 -> Y2.
 */
static void make_sessions(struct nat64 *n, struct ports *pt)
{
	uint8_t b[256];
	size_t n4 = E.n4;

	in6(n, b, tcp6(b, X1, Y1, 40000, 80, NAT64_SYN), M1);
	cr_assert_eq(E.n4, n4 + 1);
	pt->tcp = g16(E.last4 + 20);
	in4(n, b, tcp4(b, Y1, T, 80, pt->tcp, NAT64_SYN | NAT64_ACK), M1);
	cr_assert_eq(E.n6, 1, "the SYN-ACK reaches the client");
	in6(n, b, tcp6(b, X1, Y1, 40000, 80, NAT64_ACK), M1);
	in6(n, b, tcp6(b, X2, Y2, 40001, 443, NAT64_SYN), M1);
	pt->tcp2 = g16(E.last4 + 20);
	in6(n, b, udp6(b, X1, Y1, 5353, 53), M1);
	pt->udp = g16(E.last4 + 20);
	in6(n, b, echo6(b, X1, Y2, 77), M1);
	cr_assert_eq(E.last4[9], 1, "an ICMP echo");
	pt->icmp = g16(E.last4 + 24);
	cr_assert_eq(E.n4, n4 + 5);
}

struct list {
	struct nat64_session_info s[MAXS];
	int n;
};

static bool list_cb(void *ctx, const struct nat64_session_info *s)
{
	struct list *l = ctx;

	cr_assert_lt(l->n, MAXS);
	l->s[l->n++] = *s;
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

/* The sessions of n, sorted. */
static struct list sessions(const struct nat64 *n)
{
	struct list l = {0};

	nat64_foreach_session(n, NAT64_NPROTO, list_cb, &l);
	qsort(l.s, (size_t)l.n, sizeof(l.s[0]), cmp_info);
	return l;
}

static size_t count(const struct nat64 *n)
{
	struct nat64_info ni;

	nat64_get_info(n, &ni);
	return ni.table.sessions[0] + ni.table.sessions[1] + ni.table.sessions[2];
}

static const struct nat64_session_info *find(const struct list *l, int proto)
{
	for (int i = 0; i < l->n; i++)
		if (l->s[i].tu.proto == proto)
			return &l->s[i];
	return NULL;
}

/* A snapshot of make_sessions at (M1, W1) with id_of's id. */
static uint8_t *snapshot(struct ports *pt, size_t *len, struct list *before)
{
	struct nat64 *n = mk();
	struct nat64_snap_id id;
	uint8_t *buf;

	id_of(&id);
	make_sessions(n, pt);
	if (before)
		*before = sessions(n);
	cr_assert_eq(nat64_snap_encode(n, &id, M1, W1, &buf, len), 0);
	nat64_free(n);
	return buf;
}

static int restore(struct nat64 *n, const uint8_t *b, size_t len, uint64_t mono, uint64_t wall,
		   struct nat64_snap_stats *st, char *err)
{
	struct nat64_snap_id id;

	id_of(&id);
	return nat64_snap_restore(n, &id, b, len, mono, wall, st, err, 160);
}

Test(snap, round_trip_every_field)
{
	struct ports pt;
	struct list l1, l2;
	struct nat64_snap_stats st;
	char err[160] = "unset";
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, &l1);
	struct nat64 *n = mk();

	cr_assert_eq(l1.n, 4);
	cr_expect_eq(find(&l1, NAT64_TCP)->tcp_state, NAT64_TCP_ESTABLISHED);
	/* Ten seconds of wall time passed; the new process's clock is elsewhere. */
	cr_assert_eq(restore(n, buf, len, M2, W1 + 10000, &st, err), 0, "%s", err);
	cr_expect_str_eq(err, "");
	cr_expect_eq(st.saved, W1);
	cr_expect_eq(st.sessions, 4);
	cr_expect_eq(st.restored, 4);
	cr_expect_eq(st.expired, 0);
	cr_expect_eq(st.refused, 0);
	l2 = sessions(n);
	cr_assert_eq(l2.n, l1.n);
	for (int i = 0; i < l1.n; i++) {
		const struct nat64_session_info *a = &l1.s[i], *b = &l2.s[i];

		cr_expect_eq(cmp_info(a, b), 0, "session %d", i);
		cr_expect_arr_eq(a->tu.addr4, b->tu.addr4, 4);
		cr_expect_eq(a->tu.port4, b->tu.port4);
		cr_expect_eq(a->tu.rport, b->tu.rport);
		cr_expect_eq(a->tcp_state, b->tcp_state);
		cr_expect_eq(b->expires, a->expires - M1 + M2 - 10000, "session %d: %llu", i,
			     (unsigned long long)b->expires);
	}
	cr_expect_eq(find(&l2, NAT64_UDP)->tu.port4, pt.udp);
	cr_expect_eq(find(&l2, NAT64_ICMP)->tu.port4, pt.icmp);
	cr_expect_eq(nat64_now(n), M2);
	nat64_free(n);
	free(buf);
}

/* After a restart the flows go on: the same (T, t) out, and inbound to an ESTABLISHED one. */
Test(snap, flows_keep_their_outside_port)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	uint8_t b[256];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();

	cr_assert_eq(restore(n, buf, len, M2, W1 + 2000, &st, err), 0, "%s", err);
	size_t n4 = E.n4, n6 = E.n6;

	in6(n, b, udp6(b, X1, Y1, 5353, 53), M2 + 10);
	cr_assert_eq(E.n4, n4 + 1);
	cr_expect_arr_eq(E.last4 + 12, T, 4);
	cr_expect_eq(g16(E.last4 + 20), pt.udp, "UDP keeps t %u", pt.udp);
	in6(n, b, tcp6(b, X1, Y1, 40000, 80, NAT64_ACK), M2 + 20);
	cr_assert_eq(E.n4, n4 + 2, "a non-SYN of the restored connection passes");
	cr_expect_eq(g16(E.last4 + 20), pt.tcp);
	in4(n, b, tcp4(b, Y1, T, 80, pt.tcp, NAT64_ACK), M2 + 30);
	cr_assert_eq(E.n6, n6 + 1, "the server's data reach the client");
	cr_expect_arr_eq(E.last6 + 24, X1, 16);
	cr_expect_eq(g16(E.last6 + 42), 40000);
	in6(n, b, echo6(b, X1, Y2, 77), M2 + 40);
	cr_expect_eq(g16(E.last4 + 24), pt.icmp, "the echo keeps its identifier");
	/* A new flow does not take a restored port. */
	in6(n, b, udp6(b, X2, Y1, 5353, 53), M2 + 50);
	cr_expect_neq(g16(E.last4 + 20), pt.udp);
	nat64_free(n);
	free(buf);
}

Test(snap, expired_by_wall_time_skipped)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();
	struct list l;

	/* 60 s later the ICMP session (60 s) has just expired; UDP (300 s) and TCP have not. */
	cr_assert_eq(restore(n, buf, len, M2, W1 + 60000, &st, err), 0, "%s", err);
	cr_expect_eq(st.sessions, 4);
	cr_expect_eq(st.expired, 1);
	cr_expect_eq(st.restored, 3);
	cr_expect_eq(st.refused, 0);
	l = sessions(n);
	cr_expect_eq(l.n, 3);
	cr_expect_null(find(&l, NAT64_ICMP));
	nat64_free(n);
	/* An hour later only the ESTABLISHED connection (2 h 4 min) is left. */
	n = mk();
	cr_assert_eq(restore(n, buf, len, M2, W1 + 3600000, &st, err), 0, "%s", err);
	cr_expect_eq(st.expired, 3);
	cr_expect_eq(st.restored, 1);
	l = sessions(n);
	cr_assert_eq(l.n, 1);
	cr_expect_eq(l.s[0].tcp_state, NAT64_TCP_ESTABLISHED);
	cr_expect_eq(l.s[0].expires, M2 + 7440000 - 3600000);
	nat64_free(n);
	free(buf);
}

/* The host clock set back an hour since saving: no session gains that hour. */
Test(snap, wall_clock_set_back)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	struct list l1, l2;
	uint8_t *buf = snapshot(&pt, &len, &l1);
	struct nat64 *n = mk();

	cr_assert_eq(restore(n, buf, len, M2, W1 - 3600000, &st, err), 0, "%s", err);
	cr_expect_eq(st.restored, 4);
	l2 = sessions(n);
	cr_assert_eq(l2.n, 4);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(l2.s[i].expires, l1.s[i].expires - M1 + M2);
	nat64_free(n);
	free(buf);
}

/*
 * The wheel of a fresh table that only restore has filled (no input, no tick yet) and whose
 * clock starts at a large uv_now-like M2: ticking once a second, each session goes at the first
 * tick at or after its expiry rounded up to a second (table.h), and not before.
 */
Test(snap, restored_sessions_expire_on_time)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();
	struct list l0;
	const struct nat64_session_info *est = NULL;

	cr_assert_eq(restore(n, buf, len, M2, W1, &st, err), 0, "%s", err);
	l0 = sessions(n);
	cr_assert_eq(l0.n, 4);
	for (uint64_t k = 0; k <= 301; k++) {
		uint64_t now = M2 + k * 1000;
		struct list l;

		nat64_tick(n, now);
		l = sessions(n);
		for (int i = 0; i < l0.n; i++) {
			const struct nat64_session_info *s = &l0.s[i];
			bool is_est = s->tcp_state == NAT64_TCP_ESTABLISHED;
			bool want = is_est || now / 1000 < (s->expires + 999) / 1000, have = false;

			for (int j = 0; j < l.n; j++)
				have |= !cmp_info(s, &l.s[j]);
			cr_assert_eq(have, want, "k=%llu: session %d (proto %d, expires %llu)",
				     (unsigned long long)k, i, s->tu.proto,
				     (unsigned long long)s->expires);
		}
	}
	/*
	 * Gone: ICMP due at 60.3 s (freed at k=61), V6_INIT at 240.3 s (k=241), UDP at 300.3 s
	 * (k=301). Left: only ESTABLISHED.
	 */
	cr_assert_eq(count(n), 1);
	for (int i = 0; i < l0.n; i++)
		if (l0.s[i].tcp_state == NAT64_TCP_ESTABLISHED)
			est = &l0.s[i];
	cr_assert_not_null(est);
	/* Its timeout: the probe (B 15) at the second it is due, not one before. */
	uint64_t due = (est->expires + 999) / 1000 * 1000;
	size_t n6 = E.n6;

	nat64_tick(n, due - 1000);
	cr_expect_eq(E.n6, n6, "no probe before it is due");
	nat64_tick(n, due);
	cr_expect_eq(E.n6, n6 + 1, "the probe");
	cr_expect_arr_eq(E.last6 + 24, X1, 16);
	struct list l = sessions(n);

	cr_assert_eq(l.n, 1);
	cr_expect_eq(l.s[0].tcp_state, NAT64_TCP_TRANS);
	nat64_tick(n, due + 240000);
	cr_expect_eq(count(n), 0);
	nat64_free(n);
	free(buf);
}

/* Restored sessions next to live ones: a table that has run (clock started) takes them too. */
Test(snap, restore_into_running_table)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	uint8_t b[256];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();

	in6(n, b, udp6(b, X2, Y2, 7000, 7), M2 - 5000);
	nat64_tick(n, M2 - 4000);
	cr_assert_eq(restore(n, buf, len, M2, W1, &st, err), 0, "%s", err);
	cr_expect_eq(st.restored, 4);
	cr_expect_eq(count(n), 5);
	nat64_tick(n, M2 + 60000);
	cr_expect_eq(count(n), 5, "the ICMP session is due at 60.3 s");
	nat64_tick(n, M2 + 61000);
	cr_expect_eq(count(n), 4, "and gone by the tick after");
	nat64_free(n);
	free(buf);
}

Test(snap, truncated_at_every_length)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();

	for (size_t l = 0; l < len; l++) {
		uint8_t *cut = malloc(l ? l : 1); /* exact size: a read past it is ASan's */

		memcpy(cut, buf, l);
		memset(&st, 0xff, sizeof(st));
		err[0] = 0;
		cr_assert_eq(restore(n, cut, l, M2, W1, &st, err), -EBADMSG, "length %zu of %zu", l,
			     len);
		cr_assert_neq(err[0], 0);
		cr_assert_eq(st.sessions + st.restored + st.refused + st.expired + st.saved, 0);
		free(cut);
	}
	cr_expect_eq(count(n), 0, "nothing restored");
	restore(n, buf, 3, M2, W1, &st, err);
	cr_expect_str_eq(err, "truncated (3 bytes)");
	restore(n, buf, len - 1, M2, W1, &st, err);
	cr_expect_str_eq(err, "truncated or corrupt (CRC mismatch)");
	nat64_free(n);
	free(buf);
}

Test(snap, every_bit_flip_rejected)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();
	size_t proto = 0;

	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int r = restore(n, buf, len, M2, W1, &st, err);

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert(r == -EBADMSG || r == -EPROTO, "bit %zu: %d", bit, r);
		proto += r == -EPROTO;
	}
	cr_expect_eq(count(n), 0);
	/* Foreign are the flips of the 13 header bytes and those of the version into another. */
	cr_expect_geq(proto, 13 * 8);
	cr_assert_eq(restore(n, buf, len, M2, W1, &st, err), 0, "unflipped");
	nat64_free(n);
	free(buf);
}

static void fix_crc(uint8_t *b, size_t len)
{
	uint32_t c = crc32_update(0, b, len - 5);

	cr_assert_eq(b[len - 5], 0xce);
	for (int i = 0; i < 4; i++)
		b[len - 4 + i] = (uint8_t)(c >> (24 - 8 * i));
}

Test(snap, magic_and_version)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk();
	static const char json[] = "{\"sessions\": []}";

	cr_assert_eq(memcmp(buf, "\x96\xabygg64-nat64\x01", 14), 0, "the header and version 1");
	buf[2] = 'Y';
	fix_crc(buf, len);
	cr_expect_eq(restore(n, buf, len, M2, W1, &st, err), -EPROTO);
	cr_expect_str_eq(err, "not a ygg64 NAT64 snapshot");
	buf[2] = 'y';
	buf[13] = 7;
	fix_crc(buf, len);
	cr_expect_eq(restore(n, buf, len, M2, W1, &st, err), -EPROTO);
	cr_expect_str_eq(err, "version 7, this ygg64 reads version 1");
	buf[13] = 0;
	fix_crc(buf, len);
	cr_expect_eq(restore(n, buf, len, M2, W1, &st, err), -EPROTO);
	cr_expect_str_eq(err, "version 0, this ygg64 reads version 1");
	cr_expect_eq(restore(n, (const uint8_t *)json, sizeof(json) - 1, M2, W1, &st, err), -EPROTO,
		     "another format altogether");
	cr_expect_eq(count(n), 0);
	nat64_free(n);
	free(buf);
}

Test(snap, foreign_key_or_prefix)
{
	struct nat64 *a = mk(), *n = mk();
	struct ports pt;
	struct nat64_snap_stats st;
	struct nat64_snap_id id;
	char err[160];
	uint8_t *buf;
	size_t len;

	make_sessions(a, &pt);
	id_of(&id);
	id.key[0] = 0x1a, id.key[1] = 0x2b, id.key[2] = 0x3c, id.key[3] = 0x4d;
	cr_assert_eq(nat64_snap_encode(a, &id, M1, W1, &buf, &len), 0);
	cr_expect_eq(restore(n, buf, len, M2, W1, &st, err), -ESTALE);
	cr_expect_str_eq(err, "saved by another node (key 1a2b3c4d..., this node a0a1a2a3...)");
	free(buf);

	id_of(&id);
	memcpy(id.prefix, (uint8_t[16]){0, 0x64, 0xff, 0x9b}, 16);
	cr_assert_eq(nat64_snap_encode(a, &id, M1, W1, &buf, &len), 0);
	cr_expect_eq(restore(n, buf, len, M2, W1, &st, err), -ESTALE);
	cr_expect_str_eq(err, "saved for NAT64 prefix 64:ff9b::/96, configured 2001:db8:64::/96");
	free(buf);

	id_of(&id);
	id.prefix_len = 64;
	cr_assert_eq(nat64_snap_encode(a, &id, M1, W1, &buf, &len), 0);
	cr_expect_eq(restore(n, buf, len, M2, W1, &st, err), -ESTALE);
	cr_expect_str_eq(err,
			 "saved for NAT64 prefix 2001:db8:64::/64, configured 2001:db8:64::/96");
	free(buf);
	cr_expect_eq(count(n), 0);
	nat64_free(n);
	nat64_free(a);
}

/* Pool4 or PortRange changed across the restart: the sessions are refused one by one. */
Test(snap, pool_without_t_refused)
{
	struct ports pt;
	struct nat64_snap_stats st;
	char err[160];
	size_t len;
	uint8_t *buf = snapshot(&pt, &len, NULL);
	struct nat64 *n = mk_pool((const uint8_t[4]){203, 0, 113, 9}, 61001, 65535);

	cr_assert_eq(restore(n, buf, len, M2, W1, &st, err), 0, "%s", err);
	cr_expect_eq(st.sessions, 4);
	cr_expect_eq(st.refused, 4);
	cr_expect_eq(st.restored, 0);
	cr_expect_eq(count(n), 0);
	nat64_free(n);
	n = mk_pool(T, 1024, 2047);
	cr_assert_eq(restore(n, buf, len, M2, W1, &st, err), 0, "%s", err);
	cr_expect_eq(st.refused, 4, "outside the new PortRange");
	cr_expect_eq(count(n), 0);
	nat64_free(n);
	free(buf);
}

Test(snap, size_cap)
{
	struct nat64 *n = mk();
	struct nat64_snap_stats st;
	char err[160];
	uint8_t *big = calloc(1, NAT64_SNAP_MAX + 1);

	cr_assert_not_null(big);
	cr_expect_eq(restore(n, big, NAT64_SNAP_MAX + 1, M2, W1, &st, err), -EFBIG);
	cr_expect_neq(err[0], 0);
	cr_expect_eq(restore(n, big, NAT64_SNAP_MAX, M2, W1, &st, err), -EPROTO,
		     "at the cap: read");
	free(big);
	nat64_free(n);
}

/* The empty table's snapshot, byte for byte: the format of snap.h. */
Test(snap, empty_table_round_trip)
{
	struct nat64 *n = mk();
	struct nat64_snap_id id;
	struct nat64_snap_stats st;
	char err[160];
	uint8_t *buf, want[200];
	size_t len, w = 0;
	uint64_t saved = W1;

	id_of(&id);
	cr_assert_eq(nat64_snap_encode(n, &id, M1, W1, &buf, &len), 0);
	memcpy(want + w, "\x96\xabygg64-nat64\x01\x84", 15), w += 15;
	memcpy(want + w, "\xa3key\xc4\x20", 6), w += 6;
	memcpy(want + w, id.key, 32), w += 32;
	memcpy(want + w, "\xa6prefix\xc4\x10", 9), w += 9;
	memcpy(want + w, id.prefix, 16), w += 16;
	memcpy(want + w, "\xaaprefix_len\x60\xa5saved\xcf", 19), w += 19;
	for (int i = 7; i >= 0; i--)
		want[w++] = (uint8_t)(saved >> (8 * i));
	want[w++] = 0x90; /* no sessions */
	want[w++] = 0xce;
	uint32_t c = crc32_update(0, want, w - 1);

	for (int i = 3; i >= 0; i--)
		want[w++] = (uint8_t)(c >> (8 * i));
	cr_assert_eq(len, w, "%zu bytes, want %zu", len, w);
	cr_expect_arr_eq(buf, want, w);
	cr_assert_eq(restore(n, buf, len, M2, W1, &st, err), 0, "%s", err);
	cr_expect_eq(st.sessions, 0);
	cr_expect_eq(st.restored + st.expired + st.refused, 0);
	cr_expect_eq(st.saved, W1);
	free(buf);
	nat64_free(n);
}

/* Crafted snapshots (msgpack-c here): a valid CRC over what the encoder never writes. */

struct craft {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void c_begin(struct craft *c, uint64_t version)
{
	msgpack_sbuffer_init(&c->sb);
	msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
	msgpack_pack_array(&c->pk, 6);
	msgpack_pack_str_with_body(&c->pk, "ygg64-nat64", 11);
	msgpack_pack_uint64(&c->pk, version);
}

static void c_key(struct craft *c, const char *k)
{
	msgpack_pack_str_with_body(&c->pk, k, strlen(k));
}

/* The header map of id_of, with extra pairs: unknown (ignored) or a repeated key. */
static void c_meta(struct craft *c, int extra)
{
	struct nat64_snap_id id;

	id_of(&id);
	msgpack_pack_map(&c->pk, 4 + (extra != 0));
	c_key(c, "key");
	msgpack_pack_bin_with_body(&c->pk, id.key, 32);
	c_key(c, "prefix");
	msgpack_pack_bin_with_body(&c->pk, id.prefix, 16);
	c_key(c, "prefix_len");
	msgpack_pack_uint64(&c->pk, 96);
	c_key(c, "saved");
	msgpack_pack_uint64(&c->pk, W1);
	if (extra == 1) {
		c_key(c, "comment");
		msgpack_pack_array(&c->pk, 2);
		msgpack_pack_nil(&c->pk);
		msgpack_pack_double(&c->pk, 1.5);
	} else if (extra == 2) {
		c_key(c, "saved");
		msgpack_pack_uint64(&c->pk, W1);
	}
}

/* One record, field by field as given (proto, x, t, y, state, wall), X1 -> Y1 via T. */
static void c_rec(struct craft *c, uint64_t proto, uint64_t x, uint64_t t, uint64_t y,
		  uint64_t state, uint64_t wall)
{
	msgpack_pack_array(&c->pk, 9);
	msgpack_pack_uint64(&c->pk, proto);
	msgpack_pack_bin_with_body(&c->pk, X1, 16);
	msgpack_pack_uint64(&c->pk, x);
	msgpack_pack_bin_with_body(&c->pk, T, 4);
	msgpack_pack_uint64(&c->pk, t);
	msgpack_pack_bin_with_body(&c->pk, Y1, 4);
	msgpack_pack_uint64(&c->pk, y);
	msgpack_pack_uint64(&c->pk, state);
	msgpack_pack_uint64(&c->pk, wall);
}

static void c_ok(struct craft *c, uint16_t x)
{
	c_rec(c, NAT64_UDP, x, 61000u + x, 53, NAT64_TCP_CLOSED, W1 + 100000);
}

static void c_raw(struct craft *c, const void *b, size_t n)
{
	msgpack_sbuffer_write(&c->sb, b, n);
}

/* Appends the CRC; restores into a fresh nat64; the session count left in *restored. */
static int c_end(struct craft *c, struct nat64_snap_stats *st, char *err, size_t *restored)
{
	struct nat64 *n = mk();
	int r;

	msgpack_pack_fix_uint32(&c->pk, crc32_update(0, c->sb.data, c->sb.size));
	r = restore(n, (const uint8_t *)c->sb.data, c->sb.size, M2, W1, st, err);
	*restored = count(n);
	msgpack_sbuffer_destroy(&c->sb);
	nat64_free(n);
	return r;
}

Test(snap, crafted_valid)
{
	struct craft c;
	struct nat64_snap_stats st;
	char err[160];
	size_t got;

	c_begin(&c, 1);
	c_meta(&c, 1);
	msgpack_pack_array(&c.pk, 2);
	c_ok(&c, 1);
	c_ok(&c, 2);
	cr_assert_eq(c_end(&c, &st, err, &got), 0, "%s: unknown keys are ignored", err);
	cr_expect_eq(st.restored, 2);
	cr_expect_eq(got, 2);
}

/* Right types, impossible values: each refused and counted, the rest restored. */
Test(snap, impossible_values_refused)
{
	struct craft c;
	struct nat64_snap_stats st;
	char err[160];
	size_t got;

	c_begin(&c, 1);
	c_meta(&c, 0);
	msgpack_pack_array(&c.pk, 11);
	c_ok(&c, 1);
	c_rec(&c, 3, 2, 61002, 53, 0, W1 + 1000);			      /* no such protocol */
	c_rec(&c, 200, 2, 61002, 53, 0, W1 + 1000);			      /* nor that */
	c_rec(&c, NAT64_UDP, 2, 61002, 53, NAT64_TCP_ESTABLISHED, W1 + 1000); /* UDP state */
	c_rec(&c, NAT64_TCP, 2, 61002, 53, NAT64_TCP_CLOSED, W1 + 1000);      /* closed TCP */
	c_rec(&c, NAT64_TCP, 2, 61002, 53, 8, W1 + 1000);		      /* no such state */
	c_rec(&c, NAT64_UDP, 70000, 61002, 53, 0, W1 + 1000);		      /* x */
	c_rec(&c, NAT64_UDP, 2, 65536, 53, 0, W1 + 1000);		      /* t */
	c_rec(&c, NAT64_ICMP, 2, 61002, 5, 0, W1 + 1000);		      /* ICMP y */
	c_rec(&c, NAT64_UDP, 2, 61002, 53, 0, W1 + 4294967296ull);	      /* 49.7 days + */
	c_rec(&c, NAT64_UDP, 3, 61003, 53, 0, W1 + 4294967295ull);	      /* the longest */
	cr_assert_eq(c_end(&c, &st, err, &got), 0, "%s", err);
	cr_expect_eq(st.sessions, 11);
	cr_expect_eq(st.refused, 9);
	cr_expect_eq(st.restored, 2);
	cr_expect_eq(got, 2);
}

/* A session twice: the second replaces the first (the table's rule) and counts refused. */
Test(snap, duplicate_record)
{
	struct craft c;
	struct nat64_snap_stats st;
	char err[160];
	size_t got;

	c_begin(&c, 1);
	c_meta(&c, 0);
	msgpack_pack_array(&c.pk, 3);
	c_ok(&c, 1);
	c_ok(&c, 1);
	c_rec(&c, NAT64_UDP, 1, 61001, 53, 0, W1); /* a third copy, expired */
	cr_assert_eq(c_end(&c, &st, err, &got), 0, "%s", err);
	cr_expect_eq(st.restored, 1);
	cr_expect_eq(st.refused, 1);
	cr_expect_eq(st.expired, 1);
	cr_expect_eq(got, 1);
}

enum corrupt {
	C_BIN15,      /* X' of 15 bytes */
	C_FIELDS8,    /* a record of 8 fields */
	C_PROTO_STR,  /* proto as a string */
	C_NEGATIVE,   /* expires a negative integer */
	C_COUNT_MORE, /* the list announces one more record than there is */
	C_TRAILING,   /* a byte after the last record */
	C_BOMB,	      /* a field announcing 2^32-1 array elements in 5 bytes */
	C_MAP_BOMB,   /* a map announcing 2^32-1 pairs */
	C_NOT_ARRAY,  /* a record that is a map */
	C_NO_SAVED,   /* the header map without "saved" */
	C_TWICE,      /* the header map with "saved" twice */
	C_KEY31,      /* the key of 31 bytes */
	C_FLOAT,      /* a port as a float */
	C_DEEP,	      /* a field nested 40 arrays deep */
	C_BIG_RECORD, /* a record over 256 bytes (a long string in it) */
	C_NCORRUPT
};

static void c_corrupt(struct craft *c, int k)
{
	struct nat64_snap_id id;

	id_of(&id);
	if (k == C_NO_SAVED || k == C_TWICE || k == C_KEY31) {
		msgpack_pack_map(&c->pk, k == C_TWICE ? 5 : 4);
		c_key(c, "key");
		msgpack_pack_bin_with_body(&c->pk, id.key, k == C_KEY31 ? 31 : 32);
		c_key(c, "prefix");
		msgpack_pack_bin_with_body(&c->pk, id.prefix, 16);
		c_key(c, "prefix_len");
		msgpack_pack_uint64(&c->pk, 96);
		if (k == C_NO_SAVED) {
			c_key(c, "other");
		} else {
			c_key(c, "saved");
			msgpack_pack_uint64(&c->pk, W1);
		}
		if (k == C_TWICE)
			c_key(c, "saved");
		msgpack_pack_uint64(&c->pk, W1);
		msgpack_pack_array(&c->pk, 1);
		c_ok(c, 1);
		return;
	}
	c_meta(c, 0);
	msgpack_pack_array(&c->pk, k == C_COUNT_MORE ? 3 : 2);
	c_ok(c, 1);
	switch (k) {
	case C_COUNT_MORE:
	case C_TRAILING:
		c_ok(c, 2);
		if (k == C_TRAILING)
			msgpack_pack_nil(&c->pk);
		return;
	case C_NOT_ARRAY:
		msgpack_pack_map(&c->pk, 0);
		return;
	case C_BIG_RECORD: {
		char s[300];

		memset(s, 'x', sizeof(s));
		msgpack_pack_array(&c->pk, 9);
		msgpack_pack_str_with_body(&c->pk, s, sizeof(s));
		for (int i = 0; i < 8; i++)
			msgpack_pack_uint64(&c->pk, 0);
		return;
	}
	}
	msgpack_pack_array(&c->pk, k == C_FIELDS8 ? 8 : 9);
	if (k == C_PROTO_STR)
		c_key(c, "udp");
	else
		msgpack_pack_uint64(&c->pk, NAT64_UDP);
	msgpack_pack_bin_with_body(&c->pk, X1, k == C_BIN15 ? 15 : 16);
	msgpack_pack_uint64(&c->pk, 2);
	msgpack_pack_bin_with_body(&c->pk, T, 4);
	if (k == C_FLOAT)
		msgpack_pack_double(&c->pk, 61002);
	else
		msgpack_pack_uint64(&c->pk, 61002);
	msgpack_pack_bin_with_body(&c->pk, Y1, 4);
	if (k == C_BOMB)
		c_raw(c, "\xdd\xff\xff\xff\xff", 5);
	else if (k == C_MAP_BOMB)
		c_raw(c, "\xdf\xff\xff\xff\xff", 5);
	else if (k == C_DEEP) {
		for (int i = 0; i < 40; i++)
			msgpack_pack_array(&c->pk, 1);
		msgpack_pack_uint64(&c->pk, 53);
	} else
		msgpack_pack_uint64(&c->pk, 53);
	msgpack_pack_uint64(&c->pk, 0);
	if (k == C_FIELDS8)
		return;
	if (k == C_NEGATIVE)
		msgpack_pack_int64(&c->pk, -1);
	else
		msgpack_pack_uint64(&c->pk, W1 + 1000);
}

/* Wrong types, sizes and counts under a valid CRC: the whole file is corrupt, none restored. */
Test(snap, corrupt_shapes)
{
	for (int k = 0; k < C_NCORRUPT; k++) {
		struct craft c;
		struct nat64_snap_stats st;
		char err[160];
		size_t got;

		c_begin(&c, 1);
		c_corrupt(&c, k);
		cr_expect_eq(c_end(&c, &st, err, &got), -EBADMSG, "case %d: %s", k, err);
		cr_expect_eq(got, 0, "case %d", k);
		cr_expect_eq(st.sessions, 0);
		cr_expect_neq(err[0], 0);
	}
}

/* The version as another integer encoding, and as something else. */
Test(snap, version_forms)
{
	struct craft c;
	struct nat64_snap_stats st;
	char err[160];
	size_t got;

	msgpack_sbuffer_init(&c.sb);
	msgpack_packer_init(&c.pk, &c.sb, msgpack_sbuffer_write);
	msgpack_pack_array(&c.pk, 6);
	msgpack_pack_str_with_body(&c.pk, "ygg64-nat64", 11);
	c_raw(&c, "\xcf\0\0\0\0\0\0\0\x01", 9); /* 1 as a uint 64 */
	c_meta(&c, 0);
	msgpack_pack_array(&c.pk, 1);
	c_ok(&c, 1);
	cr_expect_eq(c_end(&c, &st, err, &got), 0, "%s", err);
	cr_expect_eq(got, 1);

	msgpack_sbuffer_init(&c.sb);
	msgpack_packer_init(&c.pk, &c.sb, msgpack_sbuffer_write);
	msgpack_pack_array(&c.pk, 6);
	msgpack_pack_str_with_body(&c.pk, "ygg64-nat64", 11);
	c_key(&c, "1");
	c_meta(&c, 0);
	msgpack_pack_array(&c.pk, 0);
	cr_expect_eq(c_end(&c, &st, err, &got), -EBADMSG);
	cr_expect_str_eq(err, "truncated or corrupt (version)");
}
