/*
 * Fuzz driver for the admin socket's raw-JSON re-indenter, which handles bytes that remote
 * nodes send (NodeInfo and debug answers, sessions spec §3.2). Any input must either be
 * rejected with an error text or produce output that is itself accepted and re-indents to the
 * same text (the indenter is idempotent on its own output).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_json_buf a = {0}, b = {0};
	char err[256];

	if (admin_json_indent(&a, data, size, 0, err, sizeof(err))) {
		if (!admin_json_indent(&b, (const uint8_t *)a.s, a.len, 0, err, sizeof(err)))
			abort(); /* our own output must be valid JSON */
		if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
			abort(); /* and a fixed point */
	} else if (!err[0]) {
		abort(); /* a rejection always says why */
	}
	free(a.s);
	free(b.s);
	return 0;
}
