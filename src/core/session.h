/*
 * session: ironwood's end-to-end encrypted layer (the "encrypted" PacketConn) as a pure state
 * machine: INIT/ACK handshakes, TRAFFIC encryption with crypto_box after precomputation, key
 * rotation and the nonce rules, one buffered message per destination while a session is set
 * up. Spec: yggdrasil-sessions-core-admin.md §2 (every rule of §2.5–§2.6 exactly).
 *
 * Pure (STYLE.md §7): no I/O, no clock; time comes in as now_ms (monotonic, for the 60 s
 * timers) and through cbs.unix_time (INIT/ACK seq is Unix seconds). Crypto primitives come
 * from src/crypto (box.h); no secret byte is visible outside crypto.
 *
 * Ownership: every struct pkt * argument is consumed on every path. Outgoing session messages
 * leave through cbs.send (to the router, addressed by ed pub); decrypted core payloads (the
 * byte after the encryption: core type + data) leave through cbs.deliver.
 */
#ifndef YGG64_CORE_SESSION_H
#define YGG64_CORE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keypair;
struct pkt;
struct pkt_pool;
struct session_table;

enum {
	SESSION_INIT_LEN = 193,
	SESSION_OVERHEAD_MAX = 79, /* 1 type + 3 uvarints (max) + 16 tag + 32 next key (§2.4) */
	SESSION_TIMEOUT_MS = 60000,
	SESSION_ROTATE_MS = 60000,   /* at most one traffic-driven rotation per this (§2.6.4) */
	SESSION_MAX_SESSIONS = 4096, /* beyond: new sessions refused (stats.table_full) */
	SESSION_MAX_BUFFERS = 1024,  /* beyond: new buffers refused (stats.table_full) */
	/*
	 * INITs that answer traffic we cannot use (§2.6.4): at most RATE per second after a
	 * burst of BURST, for all sources together (stats.resync_limited). Not in Go, which
	 * answers every such packet.
	 */
	SESSION_RESYNC_RATE = 64,
	SESSION_RESYNC_BURST = 64,
};

struct session_cbs {
	void *ctx;
	/* Hands an encrypted-layer message for ed pub dest to the router. Consumes msg. */
	void (*send)(void *ctx, const uint8_t dest[32], struct pkt *msg);
	/* A decrypted core payload from ed pub source. Consumes payload. */
	void (*deliver)(void *ctx, const uint8_t source[32], struct pkt *payload);
	uint64_t (*unix_time)(void *ctx);
};

struct session_info {
	uint8_t key[32];
	uint64_t bytes_recvd; /* core payload bytes, as getSessions counts them */
	uint64_t bytes_sent;
	uint64_t uptime_ms;
};

struct session_stats {
	uint64_t inits_sent, acks_sent, inits_recvd, acks_recvd;
	uint64_t bad_handshake;	    /* failed open/verify, wrong length */
	uint64_t stale_handshake;   /* opened and verified, but seq <= the last one: ignored */
	uint64_t bad_traffic;	    /* malformed header, unknown key seqs, failed decrypt */
	uint64_t replays;	    /* nonce not above the last one for its key: dropped silently */
	uint64_t resync_inits;	    /* INITs sent because traffic could not be used (§2.6.4) */
	uint64_t resync_limited;    /* such INITs not sent: over SESSION_RESYNC_RATE */
	uint64_t rotations;	    /* own-key rotations by traffic or nonce wrap (not INIT/ACK) */
	uint64_t buffered_replaced; /* a waiting message replaced by a newer one */
	uint64_t no_pkt;	    /* pool empty: an INIT/ACK (or a copied payload) not sent */
	uint64_t no_room;	    /* payload too big for its buffer after the overhead: dropped */
	uint64_t table_full;	    /* session or buffer refused at the caps above */
};

typedef void session_info_cb(void *ctx, const struct session_info *info);

/*
 * kp (the node identity) and pool (INIT/ACK pkts, copies for payloads short of headroom) must
 * outlive the table; cbs is copied and every member is required. NULL only if kp has no X25519
 * form (libsodium refuses it). Key arguments below are borrowed for the call only.
 */
struct session_table *session_table_new(const struct keypair *kp, struct pkt_pool *pool,
					const struct session_cbs *cbs);
void session_table_free(struct session_table *t);
/*
 * Sends a core payload (core type byte + data) to dest: encrypts it as TRAFFIC when a session
 * exists, else buffers it (replacing any earlier one) and sends an INIT (§2.6.1). The payload
 * should have SESSION_OVERHEAD_MAX bytes of headroom (the tag goes in front, so no tailroom is
 * needed); with less it is copied into a fresh pool pkt. Consumes payload.
 */
void session_send(struct session_table *t, const uint8_t dest[32], struct pkt *payload,
		  uint64_t now_ms);
/* An encrypted-layer message from source (a Traffic payload for us). Consumes msg. */
void session_handle(struct session_table *t, const uint8_t source[32], struct pkt *msg,
		    uint64_t now_ms);
/* Expires sessions and buffers (60 s). */
void session_tick(struct session_table *t, uint64_t now_ms);
void session_foreach(const struct session_table *t, session_info_cb *cb, void *ctx,
		     uint64_t now_ms);
const struct session_stats *session_get_stats(const struct session_table *t);

/*
 * Tests and fuzzing only: sets the send nonce of the session with dest (no-op without one), so
 * the 2^64 wrap of §2.6.1 can be reached.
 */
void session_test_set_send_nonce(struct session_table *t, const uint8_t dest[32], uint64_t n);

#endif
