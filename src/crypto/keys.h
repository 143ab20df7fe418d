/*
 * keys: the node's Ed25519 identity (spec yggdrasil-sessions-core-admin.md §1).
 *
 * A struct keypair is opaque outside src/crypto/ and always lives on the heap; its secret bytes
 * never leave this directory except as the PrivateKey hex/PEM text that -genconf,
 * -normaliseconf and -exportkey must print (callers wipe those buffers with mem_wipe).
 * Public keys are plain 32-byte values.
 *
 * Every why out-parameter receives a static string (never freed) on failure and is left alone on
 * success; it may be NULL. No function logs.
 */
#ifndef YGG64_CRYPTO_KEYS_H
#define YGG64_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keypair;

enum {
	KEYS_PUB_LEN = 32,
	KEYS_SEED_LEN = 32,
	KEYS_PRIV_LEN = 64,	 /* seed || pub, the layout of the PrivateKey config value */
	KEYS_PRIV_HEX_LEN = 128, /* hex chars of PrivateKey, without the NUL */
	KEYS_PEM_LEN = 120,	 /* bytes written by keys_export_pem, without the NUL */
};

/* Initialises libsodium. Call once before anything else here. Returns 0 or -1. */
int keys_init(void);

/*
 * The keypair of a 32-byte Ed25519 seed (deterministic keys: the spec's test keys A, B, C are
 * the seeds 00..1f, 20..3f, 40..5f). Never NULL. The caller wipes its copy of the seed.
 */
struct keypair *keys_from_seed(const uint8_t seed[static 32]);

/* A fresh random keypair. Never NULL (aborts on OOM). Free with keys_free. */
struct keypair *keys_generate(void);

/*
 * Parses the config value PrivateKey: exactly 128 hex chars (either case) = seed || pub. The pub
 * half must be the one derived from the seed (0.5.12 panics on a mismatch, spec §1 notes).
 * hex is borrowed (NUL-terminated) and not modified; the caller wipes it afterwards.
 */
struct keypair *keys_from_hex(const char *hex, const char **why);

/*
 * Parses a PKCS#8 PEM key as written by `yggdrasil -exportkey` (spec §7.3) and read through
 * PrivateKeyPath: one "PRIVATE KEY" block whose DER is exactly
 * 302e020100300506032b657004220420 || seed. CRLF, any line wrapping and surrounding whitespace
 * are accepted; anything else (PEM headers, encrypted keys, other algorithms, trailing data) is
 * rejected. pem[0..len) is borrowed and need not be NUL-terminated.
 */
struct keypair *keys_from_pem(const char *pem, size_t len, const char **why);

/* keys_from_pem on the contents of path. On I/O failure errno is preserved for the caller. */
struct keypair *keys_from_pem_file(const char *path, const char **why);

/* Wipes and frees kp. NULL is ignored. */
void keys_free(struct keypair *kp);

/* Copies the Ed25519 public key of kp. */
void keys_public(const struct keypair *kp, uint8_t pub[static 32]);

/*
 * Writes the lower-case 128-char PrivateKey hex plus NUL into out and returns out. out holds a
 * secret: the caller wipes it (mem_wipe) when done.
 */
char *keys_private_hex(const struct keypair *kp, char out[static 129]);

/*
 * Writes exactly what `yggdrasil -exportkey` prints (KEYS_PEM_LEN bytes: BEGIN line, one 64-char
 * base64 line, END line, then an empty line) plus a NUL into out[0..cap). Returns the length
 * without the NUL, or -ENOSPC if cap < KEYS_PEM_LEN + 1 (out is then untouched). out holds a
 * secret: the caller wipes it.
 */
int keys_export_pem(const struct keypair *kp, char *out, size_t cap);

/* Parses a 64-char hex public key (AllowedPublicKeys, key= URIs). pub is untouched on failure. */
bool keys_pub_from_hex(const char *hex, uint8_t pub[static 32]);

/*
 * Ed25519 public key -> X25519 public key (spec §1, ironwood e2c). Returns false (out zeroed)
 * for points libsodium refuses: small order or not on the curve. Such keys can only come from a
 * malicious peer; drop whatever carried them.
 */
bool keys_x25519_public(const uint8_t ed[static 32], uint8_t out[static 32]);

/* A uniformly random 64-bit value from libsodium's CSPRNG (nonces, jitter). */
uint64_t keys_random_u64(void);

#ifdef YGG64_CRYPTO_INTERNAL
/*
 * Only for src/crypto/ (and its tests), which define YGG64_CRYPTO_INTERNAL before including this
 * header: the layout and the secret scalar.
 */
struct keypair {
	uint8_t sk[64]; /* libsodium crypto_sign secret key: seed || pub */
};

/*
 * kp's X25519 secret scalar, clamped as libsodium makes it (spec §1: Go keeps it unclamped; the
 * DH result is the same). The caller wipes out with sodium_memzero. Returns false on failure
 * (out zeroed).
 */
bool keys_x25519_secret(const struct keypair *kp, uint8_t out[static 32]);
#endif

#endif
