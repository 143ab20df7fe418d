#include "support/refcsum.h"

#include <string.h>

uint16_t ref_csum(const uint8_t *b, size_t n, uint32_t sum)
{
	for (; n >= 2; b += 2, n -= 2)
		sum += (uint32_t)b[0] << 8 | b[1];
	if (n)
		sum += (uint32_t)b[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t ref_l4_sum(const uint8_t *b, size_t len)
{
	size_t l3 = (b[0] >> 4) == 4 ? 20 : 40, l4len = len - l3, phl;
	uint8_t proto = l3 == 20 ? b[9] : b[6];
	uint8_t ph[40];

	/* RFC 793 §3.1 (IPv4: src, dst, 0, proto, length), RFC 8200 §8.1 (IPv6: src, dst, length,
	 * 0, next). */
	if (l3 == 20) {
		memcpy(ph, b + 12, 8);
		memcpy(ph + 8, (uint8_t[]){0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len}, 4);
		phl = 12;
	} else {
		memcpy(ph, b + 8, 32);
		memcpy(ph + 32,
		       (uint8_t[]){0, 0, (uint8_t)(l4len >> 8), (uint8_t)l4len, 0, 0, 0, proto}, 8);
		phl = 40;
	}
	return ref_csum(b + l3, l4len, ref_csum(ph, phl, 0));
}
