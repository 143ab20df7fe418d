/*
 * fake_core: see fake_core.h. Owns nothing beyond the struct the test allocates (and the
 * query timers inside it, closed before a query's slot is reused); the foreach functions hand
 * out pointers into it that are valid only during the callback, as the real core's snapshots
 * are.
 */
#include "support/fake_core.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/list.h"
#include "support/hex.h"

struct core *fake_core_new(void)
{
	struct core *c = calloc(1, sizeof(struct core));

	assert(c);
	c->answer_delay_ms = FAKE_NEVER;
	return c;
}

void core_get_self(const struct core *c, struct core_self_info *out)
{
	((struct core *)c)->n_calls++;
	*out = c->self;
}

void core_foreach_peer(const struct core *c, core_peer_cb *cb, void *ctx)
{
	((struct core *)c)->n_calls++;
	for (size_t i = 0; i < c->n_peers; i++)
		cb(ctx, &c->peers[i]);
}

void core_foreach_tree(const struct core *c, core_tree_cb *cb, void *ctx)
{
	((struct core *)c)->n_calls++;
	for (size_t i = 0; i < c->n_tree; i++)
		cb(ctx, &c->tree[i]);
}

void core_foreach_path(const struct core *c, core_path_cb *cb, void *ctx)
{
	((struct core *)c)->n_calls++;
	for (size_t i = 0; i < c->n_paths; i++)
		cb(ctx, &c->paths[i]);
}

void core_foreach_session(const struct core *c, core_session_cb *cb, void *ctx)
{
	((struct core *)c)->n_calls++;
	for (size_t i = 0; i < c->n_sessions; i++)
		cb(ctx, &c->sessions[i]);
}

void tun_get_info(const struct tun *t, struct tun_info *out)
{
	*out = t->info;
}

/* ---- remote queries ---- */

static void on_query_timer_closed(uv_handle_t *h)
{
	struct fake_query *f = container_of(h, struct fake_query, timer);

	f->is_used = false;
}

/* Ends query f: its slot is free once its timer (if any) has closed. */
static void query_end(struct fake_query *f)
{
	f->is_pending = false;
	if (f->has_timer) {
		f->has_timer = false;
		uv_close((uv_handle_t *)&f->timer, on_query_timer_closed);
	} else {
		f->is_used = false;
	}
}

static void query_fire(struct fake_query *f)
{
	struct core *c = f->core;
	const struct fake_answer *a = &c->answers[f->q];

	assert(f->is_pending);
	f->n_calls_at_answer = c->n_calls;
	c->n_answered++;
	query_end(f);
	f->cb(f->ctx, a->err, a->body, a->len);
}

static void on_query_timer(uv_timer_t *t)
{
	query_fire((struct fake_query *)t->data);
}

int64_t core_query(struct core *c, const uint8_t key[32], enum core_query q, core_query_cb *cb,
		   void *ctx)
{
	struct fake_query *f = NULL;

	c->n_calls++;
	c->n_queries++;
	if (c->query_err < 0)
		return c->query_err;
	for (size_t i = 0; i < FAKE_CORE_MAX && !f; i++)
		if (!c->queries[i].is_used)
			f = &c->queries[i];
	if (!f)
		return -ENOSPC; /* more than FAKE_CORE_MAX queries at once */
	memset(f, 0, sizeof(*f));
	f->is_used = f->is_pending = true;
	f->id = ++c->next_id;
	memcpy(f->key, key, 32);
	f->q = q;
	f->cb = cb;
	f->ctx = ctx;
	f->core = c;
	if (c->answer_delay_ms == 0) {
		query_fire(f);
	} else if (c->answer_delay_ms > 0 && c->loop) {
		uv_timer_init(c->loop, &f->timer);
		f->timer.data = f;
		f->has_timer = true;
		uv_timer_start(&f->timer, on_query_timer, (uint64_t)c->answer_delay_ms, 0);
	}
	return f->id;
}

void core_query_cancel(struct core *c, int64_t id)
{
	for (size_t i = 0; i < FAKE_CORE_MAX; i++) {
		struct fake_query *f = &c->queries[i];

		if (f->is_used && f->is_pending && f->id == id) {
			c->n_cancels++;
			query_end(f);
		}
	}
}

void fake_core_set_answer(struct core *c, enum core_query q, const void *body, size_t n)
{
	struct fake_answer *a = &c->answers[q];

	if (!n && body)
		n = strlen(body);
	assert(n <= sizeof(a->body));
	a->err = 0;
	a->len = n;
	if (n)
		memcpy(a->body, body, n);
}

void fake_core_answer(struct core *c, size_t i)
{
	assert(i < FAKE_CORE_MAX && c->queries[i].is_pending);
	query_fire(&c->queries[i]);
}

size_t fake_core_pending(const struct core *c)
{
	size_t n = 0, at = 0;

	for (size_t i = 0; i < FAKE_CORE_MAX; i++) {
		if (c->queries[i].is_pending) {
			n++;
			at = i;
		}
	}
	assert(n == 1);
	(void)n;
	return at;
}

static long find(const struct core *c, const char *uri, const char *iface)
{
	for (size_t i = 0; i < c->n_uris; i++)
		if (!strcmp(c->uris[i], uri) && !strcmp(c->ifaces[i], iface))
			return (long)i;
	return -1;
}

int core_add_peer(struct core *c, const char *uri, const char *iface, const char **err)
{
	c->n_calls++;
	if (strncmp(uri, "tcp://", 6) && strncmp(uri, "tls://", 6) && !strstr(uri, "://")) {
		*err = "unable to parse peering URI: missing protocol scheme";
		return -EINVAL;
	}
	if (find(c, uri, iface) >= 0) {
		*err = "peer is already configured";
		return -EEXIST;
	}
	if (c->n_uris == FAKE_CORE_MAX) {
		*err = NULL; /* the admin falls back to strerror */
		return -ENOSPC;
	}
	snprintf(c->uris[c->n_uris], sizeof(c->uris[0]), "%s", uri);
	snprintf(c->ifaces[c->n_uris], sizeof(c->ifaces[0]), "%s", iface);
	c->n_uris++;
	return 0;
}

int core_remove_peer(struct core *c, const char *uri, const char *iface, const char **err)
{
	long i;

	c->n_calls++;
	i = find(c, uri, iface);
	if (i < 0) {
		*err = "peer is not configured";
		return -ENOENT;
	}
	c->n_uris--;
	memmove(c->uris[i], c->uris[i + 1], (c->n_uris - (size_t)i) * sizeof(c->uris[0]));
	memmove(c->ifaces[i], c->ifaces[i + 1], (c->n_uris - (size_t)i) * sizeof(c->ifaces[0]));
	return 0;
}

/* ---- tunnel routing ---- */

void core_get_tunnel(const struct core *c, struct core_tunnel_info *out)
{
	((struct core *)c)->n_calls++;
	*out = c->tunnel;
	out->routes = c->n_subnets;
}

void core_foreach_remote_subnet(const struct core *c, core_subnet_cb *cb, void *ctx)
{
	((struct core *)c)->n_calls++;
	for (size_t i = 0; i < c->n_subnets; i++)
		cb(ctx, &c->subnets[i].p, c->subnets[i].key);
}

void core_foreach_local_subnet(const struct core *c, core_subnet_cb *cb, void *ctx)
{
	((struct core *)c)->n_calls++;
	for (size_t i = 0; i < c->n_locals; i++)
		cb(ctx, &c->locals[i], NULL);
}

static long subnet_find(const struct core *c, const struct inet_prefix *p)
{
	for (size_t i = 0; i < c->n_subnets; i++)
		if (c->subnets[i].p.family == p->family && c->subnets[i].p.len == p->len &&
		    !memcmp(c->subnets[i].p.addr, p->addr, sizeof(p->addr)))
			return (long)i;
	return -1;
}

int core_add_remote_subnet(struct core *c, const struct inet_prefix *p, const uint8_t key[32],
			   char *err, size_t errlen)
{
	c->n_calls++;
	if (!c->tunnel.is_enabled) {
		snprintf(err, errlen, "tunnel routing is not enabled (TunnelRouting.Enable)");
		return -ENOTSUP;
	}
	if (subnet_find(c, p) >= 0) {
		snprintf(err, errlen, "remote subnet already exists");
		return -EEXIST;
	}
	if (c->n_subnets == FAKE_CORE_MAX) {
		snprintf(err, errlen, "full");
		return -ENOSPC;
	}
	c->subnets[c->n_subnets].p = *p;
	memcpy(c->subnets[c->n_subnets++].key, key, 32);
	return 0;
}

int core_remove_remote_subnet(struct core *c, const struct inet_prefix *p, const uint8_t *key,
			      char *err, size_t errlen)
{
	long i;

	c->n_calls++;
	if (!c->tunnel.is_enabled) {
		snprintf(err, errlen, "tunnel routing is not enabled (TunnelRouting.Enable)");
		return -ENOTSUP;
	}
	i = subnet_find(c, p);
	if (i < 0 || (key && memcmp(c->subnets[i].key, key, 32))) {
		snprintf(err, errlen, "no such remote subnet");
		return -ENOENT;
	}
	c->n_subnets--;
	memmove(&c->subnets[i], &c->subnets[i + 1],
		(c->n_subnets - (size_t)i) * sizeof(c->subnets[0]));
	return 0;
}

/* ---- the nodes of the captures (spec vectors-core/netns-out) ---- */

void fake_core_key(const char *hex, uint8_t out[32])
{
	long n = th_unhex(hex, out, 32);

	assert(n == 32);
	(void)n;
}

void fake_core_self(struct core *c, const char *hex, size_t routing_entries)
{
	fake_core_key(hex, c->self.key);
	addr_from_key(c->self.key, c->self.address);
	addr_subnet_from_key(c->self.key, c->self.subnet);
	c->self.routing_entries = routing_entries;
}

struct core_peer_info *fake_core_peer(struct core *c, const char *remote, const char *hex)
{
	struct core_peer_info *p;

	assert(c->n_peers < FAKE_CORE_MAX);
	p = &c->peers[c->n_peers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->remote, sizeof(p->remote), "%s", remote);
	if (hex) {
		p->has_key = true;
		fake_core_key(hex, p->key);
	}
	return p;
}

/* A's up peer B (ctl-A-getPeers.json), uptime in milliseconds. */
void fake_core_peer_b_of_a(struct core *c, uint64_t uptime_ms, bool has_rates)
{
	struct core_peer_info *p = fake_core_peer(c, "tcp://10.99.0.2:12346", FAKE_KEY_B);

	p->is_up = true;
	p->port = 1;
	p->cost = 8;
	p->bytes_recvd = has_rates ? 3691 : 4675;
	p->bytes_sent = has_rates ? 7046 : 7674;
	p->rate_recvd = has_rates ? 2 : 0;
	p->rate_sent = has_rates ? 229 : 0;
	p->uptime_ms = uptime_ms;
	p->latency_ns = 600000;
}

struct core *fake_core_node_a(void)
{
	struct core *c = fake_core_new();
	struct core_tree_info *t;
	struct core_path_info *p;

	fake_core_self(c, FAKE_KEY_A, 2);
	fake_core_peer_b_of_a(c, 8827, true);
	/* Tree and paths are given out of key order: the admin sorts them. */
	t = &c->tree[c->n_tree++];
	fake_core_key(FAKE_KEY_A, t->key);
	fake_core_key(FAKE_KEY_B, t->parent);
	t->seq = 2;
	t = &c->tree[c->n_tree++];
	fake_core_key(FAKE_KEY_B, t->key);
	fake_core_key(FAKE_KEY_B, t->parent);
	t->seq = 1;
	p = &c->paths[c->n_paths++];
	fake_core_key(FAKE_KEY_C, p->key);
	p->path[0] = 2;
	p->path_len = 1;
	p->seq = 1795676044;
	p = &c->paths[c->n_paths++];
	fake_core_key(FAKE_KEY_B, p->key);
	p->seq = 1795676043;
	/* Sessions of ctl-A-getSessions.json, C before B (the admin sorts them). */
	fake_core_key(FAKE_KEY_C, c->sessions[0].key);
	c->sessions[0].bytes_recvd = 315;
	c->sessions[0].bytes_sent = 525;
	c->sessions[0].uptime_ms = 4199;
	fake_core_key(FAKE_KEY_B, c->sessions[1].key);
	c->sessions[1].bytes_recvd = 876;
	c->sessions[1].bytes_sent = 3364;
	c->sessions[1].uptime_ms = 4807;
	c->n_sessions = 2;
	return c;
}

