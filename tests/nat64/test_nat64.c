/*
 * test_nat64: the NAT64 pipeline end to end (nat64.c over xlat, frag and table), with packets
 * built here from RFC 791/8200/768/9293/792/4443 layouts, a fake clock and the two output
 * callbacks captured. The byte rules of each step are the modules' own tests; these check what
 * the pipeline adds: which tuple a packet is mapped with, where the outputs go, which ICMP
 * errors it generates and from where, the counters, hairpinning, stored SYNs, probes,
 * fragments and GSO packets.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "lib/icmp.h"
#include "lib/pkt.h"
#include "nat64/nat64.h"
#include "support/refcsum.h"

enum { MAX_OUT = 64, PKT_CAP = 70000 };

struct out {
	uint8_t b[PKT_CAP];
	size_t len;
	struct pkt_offload off;
};

static struct env {
	struct pkt_pool *pool;
	struct nat64 *n;
	struct config_nat64 c;
	struct inet_prefix pool4[2];
	struct out o4[MAX_OUT], o6[MAX_OUT];
	size_t n4, n6;
	uint64_t now;
} E;

static void cap(struct out *arr, size_t *n, struct pkt *p)
{
	cr_assert_lt(*n, MAX_OUT);
	cr_assert_leq(p->len, PKT_CAP);
	memcpy(arr[*n].b, p->data, p->len);
	arr[*n].len = p->len;
	arr[*n].off = p->off;
	(*n)++;
	pkt_free(p);
}

static void on_out4(void *ctx, struct pkt *p)
{
	(void)ctx;
	cr_expect_eq(p->data[0] >> 4, 4, "out4 got a non-IPv4 packet");
	cap(E.o4, &E.n4, p);
}

static void on_out6(void *ctx, struct pkt *p)
{
	(void)ctx;
	cr_expect_eq(p->data[0] >> 4, 6, "out6 got a non-IPv6 packet");
	cap(E.o6, &E.n6, p);
}

static const uint8_t SECRET[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Client addresses 2001:db8:1::2 and ::3, prefix 2001:db8:64::/96, pool 203.0.113.1. */
static const uint8_t X1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t X2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
static const uint8_t T[4] = {203, 0, 113, 1};
static const uint8_t Y1[4] = {192, 0, 2, 2};
static const uint8_t Y2[4] = {192, 0, 2, 3};
static const uint8_t R4[4] = {192, 0, 2, 1}; /* an IPv4 router */

static void embed(const uint8_t v4[4], uint8_t out[16])
{
	static const uint8_t p[12] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x64};

	memcpy(out, p, 12);
	memcpy(out + 12, v4, 4);
}

static void start(uint16_t pmin, uint16_t pmax, bool adf)
{
	struct nat64_params np = {0};

	memset(&E, 0, sizeof(E));
	E.pool = pkt_pool_new(256, PKT_CAP);
	cr_assert_not_null(E.pool);
	E.c.is_enabled = true;
	E.c.prefix.family = AF_INET6;
	E.c.prefix.len = 96;
	memcpy(E.c.prefix.addr, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0x64}, 6);
	E.pool4[0].family = AF_INET;
	E.pool4[0].len = 32;
	memcpy(E.pool4[0].addr, T, 4);
	E.c.pool4 = E.pool4;
	E.c.n_pool4 = 1;
	E.c.port_min = pmin;
	E.c.port_max = pmax;
	E.c.mss_clamp = true;
	E.c.filtering = adf ? CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT
			    : CONFIG_NAT64_FILTER_ENDPOINT_INDEPENDENT;
	E.c.udp_timeout = 300;
	E.c.icmp_timeout = 60;
	E.c.tcp_est_timeout = 7440;
	E.c.tcp_trans_timeout = 240;
	E.c.max_bib_entries = 65536;
	E.c.max_sessions = 262144;
	E.c.max_fragments = 64;
	E.c.max_stored_syns = 2;
	np.cfg = &E.c;
	np.mtu6 = 1500;
	np.mtu4 = 1500;
	np.pool = E.pool;
	np.out4 = on_out4;
	np.out6 = on_out6;
	np.secret = SECRET;
	E.n = nat64_new(&np);
	cr_assert_not_null(E.n);
	E.now = 1000000;
}

static void finish(void)
{
	struct pkt_pool_info pi;

	nat64_free(E.n);
	pkt_pool_info(E.pool, &pi);
	cr_expect_eq(pi.in_use, 0, "%zu pkts leaked", pi.in_use);
	pkt_pool_free(E.pool);
}

static uint16_t g16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void p16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Stores the transport checksum of the packet b (no options/extensions) at b[l3 + at]. */
static void fix_l4(uint8_t *b, size_t len, size_t l3, size_t at)
{
	uint16_t c;

	b[l3 + at] = b[l3 + at + 1] = 0;
	c = (uint16_t)~ref_l4_sum(b, len);
	if (!c && b[l3 - (l3 == 20 ? 11 : 34)] == 17)
		c = 0xffff;
	p16(b + l3 + at, c);
}

static size_t ip6(uint8_t *b, const uint8_t src[16], const uint8_t dst[16], uint8_t nh,
		  uint8_t hop, size_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	p16(b + 4, (unsigned)plen);
	b[6] = nh;
	b[7] = hop;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
	return 40 + plen;
}

static size_t ip4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		  uint8_t ttl, size_t plen, bool df)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	p16(b + 2, (unsigned)(20 + plen));
	p16(b + 4, 0x1234);
	b[6] = df ? 0x40 : 0;
	b[8] = ttl;
	b[9] = proto;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	p16(b + 10, (uint16_t)~ref_csum(b, 20, 0));
	return 20 + plen;
}

static size_t udp6(uint8_t *b, const uint8_t src[16], const uint8_t dst[16], uint16_t sp,
		   uint16_t dp, size_t dlen)
{
	size_t len = ip6(b, src, dst, 17, 64, 8 + dlen);

	p16(b + 40, sp);
	p16(b + 42, dp);
	p16(b + 44, (unsigned)(8 + dlen));
	for (size_t i = 0; i < dlen; i++)
		b[48 + i] = (uint8_t)(i * 7);
	fix_l4(b, len, 40, 6);
	return len;
}

static size_t udp4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint16_t sp,
		   uint16_t dp, size_t dlen)
{
	size_t len = ip4(b, src, dst, 17, 64, 8 + dlen, true);

	p16(b + 20, sp);
	p16(b + 22, dp);
	p16(b + 24, (unsigned)(8 + dlen));
	for (size_t i = 0; i < dlen; i++)
		b[28 + i] = (uint8_t)(i * 3);
	fix_l4(b, len, 20, 6);
	return len;
}

static size_t tcp6(uint8_t *b, const uint8_t src[16], const uint8_t dst[16], uint16_t sp,
		   uint16_t dp, uint8_t flags, uint16_t mss)
{
	size_t hl = mss ? 24 : 20;
	size_t len = ip6(b, src, dst, 6, 64, hl);

	memset(b + 40, 0, hl);
	p16(b + 40, sp);
	p16(b + 42, dp);
	b[44] = 0x11;
	b[52] = (uint8_t)((hl / 4) << 4);
	b[53] = flags;
	p16(b + 54, 65535);
	if (mss) {
		b[60] = 2;
		b[61] = 4;
		p16(b + 62, mss);
	}
	fix_l4(b, len, 40, 16);
	return len;
}

static size_t tcp4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint16_t sp,
		   uint16_t dp, uint8_t flags, uint16_t mss)
{
	size_t hl = mss ? 24 : 20;
	size_t len = ip4(b, src, dst, 6, 64, hl, true);

	memset(b + 20, 0, hl);
	p16(b + 20, sp);
	p16(b + 22, dp);
	b[24] = 0x22;
	b[32] = (uint8_t)((hl / 4) << 4);
	b[33] = flags;
	p16(b + 34, 65535);
	if (mss) {
		b[40] = 2;
		b[41] = 4;
		p16(b + 42, mss);
	}
	fix_l4(b, len, 20, 16);
	return len;
}

static size_t echo6(uint8_t *b, const uint8_t src[16], const uint8_t dst[16], uint16_t id,
		    uint8_t hop)
{
	size_t len = ip6(b, src, dst, 58, hop, 16);

	memset(b + 40, 0, 16);
	b[40] = ICMP6_ECHO_REQUEST;
	p16(b + 44, id);
	p16(b + 46, 1);
	fix_l4(b, len, 40, 2);
	return len;
}

static void in6(const uint8_t *b, size_t len)
{
	struct pkt *p = pkt_alloc(E.pool);

	cr_assert_not_null(p);
	memcpy(pkt_put(p, len), b, len);
	nat64_input6(E.n, p, E.now);
}

static void in4(const uint8_t *b, size_t len)
{
	struct pkt *p = pkt_alloc(E.pool);

	cr_assert_not_null(p);
	memcpy(pkt_put(p, len), b, len);
	nat64_input4(E.n, p, E.now);
}

static struct nat64_info info(void)
{
	struct nat64_info ni;

	nat64_get_info(E.n, &ni);
	return ni;
}

/* The outside port the last out4 packet (UDP/TCP) came from, checked to be T and in range. */
static uint16_t last_port4(void)
{
	const struct out *o = &E.o4[E.n4 - 1];

	cr_assert_eq(memcmp(o->b + 12, T, 4), 0, "source is not the pool address");
	return g16(o->b + 20);
}

Test(nat64, udp_both_ways)
{
	uint8_t b[2048], y6[16];
	size_t len;
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	len = udp6(b, X1, y6, 40000, 53, 100);
	in6(b, len);
	cr_assert_eq(E.n4, 1);
	t = last_port4();
	cr_expect_geq(t, 61001, "port %u outside PortRange", t);
	cr_expect_eq(t % 2, 40000 % 2, "parity kept (RFC 4787 REQ-4)");
	cr_expect_eq(memcmp(E.o4[0].b + 16, Y1, 4), 0);
	cr_expect_eq(g16(E.o4[0].b + 22), 53);
	cr_expect_eq(ref_l4_sum(E.o4[0].b, E.o4[0].len), 0xffff, "UDP checksum");
	cr_expect_eq(E.o4[0].len, len - 20);

	len = udp4(b, Y1, T, 53, t, 60);
	in4(b, len);
	cr_assert_eq(E.n6, 1);
	cr_expect_eq(memcmp(E.o6[0].b + 8, y6, 16), 0, "from prefix + Y");
	cr_expect_eq(memcmp(E.o6[0].b + 24, X1, 16), 0, "to the client");
	cr_expect_eq(g16(E.o6[0].b + 42), 40000);
	cr_expect_eq(ref_l4_sum(E.o6[0].b, E.o6[0].len), 0xffff);
	cr_expect_eq(info().dir[NAT64_6TO4].packets, 1);
	cr_expect_eq(info().dir[NAT64_4TO6].packets, 1);
	cr_expect_eq(info().table.bib[NAT64_UDP], 1);
	finish();
}

Test(nat64, wants)
{
	uint8_t b[256], y6[16];
	size_t len;

	start(61001, 65535, false);
	embed(Y1, y6);
	len = udp6(b, X1, y6, 1, 2, 0);
	cr_expect(nat64_wants6(E.n, b, len));
	len = udp6(b, X1, X2, 1, 2, 0);
	cr_expect_not(nat64_wants6(E.n, b, len));
	len = udp4(b, Y1, T, 53, 61001, 0);
	cr_expect(nat64_wants4(E.n, b, len));
	len = udp4(b, Y1, T, 53, 61000, 0);
	cr_expect_not(nat64_wants4(E.n, b, len), "below PortRange: the host's (B 10)");
	len = udp4(b, Y1, Y2, 53, 61001, 0);
	cr_expect_not(nat64_wants4(E.n, b, len), "not a pool address");
	finish();
}

/* An ICMPv4 echo reply from src to dst with identifier id. */
static size_t echo_reply4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint16_t id)
{
	size_t len = ip4(b, src, dst, 1, 64, 16, false);

	memset(b + 20, 0, 16);
	p16(b + 24, id);
	p16(b + 22, (uint16_t)~ref_csum(b + 20, 16, 0));
	return len;
}

/*
 * On a pool address the host shares (fused mode), the host's own pings pick identifiers at
 * random: an echo in PortRange is the translator's only once the BIB binds its identifier.
 */
Test(nat64, wants_icmp_only_bound_identifiers)
{
	uint8_t b[256], y6[16];
	uint16_t id4;
	size_t len;

	start(61001, 65535, false);
	embed(Y1, y6);
	len = echo_reply4(b, Y1, T, 62000);
	cr_expect_not(nat64_wants4(E.n, b, len), "an unbound identifier in range: the host's");
	len = echo6(b, X1, y6, 7, 64);
	in6(b, len);
	cr_assert_eq(E.n4, 1);
	id4 = g16(E.o4[0].b + 24);
	cr_assert(id4 >= 61001, "the identifier comes from PortRange");
	len = echo_reply4(b, Y1, T, id4);
	cr_expect(nat64_wants4(E.n, b, len), "the bound identifier: the translator's");
	len = echo_reply4(b, Y1, T, (uint16_t)(id4 == 65535 ? id4 - 1 : id4 + 1));
	cr_expect_not(nat64_wants4(E.n, b, len), "its neighbour is not bound");
	finish();
}

Test(nat64, eim_same_port_for_two_destinations)
{
	uint8_t b[256], y6[16];
	uint16_t t1, t2;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(b, udp6(b, X1, y6, 5000, 53, 4));
	t1 = last_port4();
	embed(Y2, y6);
	in6(b, udp6(b, X1, y6, 5000, 123, 4));
	t2 = last_port4();
	cr_expect_eq(t1, t2, "endpoint-independent mapping (B 7)");
	cr_expect_eq(info().table.sessions[NAT64_UDP], 2);
	cr_expect_eq(info().table.bib[NAT64_UDP], 1);
	finish();
}

Test(nat64, eif_and_adf)
{
	uint8_t b[256], y6[16];
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(b, udp6(b, X1, y6, 5000, 53, 4));
	t = last_port4();
	in4(b, udp4(b, Y2, T, 9999, t, 4)); /* a host the client never contacted */
	cr_expect_eq(E.n6, 1, "EIF lets any host reach (T, t) (B 8)");
	finish();

	start(61001, 65535, true);
	embed(Y1, y6);
	in6(b, udp6(b, X1, y6, 5000, 53, 4));
	t = last_port4();
	in4(b, udp4(b, Y2, T, 9999, t, 4));
	cr_expect_eq(E.n6, 0, "ADF refuses Y2");
	cr_expect_eq(info().dir[NAT64_4TO6].dropped[NAT64_R_FILTERED], 1);
	cr_assert_eq(E.n4, 2, "the translated packet and the 3/13 error");
	cr_expect_eq(E.o4[1].b[9], 1);
	cr_expect_eq(E.o4[1].b[20], ICMP4_DEST_UNREACH);
	cr_expect_eq(E.o4[1].b[21], ICMP4_ADMIN_PROHIBITED);
	cr_expect_eq(memcmp(E.o4[1].b + 12, T, 4), 0, "from the pool address (D 40)");
	cr_expect_eq(memcmp(E.o4[1].b + 16, Y2, 4), 0);
	in4(b, udp4(b, Y1, T, 1234, t, 4)); /* Y1, another port: address-dependent passes */
	cr_expect_eq(E.n6, 1);
	finish();
}

Test(nat64, exhaustion_answers_1_3)
{
	uint8_t b[256], y6[16], p6[16];

	start(61001, 61004, false);
	embed(Y1, y6);
	for (uint16_t x = 1000; x < 1004; x++)
		in6(b, udp6(b, X1, y6, x, 53, 4));
	cr_expect_eq(E.n4, 4);
	in6(b, udp6(b, X1, y6, 1004, 53, 4));
	cr_expect_eq(E.n4, 4, "the fifth flow finds no port");
	cr_expect_eq(info().dir[NAT64_6TO4].dropped[NAT64_R_NO_PORT], 1);
	cr_assert_eq(E.n6, 1);
	cr_expect_eq(E.o6[0].b[6], 58);
	cr_expect_eq(E.o6[0].b[40], ICMP6_DEST_UNREACH);
	cr_expect_eq(E.o6[0].b[41], ICMP6_ADDR_UNREACH, "B 11: address unreachable");
	embed(T, p6);
	cr_expect_eq(memcmp(E.o6[0].b + 8, p6, 16), 0, "from the prefix + pool address");
	cr_expect_eq(memcmp(E.o6[0].b + 24, X1, 16), 0);
	cr_expect_eq(ref_l4_sum(E.o6[0].b, E.o6[0].len), 0xffff);
	finish();
}

Test(nat64, hairpin)
{
	uint8_t b[256], y6[16], t6[16];
	uint16_t ta, tb;

	start(61001, 65535, false);
	embed(Y1, y6);
	embed(T, t6);
	in6(b, udp6(b, X1, y6, 7000, 53, 4));
	ta = last_port4();
	in6(b, udp6(b, X2, y6, 7001, 53, 4));
	tb = last_port4();
	/* B sends to A's outside address: P + T, port ta. */
	in6(b, udp6(b, X2, t6, 7001, ta, 8));
	cr_expect_eq(E.n4, 2, "nothing leaves on the IPv4 side");
	cr_assert_eq(E.n6, 1, "A gets it");
	cr_expect_eq(memcmp(E.o6[0].b + 24, X1, 16), 0);
	cr_expect_eq(g16(E.o6[0].b + 42), 7000);
	cr_expect_eq(memcmp(E.o6[0].b + 8, t6, 16), 0, "from P + T");
	cr_expect_eq(g16(E.o6[0].b + 40), tb, "from B's outside port");
	cr_expect_eq(ref_l4_sum(E.o6[0].b, E.o6[0].len), 0xffff);
	cr_expect_eq(info().dir[NAT64_6TO4].hairpin, 1);
	finish();
}

Test(nat64, hop_limit_1_answers_time_exceeded)
{
	uint8_t b[256], y6[16], p6[16];

	start(61001, 65535, false);
	embed(Y1, y6);
	embed(T, p6);
	in6(b, echo6(b, X1, y6, 77, 1));
	cr_expect_eq(E.n4, 0);
	cr_assert_eq(E.n6, 1);
	cr_expect_eq(E.o6[0].b[40], ICMP6_TIME_EXCEEDED);
	cr_expect_eq(memcmp(E.o6[0].b + 8, p6, 16), 0, "the NAT64 names itself as the hop");
	cr_expect_eq(info().dir[NAT64_6TO4].dropped[NAT64_R_HOP_LIMIT], 1);
	finish();
}

Test(nat64, echo_and_reply)
{
	uint8_t b[256], y6[16];
	uint16_t j;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(b, echo6(b, X1, y6, 77, 64));
	cr_assert_eq(E.n4, 1);
	cr_expect_eq(E.o4[0].b[20], ICMP4_ECHO_REQUEST);
	j = g16(E.o4[0].b + 24);
	cr_expect(j >= 61001, "identifier from PortRange");
	cr_expect_eq(ref_csum(E.o4[0].b + 20, E.o4[0].len - 20, 0), 0xffff, "ICMPv4 checksum");
	/* The reply: swap and type 0. */
	memcpy(b, E.o4[0].b, E.o4[0].len);
	memcpy(b + 12, Y1, 4);
	memcpy(b + 16, T, 4);
	b[10] = b[11] = 0;
	p16(b + 10, (uint16_t)~ref_csum(b, 20, 0));
	b[20] = ICMP4_ECHO_REPLY;
	b[22] = b[23] = 0;
	p16(b + 22, (uint16_t)~ref_csum(b + 20, E.o4[0].len - 20, 0));
	in4(b, E.o4[0].len);
	cr_assert_eq(E.n6, 1);
	cr_expect_eq(E.o6[0].b[40], ICMP6_ECHO_REPLY);
	cr_expect_eq(g16(E.o6[0].b + 44), 77, "the client's identifier back");
	cr_expect_eq(ref_l4_sum(E.o6[0].b, E.o6[0].len), 0xffff);
	finish();
}

Test(nat64, icmp_error_inner_mapped_back)
{
	uint8_t b[512], y6[16], r6[16];
	size_t qlen, len;
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(b, udp6(b, X1, y6, 40000, 53, 12));
	t = last_port4();
	/* The IPv4 router R4 says port unreachable about the translated packet. */
	qlen = E.o4[0].len;
	len = ip4(b, R4, T, 1, 64, 8 + qlen, false);
	memset(b + 20, 0, 8);
	b[20] = ICMP4_DEST_UNREACH;
	b[21] = ICMP4_PORT_UNREACH;
	memcpy(b + 28, E.o4[0].b, qlen);
	p16(b + 22, (uint16_t)~ref_csum(b + 20, 8 + qlen, 0));
	in4(b, len);
	cr_assert_eq(E.n6, 1);
	cr_expect_eq(E.o6[0].b[40], ICMP6_DEST_UNREACH);
	cr_expect_eq(E.o6[0].b[41], ICMP6_PORT_UNREACH);
	embed(R4, r6);
	cr_expect_eq(memcmp(E.o6[0].b + 8, r6, 16), 0, "from P + the IPv4 router (D 39)");
	cr_expect_eq(memcmp(E.o6[0].b + 24, X1, 16), 0);
	/* The quote: X1:40000 -> P+Y1:53 again. */
	cr_expect_eq(memcmp(E.o6[0].b + 48 + 8, X1, 16), 0);
	cr_expect_eq(memcmp(E.o6[0].b + 48 + 24, y6, 16), 0);
	cr_expect_eq(g16(E.o6[0].b + 48 + 40), 40000);
	cr_expect_eq(g16(E.o6[0].b + 48 + 42), 53);
	cr_expect_eq(ref_l4_sum(E.o6[0].b, E.o6[0].len), 0xffff, "ICMPv6 checksum");
	cr_expect_eq(info().table.bib[NAT64_UDP], 1, "an error never kills a mapping (B 12)");
	(void)t;
	finish();
}

Test(nat64, unsolicited_syn_stored_then_3_3)
{
	uint8_t b[256];

	start(61001, 65535, false);
	in4(b, tcp4(b, Y1, T, 4444, 61500, 0x02, 1460));
	cr_expect_eq(E.n4 + E.n6, 0, "never answered within 6 s (RFC 5382 REQ-4)");
	cr_expect_eq(info().stored_syns, 1);
	E.now += 5999;
	nat64_tick(E.n, E.now);
	cr_expect_eq(E.n4, 0);
	E.now += 2;
	nat64_tick(E.n, E.now);
	cr_assert_eq(E.n4, 1);
	cr_expect_eq(E.o4[0].b[20], ICMP4_DEST_UNREACH);
	cr_expect_eq(E.o4[0].b[21], ICMP4_PORT_UNREACH);
	cr_expect_eq(memcmp(E.o4[0].b + 16, Y1, 4), 0);
	cr_expect_eq(info().stored_syns, 0);
	cr_expect_eq(info().dir[NAT64_4TO6].dropped[NAT64_R_SYN_UNANSWERED], 1);
	/* MaxStoredSYNs 2: the third is dropped at once. */
	in4(b, tcp4(b, Y1, T, 1, 61500, 0x02, 0));
	in4(b, tcp4(b, Y1, T, 2, 61500, 0x02, 0));
	in4(b, tcp4(b, Y1, T, 3, 61500, 0x02, 0));
	cr_expect_eq(info().stored_syns, 2);
	cr_expect_eq(info().dir[NAT64_4TO6].dropped[NAT64_R_SYN_DROPPED], 1);
	finish();
}

Test(nat64, tcp_mss_clamped_and_probe_on_expiry)
{
	uint8_t b[256], y6[16];
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(b, tcp6(b, X1, y6, 33000, 80, 0x02, 8940));
	cr_assert_eq(E.n4, 1);
	t = last_port4();
	cr_expect_eq(g16(E.o4[0].b + 42), 1500 - 60,
		     "6->4 SYN MSS clamped so the replies fit IPv6 too (E 42)");
	cr_expect_eq(ref_l4_sum(E.o4[0].b, E.o4[0].len), 0xffff);
	in4(b, tcp4(b, Y1, T, 80, t, 0x12, 8960));
	cr_assert_eq(E.n6, 1);
	cr_expect_eq(g16(E.o6[0].b + 62), 1500 - 60, "4->6 SYN-ACK MSS clamped");
	cr_expect_eq(ref_l4_sum(E.o6[0].b, E.o6[0].len), 0xffff);
	in6(b, tcp6(b, X1, y6, 33000, 80, 0x10, 0));
	cr_expect_eq(E.n4, 2);
	cr_expect_eq(info().table.tcp_states[NAT64_TCP_ESTABLISHED], 1);
	/* 2 h 04 min of silence: a bare ACK from P+Y1:80 to X1:33000. */
	E.now += 7440 * 1000ull + 2000;
	nat64_tick(E.n, E.now);
	cr_assert_eq(E.n6, 2, "the probe (B 15)");
	cr_expect_eq(E.o6[1].b[6], 6);
	cr_expect_eq(memcmp(E.o6[1].b + 8, y6, 16), 0);
	cr_expect_eq(memcmp(E.o6[1].b + 24, X1, 16), 0);
	cr_expect_eq(g16(E.o6[1].b + 40), 80);
	cr_expect_eq(g16(E.o6[1].b + 42), 33000);
	cr_expect_eq(E.o6[1].b[53], 0x10, "ACK only");
	cr_expect_eq(ref_l4_sum(E.o6[1].b, E.o6[1].len), 0xffff);
	/* A smaller MSS is never raised. */
	in6(b, tcp6(b, X1, y6, 33002, 80, 0x02, 1000));
	cr_assert_eq(E.n4, 3);
	cr_expect_eq(g16(E.o4[2].b + 42), 1000, "never raised");
	cr_expect_eq(ref_l4_sum(E.o4[2].b, E.o4[2].len), 0xffff);
	finish();
}

/* An IPv6 UDP datagram cut in two at byte 64 of its payload (Fragment Header id 9). */
static size_t frag6(uint8_t *b, const uint8_t *whole, size_t wlen, bool first)
{
	size_t plen = wlen - 40, off = first ? 0 : 64, n = first ? 64 : plen - 64;

	ip6(b, whole + 8, whole + 24, 44, 64, 8 + n);
	b[40] = 17;
	p16(b + 42, (unsigned)(off | (first ? 1 : 0)));
	b[44] = b[45] = b[46] = 0;
	b[47] = 9;
	memcpy(b + 48, whole + 40 + off, n);
	return 48 + n;
}

Test(nat64, fragments_out_of_order_keep_their_ports)
{
	uint8_t whole[512], f1[512], f2[512], y6[16];
	size_t wlen, l1, l2;
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	wlen = udp6(whole, X1, y6, 6000, 53, 200);
	l1 = frag6(f1, whole, wlen, true);
	l2 = frag6(f2, whole, wlen, false);
	in6(f2, l2); /* the later one first: held (B 19) */
	cr_expect_eq(E.n4, 0);
	in6(f1, l1);
	cr_assert_eq(E.n4, 2, "the first, then the held one");
	t = g16(E.o4[0].b + 20);
	cr_expect(t >= 61001);
	cr_expect_eq(g16(E.o4[0].b + 4), 9, "IPv4 ID = low bits of the fragment ID (C 31)");
	cr_expect_eq(g16(E.o4[1].b + 4), 9);
	cr_expect(E.o4[0].b[6] & 0x20, "MF on the first");
	cr_expect_eq(g16(E.o4[1].b + 6) & 0x1fff, 64 / 8, "offset copied");
	cr_expect_eq(memcmp(E.o4[1].b + 12, T, 4), 0);
	cr_expect_eq(memcmp(E.o4[1].b + 16, Y1, 4), 0);
	finish();
}

Test(nat64, non_global_under_wkp_refused)
{
	uint8_t b[256], y6[16] = {0, 0x64, 0xff, 0x9b};
	struct nat64_params np = {0};

	start(61001, 65535, false);
	nat64_free(E.n);
	E.c.prefix.addr[0] = 0;
	E.c.prefix.addr[1] = 0x64;
	E.c.prefix.addr[2] = 0xff;
	E.c.prefix.addr[3] = 0x9b;
	E.c.prefix.addr[4] = E.c.prefix.addr[5] = 0;
	np.cfg = &E.c;
	np.mtu6 = np.mtu4 = 1500;
	np.pool = E.pool;
	np.out4 = on_out4;
	np.out6 = on_out6;
	np.secret = SECRET;
	E.n = nat64_new(&np);
	cr_assert_not_null(E.n);
	memcpy(y6 + 12, Y1, 4); /* 192.0.2.2 is documentation space: not global */
	in6(b, udp6(b, X1, y6, 1, 53, 4));
	cr_expect_eq(E.n4, 0);
	cr_expect_eq(info().dir[NAT64_6TO4].dropped[NAT64_R_WKP], 1, "A 4");
	finish();
}

Test(nat64, gso_tcp6_becomes_one_tcp4_gso)
{
	static uint8_t b[40 + 20 + 8000];
	uint8_t y6[16], syn[256];
	struct pkt *p;
	size_t len;
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(syn, tcp6(syn, X1, y6, 34000, 80, 0x02, 1440));
	t = last_port4();
	len = tcp6(b, X1, y6, 34000, 80, 0x10, 0);
	memset(b + len, 0xab, 8000);
	len += 8000;
	p16(b + 4, (unsigned)(len - 40));
	/* The kernel's partial checksum: the pseudo-header sum only (not complemented). */
	{
		uint32_t s = 0;

		for (int i = 8; i < 40; i += 2)
			s += g16(b + i);
		s += (uint32_t)(len - 40) + 6;
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		p16(b + 56, s);
	}
	p = pkt_alloc(E.pool);
	memcpy(pkt_put(p, len), b, len);
	p->off.gso_type = PKT_GSO_TCP6;
	p->off.gso_size = 1440;
	p->off.is_csum_partial = true;
	p->off.csum_start = 40;
	p->off.csum_offset = 16;
	nat64_input6(E.n, p, E.now);
	cr_assert_eq(E.n4, 2, "one packet out, not 6 pieces");
	cr_expect_eq(E.o4[1].len, len - 20);
	cr_expect_eq(E.o4[1].off.gso_type, PKT_GSO_TCP4);
	cr_expect_eq(E.o4[1].off.gso_size, 1440, "the same segment payload");
	cr_expect(E.o4[1].off.is_csum_partial);
	cr_expect_eq(E.o4[1].off.csum_start, 20);
	cr_expect_eq(g16(E.o4[1].b + 20), t);
	cr_expect_eq(info().dir[NAT64_6TO4].gso, 1);
	finish();
}

/* An IPv4 fragment of the UDP datagram whole (20 + 8 + 120 bytes): data bytes [off, off+n). */
static size_t frag4(uint8_t *b, const uint8_t *whole, size_t off, size_t n, bool mf)
{
	ip4(b, whole + 12, whole + 16, 17, 64, n, false);
	p16(b + 4, 0x4242);
	p16(b + 6, (unsigned)((mf ? 0x2000 : 0) | off / 8));
	b[10] = b[11] = 0;
	p16(b + 10, (uint16_t)~ref_csum(b, 20, 0));
	memcpy(b + 20, whole + 20 + off, n);
	return 20 + n;
}

Test(nat64, zero_checksum_udp_fragments_collected_and_summed)
{
	uint8_t whole[256], f[3][256], y6[16], q[1024];
	size_t l[3], plen = 0;
	uint16_t t;

	start(61001, 65535, false);
	embed(Y1, y6);
	in6(whole, udp6(whole, X1, y6, 6000, 53, 4));
	t = last_port4();
	udp4(whole, Y1, T, 53, t, 120);
	whole[26] = whole[27] = 0; /* no checksum: allowed in IPv4, not in IPv6 (B 20) */
	l[0] = frag4(f[0], whole, 0, 64, true);
	l[1] = frag4(f[1], whole, 64, 32, true);
	l[2] = frag4(f[2], whole, 96, 32, false);
	in4(f[2], l[2]); /* out of order */
	in4(f[0], l[0]);
	in4(f[1], l[1]);
	cr_assert_eq(E.n6, 3, "all three once the datagram was whole");
	/* Put the IPv6 fragments back together and check the computed checksum. */
	for (size_t i = 0; i < 3; i++) {
		size_t off = g16(E.o6[i].b + 42) & ~7u;

		cr_assert_eq(E.o6[i].b[6], 44, "a Fragment Header");
		memcpy(q + 40 + off, E.o6[i].b + 48, E.o6[i].len - 48);
		if (off + E.o6[i].len - 48 > plen)
			plen = off + E.o6[i].len - 48;
	}
	memcpy(q, E.o6[0].b, 40);
	q[6] = 17;
	p16(q + 4, (unsigned)plen);
	cr_expect_eq(plen, 128);
	cr_expect_neq(g16(q + 46), 0, "a checksum was written");
	cr_expect_eq(ref_l4_sum(q, 40 + plen), 0xffff, "and it is right");
	finish();
}

Test(nat64, udp_to_an_unbound_port_answers_3_3)
{
	uint8_t b[256];

	start(61001, 65535, false);
	in4(b, udp4(b, Y1, T, 53, 62000, 4));
	cr_expect_eq(E.n6, 0);
	cr_assert_eq(E.n4, 1, "port unreachable back to the sender");
	cr_expect_eq(E.o4[0].b[20], ICMP4_DEST_UNREACH);
	cr_expect_eq(E.o4[0].b[21], ICMP4_PORT_UNREACH);
	cr_expect_eq(memcmp(E.o4[0].b + 12, T, 4), 0);
	cr_expect_eq(info().dir[NAT64_4TO6].dropped[NAT64_R_NO_BIB], 1);
	in4(b, tcp4(b, Y1, T, 80, 62000, 0x10, 0)); /* a TCP non-SYN: dropped silently */
	cr_expect_eq(E.n4, 1);
	cr_expect_eq(info().dir[NAT64_4TO6].dropped[NAT64_R_NO_BIB], 2);
	finish();
}
