/*
 * icmp: the ICMP error messages a router sends back about a packet it cannot forward, for
 * IPv4 (RFC 792, RFC 1812 §4.3.2) and IPv6 (RFC 4443 §3), quoting the start of the offending
 * packet. Used by tunnel routing (no route, bad source, too big) and the IPv6 adapter (Packet
 * Too Big, as yggdrasil builds it), later by NAT64. Pure, libc only.
 *
 * Ownership: the pkt given to the builders is written into and not consumed; orig and the
 * addresses are borrowed for the call.
 */
#ifndef YGG64_LIB_ICMP_H
#define YGG64_LIB_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkt;

enum {
	ICMP4_ERR_MAX = 576,  /* RFC 1812 §4.3.2.3: an ICMPv4 error is at most 576 bytes */
	ICMP6_ERR_MAX = 1280, /* RFC 4443 §2.4 (c): as much as fits in the IPv6 minimum MTU */
	ICMP_HLEN = 8,	      /* type, code, checksum, the 4 "rest" bytes */
};

/* The types and codes in use (RFC 792, RFC 1812 §5.2.7.1, RFC 4443 §3). */
enum icmp4_type {
	ICMP4_ECHO_REPLY = 0,
	ICMP4_DEST_UNREACH = 3,
	ICMP4_ECHO_REQUEST = 8,
	ICMP4_TIME_EXCEEDED = 11,
	ICMP4_PARAM_PROBLEM = 12,
};
enum icmp4_unreach_code {
	ICMP4_NET_UNREACH = 0,
	ICMP4_HOST_UNREACH = 1,
	ICMP4_PROTO_UNREACH = 2,
	ICMP4_PORT_UNREACH = 3,
	ICMP4_FRAG_NEEDED = 4, /* rest: the next-hop MTU in its low 16 bits (RFC 1191 §4) */
	ICMP4_ADMIN_PROHIBITED = 13,
};
enum icmp6_type {
	ICMP6_DEST_UNREACH = 1,
	ICMP6_PKT_TOO_BIG = 2, /* rest: the MTU */
	ICMP6_TIME_EXCEEDED = 3,
	ICMP6_PARAM_PROBLEM = 4, /* rest: the pointer */
	ICMP6_ECHO_REQUEST = 128,
	ICMP6_ECHO_REPLY = 129,
};
enum icmp6_unreach_code {
	ICMP6_NO_ROUTE = 0,
	ICMP6_ADMIN_PROHIBITED = 1,
	ICMP6_ADDR_UNREACH = 3,
	ICMP6_PORT_UNREACH = 4,
};

/* One error to build. */
struct icmp_err {
	uint8_t type;
	uint8_t code;
	uint32_t rest;	/* the 4 bytes after the checksum, big-endian on the wire */
	size_t max_len; /* cap on the whole message, IP header included; 0: ICMP{4,6}_ERR_MAX */
	uint8_t ttl;	/* TTL / hop limit; 0: 64 */
};

/*
 * Writes into p (len 0, data with at least max_len bytes of tailroom; not consumed) an IPv4
 * packet from src to dst (20-byte header, TOS 0xc0 for precedence 6 as RFC 1812 §4.3.2.5
 * asks, ID 0, no flags, protocol 1, header checksum) that holds the ICMPv4 error e quoting the
 * first bytes of orig (len bytes; orig may be NULL when len is 0), as many as the cap allows,
 * with its ICMP checksum. Returns the message's length, or 0 (p unchanged) when p lacks room
 * or the cap is below the 28 bytes of headers. A cap past 65535 is cut to 65535.
 */
size_t icmp4_error(struct pkt *p, const uint8_t src[4], const uint8_t dst[4],
		   const struct icmp_err *e, const uint8_t *orig, size_t len);
/*
 * The same for IPv6 (40-byte header, traffic class and flow label 0, next header 58, checksum
 * over the pseudo-header); the headers are 48 bytes and the cap stops at a 65535-byte payload.
 */
size_t icmp6_error(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
		   const struct icmp_err *e, const uint8_t *orig, size_t len);

/*
 * RFC 1812 §4.3.2.7: true unless orig (an IPv4 packet of len bytes) must not be answered with
 * an error: its header is not a valid one within len, it is itself an ICMP error (or too short
 * to tell; unknown ICMP types count as errors), a fragment other than the first, or its source
 * is not one host (network 0 (0/8), 127/8, class D or E, 255.255.255.255) or its destination
 * is multicast or the limited broadcast.
 */
bool icmp4_may_answer(const uint8_t *orig, size_t len);
/*
 * RFC 4443 §2.4 (e): true unless orig (an IPv6 packet of len bytes) must not be answered with
 * the error e: orig is an ICMPv6 error (found past any extension headers), or its source is
 * unspecified or multicast, or its destination is multicast and e is not a Packet Too Big or a
 * Parameter Problem of code 2; also false when orig is shorter than an IPv6 header. A chain
 * that is truncated, unparseable, too long to follow, or cut by a non-first fragment hides the
 * upper layer and does not count as an error. e is borrowed.
 */
bool icmp6_may_answer(const uint8_t *orig, size_t len, const struct icmp_err *e);

#endif
