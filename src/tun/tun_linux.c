/*
 * tun_linux: the Linux TUN device (see tun.h; spec sessions-core-admin §5.4).
 *
 * Owns: the /dev/net/tun file descriptor (O_NONBLOCK | O_CLOEXEC, IFF_TUN | IFF_NO_PI), the
 * uv_poll_t watching it and the counters. Packets read are pool pkts handed to the receive
 * callback, which then owns them; pkts given to tun_write are freed before it returns (a write
 * to a TUN is a synchronous, atomic copy into the kernel, so nothing is held in flight).
 *
 * Configuration goes through rtnetlink (netlink.c), one request and one ACK per step: MTU and
 * queue length (RTM_NEWLINK/IFLA_MTU, IFLA_TXQLEN), link up (RTM_NEWLINK/IFF_UP), then the
 * address (RTM_NEWADDR, addr/7 with IFA_F_NODAD). The MTU comes first because IPv6 is disabled
 * on a device whose MTU is below 1280, and the address last because the kernel's 200::/7 prefix
 * route then lands on a link that is already up.
 *
 * Every address, route and fib rule the tun installs (that address, tun_add_addr, tun_add_route,
 * tun_guard_install) is remembered in t->owned until it is removed: tun_del_route forgets its
 * route, and tun_close removes what is left while the device still exists. Closing the device
 * would take its addresses and routes with it, but not the rules, which belong to no device.
 *
 * Invariants: the fd stays open until the poll handle's close callback, so a read or write
 * racing with tun_close never hits a closed (or reused) descriptor; once is_closing is set no
 * packet is read or written. The read loop stops after READ_BATCH packets so one busy device
 * cannot starve links and timers (the poll is level-triggered: it fires again next iteration).
 *
 * Offloads (vnet.h): the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO
 * and USO), as yggdrasil-go's TUN does, so every read and write starts with a virtio_net_hdr.
 * A read lands VNET_HDR_LEN bytes before pkt->data, in the headroom, so the IP packet starts
 * at pkt->data; a checksum left to us is completed and a GSO packet is cut into pieces, each
 * one pool pkt. Writes are queued for the rest of the loop iteration (at most WRITE_BATCH),
 * then merged per flow (GRO) and written with writev, header first. A kernel that refuses
 * IFF_VNET_HDR (or TUNSETOFFLOAD) gets plain packets, written at once.
 *
 * Handles: the poll, and a check plus an idle handle that flush the write queue at the end of
 * the loop iteration (the idle one keeps the loop from sleeping when a timer queued a write).
 * With offloads a read can become dozens of pkts, so reading pauses (poll stopped) while fewer
 * than read_reserve pool pkts are free, and resumes from the pkt_free that gives enough back
 * (pkt_pool_notify_room), wherever in the loop iteration that happens: a check handle could
 * run before the link's flush that frees them, and the loop would then sleep with reading off.
 * Meanwhile the kernel queues (and, when its queue is full, drops) what is sent to the device:
 * backpressure, not a busy loop.
 *
 * Receive moderation, as a NIC's interrupt coalescing (ethtool rx-usecs): a read pass that
 * emptied the device's queue after at least REST_MIN packets stops the poll and arms rest_fd,
 * a timerfd, for REST_USEC; its expiry resumes reading. Under a flood of small packets each
 * pass then finds tens of packets instead of a handful, so the loop wakes, polls, meets EAGAIN
 * and writes its links once per tens of packets. In a netns pair at 190 kpps of 64-byte UDP
 * the sending daemon used about 10 % less CPU, the receiving one 7 %, and the host switched
 * context 20-35 % less often. TCP segments without data do not count: ACKs pace their sender,
 * and resting on bursts of them cost 4-5 % of a TCP transfer's throughput at IfMTU 1280. A
 * lone packet or bulk TCP (64 KB reads, cut apart here) never fills a pass either, so their
 * latency is untouched; a flood's packets wait at most REST_USEC more.
 * The device's queue (txqlen) holds far more than a rest's worth.
 *
 * Timers: none of libuv's; rest_fd (above) is a timerfd.
 */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h> /* before the linux/ headers, which defer to it (libc-compat.h) */
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#ifndef TUN_F_USO4 /* Linux 6.2 (include/uapi/linux/if_tun.h); Debian 12's headers are 6.1 */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "lib/inet.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "tun/netlink.h"
#include "tun/vnet.h"

enum {
	READ_BATCH = 64,  /* packets per readiness callback (fairness, see the header) */
	WRITE_BATCH = 64, /* writes queued before a flush (see the header) */
	/*
	 * Reading pauses while fewer pool pkts than this are free: one TSO packet at MTU 1280
	 * becomes 55 pieces, and pieces that find the pool empty are lost.
	 */
	READ_RESERVE = 64,
	SCRATCH_LEN = 64, /* reads that only drop a packet: the kernel discards the rest */
	/*
	 * Receive moderation (see the header): a read pass that emptied the device's queue after
	 * at least REST_MIN packets makes reading rest for REST_USEC.
	 */
	REST_MIN = 8,
	REST_USEC = 250,
	MTU_MIN = 1280, /* RFC 8200 §5 */
	MTU_MAX = 65535,
	ADDR6_PLEN = 7,		/* 200::/7 (spec §4.2: the TUN gets address/7) */
	ADDR_WAIT_MS = 1000,	/* for the address's local route (wait_local) */
	RULE_PREF_MAIN = 32766, /* the kernel's "from all lookup main" */
	RULES_STALE_MAX = 64,	/* earlier rules like a guard's that tun_guard_install deletes */
	DESCRIBE_LEN = 80,	/* describe()'s text */
};

struct tun {
	uv_poll_t poll;
	uv_poll_t rest_poll; /* rest_fd, a timerfd: the end of a rest */
	uv_check_t flush_check;
	uv_idle_t flush_idle;
	uv_loop_t *loop;
	int fd;
	int rest_fd; /* -1: no receive moderation (timerfd refused) */
	bool is_closing;
	bool is_resting; /* receive moderation: poll stopped until rest_fd expires */
	bool can_rest;	 /* rest_fd is watched */
	bool has_vnet;	 /* IFF_VNET_HDR: a virtio_net_hdr before every packet */
	bool is_flush_scheduled;
	bool is_read_paused; /* the pool was low: poll stopped until on_room */
	bool keep_gso;	     /* tun_params.keep_gso: GSO reads go to recv whole */
	size_t read_reserve; /* READ_RESERVE, or half of a smaller pool */
	unsigned offloads;   /* TUN_F_* that TUNSETOFFLOAD accepted */
	int open_handles;    /* handles whose close callback is still due */
	struct pkt_queue wq; /* writes waiting for the end of the loop iteration */
	unsigned ifindex;
	char name[IFNAMSIZ];
	uint32_t mtu;
	uint32_t txqlen; /* IFLA_TXQLEN: the ring the kernel fills and we read */
	struct pkt_pool *pool;
	tun_recv_cb *recv;
	void *ctx;
	tun_closed_cb *done;
	void *done_arg;
	struct tun_info stats;
	struct log_ratelimit rl;
	struct owned *owned; /* what we installed, oldest first (xreallocarray'd) */
	size_t nowned;
	uint8_t scratch[SCRATCH_LEN];
};

/* ---- what we install: addresses, routes, the loop guard's rules ---- */

/* Also the order tun_close removes them in: a route may use an address as its source. */
enum owned_kind { OWNED_ROUTE, OWNED_BLACKHOLE, OWNED_ADDR, OWNED_RULE };

/* Something the tun put into the kernel. A rule is known by p.family, pref and mark. */
struct owned {
	enum owned_kind kind;
	struct inet_prefix p; /* the address or route */
	uint32_t pref;
	uint32_t mark;
};

static bool is_same(const struct owned *a, const struct owned *b)
{
	if (a->kind != b->kind || a->p.family != b->p.family)
		return false;
	if (a->kind == OWNED_RULE)
		return a->pref == b->pref && a->mark == b->mark;
	return a->p.len == b->p.len &&
	       memcmp(a->p.addr, b->p.addr, a->p.family == AF_INET ? 4 : 16) == 0;
}

static struct owned *owned_find(struct tun *t, const struct owned *o)
{
	for (size_t i = 0; i < t->nowned; i++)
		if (is_same(&t->owned[i], o))
			return &t->owned[i];
	return NULL;
}

static void remember(struct tun *t, const struct owned *o)
{
	if (owned_find(t, o))
		return; /* replaced in the kernel: still one to remove */
	t->owned = xreallocarray(t->owned, t->nowned + 1, sizeof(*t->owned));
	t->owned[t->nowned++] = *o;
}

/* Forgets o, keeping the order of the others. */
static void forget(struct tun *t, const struct owned *o)
{
	struct owned *f = owned_find(t, o);

	if (!f)
		return;
	t->nowned--;
	memmove(f, f + 1, (size_t)(t->owned + t->nowned - f) * sizeof(*f));
}

static struct owned rule_owned(uint8_t family, uint32_t pref, uint32_t mark)
{
	return (struct owned){.kind = OWNED_RULE, .p.family = family, .pref = pref, .mark = mark};
}

/* "route 192.0.2.0/24", "address 2001:db8::1/128", "IPv4 rule 100 fwmark 0x42". */
static void describe(const struct owned *o, char *buf, size_t n)
{
	char s[INET_PREFIXSTRLEN_MAX];

	if (o->kind == OWNED_RULE)
		snprintf(buf, n, "IPv%d rule %" PRIu32 " fwmark %#" PRIx32,
			 o->p.family == AF_INET ? 4 : 6, o->pref, o->mark);
	else
		snprintf(buf, n, "%s %s",
			 o->kind == OWNED_ROUTE	      ? "route"
			 : o->kind == OWNED_BLACKHOLE ? "blackhole route"
						      : "address",
			 inet_prefix_format(&o->p, s));
}

/*
 * Removes everything the tun installed, newest first within each kind: routes, addresses,
 * rules. The newest first makes a guard's catch-all rule (added first) go last, so a marked
 * packet never finds the lookup rule without it. Failures are logged, and the rest goes on.
 */
static void uninstall_all(struct tun *t)
{
	for (int kind = OWNED_ROUTE; kind <= OWNED_RULE; kind++) {
		for (size_t i = t->nowned; i-- > 0;) {
			const struct owned *o = &t->owned[i];
			char s[DESCRIBE_LEN];
			int err;

			if (o->kind != (enum owned_kind)kind)
				continue;
			if (o->kind == OWNED_ROUTE)
				err = nl_del_route(t->ifindex, &o->p);
			else if (o->kind == OWNED_BLACKHOLE)
				err = nl_del_blackhole(&o->p);
			else if (o->kind == OWNED_ADDR)
				err = nl_del_addr(t->ifindex, &o->p);
			else
				err = nl_del_rule(o->p.family, o->pref, o->mark);
			describe(o, s, sizeof(s));
			if (err == -ENOENT)
				log_debug("tun %s: %s was already gone", t->name, s);
			else if (err < 0)
				log_warn_errno(err, "tun %s: remove %s", t->name, s);
		}
	}
	free(t->owned);
	t->owned = NULL;
	t->nowned = 0;
}

/* An IPv4 or IPv6 prefix whose length is min_len up to the family's full length. */
static bool is_prefix_ok(const struct inet_prefix *p, unsigned min_len)
{
	if (p->family != AF_INET && p->family != AF_INET6)
		return false;
	return p->len >= min_len && p->len <= (p->family == AF_INET ? 32 : 128);
}

/* ---- device ---- */

/*
 * Asks for every offload vnet.c handles, then for fewer as older kernels refuse them: USO came
 * with Linux 6.2, TSO and checksum offload long before. Without any, packets still carry the
 * (then empty) vnet header.
 */
static void set_offloads(struct tun *t, int fd)
{
	static const unsigned tries[] = {
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	    TUN_F_CSUM,
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
			t->offloads = tries[i];
			return;
		}
	}
	log_warn_errno(-errno, "tun: TUNSETOFFLOAD: no offloads, one packet per read");
}

/* Opens /dev/net/tun and attaches it to the interface named by (or templated by) ifname. */
static int open_device(struct tun *t, const char *ifname)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		log_error_errno(err, "tun: open /dev/net/tun");
		return err;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	/*
	 * IFF_TUN: L3 packets; IFF_NO_PI: no 4-byte protocol header, the version nibble tells;
	 * IFF_VNET_HDR: the offload header (see the top of the file), if the kernel has it.
	 */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	t->has_vnet = true;
	int r = ioctl(fd, TUNSETIFF, &ifr);
	if (r < 0 && errno == EINVAL) { /* perhaps a kernel without IFF_VNET_HDR */
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		t->has_vnet = false;
		r = ioctl(fd, TUNSETIFF, &ifr);
	}
	if (r < 0) {
		int err = -errno;
		log_error_errno(err, "tun %s: TUNSETIFF", ifname);
		close(fd);
		return err;
	}
	if (t->has_vnet)
		set_offloads(t, fd);
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	t->ifindex = if_nametoindex(t->name);
	if (!t->ifindex) {
		int err = -errno;
		log_error_errno(err, "tun %s: interface index", t->name);
		close(fd);
		return err;
	}
	t->fd = fd;
	return 0;
}

/*
 * A NODAD address skips duplicate address detection, but the kernel still installs its local
 * route from a work queue just after RTM_NEWADDR is acknowledged; until then packets written
 * to the device for the address are discarded (Ip6InAddrErrors). Waiting here (typically not
 * at all, at most ADDR_WAIT_MS) makes the address usable when tun_add_addr returns. IPv4's
 * local route is there with the ACK: the first look finds it.
 */
static void wait_local(const struct tun *t, const struct inet_prefix *a)
{
	for (int ms = 0; ms < ADDR_WAIT_MS; ms++) {
		if (nl_is_local(a))
			return;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	char s[INET_ADDRSTRLEN_MAX];
	log_warn("tun %s: address %s is not local after %d ms; continuing", t->name,
		 inet_addr_format(a, s), ADDR_WAIT_MS);
}

static int configure(struct tun *t, const uint8_t *addr6)
{
	int err = nl_set_link(t->ifindex, &(struct nl_link){.mtu = t->mtu, .txqlen = t->txqlen});
	if (err < 0) {
		log_error_errno(err, "tun %s: set MTU %u", t->name, (unsigned)t->mtu);
		return err;
	}
	err = nl_set_link(t->ifindex, &(struct nl_link){.flags = IFF_UP, .change = IFF_UP});
	if (err < 0) {
		log_error_errno(err, "tun %s: set link up", t->name);
		return err;
	}
	if (!addr6)
		return 0;
	struct inet_prefix a = {.family = AF_INET6, .len = ADDR6_PLEN};
	memcpy(a.addr, addr6, sizeof(a.addr));
	return tun_add_addr(t, &a);
}

static bool params_ok(const struct tun_params *p)
{
	if (!p->ifname || !p->ifname[0] || strlen(p->ifname) >= IFNAMSIZ) {
		log_error("tun: bad interface name \"%s\" (1 to %d bytes)",
			  p->ifname ? p->ifname : "", IFNAMSIZ - 1);
		return false;
	}
	if (strchr(p->ifname, '/') || strchr(p->ifname, ' ')) {
		log_error("tun: bad interface name \"%s\"", p->ifname);
		return false;
	}
	if (p->mtu < MTU_MIN || p->mtu > MTU_MAX) {
		log_error("tun: MTU %u outside %d..%d", (unsigned)p->mtu, MTU_MIN, MTU_MAX);
		return false;
	}
	if (!p->pool || !p->recv) {
		log_error("tun: no packet pool or receive callback");
		return false;
	}
	return true;
}

/* ---- data path ---- */

/* Reads and discards one packet; true when one was there. Used when the pool is empty. */
static bool drop_one(struct tun *t)
{
	ssize_t n = read(t->fd, t->scratch, sizeof(t->scratch));
	/* A short buffer truncates the packet (the kernel frees the rest); EFAULT is a drop too. */
	return n >= 0 || errno == EFAULT;
}

/*
 * True when d[0..n) is one whole IPv4 or IPv6 packet: the version nibble (IFF_NO_PI) is 4 or 6
 * and the header's length field (RFC 791 total length, RFC 8200 §3 payload length + 40) equals
 * what was read. A packet larger than the read buffer comes back truncated to the buffer with
 * no error (the kernel drops the rest), so this is also how oversized packets are caught.
 */
static bool is_whole_ip(const uint8_t *d, size_t n)
{
	if (n >= 20 && d[0] >> 4 == 4)
		return (size_t)(d[2] << 8 | d[3]) == n;
	if (n >= 40 && d[0] >> 4 == 6)
		return 40 + (size_t)(d[4] << 8 | d[5]) == n;
	return false;
}

/* Logs an unexpected read/write error, at most a few per second. */
static void log_io_error(struct tun *t, const char *op, int err)
{
	if (log_enabled(LOG_LEVEL_WARN) && log_ratelimit_ok(&t->rl, uv_now(t->loop))) {
		log_ratelimit_report(&t->rl, LOG_LEVEL_WARN);
		log_msg_errno(LOG_LEVEL_WARN, err, "tun %s: %s", t->name, op);
	}
}

/*
 * Cuts the GSO packet p (len bytes at p->data) into pieces, each a pool pkt handed to cb, and
 * frees p. A piece that finds the pool empty is dropped and counted; rx_gso is the caller's.
 */
static void cut_gso(struct tun *t, struct pkt *p, size_t len, const struct vnet_hdr *h,
		    tun_recv_cb *cb, void *ctx)
{
	struct vnet_seg s;

	if (vnet_seg_plan(p->data, len, h, &s) < 0) {
		t->stats.rx_drops++;
		pkt_free(p);
		return;
	}
	for (size_t k = 0; k < s.nseg && !t->is_closing; k++) {
		struct pkt *q = pkt_alloc(t->pool);

		if (!q) {
			t->stats.no_pkt += s.nseg - k;
			break;
		}
		if (pkt_tailroom(q) < s.hlen + s.mss) {
			t->stats.rx_drops++;
			pkt_free(q);
			continue;
		}
		q->len = vnet_seg_write(p->data, &s, k, q->data);
		t->stats.rx_packets++;
		cb(ctx, q);
	}
	pkt_free(p);
}

/* The gso_type of the virtio header for a pkt's offload state, and back. */
static uint8_t gso_to_vnet(const struct pkt_offload *o)
{
	uint8_t ecn = o->is_gso_ecn ? VIRTIO_NET_HDR_GSO_ECN : 0;

	switch (o->gso_type) {
	case PKT_GSO_TCP4:
		return VIRTIO_NET_HDR_GSO_TCPV4 | ecn;
	case PKT_GSO_TCP6:
		return VIRTIO_NET_HDR_GSO_TCPV6 | ecn;
	case PKT_GSO_UDP:
		return VIRTIO_NET_HDR_GSO_UDP_L4;
	default:
		return VIRTIO_NET_HDR_GSO_NONE;
	}
}

/* The virtio header that describes p's offload state (tun_write of a keep_gso pkt). */
static void off_to_hdr(const struct pkt *p, struct vnet_hdr *h)
{
	const struct pkt_offload *o = &p->off;

	memset(h, 0, sizeof(*h));
	h->gso_type = gso_to_vnet(o);
	if (o->is_csum_partial) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = o->csum_start;
		h->csum_offset = o->csum_offset;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		h->gso_size = o->gso_size;
		/* hdr_len: all the headers, a hint the kernel recomputes (as yggdrasil-go sends) */
		h->hdr_len = (uint16_t)(o->csum_start +
					(o->gso_type == PKT_GSO_UDP ? 8
					 : (size_t)o->csum_start + 12 < p->len
					     ? (p->data[o->csum_start + 12] >> 4) * 4
					     : 20));
	}
}

static bool has_off(const struct pkt *p)
{
	return p->off.gso_type != PKT_GSO_NONE || p->off.is_csum_partial;
}

/*
 * keep_gso: records the GSO packet p (len bytes) in p->off after vnet_seg_plan accepted it,
 * so that the receiver can translate it whole. False (p freed, counted) when it is not one
 * this module could cut either.
 */
static bool keep_gso(struct tun *t, struct pkt *p, size_t len, const struct vnet_hdr *h)
{
	struct vnet_seg s;
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (vnet_seg_plan(p->data, len, h, &s) < 0) {
		t->stats.rx_drops++;
		pkt_free(p);
		return false;
	}
	t->stats.rx_gso++;
	p->off.gso_type = type == VIRTIO_NET_HDR_GSO_TCPV4   ? PKT_GSO_TCP4
			  : type == VIRTIO_NET_HDR_GSO_TCPV6 ? PKT_GSO_TCP6
							     : PKT_GSO_UDP;
	p->off.is_gso_ecn = (h->gso_type & VIRTIO_NET_HDR_GSO_ECN) != 0;
	p->off.gso_size = h->gso_size;
	p->off.is_csum_partial = true;
	p->off.csum_start = h->csum_start;
	p->off.csum_offset = h->csum_offset;
	return true;
}

/*
 * The vnet header of a read of n bytes (header included) into p: completes a checksum left to
 * us, or cuts a GSO packet (which consumes p) unless keep_gso. True when p is now a packet to
 * hand on.
 */
static bool vnet_in(struct tun *t, struct pkt *p, size_t n)
{
	struct vnet_hdr h;

	if (n < VNET_HDR_LEN) {
		t->stats.rx_drops++;
		pkt_free(p);
		return false;
	}
	vnet_hdr_get(p->data - VNET_HDR_LEN, &h);
	if ((h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
		if (t->keep_gso)
			return keep_gso(t, p, n - VNET_HDR_LEN, &h);
		t->stats.rx_gso++;
		cut_gso(t, p, n - VNET_HDR_LEN, &h, t->recv, t->ctx);
		return false;
	}
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    vnet_csum_finish(p->data, n - VNET_HDR_LEN, &h) < 0) {
		t->stats.rx_drops++;
		pkt_free(p);
		return false;
	}
	return true;
}

void tun_segment(struct tun *t, struct pkt *p, tun_recv_cb *cb, void *ctx)
{
	struct vnet_hdr h;

	if (p->off.gso_type == PKT_GSO_NONE) {
		cb(ctx, p);
		return;
	}
	off_to_hdr(p, &h);
	cut_gso(t, p, p->len, &h, cb, ctx); /* rx_gso counted it when it was read */
}

static void on_readable(uv_poll_t *h, int status, int events);

/* Reading stops for two reasons, a low pool and a rest; it resumes when neither holds. */
static void read_resume(struct tun *t)
{
	if (t->is_read_paused || t->is_resting || t->is_closing)
		return;
	uv_poll_start(&t->poll, UV_READABLE, on_readable);
}

/* The pool has read_reserve pkts free again (pkt_pool_notify_room). */
static void on_room(void *ctx)
{
	struct tun *t = ctx;

	t->is_read_paused = false;
	read_resume(t);
}

static void rest(struct tun *t)
{
	struct itimerspec its = {.it_value = {.tv_nsec = REST_USEC * 1000L}};

	if (!t->can_rest || timerfd_settime(t->rest_fd, 0, &its, NULL) < 0)
		return;
	t->is_resting = true;
	t->stats.rx_rests++;
	uv_poll_stop(&t->poll);
}

static void on_rest_end(uv_poll_t *h, int status, int events)
{
	struct tun *t = container_of(h, struct tun, rest_poll);
	uint64_t expirations;

	(void)status;
	(void)events;
	if (read(t->rest_fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return; /* not expired yet */
	t->is_resting = false;
	read_resume(t);
}

static void read_pause(struct tun *t)
{
	if (t->is_read_paused)
		return;
	t->is_read_paused = true;
	uv_poll_stop(&t->poll);
	pkt_pool_notify_room(t->pool, t->read_reserve, on_room, t);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct tun *t = container_of(h, struct tun, poll);
	int got = 0;
	bool drained = false;
	(void)events;
	if (status < 0)
		/* POLLERR: the interface was deleted under us; the read below reports it. */
		log_io_error(t, "poll", status);
	for (int i = 0; i < READ_BATCH && !t->is_closing; i++) {
		if (t->has_vnet && pkt_pool_avail(t->pool) < t->read_reserve) {
			read_pause(t);
			break;
		}
		struct pkt *p = pkt_alloc(t->pool);
		if (!p) {
			/*
			 * Drop and count (STYLE.md §5) rather than stop polling: leaving packets in
			 * the kernel queue would keep the level-triggered poll firing anyway, and
			 * the queue holds stale packets once pkts come back.
			 */
			if (!drop_one(t))
				break;
			t->stats.no_pkt++;
			continue;
		}
		/* The vnet header lands in the headroom, the IP packet at p->data. */
		size_t hl = t->has_vnet ? VNET_HDR_LEN : 0;
		size_t cap = pkt_tailroom(p);
		ssize_t n = read(t->fd, p->data - hl, cap + hl);
		if (n < 0) {
			int err = errno;
			pkt_free(p);
			if (err == EAGAIN || err == EWOULDBLOCK) {
				drained = true;
				break;
			}
			if (err == EINTR)
				continue;
			if (err == EFAULT) { /* did not fit: the kernel dropped it */
				t->stats.rx_drops++;
				continue;
			}
			/* EBADFD/EIO: the device is gone; stop rather than spin on POLLERR. */
			log_io_error(t, "read", err);
			log_error("tun %s: device failed, no longer reading", t->name);
			uv_poll_stop(&t->poll);
			break;
		}
		if (hl && !vnet_in(t, p, (size_t)n))
			continue;
		if (!is_whole_ip(p->data, (size_t)n - hl)) {
			t->stats.rx_drops++;
			pkt_free(p);
			continue;
		}
		p->len = (size_t)n - hl;
		t->stats.rx_packets++;
		/*
		 * ACKs clock their sender: they never make a rest (header). Past REST_MIN the
		 * count is settled, so the rest of a busy pass is not parsed for it.
		 */
		if (got < REST_MIN && !vnet_tcp_no_payload(p->data, p->len))
			got++;
		t->recv(t->ctx, p);
	}
	if (drained && got >= REST_MIN && !t->is_closing && !t->is_read_paused)
		rest(t);
}

/*
 * A TUN write hands the packet to the kernel's receive path synchronously and atomically: it
 * either fails whole or succeeds whole, and never blocks for long. On EAGAIN (the socket's send
 * budget is used up) the packet is dropped instead of queued: the device is an IP link, IP is
 * best effort, and the senders' congestion control reacts to loss; a queue here would only add
 * latency on top of the kernel's own backlog and pin pool pkts that the links need.
 * npkts: how many of the caller's packets the write carries (counted as one each).
 */
static void write_dev(struct tun *t, const struct vnet_hdr *h, const uint8_t *b, size_t len,
		      size_t npkts)
{
	uint8_t hb[VNET_HDR_LEN];
	struct iovec iov[2] = {{hb, sizeof(hb)}, {(void *)b, len}};
	size_t want = len;
	ssize_t n;

	if (h) {
		vnet_hdr_put(hb, h);
		want += sizeof(hb);
	}
	do
		n = h ? writev(t->fd, iov, 2) : write(t->fd, b, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)want) {
		t->stats.tx_packets += npkts;
	} else {
		t->stats.tx_drops += npkts;
		/* EAGAIN/ENOBUFS are congestion; anything else (EINVAL: not IP) is worth a log. */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			log_io_error(t, "write", errno);
	}
}

/*
 * Writes the queued packets, merged per flow (vnet.h). Each packet either joins the newest
 * merge of its flow or starts a merge of its own; merges are written in the order they were
 * started, so a flow's packets keep their order. A packet that cannot take part closes the
 * open merge of its flow (a pure ACK, say: vnet_flow_id), or every open merge when its flow
 * cannot be told (not TCP or UDP, a fragment).
 */
static void flush_writes(struct tun *t)
{
	struct vnet_gro g[WRITE_BATCH];
	struct pkt *gp[WRITE_BATCH];
	bool merging[WRITE_BATCH];
	size_t ng = 0;
	struct pkt *p;

	while (ng < WRITE_BATCH && (p = pkt_queue_pop(&t->wq))) {
		struct vnet_flow f;
		size_t i = ng;

		merging[ng] = !has_off(p) && vnet_gro_parse(p->data, p->len, &f);
		if (!merging[ng]) {
			/* Only its own flow's merge must not take packets sent after it. */
			bool known = vnet_flow_id(p->data, p->len, &f);

			for (size_t j = 0; j < ng; j++)
				if (!known ||
				    (merging[j] && vnet_gro_same_flow(&g[j], p->data, &f)))
					g[j].is_closed = true;
			g[ng].head = p->data;
			g[ng].len = p->len;
			gp[ng++] = p;
			continue;
		}
		while (i-- > 0)
			if (merging[i] && vnet_gro_same_flow(&g[i], p->data, &f))
				break;
		if (i != (size_t)-1) {
			if (vnet_gro_append(&g[i], p->data, &f)) {
				pkt_free(p);
				continue;
			}
			g[i].is_closed = true;
		}
		vnet_gro_start(&g[ng], p->data, p->len, (size_t)(p->end - p->data), &f);
		gp[ng++] = p;
	}
	for (size_t i = 0; i < ng; i++) {
		struct vnet_hdr h = {0};
		size_t len = merging[i] ? vnet_gro_finish(&g[i], &h) : g[i].len;
		size_t n = merging[i] ? g[i].nseg : 1;

		if (!merging[i] && has_off(gp[i]))
			off_to_hdr(gp[i], &h);
		if (n > 1) {
			t->stats.tx_gro++;
			t->stats.tx_gro_pkts += n;
		}
		write_dev(t, &h, gp[i]->data, len, n);
		pkt_free(gp[i]);
	}
}

static void flush_unschedule(struct tun *t)
{
	if (!t->is_flush_scheduled)
		return;
	t->is_flush_scheduled = false;
	uv_check_stop(&t->flush_check);
	uv_idle_stop(&t->flush_idle);
}

static void flush_all(struct tun *t)
{
	flush_unschedule(t);
	while (pkt_queue_len(&t->wq))
		flush_writes(t);
}

static void on_check(uv_check_t *h)
{
	flush_all(container_of(h, struct tun, flush_check));
}

static void on_flush_idle(uv_idle_t *h)
{
	flush_all(container_of(h, struct tun, flush_idle));
}

void tun_write(struct tun *t, struct pkt *p)
{
	if (t->is_closing) {
		t->stats.tx_drops++;
		pkt_free(p);
		return;
	}
	if (!t->has_vnet) {
		if (has_off(p))
			t->stats.tx_drops++;
		else
			write_dev(t, NULL, p->data, p->len, 1);
		pkt_free(p);
		return;
	}
	if (pkt_queue_len(&t->wq) >= WRITE_BATCH)
		flush_writes(t);
	pkt_queue_push(&t->wq, p);
	if (!t->is_flush_scheduled) {
		t->is_flush_scheduled = true;
		uv_check_start(&t->flush_check, on_check);
		uv_idle_start(&t->flush_idle, on_flush_idle);
	}
}

/* ---- lifecycle ---- */

/* Receive moderation's timer; without it the device is read as soon as it is readable. */
static void rest_open(struct tun *t)
{
	t->rest_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->rest_fd < 0) {
		log_warn_errno(-errno, "tun %s: timerfd_create: receive moderation off", t->name);
		return;
	}
	if (uv_poll_init(t->loop, &t->rest_poll, t->rest_fd) < 0) {
		log_warn("tun %s: cannot watch the timerfd: receive moderation off", t->name);
		close(t->rest_fd);
		t->rest_fd = -1;
		return;
	}
	/* From here the handle owns the fd until tun_close; a timer never armed never fires. */
	t->can_rest = uv_poll_start(&t->rest_poll, UV_READABLE, on_rest_end) == 0;
	if (!t->can_rest)
		log_warn("tun %s: cannot watch the timerfd: receive moderation off", t->name);
}

/* tun_open failed after uv_poll_init: nobody holds the struct, so it is freed here. */
static void on_failed_poll_closed(uv_handle_t *h)
{
	struct tun *t = container_of(h, struct tun, poll);
	close(t->fd);
	tun_free(t);
}

struct tun *tun_open(uv_loop_t *loop, const struct tun_params *p)
{
	if (!params_ok(p))
		return NULL;
	struct tun *t = xcalloc(1, sizeof(*t));
	t->loop = loop;
	t->fd = -1;
	t->rest_fd = -1;
	t->mtu = p->mtu;
	t->txqlen = p->txqueuelen ? p->txqueuelen : TUN_TXQ_DEFAULT;
	t->pool = p->pool;
	t->recv = p->recv;
	t->ctx = p->ctx;
	t->keep_gso = p->keep_gso;
	t->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5, 1);

	struct pkt_pool_info pi;
	pkt_pool_info(p->pool, &pi);
	t->read_reserve = pi.capacity / 2 < READ_RESERVE ? pi.capacity / 2 : READ_RESERVE;
	if (pi.payload_cap < p->mtu)
		log_warn("tun: pool pkts hold %zu bytes, below MTU %u: larger packets are dropped",
			 pi.payload_cap, (unsigned)p->mtu);

	const char *ifname = strcmp(p->ifname, "auto") == 0 ? "ygg%d" : p->ifname;
	if (open_device(t, ifname) < 0)
		goto free_tun;
	if (configure(t, p->addr6) < 0)
		goto close_fd;
	int err = uv_poll_init(loop, &t->poll, t->fd);
	if (err < 0) {
		log_error("tun %s: uv_poll_init: %s", t->name, uv_strerror(err));
		goto close_fd;
	}
	err = uv_poll_start(&t->poll, UV_READABLE, on_readable);
	if (err < 0) {
		/* The handle is initialised: it must be closed, and the fd with it, later. */
		log_error("tun %s: uv_poll_start: %s", t->name, uv_strerror(err));
		uv_close((uv_handle_t *)&t->poll, on_failed_poll_closed);
		return NULL;
	}
	uv_check_init(loop, &t->flush_check);
	uv_idle_init(loop, &t->flush_idle);
	pkt_queue_init(&t->wq, WRITE_BATCH);
	rest_open(t);
	log_info("tun %s: up, MTU %u, offloads %s", t->name, (unsigned)t->mtu,
		 !t->has_vnet		    ? "none"
		 : t->offloads & TUN_F_USO4 ? "csum tso uso"
		 : t->offloads & TUN_F_TSO4 ? "csum tso"
		 : t->offloads		    ? "csum"
					    : "none");
	return t;

close_fd:
	/* Closing the last fd of a non-persistent TUN deletes the interface (and its address). */
	close(t->fd);
free_tun:
	tun_free(t);
	return NULL;
}

int tun_add_addr(struct tun *t, const struct inet_prefix *a)
{
	char s[INET_PREFIXSTRLEN_MAX];

	if (!is_prefix_ok(a, 1)) {
		log_error("tun %s: bad address: family %u, length %u", t->name, a->family, a->len);
		return -EINVAL;
	}
	int err = nl_add_addr(t->ifindex, a);
	if (err < 0) {
		log_error_errno(err, "tun %s: add address %s", t->name, inet_prefix_format(a, s));
		return err;
	}
	remember(t, &(struct owned){.kind = OWNED_ADDR, .p = *a});
	wait_local(t, a);
	return 0;
}

int tun_add_route(struct tun *t, const struct inet_prefix *dst, const struct inet_prefix *prefsrc)
{
	char s[INET_PREFIXSTRLEN_MAX], src[INET_ADDRSTRLEN_MAX] = "";

	if (!is_prefix_ok(dst, 0)) {
		log_error("tun %s: bad route: family %u, length %u", t->name, dst->family,
			  dst->len);
		return -EINVAL;
	}
	if (prefsrc && prefsrc->family != dst->family) {
		log_error("tun %s: route %s: the source is of another family", t->name,
			  inet_prefix_format(dst, s));
		return -EINVAL;
	}
	int err = nl_add_route(t->ifindex, dst, prefsrc);
	if (err < 0) {
		if (prefsrc)
			inet_addr_format(prefsrc, src);
		/* EINVAL here mostly means a prefsrc that is none of the host's addresses. */
		log_error_errno(err, "tun %s: add route %s%s%s%s", t->name,
				inet_prefix_format(dst, s), prefsrc ? " src " : "", src,
				err == -EEXIST ? ": the main table already routes that prefix (ygg64 "
						 "never replaces a route; remove it, or set "
						 "InstallRoutes: false and route it yourself)"
					       : "");
		return err;
	}
	remember(t, &(struct owned){.kind = OWNED_ROUTE, .p = *dst});
	return 0;
}

int tun_del_route(struct tun *t, const struct inet_prefix *dst)
{
	char s[INET_PREFIXSTRLEN_MAX];

	if (!is_prefix_ok(dst, 0)) {
		log_error("tun %s: bad route: family %u, length %u", t->name, dst->family,
			  dst->len);
		return -EINVAL;
	}
	int err = nl_del_route(t->ifindex, dst);
	if (err == 0 || err == -ENOENT)
		forget(t, &(struct owned){.kind = OWNED_ROUTE, .p = *dst});
	if (err == -ENOENT)
		log_warn("tun %s: no route %s to remove", t->name, inet_prefix_format(dst, s));
	else if (err < 0)
		log_error_errno(err, "tun %s: remove route %s", t->name,
				inet_prefix_format(dst, s));
	return err;
}

int tun_add_blackhole(struct tun *t, const struct inet_prefix *dst)
{
	char s[INET_PREFIXSTRLEN_MAX];

	if (!is_prefix_ok(dst, 1)) {
		log_error("tun %s: bad blackhole route: family %u, length %u", t->name, dst->family,
			  dst->len);
		return -EINVAL;
	}
	int err = nl_add_blackhole(dst);
	if (err < 0) {
		log_error_errno(
		    err, "tun %s: add blackhole route %s%s", t->name, inet_prefix_format(dst, s),
		    err == -EEXIST ? ": the main table already routes that prefix" : "");
		return err;
	}
	remember(t, &(struct owned){.kind = OWNED_BLACKHOLE, .p = *dst});
	return 0;
}

/* The first bytes of a /proc/sys file, NUL-terminated: their length, or a negative errno. */
static ssize_t read_sysctl(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = read(fd, buf, n - 1);
	r = r < 0 ? -errno : r;
	close(fd);
	buf[r < 0 ? 0 : r] = '\0';
	return r;
}

int tun_ipv6_forwarding(void)
{
	char buf[8];
	ssize_t r = read_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", buf, sizeof(buf));

	if (r < 0)
		return (int)r;
	return buf[0] == '1';
}

int tun_local_port_range(uint16_t *lo, uint16_t *hi)
{
	char buf[32];
	unsigned a, b;
	ssize_t r = read_sysctl("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));

	if (r < 0)
		return (int)r;
	if (sscanf(buf, "%u %u", &a, &b) != 2 || a > b || b > 65535)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/*
 * Deletes every rule of the family at pref with mark: an earlier run's, killed before its
 * tun_close could remove them (or our own, installed before). Bounded: that many is not ours.
 */
static int del_rules(const struct tun *t, uint8_t family, uint32_t pref, uint32_t mark)
{
	struct owned o = rule_owned(family, pref, mark);
	char s[DESCRIBE_LEN];

	describe(&o, s, sizeof(s));
	for (int n = 0; n < RULES_STALE_MAX; n++) {
		int err = nl_del_rule(family, pref, mark);
		if (err == -ENOENT) {
			if (n)
				log_info("tun %s: removed %d earlier %s", t->name, n, s);
			return 0;
		}
		if (err < 0) {
			log_error_errno(err, "tun %s: remove earlier %s", t->name, s);
			return err;
		}
	}
	log_error("tun %s: more than %d rules like %s", t->name, RULES_STALE_MAX, s);
	return -EEXIST;
}

int tun_guard_install(struct tun *t, const struct tun_guard *g)
{
	static const uint8_t families[] = {AF_INET, AF_INET6};
	int err;

	if (!g->mark || !g->group || !g->pref || g->pref >= RULE_PREF_MAIN - 1) {
		log_error("tun %s: bad loop guard: fwmark %#" PRIx32 ", group %" PRIu32
			  ", pref %" PRIu32 " (mark and group not 0, pref 1..%d)",
			  t->name, g->mark, g->group, g->pref, RULE_PREF_MAIN - 2);
		return -EINVAL;
	}
	err = nl_set_link(t->ifindex, &(struct nl_link){.group = g->group});
	if (err < 0) {
		log_error_errno(err, "tun %s: set interface group %" PRIu32, t->name, g->group);
		return err;
	}
	for (size_t i = 0; i < sizeof(families); i++) {
		/* The catch-all first: a marked packet never meets the lookup rule without it. */
		const struct nl_rule rules[2] = {
		    {.family = families[i],
		     .action = FR_ACT_UNREACHABLE,
		     .pref = g->pref + 1,
		     .mark = g->mark},
		    {.family = families[i],
		     .action = FR_ACT_TO_TBL,
		     .pref = g->pref,
		     .mark = g->mark,
		     .table = RT_TABLE_MAIN,
		     .group = g->group},
		};
		/*
		 * An earlier run's rules go before the new ones come (NLM_F_EXCL would refuse
		 * their twins), its lookup rule before its catch-all for the reason above.
		 */
		for (size_t k = 2; k-- > 0;) {
			err = del_rules(t, families[i], rules[k].pref, g->mark);
			if (err < 0)
				goto undo;
		}
		for (size_t k = 0; k < 2; k++) {
			struct owned o = rule_owned(families[i], rules[k].pref, g->mark);
			char s[DESCRIBE_LEN];

			err = nl_add_rule(&rules[k]);
			if (err < 0) {
				describe(&o, s, sizeof(s));
				log_error_errno(err, "tun %s: add %s", t->name, s);
				goto undo;
			}
			remember(t, &o);
		}
	}
	log_info("tun %s: loop guard: group %" PRIu32 ", rules %" PRIu32 " and %" PRIu32
		 " for fwmark %#" PRIx32,
		 t->name, g->group, g->pref, g->pref + 1, g->mark);
	return 0;

undo:
	/* Nothing of a failed guard is left: its lookup rules first, as uninstall_all does. */
	for (uint32_t pref = g->pref; pref <= g->pref + 1; pref++) {
		for (size_t i = 0; i < sizeof(families); i++) {
			struct owned o = rule_owned(families[i], pref, g->mark);

			if (owned_find(t, &o)) {
				nl_del_rule(families[i], pref, g->mark);
				forget(t, &o);
			}
		}
	}
	return err;
}

void tun_get_info(const struct tun *t, struct tun_info *out)
{
	*out = t->stats;
	out->has_vnet = t->has_vnet;
	out->offloads = t->offloads;
	memcpy(out->name, t->name, sizeof(out->name));
	out->mtu = t->mtu;
}

/*
 * The close callback owns the rest of the teardown: the fd is closed only now (libuv must stop
 * watching it first), then done runs; the owner frees the struct with tun_free.
 */
static void on_handle_closed(uv_handle_t *h)
{
	struct tun *t = h->data;
	if (--t->open_handles > 0)
		return;
	close(t->fd);
	t->fd = -1;
	if (t->rest_fd >= 0)
		close(t->rest_fd);
	t->rest_fd = -1;
	if (t->done)
		t->done(t->done_arg);
}

void tun_close(struct tun *t, tun_closed_cb *done, void *arg)
{
	t->is_closing = true;
	t->done = done;
	t->done_arg = arg;
	if (t->is_read_paused) /* the pool outlives us */
		pkt_pool_notify_room(t->pool, 0, NULL, NULL);
	flush_all(t);
	/* While the device still exists: its fd closes in the last close callback. */
	uninstall_all(t);
	/* keep_gso: GSO reads went on whole (most to the NAT64, the rest cut for the core). */
	log_info("tun %s: closed; read %" PRIu64 " packets (%" PRIu64 " GSO %s, %" PRIu64
		 " rests), wrote %" PRIu64 " (%" PRIu64 " in %" PRIu64
		 " merged writes); drops: read %" PRIu64 ", write %" PRIu64 ", no pkt %" PRIu64,
		 t->name, t->stats.rx_packets, t->stats.rx_gso, t->keep_gso ? "kept" : "cut",
		 t->stats.rx_rests,
		 t->stats.tx_packets, t->stats.tx_gro_pkts, t->stats.tx_gro, t->stats.rx_drops,
		 t->stats.tx_drops, t->stats.no_pkt);
	t->open_handles = 3;
	t->poll.data = t->flush_check.data = t->flush_idle.data = t;
	uv_close((uv_handle_t *)&t->poll, on_handle_closed);
	uv_close((uv_handle_t *)&t->flush_check, on_handle_closed);
	uv_close((uv_handle_t *)&t->flush_idle, on_handle_closed);
	if (t->rest_fd >= 0) {
		t->open_handles++;
		t->rest_poll.data = t;
		uv_close((uv_handle_t *)&t->rest_poll, on_handle_closed);
	}
}

void tun_free(struct tun *t)
{
	if (!t)
		return;
	free(t->owned); /* NULL after tun_close; set when tun_open failed */
	free(t);
}
