/*
 * xlat: IP/ICMP header translation (RFC 7915) in place on a struct pkt, for the stateful NAT64
 * (RFC 6146). Pure, libc only: no state, no time, no I/O. The caller (nat64.c) parses a
 * packet (xlat_parse6/4), looks its tuple up in the BIB (table.h), then translates it with the
 * addresses and ports the lookup gave (xlat_6to4/4to6).
 *
 * Requirements implemented here (nat64-requirements §2): C 22-36 (headers, TTL/hop limit,
 * options, extension headers, fragment headers, DF, checksums), D (ICMP type/code/pointer/MTU
 * tables, inner packets, size caps), E 42 (MSS clamping, given the clamp values), A 5 (the
 * pseudo-header delta is always applied).
 *
 * Checksums are updated incrementally (RFC 1624) for TCP and UDP, so a wrong checksum stays
 * equally wrong (C 34); ICMP checksums are recomputed whole (ICMPv6 has a pseudo-header and
 * ICMPv4 none, C 35). A pkt with off.is_csum_partial (pkt.h) keeps it: its checksum field is
 * rewritten as the new pseudo-header sum, and off.csum_start follows the header change. A GSO
 * pkt (off.gso_type TCP6/TCP4/UDP) is translated once, headers only: the gso type follows the
 * IP version, gso_size stays (the same segment payload), and the DF and size rules are applied
 * to one segment (l3 + transport header + gso_size bytes), not to the whole pkt.
 *
 * Ownership: p is edited in place and never consumed or freed. On any return other than
 * XLAT_OK or XLAT_FRAGMENT, p is left unchanged.
 */
#ifndef YGG64_NAT64_XLAT_H
#define YGG64_NAT64_XLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct icmp_err;
struct pkt;

/* Results: 0 and 1 are success, the rest are reasons to drop (counted by the caller). */
enum xlat_result {
	XLAT_OK = 0,	   /* translated */
	XLAT_FRAGMENT = 1, /* translated, but larger than the MTU given: the caller fragments it */
	XLAT_MALFORMED,	   /* not a whole, well-formed packet (lengths, headers) */
	XLAT_REPLY,	   /* refused with the ICMP error in *reply (same family as the packet) */
	XLAT_HOP_ZERO,	   /* TTL/hop limit 0 on arrival: dropped without an error (C 23) */
	XLAT_PROTO,	   /* a protocol a NAPT cannot carry (C 25, 36): not TCP, UDP or ICMP */
	XLAT_ICMP_TYPE,	   /* an ICMP type or code the tables of §D drop */
	XLAT_ICMP_INNER,   /* an ICMP error whose quoted packet cannot be translated (D 38) */
	XLAT_ICMP_FRAG,	   /* a fragmented ICMP message (its checksum cannot be recomputed) */
	XLAT_MULTICAST,	   /* a multicast or broadcast destination */
	XLAT_NRESULTS
};

/* A short name for each result, for counters and logs ("malformed", "hop-zero", ...). */
const char *xlat_result_name(int r);

/* The transport part of a packet (or of the packet quoted in an ICMP error). */
struct xlat_l4 {
	uint8_t proto;	       /* 6, 17, 1 (ICMPv4) or 58 (ICMPv6) */
	bool has_ports;	       /* the fields below were inside the packet */
	uint16_t sport, dport; /* TCP/UDP ports; ICMP echo: the identifier in both */
	uint8_t type, code;    /* ICMP */
	uint8_t tcp_flags;     /* TCP: byte 13 (FIN 0x01 SYN 0x02 RST 0x04 ACK 0x10) */
	bool is_icmp_error;    /* ICMP: an error (type < 128 for ICMPv6; 3, 4, 5, 11, 12 for v4) */
	bool is_echo;	       /* ICMP: an echo request or reply (the only queries translated) */
	bool is_echo_request;
};

struct xlat_info {
	uint8_t ver;		  /* 4 or 6 */
	uint8_t src[16], dst[16]; /* IPv4: the first 4 bytes */
	uint8_t hop;		  /* TTL or hop limit as received */
	uint16_t l3len;		  /* bytes before the transport header (options, extension headers) */
	uint16_t len;		  /* the packet's length by its header (<= pkt len; excess is cut) */
	/* Fragments (IPv4 MF/offset, or an IPv6 Fragment Header). */
	bool is_frag;
	bool frag_mf;
	uint16_t frag_off; /* bytes */
	uint32_t frag_id;  /* IPv4: the 16-bit ID; IPv6: the 32-bit one */
	bool is_df;	   /* IPv4: Don't Fragment */
	/* The transport header; has_ports is false for a fragment other than the first. */
	struct xlat_l4 l4;
	/* For an ICMP error (l4.is_icmp_error): the quoted packet's addresses and transport. */
	struct {
		uint8_t src[16], dst[16];
		uint16_t at; /* offset of its IP header in the packet */
		struct xlat_l4 l4;
	} inner;
};

/*
 * Parses the IPv6 packet b (len bytes): header, extension headers (hop-by-hop, destination
 * options, routing, fragment), transport header and, for an ICMPv6 error, the quoted IPv6
 * packet. XLAT_OK and *in filled, or a result: XLAT_MALFORMED; XLAT_HOP_ZERO; XLAT_REPLY with
 * Time Exceeded 3/0 for hop limit 1 (C 29) or Parameter Problem 4/0 pointing at Segments Left
 * for a routing header with segments left (C 32), in *reply (type, code and rest set; max_len
 * 0); XLAT_PROTO for a Next Header other than TCP, UDP or ICMPv6; XLAT_ICMP_TYPE for an
 * ICMPv6 type that is not translated (informational other than echo, D); XLAT_ICMP_INNER for
 * an error whose quote is not an IPv6 packet with a parseable transport header, or is itself
 * an ICMP error (D 38); XLAT_ICMP_FRAG for fragmented ICMPv6; XLAT_MULTICAST for ff00::/8.
 */
int xlat_parse6(const uint8_t *b, size_t len, struct xlat_info *in, struct icmp_err *reply);
/*
 * The same for IPv4: a valid header (version, IHL, total length <= len; the header checksum
 * is verified, RFC 1812 §5.2.2), options (an unexpired LSRR or SSRR: XLAT_REPLY with 3/5 Source
 * Route Failed, C 24), TTL (0: XLAT_HOP_ZERO; 1: XLAT_REPLY with 11/0, C 23), protocol
 * (0, 43, 44, 58, 60 and others than 1, 6, 17: XLAT_PROTO, C 25/36), ICMPv4 (types other than
 * echo and the errors of §D: XLAT_ICMP_TYPE), an error's quoted IPv4 packet, fragmented ICMP
 * (XLAT_ICMP_FRAG), multicast/broadcast destinations (224/4, 240/4, 255.255.255.255:
 * XLAT_MULTICAST).
 */
int xlat_parse4(const uint8_t *b, size_t len, struct xlat_info *in, struct icmp_err *reply);

/* Addresses and ports after translation; for ICMP echo, sport is the new identifier. */
struct xlat_addr4 {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
};

struct xlat_addr6 {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

struct xlat_opts {
	uint32_t mtu;	       /* the next hop's MTU on the output side (0: 65535) */
	uint16_t lowest_mtu6;  /* 4->6: DF=0 packets are cut to this (C 26); 0: 1280 */
	uint16_t mss;	       /* MSS clamp for SYNs (E 42): 6->4 mtu4-40, 4->6 mtu6-60; 0: off */
	uint16_t ip4_id;       /* 6->4: the IPv4 ID of a packet without a Fragment Header (C 30) */
	uint32_t mtu_in;       /* ICMP PTB/Frag Needed math: the MTU of the input side (0: 65535) */
};

/*
 * Translates the IPv6 packet p (parsed into *in by xlat_parse6) to IPv4 in place, with the
 * outer addresses and ports of *out (ports: the source port or echo identifier becomes
 * out->sport, the destination port out->dport) and, for an ICMPv6 error, the quoted packet's
 * of *inner (its source and destination become inner->src/dst, its ports inner->sport/dport;
 * may be NULL otherwise). Rules C 29-35: TOS = traffic class, TTL = hop limit - 1, ID and DF
 * (DF iff the IPv4 packet (a GSO pkt: one segment) is longer than 1260 bytes, ID o->ip4_id;
 * with a Fragment Header: its ID's low 16 bits, MF and offset, DF 0), extension headers
 * dropped, ICMPv6 to ICMPv4 by the tables of §D (PTB: MTU = min(mtu-20, o->mtu, o->mtu_in-20),
 * minus 8 more when the quoted packet had a Fragment Header; pointers mapped), the quoted
 * packet translated with the same rules but no TTL change, an error cut to 576 bytes (D 38);
 * MSS of a SYN lowered to o->mss (never raised). A packet longer than o->mtu: with DF it is
 * refused with XLAT_REPLY, ICMPv6 2/0 MTU max(1280, o->mtu + 20) (C 33); without DF it is
 * translated and XLAT_FRAGMENT returned (the caller cuts it to o->mtu, ipfrag_split4).
 */
int xlat_6to4(struct pkt *p, const struct xlat_info *in, const struct xlat_addr4 *out,
	      const struct xlat_addr4 *inner, const struct xlat_opts *o, struct icmp_err *reply);
/*
 * Translates the IPv4 packet p (parsed by xlat_parse4) to IPv6 in place, with the 20 more bytes
 * (40 with a Fragment Header) taken from p's headroom. Rules C 22-28: traffic class = TOS,
 * flow label 0, hop limit = TTL - 1, options dropped, a Fragment Header for an IPv4 fragment
 * (ID, offset, M; never an atomic fragment, C 28), ICMPv4 to ICMPv6 by the tables of §D (Frag
 * Needed: MTU = min(mtu+20, o->mtu, o->mtu_in+20), the RFC 1191 plateaus when it is 0, never
 * below 1280), the quoted packet translated, an error cut to 1280 bytes; a zero UDP checksum
 * computed (whole packets only: a zero-checksum UDP fragment is XLAT_MALFORMED, req. 20 is the
 * caller's); MSS lowered to o->mss. DF set and longer than o->mtu after translation:
 * XLAT_REPLY with ICMPv4 3/4, MTU o->mtu - 20 (C 27). DF clear and longer than
 * o->lowest_mtu6 (or o->mtu, if lower): translated, XLAT_FRAGMENT (the caller cuts it,
 * ipfrag_split6, with in->frag_id as the ID).
 */
int xlat_4to6(struct pkt *p, const struct xlat_info *in, const struct xlat_addr6 *out,
	      const struct xlat_addr6 *inner, const struct xlat_opts *o, struct icmp_err *reply);

#endif
