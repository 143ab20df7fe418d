/*
 * nat64: the stateful NAT64's pipeline (see nat64.h; nat64-requirements §2 B-E, G 51-53).
 *
 * Owns: the BIB and session tables (table.c), the fragment table (frag.c), the expanded pool
 * addresses, the stored unsolicited SYNs (an array of at most MaxStoredSYNs pkts), the IPv4
 * ID counters, the ICMP token bucket and the counters.
 *
 * One packet, 6->4:  parse -> prefix guard -> (ICMP error: map the quote, translate, out4) ->
 *   (a later fragment: ports from its first fragment, or held) -> BIB/session -> translate ->
 *   hairpin (dst in the pool: back in as IPv4, B 18) or out4 (cut to the IPv4 MTU if it has
 *   no DF); a first fragment then releases the later ones that came before it.
 * 4->6 is the mirror: parse -> to a pool address? -> error / fragments (zero-checksum UDP in
 *   fragments is collected whole, B 20) -> BIB/session -> translate -> out6 (cut to 1280 when
 *   the IPv4 packet had no DF, C 26).
 * Every refusal is one counter of enum nat64_reason in its direction; the ICMP errors the RFCs
 * ask for go back toward the sender (never about an ICMP error, rate-limited, B 21).
 *
 * Timers: none of its own; nat64_tick, driven by the daemon, expires sessions (probing
 * established TCP ones, B 15), fragments and stored SYNs.
 */
#include "nat64/nat64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "config/config.h"
#include "lib/csum.h"
#include "lib/icmp.h"
#include "lib/inet.h"
#include "lib/ipfrag.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "lib/tbucket.h"
#include "lib/wire.h"
#include "nat64/frag.h"
#include "nat64/prefix.h"
#include "nat64/xlat.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	TCP_HLEN = 20,
	PROTO_ICMP4 = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ICMP6 = 58,
	POOL_MAX = 65536,	   /* pool addresses (a /16): the table's params are per address */
	ID_BUCKETS = 1024,	   /* IPv4 ID counters, picked by a keyed hash of the destination */
	SYN_HOLD_MS = 6000,	   /* RFC 6146 §3.5.2.2, RFC 5382 REQ-4 */
	ICMP_RATE = 100,	   /* errors per second, burst ICMP_BURST (as tunnel routing's) */
	ICMP_BURST = 50,
	LOWEST_MTU6 = 1280,	   /* RFC 8200 §5 */
	HAIRPIN_DEPTH = 1,	   /* a hairpinned packet is never hairpinned again */
};

struct stored_syn {
	struct pkt *p; /* the IPv4 SYN as received */
	uint64_t at;
	uint8_t addr4[4]; /* (T, t) it was sent to */
	uint16_t port4;
};

struct nat64 {
	struct nat64_prefix prefix;
	bool allow_nonglobal;
	uint8_t (*pool)[4];
	size_t npool;
	uint16_t port_min, port_max;
	uint32_t mtu6, mtu4;
	bool mss_clamp, is_adf;
	struct pkt_pool *pkts;
	nat64_out_cb *out4, *out6;
	void *ctx;
	struct nat64_table *tab;
	struct frag_table *frags;
	struct stored_syn *syns;
	size_t nsyns, max_syns;
	uint8_t secret[16];
	uint16_t ids[ID_BUCKETS];
	struct tbucket icmp; /* the errors it generates (B 21) */
	int depth; /* hairpin nesting */
	uint64_t now; /* the latest time given (nat64_now) */
	struct nat64_dir_stats st[NAT64_NDIRS];
};

static const char *const reason_names[NAT64_NREASONS] = {
	[NAT64_R_MALFORMED] = "malformed",
	[NAT64_R_HOP_LIMIT] = "hop_limit",
	[NAT64_R_HOP_ZERO] = "hop_zero",
	[NAT64_R_PROTO] = "protocol",
	[NAT64_R_ICMP_TYPE] = "icmp_type",
	[NAT64_R_ICMP_INNER] = "icmp_inner",
	[NAT64_R_ICMP_FRAG] = "icmp_fragment",
	[NAT64_R_MULTICAST] = "multicast",
	[NAT64_R_OPTIONS] = "options",
	[NAT64_R_TOO_BIG] = "too_big",
	[NAT64_R_WKP] = "wkp_non_global",
	[NAT64_R_NO_PORT] = "no_port",
	[NAT64_R_BIB_FULL] = "bib_full",
	[NAT64_R_SESS_FULL] = "sessions_full",
	[NAT64_R_NO_BIB] = "no_bib",
	[NAT64_R_FILTERED] = "filtered",
	[NAT64_R_NO_SESSION] = "no_session",
	[NAT64_R_NOT_OURS] = "not_ours",
	[NAT64_R_FRAG] = "fragment",
	[NAT64_R_SYN_UNANSWERED] = "syn_unanswered",
	[NAT64_R_SYN_DROPPED] = "syn_dropped",
	[NAT64_R_NO_BUFFER] = "no_buffer",
};

const char *nat64_reason_name(int r)
{
	return r >= 0 && r < NAT64_NREASONS && reason_names[r] ? reason_names[r] : "unknown";
}

/* ---- setup ---- */

/* The /32s of every Pool4 entry, in order, without repeats. */
static int expand_pool(struct nat64 *n, const struct config_nat64 *c)
{
	size_t total = 0;

	for (size_t i = 0; i < c->n_pool4; i++) {
		if (c->pool4[i].family != AF_INET || c->pool4[i].len > 32)
			return -EINVAL;
		total += (size_t)1 << (32 - c->pool4[i].len);
		if (total > POOL_MAX)
			return -E2BIG;
	}
	if (!total)
		return -EINVAL;
	n->pool = xreallocarray(NULL, total, sizeof(*n->pool));
	for (size_t i = 0; i < c->n_pool4; i++) {
		uint32_t base = (uint32_t)c->pool4[i].addr[0] << 24 | (uint32_t)c->pool4[i].addr[1] << 16 |
				(uint32_t)c->pool4[i].addr[2] << 8 | c->pool4[i].addr[3];
		size_t cnt = (size_t)1 << (32 - c->pool4[i].len);

		for (size_t k = 0; k < cnt; k++) {
			uint32_t a = base + (uint32_t)k;
			uint8_t b[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
					(uint8_t)a};
			size_t j = 0;

			while (j < n->npool && memcmp(n->pool[j], b, 4))
				j++;
			if (j == n->npool)
				memcpy(n->pool[n->npool++], b, 4);
		}
	}
	return 0;
}

struct nat64 *nat64_new(const struct nat64_params *p)
{
	const struct config_nat64 *c = p->cfg;
	struct nat64_table_params tp = {0};
	struct nat64 *n = xcalloc(1, sizeof(*n));
	int err;

	if (nat64_prefix_init(&n->prefix, c->prefix.addr, c->prefix.len) < 0) {
		log_error("nat64: prefix /%u is not an RFC 6052 length", c->prefix.len);
		goto fail;
	}
	err = expand_pool(n, c);
	if (err < 0) {
		log_error("nat64: Pool4 %s", err == -E2BIG ? "holds more than 65536 addresses"
							   : "is empty or not IPv4");
		goto fail;
	}
	if (p->secret)
		memcpy(n->secret, p->secret, sizeof(n->secret));
	else if (getrandom(n->secret, sizeof(n->secret), 0) != (ssize_t)sizeof(n->secret)) {
		log_error_errno(-errno, "nat64: getrandom");
		goto fail;
	}
	for (size_t i = 0; i < ID_BUCKETS; i++)
		n->ids[i] = (uint16_t)(n->secret[i % 16] << 8 | n->secret[(i * 7 + 3) % 16]) ^
			    (uint16_t)(i * 40503u);
	n->allow_nonglobal = c->allow_nonglobal_wkp;
	n->port_min = c->port_min;
	n->port_max = c->port_max;
	n->mtu6 = p->mtu6;
	n->mtu4 = p->mtu4;
	n->mss_clamp = c->mss_clamp;
	n->is_adf = c->filtering == CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT;
	n->pkts = p->pool;
	n->out4 = p->out4;
	n->out6 = p->out6;
	n->ctx = p->ctx;
	tbucket_init(&n->icmp, ICMP_RATE, ICMP_BURST);

	tp.pool = (const uint8_t(*)[4])n->pool;
	tp.npool = n->npool;
	tp.port_min = c->port_min;
	tp.port_max = c->port_max;
	tp.max_bib = c->max_bib_entries;
	tp.max_sessions = c->max_sessions;
	tp.udp_ms = c->udp_timeout * 1000u;
	tp.icmp_ms = c->icmp_timeout * 1000u;
	tp.tcp_est_ms = c->tcp_est_timeout * 1000u;
	tp.tcp_trans_ms = c->tcp_trans_timeout * 1000u;
	tp.tcp_incoming_syn_ms = SYN_HOLD_MS;
	tp.is_adf = c->filtering == CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT;
	memcpy(tp.secret, n->secret, sizeof(tp.secret));
	n->tab = nat64_table_new(&tp);
	n->frags = frag_new(c->max_fragments);
	n->max_syns = c->max_stored_syns;
	n->syns = xcalloc(n->max_syns ? n->max_syns : 1, sizeof(*n->syns));
	if (!n->tab || !n->frags) {
		log_error("nat64: cannot allocate the tables");
		goto fail;
	}
	return n;
fail:
	nat64_free(n);
	return NULL;
}

void nat64_free(struct nat64 *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nsyns; i++)
		pkt_free(n->syns[i].p);
	free(n->syns);
	frag_free(n->frags);
	nat64_table_free(n->tab);
	free(n->pool);
	free(n);
}

/* ---- helpers ---- */

static void drop(struct nat64 *n, enum nat64_dir d, enum nat64_reason r, struct pkt *p)
{
	n->st[d].dropped[r]++;
	pkt_free(p);
}

/*
 * Sends the ICMPv6 error e about the IPv6 packet orig (from its source, which gets it from
 * the prefix + first pool address), counted in d. orig is not consumed.
 */
static void send_error6(struct nat64 *n, enum nat64_dir d, const uint8_t *orig, size_t len,
			const struct icmp_err *e, uint64_t now)
{
	uint8_t src[16];
	struct pkt *q;

	if (len < IP6_HLEN || !icmp6_may_answer(orig, len, e))
		return;
	if (!tbucket_take(&n->icmp, now)) {
		n->st[d].errors_limited++;
		return;
	}
	q = pkt_alloc(n->pkts);
	if (!q) {
		n->st[d].dropped[NAT64_R_NO_BUFFER]++;
		return;
	}
	nat64_prefix_embed(&n->prefix, n->pool[0], src);
	if (!icmp6_error(q, src, orig + 8, e, orig, len)) {
		pkt_free(q);
		return;
	}
	n->st[d].errors_sent++;
	n->out6(n->ctx, q);
}

/* The same in IPv4, from src (the pool address the packet was sent to) to its source. */
static void send_error4(struct nat64 *n, enum nat64_dir d, const uint8_t *orig, size_t len,
			const uint8_t src[4], const struct icmp_err *e, uint64_t now)
{
	struct pkt *q;

	if (len < IP4_HLEN || !icmp4_may_answer(orig, len))
		return;
	if (!tbucket_take(&n->icmp, now)) {
		n->st[d].errors_limited++;
		return;
	}
	q = pkt_alloc(n->pkts);
	if (!q) {
		n->st[d].dropped[NAT64_R_NO_BUFFER]++;
		return;
	}
	if (!icmp4_error(q, src, orig + 12, e, orig, len)) {
		pkt_free(q);
		return;
	}
	n->st[d].errors_sent++;
	n->out4(n->ctx, q);
}

/* The counter an ICMP error that xlat asked for belongs to. */
static enum nat64_reason reply_reason(const struct icmp_err *e, int ver)
{
	if (ver == 6) {
		if (e->type == ICMP6_TIME_EXCEEDED)
			return NAT64_R_HOP_LIMIT;
		if (e->type == ICMP6_PKT_TOO_BIG)
			return NAT64_R_TOO_BIG;
		return NAT64_R_OPTIONS;
	}
	if (e->type == ICMP4_TIME_EXCEEDED)
		return NAT64_R_HOP_LIMIT;
	if (e->type == ICMP4_DEST_UNREACH && e->code == ICMP4_FRAG_NEEDED)
		return NAT64_R_TOO_BIG;
	return NAT64_R_OPTIONS;
}

static enum nat64_reason xlat_reason(int r)
{
	switch (r) {
	case XLAT_HOP_ZERO:
		return NAT64_R_HOP_ZERO;
	case XLAT_PROTO:
		return NAT64_R_PROTO;
	case XLAT_ICMP_TYPE:
		return NAT64_R_ICMP_TYPE;
	case XLAT_ICMP_INNER:
		return NAT64_R_ICMP_INNER;
	case XLAT_ICMP_FRAG:
		return NAT64_R_ICMP_FRAG;
	case XLAT_MULTICAST:
		return NAT64_R_MULTICAST;
	default:
		return NAT64_R_MALFORMED;
	}
}

static enum nat64_reason table_reason(int r)
{
	switch (r) {
	case NAT64_T_NO_PORT:
		return NAT64_R_NO_PORT;
	case NAT64_T_BIB_FULL:
		return NAT64_R_BIB_FULL;
	case NAT64_T_SESS_FULL:
		return NAT64_R_SESS_FULL;
	case NAT64_T_FILTERED:
		return NAT64_R_FILTERED;
	case NAT64_T_NO_SESSION:
		return NAT64_R_NO_SESSION;
	default:
		return NAT64_R_NO_BIB;
	}
}

static int proto_of(uint8_t ip_proto)
{
	switch (ip_proto) {
	case PROTO_TCP:
		return NAT64_TCP;
	case PROTO_UDP:
		return NAT64_UDP;
	default:
		return NAT64_ICMP;
	}
}

/* C 30: an IPv4 ID from a counter picked by a keyed hash of the destination (RFC 7739 §5.1). */
static uint16_t next_id(struct nat64 *n, const uint8_t dst[4])
{
	uint32_t k, h;

	memcpy(&k, n->secret, 4);
	memcpy(&h, dst, 4);
	h ^= k;
	h *= 0x9e3779b1u;
	memcpy(&k, n->secret + 4, 4);
	h ^= k ^ (h >> 15);
	h *= 0x85ebca77u;
	return n->ids[(h >> 16) % ID_BUCKETS]++;
}

/*
 * E 42: the MSS a SYN may announce, in either direction. An MSS limits what the other end sends
 * back, and a segment crosses both sides whichever way it goes: 40 bytes of headers in IPv4,
 * 60 in IPv6. So both directions clamp to the smaller of the two (the client's SYN that said
 * mtu4 - 40 would let the server send segments that do not fit mtu6 once translated). 0: off.
 */
static uint16_t clamp_mss(const struct nat64 *n)
{
	uint32_t m4 = n->mtu4 > 65535 ? 65535 : n->mtu4, m6 = n->mtu6 > 65535 ? 65535 : n->mtu6;
	uint32_t mss = m4 - 40 < m6 - 60 ? m4 - 40 : m6 - 60;

	if (!n->mss_clamp || m4 <= 40 || m6 <= 60)
		return 0;
	return (uint16_t)mss;
}

static void frag_key6(struct frag_key *k, const struct xlat_info *in)
{
	memset(k, 0, sizeof(*k));
	k->ver = 6;
	k->proto = in->l4.proto;
	memcpy(k->src, in->src, 16);
	memcpy(k->dst, in->dst, 16);
	k->id = in->frag_id;
}

static void frag_key4(struct frag_key *k, const struct xlat_info *in)
{
	memset(k, 0, sizeof(*k));
	k->ver = 4;
	k->proto = in->l4.proto;
	memcpy(k->src, in->src, 4);
	memcpy(k->dst, in->dst, 4);
	k->id = in->frag_id;
}

struct emit_ctx {
	struct nat64 *n;
	enum nat64_dir d;
	nat64_out_cb *out;
};

static void emit_piece(void *ctx, struct pkt *p)
{
	struct emit_ctx *e = ctx;

	e->n->st[e->d].packets++;
	e->n->st[e->d].bytes += p->len;
	e->out(e->n->ctx, p);
}

/* Hands a translated packet on, cut to mtu when xlat said XLAT_FRAGMENT. */
static void emit(struct nat64 *n, enum nat64_dir d, struct pkt *p, bool cut, uint32_t id)
{
	struct emit_ctx e = {n, d, d == NAT64_6TO4 ? n->out4 : n->out6};
	int r;

	if (!cut) {
		if (p->off.gso_type != PKT_GSO_NONE)
			n->st[d].gso++;
		emit_piece(&e, p);
		return;
	}
	if (d == NAT64_6TO4)
		r = ipfrag_split4(p, n->mtu4, n->pkts, emit_piece, &e);
	else
		r = ipfrag_split6(p, n->mtu6 < LOWEST_MTU6 ? n->mtu6 : LOWEST_MTU6, id, n->pkts,
				  emit_piece, &e);
	if (r < 0)
		n->st[d].dropped[r == -ENOBUFS ? NAT64_R_NO_BUFFER : NAT64_R_TOO_BIG]++;
	pkt_free(p);
}

/* ---- 6 -> 4 ---- */

bool nat64_wants6(const struct nat64 *n, const uint8_t *b, size_t len)
{
	return len >= IP6_HLEN && (b[0] >> 4) == 6 && nat64_prefix_match(&n->prefix, b + 24);
}

static void input6(struct nat64 *n, struct pkt *p, uint64_t now, bool is_released);

static void release6(void *ctx, struct pkt *p);

struct release_ctx {
	struct nat64 *n;
	uint64_t now;
};

static void release6(void *ctx, struct pkt *p)
{
	struct release_ctx *r = ctx;

	input6(r->n, p, r->now, true);
}

/* An ICMPv6 error from a client about a packet it had from Y' (D 37-38). */
static void error6(struct nat64 *n, struct pkt *p, struct xlat_info *in)
{
	struct nat64_tuple tu = {0};
	struct xlat_addr4 out = {.sport = 0}, inner = {.sport = 0};
	struct xlat_opts o = {0};
	struct icmp_err rep = {0};
	int r;

	if (!nat64_prefix_match(&n->prefix, in->inner.src) || !in->inner.l4.has_ports) {
		drop(n, NAT64_6TO4, NAT64_R_ICMP_INNER, p);
		return;
	}
	tu.proto = (uint8_t)proto_of(in->inner.l4.proto);
	memcpy(tu.addr6, in->inner.dst, 16);
	tu.port6 = in->inner.l4.is_echo ? in->inner.l4.sport : in->inner.l4.dport;
	if (nat64_table_find_out(n->tab, &tu) != NAT64_T_OK) {
		drop(n, NAT64_6TO4, NAT64_R_ICMP_INNER, p);
		return;
	}
	memcpy(out.src, tu.addr4, 4);
	nat64_prefix_extract(&n->prefix, in->dst, out.dst);
	nat64_prefix_extract(&n->prefix, in->inner.src, inner.src);
	memcpy(inner.dst, tu.addr4, 4);
	if (in->inner.l4.is_echo) {
		inner.sport = inner.dport = tu.port4;
	} else {
		inner.sport = in->inner.l4.sport;
		inner.dport = tu.port4;
	}
	o.mtu = n->mtu4;
	o.mtu_in = n->mtu6;
	o.ip4_id = next_id(n, out.dst);
	r = xlat_6to4(p, in, &out, &inner, &o, &rep);
	if (r != XLAT_OK) {
		drop(n, NAT64_6TO4, r == XLAT_REPLY ? NAT64_R_TOO_BIG : xlat_reason(r), p);
		return;
	}
	emit(n, NAT64_6TO4, p, false, 0);
}

/*
 * Where an IPv4 packet comes from: the wire; frag_first, which hands back the later fragments
 * that came before their first one (ports known now; a zero-checksum datagram's still to be
 * collected); or frag_collect, which hands back a complete zero-checksum datagram, checksum
 * written, to be translated piece by piece.
 */
enum from { FROM_WIRE, FROM_HOLD, FROM_COLLECT };

static void input4(struct nat64 *n, struct pkt *p, uint64_t now, enum from from);

static void input6(struct nat64 *n, struct pkt *p, uint64_t now, bool is_released)
{
	struct xlat_info in;
	struct icmp_err rep = {0};
	struct nat64_tuple tu = {0};
	struct xlat_addr4 out = {.sport = 0};
	struct xlat_opts o = {0};
	struct frag_key fk;
	bool is_first_frag;
	int r;

	r = xlat_parse6(p->data, p->len, &in, &rep);
	if (r == XLAT_REPLY) {
		send_error6(n, NAT64_6TO4, p->data, p->len, &rep, now);
		drop(n, NAT64_6TO4, reply_reason(&rep, 6), p);
		return;
	}
	if (r != XLAT_OK) {
		drop(n, NAT64_6TO4, xlat_reason(r), p);
		return;
	}
	pkt_trim(p, in.len);
	nat64_prefix_extract(&n->prefix, in.dst, out.dst);
	if (!nat64_prefix_allows(&n->prefix, out.dst, n->allow_nonglobal)) {
		drop(n, NAT64_6TO4, NAT64_R_WKP, p);
		return;
	}
	if (in.l4.is_icmp_error) {
		error6(n, p, &in);
		return;
	}
	is_first_frag = in.is_frag && in.l4.has_ports;
	if (in.is_frag && !in.l4.has_ports) {
		uint16_t sp, dp;

		frag_key6(&fk, &in);
		if (!frag_find(n->frags, &fk, now, &sp, &dp)) {
			if (is_released) { /* its first fragment came and went without it: odd */
				drop(n, NAT64_6TO4, NAT64_R_FRAG, p);
				return;
			}
			frag_hold(n->frags, &fk, p, now);
			return;
		}
		in.l4.sport = sp;
		in.l4.dport = dp;
	}
	tu.proto = (uint8_t)proto_of(in.l4.proto);
	memcpy(tu.addr6, in.src, 16);
	tu.port6 = in.l4.sport;
	memcpy(tu.raddr, out.dst, 4);
	tu.rport = in.l4.proto == PROTO_ICMP6 ? 0 : in.l4.dport;
	r = nat64_table_out(n->tab, &tu, in.l4.proto == PROTO_TCP && in.l4.has_ports ? in.l4.tcp_flags : 0,
			    in.l4.proto != PROTO_ICMP6 || in.l4.is_echo_request, now);
	if (r != NAT64_T_OK) {
		enum nat64_reason why = table_reason(r);

		if (why == NAT64_R_NO_PORT || why == NAT64_R_BIB_FULL || why == NAT64_R_SESS_FULL) {
			/* B 11: the pool cannot map it; tell the client the address is unreachable. */
			struct icmp_err e = {.type = ICMP6_DEST_UNREACH, .code = ICMP6_ADDR_UNREACH};

			send_error6(n, NAT64_6TO4, p->data, p->len, &e, now);
		}
		drop(n, NAT64_6TO4, why, p);
		return;
	}
	memcpy(out.src, tu.addr4, 4);
	out.sport = tu.port4;
	out.dport = in.l4.proto == PROTO_ICMP6 ? tu.port4 : in.l4.dport;
	o.mtu = n->mtu4;
	o.mtu_in = n->mtu6;
	o.mss = clamp_mss(n);
	o.ip4_id = next_id(n, out.dst);
	if (is_first_frag)
		frag_key6(&fk, &in); /* before the translation changes the addresses */
	r = xlat_6to4(p, &in, &out, NULL, &o, &rep);
	if (r == XLAT_REPLY) {
		send_error6(n, NAT64_6TO4, p->data, p->len, &rep, now);
		drop(n, NAT64_6TO4, reply_reason(&rep, 6), p);
		return;
	}
	if (r != XLAT_OK && r != XLAT_FRAGMENT) {
		drop(n, NAT64_6TO4, xlat_reason(r), p);
		return;
	}
	if (nat64_table_is_pool(n->tab, out.dst) && in.l4.proto != PROTO_ICMP6 &&
	    n->depth < HAIRPIN_DEPTH) {
		/* B 18: a client to another client's (T, t): back in as IPv4 from (T, t). */
		n->st[NAT64_6TO4].hairpin++;
		n->depth++;
		input4(n, p, now, FROM_WIRE);
		n->depth--;
	} else {
		emit(n, NAT64_6TO4, p, r == XLAT_FRAGMENT, 0);
	}
	if (is_first_frag) {
		struct release_ctx rc = {n, now};

		frag_first(n->frags, &fk, in.l4.sport, in.l4.dport, now, release6, &rc);
	}
}

void nat64_input6(struct nat64 *n, struct pkt *p, uint64_t now)
{
	n->now = now;
	input6(n, p, now, false);
}

/* ---- 4 -> 6 ---- */

/* The port of (T, t) that an IPv4 packet to the pool names, as far as its bytes tell. */
static bool port4_of(const uint8_t *b, size_t len, uint16_t *port, bool *is_icmp)
{
	size_t hl = (size_t)(b[0] & 0xf) * 4;
	const uint8_t *l4 = b + hl;

	if (hl < IP4_HLEN || len < hl + 8)
		return false;
	switch (b[9]) {
	case PROTO_TCP:
	case PROTO_UDP:
		*port = wire_be16(l4 + 2);
		*is_icmp = false;
		return true;
	case PROTO_ICMP4:
		if (l4[0] == ICMP4_ECHO_REPLY || l4[0] == ICMP4_ECHO_REQUEST) {
			*port = wire_be16(l4 + 4);
			*is_icmp = true;
			return true;
		}
		/* An error: the quoted packet's source port (or identifier) is ours. */
		if (len < hl + 8 + IP4_HLEN)
			return false;
		{
			const uint8_t *q = l4 + 8;
			size_t qhl = (size_t)(q[0] & 0xf) * 4;

			if (qhl < IP4_HLEN || len < hl + 8 + qhl + 8)
				return false;
			*is_icmp = q[9] == PROTO_ICMP4;
			*port = *is_icmp ? wire_be16(q + qhl + 4) : wire_be16(q + qhl);
			return true;
		}
	default:
		return false;
	}
}

bool nat64_wants4(const struct nat64 *n, const uint8_t *b, size_t len)
{
	struct nat64_tuple tu = {.proto = NAT64_ICMP};
	bool is_icmp = false;
	uint16_t port;

	if (len < IP4_HLEN || (b[0] >> 4) != 4 || !nat64_table_is_pool(n->tab, b + 16))
		return false;
	if (wire_be16(b + 6) & 0x1fff) /* a later fragment: its datagram decides, in input4 */
		return true;
	if (!port4_of(b, len, &port, &is_icmp) || port < n->port_min || port > n->port_max)
		return false;
	if (!is_icmp)
		return true;
	/*
	 * The host picks ICMP identifiers at random over all 65536 (a raw-socket ping does), so
	 * on a pool address it shares, an ICMP query is the translator's only when the identifier
	 * is bound; the others (the host's own pings and their replies) stay the host's.
	 */
	memcpy(tu.addr4, b + 16, 4);
	tu.port4 = port;
	return nat64_table_find_in(n->tab, &tu) == NAT64_T_OK;
}

static void release4_held(void *ctx, struct pkt *p)
{
	struct release_ctx *r = ctx;

	input4(r->n, p, r->now, FROM_HOLD);
}

static void release4_collected(void *ctx, struct pkt *p)
{
	struct release_ctx *r = ctx;

	input4(r->n, p, r->now, FROM_COLLECT);
}

/* An ICMPv4 error about a packet we sent from (T, t) (D 37-39). */
static void error4(struct nat64 *n, struct pkt *p, struct xlat_info *in)
{
	struct nat64_tuple tu = {0};
	struct xlat_addr6 out = {.sport = 0}, inner = {.sport = 0};
	struct xlat_opts o = {0};
	struct icmp_err rep = {0};
	int r;

	if (!in->inner.l4.has_ports || memcmp(in->inner.src, in->dst, 4)) {
		drop(n, NAT64_4TO6, NAT64_R_ICMP_INNER, p);
		return;
	}
	tu.proto = (uint8_t)proto_of(in->inner.l4.proto);
	memcpy(tu.addr4, in->inner.src, 4);
	tu.port4 = in->inner.l4.sport;
	if (nat64_table_find_in(n->tab, &tu) != NAT64_T_OK) {
		drop(n, NAT64_4TO6, NAT64_R_ICMP_INNER, p);
		return;
	}
	/* D 39: from the prefix + the IPv4 router that sent it, so traceroute names the hop. */
	nat64_prefix_embed(&n->prefix, in->src, out.src);
	memcpy(out.dst, tu.addr6, 16);
	memcpy(inner.src, tu.addr6, 16);
	nat64_prefix_embed(&n->prefix, in->inner.dst, inner.dst);
	inner.sport = tu.port6;
	inner.dport = in->inner.l4.is_echo ? tu.port6 : in->inner.l4.dport;
	o.mtu = n->mtu6;
	o.mtu_in = n->mtu4;
	o.lowest_mtu6 = LOWEST_MTU6;
	r = xlat_4to6(p, in, &out, &inner, &o, &rep);
	if (r != XLAT_OK) {
		drop(n, NAT64_4TO6, r == XLAT_REPLY ? NAT64_R_TOO_BIG : xlat_reason(r), p);
		return;
	}
	emit(n, NAT64_4TO6, p, false, 0);
}

/* B 16: keeps an unsolicited SYN for 6 s, never answering it sooner (RFC 5382 REQ-4). */
static void store_syn(struct nat64 *n, struct pkt *p, const struct nat64_tuple *tu, uint64_t now)
{
	struct stored_syn *s;

	if (n->nsyns >= n->max_syns) {
		drop(n, NAT64_4TO6, NAT64_R_SYN_DROPPED, p);
		return;
	}
	s = &n->syns[n->nsyns++];
	s->p = p;
	s->at = now;
	memcpy(s->addr4, tu->addr4, 4);
	s->port4 = tu->port4;
}

static void input4(struct nat64 *n, struct pkt *p, uint64_t now, enum from from)
{
	struct xlat_info in;
	struct icmp_err rep = {0};
	struct nat64_tuple tu = {0};
	struct xlat_addr6 out = {.sport = 0};
	struct xlat_opts o = {0};
	struct frag_key fk;
	bool is_first_frag, is_zero_udp = false;
	int r;

	r = xlat_parse4(p->data, p->len, &in, &rep);
	if (r == XLAT_REPLY) {
		send_error4(n, NAT64_4TO6, p->data, p->len, p->data + 16, &rep, now);
		drop(n, NAT64_4TO6, reply_reason(&rep, 4), p);
		return;
	}
	if (r != XLAT_OK) {
		drop(n, NAT64_4TO6, xlat_reason(r), p);
		return;
	}
	pkt_trim(p, in.len);
	if (!nat64_table_is_pool(n->tab, in.dst)) {
		drop(n, NAT64_4TO6, NAT64_R_NOT_OURS, p);
		return;
	}
	if (!nat64_prefix_allows(&n->prefix, in.src, n->allow_nonglobal)) {
		drop(n, NAT64_4TO6, NAT64_R_WKP, p);
		return;
	}
	if (in.l4.is_icmp_error) {
		error4(n, p, &in);
		return;
	}
	is_first_frag = in.is_frag && in.l4.has_ports;
	if (in.is_frag)
		frag_key4(&fk, &in);
	if (in.is_frag && !in.l4.has_ports) {
		uint16_t sp, dp;

		if (from != FROM_COLLECT && frag_is_collecting(n->frags, &fk)) {
			struct release_ctx rc = {n, now};

			frag_collect(n->frags, &fk, p, false, now, release4_collected, &rc);
			return;
		}
		if (!frag_find(n->frags, &fk, now, &sp, &dp)) {
			if (from != FROM_WIRE) {
				drop(n, NAT64_4TO6, NAT64_R_FRAG, p);
				return;
			}
			frag_hold(n->frags, &fk, p, now);
			return;
		}
		in.l4.sport = sp;
		in.l4.dport = dp;
	}
	if (in.l4.proto == PROTO_UDP && in.l4.has_ports && p->len >= (size_t)in.l3len + 8 &&
	    wire_be16(p->data + in.l3len + 6) == 0)
		is_zero_udp = true;
	if (is_first_frag && is_zero_udp && from == FROM_WIRE) {
		/*
		 * B 20: the checksum covers the whole datagram: collect it (the pieces held so
		 * far join the collection from frag_first), then translate it.
		 */
		struct release_ctx rc = {n, now};

		frag_collect(n->frags, &fk, p, true, now, release4_collected, &rc);
		frag_first(n->frags, &fk, in.l4.sport, in.l4.dport, now, release4_held, &rc);
		return;
	}
	if (in.l4.dport < n->port_min || in.l4.dport > n->port_max) {
		drop(n, NAT64_4TO6, NAT64_R_NOT_OURS, p);
		return;
	}
	tu.proto = (uint8_t)proto_of(in.l4.proto);
	memcpy(tu.addr4, in.dst, 4);
	tu.port4 = in.l4.dport;
	memcpy(tu.raddr, in.src, 4);
	tu.rport = in.l4.proto == PROTO_ICMP4 ? 0 : in.l4.sport;
	r = nat64_table_in(n->tab, &tu,
			   in.l4.proto == PROTO_TCP && in.l4.has_ports ? in.l4.tcp_flags : 0, now);
	if (r != NAT64_T_OK) {
		enum nat64_reason why = table_reason(r);

		if (r == NAT64_T_NO_BIB && in.l4.proto == PROTO_TCP &&
		    (in.l4.tcp_flags & (NAT64_SYN | NAT64_ACK | NAT64_RST)) == NAT64_SYN) {
			store_syn(n, p, &tu, now);
			return;
		}
		if (r == NAT64_T_NO_BIB && in.l4.proto == PROTO_UDP) {
			/* RFC 6146 §3.5.1.1: nobody is bound to (T, t), as a host without a
			 * listener would say (Jool does the same). */
			struct icmp_err e = {.type = ICMP4_DEST_UNREACH, .code = ICMP4_PORT_UNREACH};

			send_error4(n, NAT64_4TO6, p->data, p->len, in.dst, &e, now);
		}
		if (r == NAT64_T_FILTERED) {
			/* B 8: address-dependent filtering answers 3/13. */
			struct icmp_err e = {.type = ICMP4_DEST_UNREACH,
					     .code = ICMP4_ADMIN_PROHIBITED};

			send_error4(n, NAT64_4TO6, p->data, p->len, in.dst, &e, now);
		}
		drop(n, NAT64_4TO6, why, p);
		return;
	}
	nat64_prefix_embed(&n->prefix, in.src, out.src);
	memcpy(out.dst, tu.addr6, 16);
	if (in.l4.proto == PROTO_ICMP4) {
		out.sport = out.dport = tu.port6;
	} else {
		out.sport = in.l4.sport;
		out.dport = tu.port6;
	}
	o.mtu = n->mtu6;
	o.mtu_in = n->mtu4;
	o.lowest_mtu6 = LOWEST_MTU6;
	o.mss = clamp_mss(n);
	r = xlat_4to6(p, &in, &out, NULL, &o, &rep);
	if (r == XLAT_REPLY) {
		send_error4(n, NAT64_4TO6, p->data, p->len, in.dst, &rep, now);
		drop(n, NAT64_4TO6, reply_reason(&rep, 4), p);
		return;
	}
	if (r != XLAT_OK && r != XLAT_FRAGMENT) {
		drop(n, NAT64_4TO6, xlat_reason(r), p);
		return;
	}
	emit(n, NAT64_4TO6, p, r == XLAT_FRAGMENT, in.frag_id);
	if (is_first_frag && from != FROM_COLLECT) {
		struct release_ctx rc = {n, now};

		frag_first(n->frags, &fk, in.l4.sport, in.l4.dport, now, release4_held, &rc);
	}
}

void nat64_input4(struct nat64 *n, struct pkt *p, uint64_t now)
{
	n->now = now;
	input4(n, p, now, FROM_WIRE);
}

/* ---- time ---- */

/* B 15: a bare ACK (sequence and acknowledgment 0) from Y' to X', to see if it still lives. */
static void send_probe(void *ctx, const struct nat64_tuple *tu)
{
	struct nat64 *n = ctx;
	struct pkt *q = pkt_alloc(n->pkts);
	uint8_t *b;
	uint16_t c;

	if (!q || tu->proto != NAT64_TCP) {
		pkt_free(q);
		return;
	}
	b = pkt_put(q, IP6_HLEN + TCP_HLEN);
	if (!b) {
		pkt_free(q);
		return;
	}
	memset(b, 0, IP6_HLEN + TCP_HLEN);
	b[0] = 0x60;
	b[5] = TCP_HLEN;
	b[6] = PROTO_TCP;
	b[7] = 64;
	nat64_prefix_embed(&n->prefix, tu->raddr, b + 8);
	memcpy(b + 24, tu->addr6, 16);
	b[40] = (uint8_t)(tu->rport >> 8);
	b[41] = (uint8_t)tu->rport;
	b[42] = (uint8_t)(tu->port6 >> 8);
	b[43] = (uint8_t)tu->port6;
	b[52] = (TCP_HLEN / 4) << 4;
	b[53] = NAT64_ACK;
	c = (uint16_t)~csum_fold(csum_partial(b + IP6_HLEN, TCP_HLEN,
					      csum_pseudo6(b + 8, b + 24, TCP_HLEN, PROTO_TCP)));
	csum_store(b + 56, c);
	n->out6(n->ctx, q);
}

static void expire_syns(struct nat64 *n, uint64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < n->nsyns; i++) {
		struct stored_syn *s = &n->syns[i];
		struct nat64_tuple tu = {0};

		if (now - s->at < SYN_HOLD_MS) {
			n->syns[k++] = *s;
			continue;
		}
		tu.proto = NAT64_TCP;
		memcpy(tu.addr4, s->addr4, 4);
		tu.port4 = s->port4;
		if (nat64_table_find_in(n->tab, &tu) == NAT64_T_OK) {
			/* The client opened (T, t) meanwhile: its own SYN does the opening. */
			pkt_free(s->p);
			continue;
		}
		{
			struct icmp_err e = {.type = ICMP4_DEST_UNREACH, .code = ICMP4_PORT_UNREACH};

			send_error4(n, NAT64_4TO6, s->p->data, s->p->len, s->addr4, &e, now);
		}
		drop(n, NAT64_4TO6, NAT64_R_SYN_UNANSWERED, s->p);
	}
	n->nsyns = k;
}

void nat64_tick(struct nat64 *n, uint64_t now)
{
	n->now = now;
	nat64_table_tick(n->tab, now, send_probe, n);
	frag_expire(n->frags, now);
	expire_syns(n, now);
}

/* ---- queries ---- */

void nat64_get_info(const struct nat64 *n, struct nat64_info *out)
{
	struct frag_stats fs;

	memset(out, 0, sizeof(*out));
	memcpy(out->prefix, n->prefix.addr, 16);
	out->prefix_len = n->prefix.len;
	out->npool = n->npool;
	for (size_t i = 0; i < n->npool && i < NAT64_INFO_POOL_MAX; i++)
		memcpy(out->pool[i], n->pool[i], 4);
	out->port_min = n->port_min;
	out->port_max = n->port_max;
	out->is_adf = n->is_adf;
	out->mss_clamp = n->mss_clamp;
	out->mtu4 = n->mtu4;
	out->mtu6 = n->mtu6;
	memcpy(out->dir, n->st, sizeof(out->dir));
	nat64_table_info(n->tab, &out->table);
	frag_get_stats(n->frags, &fs);
	out->frag_pkts = fs.pkts_now;
	out->frag_max = fs.max_pkts;
	out->frag_held = fs.held;
	out->frag_evicted = fs.evicted;
	out->frag_expired = fs.expired + fs.collect_failed;
	out->stored_syns = n->nsyns;
	out->max_stored_syns = n->max_syns;
	out->memory = sizeof(*n) + n->npool * 4 + n->max_syns * sizeof(*n->syns) +
		      out->table.memory + fs.memory;
}

size_t nat64_session_count(const struct nat64 *n)
{
	struct nat64_table_info ti;
	size_t sum = 0;

	nat64_table_info(n->tab, &ti);
	for (int p = 0; p < NAT64_NPROTO; p++)
		sum += ti.sessions[p];
	return sum;
}

void nat64_foreach_session(const struct nat64 *n, int proto, nat64_session_cb *cb, void *ctx)
{
	nat64_table_foreach(n->tab, proto, cb, ctx);
}

int nat64_restore(struct nat64 *n, const struct nat64_session_info *s, uint64_t now)
{
	if (now > n->now)
		n->now = now;
	return nat64_table_restore(n->tab, s);
}

uint64_t nat64_now(const struct nat64 *n)
{
	return n->now;
}

void nat64_embed(const struct nat64 *n, const uint8_t v4[4], uint8_t out[16])
{
	nat64_prefix_embed(&n->prefix, v4, out);
}
