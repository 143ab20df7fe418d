/*
 * proto: byte-exact codecs for the Yggdrasil 0.5 `meta` handshake and ironwood's frames (see
 * proto.h; spec yggdrasil-link-routing.md §1, §2.4, §3.1, §4, §10).
 *
 * Owns nothing: decoders fill caller structs, encoders write through a caller's struct wire_wr.
 * No allocation, no clock, no I/O. Timers: none.
 *
 * One table, msgs[], maps each frame type to its name, the shortest body it can have and its
 * body decoder and encoder; the typed public functions are thin wrappers over it, and
 * proto_frame_is_valid() dispatches through it, so adding a type is one row.
 *
 * Invariants:
 * - Every read goes through a struct wire_rd, so nothing reads past len; a decoder that
 *   returns false may have written part of *out (callers discard it).
 * - A body decodes only if it is consumed exactly (§3.1: Go rejects trailing bytes). Traffic
 *   meets that by taking the rest of the body as its payload.
 * - Encoders only emit what the decoders (and Go's) accept: a path with a zero port or more than
 *   PROTO_PATH_MAX ports sets the writer's error flag instead of being written.
 */
#include "core/proto.h"

#include "lib/wire.h"

#include <string.h>

struct msg_desc {
	const char *name;
	size_t min_len; /* shortest well-formed body: a cheap first reject */
	/* Reads the fields from rd into out; NULL when Go ignores the body (Dummy, KeepAlive). */
	bool (*decode)(struct wire_rd *rd, void *out);
	/* Writes the body after the type byte; NULL for an empty body. */
	void (*encode)(struct wire_wr *wr, const void *m);
};

/* ---- paths (§1) ---- */

bool proto_path_decode(struct wire_rd *rd, struct proto_path *out)
{
	size_t start = rd->off;
	uint64_t port;

	out->len = 0;
	for (;;) {
		if (!wire_get_uvarint(rd, &port))
			break;
		if (port == 0)
			return true; /* the terminator: ironwood stops at the first zero */
		if (out->len == PROTO_PATH_MAX)
			break; /* deeper than we keep: refuse rather than truncate */
		out->port[out->len++] = port;
	}
	rd->off = start; /* like the wire getters, a failed get does not advance */
	return false;
}

void proto_path_encode(struct wire_wr *wr, const struct proto_path *p)
{
	if (p->len > PROTO_PATH_MAX) {
		wr->is_err = true;
		return;
	}
	for (size_t i = 0; i < p->len; i++) {
		if (p->port[i] == 0) {
			/* Would end the path early on the far side and leave trailing bytes. */
			wr->is_err = true;
			return;
		}
		wire_put_uvarint(wr, p->port[i]);
	}
	wire_put_u8(wr, 0);
}

bool proto_path_equal(const struct proto_path *a, const struct proto_path *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		if (a->port[i] != b->port[i])
			return false;
	}
	return true;
}

/* ---- SigReq (§4.1), SigRes (§4.2), Announce (§4.3) ---- */

static bool dec_sigreq(struct wire_rd *rd, void *out)
{
	struct proto_sigreq *m = out;

	return wire_get_uvarint(rd, &m->seq) && wire_get_uvarint(rd, &m->nonce);
}

static void enc_sigreq(struct wire_wr *wr, const void *in)
{
	const struct proto_sigreq *m = in;

	wire_put_uvarint(wr, m->seq);
	wire_put_uvarint(wr, m->nonce);
}

static bool dec_sigres(struct wire_rd *rd, void *out)
{
	struct proto_sigres *m = out;

	return wire_get_uvarint(rd, &m->seq) && wire_get_uvarint(rd, &m->nonce) &&
	       wire_get_uvarint(rd, &m->port) && wire_get_bytes(rd, m->psig, PROTO_SIG_LEN);
}

static void enc_sigres(struct wire_wr *wr, const void *in)
{
	const struct proto_sigres *m = in;

	wire_put_uvarint(wr, m->seq);
	wire_put_uvarint(wr, m->nonce);
	wire_put_uvarint(wr, m->port);
	wire_put_bytes(wr, m->psig, PROTO_SIG_LEN);
}

static bool dec_announce(struct wire_rd *rd, void *out)
{
	struct proto_announce *m = out;

	return wire_get_bytes(rd, m->key, PROTO_KEY_LEN) &&
	       wire_get_bytes(rd, m->parent, PROTO_KEY_LEN) && wire_get_uvarint(rd, &m->seq) &&
	       wire_get_uvarint(rd, &m->nonce) && wire_get_uvarint(rd, &m->port) &&
	       wire_get_bytes(rd, m->psig, PROTO_SIG_LEN) &&
	       wire_get_bytes(rd, m->sig, PROTO_SIG_LEN);
}

static void enc_announce(struct wire_wr *wr, const void *in)
{
	const struct proto_announce *m = in;

	wire_put_bytes(wr, m->key, PROTO_KEY_LEN);
	wire_put_bytes(wr, m->parent, PROTO_KEY_LEN);
	wire_put_uvarint(wr, m->seq);
	wire_put_uvarint(wr, m->nonce);
	wire_put_uvarint(wr, m->port);
	wire_put_bytes(wr, m->psig, PROTO_SIG_LEN);
	wire_put_bytes(wr, m->sig, PROTO_SIG_LEN);
}

/* ---- Bloom (§4.4) ---- */

enum { BLOOM_FLAG_BYTES = BLOOM_WORDS / 8 };

/* Word i's flag: byte i / 8, most significant bit first. */
static bool flag_is_set(const uint8_t *flags, unsigned i)
{
	return flags[i / 8] & (0x80 >> (i % 8));
}

static bool dec_bloom(struct wire_rd *rd, void *out)
{
	struct bloom *b = out;
	const uint8_t *f0, *f1;

	if (!wire_get_span(rd, BLOOM_FLAG_BYTES, &f0) || !wire_get_span(rd, BLOOM_FLAG_BYTES, &f1))
		return false;
	for (unsigned i = 0; i < BLOOM_WORDS; i++) {
		bool zero = flag_is_set(f0, i), ones = flag_is_set(f1, i);

		if (zero && ones)
			return false; /* a word cannot be both: Go closes the link */
		if (zero)
			b->w[i] = 0;
		else if (ones)
			b->w[i] = UINT64_MAX;
		else if (!wire_get_u64(rd, &b->w[i]))
			return false; /* missing word */
	}
	return true; /* leftovers are refused by the caller's exact-length check */
}

static void enc_bloom(struct wire_wr *wr, const void *in)
{
	const struct bloom *b = in;
	uint8_t f0[BLOOM_FLAG_BYTES] = {0}, f1[BLOOM_FLAG_BYTES] = {0};

	for (unsigned i = 0; i < BLOOM_WORDS; i++) {
		if (b->w[i] == 0)
			f0[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		else if (b->w[i] == UINT64_MAX)
			f1[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	}
	wire_put_bytes(wr, f0, sizeof(f0));
	wire_put_bytes(wr, f1, sizeof(f1));
	for (unsigned i = 0; i < BLOOM_WORDS; i++) {
		if (b->w[i] != 0 && b->w[i] != UINT64_MAX)
			wire_put_u64(wr, b->w[i]);
	}
}

/* ---- PathLookup (§4.5), PathNotify (§4.6), PathBroken (§4.7) ---- */

static bool dec_lookup(struct wire_rd *rd, void *out)
{
	struct proto_lookup *m = out;

	return wire_get_bytes(rd, m->source, PROTO_KEY_LEN) &&
	       wire_get_bytes(rd, m->dest, PROTO_KEY_LEN) && proto_path_decode(rd, &m->from);
}

static void enc_lookup(struct wire_wr *wr, const void *in)
{
	const struct proto_lookup *m = in;

	wire_put_bytes(wr, m->source, PROTO_KEY_LEN);
	wire_put_bytes(wr, m->dest, PROTO_KEY_LEN);
	proto_path_encode(wr, &m->from);
}

static bool dec_notify(struct wire_rd *rd, void *out)
{
	struct proto_notify *m = out;

	return proto_path_decode(rd, &m->path) && wire_get_uvarint(rd, &m->watermark) &&
	       wire_get_bytes(rd, m->source, PROTO_KEY_LEN) &&
	       wire_get_bytes(rd, m->dest, PROTO_KEY_LEN) && wire_get_uvarint(rd, &m->info_seq) &&
	       proto_path_decode(rd, &m->info_path) &&
	       wire_get_bytes(rd, m->info_sig, PROTO_SIG_LEN);
}

static void enc_notify(struct wire_wr *wr, const void *in)
{
	const struct proto_notify *m = in;

	proto_path_encode(wr, &m->path);
	wire_put_uvarint(wr, m->watermark);
	wire_put_bytes(wr, m->source, PROTO_KEY_LEN);
	wire_put_bytes(wr, m->dest, PROTO_KEY_LEN);
	wire_put_uvarint(wr, m->info_seq);
	proto_path_encode(wr, &m->info_path);
	wire_put_bytes(wr, m->info_sig, PROTO_SIG_LEN);
}

static bool dec_broken(struct wire_rd *rd, void *out)
{
	struct proto_broken *m = out;

	return proto_path_decode(rd, &m->path) && wire_get_uvarint(rd, &m->watermark) &&
	       wire_get_bytes(rd, m->source, PROTO_KEY_LEN) &&
	       wire_get_bytes(rd, m->dest, PROTO_KEY_LEN);
}

static void enc_broken(struct wire_wr *wr, const void *in)
{
	const struct proto_broken *m = in;

	proto_path_encode(wr, &m->path);
	wire_put_uvarint(wr, m->watermark);
	wire_put_bytes(wr, m->source, PROTO_KEY_LEN);
	wire_put_bytes(wr, m->dest, PROTO_KEY_LEN);
}

/* ---- Traffic (§4.8) ---- */

static bool dec_traffic(struct wire_rd *rd, void *out)
{
	struct proto_traffic *m = out;

	if (!proto_path_decode(rd, &m->path) || !proto_path_decode(rd, &m->from) ||
	    !wire_get_bytes(rd, m->source, PROTO_KEY_LEN) ||
	    !wire_get_bytes(rd, m->dest, PROTO_KEY_LEN) || !wire_get_uvarint(rd, &m->watermark))
		return false;
	/* The payload is the rest of the body, possibly empty, borrowed from the input. */
	m->header_len = rd->off;
	m->payload_len = wire_remaining(rd);
	return wire_get_span(rd, m->payload_len, &m->payload);
}

/* Header only: the payload is appended by the caller (proto_traffic_encode_header). */
static void enc_traffic(struct wire_wr *wr, const void *in)
{
	const struct proto_traffic *m = in;

	proto_path_encode(wr, &m->path);
	proto_path_encode(wr, &m->from);
	wire_put_bytes(wr, m->source, PROTO_KEY_LEN);
	wire_put_bytes(wr, m->dest, PROTO_KEY_LEN);
	wire_put_uvarint(wr, m->watermark);
}

/* ---- the table (§3.1) ---- */

enum {
	PATH_MIN = 1, /* the empty path: its terminator */
	UV_MIN = 1,
	KEYS2 = 2 * PROTO_KEY_LEN,
};

/* clang-format off */
static const struct msg_desc msgs[PROTO_TYPE_COUNT] = {
	[PROTO_DUMMY] = { "Dummy", 0, NULL, NULL },
	[PROTO_KEEPALIVE] = { "KeepAlive", 0, NULL, NULL },
	[PROTO_SIGREQ] = { "SigReq", 2 * UV_MIN, dec_sigreq, enc_sigreq },
	[PROTO_SIGRES] = { "SigRes", 3 * UV_MIN + PROTO_SIG_LEN, dec_sigres, enc_sigres },
	[PROTO_ANNOUNCE] = { "Announce", KEYS2 + 3 * UV_MIN + 2 * PROTO_SIG_LEN, dec_announce,
			     enc_announce },
	[PROTO_BLOOM] = { "Bloom", 2 * BLOOM_FLAG_BYTES, dec_bloom, enc_bloom },
	[PROTO_LOOKUP] = { "PathLookup", KEYS2 + PATH_MIN, dec_lookup, enc_lookup },
	[PROTO_NOTIFY] = { "PathNotify", 2 * PATH_MIN + 2 * UV_MIN + KEYS2 + PROTO_SIG_LEN,
			   dec_notify, enc_notify },
	[PROTO_BROKEN] = { "PathBroken", PATH_MIN + UV_MIN + KEYS2, dec_broken, enc_broken },
	[PROTO_TRAFFIC] = { "Traffic", 2 * PATH_MIN + KEYS2 + UV_MIN, dec_traffic, enc_traffic },
};
/* clang-format on */

/* Decodes a whole body of a known type: the decoder must consume it exactly. */
static bool decode_body(enum proto_type type, const uint8_t *b, size_t len, void *out)
{
	const struct msg_desc *d = &msgs[type];
	struct wire_rd rd;

	if (len < d->min_len)
		return false;
	wire_rd_init(&rd, b, len);
	return d->decode(&rd, out) && wire_remaining(&rd) == 0;
}

static void encode_msg(struct wire_wr *wr, enum proto_type type, const void *m)
{
	wire_put_u8(wr, (uint8_t)type);
	if (msgs[type].encode)
		msgs[type].encode(wr, m);
}

bool proto_sigreq_decode(const uint8_t *b, size_t len, struct proto_sigreq *out)
{
	return decode_body(PROTO_SIGREQ, b, len, out);
}

bool proto_sigres_decode(const uint8_t *b, size_t len, struct proto_sigres *out)
{
	return decode_body(PROTO_SIGRES, b, len, out);
}

bool proto_announce_decode(const uint8_t *b, size_t len, struct proto_announce *out)
{
	return decode_body(PROTO_ANNOUNCE, b, len, out);
}

bool proto_bloom_decode(const uint8_t *b, size_t len, struct bloom *out)
{
	return decode_body(PROTO_BLOOM, b, len, out);
}

bool proto_lookup_decode(const uint8_t *b, size_t len, struct proto_lookup *out)
{
	return decode_body(PROTO_LOOKUP, b, len, out);
}

bool proto_notify_decode(const uint8_t *b, size_t len, struct proto_notify *out)
{
	return decode_body(PROTO_NOTIFY, b, len, out);
}

bool proto_broken_decode(const uint8_t *b, size_t len, struct proto_broken *out)
{
	return decode_body(PROTO_BROKEN, b, len, out);
}

bool proto_traffic_decode(const uint8_t *b, size_t len, struct proto_traffic *out)
{
	return decode_body(PROTO_TRAFFIC, b, len, out);
}

void proto_sigreq_encode(struct wire_wr *wr, const struct proto_sigreq *m)
{
	encode_msg(wr, PROTO_SIGREQ, m);
}

void proto_sigres_encode(struct wire_wr *wr, const struct proto_sigres *m)
{
	encode_msg(wr, PROTO_SIGRES, m);
}

void proto_announce_encode(struct wire_wr *wr, const struct proto_announce *m)
{
	encode_msg(wr, PROTO_ANNOUNCE, m);
}

void proto_bloom_encode(struct wire_wr *wr, const struct bloom *m)
{
	encode_msg(wr, PROTO_BLOOM, m);
}

void proto_lookup_encode(struct wire_wr *wr, const struct proto_lookup *m)
{
	encode_msg(wr, PROTO_LOOKUP, m);
}

void proto_notify_encode(struct wire_wr *wr, const struct proto_notify *m)
{
	encode_msg(wr, PROTO_NOTIFY, m);
}

void proto_broken_encode(struct wire_wr *wr, const struct proto_broken *m)
{
	encode_msg(wr, PROTO_BROKEN, m);
}

void proto_traffic_encode_header(struct wire_wr *wr, const struct proto_traffic *m)
{
	encode_msg(wr, PROTO_TRAFFIC, m);
}

void proto_keepalive_encode(struct wire_wr *wr)
{
	encode_msg(wr, PROTO_KEEPALIVE, NULL);
}

/* Scratch space for validating any frame without knowing its type in advance. */
union any_msg {
	struct proto_sigreq sigreq;
	struct proto_sigres sigres;
	struct proto_announce announce;
	struct bloom bloom;
	struct proto_lookup lookup;
	struct proto_notify notify;
	struct proto_broken broken;
	struct proto_traffic traffic;
};

bool proto_frame_is_valid(const uint8_t *frame, size_t len)
{
	union any_msg scratch;

	/* §3.1: N == 0, N > 131070 and unknown types close the link. */
	if (len == 0 || len > PROTO_FRAME_MAX || frame[0] >= PROTO_TYPE_COUNT)
		return false;
	/* Dummy and KeepAlive bodies are never parsed by Go, so any body is accepted. */
	if (!msgs[frame[0]].decode)
		return true;
	return decode_body(frame[0], frame + 1, len - 1, &scratch);
}

const char *proto_type_name(unsigned type)
{
	return type < PROTO_TYPE_COUNT ? msgs[type].name : "unknown";
}

/* ---- signature preimages (§4.2, §4.3, §4.6; §13 item 2) ---- */

size_t proto_sig_preimage(uint8_t out[static 94], const uint8_t key[static 32],
			  const uint8_t parent[static 32], uint64_t seq, uint64_t nonce,
			  uint64_t port)
{
	struct wire_wr wr;

	/* node || parent || uv(seq) || uv(nonce) || uv(port): at most 32 + 32 + 3 * 10 = 94. */
	wire_wr_init(&wr, out, 2 * PROTO_KEY_LEN + 3 * WIRE_UVARINT_MAX);
	wire_put_bytes(&wr, key, PROTO_KEY_LEN);
	wire_put_bytes(&wr, parent, PROTO_KEY_LEN);
	wire_put_uvarint(&wr, seq);
	wire_put_uvarint(&wr, nonce);
	wire_put_uvarint(&wr, port);
	return wr.len; /* cannot overflow: the buffer fits the longest encoding */
}

size_t proto_notify_preimage(uint8_t *out, size_t cap, uint64_t seq, const struct proto_path *p)
{
	struct wire_wr wr;

	/* uv(seq) || path, the path with its 00 terminator (ironwood bytesForSig). */
	wire_wr_init(&wr, out, cap);
	wire_put_uvarint(&wr, seq);
	proto_path_encode(&wr, p);
	return wire_wr_ok(&wr) ? wr.len : 0;
}

/* ---- meta handshake (§2.4, strict as 0.5.14, §10) ---- */

enum {
	META_TLV_MAJOR = 0,
	META_TLV_MINOR = 1,
	META_TLV_KEY = 2,
	META_TLV_PRIORITY = 3,
	META_TLV_HDR = 4, /* type:u16 len:u16 */
};

static const uint8_t meta_magic[4] = {'m', 'e', 't', 'a'};

/* A known TLV: its exact length and where its value goes. */
struct meta_tlv {
	uint16_t type;
	uint16_t len;
	void (*store)(struct proto_meta *m, const uint8_t *v);
};

static void store_major(struct proto_meta *m, const uint8_t *v)
{
	m->major = (uint16_t)(v[0] << 8 | v[1]);
}

static void store_minor(struct proto_meta *m, const uint8_t *v)
{
	m->minor = (uint16_t)(v[0] << 8 | v[1]);
}

static void store_key(struct proto_meta *m, const uint8_t *v)
{
	memcpy(m->key, v, PROTO_KEY_LEN);
}

static void store_priority(struct proto_meta *m, const uint8_t *v)
{
	m->priority = v[0];
}

/* In the order the Go encoder emits them, which is also the order we emit. */
/* clang-format off */
static const struct meta_tlv meta_tlvs[] = {
	{ META_TLV_MAJOR, 2, store_major },
	{ META_TLV_MINOR, 2, store_minor },
	{ META_TLV_KEY, PROTO_KEY_LEN, store_key },
	{ META_TLV_PRIORITY, 1, store_priority },
};
/* clang-format on */

enum { META_NTLV = sizeof(meta_tlvs) / sizeof(meta_tlvs[0]) };

_Static_assert(PROTO_META_LEN == PROTO_META_HDR_LEN + 4 * META_TLV_HDR + 2 + 2 + PROTO_KEY_LEN + 1 +
				     PROTO_SIG_LEN,
	       "meta layout");

void proto_meta_encode(uint8_t out[static PROTO_META_LEN], const struct proto_meta *m)
{
	struct wire_wr wr;

	wire_wr_init(&wr, out, PROTO_META_LEN);
	wire_put_bytes(&wr, meta_magic, sizeof(meta_magic));
	wire_put_u16(&wr, PROTO_META_LEN - PROTO_META_HDR_LEN); /* L = 117 */
	wire_put_u16(&wr, META_TLV_MAJOR);
	wire_put_u16(&wr, 2);
	wire_put_u16(&wr, m->major);
	wire_put_u16(&wr, META_TLV_MINOR);
	wire_put_u16(&wr, 2);
	wire_put_u16(&wr, m->minor);
	wire_put_u16(&wr, META_TLV_KEY);
	wire_put_u16(&wr, PROTO_KEY_LEN);
	wire_put_bytes(&wr, m->key, PROTO_KEY_LEN);
	wire_put_u16(&wr, META_TLV_PRIORITY);
	wire_put_u16(&wr, 1);
	wire_put_u8(&wr, m->priority);
	wire_put_bytes(&wr, m->sig, PROTO_SIG_LEN);
}

int proto_meta_header(const uint8_t hdr[static PROTO_META_HDR_LEN])
{
	int len = hdr[4] << 8 | hdr[5];

	if (memcmp(hdr, meta_magic, sizeof(meta_magic)) != 0 || len < PROTO_SIG_LEN)
		return -1;
	return len;
}

static const struct meta_tlv *meta_tlv_find(uint16_t type)
{
	for (size_t i = 0; i < META_NTLV; i++) {
		if (meta_tlvs[i].type == type)
			return &meta_tlvs[i];
	}
	return NULL;
}

bool proto_meta_decode(const uint8_t *body, size_t len, struct proto_meta *out)
{
	struct wire_rd rd;
	bool has_key = false;

	if (len < PROTO_SIG_LEN)
		return false;
	/* Go starts from a zero version_metadata: a missing version is 0 and fails check(). */
	memset(out, 0, sizeof(*out));
	wire_rd_init(&rd, body, len - PROTO_SIG_LEN);
	/* TLVs while at least a TLV header remains; 1..3 stray bytes are an error afterwards. */
	while (wire_remaining(&rd) >= META_TLV_HDR) {
		uint16_t type, tlen;
		const uint8_t *v;
		const struct meta_tlv *t;

		wire_get_u16(&rd, &type);
		wire_get_u16(&rd, &tlen);
		if (!wire_get_span(&rd, tlen, &v))
			return false; /* overruns the TLV area */
		t = meta_tlv_find(type);
		if (!t)
			continue; /* unknown types are skipped */
		if (tlen != t->len)
			return false;
		t->store(out, v); /* the last occurrence wins */
		if (type == META_TLV_KEY)
			has_key = true;
	}
	if (wire_remaining(&rd) != 0 || !has_key)
		return false;
	memcpy(out->sig, body + len - PROTO_SIG_LEN, PROTO_SIG_LEN);
	return true;
}
