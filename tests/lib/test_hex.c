/* Tests for lib/hex: Go's hex.EncodeToString, byte for byte. */
#include "lib/hex.h"

#include <criterion/criterion.h>
#include <string.h>

Test(hex, encodes_lower_case)
{
	static const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	char out[2 * sizeof(b) + 1];

	memset(out, 'x', sizeof(out));
	cr_assert_eq(hex_encode(b, sizeof(b), out), out);
	cr_assert_str_eq(out, "00017f80abcdefff");
}

Test(hex, empty_and_prefix)
{
	static const uint8_t key[32] = {0xea, 0x9b, 0x93, 0x40, 0x36, 0xab, 0x90, 0xd2, 0xf1};
	char out[17] = "unchanged";

	cr_assert_str_eq(hex_encode(key, 0, out), "");
	cr_assert_str_eq(hex_encode(key, 8, out), "ea9b934036ab90d2", "a key's first 8 bytes");
}
