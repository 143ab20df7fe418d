/*
 * proto: the wire formats of the Yggdrasil 0.5 link (the `meta` handshake) and of ironwood's
 * frames, as plain values with table-driven decoders and encoders. Pure: no I/O, no clock.
 * Spec: yggdrasil-link-routing.md §1 (primitives), §2.4 (meta), §3.1 (frames), §4 (layouts).
 *
 * A frame on the stream is uvarint(N) || type || body[N-1]. The link layer owns the length
 * prefix; everything here works on type || body ("frame" below) or on body alone.
 *
 * Decoders never read past len and reject what the Go side rejects (§3.1): truncation,
 * uvarint overflow, trailing bytes (except Traffic, whose payload is the rest), a bloom word
 * flagged both all-zero and all-one. Decoded structs hold no pointers into the input except
 * proto_traffic.payload, which points into the decoded buffer and lives as long as it.
 *
 * Encoders write through a struct wire_wr (sticky error flag); they never produce a frame the
 * Go side would refuse.
 */
#ifndef YGG64_CORE_PROTO_H
#define YGG64_CORE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/bloom.h"

struct wire_rd;
struct wire_wr;

enum proto_type {
	PROTO_DUMMY = 0,
	PROTO_KEEPALIVE = 1,
	PROTO_SIGREQ = 2,
	PROTO_SIGRES = 3,
	PROTO_ANNOUNCE = 4,
	PROTO_BLOOM = 5,
	PROTO_LOOKUP = 6,
	PROTO_NOTIFY = 7,
	PROTO_BROKEN = 8,
	PROTO_TRAFFIC = 9,
	PROTO_TYPE_COUNT = 10,
};

enum {
	PROTO_KEY_LEN = 32,
	PROTO_SIG_LEN = 64,
	/* yggdrasil sets ironwood's maximum message size to 65535 * 2 (§3.1). */
	PROTO_FRAME_MAX = 131070,
	/* Deepest tree path we accept (ports per path); a deeper one is a decode error. */
	PROTO_PATH_MAX = 128,
	/* meta: "meta" + u16 length + 4 TLVs (6 + 6 + 36 + 5 bytes) + signature (§2.4) */
	PROTO_META_LEN = 123,
	PROTO_META_HDR_LEN = 6,
	PROTO_VERSION_MAJOR = 0,
	PROTO_VERSION_MINOR = 5,
};

/* A tree path: ports from the root down (§1: uvarints then a 00 terminator). */
struct proto_path {
	uint16_t len;
	uint64_t port[PROTO_PATH_MAX];
};

/*
 * *dst = *src for the ports in use only: a whole struct is over 1 KB and a path is a few
 * ports, which matters on the per-packet paths. src->len must be at most PROTO_PATH_MAX.
 */
static inline void proto_path_copy(struct proto_path *dst, const struct proto_path *src)
{
	dst->len = src->len;
	memcpy(dst->port, src->port, src->len * sizeof(src->port[0]));
}

struct proto_sigreq {
	uint64_t seq;
	uint64_t nonce;
};

struct proto_sigres {
	uint64_t seq;
	uint64_t nonce;
	uint64_t port;
	uint8_t psig[PROTO_SIG_LEN];
};

struct proto_announce {
	uint8_t key[PROTO_KEY_LEN];
	uint8_t parent[PROTO_KEY_LEN];
	uint64_t seq;
	uint64_t nonce;
	uint64_t port;
	uint8_t psig[PROTO_SIG_LEN];
	uint8_t sig[PROTO_SIG_LEN];
};

struct proto_lookup {
	uint8_t source[PROTO_KEY_LEN];
	uint8_t dest[PROTO_KEY_LEN]; /* may be a partial key (unknown low bits are 1) */
	struct proto_path from;
};

struct proto_notify {
	struct proto_path path;
	uint64_t watermark;
	uint8_t source[PROTO_KEY_LEN];
	uint8_t dest[PROTO_KEY_LEN];
	uint64_t info_seq;
	struct proto_path info_path;
	uint8_t info_sig[PROTO_SIG_LEN];
};

struct proto_broken {
	struct proto_path path;
	uint64_t watermark;
	uint8_t source[PROTO_KEY_LEN];
	uint8_t dest[PROTO_KEY_LEN];
};

struct proto_traffic {
	struct proto_path path;
	struct proto_path from;
	uint8_t source[PROTO_KEY_LEN];
	uint8_t dest[PROTO_KEY_LEN];
	uint64_t watermark;
	const uint8_t *payload; /* points into the decoded buffer */
	size_t payload_len;
	size_t header_len; /* bytes of body before the payload */
};

/* The link handshake message (§2.4). */
struct proto_meta {
	uint16_t major;
	uint16_t minor;
	uint8_t key[PROTO_KEY_LEN];
	uint8_t priority;
	uint8_t sig[PROTO_SIG_LEN];
};

/* ---- paths ---- */
/* On failure (short, overflow, deeper than PROTO_PATH_MAX) rd is left where it was. */
bool proto_path_decode(struct wire_rd *rd, struct proto_path *out);
/* A zero port or len > PROTO_PATH_MAX sets wr's error flag: such a path would not decode. */
void proto_path_encode(struct wire_wr *wr, const struct proto_path *p);
bool proto_path_equal(const struct proto_path *a, const struct proto_path *b);

/*
 * ---- bodies (after the type byte). Decoders return false on any malformation; *out is then
 * partly written and meaningless. b is borrowed (Traffic's payload keeps pointing into it). ----
 */
bool proto_sigreq_decode(const uint8_t *b, size_t len, struct proto_sigreq *out);
bool proto_sigres_decode(const uint8_t *b, size_t len, struct proto_sigres *out);
bool proto_announce_decode(const uint8_t *b, size_t len, struct proto_announce *out);
bool proto_bloom_decode(const uint8_t *b, size_t len, struct bloom *out);
bool proto_lookup_decode(const uint8_t *b, size_t len, struct proto_lookup *out);
bool proto_notify_decode(const uint8_t *b, size_t len, struct proto_notify *out);
bool proto_broken_decode(const uint8_t *b, size_t len, struct proto_broken *out);
bool proto_traffic_decode(const uint8_t *b, size_t len, struct proto_traffic *out);

/* Encoders write the type byte and the body (no length prefix). */
void proto_sigreq_encode(struct wire_wr *wr, const struct proto_sigreq *m);
void proto_sigres_encode(struct wire_wr *wr, const struct proto_sigres *m);
void proto_announce_encode(struct wire_wr *wr, const struct proto_announce *m);
void proto_bloom_encode(struct wire_wr *wr, const struct bloom *m);
void proto_lookup_encode(struct wire_wr *wr, const struct proto_lookup *m);
void proto_notify_encode(struct wire_wr *wr, const struct proto_notify *m);
void proto_broken_encode(struct wire_wr *wr, const struct proto_broken *m);
/* Writes type 9 and the Traffic header; the caller appends payload_len payload bytes. */
void proto_traffic_encode_header(struct wire_wr *wr, const struct proto_traffic *m);
void proto_keepalive_encode(struct wire_wr *wr);

/*
 * Validates a whole frame (type || body) as the Go side would: 1..PROTO_FRAME_MAX bytes, known
 * type, and a body that decodes (Dummy and KeepAlive bodies are ignored by Go, so any is fine).
 * Used by the link layer and the fuzz driver. Returns false for a frame that must close the
 * link.
 */
bool proto_frame_is_valid(const uint8_t *frame, size_t len);
/* "SigReq", "PathLookup", ... (static strings); "unknown" for type >= PROTO_TYPE_COUNT. */
const char *proto_type_name(unsigned type);

/* ---- signature preimages (§4.2, §4.3, §4.6) ---- */
/* key || parent || uv(seq) || uv(nonce) || uv(port); returns its length (<= 94). */
size_t proto_sig_preimage(uint8_t out[static 94], const uint8_t key[static 32],
			  const uint8_t parent[static 32], uint64_t seq, uint64_t nonce,
			  uint64_t port);
/* uv(seq) || path(info_path) incl. the 00 terminator; returns the length or 0 if cap is short. */
size_t proto_notify_preimage(uint8_t *out, size_t cap, uint64_t seq, const struct proto_path *p);

/* ---- meta handshake (§2.4) ---- */
/* Writes the standard 123-byte message (exactly the four TLVs, in order). */
void proto_meta_encode(uint8_t out[static PROTO_META_LEN], const struct proto_meta *m);
/*
 * Length of the meta body announced by the 6-byte header, or -1 if the header is not "meta" or
 * the length is below 64. The caller then reads that many more bytes.
 */
int proto_meta_header(const uint8_t hdr[static PROTO_META_HDR_LEN]);
/*
 * Parses the body (TLVs then signature) strictly, as 0.5.14 does: each known TLV has exactly
 * its length, nothing overruns, nothing is left between the TLVs and the signature. Unknown
 * types are skipped; the last occurrence wins. Returns false on malformation or a missing key.
 * Version and signature are checked by the caller (link), which owns the password.
 */
bool proto_meta_decode(const uint8_t *body, size_t len, struct proto_meta *out);

#endif
