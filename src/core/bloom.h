/*
 * bloom: ironwood's 8192-bit bloom filters of reachable keys, byte-exact with yggdrasil-go
 * 0.5.12 (bits-and-blooms/bloom v3 over MurmurHash3_x64_128). Pure value type and operations;
 * the wire form is in proto. Spec: yggdrasil-link-routing.md §6.1, §6.2, §4.4.
 *
 * Filter bit b is bit (b mod 64), least significant first, of word w[b / 64].
 */
#ifndef YGG64_CORE_BLOOM_H
#define YGG64_CORE_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	BLOOM_BITS = 8192,
	BLOOM_WORDS = 128,
	BLOOM_HASHES = 8,
};

struct bloom {
	uint64_t w[BLOOM_WORDS];
};

/* MurmurHash3_x64_128 with seed 0: out[0] = h1, out[1] = h2 (§6.1 check: "hello"). */
void bloom_murmur3(const uint8_t *data, size_t len, uint64_t out[2]);
/* The 8 bit locations of a 32-byte value (already transformed), in 0..8191. */
void bloom_locations(const uint8_t x[static 32], unsigned loc[static BLOOM_HASHES]);
/*
 * yggdrasil's key transform (§6.2): the first min(256, z + 1 + 48) bits of the key kept, the
 * rest set to 1, where z = leading zero bits. Equal to core/addr's addr_xkey(), including Go's
 * edges no real key reaches (z > 207 keeps only whole bytes; the zero key maps to all ones).
 * out may be key itself (in place).
 */
void bloom_xform(const uint8_t key[static 32], uint8_t out[static 32]);

void bloom_clear(struct bloom *b);
/* Inserts / tests a key; the key is transformed first. */
void bloom_add_key(struct bloom *b, const uint8_t key[static 32]);
bool bloom_test_key(const struct bloom *b, const uint8_t key[static 32]);
/* The same for a value that is already transformed (xform output). */
void bloom_add(struct bloom *b, const uint8_t x[static 32]);
bool bloom_test(const struct bloom *b, const uint8_t x[static 32]);
void bloom_merge(struct bloom *dst, const struct bloom *src);
bool bloom_equal(const struct bloom *a, const struct bloom *b);
bool bloom_is_empty(const struct bloom *b);

#endif
