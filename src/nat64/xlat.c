/*
 * xlat: RFC 7915 header translation in place on a struct pkt (see xlat.h).
 *
 * Owns nothing: the parsers only read, the translators edit the caller's pkt.
 *
 * Invariants:
 * - The parsers read b only at offsets already proven to lie below the length they trust (the
 *   header's length for the packet, what is there for a quote); extension header chains and
 *   option lists are walked with bounded cursors and a bounded number of steps.
 * - A translator decides everything (result, sizes, headroom, the ICMP tables) before it writes
 *   the first byte, so that every refusal leaves p as it was. Header fields that the new
 *   headers overwrite (the old and new headers overlap in the buffer) are read into locals
 *   first.
 * - TCP and UDP checksums are never verified and only ever moved by the difference of what was
 *   rewritten (RFC 1624 eqn. 3), so an error in one stays the same error (C 34). ICMP messages
 *   are verified when parsed, because their checksum is recomputed whole (C 35): a corrupt
 *   message must not leave with a fresh, right checksum.
 * - Checksum arithmetic stays in host order (lib/csum.h); a 16-bit word that sits at an odd
 *   offset of its checksummed region counts byte-swapped (RFC 1071 §2 (B)).
 *
 * The ICMP echo identifier is the sport of struct xlat_addr4/6, for the outer packet and for a
 * quoted one alike (the parsers put it in both sport and dport).
 *
 * Timers: none.
 */
#include "nat64/xlat.h"

#include <string.h>

#include "lib/csum.h"
#include "lib/icmp.h"
#include "lib/pkt.h"
#include "lib/wire.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	FRAG_HLEN = 8, /* the IPv6 Fragment Header, RFC 8200 §4.5 */
	TCP_HLEN = 20,
	UDP_HLEN = 8,
	TCP_CSUM = 16, /* checksum field offsets in the transport header */
	UDP_CSUM = 6,
	ICMP_CSUM = 2,
	PROTO_ICMP4 = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ICMP6 = 58,
	NH_HOPOPT = 0,
	NH_ROUTING = 43,
	NH_FRAGMENT = 44,
	NH_DSTOPTS = 60,
	EXT_MAX = 16, /* extension headers walked before giving up */
	IP4_DF = 0x4000,
	IP4_MF = 0x2000,
	IP4_OFF = 0x1fff,
	IP6_FRAG_M = 0x0001,
	IP6_FRAG_OFF = 0xfff8,
	IPOPT_EOL = 0,
	IPOPT_NOP = 1,
	IPOPT_LSRR = 131,
	IPOPT_SSRR = 137,
	TCPOPT_EOL = 0,
	TCPOPT_NOP = 1,
	TCPOPT_MSS = 2,
	TCP_SYN = 0x02,
	LEN_MAX = 0xffff,
	DF_LIMIT = 1260,    /* C 30: RFC 7915 §5.1, 1280 minus the 20 bytes the header shrinks */
	IP6_MIN_MTU = 1280, /* RFC 8200 §5 */
	IP4_MIN_MTU = 68,   /* RFC 791 §3.2 */
};

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* An MTU option: 0 means 65535 (xlat.h). */
static uint32_t mtu_or_max(uint32_t mtu)
{
	return mtu ? mtu : LEN_MAX;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), with m and m' the sums of the old and new words. */
static void csum_replace(uint8_t *field, uint64_t old_sum, uint64_t new_sum)
{
	uint16_t hc;
	uint64_t sum;

	memcpy(&hc, field, 2);
	sum = (uint16_t)~hc;
	sum += (uint16_t)~csum_fold(old_sum);
	sum += new_sum;
	csum_store(field, (uint16_t)~csum_fold(sum));
}

/* The contribution of the 2 bytes at t + off to a sum of the region that starts at t. */
static uint16_t word_at(const uint8_t *t, size_t off)
{
	uint16_t w;

	memcpy(&w, t + off, 2);
	return off & 1 ? (uint16_t)(w >> 8 | w << 8) : w;
}

static void fill_reply(struct icmp_err *reply, uint8_t type, uint8_t code, uint32_t rest)
{
	memset(reply, 0, sizeof(*reply));
	reply->type = type;
	reply->code = code;
	reply->rest = rest;
}

/*
 * The ICMP tables of nat64-requirements §2 D (RFC 7915 §4.2, §5.2). An error type and code
 * range maps to a type and code (CODE_SAME: the code is kept) and says what the 4 rest bytes
 * become.
 */
enum { CODE_SAME = 0xff };
enum rest_kind {
	REST_ZERO, /* unused (RFC 4884 lengths are not carried) */
	REST_MTU,  /* Frag Needed <-> Packet Too Big: computed from the MTUs */
	REST_PTR,  /* Parameter Problem: the pointer, mapped by the tables below */
	REST_NH,   /* 3/2 -> 4/1: the pointer to the Next Header field, 6 */
};

struct icmp_map {
	uint8_t type, code_lo, code_hi;
	uint8_t to_type, to_code;
	uint8_t rest; /* enum rest_kind */
};

static const struct icmp_map err4to6[] = {
    {3, 0, 1, 1, 0, REST_ZERO},	  /* net, host unreachable -> no route */
    {3, 2, 2, 4, 1, REST_NH},	  /* protocol unreachable -> unrecognized Next Header */
    {3, 3, 3, 1, 4, REST_ZERO},	  /* port unreachable */
    {3, 4, 4, 2, 0, REST_MTU},	  /* fragmentation needed -> Packet Too Big */
    {3, 5, 8, 1, 0, REST_ZERO},	  /* source route failed, unknown net/host, isolated */
    {3, 9, 10, 1, 1, REST_ZERO},  /* net, host administratively prohibited */
    {3, 11, 12, 1, 0, REST_ZERO}, /* net, host unreachable for TOS */
    {3, 13, 13, 1, 1, REST_ZERO}, /* communication administratively prohibited */
    {3, 15, 15, 1, 1, REST_ZERO}, /* precedence cutoff in effect */
    {11, 0, 255, 3, CODE_SAME, REST_ZERO},
    {12, 0, 0, 4, 0, REST_PTR}, /* pointer indicates the error */
    {12, 2, 2, 4, 0, REST_PTR}, /* bad length */
};

static const struct icmp_map err6to4[] = {
    {1, 0, 0, 3, 1, REST_ZERO},	 /* no route -> host unreachable */
    {1, 1, 1, 3, 10, REST_ZERO}, /* administratively prohibited */
    {1, 2, 3, 3, 1, REST_ZERO},	 /* beyond scope, address unreachable */
    {1, 4, 4, 3, 3, REST_ZERO},	 /* port unreachable */
    {2, 0, 255, 3, 4, REST_MTU}, /* Packet Too Big (the code is ignored, RFC 4443 §3.2) */
    {3, 0, 255, 11, CODE_SAME, REST_ZERO},
    {4, 0, 0, 12, 0, REST_PTR}, /* erroneous header field */
    {4, 1, 1, 3, 2, REST_ZERO}, /* unrecognized Next Header -> protocol unreachable */
};

static const struct icmp_map *icmp_map_find(const struct icmp_map *t, size_t n, uint8_t type,
					    uint8_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].type == type && code >= t[i].code_lo && code <= t[i].code_hi)
			return &t[i];
	return NULL;
}

/* Parameter Problem pointers, by field (RFC 7915 §4.2 Figure 3, §5.2 Figure 6). */
struct ptr_map {
	uint8_t lo, hi, to;
};

static const struct ptr_map ptr4to6[] = {
    {0, 0, 0},	  /* version/IHL -> version/traffic class */
    {1, 1, 1},	  /* TOS -> traffic class */
    {2, 3, 4},	  /* total length -> payload length */
    {8, 8, 7},	  /* TTL -> hop limit */
    {9, 9, 6},	  /* protocol -> next header */
    {12, 15, 8},  /* source address */
    {16, 19, 24}, /* destination address */
};

static const struct ptr_map ptr6to4[] = {
    {0, 0, 0},	  /* version/traffic class -> version/IHL */
    {1, 1, 1},	  /* traffic class -> TOS */
    {4, 5, 2},	  /* payload length -> total length */
    {6, 6, 9},	  /* next header -> protocol */
    {7, 7, 8},	  /* hop limit -> TTL */
    {8, 23, 12},  /* source address */
    {24, 39, 16}, /* destination address */
};

static bool ptr_map(const struct ptr_map *t, size_t n, uint32_t ptr, uint8_t *to)
{
	for (size_t i = 0; i < n; i++) {
		if (ptr >= t[i].lo && ptr <= t[i].hi) {
			*to = t[i].to;
			return true;
		}
	}
	return false;
}

/* True when the ICMP error of the given family can be translated by the tables of §D. */
static bool err_translatable(uint8_t ver, const uint8_t *icmp)
{
	const struct icmp_map *m;
	uint8_t to;

	if (ver == 4) {
		m = icmp_map_find(err4to6, sizeof(err4to6) / sizeof(err4to6[0]), icmp[0], icmp[1]);
		return m && (m->rest != REST_PTR ||
			     ptr_map(ptr4to6, sizeof(ptr4to6) / sizeof(ptr4to6[0]), icmp[4], &to));
	}
	m = icmp_map_find(err6to4, sizeof(err6to4) / sizeof(err6to4[0]), icmp[0], icmp[1]);
	return m && (m->rest != REST_PTR ||
		     ptr_map(ptr6to4, sizeof(ptr6to4) / sizeof(ptr6to4[0]), wire_be32(icmp + 4), &to));
}

/* What a walk of an IPv6 header chain found. */
struct ext6 {
	uint16_t l3len; /* offset of the upper-layer header (or of a later fragment's data) */
	uint8_t proto;	/* the last Next Header */
	bool has_frag;
	bool frag_mf;
	uint16_t frag_off;
	uint32_t frag_id;
	uint16_t segleft_at; /* offset of the first non-zero Segments Left; 0: none */
};

static bool is_ext6(uint8_t nh)
{
	return nh == NH_HOPOPT || nh == NH_ROUTING || nh == NH_FRAGMENT || nh == NH_DSTOPTS;
}

/*
 * Walks the extension headers (C 32) of the IPv6 packet b, len bytes of which may be read.
 * False when the chain is cut short or malformed: a hop-by-hop header not first (RFC 8200
 * §4.3), two Fragment Headers, more than EXT_MAX headers. After the Fragment Header of a
 * fragment other than the first the walk stops: what follows is the fragment's data.
 */
static bool walk6(const uint8_t *b, size_t len, struct ext6 *e)
{
	uint8_t nh = b[6];
	size_t off = IP6_HLEN;

	memset(e, 0, sizeof(*e));
	for (int i = 0; is_ext6(nh); i++) {
		const uint8_t *h = b + off;
		size_t hl;

		if (i == EXT_MAX || (nh == NH_HOPOPT && off != IP6_HLEN) || len - off < 8)
			return false;
		if (nh == NH_FRAGMENT) {
			if (e->has_frag)
				return false;
			e->has_frag = true;
			e->frag_off = wire_be16(h + 2) & IP6_FRAG_OFF;
			e->frag_mf = wire_be16(h + 2) & IP6_FRAG_M;
			e->frag_id = wire_be32(h + 4);
			hl = FRAG_HLEN;
		} else {
			hl = ((size_t)h[1] + 1) * 8;
			if (len - off < hl)
				return false;
			if (nh == NH_ROUTING && h[3] && !e->segleft_at)
				e->segleft_at = (uint16_t)(off + 3);
		}
		nh = h[0];
		off += hl;
		if (e->has_frag && e->frag_off)
			break;
	}
	e->l3len = (uint16_t)off;
	e->proto = nh;
	return true;
}

static bool is_echo(uint8_t ver, uint8_t type)
{
	return ver == 4 ? type == ICMP4_ECHO_REQUEST || type == ICMP4_ECHO_REPLY
			: type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
}

static bool is_icmp_error(uint8_t ver, uint8_t type)
{
	return ver == 4 ? type == 3 || type == 4 || type == 5 || type == 11 || type == 12
			: type < 128;
}

/*
 * The transport header at t, n bytes of which are in the packet (l4->proto set). A quote (the
 * packet inside an ICMP error) may be cut anywhere: what is missing is just not filled in,
 * except an ICMP type, without which the quote cannot be judged (D 38). The packet itself must
 * hold its whole TCP or UDP header, or the first 8 bytes of ICMP, and when it is not a
 * fragment (is_whole) its lengths must agree.
 */
static int parse_l4(const uint8_t *t, size_t n, uint8_t ver, bool is_whole, bool is_quote,
		    struct xlat_l4 *l4)
{
	uint8_t icmp = ver == 4 ? PROTO_ICMP4 : PROTO_ICMP6;

	if (l4->proto == icmp) {
		if (!is_quote && n < ICMP_HLEN)
			return XLAT_MALFORMED;
		if (n < 1)
			return XLAT_ICMP_INNER;
		l4->type = t[0];
		l4->is_icmp_error = is_icmp_error(ver, t[0]);
		l4->is_echo = is_echo(ver, t[0]);
		l4->is_echo_request = t[0] == (ver == 4 ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQUEST);
		if (is_quote && !l4->is_echo)
			return XLAT_ICMP_INNER; /* an error, or a query without a mapping */
		if (n < ICMP_HLEN)
			return XLAT_OK;
		l4->code = t[1];
		if (l4->is_echo) {
			l4->has_ports = true;
			l4->sport = l4->dport = wire_be16(t + 4);
		}
		return XLAT_OK;
	}

	if (l4->proto == PROTO_TCP) {
		if (!is_quote &&
		    (n < TCP_HLEN || t[12] >> 4 < 5 || (is_whole && (size_t)(t[12] >> 4) * 4 > n)))
			return XLAT_MALFORMED;
		if (n >= 14)
			l4->tcp_flags = t[13];
	} else {
		if (!is_quote && n < UDP_HLEN)
			return XLAT_MALFORMED;
		/* RFC 768: the UDP length is the datagram's; RFC 8200 §8.1: no zero checksum */
		if (!is_quote && is_whole && wire_be16(t + 4) != n)
			return XLAT_MALFORMED;
		if (!is_quote && ver == 6 && wire_be16(t + 6) == 0)
			return XLAT_MALFORMED;
	}
	if (n >= 4) {
		l4->has_ports = true;
		l4->sport = wire_be16(t);
		l4->dport = wire_be16(t + 2);
	}
	return XLAT_OK;
}

static bool proto_ok(uint8_t ver, uint8_t proto)
{
	return proto == PROTO_TCP || proto == PROTO_UDP ||
	       proto == (ver == 4 ? PROTO_ICMP4 : PROTO_ICMP6);
}

/* The IPv6 packet quoted at q (n bytes there) by an ICMPv6 error (RFC 7915 §5.3, D 37-38). */
static int parse_quote6(const uint8_t *q, size_t n, struct xlat_info *in)
{
	struct ext6 e;

	if (n < IP6_HLEN || q[0] >> 4 != 6 || !walk6(q, n, &e))
		return XLAT_ICMP_INNER;
	if (wire_be16(q + 4) < e.l3len - IP6_HLEN || !proto_ok(6, e.proto))
		return XLAT_ICMP_INNER;
	memcpy(in->inner.src, q + 8, 16);
	memcpy(in->inner.dst, q + 24, 16);
	in->inner.l4.proto = e.proto;
	if (e.has_frag && e.frag_off) /* ports are in the first fragment only */
		return e.proto == PROTO_ICMP6 ? XLAT_ICMP_INNER : XLAT_OK;
	return parse_l4(q + e.l3len, n - e.l3len, 6, false, true, &in->inner.l4);
}

/* The IPv4 packet quoted at q (n bytes there) by an ICMPv4 error (RFC 7915 §4.3). */
static int parse_quote4(const uint8_t *q, size_t n, struct xlat_info *in)
{
	size_t ihl;

	if (n < IP4_HLEN || q[0] >> 4 != 4)
		return XLAT_ICMP_INNER;
	ihl = (size_t)(q[0] & 0xf) * 4;
	if (ihl < IP4_HLEN || ihl > n || wire_be16(q + 2) < ihl || !proto_ok(4, q[9]))
		return XLAT_ICMP_INNER;
	memcpy(in->inner.src, q + 12, 4);
	memcpy(in->inner.dst, q + 16, 4);
	in->inner.l4.proto = q[9];
	if (wire_be16(q + 6) & IP4_OFF)
		return q[9] == PROTO_ICMP4 ? XLAT_ICMP_INNER : XLAT_OK;
	return parse_l4(q + ihl, n - ihl, 4, false, true, &in->inner.l4);
}

/*
 * The transport part of a parsed packet, and for an ICMP message its checksum, table entry
 * and quote. in->l3len, len, proto and the fragment fields are set.
 */
static int parse_upper(const uint8_t *b, struct xlat_info *in)
{
	const uint8_t *t = b + in->l3len;
	size_t n = in->len - in->l3len;
	bool is_icmp = in->l4.proto == (in->ver == 4 ? PROTO_ICMP4 : PROTO_ICMP6);
	bool is_whole = !in->frag_mf && !in->frag_off;
	uint64_t sum;
	int r;

	/* RFC 7915 §4.1, §5.1: a fragmented ICMP message's checksum cannot be recomputed */
	if (is_icmp && !is_whole)
		return XLAT_ICMP_FRAG;
	if (in->frag_off)
		return XLAT_OK; /* a later fragment: no transport header here */
	r = parse_l4(t, n, in->ver, is_whole, false, &in->l4);
	if (r != XLAT_OK || !is_icmp)
		return r;

	sum = in->ver == 6 ? csum_pseudo6(in->src, in->dst, (uint32_t)n, PROTO_ICMP6) : 0;
	if (csum_fold(csum_partial(t, n, sum)) != 0xffff)
		return XLAT_MALFORMED;
	if (in->l4.is_echo)
		return XLAT_OK;
	if (!in->l4.is_icmp_error || !err_translatable(in->ver, t))
		return XLAT_ICMP_TYPE;
	in->inner.at = (uint16_t)(in->l3len + ICMP_HLEN);
	return in->ver == 6 ? parse_quote6(b + in->inner.at, in->len - in->inner.at, in)
			    : parse_quote4(b + in->inner.at, in->len - in->inner.at, in);
}

int xlat_parse6(const uint8_t *b, size_t len, struct xlat_info *in, struct icmp_err *reply)
{
	struct ext6 e;
	size_t plen;
	int r;

	memset(in, 0, sizeof(*in));
	if (len < IP6_HLEN || b[0] >> 4 != 6)
		return XLAT_MALFORMED;
	plen = wire_be16(b + 4);
	if (plen == 0 || IP6_HLEN + plen > len) /* 0: a jumbogram (RFC 2675), not translated */
		return XLAT_MALFORMED;
	in->ver = 6;
	in->len = (uint16_t)(IP6_HLEN + plen);
	in->hop = b[7];
	memcpy(in->src, b + 8, 16);
	memcpy(in->dst, b + 24, 16);
	if (in->dst[0] == 0xff)
		return XLAT_MULTICAST;
	if (in->src[0] == 0xff) /* RFC 4291 §2.7: never a source */
		return XLAT_MALFORMED;
	if (in->hop == 0)
		return XLAT_HOP_ZERO;

	if (!walk6(b, in->len, &e))
		return XLAT_MALFORMED;
	if (e.segleft_at) {
		/* RFC 7915 §5.1: the pointer is the Segments Left field's first byte (C 32) */
		fill_reply(reply, ICMP6_PARAM_PROBLEM, 0, e.segleft_at);
		return XLAT_REPLY;
	}
	in->l3len = e.l3len;
	in->l4.proto = e.proto;
	in->is_frag = e.has_frag;
	in->frag_mf = e.frag_mf;
	in->frag_off = e.frag_off;
	in->frag_id = e.frag_id;
	/* RFC 8200 §4.5: a fragment's data is a multiple of 8 bytes, and ends within 65535 */
	if (e.has_frag && ((e.frag_mf && (in->len - in->l3len) % 8) ||
			   (size_t)e.frag_off + (in->len - in->l3len) > LEN_MAX))
		return XLAT_MALFORMED;
	if (!proto_ok(6, e.proto))
		return XLAT_PROTO;
	r = parse_upper(b, in);
	if (r != XLAT_OK)
		return r;
	if (in->hop == 1) { /* C 29: it would leave with hop limit 0 */
		fill_reply(reply, ICMP6_TIME_EXCEEDED, 0, 0);
		return XLAT_REPLY;
	}
	return XLAT_OK;
}

/*
 * C 24: the options of the IPv4 header b (ihl bytes). 0 when they are ignorable, -1 when
 * malformed (RFC 791 §3.1: a length of at least 2 that ends inside the header), 1 for an
 * unexpired source route: LSRR or SSRR whose pointer has not passed its length.
 */
static int options4(const uint8_t *b, size_t ihl)
{
	for (size_t i = IP4_HLEN; i < ihl;) {
		uint8_t type = b[i], olen;

		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (ihl - i < 2)
			return -1;
		olen = b[i + 1];
		if (olen < 2 || olen > ihl - i)
			return -1;
		if ((type == IPOPT_LSRR || type == IPOPT_SSRR) && olen >= 3 && b[i + 2] <= olen)
			return 1;
		i += olen;
	}
	return 0;
}

int xlat_parse4(const uint8_t *b, size_t len, struct xlat_info *in, struct icmp_err *reply)
{
	size_t ihl, tot;
	uint16_t frag;
	int r;

	memset(in, 0, sizeof(*in));
	if (len < IP4_HLEN || b[0] >> 4 != 4)
		return XLAT_MALFORMED;
	ihl = (size_t)(b[0] & 0xf) * 4;
	tot = wire_be16(b + 2);
	if (ihl < IP4_HLEN || tot < ihl || tot > len)
		return XLAT_MALFORMED;
	if (csum_fold(csum_partial(b, ihl, 0)) != 0xffff) /* RFC 1812 §5.2.2 */
		return XLAT_MALFORMED;
	in->ver = 4;
	in->len = (uint16_t)tot;
	in->l3len = (uint16_t)ihl;
	in->hop = b[8];
	in->l4.proto = b[9];
	memcpy(in->src, b + 12, 4);
	memcpy(in->dst, b + 16, 4);
	frag = wire_be16(b + 6);
	in->is_df = frag & IP4_DF;
	in->frag_mf = frag & IP4_MF;
	in->frag_off = (uint16_t)((frag & IP4_OFF) * 8);
	in->is_frag = in->frag_mf || in->frag_off;
	in->frag_id = wire_be16(b + 4);
	if (in->is_frag &&
	    ((in->frag_mf && (tot - ihl) % 8) || (size_t)in->frag_off + (tot - ihl) > LEN_MAX))
		return XLAT_MALFORMED;
	if (in->dst[0] >= 224) /* 224/4 multicast, 240/4 and the limited broadcast */
		return XLAT_MULTICAST;
	if (in->src[0] >= 224) /* RFC 1812 §5.3.7: not a host's address */
		return XLAT_MALFORMED;
	if (in->hop == 0)
		return XLAT_HOP_ZERO;
	r = options4(b, ihl);
	if (r < 0)
		return XLAT_MALFORMED;
	if (r > 0) { /* C 24, RFC 7915 §4.1 */
		fill_reply(reply, ICMP4_DEST_UNREACH, 5, 0);
		return XLAT_REPLY;
	}
	if (!proto_ok(4, in->l4.proto)) /* C 25, 36: 0, 43, 44, 58, 60 and the rest */
		return XLAT_PROTO;
	r = parse_upper(b, in);
	if (r != XLAT_OK)
		return r;
	if (in->hop == 1) { /* C 23 */
		fill_reply(reply, ICMP4_TIME_EXCEEDED, 0, 0);
		return XLAT_REPLY;
	}
	return XLAT_OK;
}

/* ---- Translation ---- */

/*
 * The offload state of p must describe the parsed packet (ver: its version): GSO only for a
 * whole TCP (of that version) or UDP packet with a partial checksum, which is always TCP or
 * UDP, not a fragment, and whose csum_start/csum_offset point at its checksum field.
 */
static bool offload_ok(const struct pkt *p, const struct xlat_info *in)
{
	const struct pkt_offload *f = &p->off;
	bool is_tcp = in->l4.proto == PROTO_TCP;

	if (f->gso_type != PKT_GSO_NONE) {
		uint8_t tcp_gso = in->ver == 4 ? PKT_GSO_TCP4 : PKT_GSO_TCP6;

		if (!f->is_csum_partial || !f->gso_size)
			return false;
		if (f->gso_type == PKT_GSO_UDP ? in->l4.proto != PROTO_UDP
					       : f->gso_type != tcp_gso || !is_tcp)
			return false;
	}
	if (f->is_csum_partial) {
		if (in->is_frag || (!is_tcp && in->l4.proto != PROTO_UDP))
			return false;
		if (f->csum_start != in->l3len || f->csum_offset != (is_tcp ? TCP_CSUM : UDP_CSUM))
			return false;
	}
	return true;
}

/*
 * The size the MTU rules judge (nl3: the translated network header size): the translated
 * packet, or for a GSO pkt one segment of it, headers and gso_size bytes of payload.
 */
static size_t judged_len(const struct pkt *p, const struct xlat_info *in, size_t nl3)
{
	const uint8_t *t = p->data + in->l3len;
	size_t nlen = nl3 + (in->len - in->l3len), seg;

	if (p->off.gso_type == PKT_GSO_NONE)
		return nlen;
	seg = nl3 + (in->l4.proto == PROTO_TCP ? (size_t)(t[12] >> 4) * 4 : UDP_HLEN) +
	      p->off.gso_size;
	return seg < nlen ? seg : nlen;
}

/*
 * E 42: lowers the MSS option of the TCP SYN at t (n bytes present) to mss, never raising
 * it, and moves the checksum by the change unless it is a partial one. The option list is
 * walked within the header and what is present; a bad length ends the walk.
 */
static void mss_clamp(uint8_t *t, size_t n, uint16_t mss, bool fix_csum)
{
	size_t end = (size_t)(t[12] >> 4) * 4;

	if (!mss || !(t[13] & TCP_SYN))
		return;
	if (end > n)
		end = n;
	for (size_t i = TCP_HLEN; i < end;) {
		uint8_t olen;

		if (t[i] == TCPOPT_EOL)
			break;
		if (t[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (end - i < 2)
			break;
		olen = t[i + 1];
		if (olen < 2 || olen > end - i)
			break;
		if (t[i] == TCPOPT_MSS && olen == 4 && wire_be16(t + i + 2) > mss) {
			uint16_t old = word_at(t, i + 2);

			wire_set_be16(t + i + 2, mss);
			if (fix_csum)
				csum_replace(t + TCP_CSUM, old, word_at(t, i + 2));
		}
		i += olen;
	}
}

/*
 * The ports of the TCP or UDP header at t (n bytes present) become sport and dport; the
 * checksum, when present, moves by that and by the pseudo-header's address sums old_sum ->
 * new_sum (the length and protocol are the same in both families' pseudo-headers). A UDP
 * checksum of zero (none, IPv4) is left so; an updated one never becomes zero (RFC 768).
 */
static void ports_rewrite(uint8_t *t, size_t n, uint8_t proto, uint64_t old_sum, uint64_t new_sum,
			  uint16_t sport, uint16_t dport)
{
	size_t ck = proto == PROTO_TCP ? TCP_CSUM : UDP_CSUM;

	if (n < 4)
		return;
	old_sum = csum_partial(t, 4, old_sum);
	wire_set_be16(t, sport);
	wire_set_be16(t + 2, dport);
	new_sum = csum_partial(t, 4, new_sum);
	if (n < ck + 2 || (proto == PROTO_UDP && wire_be16(t + ck) == 0))
		return;
	csum_replace(t + ck, old_sum, new_sum);
	if (proto == PROTO_UDP && wire_be16(t + ck) == 0)
		wire_set_be16(t + ck, 0xffff);
}

/*
 * The transport part of a translated packet (not an ICMP error) at t, n bytes: ports or echo
 * identifier, checksums, MSS. The new addresses are src/dst (alen bytes each); old_sum is the
 * sum of the old ones. ICMP echo: the type maps and the checksum is recomputed whole, with the
 * pseudo-header for ICMPv6 (C 35).
 */
static void upper_rewrite(struct pkt *p, uint8_t *t, size_t n, const struct xlat_info *in,
			  const uint8_t *src, const uint8_t *dst, size_t alen, uint64_t old_sum,
			  uint16_t sport, uint16_t dport, uint16_t mss)
{
	uint8_t proto = in->l4.proto;
	uint64_t new_sum;

	if (!in->l4.has_ports)
		return; /* a later fragment: the first one carried the checksum */
	if (proto == PROTO_ICMP4 || proto == PROTO_ICMP6) {
		bool to6 = proto == PROTO_ICMP4;

		if (to6)
			t[0] = in->l4.is_echo_request ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY;
		else
			t[0] = in->l4.is_echo_request ? ICMP4_ECHO_REQUEST : ICMP4_ECHO_REPLY;
		wire_set_be16(t + 4, sport);
		wire_set_be16(t + ICMP_CSUM, 0);
		new_sum = to6 ? csum_pseudo6(src, dst, (uint32_t)n, PROTO_ICMP6) : 0;
		csum_store(t + ICMP_CSUM, (uint16_t)~csum_fold(csum_partial(t, n, new_sum)));
		return;
	}

	if (p->off.is_csum_partial) {
		/* the field holds the pseudo-header sum only; the device adds the rest later */
		new_sum = alen == 4 ? csum_pseudo4(src, dst, (uint16_t)n, proto)
				    : csum_pseudo6(src, dst, (uint32_t)n, proto);
		wire_set_be16(t, sport);
		wire_set_be16(t + 2, dport);
		csum_store(t + p->off.csum_offset, csum_fold(new_sum));
	} else if (proto == PROTO_UDP && alen == 16 && wire_be16(t + UDP_CSUM) == 0) {
		/* C 20, RFC 7915 §4.5: IPv6 needs the checksum IPv4 could omit (whole: parse) */
		uint16_t c;

		wire_set_be16(t, sport);
		wire_set_be16(t + 2, dport);
		new_sum = csum_pseudo6(src, dst, (uint32_t)n, PROTO_UDP);
		c = (uint16_t)~csum_fold(csum_partial(t, n, new_sum));
		csum_store(t + UDP_CSUM, c ? c : 0xffff);
	} else {
		new_sum = csum_partial(dst, alen, csum_partial(src, alen, 0));
		ports_rewrite(t, n, proto, old_sum, new_sum, sport, dport);
	}
	if (proto == PROTO_TCP)
		mss_clamp(t, n, mss, !p->off.is_csum_partial);
}

/*
 * The transport header of a quoted packet at t (n bytes there): ports as the BIB gave them,
 * its checksum moved by the address and port changes, and for ICMP echo the type mapped with
 * the pseudo-header added (to ICMPv6) or taken out (to ICMPv4): old_ph/new_ph are the
 * pseudo-header sums of each side, 0 for ICMPv4 (D 37).
 */
static void quote_rewrite(uint8_t *t, size_t n, const struct xlat_l4 *l4, uint64_t old_sum,
			  uint64_t new_sum, uint64_t old_ph, uint64_t new_ph, uint16_t sport,
			  uint16_t dport)
{
	if (!l4->has_ports)
		return;
	if (l4->proto == PROTO_TCP || l4->proto == PROTO_UDP) {
		ports_rewrite(t, n, l4->proto, old_sum, new_sum, sport, dport);
		return;
	}
	old_sum = csum_partial(t, 2, old_ph);
	old_sum = csum_partial(t + 4, 2, old_sum);
	if (l4->proto == PROTO_ICMP4)
		t[0] = l4->is_echo_request ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY;
	else
		t[0] = l4->is_echo_request ? ICMP4_ECHO_REQUEST : ICMP4_ECHO_REPLY;
	wire_set_be16(t + 4, sport);
	new_sum = csum_partial(t, 2, new_ph);
	new_sum = csum_partial(t + 4, 2, new_sum);
	csum_replace(t + ICMP_CSUM, old_sum, new_sum);
}

static void put_ip4(uint8_t *h, uint8_t tos, size_t tot, uint16_t id, uint16_t frag, uint8_t ttl,
		    uint8_t proto, const uint8_t src[4], const uint8_t dst[4])
{
	h[0] = 0x45;
	h[1] = tos;
	wire_set_be16(h + 2, (uint16_t)tot);
	wire_set_be16(h + 4, id);
	wire_set_be16(h + 6, frag);
	h[8] = ttl;
	h[9] = proto;
	wire_set_be16(h + 10, 0);
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	csum_store(h + 10, (uint16_t)~csum_fold(csum_partial(h, IP4_HLEN, 0)));
}

static void put_ip6(uint8_t *h, uint8_t tc, size_t plen, uint8_t nh, uint8_t hop,
		    const uint8_t src[16], const uint8_t dst[16])
{
	wire_set_be32(h, 0x60000000u | (uint32_t)tc << 20); /* flow label 0 (C 22) */
	wire_set_be16(h + 4, (uint16_t)plen);
	h[6] = nh;
	h[7] = hop;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
}

/* An IPv4 fragment's Fragment Header (C 28, RFC 7915 §4.1): its ID, offset and M. */
static void put_frag6(uint8_t *h, uint8_t nh, uint16_t off, bool mf, uint32_t id)
{
	h[0] = nh;
	h[1] = 0;
	wire_set_be16(h + 2, (uint16_t)(off | (mf ? IP6_FRAG_M : 0)));
	wire_set_be32(h + 4, id);
}

/* The IPv4 flags and offset for a translated IPv6 packet (C 30, 31). */
static uint16_t frag4(bool has_frag, bool mf, uint16_t off, size_t judged)
{
	if (has_frag)
		return (uint16_t)((mf ? IP4_MF : 0) | off / 8);
	return judged > DF_LIMIT ? IP4_DF : 0;
}

static uint8_t tclass(const uint8_t *ip6)
{
	return (uint8_t)(wire_be32(ip6) >> 20);
}

/*
 * D: Packet Too Big -> Frag Needed (RFC 7915 §5.2): min(mtu - 20, IPv4 next hop, IPv6 next
 * hop - 20), with 8 bytes less on the IPv6 side when the packet quoted had a Fragment Header
 * (the IPv4 packet gains 28 bytes, not 20, on its way into IPv6). Not below 68 (RFC 791).
 */
static uint16_t ptb_to_fn(uint32_t mtu6, bool had_frag, const struct xlat_opts *o)
{
	uint32_t grow = IP6_HLEN - IP4_HLEN + (had_frag ? FRAG_HLEN : 0);
	uint32_t in6 = mtu_or_max(o->mtu_in);
	uint32_t m = mtu6 > grow ? mtu6 - grow : 0;

	m = min32(m, in6 > grow ? in6 - grow : 0);
	m = min32(m, mtu_or_max(o->mtu));
	m = min32(m, LEN_MAX);
	return (uint16_t)(m < IP4_MIN_MTU ? IP4_MIN_MTU : m);
}

/* RFC 1191 §7 plateaus, for a Frag Needed that says 0 (RFC 7915 §4.2). */
static const uint16_t plateaus[] = {65535, 32000, 17914, 8166, 4352, 2002,
				    1492,  1006,  508,	 296,  68};

/*
 * D: Frag Needed -> Packet Too Big (RFC 7915 §4.2): min(mtu + 20, IPv6 next hop, IPv4 next hop
 * + 20), mtu 0 replaced by the largest plateau below the quoted packet's length, never below
 * 1280.
 */
static uint32_t fn_to_ptb(uint16_t mtu4, uint16_t quoted_len, const struct xlat_opts *o)
{
	uint32_t m = mtu4;

	if (m == 0) {
		m = IP4_MIN_MTU;
		for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++) {
			if (plateaus[i] < quoted_len) {
				m = plateaus[i];
				break;
			}
		}
	}
	m = min32(m + IP6_HLEN - IP4_HLEN, mtu_or_max(o->mtu));
	m = min32(m, mtu_or_max(o->mtu_in) + IP6_HLEN - IP4_HLEN);
	return m < IP6_MIN_MTU ? IP6_MIN_MTU : m;
}

/*
 * The rest bytes of a translated error, from the table entry m, the error's header icmp and
 * for REST_MTU the function above's result (passed in mtu).
 */
static uint32_t err_rest(const struct icmp_map *m, const uint8_t *icmp, uint32_t mtu, bool to6)
{
	uint8_t ptr = 0;

	switch (m->rest) {
	case REST_MTU:
		return mtu;
	case REST_NH:
		return 6;
	case REST_PTR:
		if (to6) {
			ptr_map(ptr4to6, sizeof(ptr4to6) / sizeof(ptr4to6[0]), icmp[4], &ptr);
			return ptr;
		}
		ptr_map(ptr6to4, sizeof(ptr6to4) / sizeof(ptr6to4[0]), wire_be32(icmp + 4), &ptr);
		return (uint32_t)ptr << 24; /* ICMPv4: the pointer is the first rest byte */
	default:
		return 0;
	}
}

/*
 * An ICMPv6 error to ICMPv4 (RFC 7915 §5.2, 5.3): outer and quoted headers translated, the
 * quote's transport header rewritten, cut to 576 bytes (D 38). Layout, old and new:
 *     [IPv6 + ext][ICMPv6 8][IPv6 + ext][quoted transport...]
 *            [IPv4 20][ICMPv4 8][IPv4 20][quoted transport...]
 * The quoted transport bytes stay where they are; the headers are rebuilt in front of them.
 */
static int err_6to4(struct pkt *p, const struct xlat_info *in, const struct xlat_addr4 *out,
		    const struct xlat_addr4 *inner, const struct xlat_opts *o)
{
	const uint8_t *b = p->data, *icmp = b + in->l3len, *q;
	const struct icmp_map *m;
	uint8_t type, code, tc, hop, itc, ihop, iproto, ptr, *h;
	uint64_t old_sum, new_sum, old_ph = 0;
	size_t qn, qrest, tot, itot;
	uint32_t rest;
	struct ext6 e;

	if (!inner || in->inner.at != in->l3len + ICMP_HLEN)
		return XLAT_ICMP_INNER;
	m = icmp_map_find(err6to4, sizeof(err6to4) / sizeof(err6to4[0]), icmp[0], icmp[1]);
	if (!m || (m->rest == REST_PTR &&
		   !ptr_map(ptr6to4, sizeof(ptr6to4) / sizeof(ptr6to4[0]), wire_be32(icmp + 4), &ptr)))
		return XLAT_ICMP_TYPE;
	q = b + in->inner.at;
	qn = in->len - in->inner.at;
	if (qn < IP6_HLEN || !walk6(q, qn, &e) || wire_be16(q + 4) < e.l3len - IP6_HLEN)
		return XLAT_ICMP_INNER;
	qrest = qn - e.l3len;
	tot = IP4_HLEN + ICMP_HLEN + IP4_HLEN + qrest;
	if (tot > ICMP4_ERR_MAX)
		tot = ICMP4_ERR_MAX;

	/* everything read before the first write: the new headers overlap the old ones */
	type = m->to_type;
	code = m->to_code == CODE_SAME ? icmp[1] : m->to_code;
	rest = err_rest(m, icmp,
			m->rest == REST_MTU ? ptb_to_fn(wire_be32(icmp + 4), e.has_frag, o) : 0, false);
	tc = tclass(b);
	hop = b[7];
	itc = tclass(q);
	ihop = q[7];
	iproto = e.proto == PROTO_ICMP6 ? PROTO_ICMP4 : e.proto;
	itot = IP4_HLEN + wire_be16(q + 4) - (e.l3len - IP6_HLEN); /* the original datagram's */
	if (itot > LEN_MAX)
		itot = LEN_MAX;
	old_sum = csum_partial(q + 8, 32, 0);
	new_sum = csum_partial(inner->dst, 4, csum_partial(inner->src, 4, 0));
	if (in->inner.l4.proto == PROTO_ICMP6)
		old_ph =
		    csum_pseudo6(q + 8, q + 24, wire_be16(q + 4) - (e.l3len - IP6_HLEN), PROTO_ICMP6);

	pkt_trim(p, in->len);
	pkt_pull(p, in->inner.at + e.l3len - (2 * IP4_HLEN + ICMP_HLEN));
	h = p->data;
	quote_rewrite(h + 2 * IP4_HLEN + ICMP_HLEN, qrest, &in->inner.l4, old_sum, new_sum, old_ph,
		      0, inner->sport, inner->dport);
	pkt_trim(p, tot);
	/* the quoted header: same rules, but the TTL as it was (RFC 7915 §5.3) */
	put_ip4(h + IP4_HLEN + ICMP_HLEN, itc, itot, e.has_frag ? (uint16_t)e.frag_id : 0,
		frag4(e.has_frag, e.frag_mf, e.frag_off, itot), ihop, iproto, inner->src,
		inner->dst);
	h[IP4_HLEN] = type;
	h[IP4_HLEN + 1] = code;
	wire_set_be16(h + IP4_HLEN + ICMP_CSUM, 0);
	wire_set_be32(h + IP4_HLEN + 4, rest);
	csum_store(h + IP4_HLEN + ICMP_CSUM,
		   (uint16_t)~csum_fold(csum_partial(h + IP4_HLEN, tot - IP4_HLEN, 0)));
	put_ip4(h, tc, tot, o->ip4_id, frag4(false, false, 0, tot), (uint8_t)(hop - 1), PROTO_ICMP4,
		out->src, out->dst);
	return tot > mtu_or_max(o->mtu) ? XLAT_FRAGMENT : XLAT_OK;
}

int xlat_6to4(struct pkt *p, const struct xlat_info *in, const struct xlat_addr4 *out,
	      const struct xlat_addr4 *inner, const struct xlat_opts *o, struct icmp_err *reply)
{
	size_t l4len, judged, tot;
	uint32_t mtu = min32(mtu_or_max(o->mtu), LEN_MAX);
	uint64_t old_sum;
	uint8_t tc, hop, proto;
	uint16_t frag;
	uint8_t *h;

	if (in->ver != 6 || p->len < in->len || p->len < IP6_HLEN || p->data[0] >> 4 != 6 ||
	    in->l3len < IP6_HLEN || in->l3len > in->len)
		return XLAT_MALFORMED;
	if (in->l4.is_icmp_error) {
		if (p->off.gso_type != PKT_GSO_NONE || p->off.is_csum_partial)
			return XLAT_MALFORMED;
		return err_6to4(p, in, out, inner, o);
	}
	if (!offload_ok(p, in))
		return XLAT_MALFORMED;
	l4len = in->len - in->l3len;
	tot = IP4_HLEN + l4len;
	judged = judged_len(p, in, IP4_HLEN);
	frag = frag4(in->is_frag, in->frag_mf, in->frag_off, judged);
	if (judged > mtu && (frag & IP4_DF)) {
		/* C 33: RFC 7915 §5.1 */
		fill_reply(reply, ICMP6_PKT_TOO_BIG, 0,
			   mtu + IP6_HLEN - IP4_HLEN < IP6_MIN_MTU ? IP6_MIN_MTU
								   : mtu + IP6_HLEN - IP4_HLEN);
		return XLAT_REPLY;
	}
	if (tot > LEN_MAX)
		return XLAT_MALFORMED; /* cannot be said in a total length, not even for GSO */

	tc = tclass(p->data);
	hop = p->data[7];
	proto = in->l4.proto == PROTO_ICMP6 ? PROTO_ICMP4 : in->l4.proto;
	old_sum = csum_partial(p->data + 8, 32, 0);
	pkt_trim(p, in->len);
	pkt_pull(p, in->l3len - IP4_HLEN); /* C 32: extension headers dropped */
	h = p->data;
	upper_rewrite(p, h + IP4_HLEN, l4len, in, out->src, out->dst, 4, old_sum, out->sport,
		      out->dport, o->mss);
	/* C 29-31: ID from the Fragment Header's low 16 bits, else the caller's generator */
	put_ip4(h, tc, tot, in->is_frag ? (uint16_t)in->frag_id : o->ip4_id, frag,
		(uint8_t)(hop - 1), proto, out->src, out->dst);
	if (p->off.is_csum_partial)
		p->off.csum_start = IP4_HLEN;
	if (p->off.gso_type == PKT_GSO_TCP6)
		p->off.gso_type = PKT_GSO_TCP4;
	return judged > mtu ? XLAT_FRAGMENT : XLAT_OK;
}

/*
 * An ICMPv4 error to ICMPv6 (RFC 7915 §4.2, 4.3), cut to 1280 bytes (D 38). Layout:
 *     [IPv4 + opts][ICMPv4 8][IPv4 + opts][quoted transport...]
 *     [IPv6 40][ICMPv6 8][IPv6 40 (+ Fragment Header 8)][quoted transport...]
 * The quote of an IPv4 fragment gets a Fragment Header, as the datagram itself would have.
 */
static int err_4to6(struct pkt *p, const struct xlat_info *in, const struct xlat_addr6 *out,
		    const struct xlat_addr6 *inner, const struct xlat_opts *o)
{
	const uint8_t *b = p->data, *icmp = b + in->l3len, *q;
	const struct icmp_map *m;
	uint8_t type, code, tos, ttl, iq[60], iproto, ptr, *h;
	uint64_t old_sum, new_sum, new_ph = 0;
	size_t qn, qihl, qrest, fh, nh, tot;
	uint16_t qfrag;
	uint32_t rest;

	if (!inner || in->inner.at != in->l3len + ICMP_HLEN)
		return XLAT_ICMP_INNER;
	m = icmp_map_find(err4to6, sizeof(err4to6) / sizeof(err4to6[0]), icmp[0], icmp[1]);
	if (!m || (m->rest == REST_PTR &&
		   !ptr_map(ptr4to6, sizeof(ptr4to6) / sizeof(ptr4to6[0]), icmp[4], &ptr)))
		return XLAT_ICMP_TYPE;
	q = b + in->inner.at;
	qn = in->len - in->inner.at;
	if (qn < IP4_HLEN || q[0] >> 4 != 4)
		return XLAT_ICMP_INNER;
	qihl = (size_t)(q[0] & 0xf) * 4;
	if (qihl < IP4_HLEN || qihl > qn || wire_be16(q + 2) < qihl)
		return XLAT_ICMP_INNER;
	qfrag = wire_be16(q + 6);
	fh = qfrag & (IP4_MF | IP4_OFF) ? FRAG_HLEN : 0;
	qrest = qn - qihl;
	nh = 2 * IP6_HLEN + ICMP_HLEN + fh;
	tot = nh + qrest;
	if (tot > ICMP6_ERR_MAX)
		tot = ICMP6_ERR_MAX;
	if (nh > in->inner.at + qihl && pkt_headroom(p) < nh - (in->inner.at + qihl))
		return XLAT_MALFORMED;

	type = m->to_type;
	code = m->to_code == CODE_SAME ? icmp[1] : m->to_code;
	rest = err_rest(
	    m, icmp, m->rest == REST_MTU ? fn_to_ptb(wire_be16(icmp + 6), wire_be16(q + 2), o) : 0, true);
	tos = b[1];
	ttl = b[8];
	memcpy(iq, q, qihl);
	iproto = iq[9] == PROTO_ICMP4 ? PROTO_ICMP6 : iq[9];
	old_sum = csum_partial(iq + 12, 8, 0);
	new_sum = csum_partial(inner->dst, 16, csum_partial(inner->src, 16, 0));
	if (iq[9] == PROTO_ICMP4)
		new_ph = csum_pseudo6(inner->src, inner->dst, wire_be16(iq + 2) - (uint32_t)qihl,
				      PROTO_ICMP6);

	pkt_trim(p, in->len);
	if (nh > in->inner.at + qihl)
		pkt_push(p, nh - (in->inner.at + qihl));
	else
		pkt_pull(p, in->inner.at + qihl - nh); /* options dropped */
	h = p->data;
	quote_rewrite(h + nh, qrest, &in->inner.l4, old_sum, new_sum, 0, new_ph, inner->sport,
		      inner->dport);
	pkt_trim(p, tot);
	/* the quoted header: lengths of the original datagram, hop limit = its TTL (§4.3) */
	put_ip6(h + IP6_HLEN + ICMP_HLEN, iq[1], wire_be16(iq + 2) - qihl + fh,
		fh ? NH_FRAGMENT : iproto, iq[8], inner->src, inner->dst);
	if (fh)
		put_frag6(h + 2 * IP6_HLEN + ICMP_HLEN, iproto, (uint16_t)((qfrag & IP4_OFF) * 8),
			  qfrag & IP4_MF, wire_be16(iq + 4));
	h[IP6_HLEN] = type;
	h[IP6_HLEN + 1] = code;
	wire_set_be16(h + IP6_HLEN + ICMP_CSUM, 0);
	wire_set_be32(h + IP6_HLEN + 4, rest);
	put_ip6(h, tos, tot - IP6_HLEN, PROTO_ICMP6, (uint8_t)(ttl - 1), out->src, out->dst);
	new_sum = csum_pseudo6(out->src, out->dst, (uint32_t)(tot - IP6_HLEN), PROTO_ICMP6);
	csum_store(h + IP6_HLEN + ICMP_CSUM,
		   (uint16_t)~csum_fold(csum_partial(h + IP6_HLEN, tot - IP6_HLEN, new_sum)));
	return tot > min32(o->lowest_mtu6 ? o->lowest_mtu6 : IP6_MIN_MTU, mtu_or_max(o->mtu))
		   ? XLAT_FRAGMENT
		   : XLAT_OK;
}

int xlat_4to6(struct pkt *p, const struct xlat_info *in, const struct xlat_addr6 *out,
	      const struct xlat_addr6 *inner, const struct xlat_opts *o, struct icmp_err *reply)
{
	uint32_t mtu = mtu_or_max(o->mtu);
	uint32_t lim = min32(o->lowest_mtu6 ? o->lowest_mtu6 : IP6_MIN_MTU, mtu);
	size_t l4len, nl3, judged;
	uint8_t tos, ttl, proto;
	uint64_t old_sum;
	uint8_t *h;

	if (in->ver != 4 || p->len < in->len || p->len < IP4_HLEN || p->data[0] >> 4 != 4 ||
	    in->l3len < IP4_HLEN || in->l3len > in->len)
		return XLAT_MALFORMED;
	if (in->l4.is_icmp_error) {
		if (p->off.gso_type != PKT_GSO_NONE || p->off.is_csum_partial)
			return XLAT_MALFORMED;
		return err_4to6(p, in, out, inner, o);
	}
	if (!offload_ok(p, in))
		return XLAT_MALFORMED;
	l4len = in->len - in->l3len;
	nl3 = IP6_HLEN + (in->is_frag ? FRAG_HLEN : 0);
	judged = judged_len(p, in, nl3);
	if (in->is_df && judged > mtu) {
		/* C 27: RFC 7915 §4.1; the MTU field is 16 bits (RFC 1191 §4) */
		fill_reply(reply, ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED,
			   mtu < IP4_MIN_MTU + IP6_HLEN - IP4_HLEN
			       ? IP4_MIN_MTU
			       : min32(mtu - (IP6_HLEN - IP4_HLEN), LEN_MAX));
		return XLAT_REPLY;
	}
	/* C 20: the checksum of a fragmented datagram needs all of it (frag_collect's job) */
	if (in->l4.proto == PROTO_UDP && in->is_frag && !in->frag_off &&
	    wire_be16(p->data + in->l3len + UDP_CSUM) == 0)
		return XLAT_MALFORMED;
	if (nl3 > in->l3len && pkt_headroom(p) < nl3 - in->l3len)
		return XLAT_MALFORMED; /* no room to grow (a pool pkt always has PKT_HEADROOM) */

	tos = p->data[1];
	ttl = p->data[8];
	proto = in->l4.proto == PROTO_ICMP4 ? PROTO_ICMP6 : in->l4.proto;
	old_sum = csum_partial(p->data + 12, 8, 0);
	pkt_trim(p, in->len);
	if (nl3 > in->l3len)
		pkt_push(p, nl3 - in->l3len);
	else
		pkt_pull(p, in->l3len - nl3); /* C 24: options dropped */
	h = p->data;
	upper_rewrite(p, h + nl3, l4len, in, out->src, out->dst, 16, old_sum, out->sport,
		      out->dport, o->mss);
	put_ip6(h, tos, nl3 - IP6_HLEN + l4len, in->is_frag ? NH_FRAGMENT : proto,
		(uint8_t)(ttl - 1), out->src, out->dst);
	if (in->is_frag) /* C 28: only for a real fragment, never an atomic one */
		put_frag6(h + IP6_HLEN, proto, in->frag_off, in->frag_mf, in->frag_id);
	if (p->off.is_csum_partial)
		p->off.csum_start = (uint16_t)nl3;
	if (p->off.gso_type == PKT_GSO_TCP4)
		p->off.gso_type = PKT_GSO_TCP6;
	return !in->is_df && judged > lim ? XLAT_FRAGMENT : XLAT_OK;
}

static const char *const result_names[XLAT_NRESULTS] = {
    [XLAT_OK] = "ok",
    [XLAT_FRAGMENT] = "fragment",
    [XLAT_MALFORMED] = "malformed",
    [XLAT_REPLY] = "reply",
    [XLAT_HOP_ZERO] = "hop-zero",
    [XLAT_PROTO] = "proto",
    [XLAT_ICMP_TYPE] = "icmp-type",
    [XLAT_ICMP_INNER] = "icmp-inner",
    [XLAT_ICMP_FRAG] = "icmp-frag",
    [XLAT_MULTICAST] = "multicast",
};

const char *xlat_result_name(int r)
{
	if (r < 0 || r >= XLAT_NRESULTS)
		return "unknown";
	return result_names[r];
}
