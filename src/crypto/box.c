/*
 * box: libsodium's crypto_box after precomputation for ironwood sessions (spec
 * yggdrasil-sessions-core-admin.md §1, §2.3, §2.4; see box.h).
 *
 * Owns nothing: no state, no allocation. Invariants:
 * - The secret_ bytes of struct box_keypair / struct box_shared are read and written only here.
 * - Every local that held secret bytes (ephemeral secrets, the node's X25519 scalar, one-shot
 *   shared keys, INIT plaintexts) is wiped with sodium_memzero before returning, on every path.
 * - Sealing and opening work in place. The tag goes in the 16 bytes before the message, which
 *   is exactly the "easy" layout Go's box.Seal and crypto_box_easy_afternm produce (§1).
 * - Session traffic (box_seal, box_open) is XSalsa20-Poly1305 as crypto_box_*_afternm computes
 *   it, spelt out from libsodium's Salsa20 and Poly1305: every nonce starts with 16 zero bytes
 *   (§2.4), so XSalsa20's first step, HSalsa20 over those 16 bytes, gives the same subkey for
 *   every packet of a shared key. box_precompute computes it once (sub_); each packet then
 *   costs Salsa20 (salsa.c: four blocks at once for short packets, sixteen for long ones with
 *   AVX-512) and Poly1305 (poly.c: eight blocks at once for long packets with AVX-512) only.
 *   Same bytes as crypto_box_detached_afternm (test_box).
 */
#define YGG64_CRYPTO_INTERNAL
#include "crypto/box.h"

#include "crypto/keys.h"
#include "crypto/poly.h"
#include "crypto/salsa.h"
#include "crypto/sign.h"

#include <string.h>

#include <sodium.h>

_Static_assert(crypto_box_PUBLICKEYBYTES == BOX_PUB_LEN, "x25519 pub");
_Static_assert(crypto_box_SECRETKEYBYTES == sizeof(((struct box_keypair *)0)->secret_),
	       "x25519 secret");
_Static_assert(crypto_box_BEFORENMBYTES == sizeof(((struct box_shared *)0)->secret_),
	       "beforenm key");
_Static_assert(crypto_box_MACBYTES == BOX_TAG_LEN, "poly1305 tag");
_Static_assert((int)POLY_TAG_LEN == (int)BOX_TAG_LEN, "poly.c tag");
_Static_assert(crypto_box_NONCEBYTES == 24, "xsalsa20 nonce");

/* §2.3 layout: type(1) || E(32) || tag(16) || P(144), P = sig(64) || current || next || 2 x BE64 */
enum {
	OFF_E = 1,
	OFF_BOX = OFF_E + BOX_PUB_LEN,
	PLAIN_LEN = SIGN_LEN + 2 * BOX_PUB_LEN + 8 + 8,
	P_CURRENT = SIGN_LEN,
	P_NEXT = P_CURRENT + BOX_PUB_LEN,
	P_KEYSEQ = P_NEXT + BOX_PUB_LEN,
	P_SEQ = P_KEYSEQ + 8,
};
_Static_assert(OFF_BOX + BOX_TAG_LEN + PLAIN_LEN == BOX_INIT_LEN, "INIT is 193 bytes");
_Static_assert(BOX_PUB_LEN + PLAIN_LEN - SIGN_LEN == BOX_INIT_SIGNED_LEN, "M is 112 bytes");

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void box_keypair_generate(struct box_keypair *kp)
{
	crypto_box_keypair(kp->pub, kp->secret_);
}

void box_keypair_from_secret(struct box_keypair *kp, const uint8_t secret[static 32])
{
	memcpy(kp->secret_, secret, sizeof(kp->secret_));
	crypto_scalarmult_curve25519_base(kp->pub, kp->secret_);
}

bool box_keypair_from_node(struct box_keypair *kp, const struct keypair *node)
{
	uint8_t ed[KEYS_PUB_LEN];

	keys_public(node, ed);
	if (!keys_x25519_public(ed, kp->pub) || !keys_x25519_secret(node, kp->secret_)) {
		sodium_memzero(kp, sizeof(*kp));
		return false;
	}
	return true;
}

void box_keypair_wipe(struct box_keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

bool box_precompute(struct box_shared *k, const uint8_t pub[static 32],
		    const struct box_keypair *mine)
{
	static const uint8_t zero16[crypto_core_hsalsa20_INPUTBYTES];
	bool ok = crypto_box_beforenm(k->secret_, pub, mine->secret_) == 0;

	if (!ok) /* Go would derive a key from the all-zero DH result; we make the key useless. */
		randombytes_buf(k->secret_, sizeof(k->secret_));
	crypto_core_hsalsa20(k->sub_, zero16, k->secret_, NULL);
	return ok;
}

void box_shared_wipe(struct box_shared *k)
{
	sodium_memzero(k, sizeof(*k));
}

/*
 * XSalsa20 under the cached subkey is Salsa20 with the nonce's last 8 bytes, n8. Keystream blocks
 * 0-3 come from one salsa_x4 call: bytes [0, 32) are the Poly1305 key, [32, 256) XOR the first
 * (at most 224) bytes of the message. A longer message goes on from block 4.
 */
enum { X4_MSG = SALSA_X4_LEN - 32 };

static void xor_msg(uint8_t *m, size_t len, const uint8_t ks[static SALSA_X4_LEN],
		    const uint8_t n8[8], const uint8_t sub[32])
{
	size_t m0 = len < X4_MSG ? len : X4_MSG;

	salsa_xor_bytes(m, ks + 32, m0);
	if (len > m0)
		salsa_xor_ic(m + m0, len - m0, n8, SALSA_X4_LEN / SALSA_BLOCK, sub);
}

/* §2.4: the nonce is 16 zero bytes || BE64(nonce); 0 is the all-zero nonce of INIT/ACK (§2.3). */
void box_seal(const struct box_shared *k, uint64_t nonce, uint8_t *buf, size_t len)
{
	uint8_t n8[8], ks[SALSA_X4_LEN], *m = buf + BOX_TAG_LEN;

	put_be64(n8, nonce);
	salsa_x4(ks, n8, 0, k->sub_);
	xor_msg(m, len, ks, n8, k->sub_);
	poly_mac(buf, m, len, ks);
	sodium_memzero(ks, sizeof(ks));
}

bool box_open(const struct box_shared *k, uint64_t nonce, uint8_t *buf, size_t len)
{
	uint8_t n8[8], ks[SALSA_X4_LEN], *c = buf + BOX_TAG_LEN;
	bool ok;

	put_be64(n8, nonce);
	salsa_x4(ks, n8, 0, k->sub_);
	ok = poly_verify(buf, c, len, ks);
	if (ok)
		xor_msg(c, len, ks, n8, k->sub_);
	sodium_memzero(ks, sizeof(ks));
	return ok;
}

bool box_init_seal(const struct keypair *node, const uint8_t to[static 32], uint8_t type,
		   const struct box_init *in, const struct box_keypair *eph,
		   uint8_t out[static BOX_INIT_LEN])
{
	struct box_keypair fresh;
	struct box_shared k;
	uint8_t to_x[BOX_PUB_LEN], m[BOX_INIT_SIGNED_LEN];
	uint8_t *plain = out + OFF_BOX + BOX_TAG_LEN;
	bool ok = false;

	if (!keys_x25519_public(to, to_x))
		goto out;
	if (!eph) {
		box_keypair_generate(&fresh);
		eph = &fresh;
	}
	/* M = E || current || next || BE64(keySeq) || BE64(seq), signed by the node key (§2.3). */
	memcpy(m, eph->pub, BOX_PUB_LEN);
	memcpy(m + BOX_PUB_LEN, in->current, BOX_PUB_LEN);
	memcpy(m + 2 * BOX_PUB_LEN, in->next, BOX_PUB_LEN);
	put_be64(m + 3 * BOX_PUB_LEN, in->key_seq);
	put_be64(m + 3 * BOX_PUB_LEN + 8, in->seq);
	/* P = sig || M[32..112), sealed in place under the zero nonce; E is fresh every time. */
	out[0] = type;
	memcpy(out + OFF_E, eph->pub, BOX_PUB_LEN);
	sign_detached(node, m, sizeof(m), plain);
	memcpy(plain + P_CURRENT, m + BOX_PUB_LEN, sizeof(m) - BOX_PUB_LEN);
	if (!box_precompute(&k, to_x, eph))
		goto out;
	box_seal(&k, 0, out + OFF_BOX, PLAIN_LEN);
	ok = true;
out:
	if (!ok)
		memset(out, 0, BOX_INIT_LEN);
	sodium_memzero(&fresh, sizeof(fresh));
	sodium_memzero(&k, sizeof(k));
	return ok;
}

bool box_init_open(const struct box_keypair *self, const uint8_t from[static 32],
		   const uint8_t in[static BOX_INIT_LEN], struct box_init *out)
{
	struct box_shared k;
	uint8_t buf[BOX_TAG_LEN + PLAIN_LEN], m[BOX_INIT_SIGNED_LEN];
	const uint8_t *plain = buf + BOX_TAG_LEN;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	/* k = beforenm(E, my scalar); a small-order E fails here (§1 notes). */
	if (!box_precompute(&k, in + OFF_E, self))
		goto out;
	memcpy(buf, in + OFF_BOX, sizeof(buf));
	if (!box_open(&k, 0, buf, PLAIN_LEN))
		goto out;
	/* The signature covers the ephemeral key first (§9 pitfall 4). */
	memcpy(m, in + OFF_E, BOX_PUB_LEN);
	memcpy(m + BOX_PUB_LEN, plain + P_CURRENT, sizeof(m) - BOX_PUB_LEN);
	if (!sign_verify(from, m, sizeof(m), plain))
		goto out;
	memcpy(out->current, plain + P_CURRENT, BOX_PUB_LEN);
	memcpy(out->next, plain + P_NEXT, BOX_PUB_LEN);
	out->key_seq = get_be64(plain + P_KEYSEQ);
	out->seq = get_be64(plain + P_SEQ);
	ok = true;
out:
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(buf, sizeof(buf));
	return ok;
}
