/*
 * admin_cmds: request decoding, the command table and the response envelope of the admin
 * socket (spec sessions-core-admin §6.2, §6.3). It is the project's only jansson user
 * (STYLE.md §2: only src/admin includes jansson.h).
 *
 * Owns nothing between calls: every request builds its JSON from *_info snapshots copied out
 * of the core and frees it before returning the text.
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
 *  - strings carry Go's extra escapes for <, >, & and U+2028/U+2029.
 * These were checked byte for byte against a running 0.5.12 on 45 requests. Known
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

#include "core/core.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/mem.h"

#ifndef YGG64_VERSION
#define YGG64_VERSION "unknown"
#endif

enum {
	CMD_MAX_FIELDS = 2,
	CMD_ERR_MAX = 512,
	/* Shortest text for every value we emit as a real: uptimes in milliseconds (≤ 15 digits). */
	CMD_DUMP_FLAGS = JSON_INDENT(2) | JSON_REAL_PRECISION(15),
};

/* One call of a handler: borrowed core, decoded string arguments, and room for an error. */
struct call {
	struct core *core;
	const char *arg[CMD_MAX_FIELDS]; /* in cmd->fields order; "" when absent or null */
	char err[CMD_ERR_MAX];
};

/* Returns the "response" object (new reference), or NULL with c->err set. */
typedef json_t *cmd_handler(struct call *c);

/* A row of the command table (STYLE.md §9; yggdrasil's AddHandler). */
struct cmd {
	const char *name; /* as yggdrasil registers it; matched and listed lowercased */
	const char *desc;
	const char *fields[CMD_MAX_FIELDS + 1]; /* NULL-terminated string arguments */
	const char *go_type; /* Go request struct, for unmarshal errors; NULL: arguments unused */
	cmd_handler *handler;
	bool is_write; /* changes the node (for a future read-only socket, STYLE.md §19) */
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

static json_t *jhex(const uint8_t *b, size_t n)
{
	char s[2 * 64 + 1];

	for (size_t i = 0; i < n && i < 64; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * (n < 64 ? n : 64)] = '\0';
	return jstr(s);
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

/* 0.5.12's names, descriptions and fields (netns-out/ctl-A-list.json). */
static const struct cmd cmds[] = {
	{"addPeer", "Add a peer to the peer list", {"uri", "interface"}, "AddPeerRequest",
	 do_add_peer, true},
	{"getPaths", "Show established paths through this node", {NULL}, "GetPathsRequest",
	 do_get_paths, false},
	{"getPeers", "Show directly connected peers", {NULL}, "GetPeersRequest", do_get_peers,
	 false},
	{"getSelf", "Show details about this node", {NULL}, "GetSelfRequest", do_get_self, false},
	{"getTree", "Show known Tree entries", {NULL}, "GetTreeRequest", do_get_tree, false},
	{"list", "List available commands", {NULL}, NULL, do_list, false},
	{"removePeer", "Remove a peer from the peer list", {"uri", "interface"},
	 "RemovePeerRequest", do_remove_peer, true},
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
			 "json: cannot unmarshal %s into Go value of type admin.%s", kind(args),
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
					 kind(v), cmd->go_type, cmd->fields[i]);
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
 * Copies jansson's output s[0..n) to out (room for 6n bytes) with the escapes Go's encoder
 * adds: <, > and & as \u003c, \u003e, \u0026, and U+2028/U+2029. Those bytes occur only inside
 * strings in serialised JSON, so no parsing is needed. Returns the length written.
 */
static size_t go_escape(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '<' || ch == '>' || ch == '&') {
			o += (size_t)sprintf(out + o, "\\u%04x", ch);
		} else if (ch == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			o += (size_t)sprintf(out + o, "\\u20%02x", (unsigned char)s[i + 2] - 0x80);
			i += 2;
		} else {
			out[o++] = (char)ch;
		}
	}
	return o;
}

/* Serialises env (consumed) into out with the trailing newline of Go's json.Encoder. */
static void emit(json_t *env, bool is_keepalive, struct admin_reply *out)
{
	char *s = json_dumps(env, CMD_DUMP_FLAGS);
	size_t n;

	json_decref(env);
	if (!s)
		fatalx("admin: out of memory serialising a reply");
	n = strlen(s);
	out->text = xmalloc(6 * n + 2);
	out->len = go_escape(s, n, out->text);
	out->text[out->len++] = '\n';
	out->text[out->len] = '\0';
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
	emit(envelope(err, echo, NULL), is_keepalive, out);
}

void admin_cmds_fail(const char *error, struct admin_reply *out)
{
	fail(error, false, out);
}

void admin_cmds_run(struct core *core, const char *buf, size_t len, struct admin_reply *out)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
	json_t *echo, *response = NULL;
	struct request rq;
	struct call c = {.core = core};
	const struct cmd *cmd;
	char *lower = NULL;

	if (!root) {
		fail("Failed to find request", false, out);
		return;
	}
	if (!decode_request(root, &rq)) {
		fail("Failed to unmarshal request", rq.is_keepalive, out);
		json_decref(root);
		return;
	}
	echo = json_object();
	set(echo, "request", jstr(rq.name));
	set(echo, "arguments", rq.args ? json_incref(rq.args) : json_object());
	if (rq.is_keepalive)
		set(echo, "keepalive", json_true());

	cmd = cmd_find(rq.name);
	if (!rq.name[0]) {
		snprintf(c.err, sizeof(c.err), "No request specified");
	} else if (!cmd) {
		/* Go's strings.ToLower; names are ASCII, so ASCII folding gives the same text. */
		lower = xstrdup(rq.name);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (decode_args(cmd, rq.args, &c)) {
		response = cmd->handler(&c);
	}
	if (lower) {
		char *err = xasprintf("Unknown action '%s', try 'list' for help", lower);

		emit(envelope(err, echo, NULL), rq.is_keepalive, out);
		free(err);
		free(lower);
	} else {
		emit(envelope(response ? NULL : c.err, echo, response), rq.is_keepalive, out);
	}
	json_decref(root);
}
