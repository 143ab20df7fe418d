/*
 * hash: BLAKE2b-512 (RFC 7693), keyed or not, over libsodium's crypto_generichash. Yggdrasil uses
 * it for the link handshake and the multicast beacon, where the optional password is the
 * BLAKE2b key (spec yggdrasil-link-routing.md §1, §2.4, §2.6).
 *
 * All pointer arguments are borrowed for the duration of the call only. A message or key pointer
 * may be NULL when its length is 0.
 */
#ifndef YGG64_CRYPTO_HASH_H
#define YGG64_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HASH_BLAKE2B_LEN = 64,	   /* BLAKE2b-512 digest */
	HASH_BLAKE2B_KEY_MAX = 64, /* longest BLAKE2b key, hence longest link password */
};

/*
 * out = BLAKE2b-512(key = key[0..keylen), msg[0..n)). keylen 0 is plain unkeyed BLAKE2b-512 (as
 * Go's blake2b.New512(nil)). keylen must be <= HASH_BLAKE2B_KEY_MAX (asserted).
 */
void hash_blake2b512(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n,
		     uint8_t out[static 64]);

/*
 * The digest a meta handshake signs (§2.4) and a multicast beacon carries (§2.6):
 * BLAKE2b-512(key = password bytes, message = the node's 32-byte public key). password is a
 * NUL-terminated string; NULL or "" means no password. Returns false (out zeroed) when the
 * password is longer than HASH_BLAKE2B_KEY_MAX bytes, which yggdrasil refuses too.
 */
bool hash_meta_digest(const char *password, const uint8_t key[static 32], uint8_t out[static 64]);

#endif
