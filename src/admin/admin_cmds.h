/*
 * admin_cmds: the request layer of the admin socket, private to src/admin/. It turns the bytes
 * of one JSON value (found by admin.c's framing) into the text of one response envelope
 * (spec sessions-core-admin §6.2) by dispatching through the command table (§6.3). No I/O:
 * admin.c owns the sockets and the query timer.
 *
 * Most commands answer at once. getNodeInfo and debug_remoteGet* ask a remote node through
 * core_query() and answer when the core calls back: admin_cmds_run then hands out a pending
 * request, which ends in exactly one of: its done callback (the core answered), admin_cmds_expire
 * (the caller's timer ran out) or admin_cmds_cancel (the client went away).
 */
#ifndef YGG64_ADMIN_ADMIN_CMDS_H
#define YGG64_ADMIN_ADMIN_CMDS_H

#include <stdbool.h>
#include <stddef.h>

struct core;
struct nat64;
struct tun;
struct admin_pending;

/* The response text (2-space indented JSON object plus "\n") and its length. */
struct admin_reply {
	char *text; /* heap; freed by the receiver with free() */
	size_t len;
	bool is_keepalive; /* the request asked to keep the connection open */
};

/*
 * The reply to a pending request, from inside the core's query callback (the caller should
 * not call into the core from here). r->text passes to the callee. The pending request is
 * already freed.
 */
typedef void admin_pending_cb(void *ctx, struct admin_reply *r);

/*
 * Runs the request held in buf[0..len) (one JSON value; anything that does not parse yields
 * "Failed to find request"). core, tun and nat64 are borrowed for the call (and core until a
 * pending request ends); a NULL core makes every command that needs it fail, a NULL tun is a
 * node without a TUN, a NULL nat64 one without NAT64. Returns NULL with *out filled, or a pending request (owned by admin_cmds until
 * it ends; *out untouched) whose reply comes through done(ctx, …).
 */
struct admin_pending *admin_cmds_run(struct core *core, const struct tun *tun,
				     const struct nat64 *nat64, const char *buf, size_t len,
				     struct admin_reply *out, admin_pending_cb *done, void *ctx);
/* Gives up on p (yggdrasil's 6 s): cancels its query, fills *out with the timeout error. */
void admin_cmds_expire(struct admin_pending *p, struct admin_reply *out);
/* Drops p without a reply (its client is gone); its query is cancelled. */
void admin_cmds_cancel(struct admin_pending *p);
/* An error envelope with an empty request echo, as for input that holds no request. */
void admin_cmds_fail(const char *error, struct admin_reply *out);

#endif
