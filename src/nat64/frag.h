/*
 * frag: bounded virtual reassembly for the NAT64 (nat64-requirements §2 B 19-20, RFC 6146
 * §3.4). A NAPT needs the ports of every fragment of a datagram, but only the first fragment
 * carries them. This table remembers, per datagram, the ports the first fragment had, so the
 * later fragments are mapped the same way, and holds the fragments that arrive before the
 * first one for up to FRAG_TIMEOUT_MS (B 19: out-of-order arrival is accepted for >= 2 s).
 * Pure, libc only, time as a parameter (milliseconds, any monotonic origin).
 *
 * A datagram is known by (version, protocol, source, destination, identification). The
 * fragments are not rebuilt into the datagram (VPP's "shallow" reassembly), except for a
 * zero-checksum UDP datagram over IPv4 (B 20), whose checksum covers all of it: those are held
 * until every piece is there (frag_collect).
 *
 * Bounds (B 53): at most max_pkts fragments held (NAT64.MaxFragments) and as many datagrams
 * remembered; when full, the oldest held fragment (or the oldest datagram) is evicted and
 * counted. Nothing is allocated after frag_new: the tables are sized there.
 *
 * Ownership: pkts given to frag_hold/frag_collect belong to the table until released to the
 * callback (which then owns them) or freed (evicted, expired, frag_free).
 */
#ifndef YGG64_NAT64_FRAG_H
#define YGG64_NAT64_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkt;

enum { FRAG_TIMEOUT_MS = 2000 };

struct frag_key {
	uint8_t ver;   /* 4 or 6 */
	uint8_t proto; /* upper-layer protocol */
	uint8_t src[16], dst[16]; /* IPv4: first 4 bytes, the rest zero */
	uint32_t id;
};

struct frag_stats {
	uint64_t held;	   /* fragments held for a first fragment still to come */
	uint64_t released; /* held fragments handed back once their first fragment came */
	uint64_t evicted;  /* held fragments dropped to make room (oldest first) */
	uint64_t expired;  /* held fragments dropped after FRAG_TIMEOUT_MS */
	uint64_t collected; /* zero-checksum UDP datagrams completed and released */
	uint64_t collect_failed; /* ... dropped: incomplete at the timeout, too long, overlapping */
	uint64_t dgrams_evicted; /* datagrams forgotten early to make room for one (oldest first) */
	size_t pkts_now;   /* fragments held now */
	size_t dgrams_now; /* datagrams remembered now */
	size_t max_pkts;
	size_t memory; /* bytes of the table itself (not counting held pkts' pool buffers) */
};

struct frag_table;

/* A table for at most max_pkts held fragments (>= 1). NULL when memory is short. */
struct frag_table *frag_new(size_t max_pkts);
/* Frees the table and every pkt it holds. NULL is a no-op. */
void frag_free(struct frag_table *ft);

typedef void frag_release_cb(void *ctx, struct pkt *p);

/*
 * The first fragment of datagram k came, with these ports (an ICMP identifier in both): they
 * are remembered for FRAG_TIMEOUT_MS after the datagram's latest fragment, and every fragment
 * of it held so far is handed to release(ctx, p), oldest first, before the call returns
 * (release may call into the table again, except frag_free). Returns the number released.
 * A datagram being collected (frag_collect) keeps its pieces: only the ports are noted.
 */
size_t frag_first(struct frag_table *ft, const struct frag_key *k, uint16_t sport,
		  uint16_t dport, uint64_t now, frag_release_cb *release, void *ctx);
/*
 * A later fragment of k: true and the first fragment's ports in *sport and *dport when it came
 * (and the datagram's timer restarts); false when not (then hold it, frag_hold).
 */
bool frag_find(struct frag_table *ft, const struct frag_key *k, uint64_t now, uint16_t *sport,
	       uint16_t *dport);
/* Holds p, a later fragment of k whose first fragment has not come (consumed). */
void frag_hold(struct frag_table *ft, const struct frag_key *k, struct pkt *p, uint64_t now);

/*
 * B 20: p (consumed) is a fragment of the IPv4 UDP datagram k (IPv4 header at p->data) whose
 * first fragment has, or will have, a zero UDP checksum; first is true for that first one.
 * Fragments are held until the datagram is complete (offsets from 0 to the end of the piece
 * without MF covered, no overlap, at most 65535 bytes); then the UDP checksum over the whole
 * datagram (pseudo-header included; 0 is sent as 0xffff) is written into the first fragment and
 * every piece is released in offset order. Returns the number released (0 while incomplete).
 * A later fragment of a datagram whose first fragment has not come yet, and which may turn
 * out to have a checksum, goes to frag_hold instead (so does it here when first is false and
 * k is not being collected); frag_first then hands it back, or, when the first turns out to
 * have a zero checksum, frag_collect(first) takes every fragment held so far as a piece.
 */
size_t frag_collect(struct frag_table *ft, const struct frag_key *k, struct pkt *p, bool first,
		    uint64_t now, frag_release_cb *release, void *ctx);
/* True when datagram k is being collected (its first fragment had a zero UDP checksum). */
bool frag_is_collecting(struct frag_table *ft, const struct frag_key *k);

/* Drops what is older than FRAG_TIMEOUT_MS (counted in expired / collect_failed). */
void frag_expire(struct frag_table *ft, uint64_t now);
void frag_get_stats(const struct frag_table *ft, struct frag_stats *out);

#endif
