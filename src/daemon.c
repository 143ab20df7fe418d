/*
 * daemon: composition root (see daemon.h).
 *
 * Owns: the uv loop, the SIGINT/SIGTERM handlers, the packet pool, the node key, the core
 * (peering and routing) and the admin socket.
 * Invariants: only this file calls uv_run(); every handle it opens is counted in open_handles
 * and released by on_close(), and each module reports the end of its own close, so
 * uv_loop_close() returns 0 once daemon_run() has returned. Shutdown is two-phase:
 * daemon_stop() asks the admin socket, the core and the signal handles to close, the loop drains
 * the close callbacks and then ends by itself because nothing is left active.
 *
 * Timers: none of its own; the core runs the router's 1 s tick.
 */
#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin.h"
#include "config/config.h"
#include "core/core.h"
#include "crypto/keys.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "tun/tun.h"

/*
 * Buffers in the packet pool. Each holds a whole frame (CORE_PKT_CAP) plus head- and
 * tailroom; the pool is allocated once and pages that are never used are never touched.
 */
enum { DAEMON_POOL_PKTS = 256 };

struct daemon {
	uv_loop_t loop;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	unsigned open_handles;
	bool is_stopping;
	bool core_open;  /* core_start ran: core_close must run before core_free */
	bool admin_open; /* likewise for the admin socket */
	bool tun_open;   /* likewise for the TUN */

	const struct config *cfg;
	struct keypair *kp;
	struct pkt_pool *pool;
	struct core *core;
	struct admin *admin;
	struct tun *tun; /* NULL with IfName "none" */
	uint8_t key[32];
	uint8_t address[16];
	uint8_t subnet[8];
	uint64_t started_ms;
};

static void on_close(uv_handle_t *h)
{
	struct daemon *d = h->data;

	d->open_handles--;
}

/* Closes h if it was initialised (the daemon is calloc'ed, so h->loop is NULL until then). */
static void close_handle(struct daemon *d, uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h)) {
		h->data = d;
		uv_close(h, on_close);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	log_info("Received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	daemon_stop(d);
}

struct daemon *daemon_new(const struct config *cfg, struct keypair *kp)
{
	struct daemon *d = xcalloc(1, sizeof(*d));
	int r;

	d->cfg = cfg;
	d->kp = kp;
	r = uv_loop_init(&d->loop);
	if (r < 0) {
		log_error("uv_loop_init: %s", uv_strerror(r));
		goto err_free;
	}
	d->pool = pkt_pool_new(DAEMON_POOL_PKTS, CORE_PKT_CAP);
	if (!d->pool) {
		log_error("cannot allocate the packet pool (%d x %d bytes)", DAEMON_POOL_PKTS,
			  CORE_PKT_CAP);
		goto err_loop;
	}
	keys_public(kp, d->key);
	addr_from_key(d->key, d->address);
	addr_subnet_from_key(d->key, d->subnet);
	d->core = core_new(&d->loop, cfg, kp, d->pool);
	if (!d->core)
		goto err_pool;
	return d;

err_pool:
	pkt_pool_free(d->pool);
err_loop:
	uv_loop_close(&d->loop);
err_free:
	keys_free(kp);
	free(d);
	return NULL;
}

/* ---- TUN ⇄ core: the IPv6 data path ---- */

static void on_tun_packet(void *ctx, struct pkt *p)
{
	struct daemon *d = ctx;

	core_send_ip6(d->core, p);
}

static void on_core_ip6(void *ctx, struct pkt *p)
{
	struct daemon *d = ctx;

	tun_write(d->tun, p);
}

static int start_tun(struct daemon *d)
{
	uint32_t mtu = core_ip6_mtu(d->core);
	struct tun_params tp = {
	    .ifname = d->cfg->if_name,
	    .mtu = mtu,
	    .txqueuelen = (uint32_t)d->cfg->if_txqueuelen,
	    .addr6 = d->address,
	    .pool = d->pool,
	    .recv = on_tun_packet,
	    .ctx = d,
	};

	if (!strcmp(d->cfg->if_name, "none")) {
		log_info("TUN disabled (IfName: none)");
		return 0;
	}
	d->tun = tun_open(&d->loop, &tp);
	if (!d->tun)
		return -EIO;
	d->tun_open = true;
	d->open_handles++;
	core_set_ip6_output(d->core, on_core_ip6, d);
	return 0;
}

static int start_signal(struct daemon *d, uv_signal_t *s, int signum)
{
	int r = uv_signal_init(&d->loop, s);

	if (r < 0)
		return r;
	s->data = d;
	d->open_handles++;
	return uv_signal_start(s, on_signal, signum);
}

/* Parses "user[:group]" and switches to it. Without a group, the user's primary group. */
static int drop_privileges(const char *spec)
{
	char *name = xstrdup(spec), *colon = strchr(name, ':');
	struct passwd *pw;
	gid_t gid;
	int r = 0;

	if (colon)
		*colon++ = '\0';
	pw = getpwnam(name);
	if (!pw) {
		log_error("-user: unknown user '%s'", name);
		r = -ENOENT;
		goto out;
	}
	gid = pw->pw_gid;
	if (colon && *colon) {
		struct group *gr = getgrnam(colon);

		if (!gr) {
			log_error("-user: unknown group '%s'", colon);
			r = -ENOENT;
			goto out;
		}
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
		r = -errno;
		log_error_errno(r, "-user: cannot switch to %s", spec);
		goto out;
	}
	log_info("Dropped privileges to uid %u gid %u", (unsigned)pw->pw_uid, (unsigned)gid);
out:
	free(name);
	return r;
}

int daemon_start(struct daemon *d, const char *user)
{
	char hex[65], buf[INET_ADDRSTRLEN_MAX];
	int r;

	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d->key[i]);
	log_info("Build name: ygg64");
	log_info("Build version: %s", YGG64_VERSION);
	log_info("Your public key is %s", hex);
	log_info("Your IPv6 address is %s", inet_ntop6(d->address, buf));
	{
		uint8_t full[16] = {0};

		memcpy(full, d->subnet, sizeof(d->subnet));
		log_info("Your IPv6 subnet is %s/64", inet_ntop6(full, buf));
	}

	r = start_signal(d, &d->sigint, SIGINT);
	if (r == 0)
		r = start_signal(d, &d->sigterm, SIGTERM);
	if (r < 0) {
		log_error("cannot install signal handlers: %s", uv_strerror(r));
		return r;
	}
	/* Privileged set-up: the TUN with its address and routes, then the listeners. */
	r = start_tun(d);
	if (r < 0)
		return r;
	d->core_open = true;
	d->open_handles++; /* the core counts as one handle until its close completes */
	r = core_start(d->core);
	if (r < 0) {
		log_error("cannot start peering: %s", uv_strerror(r));
		return r;
	}
	/* The admin socket reports on the TUN too, so it is built once the TUN is open. */
	d->admin = admin_new(&d->loop, d->cfg, d->core, d->tun);
	if (!d->admin)
		return -EINVAL;
	d->admin_open = true;
	d->open_handles++;
	r = admin_start(d->admin);
	if (r < 0)
		return r;
	if (user) {
		r = drop_privileges(user);
		if (r < 0)
			return r;
	}
	d->started_ms = uv_now(&d->loop);
	return 0;
}

static void on_module_closed(void *arg)
{
	struct daemon *d = arg;

	d->open_handles--;
}

void daemon_stop(struct daemon *d)
{
	if (d->is_stopping)
		return;
	d->is_stopping = true;
	if (d->admin_open)
		admin_close(d->admin, on_module_closed, d);
	if (d->core_open)
		core_close(d->core, on_module_closed, d);
	if (d->tun_open)
		tun_close(d->tun, on_module_closed, d);
	close_handle(d, (uv_handle_t *)&d->sigint);
	close_handle(d, (uv_handle_t *)&d->sigterm);
}

int daemon_run(struct daemon *d)
{
	int r = uv_run(&d->loop, UV_RUN_DEFAULT);

	if (r != 0 || d->open_handles != 0) {
		log_error("event loop ended with %u handles still open", d->open_handles);
		return -EBUSY;
	}
	return 0;
}

void daemon_get_info(const struct daemon *d, struct daemon_info *info)
{
	memcpy(info->key, d->key, sizeof(info->key));
	memcpy(info->address, d->address, sizeof(info->address));
	memcpy(info->subnet, d->subnet, sizeof(info->subnet));
	info->uptime_ms = uv_now((uv_loop_t *)&d->loop) - d->started_ms;
}

void daemon_free(struct daemon *d)
{
	int r;

	if (!d)
		return;
	if (d->open_handles) {
		/* A start-up error left handles open: close them and let the loop drain. */
		daemon_stop(d);
		uv_run(&d->loop, UV_RUN_DEFAULT);
	}
	admin_free(d->admin);
	core_free(d->core);
	tun_free(d->tun);
	r = uv_loop_close(&d->loop);
	if (r < 0)
		log_error("uv_loop_close: %s", uv_strerror(r));
	pkt_pool_free(d->pool);
	keys_free(d->kp);
	free(d);
}

int daemon_main(const struct config *cfg, struct keypair *kp, const char *user)
{
	struct daemon *d = daemon_new(cfg, kp);
	int r;

	if (!d)
		return 1;
	r = daemon_start(d, user);
	if (r == 0)
		r = daemon_run(d);
	daemon_free(d);
	if (r == 0)
		log_info("Stopped");
	return r == 0 ? 0 : 1;
}
