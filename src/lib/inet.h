/*
 * inet: IP address and prefix values, their text forms, and the address classification the
 * configuration and NAT64 need. Pure, libc only.
 *
 * Text output follows RFC 5952 (lower case, longest run of two or more zero groups
 * compressed, first run on ties, no dotted-quad forms), which is what yggdrasil-go prints.
 */
#ifndef YGG64_LIB_INET_H
#define YGG64_LIB_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { INET_ADDRSTRLEN_MAX = 46, INET_PREFIXSTRLEN_MAX = 50 };

/* An IPv4 address is held in the first 4 bytes of addr. */
struct inet_prefix {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t len;	/* prefix length in bits */
	uint8_t addr[16];
};

/* Parses a bare IPv4 or IPv6 address. */
bool inet_addr_parse(const char *s, struct inet_prefix *out);
/*
 * Parses "addr/len". With is_strict, host bits beyond len must be zero (a config CIDR with
 * host bits set is an error, as in Go's net.ParseCIDR users); otherwise they are cleared.
 * A bare address without "/len" is rejected.
 */
bool inet_prefix_parse(const char *s, bool is_strict, struct inet_prefix *out);
/* Writes the address (no length) into buf of INET_ADDRSTRLEN_MAX bytes; returns buf. */
char *inet_addr_format(const struct inet_prefix *p, char *buf);
/* Writes "addr/len" into buf of INET_PREFIXSTRLEN_MAX bytes; returns buf. */
char *inet_prefix_format(const struct inet_prefix *p, char *buf);
/* 16 raw bytes of an IPv6 address → text (RFC 5952). buf has INET_ADDRSTRLEN_MAX bytes. */
char *inet_ntop6(const uint8_t a[16], char *buf);

/* True when a and b have the same family and one contains the other. */
bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b);
/* True when prefix p contains address addr (same family; addr's len is ignored). */
bool inet_prefix_contains(const struct inet_prefix *p, const struct inet_prefix *addr);
/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), such as a dual-stack
 * socket reports, becomes that IPv4 address (len 32); any other address is left as it is.
 */
void inet_addr_unmap4(struct inet_prefix *a);
/* True for 0.0.0.0 and :: (a->len ignored). */
bool inet_addr_is_unspecified(const struct inet_prefix *a);
/* True when the IPv6 prefix lies in Yggdrasil's 200::/7 (addresses 02xx, subnets 03xx). */
bool inet_is_yggdrasil(const struct inet_prefix *p);
/*
 * True when every IPv4 address in the prefix is global per the IANA IPv4 Special-Purpose
 * Address Registry (RFC 6890 and updates): not 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 * 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24,
 * 203.0.113/24, 240/4, 255.255.255.255. RFC 6052 §3.1 forbids the Well-Known Prefix for the
 * others.
 */
bool inet_ipv4_is_global(const struct inet_prefix *p);
/* RFC 6052 §2.2: 32, 40, 48, 56, 64 or 96. */
bool inet_nat64_prefix_len_ok(unsigned len);
/* True for 64:ff9b::/96, the RFC 6052 Well-Known Prefix (RFC 8215's 64:ff9b:1::/48 is not). */
bool inet_is_nat64_wkp(const struct inet_prefix *p);

#endif
