/*
 * csum: see csum.h. The data is summed as 32-bit host-order words into a 64-bit accumulator,
 * which cannot overflow below 2^32 words; loads go through memcpy, so any alignment is fine.
 */
#include "lib/csum.h"

#include <string.h>

uint64_t csum_partial(const void *p, size_t n, uint64_t sum)
{
	const uint8_t *b = p;
	uint32_t w32;
	uint16_t w16;

	for (; n >= 16; b += 16, n -= 16) {
		uint32_t w[4];

		memcpy(w, b, sizeof(w));
		sum += (uint64_t)w[0] + w[1] + w[2] + w[3];
	}
	for (; n >= 4; b += 4, n -= 4) {
		memcpy(&w32, b, 4);
		sum += w32;
	}
	if (n >= 2) {
		memcpy(&w16, b, 2);
		sum += w16;
		b += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = {b[0], 0};

		memcpy(&w16, last, 2);
		sum += w16;
	}
	return sum;
}

uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t proto)
{
	uint8_t tail[8] = {(uint8_t)(len >> 24),
			   (uint8_t)(len >> 16),
			   (uint8_t)(len >> 8),
			   (uint8_t)len,
			   0,
			   0,
			   0,
			   proto};
	uint64_t sum = csum_partial(src, 16, 0);

	sum = csum_partial(dst, 16, sum);
	return csum_partial(tail, sizeof(tail), sum);
}

uint64_t csum_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint16_t len, uint8_t proto)
{
	uint8_t tail[4] = {0, proto, (uint8_t)(len >> 8), (uint8_t)len};
	uint64_t sum = csum_partial(src, 4, 0);

	sum = csum_partial(dst, 4, sum);
	return csum_partial(tail, sizeof(tail), sum);
}

void csum_store(uint8_t *p, uint16_t folded)
{
	memcpy(p, &folded, 2);
}
