/* Test support: the deterministic keys of the specs (seed bytes first, first+1, ...). */
#ifndef YGG64_TESTS_SUPPORT_SEEDKEY_H
#define YGG64_TESTS_SUPPORT_SEEDKEY_H

#include <stdint.h>

struct keypair;

/* The keypair whose seed is first, first+1, ..., first+31 (A = 0x00, B = 0x20, C = 0x40). */
struct keypair *ts_seed_key(uint8_t first);

#endif
