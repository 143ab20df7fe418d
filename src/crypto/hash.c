/*
 * hash: BLAKE2b-512 over libsodium (see hash.h). crypto_generichash is BLAKE2b with the digest
 * length in the parameter block, so a 64-byte output with a 0..64-byte key is exactly RFC 7693
 * BLAKE2b-512 and equal to Go's golang.org/x/crypto/blake2b.New512(key).
 *
 * Owns nothing: no state and no allocation. The password (a weak secret shared by both ends of
 * a link) is passed to libsodium in place and never copied here; libsodium wipes its own state.
 * Timers: none.
 */
#include "crypto/hash.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

_Static_assert(crypto_generichash_BYTES_MAX == HASH_BLAKE2B_LEN, "BLAKE2b-512 digest size");
_Static_assert(crypto_generichash_KEYBYTES_MAX == HASH_BLAKE2B_KEY_MAX, "BLAKE2b key size");

/* Stands in for a NULL message of length 0, so libsodium never sees a NULL input pointer. */
static const uint8_t empty[1];

void hash_blake2b512(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n,
		     uint8_t out[static 64])
{
	int rc;

	assert(keylen <= HASH_BLAKE2B_KEY_MAX);
	/* A NULL key with keylen 0 selects unkeyed mode: the same digest as an empty Go key. */
	rc = crypto_generichash(out, HASH_BLAKE2B_LEN, msg ? msg : empty, n, keylen ? key : NULL,
				keylen);
	assert(rc == 0);
	if (rc != 0)
		memset(out, 0, HASH_BLAKE2B_LEN); /* only on a keylen assert() would have caught */
}

bool hash_meta_digest(const char *password, const uint8_t key[static 32], uint8_t out[static 64])
{
	size_t plen = password ? strlen(password) : 0;

	if (plen > HASH_BLAKE2B_KEY_MAX) {
		/* Go's blake2b.New512 fails on such a key; yggdrasil rejects the URI earlier. */
		memset(out, 0, HASH_BLAKE2B_LEN);
		return false;
	}
	hash_blake2b512((const uint8_t *)password, plen, key, 32, out);
	return true;
}
