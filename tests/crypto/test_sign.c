/*
 * Tests for crypto/sign: RFC 8032 §7.1 Ed25519 TEST 1-3 (byte-exact deterministic signatures),
 * then rejection of every tampered byte, wrong keys, changed messages and a small-order key.
 */
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

TestSuite(sign, .init = setup);

/* RFC 8032 §7.1: secret key (seed), public key, message, signature. */
static const struct rfc_vec {
	const char *seed, *pub, *msg, *sig;
} rfc8032[] = {
	{ /* TEST 1 */
	  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ /* TEST 2 */
	  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ /* TEST 3 */
	  "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

struct loaded {
	struct keypair *kp;
	uint8_t pub[32], msg[8], sig[64];
	size_t mlen;
};

static void load(const struct rfc_vec *v, struct loaded *l)
{
	char hex[129];
	long n;

	/* PrivateKey layout: seed || pub (spec §1). */
	snprintf(hex, sizeof(hex), "%s%s", v->seed, v->pub);
	l->kp = keys_from_hex(hex, NULL);
	cr_assert_not_null(l->kp);
	cr_assert_eq(th_unhex(v->pub, l->pub, 32), 32);
	n = th_unhex(v->msg, l->msg, sizeof(l->msg));
	cr_assert_geq(n, 0);
	l->mlen = (size_t)n;
	cr_assert_eq(th_unhex(v->sig, l->sig, 64), 64);
}

Test(sign, rfc8032_vectors)
{
	for (size_t i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		struct loaded l;
		uint8_t pub[32], sig[64];

		load(&rfc8032[i], &l);
		keys_public(l.kp, pub);
		cr_assert_eq(memcmp(pub, l.pub, 32), 0, "TEST %zu pub", i + 1);
		memset(sig, 0, sizeof(sig));
		sign_detached(l.kp, l.mlen ? l.msg : NULL, l.mlen, sig);
		cr_assert_eq(memcmp(sig, l.sig, 64), 0, "TEST %zu signature", i + 1);
		cr_assert(sign_verify(l.pub, l.msg, l.mlen, l.sig), "TEST %zu verify", i + 1);
		keys_free(l.kp);
	}
}

/* An empty message may be passed as NULL or as a non-NULL pointer with length 0. */
Test(sign, empty_message_null_or_not)
{
	struct loaded l;
	uint8_t sig[64], dummy = 0xaa;

	load(&rfc8032[0], &l);
	sign_detached(l.kp, &dummy, 0, sig);
	cr_assert_eq(memcmp(sig, l.sig, 64), 0);
	cr_assert(sign_verify(l.pub, NULL, 0, l.sig));
	cr_assert(sign_verify(l.pub, &dummy, 0, l.sig));
	keys_free(l.kp);
}

Test(sign, tampered_signature_rejected)
{
	for (size_t i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		struct loaded l;

		load(&rfc8032[i], &l);
		for (int b = 0; b < 64; b++) {
			uint8_t bad[64];

			memcpy(bad, l.sig, 64);
			bad[b] ^= 0x01;
			cr_assert_not(sign_verify(l.pub, l.msg, l.mlen, bad), "TEST %zu byte %d",
				      i + 1, b);
		}
		keys_free(l.kp);
	}
}

Test(sign, tampered_message_rejected)
{
	struct loaded l;
	uint8_t longer[2] = {0x72, 0x00};

	load(&rfc8032[1], &l); /* message 0x72 */
	l.msg[0] ^= 0x01;
	cr_assert_not(sign_verify(l.pub, l.msg, l.mlen, l.sig));
	/* An appended byte or a truncated message must fail too. */
	cr_assert_not(sign_verify(l.pub, longer, 2, l.sig));
	cr_assert_not(sign_verify(l.pub, NULL, 0, l.sig));
	keys_free(l.kp);
}

Test(sign, wrong_public_key_rejected)
{
	struct loaded a, b;
	uint8_t zero[32] = {0};

	load(&rfc8032[0], &a);
	load(&rfc8032[1], &b);
	cr_assert_not(sign_verify(b.pub, a.msg, a.mlen, a.sig));
	cr_assert_not(sign_verify(a.pub, b.msg, b.mlen, b.sig));
	/* A small-order key (spec §1: libsodium rejects what Go would accept). */
	cr_assert_not(sign_verify(zero, a.msg, a.mlen, a.sig));
	keys_free(a.kp);
	keys_free(b.kp);
}

Test(sign, generated_keys)
{
	struct keypair *k1 = keys_generate(), *k2 = keys_generate();
	uint8_t p1[32], p2[32], msg[1000], s1[64], s1again[64];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	keys_public(k1, p1);
	keys_public(k2, p2);
	cr_assert_neq(memcmp(p1, p2, 32), 0);
	sign_detached(k1, msg, sizeof(msg), s1);
	sign_detached(k1, msg, sizeof(msg), s1again);
	cr_assert_eq(memcmp(s1, s1again, 64), 0, "Ed25519 signatures are deterministic");
	cr_assert(sign_verify(p1, msg, sizeof(msg), s1));
	cr_assert_not(sign_verify(p2, msg, sizeof(msg), s1));
	msg[999] ^= 0x80;
	cr_assert_not(sign_verify(p1, msg, sizeof(msg), s1));
	keys_free(k1);
	keys_free(k2);
}
