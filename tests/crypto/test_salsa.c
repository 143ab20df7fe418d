/*
 * Tests for crypto/salsa:
 * - the Salsa20_k(n) example of the Salsa20 specification (§9, 32-byte key), in every
 *   implementation this CPU has;
 * - every implementation gives libsodium's keystream, including counters that carry from the
 *   low word to the high one and the 64-bit wrap;
 * - salsa_xor_ic equals the keystream XOR for every length 0..1100 at several counters (the
 *   libsodium bulk or the eight-wide AVX-512VL runs, the four-wide tail and their seams), and
 *   for long messages up to 64 KiB with counters whose eight lanes carry or wrap;
 * - salsa_xor_bytes at every alignment.
 * The reference keystream is libsodium's (SALSA_IMPL_SODIUM), the spec example is independent.
 */
#include "crypto/salsa.h"
#include "support/rng.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

static const enum salsa_impl impls[] = {SALSA_IMPL_SODIUM, SALSA_IMPL_SSE2, SALSA_IMPL_AVX512VL};
static const char *const impl_names[] = {"libsodium", "SSE2", "AVX-512VL"};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void rnd(uint8_t *p, size_t n)
{
	th_rnd_bytes(&rng_state, p, n);
}

/* How many implementations ran; the vector ones must run on x86-64 (SSE2 is baseline). */
static int run_all(void (*check)(enum salsa_impl, const char *))
{
	int ran = 0;

	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		uint8_t probe[SALSA_X4_LEN], n8[8] = {0}, k[32] = {0};

		if (!salsa_x4_impl(impls[i], probe, n8, 0, k)) {
			cr_log_warn("salsa: %s not available on this CPU/build, not tested",
				    impl_names[i]);
			continue;
		}
		check(impls[i], impl_names[i]);
		ran++;
	}
#ifdef __x86_64__
	cr_assert_geq(ran, 2, "SSE2 must be available on x86-64");
#endif
	return ran;
}

/* Salsa20 specification §9: k0 = 1..16, k1 = 201..216, n = 101..116 (nonce || LE64 counter). */
static void check_spec_example(enum salsa_impl impl, const char *name)
{
	/* clang-format off */
	static const uint8_t want[64] = {
		69, 37, 68, 39, 41, 15, 107, 193, 255, 139, 122, 6, 170, 233, 217, 98,
		89, 144, 182, 106, 21, 51, 200, 65, 239, 49, 222, 34, 215, 114, 40, 126,
		104, 197, 7, 225, 197, 153, 31, 2, 102, 78, 76, 176, 84, 245, 246, 184,
		177, 160, 133, 130, 6, 72, 149, 119, 192, 195, 132, 236, 234, 103, 246, 74,
	};
	/* clang-format on */
	uint8_t k[32], n8[8], out[SALSA_X4_LEN];
	uint64_t ic = 0;

	for (int i = 0; i < 16; i++) {
		k[i] = (uint8_t)(1 + i);
		k[16 + i] = (uint8_t)(201 + i);
	}
	for (int i = 0; i < 8; i++) {
		n8[i] = (uint8_t)(101 + i);
		ic |= (uint64_t)(109 + i) << (8 * i);
	}
	cr_assert(salsa_x4_impl(impl, out, n8, ic, k));
	cr_assert_arr_eq(out, want, 64, "%s: spec example block differs", name);
}

Test(salsa, spec_example)
{
	run_all(check_spec_example);
}

static void check_matches_libsodium(enum salsa_impl impl, const char *name)
{
	static const uint64_t counters[] = {
	    0,
	    1,
	    4,
	    1000,
	    0xfffffffcULL,
	    0xfffffffdULL,
	    0xffffffffULL,
	    0x1fffffffeULL,
	    0xfffffffffffffffeULL,
	    0xffffffffffffffffULL,
	};

	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		for (int t = 0; t < 20; t++) {
			uint8_t k[32], n8[8], want[SALSA_X4_LEN], got[SALSA_X4_LEN];

			rnd(k, sizeof(k));
			rnd(n8, sizeof(n8));
			cr_assert(salsa_x4_impl(SALSA_IMPL_SODIUM, want, n8, counters[c], k));
			cr_assert(salsa_x4_impl(impl, got, n8, counters[c], k));
			cr_assert_arr_eq(got, want, sizeof(want), "%s: counter %#llx trial %d",
					 name, (unsigned long long)counters[c], t);
		}
	}
}

Test(salsa, every_implementation_matches_libsodium)
{
	run_all(check_matches_libsodium);
}

Test(salsa, x4_is_the_best_implementation_and_matches)
{
	uint8_t k[32], n8[8], want[SALSA_X4_LEN], got[SALSA_X4_LEN];

	rnd(k, sizeof(k));
	rnd(n8, sizeof(n8));
	salsa_x4(got, n8, 77, k);
	cr_assert(salsa_x4_impl(SALSA_IMPL_SODIUM, want, n8, 77, k));
	cr_assert_arr_eq(got, want, sizeof(want));
}

/* The reference: keystream from block ic on, 256 bytes at a time from libsodium, XORed on. */
static void ref_xor_ic(uint8_t *m, size_t len, const uint8_t n8[8], uint64_t ic,
		       const uint8_t k[32])
{
	uint8_t ks[SALSA_X4_LEN];

	for (size_t off = 0; off < len; off += SALSA_X4_LEN, ic += 4) {
		size_t n = len - off < SALSA_X4_LEN ? len - off : SALSA_X4_LEN;

		cr_assert(salsa_x4_impl(SALSA_IMPL_SODIUM, ks, n8, ic, k));
		for (size_t i = 0; i < n; i++)
			m[off + i] ^= ks[i];
	}
}

Test(salsa, xor_ic_every_length)
{
	static const uint64_t counters[] = {0, 1, 4, 0xfffffffeULL};
	enum { MAX = 1100 };
	uint8_t *a = malloc(MAX), *b = malloc(MAX), *orig = malloc(MAX), k[32], n8[8];

	cr_assert(a && b && orig);
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		for (size_t len = 0; len <= MAX; len++) {
			rnd(k, sizeof(k));
			rnd(n8, sizeof(n8));
			rnd(orig, len);
			memcpy(a, orig, len);
			memcpy(b, orig, len);
			salsa_xor_ic(a, len, n8, counters[c], k);
			ref_xor_ic(b, len, n8, counters[c], k);
			cr_assert_arr_eq(a, b, len, "len %zu counter %#llx", len,
					 (unsigned long long)counters[c]);
			if (len >= 16) /* and it did something */
				cr_assert(memcmp(a, orig, len) != 0, "len %zu unchanged", len);
		}
	}
	free(a);
	free(b);
	free(orig);
}

Test(salsa, xor_ic_long_messages_and_lane_carries)
{
	static const uint64_t counters[] = {0, 3, 0xfffffffcULL, 0x1fffffff9ULL,
					    0xfffffffffffffffcULL};
	static const size_t lens[] = {511, 512, 1023, 1024, 1025, 1636, 3071, 65535, 65536 + 17};
	enum { MAX = 65536 + 17 };
	uint8_t *a = malloc(MAX), *b = malloc(MAX), k[32], n8[8];

	cr_assert(a && b);
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			rnd(k, sizeof(k));
			rnd(n8, sizeof(n8));
			rnd(a, lens[i]);
			memcpy(b, a, lens[i]);
			salsa_xor_ic(a, lens[i], n8, counters[c], k);
			ref_xor_ic(b, lens[i], n8, counters[c], k);
			cr_assert_arr_eq(a, b, lens[i], "len %zu counter %#llx", lens[i],
					 (unsigned long long)counters[c]);
		}
	}
	free(a);
	free(b);
}

Test(salsa, xor_bytes_every_alignment)
{
	uint8_t dst[80], src[80], want[80];

	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len + off <= 72; len++) {
			rnd(dst, sizeof(dst));
			rnd(src, sizeof(src));
			memcpy(want, dst, sizeof(dst));
			for (size_t i = 0; i < len; i++)
				want[off + i] ^= src[off + i];
			salsa_xor_bytes(dst + off, src + off, len);
			cr_assert_arr_eq(dst, want, sizeof(dst), "off %zu len %zu", off, len);
		}
	}
}
