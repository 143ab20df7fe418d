/*
 * refcsum: an independent Internet checksum for the tests of the code that computes one
 * (lib/csum, tun/vnet, the TUN): RFC 1071 §4.1's loop on big-endian 16-bit words, kept as plain
 * as possible so that it can be trusted by reading.
 */
#ifndef YGG64_TESTS_REFCSUM_H
#define YGG64_TESTS_REFCSUM_H
#include <stddef.h>
#include <stdint.h>

/* The folded ones' complement sum of b[0..n) added to sum (not complemented). */
uint16_t ref_csum(const uint8_t *b, size_t n, uint32_t sum);
/*
 * The folded sum of the pseudo-header and transport part of the IPv4 (no options) or IPv6 (no
 * extension headers) packet b of len bytes: 0xffff when its TCP, UDP or ICMPv6 checksum is
 * right. With the checksum field zeroed, its complement is the checksum to store.
 */
uint16_t ref_l4_sum(const uint8_t *b, size_t len);
#endif
