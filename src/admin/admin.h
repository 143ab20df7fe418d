/*
 * admin: the yggdrasilctl-compatible admin socket (spec sessions-core-admin §6).
 *
 * A libuv server on AdminListen (§6.1): "unix:///path" (mode 0660; "@name" is an abstract
 * socket), "tcp://host:port" or a bare "host:port"; "none" or "" disables it. Clients write a
 * stream of JSON requests and get one 2-space-indented JSON object plus "\n" per request in
 * yggdrasil 0.5.12's envelope (§6.2); the connection closes after a request whose "keepalive"
 * is not true. The node is read and changed only through core/core.h and tun/tun.h.
 *
 * getNodeInfo and debug_remoteGet* wait for a remote node (§3.2): the reply is written when the
 * core answers, or with yggdrasil's timeout error after 6 s. Meanwhile that connection answers
 * nothing else (a keepalive client's next requests wait in order, as with yggdrasil); other
 * connections are served. A client that hangs up cancels its query.
 *
 * Ownership: loop, cfg, core and tun are borrowed and must outlive the admin (core may be NULL
 * in tests that only exercise framing: every command then fails; tun is NULL when IfName is
 * none). Lifecycle: admin_new → admin_start → admin_close (always, even after a failed or
 * disabled start) → done callback → admin_free.
 */
#ifndef YGG64_ADMIN_ADMIN_H
#define YGG64_ADMIN_ADMIN_H

#include <stdint.h>

struct admin;
struct config;
struct core;
struct tun;
typedef struct uv_loop_s uv_loop_t;

typedef void admin_closed_cb(void *arg);

/* How long a remote query may take (yggdrasil's handlers give up after 6 s). */
enum { ADMIN_QUERY_TIMEOUT_MS = 6000 };

/* Allocates the server; opens nothing. Returns NULL only on an unusable AdminListen. */
struct admin *admin_new(uv_loop_t *loop, const struct config *cfg, struct core *core,
			struct tun *tun);
/* The NAT64 that getNAT64 and getNAT64Sessions report on (borrowed; NULL: none). */
struct nat64;
void admin_set_nat64(struct admin *a, const struct nat64 *n);
/* Changes the remote query timeout (for tests); applies to queries started afterwards. */
void admin_set_query_timeout(struct admin *a, uint64_t ms);
/*
 * Binds and listens on AdminListen. A leftover unix socket that nothing answers is removed
 * first; a live one (or a path that is not a socket) makes start fail. 0 when listening or
 * disabled, else a negative errno after logging why.
 */
int admin_start(struct admin *a);
/*
 * Closes the listener and every client connection (queued replies are dropped) and removes
 * the unix socket file; done(arg) runs once every handle is closed (from a close callback,
 * or before admin_close returns when no handle was open).
 */
void admin_close(struct admin *a, admin_closed_cb *done, void *arg);
/* Frees an admin whose close has completed, or that was never started. NULL is ignored. */
void admin_free(struct admin *a);

#endif
