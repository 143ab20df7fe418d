/*
 * box: NaCl crypto_box after precomputation, as ironwood's encrypted layer uses it (spec
 * yggdrasil-sessions-core-admin.md §1, §2.3, §2.4): X25519 session keypairs, precomputed shared
 * keys (crypto_box_beforenm), in-place seal/open with the nonce 16 zero bytes || BE64(n), and the
 * signed-then-sealed 193-byte INIT/ACK.
 *
 * Secrets (STYLE.md §15): struct box_keypair and struct box_shared are fixed-size values so a
 * session can embed them, but their secret_ members are private to box.c: others may copy or
 * assign the structs whole, never read, write or log the member. Whoever holds one wipes it
 * (box_keypair_wipe, box_shared_wipe, or mem_wipe over the enclosing struct) before the memory
 * is freed or reused.
 *
 * All pointer arguments are borrowed for the duration of the call only.
 */
#ifndef YGG64_CRYPTO_BOX_H
#define YGG64_CRYPTO_BOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keypair;

enum {
	BOX_PUB_LEN = 32,
	BOX_TAG_LEN = 16,   /* Poly1305 tag, first in the sealed output ("easy" layout) */
	BOX_INIT_LEN = 193, /* §2.3: type || E || tag || sig || current || next || 2 x BE64 */
	BOX_INIT_SIGNED_LEN = 112, /* §2.3: M = E || current || next || BE64(keySeq) || BE64(seq) */
};

/* An X25519 keypair. pub is public; secret_ is private to box.c. */
struct box_keypair {
	uint8_t pub[BOX_PUB_LEN];
	uint8_t secret_[32];
};

/* A crypto_box_beforenm key: HSalsa20(X25519(secret, pub)). Private to box.c. */
struct box_shared {
	uint8_t secret_[32]; /* crypto_box_beforenm's key */
	uint8_t sub_[32];    /* HSalsa20(secret_, 16 zero bytes): the XSalsa20 subkey of every nonce */
};

/* The signed fields of an INIT/ACK (§2.3). */
struct box_init {
	uint8_t current[BOX_PUB_LEN]; /* sender's current ("send") session key */
	uint8_t next[BOX_PUB_LEN];    /* sender's next session key */
	uint64_t key_seq;
	uint64_t seq; /* Unix seconds when built (§9 pitfall 3) */
};

/* A fresh random keypair (crypto_box_keypair; Go's box.GenerateKey). */
void box_keypair_generate(struct box_keypair *kp);
/* The keypair of a given X25519 secret (tests: fixed ephemeral keys). */
void box_keypair_from_secret(struct box_keypair *kp, const uint8_t secret[static 32]);
/*
 * The node's own X25519 keypair, converted from its Ed25519 identity (§1: the public half is
 * keys_x25519_public of the ed pub). Returns false (kp zeroed) if libsodium refuses the key.
 */
bool box_keypair_from_node(struct box_keypair *kp, const struct keypair *node);
void box_keypair_wipe(struct box_keypair *kp);

/*
 * k = crypto_box_beforenm(pub, mine->secret). Returns false when the DH result is all zero (pub
 * of small order, only from a malicious peer, §1 notes); k is then filled with random bytes, so
 * it opens nothing and what it seals is unreadable, and the caller may keep using it.
 */
bool box_precompute(struct box_shared *k, const uint8_t pub[static 32],
		    const struct box_keypair *mine);
void box_shared_wipe(struct box_shared *k);

/*
 * In place, NaCl "easy" layout (§2.4): buf holds BOX_TAG_LEN bytes of room followed by the len
 * plaintext bytes; afterwards buf holds tag || ciphertext. The nonce is 16 zero bytes ||
 * BE64(nonce); nonce 0 is the all-zero nonce of INIT/ACK.
 */
void box_seal(const struct box_shared *k, uint64_t nonce, uint8_t *buf, size_t len);
/*
 * In place: buf holds tag || ciphertext (BOX_TAG_LEN + len bytes). On success the plaintext is
 * at buf + BOX_TAG_LEN and true is returned; on failure buf is unspecified.
 */
bool box_open(const struct box_shared *k, uint64_t nonce, uint8_t *buf, size_t len);

/*
 * Builds a 193-byte INIT (type 1) or ACK (type 2) for the node whose Ed25519 key is to (§2.3):
 * signs E || current || next || BE64(keySeq) || BE64(seq) with node, seals it to to's X25519
 * key under the ephemeral E. eph NULL means a fresh ephemeral keypair (always, on the wire);
 * tests pass a fixed one. Returns false when to has no X25519 form (out zeroed).
 */
bool box_init_seal(const struct keypair *node, const uint8_t to[static 32], uint8_t type,
		   const struct box_init *in, const struct box_keypair *eph,
		   uint8_t out[static BOX_INIT_LEN]);
/*
 * Opens a 193-byte INIT/ACK sent to self (box_keypair_from_node) and verifies its signature
 * against from, the source ed pub of the ironwood header. The type byte is not checked (§2.2).
 * Returns false on any failure (out zeroed).
 */
bool box_init_open(const struct box_keypair *self, const uint8_t from[static 32],
		   const uint8_t in[static BOX_INIT_LEN], struct box_init *out);

#endif
