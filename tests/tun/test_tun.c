/*
 * Tests for tun/tun_linux against the real kernel. Each test that opens a device first moves
 * its own process (Criterion runs every test in a separate process) into a fresh network
 * namespace with unshare(CLONE_NEWNET), so the host's interfaces are never touched and names
 * such as ygg0 are always free. Without root, /dev/net/tun or namespaces the test is skipped
 * with the reason, on stderr and in Criterion's report: it never passes silently.
 *
 * Covered: the configuration (MTU, UP, 200::/7 address with NODAD and its route, IFF_TUN |
 * IFF_NO_PI), "auto" naming, explicit names, a static route, parameter checks; the read side
 * (a UDP datagram sent through the 200::/7 route arrives byte for byte; IPv4 and junk injected
 * with an AF_PACKET socket: IPv4 passes, a bad version nibble is dropped and counted; packets
 * larger than a pool pkt; pool exhaustion and recovery; a burst larger than one read batch,
 * in order and at most 64 per loop iteration; tun_close from inside the receive callback); the
 * write side (a packet written to the device reaches a UDP socket bound to our address; junk
 * and writes after close are dropped and counted); what the daemon installs, read back with
 * rtnetlink dumps (IPv4 and IPv6 addresses, routes with a preferred source, route deletion,
 * the loop guard's rules and interface group, an earlier run's rules replaced, everything
 * removed by tun_close while the device still exists) and the guard at work on marked
 * sockets. Every device test ends with all pkts back in the pool and uv_loop_close() == 0.
 */
#include "tun/tun.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/pkt.h"
#include "support/refcsum.h"
#include "support/uvwait.h"

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h> /* UDP_SEGMENT */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#ifndef TUN_F_USO6 /* Linux 6.2 uapi */
#define TUN_F_USO6 0x40
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

enum {
	TEST_MTU = 1400,
	PEER_PORT = 5555, /* UDP port of the (imaginary) remote node behind the tun */
	LOCAL_PORT = 6000,
	MAX_RX = 512,
	BURST = 300,
};

/* 200:1234::1 (ours) and 200:1234::2 (a remote node reached through the /7 route). */
static const uint8_t our_addr[16] = {0x02, 0x00, 0x12, 0x34, [15] = 0x01};
static const uint8_t peer_addr[16] = {0x02, 0x00, 0x12, 0x34, [15] = 0x02};

static struct {
	uv_loop_t loop;
	uv_timer_t tick; /* wakes uv_run(UV_RUN_ONCE) so waits can time out */
	uv_check_t check;
	struct pkt_pool *pool;
	struct tun *tun;
	bool is_closed;
	bool close_in_recv;
	int rx_all;	  /* every packet the callback got */
	int rx_udp;	  /* of which UDP datagrams to PEER_PORT */
	int rx_v4;	  /* of which IPv4 */
	int since_check;  /* packets delivered in this loop iteration */
	int max_per_iter; /* largest since_check seen */
	uint8_t last_udp[2048];
	size_t last_udp_len;
	int rx_udp4;	      /* IPv4 UDP datagrams to PEER_PORT */
	uint8_t last_v4[64];  /* the first bytes of the last of them */
	uint32_t seq[MAX_RX]; /* first payload word of each UDP datagram, in arrival order */
	int bad_csum;	      /* UDP datagrams to PEER_PORT whose checksum did not verify */
	bool hold;	      /* on_recv keeps pkts in held[] (a link's queue) ... */
	struct pkt *held[MAX_RX];
	int nheld; /* ... and on_check frees them, after the tun's own check handle */
} fx;

/* ---- namespace and fixture ---- */

static void skip_loudly(const char *why)
{
	fprintf(stderr, "SKIP test_tun: %s\n", why);
	cr_skip_test("%s", why);
}

/* Moves this test process into a new network namespace, or skips the test. */
static void enter_netns(void)
{
	if (geteuid() != 0)
		skip_loudly("needs root (CAP_NET_ADMIN) to create TUN devices");
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		skip_loudly("/dev/net/tun is missing or not accessible");
	char why[128];
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
		snprintf(why, sizeof(why), "unshare(CLONE_NEWNET | CLONE_NEWNS): %s",
			 strerror(errno));
		skip_loudly(why);
	}
	/* As `ip netns exec` does: a private /sys that shows this namespace's interfaces. */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    umount2("/sys", MNT_DETACH) != 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
		snprintf(why, sizeof(why), "cannot mount a namespace's sysfs: %s", strerror(errno));
		skip_loudly(why);
	}
}

static void on_tick(uv_timer_t *h)
{
	(void)h;
}

static void on_check(uv_check_t *h)
{
	(void)h;
	while (fx.nheld > 0)
		pkt_free(fx.held[--fx.nheld]);
	if (fx.since_check > fx.max_per_iter)
		fx.max_per_iter = fx.since_check;
	fx.since_check = 0;
}

static bool udp6_csum_ok(const uint8_t *d, size_t len);

static void on_recv(void *ctx, struct pkt *p)
{
	cr_assert_eq(ctx, &fx);
	fx.rx_all++;
	fx.since_check++;
	const uint8_t *d = p->data;
	if (p->len >= 20 && d[0] >> 4 == 4) {
		fx.rx_v4++;
		if (p->len >= 28 && d[0] == 0x45 && d[9] == IPPROTO_UDP &&
		    (d[22] << 8 | d[23]) == PEER_PORT) {
			fx.rx_udp4++;
			memcpy(fx.last_v4, d, p->len < 64 ? p->len : 64);
		}
	}
	/* IPv6 + UDP to PEER_PORT: ours. The kernel's own MLD/RS packets are ignored. */
	if (p->len >= 48 && d[0] >> 4 == 6 && d[6] == IPPROTO_UDP &&
	    (d[42] << 8 | d[43]) == PEER_PORT) {
		if (fx.rx_udp < MAX_RX && p->len >= 52)
			fx.seq[fx.rx_udp] =
			    (uint32_t)d[48] << 24 | d[49] << 16 | d[50] << 8 | d[51];
		fx.rx_udp++;
		if (!udp6_csum_ok(d, p->len))
			fx.bad_csum++;
		cr_assert_leq(p->len, sizeof(fx.last_udp));
		memcpy(fx.last_udp, d, p->len);
		fx.last_udp_len = p->len;
	}
	if (fx.hold && fx.nheld < MAX_RX)
		fx.held[fx.nheld++] = p;
	else
		pkt_free(p);
	if (fx.close_in_recv && !fx.is_closed) {
		fx.close_in_recv = false;
		tun_close(fx.tun, NULL, NULL);
	}
}

static void loop_init(size_t npkts, size_t cap)
{
	memset(&fx, 0, sizeof(fx));
	log_set_level(LOG_LEVEL_WARN);
	cr_assert_eq(uv_loop_init(&fx.loop), 0);
	uv_timer_init(&fx.loop, &fx.tick);
	uv_timer_start(&fx.tick, on_tick, 10, 10);
	uv_check_init(&fx.loop, &fx.check);
	uv_check_start(&fx.check, on_check);
	fx.pool = pkt_pool_new(npkts, cap);
	cr_assert_not_null(fx.pool);
}

static struct tun_params params(const char *name)
{
	return (struct tun_params){.ifname = name,
				   .mtu = TEST_MTU,
				   .addr6 = our_addr,
				   .pool = fx.pool,
				   .recv = on_recv,
				   .ctx = &fx};
}

static struct tun *open_tun(const char *name)
{
	struct tun_params p = params(name);
	struct tun *t = tun_open(&fx.loop, &p);
	cr_assert_not_null(t, "tun_open(%s)", name);
	return t;
}

/* Runs the loop until *count reaches want, for at most 3 s. */
static bool run_until(const int *count, int want)
{
	return uvwait_until(&fx.loop, count, want, 3000);
}

static void on_closed(void *arg)
{
	cr_assert_eq(arg, &fx);
	fx.is_closed = true;
}

/* Closes the tun (if still open) and the loop; every pkt must be back in the pool. */
static void finish(struct tun *t)
{
	if (t) {
		tun_close(t, on_closed, &fx);
		uint64_t deadline = uv_now(&fx.loop) + 3000;
		while (!fx.is_closed && uv_now(&fx.loop) < deadline)
			uv_run(&fx.loop, UV_RUN_ONCE);
		cr_assert(fx.is_closed, "done callback ran");
		tun_free(t);
	}
	uv_close((uv_handle_t *)&fx.tick, NULL);
	uv_close((uv_handle_t *)&fx.check, NULL);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&fx.loop), 0, "every handle closed");
	struct pkt_pool_info pi;
	pkt_pool_info(fx.pool, &pi);
	cr_assert_eq(pi.in_use, 0, "every pkt back in the pool");
	pkt_pool_free(fx.pool);
}

/* ---- helpers: files, sockets, packets ---- */

static long read_sys_long(const char *name, const char *attr, int base)
{
	char path[128], buf[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	return strtol(buf, NULL, base);
}

/* True when the file has a line containing every one of the (up to 3) strings. */
static bool file_has_line(const char *path, const char *a, const char *b, const char *c)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && (!b || strstr(line, b)) && (!c || strstr(line, c));
	fclose(f);
	return found;
}

/* Sends len bytes of payload (seq in the first 4 bytes) from our address to the peer. */
static void send_udp(int s, uint32_t seq, size_t len)
{
	uint8_t buf[2048] = {0};
	cr_assert_leq(len, sizeof(buf));
	cr_assert_geq(len, 4);
	buf[0] = (uint8_t)(seq >> 24);
	buf[1] = (uint8_t)(seq >> 16);
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	for (size_t i = 4; i < len; i++)
		buf[i] = (uint8_t)(i * 7);
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(PEER_PORT)};
	memcpy(&to.sin6_addr, peer_addr, 16);
	ssize_t n = sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
	cr_assert_eq(n, (ssize_t)len, "sendto: %s", strerror(errno));
}

static int udp6_socket(void)
{
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	return s;
}

/* The UDP checksum of the IPv6 packet d (no extension headers) verifies. */
static bool udp6_csum_ok(const uint8_t *d, size_t len)
{
	return ref_l4_sum(d, len) == 0xffff;
}

/* Builds IPv6 + UDP src:sport -> dst:dport with a valid checksum (RFC 8200 §8.1). */
static size_t build_udp6(uint8_t *out, const uint8_t src[16], uint16_t sport, const uint8_t dst[16],
			 uint16_t dport, const char *payload)
{
	size_t plen = strlen(payload), ulen = 8 + plen;
	memset(out, 0, 48);
	out[0] = 0x60;
	out[4] = (uint8_t)(ulen >> 8);
	out[5] = (uint8_t)ulen;
	out[6] = IPPROTO_UDP;
	out[7] = 64;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	uint8_t *u = out + 40;
	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	memcpy(u + 8, payload, plen);
	uint16_t c = (uint16_t)~ref_l4_sum(out, 40 + ulen); /* the checksum field is still 0 */
	if (!c)
		c = 0xffff;
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return 40 + ulen;
}

/* Injects raw bytes into the device's transmit side, so that the tun fd reads them. */
static void inject(const char *ifname, const uint8_t *b, size_t n)
{
	int s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	cr_assert_geq(s, 0, "AF_PACKET: %s", strerror(errno));
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_IP),
				 .sll_ifindex = (int)if_nametoindex(ifname)};
	cr_assert_neq(to.sll_ifindex, 0);
	ssize_t w = sendto(s, b, n, 0, (struct sockaddr *)&to, sizeof(to));
	cr_assert_eq(w, (ssize_t)n, "AF_PACKET sendto: %s", strerror(errno));
	close(s);
}

static struct pkt *pkt_with(const uint8_t *b, size_t n)
{
	struct pkt *p = pkt_alloc(fx.pool);
	cr_assert_not_null(p);
	uint8_t *d = pkt_put(p, n);
	cr_assert_not_null(d);
	memcpy(d, b, n);
	return p;
}

/* ---- tests ---- */

Test(tun, rejects_bad_params)
{
	loop_init(4, 2048);
	struct tun_params p = params("ygg-bad");
	p.mtu = 1279; /* IPv6 needs 1280 (RFC 8200 §5) */
	cr_assert_null(tun_open(&fx.loop, &p));
	p.mtu = 65536;
	cr_assert_null(tun_open(&fx.loop, &p));
	p = params("a-name-too-long-x"); /* 17 bytes, IFNAMSIZ is 16 */
	cr_assert_null(tun_open(&fx.loop, &p));
	p = params("");
	cr_assert_null(tun_open(&fx.loop, &p));
	p = params("a/b");
	cr_assert_null(tun_open(&fx.loop, &p));
	p = params("ygg-ok");
	p.pool = NULL;
	cr_assert_null(tun_open(&fx.loop, &p));
	p = params("ygg-ok");
	p.recv = NULL;
	cr_assert_null(tun_open(&fx.loop, &p));
	finish(NULL);
}

Test(tun, open_fails_cleanly_on_a_non_tun_name)
{
	enter_netns();
	loop_init(4, 2048);
	/* lo exists and is not a TUN: TUNSETIFF refuses it, and nothing is left behind. */
	struct tun_params p = params("lo");
	cr_assert_null(tun_open(&fx.loop, &p));
	finish(NULL);
}

Test(tun, configures_mtu_address_up_and_route)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("yggtest0");
	struct tun_info ti;
	tun_get_info(t, &ti);
	cr_assert_str_eq(ti.name, "yggtest0");
	cr_assert_eq(ti.mtu, TEST_MTU);

	cr_assert_eq(read_sys_long("yggtest0", "mtu", 10), TEST_MTU);
	cr_assert_eq(read_sys_long("yggtest0", "tx_queue_len", 10), TUN_TXQ_DEFAULT,
		     "txqueuelen 0 in the params means the default (3000), not TUN's 500");
	cr_assert(read_sys_long("yggtest0", "flags", 16) & IFF_UP, "link is up");
	/* TUNSETIFF flags as the kernel reports them: IFF_TUN | IFF_NO_PI | IFF_VNET_HDR. */
	cr_assert_eq(read_sys_long("yggtest0", "tun_flags", 16), 0x0001 | 0x1000 | 0x4000);
	cr_assert(ti.has_vnet);
	cr_assert_eq(ti.offloads & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
		     TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, "checksum and TSO offloads: %#x", ti.offloads);
	/* if_inet6: address, ifindex, prefix length (hex), scope, flags, name. */
	cr_assert(file_has_line("/proc/net/if_inet6", "02001234000000000000000000000001 ", " 07 ",
				"yggtest0"),
		  "200:1234::1/7 on yggtest0");
	/* The address is usable at once: not tentative (IFA_F_NODAD, flag 0x40 clear). */
	FILE *f = fopen("/proc/net/if_inet6", "r");
	cr_assert_not_null(f);
	char line[256];
	unsigned flags = 0xff;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "02001234000000000000000000000001", 32) == 0)
			cr_assert_eq(sscanf(line, "%*s %*x %*x %*x %x", &flags), 1);
	fclose(f);
	cr_assert_eq(flags & 0x40, 0, "not tentative (flags %x)", flags);
	/* ipv6_route: destination, prefix length 07, ..., device. */
	cr_assert(file_has_line("/proc/net/ipv6_route", "02000000000000000000000000000000 07 ",
				"yggtest0", NULL),
		  "200::/7 routed via yggtest0");
	finish(t);
}

Test(tun, applies_the_configured_queue_length)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun_params p = params("yggtest0");
	p.txqueuelen = 777;
	struct tun *t = tun_open(&fx.loop, &p);
	cr_assert_not_null(t);
	cr_assert_eq(read_sys_long("yggtest0", "tx_queue_len", 10), 777);
	finish(t);
}

Test(tun, auto_name_is_ygg_n)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *a = open_tun("auto");
	struct tun *b = open_tun("auto");
	struct tun_info ia, ib;
	tun_get_info(a, &ia);
	tun_get_info(b, &ib);
	cr_assert_str_eq(ia.name, "ygg0", "fresh namespace: the first auto device");
	cr_assert_str_eq(ib.name, "ygg1");
	cr_assert_eq(read_sys_long("ygg1", "mtu", 10), TEST_MTU);
	tun_close(b, on_closed, &fx);
	while (!fx.is_closed)
		uv_run(&fx.loop, UV_RUN_ONCE);
	tun_free(b);
	/* Closing the fd deletes a non-persistent TUN. */
	cr_assert_eq(if_nametoindex("ygg1"), 0);
	fx.is_closed = false;
	finish(a);
	cr_assert_eq(if_nametoindex("ygg0"), 0);
}

Test(tun, adds_routes)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("yggrt0");
	struct inet_prefix v4, v6;
	cr_assert(inet_prefix_parse("10.64.0.0/16", true, &v4));
	cr_assert(inet_prefix_parse("64:ff9b::/96", true, &v6));
	cr_assert_eq(tun_add_route(t, &v4, NULL), 0);
	cr_assert_eq(tun_add_route(t, &v6, NULL), 0);
	cr_assert_eq(tun_add_route(t, &v6, NULL), -EEXIST, "never replaced (ip route add)");
	cr_assert(file_has_line("/proc/net/ipv6_route", "0064ff9b000000000000000000000000 60 ",
				"yggrt0", NULL));
	/* /proc/net/route: iface, destination (little-endian hex), ..., mask. */
	cr_assert(file_has_line("/proc/net/route", "yggrt0\t0000400A", "\t0000FFFF", NULL));
	struct inet_prefix bad = v4;
	bad.len = 33;
	cr_assert_eq(tun_add_route(t, &bad, NULL), -EINVAL);
	finish(t);
}

Test(tun, reads_a_udp_datagram_routed_into_the_device)
{
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("yggrx0");
	int s = udp6_socket();
	send_udp(s, 0xdeadbeef, 100);
	cr_assert(run_until(&fx.rx_udp, 1), "datagram read from the tun");
	const uint8_t *d = fx.last_udp;
	cr_assert_eq(fx.last_udp_len, 40 + 8 + 100);
	cr_assert_eq(d[0] >> 4, 6);
	cr_assert_eq(d[4] << 8 | d[5], 108, "payload length");
	cr_assert_eq(memcmp(d + 8, our_addr, 16), 0, "source is our address");
	cr_assert_eq(memcmp(d + 24, peer_addr, 16), 0, "destination is the peer");
	cr_assert_eq(d[44] << 8 | d[45], 108, "UDP length");
	cr_assert_eq(fx.seq[0], 0xdeadbeef);
	for (size_t i = 4; i < 100; i++)
		cr_assert_eq(d[48 + i], (uint8_t)(i * 7), "payload byte %zu", i);
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.rx_packets, (uint64_t)fx.rx_all);
	cr_assert_eq(ti.rx_drops, 0);
	close(s);
	finish(fx.tun);
}

Test(tun, reads_ipv4_and_drops_bad_versions)
{
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("yggv4");
	/* A minimal IPv4 header (RFC 791): 10.0.0.1 -> 10.0.0.2, protocol 253 (experimental). */
	static const uint8_t v4[20] = {
	    0x45, 0, 0, 20, 0,	0, 0, 0, 64, 253, 0, 0, /* v4, IHL 5, length 20, TTL 64 */
	    10,	  0, 0, 1,  10, 0, 0, 2,		/* addresses */
	};
	static const uint8_t junk[24] = {0x50, 1, 2, 3};
	/* IPv4 whose total length (40) is not what arrived (20 bytes). */
	static const uint8_t short4[20] = {0x45, 0, 0, 40, [8] = 64, [9] = 253};
	inject("yggv4", junk, sizeof(junk));
	inject("yggv4", short4, sizeof(short4));
	inject("yggv4", v4, sizeof(v4));
	cr_assert(run_until(&fx.rx_v4, 1), "IPv4 packet read");
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.rx_drops, 2, "version 5 and the length mismatch dropped");
	cr_assert_eq(ti.rx_packets, (uint64_t)fx.rx_all);
	finish(fx.tun);
}

Test(tun, drops_packets_larger_than_a_pool_pkt)
{
	enter_netns();
	loop_init(64, 512); /* pkts hold 512 + PKT_TAILROOM bytes, below the MTU */
	fx.tun = open_tun("yggbig");
	int s = udp6_socket();
	send_udp(s, 1, 1000);
	send_udp(s, 2, 100);
	cr_assert(run_until(&fx.rx_udp, 1));
	cr_assert_eq(fx.seq[0], 2, "the small datagram passed");
	cr_assert_eq(fx.rx_udp, 1, "the large one did not");
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.rx_drops, 1);
	close(s);
	finish(fx.tun);
}

/*
 * With offloads one read can need dozens of pkts, so a tun whose pool runs low stops reading
 * (backpressure: the kernel holds the packets) instead of reading and dropping, and starts
 * again at the end of a loop iteration that finds room: nothing is lost, nothing is counted
 * as dropped, and the loop sleeps meanwhile (no busy loop on the readable fd).
 */
Test(tun, pauses_reading_while_the_pool_is_low)
{
	enter_netns();
	loop_init(8, 2048);
	fx.tun = open_tun("yggpool");
	struct pkt *held[8];
	for (int i = 0; i < 8; i++)
		held[i] = pkt_alloc(fx.pool);
	cr_assert_null(pkt_alloc(fx.pool), "pool empty");
	int s = udp6_socket();
	send_udp(s, 1, 64);
	send_udp(s, 2, 64);
	/* Iterations while paused are the tick's alone (10 ms): about 30 in 300 ms, not thousands. */
	int iters = 0;
	uint64_t until = uv_now(&fx.loop) + 300;
	while (uv_now(&fx.loop) < until) {
		uv_run(&fx.loop, UV_RUN_ONCE);
		iters++;
	}
	cr_assert_eq(fx.rx_all, 0, "nothing delivered without pkts");
	cr_assert_lt(iters, 100, "the loop slept while reading was paused (%d iterations)", iters);
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.no_pkt, 0, "nothing read and dropped");
	for (int i = 0; i < 8; i++)
		pkt_free(held[i]);
	cr_assert(run_until(&fx.rx_udp, 2));
	cr_assert_eq(fx.seq[0], 1, "the datagrams waited in the kernel and arrive in order");
	cr_assert_eq(fx.seq[1], 2);
	close(s);
	finish(fx.tun);
}

static void on_deadline(uv_timer_t *h)
{
	*(bool *)h->data = true;
}

/*
 * Runs the loop until *count reaches want, with no timer of its own but a 1 s deadline: what
 * has to happen must happen without a wake-up from elsewhere. The fixture's tick is stopped.
 */
static bool run_untimed_until(const int *count, int want)
{
	bool late = false;
	uv_timer_t deadline;
	uv_timer_stop(&fx.tick);
	uv_timer_init(&fx.loop, &deadline);
	deadline.data = &late;
	uv_timer_start(&deadline, on_deadline, 1000, 0);
	while (*count < want && !late)
		uv_run(&fx.loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	return *count >= want;
}

/*
 * The pkts that made reading pause come back in a check handle that runs after the tun's (as
 * a link's end-of-iteration flush does). Reading must resume at once, not when some later
 * event happens to wake the loop: no timer runs here but a 1 s deadline.
 */
Test(tun, resumes_reading_when_pkts_come_back_late_in_the_iteration)
{
	enum { N = 40 };
	enter_netns();
	loop_init(8, 2048); /* read_reserve 4: pauses after 5 held pkts */
	fx.tun = open_tun("yggroom");
	fx.hold = true;
	int s = udp6_socket();
	for (uint32_t i = 0; i < N; i++)
		send_udp(s, i, 32);
	cr_assert(run_untimed_until(&fx.rx_udp, N),
		  "%d of %d read before the 1 s deadline: reading stalled", fx.rx_udp, N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(fx.seq[i], (uint32_t)i, "in order");
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.no_pkt, 0, "nothing dropped for want of pkts");
	fx.hold = false;
	close(s);
	finish(fx.tun);
}

/*
 * Receive moderation: a pass that empties the device after 8 or more packets rests, and the
 * rest's timerfd alone (no timer of the loop but a 1 s deadline) resumes reading.
 */
Test(tun, rests_after_a_busy_pass_and_resumes_by_itself)
{
	enum { N = 30 };
	enter_netns();
	loop_init(MAX_RX, 2048);
	fx.tun = open_tun("yggrest");
	int s = udp6_socket();
	for (uint32_t i = 0; i < N; i++)
		send_udp(s, i, 32);
	cr_assert(run_untimed_until(&fx.rx_udp, N), "first burst: %d of %d", fx.rx_udp, N);
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_geq(ti.rx_rests, 1, "a pass of %d packets rests", N);
	/* the second burst finds the device resting, or rested; either way it arrives */
	for (uint32_t i = N; i < 2 * N; i++)
		send_udp(s, i, 32);
	cr_assert(run_untimed_until(&fx.rx_udp, 2 * N),
		  "%d of %d before the deadline: the rest did not end", fx.rx_udp, 2 * N);
	for (int i = 0; i < 2 * N; i++)
		cr_assert_eq(fx.seq[i], (uint32_t)i, "in order");
	close(s);
	finish(fx.tun); /* possibly while resting: the timerfd's handle closes with the rest */
}

Test(tun, a_few_packets_at_a_time_never_rest)
{
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("yggnorest");
	int s = udp6_socket();
	for (uint32_t i = 0; i < 20; i++) {
		send_udp(s, i, 32);
		send_udp(s, i, 32);
		cr_assert(run_until(&fx.rx_udp, 2 * (int)i + 2));
	}
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.rx_rests, 0, "passes of 1-2 packets must not be delayed");
	close(s);
	finish(fx.tun);
}

/* IPv4 10.0.0.1 -> 10.0.0.2 of proto with an l4len-byte transport header (no data). */
static size_t build_v4(uint8_t *b, uint8_t proto, size_t l4len, uint16_t id)
{
	size_t len = 20 + l4len;
	memset(b, 0, len);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[4] = (uint8_t)(id >> 8);
	b[5] = (uint8_t)id;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	uint8_t *l4 = b + 20;
	l4[1] = 80;
	l4[3] = 81;
	if (proto == IPPROTO_TCP) {
		l4[12] = 5 << 4; /* 20-byte header */
		l4[13] = 0x10;	 /* ACK */
	} else {
		l4[5] = (uint8_t)l4len;
	}
	return len;
}

/* Pure ACKs pace their sender: a pass full of them must not rest; the same pass of UDP does. */
Test(tun, bursts_of_acks_do_not_rest)
{
	enum { N = 24 };
	uint8_t b[64];
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("yggack");
	for (uint16_t i = 0; i < N; i++)
		inject("yggack", b, build_v4(b, IPPROTO_TCP, 20, i));
	cr_assert(run_until(&fx.rx_v4, N));
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.rx_rests, 0, "%d ACKs read, %" PRIu64 " rests", N, ti.rx_rests);
	for (uint16_t i = 0; i < N; i++)
		inject("yggack", b, build_v4(b, IPPROTO_UDP, 8, i));
	cr_assert(run_until(&fx.rx_v4, 2 * N));
	tun_get_info(fx.tun, &ti);
	cr_assert_geq(ti.rx_rests, 1, "the control: %d datagrams in a burst rest", N);
	finish(fx.tun);
}

Test(tun, drains_bursts_in_bounded_batches)
{
	enter_netns();
	loop_init(MAX_RX, 2048);
	fx.tun = open_tun("yggburst");
	int s = udp6_socket();
	for (uint32_t i = 0; i < BURST; i++)
		send_udp(s, i, 32);
	cr_assert(run_until(&fx.rx_udp, BURST), "got %d of %d", fx.rx_udp, BURST);
	for (int i = 0; i < BURST; i++)
		cr_assert_eq(fx.seq[i], (uint32_t)i, "in order");
	cr_assert_gt(fx.max_per_iter, 1, "several packets per readiness callback");
	cr_assert_leq(fx.max_per_iter, 64, "at most one batch per loop iteration");
	close(s);
	finish(fx.tun);
}

Test(tun, close_from_the_receive_callback)
{
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("yggcl");
	int s = udp6_socket();
	for (uint32_t i = 0; i < 5; i++)
		send_udp(s, i, 32);
	fx.close_in_recv = true;
	cr_assert(run_until(&fx.rx_all, 1));
	for (int i = 0; i < 10; i++)
		uv_run(&fx.loop, UV_RUN_NOWAIT);
	cr_assert_eq(fx.rx_all, 1, "nothing read after tun_close");
	/* Writes after close are dropped and counted; the pkt goes back to the pool. */
	uint8_t b[128];
	size_t n = build_udp6(b, peer_addr, 1, our_addr, LOCAL_PORT, "late");
	tun_write(fx.tun, pkt_with(b, n));
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.tx_drops, 1);
	cr_assert_eq(ti.tx_packets, 0);
	tun_free(fx.tun);
	close(s);
	finish(NULL);
}

Test(tun, writes_reach_a_local_socket)
{
	enter_netns();
	loop_init(16, 2048);
	fx.tun = open_tun("yggtx0");
	int s = udp6_socket();
	struct sockaddr_in6 me = {.sin6_family = AF_INET6, .sin6_port = htons(LOCAL_PORT)};
	memcpy(&me.sin6_addr, our_addr, 16);
	cr_assert_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0, "bind: %s", strerror(errno));
	struct timeval tv = {.tv_sec = 3};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	uint8_t b[128];
	size_t n = build_udp6(b, peer_addr, 7000, our_addr, LOCAL_PORT, "hello from the overlay");
	tun_write(fx.tun, pkt_with(b, n));
	uv_run(&fx.loop, UV_RUN_NOWAIT); /* writes go out at the end of the loop iteration */

	char got[64] = {0};
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	ssize_t r = recvfrom(s, got, sizeof(got) - 1, 0, (struct sockaddr *)&from, &fl);
	cr_assert_eq(r, 22, "recvfrom: %zd (%s)", r, strerror(errno));
	cr_assert_str_eq(got, "hello from the overlay");
	cr_assert_eq(memcmp(&from.sin6_addr, peer_addr, 16), 0);
	cr_assert_eq(ntohs(from.sin6_port), 7000);

	/* Not an IP packet: the kernel refuses it (EINVAL); dropped and counted. */
	static const uint8_t junk[40] = {0x50};
	tun_write(fx.tun, pkt_with(junk, sizeof(junk)));
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.tx_packets, 1);
	cr_assert_eq(ti.tx_drops, 1);
	close(s);
	finish(fx.tun);
}

/* A UDP socket bound to our address and port, with a 3 s receive timeout. */
static int bound_udp6(uint16_t port)
{
	int s = udp6_socket();
	struct sockaddr_in6 me = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct timeval tv = {.tv_sec = 3};

	memcpy(&me.sin6_addr, our_addr, 16);
	cr_assert_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0, "bind: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

enum { MERGE_N = 40 };

/*
 * Writes MERGE_N datagrams "datagram %04d" to LOCAL_PORT in one loop iteration on a new tun,
 * and after datagram `at` (after each one when at < 0) the datagram `other` to LOCAL_PORT + 1.
 * Checks that every datagram arrives, in order, and fills *ti.
 */
static void write_two_flows(const char *ifname, int at, const char *other, struct tun_info *ti)
{
	enter_netns();
	loop_init(2 * MERGE_N + 8, 2048);
	fx.tun = open_tun(ifname);
	int s = bound_udp6(LOCAL_PORT), s2 = bound_udp6(LOCAL_PORT + 1);
	uint8_t b[128];
	char msg[32], got[64];
	int nother = 0;

	for (int i = 0; i < MERGE_N; i++) {
		snprintf(msg, sizeof(msg), "datagram %04d", i);
		tun_write(fx.tun,
			  pkt_with(b, build_udp6(b, peer_addr, 7000, our_addr, LOCAL_PORT, msg)));
		if (at < 0 || i == at) {
			tun_write(fx.tun, pkt_with(b, build_udp6(b, peer_addr, 7001, our_addr,
								 LOCAL_PORT + 1, other)));
			nother++;
		}
	}
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	for (int i = 0; i < MERGE_N; i++) {
		memset(got, 0, sizeof(got));
		ssize_t r = recv(s, got, sizeof(got) - 1, 0);
		snprintf(msg, sizeof(msg), "datagram %04d", i);
		cr_assert_eq(r, 13, "datagram %d: recv %zd (%s)", i, r, strerror(errno));
		cr_assert_str_eq(got, msg);
	}
	for (int i = 0; i < nother; i++) {
		memset(got, 0, sizeof(got));
		cr_assert_eq(recv(s2, got, sizeof(got) - 1, 0), (ssize_t)strlen(other),
			     "other datagram %d", i);
		cr_assert_str_eq(got, other);
	}
	tun_get_info(fx.tun, ti);
	cr_assert_eq(ti->tx_packets, (uint64_t)(MERGE_N + nother));
	cr_assert_eq(ti->tx_drops, 0);
	close(s);
	close(s2);
	finish(fx.tun);
}

/*
 * Datagrams of one flow written in one loop iteration go to the kernel merged (one UDP GSO
 * write) and come out of the socket as the original datagrams, in order; a datagram of another
 * flow in between is delivered too and does not break the merge of the first.
 */
Test(tun, merged_writes_reach_a_local_socket_in_order)
{
	struct tun_info ti;

	write_two_flows("yggmrg0", MERGE_N / 2, "the other flow", &ti);
	cr_assert_geq(ti.tx_gro, 1, "written merged");
	cr_assert_eq(ti.tx_gro_pkts, MERGE_N, "every datagram of the first flow in a merge");
}

/*
 * Packets that cannot be merged (empty datagrams here, like pure ACKs) end only the merge of
 * their own flow: a flow interleaved with them packet by packet is still written merged.
 */
Test(tun, unmergeable_packets_of_another_flow_do_not_end_a_merge)
{
	struct tun_info ti;

	write_two_flows("yggmrg1", -1, "", &ti);
	/* Two flushes of WRITE_BATCH (64) and 16 packets: 32 and 8 datagrams merged. */
	cr_assert_eq(ti.tx_gro, 2);
	cr_assert_eq(ti.tx_gro_pkts, MERGE_N, "every datagram of the first flow in a merge");
}

/*
 * A UDP GSO send (UDP_SEGMENT) through the device: with USO the kernel hands it over as one
 * GSO packet, which the tun cuts into the datagrams the sender meant, each with its checksum.
 */
Test(tun, gso_reads_are_cut_into_datagrams)
{
	enum { SEG = 100, NSEG = 12 };
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("ygggso0");
	struct tun_info ti;
	tun_get_info(fx.tun, &ti);
	if (!(ti.offloads & TUN_F_USO6))
		skip_loudly("the kernel has no USO for TUN (Linux 6.2+)");
	int s = udp6_socket();
	int gso = SEG;
	cr_assert_eq(setsockopt(s, SOL_UDP, UDP_SEGMENT, &gso, sizeof(gso)), 0, "UDP_SEGMENT: %s",
		     strerror(errno));
	uint8_t buf[SEG * NSEG];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i % SEG < 4 ? 0 : i * 13);
	for (int k = 0; k < NSEG; k++)
		buf[k * SEG + 3] = (uint8_t)k; /* each datagram's first word: its index */
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(PEER_PORT)};
	memcpy(&to.sin6_addr, peer_addr, 16);
	cr_assert_eq(sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)sizeof(buf), "sendto: %s", strerror(errno));
	cr_assert(run_until(&fx.rx_udp, NSEG), "got %d of %d", fx.rx_udp, NSEG);
	for (int k = 0; k < NSEG; k++)
		cr_assert_eq(fx.seq[k], (uint32_t)k, "datagram %d in order", k);
	cr_assert_eq(fx.last_udp_len, 48 + SEG);
	cr_assert_arr_eq(fx.last_udp + 48, buf + (NSEG - 1) * SEG, SEG, "last datagram's payload");
	cr_assert_eq(fx.bad_csum, 0, "every checksum verifies");
	tun_get_info(fx.tun, &ti);
	cr_assert_geq(ti.rx_gso, 1, "read as one GSO packet");
	close(s);
	finish(fx.tun);
}

/* keep_gso: the reads the NAT64 takes whole, kept for the test to look at. */
static struct pkt *gso_held[MAX_RX];
static int gso_nheld;

static void on_recv_keep(void *ctx, struct pkt *p)
{
	(void)ctx;
	if (p->len >= 48 && p->data[0] >> 4 == 6 && p->data[6] == IPPROTO_UDP &&
	    (p->data[42] << 8 | p->data[43]) == PEER_PORT && gso_nheld < MAX_RX) {
		gso_held[gso_nheld++] = p;
		return;
	}
	pkt_free(p);
}

static void on_piece(void *ctx, struct pkt *p)
{
	int *n = ctx;

	cr_assert_eq(p->off.gso_type, PKT_GSO_NONE);
	cr_assert(udp6_csum_ok(p->data, p->len), "piece %d's checksum", *n);
	cr_assert_eq(p->len, 48 + 100);
	cr_assert_eq(p->data[48 + 3], (uint8_t)*n, "pieces in order");
	(*n)++;
	pkt_free(p);
}

Test(tun, keep_gso_hands_reads_whole_cuts_on_demand_and_writes_gso)
{
	enum { SEG = 100, NSEG = 12 };
	struct tun_params tp;
	struct tun_info ti;
	struct pkt *p;
	int pieces = 0;

	enter_netns();
	loop_init(64, 4096);
	tp = params("ygggsok0");
	tp.keep_gso = true;
	tp.recv = on_recv_keep;
	fx.tun = tun_open(&fx.loop, &tp);
	cr_assert_not_null(fx.tun);
	tun_get_info(fx.tun, &ti);
	if (!(ti.offloads & TUN_F_USO6))
		skip_loudly("the kernel has no USO for TUN (Linux 6.2+)");
	int s = udp6_socket();
	int gso = SEG;
	cr_assert_eq(setsockopt(s, SOL_UDP, UDP_SEGMENT, &gso, sizeof(gso)), 0);
	uint8_t buf[SEG * NSEG];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i % SEG < 4 ? 0 : i * 13);
	for (int k = 0; k < NSEG; k++)
		buf[k * SEG + 3] = (uint8_t)k;
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(PEER_PORT)};
	memcpy(&to.sin6_addr, peer_addr, 16);
	cr_assert_eq(sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
		     (ssize_t)sizeof(buf));
	cr_assert(uvwait_until(&fx.loop, &gso_nheld, 1, 3000), "the GSO read arrived");
	p = gso_held[0];
	cr_assert_eq(p->off.gso_type, PKT_GSO_UDP, "handed over whole, not cut");
	cr_assert_eq(p->off.gso_size, SEG);
	cr_assert(p->off.is_csum_partial);
	cr_assert_eq(p->off.csum_start, 40);
	cr_assert_eq(p->off.csum_offset, 6);
	cr_assert_eq(p->len, 48 + sizeof(buf));

	/* Written back as it is (to a local socket: the addresses swapped), it arrives as
	 * NSEG datagrams, cut by the kernel from our one GSO write. */
	int r = bound_udp6(LOCAL_PORT);
	struct pkt *w = pkt_with(p->data, p->len);
	w->off = p->off;
	memcpy(w->data + 8, peer_addr, 16);
	memcpy(w->data + 24, our_addr, 16);
	w->data[40] = (uint8_t)(7001 >> 8);
	w->data[41] = (uint8_t)7001;
	w->data[42] = (uint8_t)(LOCAL_PORT >> 8);
	w->data[43] = (uint8_t)LOCAL_PORT;
	/* The partial checksum field is the pseudo-header sum, unchanged by a swap of the two
	 * addresses (a sum does not care about order) and the ports (not in it). */
	tun_write(fx.tun, w);
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	for (int k = 0; k < NSEG; k++) {
		uint8_t got[SEG + 1];
		ssize_t n = recv(r, got, sizeof(got), 0);

		cr_assert_eq(n, SEG, "datagram %d: %zd (%s)", k, n, strerror(errno));
		cr_assert_eq(got[3], (uint8_t)k);
	}
	tun_get_info(fx.tun, &ti);
	cr_assert_eq(ti.tx_gro, 0, "never merged with others");

	/* Cut on demand, for a receiver that needs plain packets (the core). */
	tun_segment(fx.tun, p, on_piece, &pieces);
	cr_assert_eq(pieces, NSEG);
	close(r);
	close(s);
	finish(fx.tun);
}

/* ---- addresses, routes and the loop guard, read back through rtnetlink ---- */

/*
 * The test's own rtnetlink client (libmnl), independent of src/tun/netlink.c: what tun_*
 * installed is read back with dumps, and the rules a "previous run" left are made with plain
 * requests.
 */

enum { ROWS_MAX = 64, ATTR_MAX = 64 };

/* One address, route or rule from a dump; which fields mean something depends on the dump. */
struct row {
	uint8_t family;
	uint8_t len;	  /* ifa_prefixlen, rtm_dst_len */
	uint8_t addr[16]; /* IFA_LOCAL (else IFA_ADDRESS), RTA_DST */
	uint8_t prefsrc[16];
	bool has_prefsrc;
	uint32_t ifindex; /* ifa_index, RTA_OIF */
	uint32_t table;	  /* RTA_TABLE, FRA_TABLE (else the header's) */
	uint32_t flags;	  /* IFA_FLAGS (else ifa_flags) */
	uint8_t type;	  /* rtm_type */
	uint8_t scope;	  /* rtm_scope */
	uint8_t action;	  /* fib_rule_hdr action */
	uint32_t pref, mark, mask;
	int64_t suppress_ifgroup; /* -1: none */
};

struct rows {
	struct row r[ROWS_MAX];
	int n;
	mnl_cb_t parse; /* one message into r[n] */
};

static int put_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_get_type(a) < ATTR_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void copy_addr(uint8_t *to, const struct nlattr *a)
{
	size_t n = mnl_attr_get_payload_len(a);
	cr_assert(n == 4 || n == 16, "address attribute of %zu bytes", n);
	memcpy(to, mnl_attr_get_payload(a), n);
}

/*
 * Sends one request and runs cb on every reply until the ACK (or NLMSG_DONE of a dump).
 * 0 or the kernel's -errno.
 */
static int rtnl(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	cr_assert_not_null(nl);
	cr_assert_geq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	unsigned portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | (nlh->nlmsg_flags & NLM_F_DUMP ? 0 : NLM_F_ACK);
	nlh->nlmsg_seq = 7;
	cr_assert_geq(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int err = 0;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		cr_assert_geq(n, 0, "recv: %s", strerror(errno));
		errno = 0;
		int ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (ret < 0) {
			err = -errno;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
	mnl_socket_close(nl);
	return err;
}

static int on_row(const struct nlmsghdr *nlh, void *data)
{
	struct rows *rs = data;
	cr_assert_lt(rs->n, ROWS_MAX, "more than %d rows", ROWS_MAX);
	struct row *r = &rs->r[rs->n];
	memset(r, 0, sizeof(*r));
	r->suppress_ifgroup = -1;
	if (rs->parse(nlh, r) == MNL_CB_OK)
		rs->n++;
	return MNL_CB_OK;
}

static int parse_addr(const struct nlmsghdr *nlh, void *data)
{
	struct row *r = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[ATTR_MAX] = {0};
	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_ERROR;
	mnl_attr_parse(nlh, sizeof(*ifa), put_attr, tb);
	r->family = ifa->ifa_family;
	r->len = ifa->ifa_prefixlen;
	r->ifindex = ifa->ifa_index;
	r->flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (tb[IFA_LOCAL] || tb[IFA_ADDRESS])
		copy_addr(r->addr, tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS]);
	return MNL_CB_OK;
}

static int parse_route(const struct nlmsghdr *nlh, void *data)
{
	struct row *r = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[ATTR_MAX] = {0};
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_ERROR;
	mnl_attr_parse(nlh, sizeof(*rtm), put_attr, tb);
	r->family = rtm->rtm_family;
	r->len = rtm->rtm_dst_len;
	r->table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	r->type = rtm->rtm_type;
	r->scope = rtm->rtm_scope;
	if (tb[RTA_DST])
		copy_addr(r->addr, tb[RTA_DST]);
	if (tb[RTA_OIF])
		r->ifindex = mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PREFSRC]) {
		copy_addr(r->prefsrc, tb[RTA_PREFSRC]);
		r->has_prefsrc = true;
	}
	return MNL_CB_OK;
}

static int parse_rule(const struct nlmsghdr *nlh, void *data)
{
	struct row *r = data;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[ATTR_MAX] = {0};
	if (nlh->nlmsg_type != RTM_NEWRULE)
		return MNL_CB_ERROR;
	mnl_attr_parse(nlh, sizeof(*frh), put_attr, tb);
	r->family = frh->family;
	r->action = frh->action;
	r->table = tb[FRA_TABLE] ? mnl_attr_get_u32(tb[FRA_TABLE]) : frh->table;
	r->pref = tb[FRA_PRIORITY] ? mnl_attr_get_u32(tb[FRA_PRIORITY]) : 0;
	r->mark = tb[FRA_FWMARK] ? mnl_attr_get_u32(tb[FRA_FWMARK]) : 0;
	r->mask = tb[FRA_FWMASK] ? mnl_attr_get_u32(tb[FRA_FWMASK]) : 0;
	if (tb[FRA_SUPPRESS_IFGROUP])
		r->suppress_ifgroup = mnl_attr_get_u32(tb[FRA_SUPPRESS_IFGROUP]);
	return MNL_CB_OK;
}

/* Dumps the family's addresses (RTM_GETADDR), routes (every table) or rules into rs. */
static void dump(uint16_t type, uint8_t family, struct rows *rs)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_DUMP;
	/* ifaddrmsg, rtmsg and fib_rule_hdr all begin with the family byte. */
	size_t hl = type == RTM_GETADDR	   ? sizeof(struct ifaddrmsg)
		    : type == RTM_GETROUTE ? sizeof(struct rtmsg)
					   : sizeof(struct fib_rule_hdr);
	uint8_t *h = mnl_nlmsg_put_extra_header(nlh, hl);
	h[0] = family;
	rs->n = 0;
	rs->parse = type == RTM_GETADDR	   ? parse_addr
		    : type == RTM_GETROUTE ? parse_route
					   : parse_rule;
	cr_assert_eq(rtnl(nlh, on_row, rs), 0, "dump %u", type);
}

static size_t alen(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* The address "a" with prefix length len (host bits kept, as an interface address has). */
static struct inet_prefix ifaddr(const char *a, unsigned len)
{
	struct inet_prefix p;
	cr_assert(inet_addr_parse(a, &p), "%s", a);
	p.len = (uint8_t)len;
	return p;
}

static struct inet_prefix net(const char *cidr)
{
	struct inet_prefix p;
	cr_assert(inet_prefix_parse(cidr, true, &p), "%s", cidr);
	return p;
}

/* How many times address a (with its length) is on interface ifindex; the last one in *out. */
static int count_addr(unsigned ifindex, const struct inet_prefix *a, struct row *out)
{
	static struct rows rs;
	int n = 0;
	dump(RTM_GETADDR, a->family, &rs);
	for (int i = 0; i < rs.n; i++) {
		const struct row *r = &rs.r[i];
		if (r->ifindex == ifindex && r->family == a->family && r->len == a->len &&
		    memcmp(r->addr, a->addr, alen(a->family)) == 0) {
			n++;
			if (out)
				*out = *r;
		}
	}
	return n;
}

/* How many routes to dst the table has; the last one in *out. */
static int count_route(uint32_t table, const struct inet_prefix *dst, struct row *out)
{
	static struct rows rs;
	int n = 0;
	dump(RTM_GETROUTE, dst->family, &rs);
	for (int i = 0; i < rs.n; i++) {
		const struct row *r = &rs.r[i];
		if (r->table == table && r->family == dst->family && r->len == dst->len &&
		    memcmp(r->addr, dst->addr, alen(dst->family)) == 0) {
			n++;
			if (out)
				*out = *r;
		}
	}
	return n;
}

/* How many rules of the family have pref and mark; the last one in *out. */
static int count_rule(uint8_t family, uint32_t pref, uint32_t mark, struct row *out)
{
	static struct rows rs;
	int n = 0;
	dump(RTM_GETRULE, family, &rs);
	for (int i = 0; i < rs.n; i++) {
		if (rs.r[i].pref == pref && rs.r[i].mark == mark) {
			n++;
			if (out)
				*out = rs.r[i];
		}
	}
	return n;
}

/* Every rule of the family with mark, whatever its pref. */
static int count_marked_rules(uint8_t family, uint32_t mark)
{
	static struct rows rs;
	int n = 0;
	dump(RTM_GETRULE, family, &rs);
	for (int i = 0; i < rs.n; i++)
		n += rs.r[i].mark == mark;
	return n;
}

/*
 * Adds a rule as `ip rule add` would but without NLM_F_EXCL, so that the same rule can be
 * there twice (as after a run killed twice); group 0: no suppress_ifgroup.
 */
static void add_rule(uint8_t family, uint32_t pref, uint32_t mark, uint8_t action, uint32_t group)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWRULE;
	nlh->nlmsg_flags = NLM_F_CREATE;
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->action = action;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, pref);
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	if (action == FR_ACT_TO_TBL)
		mnl_attr_put_u32(nlh, FRA_TABLE, RT_TABLE_MAIN);
	if (group)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_IFGROUP, group);
	cr_assert_eq(rtnl(nlh, NULL, NULL), 0, "add rule %u", pref);
}

static unsigned ifindex_of(struct tun *t)
{
	struct tun_info ti;
	tun_get_info(t, &ti);
	unsigned i = if_nametoindex(ti.name);
	cr_assert_neq(i, 0, "%s exists", ti.name);
	return i;
}

static const struct tun_guard GUARD = {.mark = 0x4242, .group = 77, .pref = 1000};

/* The guard's two rules, exactly once each, for the family. */
static void assert_guard_rules(uint8_t family, const struct tun_guard *g)
{
	struct row r;
	cr_assert_eq(count_rule(family, g->pref, g->mark, &r), 1, "IPv%d lookup rule once",
		     family == AF_INET ? 4 : 6);
	cr_assert_eq(r.action, FR_ACT_TO_TBL);
	cr_assert_eq(r.table, RT_TABLE_MAIN);
	cr_assert_eq(r.mask, 0xffffffff);
	cr_assert_eq(r.suppress_ifgroup, (int64_t)g->group);
	cr_assert_eq(count_rule(family, g->pref + 1, g->mark, &r), 1, "IPv%d unreachable once",
		     family == AF_INET ? 4 : 6);
	cr_assert_eq(r.action, FR_ACT_UNREACHABLE);
	cr_assert_eq(r.mask, 0xffffffff);
	cr_assert_eq(r.suppress_ifgroup, -1);
}

/* Closes the tun and runs the loop until its done callback, without finishing the fixture. */
static void close_tun(struct tun *t)
{
	tun_close(t, on_closed, &fx);
	uint64_t deadline = uv_now(&fx.loop) + 3000;
	while (!fx.is_closed && uv_now(&fx.loop) < deadline)
		uv_run(&fx.loop, UV_RUN_ONCE);
	cr_assert(fx.is_closed);
	fx.is_closed = false; /* for the next tun's close */
	tun_free(t);
}

Test(tun, adds_ipv4_and_ipv6_addresses)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("yggad0");
	unsigned ifi = ifindex_of(t);
	struct inet_prefix a32 = ifaddr("192.0.2.1", 32), a24 = ifaddr("198.51.100.1", 24);
	struct inet_prefix a128 = ifaddr("2001:db8::1", 128);
	cr_assert_eq(tun_add_addr(t, &a32), 0);
	cr_assert_eq(tun_add_addr(t, &a24), 0);
	cr_assert_eq(tun_add_addr(t, &a128), 0);
	cr_assert_eq(tun_add_addr(t, &a24), 0, "adding it again is not an error");

	struct row r;
	cr_assert_eq(count_addr(ifi, &a32, NULL), 1, "192.0.2.1/32");
	cr_assert_eq(count_addr(ifi, &a24, NULL), 1, "198.51.100.1/24, once");
	cr_assert_eq(count_addr(ifi, &a128, &r), 1, "2001:db8::1/128");
	cr_assert(r.flags & IFA_F_NODAD, "flags %#x", r.flags);
	cr_assert_eq(r.flags & IFA_F_TENTATIVE, 0, "usable at once (flags %#x)", r.flags);
	/* The kernel's on-link route for the /24, none for a /32; each address is local. */
	struct inet_prefix n24 = net("198.51.100.0/24");
	cr_assert_eq(count_route(RT_TABLE_MAIN, &n24, &r), 1);
	cr_assert_eq(r.ifindex, ifi);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &a32, NULL), 0);
	cr_assert_eq(count_route(RT_TABLE_LOCAL, &a32, &r), 1);
	cr_assert_eq(r.type, RTN_LOCAL);
	cr_assert_eq(count_route(RT_TABLE_LOCAL, &a128, &r), 1, "2001:db8::1 local on return");
	cr_assert_eq(r.type, RTN_LOCAL);

	struct inet_prefix bad = a32;
	bad.len = 33;
	cr_assert_eq(tun_add_addr(t, &bad), -EINVAL);
	bad.len = 0;
	cr_assert_eq(tun_add_addr(t, &bad), -EINVAL);
	bad = a128;
	bad.family = 0;
	cr_assert_eq(tun_add_addr(t, &bad), -EINVAL);
	finish(t);
}

Test(tun, routes_with_a_preferred_source)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("yggps0");
	unsigned ifi = ifindex_of(t);
	struct inet_prefix src4 = ifaddr("203.0.113.1", 32), src6 = ifaddr("2001:db8::1", 128);
	struct inet_prefix dst4 = net("192.0.2.0/24"), dst6 = net("2001:db8:1::/48");
	cr_assert_eq(tun_add_addr(t, &src4), 0);
	cr_assert_eq(tun_add_addr(t, &src6), 0);
	cr_assert_eq(tun_add_route(t, &dst4, &src4), 0);
	cr_assert_eq(tun_add_route(t, &dst6, &src6), 0);

	struct row r;
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst4, &r), 1);
	cr_assert_eq(r.ifindex, ifi);
	cr_assert(r.has_prefsrc);
	cr_assert_arr_eq(r.prefsrc, src4.addr, 4, "src 203.0.113.1");
	cr_assert_eq(r.scope, RT_SCOPE_LINK);
	cr_assert_eq(r.type, RTN_UNICAST);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst6, &r), 1);
	cr_assert_eq(r.ifindex, ifi);
	cr_assert(r.has_prefsrc);
	cr_assert_arr_eq(r.prefsrc, src6.addr, 16, "src 2001:db8::1");

	/* Never replaced (ip route add): still one route, still with its preferred source. */
	cr_assert_eq(tun_add_route(t, &dst4, NULL), -EEXIST);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst4, &r), 1);
	cr_assert(r.has_prefsrc);
	cr_assert_eq(tun_del_route(t, &dst4), 0);
	cr_assert_eq(tun_add_route(t, &dst4, NULL), 0);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst4, &r), 1);
	cr_assert(!r.has_prefsrc);

	cr_assert_eq(tun_add_route(t, &dst4, &src6), -EINVAL, "families differ");
	cr_assert_eq(tun_add_route(t, &dst6, &src4), -EINVAL, "families differ");
	struct inet_prefix stranger = ifaddr("198.51.100.9", 32);
	cr_assert_lt(tun_add_route(t, &dst4, &stranger), 0, "none of the host's addresses");
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst4, &r), 1);
	cr_assert(!r.has_prefsrc, "the refused route changed nothing");
	finish(t);
}

Test(tun, deletes_routes)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("yggdel0");
	struct inet_prefix dst4 = net("198.51.100.0/24"), dst6 = net("2001:db8:3::/48");
	cr_assert_eq(tun_add_route(t, &dst4, NULL), 0);
	cr_assert_eq(tun_add_route(t, &dst6, NULL), 0);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst4, NULL), 1);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst6, NULL), 1);
	cr_assert_eq(tun_del_route(t, &dst4), 0);
	cr_assert_eq(tun_del_route(t, &dst6), 0);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst4, NULL), 0);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &dst6, NULL), 0);
	cr_assert_eq(tun_del_route(t, &dst4), -ENOENT, "already gone");
	cr_assert_eq(tun_del_route(t, &dst6), -ENOENT, "already gone");
	struct inet_prefix bad = dst6;
	bad.len = 129;
	cr_assert_eq(tun_del_route(t, &bad), -EINVAL);
	finish(t);
}

Test(tun, guard_installs_rules_for_both_families)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("ygggd0");
	cr_assert_eq(read_sys_long("ygggd0", "netdev_group", 10), 0, "the default group first");
	cr_assert_eq(tun_guard_install(t, &GUARD), 0);
	cr_assert_eq(read_sys_long("ygggd0", "netdev_group", 10), GUARD.group);
	assert_guard_rules(AF_INET, &GUARD);
	assert_guard_rules(AF_INET6, &GUARD);
	/* Both come before main (32766) and after local (0), which is untouched. */
	cr_assert_eq(count_rule(AF_INET, 0, 0, NULL), 1, "local rule");
	cr_assert_eq(count_rule(AF_INET, 32766, 0, NULL), 1, "main rule");
	finish(t);
}

Test(tun, guard_rejects_bad_parameters)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("ygggd1");
	struct tun_guard g = GUARD;
	g.mark = 0;
	cr_assert_eq(tun_guard_install(t, &g), -EINVAL, "mark 0 marks nothing");
	g = GUARD;
	g.group = 0;
	cr_assert_eq(tun_guard_install(t, &g), -EINVAL, "group 0 is every device's default");
	g = GUARD;
	g.pref = 0;
	cr_assert_eq(tun_guard_install(t, &g), -EINVAL, "pref 0: the kernel would choose");
	g.pref = 32765;
	cr_assert_eq(tun_guard_install(t, &g), -EINVAL, "pref + 1 must stay below main's 32766");
	g.pref = UINT32_MAX;
	cr_assert_eq(tun_guard_install(t, &g), -EINVAL, "pref + 1 wraps");
	g.pref = 32764;
	cr_assert_eq(tun_guard_install(t, &g), 0, "the last pref that fits");
	assert_guard_rules(AF_INET6, &g);
	cr_assert_eq(count_marked_rules(AF_INET, GUARD.mark), 2, "nothing of the refused ones");
	finish(t);
}

/*
 * A run killed before its tun_close leaves its rules behind (twice over, say, for two such
 * runs, which `ip rule add` without NLM_F_EXCL allows): the next install ends with each rule
 * exactly once, and rules with another pref or mark are left alone, also by tun_close.
 */
Test(tun, guard_replaces_rules_of_an_earlier_run)
{
	static const uint8_t families[] = {AF_INET, AF_INET6};
	enter_netns();
	loop_init(16, 2048);
	for (size_t i = 0; i < 2; i++) {
		for (int k = 0; k < 2; k++) {
			add_rule(families[i], GUARD.pref, GUARD.mark, FR_ACT_TO_TBL, GUARD.group);
			add_rule(families[i], GUARD.pref + 1, GUARD.mark, FR_ACT_UNREACHABLE, 0);
		}
		add_rule(families[i], GUARD.pref, 0x99, FR_ACT_UNREACHABLE, 0); /* another mark */
		add_rule(families[i], GUARD.pref + 2, GUARD.mark, FR_ACT_UNREACHABLE, 0);
		cr_assert_eq(count_rule(families[i], GUARD.pref, GUARD.mark, NULL), 2);
	}
	struct tun *t = open_tun("ygggd2");
	cr_assert_eq(tun_guard_install(t, &GUARD), 0);
	cr_assert_eq(tun_guard_install(t, &GUARD), 0, "a second install replaces the first");
	for (size_t i = 0; i < 2; i++) {
		assert_guard_rules(families[i], &GUARD);
		cr_assert_eq(count_rule(families[i], GUARD.pref, 0x99, NULL), 1, "another mark");
		cr_assert_eq(count_rule(families[i], GUARD.pref + 2, GUARD.mark, NULL), 1,
			     "another pref");
	}
	close_tun(t);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(count_rule(families[i], GUARD.pref, GUARD.mark, NULL), 0);
		cr_assert_eq(count_rule(families[i], GUARD.pref + 1, GUARD.mark, NULL), 0);
		cr_assert_eq(count_rule(families[i], GUARD.pref, 0x99, NULL), 1, "not ours");
		cr_assert_eq(count_rule(families[i], GUARD.pref + 2, GUARD.mark, NULL), 1,
			     "not ours");
	}
	finish(NULL);
}

/*
 * tun_close removes the routes, the addresses and the rules itself, before it closes the
 * device: right after the call the device is still there, without any of them.
 */
Test(tun, close_removes_what_was_installed)
{
	enter_netns();
	loop_init(16, 2048);
	struct tun *t = open_tun("yggcl0");
	unsigned ifi = ifindex_of(t);
	struct inet_prefix a4 = ifaddr("203.0.113.1", 24), a6 = ifaddr("2001:db8::1", 128);
	struct inet_prefix r4 = net("192.0.2.0/24"), r6 = net("2001:db8:1::/48");
	struct inet_prefix ygg = {.family = AF_INET6, .len = 7};
	memcpy(ygg.addr, our_addr, 16);
	cr_assert_eq(tun_add_addr(t, &a4), 0);
	cr_assert_eq(tun_add_addr(t, &a6), 0);
	cr_assert_eq(tun_add_route(t, &r4, &a4), 0);
	cr_assert_eq(tun_add_route(t, &r6, &a6), 0);
	cr_assert_eq(tun_guard_install(t, &GUARD), 0);
	cr_assert_eq(count_addr(ifi, &ygg, NULL), 1);

	tun_close(t, on_closed, &fx);
	cr_assert_eq(if_nametoindex("yggcl0"), ifi, "the device is still there");
	cr_assert_eq(count_route(RT_TABLE_MAIN, &r4, NULL), 0);
	cr_assert_eq(count_route(RT_TABLE_MAIN, &r6, NULL), 0);
	cr_assert_eq(count_addr(ifi, &a4, NULL), 0);
	cr_assert_eq(count_addr(ifi, &a6, NULL), 0);
	cr_assert_eq(count_addr(ifi, &ygg, NULL), 0, "tun_open's address too");
	struct inet_prefix n4 = net("203.0.113.0/24");
	cr_assert_eq(count_route(RT_TABLE_MAIN, &n4, NULL), 0, "the /24's on-link route");
	cr_assert_eq(count_marked_rules(AF_INET, GUARD.mark), 0);
	cr_assert_eq(count_marked_rules(AF_INET6, GUARD.mark), 0);

	uint64_t deadline = uv_now(&fx.loop) + 3000;
	while (!fx.is_closed && uv_now(&fx.loop) < deadline)
		uv_run(&fx.loop, UV_RUN_ONCE);
	cr_assert(fx.is_closed);
	tun_free(t);
	cr_assert_eq(if_nametoindex("yggcl0"), 0, "the device is gone");
	cr_assert_eq(count_marked_rules(AF_INET, GUARD.mark), 0);
	cr_assert_eq(count_marked_rules(AF_INET6, GUARD.mark), 0);
	finish(NULL);
}

/* A UDP socket of the family, with SO_MARK mark unless 0. */
static int udp_socket(int family, uint32_t mark)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	if (mark)
		cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), 0,
			     "SO_MARK: %s", strerror(errno));
	return s;
}

/* sendto a:PEER_PORT; the errno on failure, 0 on success. */
static int send_to(int s, const char *a)
{
	struct inet_prefix p;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	cr_assert(inet_addr_parse(a, &p));
	if (p.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(PEER_PORT);
		memcpy(&sin->sin_addr, p.addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(PEER_PORT);
		memcpy(&sin6->sin6_addr, p.addr, 16);
		sl = sizeof(*sin6);
	}
	static const char msg[] = "guarded?";
	ssize_t n = sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&ss, sl);
	if (n < 0)
		return errno;
	cr_assert_eq(n, (ssize_t)sizeof(msg));
	return 0;
}

/*
 * The guard at work: a marked socket cannot send through the device (ENETUNREACH) but still
 * sends through another interface (a second TUN, outside the group: not every kernel has the
 * dummy driver), while an unmarked socket's datagram reaches the device, from the route's
 * preferred source. Both families. Datagrams from either device are told apart by destination.
 */
Test(tun, guard_keeps_marked_sockets_off_the_device)
{
	enter_netns();
	loop_init(64, 2048);
	fx.tun = open_tun("ygggd3");
	struct inet_prefix src4 = ifaddr("203.0.113.1", 32), src6 = ifaddr("2001:db8::1", 128);
	struct inet_prefix via4 = net("192.0.2.0/24"), via6 = net("2001:db8:1::/48");
	cr_assert_eq(tun_add_addr(fx.tun, &src4), 0);
	cr_assert_eq(tun_add_addr(fx.tun, &src6), 0);
	cr_assert_eq(tun_add_route(fx.tun, &via4, &src4), 0);
	cr_assert_eq(tun_add_route(fx.tun, &via6, &src6), 0);
	/* The other way out: its on-link routes 198.51.100.0/24 and 2001:db8:2::/64. */
	struct tun_params op = params("yggother");
	op.addr6 = NULL;
	struct tun *other = tun_open(&fx.loop, &op);
	cr_assert_not_null(other);
	struct inet_prefix o4 = ifaddr("198.51.100.1", 24), o6 = ifaddr("2001:db8:2::1", 64);
	cr_assert_eq(tun_add_addr(other, &o4), 0);
	cr_assert_eq(tun_add_addr(other, &o6), 0);
	const uint8_t to4[4] = {192, 0, 2, 1}, other4[4] = {198, 51, 100, 2};
	struct inet_prefix to6 = ifaddr("2001:db8:1::1", 128);
	struct inet_prefix other6 = ifaddr("2001:db8:2::2", 128);

	/* The control: without the guard, a marked socket goes through the device. */
	int m4 = udp_socket(AF_INET, GUARD.mark), m6 = udp_socket(AF_INET6, GUARD.mark);
	cr_assert_eq(send_to(m4, "192.0.2.1"), 0);
	cr_assert(run_until(&fx.rx_udp4, 1), "no guard, no block");
	cr_assert_arr_eq(fx.last_v4 + 16, to4, 4);

	cr_assert_eq(tun_guard_install(fx.tun, &GUARD), 0);
	cr_assert_eq(send_to(m4, "192.0.2.1"), ENETUNREACH);
	cr_assert_eq(send_to(m6, "2001:db8:1::1"), ENETUNREACH);
	cr_assert_eq(send_to(m4, "198.51.100.2"), 0, "marked, through the other device");
	cr_assert(run_until(&fx.rx_udp4, 2));
	cr_assert_arr_eq(fx.last_v4 + 16, other4, 4);
	cr_assert_eq(send_to(m6, "2001:db8:2::2"), 0, "marked, through the other device");
	cr_assert(run_until(&fx.rx_udp, 1));
	cr_assert_arr_eq(fx.last_udp + 24, other6.addr, 16);

	int u4 = udp_socket(AF_INET, 0), u6 = udp_socket(AF_INET6, 0);
	cr_assert_eq(send_to(u4, "192.0.2.1"), 0);
	cr_assert(run_until(&fx.rx_udp4, 3), "unmarked IPv4 datagram read from the device");
	cr_assert_arr_eq(fx.last_v4 + 12, src4.addr, 4, "from the preferred source");
	cr_assert_arr_eq(fx.last_v4 + 16, to4, 4);
	cr_assert_eq(send_to(u6, "2001:db8:1::1"), 0);
	cr_assert(run_until(&fx.rx_udp, 2), "unmarked IPv6 datagram read from the device");
	cr_assert_arr_eq(fx.last_udp + 8, src6.addr, 16, "from the preferred source");
	cr_assert_arr_eq(fx.last_udp + 24, to6.addr, 16);
	uvwait_for(&fx.loop, 50);
	cr_assert_eq(fx.rx_udp4, 3, "nothing more came through");
	cr_assert_eq(fx.rx_udp, 2, "nothing more came through");
	close(m4);
	close(m6);
	close(u4);
	close(u6);
	close_tun(other);
	finish(fx.tun);
}
