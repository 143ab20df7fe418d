#include "support/speckeys.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support/hex.h"

/* clang-format off */
static const struct ts_spec_key spec_keys[] = {
	{ 'A', 0x00, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8" },
	{ 'B', 0x20, "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7" },
	{ 'C', 0x40, "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d" },
};
/* clang-format on */

const struct ts_spec_key *ts_spec_key(char name)
{
	for (size_t i = 0; i < sizeof(spec_keys) / sizeof(spec_keys[0]); i++)
		if (spec_keys[i].name == name)
			return &spec_keys[i];
	cr_assert_fail("no key %c", name);
	return NULL;
}

void ts_spec_pub(char name, uint8_t pub[32])
{
	cr_assert_eq(ts_unhex(ts_spec_key(name)->pub, pub, 32), 32);
}

size_t ts_unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = th_unhex(hex, out, cap);

	cr_assert_geq(n, 0, "bad hex %s", hex);
	return (size_t)n;
}

void ts_assert_bytes(const uint8_t *got, size_t gn, const uint8_t *want, size_t wn,
		     const char *what)
{
	char *hg = malloc(2 * gn + 1), *hw = malloc(2 * wn + 1);

	th_hex(got, gn, hg);
	th_hex(want, wn, hw);
	cr_assert(gn == wn && memcmp(got, want, gn) == 0, "%s:\n got  %s\n want %s", what, hg, hw);
	free(hg);
	free(hw);
}
