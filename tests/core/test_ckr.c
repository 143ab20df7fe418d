/*
 * Tests for core/ckr, crypto-key routing (spec yggdrasil-sessions-core-admin.md §7.4,
 * nat64-requirements.md §F 45-50), with hand-written IPv4 and IPv6 packets, fake callbacks
 * and a fake clock: the outbound checks (local source, routed destination, longest prefix)
 * and their ICMP errors, the inbound checks (source routed to the sender, local destination),
 * the MTU (Fragmentation Needed, Packet Too Big, IPv4 fragmentation both ways), the ICMP
 * suppression rules and token bucket, the control plane, and that every pool pkt comes back.
 *
 * Expected packets are complete byte arrays: the small ones are written out in hex (their
 * checksums worked out by hand and checked by the support routine refcsum), the large ones are
 * built field by field by ref_icmp4 / ref_icmp6 below from RFC 792, RFC 1812 §4.3.2, RFC 1191
 * §4 and RFC 4443 §3, with checksums from refcsum, never from the code under test.
 *
 * The standard table (env_init): local 192.168.1.0/24 and 2001:db8:1::/48; routes 10.0.0.0/8
 * -> KA, 10.1.0.0/16 -> KB, 2001:db8:2::/48 -> KA, 2001:db8:2:5::/64 -> KB.
 */
#include "core/ckr.h"
#include "lib/inet.h"
#include "lib/pkt.h"
#include "support/hex.h"
#include "support/refcsum.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum {
	MAXREC = 256,
	KEEP = 4096,
	NPKTS = 16,
	CAP = 4096,
	ERR4_MAX = 576,	 /* RFC 1812 §4.3.2.3 */
	ERR6_MAX = 1280, /* RFC 4443 §2.4 (c) */
};

/*
 * The hand-written vectors. RFC 791 §3.1 header: version 4 IHL 5, TOS 0, total length 32,
 * ID 0x1234, no flags, TTL 64, protocol 17, checksum; then UDP 1234 -> 5678, length 12,
 * checksum (RFC 768), "ping".
 */
/* 192.168.1.10 -> 10.2.3.4 (routed to KA) */
#define V4_A                                                                                       \
	"45 00 00 20 12 34 00 00 40 11 99 e1 c0 a8 01 0a 0a 02 03 04"                              \
	"04 d2 16 2e 00 0c 37 4d 70 69 6e 67"
/* 192.168.1.10 -> 203.0.113.7 (no route) */
#define V4_NR                                                                                      \
	"45 00 00 20 12 34 00 00 40 11 6a df c0 a8 01 0a cb 00 71 07"                              \
	"04 d2 16 2e 00 0c 08 4b 70 69 6e 67"
/*
 * Its answer, ICMPv4 Destination Unreachable, net unreachable (RFC 792): IPv4 header with
 * TOS 0xc0 (RFC 1812 §4.3.2.5, precedence 6), length 60, ID 0, TTL 64, protocol 1, from
 * 203.0.113.7 to 192.168.1.10; type 3 code 0, checksum, 4 unused bytes, the whole datagram.
 */
#define ICMP4_NR                                                                                   \
	"45 c0 00 3c 00 00 00 00 40 01 7c 47 cb 00 71 07 c0 a8 01 0a"                              \
	"03 00 fa d7 00 00 00 00" V4_NR
/* 10.2.3.4 -> 192.168.1.10, UDP 5678 -> 1234 "pong" (checksums filled by fix_*) */
#define V4_IN                                                                                      \
	"45 00 00 20 43 21 00 00 3f 11 00 00 0a 02 03 04 c0 a8 01 0a"                              \
	"16 2e 04 d2 00 0c 00 00 70 6f 6e 67"

#define A6_LOCAL "20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 10" /* 2001:db8:1::10 */
#define A6_KA "20 01 0d b8 00 02 00 00 00 00 00 00 00 00 00 01"	   /* 2001:db8:2::1 */
#define A6_KB "20 01 0d b8 00 02 00 05 00 00 00 00 00 00 00 07"	   /* 2001:db8:2:5::7 */
#define A6_NR "20 01 0d b8 00 99 00 00 00 00 00 00 00 00 00 01"	   /* 2001:db8:99::1 */
/*
 * RFC 8200 §3: version 6, class and flow 0, payload length 12, next header 17, hop limit 64;
 * UDP 1234 -> 5678 "ping" (checksum with the pseudo-header, filled by fix_l4_6).
 */
#define V6_HDR "60 00 00 00 00 0c 11 40"
#define V6_UDP "04 d2 16 2e 00 0c 00 00 70 69 6e 67"
#define V6_A V6_HDR A6_LOCAL A6_KA V6_UDP
#define V6_NR V6_HDR A6_LOCAL A6_NR V6_UDP
#define V6_IN V6_HDR A6_KB A6_LOCAL V6_UDP
/*
 * ICMPv6 Destination Unreachable, no route (RFC 4443 §3.1): payload length 8 + 52, next
 * header 58, hop limit 64, from 2001:db8:99::1 to 2001:db8:1::10; type 1 code 0, checksum,
 * unused, the whole packet.
 */
#define ICMP6_NR "60 00 00 00 00 3c 3a 40" A6_NR A6_LOCAL "01 00 00 00 00 00 00 00"

struct rec {
	uint8_t key[32];
	size_t len;
	uint8_t b[KEEP];
};

struct env {
	struct pkt_pool *pool;
	struct ckr *c;
	uint8_t ka[32], kb[32], kc[32];
	int nsent, ntun;
	struct rec sent[MAXREC];
	struct rec tun[MAXREC];
};

static struct env E;

static void record(struct rec *r, const uint8_t *key, const struct pkt *p)
{
	cr_assert_leq(p->len, (size_t)KEEP);
	if (key)
		memcpy(r->key, key, 32);
	r->len = p->len;
	memcpy(r->b, p->data, p->len);
}

static void f_send(void *ctx, const uint8_t dest[32], struct pkt *p)
{
	struct env *e = ctx;

	cr_assert_lt(e->nsent, MAXREC);
	record(&e->sent[e->nsent++], dest, p);
	pkt_free(p);
}

static void f_to_tun(void *ctx, struct pkt *p)
{
	struct env *e = ctx;

	cr_assert_lt(e->ntun, MAXREC);
	record(&e->tun[e->ntun++], NULL, p);
	pkt_free(p);
}

/* "addr" or "addr/len", parsed with libc inet_pton; host bits are kept as written. */
static struct inet_prefix pfx(const char *s)
{
	struct inet_prefix p = {0};
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char buf[64];

	cr_assert_lt(n, sizeof(buf));
	memcpy(buf, s, n);
	buf[n] = 0;
	p.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(p.family, buf, p.addr), 1, "bad address %s", s);
	p.len = (uint8_t)(slash ? atoi(slash + 1) : p.family == AF_INET ? 32 : 128);
	return p;
}

static void env_bare(uint32_t mtu, size_t npkts, size_t cap)
{
	static const struct ckr_cbs cbs = {.ctx = &E, .send = f_send, .to_tun = f_to_tun};

	memset(&E, 0, sizeof(E));
	for (int i = 0; i < 32; i++) {
		E.ka[i] = (uint8_t)(0xa0 ^ i);
		E.kb[i] = (uint8_t)(0xb0 ^ i);
		E.kc[i] = (uint8_t)(0xc0 ^ i);
	}
	E.pool = pkt_pool_new(npkts, cap);
	cr_assert_not_null(E.pool);
	E.c = ckr_new(mtu, E.pool, &cbs);
	cr_assert_not_null(E.c);
}

static void add_route(const char *s, const uint8_t key[32])
{
	struct inet_prefix p = pfx(s);

	cr_assert_eq(ckr_add_route(E.c, &p, key), 0, "route %s", s);
}

static void del_route(const char *s)
{
	struct inet_prefix p = pfx(s);

	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), 0, "remove %s", s);
}

static void add_local(const char *s)
{
	struct inet_prefix p = pfx(s);

	cr_assert_eq(ckr_add_local(E.c, &p), 0, "local %s", s);
}

static void env_pool(uint32_t mtu, size_t npkts, size_t cap)
{
	env_bare(mtu, npkts, cap);
	add_local("192.168.1.0/24");
	add_local("2001:db8:1::/48");
	add_route("10.0.0.0/8", E.ka);
	add_route("10.1.0.0/16", E.kb);
	add_route("2001:db8:2::/48", E.ka);
	add_route("2001:db8:2:5::/64", E.kb);
}

static void env_init(uint32_t mtu)
{
	env_pool(mtu, NPKTS, CAP);
}

static size_t in_use(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(E.pool, &info);
	return info.in_use;
}

static void env_fini(void)
{
	cr_assert_eq(in_use(), 0, "pkts leaked");
	ckr_free(E.c);
	pkt_pool_free(E.pool);
}

/* ---- bytes ---- */

static void put16(uint8_t *b, size_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
}

static size_t get16(const uint8_t *b)
{
	return (size_t)b[0] << 8 | b[1];
}

static size_t unhex(const char *hex, uint8_t *out)
{
	long n = th_unhex(hex, out, KEEP);

	cr_assert_geq(n, 0, "bad hex");
	return (size_t)n;
}

/* RFC 791 §3.1: the header checksum over the first n header bytes, by refcsum. */
static void fix_ip4_n(uint8_t *b, size_t n)
{
	put16(b + 10, 0);
	put16(b + 10, (uint16_t)~ref_csum(b, n, 0));
}

static void fix_ip4(uint8_t *b)
{
	fix_ip4_n(b, (size_t)(b[0] & 0x0f) * 4);
}

/* RFC 792: the ICMPv4 checksum covers the ICMP message only. */
static void fix_icmp4(uint8_t *b, size_t len)
{
	put16(b + 22, 0);
	put16(b + 22, (uint16_t)~ref_csum(b + 20, len - 20, 0));
}

/* UDP (RFC 768) or ICMPv6 (RFC 4443 §2.3) checksum at off, with the pseudo-header. */
static void fix_l4(uint8_t *b, size_t len, size_t off)
{
	put16(b + off, 0);
	put16(b + off, (uint16_t)~ref_l4_sum(b, len));
}

/* A hand vector with its checksums filled in by refcsum. */
static size_t vec4(const char *hex, uint8_t *b)
{
	size_t n = unhex(hex, b);

	fix_ip4(b);
	fix_l4(b, n, 26);
	return n;
}

static size_t vec6(const char *hex, uint8_t *b)
{
	size_t n = unhex(hex, b);

	fix_l4(b, n, 46);
	return n;
}

/*
 * An IPv4 datagram of len bytes (RFC 791 §3.1): IHL 5, TOS 0, the given ID and flags+offset
 * word, TTL 64, protocol proto, a byte pattern after the header, header checksum by refcsum.
 */
static size_t ip4(uint8_t *b, const char *src, const char *dst, size_t len, uint16_t id,
		  uint16_t frag, uint8_t proto)
{
	struct inet_prefix s = pfx(src), d = pfx(dst);

	memset(b, 0, 20);
	b[0] = 0x45;
	put16(b + 2, len);
	put16(b + 4, id);
	put16(b + 6, frag);
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, s.addr, 4);
	memcpy(b + 16, d.addr, 4);
	for (size_t i = 20; i < len; i++)
		b[i] = (uint8_t)(i * 13 + 5);
	fix_ip4(b);
	return len;
}

enum {
	DF = 0x4000, /* RFC 791 §3.1 flags, in the flags+offset word */
	MF = 0x2000,
	UDP = 17,
	ICMP4 = 1,
	ICMP6 = 58,
};

/* An IPv6 packet of len bytes (RFC 8200 §3): next header nh, hop limit 64, a byte pattern. */
static size_t ip6(uint8_t *b, const char *src, const char *dst, size_t len, uint8_t nh)
{
	struct inet_prefix s = pfx(src), d = pfx(dst);

	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, len - 40);
	b[6] = nh;
	b[7] = 64;
	memcpy(b + 8, s.addr, 16);
	memcpy(b + 24, d.addr, 16);
	for (size_t i = 40; i < len; i++)
		b[i] = (uint8_t)(i * 11 + 1);
	return len;
}

/*
 * The ICMPv4 error about orig, from orig's destination to its source, field by field: IPv4
 * header (RFC 791) with TOS 0xc0 (RFC 1812 §4.3.2.5), ID 0, no flags, TTL 64, protocol 1; ICMP
 * type, code, checksum, 2 unused bytes and the next-hop MTU (RFC 1191 §4: bytes 6-7, zero but
 * for 3/4), then as much of orig as fits in 576 bytes (RFC 1812 §4.3.2.3).
 */
static size_t ref_icmp4(uint8_t *out, const uint8_t *orig, size_t olen, uint8_t type, uint8_t code,
			uint16_t mtu)
{
	size_t q = olen < ERR4_MAX - 28 ? olen : ERR4_MAX - 28, n = 28 + q;

	memset(out, 0, 28);
	out[0] = 0x45;
	out[1] = 0xc0;
	put16(out + 2, n);
	out[8] = 64;
	out[9] = ICMP4;
	memcpy(out + 12, orig + 16, 4);
	memcpy(out + 16, orig + 12, 4);
	out[20] = type;
	out[21] = code;
	put16(out + 26, mtu);
	memcpy(out + 28, orig, q);
	fix_ip4(out);
	fix_icmp4(out, n);
	return n;
}

/*
 * The ICMPv6 error about orig, from orig's destination to its source (RFC 4443 §2.2, §3):
 * IPv6 header, next header 58, hop limit 64; type, code, checksum, the 4-byte field, then as
 * much of orig as fits in 1280 bytes (§2.4 (c)).
 */
static size_t ref_icmp6(uint8_t *out, const uint8_t *orig, size_t olen, uint8_t type, uint8_t code,
			uint32_t rest)
{
	size_t q = olen < ERR6_MAX - 48 ? olen : ERR6_MAX - 48, n = 48 + q;

	memset(out, 0, 48);
	out[0] = 0x60;
	put16(out + 4, 8 + q);
	out[6] = ICMP6;
	out[7] = 64;
	memcpy(out + 8, orig + 24, 16);
	memcpy(out + 24, orig + 8, 16);
	out[40] = type;
	out[41] = code;
	put32(out + 44, rest);
	memcpy(out + 48, orig, q);
	fix_l4(out, n, 42);
	return n;
}

static struct pkt *mkpkt(const uint8_t *b, size_t n)
{
	struct pkt *p = pkt_alloc(E.pool);
	uint8_t *d;

	cr_assert_not_null(p, "test pool empty");
	d = pkt_put(p, n);
	cr_assert_not_null(d);
	memcpy(d, b, n);
	return p;
}

static enum ckr_verdict from_tun(const uint8_t *b, size_t n, uint64_t now)
{
	return ckr_from_tun(E.c, mkpkt(b, n), now);
}

static enum ckr_verdict from_core(const uint8_t *key, const uint8_t *b, size_t n, uint64_t now)
{
	return ckr_from_core(E.c, key, mkpkt(b, n), now);
}

static void expect_bytes(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen,
			 const char *what)
{
	cr_assert_eq(glen, wlen, "%s: %zu bytes, want %zu", what, glen, wlen);
	if (memcmp(got, want, wlen) == 0)
		return;
	for (size_t i = 0; i < wlen; i++)
		cr_assert_eq(got[i], want[i], "%s: byte %zu is %02x, want %02x", what, i, got[i],
			     want[i]);
}

/* Record i of the TUN is exactly want. */
static void expect_tun(int i, const uint8_t *want, size_t n)
{
	cr_assert_gt(E.ntun, i, "only %d packets on the TUN", E.ntun);
	expect_bytes(E.tun[i].b, E.tun[i].len, want, n, "to_tun");
}

/* Record i of send went to key and is [0x01] || want (§F 48). */
static void expect_sent(int i, const uint8_t key[32], const uint8_t *want, size_t n)
{
	cr_assert_gt(E.nsent, i, "only %d packets sent", E.nsent);
	cr_assert_arr_eq(E.sent[i].key, key, 32, "send %d: wrong key", i);
	cr_assert_geq(E.sent[i].len, 1);
	cr_assert_eq(E.sent[i].b[0], CKR_TYPE_TRAFFIC, "send %d: type byte", i);
	expect_bytes(E.sent[i].b + 1, E.sent[i].len - 1, want, n, "send");
}

static void expect_dir(const char *d, const struct ckr_dir_stats *g, const struct ckr_dir_stats *w)
{
#define F(x)                                                                                       \
	cr_assert_eq(g->x, w->x, "%s." #x " = %llu, want %llu", d, (unsigned long long)g->x,       \
		     (unsigned long long)w->x)
	F(passed);
	F(bytes);
	F(malformed);
	F(bad_src);
	F(bad_dst);
	F(too_big);
	F(fragmented);
	F(frag_failed);
#undef F
}

/* Every counter is as in w (each packet counted once). */
static void expect_stats(const struct ckr_stats *w)
{
	const struct ckr_stats *g = ckr_get_stats(E.c);

	expect_dir("out", &g->out, &w->out);
	expect_dir("in", &g->in, &w->in);
#define F(x)                                                                                       \
	cr_assert_eq(g->x, w->x, #x " = %llu, want %llu", (unsigned long long)g->x,                \
		     (unsigned long long)w->x)
	F(icmp_sent);
	F(icmp_limited);
	F(icmp_suppressed);
	F(no_pkt);
#undef F
}

/* ---- the vectors themselves ---- */

Test(ckr, hand_vectors_have_right_checksums)
{
	uint8_t a[KEEP], nr[KEEP], e[KEEP], r[KEEP];
	size_t na = unhex(V4_A, a), nnr = unhex(V4_NR, nr), ne = unhex(ICMP4_NR, e), nref;

	cr_assert_eq(na, 32);
	cr_assert_eq(nnr, 32);
	cr_assert_eq(ne, 60);
	cr_assert_eq(ref_csum(a, 20, 0), 0xffff);
	cr_assert_eq(ref_l4_sum(a, na), 0xffff);
	cr_assert_eq(ref_csum(nr, 20, 0), 0xffff);
	cr_assert_eq(ref_l4_sum(nr, nnr), 0xffff);
	cr_assert_eq(ref_csum(e, 20, 0), 0xffff);
	cr_assert_eq(ref_csum(e + 20, ne - 20, 0), 0xffff);
	/* the reference builder agrees with the vector written by hand */
	nref = ref_icmp4(r, nr, nnr, 3, 0, 0);
	expect_bytes(r, nref, e, ne, "ref_icmp4");
}

/* ---- outbound (§F 46) ---- */

Test(ckr, out_ipv4_routed_gets_type_byte)
{
	uint8_t b[KEEP];
	size_t n = unhex(V4_A, b);

	env_init(65535);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.ntun, 0);
	expect_sent(0, E.ka, b, n);
	expect_stats(&(struct ckr_stats){.out.passed = 1, .out.bytes = 32});
	env_fini();
}

Test(ckr, out_ipv6_routed_gets_type_byte)
{
	uint8_t b[KEEP];
	size_t n = vec6(V6_A, b);

	env_init(65535);
	cr_assert_eq(n, 52);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	cr_assert_eq(E.nsent, 1);
	expect_sent(0, E.ka, b, n);
	expect_stats(&(struct ckr_stats){.out.passed = 1, .out.bytes = 52});
	env_fini();
}

Test(ckr, out_trailing_bytes_trimmed)
{
	uint8_t b4[KEEP], b6[KEEP];
	size_t n4 = unhex(V4_A, b4), n6 = vec6(V6_A, b6);

	env_init(65535);
	/* RFC 791 total length / RFC 8200 payload length end the packet: the rest is link junk */
	memset(b4 + n4, 0xee, 7);
	memset(b6 + n6, 0xee, 5);
	cr_assert_eq(from_tun(b4, n4 + 7, 0), CKR_PASS);
	cr_assert_eq(from_tun(b6, n6 + 5, 0), CKR_PASS);
	expect_sent(0, E.ka, b4, n4);
	expect_sent(1, E.ka, b6, n6);
	expect_stats(&(struct ckr_stats){.out.passed = 2, .out.bytes = 32 + 52});
	env_fini();
}

struct dst_key {
	const char *dst;
	char key; /* 'a', 'b', 'c' */
};

static const uint8_t *key_of(char k)
{
	return k == 'a' ? E.ka : k == 'b' ? E.kb : E.kc;
}

static void check_dests(const struct dst_key *t, size_t n, int *sent)
{
	uint8_t b[KEEP];

	for (size_t i = 0; i < n; i++) {
		size_t len = strchr(t[i].dst, ':')
				 ? ip6(b, "2001:db8:1::10", t[i].dst, 60, UDP)
				 : ip4(b, "192.168.1.10", t[i].dst, 40, 7, 0, UDP);

		cr_assert_eq(from_tun(b, len, 0), CKR_PASS, "%s", t[i].dst);
		cr_assert_eq(E.nsent, *sent + 1, "%s", t[i].dst);
		cr_assert_arr_eq(E.sent[*sent].key, key_of(t[i].key), 32, "%s: want key %c",
				 t[i].dst, t[i].key);
		expect_sent(*sent, key_of(t[i].key), b, len);
		++*sent;
	}
}

Test(ckr, out_longest_prefix_wins)
{
	static const struct dst_key nested[] = {
	    {"10.1.2.3", 'b'},	      {"10.1.0.0", 'b'},
	    {"10.1.255.255", 'b'},    {"10.2.3.4", 'a'},
	    {"10.0.255.255", 'a'},    {"10.255.255.255", 'a'},
	    {"10.0.0.0", 'a'},	      {"2001:db8:2::1", 'a'},
	    {"2001:db8:2:5::1", 'b'}, {"2001:db8:2:5:ffff::1", 'b'},
	    {"2001:db8:2:6::1", 'a'}, {"2001:db8:2:4::1", 'a'},
	};
	static const struct dst_key host[] = {
	    {"10.1.2.3", 'c'},	      {"10.1.2.2", 'b'}, {"10.1.2.4", 'b'},
	    {"10.2.3.4", 'a'},	      {"8.8.8.8", 'c'},	 {"2001:db8:2:5::1", 'c'},
	    {"2001:db8:2:5::2", 'b'},
	};
	int sent = 0;

	env_init(65535);
	check_dests(nested, sizeof(nested) / sizeof(nested[0]), &sent);
	/* inserted in the other order: the same answers */
	del_route("10.0.0.0/8");
	del_route("10.1.0.0/16");
	del_route("2001:db8:2::/48");
	del_route("2001:db8:2:5::/64");
	add_route("10.1.0.0/16", E.kb);
	add_route("2001:db8:2:5::/64", E.kb);
	add_route("10.0.0.0/8", E.ka);
	add_route("2001:db8:2::/48", E.ka);
	check_dests(nested, sizeof(nested) / sizeof(nested[0]), &sent);
	/* a host route beats both; a default route catches the rest */
	add_route("10.1.2.3/32", E.kc);
	add_route("0.0.0.0/0", E.kc);
	add_route("2001:db8:2:5::1/128", E.kc);
	check_dests(host, sizeof(host) / sizeof(host[0]), &sent);
	cr_assert_eq(E.ntun, 0);
	expect_stats(&(struct ckr_stats){.out.passed = (uint64_t)sent,
					 .out.bytes = 2 * (7 * 40 + 5 * 60) + 5 * 40 + 2 * 60});
	env_fini();
}

Test(ckr, out_no_route_icmp4_net_unreachable)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = unhex(V4_NR, b), nw = unhex(ICMP4_NR, want);

	env_init(65535);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 1);
	expect_tun(0, want, nw);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, out_no_route_quotes_the_trimmed_packet)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = unhex(V4_NR, b), nw = unhex(ICMP4_NR, want);

	env_init(65535);
	memset(b + n, 0xee, 10);
	cr_assert_eq(from_tun(b, n + 10, 0), CKR_REJECT);
	expect_tun(0, want, nw);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, out_no_route_icmp4_quote_capped_at_576)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip4(b, "192.168.1.10", "203.0.113.7", 1000, 0x5555, 0, UDP), nw;

	env_init(65535);
	nw = ref_icmp4(want, b, n, 3, 0, 0);
	cr_assert_eq(nw, 576);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	expect_tun(0, want, nw);
	/* by hand: total length 576, type 3 code 0, the first 548 bytes of the datagram */
	cr_assert_eq(get16(E.tun[0].b + 2), 576);
	cr_assert_eq(E.tun[0].b[20], 3);
	cr_assert_eq(E.tun[0].b[21], 0);
	cr_assert_arr_eq(E.tun[0].b + 28, b, 548);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, out_no_route_icmp6_no_route)
{
	uint8_t b[KEEP], want[KEEP], r[KEEP];
	size_t n = vec6(V6_NR, b), nw = unhex(ICMP6_NR, want), nr;

	env_init(65535);
	memcpy(want + nw, b, n);
	nw += n;
	fix_l4(want, nw, 42);
	cr_assert_eq(nw, 100);
	nr = ref_icmp6(r, b, n, 1, 0, 0);
	expect_bytes(r, nr, want, nw, "ref_icmp6");
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.nsent, 0);
	expect_tun(0, want, nw);
	cr_assert_eq(ref_l4_sum(E.tun[0].b, E.tun[0].len), 0xffff);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, out_no_route_icmp6_quote_capped_at_1280)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip6(b, "2001:db8:1::10", "2001:db8:99::1", 1500, UDP), nw;

	/* no route is found before the size is looked at: 1/0, not Packet Too Big */
	env_init(1280);
	nw = ref_icmp6(want, b, n, 1, 0, 0);
	cr_assert_eq(nw, 1280);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	expect_tun(0, want, nw);
	cr_assert_eq(get16(E.tun[0].b + 4), 1240);
	cr_assert_arr_eq(E.tun[0].b + 48, b, 1232);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, out_foreign_source_icmp4_admin_prohibited)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;

	env_init(65535);
	/* 192.168.2.9 -> 10.2.3.4: 3/13 from 10.2.3.4 to 192.168.2.9 */
	n = vec4("45 00 00 20 00 01 00 00 40 11 00 00 c0 a8 02 09 0a 02 03 04" V6_UDP, b);
	nw = unhex("45 c0 00 3c 00 00 00 00 40 01 00 00 0a 02 03 04 c0 a8 02 09"
		   "03 0d 00 00 00 00 00 00",
		   want);
	memcpy(want + nw, b, n);
	nw += n;
	fix_ip4(want);
	fix_icmp4(want, nw);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	expect_tun(0, want, nw);
	/* a remote node's address is not ours to send from either */
	n = ip4(b, "10.1.2.3", "10.2.3.4", 64, 2, 0, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	nw = ref_icmp4(want, b, n, 3, 13, 0);
	expect_tun(1, want, nw);
	cr_assert_eq(E.nsent, 0);
	expect_stats(&(struct ckr_stats){.out.bad_src = 2, .icmp_sent = 2});
	env_fini();
}

Test(ckr, out_foreign_source_icmp6_admin_prohibited)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;

	env_init(65535);
	n = vec6(V6_HDR "20 01 0d b8 00 07 00 00 00 00 00 00 00 00 00 01" A6_KA V6_UDP, b);
	nw = unhex("60 00 00 00 00 3c 3a 40" A6_KA "20 01 0d b8 00 07 00 00 00 00 00 00 00 00 00 01"
		   "01 01 00 00 00 00 00 00",
		   want);
	memcpy(want + nw, b, n);
	nw += n;
	fix_l4(want, nw, 42);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	expect_tun(0, want, nw);
	cr_assert_eq(E.nsent, 0);
	expect_stats(&(struct ckr_stats){.out.bad_src = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, out_source_checked_before_route)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip4(b, "192.168.2.9", "203.0.113.7", 40, 3, 0, UDP), nw;

	env_init(65535);
	nw = ref_icmp4(want, b, n, 3, 13, 0);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	expect_tun(0, want, nw);
	expect_stats(&(struct ckr_stats){.out.bad_src = 1, .icmp_sent = 1});
	env_fini();
}

/* ---- malformed, both ways ---- */

struct bad_vec {
	char name[48];
	int family; /* 4: from V4_A, 6: from V6_A */
	int off;    /* byte set to val */
	uint8_t val;
	int cut;       /* new length, or -1 */
	bool is_fixed; /* recompute the 20-byte header checksum afterwards */
};

ParameterizedTestParameters(ckr, malformed_dropped)
{
	static struct bad_vec v[] = {
	    {"version 5", 4, 0, 0x55, -1, false},
	    {"version 0", 4, 0, 0x05, -1, false},
	    {"empty", 4, 0, 0x45, 0, false},
	    {"one byte", 4, 0, 0x45, 1, false},
	    {"IPv4 shorter than a header", 4, 0, 0x45, 19, false},
	    {"bad header checksum", 4, 11, 0xe2, -1, false},
	    {"total length past the data", 4, 3, 0x21, -1, true},
	    {"total length below the header", 4, 3, 0x13, -1, true},
	    {"IHL 4", 4, 0, 0x44, -1, true},
	    {"IHL 0", 4, 0, 0x40, -1, true},
	    {"IHL past the total length", 4, 0, 0x4f, -1, true},
	    {"IPv6 shorter than a header", 6, 0, 0x60, 39, false},
	    {"IPv6 payload length past the data", 6, 5, 13, -1, false},
	    {"IPv6 version 7", 6, 0, 0x70, -1, false},
	};
	return cr_make_param_array(struct bad_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_vec *t, ckr, malformed_dropped)
{
	uint8_t b[KEEP];
	size_t n;

	env_init(65535);
	for (int dir = 0; dir < 2; dir++) {
		n = t->family == 4 ? unhex(V4_A, b) : vec6(V6_A, b);
		b[t->off] = t->val;
		if (t->is_fixed)
			fix_ip4_n(b, 20);
		if (t->cut >= 0)
			n = (size_t)t->cut;
		if (dir == 0)
			cr_assert_eq(from_tun(b, n, 0), CKR_DROP, "%s: out", t->name);
		else
			cr_assert_eq(from_core(E.ka, b, n, 0), CKR_DROP, "%s: in", t->name);
	}
	cr_assert_eq(E.nsent, 0, "%s", t->name);
	cr_assert_eq(E.ntun, 0, "%s", t->name);
	expect_stats(&(struct ckr_stats){.out.malformed = 1, .in.malformed = 1});
	env_fini();
}

/* ---- inbound (§F 47) ---- */

Test(ckr, in_ipv4_delivered_unchanged)
{
	uint8_t b[KEEP];
	size_t n = vec4(V4_IN, b);

	env_init(65535);
	memset(b + n, 0xee, 3); /* trimmed too */
	cr_assert_eq(from_core(E.ka, b, n + 3, 0), CKR_PASS);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 1);
	expect_tun(0, b, n);
	expect_stats(&(struct ckr_stats){.in.passed = 1, .in.bytes = 32});
	env_fini();
}

Test(ckr, in_ipv6_delivered_unchanged)
{
	uint8_t b[KEEP];
	size_t n = vec6(V6_IN, b);

	env_init(65535);
	/* 2001:db8:2:5::7 is KB's by the /64 */
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_PASS);
	expect_tun(0, b, n);
	/* and a host of KB's route to any host of our /48 */
	n = ip6(b, "2001:db8:2:5:abcd::1", "2001:db8:1:ffff::2", 200, UDP);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_PASS);
	expect_tun(1, b, n);
	cr_assert_eq(E.nsent, 0);
	expect_stats(&(struct ckr_stats){.in.passed = 2, .in.bytes = 52 + 200});
	env_fini();
}

Test(ckr, in_source_of_another_key_dropped)
{
	struct {
		const char *src;
		char from;
	} bad[] = {
	    {"10.2.3.4", 'b'},	      /* KA's */
	    {"10.1.2.3", 'a'},	      /* in KA's /8, but KB's /16 is longer */
	    {"10.2.3.4", 'c'},	      /* an unknown key */
	    {"203.0.113.7", 'a'},     /* not routed */
	    {"192.168.1.99", 'a'},    /* our own subnet */
	    {"2001:db8:2:5::7", 'a'}, /* KB's /64 inside KA's /48 */
	    {"2001:db8:2::1", 'b'},   {"2001:db8:99::1", 'a'},
	};
	uint8_t b[KEEP];
	size_t n;

	env_init(65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strchr(bad[i].src, ':') ? ip6(b, bad[i].src, "2001:db8:1::10", 80, UDP)
					    : ip4(b, bad[i].src, "192.168.1.10", 60, 9, 0, UDP);
		cr_assert_eq(from_core(key_of(bad[i].from), b, n, 0), CKR_DROP, "%s from %c",
			     bad[i].src, bad[i].from);
	}
	/* nothing sent anywhere, not even an ICMP error */
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 0);
	/* the right key passes */
	n = ip4(b, "10.1.2.3", "192.168.1.10", 60, 9, 0, UDP);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_PASS);
	expect_tun(0, b, n);
	expect_stats(&(struct ckr_stats){.in.bad_src = 8, .in.passed = 1, .in.bytes = 60});
	env_fini();
}

Test(ckr, in_destination_not_local_dropped)
{
	static const char *const dsts[] = {"192.168.2.1", "10.1.2.3", "8.8.8.8", "2001:db8:2::9",
					   "2001:db8:3::1"};
	uint8_t b[KEEP];
	size_t n;

	env_init(65535);
	/* no open relay: a remote node cannot use us to reach a third network or another node */
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		n = strchr(dsts[i], ':') ? ip6(b, "2001:db8:2::1", dsts[i], 70, UDP)
					 : ip4(b, "10.2.3.4", dsts[i], 50, 1, 0, UDP);
		cr_assert_eq(from_core(E.ka, b, n, 0), CKR_DROP, "%s", dsts[i]);
	}
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 0);
	expect_stats(&(struct ckr_stats){.in.bad_dst = 5});
	env_fini();
}

Test(ckr, in_source_checked_before_destination_and_size)
{
	uint8_t b[KEEP];
	size_t n;

	env_init(1280);
	n = ip4(b, "10.2.3.4", "192.168.2.1", 50, 1, 0, UDP);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_DROP);
	/* too big and DF, but not the sender's source: no Fragmentation Needed goes anywhere */
	n = ip4(b, "10.2.3.4", "192.168.1.10", 1500, 1, DF, UDP);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_DROP);
	n = ip6(b, "2001:db8:2::1", "2001:db8:1::10", 1500, UDP);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_DROP);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 0);
	expect_stats(&(struct ckr_stats){.in.bad_src = 3});
	env_fini();
}

/* ---- MTU ---- */

Test(ckr, mtu_clamped)
{
	static const struct {
		uint32_t in, want;
	} t[] = {{0, 1280},	 {1279, 1280},	 {1280, 1280},	     {1500, 1500},
		 {65535, 65535}, {65536, 65535}, {UINT32_MAX, 65535}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		env_bare(t[i].in, 2, 256);
		cr_assert_eq(ckr_mtu(E.c), t[i].want, "mtu %u", t[i].in);
		env_fini();
	}
}

Test(ckr, mtu_out_ipv4_df_frag_needed)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.2.3.4", 1500, 0x1111, DF, UDP), nw;

	env_init(1280);
	nw = ref_icmp4(want, b, n, 3, 4, 1280);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 1);
	expect_tun(0, want, nw);
	/* RFC 1191 §4: bytes 4-5 unused, 6-7 the next-hop MTU */
	cr_assert_eq(E.tun[0].len, 576);
	cr_assert_eq(E.tun[0].b[20], 3);
	cr_assert_eq(E.tun[0].b[21], 4);
	cr_assert_eq(get16(E.tun[0].b + 24), 0);
	cr_assert_eq(get16(E.tun[0].b + 26), 1280);
	cr_assert_arr_eq(E.tun[0].b + 12, b + 16, 4, "from the destination");
	cr_assert_arr_eq(E.tun[0].b + 16, b + 12, 4, "to the source");
	expect_stats(&(struct ckr_stats){.out.too_big = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, mtu_out_exactly_the_mtu_passes)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;

	env_init(1280);
	n = ip4(b, "192.168.1.10", "10.2.3.4", 1280, 1, DF, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(0, E.ka, b, n);
	n = ip6(b, "2001:db8:1::10", "2001:db8:2::1", 1280, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(1, E.ka, b, n);
	n = ip4(b, "192.168.1.10", "10.2.3.4", 1281, 1, DF, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	nw = ref_icmp4(want, b, n, 3, 4, 1280);
	expect_tun(0, want, nw);
	n = ip6(b, "2001:db8:1::10", "2001:db8:2::1", 1281, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	nw = ref_icmp6(want, b, n, 2, 0, 1280);
	expect_tun(1, want, nw);
	cr_assert_eq(E.nsent, 2);
	expect_stats(&(struct ckr_stats){
	    .out.passed = 2, .out.bytes = 2560, .out.too_big = 2, .icmp_sent = 2});
	env_fini();
}

Test(ckr, mtu_larger_passes_whole)
{
	uint8_t b[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.2.3.4", 3000, 1, 0, UDP);

	env_init(9000);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(0, E.ka, b, n);
	expect_stats(&(struct ckr_stats){.out.passed = 1, .out.bytes = 3000});
	env_fini();
}

/*
 * The 3000-byte datagram 192.168.1.10 -> 10.2.3.4, ID 0xbeef, cut for an MTU of 1280 (RFC 791
 * §3.2): (1280 - 20) rounded down to 8 is 1256 bytes of data per piece, so 1256 + 1256 + 468,
 * offsets 0, 157 and 314 (in 8-byte units), MF on all but the last, total lengths 1276, 1276
 * and 488. Header checksums are filled in by refcsum.
 */
static const char *const frags_out[3] = {
    "45 00 04 fc be ef 20 00 40 11 00 00 c0 a8 01 0a 0a 02 03 04",
    "45 00 04 fc be ef 20 9d 40 11 00 00 c0 a8 01 0a 0a 02 03 04",
    "45 00 01 e8 be ef 01 3a 40 11 00 00 c0 a8 01 0a 0a 02 03 04",
};
static const char *const frags_in[3] = {
    "45 00 04 fc be ef 20 00 40 11 00 00 0a 02 03 04 c0 a8 01 0a",
    "45 00 04 fc be ef 20 9d 40 11 00 00 0a 02 03 04 c0 a8 01 0a",
    "45 00 01 e8 be ef 01 3a 40 11 00 00 0a 02 03 04 c0 a8 01 0a",
};
static const size_t frag_off[3] = {0, 1256, 2512};
static const size_t frag_dlen[3] = {1256, 1256, 468};

/* recs[i] (after skip bytes) is fragment i of orig, exactly; and they reassemble to orig. */
static void expect_frags(const struct rec *recs, size_t skip, const char *const hdrs[3],
			 const uint8_t *orig, size_t olen)
{
	uint8_t want[KEEP], joined[KEEP];
	size_t total = 0;

	memset(joined, 0, sizeof(joined));
	for (int i = 0; i < 3; i++) {
		const uint8_t *g = recs[i].b + skip;
		size_t glen = recs[i].len - skip, nw = unhex(hdrs[i], want), off;

		if (skip)
			cr_assert_eq(recs[i].b[0], CKR_TYPE_TRAFFIC, "fragment %d type byte", i);
		fix_ip4(want);
		memcpy(want + nw, orig + 20 + frag_off[i], frag_dlen[i]);
		nw += frag_dlen[i];
		expect_bytes(g, glen, want, nw, "fragment");
		cr_assert_leq(glen, 1280);
		cr_assert_eq(ref_csum(g, 20, 0), 0xffff, "fragment %d header checksum", i);
		/* reassembly (RFC 791 §3.2) from the fields as received */
		off = (get16(g + 6) & 0x1fff) * 8;
		cr_assert_eq(!!(get16(g + 6) & MF), i < 2, "fragment %d MF", i);
		cr_assert_eq(get16(g + 4), 0xbeef);
		memcpy(joined + off, g + 20, get16(g + 2) - 20);
		total += get16(g + 2) - 20;
	}
	cr_assert_eq(total, olen - 20);
	cr_assert_arr_eq(joined, orig + 20, olen - 20, "reassembled payload");
}

Test(ckr, mtu_out_ipv4_fragmented)
{
	uint8_t b[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.2.3.4", 3000, 0xbeef, 0, UDP);

	env_init(1280);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	cr_assert_eq(E.ntun, 0);
	cr_assert_eq(E.nsent, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_arr_eq(E.sent[i].key, E.ka, 32);
	expect_frags(E.sent, 1, frags_out, b, n);
	expect_stats(&(struct ckr_stats){
	    .out.passed = 1, .out.bytes = 1276 + 1276 + 488, .out.fragmented = 1});
	env_fini();
}

Test(ckr, mtu_out_fragment_cut_again)
{
	/* a fragment (MF, offset 16 units) of 2000 bytes: offsets continue, MF stays on both */
	static const char *const hdrs[2] = {
	    "45 00 04 fc 77 77 20 10 40 11 00 00 c0 a8 01 0a 0a 02 03 04",
	    "45 00 02 e8 77 77 20 ad 40 11 00 00 c0 a8 01 0a 0a 02 03 04",
	};
	static const size_t off[2] = {0, 1256}, dlen[2] = {1256, 724};
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.2.3.4", 2000, 0x7777, MF | 16, UDP), nw;

	env_init(1280);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	cr_assert_eq(E.nsent, 2);
	for (int i = 0; i < 2; i++) {
		nw = unhex(hdrs[i], want);
		fix_ip4(want);
		memcpy(want + nw, b + 20 + off[i], dlen[i]);
		expect_sent(i, E.ka, want, nw + dlen[i]);
	}
	expect_stats(
	    &(struct ckr_stats){.out.passed = 1, .out.bytes = 1276 + 744, .out.fragmented = 1});
	env_fini();
}

Test(ckr, mtu_out_ipv6_packet_too_big)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip6(b, "2001:db8:1::10", "2001:db8:2::1", 1500, UDP), nw;

	env_init(1280);
	nw = ref_icmp6(want, b, n, 2, 0, 1280);
	cr_assert_eq(nw, 1280);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.nsent, 0);
	expect_tun(0, want, nw);
	/* RFC 4443 §3.2: type 2, code 0, the MTU in the 4 bytes after the checksum */
	cr_assert_eq(E.tun[0].b[40], 2);
	cr_assert_eq(E.tun[0].b[41], 0);
	cr_assert_eq(E.tun[0].b[44] << 24 | E.tun[0].b[45] << 16 | E.tun[0].b[46] << 8 |
			 E.tun[0].b[47],
		     1280);
	cr_assert_eq(ref_l4_sum(E.tun[0].b, E.tun[0].len), 0xffff);
	expect_stats(&(struct ckr_stats){.out.too_big = 1, .icmp_sent = 1});
	env_fini();
}

Test(ckr, mtu_in_ipv4_df_frag_needed_to_the_sender)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;

	env_init(1280);
	n = ip4(b, "10.2.3.4", "192.168.1.10", 1500, 0x2222, DF, UDP);
	nw = ref_icmp4(want, b, n, 3, 4, 1280);
	cr_assert_eq(from_core(E.ka, b, n, 0), CKR_REJECT);
	cr_assert_eq(E.ntun, 0);
	cr_assert_eq(E.nsent, 1);
	/* from the packet's destination to its source, in KA's session */
	expect_sent(0, E.ka, want, nw);
	cr_assert_eq(get16(E.sent[0].b + 1 + 26), 1280);
	/* KB's source: back to KB */
	n = ip4(b, "10.1.2.3", "192.168.1.10", 1400, 0x2223, DF, UDP);
	nw = ref_icmp4(want, b, n, 3, 4, 1280);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_REJECT);
	expect_sent(1, E.kb, want, nw);
	/* the errors travel the outbound path: counted there as passed */
	expect_stats(&(struct ckr_stats){
	    .in.too_big = 2, .icmp_sent = 2, .out.passed = 2, .out.bytes = 2 * 576});
	env_fini();
}

Test(ckr, mtu_in_ipv4_fragmented_to_the_tun)
{
	uint8_t b[KEEP];
	size_t n = ip4(b, "10.2.3.4", "192.168.1.10", 3000, 0xbeef, 0, UDP);

	env_init(1280);
	cr_assert_eq(from_core(E.ka, b, n, 0), CKR_PASS);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 3);
	expect_frags(E.tun, 0, frags_in, b, n);
	expect_stats(
	    &(struct ckr_stats){.in.passed = 1, .in.bytes = 1276 + 1276 + 488, .in.fragmented = 1});
	env_fini();
}

Test(ckr, mtu_in_ipv6_packet_too_big_to_the_sender)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip6(b, "2001:db8:2:5::7", "2001:db8:1::10", 1500, UDP), nw;

	env_init(1280);
	nw = ref_icmp6(want, b, n, 2, 0, 1280);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_REJECT);
	cr_assert_eq(E.ntun, 0);
	cr_assert_eq(E.nsent, 1);
	expect_sent(0, E.kb, want, nw);
	expect_stats(&(struct ckr_stats){
	    .in.too_big = 1, .icmp_sent = 1, .out.passed = 1, .out.bytes = 1280});
	env_fini();
}

Test(ckr, mtu_fragments_need_the_pool)
{
	uint8_t b[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.2.3.4", 3000, 0xbeef, 0, UDP);

	/* the datagram holds one of the 3 buffers; 3 fragments do not fit in the other 2 */
	env_pool(1280, 3, CAP);
	cr_assert_eq(from_tun(b, n, 0), CKR_DROP);
	n = ip4(b, "10.2.3.4", "192.168.1.10", 3000, 0xbeef, 0, UDP);
	cr_assert_eq(from_core(E.ka, b, n, 0), CKR_DROP);
	cr_assert_eq(E.nsent, 0, "a datagram goes whole or not at all");
	cr_assert_eq(E.ntun, 0);
	expect_stats(&(struct ckr_stats){.out.frag_failed = 1, .in.frag_failed = 1});
	env_fini();
}

Test(ckr, mtu_fragment_bad_options_dropped)
{
	uint8_t b[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.2.3.4", 2000, 1, 0, UDP);

	env_init(1280);
	/* IHL 6: a timestamp option (RFC 791 §3.1) whose length 10 runs past the header */
	b[0] = 0x46;
	memcpy(b + 20, (const uint8_t[]){0x44, 0x0a, 0x05, 0x00}, 4);
	fix_ip4(b);
	cr_assert_eq(from_tun(b, n, 0), CKR_DROP);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 0);
	expect_stats(&(struct ckr_stats){.out.frag_failed = 1});
	env_fini();
}

/* ---- ICMP suppression (RFC 1812 §4.3.2.7, RFC 4443 §2.4 (e)) ---- */

Test(ckr, icmp_not_about_icmp_errors)
{
	static const struct {
		uint8_t type;
		bool is_answered;
	} t4[] = {{3, false}, {11, false}, {12, false}, {5, false}, {8, true}, {0, true}},
	  t6[] = {{1, false}, {2, false}, {3, false}, {4, false}, {128, true}, {129, true}};
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;
	int ntun = 0;

	env_init(1280);
	for (size_t i = 0; i < sizeof(t4) / sizeof(t4[0]); i++) {
		n = ip4(b, "192.168.1.10", "203.0.113.7", 56, 1, 0, ICMP4);
		b[20] = t4[i].type;
		cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
		if (t4[i].is_answered) {
			nw = ref_icmp4(want, b, n, 3, 0, 0);
			expect_tun(ntun++, want, nw);
		}
		cr_assert_eq(E.ntun, ntun, "ICMPv4 type %u", t4[i].type);
	}
	for (size_t i = 0; i < sizeof(t6) / sizeof(t6[0]); i++) {
		n = ip6(b, "2001:db8:1::10", "2001:db8:99::1", 80, ICMP6);
		b[40] = t6[i].type;
		cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
		if (t6[i].is_answered) {
			nw = ref_icmp6(want, b, n, 1, 0, 0);
			expect_tun(ntun++, want, nw);
		}
		cr_assert_eq(E.ntun, ntun, "ICMPv6 type %u", t6[i].type);
	}
	/* too big, and itself an error: no Fragmentation Needed about it either */
	n = ip4(b, "192.168.1.10", "10.2.3.4", 1500, 1, DF, ICMP4);
	b[20] = 3;
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.ntun, ntun);
	cr_assert_eq(E.nsent, 0);
	expect_stats(&(struct ckr_stats){
	    .out.bad_dst = 12, .out.too_big = 1, .icmp_sent = 4, .icmp_suppressed = 9});
	env_fini();
}

Test(ckr, icmp_not_about_non_first_fragments)
{
	static const struct {
		uint16_t frag;
		bool is_answered;
	} t[] = {{MF | 185, false}, {185, false}, {1, false}, {MF, true}, {DF, true}};
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;
	int ntun = 0;

	env_init(1280);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = ip4(b, "192.168.1.10", "203.0.113.7", 100, 1, t[i].frag, UDP);
		cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
		if (t[i].is_answered) {
			nw = ref_icmp4(want, b, n, 3, 0, 0);
			expect_tun(ntun++, want, nw);
		}
		cr_assert_eq(E.ntun, ntun, "flags+offset %04x", t[i].frag);
	}
	/* a non-first fragment with DF, too big */
	n = ip4(b, "192.168.1.10", "10.2.3.4", 1500, 1, DF | 100, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.ntun, ntun);
	expect_stats(&(struct ckr_stats){
	    .out.bad_dst = 5, .out.too_big = 1, .icmp_sent = 2, .icmp_suppressed = 4});
	env_fini();
}

Test(ckr, icmp_not_about_broadcast_or_multicast)
{
	static const struct {
		const char *src, *dst;
	} quiet[] = {
	    {"192.168.1.10", "239.255.255.250"}, /* no route: 3/0 not sent */
	    {"224.0.0.5", "10.2.3.4"},		 /* not local: 3/13 not sent */
	    {"255.255.255.255", "10.2.3.4"},
	    {"0.0.0.0", "10.2.3.4"},
	    {"127.0.0.1", "10.2.3.4"},
	    {"ff02::1", "2001:db8:2::1"}, /* not local: 1/1 not sent */
	    {"::", "2001:db8:2::1"},
	};
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;

	env_init(1280);
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		n = strchr(quiet[i].src, ':') ? ip6(b, quiet[i].src, quiet[i].dst, 60, UDP)
					      : ip4(b, quiet[i].src, quiet[i].dst, 40, 1, 0, UDP);
		cr_assert_eq(from_tun(b, n, 0), CKR_REJECT, "%s -> %s", quiet[i].src, quiet[i].dst);
		cr_assert_eq(E.ntun, 0, "%s -> %s", quiet[i].src, quiet[i].dst);
	}
	/* routed multicast, too big: no 3/4 (RFC 1812), but Packet Too Big (RFC 4443 (e.3)) */
	add_route("239.0.0.0/8", E.ka);
	add_route("ff0e::/16", E.ka);
	n = ip4(b, "192.168.1.10", "239.1.2.3", 1500, 1, DF, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.ntun, 0);
	n = ip6(b, "2001:db8:1::10", "ff0e::1", 1500, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	nw = ref_icmp6(want, b, n, 2, 0, 1280);
	expect_tun(0, want, nw);
	cr_assert_eq(E.ntun, 1);
	cr_assert_eq(E.nsent, 0);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1,
					 .out.bad_src = 6,
					 .out.too_big = 2,
					 .icmp_sent = 1,
					 .icmp_suppressed = 8});
	env_fini();
}

Test(ckr, link_scoped_chatter_dropped_quietly)
{
	static const struct {
		const char *src, *dst;
	} ll[] = {
	    {"192.168.1.10", "255.255.255.255"}, /* the limited broadcast (RFC 919) */
	    {"192.168.1.10", "224.0.0.1"},	 /* local network control (RFC 5771 §4) */
	    {"192.168.1.10", "224.0.0.251"},	 /* mDNS */
	    {"fe80::1", "2001:db8:2::1"},	 /* from link-local (RFC 4291 §2.5.6) */
	    {"2001:db8:1::10", "fe80::2"},	 {"fe80::1", "ff02::2"}, /* a router solicitation */
	    {"2001:db8:1::10", "ff02::16"},				 /* MLDv2 reports */
	    {"2001:db8:1::10", "ff01::1"},				 /* interface-local */
	};
	uint8_t b[KEEP];
	size_t n;

	env_init(1280);
	/* even when routed: a link-scoped packet is never forwarded */
	add_route("224.0.0.0/4", E.ka);
	for (size_t i = 0; i < sizeof(ll) / sizeof(ll[0]); i++) {
		n = strchr(ll[i].src, ':') ? ip6(b, ll[i].src, ll[i].dst, 60, UDP)
					   : ip4(b, ll[i].src, ll[i].dst, 40, 1, 0, UDP);
		cr_assert_eq(from_tun(b, n, 0), CKR_DROP, "%s -> %s", ll[i].src, ll[i].dst);
	}
	cr_assert_eq(E.ntun, 0);
	cr_assert_eq(E.nsent, 0);
	expect_stats(&(struct ckr_stats){.out.link_scoped = 8});
	/* 224.0.1.0 and beyond is routable multicast: it follows the routes */
	n = ip4(b, "192.168.1.10", "224.0.1.1", 40, 1, 0, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	cr_assert_eq(E.nsent, 1);
	env_fini();
}

/* ---- the rate limit ---- */

static enum ckr_verdict no_route(uint64_t now)
{
	uint8_t b[KEEP];
	size_t n = unhex(V4_NR, b);

	return from_tun(b, n, now);
}

Test(ckr, icmp_suppressed_takes_no_token)
{
	uint8_t b[KEEP];
	size_t n;

	env_init(1280);
	for (int i = 0; i < 60; i++) {
		n = ip4(b, "192.168.1.10", "239.255.255.250", 40, 1, 0, UDP);
		cr_assert_eq(from_tun(b, n, 1000), CKR_REJECT);
	}
	for (int i = 0; i < CKR_ICMP_BURST; i++)
		cr_assert_eq(no_route(1000), CKR_REJECT);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST);
	cr_assert_eq(no_route(1000), CKR_REJECT);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 60 + CKR_ICMP_BURST + 1,
					 .icmp_sent = CKR_ICMP_BURST,
					 .icmp_limited = 1,
					 .icmp_suppressed = 60});
	env_fini();
}

Test(ckr, icmp_rate_limit_burst_then_refill)
{
	uint8_t want[KEEP];
	size_t nw = unhex(ICMP4_NR, want);
	int sent;

	env_init(1280);
	/* a full bucket: CKR_ICMP_BURST errors at once, then none */
	for (int i = 0; i < CKR_ICMP_BURST; i++)
		cr_assert_eq(no_route(1000), CKR_REJECT);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST);
	for (int i = 0; i < E.ntun; i++)
		expect_tun(i, want, nw);
	cr_assert_eq(no_route(1000), CKR_REJECT, "still rejected, only not answered");
	cr_assert_eq(E.ntun, CKR_ICMP_BURST);
	/* CKR_ICMP_RATE per second: one token per 10 ms; part tokens add up over the misses */
	cr_assert_eq(no_route(1003), CKR_REJECT);
	cr_assert_eq(no_route(1009), CKR_REJECT);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST, "9 ms: not yet");
	cr_assert_eq(no_route(1010), CKR_REJECT);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST + 1, "10 ms: exactly one");
	cr_assert_eq(no_route(1010), CKR_REJECT);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST + 1);
	/* a second later the bucket is full again, and holds no more than the burst */
	sent = E.ntun;
	for (int i = 0; i < 2 * CKR_ICMP_BURST; i++)
		no_route(2010);
	cr_assert_eq(E.ntun - sent, CKR_ICMP_BURST);
	/* and after a long silence, the same */
	sent = E.ntun;
	for (int i = 0; i < CKR_ICMP_BURST + 10; i++)
		no_route(1000000);
	cr_assert_eq(E.ntun - sent, CKR_ICMP_BURST);
	for (int i = 0; i < E.ntun; i++)
		expect_tun(i, want, nw);
	expect_stats(&(struct ckr_stats){.out.bad_dst = CKR_ICMP_BURST + 5 + 2 * CKR_ICMP_BURST +
							CKR_ICMP_BURST + 10,
					 .icmp_sent = 3 * CKR_ICMP_BURST + 1,
					 .icmp_limited = 4 + CKR_ICMP_BURST + 10});
	env_fini();
}

Test(ckr, icmp_rate_sustained_per_second)
{
	env_init(1280);
	for (int i = 0; i < CKR_ICMP_BURST; i++)
		no_route(0);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST);
	/* one attempt every 5 ms for a second: every other one finds a whole token */
	for (int t = 5; t <= 1000; t += 5)
		no_route((uint64_t)t);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST + CKR_ICMP_RATE);
	expect_stats(&(struct ckr_stats){.out.bad_dst = CKR_ICMP_BURST + 200,
					 .icmp_sent = CKR_ICMP_BURST + CKR_ICMP_RATE,
					 .icmp_limited = 200 - CKR_ICMP_RATE});
	env_fini();
}

Test(ckr, icmp_rate_limit_shared_by_inbound_errors)
{
	uint8_t b[KEEP];
	size_t n = ip4(b, "10.2.3.4", "192.168.1.10", 1500, 1, DF, UDP);

	env_init(1280);
	for (int i = 0; i < CKR_ICMP_BURST; i++)
		no_route(0);
	cr_assert_eq(from_core(E.ka, b, n, 0), CKR_REJECT);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, CKR_ICMP_BURST);
	expect_stats(&(struct ckr_stats){.out.bad_dst = CKR_ICMP_BURST,
					 .in.too_big = 1,
					 .icmp_sent = CKR_ICMP_BURST,
					 .icmp_limited = 1});
	env_fini();
}

Test(ckr, icmp_without_a_buffer_is_counted)
{
	env_pool(1280, 1, CAP);
	/* the packet holds the only buffer */
	cr_assert_eq(no_route(0), CKR_REJECT);
	cr_assert_eq(E.ntun, 0);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 1, .no_pkt = 1});
	env_fini();
}

Test(ckr, icmp_larger_than_a_buffer_is_counted)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n, nw;

	/* buffers of 256 + 64 bytes: a 300-byte packet fits, its 328-byte error does not */
	env_pool(1280, 4, 256);
	n = ip4(b, "192.168.1.10", "203.0.113.7", 300, 1, 0, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	cr_assert_eq(E.ntun, 0);
	n = ip4(b, "192.168.1.10", "203.0.113.7", 200, 1, 0, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	nw = ref_icmp4(want, b, n, 3, 0, 0);
	expect_tun(0, want, nw);
	expect_stats(&(struct ckr_stats){.out.bad_dst = 2, .icmp_sent = 1, .no_pkt = 1});
	env_fini();
}

Test(ckr, out_without_headroom_for_the_type_is_dropped_once)
{
	uint8_t b[KEEP];
	size_t n = unhex(V4_A, b);
	struct pkt *p;

	env_init(65535);
	/* a packet at the very start of its buffer: no room for [0x01] */
	p = pkt_alloc(E.pool);
	cr_assert_not_null(p);
	cr_assert_not_null(pkt_push(p, pkt_headroom(p)));
	pkt_trim(p, 0);
	memcpy(pkt_put(p, n), b, n);
	cr_assert_eq(pkt_headroom(p), 0);
	cr_assert_eq(ckr_from_tun(E.c, p, 0), CKR_DROP, "not sent: not PASS");
	cr_assert_eq(E.nsent, 0);
	/* counted once, as no_pkt, not also as passed */
	expect_stats(&(struct ckr_stats){.no_pkt = 1});
	env_fini();
}

/* ---- control plane (§F 45, 50) ---- */

Test(ckr, add_route_errors)
{
	static const char *const bad[] = {
	    "::/0",	  "::/6",	  "200::/6",	   "200::/7",	     "300::/8",
	    "200::/8",	  "2ff::/16",	  "3ff:ffff::/32", "200::1/128",     "301:2:3:4::/64",
	    "0.0.0.0/33", "10.0.0.0/255", "::/129",	   "2001:db8::/200",
	};
	static const char *const good[] = {"::/7",     "100::/8",   "400::/6",
					   "2000::/3", "0.0.0.0/0", "1ff:ffff::/32"};
	struct ckr_route_info ri;
	struct inet_prefix p;

	env_init(65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = pfx(bad[i]);
		cr_assert_eq(ckr_add_route(E.c, &p, E.ka), -EINVAL, "%s", bad[i]);
	}
	p = pfx("10.0.0.0/8");
	p.family = 0;
	cr_assert_eq(ckr_add_route(E.c, &p, E.ka), -EINVAL, "family 0");
	p.family = AF_UNIX;
	cr_assert_eq(ckr_add_route(E.c, &p, E.ka), -EINVAL, "AF_UNIX");
	cr_assert_eq(ckr_route_count(E.c), 4);
	/* a prefix is routed to one key: remove it first */
	p = pfx("10.0.0.0/8");
	cr_assert_eq(ckr_add_route(E.c, &p, E.ka), -EEXIST);
	cr_assert_eq(ckr_add_route(E.c, &p, E.kb), -EEXIST);
	p = pfx("10.9.9.9/8");
	cr_assert_eq(ckr_add_route(E.c, &p, E.kc), -EEXIST, "host bits ignored");
	p = pfx("2001:db8:2:5:1::/64");
	cr_assert_eq(ckr_add_route(E.c, &p, E.kc), -EEXIST);
	p = pfx("10.200.0.1");
	cr_assert(ckr_route_for(E.c, &p, &ri));
	cr_assert_arr_eq(ri.key, E.ka, 32, "the first key stays");
	cr_assert_eq(ckr_route_count(E.c), 4);
	/* the neighbours of 200::/7, and another length of a routed prefix */
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		p = pfx(good[i]);
		cr_assert_eq(ckr_add_route(E.c, &p, E.kc), 0, "%s", good[i]);
	}
	p = pfx("10.0.0.0/9");
	cr_assert_eq(ckr_add_route(E.c, &p, E.kc), 0);
	cr_assert_eq(ckr_route_count(E.c), 4 + 6 + 1);
	expect_stats(&(struct ckr_stats){0});
	env_fini();
}

Test(ckr, add_route_ignores_host_bits)
{
	struct ckr_route_info ri;
	struct inet_prefix p, want = pfx("172.16.0.0/12");

	env_bare(65535, 2, 256);
	add_route("172.31.2.3/12", E.kc);
	p = pfx("172.20.0.1");
	cr_assert(ckr_route_for(E.c, &p, &ri));
	cr_assert_eq(ri.family, AF_INET);
	cr_assert_eq(ri.len, 12);
	cr_assert_arr_eq(ri.addr, want.addr, 16, "stored as 172.16.0.0");
	cr_assert_arr_eq(ri.key, E.kc, 32);
	p = pfx("172.32.0.1");
	cr_assert_not(ckr_route_for(E.c, &p, NULL));
	add_route("2001:db8:abcd:ef01::5/33", E.ka);
	want = pfx("2001:db8:8000::/33");
	p = pfx("2001:db8:ffff::1");
	cr_assert(ckr_route_for(E.c, &p, &ri));
	cr_assert_eq(ri.len, 33);
	cr_assert_arr_eq(ri.addr, want.addr, 16);
	/* removed by any address inside, at the same length */
	p = pfx("172.16.99.99/12");
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), 0);
	cr_assert_eq(ckr_route_count(E.c), 1);
	env_fini();
}

Test(ckr, remove_route)
{
	struct ckr_route_info ri;
	struct inet_prefix p, a = pfx("10.1.2.3");
	uint8_t old[32];

	env_init(65535);
	/* with the wrong key: refused, the route stays */
	p = pfx("10.1.0.0/16");
	cr_assert_eq(ckr_remove_route(E.c, &p, E.ka, old), -ENOENT);
	cr_assert(ckr_route_for(E.c, &a, &ri));
	cr_assert_arr_eq(ri.key, E.kb, 32);
	cr_assert_eq(ri.len, 16);
	cr_assert_eq(ckr_route_count(E.c), 4);
	/* with the right key */
	memset(old, 0, sizeof(old));
	cr_assert_eq(ckr_remove_route(E.c, &p, E.kb, old), 0);
	cr_assert_arr_eq(old, E.kb, 32);
	cr_assert(ckr_route_for(E.c, &a, &ri));
	cr_assert_arr_eq(ri.key, E.ka, 32, "the /8 now");
	cr_assert_eq(ri.len, 8);
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), -ENOENT, "gone");
	/* only the exact prefix */
	p = pfx("10.0.0.0/9");
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), -ENOENT);
	p = pfx("10.0.0.0/7");
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), -ENOENT);
	/* without a key: whatever it names; old may be NULL */
	p = pfx("2001:db8:2::/48");
	memset(old, 0, sizeof(old));
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, old), 0);
	cr_assert_arr_eq(old, E.ka, 32);
	p = pfx("2001:db8:2:5::/64");
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), 0);
	/* bad family or length */
	p = pfx("10.0.0.0/8");
	p.family = AF_UNIX;
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), -ENOENT);
	p = pfx("10.0.0.0/40");
	cr_assert_eq(ckr_remove_route(E.c, &p, NULL, NULL), -ENOENT);
	cr_assert_eq(ckr_route_count(E.c), 1);
	env_fini();
}

Test(ckr, route_for_lookups)
{
	struct {
		const char *a;
		char key; /* 0: no route */
		const char *route;
	} t[] = {
	    {"10.1.2.3", 'b', "10.1.0.0/16"},
	    {"10.200.0.1", 'a', "10.0.0.0/8"},
	    {"11.0.0.1", 0, NULL},
	    {"192.168.1.10", 0, NULL}, /* local is not routed */
	    {"2001:db8:2:5::99", 'b', "2001:db8:2:5::/64"},
	    {"2001:db8:2:ffff::1", 'a', "2001:db8:2::/48"},
	    {"2001:db8:3::1", 0, NULL},
	};
	struct ckr_route_info ri;
	struct inet_prefix a, r;

	env_init(65535);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a = pfx(t[i].a);
		a.len = 3; /* ignored */
		memset(&ri, 0x5a, sizeof(ri));
		if (!t[i].key) {
			cr_assert_not(ckr_route_for(E.c, &a, &ri), "%s", t[i].a);
			continue;
		}
		r = pfx(t[i].route);
		cr_assert(ckr_route_for(E.c, &a, &ri), "%s", t[i].a);
		cr_assert(ckr_route_for(E.c, &a, NULL), "%s", t[i].a);
		cr_assert_eq(ri.family, r.family, "%s", t[i].a);
		cr_assert_eq(ri.len, r.len, "%s", t[i].a);
		cr_assert_arr_eq(ri.addr, r.addr, 16, "%s", t[i].a);
		cr_assert_arr_eq(ri.key, key_of(t[i].key), 32, "%s", t[i].a);
	}
	a = pfx("10.1.2.3");
	a.family = AF_UNIX;
	cr_assert_not(ckr_route_for(E.c, &a, &ri));
	env_fini();
}

Test(ckr, locals)
{
	struct inet_prefix p;

	env_bare(65535, 2, 256);
	add_local("192.168.1.77/24"); /* host bits ignored */
	add_local("2001:db8:1:2:3::/48");
	p = pfx("192.168.1.0/24");
	cr_assert_eq(ckr_add_local(E.c, &p), -EEXIST);
	p = pfx("2001:db8:1::/48");
	cr_assert_eq(ckr_add_local(E.c, &p), -EEXIST);
	p = pfx("192.168.1.0/25");
	cr_assert_eq(ckr_add_local(E.c, &p), 0, "another length");
	p = pfx("200::/7");
	cr_assert_eq(ckr_add_local(E.c, &p), -EINVAL);
	p = pfx("::/0");
	cr_assert_eq(ckr_add_local(E.c, &p), -EINVAL);
	p = pfx("300::1/64");
	cr_assert_eq(ckr_add_local(E.c, &p), -EINVAL);
	p = pfx("1.2.3.4/33");
	cr_assert_eq(ckr_add_local(E.c, &p), -EINVAL);
	p.family = AF_UNIX;
	p.len = 8;
	cr_assert_eq(ckr_add_local(E.c, &p), -EINVAL);

	p = pfx("192.168.1.0");
	cr_assert(ckr_is_local(E.c, &p));
	p = pfx("192.168.1.255");
	cr_assert(ckr_is_local(E.c, &p));
	p = pfx("192.168.2.0");
	cr_assert_not(ckr_is_local(E.c, &p));
	p = pfx("192.168.0.255");
	cr_assert_not(ckr_is_local(E.c, &p));
	p = pfx("2001:db8:1:ffff:ffff:ffff:ffff:ffff");
	cr_assert(ckr_is_local(E.c, &p));
	p = pfx("2001:db8:2::");
	cr_assert_not(ckr_is_local(E.c, &p));
	/* the family picks the table: 192.168.1.x's bytes as an IPv6 address are not local */
	p = pfx("c0a8:10a::1");
	cr_assert_not(ckr_is_local(E.c, &p));
	p = pfx("192.168.1.10");
	p.family = AF_UNIX;
	cr_assert_not(ckr_is_local(E.c, &p));
	cr_assert_eq(ckr_route_count(E.c), 0, "locals are not routes");
	env_fini();
}

struct walked {
	int n;
	struct ckr_route_info r[16];
};

static void walk_cb(void *ctx, const struct ckr_route_info *r)
{
	struct walked *w = ctx;

	cr_assert_lt(w->n, 16);
	w->r[w->n++] = *r;
}

static void expect_walk(const struct walked *w, const char *const *want, const char *keys)
{
	size_t n = strlen(keys);
	static const uint8_t zero[32];

	cr_assert_eq(w->n, (int)n, "%d entries, want %zu", w->n, n);
	for (size_t i = 0; i < n; i++) {
		struct inet_prefix p = pfx(want[i]);

		cr_assert_eq(w->r[i].family, p.family, "%zu: %s", i, want[i]);
		cr_assert_eq(w->r[i].len, p.len, "%zu: %s", i, want[i]);
		cr_assert_arr_eq(w->r[i].addr, p.addr, 16, "%zu: %s", i, want[i]);
		cr_assert_arr_eq(w->r[i].key, keys[i] == '0' ? zero : key_of(keys[i]), 32,
				 "%zu: %s", i, want[i]);
	}
}

Test(ckr, foreach_in_prefix_order)
{
	static const char *const routes[] = {
	    "2001:db8:2:5::/64", "10.1.0.0/16", "400::/7",    "0.0.0.0/0",     "2001:db8:2::/48",
	    "192.0.2.0/24",	 "10.0.0.0/16", "10.0.0.0/8", "::ffff:0:0/96", "10.0.0.128/25",
	};
	static const char rkeys[] = "bbccaaccba";
	static const char *const want[] = {
	    "0.0.0.0/0",    "10.0.0.0/8",    "10.0.0.0/16", "10.0.0.128/25",   "10.1.0.0/16",
	    "192.0.2.0/24", "::ffff:0:0/96", "400::/7",	    "2001:db8:2::/48", "2001:db8:2:5::/64",
	};
	static const char *const locals[] = {"2001:db8:1::/48", "192.168.1.0/24", "10.9.0.0/16",
					     "192.168.0.0/16"};
	static const char *const want_locals[] = {"10.9.0.0/16", "192.168.0.0/16", "192.168.1.0/24",
						  "2001:db8:1::/48"};
	struct walked w = {0};

	env_bare(65535, 2, 256);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		add_route(routes[i], key_of(rkeys[i]));
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++)
		add_local(locals[i]);
	cr_assert_eq(ckr_route_count(E.c), 10);
	ckr_foreach_route(E.c, walk_cb, &w);
	expect_walk(&w, want, "cccababcab");
	memset(&w, 0, sizeof(w));
	ckr_foreach_local(E.c, walk_cb, &w);
	expect_walk(&w, want_locals, "0000");
	env_fini();
}

Test(ckr, route_count_follows_changes)
{
	struct inet_prefix p = pfx("10.0.0.0/8");

	env_bare(65535, 2, 256);
	cr_assert_eq(ckr_route_count(E.c), 0);
	add_route("10.0.0.0/8", E.ka);
	add_route("2001:db8::/32", E.ka);
	cr_assert_eq(ckr_route_count(E.c), 2);
	cr_assert_eq(ckr_add_route(E.c, &p, E.kb), -EEXIST);
	cr_assert_eq(ckr_route_count(E.c), 2);
	cr_assert_eq(ckr_remove_route(E.c, &p, E.kb, NULL), -ENOENT);
	cr_assert_eq(ckr_route_count(E.c), 2);
	del_route("10.0.0.0/8");
	cr_assert_eq(ckr_route_count(E.c), 1);
	del_route("2001:db8::/32");
	cr_assert_eq(ckr_route_count(E.c), 0);
	env_fini();
}

Test(ckr, routes_change_at_runtime)
{
	uint8_t b[KEEP], want[KEEP];
	size_t n = ip4(b, "192.168.1.10", "10.1.2.3", 40, 1, 0, UDP), nw;

	/* §F 50: the data path follows each change of the table */
	env_init(65535);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(0, E.kb, b, n);
	del_route("10.1.0.0/16");
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(1, E.ka, b, n);
	del_route("10.0.0.0/8");
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	nw = ref_icmp4(want, b, n, 3, 0, 0);
	expect_tun(0, want, nw);
	add_route("10.0.0.0/8", E.kc);
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(2, E.kc, b, n);
	/* and inbound: KC now owns 10.1.2.3, KB no longer does */
	n = ip4(b, "10.1.2.3", "192.168.1.10", 40, 1, 0, UDP);
	cr_assert_eq(from_core(E.kb, b, n, 0), CKR_DROP);
	cr_assert_eq(from_core(E.kc, b, n, 0), CKR_PASS);
	expect_tun(1, b, n);
	/* a new local subnet is a new allowed source */
	n = ip4(b, "172.16.0.1", "10.1.2.3", 40, 1, 0, UDP);
	cr_assert_eq(from_tun(b, n, 0), CKR_REJECT);
	add_local("172.16.0.0/12");
	cr_assert_eq(from_tun(b, n, 0), CKR_PASS);
	expect_sent(3, E.kc, b, n);
	expect_stats(&(struct ckr_stats){.out.passed = 4,
					 .out.bytes = 160,
					 .out.bad_dst = 1,
					 .out.bad_src = 1,
					 .in.passed = 1,
					 .in.bytes = 40,
					 .in.bad_src = 1,
					 .icmp_sent = 2});
	env_fini();
}

Test(ckr, free_null_and_free_with_routes)
{
	ckr_free(NULL);
	env_init(65535);
	add_route("0.0.0.0/0", E.kc);
	env_fini(); /* ASan: the route entries go with the ckr */
}
