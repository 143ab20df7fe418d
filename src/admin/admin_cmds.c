/*
 * admin_cmds: request decoding, the command table and the response envelope of the admin
 * socket (spec sessions-core-admin §6.2, §6.3). It is the project's only jansson user
 * (STYLE.md §2: only src/admin includes jansson.h); Go's text rules live in admin_json.c.
 *
 * Owns the pending requests of remote queries (getNodeInfo, debug_remoteGet*) from
 * admin_cmds_run until their answer, expiry or cancel; nothing else between calls: every
 * request builds its JSON from *_info snapshots copied out of the core.
 *
 * Compatibility rules kept here (yggdrasil 0.5.12, Go encoding/json semantics):
 *  - the request is any JSON value; a value that is not an object (or null) or that holds a
 *    wrongly typed "request"/"keepalive" is "Failed to unmarshal request" with an empty echo;
 *  - field names match case-insensitively, unknown fields are ignored, null leaves a default;
 *  - the echo carries the request name as sent, "arguments" ({} when absent) and "keepalive"
 *    only when true; envelope fields come in the order status, error, request, response;
 *  - arguments decode as Go would into the command's request struct, with Go's error texts
 *    ("json: cannot unmarshal number into Go struct field AddPeerRequest.uri of type string");
 *  - numbers: latency and last_error_time are integer nanoseconds, uptime float seconds
 *    printed in shortest form (whole seconds as an integer, as Go prints 5.0 as 5);
 *  - strings carry Go's extra escapes for <, >, & and U+2028/U+2029;
 *  - a remote's JSON (NodeInfo, debug GetSelf) is a json.RawMessage: spliced in verbatim,
 *    re-indented, never re-parsed (so its number spellings survive).
 * These were checked byte for byte against a running 0.5.12 (admin-raw*.txt). Known
 * differences, all in the echo of unusual arguments: Go echoes "arguments" as the raw text
 * sent (re-indented), so its numbers (1e2, -0) and escapes (\u007f) keep their spelling where
 * jansson re-serialises them; and jansson refuses integers beyond 64 bits and invalid UTF-8,
 * which get "Failed to find request" where Go would answer.
 *
 * Timers: none.
 */
#include "admin/admin_cmds.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "admin/admin_json.h"
#include "core/core.h"
#include "lib/hex.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "nat64/nat64.h"
#include "tun/tun.h"

#ifndef YGG64_VERSION
#define YGG64_VERSION "unknown"
#endif

enum {
	CMD_MAX_FIELDS = 2,
	CMD_ERR_MAX = 512,
	/* Shortest text for every real we emit: uptimes in milliseconds (≤ 15 digits). */
	CMD_DUMP_FLAGS = JSON_INDENT(2) | JSON_REAL_PRECISION(15),
	/* A remote answer's raw JSON sits at response."<key>": two levels deep in the envelope. */
	CMD_RAW_DEPTH = 2,
	CMD_NO_QUERY = -1,
};

/*
 * Stands in the envelope for a raw JSON value until emit() splices it in. It is the last
 * string of the envelope ("response" comes last and holds nothing after it), so a request
 * echo that happens to contain the same text does not matter.
 */
static const char raw_mark[] = "\x01raw";
static const char raw_mark_json[] = "\"\\u0001raw\"";

/* A request waiting for the core's answer to a remote query (admin_cmds.h). */
struct admin_pending {
	struct core *core;
	int64_t id;
	enum core_query q;
	uint8_t *kbs; /* the key as decoded from the request (getNodeInfo: any length) */
	size_t kbs_len;
	json_t *echo; /* the envelope's "request" */
	bool is_keepalive;
	admin_pending_cb *done;
	void *ctx;
	/* An answer given from inside core_query(), before the request was handed out. */
	bool is_starting, has_answer;
	int err;
	uint8_t *body;
	size_t len;
};

struct cmd;

/* One call of a handler: borrowed node, decoded string arguments, and room for an error. */
struct call {
	const struct cmd *cmd;
	struct core *core;
	const struct tun *tun;
	const struct nat64 *nat64;
	const char *arg[CMD_MAX_FIELDS]; /* in cmd->fields order; "" when absent or null */
	char err[CMD_ERR_MAX];
	struct admin_pending *pending; /* set by a handler that started a remote query */
};

/* Returns the "response" object (new reference), or NULL with c->err or c->pending set. */
typedef json_t *cmd_handler(struct call *c);

/* A row of the command table (STYLE.md §9; yggdrasil's AddHandler). */
struct cmd {
	const char *name; /* as yggdrasil registers it; matched and listed lowercased */
	const char *desc;
	const char *fields[CMD_MAX_FIELDS + 1]; /* NULL-terminated string arguments */
	const char *go_type; /* Go request type, for unmarshal errors; NULL: arguments unused */
	cmd_handler *handler;
	bool is_write; /* changes the node (for a future read-only socket, STYLE.md §19) */
	int query;     /* enum core_query of a remote query row, else CMD_NO_QUERY */
};

/* ---- JSON helpers ---- */

/* A JSON string that is never NULL: bytes that are not UTF-8 become '?'. */
static json_t *jstrn(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *t;

	if (j)
		return j;
	t = xstrndup(s, n);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	j = json_string(t);
	free(t);
	return j ? j : json_string("");
}

static json_t *jstr(const char *s)
{
	return jstrn(s, strlen(s));
}

/* jansson integers are signed 64-bit; counters past INT64_MAX are clamped. */
static json_t *ju64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static void set(json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v) < 0)
		fatalx("admin: out of memory building a reply");
}

/* hex.EncodeToString: lowercase, any length. */
static json_t *jhex(const uint8_t *b, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	json_t *j;

	j = jstr(hex_encode(b, n, s));
	free(s);
	return j;
}

static json_t *jaddr_of_key(const uint8_t key[32])
{
	uint8_t a[16];
	char buf[INET_ADDRSTRLEN_MAX];

	addr_from_key(key, a);
	return jstr(inet_ntop6(a, buf));
}

/* Go's UnmarshalTypeError wording for the kind of JSON value v. */
static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "number";
	}
}

/* ---- handlers (§6.3) ---- */

static json_t *do_list(struct call *c);

static bool need_core(struct call *c)
{
	if (!c->core)
		snprintf(c->err, sizeof(c->err), "the node is not running");
	return c->core != NULL;
}

static json_t *do_get_self(struct call *c)
{
	struct core_self_info si;
	uint8_t subnet[16] = {0};
	char buf[INET_ADDRSTRLEN_MAX], net[INET_ADDRSTRLEN_MAX + 4];
	json_t *res;

	if (!need_core(c))
		return NULL;
	core_get_self(c->core, &si);
	memcpy(subnet, si.subnet, sizeof(si.subnet));
	snprintf(net, sizeof(net), "%s/64", inet_ntop6(subnet, buf));
	res = json_object();
	set(res, "build_name", jstr("ygg64"));
	set(res, "build_version", jstr(YGG64_VERSION));
	set(res, "key", jhex(si.key, sizeof(si.key)));
	set(res, "address", jstr(inet_ntop6(si.address, buf)));
	set(res, "routing_entries", ju64(si.routing_entries));
	set(res, "subnet", jstr(net));
	return res;
}

/* Growable array of snapshots filled by a core_foreach_* callback. */
struct snap {
	void *v;
	size_t n, cap, size;
};

static void *snap_push(struct snap *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xreallocarray(s->v, s->cap, s->size);
	}
	return (char *)s->v + s->n++ * s->size;
}

static void peer_cb(void *ctx, const struct core_peer_info *info)
{
	memcpy(snap_push(ctx), info, sizeof(*info));
}

static void tree_cb(void *ctx, const struct core_tree_info *info)
{
	memcpy(snap_push(ctx), info, sizeof(*info));
}

static void path_cb(void *ctx, const struct core_path_info *info)
{
	memcpy(snap_push(ctx), info, sizeof(*info));
}

static int sign64(int64_t d)
{
	return (d > 0) - (d < 0);
}

/*
 * 0.5.12's getPeers order: outbound first, then by key text ("" for an unknown key), priority,
 * cost, uptime. Go compares the last three as int(a-b) on uint64 (wrapping) and float seconds
 * (truncated), which we repeat, so uptimes less than a second apart compare equal.
 */
static int peer_cmp(const struct core_peer_info *a, const struct core_peer_info *b)
{
	int d;

	if (a->is_inbound != b->is_inbound)
		return a->is_inbound ? 1 : -1;
	if (a->has_key != b->has_key)
		return a->has_key ? 1 : -1;
	if (a->has_key && (d = memcmp(a->key, b->key, sizeof(a->key))) != 0)
		return d;
	if ((d = sign64((int64_t)((uint64_t)a->priority - (uint64_t)b->priority))) != 0)
		return d;
	if ((d = sign64((int64_t)(a->cost - b->cost))) != 0)
		return d;
	return sign64((int64_t)((double)a->uptime_ms / 1000.0 - (double)b->uptime_ms / 1000.0));
}

/* uptime as Go's float64 seconds; a whole number prints without ".0", as Go does. */
static json_t *jseconds(uint64_t ms)
{
	if (ms % 1000 == 0)
		return ju64(ms / 1000);
	return json_real((double)ms / 1000.0);
}

/* One PeerEntry, fields in 0.5.12's order; omitempty ones left out when zero (§6.3). */
static json_t *peer_entry(const struct core_peer_info *p)
{
	json_t *e = json_object();
	size_t n = strnlen(p->remote, sizeof(p->remote));

	if (n)
		set(e, "remote", jstrn(p->remote, n));
	set(e, "up", json_boolean(p->is_up));
	set(e, "inbound", json_boolean(p->is_inbound));
	if (p->has_key)
		set(e, "address", jaddr_of_key(p->key));
	set(e, "key", p->has_key ? jhex(p->key, sizeof(p->key)) : jstr(""));
	set(e, "port", ju64(p->port));
	set(e, "priority", ju64(p->priority));
	set(e, "cost", ju64(p->cost));
	if (p->bytes_recvd)
		set(e, "bytes_recvd", ju64(p->bytes_recvd));
	if (p->bytes_sent)
		set(e, "bytes_sent", ju64(p->bytes_sent));
	if (p->rate_recvd)
		set(e, "rate_recvd", ju64(p->rate_recvd));
	if (p->rate_sent)
		set(e, "rate_sent", ju64(p->rate_sent));
	if (p->uptime_ms)
		set(e, "uptime", jseconds(p->uptime_ms));
	if (p->latency_ns)
		set(e, "latency", ju64(p->latency_ns));
	if (p->has_error) {
		uint64_t ns = p->last_error_age_ms > UINT64_MAX / 1000000 ?
				      UINT64_MAX :
				      p->last_error_age_ms * 1000000;
		size_t m = strnlen(p->last_error, sizeof(p->last_error));

		if (ns)
			set(e, "last_error_time", ju64(ns));
		if (m)
			set(e, "last_error", jstrn(p->last_error, m));
	}
	return e;
}

static json_t *do_get_peers(struct call *c)
{
	struct snap s = {.size = sizeof(struct core_peer_info)};
	const struct core_peer_info **ord;
	json_t *arr, *res;

	if (!need_core(c))
		return NULL;
	core_foreach_peer(c->core, peer_cb, &s);
	/* Stable insertion sort over pointers: Go's comparator is not a strict order. */
	ord = xcalloc(s.n ? s.n : 1, sizeof(*ord));
	for (size_t i = 0; i < s.n; i++) {
		const struct core_peer_info *p = (const struct core_peer_info *)s.v + i;
		size_t j = i;

		for (; j > 0 && peer_cmp(ord[j - 1], p) > 0; j--)
			ord[j] = ord[j - 1];
		ord[j] = p;
	}
	arr = json_array();
	for (size_t i = 0; i < s.n; i++)
		json_array_append_new(arr, peer_entry(ord[i]));
	free(ord);
	free(s.v);
	res = json_object();
	set(res, "peers", arr);
	return res;
}

/* Tree and path entries sort by key (Go: strings.Compare of the hex); ties keep core order. */
static int tree_cmp(const void *x, const void *y)
{
	const struct core_tree_info *a = x, *b = y;
	int d = memcmp(a->key, b->key, sizeof(a->key));

	return d ? d : (a < b ? -1 : a > b);
}

static int path_cmp(const void *x, const void *y)
{
	const struct core_path_info *a = x, *b = y;
	int d = memcmp(a->key, b->key, sizeof(a->key));

	return d ? d : (a < b ? -1 : a > b);
}

static json_t *do_get_tree(struct call *c)
{
	struct snap s = {.size = sizeof(struct core_tree_info)};
	json_t *arr, *res;

	if (!need_core(c))
		return NULL;
	core_foreach_tree(c->core, tree_cb, &s);
	if (s.n)
		qsort(s.v, s.n, s.size, tree_cmp);
	arr = json_array();
	for (size_t i = 0; i < s.n; i++) {
		const struct core_tree_info *t = (const struct core_tree_info *)s.v + i;
		json_t *e = json_object();

		set(e, "address", jaddr_of_key(t->key));
		set(e, "key", jhex(t->key, sizeof(t->key)));
		set(e, "parent", jhex(t->parent, sizeof(t->parent)));
		set(e, "sequence", ju64(t->seq));
		json_array_append_new(arr, e);
	}
	free(s.v);
	res = json_object();
	set(res, "tree", arr);
	return res;
}

static json_t *do_get_paths(struct call *c)
{
	struct snap s = {.size = sizeof(struct core_path_info)};
	json_t *arr, *res;

	if (!need_core(c))
		return NULL;
	core_foreach_path(c->core, path_cb, &s);
	if (s.n)
		qsort(s.v, s.n, s.size, path_cmp);
	arr = json_array();
	for (size_t i = 0; i < s.n; i++) {
		const struct core_path_info *p = (const struct core_path_info *)s.v + i;
		size_t len = p->path_len, max = sizeof(p->path) / sizeof(p->path[0]);
		json_t *e = json_object(), *ports = json_array();

		for (size_t k = 0; k < len && k < max; k++)
			json_array_append_new(ports, ju64(p->path[k]));
		set(e, "address", jaddr_of_key(p->key));
		set(e, "key", jhex(p->key, sizeof(p->key)));
		set(e, "path", ports);
		set(e, "sequence", ju64(p->seq));
		json_array_append_new(arr, e);
	}
	free(s.v);
	res = json_object();
	set(res, "paths", arr);
	return res;
}

static void session_cb(void *ctx, const struct core_session_info *info)
{
	memcpy(snap_push(ctx), info, sizeof(*info));
}

static int session_cmp(const void *x, const void *y)
{
	const struct core_session_info *a = x, *b = y;
	int d = memcmp(a->key, b->key, sizeof(a->key));

	return d ? d : (a < b ? -1 : a > b);
}

/* §6.3: every field present (no omitempty), sorted by key; bytes count core payloads. */
static json_t *do_get_sessions(struct call *c)
{
	struct snap s = {.size = sizeof(struct core_session_info)};
	json_t *arr, *res;

	if (!need_core(c))
		return NULL;
	core_foreach_session(c->core, session_cb, &s);
	if (s.n)
		qsort(s.v, s.n, s.size, session_cmp);
	arr = json_array();
	for (size_t i = 0; i < s.n; i++) {
		const struct core_session_info *e = (const struct core_session_info *)s.v + i;
		json_t *o = json_object();

		set(o, "address", jaddr_of_key(e->key));
		set(o, "key", jhex(e->key, sizeof(e->key)));
		set(o, "bytes_recvd", ju64(e->bytes_recvd));
		set(o, "bytes_sent", ju64(e->bytes_sent));
		set(o, "uptime", jseconds(e->uptime_ms));
		json_array_append_new(arr, o);
	}
	free(s.v);
	res = json_object();
	set(res, "sessions", arr);
	return res;
}

/* §6.3: {"enabled":false} without a TUN; name and mtu are omitempty. */
static json_t *do_get_tun(struct call *c)
{
	json_t *res = json_object();
	struct tun_info ti;
	size_t n;

	set(res, "enabled", json_boolean(c->tun != NULL));
	if (!c->tun)
		return res;
	tun_get_info(c->tun, &ti);
	n = strnlen(ti.name, sizeof(ti.name));
	if (n)
		set(res, "name", jstrn(ti.name, n));
	if (ti.mtu)
		set(res, "mtu", ju64(ti.mtu));
	return res;
}

/* ---- remote queries (§3.2, §6.3): the reply is written when the core answers ---- */

/* How each query's answer becomes a response (0.5.12's handlers). */
static const struct query_kind {
	const char *timeout; /* the handler's error after 6 s */
	bool is_keyed_by_hex; /* response key: the key as given, else the target's address */
	bool is_key_list;     /* body: 32-byte keys shown as {"keys":[hex…]}; else raw JSON */
} query_kinds[] = {
	[CORE_QUERY_NODEINFO] = {"Timed out waiting for response", true, false},
	[CORE_QUERY_SELF] = {"timeout", false, false},
	[CORE_QUERY_PEERS] = {"timeout", false, true},
	[CORE_QUERY_TREE] = {"timeout", false, true},
};

static void pending_free(struct admin_pending *p)
{
	json_decref(p->echo);
	free(p->kbs);
	free(p->body);
	free(p);
}

static void on_query(void *ctx, int err, const uint8_t *body, size_t len);

/*
 * Starts query q to the key decoded from the request (kbs, consumed): its first 32 bytes,
 * zero-padded, as Go's copy() into a key array.
 */
static json_t *start_query(struct call *c, enum core_query q, uint8_t *kbs, size_t kbs_len)
{
	struct admin_pending *p;
	uint8_t key[32] = {0};

	if (!need_core(c)) {
		free(kbs);
		return NULL;
	}
	memcpy(key, kbs, kbs_len < sizeof(key) ? kbs_len : sizeof(key));
	p = xcalloc(1, sizeof(*p));
	p->core = c->core;
	p->q = q;
	p->kbs = kbs;
	p->kbs_len = kbs_len;
	p->is_starting = true;
	p->id = core_query(c->core, key, q, on_query, p);
	p->is_starting = false;
	if (p->id < 0) {
		snprintf(c->err, sizeof(c->err), "%s", strerror((int)-p->id));
		pending_free(p);
		return NULL;
	}
	c->pending = p;
	return NULL;
}

/* getNodeInfo: Go's nodeInfoAdminHandler checks, in this order. */
static json_t *do_get_node_info(struct call *c)
{
	uint8_t *kbs;
	size_t n;
	char why[128];

	if (!c->arg[0][0]) {
		snprintf(c->err, sizeof(c->err), "No remote public key supplied");
		return NULL;
	}
	if (!admin_json_unhex(c->arg[0], &kbs, &n, why, sizeof(why))) {
		snprintf(c->err, sizeof(c->err), "Failed to decode public key: %s", why);
		return NULL;
	}
	return start_query(c, CORE_QUERY_NODEINFO, kbs, n);
}

/* debug_remoteGet*: the hex error as is, then a length check (0.5.12's proto.go). */
static json_t *do_remote_get(struct call *c)
{
	uint8_t *kbs;
	size_t n;

	if (!admin_json_unhex(c->arg[0], &kbs, &n, c->err, sizeof(c->err)))
		return NULL;
	if (n != 32) {
		free(kbs);
		snprintf(c->err, sizeof(c->err), "invalid public key length");
		return NULL;
	}
	return start_query(c, (enum core_query)c->cmd->query, kbs, n);
}

/*
 * The response to an answered query, or NULL with err set. A raw JSON answer is indented into
 * raw and stands as raw_mark in the returned object.
 */
static json_t *query_response(const struct admin_pending *p, int e, const uint8_t *body,
			      size_t len, struct admin_json_buf *raw, char *err, size_t errlen)
{
	const struct query_kind *k = &query_kinds[p->q];
	json_t *res, *v, *key;
	char why[256];

	if (e < 0) {
		snprintf(err, errlen, "%s", e == -ETIMEDOUT ? k->timeout : strerror(-e));
		return NULL;
	}
	if (k->is_key_list) {
		/* A body shorter than one key has no "keys" at all: {}. */
		json_t *keys = json_array();

		v = json_object();
		for (size_t i = 0; i + 32 <= len; i += 32)
			json_array_append_new(keys, jhex(body + i, 32));
		if (json_array_size(keys))
			set(v, "keys", keys);
		else
			json_decref(keys);
	} else if (admin_json_indent(raw, body, len, CMD_RAW_DEPTH, why, sizeof(why))) {
		/* The remote's JSON, kept as Go keeps a json.RawMessage (never re-parsed). */
		v = jstr(raw_mark);
	} else {
		snprintf(err, errlen,
			 "Failed to marshal response: json: error calling MarshalJSON for type "
			 "json.RawMessage: %s",
			 why);
		return NULL;
	}
	/* The key as given (getNodeInfo) or the target's address (Go's net.IP.String). */
	key = k->is_keyed_by_hex ? jhex(p->kbs, p->kbs_len) : jaddr_of_key(p->kbs);
	res = json_object();
	set(res, json_string_value(key), v);
	json_decref(key);
	return res;
}

/* addPeer / removePeer: {} on success; the core's message (e.g. "peer is already configured"). */
static json_t *peer_change(struct call *c,
			   int (*op)(struct core *, const char *, const char *, const char **))
{
	const char *why = NULL;
	int r;

	if (!need_core(c))
		return NULL;
	r = op(c->core, c->arg[0], c->arg[1], &why);
	if (r < 0) {
		snprintf(c->err, sizeof(c->err), "%s", why ? why : strerror(-r));
		return NULL;
	}
	return json_object();
}

static json_t *do_add_peer(struct call *c)
{
	return peer_change(c, core_add_peer);
}

static json_t *do_remove_peer(struct call *c)
{
	return peer_change(c, core_remove_peer);
}

/* ---- tunnel routing (ygg64's own commands; core.h's tunnel part) ---- */

static json_t *jprefix(const struct inet_prefix *p)
{
	char b[INET_PREFIXSTRLEN_MAX];

	return jstr(inet_prefix_format(p, b));
}

static void remote_subnet_cb(void *ctx, const struct inet_prefix *p, const uint8_t *key)
{
	json_t *o = json_object();

	set(o, "subnet", jprefix(p));
	set(o, "key", jhex(key, 32));
	set(o, "address", jaddr_of_key(key));
	json_array_append_new(ctx, o);
}

static void local_subnet_cb(void *ctx, const struct inet_prefix *p, const uint8_t *key)
{
	(void)key;
	json_array_append_new(ctx, jprefix(p));
}

/* One direction's counters: what passed, then one count per drop reason. */
static json_t *jtunnel_dir(const struct core_tunnel_dir *d, uint64_t ygg_dropped)
{
	json_t *o = json_object();

	set(o, "packets", ju64(d->passed));
	set(o, "bytes", ju64(d->bytes));
	set(o, "fragmented", ju64(d->fragmented));
	set(o, "dropped_malformed", ju64(d->malformed));
	set(o, "dropped_link_scope", ju64(d->link_scoped));
	set(o, "dropped_bad_source", ju64(d->bad_src));
	set(o, "dropped_bad_destination", ju64(d->bad_dst));
	set(o, "dropped_too_big", ju64(d->too_big));
	set(o, "dropped_fragmenting", ju64(d->frag_failed));
	set(o, "dropped_yggdrasil_routing_off", ju64(ygg_dropped));
	return o;
}

/*
 * getTunnelRouting: the remote subnets (with the key and address of the node each one goes
 * to), the local subnets, and the counters per direction and drop reason. {"enabled": false,
 * ...} when tunnel routing is off.
 */
static json_t *do_get_tunnel_routing(struct call *c)
{
	struct core_tunnel_info ti;
	json_t *res, *arr, *icmp;

	if (!need_core(c))
		return NULL;
	core_get_tunnel(c->core, &ti);
	res = json_object();
	set(res, "enabled", json_boolean(ti.is_enabled));
	if (!ti.is_enabled) {
		/* IPv4 and non-Yggdrasil IPv6 that reached the node anyway. */
		set(res, "dropped_tunnel_routing_off", ju64(ti.off_dropped));
		return res;
	}
	set(res, "yggdrasil_routing", json_boolean(ti.ygg_routing));
	set(res, "install_routes", json_boolean(ti.install_routes));
	set(res, "mtu", ju64(ti.mtu));
	arr = json_array();
	core_foreach_remote_subnet(c->core, remote_subnet_cb, arr);
	set(res, "remote_subnets", arr);
	arr = json_array();
	core_foreach_local_subnet(c->core, local_subnet_cb, arr);
	set(res, "local_subnets", arr);
	set(res, "send", jtunnel_dir(&ti.out, ti.ygg_out_dropped));
	set(res, "receive", jtunnel_dir(&ti.in, ti.ygg_in_dropped));
	icmp = json_object();
	set(icmp, "sent", ju64(ti.icmp_sent));
	set(icmp, "rate_limited", ju64(ti.icmp_limited));
	set(icmp, "suppressed", ju64(ti.icmp_suppressed));
	set(res, "icmp", icmp);
	set(res, "loop_guard_refused", ju64(ti.loop_refused));
	set(res, "no_buffer", ju64(ti.no_pkt));
	return res;
}

/* The subnet= argument: a prefix without host bits. */
static bool arg_subnet(struct call *c, struct inet_prefix *p)
{
	char fix[INET_PREFIXSTRLEN_MAX];

	if (!c->arg[0][0]) {
		snprintf(c->err, sizeof(c->err), "No subnet supplied");
		return false;
	}
	if (inet_prefix_parse(c->arg[0], true, p))
		return true;
	if (inet_prefix_parse(c->arg[0], false, p))
		snprintf(c->err, sizeof(c->err), "%s has host bits set (did you mean %s?)",
			 c->arg[0], inet_prefix_format(p, fix));
	else
		snprintf(c->err, sizeof(c->err), "\"%s\" is not an IP prefix (address/length)",
			 c->arg[0]);
	return false;
}

/* The key= argument: 32 bytes of hex. NULL (and true) when absent and is_optional. */
static bool arg_key(struct call *c, bool is_optional, uint8_t key[32], const uint8_t **out)
{
	char why[128];
	uint8_t *kbs;
	size_t n;

	*out = NULL;
	if (!c->arg[1][0]) {
		if (is_optional)
			return true;
		snprintf(c->err, sizeof(c->err), "No remote public key supplied");
		return false;
	}
	if (!admin_json_unhex(c->arg[1], &kbs, &n, why, sizeof(why))) {
		snprintf(c->err, sizeof(c->err), "Failed to decode public key: %s", why);
		return false;
	}
	if (n != 32) {
		free(kbs);
		snprintf(c->err, sizeof(c->err), "invalid public key length");
		return false;
	}
	memcpy(key, kbs, 32);
	free(kbs);
	*out = key;
	return true;
}

/* addRemoteSubnet subnet=P key=K: routes P to K now; the kernel route follows. */
static json_t *do_add_remote_subnet(struct call *c)
{
	struct inet_prefix p;
	uint8_t key[32];
	const uint8_t *k;

	if (!need_core(c) || !arg_subnet(c, &p) || !arg_key(c, false, key, &k))
		return NULL;
	if (core_add_remote_subnet(c->core, &p, k, c->err, sizeof(c->err)) < 0)
		return NULL;
	return json_object();
}

/* removeRemoteSubnet subnet=P [key=K]: K, when given, must be the key P is routed to. */
static json_t *do_remove_remote_subnet(struct call *c)
{
	struct inet_prefix p;
	uint8_t key[32];
	const uint8_t *k;

	if (!need_core(c) || !arg_subnet(c, &p) || !arg_key(c, true, key, &k))
		return NULL;
	if (core_remove_remote_subnet(c->core, &p, k, c->err, sizeof(c->err)) < 0)
		return NULL;
	return json_object();
}

/* ---- NAT64 ---- */

static const char *const nat64_proto_names[NAT64_NPROTO] = {"tcp", "udp", "icmp"};

static const char *const tcp_state_names[] = {
	"CLOSED",   "V6_INIT",	  "V4_INIT",	     "ESTABLISHED",
	"V6_FIN_RCV", "V4_FIN_RCV", "V6_FIN_V4_FIN_RCV", "TRANS",
};

static json_t *jaddr4(const uint8_t a[4])
{
	char buf[INET_ADDRSTRLEN_MAX];
	struct inet_prefix p = {.family = AF_INET, .len = 32};

	memcpy(p.addr, a, 4);
	return jstr(inet_addr_format(&p, buf));
}

static json_t *jaddr6(const uint8_t a[16])
{
	char buf[INET_ADDRSTRLEN_MAX];

	return jstr(inet_ntop6(a, buf));
}

static json_t *jnat64_dir(const struct nat64_dir_stats *d)
{
	json_t *o = json_object(), *dr = json_object();

	set(o, "packets", ju64(d->packets));
	set(o, "bytes", ju64(d->bytes));
	set(o, "gso_packets", ju64(d->gso));
	set(o, "hairpinned", ju64(d->hairpin));
	set(o, "icmp_errors_sent", ju64(d->errors_sent));
	set(o, "icmp_errors_rate_limited", ju64(d->errors_limited));
	for (int r = 0; r < NAT64_NREASONS; r++)
		set(dr, nat64_reason_name(r), ju64(d->dropped[r]));
	set(o, "dropped", dr);
	return o;
}

static json_t *jper_proto(const size_t v[NAT64_NPROTO])
{
	json_t *o = json_object();

	for (int i = 0; i < NAT64_NPROTO; i++)
		set(o, nat64_proto_names[i], ju64(v[i]));
	return o;
}

/*
 * getNAT64: the translator's configuration, table sizes and caps, port use per protocol, and
 * its counters per direction and reason (nat64-requirements G 51). {"enabled": false} without
 * NAT64.
 */
static json_t *do_get_nat64(struct call *c)
{
	struct nat64_info ni;
	const struct nat64_table_info *t = &ni.table;
	json_t *res = json_object(), *arr, *o, *ports, *st;
	struct inet_prefix pfx = {.family = AF_INET6};
	char buf[INET_PREFIXSTRLEN_MAX];

	set(res, "enabled", json_boolean(c->nat64 != NULL));
	if (!c->nat64)
		return res;
	nat64_get_info(c->nat64, &ni);
	memcpy(pfx.addr, ni.prefix, 16);
	pfx.len = ni.prefix_len;
	{
		struct core_tunnel_info ti;

		/* fused: the NAT64 feeds tunnel routing directly (issue 13); plain: the kernel */
		core_get_tunnel(c->core, &ti);
		set(res, "mode", jstr(ti.is_enabled ? "fused" : "plain"));
	}
	set(res, "prefix", jstr(inet_prefix_format(&pfx, buf)));
	arr = json_array();
	for (size_t i = 0; i < ni.npool && i < NAT64_INFO_POOL_MAX; i++)
		json_array_append_new(arr, jaddr4(ni.pool[i]));
	set(res, "pool4", arr);
	set(res, "pool4_addresses", ju64(ni.npool));
	snprintf(buf, sizeof(buf), "%u-%u", ni.port_min, ni.port_max);
	set(res, "port_range", jstr(buf));
	set(res, "filtering", jstr(ni.is_adf ? "address-dependent" : "endpoint-independent"));
	set(res, "mss_clamp", json_boolean(ni.mss_clamp));
	set(res, "mtu4", ju64(ni.mtu4));
	set(res, "mtu6", ju64(ni.mtu6));
	set(res, "bib", jper_proto(t->bib));
	set(res, "sessions", jper_proto(t->sessions));
	set(res, "max_bib", ju64(t->max_bib));
	set(res, "max_sessions", ju64(t->max_sessions));
	ports = json_object();
	for (int i = 0; i < NAT64_NPROTO; i++) {
		o = json_object();
		set(o, "used", ju64(t->bib[i]));
		set(o, "total", ju64(t->ports_total));
		set(ports, nat64_proto_names[i], o);
	}
	set(res, "ports", ports);
	st = json_object();
	for (size_t i = 0; i < sizeof(tcp_state_names) / sizeof(tcp_state_names[0]); i++)
		set(st, tcp_state_names[i], ju64(t->tcp_states[i]));
	set(res, "tcp_states", st);
	o = json_object();
	set(o, "6to4", jnat64_dir(&ni.dir[NAT64_6TO4]));
	set(o, "4to6", jnat64_dir(&ni.dir[NAT64_4TO6]));
	set(res, "counters", o);
	o = json_object();
	for (int r = 0; r < NAT64_T_NRESULTS; r++)
		if (r != NAT64_T_OK)
			set(o, nat64_table_result_name(r), ju64(t->refused[r]));
	set(res, "table_refused", o);
	set(res, "bib_created", ju64(t->bib_created));
	set(res, "bib_expired", ju64(t->bib_expired));
	set(res, "sessions_created", ju64(t->sessions_created));
	set(res, "sessions_expired", ju64(t->sessions_expired));
	set(res, "tcp_probes", ju64(t->probes));
	o = json_object();
	set(o, "held", ju64(ni.frag_pkts));
	set(o, "max", ju64(ni.frag_max));
	set(o, "held_total", ju64(ni.frag_held));
	set(o, "evicted", ju64(ni.frag_evicted));
	set(o, "expired", ju64(ni.frag_expired));
	set(res, "fragments", o);
	set(res, "stored_syns", ju64(ni.stored_syns));
	set(res, "max_stored_syns", ju64(ni.max_stored_syns));
	set(res, "bytes_per_bib_entry", ju64(t->bytes_per_bib));
	set(res, "bytes_per_session", ju64(t->bytes_per_session));
	set(res, "memory", ju64(ni.memory));
	return res;
}

enum { SESSIONS_DEFAULT = 1000, SESSIONS_MAX = 10000 };

struct session_walk {
	const struct nat64 *n;
	json_t *arr;
	size_t total, limit;
	uint64_t now;
};

static bool nat64_session_cb_json(void *ctx, const struct nat64_session_info *s)
{
	struct session_walk *w = ctx;
	json_t *o;
	uint8_t r6[16];

	if (w->total++ >= w->limit)
		return true; /* keep counting */
	o = json_object();
	set(o, "proto", jstr(s->tu.proto < NAT64_NPROTO ? nat64_proto_names[s->tu.proto] : "?"));
	set(o, "addr6", jaddr6(s->tu.addr6));
	set(o, "port6", ju64(s->tu.port6));
	set(o, "addr4", jaddr4(s->tu.addr4));
	set(o, "port4", ju64(s->tu.port4));
	set(o, "raddr", jaddr4(s->tu.raddr));
	nat64_embed(w->n, s->tu.raddr, r6);
	set(o, "raddr6", jaddr6(r6));
	set(o, "rport", ju64(s->tu.rport));
	if (s->tu.proto == NAT64_TCP && s->tcp_state < 8)
		set(o, "state", jstr(tcp_state_names[s->tcp_state]));
	set(o, "expires", ju64(s->expires > w->now ? (s->expires - w->now + 999) / 1000 : 0));
	json_array_append_new(w->arr, o);
	return true;
}

/*
 * getNAT64Sessions [proto=tcp|udp|icmp] [limit=N]: the sessions with their BIB entries (inside
 * (addr6, port6), outside (addr4, port4), remote (raddr, rport)), TCP state and seconds to
 * expiry; at most limit (default 1000, at most 10000), with the total and "truncated".
 */
static json_t *do_get_nat64_sessions(struct call *c)
{
	struct session_walk w = {.limit = SESSIONS_DEFAULT};
	int proto = NAT64_NPROTO;
	json_t *res;

	if (!c->nat64) {
		snprintf(c->err, sizeof(c->err), "NAT64 is not enabled");
		return NULL;
	}
	if (c->arg[0][0]) {
		for (proto = 0; proto < NAT64_NPROTO; proto++)
			if (!strcasecmp(c->arg[0], nat64_proto_names[proto]))
				break;
		if (proto == NAT64_NPROTO) {
			snprintf(c->err, sizeof(c->err), "proto must be tcp, udp or icmp, not \"%s\"",
				 c->arg[0]);
			return NULL;
		}
	}
	if (c->arg[1][0]) {
		char *end;
		unsigned long v = strtoul(c->arg[1], &end, 10);

		if (*end || !v || v > SESSIONS_MAX) {
			snprintf(c->err, sizeof(c->err), "limit must be 1 to %d, not \"%s\"",
				 SESSIONS_MAX, c->arg[1]);
			return NULL;
		}
		w.limit = v;
	}
	w.n = c->nat64;
	w.arr = json_array();
	w.now = nat64_now(c->nat64);
	nat64_foreach_session(c->nat64, proto, nat64_session_cb_json, &w);
	res = json_object();
	set(res, "sessions", w.arr);
	set(res, "total", ju64(w.total));
	set(res, "truncated", json_boolean(w.total > w.limit));
	return res;
}

/*
 * 0.5.12's names, descriptions, fields and Go request types (netns-out/ctl-A-list.json; the
 * types as its unmarshal errors name them). getMulticastInterfaces is left out: ygg64 has no
 * multicast discovery. addRemoteSubnet, getTunnelRouting and removeRemoteSubnet (tunnel
 * routing), getNAT64 and getNAT64Sessions are ygg64's, in the same style: yggdrasilctl sends any command name and prints a
 * response it does not know as JSON.
 */
static const struct cmd cmds[] = {
	{"addPeer", "Add a peer to the peer list", {"uri", "interface"}, "admin.AddPeerRequest",
	 do_add_peer, true, CMD_NO_QUERY},
	{"addRemoteSubnet", "Route a remote subnet to a node's public key (tunnel routing)",
	 {"subnet", "key"}, "admin.AddRemoteSubnetRequest", do_add_remote_subnet, true,
	 CMD_NO_QUERY},
	{"debug_remoteGetPeers", "Debug use only", {"key"}, "core.DebugGetPeersRequest",
	 do_remote_get, false, CORE_QUERY_PEERS},
	{"debug_remoteGetSelf", "Debug use only", {"key"}, "core.DebugGetSelfRequest",
	 do_remote_get, false, CORE_QUERY_SELF},
	{"debug_remoteGetTree", "Debug use only", {"key"}, "core.DebugGetTreeRequest",
	 do_remote_get, false, CORE_QUERY_TREE},
	{"getNAT64", "Show the NAT64: configuration, table sizes, port use, counters", {NULL},
	 "admin.GetNAT64Request", do_get_nat64, false, CMD_NO_QUERY},
	{"getNAT64Sessions", "Show NAT64 sessions and mappings (proto=tcp|udp|icmp, limit=N)",
	 {"proto", "limit"}, "admin.GetNAT64SessionsRequest", do_get_nat64_sessions, false,
	 CMD_NO_QUERY},
	{"getNodeInfo", "Request nodeinfo from a remote node by its public key", {"key"},
	 "core.GetNodeInfoRequest", do_get_node_info, false, CORE_QUERY_NODEINFO},
	{"getPaths", "Show established paths through this node", {NULL}, "admin.GetPathsRequest",
	 do_get_paths, false, CMD_NO_QUERY},
	{"getPeers", "Show directly connected peers", {NULL}, "admin.GetPeersRequest",
	 do_get_peers, false, CMD_NO_QUERY},
	{"getSelf", "Show details about this node", {NULL}, "admin.GetSelfRequest", do_get_self,
	 false, CMD_NO_QUERY},
	{"getSessions", "Show established traffic sessions with remote nodes", {NULL},
	 "admin.GetSessionsRequest", do_get_sessions, false, CMD_NO_QUERY},
	{"getTree", "Show known Tree entries", {NULL}, "admin.GetTreeRequest", do_get_tree, false,
	 CMD_NO_QUERY},
	{"getTunnelRouting", "Show tunnel routing: remote and local subnets, counters", {NULL},
	 "admin.GetTunnelRoutingRequest", do_get_tunnel_routing, false, CMD_NO_QUERY},
	{"getTun", "Show information about the node's TUN interface", {NULL}, "tun.GetTUNRequest",
	 do_get_tun, false, CMD_NO_QUERY},
	{"list", "List available commands", {NULL}, NULL, do_list, false, CMD_NO_QUERY},
	{"removePeer", "Remove a peer from the peer list", {"uri", "interface"},
	 "admin.RemovePeerRequest", do_remove_peer, true, CMD_NO_QUERY},
	{"removeRemoteSubnet", "Stop routing a remote subnet (tunnel routing)", {"subnet", "key"},
	 "admin.RemoveRemoteSubnetRequest", do_remove_remote_subnet, true, CMD_NO_QUERY},
};
static const size_t n_cmds = sizeof(cmds) / sizeof(cmds[0]);

static int cmd_cmp(const void *x, const void *y)
{
	const struct cmd *a = *(const struct cmd *const *)x, *b = *(const struct cmd *const *)y;

	return strcasecmp(a->name, b->name);
}

/* list: lowercased names sorted, "fields" omitted when empty (yggdrasil's omitempty). */
static json_t *do_list(struct call *c)
{
	const struct cmd **sorted = xcalloc(n_cmds, sizeof(*sorted));
	json_t *arr = json_array(), *res = json_object();
	size_t n = n_cmds;

	(void)c;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &cmds[i];
	qsort(sorted, n, sizeof(sorted[0]), cmd_cmp);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();
		char name[64];
		size_t k;

		for (k = 0; sorted[i]->name[k] && k < sizeof(name) - 1; k++)
			name[k] = (char)tolower((unsigned char)sorted[i]->name[k]);
		name[k] = '\0';
		set(e, "command", jstr(name));
		set(e, "description", jstr(sorted[i]->desc));
		if (sorted[i]->fields[0]) {
			json_t *f = json_array();

			for (size_t j = 0; sorted[i]->fields[j]; j++)
				json_array_append_new(f, jstr(sorted[i]->fields[j]));
			set(e, "fields", f);
		}
		json_array_append_new(arr, e);
	}
	free(sorted);
	set(res, "list", arr);
	return res;
}

static const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < n_cmds; i++)
		if (!strcasecmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/*
 * Decodes args into c->arg as Go's json.Unmarshal into the command's request struct would:
 * null is {}, another non-object is a type error, fields match case-insensitively, a null
 * field keeps its default and a non-string one is an error (the first one is reported).
 */
static bool decode_args(const struct cmd *cmd, json_t *args, struct call *c)
{
	const char *key;
	json_t *v;
	bool is_ok = true;

	for (size_t i = 0; i < CMD_MAX_FIELDS; i++)
		c->arg[i] = "";
	if (!cmd->go_type || !args || json_is_null(args))
		return true;
	if (!json_is_object(args)) {
		snprintf(c->err, sizeof(c->err),
			 "json: cannot unmarshal %s into Go value of type %s", kind(args),
			 cmd->go_type);
		return false;
	}
	json_object_foreach (args, key, v) {
		for (size_t i = 0; cmd->fields[i]; i++) {
			if (strcasecmp(key, cmd->fields[i]))
				continue;
			if (json_is_string(v)) {
				c->arg[i] = json_string_value(v);
			} else if (!json_is_null(v) && is_ok) {
				snprintf(c->err, sizeof(c->err),
					 "json: cannot unmarshal %s into Go struct field %s.%s of "
					 "type string",
					 kind(v), strchr(cmd->go_type, '.') + 1, cmd->fields[i]);
				is_ok = false;
			}
		}
	}
	return is_ok;
}

/* ---- envelope (§6.2) ---- */

struct request {
	const char *name; /* borrowed from the parsed document */
	json_t *args;	  /* borrowed; NULL when absent (echoed as {}) */
	bool is_keepalive;
};

/* Go's json.Unmarshal into AdminSocketRequest. False: "Failed to unmarshal request". */
static bool decode_request(json_t *root, struct request *rq)
{
	const char *key;
	json_t *v;
	bool is_ok = true;

	rq->name = "";
	rq->args = NULL;
	rq->is_keepalive = false;
	if (json_is_null(root))
		return true;
	if (!json_is_object(root))
		return false;
	json_object_foreach (root, key, v) {
		if (!strcasecmp(key, "request")) {
			if (json_is_string(v))
				rq->name = json_string_value(v);
			else if (!json_is_null(v))
				is_ok = false;
		} else if (!strcasecmp(key, "arguments")) {
			rq->args = v;
		} else if (!strcasecmp(key, "keepalive")) {
			if (json_is_boolean(v))
				rq->is_keepalive = json_is_true(v);
			else if (!json_is_null(v))
				is_ok = false;
		}
	}
	return is_ok;
}

/*
 * Serialises env (consumed) into out with Go's escapes and the trailing newline of its
 * json.Encoder. raw, when not NULL, is a remote's JSON already indented (admin_json_indent) that
 * replaces the last raw_mark string in the text.
 */
static void emit(json_t *env, bool is_keepalive, const struct admin_json_buf *raw,
		 struct admin_reply *out)
{
	struct admin_json_buf b = {0};
	char *s = json_dumps(env, CMD_DUMP_FLAGS);
	const char *mark = NULL;
	size_t n;

	json_decref(env);
	if (!s)
		fatalx("admin: out of memory serialising a reply");
	n = strlen(s);
	for (const char *p = s; raw && (p = strstr(p, raw_mark_json)); p++)
		mark = p;
	if (mark) {
		size_t after = (size_t)(mark - s) + strlen(raw_mark_json);

		admin_json_escape(&b, s, (size_t)(mark - s));
		admin_json_put(&b, raw->s, raw->len);
		admin_json_escape(&b, s + after, n - after);
	} else {
		admin_json_escape(&b, s, n);
	}
	admin_json_put(&b, "\n", 1);
	out->text = b.s;
	out->len = b.len;
	out->is_keepalive = is_keepalive;
	free(s);
}

static json_t *envelope(const char *err, json_t *echo, json_t *response)
{
	json_t *env = json_object();

	set(env, "status", jstr(err ? "error" : "success"));
	if (err)
		set(env, "error", jstr(err));
	set(env, "request", echo);
	set(env, "response", response ? response : json_null());
	return env;
}

static void fail(const char *err, bool is_keepalive, struct admin_reply *out)
{
	json_t *echo = json_object();

	set(echo, "request", jstr(""));
	emit(envelope(err, echo, NULL), is_keepalive, NULL, out);
}

void admin_cmds_fail(const char *error, struct admin_reply *out)
{
	fail(error, false, out);
}

/* The reply to p's request from the core's answer (or -ETIMEDOUT); p's echo is consumed. */
static void finish(struct admin_pending *p, int e, const uint8_t *body, size_t len,
		   struct admin_reply *out)
{
	struct admin_json_buf raw = {0};
	char err[CMD_ERR_MAX];
	json_t *res = query_response(p, e, body, len, &raw, err, sizeof(err));

	emit(envelope(res ? NULL : err, p->echo, res), p->is_keepalive, res ? &raw : NULL, out);
	p->echo = NULL;
	free(raw.s);
}

static void on_query(void *ctx, int err, const uint8_t *body, size_t len)
{
	struct admin_pending *p = ctx;
	admin_pending_cb *done = p->done;
	void *done_ctx = p->ctx;
	struct admin_reply r;

	/*
	 * The core dropped the query for a newer one to the same node and kind (from another
	 * client). yggdrasil's handler then waits out its 6 s: so does this request.
	 */
	if (err == -ECANCELED)
		return;
	if (p->is_starting) {
		/* Answered inside core_query(): admin_cmds_run replies at once. */
		p->has_answer = true;
		p->err = err;
		p->len = len;
		if (len) {
			p->body = xmalloc(len);
			memcpy(p->body, body, len);
		}
		return;
	}
	finish(p, err, body, len, &r);
	pending_free(p);
	done(done_ctx, &r);
}

void admin_cmds_expire(struct admin_pending *p, struct admin_reply *out)
{
	core_query_cancel(p->core, p->id);
	finish(p, -ETIMEDOUT, NULL, 0, out);
	pending_free(p);
}

void admin_cmds_cancel(struct admin_pending *p)
{
	core_query_cancel(p->core, p->id);
	pending_free(p);
}

struct admin_pending *admin_cmds_run(struct core *core, const struct tun *tun,
				     const struct nat64 *nat64, const char *buf, size_t len,
				     struct admin_reply *out, admin_pending_cb *done, void *ctx)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
	json_t *echo, *response = NULL;
	struct request rq;
	struct call c = {.core = core, .tun = tun, .nat64 = nat64};
	struct admin_pending *p;
	char *lower = NULL;

	if (!root) {
		fail("Failed to find request", false, out);
		return NULL;
	}
	if (!decode_request(root, &rq)) {
		fail("Failed to unmarshal request", rq.is_keepalive, out);
		json_decref(root);
		return NULL;
	}
	echo = json_object();
	set(echo, "request", jstr(rq.name));
	set(echo, "arguments", rq.args ? json_incref(rq.args) : json_object());
	if (rq.is_keepalive)
		set(echo, "keepalive", json_true());

	c.cmd = cmd_find(rq.name);
	if (!rq.name[0]) {
		snprintf(c.err, sizeof(c.err), "No request specified");
	} else if (!c.cmd) {
		/* Go's strings.ToLower; names are ASCII, so ASCII folding gives the same text. */
		lower = xstrdup(rq.name);
		for (char *s = lower; *s; s++)
			*s = (char)tolower((unsigned char)*s);
	} else if (decode_args(c.cmd, rq.args, &c)) {
		response = c.cmd->handler(&c);
	}
	json_decref(root);
	if (lower) {
		char *err = xasprintf("Unknown action '%s', try 'list' for help", lower);

		emit(envelope(err, echo, NULL), rq.is_keepalive, NULL, out);
		free(err);
		free(lower);
		return NULL;
	}
	if (!c.pending) {
		emit(envelope(response ? NULL : c.err, echo, response), rq.is_keepalive, NULL, out);
		return NULL;
	}
	p = c.pending;
	p->echo = echo;
	p->is_keepalive = rq.is_keepalive;
	p->done = done;
	p->ctx = ctx;
	if (!p->has_answer)
		return p;
	finish(p, p->err, p->body, p->len, out);
	pending_free(p);
	return NULL;
}
