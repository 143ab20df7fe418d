/*
 * salsa: the Salsa20/20 keystream (the stream under XSalsa20 in box.c), four 64-byte blocks at a
 * time, one block in each 32-bit lane of a 128-bit vector.
 *
 * Why: ironwood seals every packet separately (spec yggdrasil-sessions-core-admin.md §2.4), so a
 * 64-byte UDP datagram costs 3 keystream blocks (32 bytes of Poly1305 key, then about 145 bytes
 * of traffic plaintext). libsodium computes blocks shorter than 256 bytes one at a time, each a
 * chain of 20 dependent rounds, and that was a quarter of the daemon's CPU at the 64-byte UDP
 * knee (perf, bench/README.md). Four blocks side by side cost about as much as one block alone.
 * Longer keystreams (salsa_xor_ic) go sixteen blocks at a time in 512-bit AVX-512 vectors where
 * the CPU has them (one rotate instruction where libsodium's AVX2 path needs three; 0.22 against
 * 0.32 ns per byte on 64 KB here, an AMD EPYC of the Zen 4 generation), elsewhere through
 * libsodium; the tail shorter than 1024 (256) bytes comes from the four-wide code.
 *
 * Byte for byte the same as crypto_stream_salsa20_xor_ic (test_salsa checks every length up to
 * 1100 bytes, long messages, and counters across the 32-bit carry against libsodium, in each
 * implementation).
 * Salsa20 is additions, rotations and XORs only: no branch or memory index depends on a secret.
 *
 * Implementations of the four-wide code: SSE2 (every x86-64 CPU); AVX-512VL where the CPU has
 * it, for its 32 vector registers and its single-instruction rotate (128-bit instructions
 * only); elsewhere libsodium. The sixteen-wide bulk code uses 512-bit integer instructions,
 * the light kind that costs Intel CPUs the least clock, and only for messages of 1 KiB and
 * more. Chosen per call from the CPU's feature bits.
 */
#ifndef YGG64_CRYPTO_SALSA_H
#define YGG64_CRYPTO_SALSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SALSA_BLOCK = 64,
	SALSA_X4_LEN = 4 * SALSA_BLOCK,
	SALSA_X16_LEN = 16 * SALSA_BLOCK,
};

/* out = keystream blocks ic, ic+1, ic+2, ic+3 of Salsa20(key, n8). The 64-bit counter wraps. */
void salsa_x4(uint8_t out[static SALSA_X4_LEN], const uint8_t n8[static 8], uint64_t ic,
	      const uint8_t key[static 32]);

/* m ^= the len keystream bytes from block ic on: crypto_stream_salsa20_xor_ic(m, m, ...). */
void salsa_xor_ic(uint8_t *m, size_t len, const uint8_t n8[static 8], uint64_t ic,
		  const uint8_t key[static 32]);

/* dst ^= src, len bytes. */
void salsa_xor_bytes(uint8_t *dst, const uint8_t *src, size_t len);

/* For tests: salsa_x4 through one implementation; false if this CPU or build lacks it. */
enum salsa_impl { SALSA_IMPL_SODIUM, SALSA_IMPL_SSE2, SALSA_IMPL_AVX512VL };
bool salsa_x4_impl(enum salsa_impl impl, uint8_t out[static SALSA_X4_LEN],
		   const uint8_t n8[static 8], uint64_t ic, const uint8_t key[static 32]);

#endif
