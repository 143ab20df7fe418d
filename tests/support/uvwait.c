#include "support/uvwait.h"

static void tick(uv_timer_t *t)
{
	(void)t;
}

bool uvwait_until(uv_loop_t *loop, const volatile int *v, int want, uint64_t ms)
{
	uv_timer_t wd;
	uint64_t end;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	uv_timer_init(loop, &wd);
	uv_timer_start(&wd, tick, 5, 5);
	while (*v < want && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&wd, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *v >= want;
}

void uvwait_for(uv_loop_t *loop, uint64_t ms)
{
	static const int never = 0;

	uvwait_until(loop, &never, 1, ms);
}
