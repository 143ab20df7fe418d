/*
 * tbucket: a token bucket for rate-limited messages (the ICMP errors a router generates, RFC
 * 4443 §2.4 (f), RFC 1812 §4.3.2.8), refilled from the time of each call, as the kernel's
 * icmp_global limiter is: rate tokens per second, at most burst of them, full at the first
 * call. Used by tunnel routing and the NAT64. Pure, libc only; no timers.
 */
#ifndef YGG64_LIB_TBUCKET_H
#define YGG64_LIB_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct tbucket {
	uint32_t rate, burst; /* tokens per second, most tokens held */
	bool is_started;      /* the first take fills it */
	uint64_t level;	      /* in thousandths of a token: at most burst * 1000 */
	uint64_t last_ms;     /* the latest time given; never moved back */
};

void tbucket_init(struct tbucket *b, uint32_t rate, uint32_t burst);
/* Takes a token at now_ms (milliseconds, any origin that never goes back): false if none. */
bool tbucket_take(struct tbucket *b, uint64_t now_ms);

#endif
