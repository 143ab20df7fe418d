/* tbucket: see tbucket.h. */
#include "lib/tbucket.h"

enum { UNIT = 1000 }; /* one token: refilling rate tokens per second is rate units per ms */

void tbucket_init(struct tbucket *b, uint32_t rate, uint32_t burst)
{
	*b = (struct tbucket){.rate = rate, .burst = burst};
}

bool tbucket_take(struct tbucket *b, uint64_t now_ms)
{
	const uint64_t cap = (uint64_t)b->burst * UNIT;

	if (!b->is_started) {
		b->is_started = true;
		b->level = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * b->rate;

		b->level = add >= cap - b->level ? cap : b->level + add;
		b->last_ms = now_ms; /* never moved back: no time is refilled twice */
	}
	if (b->level < UNIT)
		return false;
	b->level -= UNIT;
	return true;
}
