/*
 * Tests for crypto/hash: BLAKE2b-512 against RFC 7693 Appendix A and the reference keyed KAT
 * (blake2b-kat.txt of the BLAKE2 reference code), then the meta handshake digests and signatures
 * of spec yggdrasil-link-routing.md §11, captured from real yggdrasil 0.5.12 daemons (keys A and
 * B, no password and password "hunter2"), and the password length limit of §2.1.
 */
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(hash, .init = setup);

static void assert_hex(const uint8_t *got, size_t n, const char *want_hex)
{
	uint8_t want[128];
	char hg[2 * 128 + 1];

	cr_assert_eq(th_unhex(want_hex, want, sizeof(want)), (long)n, "bad vector %s", want_hex);
	th_hex(got, n, hg);
	cr_assert_eq(memcmp(got, want, n), 0, "got %s, want %s", hg, want_hex);
}

/* Spec §11 test keys: seed (00..1f for A, 20..3f for B) and public key. */
static const char *const pub_a = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char *const pub_b = "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";

static struct keypair *test_key(uint8_t first, const char *pub_hex)
{
	uint8_t seed[32];
	char hex[129];
	struct keypair *kp;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(first + i);
	th_hex(seed, 32, hex);
	memcpy(hex + 64, pub_hex, 65);
	kp = keys_from_hex(hex, NULL);
	cr_assert_not_null(kp);
	return kp;
}

Test(hash, rfc7693_abc)
{
	uint8_t out[64];

	/* RFC 7693 Appendix A: BLAKE2b-512("abc"). */
	hash_blake2b512(NULL, 0, (const uint8_t *)"abc", 3, out);
	assert_hex(out, 64,
		   "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
		   "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

Test(hash, empty_message_null_pointer)
{
	uint8_t a[64], b[64];

	hash_blake2b512(NULL, 0, NULL, 0, a);
	assert_hex(a, 64,
		   "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
		   "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce");
	/* An empty key given as a non-NULL pointer is still unkeyed BLAKE2b. */
	hash_blake2b512((const uint8_t *)"", 0, (const uint8_t *)"", 0, b);
	cr_assert_eq(memcmp(a, b, 64), 0);
}

Test(hash, keyed_kat)
{
	uint8_t key[64], msg[255], out[64];

	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 255; i++)
		msg[i] = (uint8_t)i;
	/* blake2b-kat.txt: key 00..3f, inputs of length 0, 1 and 255 (00 01 02 ...). */
	hash_blake2b512(key, 64, msg, 0, out);
	assert_hex(out, 64,
		   "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
		   "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568");
	hash_blake2b512(key, 64, msg, 1, out);
	assert_hex(out, 64,
		   "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4"
		   "187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd");
	hash_blake2b512(key, 64, msg, 255, out);
	assert_hex(out, 64,
		   "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e9248"
		   "4be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461");
}

Test(hash, key_changes_digest)
{
	uint8_t k[64] = {0}, d0[64], d1[64], d2[64];

	/* A 1-byte zero key is a key, not "no key" (BLAKE2b puts keylen in its parameters). */
	hash_blake2b512(NULL, 0, (const uint8_t *)"m", 1, d0);
	hash_blake2b512(k, 1, (const uint8_t *)"m", 1, d1);
	hash_blake2b512(k, 2, (const uint8_t *)"m", 1, d2);
	cr_assert_neq(memcmp(d0, d1, 64), 0);
	cr_assert_neq(memcmp(d1, d2, 64), 0);
}

/* Spec §11: BLAKE2b-512(msg = key, no key) for B and A (A's is also its multicast beacon hash). */
Test(hash, meta_digest_no_password)
{
	uint8_t key[32], out[64];

	cr_assert_eq(th_unhex(pub_b, key, 32), 32);
	cr_assert(hash_meta_digest(NULL, key, out));
	assert_hex(out, 64,
		   "a16edba2cc455e88bce07cccfcb30e3fc201616d87cb3b5aeefcc981dbdfbd51"
		   "83b0346273956fe839d10aaf2ba0cb05b443c7e137bf57c49090268d307590f5");
	cr_assert(hash_meta_digest("", key, out));
	assert_hex(out, 64,
		   "a16edba2cc455e88bce07cccfcb30e3fc201616d87cb3b5aeefcc981dbdfbd51"
		   "83b0346273956fe839d10aaf2ba0cb05b443c7e137bf57c49090268d307590f5");
	cr_assert_eq(th_unhex(pub_a, key, 32), 32);
	cr_assert(hash_meta_digest(NULL, key, out));
	assert_hex(out, 64,
		   "8c1c1748ad451a4f3d0b0e0467dfa3e0749c43b7e68f708f42540cca6e85e579"
		   "d5a3ae033611dfe1f41327d9593dd44c80946a61c4a9cf2e810e806c7d60d6ca");
}

Test(hash, meta_digest_password)
{
	uint8_t key[32], out[64];

	cr_assert_eq(th_unhex(pub_b, key, 32), 32);
	cr_assert(hash_meta_digest("hunter2", key, out));
	/* Spec §11 quotes f3dc1d45…589110; the middle is from the run2 capture's verification. */
	assert_hex(out, 64,
		   "f3dc1d4551e4ea707e6aeaaf5fe936469ead78508f79a6651342aa2a2aa151ba"
		   "b9512d1c82156e6ff47897b2b096c153e81d16bf56c8a1d0a395e7a934589110");
}

/* The signatures of the captured meta messages: Sign(sk, digest), §2.4. */
Test(hash, meta_signatures_match_capture)
{
	struct keypair *a = test_key(0x00, pub_a), *b = test_key(0x20, pub_b);
	uint8_t ka[32], kb[32], d[64], sig[64];

	keys_public(a, ka);
	keys_public(b, kb);
	cr_assert(hash_meta_digest(NULL, kb, d));
	sign_detached(b, d, 64, sig);
	assert_hex(sig, 64,
		   "ebccd3e77d07fb4ed9834cd79e17cbb4eaab98c45eb5ed516359ddd58a890d52"
		   "0e332299e378eca19d3b83c2116d6a31df6b96d6ddc87e7c329de6a1f6353f0d");
	cr_assert(sign_verify(kb, d, 64, sig));
	cr_assert(hash_meta_digest(NULL, ka, d));
	sign_detached(a, d, 64, sig);
	assert_hex(sig, 64,
		   "97e51ac844fbee5f02eb7d7b55e5cd3eeb6cd7bdaa7c3ba2e90604e355f32bd2"
		   "0d3fd62f374e5a203d99d60f26650396b3875e4d476bd2f0d3230f07e5445605");
	cr_assert(hash_meta_digest("hunter2", kb, d));
	sign_detached(b, d, 64, sig);
	assert_hex(sig, 64,
		   "dcc3ebcee70fbfa99e9726b220ce78c7c42001e43276ec94024abc21b12af91d"
		   "3856814dddfb5ee30a11cbe2c52f7515d2b46c1f724b452449b3bcd50ed19906");
	/* A wrong password: the signature does not cover it ("password does not match"). */
	cr_assert(hash_meta_digest("hunter3", kb, d));
	cr_assert_not(sign_verify(kb, d, 64, sig));
	keys_free(a);
	keys_free(b);
}

Test(hash, password_length_limit)
{
	char pw[66];
	uint8_t key[32] = {1}, out[64], ref[64];

	memset(pw, 'x', 64);
	pw[64] = '\0';
	cr_assert(hash_meta_digest(pw, key, out));
	hash_blake2b512((const uint8_t *)pw, 64, key, 32, ref);
	cr_assert_eq(memcmp(out, ref, 64), 0);
	/* 65 bytes: refused, output zeroed. */
	pw[64] = 'x';
	pw[65] = '\0';
	memset(out, 0xaa, sizeof(out));
	cr_assert_not(hash_meta_digest(pw, key, out));
	for (int i = 0; i < 64; i++)
		cr_assert_eq(out[i], 0);
}
