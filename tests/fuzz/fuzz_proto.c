/*
 * libFuzzer driver for core/proto (spec yggdrasil-link-routing.md §2.4, §3.1, §4).
 *
 * Every input is tried as a whole frame (type || body) and as the body of each frame type and
 * of the meta handshake. Properties checked, abort() on violation:
 * - no decoder reads outside the input (the sanitizers watch; inputs arrive as exact-size
 *   buffers);
 * - proto_frame_is_valid() agrees with the typed decoder of the frame's type;
 * - whatever decodes re-encodes without writer error to bytes that decode to the same value
 *   (not necessarily the same bytes: Go accepts non-minimal uvarints and unflagged zero words);
 * - a re-encoding of a value is stable: encoding the re-decoded value gives the same bytes.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_proto.c
 * src/core/proto.c src/core/bloom.c src/lib/wire.c; or link tests/fuzz/replay_main.c instead
 * of -fsanitize=fuzzer to replay the seed corpus (tests/fuzz/corpus/fuzz_proto/).
 */
#include "core/bloom.h"
#include "core/proto.h"
#include "lib/wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { OUT_CAP = PROTO_FRAME_MAX + 16 };

union msg {
	struct proto_sigreq sigreq;
	struct proto_sigres sigres;
	struct proto_announce announce;
	struct bloom bloom;
	struct proto_lookup lookup;
	struct proto_notify notify;
	struct proto_broken broken;
	struct proto_traffic traffic;
};

/* One frame type: decode a body, encode a whole frame, compare two values. */
struct codec {
	bool (*decode)(const uint8_t *b, size_t n, union msg *m);
	void (*encode)(struct wire_wr *w, const union msg *m);
	bool (*equal)(const union msg *a, const union msg *b);
};

#define SAME(a, b, f) (memcmp((a)->f, (b)->f, sizeof((a)->f)) == 0)

static bool d_sigreq(const uint8_t *b, size_t n, union msg *m)
{
	return proto_sigreq_decode(b, n, &m->sigreq);
}
static void e_sigreq(struct wire_wr *w, const union msg *m)
{
	proto_sigreq_encode(w, &m->sigreq);
}
static bool q_sigreq(const union msg *a, const union msg *b)
{
	return a->sigreq.seq == b->sigreq.seq && a->sigreq.nonce == b->sigreq.nonce;
}

static bool d_sigres(const uint8_t *b, size_t n, union msg *m)
{
	return proto_sigres_decode(b, n, &m->sigres);
}
static void e_sigres(struct wire_wr *w, const union msg *m)
{
	proto_sigres_encode(w, &m->sigres);
}
static bool q_sigres(const union msg *a, const union msg *b)
{
	const struct proto_sigres *x = &a->sigres, *y = &b->sigres;

	return x->seq == y->seq && x->nonce == y->nonce && x->port == y->port && SAME(x, y, psig);
}

static bool d_announce(const uint8_t *b, size_t n, union msg *m)
{
	return proto_announce_decode(b, n, &m->announce);
}
static void e_announce(struct wire_wr *w, const union msg *m)
{
	proto_announce_encode(w, &m->announce);
}
static bool q_announce(const union msg *a, const union msg *b)
{
	const struct proto_announce *x = &a->announce, *y = &b->announce;

	return SAME(x, y, key) && SAME(x, y, parent) && x->seq == y->seq && x->nonce == y->nonce &&
	       x->port == y->port && SAME(x, y, psig) && SAME(x, y, sig);
}

static bool d_bloom(const uint8_t *b, size_t n, union msg *m)
{
	return proto_bloom_decode(b, n, &m->bloom);
}
static void e_bloom(struct wire_wr *w, const union msg *m)
{
	proto_bloom_encode(w, &m->bloom);
}
static bool q_bloom(const union msg *a, const union msg *b)
{
	return bloom_equal(&a->bloom, &b->bloom);
}

static bool d_lookup(const uint8_t *b, size_t n, union msg *m)
{
	return proto_lookup_decode(b, n, &m->lookup);
}
static void e_lookup(struct wire_wr *w, const union msg *m)
{
	proto_lookup_encode(w, &m->lookup);
}
static bool q_lookup(const union msg *a, const union msg *b)
{
	const struct proto_lookup *x = &a->lookup, *y = &b->lookup;

	return SAME(x, y, source) && SAME(x, y, dest) && proto_path_equal(&x->from, &y->from);
}

static bool d_notify(const uint8_t *b, size_t n, union msg *m)
{
	return proto_notify_decode(b, n, &m->notify);
}
static void e_notify(struct wire_wr *w, const union msg *m)
{
	proto_notify_encode(w, &m->notify);
}
static bool q_notify(const union msg *a, const union msg *b)
{
	const struct proto_notify *x = &a->notify, *y = &b->notify;

	return proto_path_equal(&x->path, &y->path) && x->watermark == y->watermark &&
	       SAME(x, y, source) && SAME(x, y, dest) && x->info_seq == y->info_seq &&
	       proto_path_equal(&x->info_path, &y->info_path) && SAME(x, y, info_sig);
}

static bool d_broken(const uint8_t *b, size_t n, union msg *m)
{
	return proto_broken_decode(b, n, &m->broken);
}
static void e_broken(struct wire_wr *w, const union msg *m)
{
	proto_broken_encode(w, &m->broken);
}
static bool q_broken(const union msg *a, const union msg *b)
{
	const struct proto_broken *x = &a->broken, *y = &b->broken;

	return proto_path_equal(&x->path, &y->path) && x->watermark == y->watermark &&
	       SAME(x, y, source) && SAME(x, y, dest);
}

static bool d_traffic(const uint8_t *b, size_t n, union msg *m)
{
	return proto_traffic_decode(b, n, &m->traffic);
}
static void e_traffic(struct wire_wr *w, const union msg *m)
{
	proto_traffic_encode_header(w, &m->traffic);
	wire_put_bytes(w, m->traffic.payload, m->traffic.payload_len);
}
static bool q_traffic(const union msg *a, const union msg *b)
{
	const struct proto_traffic *x = &a->traffic, *y = &b->traffic;

	return proto_path_equal(&x->path, &y->path) && proto_path_equal(&x->from, &y->from) &&
	       SAME(x, y, source) && SAME(x, y, dest) && x->watermark == y->watermark &&
	       x->payload_len == y->payload_len &&
	       (x->payload_len == 0 || memcmp(x->payload, y->payload, x->payload_len) == 0);
}

/* clang-format off */
static const struct codec codecs[PROTO_TYPE_COUNT] = {
	[PROTO_SIGREQ] = { d_sigreq, e_sigreq, q_sigreq },
	[PROTO_SIGRES] = { d_sigres, e_sigres, q_sigres },
	[PROTO_ANNOUNCE] = { d_announce, e_announce, q_announce },
	[PROTO_BLOOM] = { d_bloom, e_bloom, q_bloom },
	[PROTO_LOOKUP] = { d_lookup, e_lookup, q_lookup },
	[PROTO_NOTIFY] = { d_notify, e_notify, q_notify },
	[PROTO_BROKEN] = { d_broken, e_broken, q_broken },
	[PROTO_TRAFFIC] = { d_traffic, e_traffic, q_traffic },
};
/* clang-format on */

/* Heap scratch, allocated once: the structs are kilobytes and the output is a whole frame. */
struct scratch {
	union msg a, b;
	uint8_t out[OUT_CAP], out2[OUT_CAP];
};

static struct scratch *s;

static void check(bool cond)
{
	if (!cond)
		abort();
}

/* body decodes as type t: re-encode, re-decode, compare, re-encode again. */
static void roundtrip(unsigned t, const uint8_t *body, size_t n)
{
	const struct codec *c = &codecs[t];
	struct wire_wr w;
	size_t len;

	if (!c->decode(body, n, &s->a) || n >= PROTO_FRAME_MAX)
		return; /* too big to be a frame: decoding it without a fault is all we ask */
	wire_wr_init(&w, s->out, sizeof(s->out));
	c->encode(&w, &s->a);
	check(wire_wr_ok(&w));
	check(w.len >= 1 && s->out[0] == t);
	/* Canonical output is never longer than the input (non-minimal forms only shrink). */
	check(w.len <= n + 1);
	check(proto_frame_is_valid(s->out, w.len));
	check(c->decode(s->out + 1, w.len - 1, &s->b));
	check(c->equal(&s->a, &s->b));
	len = w.len;
	wire_wr_init(&w, s->out2, sizeof(s->out2));
	c->encode(&w, &s->b);
	check(wire_wr_ok(&w) && w.len == len && memcmp(s->out, s->out2, len) == 0);
}

static void meta(const uint8_t *data, size_t size)
{
	struct proto_meta m, m2;
	uint8_t out[PROTO_META_LEN];

	if (size >= PROTO_META_HDR_LEN) {
		int l = proto_meta_header(data);

		check(l == -1 || (l >= PROTO_SIG_LEN && l <= 65535));
	}
	if (!proto_meta_decode(data, size, &m))
		return;
	proto_meta_encode(out, &m);
	check(proto_meta_header(out) == PROTO_META_LEN - PROTO_META_HDR_LEN);
	check(
	    proto_meta_decode(out + PROTO_META_HDR_LEN, PROTO_META_LEN - PROTO_META_HDR_LEN, &m2));
	check(m.major == m2.major && m.minor == m2.minor && m.priority == m2.priority &&
	      memcmp(m.key, m2.key, sizeof(m.key)) == 0 &&
	      memcmp(m.sig, m2.sig, sizeof(m.sig)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool valid;

	if (!s) {
		s = malloc(sizeof(*s));
		if (!s)
			abort();
	}
	/* As a whole frame: the validity verdict must match the typed decoder. */
	valid = proto_frame_is_valid(data, size);
	if (size > 0 && size <= PROTO_FRAME_MAX && data[0] < PROTO_TYPE_COUNT &&
	    codecs[data[0]].decode)
		check(valid == codecs[data[0]].decode(data + 1, size - 1, &s->a));
	if (size == 0 || data[0] >= PROTO_TYPE_COUNT || size > PROTO_FRAME_MAX)
		check(!valid);
	if (size > 0)
		check(proto_type_name(data[0]) != NULL);

	/* As the body of every type. */
	for (unsigned t = 0; t < PROTO_TYPE_COUNT; t++) {
		if (codecs[t].decode)
			roundtrip(t, data, size);
	}
	meta(data, size);
	return 0;
}
