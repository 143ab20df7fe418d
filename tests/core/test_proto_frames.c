/*
 * Tests for core/proto (spec yggdrasil-link-routing.md §2.4, §3.1, §4, §11), part 2: whole
 * frames as real yggdrasil 0.5.12 daemons sent them (tests/data/vectors/, copied from
 * vectors-link):
 * - captured-streams.txt: every meta and every frame of the eight captured streams decodes,
 *   re-encodes to the identical bytes, carries valid signatures, and fails once truncated at any
 *   offset or given one trailing byte (Traffic, KeepAlive and Dummy excepted, as in Go);
 * - decoded-run1.txt / decoded-chain.txt: the fields yggwire.py (an independent decoder) read
 *   from those frames equal ours;
 * - PathBroken, which no capture holds, laid out by hand from §4.7.
 */
#include "core/bloom.h"
#include "core/proto.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/wire.h"
#include "support/hex.h"
#include "support/speckeys.h"

#include <criterion/criterion.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

enum { BUF = 4096, MAX_STREAMS = 8, MAX_FRAMES = 64 };

/* ---- helpers ---- */

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(proto_frames, .init = setup);

/* ---- typed decode/encode through one table (the test's own dispatch) ---- */

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

/* d_X decodes a body into m->X, e_X encodes a whole frame from it. */
#define CODEC(x)                                                                                   \
	static bool d_##x(const uint8_t *b, size_t n, union msg *m)                                \
	{                                                                                          \
		return proto_##x##_decode(b, n, &m->x);                                            \
	}                                                                                          \
	static void e_##x(struct wire_wr *w, const union msg *m)                                   \
	{                                                                                          \
		proto_##x##_encode(w, &m->x);                                                      \
	}
CODEC(sigreq)
CODEC(sigres)
CODEC(announce)
CODEC(bloom)
CODEC(lookup)
CODEC(notify)
CODEC(broken)
#undef CODEC

static bool d_traffic(const uint8_t *b, size_t n, union msg *m)
{
	return proto_traffic_decode(b, n, &m->traffic);
}

static void e_traffic(struct wire_wr *w, const union msg *m)
{
	proto_traffic_encode_header(w, &m->traffic);
	wire_put_bytes(w, m->traffic.payload, m->traffic.payload_len);
}

/* clang-format off */
static const struct codec {
	bool (*decode)(const uint8_t *b, size_t n, union msg *m);
	void (*encode)(struct wire_wr *w, const union msg *m);
} codecs[PROTO_TYPE_COUNT] = {
	[PROTO_SIGREQ] = { d_sigreq, e_sigreq },
	[PROTO_SIGRES] = { d_sigres, e_sigres },
	[PROTO_ANNOUNCE] = { d_announce, e_announce },
	[PROTO_BLOOM] = { d_bloom, e_bloom },
	[PROTO_LOOKUP] = { d_lookup, e_lookup },
	[PROTO_NOTIFY] = { d_notify, e_notify },
	[PROTO_BROKEN] = { d_broken, e_broken },
	[PROTO_TRAFFIC] = { d_traffic, e_traffic },
};
/* clang-format on */

/*
 * The whole contract for one valid frame (type || body): valid, decodes, re-encodes to the same
 * bytes; every truncation fails; one trailing byte fails except where Go ignores or keeps it.
 */
static void check_frame(const uint8_t *frame, size_t n, union msg *m, const char *what)
{
	unsigned type = frame[0];
	const struct codec *c = &codecs[type];
	uint8_t *copy = malloc(n + 1), out[BUF];
	size_t hdr = 0;
	struct wire_wr wr;

	cr_assert(proto_frame_is_valid(frame, n), "%s: %s frame invalid", what,
		  proto_type_name(type));
	if (type == PROTO_KEEPALIVE) {
		cr_assert_eq(n, 1, "%s: keepalive with a body", what);
		cr_assert_not(proto_frame_is_valid(frame, 0)); /* N == 0 */
		wire_wr_init(&wr, out, sizeof(out));
		proto_keepalive_encode(&wr);
		ts_assert_bytes(out, wr.len, frame, n, what);
		free(copy);
		return;
	}
	cr_assert_not_null(c->decode, "%s: unexpected type %u", what, type);
	cr_assert(c->decode(frame + 1, n - 1, m), "%s: decode", what);
	wire_wr_init(&wr, out, sizeof(out));
	c->encode(&wr, m);
	cr_assert(wire_wr_ok(&wr));
	ts_assert_bytes(out, wr.len, frame, n, what);
	if (type == PROTO_TRAFFIC) {
		hdr = m->traffic.header_len;
		cr_assert_eq(hdr + m->traffic.payload_len, n - 1);
		cr_assert_eq(m->traffic.payload, frame + 1 + hdr);
	}

	/* Truncations (exact-size heap copies, so ASan sees any over-read). */
	for (size_t k = 0; k < n; k++) {
		union msg *tm = malloc(sizeof(*tm));
		bool ok_frame, ok_body = false;

		memcpy(copy, frame, k);
		ok_frame = proto_frame_is_valid(copy, k);
		if (k > 0)
			ok_body = c->decode(copy + 1, k - 1, tm);
		/* A Traffic frame cut inside its payload is still a (shorter) Traffic frame. */
		bool want = type == PROTO_TRAFFIC && k >= 1 + hdr;

		cr_assert_eq(ok_frame, want, "%s: truncated to %zu: valid=%d", what, k, ok_frame);
		if (k > 0)
			cr_assert_eq(ok_body, want, "%s: body truncated to %zu", what, k - 1);
		free(tm);
	}
	/* One trailing byte: Go's decoders all check len(data) == 0, except Traffic's. */
	memcpy(copy, frame, n);
	copy[n] = 0;
	cr_assert_eq(proto_frame_is_valid(copy, n + 1), type == PROTO_TRAFFIC, "%s: trailing",
		     what);
	free(copy);
}

/* ---- captured streams ---- */

struct stream {
	char name[32]; /* "run1 B->A" */
	char from, to;
	uint8_t *b;
	size_t n;
};

static int load_streams(struct stream *s)
{
	char *buf = th_read_file(VECTORS "captured-streams.txt", NULL), *line, *save = NULL;
	int ns = 0;

	cr_assert_not_null(buf);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		size_t hl;

		if (line[0] == '#' || !colon)
			continue;
		cr_assert_lt(ns, MAX_STREAMS);
		*colon = '\0';
		snprintf(s[ns].name, sizeof(s[ns].name), "%s", line);
		cr_assert_not_null(strstr(line, "->"));
		s[ns].from = strstr(line, "->")[-1];
		s[ns].to = strstr(line, "->")[2];
		hl = strlen(colon + 1);
		s[ns].b = malloc(hl / 2 + 1);
		s[ns].n = ts_unhex(colon + 1, s[ns].b, hl / 2 + 1);
		ns++;
	}
	free(buf);
	return ns;
}

static void free_streams(struct stream *s, int ns)
{
	for (int i = 0; i < ns; i++)
		free(s[i].b);
}

/* Splits a stream after its meta into frames (type || body); returns the count. */
static int split_frames(const struct stream *s, const uint8_t **f, size_t *fl)
{
	struct wire_rd rd;
	int nf = 0;
	int l = proto_meta_header(s->b);

	cr_assert_eq(l, PROTO_META_LEN - PROTO_META_HDR_LEN);
	wire_rd_init(&rd, s->b + PROTO_META_LEN, s->n - PROTO_META_LEN);
	while (wire_remaining(&rd) > 0) {
		uint64_t len;

		cr_assert_lt(nf, MAX_FRAMES);
		cr_assert(wire_get_uvarint(&rd, &len), "%s: length", s->name);
		cr_assert(wire_get_span(&rd, (size_t)len, &f[nf]), "%s: frame %d cut", s->name, nf);
		fl[nf++] = (size_t)len;
	}
	return nf;
}

static const char *password_of(const struct stream *s)
{
	return strncmp(s->name, "run2", 4) == 0 ? "hunter2" : NULL;
}

Test(proto_frames, captured_metas)
{
	struct stream s[MAX_STREAMS];
	int ns = load_streams(s);

	cr_assert_eq(ns, 8);
	for (int i = 0; i < ns; i++) {
		struct proto_meta m;
		uint8_t pub[32], d[64], again[PROTO_META_LEN];
		int want_prio = 0;

		cr_assert_eq(proto_meta_header(s[i].b), 117);
		cr_assert(proto_meta_decode(s[i].b + 6, 117, &m), "%s", s[i].name);
		cr_assert_eq(m.major, 0);
		cr_assert_eq(m.minor, 5);
		ts_spec_pub(s[i].from, pub);
		cr_assert_eq(memcmp(m.key, pub, 32), 0, "%s: key", s[i].name);
		/* run2: priority A=2, B=3. */
		if (password_of(&s[i]))
			want_prio = s[i].from == 'A' ? 2 : 3;
		cr_assert_eq(m.priority, want_prio, "%s", s[i].name);
		cr_assert(hash_meta_digest(password_of(&s[i]), m.key, d));
		cr_assert(sign_verify(m.key, d, 64, m.sig), "%s: meta signature", s[i].name);
		proto_meta_encode(again, &m);
		ts_assert_bytes(again, sizeof(again), s[i].b, PROTO_META_LEN, s[i].name);
	}
	free_streams(s, ns);
}

/* Signature checks a receiver makes (§4.2, §4.3, §4.6), on real frames. */
static void check_sigs(const struct stream *s, const union msg *m, unsigned type)
{
	uint8_t pre[256], sender[32], receiver[32];
	size_t n;

	ts_spec_pub(s->from, sender);
	ts_spec_pub(s->to, receiver);
	if (type == PROTO_SIGRES) {
		const struct proto_sigres *r = &m->sigres;

		/* node = the requester (receiver of the SigRes), parent = the responder. */
		n = proto_sig_preimage(pre, receiver, sender, r->seq, r->nonce, r->port);
		cr_assert(sign_verify(sender, pre, n, r->psig), "%s: SigRes psig", s->name);
	} else if (type == PROTO_ANNOUNCE) {
		const struct proto_announce *a = &m->announce;

		n = proto_sig_preimage(pre, a->key, a->parent, a->seq, a->nonce, a->port);
		cr_assert(sign_verify(a->key, pre, n, a->sig), "%s: Announce sig", s->name);
		cr_assert(sign_verify(a->parent, pre, n, a->psig), "%s: Announce psig", s->name);
		cr_assert(a->port != 0 || memcmp(a->key, a->parent, 32) == 0);
	} else if (type == PROTO_NOTIFY) {
		const struct proto_notify *p = &m->notify;

		n = proto_notify_preimage(pre, sizeof(pre), p->info_seq, &p->info_path);
		cr_assert_gt(n, 0);
		cr_assert(sign_verify(p->source, pre, n, p->info_sig), "%s: notify sig", s->name);
	}
}

Test(proto_frames, captured_frames_roundtrip)
{
	struct stream s[MAX_STREAMS];
	int ns = load_streams(s), seen[PROTO_TYPE_COUNT] = {0}, total = 0;
	union msg *m = malloc(sizeof(*m));

	for (int i = 0; i < ns; i++) {
		const uint8_t *f[MAX_FRAMES];
		size_t fl[MAX_FRAMES];
		int nf = split_frames(&s[i], f, fl);

		for (int j = 0; j < nf; j++) {
			char what[64];

			snprintf(what, sizeof(what), "%.31s frame %d", s[i].name, j);
			check_frame(f[j], fl[j], m, what);
			check_sigs(&s[i], m, f[j][0]);
			seen[f[j][0]]++;
			total++;
		}
	}
	/* The captures hold every type Go sends except PathBroken (tested below). */
	for (unsigned t = PROTO_KEEPALIVE; t < PROTO_TYPE_COUNT; t++) {
		if (t != PROTO_BROKEN)
			cr_assert_gt(seen[t], 0, "no %s frame captured", proto_type_name(t));
	}
	cr_assert_eq(total, 97); /* 27 in run1, 13 in run2, 57 in the chain */
	free(m);
	free_streams(s, ns);
}

/* ---- field values read by yggwire.py (decoded-*.txt) ---- */

enum fkind { F_U64, F_BYTES, F_PATH };

/* clang-format off */
static const struct field {
	unsigned type;
	const char *name;
	enum fkind kind;
	size_t off, len;
} fields[] = {
#define F(t, s, n, k, m, l) { t, n, k, offsetof(struct s, m), l }
	F(PROTO_SIGREQ, proto_sigreq, "seq", F_U64, seq, 0),
	F(PROTO_SIGREQ, proto_sigreq, "nonce", F_U64, nonce, 0),
	F(PROTO_SIGRES, proto_sigres, "seq", F_U64, seq, 0),
	F(PROTO_SIGRES, proto_sigres, "nonce", F_U64, nonce, 0),
	F(PROTO_SIGRES, proto_sigres, "port", F_U64, port, 0),
	F(PROTO_SIGRES, proto_sigres, "psig", F_BYTES, psig, 64),
	F(PROTO_ANNOUNCE, proto_announce, "key", F_BYTES, key, 32),
	F(PROTO_ANNOUNCE, proto_announce, "parent", F_BYTES, parent, 32),
	F(PROTO_ANNOUNCE, proto_announce, "seq", F_U64, seq, 0),
	F(PROTO_ANNOUNCE, proto_announce, "nonce", F_U64, nonce, 0),
	F(PROTO_ANNOUNCE, proto_announce, "port", F_U64, port, 0),
	F(PROTO_LOOKUP, proto_lookup, "source", F_BYTES, source, 32),
	F(PROTO_LOOKUP, proto_lookup, "dest", F_BYTES, dest, 32),
	F(PROTO_LOOKUP, proto_lookup, "from", F_PATH, from, 0),
	F(PROTO_NOTIFY, proto_notify, "path", F_PATH, path, 0),
	F(PROTO_NOTIFY, proto_notify, "watermark", F_U64, watermark, 0),
	F(PROTO_NOTIFY, proto_notify, "source", F_BYTES, source, 32),
	F(PROTO_NOTIFY, proto_notify, "dest", F_BYTES, dest, 32),
	F(PROTO_NOTIFY, proto_notify, "info_seq", F_U64, info_seq, 0),
	F(PROTO_NOTIFY, proto_notify, "info_path", F_PATH, info_path, 0),
	F(PROTO_TRAFFIC, proto_traffic, "path", F_PATH, path, 0),
	F(PROTO_TRAFFIC, proto_traffic, "from", F_PATH, from, 0),
	F(PROTO_TRAFFIC, proto_traffic, "source", F_BYTES, source, 32),
	F(PROTO_TRAFFIC, proto_traffic, "dest", F_BYTES, dest, 32),
	F(PROTO_TRAFFIC, proto_traffic, "watermark", F_U64, watermark, 0),
#undef F
};
/* clang-format on */

/* Parses "[1, 2]" into ports; returns the count. */
static size_t parse_list(const char *p, uint64_t *v, size_t cap)
{
	size_t n = 0;

	cr_assert_eq(*p, '[');
	for (p++; *p != ']';) {
		char *end;

		cr_assert_lt(n, cap);
		v[n++] = strtoull(p, &end, 10);
		cr_assert_neq(end, p);
		p = end;
		if (*p == ',')
			p += 2;
	}
	return n;
}

/* Checks one "'name': value" of a yggwire dict against the decoded frame. */
static void check_field(unsigned type, const union msg *m, const char *name, const char *val)
{
	uint64_t list[PROTO_PATH_MAX + 8];
	uint8_t bytes[64];

	if (strcmp(name, "type") == 0) {
		cr_assert_eq(strncmp(val + 1, proto_type_name(type), strlen(proto_type_name(type))),
			     0, "type %s vs %s", val, proto_type_name(type));
		return;
	}
	if (strstr(name, "_ok"))
		return; /* yggwire's own signature verdicts; we verify in check_sigs */
	if (type == PROTO_BLOOM && strcmp(name, "bits") == 0) {
		size_t n = parse_list(val, list, PROTO_PATH_MAX), set = 0;

		for (size_t i = 0; i < n; i++)
			cr_assert(m->bloom.w[list[i] / 64] >> (list[i] % 64) & 1, "bit %lu",
				  (unsigned long)list[i]);
		for (int i = 0; i < BLOOM_WORDS; i++)
			set += (size_t)__builtin_popcountll(m->bloom.w[i]);
		cr_assert_eq(set, n, "bloom bit count");
		return;
	}
	if (type == PROTO_TRAFFIC && strcmp(name, "payload_len") == 0) {
		cr_assert_eq(m->traffic.payload_len, strtoull(val, NULL, 10));
		return;
	}
	if (type == PROTO_TRAFFIC && strcmp(name, "payload_head") == 0) {
		size_t n = ts_unhex(strndupa(val + 1, strcspn(val + 1, "'")), bytes, sizeof(bytes));

		cr_assert_leq(n, m->traffic.payload_len);
		cr_assert_eq(memcmp(m->traffic.payload, bytes, n), 0, "payload head");
		return;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		const uint8_t *p = (const uint8_t *)m + f->off;

		if (f->type != type || strcmp(f->name, name) != 0)
			continue;
		if (f->kind == F_U64) {
			cr_assert_eq(*(const uint64_t *)p, strtoull(val, NULL, 10), "%s", name);
		} else if (f->kind == F_BYTES) {
			cr_assert_eq(
			    ts_unhex(strndupa(val + 1, strcspn(val + 1, "'")), bytes, sizeof(bytes)),
			    f->len);
			cr_assert_eq(memcmp(p, bytes, f->len), 0, "%s", name);
		} else {
			const struct proto_path *path = (const struct proto_path *)p;
			size_t n = parse_list(val, list, PROTO_PATH_MAX);

			cr_assert_eq(path->len, n, "%s length", name);
			for (size_t k = 0; k < n; k++)
				cr_assert_eq(path->port[k], list[k], "%s[%zu]", name, k);
		}
		return;
	}
	cr_assert_fail("%s: field %s not checked", proto_type_name(type), name);
}

/* Walks "{'a': 1, 'b': 'x', 'c': [1]}" and checks every field. Returns the number checked. */
static int check_dict(unsigned type, const union msg *m, const char *d)
{
	int n = 0;

	for (const char *p = strchr(d, '{'); p && *p && *p != '}';) {
		char name[64];
		const char *q = strchr(p, '\'');
		size_t nl;

		if (!q)
			break;
		nl = strcspn(q + 1, "'");
		cr_assert_lt(nl, sizeof(name));
		memcpy(name, q + 1, nl);
		name[nl] = '\0';
		p = q + 1 + nl + 1;
		cr_assert_eq(strncmp(p, ": ", 2), 0);
		p += 2;
		check_field(type, m, name, p);
		n++;
		/* Skip the value: a quoted string, a list, or a bare word. */
		if (*p == '\'')
			p = strchr(p + 1, '\'') + 1;
		else if (*p == '[')
			p = strchr(p, ']') + 1;
		else
			p += strcspn(p, ",}");
		if (*p == ',')
			p += 2;
	}
	return n;
}

struct dframe {
	char *dict, *hex; /* into the file buffer */
};

static void check_decoded_file(const char *path, int want_streams)
{
	struct stream s[MAX_STREAMS];
	int ns = load_streams(s), matched = 0;
	char *buf = th_read_file(path, NULL), *p;
	union msg *m = malloc(sizeof(*m));

	cr_assert_not_null(buf);
	p = strstr(buf, "=== stream");
	while (p) {
		struct dframe df[MAX_FRAMES];
		int ndf = 0, found = -1;
		char *next = strstr(p + 1, "=== stream"), *q = p;

		if (next)
			next[0] = '\0';
		while ((q = strstr(q, "frame len="))) {
			char *h = strstr(q, "hex: ");

			cr_assert_not_null(h);
			cr_assert_lt(ndf, MAX_FRAMES);
			df[ndf].dict = q;
			df[ndf].hex = h + 5;
			size_t hl = strcspn(h + 5, ".\n");
			char end = h[5 + hl];

			h[-1] = '\0';
			h[5 + hl] = '\0'; /* drop the "..." of a truncated hex line */
			q = end ? h + 5 + hl + 1 : h + 5 + hl;
			ndf++;
		}
		/* The captured stream with the same frames. */
		for (int i = 0; i < ns && found < 0; i++) {
			const uint8_t *f[MAX_FRAMES];
			size_t fl[MAX_FRAMES];
			int nf = split_frames(&s[i], f, fl), j;

			if (nf != ndf)
				continue;
			for (j = 0; j < nf; j++) {
				uint8_t want[256];
				size_t wn = ts_unhex(df[j].hex, want, sizeof(want)), pre;

				/* decoded hex includes the length prefix */
				pre = wire_uvarint_len(fl[j]);
				if (wn < pre || memcmp(f[j], want + pre, wn - pre) != 0)
					break;
			}
			if (j == nf)
				found = i;
		}
		cr_assert_geq(found, 0, "%s: a decoded stream matches no capture", path);
		{
			const uint8_t *f[MAX_FRAMES];
			size_t fl[MAX_FRAMES];
			int nf = split_frames(&s[found], f, fl);

			for (int j = 0; j < nf; j++) {
				unsigned type = f[j][0];

				if (codecs[type].decode)
					cr_assert(codecs[type].decode(f[j] + 1, fl[j] - 1, m));
				cr_assert_geq(check_dict(type, m, df[j].dict), 1);
			}
		}
		matched++;
		p = next ? next : NULL;
		if (next)
			next[0] = '=';
	}
	cr_assert_eq(matched, want_streams);
	free(m);
	free(buf);
	free_streams(s, ns);
}

Test(proto_frames, decoded_run1_fields)
{
	check_decoded_file(VECTORS "decoded-run1.txt", 2);
}

Test(proto_frames, decoded_chain_fields)
{
	check_decoded_file(VECTORS "decoded-chain.txt", 4);
}

/* ---- PathBroken (no capture: §4.7 layout by hand) ---- */

Test(proto_frames, broken_layout)
{
	struct proto_broken br = {.path = {.len = 2, .port = {1, 300}}, .watermark = 5}, back;
	uint8_t buf[BUF], want[BUF];
	struct wire_wr wr;
	size_t wn = 0;

	ts_spec_pub('A', br.source);
	ts_spec_pub('C', br.dest);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_broken_encode(&wr, &br);
	wn = ts_unhex("08 01 ac02 00 05", want, sizeof(want));
	memcpy(want + wn, br.source, 32);
	memcpy(want + wn + 32, br.dest, 32);
	wn += 64;
	cr_assert(wire_wr_ok(&wr));
	ts_assert_bytes(buf, wr.len, want, wn, "PathBroken");
	cr_assert(proto_broken_decode(buf + 1, wr.len - 1, &back));
	cr_assert(proto_path_equal(&back.path, &br.path));
	cr_assert_eq(back.watermark, 5);
	cr_assert_eq(memcmp(back.dest, br.dest, 32), 0);
	check_frame(buf, wr.len, &(union msg){0}, "PathBroken");
	cr_assert_str_eq(proto_type_name(PROTO_BROKEN), "PathBroken");
}
