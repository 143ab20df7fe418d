/*
 * icmp: ICMPv4 and ICMPv6 error builders and the rules on when not to send one (see icmp.h).
 *
 * Owns nothing: the builders write into the caller's pkt, the predicates only read.
 *
 * Invariants:
 * - A builder either writes a whole message (headers, quote, both checksums) and returns its
 *   length, or returns 0 having touched nothing: every size is checked before pkt_put.
 * - The message never exceeds the cap (e->max_len or the RFC default), nor what the IP length
 *   fields can say (65535 bytes for IPv4, a 65535-byte payload for IPv6).
 * - The predicates read orig only at offsets already proven to lie below len; an extension
 *   header chain is walked with a bounded cursor and a bounded number of steps.
 *
 * Timers: none.
 */
#include "lib/icmp.h"

#include <string.h>

#include "lib/csum.h"
#include "lib/pkt.h"
#include "lib/wire.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	IP4_LEN_MAX = 0xffff,		 /* the total length field */
	IP6_LEN_MAX = IP6_HLEN + 0xffff, /* the payload length field, no jumbograms */
	PROTO_ICMP4 = 1,
	NEXT_ICMP6 = 58,
	TTL_DEFAULT = 64, /* RFC 1700's recommended TTL, also Linux's default hop limit */
	/*
	 * RFC 1812 §4.3.2.5: Destination Unreachable, Time Exceeded and Parameter Problem SHOULD
	 * carry precedence 6 (internetwork control), the DSCP class selector CS6 (RFC 2474 §4.2.2).
	 */
	TOS_ERR = 0xc0,
	/* IPv6 extension headers (RFC 8200 §4.1, RFC 4302 for AH) */
	NEXT_HOPOPT = 0,
	NEXT_ROUTING = 43,
	NEXT_FRAGMENT = 44,
	NEXT_AH = 51,
	NEXT_DSTOPTS = 60,
	EXT_MAX = 16, /* headers walked before giving up; RFC 8200 §4.1 expects a handful */
};

static void put_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put_be32(uint8_t *b, uint32_t v)
{
	put_be16(b, (uint16_t)(v >> 16));
	put_be16(b + 2, (uint16_t)v);
}

/*
 * *quote: how much of len bytes a message with hlen bytes of headers quotes under its cap
 * (e->max_len, or def when 0; never past lim). False when not even the headers fit.
 */
static bool quote_len(const struct icmp_err *e, size_t def, size_t lim, size_t hlen, size_t len,
		      size_t *quote)
{
	size_t cap = e->max_len ? e->max_len : def;

	if (cap > lim)
		cap = lim;
	if (cap < hlen)
		return false;
	*quote = len < cap - hlen ? len : cap - hlen;
	return true;
}

/* type, code, checksum 0 for now, rest, then the quote: the ICMP header of either family */
static void put_icmp(uint8_t *b, const struct icmp_err *e, const uint8_t *orig, size_t quote)
{
	b[0] = e->type;
	b[1] = e->code;
	put_be16(b + 2, 0);
	put_be32(b + 4, e->rest); /* RFC 1191 §4: the MTU of 3/4 is its low 16 bits */
	if (quote)
		memcpy(b + ICMP_HLEN, orig, quote);
}

size_t icmp4_error(struct pkt *p, const uint8_t src[4], const uint8_t dst[4],
		   const struct icmp_err *e, const uint8_t *orig, size_t len)
{
	size_t quote, total;
	uint8_t *b;

	/*
	 * RFC 1812 §4.3.2.3: as much of the original datagram as fits without the error passing
	 * 576 bytes (RFC 792 asked only for its header and 64 bits of data).
	 */
	if (!quote_len(e, ICMP4_ERR_MAX, IP4_LEN_MAX, IP4_HLEN + ICMP_HLEN, len, &quote))
		return 0;
	total = IP4_HLEN + ICMP_HLEN + quote;
	b = pkt_put(p, total);
	if (!b)
		return 0;

	/* RFC 791 §3.1: version 4, IHL 5, ID 0, no flags */
	b[0] = 0x45;
	b[1] = TOS_ERR;
	put_be16(b + 2, (uint16_t)total);
	put_be32(b + 4, 0);
	b[8] = e->ttl ? e->ttl : TTL_DEFAULT;
	b[9] = PROTO_ICMP4;
	put_be16(b + 10, 0);
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	csum_store(b + 10, (uint16_t)~csum_fold(csum_partial(b, IP4_HLEN, 0)));

	/* RFC 792: the ICMPv4 checksum covers the ICMP message only, no pseudo-header */
	put_icmp(b + IP4_HLEN, e, orig, quote);
	csum_store(b + IP4_HLEN + 2,
		   (uint16_t)~csum_fold(csum_partial(b + IP4_HLEN, ICMP_HLEN + quote, 0)));
	return total;
}

size_t icmp6_error(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
		   const struct icmp_err *e, const uint8_t *orig, size_t len)
{
	size_t quote, plen;
	uint64_t sum;
	uint8_t *b;

	/* RFC 4443 §2.4 (c): as much of the invoking packet as fits in the minimum MTU */
	if (!quote_len(e, ICMP6_ERR_MAX, IP6_LEN_MAX, IP6_HLEN + ICMP_HLEN, len, &quote))
		return 0;
	plen = ICMP_HLEN + quote;
	b = pkt_put(p, IP6_HLEN + plen);
	if (!b)
		return 0;

	/* RFC 8200 §3: version 6, traffic class and flow label 0 */
	put_be32(b, 0x60000000u);
	put_be16(b + 4, (uint16_t)plen);
	b[6] = NEXT_ICMP6;
	b[7] = e->ttl ? e->ttl : TTL_DEFAULT;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);

	/* RFC 4443 §2.3: the checksum covers the pseudo-header (RFC 8200 §8.1) */
	put_icmp(b + IP6_HLEN, e, orig, quote);
	sum = csum_pseudo6(src, dst, (uint32_t)plen, NEXT_ICMP6);
	csum_store(b + IP6_HLEN + 2, (uint16_t)~csum_fold(csum_partial(b + IP6_HLEN, plen, sum)));
	return IP6_HLEN + plen;
}

/*
 * RFC 1122 §3.2.2 / RFC 1812 §4.3.2.7: the ICMPv4 queries and replies, which may be answered
 * with an error (echo 0/8, router advertisement and solicitation 9/10, timestamp 13/14,
 * information 15/16, address mask 17/18, extended echo 42/43 of RFC 8335). Every other type, the
 * errors (3, 4, 5, 11, 12) and the unknown alike, is treated as an error: silence is the safe
 * answer to what we cannot classify, and it is what stops error storms.
 */
static bool icmp4_is_query(uint8_t type)
{
	static const uint64_t queries = 1ull << 0 | 1ull << 8 | 1ull << 9 | 1ull << 10 |
					1ull << 13 | 1ull << 14 | 1ull << 15 | 1ull << 16 |
					1ull << 17 | 1ull << 18 | 1ull << 42 | 1ull << 43;

	return type < 64 && (queries >> type & 1);
}

bool icmp4_may_answer(const uint8_t *orig, size_t len)
{
	const uint8_t *s, *d;
	size_t hlen;

	/* §4.3.2.7: nothing about a packet whose header fails validation (§5.2.2) */
	if (len < IP4_HLEN || orig[0] >> 4 != 4)
		return false;
	hlen = (size_t)(orig[0] & 0x0f) * 4;
	if (hlen < IP4_HLEN || hlen > len)
		return false;
	/* nothing about a fragment other than the first: offset nonzero */
	if (((orig[6] & 0x1f) | orig[7]) != 0)
		return false;

	/*
	 * §4.3.2.7 and §5.3.7: the source must name one host, so not network 0 (0/8, which holds
	 * 0.0.0.0), loopback (127/8), class D (multicast) or E (240/4, which holds the limited
	 * broadcast); the destination must not be multicast or the limited broadcast. A directed
	 * broadcast cannot be recognised without the interface's prefix, which we do not have.
	 */
	s = orig + 12;
	d = orig + 16;
	if (s[0] == 0 || s[0] == 127 || s[0] >= 224)
		return false;
	if ((d[0] & 0xf0) == 0xe0 || (d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255))
		return false;

	/* never about an ICMP error; a first fragment too short to show its type counts as one */
	if (orig[9] == PROTO_ICMP4)
		return hlen < len && icmp4_is_query(orig[hlen]);
	return true;
}

/*
 * True when the packet behind the extension headers of rd (next header nh first) is an ICMPv6
 * error (RFC 4443 §2.1: types 0-127). A truncated or unparseable chain, a non-first fragment
 * (whose upper layer is not in this packet) or a chain too long to follow counts as "not an
 * error": §2.4 (e.1) forbids answering errors, not answering what cannot be read.
 */
static bool is_icmp6_error(struct wire_rd *rd, uint8_t nh)
{
	for (int i = 0; i < EXT_MAX; i++) {
		uint8_t next, hlen, b2, b3;
		size_t skip;

		switch (nh) {
		case NEXT_ICMP6:
			return wire_get_u8(rd, &next) && next < 128;
		case NEXT_HOPOPT:
		case NEXT_ROUTING:
		case NEXT_DSTOPTS:
			/* RFC 8200 §4.3-4.6: length in 8-byte units, less the first */
			if (!wire_get_u8(rd, &next) || !wire_get_u8(rd, &hlen))
				return false;
			skip = ((size_t)hlen + 1) * 8 - 2;
			break;
		case NEXT_AH:
			/* RFC 4302 §2.2: the length is in 4-byte units, minus 2 */
			if (!wire_get_u8(rd, &next) || !wire_get_u8(rd, &hlen))
				return false;
			skip = ((size_t)hlen + 2) * 4 - 2;
			break;
		case NEXT_FRAGMENT:
			/* RFC 8200 §4.5: next, reserved, offset (13 bits) + flags, ID */
			if (!wire_get_u8(rd, &next) || !wire_skip(rd, 1) || !wire_get_u8(rd, &b2) ||
			    !wire_get_u8(rd, &b3))
				return false;
			if ((b2 << 8 | b3) >> 3 != 0)
				return false;
			skip = 4;
			break;
		default: /* TCP, UDP, ESP, No Next Header, the unknown: not ICMPv6 */
			return false;
		}
		if (!wire_skip(rd, skip))
			return false;
		nh = next;
	}
	return false;
}

static bool is_multicast6(const uint8_t a[16])
{
	return a[0] == 0xff; /* RFC 4291 §2.7 */
}

static bool is_unspecified6(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0; /* RFC 4291 §2.5.2 */
}

bool icmp6_may_answer(const uint8_t *orig, size_t len, const struct icmp_err *e)
{
	struct wire_rd rd;

	if (len < IP6_HLEN || orig[0] >> 4 != 6)
		return false;
	/* §2.4 (e.6): the source must identify a single node */
	if (is_unspecified6(orig + 8) || is_multicast6(orig + 8))
		return false;
	/*
	 * §2.4 (e.3): not to a multicast destination, except Packet Too Big (path MTU discovery
	 * for multicast, RFC 8201) and Parameter Problem code 2 (an unrecognised option that asks
	 * for a report even then, RFC 8200 §4.2).
	 */
	if (is_multicast6(orig + 24) &&
	    !(e->type == ICMP6_PKT_TOO_BIG || (e->type == ICMP6_PARAM_PROBLEM && e->code == 2)))
		return false;
	/* §2.4 (e.1): never about an ICMPv6 error */
	wire_rd_init(&rd, orig + IP6_HLEN, len - IP6_HLEN);
	return !is_icmp6_error(&rd, orig[6]);
}
