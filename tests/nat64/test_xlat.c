/*
 * Tests for nat64/xlat: RFC 7915 translation in both directions, checked byte for byte.
 *
 * Packets are laid out by small builders that follow the RFC drawings (RFC 791 §3.1, RFC 8200
 * §3 and §4, RFC 768, RFC 793 §3.1, RFC 792, RFC 4443), with every checksum computed by the
 * independent reference (support/refcsum), never by lib/csum: the expected output is built
 * from scratch the same way, so an incremental update in xlat is checked against a checksum
 * computed whole. Two anchor vectors are also written out in hex (computed apart from this
 * file), which pins the builders themselves.
 *
 * The cast (documentation addresses): the IPv6 client X' = 2001:db8:1::7 port 40000, the IPv4
 * server Y = 198.51.100.9 port 80, known on the IPv6 side as P + Y = 2001:db8:64::c633:6409
 * (P = 2001:db8:64::/96, not checksum neutral, A 5), the pool address T = 192.0.2.1 port
 * 61001, an IPv4 router R4 = 203.0.113.1 (P + R4 = 2001:db8:64::cb00:7101) and an IPv6 router
 * R6 = 2001:db8:1::1.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "lib/icmp.h"
#include "lib/pkt.h"
#include "nat64/xlat.h"
#include "support/hex.h"
#include "support/refcsum.h"

enum {
	BUF = 8192,
	P_TCP = 6,
	P_UDP = 17,
	P_ICMP4 = 1,
	P_ICMP6 = 58,
	DF = 0x4000,
	MF = 0x2000,
	SYN = 0x02,
	ACK = 0x10,
	PSH = 0x08,
};

static const uint8_t X6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 0x07};
static const uint8_t PY6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x64, [12] = 198, 51, 100, 9};
static const uint8_t PR6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x64, [12] = 203, 0, 113, 1};
static const uint8_t R6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 0x01};
static const uint8_t T4[4] = {192, 0, 2, 1}, Y4[4] = {198, 51, 100, 9}, R4[4] = {203, 0, 113, 1};

/* 6->4: X':40000 -> P+Y:80 becomes T:61001 -> Y:80; 4->6 the way back */
static const struct xlat_addr4 OUT4 = {{192, 0, 2, 1}, {198, 51, 100, 9}, 61001, 80};
static const struct xlat_addr6 OUT6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0x64, [12] = 198, 51, 100, 9},
				       {0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 7},
				       80,
				       40000};
/* errors: R4 -> T about T:61001 -> Y:80 becomes P+R4 -> X' about X':40000 -> P+Y:80 */
static const struct xlat_addr6 EOUT6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0x64, [12] = 203, 0, 113, 1},
					{0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 7},
					0,
					0};
static const struct xlat_addr6 EIN6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0x01, [15] = 7},
				       {0x20, 0x01, 0x0d, 0xb8, 0, 0x64, [12] = 198, 51, 100, 9},
				       40000,
				       80};
/* R6 -> P+Y about P+Y:80 -> X':40000 becomes T -> Y about Y:80 -> T:61001 (D 40) */
static const struct xlat_addr4 EOUT4 = {{192, 0, 2, 1}, {198, 51, 100, 9}, 0, 0};
static const struct xlat_addr4 EIN4 = {{198, 51, 100, 9}, {192, 0, 2, 1}, 80, 61001};

static const struct xlat_opts O4 = {.mtu = 1500, .ip4_id = 0x0abc}; /* 6->4 */
static const struct xlat_opts O6 = {.mtu = 1500};		    /* 4->6 */

static struct pkt_pool *pool;

static void setup(void)
{
	pool = pkt_pool_new(4, BUF);
	cr_assert_not_null(pool);
}

static void teardown(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(pool, &info);
	cr_expect_eq(info.in_use, 0, "test leaked %zu pkts", info.in_use);
	pkt_pool_free(pool);
	pool = NULL;
}

TestSuite(xlat, .init = setup, .fini = teardown);

/* ---- Builders ---- */

struct vec {
	uint8_t b[BUF];
	size_t n;
};

static void put(struct vec *v, const void *p, size_t n)
{
	cr_assert(v->n + n <= BUF, "vector overflow");
	memcpy(v->b + v->n, p, n);
	v->n += n;
}

static void u8(struct vec *v, uint8_t x)
{
	put(v, &x, 1);
}

static void u16(struct vec *v, uint16_t x)
{
	u8(v, (uint8_t)(x >> 8));
	u8(v, (uint8_t)x);
}

static void u32(struct vec *v, uint32_t x)
{
	u16(v, (uint16_t)(x >> 16));
	u16(v, (uint16_t)x);
}

static void pattern(struct vec *v, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		u8(v, (uint8_t)(seed + i * 13));
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void wr16(uint8_t *b, uint16_t x)
{
	b[0] = (uint8_t)(x >> 8);
	b[1] = (uint8_t)x;
}

/* RFC 8200 §3 */
static void ip6(struct vec *v, uint8_t tc, uint32_t flow, size_t plen, uint8_t nh, uint8_t hop,
		const uint8_t s[16], const uint8_t d[16])
{
	u32(v, 6u << 28 | (uint32_t)tc << 20 | flow);
	u16(v, (uint16_t)plen);
	u8(v, nh);
	u8(v, hop);
	put(v, s, 16);
	put(v, d, 16);
}

/* RFC 791 §3.1, IHL 5 or more (opt: the options, olen a multiple of 4), reference checksum */
static void ip4o(struct vec *v, uint8_t tos, size_t tot, uint16_t id, uint16_t frag, uint8_t ttl,
		 uint8_t proto, const uint8_t s[4], const uint8_t d[4], const uint8_t *opt,
		 size_t olen)
{
	size_t at = v->n;

	u8(v, (uint8_t)(0x40 | (20 + olen) / 4));
	u8(v, tos);
	u16(v, (uint16_t)tot);
	u16(v, id);
	u16(v, frag);
	u8(v, ttl);
	u8(v, proto);
	u16(v, 0);
	put(v, s, 4);
	put(v, d, 4);
	if (olen)
		put(v, opt, olen);
	wr16(v->b + at + 10, (uint16_t)~ref_csum(v->b + at, 20 + olen, 0));
}

static void ip4(struct vec *v, uint8_t tos, size_t tot, uint16_t id, uint16_t frag, uint8_t ttl,
		uint8_t proto, const uint8_t s[4], const uint8_t d[4])
{
	ip4o(v, tos, tot, id, frag, ttl, proto, s, d, NULL, 0);
}

/* RFC 793 §3.1, checksum 0 for now; opt of olen bytes (a multiple of 4), then paylen bytes */
static void tcp(struct vec *v, uint16_t sp, uint16_t dp, uint8_t flags, const uint8_t *opt,
		size_t olen, size_t paylen)
{
	u16(v, sp);
	u16(v, dp);
	u32(v, 0x01020304);
	u32(v, flags & ACK ? 0x0a0b0c0d : 0);
	u8(v, (uint8_t)((20 + olen) / 4 << 4));
	u8(v, flags);
	u16(v, 0xfaf0);
	u16(v, 0);
	u16(v, 0);
	if (olen)
		put(v, opt, olen);
	pattern(v, paylen, 0x41);
}

/* RFC 768 */
static void udp(struct vec *v, uint16_t sp, uint16_t dp, size_t paylen)
{
	u16(v, sp);
	u16(v, dp);
	u16(v, (uint16_t)(8 + paylen));
	u16(v, 0);
	pattern(v, paylen, 0x30);
}

/* RFC 792 / RFC 4443 §4: echo request or reply */
static void echo(struct vec *v, uint8_t type, uint16_t id, size_t paylen)
{
	u8(v, type);
	u8(v, 0);
	u16(v, 0);
	u16(v, id);
	u16(v, 7);
	pattern(v, paylen, 0x61);
}

/* ICMP error header: type, code, checksum 0, rest */
static void icmph(struct vec *v, uint8_t type, uint8_t code, uint32_t rest)
{
	u8(v, type);
	u8(v, code);
	u16(v, 0);
	u32(v, rest);
}

/*
 * The folded reference sum of the pseudo-header (alen 4: RFC 793 §3.1; 16: RFC 8200 §8.1;
 * 0: none, ICMPv4) for n bytes of proto, plus the n bytes at t.
 */
static uint16_t sum_l4(const uint8_t *s, const uint8_t *d, size_t alen, uint8_t proto,
		       const uint8_t *t, size_t n, size_t len)
{
	uint8_t ph[40];
	size_t k = 2 * alen;

	if (alen == 0)
		return ref_csum(t, n, 0);
	memcpy(ph, s, alen);
	memcpy(ph + alen, d, alen);
	if (alen == 4) {
		memcpy(ph + k, (uint8_t[]){0, proto, (uint8_t)(len >> 8), (uint8_t)len}, 4);
		k += 4;
	} else {
		memcpy(ph + k, (uint8_t[]){0, 0, (uint8_t)(len >> 8), (uint8_t)len, 0, 0, 0, proto},
		       8);
		k += 8;
	}
	return ref_csum(t, n, ref_csum(ph, k, 0));
}

static size_t csum_at(uint8_t proto)
{
	return proto == P_TCP ? 16 : proto == P_UDP ? 6 : 2;
}

/* Sets the checksum of the transport message t (all of it in the vector from at). */
static void seal(struct vec *v, size_t at, uint8_t proto, const uint8_t *s, const uint8_t *d,
		 size_t alen)
{
	uint8_t *t = v->b + at;
	size_t n = v->n - at, ck = csum_at(proto);
	uint16_t c;

	wr16(t + ck, 0);
	c = (uint16_t)~sum_l4(s, d, alen, proto, t, n, n);
	if (proto == P_UDP && c == 0)
		c = 0xffff;
	wr16(t + ck, c);
}

/* Whole packets: header + transport of the given version, the transport sealed. */
static void pkt6_from(struct vec *v, uint8_t tc, uint8_t hop, uint8_t nh, const uint8_t *s,
		      const uint8_t *d, const struct vec *l4)
{
	size_t at;

	ip6(v, tc, 0, l4->n, nh, hop, s, d);
	at = v->n;
	put(v, l4->b, l4->n);
	seal(v, at, nh, s, d, 16);
}

static void pkt4_from(struct vec *v, uint8_t tos, uint16_t id, uint16_t frag, uint8_t ttl,
		      uint8_t proto, const uint8_t *s, const uint8_t *d, const struct vec *l4)
{
	size_t at;

	ip4(v, tos, 20 + l4->n, id, frag, ttl, proto, s, d);
	at = v->n;
	put(v, l4->b, l4->n);
	seal(v, at, proto, s, d, proto == P_ICMP4 ? 0 : 4);
}

static struct pkt *mkpkt(const struct vec *v)
{
	struct pkt *p = pkt_alloc(pool);

	cr_assert_not_null(p);
	memcpy(pkt_put(p, v->n), v->b, v->n);
	return p;
}

/* parse + translate; p holds the result */
static int run6(struct pkt *p, const struct xlat_addr4 *out, const struct xlat_addr4 *inner,
		const struct xlat_opts *o, struct icmp_err *reply, struct xlat_info *in)
{
	int r = xlat_parse6(p->data, p->len, in, reply);

	return r == XLAT_OK ? xlat_6to4(p, in, out, inner, o, reply) : r;
}

static int run4(struct pkt *p, const struct xlat_addr6 *out, const struct xlat_addr6 *inner,
		const struct xlat_opts *o, struct icmp_err *reply, struct xlat_info *in)
{
	int r = xlat_parse4(p->data, p->len, in, reply);

	return r == XLAT_OK ? xlat_4to6(p, in, out, inner, o, reply) : r;
}

static void expect_bytes(const struct pkt *p, const struct vec *want)
{
	static char hp[2 * BUF + 1], hw[2 * BUF + 1];

	if (p->len != want->n || memcmp(p->data, want->b, want->n)) {
		th_hex(p->data, p->len < 200 ? p->len : 200, hp);
		th_hex(want->b, want->n < 200 ? want->n : 200, hw);
		cr_assert_fail("got %zu bytes, want %zu\n got  %s\n want %s", p->len, want->n, hp,
			       hw);
	}
}

/* p still holds exactly v (a refusal leaves p unchanged) */
static void expect_unchanged(const struct pkt *p, const struct vec *v)
{
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM, "data moved");
	cr_assert_eq(p->len, v->n, "length changed");
	cr_assert_arr_eq(p->data, v->b, v->n, "bytes changed");
}

/* The translated IPv6 packet's transport checksum is right (reference, no extension hdrs). */
static void expect_l4_ok(const struct pkt *p)
{
	cr_assert_eq(ref_l4_sum(p->data, p->len), 0xffff, "transport checksum");
}

/* ---- Anchors ---- */

Test(xlat, tcp_6to4_anchor)
{
	/* traffic class 0x28 and flow label 0x12345; 5 bytes "hello"; hop limit 64 */
	static const char in_hex[] = "62812345 00190640 20010db8 00010000 00000000 00000007"
				     "20010db8 00640000 00000000 c6336409 9c400050 00000001"
				     "00000002 5018ffff 49470000 68656c6c 6f";
	/* C 29: TOS 0x28, ID 0x0abc, DF 0 (45 <= 1260), TTL 63, ports T:61001 -> Y:80 */
	static const char out_hex[] = "4528002d 0abc0000 3f0684a9 c0000201 c6336409 ee490050"
				      "00000001 00000002 5018ffff 911a0000 68656c6c 6f";
	struct vec in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	in.n = (size_t)th_unhex(in_hex, in.b, BUF);
	want.n = (size_t)th_unhex(out_hex, want.b, BUF);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect_eq(info.l4.sport, 40000);
	cr_expect_eq(info.l4.dport, 80);
	cr_expect_eq(info.l4.tcp_flags, ACK | PSH);
	cr_expect_eq(info.hop, 64);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, icmp_echo_reply_4to6_anchor)
{
	/* Y -> T echo reply id 61001, DF, TTL 50 */
	static const char in_hex[] = "45000024 43214000 3201197a c6336409 c0000201 00008019"
				     "ee490007 61626364 65666768";
	/* C 35: type 129, id 40000, checksum over the IPv6 pseudo-header; hop limit 49 */
	static const char out_hex[] = "60000000 00103a31 20010db8 00640000 00000000 c6336409"
				      "20010db8 00010000 00000000 00000007 8100cabc 9c400007"
				      "61626364 65666768";
	struct vec in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	struct xlat_addr6 out = {.sport = 40000, .dport = 40000};

	memcpy(out.src, PY6, 16);
	memcpy(out.dst, X6, 16);
	in.n = (size_t)th_unhex(in_hex, in.b, BUF);
	want.n = (size_t)th_unhex(out_hex, want.b, BUF);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &out, NULL, &O6, &rep, &info), XLAT_OK);
	cr_expect(info.l4.is_echo && !info.l4.is_echo_request && !info.l4.is_icmp_error);
	cr_expect_eq(info.l4.sport, 61001);
	cr_expect(info.is_df);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* The builders give the anchors' bytes too: they can be trusted for the other tests. */
Test(xlat, builders_match_anchors)
{
	static const char a_hex[] = "62812345 00190640 20010db8 00010000 00000000 00000007"
				    "20010db8 00640000 00000000 c6336409 9c400050 00000001"
				    "00000002 5018ffff 49470000 68656c6c 6f";
	struct vec a = {0}, l4 = {0}, v = {0};

	a.n = (size_t)th_unhex(a_hex, a.b, BUF);
	u16(&l4, 40000);
	u16(&l4, 80);
	u32(&l4, 1);
	u32(&l4, 2);
	u16(&l4, 0x5018);
	u16(&l4, 0xffff);
	u32(&l4, 0);
	put(&l4, "hello", 5);
	ip6(&v, 0x28, 0x12345, l4.n, P_TCP, 64, X6, PY6);
	put(&v, l4.b, l4.n);
	seal(&v, 40, P_TCP, X6, PY6, 16);
	cr_assert_eq(v.n, a.n);
	cr_assert_arr_eq(v.b, a.b, a.n);
}

/* ---- Whole packets, both ways ---- */

Test(xlat, tcp_4to6)
{
	struct vec l4 = {0}, l6 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	tcp(&l4, 80, 61001, ACK, NULL, 0, 33);
	tcp(&l6, 80, 40000, ACK, NULL, 0, 33);
	pkt4_from(&in, 0xb8, 0x7777, DF, 60, P_TCP, Y4, T4, &l4);
	/* C 22: traffic class = TOS, flow label 0, hop limit 59 */
	pkt6_from(&want, 0xb8, 59, P_TCP, PY6, X6, &l6);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	cr_expect_eq(pkt_headroom(p), PKT_HEADROOM - 20, "20 bytes from the headroom");
	pkt_free(p);
}

Test(xlat, udp_6to4)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&l6, 40000, 80, 101);
	udp(&l4, 61001, 80, 101);
	pkt6_from(&in, 0, 1 + 1, P_UDP, X6, PY6, &l6);
	pkt4_from(&want, 0, 0x0abc, 0, 1, P_UDP, T4, Y4, &l4);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, udp_4to6)
{
	struct vec l4 = {0}, l6 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&l4, 80, 61001, 0);
	udp(&l6, 80, 40000, 0);
	pkt4_from(&in, 0x02, 1, 0, 255, P_UDP, Y4, T4, &l4);
	pkt6_from(&want, 0x02, 254, P_UDP, PY6, X6, &l6);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, icmp_echo_request_6to4)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	echo(&l6, 128, 40000, 56);
	echo(&l4, 8, 61001, 56);
	pkt6_from(&in, 0, 64, P_ICMP6, X6, PY6, &l6);
	/* C 35: the ICMPv4 checksum has no pseudo-header */
	pkt4_from(&want, 0, 0x0abc, 0, 63, P_ICMP4, T4, Y4, &l4);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect(info.l4.is_echo && info.l4.is_echo_request);
	cr_expect_eq(info.l4.sport, 40000);
	cr_expect_eq(info.l4.dport, 40000, "the identifier in both");
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, icmp_echo_request_4to6)
{
	struct vec l4 = {0}, l6 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	struct xlat_addr6 out = {.sport = 4242};

	/* an inbound echo request (a static mapping's case): id 61001 -> 4242 */
	memcpy(out.src, PY6, 16);
	memcpy(out.dst, X6, 16);
	echo(&l4, 8, 61001, 3);
	echo(&l6, 128, 4242, 3);
	pkt4_from(&in, 0, 9, 0, 64, P_ICMP4, Y4, T4, &l4);
	pkt6_from(&want, 0, 63, P_ICMP6, PY6, X6, &l6);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &out, NULL, &O6, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, excess_bytes_are_cut)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&l6, 40000, 80, 10);
	udp(&l4, 61001, 80, 10);
	pkt6_from(&in, 0, 64, P_UDP, X6, PY6, &l6);
	pattern(&in, 7, 0xee); /* link padding past the payload length */
	pkt4_from(&want, 0, 0x0abc, 0, 63, P_UDP, T4, Y4, &l4);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect_eq(info.len, in.n - 7);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* ---- Checksums (C 20, 34) ---- */

Test(xlat, udp_zero_checksum_4to6_is_computed)
{
	struct vec l4 = {0}, l6 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&l4, 80, 61001, 21);
	udp(&l6, 80, 40000, 21);
	ip4(&in, 0, 20 + l4.n, 5, 0, 64, P_UDP, Y4, T4);
	put(&in, l4.b, l4.n); /* checksum field left 0: none (RFC 768) */
	pkt6_from(&want, 0, 63, P_UDP, PY6, X6, &l6);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	cr_assert_neq(rd16(p->data + 46), 0);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, udp_zero_checksum_first_fragment_4to6_refused)
{
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* B 20: the checksum of a fragmented datagram is frag_collect's business */
	ip4(&in, 0, 20 + 16, 5, MF, 64, P_UDP, Y4, T4);
	u16(&in, 80);
	u16(&in, 61001);
	u16(&in, 40);
	u16(&in, 0);
	pattern(&in, 8, 1);
	p = mkpkt(&in);
	cr_assert_eq(xlat_parse4(p->data, p->len, &info, &rep), XLAT_OK);
	cr_assert_eq(xlat_4to6(p, &info, &OUT6, NULL, &O6, &rep), XLAT_MALFORMED);
	expect_unchanged(p, &in);
	pkt_free(p);
}

Test(xlat, udp_6to4_never_produces_zero)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	uint16_t s;

	/* pick the last payload word so that the IPv4 sum is 0xffff: the checksum computes to 0 */
	udp(&l4, 61001, 80, 2);
	s = sum_l4(T4, Y4, 4, P_UDP, l4.b, l4.n - 2, l4.n);
	wr16(l4.b + 8, (uint16_t)~s);
	cr_assert_eq(sum_l4(T4, Y4, 4, P_UDP, l4.b, l4.n, l4.n), 0xffff);
	udp(&l6, 40000, 80, 2);
	memcpy(l6.b + 8, l4.b + 8, 2);
	pkt6_from(&in, 0, 64, P_UDP, X6, PY6, &l6);
	pkt4_from(&want, 0, 0x0abc, 0, 63, P_UDP, T4, Y4, &l4);
	cr_assert_eq(rd16(want.b + 26), 0xffff, "RFC 768: a computed 0 is sent as 0xffff");
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* A wrong checksum: off by delta. It must leave off by the same delta (C 34). */
Test(xlat, wrong_tcp_checksum_stays_as_wrong_6to4)
{
	struct vec l6 = {0}, in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	uint16_t before;

	tcp(&l6, 40000, 80, ACK, NULL, 0, 77);
	pkt6_from(&in, 0, 64, P_TCP, X6, PY6, &l6);
	wr16(in.b + 56, (uint16_t)(rd16(in.b + 56) + 0x1234));
	before = ref_l4_sum(in.b, in.n);
	cr_assert_neq(before, 0xffff);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect_eq(ref_l4_sum(p->data, p->len), before, "the error moved: %04x vs %04x",
		     ref_l4_sum(p->data, p->len), before);
	pkt_free(p);
}

Test(xlat, wrong_udp_checksum_stays_as_wrong_4to6)
{
	struct vec l4 = {0}, in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	uint16_t before;

	udp(&l4, 80, 61001, 30);
	pkt4_from(&in, 0, 1, 0, 64, P_UDP, Y4, T4, &l4);
	in.b[20 + 8 + 5] ^= 0x5a; /* a corrupt payload byte */
	before = ref_l4_sum(in.b, in.n);
	cr_assert_neq(before, 0xffff);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	cr_expect_eq(ref_l4_sum(p->data, p->len), before);
	pkt_free(p);
}

/* ---- TTL and hop limit (C 23, 29) ---- */

Test(xlat, ttl_one_and_zero_4to6)
{
	struct vec l4 = {0}, in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&l4, 80, 61001, 4);
	pkt4_from(&in, 0, 1, 0, 1, P_UDP, Y4, T4, &l4);
	p = mkpkt(&in);
	memset(&rep, 0xaa, sizeof(rep));
	cr_assert_eq(xlat_parse4(p->data, p->len, &info, &rep), XLAT_REPLY);
	cr_expect_eq(rep.type, ICMP4_TIME_EXCEEDED);
	cr_expect_eq(rep.code, 0);
	cr_expect_eq(rep.rest, 0);
	cr_expect_eq(rep.max_len, 0);
	pkt_free(p);

	in.n = 0;
	pkt4_from(&in, 0, 1, 0, 0, P_UDP, Y4, T4, &l4);
	cr_assert_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_HOP_ZERO);
}

Test(xlat, hop_one_and_zero_6to4)
{
	struct vec l6 = {0}, in = {0};
	struct xlat_info info;
	struct icmp_err rep;

	udp(&l6, 40000, 80, 4);
	pkt6_from(&in, 0, 1, P_UDP, X6, PY6, &l6);
	cr_assert_eq(xlat_parse6(in.b, in.n, &info, &rep), XLAT_REPLY);
	cr_expect_eq(rep.type, ICMP6_TIME_EXCEEDED);
	cr_expect_eq(rep.code, 0);
	cr_expect_eq(rep.rest, 0);
	in.b[7] = 0;
	cr_assert_eq(xlat_parse6(in.b, in.n, &info, &rep), XLAT_HOP_ZERO);
	in.b[7] = 2;
	cr_assert_eq(xlat_parse6(in.b, in.n, &info, &rep), XLAT_OK);
}

/* ---- DF and MTU (C 26, 27, 30, 33) ---- */

/* an IPv6 UDP packet of total bytes (>= 48) from X' */
static void udp6_of(struct vec *v, size_t total)
{
	struct vec l6 = {0};

	udp(&l6, 40000, 80, total - 48);
	pkt6_from(v, 0, 64, P_UDP, X6, PY6, &l6);
}

static void udp4_of(struct vec *v, size_t total, uint16_t frag)
{
	struct vec l4 = {0};

	udp(&l4, 80, 61001, total - 28);
	pkt4_from(v, 0, 0x5151, frag, 64, P_UDP, Y4, T4, &l4);
}

Test(xlat, df_iff_longer_than_1260_6to4)
{
	static const size_t sizes[] = {1280, 1281}; /* IPv4: 1260 and 1261 */
	struct xlat_info info;
	struct icmp_err rep;

	for (size_t i = 0; i < 2; i++) {
		struct vec in = {0};
		struct pkt *p;

		udp6_of(&in, sizes[i]);
		p = mkpkt(&in);
		cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
		cr_assert_eq(p->len, sizes[i] - 20);
		cr_expect_eq(rd16(p->data + 2), sizes[i] - 20);
		cr_expect_eq(rd16(p->data + 6), i ? DF : 0, "size %zu", sizes[i] - 20);
		cr_expect_eq(rd16(p->data + 4), 0x0abc);
		cr_expect_eq(ref_csum(p->data, 20, 0), 0xffff, "header checksum");
		expect_l4_ok(p);
		pkt_free(p);
	}
}

Test(xlat, too_big_with_df_6to4_is_refused_with_ptb)
{
	/* C 33: MTU max(1280, mtu + 20) */
	static const struct {
		uint32_t mtu;
		size_t total;
		uint32_t want;
	} v[] = {{1400, 1421, 1420}, {1400, 1420, 0}, {1000, 1300, 1280}, {0, 1500, 0}};
	struct xlat_info info;
	struct icmp_err rep;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct xlat_opts o = O4;
		struct vec in = {0};
		struct pkt *p;
		int r;

		o.mtu = v[i].mtu;
		udp6_of(&in, v[i].total);
		p = mkpkt(&in);
		r = run6(p, &OUT4, NULL, &o, &rep, &info);
		if (v[i].want) {
			cr_expect_eq(r, XLAT_REPLY, "case %zu", i);
			cr_expect_eq(rep.type, ICMP6_PKT_TOO_BIG);
			cr_expect_eq(rep.code, 0);
			cr_expect_eq(rep.rest, v[i].want, "case %zu: %u", i, rep.rest);
			expect_unchanged(p, &in);
		} else {
			cr_expect_eq(r, XLAT_OK, "case %zu", i);
		}
		pkt_free(p);
	}
}

Test(xlat, too_big_without_df_6to4_is_left_to_fragment)
{
	struct xlat_opts o = O4;
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* E 44: an IPv4 path below 1260: DF 0 packets are cut in IPv4 */
	o.mtu = 1000;
	udp6_of(&in, 1200);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &o, &rep, &info), XLAT_FRAGMENT);
	cr_expect_eq(p->len, 1180);
	cr_expect_eq(rd16(p->data + 6), 0, "DF clear");
	expect_l4_ok(p);
	pkt_free(p);
}

Test(xlat, too_big_with_df_4to6_is_refused_with_frag_needed)
{
	struct xlat_opts o = O6;
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* C 27: 1481 + 20 > 1500; MTU 1480 */
	udp4_of(&in, 1481, DF);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &o, &rep, &info), XLAT_REPLY);
	cr_expect_eq(rep.type, ICMP4_DEST_UNREACH);
	cr_expect_eq(rep.code, ICMP4_FRAG_NEEDED);
	cr_expect_eq(rep.rest, 1480);
	expect_unchanged(p, &in);
	pkt_free(p);

	in.n = 0;
	udp4_of(&in, 1480, DF);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &o, &rep, &info), XLAT_OK, "exactly the MTU");
	cr_expect_eq(p->len, 1500);
	pkt_free(p);
}

Test(xlat, no_df_4to6_over_lowest_mtu_is_left_to_fragment)
{
	/* C 26: min(lowest_mtu6 (0: 1280), mtu) */
	static const struct {
		uint16_t lowest;
		uint32_t mtu;
		size_t total4;
		int want;
	} v[] = {
	    {0, 1500, 1260, XLAT_OK},	       {0, 1500, 1261, XLAT_FRAGMENT},
	    {1400, 1500, 1380, XLAT_OK},       {1400, 1500, 1381, XLAT_FRAGMENT},
	    {1500, 1400, 1381, XLAT_FRAGMENT}, {1500, 1400, 1380, XLAT_OK},
	};
	struct xlat_info info;
	struct icmp_err rep;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct xlat_opts o = {.mtu = v[i].mtu, .lowest_mtu6 = v[i].lowest};
		struct vec in = {0};
		struct pkt *p;

		udp4_of(&in, v[i].total4, 0);
		p = mkpkt(&in);
		cr_expect_eq(run4(p, &OUT6, NULL, &o, &rep, &info), v[i].want, "case %zu", i);
		cr_expect_eq(p->len, v[i].total4 + 20);
		expect_l4_ok(p);
		pkt_free(p);
	}
}

/* ---- Fragments (C 28, 31) ---- */

/*
 * A UDP datagram of 8 + 40 bytes cut at 24 data bytes: the first fragment carries the header
 * and 16 payload bytes, the second 24 more at offset 24.
 */
Test(xlat, ipv4_fragments_get_a_fragment_header)
{
	struct vec l4 = {0}, l6 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&l4, 80, 61001, 40);
	udp(&l6, 80, 40000, 40);
	seal(&l4, 0, P_UDP, Y4, T4, 4);
	seal(&l6, 0, P_UDP, PY6, X6, 16);

	/* the first fragment: ID 0xbeef, MF */
	ip4(&in, 0x10, 20 + 24, 0xbeef, MF, 64, P_UDP, Y4, T4);
	put(&in, l4.b, 24);
	ip6(&want, 0x10, 0, 8 + 24, 44, 63, PY6, X6);
	put(&want, (uint8_t[]){P_UDP, 0, 0x00, 0x01, 0, 0, 0xbe, 0xef}, 8);
	put(&want, l6.b, 24);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	cr_expect(info.is_frag && info.frag_mf && info.frag_off == 0 && info.l4.has_ports);
	cr_expect_eq(info.frag_id, 0xbeef);
	expect_bytes(p, &want);
	pkt_free(p);

	/* the last: offset 24 = 3 units, no ports in it (has_ports false), bytes as they were */
	in.n = want.n = 0;
	ip4(&in, 0x10, 20 + 24, 0xbeef, 3, 64, P_UDP, Y4, T4);
	put(&in, l4.b + 24, 24);
	ip6(&want, 0x10, 0, 8 + 24, 44, 63, PY6, X6);
	put(&want, (uint8_t[]){P_UDP, 0, 0x00, 0x18, 0, 0, 0xbe, 0xef}, 8);
	put(&want, l4.b + 24, 24);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	cr_expect(info.is_frag && !info.frag_mf && info.frag_off == 24 && !info.l4.has_ports);
	cr_expect_eq(info.l4.proto, P_UDP);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, ipv6_fragments_become_ipv4_fragments)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	tcp(&l6, 40000, 80, ACK, NULL, 0, 60);
	tcp(&l4, 61001, 80, ACK, NULL, 0, 60);
	seal(&l6, 0, P_TCP, X6, PY6, 16);
	seal(&l4, 0, P_TCP, T4, Y4, 4);

	/* C 31: ID 0x12345678 -> 0x5678, M -> MF, DF 0, offset kept */
	ip6(&in, 0, 0, 8 + 48, 44, 64, X6, PY6);
	put(&in, (uint8_t[]){P_TCP, 0, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78}, 8);
	put(&in, l6.b, 48);
	ip4(&want, 0, 20 + 48, 0x5678, MF, 63, P_TCP, T4, Y4);
	put(&want, l4.b, 48);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect_eq(info.frag_id, 0x12345678);
	cr_expect_eq(info.l3len, 48);
	expect_bytes(p, &want);
	pkt_free(p);

	in.n = want.n = 0;
	ip6(&in, 0, 0, 8 + 32, 44, 64, X6, PY6);
	put(&in, (uint8_t[]){P_TCP, 0, 0x00, 48, 0x12, 0x34, 0x56, 0x78}, 8);
	put(&in, l6.b + 48, 32);
	ip4(&want, 0, 20 + 32, 0x5678, 6, 63, P_TCP, T4, Y4);
	put(&want, l6.b + 48, 32);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect(!info.l4.has_ports);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, ipv6_fragment_is_never_df_even_when_long)
{
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	ip6(&in, 0, 0, 8 + 1400, 44, 64, X6, PY6);
	put(&in, (uint8_t[]){P_UDP, 0, 0x05, 0x01, 0, 0, 0, 9}, 8);
	pattern(&in, 1400, 3);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect_eq(rd16(p->data + 6), MF | (0x0500 >> 3));
	pkt_free(p);
}

Test(xlat, fragmented_icmp_is_refused)
{
	struct vec in = {0}, in6 = {0};
	struct xlat_info info;
	struct icmp_err rep;

	ip4(&in, 0, 20 + 16, 1, MF, 64, P_ICMP4, Y4, T4);
	pattern(&in, 16, 0);
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_ICMP_FRAG);
	in.n = 0;
	ip4(&in, 0, 20 + 16, 1, 2, 64, P_ICMP4, Y4, T4);
	pattern(&in, 16, 0);
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_ICMP_FRAG);

	ip6(&in6, 0, 0, 8 + 16, 44, 64, X6, PY6);
	put(&in6, (uint8_t[]){P_ICMP6, 0, 0x00, 0x01, 0, 0, 0, 1}, 8);
	pattern(&in6, 16, 0);
	cr_expect_eq(xlat_parse6(in6.b, in6.n, &info, &rep), XLAT_ICMP_FRAG);
}

/* ---- IPv4 options and IPv6 extension headers (C 24, 32) ---- */

Test(xlat, ipv4_options_are_dropped)
{
	/* record route (7, len 7, ptr 4) + EOL; then a router alert after NOPs */
	static const uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
	static const uint8_t ra[8] = {1, 1, 0x94, 4, 0, 0, 1, 0};
	const uint8_t *opts[] = {rr, ra};
	struct vec l4 = {0}, l6 = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;

	udp(&l4, 80, 61001, 12);
	udp(&l6, 80, 40000, 12);
	seal(&l4, 0, P_UDP, Y4, T4, 4);
	pkt6_from(&want, 0, 63, P_UDP, PY6, X6, &l6);
	for (size_t i = 0; i < 2; i++) {
		struct vec in = {0};
		struct pkt *p;

		ip4o(&in, 0, 28 + l4.n, 3, 0, 64, P_UDP, Y4, T4, opts[i], 8);
		put(&in, l4.b, l4.n);
		p = mkpkt(&in);
		cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK, "case %zu", i);
		cr_expect_eq(info.l3len, 28);
		expect_bytes(p, &want);
		pkt_free(p);
	}
}

struct srr_vec {
	char name[48];
	uint8_t opt[12];
	int want;
};

ParameterizedTestParameters(xlat, source_routes)
{
	static struct srr_vec v[] = {
	    /* RFC 791 §3.1: pointer 4 is the first address; past the length: expired */
	    {"lsrr unexpired", {131, 11, 4, 10, 0, 0, 1, 10, 0, 0, 2, 0}, XLAT_REPLY},
	    {"pointer equal to the length", {131, 7, 7, 10, 0, 0, 1, 0, 0, 0, 0, 0}, XLAT_REPLY},
	    {"lsrr at its last address", {131, 11, 8, 10, 0, 0, 1, 10, 0, 0, 2, 0}, XLAT_REPLY},
	    {"lsrr expired", {131, 11, 12, 10, 0, 0, 1, 10, 0, 0, 2, 0}, XLAT_OK},
	    {"ssrr unexpired", {1, 137, 7, 4, 10, 0, 0, 1, 0, 0, 0, 0}, XLAT_REPLY},
	    {"ssrr expired", {137, 7, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0}, XLAT_OK},
	    {"length 0", {1, 1, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0}, XLAT_MALFORMED},
	    {"length 1", {7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, XLAT_MALFORMED},
	    {"length past the header", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 131, 3}, XLAT_MALFORMED},
	    {"type without a length", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 131}, XLAT_MALFORMED},
	    {"eol hides the rest", {0, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, XLAT_OK},
	};
	return cr_make_param_array(struct srr_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct srr_vec *t, xlat, source_routes)
{
	struct vec l4 = {0}, in = {0};
	struct xlat_info info;
	struct icmp_err rep;

	udp(&l4, 80, 61001, 4);
	seal(&l4, 0, P_UDP, Y4, T4, 4);
	ip4o(&in, 0, 32 + l4.n, 3, 0, 64, P_UDP, Y4, T4, t->opt, 12);
	put(&in, l4.b, l4.n);
	memset(&rep, 0, sizeof(rep));
	cr_assert_eq(xlat_parse4(in.b, in.n, &info, &rep), t->want, "%s", t->name);
	if (t->want == XLAT_REPLY) {
		/* C 24: Source Route Failed */
		cr_expect_eq(rep.type, ICMP4_DEST_UNREACH);
		cr_expect_eq(rep.code, 5);
	}
}

/* HBH, destination options, routing with Segments Left 0, then TCP: all dropped (C 32) */
Test(xlat, extension_headers_are_skipped)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	tcp(&l6, 40000, 80, ACK, NULL, 0, 9);
	tcp(&l4, 61001, 80, ACK, NULL, 0, 9);
	seal(&l6, 0, P_TCP, X6, PY6, 16);
	pkt4_from(&want, 0, 0x0abc, 0, 63, P_TCP, T4, Y4, &l4);
	ip6(&in, 0, 0, 8 + 16 + 24 + l6.n, 0, 64, X6, PY6);
	put(&in, (uint8_t[]){60, 0, 1, 4, 0, 0, 0, 0}, 8);			     /* HBH, PadN */
	put(&in, (uint8_t[]){43, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 16); /* DO */
	u8(&in, P_TCP);								     /* routing */
	u8(&in, 2);
	u8(&in, 4); /* type 4 (SRH), Segments Left 0: nothing to do */
	u8(&in, 0);
	pattern(&in, 20, 9);
	put(&in, l6.b, l6.n);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	cr_expect_eq(info.l3len, 88);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, segments_left_is_a_parameter_problem)
{
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;

	/* routing header right after the fixed header: Segments Left is byte 40 + 3 */
	ip6(&in, 0, 0, 24 + 8, 43, 64, X6, PY6);
	put(&in, (uint8_t[]){P_UDP, 2, 0, 1, 0, 0, 0, 0}, 8);
	pattern(&in, 16, 1);
	udp(&in, 40000, 80, 0);
	cr_assert_eq(xlat_parse6(in.b, in.n, &info, &rep), XLAT_REPLY);
	cr_expect_eq(rep.type, ICMP6_PARAM_PROBLEM);
	cr_expect_eq(rep.code, 0);
	cr_expect_eq(rep.rest, 43);

	/* after an 8-byte hop-by-hop header: 51 */
	in.n = 0;
	ip6(&in, 0, 0, 8 + 24 + 8, 0, 64, X6, PY6);
	put(&in, (uint8_t[]){43, 0, 1, 4, 0, 0, 0, 0}, 8);
	put(&in, (uint8_t[]){P_UDP, 2, 0, 3, 0, 0, 0, 0}, 8);
	pattern(&in, 16, 1);
	udp(&in, 40000, 80, 0);
	cr_assert_eq(xlat_parse6(in.b, in.n, &info, &rep), XLAT_REPLY);
	cr_expect_eq(rep.rest, 51);
}

/* ---- Malformed, multicast, protocols ---- */

/* Criterion copies the vectors into the test's process: arrays, not pointers. */
struct bad_vec {
	char name[48];
	char hex[256];
	int want;
};

/* IPv6 from X' to P+Y, hop 64; payload length given */
#define V6(plen, nh)                                                                               \
	"60000000" plen nh "40 20010db8000100000000000000000007 "                                  \
	"20010db800640000 00000000c6336409"

ParameterizedTestParameters(xlat, bad_ipv6)
{
	static struct bad_vec v[] = {
	    {"shorter than a header", "60000000 0008 1140 20010db8", XLAT_MALFORMED},
	    {"version 4",
	     "40000000 00081140"
	     "20010db8000100000000000000000007"
	     "20010db800640000 00000000c6336409 9c400050 0008ffff",
	     XLAT_MALFORMED},
	    {"payload length past the end", V6("0010", "11") "9c400050 0010ffff", XLAT_MALFORMED},
	    {"jumbogram (payload length 0)", V6("0000", "00") "11000000 00000000", XLAT_MALFORMED},
	    {"udp short", V6("0004", "11") "9c400050", XLAT_MALFORMED},
	    {"udp length disagrees", V6("0008", "11") "9c400050 0009ffff", XLAT_MALFORMED},
	    {"udp zero checksum", V6("0008", "11") "9c400050 00080000", XLAT_MALFORMED},
	    {"tcp short", V6("0010", "06") "9c400050 00000001 00000002 5010ffff", XLAT_MALFORMED},
	    {"tcp data offset 4", V6("0014", "06") "9c400050 00000001 00000002 4010ffff 00000000",
	     XLAT_MALFORMED},
	    {"tcp data offset past the end",
	     V6("0014", "06") "9c400050 00000001 00000002 6010ffff 00000000", XLAT_MALFORMED},
	    {"icmp short", V6("0004", "3a") "80000000", XLAT_MALFORMED},
	    {"icmp bad checksum", V6("0008", "3a") "80001234 9c400001", XLAT_MALFORMED},
	    {"extension header cut", V6("0004", "00") "11000000", XLAT_MALFORMED},
	    {"extension length past the payload", V6("0008", "3c") "11010000 00000000",
	     XLAT_MALFORMED},
	    {"hop-by-hop not first",
	     V6("0018", "3c") "00000000 00000000 11000000 00000000"
			      "9c400050 0008ffff",
	     XLAT_MALFORMED},
	    {"two fragment headers",
	     V6("0018", "2c") "2c000001 00000001 11000001 00000001"
			      "9c400050 0008ffff",
	     XLAT_MALFORMED},
	    {"fragment not a multiple of 8",
	     V6("0014", "2c") "11000001 00000001 9c400050 000cffff"
			      "00000000",
	     XLAT_MALFORMED},
	    {"fragment past 65535",
	     V6("0018", "2c") "1100fff8 00000001 9c400050 0008ffff 00000000"
			      "00000000",
	     XLAT_MALFORMED},
	    {"multicast destination",
	     "60000000 00081140 20010db8000100000000000000000007"
	     "ff020000000000000000000000000001 9c400050 0008ffff",
	     XLAT_MULTICAST},
	    {"multicast source",
	     "60000000 00081140 ff020000000000000000000000000001"
	     "20010db800640000 00000000c6336409 9c400050 0008ffff",
	     XLAT_MALFORMED},
	    {"no next header (59)", V6("0008", "3b") "00000000 00000000", XLAT_PROTO},
	    {"esp (50)", V6("0008", "32") "00000000 00000000", XLAT_PROTO},
	    {"sctp (132)", V6("0008", "84") "00000000 00000000", XLAT_PROTO},
	    {"icmpv4 over ipv6 (1)", V6("0008", "01") "08000000 00000000", XLAT_PROTO},
	};
	return cr_make_param_array(struct bad_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_vec *t, xlat, bad_ipv6)
{
	uint8_t b[512];
	long n = th_unhex(t->hex, b, sizeof(b));
	struct xlat_info info;
	struct icmp_err rep;

	cr_assert_gt(n, 0, "bad fixture %s", t->name);
	int r = xlat_parse6(b, (size_t)n, &info, &rep);

	cr_expect_eq(r, t->want, "%s: %s (%ld bytes)", t->name, xlat_result_name(r), n);
}

/* IPv4 from Y to T, TTL 64, checksum "cccc" fixed up by the test unless noted */
ParameterizedTestParameters(xlat, bad_ipv4)
{
	static struct bad_vec v[] = {
	    {"shorter than a header", "45000014 00000000 4011", XLAT_MALFORMED},
	    {"version 6", "65000014 00000000 4011cccc c6336409 c0000201", XLAT_MALFORMED},
	    {"ihl 4", "44000014 00000000 4011cccc c6336409 c0000201", XLAT_MALFORMED},
	    {"ihl past the total length", "46000014 00000000 4011cccc c6336409 c0000201 00000000",
	     XLAT_MALFORMED},
	    {"total length past the end", "4500001c 00000000 4011cccc c6336409 c0000201 00500000",
	     XLAT_MALFORMED},
	    {"total length below ihl", "45000010 00000000 4011cccc c6336409 c0000201",
	     XLAT_MALFORMED},
	    {"udp length disagrees",
	     "4500001c 00000000 4011cccc c6336409 c0000201 0050ee49 0009ffff", XLAT_MALFORMED},
	    {"udp short", "45000018 00000000 4011cccc c6336409 c0000201 0050ee49", XLAT_MALFORMED},
	    {"icmp bad checksum", "4500001c 00000000 4001cccc c6336409 c0000201 08001234 00010001",
	     XLAT_MALFORMED},
	    {"fragment not a multiple of 8",
	     "45000020 00002000 4011cccc c6336409 c0000201 0050ee49 0010ffff 00000000",
	     XLAT_MALFORMED},
	    {"fragment past 65535",
	     "4500001c 00001fff 4011cccc c6336409 c0000201 00000000 00000000", XLAT_MALFORMED},
	    {"multicast destination",
	     "4500001c 00000000 4011cccc c6336409 e0000001 0050ee49 0008ffff", XLAT_MULTICAST},
	    {"limited broadcast", "4500001c 00000000 4011cccc c6336409 ffffffff 0050ee49 0008ffff",
	     XLAT_MULTICAST},
	    {"class e", "4500001c 00000000 4011cccc c6336409 f0000001 0050ee49 0008ffff",
	     XLAT_MULTICAST},
	    {"proto 0", "4500001c 00000000 4000cccc c6336409 c0000201 00000000 00000000",
	     XLAT_PROTO},
	    {"proto 43", "4500001c 00000000 402bcccc c6336409 c0000201 00000000 00000000",
	     XLAT_PROTO},
	    {"proto 44", "4500001c 00000000 402ccccc c6336409 c0000201 00000000 00000000",
	     XLAT_PROTO},
	    {"proto 58", "4500001c 00000000 403acccc c6336409 c0000201 80000000 00000000",
	     XLAT_PROTO},
	    {"proto 60", "4500001c 00000000 403ccccc c6336409 c0000201 00000000 00000000",
	     XLAT_PROTO},
	    {"gre (47)", "4500001c 00000000 402fcccc c6336409 c0000201 00000000 00000000",
	     XLAT_PROTO},
	};
	return cr_make_param_array(struct bad_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_vec *t, xlat, bad_ipv4)
{
	uint8_t b[512];
	long n = th_unhex(t->hex, b, sizeof(b));
	struct xlat_info info;
	struct icmp_err rep;

	cr_assert_gt(n, 0, "bad fixture %s", t->name);
	if (n >= 20 && rd16(b + 10) == 0xcccc) {
		size_t ihl = (size_t)(b[0] & 0xf) * 4;

		wr16(b + 10, 0);
		if (ihl >= 20 && ihl <= (size_t)n)
			wr16(b + 10, (uint16_t)~ref_csum(b, ihl, 0));
	}
	int r = xlat_parse4(b, (size_t)n, &info, &rep);

	cr_expect_eq(r, t->want, "%s: %s (%ld bytes)", t->name, xlat_result_name(r), n);
}

Test(xlat, bad_ipv4_header_checksum)
{
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;

	udp4_of(&in, 40, 0);
	cr_assert_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_OK);
	in.b[10] ^= 1; /* RFC 1812 §5.2.2 */
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_MALFORMED);
}

/* translators refuse an info that does not describe p, leaving p alone */
Test(xlat, translators_check_their_input)
{
	struct vec in = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp6_of(&in, 100);
	p = mkpkt(&in);
	cr_assert_eq(xlat_parse6(p->data, p->len, &info, &rep), XLAT_OK);
	cr_expect_eq(xlat_4to6(p, &info, &OUT6, NULL, &O6, &rep), XLAT_MALFORMED);
	info.len = 200;
	cr_expect_eq(xlat_6to4(p, &info, &OUT4, NULL, &O4, &rep), XLAT_MALFORMED);
	expect_unchanged(p, &in);
	pkt_free(p);
}

/* ---- ICMP errors (D) ---- */

/*
 * 4->6: R4 -> T, TTL 60, TOS 0, an ICMPv4 error (type, code, rest) quoting the UDP datagram
 * T:61001 -> Y:80 (TTL 63, ID 0x1111, 11 payload bytes) whole. want: P+R4 -> X', hop 59,
 * the ICMPv6 (wtype, wcode, wrest) quoting X':40000 -> P+Y:80, hop 63.
 */
static void err4(struct vec *in, uint8_t type, uint8_t code, uint32_t rest, uint16_t qfrag)
{
	struct vec q = {0}, ql4 = {0}, l4 = {0};

	udp(&ql4, 61001, 80, 11);
	pkt4_from(&q, 0, 0x1111, qfrag, 63, P_UDP, T4, Y4, &ql4);
	icmph(&l4, type, code, rest);
	put(&l4, q.b, q.n);
	pkt4_from(in, 0, 0x2222, 0, 60, P_ICMP4, R4, T4, &l4);
}

static void err4_want6(struct vec *want, uint8_t type, uint8_t code, uint32_t rest)
{
	struct vec q = {0}, ql6 = {0}, l6 = {0};

	udp(&ql6, 40000, 80, 11);
	pkt6_from(&q, 0, 63, P_UDP, X6, PY6, &ql6);
	icmph(&l6, type, code, rest);
	put(&l6, q.b, q.n);
	pkt6_from(want, 0, 59, P_ICMP6, PR6, X6, &l6);
}

/* 6->4: R6 -> P+Y, hop 60, quoting P+Y:80 -> X':40000 (hop 63); want T -> Y about Y -> T */
static void err6(struct vec *in, uint8_t type, uint8_t code, uint32_t rest)
{
	struct vec q = {0}, ql6 = {0}, l6 = {0};

	udp(&ql6, 80, 40000, 11);
	pkt6_from(&q, 0, 63, P_UDP, PY6, X6, &ql6);
	icmph(&l6, type, code, rest);
	put(&l6, q.b, q.n);
	pkt6_from(in, 0, 60, P_ICMP6, R6, PY6, &l6);
}

static void err6_want4(struct vec *want, uint8_t type, uint8_t code, uint32_t rest)
{
	struct vec q = {0}, ql4 = {0}, l4 = {0};

	udp(&ql4, 80, 61001, 11);
	pkt4_from(&q, 0, 0, 0, 63, P_UDP, Y4, T4, &ql4);
	icmph(&l4, type, code, rest);
	put(&l4, q.b, q.n);
	pkt4_from(want, 0, 0x0abc, 0, 59, P_ICMP4, T4, Y4, &l4);
}

struct err_vec {
	uint8_t type, code;
	uint32_t rest;
	int want;
	uint8_t wtype, wcode;
	uint32_t wrest;
};

ParameterizedTestParameters(xlat, icmp_errors_4to6)
{
	static struct err_vec v[] = {
	    /* Destination Unreachable, RFC 7915 §4.2 */
	    {3, 0, 0, XLAT_OK, 1, 0, 0},
	    {3, 1, 0, XLAT_OK, 1, 0, 0},
	    {3, 2, 0, XLAT_OK, 4, 1, 6},
	    {3, 3, 0, XLAT_OK, 1, 4, 0},
	    {3, 5, 0, XLAT_OK, 1, 0, 0},
	    {3, 6, 0, XLAT_OK, 1, 0, 0},
	    {3, 7, 0, XLAT_OK, 1, 0, 0},
	    {3, 8, 0, XLAT_OK, 1, 0, 0},
	    {3, 9, 0, XLAT_OK, 1, 1, 0},
	    {3, 10, 0, XLAT_OK, 1, 1, 0},
	    {3, 11, 0, XLAT_OK, 1, 0, 0},
	    {3, 12, 0, XLAT_OK, 1, 0, 0},
	    {3, 13, 0, XLAT_OK, 1, 1, 0},
	    {3, 14, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {3, 15, 0, XLAT_OK, 1, 1, 0},
	    {3, 16, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {4, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0}, /* source quench */
	    {5, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0}, /* redirect */
	    /* Time Exceeded: same code */
	    {11, 0, 0, XLAT_OK, 3, 0, 0},
	    {11, 1, 0, XLAT_OK, 3, 1, 0},
	    /* Parameter Problem: pointer map (Figure 3) */
	    {12, 0, 0x00000000, XLAT_OK, 4, 0, 0},
	    {12, 0, 0x01000000, XLAT_OK, 4, 0, 1},
	    {12, 0, 0x02000000, XLAT_OK, 4, 0, 4},
	    {12, 0, 0x03000000, XLAT_OK, 4, 0, 4},
	    {12, 0, 0x04000000, XLAT_ICMP_TYPE, 0, 0, 0},
	    {12, 0, 0x07000000, XLAT_ICMP_TYPE, 0, 0, 0},
	    {12, 0, 0x08000000, XLAT_OK, 4, 0, 7},
	    {12, 0, 0x09000000, XLAT_OK, 4, 0, 6},
	    {12, 0, 0x0a000000, XLAT_ICMP_TYPE, 0, 0, 0},
	    {12, 0, 0x0b000000, XLAT_ICMP_TYPE, 0, 0, 0},
	    {12, 0, 0x0c000000, XLAT_OK, 4, 0, 8},
	    {12, 0, 0x0f000000, XLAT_OK, 4, 0, 8},
	    {12, 0, 0x10000000, XLAT_OK, 4, 0, 24},
	    {12, 0, 0x13000000, XLAT_OK, 4, 0, 24},
	    {12, 0, 0x14000000, XLAT_ICMP_TYPE, 0, 0, 0},
	    {12, 1, 0, XLAT_ICMP_TYPE, 0, 0, 0}, /* missing a required option */
	    {12, 2, 0x02000000, XLAT_OK, 4, 0, 4},
	    /* informational other than echo */
	    {13, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {14, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {15, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {17, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {9, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {10, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {42, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	};
	return cr_make_param_array(struct err_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct err_vec *t, xlat, icmp_errors_4to6)
{
	struct vec in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	int r;

	err4(&in, t->type, t->code, t->rest, 0);
	p = mkpkt(&in);
	r = run4(p, &EOUT6, &EIN6, &O6, &rep, &info);
	cr_assert_eq(r, t->want, "%u/%u rest %08x: %s", t->type, t->code, t->rest,
		     xlat_result_name(r));
	if (r != XLAT_OK) {
		expect_unchanged(p, &in);
		pkt_free(p);
		return;
	}
	/* the parse saw the quote: T:61001 -> Y:80 */
	cr_expect(info.l4.is_icmp_error);
	cr_expect_eq(info.inner.at, 28);
	cr_expect_arr_eq(info.inner.src, T4, 4);
	cr_expect_arr_eq(info.inner.dst, Y4, 4);
	cr_expect(info.inner.l4.has_ports);
	cr_expect_eq(info.inner.l4.sport, 61001);
	cr_expect_eq(info.inner.l4.dport, 80);
	err4_want6(&want, t->wtype, t->wcode, t->wrest);
	expect_bytes(p, &want);
	pkt_free(p);
}

ParameterizedTestParameters(xlat, icmp_errors_6to4)
{
	static struct err_vec v[] = {
	    {1, 0, 0, XLAT_OK, 3, 1, 0},
	    {1, 1, 0, XLAT_OK, 3, 10, 0},
	    {1, 2, 0, XLAT_OK, 3, 1, 0},
	    {1, 3, 0, XLAT_OK, 3, 1, 0},
	    {1, 4, 0, XLAT_OK, 3, 3, 0},
	    {1, 5, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {1, 6, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {3, 0, 0, XLAT_OK, 11, 0, 0},
	    {3, 1, 0, XLAT_OK, 11, 1, 0},
	    /* Parameter Problem: pointer map (Figure 6), in the first rest byte */
	    {4, 0, 0, XLAT_OK, 12, 0, 0x00000000},
	    {4, 0, 1, XLAT_OK, 12, 0, 0x01000000},
	    {4, 0, 2, XLAT_ICMP_TYPE, 0, 0, 0},
	    {4, 0, 3, XLAT_ICMP_TYPE, 0, 0, 0},
	    {4, 0, 4, XLAT_OK, 12, 0, 0x02000000},
	    {4, 0, 5, XLAT_OK, 12, 0, 0x02000000},
	    {4, 0, 6, XLAT_OK, 12, 0, 0x09000000},
	    {4, 0, 7, XLAT_OK, 12, 0, 0x08000000},
	    {4, 0, 8, XLAT_OK, 12, 0, 0x0c000000},
	    {4, 0, 23, XLAT_OK, 12, 0, 0x0c000000},
	    {4, 0, 24, XLAT_OK, 12, 0, 0x10000000},
	    {4, 0, 39, XLAT_OK, 12, 0, 0x10000000},
	    {4, 0, 40, XLAT_ICMP_TYPE, 0, 0, 0},
	    {4, 0, 0x10000, XLAT_ICMP_TYPE, 0, 0, 0},
	    {4, 1, 0, XLAT_OK, 3, 2, 0},
	    {4, 2, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {0, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {5, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {100, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    /* informational other than echo: MLD and ND */
	    {130, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {133, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {135, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {137, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	    {200, 0, 0, XLAT_ICMP_TYPE, 0, 0, 0},
	};
	return cr_make_param_array(struct err_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct err_vec *t, xlat, icmp_errors_6to4)
{
	struct vec in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	int r;

	err6(&in, t->type, t->code, t->rest);
	p = mkpkt(&in);
	r = run6(p, &EOUT4, &EIN4, &O4, &rep, &info);
	cr_assert_eq(r, t->want, "%u/%u rest %08x: %s", t->type, t->code, t->rest,
		     xlat_result_name(r));
	if (r != XLAT_OK) {
		expect_unchanged(p, &in);
		pkt_free(p);
		return;
	}
	cr_expect_eq(info.inner.at, 48);
	cr_expect_arr_eq(info.inner.src, PY6, 16);
	cr_expect_arr_eq(info.inner.dst, X6, 16);
	cr_expect_eq(info.inner.l4.sport, 80);
	cr_expect_eq(info.inner.l4.dport, 40000);
	err6_want4(&want, t->wtype, t->wcode, t->wrest);
	expect_bytes(p, &want);
	pkt_free(p);
}

/*
 * Frag Needed -> PTB (RFC 7915 §4.2, D): the quote says a total length of qlen (the datagram
 * as sent), only its first 28 bytes quoted.
 */
struct fn_vec {
	uint16_t mtu4, qlen;
	uint32_t mtu, mtu_in;
	uint32_t want;
};

ParameterizedTestParameters(xlat, frag_needed_to_ptb)
{
	static struct fn_vec v[] = {
	    {1400, 1500, 1500, 1500, 1420}, /* mtu + 20 */
	    {1400, 1500, 1410, 1500, 1410}, /* the IPv6 next hop */
	    {1400, 1500, 1500, 1300, 1320}, /* the IPv4 next hop + 20 */
	    {1400, 1500, 0, 0, 1420},	    /* 0: 65535 */
	    {1000, 1500, 1500, 1500, 1280}, /* never below 1280 */
	    {0, 1500, 9000, 9000, 1512},    /* plateau below 1500: 1492 */
	    {0, 1492, 9000, 9000, 1280},    /* below 1492: 1006 + 20, floored */
	    {0, 4000, 9000, 9000, 2022},    /* 2002 + 20 */
	    {0, 9000, 9000, 9000, 8186},    /* 8166 + 20 */
	    {0, 60, 9000, 9000, 1280},	    /* nothing below 68: 68, floored */
	};
	return cr_make_param_array(struct fn_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct fn_vec *t, xlat, frag_needed_to_ptb)
{
	uint32_t mtu;
	struct vec in = {0}, l4 = {0};
	struct xlat_opts o = {.mtu = t->mtu, .mtu_in = t->mtu_in};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	icmph(&l4, 3, 4, t->mtu4);
	ip4(&l4, 0, t->qlen, 0x1111, DF, 63, P_UDP, T4, Y4);
	udp(&l4, 61001, 80, 0);
	wr16(l4.b + 8 + 20 + 4, (uint16_t)(t->qlen - 20));
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l4);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &EOUT6, &EIN6, &o, &rep, &info), XLAT_OK);
	cr_assert_eq(p->len, 40 + 8 + 40 + 8);
	cr_expect_eq(p->data[40], ICMP6_PKT_TOO_BIG);
	cr_expect_eq(p->data[41], 0);
	mtu = (uint32_t)rd16(p->data + 44) << 16 | rd16(p->data + 46);
	cr_expect_eq(mtu, t->want, "mtu %u, want %u", mtu, t->want);
	cr_expect_eq(rd16(p->data + 48 + 4), t->qlen - 20, "the quote's payload length");
	expect_l4_ok(p);
	pkt_free(p);
}

struct ptb_vec {
	uint32_t mtu6, mtu, mtu_in;
	bool has_frag;
	uint16_t want;
};

ParameterizedTestParameters(xlat, ptb_to_frag_needed)
{
	static struct ptb_vec v[] = {
	    {1500, 1500, 1500, false, 1480}, /* mtu - 20 */
	    {1280, 1500, 1500, false, 1260},
	    {1500, 1400, 1500, false, 1400}, /* the IPv4 next hop */
	    {1500, 1500, 1400, false, 1380}, /* the IPv6 next hop - 20 */
	    {9000, 0, 0, false, 8980},	     /* 0: 65535 */
	    {1500, 1500, 1500, true, 1472},  /* a Fragment Header in the quote: 8 less */
	    {1280, 1500, 1500, true, 1252},
	    {1500, 1400, 1500, true, 1400}, /* the IPv4 hop does not carry the 8 */
	};
	return cr_make_param_array(struct ptb_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct ptb_vec *t, xlat, ptb_to_frag_needed)
{
	struct vec in = {0}, l6 = {0}, q = {0}, want = {0}, wl4 = {0}, wq = {0};
	struct xlat_opts o = {.mtu = t->mtu, .mtu_in = t->mtu_in, .ip4_id = 0x0abc};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	size_t fh = t->has_frag ? 8 : 0;

	/* the quote: P+Y -> X' UDP of 1400 bytes as sent (plus 8 for its Fragment Header) */
	ip6(&q, 0, 0, fh + 1360, t->has_frag ? 44 : P_UDP, 63, PY6, X6);
	if (t->has_frag)
		put(&q, (uint8_t[]){P_UDP, 0, 0, 1, 0, 0, 0x55, 0x66}, 8);
	udp(&q, 80, 40000, 0);
	wr16(q.b + 40 + fh + 4, 1360);
	icmph(&l6, 2, 0, t->mtu6);
	put(&l6, q.b, q.n);
	pkt6_from(&in, 0, 60, P_ICMP6, R6, PY6, &l6);

	/* C 31 inside: ID 0x5566, MF, DF 0; the quoted UDP header's checksum is not there */
	ip4(&wq, 0, 20 + 1360, t->has_frag ? 0x5566 : 0, t->has_frag ? MF : DF, 63, P_UDP, Y4, T4);
	udp(&wq, 80, 61001, 0);
	wr16(wq.b + 20 + 4, 1360);
	icmph(&wl4, 3, 4, t->want);
	put(&wl4, wq.b, wq.n);
	pkt4_from(&want, 0, 0x0abc, 0, 59, P_ICMP4, T4, Y4, &wl4);

	p = mkpkt(&in);
	cr_assert_eq(run6(p, &EOUT4, &EIN4, &o, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* D 38: a translated ICMPv4 error is cut to 1280 bytes, the quote's lengths kept */
Test(xlat, error_cap_4to6)
{
	struct vec in = {0}, l4 = {0}, q = {0}, ql4 = {0}, want = {0}, wl6 = {0}, wq = {0},
		   wql6 = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* a 1500-byte ICMPv4 error quoting a whole 1472-byte UDP datagram */
	udp(&ql4, 61001, 80, 1444);
	pkt4_from(&q, 0, 0x1111, DF, 63, P_UDP, T4, Y4, &ql4);
	icmph(&l4, 3, 3, 0);
	put(&l4, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l4);
	cr_assert_eq(in.n, 1500);
	udp(&wql6, 40000, 80, 1444);
	pkt6_from(&wq, 0, 63, P_UDP, X6, PY6, &wql6);
	icmph(&wl6, 1, 4, 0);
	put(&wl6, wq.b, ICMP6_ERR_MAX - 48);
	pkt6_from(&want, 0, 59, P_ICMP6, PR6, X6, &wl6);
	cr_assert_eq(want.n, ICMP6_ERR_MAX);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &EOUT6, &EIN6, &O6, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	cr_expect_eq(rd16(p->data + 48 + 4), 1452, "the quote's own length stays");
	pkt_free(p);
}

/* D 38: a translated ICMPv6 error is cut to 576 bytes */
Test(xlat, error_cap_6to4)
{
	struct vec in = {0}, l6 = {0}, q = {0}, ql6 = {0}, want = {0}, wl4 = {0}, wq = {0},
		   wql4 = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* a 1280-byte ICMPv6 error quoting 1232 bytes of a UDP datagram */
	udp(&ql6, 80, 40000, 1184);
	pkt6_from(&q, 0, 63, P_UDP, PY6, X6, &ql6);
	icmph(&l6, 1, 4, 0);
	put(&l6, q.b, q.n);
	pkt6_from(&in, 0, 60, P_ICMP6, R6, PY6, &l6);
	cr_assert_eq(in.n, 1280);
	udp(&wql4, 80, 61001, 1184);
	pkt4_from(&wq, 0, 0, 0, 63, P_UDP, Y4, T4, &wql4);
	icmph(&wl4, 3, 3, 0);
	put(&wl4, wq.b, ICMP4_ERR_MAX - 28);
	pkt4_from(&want, 0, 0x0abc, 0, 59, P_ICMP4, T4, Y4, &wl4);
	cr_assert_eq(want.n, ICMP4_ERR_MAX);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &EOUT4, &EIN4, &O4, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	cr_expect_eq(rd16(p->data + 28 + 2), 1212, "the quote's own length stays");
	pkt_free(p);
}

/* D 37: a quoted echo request: type, identifier, and the pseudo-header in or out */
Test(xlat, quoted_echo_both_ways)
{
	struct vec in = {0}, l = {0}, q = {0}, ql = {0}, want = {0}, wl = {0}, wq = {0}, wql = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* 4->6: Time Exceeded about T -> Y echo request id 61001 (ours for X's 40000) */
	echo(&ql, 8, 61001, 20);
	pkt4_from(&q, 0, 0x1111, 0, 1, P_ICMP4, T4, Y4, &ql);
	icmph(&l, 11, 0, 0);
	put(&l, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	echo(&wql, 128, 40000, 20);
	pkt6_from(&wq, 0, 1, P_ICMP6, X6, PY6, &wql);
	icmph(&wl, 3, 0, 0);
	put(&wl, wq.b, wq.n);
	pkt6_from(&want, 0, 59, P_ICMP6, PR6, X6, &wl);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &EOUT6, &EIN6, &O6, &rep, &info), XLAT_OK);
	cr_expect(info.inner.l4.is_echo && info.inner.l4.is_echo_request);
	cr_expect_eq(info.inner.l4.sport, 61001);
	expect_bytes(p, &want);
	pkt_free(p);

	/* 6->4: Destination Unreachable about P+Y -> X' echo reply id 40000 */
	in.n = l.n = q.n = ql.n = want.n = wl.n = wq.n = wql.n = 0;
	echo(&ql, 129, 40000, 20);
	pkt6_from(&q, 0, 9, P_ICMP6, PY6, X6, &ql);
	icmph(&l, 1, 0, 0);
	put(&l, q.b, q.n);
	pkt6_from(&in, 0, 60, P_ICMP6, R6, PY6, &l);
	echo(&wql, 0, 61001, 20);
	pkt4_from(&wq, 0, 0, 0, 9, P_ICMP4, Y4, T4, &wql);
	icmph(&wl, 3, 1, 0);
	put(&wl, wq.b, wq.n);
	pkt4_from(&want, 0, 0x0abc, 0, 59, P_ICMP4, T4, Y4, &wl);
	p = mkpkt(&in);
	{
		const struct xlat_addr4 ein = {{198, 51, 100, 9}, {192, 0, 2, 1}, 61001, 61001};

		cr_assert_eq(run6(p, &EOUT4, &ein, &O4, &rep, &info), XLAT_OK);
	}
	expect_bytes(p, &want);
	pkt_free(p);
}

/* A TCP quote: the checksum moved by the address and port changes (D 37) */
Test(xlat, quoted_tcp_4to6)
{
	struct vec in = {0}, l = {0}, q = {0}, ql = {0}, want = {0}, wl = {0}, wq = {0}, wql = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	tcp(&ql, 61001, 80, SYN, NULL, 0, 0);
	pkt4_from(&q, 0x20, 0x1111, DF, 63, P_TCP, T4, Y4, &ql);
	icmph(&l, 3, 13, 0);
	put(&l, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	tcp(&wql, 40000, 80, SYN, NULL, 0, 0);
	pkt6_from(&wq, 0x20, 63, P_TCP, X6, PY6, &wql);
	icmph(&wl, 1, 1, 0);
	put(&wl, wq.b, wq.n);
	pkt6_from(&want, 0, 59, P_ICMP6, PR6, X6, &wl);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &EOUT6, &EIN6, &O6, &rep, &info), XLAT_OK);
	cr_expect_eq(info.inner.l4.tcp_flags, SYN);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* Options in the error's header and in the quote's are both dropped (C 24, RFC 7915 §4.3) */
Test(xlat, error_with_options_4to6)
{
	static const uint8_t ra[4] = {0x94, 4, 0, 0};
	struct vec in = {0}, l = {0}, q = {0}, ql = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	udp(&ql, 61001, 80, 11);
	seal(&ql, 0, P_UDP, T4, Y4, 4);
	ip4o(&q, 0, 24 + ql.n, 0x1111, 0, 63, P_UDP, T4, Y4, ra, 4);
	put(&q, ql.b, ql.n);
	icmph(&l, 3, 3, 0);
	put(&l, q.b, q.n);
	seal(&l, 0, P_ICMP4, NULL, NULL, 0);
	ip4o(&in, 0, 24 + l.n, 0x2222, 0, 60, P_ICMP4, R4, T4, ra, 4);
	put(&in, l.b, l.n);
	err4_want6(&want, 1, 4, 0);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &EOUT6, &EIN6, &O6, &rep, &info), XLAT_OK);
	cr_expect_eq(info.inner.at, 32);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* A quote of an IPv4 fragment gets its Fragment Header (C 28 inside) */
Test(xlat, quoted_ipv4_fragment_4to6)
{
	struct vec in = {0}, want = {0}, wl = {0}, wq = {0}, wql = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	err4(&in, 3, 1, 0, MF);
	udp(&wql, 40000, 80, 11);
	seal(&wql, 0, P_UDP, X6, PY6, 16);
	ip6(&wq, 0, 0, 8 + wql.n, 44, 63, X6, PY6);
	put(&wq, (uint8_t[]){P_UDP, 0, 0, 1, 0, 0, 0x11, 0x11}, 8);
	put(&wq, wql.b, wql.n);
	icmph(&wl, 1, 0, 0);
	put(&wl, wq.b, wq.n);
	pkt6_from(&want, 0, 59, P_ICMP6, PR6, X6, &wl);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &EOUT6, &EIN6, &O6, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, quote_that_cannot_be_translated)
{
	struct vec in = {0}, l = {0}, q = {0}, ql = {0};
	struct xlat_info info;
	struct icmp_err rep;

	/* D 38: an error about an error */
	icmph(&ql, 3, 3, 0);
	pattern(&ql, 28, 0);
	pkt4_from(&q, 0, 1, 0, 63, P_ICMP4, T4, Y4, &ql);
	icmph(&l, 3, 1, 0);
	put(&l, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_ICMP_INNER);

	/* an error about a timestamp request (no mapping for it) */
	in.n = l.n = q.n = ql.n = 0;
	icmph(&ql, 13, 0, 0);
	pkt4_from(&q, 0, 1, 0, 63, P_ICMP4, T4, Y4, &ql);
	icmph(&l, 3, 1, 0);
	put(&l, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_ICMP_INNER);

	/* a quote shorter than an IPv4 header; a quote of another protocol */
	in.n = l.n = 0;
	icmph(&l, 3, 1, 0);
	pattern(&l, 12, 0x45);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_ICMP_INNER);
	in.n = l.n = q.n = 0;
	ip4(&q, 0, 40, 1, 0, 63, 47, T4, Y4);
	icmph(&l, 3, 1, 0);
	put(&l, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	cr_expect_eq(xlat_parse4(in.b, in.n, &info, &rep), XLAT_ICMP_INNER);

	/* IPv6: an error about an error, about a neighbor solicitation, a cut header */
	struct vec in6 = {0}, l6 = {0}, q6 = {0}, ql6 = {0};

	icmph(&ql6, 1, 4, 0);
	pkt6_from(&q6, 0, 63, P_ICMP6, PY6, X6, &ql6);
	icmph(&l6, 1, 0, 0);
	put(&l6, q6.b, q6.n);
	pkt6_from(&in6, 0, 60, P_ICMP6, R6, PY6, &l6);
	cr_expect_eq(xlat_parse6(in6.b, in6.n, &info, &rep), XLAT_ICMP_INNER);
	in6.n = l6.n = q6.n = ql6.n = 0;
	icmph(&ql6, 135, 0, 0);
	pkt6_from(&q6, 0, 63, P_ICMP6, PY6, X6, &ql6);
	icmph(&l6, 1, 0, 0);
	put(&l6, q6.b, q6.n);
	pkt6_from(&in6, 0, 60, P_ICMP6, R6, PY6, &l6);
	cr_expect_eq(xlat_parse6(in6.b, in6.n, &info, &rep), XLAT_ICMP_INNER);
	in6.n = l6.n = 0;
	icmph(&l6, 1, 0, 0);
	put(&l6, q6.b, 39);
	pkt6_from(&in6, 0, 60, P_ICMP6, R6, PY6, &l6);
	cr_expect_eq(xlat_parse6(in6.b, in6.n, &info, &rep), XLAT_ICMP_INNER);
}

/* a quote cut inside its transport header: no ports, but still translatable */
Test(xlat, quote_without_ports)
{
	struct vec in = {0}, l = {0}, q = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	ip4(&q, 0, 100, 1, 0, 63, P_UDP, T4, Y4);
	u16(&q, 61001); /* 2 bytes of the UDP header */
	icmph(&l, 3, 1, 0);
	put(&l, q.b, q.n);
	pkt4_from(&in, 0, 1, 0, 60, P_ICMP4, R4, T4, &l);
	p = mkpkt(&in);
	cr_assert_eq(xlat_parse4(p->data, p->len, &info, &rep), XLAT_OK);
	cr_expect(!info.inner.l4.has_ports);
	cr_expect_eq(info.inner.l4.proto, P_UDP);
	cr_assert_eq(xlat_4to6(p, &info, &EOUT6, &EIN6, &O6, &rep), XLAT_OK);
	cr_expect_eq(p->len, 40 + 8 + 40 + 2);
	cr_expect_eq(rd16(p->data + 88), 61001, "untouched without ports to map");
	expect_l4_ok(p);
	pkt_free(p);

	/* no inner mapping given for an error: refused */
	p = mkpkt(&in);
	cr_assert_eq(xlat_parse4(p->data, p->len, &info, &rep), XLAT_OK);
	cr_expect_eq(xlat_4to6(p, &info, &EOUT6, NULL, &O6, &rep), XLAT_ICMP_INNER);
	expect_unchanged(p, &in);
	pkt_free(p);
}

/* ---- MSS clamping (E 42) ---- */

struct mss_vec {
	char name[48];
	uint8_t flags;
	uint8_t opt[12];
	uint16_t clamp;
	uint8_t want[12];
};

ParameterizedTestParameters(xlat, mss)
{
	static struct mss_vec v[] = {
	    {"syn lowered",
	     SYN,
	     {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7},
	     1360,
	     {2, 4, 0x05, 0x50, 1, 1, 4, 2, 1, 3, 3, 7}},
	    {"syn-ack lowered",
	     SYN | ACK,
	     {2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0},
	     1220,
	     {2, 4, 0x04, 0xc4, 0, 0, 0, 0, 0, 0, 0, 0}},
	    {"never raised",
	     SYN,
	     {2, 4, 0x02, 0x18, 0, 0, 0, 0, 0, 0, 0, 0},
	     1360,
	     {2, 4, 0x02, 0x18, 0, 0, 0, 0, 0, 0, 0, 0}},
	    {"off (0)",
	     SYN,
	     {2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0},
	     0,
	     {2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0}},
	    {"not a syn",
	     ACK,
	     {2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0},
	     1360,
	     {2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0}},
	    {"odd offset after a nop",
	     SYN,
	     {1, 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 0, 0, 0},
	     1000,
	     {1, 2, 4, 0x03, 0xe8, 1, 3, 3, 7, 0, 0, 0}},
	    {"after sack-permitted and timestamps",
	     SYN,
	     {4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0},
	     1000,
	     {4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}},
	    {"length 0 stops the walk",
	     SYN,
	     {3, 0, 2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0},
	     1000,
	     {3, 0, 2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0}},
	    {"length past the header",
	     SYN,
	     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4},
	     1000,
	     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4}},
	    {"eol hides the rest",
	     SYN,
	     {0, 2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0},
	     1000,
	     {0, 2, 4, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0}},
	    {"mss of a bad length",
	     SYN,
	     {2, 3, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0},
	     1000,
	     {2, 3, 0x05, 0xb4, 0, 0, 0, 0, 0, 0, 0, 0}},
	};
	return cr_make_param_array(struct mss_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct mss_vec *t, xlat, mss)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_opts o4 = O4, o6 = O6;
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	o4.mss = o6.mss = t->clamp;
	/* 6->4 */
	tcp(&l6, 40000, 80, t->flags, t->opt, 12, 0);
	tcp(&l4, 61001, 80, t->flags, t->want, 12, 0);
	pkt6_from(&in, 0, 64, P_TCP, X6, PY6, &l6);
	pkt4_from(&want, 0, 0x0abc, 0, 63, P_TCP, T4, Y4, &l4);
	p = mkpkt(&in);
	cr_assert_eq(run6(p, &OUT4, NULL, &o4, &rep, &info), XLAT_OK, "%s", t->name);
	expect_bytes(p, &want);
	pkt_free(p);

	/* 4->6 */
	in.n = want.n = l6.n = l4.n = 0;
	tcp(&l4, 80, 61001, t->flags, t->opt, 12, 5);
	tcp(&l6, 80, 40000, t->flags, t->want, 12, 5);
	pkt4_from(&in, 0, 1, 0, 64, P_TCP, Y4, T4, &l4);
	pkt6_from(&want, 0, 63, P_TCP, PY6, X6, &l6);
	p = mkpkt(&in);
	cr_assert_eq(run4(p, &OUT6, NULL, &o6, &rep, &info), XLAT_OK, "%s", t->name);
	expect_bytes(p, &want);
	pkt_free(p);
}

/* ---- Offloads: partial checksums and GSO ---- */

/* the folded, uncomplemented pseudo-header sum (what a partial checksum field holds) */
static uint16_t pseudo(const uint8_t *s, const uint8_t *d, size_t alen, uint8_t proto, size_t len)
{
	return sum_l4(s, d, alen, proto, NULL, 0, len);
}

/* a TCP GSO super-packet of 3 segments of 1400 bytes, partial checksum */
Test(xlat, gso_tcp6_becomes_gso_tcp4)
{
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	tcp(&l6, 40000, 80, ACK, NULL, 0, 4200);
	tcp(&l4, 61001, 80, ACK, NULL, 0, 4200);
	wr16(l6.b + 16, pseudo(X6, PY6, 16, P_TCP, l6.n));
	wr16(l4.b + 16, pseudo(T4, Y4, 4, P_TCP, l4.n));
	ip6(&in, 0, 0, l6.n, P_TCP, 64, X6, PY6);
	put(&in, l6.b, l6.n);
	/* one segment is 20 + 20 + 1400 > 1260: DF; the total length is the whole pkt's */
	ip4(&want, 0, 20 + l4.n, 0x0abc, DF, 63, P_TCP, T4, Y4);
	put(&want, l4.b, l4.n);

	p = mkpkt(&in);
	p->off = (struct pkt_offload){.gso_type = PKT_GSO_TCP6,
				      .is_csum_partial = true,
				      .gso_size = 1400,
				      .csum_start = 40,
				      .csum_offset = 16};
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	cr_expect_eq(p->off.gso_type, PKT_GSO_TCP4);
	cr_expect(p->off.is_csum_partial);
	cr_expect_eq(p->off.gso_size, 1400);
	cr_expect_eq(p->off.csum_start, 20);
	cr_expect_eq(p->off.csum_offset, 16);
	pkt_free(p);
}

Test(xlat, gso_is_judged_by_one_segment)
{
	struct vec l6 = {0}, in = {0};
	struct xlat_opts o = O4;
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;
	const struct pkt_offload off = {.gso_type = PKT_GSO_TCP6,
					.is_csum_partial = true,
					.gso_size = 1400,
					.csum_start = 40,
					.csum_offset = 16};

	tcp(&l6, 40000, 80, ACK, NULL, 0, 4200);
	wr16(l6.b + 16, pseudo(X6, PY6, 16, P_TCP, l6.n));
	ip6(&in, 0, 0, l6.n, P_TCP, 64, X6, PY6);
	put(&in, l6.b, l6.n);

	/* a segment of 1440 over an MTU of 1400, DF: PTB 1420 */
	o.mtu = 1400;
	p = mkpkt(&in);
	p->off = off;
	cr_assert_eq(run6(p, &OUT4, NULL, &o, &rep, &info), XLAT_REPLY);
	cr_expect_eq(rep.type, ICMP6_PKT_TOO_BIG);
	cr_expect_eq(rep.rest, 1420);
	expect_unchanged(p, &in);
	cr_expect_eq(p->off.gso_type, PKT_GSO_TCP6);
	pkt_free(p);

	/* segments of 1000: DF 0, over an MTU of 1000: fragment each */
	o.mtu = 1000;
	p = mkpkt(&in);
	p->off = off;
	p->off.gso_size = 1000;
	cr_assert_eq(run6(p, &OUT4, NULL, &o, &rep, &info), XLAT_FRAGMENT);
	cr_expect_eq(rd16(p->data + 6), 0);
	pkt_free(p);

	/* the whole pkt is not judged: fine at 1500 */
	p = mkpkt(&in);
	p->off = off;
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	pkt_free(p);
}

Test(xlat, gso_tcp4_becomes_gso_tcp6)
{
	struct vec l4 = {0}, l6 = {0}, in = {0}, want = {0};
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	tcp(&l4, 80, 61001, ACK, NULL, 0, 2920);
	tcp(&l6, 80, 40000, ACK, NULL, 0, 2920);
	wr16(l4.b + 16, pseudo(Y4, T4, 4, P_TCP, l4.n));
	wr16(l6.b + 16, pseudo(PY6, X6, 16, P_TCP, l6.n));
	ip4(&in, 0, 20 + l4.n, 0x3333, DF, 64, P_TCP, Y4, T4);
	put(&in, l4.b, l4.n);
	ip6(&want, 0, 0, l6.n, P_TCP, 63, PY6, X6);
	put(&want, l6.b, l6.n);
	p = mkpkt(&in);
	p->off = (struct pkt_offload){.gso_type = PKT_GSO_TCP4,
				      .is_csum_partial = true,
				      .gso_size = 1460,
				      .csum_start = 20,
				      .csum_offset = 16};
	/* a segment 40 + 20 + 1460 = 1520 > 1500 with DF: Frag Needed 1480 */
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_REPLY);
	cr_expect_eq(rep.rest, 1480);
	expect_unchanged(p, &in);
	p->off.gso_size = 1440;
	cr_assert_eq(run4(p, &OUT6, NULL, &O6, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	cr_expect_eq(p->off.gso_type, PKT_GSO_TCP6);
	cr_expect_eq(p->off.csum_start, 40);
	pkt_free(p);
}

Test(xlat, partial_udp_and_mss_clamp_keep_the_pseudo_sum)
{
	static const uint8_t mss[4] = {2, 4, 0x05, 0xb4}, want_mss[4] = {2, 4, 0x04, 0x00};
	struct vec l6 = {0}, l4 = {0}, in = {0}, want = {0};
	struct xlat_opts o = O4;
	struct xlat_info info;
	struct icmp_err rep;
	struct pkt *p;

	/* a USO pkt stays PKT_GSO_UDP; the field holds the IPv4 pseudo-header sum */
	udp(&l6, 40000, 80, 3000);
	udp(&l4, 61001, 80, 3000);
	wr16(l6.b + 6, pseudo(X6, PY6, 16, P_UDP, l6.n));
	wr16(l4.b + 6, pseudo(T4, Y4, 4, P_UDP, l4.n));
	ip6(&in, 0, 0, l6.n, P_UDP, 64, X6, PY6);
	put(&in, l6.b, l6.n);
	ip4(&want, 0, 20 + l4.n, 0x0abc, 0, 63, P_UDP, T4, Y4);
	put(&want, l4.b, l4.n);
	p = mkpkt(&in);
	p->off = (struct pkt_offload){.gso_type = PKT_GSO_UDP,
				      .is_csum_partial = true,
				      .gso_size = 1200,
				      .csum_start = 40,
				      .csum_offset = 6};
	cr_assert_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	cr_expect_eq(p->off.gso_type, PKT_GSO_UDP);
	cr_expect_eq(p->off.csum_start, 20);
	pkt_free(p);

	/* a partial SYN: the MSS is lowered and the field still holds the pseudo-header sum */
	in.n = want.n = l6.n = l4.n = 0;
	tcp(&l6, 40000, 80, SYN, mss, 4, 0);
	tcp(&l4, 61001, 80, SYN, want_mss, 4, 0);
	wr16(l6.b + 16, pseudo(X6, PY6, 16, P_TCP, l6.n));
	wr16(l4.b + 16, pseudo(T4, Y4, 4, P_TCP, l4.n));
	ip6(&in, 0, 0, l6.n, P_TCP, 64, X6, PY6);
	put(&in, l6.b, l6.n);
	ip4(&want, 0, 20 + l4.n, 0x0abc, 0, 63, P_TCP, T4, Y4);
	put(&want, l4.b, l4.n);
	o.mss = 1024;
	p = mkpkt(&in);
	p->off = (struct pkt_offload){.is_csum_partial = true, .csum_start = 40, .csum_offset = 16};
	cr_assert_eq(run6(p, &OUT4, NULL, &o, &rep, &info), XLAT_OK);
	expect_bytes(p, &want);
	pkt_free(p);
}

Test(xlat, offload_state_must_fit_the_packet)
{
	static const struct pkt_offload bad[] = {
	    {.gso_type = PKT_GSO_TCP4,
	     .is_csum_partial = true,
	     .gso_size = 1400,
	     .csum_start = 40,
	     .csum_offset = 16},			  /* the other version */
	    {.gso_type = PKT_GSO_TCP6, .gso_size = 1400}, /* GSO without a partial checksum */
	    {.gso_type = PKT_GSO_TCP6,
	     .is_csum_partial = true,
	     .csum_start = 40,
	     .csum_offset = 16}, /* no segment size */
	    {.gso_type = PKT_GSO_UDP,
	     .is_csum_partial = true,
	     .gso_size = 1400,
	     .csum_start = 40,
	     .csum_offset = 16}, /* UDP GSO on TCP */
	    {.is_csum_partial = true, .csum_start = 44, .csum_offset = 16},
	    {.is_csum_partial = true, .csum_start = 40, .csum_offset = 6},
	};
	struct vec l6 = {0}, in = {0};
	struct xlat_info info;
	struct icmp_err rep;

	tcp(&l6, 40000, 80, ACK, NULL, 0, 100);
	ip6(&in, 0, 0, l6.n, P_TCP, 64, X6, PY6);
	put(&in, l6.b, l6.n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pkt *p = mkpkt(&in);

		p->off = bad[i];
		cr_expect_eq(run6(p, &OUT4, NULL, &O4, &rep, &info), XLAT_MALFORMED, "case %zu", i);
		expect_unchanged(p, &in);
		pkt_free(p);
	}
}

/* ---- Names ---- */

Test(xlat, result_names)
{
	cr_expect_str_eq(xlat_result_name(XLAT_OK), "ok");
	cr_expect_str_eq(xlat_result_name(XLAT_FRAGMENT), "fragment");
	cr_expect_str_eq(xlat_result_name(XLAT_MALFORMED), "malformed");
	cr_expect_str_eq(xlat_result_name(XLAT_REPLY), "reply");
	cr_expect_str_eq(xlat_result_name(XLAT_HOP_ZERO), "hop-zero");
	cr_expect_str_eq(xlat_result_name(XLAT_PROTO), "proto");
	cr_expect_str_eq(xlat_result_name(XLAT_ICMP_TYPE), "icmp-type");
	cr_expect_str_eq(xlat_result_name(XLAT_ICMP_INNER), "icmp-inner");
	cr_expect_str_eq(xlat_result_name(XLAT_ICMP_FRAG), "icmp-frag");
	cr_expect_str_eq(xlat_result_name(XLAT_MULTICAST), "multicast");
	cr_expect_str_eq(xlat_result_name(XLAT_NRESULTS), "unknown");
	cr_expect_str_eq(xlat_result_name(-1), "unknown");
}
