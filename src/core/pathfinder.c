/*
 * pathfinder: lookups, notifies, brokens and the path cache (yggdrasil-link-routing.md
 * §7.3-§7.6; see pathfinder.h).
 *
 * Owns: paths (struct pf_path, sorted by full key), rumors (struct pf_rumor, sorted by key
 * transform), the packets they hold (one cached copy per path, one waiting packet per rumor)
 * and the last notify info we signed.
 *
 * Invariants: npaths <= PF_PATHS_MAX, nrumors <= PF_RUMORS_MAX, nheld (packets held by paths
 * and rumors) <= PF_HELD_MAX. No entry pointer is used after a callback that may re-enter
 * (send_traffic, path_found, forward_*): entries are looked up again instead.
 *
 * Timers (swept in pathfinder_tick): a path dies PF_PATH_TIMEOUT_MS after its last accepted
 * notify or last traffic received from its key while not broken; a rumor dies
 * PF_PATH_TIMEOUT_MS after its last lookup; while it holds a packet its lookup is repeated every
 * PF_RETRY_MS. PF_THROTTLE_MS spaces lookups per rumor and per
 * path entry (reqTime is set only when the path entry is created, as in ironwood).
 */
#include "core/pathfinder.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/bloom.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/kvec.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "lib/wire.h"

/* uv(seq) || path with its terminator (§4.6) */
enum { NOTIFY_PREIMAGE_MAX = WIRE_UVARINT_MAX + PROTO_PATH_MAX * WIRE_UVARINT_MAX + 1 };

struct pf_path {
	uint8_t key[PROTO_KEY_LEN]; /* first: the sort key */
	struct proto_path path;
	uint64_t seq;
	uint64_t req_time;
	uint64_t deadline;
	struct pkt *cached; /* copy of the last packet sent along this path, or NULL */
	uint64_t cached_ms; /* when it was taken */
	bool is_broken;
};

struct pf_rumor {
	uint8_t xform[PROTO_KEY_LEN]; /* first: the sort key */
	uint8_t dest[PROTO_KEY_LEN];  /* full destination of pkt */
	uint64_t send_time;
	uint64_t deadline;
	struct pkt *pkt; /* the newest packet waiting for an answer, or NULL */
};

struct pathfinder {
	struct pathfinder_cbs cbs;
	const struct keypair *kp;
	struct pkt_pool *pool;
	uint8_t self[PROTO_KEY_LEN];
	uint8_t self_x[PROTO_KEY_LEN];
	struct kvec paths;
	struct kvec rumors;
	size_t nheld;
	/* §7.3 respond(): the last info made, reused while seq and path stay the same */
	bool has_info;
	uint64_t info_seq;
	struct proto_path info_path;
	uint8_t info_sig[PROTO_SIG_LEN];
	struct pathfinder_stats stats;
};

/* ---- held packets ---- */

static void release(struct pathfinder *pf, struct pkt **p)
{
	if (*p) {
		pkt_free(*p);
		*p = NULL;
		pf->nheld--;
	}
}

/* A pool copy of p to keep, or NULL when the pool or PF_HELD_MAX says no. */
static struct pkt *hold_copy(struct pathfinder *pf, const struct pkt *p)
{
	struct pkt *c;
	uint8_t *d;

	if (pf->nheld >= PF_HELD_MAX || !(c = pkt_alloc(pf->pool)))
		return NULL;
	d = pkt_put(c, p->len);
	if (!d) {
		pkt_free(c);
		return NULL;
	}
	memcpy(d, p->data, p->len);
	pf->nheld++;
	return c;
}

/* ---- entries ---- */

static struct pf_path *path_find(const struct pathfinder *pf, const uint8_t key[32])
{
	return kvec_find(&pf->paths, key, NULL);
}

static struct pf_rumor *rumor_find(const struct pathfinder *pf, const uint8_t x[32])
{
	return kvec_find(&pf->rumors, x, NULL);
}

static void path_remove(struct pathfinder *pf, size_t pos)
{
	struct pf_path *e = pf->paths.v[pos];

	release(pf, &e->cached);
	kvec_remove_at(&pf->paths, pos);
	free(e);
}

static void rumor_remove(struct pathfinder *pf, size_t pos)
{
	struct pf_rumor *r = pf->rumors.v[pos];

	if (r->pkt)
		pf->stats.buffered_dropped++;
	release(pf, &r->pkt);
	kvec_remove_at(&pf->rumors, pos);
	free(r);
}

/* Index of the entry expiring first (the table is full and must make room). */
static size_t oldest(const struct kvec *kv, size_t deadline_off)
{
	size_t best = 0;
	uint64_t best_d = UINT64_MAX;

	for (size_t i = 0; i < kv->n; i++) {
		uint64_t d;

		memcpy(&d, (const uint8_t *)kv->v[i] + deadline_off, sizeof(d));
		if (d < best_d) {
			best_d = d;
			best = i;
		}
	}
	return best;
}

static struct pf_path *path_new(struct pathfinder *pf, const uint8_t key[32])
{
	struct pf_path *e;
	size_t pos;

	if (pf->paths.n >= PF_PATHS_MAX) {
		path_remove(pf, oldest(&pf->paths, offsetof(struct pf_path, deadline)));
		pf->stats.paths_evicted++;
	}
	kvec_find(&pf->paths, key, &pos);
	e = xcalloc(1, sizeof(*e));
	memcpy(e->key, key, PROTO_KEY_LEN);
	kvec_insert(&pf->paths, pos, e);
	return e;
}

static struct pf_rumor *rumor_new(struct pathfinder *pf, const uint8_t x[32])
{
	struct pf_rumor *r;
	size_t pos;

	if (pf->rumors.n >= PF_RUMORS_MAX) {
		rumor_remove(pf, oldest(&pf->rumors, offsetof(struct pf_rumor, deadline)));
		pf->stats.rumors_evicted++;
	}
	kvec_find(&pf->rumors, x, &pos);
	r = xcalloc(1, sizeof(*r));
	memcpy(r->xform, x, PROTO_KEY_LEN);
	kvec_insert(&pf->rumors, pos, r);
	return r;
}

static bool elapsed_below(uint64_t now_ms, uint64_t since_ms, uint64_t limit_ms)
{
	return now_ms < since_ms || now_ms - since_ms < limit_ms;
}

/* ---- lookups (§7.3) ---- */

static bool notify_check(const struct proto_notify *n)
{
	uint8_t m[NOTIFY_PREIMAGE_MAX];
	size_t len = proto_notify_preimage(m, sizeof(m), n->info_seq, &n->info_path);

	return len && sign_verify(n->source, m, len, n->info_sig);
}

static void respond(struct pathfinder *pf, const struct proto_lookup *l, uint64_t now_ms)
{
	struct proto_notify n;

	n.path = l->from;
	n.watermark = UINT64_MAX;
	memcpy(n.source, pf->self, PROTO_KEY_LEN);
	memcpy(n.dest, l->source, PROTO_KEY_LEN);
	n.info_seq = pf->cbs.unix_time(pf->cbs.ctx);
	pf->cbs.coords(pf->cbs.ctx, &n.info_path);
	if (pf->has_info && pf->info_seq == n.info_seq &&
	    proto_path_equal(&pf->info_path, &n.info_path)) {
		memcpy(n.info_sig, pf->info_sig, PROTO_SIG_LEN);
	} else {
		uint8_t m[NOTIFY_PREIMAGE_MAX];
		size_t len = proto_notify_preimage(m, sizeof(m), n.info_seq, &n.info_path);

		sign_detached(pf->kp, m, len, n.info_sig);
		pf->has_info = true;
		pf->info_seq = n.info_seq;
		pf->info_path = n.info_path;
		memcpy(pf->info_sig, n.info_sig, PROTO_SIG_LEN);
	}
	pf->stats.notifies_sent++;
	pathfinder_handle_notify(pf, &n, now_ms);
}

void pathfinder_handle_lookup(struct pathfinder *pf, const uint8_t from_key[32],
			      const struct proto_lookup *l, uint64_t now_ms)
{
	uint8_t x[PROTO_KEY_LEN];

	pf->cbs.multicast(pf->cbs.ctx, l, from_key);
	/* Lookups may carry partial keys: we answer when the transforms match (§13.5). */
	bloom_xform(l->dest, x);
	if (memcmp(x, pf->self_x, PROTO_KEY_LEN) == 0)
		respond(pf, l, now_ms);
}

/* sendLookup(D) of §7.6. */
static void send_lookup(struct pathfinder *pf, const uint8_t dest[32], uint64_t now_ms)
{
	const struct pf_path *e = path_find(pf, dest);
	struct proto_lookup l;

	if (e && elapsed_below(now_ms, e->req_time, PF_THROTTLE_MS))
		return;
	memcpy(l.source, pf->self, PROTO_KEY_LEN);
	memcpy(l.dest, dest, PROTO_KEY_LEN);
	pf->cbs.coords(pf->cbs.ctx, &l.from);
	pf->stats.lookups_started++;
	pathfinder_handle_lookup(pf, pf->self, &l, now_ms);
}

void pathfinder_lookup(struct pathfinder *pf, const uint8_t key[32], uint64_t now_ms)
{
	uint8_t x[PROTO_KEY_LEN];
	struct pf_rumor *r;

	bloom_xform(key, x);
	r = rumor_find(pf, x);
	if (r && elapsed_below(now_ms, r->send_time, PF_THROTTLE_MS))
		return;
	if (!r)
		r = rumor_new(pf, x);
	r->send_time = now_ms;
	r->deadline = now_ms + PF_PATH_TIMEOUT_MS;
	send_lookup(pf, key, now_ms);
}

/* ---- notify and broken (§7.4, §7.5) ---- */

enum pathfinder_verdict pathfinder_handle_notify(struct pathfinder *pf, struct proto_notify *n,
						 uint64_t now_ms)
{
	uint8_t key[PROTO_KEY_LEN];
	struct pf_path *e;
	struct pkt *resend;

	if (pf->cbs.forward_notify(pf->cbs.ctx, n))
		return PF_FORWARDED;
	if (memcmp(n->dest, pf->self, PROTO_KEY_LEN) != 0)
		return PF_IGNORED;
	memcpy(key, n->source, PROTO_KEY_LEN);
	e = path_find(pf, key);
	if (e) {
		if (n->info_seq <= e->seq || proto_path_equal(&n->info_path, &e->path))
			return PF_IGNORED; /* stale, or the same route (the timer is not reset) */
		if (!notify_check(n))
			return PF_BAD_SIG;
		e->deadline = now_ms + PF_PATH_TIMEOUT_MS;
	} else {
		uint8_t x[PROTO_KEY_LEN];
		struct pf_rumor *r;

		bloom_xform(key, x);
		r = rumor_find(pf, x);
		if (!r)
			return PF_IGNORED; /* we did not ask */
		if (!notify_check(n))
			return PF_BAD_SIG;
		e = path_new(pf, key);
		e->req_time = now_ms;
		e->deadline = now_ms + PF_PATH_TIMEOUT_MS;
		if (r->pkt && memcmp(r->dest, key, PROTO_KEY_LEN) == 0) {
			e->cached = r->pkt; /* stays held: moved, not copied */
			e->cached_ms = now_ms;
			r->pkt = NULL;
		}
	}
	e->path = n->info_path;
	e->seq = n->info_seq;
	e->is_broken = false;
	resend = e->cached;
	if (resend) {
		e->cached = NULL;
		pf->nheld--;
	}
	pf->cbs.path_found(pf->cbs.ctx, key);
	if (resend)
		pathfinder_send(pf, key, resend, now_ms);
	return PF_ACCEPTED;
}

void pathfinder_handle_broken(struct pathfinder *pf, struct proto_broken *b, uint64_t now_ms)
{
	struct pf_path *e;

	if (pf->cbs.forward_broken(pf->cbs.ctx, b))
		return;
	if (memcmp(b->source, pf->self, PROTO_KEY_LEN) != 0)
		return;
	e = path_find(pf, b->dest);
	if (!e)
		return;
	e->is_broken = true; /* traffic no longer keeps it alive; a new notify must come */
	send_lookup(pf, b->dest, now_ms);
}

/* ---- traffic ---- */

enum pathfinder_verdict pathfinder_send(struct pathfinder *pf, const uint8_t dest[32],
					struct pkt *payload, uint64_t now_ms)
{
	uint8_t x[PROTO_KEY_LEN];
	struct pf_path *e = path_find(pf, dest);
	struct pf_rumor *r;

	if (e) {
		struct proto_path path;
		struct pkt *copy = NULL;

		/*
		 * §7.6 keeps a copy of every packet sent, for the next accepted notify to send
		 * again. A copy taken in this same millisecond (one loop iteration's batch) stands
		 * for the packets after it: bulk traffic then copies about one packet per
		 * millisecond instead of every 64 KB packet, and a lone packet (a ping, a SYN) is
		 * still the one re-sent.
		 */
		if (!e->cached || e->cached_ms != now_ms)
			copy = hold_copy(pf, payload);
		proto_path_copy(&path, &e->path);
		if (copy) {
			release(pf, &e->cached);
			e->cached = copy;
			e->cached_ms = now_ms;
		}
		pf->cbs.send_traffic(pf->cbs.ctx, dest, &path, payload);
		return PF_SENT;
	}
	pathfinder_lookup(pf, dest, now_ms);
	bloom_xform(dest, x);
	r = rumor_find(pf, x);
	if (r && r->pkt) {
		release(pf, &r->pkt);
		pf->stats.buffered_dropped++;
	}
	if (!r || pf->nheld >= PF_HELD_MAX) {
		pkt_free(payload);
		pf->stats.buffered_dropped++;
		return PF_BUFFERED;
	}
	r->pkt = payload;
	memcpy(r->dest, dest, PROTO_KEY_LEN);
	pf->nheld++;
	return PF_BUFFERED;
}

void pathfinder_reset_timeout(struct pathfinder *pf, const uint8_t key[32], uint64_t now_ms)
{
	struct pf_path *e = path_find(pf, key);

	/* Only received traffic counts; sending does not, so a restarted peer's path expires. */
	if (e && !e->is_broken)
		e->deadline = now_ms + PF_PATH_TIMEOUT_MS;
}

/*
 * Asks again for the destinations that still have a packet waiting, every PF_RETRY_MS, until
 * the rumor dies. ironwood looks up only when a packet is sent, so a lone packet whose lookup
 * was lost (a bloom filter one tick behind, §6.3) waits for nothing: a session ACK, answered
 * once to an INIT whose repeats are then ignored, is such a packet. This is local policy; the
 * lookups themselves are ordinary ones (§7.3).
 */
static void retry_lookups(struct pathfinder *pf, uint64_t now_ms)
{
	uint8_t dest[PF_RETRY_BATCH][PROTO_KEY_LEN];
	size_t n = 0;

	/* Collect first: a lookup's callbacks may change the rumor table. */
	for (size_t i = 0; i < pf->rumors.n && n < PF_RETRY_BATCH; i++) {
		struct pf_rumor *r = pf->rumors.v[i];

		if (!r->pkt || elapsed_below(now_ms, r->send_time, PF_RETRY_MS))
			continue;
		r->send_time = now_ms; /* the deadline stays: retries end with the rumor */
		memcpy(dest[n++], r->dest, PROTO_KEY_LEN);
	}
	for (size_t i = 0; i < n; i++) {
		pf->stats.lookups_retried++;
		send_lookup(pf, dest[i], now_ms);
	}
}

void pathfinder_tick(struct pathfinder *pf, uint64_t now_ms)
{
	for (size_t i = pf->paths.n; i-- > 0;)
		if (((struct pf_path *)pf->paths.v[i])->deadline <= now_ms)
			path_remove(pf, i);
	for (size_t i = pf->rumors.n; i-- > 0;)
		if (((struct pf_rumor *)pf->rumors.v[i])->deadline <= now_ms)
			rumor_remove(pf, i);
	retry_lookups(pf, now_ms);
}

/* ---- lifecycle and queries ---- */

struct pathfinder *pathfinder_new(const struct keypair *kp, struct pkt_pool *pool,
				  const struct pathfinder_cbs *cbs)
{
	struct pathfinder *pf = xcalloc(1, sizeof(*pf));

	pf->cbs = *cbs;
	pf->kp = kp;
	pf->pool = pool;
	keys_public(kp, pf->self);
	bloom_xform(pf->self, pf->self_x);
	return pf;
}

void pathfinder_free(struct pathfinder *pf)
{
	if (!pf)
		return;
	while (pf->paths.n)
		path_remove(pf, pf->paths.n - 1);
	while (pf->rumors.n)
		rumor_remove(pf, pf->rumors.n - 1);
	kvec_free(&pf->paths);
	kvec_free(&pf->rumors);
	free(pf);
}

static void path_snapshot(const struct pf_path *e, struct pathfinder_path_info *out)
{
	memcpy(out->key, e->key, PROTO_KEY_LEN);
	out->path = e->path;
	out->seq = e->seq;
	out->is_broken = e->is_broken;
}

bool pathfinder_find_path(const struct pathfinder *pf, const uint8_t key[32],
			  struct pathfinder_path_info *out)
{
	const struct pf_path *e = path_find(pf, key);

	if (e && out)
		path_snapshot(e, out);
	return e != NULL;
}

size_t pathfinder_path_count(const struct pathfinder *pf)
{
	return pf->paths.n;
}

size_t pathfinder_rumor_count(const struct pathfinder *pf)
{
	return pf->rumors.n;
}

void pathfinder_foreach_path(const struct pathfinder *pf, pathfinder_path_cb *cb, void *ctx)
{
	for (size_t i = 0; i < pf->paths.n; i++) {
		struct pathfinder_path_info info;

		path_snapshot(pf->paths.v[i], &info);
		cb(ctx, &info);
	}
}

const struct pathfinder_stats *pathfinder_get_stats(const struct pathfinder *pf)
{
	return &pf->stats;
}
