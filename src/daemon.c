/*
 * daemon: composition root (see daemon.h).
 *
 * Owns: the uv loop, the SIGINT/SIGTERM handlers, the packet pool, the node key, the core
 * (peering, routing, tunnel routing), the TUN with the addresses and routes it installs, the
 * NAT64, and the admin socket.
 *
 * The data path: packets come from the TUN (on_tun_packet), out of the core for this host
 * (on_core_ip) and out of the NAT64 (on_nat64_out); fwd_classify names the next stage of each
 * (fwd.h's table) and run_stage carries it there, nothing more. Fused (NAT64 with tunnel
 * routing, issue 13), a client's packet goes TUN -> NAT64 -> tunnel routing -> session -> peer
 * in one pass, and the reply comes back overlay -> NAT64 -> TUN.
 * Invariants: only this file calls uv_run(); every handle it opens is counted in open_handles
 * and released by on_close(), and each module reports the end of its own close, so
 * uv_loop_close() returns 0 once daemon_run() has returned. Shutdown is two-phase:
 * daemon_stop() asks the admin socket, the core and the signal handles to close, the loop drains
 * the close callbacks and then ends by itself because nothing is left active.
 *
 * Tunnel routing (TunnelRouting): the daemon puts the local addresses on the TUN (every /32 or
 * /128 local subnet, and yggdrasilckr's Addresses), routes every remote subnet into it with
 * the first local address of the family as the preferred source (InstallRoutes), now and as
 * the admin socket adds or removes subnets (the core's route hook), and installs the loop
 * guard: the peer sockets carry DAEMON_GUARD_MARK and two policy rules keep them off the TUN
 * (tun.h's tun_guard). The TUN removes all of it when it closes, on any clean exit.
 *
 * Timers: the NAT64's 1 s expiry tick; the core runs the router's 1 s tick.
 */
#include "daemon.h"

#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin.h"
#include "config/config.h"
#include "core/core.h"
#include "fwd/fwd.h"
#include "crypto/keys.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "nat64/nat64.h"
#include "tun/tun.h"

/*
 * Buffers in the packet pool. Each holds a whole frame (CORE_PKT_CAP) plus head- and
 * tailroom; the pool is allocated once and pages that are never used are never touched.
 */
enum { DAEMON_POOL_PKTS = 256 };
/*
 * The NAT64's state on disk (G 54): DataDir/DAEMON_SNAP_FILE, written every DAEMON_SNAP_EVERY
 * seconds and at stop.
 */
#define DAEMON_SNAP_FILE "nat64-state.msgpack"
enum { DAEMON_SNAP_EVERY = 30, PATH_MAX_DAEMON = 4096 };
/* Packets for the NAT64 that may wait while it runs (run_stage): errors about its output. */
enum { DAEMON_NAT64_LATER = 64 };

/*
 * The tunnel-routing loop guard (tun.h): the socket mark of our peer sockets, the TUN's
 * interface group and the priority of the first of the two policy rules. One ygg64 with tunnel
 * routing per network namespace: a second one would share the rules.
 */
enum {
	DAEMON_GUARD_MARK = 0x796767, /* "ygg" */
	DAEMON_GUARD_GROUP = 0x796767,
	DAEMON_GUARD_PREF = 32000, /* before the main table's rule (32766) */
};

struct daemon {
	uv_loop_t loop;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	unsigned open_handles;
	bool is_stopping;
	bool core_open;	 /* core_start ran: core_close must run before core_free */
	bool admin_open; /* likewise for the admin socket */
	bool tun_open;	 /* likewise for the TUN */

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
	/* tunnel routing: the preferred source of each family's routes (len 0: none) */
	struct inet_prefix src4, src6;
	/*
	 * NAT64 (plain or fused): the translator, its 1 s expiry timer, the pool it was given
	 * (NAT64.Pool4, or the node's first IPv4 local subnet as a /32), and the packets for it
	 * that wait while it runs (run_stage).
	 */
	struct nat64 *nat64;
	uv_timer_t nat64_timer;
	struct config_nat64 nat_cfg;
	struct inet_prefix own_pool;
	bool in_nat64;
	struct pkt_queue nat64_later;
	/* its snapshot: the path (NULL: DataDir ""), armed once the old one was read */
	char *snap_path;
	bool is_snap_armed;
	unsigned snap_ticks;
	/* where each packet goes next (fwd.h) */
	struct fwd fwd;
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

/*
 * sd_notify(3) without libsystemd: one datagram to the AF_UNIX socket $NOTIFY_SOCKET names (a
 * leading '@' is the abstract namespace). Nothing when it is unset; a failure is logged.
 */
static void sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	socklen_t len;
	int fd;

	if (!path || !*path)
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
		log_warn("NOTIFY_SOCKET %s is not a socket path: not notifying", path);
		return;
	}
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		log_warn_errno(-errno, "sd_notify %s to %s", state, path);
	if (fd >= 0)
		close(fd);
}

void daemon_notify_ready(struct daemon *d, int notify_fd)
{
	(void)d;
	if (notify_fd > 0) {
		ssize_t n;

		do
			n = write(notify_fd, "\n", 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			log_warn_errno(-errno, "-notifyfd %d: cannot write", notify_fd);
		close(notify_fd);
	}
	sd_notify_state("READY=1");
	log_info("Ready");
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
	pkt_queue_init(&d->nat64_later, DAEMON_NAT64_LATER);
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

/* ---- the data path: fwd names the stage, these carry the packet there ---- */

/* A NAT64 packet that arrived while the NAT64 was running, and the stage it waits for. */
struct later_cb {
	uint8_t stage;
};
_Static_assert(sizeof(struct later_cb) <= PKT_CB_SIZE, "later_cb fits pkt->cb");

static void to_core(void *ctx, struct pkt *p)
{
	struct daemon *d = ctx;

	core_send_ip(d->core, p);
}

static void nat64_run(struct daemon *d, enum fwd_stage s, struct pkt *p)
{
	uint64_t now = uv_now(&d->loop);

	if (s == FWD_NAT64_6TO4)
		nat64_input6(d->nat64, p, now);
	else
		nat64_input4(d->nat64, p, now);
}

/*
 * Carries p to stage s. The NAT64 is never entered twice: a packet for it that comes up while
 * it runs (an ICMP error tunnel routing makes about a translated packet, F 43) waits in
 * nat64_later until the outer call has returned.
 */
static void run_stage(struct daemon *d, enum fwd_stage s, struct pkt *p)
{
	switch (s) {
	case FWD_OVERLAY6:
	case FWD_TUNNEL:
		/* A GSO read or translation is cut into whole packets for the overlay. */
		if (p->off.gso_type != PKT_GSO_NONE)
			tun_segment(d->tun, p, to_core, d);
		else
			core_send_ip(d->core, p);
		return;
	case FWD_NAT64_6TO4:
	case FWD_NAT64_4TO6:
		if (d->in_nat64) {
			((struct later_cb *)p->cb)->stage = (uint8_t)s;
			pkt_queue_push(&d->nat64_later, p); /* full: freed and counted */
			return;
		}
		d->in_nat64 = true;
		nat64_run(d, s, p);
		while ((p = pkt_queue_pop(&d->nat64_later)))
			nat64_run(d, (enum fwd_stage)((struct later_cb *)p->cb)->stage, p);
		d->in_nat64 = false;
		return;
	case FWD_TUN:
		tun_write(d->tun, p);
		return;
	default:
		pkt_free(p); /* FWD_DROP: fwd counted why */
		return;
	}
}

/* A packet from the kernel. */
static void on_tun_packet(void *ctx, struct pkt *p)
{
	struct daemon *d = ctx;

	run_stage(d, fwd_classify(&d->fwd, FWD_FROM_TUN, p->data, p->len), p);
}

/* A packet the NAT64 translated or generated. */
static void on_nat64_out(void *ctx, struct pkt *p)
{
	struct daemon *d = ctx;

	run_stage(d, fwd_classify(&d->fwd, FWD_FROM_NAT64, p->data, p->len), p);
}

/* A packet from the core for this host: delivered by a session, or an ICMP error. */
static void on_core_ip(void *ctx, struct pkt *p)
{
	struct daemon *d = ctx;

	run_stage(d, fwd_classify(&d->fwd, FWD_FROM_OVERLAY, p->data, p->len), p);
}

static bool fwd_wants6(void *ctx, const uint8_t *b, size_t len)
{
	struct daemon *d = ctx;

	return nat64_wants6(d->nat64, b, len);
}

static bool fwd_wants4(void *ctx, const uint8_t *b, size_t len)
{
	struct daemon *d = ctx;

	return nat64_wants4(d->nat64, b, len);
}

static bool fwd_routed4(void *ctx, const uint8_t dst[4])
{
	struct daemon *d = ctx;

	return core_tunnel_routed4(d->core, dst);
}

/* The routing decision's inputs: the NAT64 (once it exists) and tunnel routing. */
static void setup_fwd(struct daemon *d, bool v4_to_tun)
{
	struct fwd_ops ops = {.ctx = d};

	if (d->nat64) {
		ops.wants6 = fwd_wants6;
		ops.wants4 = fwd_wants4;
	}
	if (d->cfg->tunnel.is_enabled)
		ops.routed4 = fwd_routed4;
	fwd_init(&d->fwd, &ops, v4_to_tun);
}

static int start_tun(struct daemon *d)
{
	uint32_t mtu = core_ip_mtu(d->core);
	const struct config_tunnel *tr = &d->cfg->tunnel;
	struct tun_params tp = {
	    .ifname = d->cfg->if_name,
	    .mtu = mtu,
	    .txqueuelen = (uint32_t)d->cfg->if_txqueuelen,
	    /* YggdrasilRouting: false leaves the TUN without 200::/7 (yggdrasilckr's option) */
	    .addr6 = !tr->is_enabled || tr->ygg_routing ? d->address : NULL,
	    .pool = d->pool,
	    .keep_gso = d->cfg->nat64.is_enabled,
	    .recv = on_tun_packet,
	    .ctx = d,
	};

	if (!strcmp(d->cfg->if_name, "none")) {
		if (tr->is_enabled) {
			log_error(
			    "TunnelRouting is enabled, but IfName is none: there is no TUN to "
			    "route its subnets into");
			return -EINVAL;
		}
		if (d->cfg->nat64.is_enabled) {
			log_error("NAT64 is enabled, but IfName is none: there is no TUN for its "
				  "clients' packets");
			return -EINVAL;
		}
		log_info("TUN disabled (IfName: none)");
		return 0;
	}
	d->tun = tun_open(&d->loop, &tp);
	if (!d->tun)
		return -EIO;
	d->tun_open = true;
	d->open_handles++;
	core_set_ip_output(d->core, on_core_ip, d);
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

/* ---- tunnel routing: addresses, routes, loop guard ---- */

/*
 * The preferred source of the family's routes: its first host-length local subnet, else the
 * address of its first Address; len 0 when there is none.
 */
static void pick_source(struct daemon *d, uint8_t family, struct inet_prefix *out)
{
	const struct config_tunnel *t = &d->cfg->tunnel;
	const struct inet_prefix *v = family == AF_INET ? t->ipv4_local : t->ipv6_local;
	size_t n = family == AF_INET ? t->n_ipv4_local : t->n_ipv6_local;
	unsigned host = family == AF_INET ? 32 : 128;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (v[i].len == host) {
			*out = v[i];
			return;
		}
	}
	for (size_t i = 0; i < t->n_addresses; i++) {
		if (t->addresses[i].family == family) {
			*out = t->addresses[i];
			out->len = (uint8_t)host;
			return;
		}
	}
}

static int on_route_hook(void *ctx, bool is_add, const struct inet_prefix *p)
{
	struct daemon *d = ctx;
	const struct inet_prefix *src = p->family == AF_INET ? &d->src4 : &d->src6;

	if (!d->cfg->tunnel.install_routes)
		return 0; /* InstallRoutes: false: routing is the admin's */
	if (is_add)
		return tun_add_route(d->tun, p, src->len ? src : NULL);
	return tun_del_route(d->tun, p);
}

static bool same_addr(const struct inet_prefix *a, const struct inet_prefix *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

struct route_walk {
	struct daemon *d;
	int err;
};

static void install_one(void *ctx, const struct inet_prefix *p, const uint8_t *key)
{
	struct route_walk *w = ctx;
	char ps[INET_PREFIXSTRLEN_MAX], hex[17];

	log_info("TunnelRouting: %s -> %s...", inet_prefix_format(p, ps), hex_encode(key, 8, hex));
	if (!w->err)
		w->err = on_route_hook(w->d, true, p);
}

/* Warns about a family that has remote subnets but no local one: nothing could be sent. */
static void warn_no_local(const struct config_tunnel *t, uint8_t family)
{
	size_t nr = family == AF_INET ? t->n_ipv4_remote : t->n_ipv6_remote;
	size_t nl = family == AF_INET ? t->n_ipv4_local : t->n_ipv6_local;
	const char *f = family == AF_INET ? "IPv4" : "IPv6";

	for (size_t i = 0; i < t->n_addresses; i++)
		nl += t->addresses[i].family == family;
	if (nr && !nl)
		log_warn("TunnelRouting: %s remote subnets but no %sLocalSubnets or %s Addresses: "
			 "every %s packet from the TUN will be refused (its source is not local)",
			 f, f, f, f);
}

/*
 * The local addresses on the TUN, a kernel route per remote subnet (InstallRoutes), the loop
 * guard and the route hook for the admin socket's changes. A failure stops the start.
 */
static int start_tunnel(struct daemon *d)
{
	const struct config_tunnel *t = &d->cfg->tunnel;
	const struct tun_guard g = {DAEMON_GUARD_MARK, DAEMON_GUARD_GROUP, DAEMON_GUARD_PREF};
	struct route_walk w = {d, 0};
	int r;

	warn_no_local(t, AF_INET);
	warn_no_local(t, AF_INET6);
	if (!t->ygg_routing)
		log_info("TunnelRouting: YggdrasilRouting is false: no 200::/7 traffic on the TUN");
	for (int fam = 0; fam < 2; fam++) {
		const struct inet_prefix *v = fam ? t->ipv6_local : t->ipv4_local;
		size_t n = fam ? t->n_ipv6_local : t->n_ipv4_local;
		unsigned host = fam ? 128 : 32;

		for (size_t i = 0; i < n; i++) {
			bool is_listed = false;

			if (v[i].len != host)
				continue; /* a network behind this node, not an address of it */
			for (size_t j = 0; j < t->n_addresses; j++)
				is_listed |= same_addr(&v[i], &t->addresses[j]);
			if (!is_listed && (r = tun_add_addr(d->tun, &v[i])) < 0)
				return r;
		}
	}
	for (size_t i = 0; i < t->n_addresses; i++)
		if ((r = tun_add_addr(d->tun, &t->addresses[i])) < 0)
			return r;
	pick_source(d, AF_INET, &d->src4);
	pick_source(d, AF_INET6, &d->src6);
	core_foreach_remote_subnet(d->core, install_one, &w);
	if (w.err < 0)
		return w.err;
	if (!t->install_routes)
		log_info("TunnelRouting: InstallRoutes is false: no kernel routes installed");
	r = tun_guard_install(d->tun, &g);
	if (r < 0)
		return r;
	core_set_sock_mark(d->core, DAEMON_GUARD_MARK);
	core_set_route_hook(d->core, on_route_hook, d);
	return 0;
}

/* ---- NAT64, plain mode ---- */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void snap_id(const struct daemon *d, struct nat64_snap_id *id)
{
	memcpy(id->key, d->key, sizeof(id->key));
	memcpy(id->prefix, d->nat_cfg.prefix.addr, sizeof(id->prefix));
	id->prefix_len = d->nat_cfg.prefix.len;
}

/* Writes the snapshot (G 54); at stop (is_final) the count is logged. */
static void snap_save(struct daemon *d, bool is_final)
{
	struct nat64_snap_id id;
	uint8_t *buf = NULL;
	size_t len = 0, n = nat64_session_count(d->nat64);
	int r;

	snap_id(d, &id);
	r = nat64_snap_encode(d->nat64, &id, uv_now(&d->loop), wall_ms(), &buf, &len);
	if (r == 0)
		r = file_write_atomic(d->snap_path, buf, len);
	free(buf);
	if (r < 0) {
		log_warn_errno(r, "NAT64: cannot save the state to %s", d->snap_path);
		return;
	}
	if (is_final)
		log_info("NAT64: saved %zu sessions to %s", n, d->snap_path);
	else
		log_debug("NAT64: saved %zu sessions to %s (%zu bytes)", n, d->snap_path, len);
}

/*
 * Reads the snapshot back, before the TUN carries traffic (the loop has not run yet). One
 * that cannot be used is reported and kept aside as PATH.bad for a look, never fatal.
 */
static void snap_restore(struct daemon *d)
{
	struct nat64_snap_id id;
	struct nat64_snap_stats st;
	char err[256] = "", bad[PATH_MAX_DAEMON];
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t wall = wall_ms();
	int r;

	d->is_snap_armed = true;
	r = file_read_all(d->snap_path, NAT64_SNAP_MAX, &buf, &len);
	if (r == -ENOENT) {
		log_info("NAT64: no saved state in %s yet", d->snap_path);
		return;
	}
	if (r < 0) {
		snprintf(err, sizeof(err), "%s",
			 r == -EFBIG ? "larger than the most a snapshot may be" : strerror(-r));
	} else {
		snap_id(d, &id);
		uv_update_time(&d->loop);
		r = nat64_snap_restore(d->nat64, &id, buf, len, uv_now(&d->loop), wall, &st, err,
				       sizeof(err));
	}
	free(buf);
	if (r < 0) {
		snprintf(bad, sizeof(bad), "%s.bad", d->snap_path);
		log_warn("NAT64: ignoring %s: %s; starting with empty tables (the file is kept as "
			 "%s)",
			 d->snap_path, err, bad);
		if (rename(d->snap_path, bad) < 0)
			log_warn_errno(-errno, "NAT64: cannot rename %s", d->snap_path);
		return;
	}
	log_info("NAT64: restored %zu of %zu sessions from %s (%zu expired, %zu refused), saved "
		 "%llu s ago",
		 st.restored, st.sessions, d->snap_path, st.expired, st.refused,
		 (unsigned long long)(wall > st.saved ? (wall - st.saved) / 1000 : 0));
}

/* DataDir: made (0700) when missing, as systemd's StateDirectory would. */
static int snap_setup(struct daemon *d)
{
	const char *dir = d->cfg->nat64.data_dir;
	size_t n;

	if (!dir || !*dir)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error_errno(-errno, "NAT64.DataDir %s: cannot create it", dir);
		return -errno;
	}
	n = strlen(dir) + sizeof("/" DAEMON_SNAP_FILE);
	if (n + sizeof(".bad") > PATH_MAX_DAEMON) {
		log_error("NAT64.DataDir %s: too long a path", dir);
		return -ENAMETOOLONG;
	}
	d->snap_path = xmalloc(n);
	snprintf(d->snap_path, n, "%s/%s", dir, DAEMON_SNAP_FILE);
	snap_restore(d);
	return 0;
}

static void on_nat64_tick(uv_timer_t *h)
{
	struct daemon *d = h->data;

	nat64_tick(d->nat64, uv_now(&d->loop));
	if (d->snap_path && d->is_snap_armed && ++d->snap_ticks >= DAEMON_SNAP_EVERY) {
		d->snap_ticks = 0;
		snap_save(d, false);
	}
}

/*
 * True when a is one of this host's addresses (in this network namespace): binding a socket
 * to it works. A pool address must not be: the kernel delivers packets to its own addresses
 * before any route, so the translator would never see the replies, and it drops packets that
 * come in with one of its own addresses as the source (a "martian"), so it would not take the
 * translated ones either. In the fused mode the daemon receives those packets itself.
 */
static bool is_host_address(const uint8_t a[4])
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool is_local;

	if (fd < 0)
		return false;
	memcpy(&sa.sin_addr, a, 4);
	is_local = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return is_local;
}

/* The warnings of the seed's common pitfalls, once at start. */
static void warn_nat64_host(const struct daemon *d, bool pool_is_host)
{
	const struct config_nat64 *c = &d->nat_cfg;
	uint16_t lo, hi;
	int fw = tun_ipv6_forwarding();

	if (fw == 0)
		log_warn("NAT64: net.ipv6.conf.all.forwarding is 0: this host translates for "
			 "itself only, and clients on other hosts cannot reach %s through it; set "
			 "it to 1 (sysctl -w net.ipv6.conf.all.forwarding=1)",
			 inet_prefix_format(&c->prefix, (char[INET_PREFIXSTRLEN_MAX]){0}));
	if (pool_is_host && tun_local_port_range(&lo, &hi) == 0 && lo <= c->port_max &&
	    hi >= c->port_min)
		log_warn(
		    "NAT64: the host's ephemeral ports %u-%u (net.ipv4.ip_local_port_range) "
		    "overlap NAT64.PortRange %u-%u on the pool address, which the host shares: "
		    "the host's own connections from those ports lose their replies to the "
		    "translator; move one of the two ranges",
		    lo, hi, c->port_min, c->port_max);
}

/*
 * The translator. Plain mode (no tunnel routing): Prefix and every Pool4 entry are routed
 * into the TUN, and translated packets go back to the kernel; a pool address may not be the
 * host's (is_host_address). Fused mode (issue 13): the pool defaults to the node's own /32
 * from IPv4LocalSubnets, already on the TUN, so the host's sockets share it below PortRange;
 * translated IPv4 goes straight into tunnel routing, and replies come back from the overlay
 * (fwd.h). A pool address that is not the host's is routed into the TUN in both modes.
 */
static int start_nat64(struct daemon *d)
{
	const struct config_tunnel *t = &d->cfg->tunnel;
	struct config_nat64 *c = &d->nat_cfg;
	bool is_fused = t->is_enabled, pool_is_host = false, v4_to_tun = true;
	struct tun_info ti;
	struct nat64_params np = {
	    .cfg = c,
	    .pool = d->pool,
	    .out4 = on_nat64_out,
	    .out6 = on_nat64_out,
	    .ctx = d,
	};
	char ps[INET_PREFIXSTRLEN_MAX];
	int r;

	*c = d->cfg->nat64;
	if (!c->n_pool4 && is_fused && t->n_ipv4_local) {
		d->own_pool = t->ipv4_local[0];
		d->own_pool.len = 32;
		c->pool4 = &d->own_pool;
		c->n_pool4 = 1;
	}
	for (size_t i = 0; i < c->n_pool4; i++) {
		bool is_host = c->pool4[i].len == 32 && is_host_address(c->pool4[i].addr);

		if (is_host && !is_fused) {
			log_error("NAT64.Pool4 %s is an address of this host: in plain mode the "
				  "kernel keeps every packet to it for itself and the translator "
				  "never sees the replies; pick an address the host does not have, "
				  "or turn TunnelRouting on (fused mode shares it)",
				  inet_prefix_format(&c->pool4[i], ps));
			return -EADDRINUSE;
		}
		pool_is_host |= is_host;
	}
	/* With a pool address of the host's, IPv4 the overlay cannot take has nowhere to go. */
	v4_to_tun = !pool_is_host;
	tun_get_info(d->tun, &ti);
	np.mtu6 = ti.mtu;
	/* F 41: IPv4 leaves over the overlay, whose session MTU is the TUN's in v0.5 */
	np.mtu4 = is_fused ? core_ip_mtu(d->core) : ti.mtu;
	d->nat64 = nat64_new(&np);
	if (!d->nat64)
		return -EINVAL;
	r = tun_add_route(d->tun, &c->prefix, NULL);
	if (r < 0)
		return r;
	/* NAT64.Blackhole: the rest of the routed prefix, as the seed did by hand */
	if (c->blackhole.family == AF_INET6 && (r = tun_add_blackhole(d->tun, &c->blackhole)) < 0)
		return r;
	for (size_t i = 0; i < c->n_pool4; i++) {
		if (c->pool4[i].len == 32 && is_host_address(c->pool4[i].addr))
			continue; /* the host's: its packets reach us from the overlay (fused) */
		if ((r = tun_add_route(d->tun, &c->pool4[i], NULL)) < 0)
			return r;
	}
	r = snap_setup(d);
	if (r < 0)
		return r;
	r = uv_timer_init(&d->loop, &d->nat64_timer);
	if (r < 0)
		return r;
	d->nat64_timer.data = d;
	d->open_handles++;
	r = uv_timer_start(&d->nat64_timer, on_nat64_tick, 1000, 1000);
	if (r < 0)
		return r;
	setup_fwd(d, v4_to_tun);
	warn_nat64_host(d, pool_is_host);
	log_info("NAT64 (%s): %s -> %s%s, ports %u-%u, %s filtering, MSS clamp %s%s",
		 is_fused ? "fused with tunnel routing" : "plain",
		 inet_prefix_format(&c->prefix, ps),
		 c->pool4[0].len == 32
		     ? inet_addr_format(&c->pool4[0], (char[INET_PREFIXSTRLEN_MAX]){0})
		     : inet_prefix_format(&c->pool4[0], (char[INET_PREFIXSTRLEN_MAX]){0}),
		 c->n_pool4 > 1 ? " and more" : "", c->port_min, c->port_max,
		 c->filtering == CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT ? "address-dependent"
								       : "endpoint-independent",
		 c->mss_clamp ? "on" : "off", pool_is_host ? " (pool shared with the host)" : "");
	return 0;
}

/* Keys that are accepted but whose feature is not built yet: warned about at every start. */
static int check_unbuilt(const struct config *cfg)
{
	size_t nmc = 0;

	for (size_t i = 0; i < cfg->n_mcast; i++)
		nmc += cfg->mcast[i].beacon || cfg->mcast[i].listen;
	if (nmc)
		log_warn("MulticastInterfaces: multicast peer discovery is not built yet: its %zu "
			 "entr%s ignored (no beacons sent, none listened for); configure Peers or "
			 "Listen, or set MulticastInterfaces: [] to silence this",
			 nmc, nmc == 1 ? "y is" : "ies are");
	if (!cfg->tunnel.is_enabled && (cfg->tunnel.n_ipv4_remote || cfg->tunnel.n_ipv6_remote))
		log_warn("TunnelRouting.Enable is false: its %zu remote subnets are not used",
			 cfg->tunnel.n_ipv4_remote + cfg->tunnel.n_ipv6_remote);
	return 0;
}

/*
 * Keeps CAP_NET_ADMIN across setuid, and nothing else: with tunnel routing, every new peer
 * socket carries the loop guard's SO_MARK and the admin socket changes kernel routes.
 */
static int keep_net_admin(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];

	memset(c, 0, sizeof(c));
	c[CAP_TO_INDEX(CAP_NET_ADMIN)].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	c[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, c) < 0)
		return -errno;
	return 0;
}

/*
 * Parses "user[:group]" and switches to it. Without a group, the user's primary group. With
 * is_net_admin, CAP_NET_ADMIN stays (keep_net_admin).
 */
static int drop_privileges(const char *spec, bool is_net_admin)
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
	if (is_net_admin && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0) {
		r = -errno;
		log_error_errno(r, "-user: cannot keep CAP_NET_ADMIN");
		goto out;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
		r = -errno;
		log_error_errno(r, "-user: cannot switch to %s", spec);
		goto out;
	}
	if (is_net_admin && (r = keep_net_admin()) < 0) {
		log_error_errno(r, "-user: cannot keep CAP_NET_ADMIN for tunnel routing");
		goto out;
	}
	log_info("Dropped privileges to uid %u gid %u%s", (unsigned)pw->pw_uid, (unsigned)gid,
		 is_net_admin ? ", keeping CAP_NET_ADMIN (tunnel routing)" : "");
out:
	free(name);
	return r;
}

int daemon_start(struct daemon *d, const char *user)
{
	char hex[65], buf[INET_ADDRSTRLEN_MAX];
	int r;

	hex_encode(d->key, 32, hex);
	log_info("Build name: ygg64");
	log_info("Build version: %s", YGG64_VERSION);
	log_info("Your public key is %s", hex);
	log_info("Your IPv6 address is %s", inet_ntop6(d->address, buf));
	{
		uint8_t full[16] = {0};

		memcpy(full, d->subnet, sizeof(d->subnet));
		log_info("Your IPv6 subnet is %s/64", inet_ntop6(full, buf));
	}

	r = check_unbuilt(d->cfg);
	if (r < 0)
		return r;
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
	if (d->tun && d->cfg->tunnel.is_enabled && (r = start_tunnel(d)) < 0)
		return r;
	setup_fwd(d, true);
	if (d->tun && d->cfg->nat64.is_enabled && (r = start_nat64(d)) < 0)
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
	admin_set_nat64(d->admin, d->nat64);
	d->admin_open = true;
	d->open_handles++;
	r = admin_start(d->admin);
	if (r < 0)
		return r;
	if (user) {
		r = drop_privileges(user, d->cfg->tunnel.is_enabled || d->cfg->nat64.is_enabled);
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

/* The data path's totals, once at stop: every origin -> stage that carried a packet. */
static void log_fwd(const struct daemon *d)
{
	static const char *const origins[FWD_NORIGINS] = {"tun", "overlay", "nat64"};
	char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (int o = 0; o < FWD_NORIGINS; o++)
		for (int s = 0; s < FWD_NSTAGES; s++)
			if (d->fwd.n[o][s] && n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s->%s %llu",
						      n ? ", " : "", origins[o], fwd_stage_name(s),
						      (unsigned long long)d->fwd.n[o][s]);
	if (n)
		log_info("Data path: %s (malformed %llu, dropped with the NAT64 busy %llu)", buf,
			 (unsigned long long)d->fwd.dropped[FWD_D_MALFORMED],
			 (unsigned long long)d->nat64_later.drops);
}

void daemon_stop(struct daemon *d)
{
	if (d->is_stopping)
		return;
	d->is_stopping = true;
	sd_notify_state("STOPPING=1");
	log_fwd(d);
	if (d->nat64 && d->is_snap_armed)
		snap_save(d, true); /* before anything closes: the tables are whole */
	if (d->admin_open)
		admin_close(d->admin, on_module_closed, d);
	if (d->core_open)
		core_close(d->core, on_module_closed, d);
	if (d->tun_open)
		tun_close(d->tun, on_module_closed, d);
	close_handle(d, (uv_handle_t *)&d->nat64_timer);
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
	pkt_queue_purge(&d->nat64_later);
	nat64_free(d->nat64);
	free(d->snap_path);
	r = uv_loop_close(&d->loop);
	if (r < 0)
		log_error("uv_loop_close: %s", uv_strerror(r));
	pkt_pool_free(d->pool);
	keys_free(d->kp);
	free(d);
}

int daemon_main(const struct config *cfg, struct keypair *kp, const char *user, int notify_fd)
{
	struct daemon *d = daemon_new(cfg, kp);
	int r;

	if (!d)
		return 1;
	r = daemon_start(d, user);
	if (r == 0) {
		daemon_notify_ready(d, notify_fd);
		r = daemon_run(d);
	}
	daemon_free(d);
	if (r == 0)
		log_info("Stopped");
	return r == 0 ? 0 : 1;
}
