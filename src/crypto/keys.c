/*
 * keys: Ed25519 node identity: generation, the PrivateKey hex and PKCS#8 PEM encodings, and the
 * Ed25519 -> X25519 conversions (spec yggdrasil-sessions-core-admin.md §1, §7.3).
 *
 * Owns: every struct keypair (heap, xmalloc) and every temporary that held secret bytes.
 * Invariants:
 * - kp->sk is always a libsodium crypto_sign secret key, seed || pub, where pub was derived from
 *   the seed here: a keypair whose halves disagree is never constructed (0.5.12 panics on such a
 *   config, spec §1 notes), so the public key read back by keys_public is trustworthy.
 * - Every buffer that held seed, secret key, hex or DER/base64 text of one is wiped with
 *   sodium_memzero before it goes out of scope, on error paths too. Files are read with read(2)
 *   so no stdio buffer keeps a copy.
 * - Parsers never read past their length argument (PEM input need not be NUL-terminated).
 */
#define YGG64_CRYPTO_INTERNAL
#include "crypto/keys.h"

#include "lib/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

_Static_assert(crypto_sign_SECRETKEYBYTES == KEYS_PRIV_LEN, "libsodium sk is seed || pub");
_Static_assert(crypto_sign_PUBLICKEYBYTES == KEYS_PUB_LEN, "ed25519 pub");
_Static_assert(crypto_sign_SEEDBYTES == KEYS_SEED_LEN, "ed25519 seed");

/*
 * PKCS#8 PrivateKeyInfo (RFC 5208, RFC 8410 §7) for Ed25519, as Go's x509.MarshalPKCS8PrivateKey
 * writes it and 0.5.12 -exportkey prints it (spec §7.3):
 *   SEQUENCE(46) { INTEGER 0, SEQUENCE(5) { OID 1.3.101.112 }, OCTET STRING(34) {
 *   OCTET STRING(32) seed } }
 */
/* clang-format off */
static const uint8_t der_prefix[16] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
};
/* clang-format on */

enum {
	DER_LEN = sizeof(der_prefix) + KEYS_SEED_LEN, /* 48 */
	DER_B64_LEN = DER_LEN / 3 * 4,		      /* 64, no padding, one PEM line */
	PEM_FILE_MAX = 8192,			      /* far more than any key file */
};

static const char pem_begin[] = "-----BEGIN PRIVATE KEY-----";
static const char pem_begin_any[] = "-----BEGIN ";
static const char pem_begin_enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
static const char pem_end[] = "-----END PRIVATE KEY-----";

static void fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
}

int keys_init(void)
{
	/* 1 means "already initialised", which is fine. */
	return sodium_init() < 0 ? -1 : 0;
}

static struct keypair *from_seed(const uint8_t seed[static 32])
{
	struct keypair *kp = xmalloc(sizeof(*kp));
	uint8_t pub[crypto_sign_PUBLICKEYBYTES];

	/* Writes kp->sk = seed || pub; pub is public, no wipe needed. */
	crypto_sign_seed_keypair(pub, kp->sk, seed);
	return kp;
}

struct keypair *keys_generate(void)
{
	struct keypair *kp = xmalloc(sizeof(*kp));
	uint8_t pub[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_keypair(pub, kp->sk);
	return kp;
}

struct keypair *keys_from_seed(const uint8_t seed[static 32])
{
	struct keypair *kp = xmalloc(sizeof(*kp));
	uint8_t pub[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_seed_keypair(pub, kp->sk, seed);
	return kp;
}

void keys_free(struct keypair *kp)
{
	if (!kp)
		return;
	sodium_memzero(kp, sizeof(*kp));
	free(kp);
}

struct keypair *keys_from_hex(const char *hex, const char **why)
{
	uint8_t raw[KEYS_PRIV_LEN];
	size_t n = 0;
	struct keypair *kp = NULL;

	/* strnlen: never scan further than one past the expected length. */
	if (strnlen(hex, KEYS_PRIV_HEX_LEN + 1) != KEYS_PRIV_HEX_LEN) {
		fail(why, "PrivateKey must be exactly 128 hex characters");
		return NULL;
	}
	/* No ignore set and no end pointer: any non-hex character makes this fail. */
	if (sodium_hex2bin(raw, sizeof(raw), hex, KEYS_PRIV_HEX_LEN, NULL, &n, NULL) != 0 ||
	    n != sizeof(raw)) {
		fail(why, "PrivateKey is not valid hex");
		goto out;
	}
	kp = from_seed(raw);
	/* The stored pub half must be the seed's (spec §1): compare what we derived with it. */
	if (sodium_memcmp(kp->sk + KEYS_SEED_LEN, raw + KEYS_SEED_LEN, KEYS_PUB_LEN) != 0) {
		fail(why, "public key half does not match the seed");
		keys_free(kp);
		kp = NULL;
	}
out:
	sodium_memzero(raw, sizeof(raw));
	return kp;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool has_prefix(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}

/*
 * Finds the base64 body of the single "PRIVATE KEY" block in [p, e): sets *body and *blen, or
 * returns a reason. Only framing is checked here; the body's characters are checked by the
 * caller.
 */
static const char *pem_frame(const char *p, const char *e, const char **body, size_t *blen)
{
	const char *b, *end;

	while (p < e && is_ws(*p))
		p++;
	if (p == e)
		return "PEM input is empty";
	if (has_prefix(p, e, pem_begin_enc))
		return "encrypted PKCS#8 keys are not supported";
	if (!has_prefix(p, e, pem_begin_any))
		return "no \"-----BEGIN PRIVATE KEY-----\" line";
	if (!has_prefix(p, e, pem_begin))
		return "PEM block is not of type \"PRIVATE KEY\" (need PKCS#8 Ed25519)";
	b = p + strlen(pem_begin);
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	if (b < e && *b == '\r')
		b++;
	if (b == e || *b != '\n')
		return "PEM block is not of type \"PRIVATE KEY\" (need PKCS#8 Ed25519)";
	b++;
	end = memmem(b, (size_t)(e - b), pem_end, strlen(pem_end));
	if (!end)
		return "no \"-----END PRIVATE KEY-----\" line (truncated PEM?)";
	if (end > b && end[-1] != '\n')
		return "PEM END marker does not start a line";
	for (p = end + strlen(pem_end); p < e; p++)
		if (!is_ws(*p))
			return "trailing data after the PEM block";
	*body = b;
	*blen = (size_t)(end - b);
	return NULL;
}

struct keypair *keys_from_pem(const char *pem, size_t len, const char **why)
{
	uint8_t der[DER_LEN];
	const char *body = NULL, *err;
	size_t blen = 0, ndata = 0, n = 0;
	struct keypair *kp = NULL;

	err = pem_frame(pem, pem + len, &body, &blen);
	if (err) {
		fail(why, err);
		return NULL;
	}
	/* RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") mark legacy encrypted keys. */
	if (memchr(body, ':', blen)) {
		fail(why, "PEM headers are not supported (encrypted key?)");
		return NULL;
	}
	/*
	 * Check the characters ourselves: libsodium's ignore list is searched with strchr, which
	 * would also "ignore" an embedded NUL. Count the data characters to tell a key of the
	 * wrong size from broken base64.
	 */
	for (size_t i = 0; i < blen; i++) {
		char c = body[i];

		if (is_b64(c))
			ndata++;
		else if (c != '=' && !is_ws(c)) {
			fail(why, "PEM body is not valid base64");
			return NULL;
		}
	}
	if (ndata != DER_B64_LEN) {
		fail(why, "PEM body is not a 48-byte Ed25519 PKCS#8 key (wrong length)");
		return NULL;
	}
	/* No end pointer: anything left unparsed (stray '=', bad padding) is an error. */
	if (sodium_base642bin(der, sizeof(der), body, blen, " \t\r\n", &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(der)) {
		fail(why, "PEM body is not valid base64");
		goto out;
	}
	if (memcmp(der, der_prefix, sizeof(der_prefix)) != 0) {
		fail(why, "DER is not an unencrypted Ed25519 PKCS#8 PrivateKeyInfo");
		goto out;
	}
	kp = from_seed(der + sizeof(der_prefix));
out:
	sodium_memzero(der, sizeof(der));
	return kp;
}

struct keypair *keys_from_pem_file(const char *path, const char **why)
{
	char buf[PEM_FILE_MAX + 1];
	size_t n = 0;
	struct keypair *kp = NULL;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(why, "cannot open the private key file");
		return NULL;
	}
	/* Read one byte more than the limit to detect an oversized file. */
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(why, "cannot read the private key file");
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > PEM_FILE_MAX) {
		fail(why, "private key file is too large");
		goto out;
	}
	kp = keys_from_pem(buf, n, why);
out:
	saved = errno;
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	errno = saved;
	return kp;
}

void keys_public(const struct keypair *kp, uint8_t pub[static 32])
{
	memcpy(pub, kp->sk + KEYS_SEED_LEN, KEYS_PUB_LEN);
}

char *keys_private_hex(const struct keypair *kp, char out[static 129])
{
	return sodium_bin2hex(out, KEYS_PRIV_HEX_LEN + 1, kp->sk, sizeof(kp->sk));
}

int keys_export_pem(const struct keypair *kp, char *out, size_t cap)
{
	uint8_t der[DER_LEN];
	char b64[DER_B64_LEN + 1];
	char *p = out;

	if (cap < KEYS_PEM_LEN + 1)
		return -ENOSPC;
	memcpy(der, der_prefix, sizeof(der_prefix));
	memcpy(der + sizeof(der_prefix), kp->sk, KEYS_SEED_LEN);
	sodium_bin2base64(b64, sizeof(b64), der, sizeof(der), sodium_base64_VARIANT_ORIGINAL);

	/*
	 * Go's pem.EncodeToMemory wraps at 64 columns, so the 64-char body is one line, and
	 * -exportkey prints that with fmt.Println, adding the final empty line (verified byte for
	 * byte against 0.5.12).
	 */
	p = mempcpy(p, pem_begin, strlen(pem_begin));
	*p++ = '\n';
	p = mempcpy(p, b64, DER_B64_LEN);
	*p++ = '\n';
	p = mempcpy(p, pem_end, strlen(pem_end));
	*p++ = '\n';
	*p++ = '\n';
	*p = '\0';

	sodium_memzero(der, sizeof(der));
	sodium_memzero(b64, sizeof(b64));
	return (int)(p - out);
}

bool keys_pub_from_hex(const char *hex, uint8_t pub[static 32])
{
	uint8_t tmp[KEYS_PUB_LEN];
	size_t n = 0;

	if (strnlen(hex, 2 * KEYS_PUB_LEN + 1) != 2 * KEYS_PUB_LEN)
		return false;
	if (sodium_hex2bin(tmp, sizeof(tmp), hex, 2 * KEYS_PUB_LEN, NULL, &n, NULL) != 0 ||
	    n != sizeof(tmp))
		return false;
	memcpy(pub, tmp, sizeof(tmp));
	return true;
}

bool keys_x25519_public(const uint8_t ed[static 32], uint8_t out[static 32])
{
	/* Same bytes as ironwood's e2c: u = (1+y)/(1-y) mod p (spec §1, verified on 16 keys). */
	if (crypto_sign_ed25519_pk_to_curve25519(out, ed) != 0) {
		memset(out, 0, crypto_scalarmult_curve25519_BYTES);
		return false;
	}
	return true;
}

bool keys_x25519_secret(const struct keypair *kp, uint8_t out[static 32])
{
	/* SHA-512(seed)[0..32], clamped; Go uses it unclamped, X25519 clamps anyway (spec §1). */
	if (crypto_sign_ed25519_sk_to_curve25519(out, kp->sk) != 0) {
		sodium_memzero(out, crypto_scalarmult_curve25519_BYTES);
		return false;
	}
	return true;
}

uint64_t keys_random_u64(void)
{
	uint64_t v;

	randombytes_buf(&v, sizeof(v));
	return v;
}
