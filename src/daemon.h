/*
 * daemon: the composition root. It owns the libuv loop (the only uv_run in the project), the
 * signal handlers, the packet pool and every module built from the configuration, wires them
 * together with callbacks (tun → nat64 → core and back, as the roadmap adds them), drops
 * privileges after the privileged set-up, and shuts down in reverse order.
 */
#ifndef YGG64_DAEMON_H
#define YGG64_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct keypair;
struct daemon;

/* Summary of a running daemon, for logs and the admin socket. */
struct daemon_info {
	uint8_t key[32];
	uint8_t address[16];
	uint8_t subnet[8];
	uint64_t uptime_ms;
};

/*
 * Builds the daemon. cfg must outlive it (it is not copied). kp is consumed on every path.
 * Returns NULL after logging why.
 */
struct daemon *daemon_new(const struct config *cfg, struct keypair *kp);
/* Privileged set-up, then drops to user[:group] when user is not NULL. 0 or -errno. */
int daemon_start(struct daemon *d, const char *user);
/* Runs until SIGINT/SIGTERM or daemon_stop(). Returns 0 after a clean shutdown. */
int daemon_run(struct daemon *d);
/* Starts an orderly shutdown: every handle is closed and the loop then ends. */
void daemon_stop(struct daemon *d);
void daemon_get_info(const struct daemon *d, struct daemon_info *info);
void daemon_free(struct daemon *d);

/*
 * Tells the service manager that the daemon is up (TUN open, its addresses and routes
 * installed, listeners and admin socket open): one newline written to notify_fd when it is
 * above 0 (then closed; yggdrasil 0.5.14's -notifyfd), and READY=1 to $NOTIFY_SOCKET when set
 * (sd_notify). daemon_stop sends STOPPING=1 there.
 */
void daemon_notify_ready(struct daemon *d, int notify_fd);

/*
 * new + start + notify + run + free: the process exit status (0 on a clean stop). kp is
 * consumed; notify_fd as daemon_notify_ready (-1: none).
 */
int daemon_main(const struct config *cfg, struct keypair *kp, const char *user, int notify_fd);

#endif
