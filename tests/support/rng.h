/*
 * rng: the tests' deterministic pseudo-random numbers (xorshift64, G. Marsaglia 2003, shifts
 * 13, 7, 17), so that a failure reproduces. Not for anything secret.
 */
#ifndef YGG64_TESTS_RNG_H
#define YGG64_TESTS_RNG_H
#include <stddef.h>
#include <stdint.h>

/* Steps *s (never 0) and returns it. */
uint64_t th_xorshift64(uint64_t *s);

/* n bytes, one per step of *s: bits 32-39 of each new state. */
void th_rnd_bytes(uint64_t *s, uint8_t *p, size_t n);

#endif
