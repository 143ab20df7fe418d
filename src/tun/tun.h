/*
 * tun: the node's TUN interface. It carries IPv6 (the 200::/7 address and 300::/64 subnet,
 * later NAT64 clients) and, for tunnel routing, IPv4, in one device (IFF_TUN | IFF_NO_PI: the
 * IP version is the first nibble of each packet). The daemon sets the address, MTU, link state
 * and routes itself through netlink (libmnl): no `ip` commands.
 *
 * Reads drain the device until EAGAIN (at most a bounded batch per loop iteration) into pool
 * pkts (one uv_poll_t on the fd) and hand each packet to the receive callback; tun_write
 * consumes its pkt. With the kernel's offloads (IFF_VNET_HDR), a large TCP or UDP send reaches
 * us as one read and is cut into MTU-sized packets here, and the writes of one loop iteration
 * are merged per flow before they reach the kernel (tun_linux.c, vnet.h).
 *
 * Lifecycle: tun_open -> tun_close (always, once open succeeded) -> done callback -> tun_free.
 * IfName "none" (no TUN) is the caller's business: it simply does not call tun_open.
 */
#ifndef YGG64_TUN_TUN_H
#define YGG64_TUN_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inet_prefix;
struct pkt;
struct pkt_pool;
struct tun;
typedef struct uv_loop_s uv_loop_t;

/*
 * A packet read from the device: an IPv4 or IPv6 datagram (first nibble 4 or 6, checked) at
 * pkt->data. Consumes p. The callback may call tun_write and tun_close.
 */
typedef void tun_recv_cb(void *ctx, struct pkt *p);
typedef void tun_closed_cb(void *arg);

/*
 * The device's queue towards us (txqueuelen), in packets. The kernel drops what does not fit,
 * so this is what absorbs the packets that arrive while the loop waits for a CPU or works
 * elsewhere; TUN's own default is 500. Measured in a netns pair with 64-byte UDP at 200 kpps
 * on two busy vCPUs, three runs each: 1000 lost 3.5/8.2/10.2 %, 2000 2.1/6.3/5.1 %, 3000
 * 0.2/1.1/3.9 %. The price is the delay a flood can build: 3000 small packets are about 15 ms
 * at that rate. TCP senders on this host are bounded by their send buffers (tcp_wmem), not by
 * this queue: the TUN orphans its packets, so TCP small queues do not apply. Config key
 * IfTxQueueLen.
 */
enum { TUN_TXQ_DEFAULT = 3000 };

/* Everything here is borrowed for the duration of tun_open, except pool and ctx (see below). */
struct tun_params {
	/*
	 * An interface name (at most 15 bytes), a kernel template such as "ygg%d", or "auto",
	 * which means "ygg%d" (the first free ygg0, ygg1, ...). yggdrasil-go lets the kernel
	 * use its default "tun%d" instead.
	 */
	const char *ifname;
	uint32_t mtu;	       /* 1280..65535 (IPv6 needs 1280) */
	uint32_t txqueuelen;   /* the device's queue towards us, in packets; 0: TUN_TXQ_DEFAULT */
	const uint8_t *addr6;  /* 16 bytes: our 200::/7 address, installed as addr6/7; or NULL */
	struct pkt_pool *pool; /* reads allocate from it; must outlive the tun */
	/*
	 * With offloads: hand a GSO packet read (a TCP or UDP send of up to 64 KiB) to recv whole,
	 * with p->off describing it (pkt.h: gso_type, gso_size, the partial checksum), instead of
	 * cutting it into MTU-sized packets first. The receiver translates it as one packet (the
	 * NAT64) or cuts it with tun_segment. Packets that are not GSO arrive as without it.
	 */
	bool keep_gso;
	tun_recv_cb *recv;
	void *ctx; /* passed to recv; must outlive the tun */
};

struct tun_info {
	char name[16];
	uint32_t mtu;
	uint64_t rx_packets; /* handed to the receive callback */
	uint64_t tx_packets; /* written to the device */
	uint64_t rx_drops;   /* read but not one whole IPv4/IPv6 packet (or above a pool pkt) */
	uint64_t tx_drops;   /* tun_write failures: device full (EAGAIN), refused, or closing */
	uint64_t no_pkt;     /* read and dropped because the pkt pool was empty */
	uint64_t rx_rests;   /* receive moderation: rests taken after a busy read pass */
	/* Offloads (vnet.h): */
	bool has_vnet;	     /* IFF_VNET_HDR in use */
	unsigned offloads;   /* TUN_F_* the kernel accepted */
	uint64_t rx_gso;     /* GSO packets read and cut (their pieces count in rx_packets) */
	uint64_t tx_gro;     /* merged packets written */
	uint64_t tx_gro_pkts; /* packets that went into them (also counted in tx_packets) */
};

/*
 * Opens the device, sets its MTU, brings it up, adds addr6/7 (IFA_F_NODAD, so it is usable at
 * once; the kernel adds the 200::/7 route with it) and starts reading. NULL after logging why
 * (e.g. no CAP_NET_ADMIN, a bad name or MTU).
 */
struct tun *tun_open(uv_loop_t *loop, const struct tun_params *p);
/*
 * Writes one IP packet to the device, at once or (with offloads) at the end of the loop
 * iteration. Consumes p; drops (counted) when the device is full. A pkt with offload state
 * (p->off: GSO or a partial checksum, as a keep_gso read or a translation of one leaves it) is
 * written as such, with its own virtio_net_hdr, and never merged with others; without
 * offloads on the device it is dropped (counted in tx_drops: the kernel never sends GSO to a
 * device that did not ask for it, so only a bug makes one).
 */
void tun_write(struct tun *t, struct pkt *p);
/*
 * Cuts a GSO pkt (a keep_gso read, p->off.gso_type set) into whole packets, each a new pool
 * pkt handed to cb(ctx, piece) as a plain read would be, and frees p (consumed); a pkt
 * without GSO goes to cb as it is. Pieces that find the pool empty, or a GSO packet that is
 * not one the TUN can cut, are dropped and counted (no_pkt, rx_drops).
 */
void tun_segment(struct tun *t, struct pkt *p, tun_recv_cb *cb, void *ctx);
/*
 * Addresses, routes and rules the daemon installs itself (tunnel routing, later NAT64), through
 * rtnetlink. Each one added is remembered, and tun_close removes every one still there
 * (routes, then addresses, then rules) before it closes the device, which would drop the
 * addresses and routes but not the rules; so that none outlives the daemon, even if a later
 * version keeps the device. Arguments are borrowed for the call. Each returns 0, or a negative
 * errno after logging why (a bad family or length is -EINVAL). Blocking: call them at start
 * and on configuration changes, not per packet.
 */
/*
 * Puts address a on the device: a->addr is the address itself (host bits kept, so parse it
 * with inet_addr_parse and set len; inet_prefix_parse would clear them), a->len its prefix
 * length, 1 to 32 or 1 to 128. The kernel adds the on-link route of a length below the full
 * one. IPv6 goes without duplicate address detection (IFA_F_NODAD) and is waited for as the
 * 200::/7 address is, so the address is usable when the call returns. Adding one that is
 * already there is not an error.
 */
int tun_add_addr(struct tun *t, const struct inet_prefix *a);
/*
 * Routes dst (IPv4 or IPv6 prefix, e.g. a tunnel-routing subnet or the NAT64 prefix) through
 * the device in the main table, with prefsrc (NULL: none; same family as dst, else -EINVAL;
 * one of the host's addresses, else the kernel's -EINVAL) as the preferred source address, as
 * `ip route add DST dev IF src PREFSRC` would. A route to the same prefix (and metric) that is
 * already in the main table, through any device, is never replaced: -EEXIST, logged with a
 * hint (so a remote subnet 0.0.0.0/0 cannot take over the host's default route).
 */
int tun_add_route(struct tun *t, const struct inet_prefix *dst, const struct inet_prefix *prefsrc);
/*
 * Removes the main table's route to dst through the device (tun_add_route's, and forgets it).
 * -ENOENT when there is none (already gone).
 */
int tun_del_route(struct tun *t, const struct inet_prefix *dst);
/*
 * A blackhole route to dst (length 1 or more) in the main table, not through the device: the
 * rest of a routed prefix around the NAT64 prefix (NAT64.Blackhole). Never replaces a route
 * (-EEXIST); removed with the routes at tun_close.
 */
int tun_add_blackhole(struct tun *t, const struct inet_prefix *dst);
/* net.ipv6.conf.all.forwarding: 1 on, 0 off, or a negative errno when it cannot be read. */
int tun_ipv6_forwarding(void);
/* net.ipv4.ip_local_port_range: the host's ephemeral ports. 0, or a negative errno. */
int tun_local_port_range(uint16_t *lo, uint16_t *hi);

/*
 * The loop guard of tunnel routing (nat64-requirements §F 49): the daemon's own peer sockets
 * carry the socket mark g->mark (SO_MARK), and these policy rules, for IPv4 and for IPv6, keep
 * them from ever following a route through the device:
 *
 *   pref g->pref:     fwmark g->mark lookup main suppress_ifgroup g->group
 *   pref g->pref + 1: fwmark g->mark unreachable
 *
 * with the device in interface group g->group. A marked packet takes the route main gives it
 * when that route is not through the device, and fails with ENETUNREACH when it is; the local
 * table (pref 0) still comes first. Rules of the same family, pref and mark already there (an
 * earlier run's, killed before it could remove them, or an earlier call's) are deleted first,
 * so each rule ends up there once; install before the guarded sockets send. On failure no rule
 * of the guard is left. tun_close removes the rules.
 */
struct tun_guard {
	uint32_t mark;	/* SO_MARK of the guarded sockets; not 0 */
	uint32_t group; /* interface group of the device (IFLA_GROUP); not 0 (the default group) */
	uint32_t pref; /* priority of the first rule: 1 to 32764, so both are before main's 32766 */
};
int tun_guard_install(struct tun *t, const struct tun_guard *g);
void tun_get_info(const struct tun *t, struct tun_info *out);
/*
 * Stops reading and closes the device (which deletes the interface); done(arg) runs from the
 * poll handle's close callback (done may be NULL). tun_write after tun_close drops (counted).
 * Call it once; it may be called from the receive callback.
 */
void tun_close(struct tun *t, tun_closed_cb *done, void *arg);
/* Frees a tun whose close has completed. NULL is ignored. */
void tun_free(struct tun *t);

#endif
