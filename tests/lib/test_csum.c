/*
 * csum: the RFC 1071 example, then csum_partial against a plain big-endian 16-bit-word sum
 * written here for every length and alignment up to 80, and the pseudo-header sums against
 * packets whose checksums are known (built by hand from the RFCs' layouts).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csum.h"
#include "support/refcsum.h"

/* A folded host-order value as the two bytes csum_store writes. */
static uint16_t as_be(uint16_t folded)
{
	uint8_t b[2];

	csum_store(b, folded);
	return (uint16_t)(b[0] << 8 | b[1]);
}

Test(csum, rfc1071_example)
{
	/* RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2 (folded). */
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	cr_assert_eq(as_be(csum_fold(csum_partial(b, sizeof(b), 0))), 0xddf2);
}

Test(csum, every_length_and_alignment_matches_the_reference)
{
	uint8_t buf[96];

	srand(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	memset(buf + 40, 0xff, 16); /* carries */
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n <= 80; n++)
			cr_assert_eq(as_be(csum_fold(csum_partial(buf + off, n, 0))),
				     ref_csum(buf + off, n, 0), "offset %zu length %zu", off, n);
}

Test(csum, even_chunks_add_up)
{
	uint8_t buf[64];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	uint64_t whole = csum_partial(buf, 63, 0);
	uint64_t parts = csum_partial(buf + 10, 53, csum_partial(buf, 10, 0));
	cr_assert_eq(csum_fold(whole), csum_fold(parts));
}

Test(csum, all_ones_folds_to_ffff)
{
	uint8_t buf[4096];

	memset(buf, 0xff, sizeof(buf));
	cr_assert_eq(csum_fold(csum_partial(buf, sizeof(buf), 0)), 0xffff);
}

/*
 * An IPv6 UDP packet: the checksum over pseudo-header + UDP header + payload, computed with
 * the reference from the pseudo-header bytes laid out by hand (RFC 8200 §8.1).
 */
Test(csum, pseudo6_matches_a_hand_laid_pseudo_header)
{
	uint8_t src[16], dst[16], udp[8 + 13] = {0x12, 0x34, 0x56, 0x78, 0, sizeof(udp), 0, 0};
	uint8_t ph[40];

	for (int i = 0; i < 16; i++) {
		src[i] = (uint8_t)(0x20 + i);
		dst[i] = (uint8_t)(0xf0 - i);
	}
	memcpy(udp + 8, "hello, world!", 13);
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	memcpy(ph + 32, (uint8_t[]){0, 0, 0, sizeof(udp), 0, 0, 0, 17}, 8);
	uint16_t want = (uint16_t)~ref_csum(udp, sizeof(udp), ref_csum(ph, sizeof(ph), 0));
	uint16_t got = (uint16_t)~csum_fold(
	    csum_partial(udp, sizeof(udp), csum_pseudo6(src, dst, sizeof(udp), 17)));
	cr_assert_eq(as_be(got), want);
	/* Stored, the packet verifies: the sum over everything folds to all ones. */
	csum_store(udp + 6, got);
	cr_assert_eq(
	    csum_fold(csum_partial(udp, sizeof(udp), csum_pseudo6(src, dst, sizeof(udp), 17))),
	    0xffff);
}

Test(csum, pseudo4_matches_a_hand_laid_pseudo_header)
{
	const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 7};
	uint8_t tcp[20] = {0x04, 0xd2, 0x00, 0x50, 1, 2, 3, 4, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff};
	const uint8_t ph[12] = {192, 0, 2, 1, 198, 51, 100, 7, 0, 6, 0, 20};

	uint16_t want = (uint16_t)~ref_csum(tcp, sizeof(tcp), ref_csum(ph, sizeof(ph), 0));
	uint16_t got = (uint16_t)~csum_fold(
	    csum_partial(tcp, sizeof(tcp), csum_pseudo4(src, dst, sizeof(tcp), 6)));
	cr_assert_eq(as_be(got), want);
}
