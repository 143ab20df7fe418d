/*
 * prefix: IPv4-embedded IPv6 addresses and the Well-Known-Prefix guard (see prefix.h).
 *
 * Owns nothing: a struct nat64_prefix is a value, filled by nat64_prefix_init and then only
 * read.
 *
 * Invariants (set by nat64_prefix_init, relied on by the rest):
 * - len is one of the six lengths of RFC 6052 §2.2, all multiples of 8, so every step here
 *   works on whole bytes.
 * - addr has every bit at and past len zero; when len is 96 the u octet (byte 8) is zero too.
 *
 * The embedding (RFC 6052 §2.2, nat64-requirements §2 A 2): the four IPv4 octets go into the
 * bytes that follow the prefix, in order, skipping byte 8 (bits 64-71, the u octet, which
 * RFC 6052 reserves and requires to be zero). Whatever lies after the fourth octet is the
 * suffix. So the byte positions of the octets are, per length:
 *   /32: 4 5 6 7   /40: 5 6 7 9   /48: 6 7 9 10   /56: 7 9 10 11   /64: 9 10 11 12
 *   /96: 12 13 14 15
 *
 * Timers: none.
 */
#include "nat64/prefix.h"

#include <errno.h>
#include <string.h>

#include "lib/inet.h"

enum {
	U_OCTET = 8, /* byte index of bits 64-71 */
};

/* RFC 6052 §2.1: 64:ff9b::/96. */
static const uint8_t wkp[16] = {0x00, 0x64, 0xff, 0x9b};

/* Byte positions of the four IPv4 octets for a prefix of len bits (one of the six). */
static void octet_pos(unsigned len, unsigned pos[4])
{
	unsigned at = len / 8;

	for (int i = 0; i < 4; i++, at++) {
		if (at == U_OCTET)
			at++;
		pos[i] = at;
	}
}

int nat64_prefix_init(struct nat64_prefix *p, const uint8_t addr[16], unsigned len)
{
	/* A 1: only the six lengths */
	if (!inet_nat64_prefix_len_ok(len))
		return -EINVAL;
	/*
	 * RFC 6052 §2.2: bits 64-71 "MUST be set to zero". Only a /96 has them inside the prefix;
	 * for the shorter ones they are written by embed, never taken from addr.
	 */
	if (len > 64 && addr[U_OCTET] != 0)
		return -EINVAL;
	memset(p->addr, 0, sizeof(p->addr));
	memcpy(p->addr, addr, len / 8);
	p->len = (uint8_t)len;
	p->is_wkp = len == 96 && memcmp(p->addr, wkp, sizeof(wkp)) == 0;
	return 0;
}

bool nat64_prefix_match(const struct nat64_prefix *p, const uint8_t a[16])
{
	return memcmp(p->addr, a, p->len / 8u) == 0;
}

void nat64_prefix_embed(const struct nat64_prefix *p, const uint8_t v4[4], uint8_t out[16])
{
	unsigned pos[4];

	/* the prefix's addr is zero past len: u octet and suffix come out zero (A 2, A 3) */
	memcpy(out, p->addr, 16);
	octet_pos(p->len, pos);
	for (int i = 0; i < 4; i++)
		out[pos[i]] = v4[i];
}

void nat64_prefix_extract(const struct nat64_prefix *p, const uint8_t a[16], uint8_t v4[4])
{
	unsigned pos[4];

	/*
	 * A 3: neither the suffix nor the u octet is looked at. RFC 6052 §2.2 lets a receiver
	 * ignore the suffix; TAYGA drops such packets instead, which we do not follow.
	 */
	octet_pos(p->len, pos);
	for (int i = 0; i < 4; i++)
		v4[i] = a[pos[i]];
}

/*
 * The IANA IPv4 Special-Purpose Address Registry (RFC 6890, updated by RFC 7526, RFC 8190)
 * blocks whose "Globally Reachable" is False (or which are not unicast at all), as address and
 * mask in host order. lib/inet's inet_ipv4_is_global answers the same question for a config
 * prefix; this one runs per packet on one address, and also knows the two global /32s inside
 * 192.0.0/24 and multicast, which is never a translatable destination of a NAPT.
 */
static const struct {
	uint32_t net, mask;
} special[] = {
    {0x00000000, 0xff000000}, /* 0/8: "this network" (RFC 791) */
    {0x0a000000, 0xff000000}, /* 10/8: private use (RFC 1918) */
    {0x64400000, 0xffc00000}, /* 100.64/10: shared address space (RFC 6598) */
    {0x7f000000, 0xff000000}, /* 127/8: loopback (RFC 1122) */
    {0xa9fe0000, 0xffff0000}, /* 169.254/16: link local (RFC 3927) */
    {0xac100000, 0xfff00000}, /* 172.16/12: private use (RFC 1918) */
    {0xc0000000, 0xffffff00}, /* 192.0.0/24: IETF protocol assignments (RFC 6890) */
    {0xc0000200, 0xffffff00}, /* 192.0.2/24: TEST-NET-1 (RFC 5737) */
    {0xc0586300, 0xffffff00}, /* 192.88.99/24: deprecated 6to4 relay anycast (RFC 7526) */
    {0xc0a80000, 0xffff0000}, /* 192.168/16: private use (RFC 1918) */
    {0xc6120000, 0xfffe0000}, /* 198.18/15: benchmarking (RFC 2544) */
    {0xc6336400, 0xffffff00}, /* 198.51.100/24: TEST-NET-2 (RFC 5737) */
    {0xcb007100, 0xffffff00}, /* 203.0.113/24: TEST-NET-3 (RFC 5737) */
    {0xe0000000, 0xf0000000}, /* 224/4: multicast (RFC 5771) */
    {0xf0000000, 0xf0000000}, /* 240/4: reserved (RFC 1112), 255.255.255.255 included */
};

bool nat64_ipv4_is_global(const uint8_t v4[4])
{
	uint32_t a = (uint32_t)v4[0] << 24 | (uint32_t)v4[1] << 16 | (uint32_t)v4[2] << 8 | v4[3];

	/* the registry's two global /32s in 192.0.0/24: PCP (RFC 7723) and TURN (RFC 8155) */
	if (a == 0xc0000009 || a == 0xc000000a)
		return true;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if ((a & special[i].mask) == special[i].net)
			return false;
	return true;
}

bool nat64_prefix_allows(const struct nat64_prefix *p, const uint8_t v4[4], bool allow_nonglobal)
{
	/* A 4, RFC 6052 §3.1: the WKP must not carry non-global IPv4 addresses */
	return !p->is_wkp || allow_nonglobal || nat64_ipv4_is_global(v4);
}
