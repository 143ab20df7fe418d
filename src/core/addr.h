/*
 * addr: Yggdrasil 0.5 addressing (spec yggdrasil-sessions-core-admin.md §4): Ed25519 public key
 * -> 200::/7 address and 300::/64 subnet, and the inverse (partial key + mask of known bits) used
 * to look a destination up by its address, plus the xKey transform of bloom filters and lookups.
 *
 * Pure functions on byte arrays. Every pointer argument is borrowed for the call only; outputs
 * are fully written. Keys here are public keys: no secrets.
 */
#ifndef YGG64_CORE_ADDR_H
#define YGG64_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	ADDR_LEN = 16,
	ADDR_SUBNET_LEN = 8,
	ADDR_KEY_LEN = 32,
	ADDR_PREFIX = 0x02,	   /* first byte of every node address (200::/7) */
	ADDR_SUBNET_PREFIX = 0x03, /* first byte of every routed /64 (300::/8) */
};

/* §4.1: the node address of key. */
void addr_from_key(const uint8_t key[static 32], uint8_t out[static 16]);

/* §4.2: the first 8 bytes of the /64 subnet of key (3xx:…::/64). */
void addr_subnet_from_key(const uint8_t key[static 32], uint8_t out[static 8]);

/* True if a is a node address (first byte 0x02). */
bool addr_is_valid(const uint8_t a[static 16]);

/* True if s (8 bytes) is a node subnet prefix (first byte 0x03). */
bool addr_is_valid_subnet(const uint8_t s[static 8]);

/*
 * §4.3: the key bits an address (len 16) or subnet prefix (len 8) carries. a[0] is ignored and
 * a[1] is the count of leading zero bits of the key. len must be 2..16. key is exactly §4.3's
 * partial key (unknown bits are 1). mask has a 1 for each of the first a[1] + 1 + 8 * n bits,
 * n = the body bytes that hold key bits (len - 2, fewer past 143 leading zeros), so
 * addr_from_key(K) == a implies addr_key_matches(key, mask, K). The converse needs the full
 * comparison addr_from_key(K) == a.
 */
void addr_partial_key(const uint8_t *a, size_t len, uint8_t key[static 32],
		      uint8_t mask[static 32]);

/* §4.3: xKey(key) = partial key of subnet(key); what bloom filters and lookups carry. */
void addr_xkey(const uint8_t key[static 32], uint8_t out[static 32]);

/* True if key agrees with partial on every bit set in mask. */
bool addr_key_matches(const uint8_t partial[static 32], const uint8_t mask[static 32],
		      const uint8_t key[static 32]);

#endif
