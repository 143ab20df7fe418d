/*
 * sign: detached Ed25519 sign/verify over libsodium (spec yggdrasil-sessions-core-admin.md §1:
 * Go's crypto/ed25519 and crypto_sign_detached produce identical deterministic signatures).
 *
 * Owns nothing: no state, no allocation. The secret key is read in place from the keypair and
 * libsodium wipes its own temporaries; nothing secret is copied here.
 */
#define YGG64_CRYPTO_INTERNAL
#include "crypto/sign.h"

#include "crypto/keys.h"

#include <sodium.h>

_Static_assert(crypto_sign_BYTES == SIGN_LEN, "ed25519 signature size");

/* Stands in for a NULL message of length 0, so libsodium never sees a NULL pointer. */
static const uint8_t empty[1];

void sign_detached(const struct keypair *kp, const uint8_t *msg, size_t n, uint8_t sig[static 64])
{
	crypto_sign_detached(sig, NULL, msg ? msg : empty, n, kp->sk);
}

bool sign_verify(const uint8_t pub[static 32], const uint8_t *msg, size_t n,
		 const uint8_t sig[static 64])
{
	return crypto_sign_verify_detached(sig, msg ? msg : empty, n, pub) == 0;
}
