/*
 * Test support for the wire-vector tests: the spec's deterministic keys (link-routing §11:
 * A, B, C = seeds 00.., 20.., 40..) and byte assertions. These assert with Criterion.
 */
#ifndef YGG64_TESTS_SUPPORT_SPECKEYS_H
#define YGG64_TESTS_SUPPORT_SPECKEYS_H

#include <stddef.h>
#include <stdint.h>

struct ts_spec_key {
	char name;
	uint8_t first; /* seed bytes are first, first + 1, ..., first + 31 */
	const char *pub;
};

/* The key named 'A', 'B' or 'C' (fails the test otherwise). */
const struct ts_spec_key *ts_spec_key(char name);
void ts_spec_pub(char name, uint8_t pub[32]);
/* Decodes hex into out (cap bytes), failing the test on bad hex; returns the length. */
size_t ts_unhex(const char *hex, uint8_t *out, size_t cap);
/* Fails the test, printing both sides in hex, unless got equals want. */
void ts_assert_bytes(const uint8_t *got, size_t gn, const uint8_t *want, size_t wn,
		     const char *what);

#endif
