/*
 * csum: the Internet checksum (RFC 1071), as used by IPv4 headers, TCP, UDP and ICMPv6, and
 * by the TUN offloads (partial checksums, segmentation) and, later, NAT64 (RFC 7915 §4.5).
 *
 * Sums are kept in host byte order (RFC 1071 §2 (B): the ones' complement sum is byte-order
 * independent), so data is summed as it lies in memory and a folded result is stored back
 * with csum_store, never with an explicit byte swap. Partial sums of consecutive chunks may be
 * added together only when every chunk but the last has an even length.
 */
#ifndef YGG64_LIB_CSUM_H
#define YGG64_LIB_CSUM_H
#include <stddef.h>
#include <stdint.h>

/* Adds the n bytes at p to sum (an odd last byte counts as padded with a zero byte). */
uint64_t csum_partial(const void *p, size_t n, uint64_t sum);
/* Folds a partial sum to 16 bits (not complemented). */
uint16_t csum_fold(uint64_t sum);
/* The sum of the IPv6 pseudo-header (RFC 8200 §8.1): src, dst, upper-layer length, proto. */
uint64_t csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t proto);
/* The sum of the IPv4 pseudo-header (RFC 793 §3.1): src, dst, zero, proto, length. */
uint64_t csum_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint16_t len, uint8_t proto);
/* Stores a folded (host order) value at p, 2 bytes, any alignment. */
void csum_store(uint8_t *p, uint16_t folded);
#endif
