/*
 * uvwait: running a test's libuv loop until a counter reaches a value, with a deadline. A
 * 5 ms watchdog timer wakes the loop, so the deadline is seen even when nothing else happens.
 */
#ifndef YGG64_TESTS_UVWAIT_H
#define YGG64_TESTS_UVWAIT_H
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/* Runs loop until *v >= want (true) or ms pass (false). */
bool uvwait_until(uv_loop_t *loop, const volatile int *v, int want, uint64_t ms);
/* Runs loop for ms. */
void uvwait_for(uv_loop_t *loop, uint64_t ms);
#endif
