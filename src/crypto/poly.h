/*
 * poly: the Poly1305 one-time authenticator (RFC 8439 §2.5; D. J. Bernstein), as box.c uses it
 * for every session packet (spec yggdrasil-sessions-core-admin.md §2.4).
 *
 * Why: libsodium's Poly1305 on x86-64 is its SSE2 code, two blocks at a time; on bulk TCP it was
 * a fifth of each node's CPU (perf, bench/README.md). Where the CPU has AVX-512F, messages of
 * POLY_WIDE_MIN bytes and more go eight blocks at a time in 64-bit lanes (26-bit limbs,
 * multiplied with vpmuludq, the lanes folded with r^8 .. r^1 at the end), and what is left
 * after the last whole 128 bytes through a scalar implementation with 44-bit limbs and 128-bit
 * products: 10.4 against 16.3 us for 64 KiB here (Zen 4). Shorter messages, where computing
 * r^2 .. r^8 and the scalar tail cost more than they save (the crossing is near 2.5 KB here),
 * and CPUs without AVX-512F keep libsodium.
 *
 * Byte for byte the same tags as crypto_onetimeauth_poly1305 (test_poly: every length up to
 * 1100 bytes, long messages, keys with every clamped bit of r set, all-ones messages, in every
 * implementation this CPU has). No branch or memory index depends on the key or the message;
 * the verify compares in constant time. Owns no state; wipes its copies of the key.
 */
#ifndef YGG64_CRYPTO_POLY_H
#define YGG64_CRYPTO_POLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	POLY_KEY_LEN = 32,
	POLY_TAG_LEN = 16,
	POLY_WIDE_MIN = 2048, /* from here on the eight-lane code runs (where the CPU has it) */
};

/* tag = Poly1305(key, m[0..len)). */
void poly_mac(uint8_t tag[static POLY_TAG_LEN], const uint8_t *m, size_t len,
	      const uint8_t key[static POLY_KEY_LEN]);

/* Whether tag is Poly1305(key, m[0..len)), compared in constant time. */
bool poly_verify(const uint8_t tag[static POLY_TAG_LEN], const uint8_t *m, size_t len,
		 const uint8_t key[static POLY_KEY_LEN]);

/*
 * For tests: one implementation, whatever the length; false if this CPU or build lacks it.
 * POLY_IMPL_SCALAR is the 44-bit code alone; POLY_IMPL_AVX512 runs the eight lanes from 128
 * bytes on.
 */
enum poly_impl { POLY_IMPL_SODIUM, POLY_IMPL_SCALAR, POLY_IMPL_AVX512 };
bool poly_mac_impl(enum poly_impl impl, uint8_t tag[static POLY_TAG_LEN], const uint8_t *m,
		   size_t len, const uint8_t key[static POLY_KEY_LEN]);

#endif
