/*
 * addr: key <-> address mapping of Yggdrasil 0.5 (spec yggdrasil-sessions-core-admin.md §4).
 *
 * Owns no state: pure functions over caller arrays, no allocation, no crypto (the keys are
 * public). Timers: none.
 *
 * Bit numbering is MSB first: bit 0 is the top bit of byte 0, bit 255 the low bit of byte 31.
 * Invariants: no access outside key[0..32), a[0..len) or the outputs, including the edge cases
 * where the leading-zero count of the key reaches 144..256 and fewer than 14 address bytes can
 * be filled (they stay zero), and the all-zero key whose count 256 is stored as 0 (§4.1 step 4).
 */
#include "core/addr.h"

#include <assert.h>
#include <string.h>

enum { KEY_BITS = 8 * ADDR_KEY_LEN };

/* Leading 1 bits of NOT key, i.e. leading 0 bits of key: 0..256. */
static unsigned leading_zero_bits(const uint8_t key[static 32])
{
	unsigned n = 0;

	for (size_t i = 0; i < ADDR_KEY_LEN; i++) {
		uint8_t b = key[i];

		if (b == 0) {
			n += 8;
			continue;
		}
		while (!(b & 0x80)) {
			b = (uint8_t)(b << 1);
			n++;
		}
		break;
	}
	return n;
}

/* The 8 bits [pos, pos + 8) of NOT key. Requires pos + 8 <= 256. */
static uint8_t inv_byte_at(const uint8_t key[static 32], unsigned pos)
{
	unsigned i = pos / 8, sh = pos % 8;
	uint8_t hi = (uint8_t)~key[i];

	/* sh != 0 and pos + 8 <= 256 imply i <= 30, so key[i + 1] exists. */
	if (sh == 0)
		return hi;
	return (uint8_t)(hi << sh | (uint8_t)~key[i + 1] >> (8 - sh));
}

void addr_from_key(const uint8_t key[static 32], uint8_t out[static 16])
{
	unsigned ones = leading_zero_bits(key);
	/* §4.1 step 3: skip the ones and the 0 bit after them; keep only whole bytes. */
	unsigned pos = ones + 1;

	memset(out, 0, ADDR_LEN);
	out[0] = ADDR_PREFIX;
	out[1] = (uint8_t)ones; /* step 4: one byte, mod 256 */
	for (size_t j = 2; j < ADDR_LEN && pos + 8 <= KEY_BITS; j++, pos += 8)
		out[j] = inv_byte_at(key, pos);
}

void addr_subnet_from_key(const uint8_t key[static 32], uint8_t out[static 8])
{
	uint8_t a[ADDR_LEN];

	/* §4.2: the /64 is the address's first 8 bytes with the low prefix bit set. */
	addr_from_key(key, a);
	memcpy(out, a, ADDR_SUBNET_LEN);
	out[0] = ADDR_SUBNET_PREFIX;
}

bool addr_is_valid(const uint8_t a[static 16])
{
	return a[0] == ADDR_PREFIX;
}

bool addr_is_valid_subnet(const uint8_t s[static 8])
{
	return s[0] == ADDR_SUBNET_PREFIX;
}

void addr_partial_key(const uint8_t *a, size_t len, uint8_t key[static 32], uint8_t mask[static 32])
{
	unsigned ones = a[1];
	unsigned pos = ones + 1;
	size_t body, known;

	assert(len >= 2 && len <= ADDR_LEN);

	/* §4.3 step 1, built as NOT key: `ones` 1 bits, a 0 bit, then the body bits. */
	memset(key, 0, ADDR_KEY_LEN);
	memset(key, 0xff, ones / 8);
	if (ones % 8)
		key[ones / 8] = (uint8_t)(0xff << (8 - ones % 8));
	for (size_t j = 2; j < len && pos < KEY_BITS; j++, pos += 8) {
		unsigned i = pos / 8, sh = pos % 8;

		key[i] |= (uint8_t)(a[j] >> sh);
		/* Bits that would land past bit 255 are dropped (truncate at 256). */
		if (sh && i + 1 < ADDR_KEY_LEN)
			key[i + 1] |= (uint8_t)(a[j] << (8 - sh));
	}
	/* Step 2: invert, so the bits the address does not carry read as 1. */
	for (size_t i = 0; i < ADDR_KEY_LEN; i++)
		key[i] = (uint8_t)~key[i];

	/*
	 * Known bits. §4.3 gives min(256, ones + 1 + 8 * (len - 2)); we count only body bytes that
	 * carry key bits: for ones >= 144 the tail of an address is §4.1's zero padding, not key
	 * bits, and counting it would make a real key fail to match its own address. Equal to the
	 * spec's formula for every ones <= 143 (address) or <= 207 (subnet).
	 */
	body = (KEY_BITS - 1 - ones) / 8;
	if (body > len - 2)
		body = len - 2;
	known = ones + 1 + 8 * body;
	for (size_t i = 0; i < ADDR_KEY_LEN; i++) {
		size_t bits = known > 8 * i ? known - 8 * i : 0;

		if (bits >= 8)
			mask[i] = 0xff;
		else
			mask[i] = (uint8_t)(0xff00 >> bits); /* top `bits` bits; 0 when bits == 0 */
	}
}

void addr_xkey(const uint8_t key[static 32], uint8_t out[static 32])
{
	uint8_t s[ADDR_SUBNET_LEN], mask[ADDR_KEY_LEN];

	addr_subnet_from_key(key, s);
	addr_partial_key(s, sizeof(s), out, mask);
}

bool addr_key_matches(const uint8_t partial[static 32], const uint8_t mask[static 32],
		      const uint8_t key[static 32])
{
	uint8_t diff = 0;

	for (size_t i = 0; i < ADDR_KEY_LEN; i++)
		diff |= (uint8_t)((partial[i] ^ key[i]) & mask[i]);
	return diff == 0;
}
