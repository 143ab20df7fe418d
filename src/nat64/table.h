/*
 * table: the state of the stateful NAT64 (RFC 6146 §3): the binding information bases (BIB)
 * and the session tables of TCP, UDP and ICMP queries, the outside port allocator and the TCP
 * state machine, with one timer wheel for every expiry (nat64-requirements §2 B 6-17, G 53).
 * Pure, libc only, time as a parameter (milliseconds since any fixed origin; the same origin
 * for every call).
 *
 * Names as in RFC 6146: an IPv6 client X' with port (or ICMP identifier) x is bound to the
 * pool address T with port t (one BIB entry); each remote IPv4 endpoint (Y, y) it talks to
 * is one session under that entry. Y' (= prefix + Y) is not stored: the caller embeds it.
 *
 * Mapping is endpoint-independent (RFC 4787 REQ-1, RFC 5382 REQ-1): (X',x) keeps its (T,t)
 * for every destination while it has a session. Filtering is endpoint-independent by default:
 * any (Y,y) may reach (T,t) while the BIB entry lives (B 8); address-dependent filtering
 * (params.is_adf) admits only a Y that (X',x) has a session with. A dynamic BIB entry lives
 * while it has at least one session (B 6).
 *
 * Outside ports (B 9, RFC 6056 algorithm 3): t is taken from [port_min, port_max] only,
 * starting at a keyed hash of (X', x) and probing from there, first for a port with the
 * parity of x, then any; the pool address is chosen by a hash of X' (paired pooling, RFC 4787
 * REQ-2), the others tried when it has no free port. ICMP identifiers come from the same range.
 * No free port, or a cap reached: the lookup fails with a reason (B 11), counted.
 *
 * Memory: open addressing (linear probing) hash tables of 32-bit indices into entry arrays,
 * grown by doubling up to the caps, never per packet; the sizes per entry are given in
 * nat64_table_info (and in the README).
 *
 * Timers (B 12-15): UDP udp_timeout, ICMP icmp_timeout, TCP per state (transitory, or
 * established), refreshed by traffic as RFC 6146 §3.5 says. Expiry runs in nat64_table_tick,
 * which advances one wheel: an ESTABLISHED TCP session that times out is not freed at once but
 * reported to the probe callback (the caller sends a bare ACK to X', B 15) and moved to TRANS.
 */
#ifndef YGG64_NAT64_TABLE_H
#define YGG64_NAT64_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nat64_proto { NAT64_TCP, NAT64_UDP, NAT64_ICMP, NAT64_NPROTO };

/* RFC 6146 §3.5.2 */
enum nat64_tcp_state {
	NAT64_TCP_CLOSED,
	NAT64_TCP_V6_INIT,
	NAT64_TCP_V4_INIT,
	NAT64_TCP_ESTABLISHED,
	NAT64_TCP_V6_FIN_RCV,
	NAT64_TCP_V4_FIN_RCV,
	NAT64_TCP_V6_FIN_V4_FIN,
	NAT64_TCP_TRANS,
};

/* TCP flags as in byte 13 of the header. */
enum { NAT64_FIN = 0x01, NAT64_SYN = 0x02, NAT64_RST = 0x04, NAT64_ACK = 0x10 };

/* Reasons a lookup fails; each has a counter in struct nat64_table_info. */
enum nat64_table_result {
	NAT64_T_OK = 0,
	NAT64_T_NO_PORT,    /* 6->4: every port of the range is taken on every pool address */
	NAT64_T_BIB_FULL,   /* 6->4: max_bib entries of this protocol */
	NAT64_T_SESS_FULL,  /* max_sessions */
	NAT64_T_NO_BIB,	    /* 4->6: (T,t) not bound; 6->4: a TCP non-SYN without a BIB entry */
	NAT64_T_FILTERED,   /* 4->6 under address-dependent filtering: Y never contacted */
	NAT64_T_NO_SESSION, /* 4->6 TCP non-SYN without a session (dropped, B 17) */
	NAT64_T_NRESULTS
};
const char *nat64_table_result_name(int r);

struct nat64_table_params {
	const uint8_t (*pool)[4]; /* pool addresses (each /32 of Pool4), copied */
	size_t npool;		  /* >= 1 */
	uint16_t port_min, port_max; /* 1 <= min <= max */
	uint32_t max_bib;	     /* per protocol */
	uint32_t max_sessions;	     /* all protocols */
	uint32_t udp_ms, icmp_ms, tcp_est_ms, tcp_trans_ms; /* timeouts */
	uint32_t tcp_incoming_syn_ms;			    /* V4_INIT: 6000 (RFC 6146) */
	bool is_adf;
	uint8_t secret[16]; /* key of the port hash (random per process) */
};

/* One session and its BIB entry, as a lookup returns it and the callbacks see it. */
struct nat64_tuple {
	uint8_t proto;			/* enum nat64_proto */
	uint8_t addr6[16];		/* X' */
	uint16_t port6;			/* x */
	uint8_t addr4[4];		/* T */
	uint16_t port4;			/* t */
	uint8_t raddr[4];		/* Y */
	uint16_t rport;			/* y; ICMP: ignored, reported as 0 */
};

struct nat64_table;

/* NULL when params are bad (logged by the caller's config check) or memory is short. */
struct nat64_table *nat64_table_new(const struct nat64_table_params *p);
void nat64_table_free(struct nat64_table *t);

/*
 * A packet from (X',x) = (tu->addr6, tu->port6) to (Y,y) = (tu->raddr, tu->rport), protocol
 * tu->proto, TCP flags tcp_flags (0 for UDP/ICMP). For UDP and ICMP (an echo request;
 * may_create false for anything else) the BIB entry and session are found or made; for TCP a
 * SYN makes them (V6_INIT), a non-SYN is passed when a BIB entry exists (without creating a
 * session, B 17) and refused (NAT64_T_NO_BIB) otherwise. The session's state and timer follow
 * the packet. NAT64_T_OK and tu->addr4/port4 set, or the reason.
 */
int nat64_table_out(struct nat64_table *t, struct nat64_tuple *tu, uint8_t tcp_flags,
		    bool may_create, uint64_t now);
/*
 * A packet from (Y,y) = (tu->raddr, tu->rport) to (T,t) = (tu->addr4, tu->port4). Found: the
 * session's state and timer follow the packet, NAT64_T_OK with tu->addr6/port6 set. No
 * session but a BIB entry: under EIF (or ADF with a session to Y) a session is made (TCP: only
 * for a SYN, in V4_INIT with the 6 s timer; UDP/ICMP: any packet), else NAT64_T_FILTERED or
 * NAT64_T_NO_SESSION; no BIB entry: NAT64_T_NO_BIB.
 */
int nat64_table_in(struct nat64_table *t, struct nat64_tuple *tu, uint8_t tcp_flags,
		   uint64_t now);
/*
 * Lookups without any change, for the packet quoted in an ICMP error (RFC 5508: errors never
 * touch a mapping, B 12): _find_out by (proto, X', x) -> (T, t), _find_in by (proto, T, t) ->
 * (X', x). NAT64_T_OK or NAT64_T_NO_BIB.
 */
int nat64_table_find_out(const struct nat64_table *t, struct nat64_tuple *tu);
int nat64_table_find_in(const struct nat64_table *t, struct nat64_tuple *tu);
/* True when (T,t) of proto is inside the pool and the port range (B 10: the rest is the host's). */
bool nat64_table_owns(const struct nat64_table *t, const uint8_t addr4[4], uint16_t port4);
/* True when addr4 is one of the pool addresses. */
bool nat64_table_is_pool(const struct nat64_table *t, const uint8_t addr4[4]);

/*
 * An ESTABLISHED TCP session timed out: send the probe (a bare ACK to X' from Y'). It must not
 * call into the table (tick is walking it).
 */
typedef void nat64_probe_cb(void *ctx, const struct nat64_tuple *tu);
/*
 * Runs every expiry due at now: sessions past their time are freed (a BIB entry with them when
 * it was their last), except ESTABLISHED TCP ones, which go to probe (may be NULL) and to TRANS
 * with the transitory timer. Cost: the wheel slots passed plus the sessions due.
 */
void nat64_table_tick(struct nat64_table *t, uint64_t now, nat64_probe_cb *probe, void *ctx);

struct nat64_table_info {
	size_t bib[NAT64_NPROTO];      /* entries now */
	size_t sessions[NAT64_NPROTO]; /* sessions now */
	size_t max_bib, max_sessions;
	size_t ports_total;	       /* (port_max - port_min + 1) * npool, per protocol */
	size_t tcp_states[8];	       /* sessions per enum nat64_tcp_state */
	uint64_t refused[NAT64_T_NRESULTS]; /* lookups failed, by reason */
	uint64_t bib_created, bib_expired, sessions_created, sessions_expired, probes;
	size_t bytes_per_bib, bytes_per_session; /* entry + its share of the hash index */
	size_t memory; /* bytes allocated now */
};
void nat64_table_info(const struct nat64_table *t, struct nat64_table_info *out);

/* A session as nat64_table_foreach shows it. */
struct nat64_session_info {
	struct nat64_tuple tu;
	uint8_t tcp_state; /* enum nat64_tcp_state; CLOSED for UDP/ICMP */
	uint64_t expires;  /* the time (same origin as now) it expires */
};
/* Calls cb for each session of proto (NAT64_NPROTO: all) until it returns false. */
typedef bool nat64_session_cb(void *ctx, const struct nat64_session_info *s);
void nat64_table_foreach(const struct nat64_table *t, int proto, nat64_session_cb *cb, void *ctx);
/*
 * Puts a session back as it was (snapshot restore, issue 13): its BIB entry (made if needed,
 * with the same (T,t); refused when (T,t) is bound to another (X',x) or outside the pool and
 * range), state and expiry. NAT64_T_OK or a reason.
 */
int nat64_table_restore(struct nat64_table *t, const struct nat64_session_info *s);

#endif
