#include "support/seedkey.h"

#include "crypto/keys.h"

struct keypair *ts_seed_key(uint8_t first)
{
	uint8_t seed[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(first + i);
	return keys_from_seed(seed);
}
