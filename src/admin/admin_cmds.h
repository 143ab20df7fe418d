/*
 * admin_cmds: the request layer of the admin socket, private to src/admin/. It turns the bytes
 * of one JSON value (found by admin.c's framing) into the text of one response envelope
 * (spec sessions-core-admin §6.2) by dispatching through the command table (§6.3). No I/O:
 * admin.c owns the sockets.
 */
#ifndef YGG64_ADMIN_ADMIN_CMDS_H
#define YGG64_ADMIN_ADMIN_CMDS_H

#include <stdbool.h>
#include <stddef.h>

struct core;

/* The response text (2-space indented JSON object plus "\n") and its length. */
struct admin_reply {
	char *text; /* heap; freed by the receiver with free() */
	size_t len;
	bool is_keepalive; /* the request asked to keep the connection open */
};

/*
 * Runs the request held in buf[0..len) (one JSON value; anything that does not parse yields
 * "Failed to find request"). core is borrowed for the call; NULL makes every command that
 * needs it fail. Fills *out.
 */
void admin_cmds_run(struct core *core, const char *buf, size_t len, struct admin_reply *out);
/* An error envelope with an empty request echo, as for input that holds no request. */
void admin_cmds_fail(const char *error, struct admin_reply *out);

#endif
