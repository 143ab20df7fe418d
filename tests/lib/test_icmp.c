/*
 * Tests for lib/icmp: the ICMPv4 and ICMPv6 errors as whole byte arrays laid out by hand from
 * RFC 791, RFC 792, RFC 1812 §4.3.2, RFC 8200 §3 and RFC 4443 §3, their checksums written out
 * and also verified by the independent reference (support/refcsum), never by lib/csum; the
 * quoting caps and overrides; the refusals; and the truth tables of the "may I answer" rules
 * (RFC 1812 §4.3.2.7, RFC 4443 §2.4 (e)).
 *
 * Addresses are documentation ones: the router 192.0.2.1 / 2001:db8::1 answers the sender
 * 198.51.100.7 / 2001:db8:1::7 about a packet for 203.0.113.9 / 2001:db8:2::9. Vectors are hex
 * in 32-bit rows, as the RFCs draw the headers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "lib/icmp.h"
#include "lib/pkt.h"
#include "support/hex.h"
#include "support/refcsum.h"

enum { CAP = 2048, BIG = 2000 };

static const uint8_t R4[4] = {192, 0, 2, 1}, S4[4] = {198, 51, 100, 7};
static const uint8_t R6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
static const uint8_t S6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, [15] = 0x07};

/* UDP 1234 -> 53 "ping" from 198.51.100.7 to 203.0.113.9, ID 0x1234, TTL 64, checksums right */
#define ORIG4_HEX                                                                                  \
	"45000020 12340000 40110255 c6336407 cb007109"                                             \
	"04d20035 000cb5b9 70696e67"
/* the same UDP datagram from 2001:db8:1::7 to 2001:db8:2::9, hop limit 64 */
#define ORIG6_HEX                                                                                  \
	"60000000 000c1140"                                                                        \
	"20010db8 00010000 00000000 00000007"                                                      \
	"20010db8 00020000 00000000 00000009"                                                      \
	"04d20035 000cc079 70696e67"

/*
 * The IPv4 header of an error to 198.51.100.7: RFC 791 §3.1 with TOS 0xc0 (RFC 1812 §4.3.2.5),
 * ID 0, no flags, protocol 1; length, TTL and checksum given.
 */
#define IP4(len, ttl, sum) "45c0" len " 00000000" ttl "01" sum " c0000201 c6336407"
/* The IPv6 header of an error to 2001:db8:1::7 (RFC 8200 §3): payload length, hop limit. */
#define IP6(plen, hops)                                                                            \
	"60000000" plen "3a" hops " 20010db8 00000000 00000000 00000001"                           \
	" 20010db8 00010000 00000000 00000007"

static struct pkt_pool *pool;
static uint8_t orig4[32], orig6[52];
static uint8_t big[BIG]; /* a 2000-byte "packet": only its prefix matters */

static void setup(void)
{
	pool = pkt_pool_new(4, CAP);
	cr_assert_not_null(pool);
	cr_assert_eq(th_unhex(ORIG4_HEX, orig4, sizeof(orig4)), sizeof(orig4));
	cr_assert_eq(th_unhex(ORIG6_HEX, orig6, sizeof(orig6)), sizeof(orig6));
	for (size_t i = 0; i < BIG; i++)
		big[i] = (uint8_t)(i * 7 + 1);
}

static void teardown(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(pool, &info);
	cr_expect_eq(info.in_use, 0, "test leaked %zu pkts", info.in_use);
	pkt_pool_free(pool);
	pool = NULL;
}

TestSuite(icmp, .init = setup, .fini = teardown);

/*
 * p holds exactly the n bytes: the headers in hex (written out by hand, checksums included),
 * then quote. Both checksums also verify with the reference.
 */
static void check(const struct pkt *p, size_t ret, const char *hdr_hex, const uint8_t *quote,
		  size_t n)
{
	uint8_t hdr[48];
	long hn = th_unhex(hdr_hex, hdr, sizeof(hdr));

	cr_assert(hn == 28 || hn == 48, "bad fixture");
	cr_assert_eq(ret, n, "returned %zu, want %zu", ret, n);
	cr_assert_eq(p->len, n);
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM, "written at the data start");
	cr_assert_arr_eq(p->data, hdr, (size_t)hn);
	cr_assert_arr_eq(p->data + hn, quote, n - (size_t)hn);
	if (hdr[0] >> 4 == 4) {
		cr_assert_eq(ref_csum(p->data, 20, 0), 0xffff, "IPv4 header checksum");
		cr_assert_eq(ref_csum(p->data + 20, n - 20, 0), 0xffff, "ICMPv4 checksum");
	} else {
		cr_assert_eq(ref_l4_sum(p->data, n), 0xffff, "ICMPv6 checksum");
	}
}

Test(icmp, v4_net_unreachable)
{
	const struct icmp_err e = {.type = ICMP4_DEST_UNREACH, .code = ICMP4_NET_UNREACH};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp4_error(p, R4, S4, &e, orig4, sizeof(orig4)),
	      IP4("003c", "40", "8dc5") "03006362 00000000", orig4, 60);
	pkt_free(p);
}

Test(icmp, v4_admin_prohibited)
{
	/* RFC 1812 §5.2.7.1: code 13, Communication Administratively Prohibited */
	const struct icmp_err e = {.type = ICMP4_DEST_UNREACH, .code = ICMP4_ADMIN_PROHIBITED};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp4_error(p, R4, S4, &e, orig4, sizeof(orig4)),
	      IP4("003c", "40", "8dc5") "030d6355 00000000", orig4, 60);
	pkt_free(p);
}

Test(icmp, v4_frag_needed_carries_the_mtu)
{
	/* RFC 1191 §4: unused (2 bytes) then the next-hop MTU 1400 = 0x0578 */
	const struct icmp_err e = {
	    .type = ICMP4_DEST_UNREACH, .code = ICMP4_FRAG_NEEDED, .rest = 1400};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp4_error(p, R4, S4, &e, orig4, sizeof(orig4)),
	      IP4("003c", "40", "8dc5") "03045de6 00000578", orig4, 60);
	pkt_free(p);
}

Test(icmp, v6_no_route)
{
	const struct icmp_err e = {.type = ICMP6_DEST_UNREACH, .code = ICMP6_NO_ROUTE};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp6_error(p, R6, S6, &e, orig6, sizeof(orig6)),
	      IP6("003c", "40") "010031df 00000000", orig6, 100);
	pkt_free(p);
}

Test(icmp, v6_admin_prohibited)
{
	const struct icmp_err e = {.type = ICMP6_DEST_UNREACH, .code = ICMP6_ADMIN_PROHIBITED};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp6_error(p, R6, S6, &e, orig6, sizeof(orig6)),
	      IP6("003c", "40") "010131de 00000000", orig6, 100);
	pkt_free(p);
}

Test(icmp, v6_packet_too_big_carries_the_mtu)
{
	/* RFC 4443 §3.2: the MTU, all 32 bits: 1280 = 0x00000500 */
	const struct icmp_err e = {.type = ICMP6_PKT_TOO_BIG, .rest = 1280};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp6_error(p, R6, S6, &e, orig6, sizeof(orig6)),
	      IP6("003c", "40") "02002bdf 00000500", orig6, 100);
	pkt_free(p);
}

Test(icmp, v4_quote_is_capped_at_576)
{
	/* RFC 1812 §4.3.2.3: 576 = 0x240 = 20 + 8 + 548 quoted */
	const struct icmp_err e = {.type = ICMP4_DEST_UNREACH, .code = ICMP4_HOST_UNREACH};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp4_error(p, R4, S4, &e, big, BIG),
	      IP4("0240", "40", "8bc1") "03010488 00000000", big, ICMP4_ERR_MAX);
	pkt_free(p);
}

Test(icmp, v6_quote_is_capped_at_1280)
{
	/* RFC 4443 §2.4 (c): 1280 = 40 + 8 + 1232 quoted, payload length 1240 = 0x04d8 */
	const struct icmp_err e = {.type = ICMP6_DEST_UNREACH};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp6_error(p, R6, S6, &e, big, BIG), IP6("04d8", "40") "01001e17 00000000", big,
	      ICMP6_ERR_MAX);
	pkt_free(p);
}

Test(icmp, v4_max_len_and_ttl_override)
{
	/* 100 = 0x64 bytes, 72 quoted, TTL 255 */
	const struct icmp_err e = {
	    .type = ICMP4_DEST_UNREACH, .code = ICMP4_ADMIN_PROHIBITED, .max_len = 100, .ttl = 255};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp4_error(p, R4, S4, &e, big, BIG),
	      IP4("0064", "ff", "ce9c") "030d534d 00000000", big, 100);
	pkt_free(p);
}

Test(icmp, v6_max_len_and_ttl_override_as_rwc_uses_them)
{
	/* yggdrasil's PTB: 40 + 8 + 512 quoted, hop limit 255; payload 520 = 0x0208 */
	const struct icmp_err e = {
	    .type = ICMP6_PKT_TOO_BIG, .rest = 1280, .max_len = 40 + 8 + 512, .ttl = 255};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp6_error(p, R6, S6, &e, big, BIG), IP6("0208", "ff") "02001bc2 00000500", big,
	      560);
	pkt_free(p);
}

Test(icmp, v6_max_len_past_the_packet_quotes_it_whole)
{
	/* a cap above what is needed: 2000 quoted, payload 2008 = 0x07d8, hop limit 1 */
	const struct icmp_err e = {.type = ICMP6_TIME_EXCEEDED, .max_len = 70000, .ttl = 1};
	struct pkt *p = pkt_alloc(pool);

	check(p, icmp6_error(p, R6, S6, &e, big, BIG), IP6("07d8", "01") "030059d6 00000000", big,
	      48 + BIG);
	pkt_free(p);
}

Test(icmp, max_len_is_bounded_by_the_length_fields)
{
	/* a cap past 64 KiB: IPv4's total length stops at 65535, IPv6's payload length at 65535 */
	static uint8_t huge[70000];
	struct pkt_pool *wide = pkt_pool_new(1, 70000);
	const struct icmp_err e = {.type = ICMP4_DEST_UNREACH, .max_len = 1u << 20};
	struct pkt *p = pkt_alloc(wide);

	cr_assert_eq(icmp4_error(p, R4, S4, &e, huge, sizeof(huge)), 65535);
	cr_assert_eq(p->data[2] << 8 | p->data[3], 65535);
	cr_assert_eq(ref_csum(p->data, 20, 0), 0xffff);
	cr_assert_eq(ref_csum(p->data + 20, 65535 - 20, 0), 0xffff);
	pkt_reset(p);
	cr_assert_eq(icmp6_error(p, R6, S6, &e, huge, sizeof(huge)), 40 + 65535);
	cr_assert_eq(p->data[4] << 8 | p->data[5], 65535);
	cr_assert_eq(ref_l4_sum(p->data, 40 + 65535), 0xffff);
	pkt_free(p);
	pkt_pool_free(wide);
}

Test(icmp, nothing_quoted)
{
	/* an empty orig still makes a well-formed 28 / 48-byte message */
	const struct icmp_err e = {.type = ICMP4_DEST_UNREACH};
	struct pkt *p = pkt_alloc(pool);

	cr_assert_eq(icmp4_error(p, R4, S4, &e, NULL, 0), 28);
	cr_assert_eq(ref_csum(p->data, 20, 0), 0xffff);
	cr_assert_eq(ref_csum(p->data + 20, 8, 0), 0xffff);
	pkt_reset(p);
	cr_assert_eq(icmp6_error(p, R6, S6, &e, NULL, 0), 48);
	cr_assert_eq(ref_l4_sum(p->data, 48), 0xffff);
	pkt_free(p);
}

Test(icmp, no_room_leaves_p_unchanged)
{
	struct pkt_pool *small = pkt_pool_new(1, 100); /* 164 bytes of tailroom */
	const struct icmp_err e = {.type = ICMP4_DEST_UNREACH};
	struct pkt *p = pkt_alloc(small);
	uint8_t before[164];

	memset(p->data, 0xa5, sizeof(before));
	memcpy(before, p->data, sizeof(before));
	cr_assert_eq(icmp4_error(p, R4, S4, &e, big, BIG), 0, "576 bytes do not fit");
	cr_assert_eq(icmp6_error(p, R6, S6, &e, big, BIG), 0, "1280 bytes do not fit");
	cr_assert_eq(p->len, 0);
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM);
	cr_assert_arr_eq(p->data, before, sizeof(before), "nothing written");
	/* within the room, the same pkt works */
	cr_assert_eq(icmp4_error(p, R4, S4, &e, orig4, sizeof(orig4)), 60);
	pkt_free(p);
	pkt_pool_free(small);
}

Test(icmp, cap_below_the_headers_is_refused)
{
	const struct icmp_err e4 = {.type = ICMP4_DEST_UNREACH, .max_len = 27};
	const struct icmp_err e6 = {.type = ICMP6_DEST_UNREACH, .max_len = 47};
	const struct icmp_err e4ok = {.type = ICMP4_DEST_UNREACH, .max_len = 28};
	const struct icmp_err e6ok = {.type = ICMP6_DEST_UNREACH, .max_len = 48};
	struct pkt *p = pkt_alloc(pool);

	cr_assert_eq(icmp4_error(p, R4, S4, &e4, orig4, sizeof(orig4)), 0);
	cr_assert_eq(icmp6_error(p, R6, S6, &e6, orig6, sizeof(orig6)), 0);
	cr_assert_eq(p->len, 0);
	/* exactly the headers: nothing quoted */
	cr_assert_eq(icmp4_error(p, R4, S4, &e4ok, orig4, sizeof(orig4)), 28);
	pkt_reset(p);
	cr_assert_eq(icmp6_error(p, R6, S6, &e6ok, orig6, sizeof(orig6)), 48);
	pkt_free(p);
}

/*
 * icmp4_may_answer, RFC 1812 §4.3.2.7 and §5.3.7. The base packet is a 28-byte UDP datagram
 * from 198.51.100.7 to 203.0.113.9 (checksums do not matter to the predicate).
 */
/* inline arrays, not pointers: Criterion copies the parameters into each test's process */
struct may4_vec {
	char name[64];
	char hex[160];
	bool want;
};

#define V4(flags, proto, src, dst) "4500001c 0001" flags "40" proto "0000" src dst
#define SRC4 "c6336407"
#define DST4 "cb007109"
#define UDP8 "04d2003500080000"

ParameterizedTestParameters(icmp, may4)
{
	static struct may4_vec v[] = {
	    {"udp", V4("0000", "11", SRC4, DST4) UDP8, true},
	    {"udp, DF", V4("4000", "11", SRC4, DST4) UDP8, true},
	    {"icmp echo request", V4("0000", "01", SRC4, DST4) "0800f7ff00000000", true},
	    {"icmp echo reply", V4("0000", "01", SRC4, DST4) "0000ffff00000000", true},
	    {"icmp timestamp", V4("0000", "01", SRC4, DST4) "0d00000000000000", true},
	    {"icmp address mask reply", V4("0000", "01", SRC4, DST4) "1200000000000000", true},
	    {"icmp dest unreachable", V4("0000", "01", SRC4, DST4) "0301000000000000", false},
	    {"icmp source quench", V4("0000", "01", SRC4, DST4) "0400000000000000", false},
	    {"icmp redirect", V4("0000", "01", SRC4, DST4) "0500000000000000", false},
	    {"icmp time exceeded", V4("0000", "01", SRC4, DST4) "0b00000000000000", false},
	    {"icmp parameter problem", V4("0000", "01", SRC4, DST4) "0c00000000000000", false},
	    {"icmp extended echo (RFC 8335)", V4("0000", "01", SRC4, DST4) "2a00000000000000",
	     true},
	    {"icmp unknown type 41", V4("0000", "01", SRC4, DST4) "2900000000000000", false},
	    {"icmp unknown type 200", V4("0000", "01", SRC4, DST4) "c800000000000000", false},
	    {"icmp, no type byte", V4("0000", "01", SRC4, DST4), false},
	    {"first fragment of an echo", V4("2000", "01", SRC4, DST4) "0800f7ff00000000", true},
	    {"first fragment of an error", V4("2000", "01", SRC4, DST4) "0301000000000000", false},
	    {"first fragment of udp", V4("2000", "11", SRC4, DST4) UDP8, true},
	    {"fragment at offset 8", V4("2001", "11", SRC4, DST4) UDP8, false},
	    {"last fragment", V4("00b9", "11", SRC4, DST4) UDP8, false},
	    {"fragment offset high bits", V4("1000", "11", SRC4, DST4) UDP8, false},
	    {"src 0.0.0.0", V4("0000", "11", "00000000", DST4) UDP8, false},
	    {"src 0.1.2.3 (network 0)", V4("0000", "11", "00010203", DST4) UDP8, false},
	    {"src 127.0.0.1", V4("0000", "11", "7f000001", DST4) UDP8, false},
	    {"src 224.0.0.1", V4("0000", "11", "e0000001", DST4) UDP8, false},
	    {"src 239.255.255.255", V4("0000", "11", "efffffff", DST4) UDP8, false},
	    {"src 240.0.0.1 (class E)", V4("0000", "11", "f0000001", DST4) UDP8, false},
	    {"src 255.255.255.255", V4("0000", "11", "ffffffff", DST4) UDP8, false},
	    {"src 10.0.0.1", V4("0000", "11", "0a000001", DST4) UDP8, true},
	    {"src 1.0.0.0", V4("0000", "11", "01000000", DST4) UDP8, true},
	    {"src 223.255.255.255", V4("0000", "11", "dfffffff", DST4) UDP8, true},
	    {"dst 224.0.0.5", V4("0000", "11", SRC4, "e0000005") UDP8, false},
	    {"dst 239.1.2.3", V4("0000", "11", SRC4, "ef010203") UDP8, false},
	    {"dst 255.255.255.255", V4("0000", "11", SRC4, "ffffffff") UDP8, false},
	    {"dst 240.0.0.1 (class E)", V4("0000", "11", SRC4, "f0000001") UDP8, true},
	    {"dst 10.255.255.255 (a directed broadcast cannot be told)",
	     V4("0000", "11", SRC4, "0affffff") UDP8, true},
	    /* IHL 6: the type is read past the options (NOP NOP NOP EOL) */
	    {"options, then echo",
	     "46000028 00010000 40010000" SRC4 DST4 "01010100 0800f7ff00000000", true},
	    {"options, then error",
	     "46000028 00010000 40010000" SRC4 DST4 "01010100 0300000000000000", false},
	    {"IHL 6 but 20 bytes", "46000014 00010000 40110000" SRC4 DST4, false},
	    {"IHL 4", "4400001c 00010000 40110000" SRC4 DST4 UDP8, false},
	    {"version 6", "6500001c 00010000 40110000" SRC4 DST4 UDP8, false},
	    {"19 bytes", "4500001c 00010000 40110000" SRC4 "cb0071", false},
	    {"empty", "", false},
	};
	return cr_make_param_array(struct may4_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct may4_vec *t, icmp, may4)
{
	uint8_t b[128];
	long n = th_unhex(t->hex, b, sizeof(b));

	cr_assert_geq(n, 0, "%s: bad hex", t->name);
	cr_assert_eq(icmp4_may_answer(b, (size_t)n), t->want, "%s", t->name);
}

/*
 * icmp6_may_answer, RFC 4443 §2.4 (e): about packets from 2001:db8:1::7 to 2001:db8:2::9
 * unless said otherwise, answered with the error type/code given.
 */
struct may6_vec {
	char name[64];
	char hex[320];
	uint8_t type, code;
	bool want;
};

#define SRC6 "20010db8000100000000000000000007"
#define DST6 "20010db8000200000000000000000009"
#define MC6 "ff020000000000000000000000000001"
#define V6(plen, next, src, dst) "60000000" plen next "40" src dst
#define ECHO6 "8000000000000000"
#define UNREACH6 "0100000000000000"
/* hop-by-hop / destination options: next, length 0 (8 bytes), PadN of 4 */
#define OPT8(next)                                                                                 \
	next "00"                                                                                  \
	     "0104"                                                                                \
	     "00000000"

ParameterizedTestParameters(icmp, may6)
{
	static struct may6_vec v[] = {
	    {"udp", V6("0008", "11", SRC6, DST6) UDP8, 1, 0, true},
	    {"echo request", V6("0008", "3a", SRC6, DST6) ECHO6, 1, 0, true},
	    {"echo reply", V6("0008", "3a", SRC6, DST6) "8100000000000000", 1, 0, true},
	    {"neighbour solicitation", V6("0008", "3a", SRC6, DST6) "8700000000000000", 1, 0, true},
	    {"dest unreachable", V6("0008", "3a", SRC6, DST6) UNREACH6, 1, 0, false},
	    {"packet too big", V6("0008", "3a", SRC6, DST6) "0200000000000500", 1, 0, false},
	    {"time exceeded", V6("0008", "3a", SRC6, DST6) "0300000000000000", 1, 0, false},
	    {"parameter problem", V6("0008", "3a", SRC6, DST6) "0400000000000000", 1, 0, false},
	    {"unassigned error type 127", V6("0008", "3a", SRC6, DST6) "7f00000000000000", 1, 0,
	     false},
	    {"icmpv6 without its type byte", V6("0000", "3a", SRC6, DST6), 1, 0, true},
	    /* §2.4 (e.6) */
	    {"src ::", V6("0008", "11", "00000000000000000000000000000000", DST6) UDP8, 1, 0,
	     false},
	    {"src ::1 is one node", V6("0008", "11", "00000000000000000000000000000001", DST6) UDP8,
	     1, 0, true},
	    {"src multicast", V6("0008", "11", MC6, DST6) UDP8, 2, 0, false},
	    /* §2.4 (e.3) and its exceptions (e.3 / e.4 cite 2 and 4/2) */
	    {"dst multicast, unreachable", V6("0008", "11", SRC6, MC6) UDP8, 1, 0, false},
	    {"dst multicast, time exceeded", V6("0008", "11", SRC6, MC6) UDP8, 3, 0, false},
	    {"dst multicast, packet too big", V6("0008", "11", SRC6, MC6) UDP8, 2, 0, true},
	    {"dst multicast, param problem 2", V6("0008", "11", SRC6, MC6) UDP8, 4, 2, true},
	    {"dst multicast, param problem 1", V6("0008", "11", SRC6, MC6) UDP8, 4, 1, false},
	    {"dst multicast, param problem 0", V6("0008", "11", SRC6, MC6) UDP8, 4, 0, false},
	    {"dst multicast, PTB about an error", V6("0008", "3a", SRC6, MC6) UNREACH6, 2, 0,
	     false},
	    {"dst multicast, PTB about an echo", V6("0008", "3a", SRC6, MC6) ECHO6, 2, 0, true},
	    /* extension headers (RFC 8200 §4) in front of the upper layer */
	    {"hbh, error", V6("0010", "00", SRC6, DST6) OPT8("3a") UNREACH6, 1, 0, false},
	    {"hbh, echo", V6("0010", "00", SRC6, DST6) OPT8("3a") ECHO6, 1, 0, true},
	    {"hbh, dst, rh, error",
	     V6("0030", "00", SRC6, DST6) OPT8("3c")
		 OPT8("2b") "3a02 0000 00000000" /* type 0 routing, 24 bytes: one address */
			    "00000000000000000000000000000000" UNREACH6,
	     1, 0, false},
	    {"hbh, dst, rh, udp",
	     V6("0030", "00", SRC6, DST6) OPT8("3c")
		 OPT8("2b") "1102 0000 00000000"
			    "00000000000000000000000000000000" UDP8,
	     1, 0, true},
	    {"dst options of 16 bytes, error",
	     V6("0018", "3c", SRC6, DST6) "3a01 010c 000000000000000000000000" UNREACH6, 1, 0,
	     false},
	    {"first fragment, error", V6("0010", "2c", SRC6, DST6) "3a00 0001 12345678" UNREACH6, 1,
	     0, false},
	    {"atomic fragment, error", V6("0010", "2c", SRC6, DST6) "3a00 0000 12345678" UNREACH6,
	     1, 0, false},
	    {"non-first fragment: upper layer unseen",
	     V6("0010", "2c", SRC6, DST6) "3a00 0320 12345678" UNREACH6, 1, 0, true},
	    {"non-first last fragment", V6("0010", "2c", SRC6, DST6) "3a00 0008 12345678" UNREACH6,
	     1, 0, true},
	    /* RFC 4302 §2.2: payload length 4 -> (4 + 2) * 4 = 24 bytes */
	    {"ah, error",
	     V6("0020", "33", SRC6,
		DST6) "3a04 0000 00000001 00000001 0000000000000000 00000000" UNREACH6,
	     1, 0, false},
	    {"ah, echo",
	     V6("0020", "33", SRC6,
		DST6) "3a04 0000 00000001 00000001 0000000000000000 00000000" ECHO6,
	     1, 0, true},
	    {"esp: unseen", V6("0008", "32", SRC6, DST6) "0000000100000001", 1, 0, true},
	    {"no next header", V6("0000", "3b", SRC6, DST6), 1, 0, true},
	    /* truncated chains: may answer */
	    {"hbh, 1 byte", V6("0001", "00", SRC6, DST6) "3a", 1, 0, true},
	    {"hbh of 16 bytes, 8 there", V6("0008", "00", SRC6, DST6) "3a01 0106 00000000", 1, 0,
	     true},
	    {"fragment, 3 bytes", V6("0003", "2c", SRC6, DST6) "3a0000", 1, 0, true},
	    {"hbh, icmpv6 type missing", V6("0008", "00", SRC6, DST6) OPT8("3a"), 1, 0, true},
	    /* not an IPv6 packet */
	    {"39 bytes", "60000000 0000 3b40" SRC6 "20010db80002000000000000000000", 1, 0, false},
	    {"version 4", "40000000 0008 1140" SRC6 DST6 UDP8, 1, 0, false},
	};
	return cr_make_param_array(struct may6_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct may6_vec *t, icmp, may6)
{
	const struct icmp_err e = {.type = t->type, .code = t->code};
	uint8_t b[160];
	long n = th_unhex(t->hex, b, sizeof(b));

	cr_assert_geq(n, 0, "%s: bad hex", t->name);
	cr_assert_eq(icmp6_may_answer(b, (size_t)n, &e), t->want, "%s", t->name);
}

/*
 * A chain of k 8-byte destination options headers, then an ICMPv6 error: found through a
 * realistic chain, given up on (may answer) past a bounded walk rather than looping on.
 */
static size_t dst_chain(uint8_t *b, size_t k)
{
	long n = th_unhex(V6("0000", "3c", SRC6, DST6), b, 40);
	size_t len = (size_t)n;

	for (size_t i = 0; i < k; i++, len += 8) {
		memset(b + len, 0, 8);
		b[len] = i + 1 < k ? 60 : 58;
		b[len + 2] = 1; /* PadN */
		b[len + 3] = 4;
	}
	memset(b + len, 0, 8);
	b[len] = ICMP6_TIME_EXCEEDED;
	return len + 8;
}

Test(icmp, may6_long_chains_are_bounded)
{
	static uint8_t b[40 + 200 * 8 + 8];
	const struct icmp_err e = {.type = ICMP6_DEST_UNREACH};

	cr_assert_not(icmp6_may_answer(b, dst_chain(b, 1), &e));
	cr_assert_not(icmp6_may_answer(b, dst_chain(b, 8), &e));
	cr_assert(icmp6_may_answer(b, dst_chain(b, 200), &e));
}

Test(icmp, may_answer_our_own_errors_is_false)
{
	/* what the builders make is itself never answered */
	const struct icmp_err e4 = {.type = ICMP4_DEST_UNREACH, .code = ICMP4_HOST_UNREACH};
	const struct icmp_err e6 = {.type = ICMP6_PKT_TOO_BIG, .rest = 1280};
	struct pkt *p = pkt_alloc(pool);

	cr_assert(icmp4_may_answer(orig4, sizeof(orig4)));
	icmp4_error(p, R4, S4, &e4, orig4, sizeof(orig4));
	cr_assert_not(icmp4_may_answer(p->data, p->len));
	pkt_reset(p);
	cr_assert(icmp6_may_answer(orig6, sizeof(orig6), &e6));
	icmp6_error(p, R6, S6, &e6, orig6, sizeof(orig6));
	cr_assert_not(icmp6_may_answer(p->data, p->len, &e6));
	pkt_free(p);
}
