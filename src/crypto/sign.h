/*
 * sign: detached Ed25519 signatures (RFC 8032, deterministic; spec
 * yggdrasil-sessions-core-admin.md §1). Used for link metadata, tree announcements and session
 * INIT/ACK.
 *
 * All pointer arguments are borrowed for the duration of the call only. msg may be NULL when n
 * is 0.
 */
#ifndef YGG64_CRYPTO_SIGN_H
#define YGG64_CRYPTO_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keypair;

enum {
	SIGN_LEN = 64,
};

/* Signs msg[0..n) with kp's secret key into sig. */
void sign_detached(const struct keypair *kp, const uint8_t *msg, size_t n, uint8_t sig[static 64]);

/*
 * True if sig is pub's signature of msg[0..n). libsodium 1.0.18 also rejects small-order and
 * non-canonical public keys that Go would accept (spec §1 notes): treat that as a bad message.
 */
bool sign_verify(const uint8_t pub[static 32], const uint8_t *msg, size_t n,
		 const uint8_t sig[static 64]);

#endif
