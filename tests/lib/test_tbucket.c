/* test_tbucket: the token bucket's burst, refill rate, cap and clock rules. */
#include <criterion/criterion.h>

#include "lib/tbucket.h"

static int take_all(struct tbucket *b, uint64_t now)
{
	int n = 0;

	while (tbucket_take(b, now))
		n++;
	return n;
}

Test(tbucket, full_burst_at_first_use_then_rate)
{
	struct tbucket b;

	tbucket_init(&b, 100, 50);
	cr_expect_eq(take_all(&b, 123456), 50, "a full burst at the first call");
	cr_expect_not(tbucket_take(&b, 123456));
	cr_expect_not(tbucket_take(&b, 123465), "9 ms refill 0.9 tokens at 100/s");
	cr_expect(tbucket_take(&b, 123466), "10 ms: one token");
	cr_expect_eq(take_all(&b, 123466 + 200), 20, "200 ms: 20 tokens");
}

Test(tbucket, never_above_burst_and_time_never_refilled_twice)
{
	struct tbucket b;

	tbucket_init(&b, 100, 50);
	take_all(&b, 1000);
	cr_expect_eq(take_all(&b, 1000 + 3600000), 50, "an hour later: the burst, no more");
	cr_expect_not(tbucket_take(&b, 500), "a clock that goes back refills nothing");
	cr_expect(tbucket_take(&b, 1000 + 3600000 + 10));
}
