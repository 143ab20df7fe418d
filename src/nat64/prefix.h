/*
 * prefix: IPv4-embedded IPv6 addresses (RFC 6052 §2.2) under the NAT64 prefix, and the
 * Well-Known-Prefix guard (RFC 6052 §3.1; nat64-requirements §2 A 1-5). Pure, libc only.
 *
 * Layout of the six lengths (bit 64-71 is the "u" octet, always written 0):
 *   /32: v4 in bits 32-63          /40: octets 1-3 in 40-63, octet 4 in 72-79
 *   /48: 1-2 in 48-63, 3-4 in 72-87   /56: 1 in 56-63, 2-4 in 72-95
 *   /64: 72-103                     /96: 96-127
 * Suffix bits are written as zero and ignored on receipt (A 3: TAYGA drops when they are not
 * zero; we do not).
 */
#ifndef YGG64_NAT64_PREFIX_H
#define YGG64_NAT64_PREFIX_H

#include <stdbool.h>
#include <stdint.h>

struct nat64_prefix {
	uint8_t addr[16]; /* prefix bits, the rest zero */
	uint8_t len;	  /* 32, 40, 48, 56, 64 or 96 */
	bool is_wkp;	  /* 64:ff9b::/96 */
};

/*
 * Sets *p from addr (16 bytes; bits past len are cleared) and len. 0, or -EINVAL when len is
 * not one of the six lengths, or bits 64-71 of addr are not zero (for len > 64).
 */
int nat64_prefix_init(struct nat64_prefix *p, const uint8_t addr[16], unsigned len);
/* True when a (16 bytes) lies inside the prefix (its first len bits are the prefix's). */
bool nat64_prefix_match(const struct nat64_prefix *p, const uint8_t a[16]);
/* Writes the IPv6 address that embeds v4 to out (u octet and suffix zero). */
void nat64_prefix_embed(const struct nat64_prefix *p, const uint8_t v4[4], uint8_t out[16]);
/* Takes the IPv4 address out of a (which must match the prefix); the suffix is ignored. */
void nat64_prefix_extract(const struct nat64_prefix *p, const uint8_t a[16], uint8_t v4[4]);
/*
 * True when v4 is global per the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its
 * updates): not 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24 (but 192.0.0.9
 * and .10 are global), 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24,
 * 203.0.113/24, 224/4, 240/4, 255.255.255.255.
 */
bool nat64_ipv4_is_global(const uint8_t v4[4]);
/*
 * A 3-4: true when a packet may be translated to or from v4 under the prefix: always for a
 * network-specific prefix; for the Well-Known Prefix only when v4 is global, unless
 * allow_nonglobal (NAT64.AllowNonGlobalWKP).
 */
bool nat64_prefix_allows(const struct nat64_prefix *p, const uint8_t v4[4], bool allow_nonglobal);

#endif
