/*
 * Tests for crypto/poly:
 * - the Poly1305 example of RFC 8439 §2.5.2, in every implementation this CPU has;
 * - every implementation gives libsodium's tag for every length 0..1100 with random keys and
 *   messages, and for long messages around the eight-lane seams up to 64 KiB + 17;
 * - the edge-case vectors of RFC 8439 Appendix A.3 (#5 to #11: a final h between p and 2^130,
 *   carries across every limb), in every implementation;
 * - worst cases for the carries: r with every bit clamping allows, s all ones, messages of all
 *   ones and all zeros;
 * - poly_verify accepts the tag and refuses every single-bit change of tag or message.
 * The reference is libsodium's crypto_onetimeauth_poly1305 (POLY_IMPL_SODIUM); the RFC
 * example is independent of it.
 */
#include "crypto/poly.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "support/hex.h"
#include "support/rng.h"

static const enum poly_impl impls[] = {POLY_IMPL_SODIUM, POLY_IMPL_SCALAR, POLY_IMPL_AVX512};
static const char *const impl_names[] = {"libsodium", "scalar", "AVX-512"};

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static void rnd(uint8_t *p, size_t n)
{
	th_rnd_bytes(&rng_state, p, n);
}

/* Runs check on each implementation this CPU and build have; how many ran. */
static int run_all(void (*check)(enum poly_impl, const char *))
{
	int ran = 0;

	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		uint8_t tag[POLY_TAG_LEN], k[POLY_KEY_LEN] = {0};

		if (!poly_mac_impl(impls[i], tag, NULL, 0, k)) {
			cr_log_warn("poly: %s not available on this CPU/build, not tested",
				    impl_names[i]);
			continue;
		}
		check(impls[i], impl_names[i]);
		ran++;
	}
#ifdef __SIZEOF_INT128__
	cr_assert_geq(ran, 2, "libsodium and the scalar code run wherever there is __int128");
#endif
	return ran;
}

static void check_rfc8439(enum poly_impl impl, const char *name)
{
	uint8_t key[32], want[16], tag[16];
	static const char msg[] = "Cryptographic Forum Research Group";

	cr_assert_eq(th_unhex("85d6be7857556d337f4452fe42d506a8"
			      "0103808afb0db2fd4abff6af4149f51b",
			      key, sizeof(key)),
		     32);
	cr_assert_eq(th_unhex("a8061dc1305136c6c22b8baf0c0127a9", want, sizeof(want)), 16);
	cr_assert(poly_mac_impl(impl, tag, (const uint8_t *)msg, strlen(msg), key));
	cr_assert_arr_eq(tag, want, 16, "%s: RFC 8439 §2.5.2 tag differs", name);
}

Test(poly, rfc8439_example)
{
	run_all(check_rfc8439);
}

/* RFC 8439 Appendix A.3, test vectors #5 to #11: key (r || s), message, tag. */
static const struct {
	const char *key, *msg, *tag;
} rfc_edges[] = {
    {"02000000000000000000000000000000"
     "00000000000000000000000000000000",
     "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000"},
    {"02000000000000000000000000000000"
     "ffffffffffffffffffffffffffffffff",
     "02000000000000000000000000000000", "03000000000000000000000000000000"},
    {"01000000000000000000000000000000"
     "00000000000000000000000000000000",
     "ffffffffffffffffffffffffffffffff"
     "f0ffffffffffffffffffffffffffffff"
     "11000000000000000000000000000000",
     "05000000000000000000000000000000"},
    {"01000000000000000000000000000000"
     "00000000000000000000000000000000",
     "ffffffffffffffffffffffffffffffff"
     "fbfefefefefefefefefefefefefefefe"
     "01010101010101010101010101010101",
     "00000000000000000000000000000000"},
    {"02000000000000000000000000000000"
     "00000000000000000000000000000000",
     "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff"},
    {"01000000000000000400000000000000"
     "00000000000000000000000000000000",
     "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000"
     "000000000000000001000000000000000000000000000000",
     "14000000000000005500000000000000"},
    {"01000000000000000400000000000000"
     "00000000000000000000000000000000",
     "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000"
     "0000000000000000",
     "13000000000000000000000000000000"},
};

static void check_rfc_edges(enum poly_impl impl, const char *name)
{
	for (size_t i = 0; i < sizeof(rfc_edges) / sizeof(rfc_edges[0]); i++) {
		uint8_t key[32], msg[64], want[16], tag[16];
		long n;

		cr_assert_eq(th_unhex(rfc_edges[i].key, key, sizeof(key)), 32);
		cr_assert_eq(th_unhex(rfc_edges[i].tag, want, sizeof(want)), 16);
		n = th_unhex(rfc_edges[i].msg, msg, sizeof(msg));
		cr_assert_gt(n, 0);
		cr_assert(poly_mac_impl(impl, tag, msg, (size_t)n, key));
		cr_assert_arr_eq(tag, want, 16, "%s: vector #%zu differs", name, i + 5);
	}
}

Test(poly, rfc8439_edge_vectors)
{
	run_all(check_rfc_edges);
}

static void check_every_length(enum poly_impl impl, const char *name)
{
	enum { MAX = 1100 };
	uint8_t *m = malloc(MAX), k[32], want[16], got[16];

	cr_assert(m);
	for (size_t len = 0; len <= MAX; len++) {
		rnd(k, sizeof(k));
		rnd(m, len);
		cr_assert(poly_mac_impl(POLY_IMPL_SODIUM, want, m, len, k));
		cr_assert(poly_mac_impl(impl, got, m, len, k));
		cr_assert_arr_eq(got, want, 16, "%s: len %zu", name, len);
	}
	free(m);
}

Test(poly, every_length_matches_libsodium)
{
	run_all(check_every_length);
}

static void check_long(enum poly_impl impl, const char *name)
{
	static const size_t lens[] = {
	    255, 256, 257, 383, 384, 1023, 1024, 1040, 4096 + 15, 65535, 65536, 65536 + 17,
	};
	enum { MAX = 65536 + 17 };
	uint8_t *m = malloc(MAX), k[32], want[16], got[16];

	cr_assert(m);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int t = 0; t < 4; t++) {
			rnd(k, sizeof(k));
			rnd(m, lens[i]);
			cr_assert(poly_mac_impl(POLY_IMPL_SODIUM, want, m, lens[i], k));
			cr_assert(poly_mac_impl(impl, got, m, lens[i], k));
			cr_assert_arr_eq(got, want, 16, "%s: len %zu trial %d", name, lens[i], t);
		}
	}
	free(m);
}

Test(poly, long_messages_match_libsodium)
{
	run_all(check_long);
}

/* Keys and messages that push every limb to its largest value. */
static void check_extremes(enum poly_impl impl, const char *name)
{
	static const size_t lens[] = {16, 17, 64, 256, 1024, 4096 + 8, 65536};
	enum { MAX = 65536 };
	uint8_t *m = malloc(MAX), k[32], want[16], got[16];

	cr_assert(m);
	for (int kk = 0; kk < 3; kk++) {
		memset(k, 0xff, sizeof(k)); /* r: every bit clamping leaves; s: all ones */
		if (kk == 1)
			memset(k + 16, 0, 16);
		if (kk == 2)
			memset(k, 0, 16); /* r = 0: the tag is s */
		for (int fill = 0; fill < 2; fill++) {
			memset(m, fill ? 0xff : 0, MAX);
			for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
				cr_assert(poly_mac_impl(POLY_IMPL_SODIUM, want, m, lens[i], k));
				cr_assert(poly_mac_impl(impl, got, m, lens[i], k));
				cr_assert_arr_eq(got, want, 16, "%s: key %d fill %d len %zu", name,
						 kk, fill, lens[i]);
			}
		}
	}
	free(m);
}

Test(poly, extreme_keys_and_messages)
{
	run_all(check_extremes);
}

Test(poly, verify_refuses_any_flipped_bit)
{
	static const size_t lens[] = {0, 40, 300, 2000};
	uint8_t m[2000], k[32], tag[16];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		rnd(k, sizeof(k));
		rnd(m, len);
		poly_mac(tag, m, len, k);
		cr_assert(poly_verify(tag, m, len, k), "len %zu", len);
		for (size_t b = 0; b < 8 * sizeof(tag); b++) {
			tag[b / 8] ^= (uint8_t)(1u << (b % 8));
			cr_assert_not(poly_verify(tag, m, len, k), "len %zu tag bit %zu", len, b);
			tag[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		for (size_t b = 0; b < 8 * len; b += 7) {
			m[b / 8] ^= (uint8_t)(1u << (b % 8));
			cr_assert_not(poly_verify(tag, m, len, k), "len %zu message bit %zu", len,
				      b);
			m[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
	}
}
