/*
 * ctrl: yggdrasil's protocol messages after the 0x02 core type (spec
 * yggdrasil-sessions-core-admin.md §3.2; see ctrl.h).
 *
 * Owns: a copy of our NodeInfo JSON and the table of pending queries (struct query, a fixed
 * array; a slot is free when its id is 0).
 *
 * Invariants: at most one pending query per (key, kind); ids are unique and never reused
 * (a 63-bit counter). A slot is freed before its callback runs, so a callback may query or
 * cancel, and no slot pointer is used after a callback.
 *
 * Messages are described by one table (kinds[]): request bytes, response bytes and the
 * function that writes the answer. Requests are answered in the pkt they arrived in.
 * Dummies (00, FF 00), unknown types and empty messages are ignored, as yggdrasil does.
 *
 * yggdrasil-go keeps a pending request 60 s and lets a newer one replace it silently while its
 * admin handler gives up after 6 s; here the two are one: a query lives CTRL_QUERY_TIMEOUT_MS
 * and a replaced one is called back with -ECANCELED at once.
 *
 * Timers (swept in ctrl_tick): a query times out CTRL_QUERY_TIMEOUT_MS after it was sent.
 */
#include "core/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/mem.h"
#include "lib/pkt.h"

#ifndef YGG64_VERSION
#define YGG64_VERSION "0"
#endif

struct query {
	int64_t id; /* 0: free slot */
	uint8_t key[32];
	enum ctrl_kind kind;
	ctrl_reply_cb *cb;
	void *ctx;
	uint64_t deadline;
};

struct ctrl {
	struct ctrl_cbs cbs;
	struct pkt_pool *pool;
	uint8_t self[32];
	uint32_t mtu;
	uint8_t *nodeinfo;
	size_t nodeinfo_len;
	int64_t next_id;
	size_t npending;
	struct query q[CTRL_PENDING_MAX];
	struct ctrl_stats stats;
};

/* Appends the body of an answer to p (which already holds 02 and the response type). */
typedef bool answer_fn(struct ctrl *c, struct pkt *p);

struct kind_desc {
	uint8_t len; /* bytes of req and of res */
	uint8_t req[2];
	uint8_t res[2];
	answer_fn *answer;
};

static answer_fn answer_nodeinfo, answer_self, answer_peers, answer_tree;

/* §3.2, yggdrasil-go src/core/types.go and proto.go constants */
static const struct kind_desc kinds[CTRL_KIND_COUNT] = {
    [CTRL_NODEINFO] = {1, {0x01}, {0x02}, answer_nodeinfo},
    [CTRL_SELF] = {2, {0xff, 0x01}, {0xff, 0x02}, answer_self},
    [CTRL_PEERS] = {2, {0xff, 0x03}, {0xff, 0x04}, answer_peers},
    [CTRL_TREE] = {2, {0xff, 0x05}, {0xff, 0x06}, answer_tree},
};

/* ---- answers ---- */

static bool answer_nodeinfo(struct ctrl *c, struct pkt *p)
{
	uint8_t *b = pkt_put(p, c->nodeinfo_len);

	if (!b)
		return false;
	memcpy(b, c->nodeinfo, c->nodeinfo_len);
	return true;
}

/* {"key":"<hex>","routing_entries":"<decimal>"}: both strings, keys sorted (json.Marshal) */
static bool answer_self(struct ctrl *c, struct pkt *p)
{
	static const char hex[] = "0123456789abcdef";
	char key[65], json[160];
	uint8_t *b;
	int n;

	for (size_t i = 0; i < 32; i++) {
		key[2 * i] = hex[c->self[i] >> 4];
		key[2 * i + 1] = hex[c->self[i] & 15];
	}
	key[64] = '\0';
	n = snprintf(json, sizeof(json), "{\"key\":\"%s\",\"routing_entries\":\"%llu\"}", key,
		     (unsigned long long)c->cbs.routing_entries(c->cbs.ctx));
	if (n < 0 || (size_t)n >= sizeof(json) || !(b = pkt_put(p, (size_t)n)))
		return false;
	memcpy(b, json, (size_t)n);
	return true;
}

struct key_list {
	struct pkt *p;
	size_t room; /* key bytes that still fit */
};

/* Appends key while 2 + keys <= core MTU, as yggdrasil cuts the list (§3.2). */
static bool add_key(void *arg, const uint8_t key[32])
{
	struct key_list *l = arg;
	uint8_t *b;

	if (l->room < 32 || !(b = pkt_put(l->p, 32)))
		return false;
	memcpy(b, key, 32);
	l->room -= 32;
	return true;
}

static size_t key_room(const struct ctrl *c)
{
	return c->mtu > 2 ? c->mtu - 2 : 0; /* 2: debug type + response type */
}

static bool answer_peers(struct ctrl *c, struct pkt *p)
{
	struct key_list l = {p, key_room(c)};

	c->cbs.foreach_peer(c->cbs.ctx, add_key, &l);
	return true;
}

static bool answer_tree(struct ctrl *c, struct pkt *p)
{
	struct key_list l = {p, key_room(c)};

	c->cbs.foreach_tree(c->cbs.ctx, add_key, &l);
	return true;
}

/* Turns the request p into the answer of kind k and sends it to src. Consumes p. */
static void answer(struct ctrl *c, const uint8_t src[32], struct pkt *p, enum ctrl_kind k)
{
	const struct kind_desc *d = &kinds[k];
	uint8_t dest[32], *b;

	memcpy(dest, src, 32);
	pkt_reset(p); /* headroom for the session and routing headers again */
	if (!(b = pkt_put(p, 1u + d->len)))
		goto nobuf;
	b[0] = CTRL_CORE_TYPE;
	memcpy(b + 1, d->res, d->len);
	if (!d->answer(c, p))
		goto nobuf;
	c->stats.answered[k]++;
	c->cbs.send(c->cbs.ctx, dest, p);
	return;
nobuf:
	c->stats.no_pkt++;
	pkt_free(p);
}

/* ---- pending queries ---- */

static struct query *query_find(struct ctrl *c, const uint8_t key[32], enum ctrl_kind k)
{
	for (size_t i = 0; i < CTRL_PENDING_MAX; i++)
		if (c->q[i].id && c->q[i].kind == k && !memcmp(c->q[i].key, key, 32))
			return &c->q[i];
	return NULL;
}

static struct query *query_by_id(struct ctrl *c, int64_t id)
{
	for (size_t i = 0; id > 0 && i < CTRL_PENDING_MAX; i++)
		if (c->q[i].id == id)
			return &c->q[i];
	return NULL;
}

/* Frees the slot and returns a copy for the callback. */
static struct query query_take(struct ctrl *c, struct query *q)
{
	struct query copy = *q;

	memset(q, 0, sizeof(*q));
	c->npending--;
	return copy;
}

/* A response of kind k from src with body b (len bytes). */
static void reply(struct ctrl *c, const uint8_t src[32], enum ctrl_kind k, const uint8_t *b,
		  size_t len)
{
	struct query *q = query_find(c, src, k);
	struct query done;

	if (!q) {
		c->stats.unsolicited++;
		return;
	}
	done = query_take(c, q);
	c->stats.replies++;
	done.cb(done.ctx, 0, b, len);
}

/* ---- API ---- */

struct ctrl *ctrl_new(const uint8_t self[static 32], uint32_t mtu, const void *nodeinfo, size_t len,
		      struct pkt_pool *pool, const struct ctrl_cbs *cbs)
{
	struct ctrl *c;

	if (len > CTRL_NODEINFO_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->cbs = *cbs;
	c->pool = pool;
	memcpy(c->self, self, 32);
	c->mtu = mtu;
	c->nodeinfo = xmalloc(len ? len : 1);
	if (len)
		memcpy(c->nodeinfo, nodeinfo, len);
	c->nodeinfo_len = len;
	c->next_id = 1;
	return c;
}

void ctrl_free(struct ctrl *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CTRL_PENDING_MAX; i++) {
		if (c->q[i].id) {
			struct query done = query_take(c, &c->q[i]);

			done.cb(done.ctx, -ECANCELED, NULL, 0);
		}
	}
	free(c->nodeinfo);
	free(c);
}

void ctrl_handle(struct ctrl *c, const uint8_t src[static 32], struct pkt *msg, uint64_t now_ms)
{
	(void)now_ms;
	for (int k = 0; k < CTRL_KIND_COUNT; k++) {
		const struct kind_desc *d = &kinds[k];

		if (msg->len < d->len)
			continue;
		if (!memcmp(msg->data, d->req, d->len)) {
			/* trailing bytes of a request are ignored, as in yggdrasil */
			answer(c, src, msg, (enum ctrl_kind)k);
			return;
		}
		if (!memcmp(msg->data, d->res, d->len)) {
			reply(c, src, (enum ctrl_kind)k, msg->data + d->len, msg->len - d->len);
			pkt_free(msg);
			return;
		}
	}
	c->stats.ignored++;
	pkt_free(msg);
}

int64_t ctrl_query(struct ctrl *c, const uint8_t key[static 32], enum ctrl_kind kind,
		   ctrl_reply_cb *cb, void *ctx, uint64_t now_ms)
{
	struct query *q, old = {0};
	struct pkt *p;
	uint8_t dest[32], *b;
	int64_t id;

	if ((unsigned)kind >= CTRL_KIND_COUNT || !cb)
		return -EINVAL;
	if (!(p = pkt_alloc(c->pool)) || !(b = pkt_put(p, 1u + kinds[kind].len))) {
		pkt_free(p);
		c->stats.no_pkt++;
		return -ENOBUFS;
	}
	if ((q = query_find(c, key, kind))) {
		old = query_take(c, q);
		c->stats.replaced++;
	}
	q = NULL;
	for (size_t i = 0; i < CTRL_PENDING_MAX && !q; i++)
		if (!c->q[i].id)
			q = &c->q[i];
	if (!q) {
		pkt_free(p); /* old is NULL here: a replaced query freed a slot */
		return -ENOSPC;
	}
	id = c->next_id++;
	*q = (struct query){.id = id,
			    .kind = kind,
			    .cb = cb,
			    .ctx = ctx,
			    .deadline = now_ms + CTRL_QUERY_TIMEOUT_MS};
	memcpy(q->key, key, 32);
	memcpy(dest, key, 32);
	c->npending++;
	b[0] = CTRL_CORE_TYPE;
	memcpy(b + 1, kinds[kind].req, kinds[kind].len);
	c->stats.queries_sent++;
	c->cbs.send(c->cbs.ctx, dest, p);
	if (old.id)
		old.cb(old.ctx, -ECANCELED, NULL, 0);
	return id;
}

void ctrl_cancel(struct ctrl *c, int64_t id)
{
	struct query *q = query_by_id(c, id);

	if (q)
		query_take(c, q);
}

void ctrl_tick(struct ctrl *c, uint64_t now_ms)
{
	for (size_t i = 0; i < CTRL_PENDING_MAX; i++) {
		if (c->q[i].id && now_ms >= c->q[i].deadline) {
			struct query done = query_take(c, &c->q[i]);

			c->stats.timeouts++;
			done.cb(done.ctx, -ETIMEDOUT, NULL, 0);
		}
	}
}

size_t ctrl_pending_count(const struct ctrl *c)
{
	return c->npending;
}

const struct ctrl_stats *ctrl_get_stats(const struct ctrl *c)
{
	return &c->stats;
}

/* ---- NodeInfo ---- */

/* Go's GOARCH name of the architecture we were built for (runtime.GOARCH in yggdrasil). */
static const char *goarch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__powerpc64__)
	return "ppc64";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__loongarch64)
	return "loong64";
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "mips64le";
#elif defined(__mips64)
	return "mips64";
#elif defined(__mips__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "mipsle";
#elif defined(__mips__)
	return "mips";
#else
	return "unknown";
#endif
}

char *ctrl_nodeinfo_json(const struct config *cfg, size_t *len)
{
	/* ygg64 runs on Linux only (src/tun/tun_linux.c), so the GOOS is fixed */
	const struct config_build_info build = {
	    .name = "ygg64",
	    .version = YGG64_VERSION,
	    .platform = "linux",
	    .arch = goarch(),
	};
	size_t n;
	char *json = config_nodeinfo_json(cfg, &build, &n);

	if (n > CTRL_NODEINFO_MAX) {
		free(json);
		errno = EMSGSIZE;
		return NULL;
	}
	if (len)
		*len = n;
	return json;
}
