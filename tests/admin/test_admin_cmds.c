/*
 * test_admin_cmds: the request layer of the admin socket (src/admin/admin_cmds.c) against a
 * fake core: every reply is compared, byte for byte where our clock allows and otherwise
 * field by field in order, with what yggdrasil 0.5.12 printed (tests/data/admin/, copied from
 * spec vectors-core/netns-out, and admin-raw-queries.txt from a lone 0.5.12), plus Go's
 * request-decoding rules checked against the real daemon by hand. Remote queries are answered
 * by the fake core on demand (fake_core_answer) or from inside core_query. No sockets, no loop.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_cmds.h"
#include "support/capture.h"
#include "support/fake_core.h"
#include "support/hex.h"

static void expect_text(struct core *c, const char *req, const char *want)
{
	char *got = cap_run(c, req, NULL);

	cr_expect_str_eq(got, want, "request %s", req);
	free(got);
}

/* The "response" of our reply to req against a ctl-*.json capture. */
static void expect_like_capture(struct core *c, const char *req, const char *file)
{
	char *got = cap_run(c, req, NULL), *want = cap_load(file);
	json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);

	cr_assert_not_null(g, "our reply is JSON: %s", got);
	cr_assert_not_null(w);
	cr_assert_str_eq(json_string_value(json_object_get(g, "status")), "success", "%s", got);
	cap_same_json(json_object_get(g, "response"), w, file, 0);
	json_decref(g);
	json_decref(w);
	free(got);
	free(want);
}


Test(admin_cmds, getself_envelope_is_byte_exact)
{
	struct core *c = fake_core_node_a();
	char *raw = cap_load("admin-raw.txt");
	char *want = cap_ours(cap_section(raw, "getself, no keepalive"));
	char *want2 = cap_ours(cap_section(raw, "unknown field in arguments"));
	bool is_keepalive = true;
	char *got = cap_run(c, "{\"request\":\"getself\"}", &is_keepalive);

	cr_expect_str_eq(got, want);
	cr_expect_not(is_keepalive);
	expect_text(c, "{\"request\":\"getSelf\",\"arguments\":{\"bogus\":1}}", want2);
	free(got);
	free(want);
	free(want2);
	free(raw);
	free(c);
}

Test(admin_cmds, getself_tcp_node_b)
{
	struct core *c = fake_core_new();
	char *want = cap_ours(cap_load("admin-raw-B-tcp.txt"));

	fake_core_self(c, FAKE_KEY_B, 3);
	expect_text(c, "{\"request\":\"getSelf\"}", want);
	free(want);
	free(c);
}

Test(admin_cmds, errors_are_byte_exact)
{
	static const struct {
		const char *title, *req;
	} v[] = {
		{"unknown request", "{\"request\":\"nosuch\",\"arguments\":{\"a\":\"b\"}}"},
		{"empty request name", "{\"arguments\":{}}"},
		{"not JSON", "hello"},
	};
	struct core *c = fake_core_node_a();
	char *raw = cap_load("admin-raw.txt");

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *want = cap_section(raw, v[i].title);

		expect_text(c, v[i].req, want);
		free(want);
	}
	cr_expect_eq(c->n_calls, 0, "errors never reach the core");
	free(raw);
	free(c);
}

Test(admin_cmds, add_remove_peer_are_byte_exact)
{
	static const struct {
		const char *title, *req;
	} v[] = {
		{"addPeer (valid)",
		 "{\"request\":\"addPeer\",\"arguments\":{\"uri\":\"tcp://10.99.0.77:1\"}}"},
		{"addPeer same again",
		 "{\"request\":\"addPeer\",\"arguments\":{\"uri\":\"tcp://10.99.0.77:1\"}}"},
		{"removePeer",
		 "{\"request\":\"removePeer\",\"arguments\":{\"uri\":\"tcp://10.99.0.77:1\"}}"},
		{"removePeer again",
		 "{\"request\":\"removePeer\",\"arguments\":{\"uri\":\"tcp://10.99.0.77:1\"}}"},
		{"addPeer bad scheme",
		 "{\"request\":\"addPeer\",\"arguments\":{\"uri\":\"foo://1.2.3.4:5\"}}"},
	};
	struct core *c = fake_core_node_a();
	char *raw = cap_load("admin-raw.txt");

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *want = cap_section(raw, v[i].title);

		expect_text(c, v[i].req, want);
		free(want);
	}
	cr_expect_eq(c->n_uris, 1);
	cr_expect_str_eq(c->uris[0], "foo://1.2.3.4:5");
	free(raw);
	free(c);
}

Test(admin_cmds, getpeers_with_down_peer_is_byte_exact)
{
	struct core *c = fake_core_new();
	char *raw = cap_load("admin-raw.txt");
	char *want = cap_section(raw, "getPeers (includes the down peer)");

	/* The up peer comes first from the core; the keyless down peer must sort before it. */
	fake_core_self(c, FAKE_KEY_A, 2);
	fake_core_peer_b_of_a(c, 12302, false);
	fake_core_peer(c, "tcp://10.99.0.77:1", NULL);
	want = cap_subst(want, "12.302165693", "12.302");
	expect_text(c, "{\"request\":\"getPeers\"}", want);
	free(want);
	free(raw);
	free(c);
}

Test(admin_cmds, getpeers_like_captures)
{
	struct core *a = fake_core_node_a(), *b = fake_core_new(), *s = fake_core_new();
	struct core_peer_info *p;

	expect_like_capture(a, "{\"request\":\"getPeers\"}", "ctl-A-getPeers.json");

	/* B: two inbound peers, handed over in reverse key order. */
	fake_core_self(b, FAKE_KEY_B, 3);
	p = fake_core_peer(b, "tcp://10.99.0.2:34648", FAKE_KEY_A);
	*p = (struct core_peer_info){.is_up = true, .is_inbound = true, .has_key = true,
				     .port = 1, .cost = 8, .bytes_recvd = 7046,
				     .bytes_sent = 3691, .rate_recvd = 229, .rate_sent = 2,
				     .uptime_ms = 8857, .latency_ns = 4460000};
	snprintf(p->remote, sizeof(p->remote), "tcp://10.99.0.2:34648");
	fake_core_key(FAKE_KEY_A, p->key);
	p = fake_core_peer(b, "tcp://10.99.1.2:34746", FAKE_KEY_C);
	*p = (struct core_peer_info){.is_up = true, .is_inbound = true, .has_key = true,
				     .port = 2, .cost = 2, .bytes_recvd = 1731,
				     .bytes_sent = 2579, .rate_recvd = 2, .rate_sent = 229,
				     .uptime_ms = 8855, .latency_ns = 1230000};
	snprintf(p->remote, sizeof(p->remote), "tcp://10.99.1.2:34746");
	fake_core_key(FAKE_KEY_C, p->key);
	expect_like_capture(b, "{\"request\":\"getPeers\"}", "ctl-B-getPeers.json");

	/* single-node.txt: a down peer with its last error, age in nanoseconds. */
	p = fake_core_peer(s, "tcp://127.0.0.1:1", NULL);
	p->has_error = true;
	p->last_error_age_ms = 998;
	snprintf(p->last_error, sizeof(p->last_error),
		 "dial tcp 127.0.0.1:1: connect: connection refused");
	{
		char *raw = cap_load("single-node.txt"), *sec = cap_section(raw, "getPeers");
		char *got = cap_run(s, "{\"request\":\"getPeers\"}", NULL);
		json_t *g = json_loads(got, 0, NULL), *w = json_loads(sec, 0, NULL);

		cr_assert_not_null(w);
		cap_same_json(json_object_get(g, "response"), w, "single-node", 0);
		cr_expect(json_is_integer(json_object_get(
				  json_array_get(json_object_get(json_object_get(g, "response"),
								 "peers"),
						 0),
				  "last_error_time")),
			  "last_error_time is an integer (nanoseconds)");
		json_decref(g);
		json_decref(w);
		free(got);
		free(sec);
		free(raw);
	}
	free(a);
	free(b);
	free(s);
}

Test(admin_cmds, getpeers_order_and_number_forms)
{
	struct core *c = fake_core_new();
	struct core_peer_info *p;
	char *got;
	json_t *g, *peers;

	p = fake_core_peer(c, "tcp://[::1]:2", FAKE_KEY_C); /* inbound sorts last whatever its key */
	p->is_inbound = true;
	p = fake_core_peer(c, "tcp://[::1]:3", FAKE_KEY_B);
	p->priority = 2;
	p->uptime_ms = 5000;
	p = fake_core_peer(c, "tcp://[::1]:4", FAKE_KEY_B);
	p->priority = 1;
	p->uptime_ms = 1500;
	p = fake_core_peer(c, "tcp://[::1]:5", FAKE_KEY_A);
	got = cap_run(c, "{\"request\":\"GETPEERS\"}", NULL);
	g = json_loads(got, 0, NULL);
	peers = json_object_get(json_object_get(g, "response"), "peers");
	cr_assert_eq(json_array_size(peers), 4);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(peers, 0), "remote")),
			 "tcp://[::1]:4", "same key: lower priority first");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(peers, 1), "remote")),
			 "tcp://[::1]:3");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(peers, 2), "remote")),
			 "tcp://[::1]:5", "7e3e… < ea9b…");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(peers, 3), "remote")),
			 "tcp://[::1]:2", "inbound last");
	/* Whole seconds print as Go prints float64 5.0; others in shortest form. */
	cr_expect(strstr(got, "\"uptime\": 5\n") != NULL, "%s", got);
	cr_expect(strstr(got, "\"uptime\": 1.5\n") != NULL, "%s", got);
	cr_expect(!strstr(got, "latency"), "zero latency is omitted");
	json_decref(g);
	free(got);
	free(c);
}

Test(admin_cmds, self_tree_paths_like_captures)
{
	struct core *c = fake_core_node_a();

	expect_like_capture(c, "{\"request\":\"getSelf\"}", "ctl-A-getSelf.json");
	expect_like_capture(c, "{\"request\":\"getTree\"}", "ctl-A-getTree.json");
	expect_like_capture(c, "{\"request\":\"getPaths\"}", "ctl-A-getPaths.json");
	c->n_paths = 0;
	c->n_tree = 0;
	c->n_peers = 0;
	{
		char *got = cap_run(c, "{\"request\":\"getPaths\"}", NULL);

		cr_expect(strstr(got, "\"paths\": []") != NULL, "an empty list is [], not null");
		free(got);
		got = cap_run(c, "{\"request\":\"getPeers\"}", NULL);
		cr_expect(strstr(got, "\"peers\": []") != NULL);
		free(got);
	}
	free(c);
}

Test(admin_cmds, list_matches_capture)
{
	struct core *c = fake_core_node_a();
	char *got = cap_run(c, "{\"request\":\"list\"}", NULL), *want = cap_load("ctl-A-list.json");
	json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);
	json_t *gl = json_object_get(json_object_get(g, "response"), "list");
	json_t *wl = json_object_get(w, "list");
	const char *prev = "";
	size_t i;
	json_t *e;

	static const char *const ours[] = {"addremotesubnet", "getnat64", "getnat64sessions",
					   "gettunnelrouting", "removeremotesubnet"};
	size_t n_ours = 0;

	cr_assert(json_is_array(gl));
	cr_expect_eq(json_array_size(gl), json_array_size(wl) - 1 + 5,
		     "all but getmulticastinterfaces, and ygg64's five");
	json_array_foreach (gl, i, e) {
		const char *name = json_string_value(json_object_get(e, "command"));
		size_t j;
		json_t *r, *match = NULL;
		bool is_ours = false;

		cr_expect_gt(strcmp(name, prev), 0, "sorted: %s after %s", name, prev);
		prev = name;
		for (j = 0; j < sizeof(ours) / sizeof(ours[0]); j++)
			is_ours |= !strcmp(name, ours[j]);
		if (is_ours) {
			/* Ours: listed like the others (command, description, fields). */
			n_ours++;
			cr_expect(json_is_string(json_object_get(e, "description")), "%s", name);
			bool has_args = strcmp(name, "gettunnelrouting") && strcmp(name, "getnat64");

			cr_expect_eq(json_object_size(e), has_args ? 3 : 2,
				     "%s: fields only when it takes arguments", name);
			continue;
		}
		json_array_foreach (wl, j, r)
			if (!strcmp(json_string_value(json_object_get(r, "command")), name))
				match = r;
		cr_assert_not_null(match, "%s is a 0.5.12 command", name);
		cap_same_json(e, match, name, 0);
	}
	cr_expect_eq(n_ours, 5);
	cr_expect_eq(c->n_calls, 0);
	json_decref(g);
	json_decref(w);
	free(got);
	free(want);
	free(c);
}

/* ---- tunnel routing (ygg64's commands) ---- */

Test(admin_cmds, gettunnelrouting_off_and_on)
{
	struct core *c = fake_core_node_a();
	char *got;

	c->tunnel.off_dropped = 7;
	expect_text(c, "{\"request\":\"getTunnelRouting\"}",
		    "{\n  \"status\": \"success\",\n  \"request\": {\n    \"request\": "
		    "\"getTunnelRouting\",\n    \"arguments\": {}\n  },\n  \"response\": {\n    "
		    "\"enabled\": false,\n    \"dropped_tunnel_routing_off\": 7\n  }\n}\n");

	c->tunnel = (struct core_tunnel_info){
	    .is_enabled = true,
	    .ygg_routing = true,
	    .install_routes = true,
	    .mtu = 65535,
	    .out = {.passed = 10, .bytes = 1000, .bad_src = 2, .bad_dst = 3},
	    .in = {.passed = 9, .bytes = 900, .bad_src = 4, .bad_dst = 5, .fragmented = 1},
	    .icmp_sent = 5,
	    .icmp_limited = 6,
	    .ygg_out_dropped = 11,
	    .loop_refused = 1};
	inet_prefix_parse("10.0.0.0/8", true, &c->subnets[0].p);
	fake_core_key(FAKE_KEY_B, c->subnets[0].key);
	inet_prefix_parse("2001:db8:a::/48", true, &c->subnets[1].p);
	fake_core_key(FAKE_KEY_C, c->subnets[1].key);
	c->n_subnets = 2;
	inet_prefix_parse("10.5.0.1/32", true, &c->locals[0]);
	c->n_locals = 1;
	got = cap_run(c, "{\"request\":\"gettunnelrouting\"}", NULL);
	json_t *g = json_loads(got, 0, NULL), *r = json_object_get(g, "response");
	json_t *rs = json_object_get(r, "remote_subnets");

	cr_assert_not_null(g, "%s", got);
	cr_expect(json_is_true(json_object_get(r, "enabled")));
	cr_expect_eq(json_integer_value(json_object_get(r, "mtu")), 65535);
	cr_assert_eq(json_array_size(rs), 2, "%s", got);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rs, 0), "subnet")),
			 "10.0.0.0/8");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rs, 0), "key")),
			 FAKE_KEY_B);
	/* node B's 200::/7 address, as getPeers shows it (ctl-A-getPeers.json) */
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rs, 0), "address")),
			 "201:705:f5a1:eff9:3bd0:4dea:1f2f:fe45");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rs, 1), "subnet")),
			 "2001:db8:a::/48");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(r, "local_subnets"), 0)),
			 "10.5.0.1/32");
	json_t *snd = json_object_get(r, "send"), *rcv = json_object_get(r, "receive");

	cr_expect_eq(json_integer_value(json_object_get(snd, "packets")), 10);
	cr_expect_eq(json_integer_value(json_object_get(snd, "dropped_bad_source")), 2);
	cr_expect_eq(json_integer_value(json_object_get(snd, "dropped_bad_destination")), 3);
	cr_expect_eq(json_integer_value(json_object_get(snd, "dropped_yggdrasil_routing_off")), 11);
	cr_expect_eq(json_integer_value(json_object_get(rcv, "dropped_bad_source")), 4);
	cr_expect_eq(json_integer_value(json_object_get(rcv, "dropped_bad_destination")), 5);
	cr_expect_eq(json_integer_value(json_object_get(rcv, "fragmented")), 1);
	cr_expect_eq(
	    json_integer_value(json_object_get(json_object_get(r, "icmp"), "rate_limited")), 6);
	cr_expect_eq(json_integer_value(json_object_get(r, "loop_guard_refused")), 1);
	json_decref(g);
	free(got);
	free(c);
}

/* The status and error of the reply to req ("" error on success). */
static void expect_result(struct core *c, const char *req, const char *status, const char *err)
{
	char *got = cap_run(c, req, NULL);
	json_t *g = json_loads(got, 0, NULL);
	const char *e = json_string_value(json_object_get(g, "error"));

	cr_assert_not_null(g, "%s", got);
	cr_expect_str_eq(json_string_value(json_object_get(g, "status")), status, "%s: %s", req,
			 got);
	cr_expect_str_eq(e ? e : "", err, "%s", req);
	json_decref(g);
	free(got);
}

Test(admin_cmds, add_remove_remote_subnet)
{
	struct core *c = fake_core_node_a();
	char req[512];

	expect_result(c,
		      "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.1.0.0/16\",\"key\":\"" FAKE_KEY_B "\"}}",
		      "error", "tunnel routing is not enabled (TunnelRouting.Enable)");
	c->tunnel.is_enabled = true;
	snprintf(req, sizeof(req),
		 "{\"request\":\"addremotesubnet\",\"arguments\":{\"subnet\":\"10.1.0.0/16\","
		 "\"key\":\"%s\"}}",
		 FAKE_KEY_B);
	expect_result(c, req, "success", "");
	cr_assert_eq(c->n_subnets, 1);
	cr_expect_eq(c->subnets[0].p.len, 16);
	expect_result(c, req, "error", "remote subnet already exists");
	/* argument errors never reach the core */
	unsigned calls = c->n_calls;

	expect_result(
	    c, "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"key\":\"" FAKE_KEY_B "\"}}",
	    "error", "No subnet supplied");
	expect_result(c,
		      "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.1.2.3/16\",\"key\":\"" FAKE_KEY_B "\"}}",
		      "error", "10.1.2.3/16 has host bits set (did you mean 10.1.0.0/16?)");
	expect_result(c,
		      "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.1.0.0\",\"key\":\"" FAKE_KEY_B "\"}}",
		      "error", "\"10.1.0.0\" is not an IP prefix (address/length)");
	expect_result(c,
		      "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.2.0.0/16\"}}",
		      "error", "No remote public key supplied");
	expect_result(c,
		      "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.2.0.0/16\",\"key\":\"abcd\"}}",
		      "error", "invalid public key length");
	expect_result(c,
		      "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.2.0.0/16\",\"key\":\"xyz\"}}",
		      "error",
		      "Failed to decode public key: encoding/hex: invalid byte: U+0078 'x'");
	expect_result(c, "{\"request\":\"addRemoteSubnet\",\"arguments\":{\"subnet\":7}}", "error",
		      "json: cannot unmarshal number into Go struct field "
		      "AddRemoteSubnetRequest.subnet of type string");
	cr_expect_eq(c->n_calls, calls);
	/* remove: a wrong key refuses, no key removes whatever it names */
	expect_result(c,
		      "{\"request\":\"removeRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.1.0.0/16\",\"key\":\"" FAKE_KEY_C "\"}}",
		      "error", "no such remote subnet");
	cr_expect_eq(c->n_subnets, 1);
	expect_result(c,
		      "{\"request\":\"removeRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.1.0.0/16\"}}",
		      "success", "");
	cr_expect_eq(c->n_subnets, 0);
	expect_result(c,
		      "{\"request\":\"removeRemoteSubnet\",\"arguments\":{\"subnet\":"
		      "\"10.1.0.0/16\"}}",
		      "error", "no such remote subnet");
	free(c);
}

Test(admin_cmds, go_unmarshal_semantics)
{
	static const char empty_echo[] = "  \"request\": {\n    \"request\": \"\"\n  },\n";
	struct core *c = fake_core_node_a();
	bool is_keepalive;
	char *got;

	/* Values that are not a request object. */
	for (const char *const *r = (const char *const[]){"[1,2]", "\"getSelf\"", "5", "true",
							   "{\"request\":5}", NULL};
	     *r; r++) {
		got = cap_run(c, *r, NULL);
		cr_expect(strstr(got, "\"error\": \"Failed to unmarshal request\"") != NULL, "%s", *r);
		cr_expect(strstr(got, empty_echo) != NULL, "%s: %s", *r, got);
		free(got);
	}
	/* A type error keeps a keepalive that did decode, as Go's partial unmarshal does. */
	free(cap_run(c, "{\"request\":[],\"keepalive\":true}", &is_keepalive));
	cr_expect(is_keepalive);
	/* null is an empty request. */
	got = cap_run(c, "null", NULL);
	cr_expect(strstr(got, "\"No request specified\"") && strstr(got, "\"arguments\": {}"),
		  "%s", got);
	free(got);
	/* Field names fold case; unknown fields are ignored. */
	got = cap_run(c, "{\"Request\":\"GetSelf\",\"KEEPALIVE\":true,\"x\":1}", &is_keepalive);
	cr_expect(strstr(got, "\"status\": \"success\"") != NULL, "%s", got);
	cr_expect(strstr(got, "\"request\": \"GetSelf\",\n    \"arguments\": {},\n    "
			      "\"keepalive\": true\n  },")
		  != NULL, "echo as sent, keepalive only when true: %s", got);
	cr_expect(is_keepalive);
	free(got);
	/* Unknown names are reported lowercased, echoed as sent. */
	got = cap_run(c, "{\"request\":\"NoSuch\"}", NULL);
	cr_expect(strstr(got, "\"Unknown action 'nosuch', try 'list' for help\"") &&
			  strstr(got, "\"request\": \"NoSuch\""),
		  "%s", got);
	free(got);
	/* Go's encoder escapes <, > and & (and U+2028/U+2029) in every string it writes. */
	got = cap_run(c, "{\"request\":\"<&>\\u2028\"}", NULL);
	cr_expect(strstr(got, "\"Unknown action '\\u003c\\u0026\\u003e\\u2028', try 'list' "
			      "for help\"") != NULL,
		  "%s", got);
	cr_expect(strstr(got, "\"request\": \"\\u003c\\u0026\\u003e\\u2028\"") != NULL, "%s", got);
	free(got);
	/* Arguments decode like Go's json.Unmarshal into the request struct. */
	expect_text(c, "{\"request\":\"addPeer\",\"arguments\":{\"uri\":5}}",
		    "{\n  \"status\": \"error\",\n  \"error\": \"json: cannot unmarshal number into "
		    "Go struct field AddPeerRequest.uri of type string\",\n  \"request\": {\n    "
		    "\"request\": \"addPeer\",\n    \"arguments\": {\n      \"uri\": 5\n    }\n  "
		    "},\n  \"response\": null\n}\n");
	got = cap_run(c, "{\"request\":\"getSelf\",\"arguments\":[1]}", NULL);
	cr_expect(strstr(got, "\"json: cannot unmarshal array into Go value of type "
			      "admin.GetSelfRequest\"") != NULL, "%s", got);
	free(got);
	got = cap_run(c, "{\"request\":\"list\",\"arguments\":5}", NULL);
	cr_expect(strstr(got, "\"status\": \"success\"") != NULL, "list ignores arguments");
	free(got);
	got = cap_run(c, "{\"request\":\"addPeer\",\"arguments\":{\"URI\":\"tcp://h:1\","
		     "\"interface\":null}}", NULL);
	cr_expect(strstr(got, "\"status\": \"success\"") != NULL, "%s", got);
	cr_expect_eq(c->n_uris, 1);
	cr_expect_str_eq(c->ifaces[0], "");
	free(got);
	/* No core: commands fail, the envelope is still well formed. */
	got = cap_run(NULL, "{\"request\":\"getSelf\"}", NULL);
	cr_expect(strstr(got, "\"status\": \"error\"") && strstr(got, "\"response\": null"), "%s",
		  got);
	free(got);
	free(c);
}


/* ---- getSessions, getTun ---- */

Test(admin_cmds, getsessions_like_capture)
{
	struct core *a = fake_core_node_a(), *lone = fake_core_new();
	char *raw = cap_load("admin-raw-queries.txt");
	char *want = cap_section(raw, "getSessions, no sessions");
	char *self = cap_section(raw, "getSessions, a session with itself");
	char *got;
	json_t *g, *w;

	expect_like_capture(a, "{\"request\":\"getSessions\"}", "ctl-A-getSessions.json");
	expect_text(lone, "{\"request\":\"getSessions\"}", want);
	/* The lone node's session with itself: every field, in order. */
	fake_core_key("524263420dc7e3a839bf3931ff024a812d8416d0ad7c329f0e28a5e860b73a17",
		      lone->sessions[0].key);
	lone->sessions[0].bytes_recvd = 248;
	lone->sessions[0].bytes_sent = 251;
	lone->sessions[0].uptime_ms = 23016;
	lone->n_sessions = 1;
	got = cap_run(lone, "{\"request\":\"getSessions\"}", NULL);
	g = json_loads(got, 0, NULL);
	w = json_loads(self, 0, NULL);
	cr_assert_not_null(w);
	cap_same_json(g, w, "getSessions", 0); /* uptime within 1 ms */
	json_decref(g);
	json_decref(w);
	free(got);
	free(self);
	/* Whole seconds print as Go prints 5.0; bytes are plain integers. */
	a->sessions[0].uptime_ms = 5000;
	a->sessions[0].bytes_sent = 0;
	got = cap_run(a, "{\"request\":\"getsessions\"}", NULL);
	cr_expect(strstr(got, "\"bytes_sent\": 0,\n") && strstr(got, "\"uptime\": 5\n"), "%s", got);
	free(got);
	got = cap_run(NULL, "{\"request\":\"getSessions\"}", NULL);
	cr_expect(strstr(got, "\"error\": \"the node is not running\""), "%s", got);
	free(got);
	free(want);
	free(raw);
	free(a);
	free(lone);
}

Test(admin_cmds, gettun_like_captures)
{
	struct core *a = fake_core_node_a();
	struct tun ta = {.info = {.name = "ygtunA", .mtu = 65535}};
	struct tun tb = {.info = {.name = "ygtunB", .mtu = 1280}};
	char *raw = cap_load("admin-raw-queries.txt"), *want = cap_section(raw, "getTun disabled");
	const char *const files[] = {"ctl-A-getTun.json", "ctl-B-getTun.json"};
	const struct tun *tuns[] = {&ta, &tb};
	unsigned calls = a->n_calls;
	char *got;

	for (size_t i = 0; i < 2; i++) {
		char *mine = cap_run_on(a, tuns[i], "{\"request\":\"getTun\"}", NULL);
		char *theirs = cap_load(files[i]);
		json_t *m = json_loads(mine, 0, NULL), *t = json_loads(theirs, 0, NULL);

		cap_same_json(json_object_get(m, "response"), t, files[i], 0);
		json_decref(m);
		json_decref(t);
		free(mine);
		free(theirs);
	}
	expect_text(a, "{\"request\":\"getTun\"}", want);
	cr_expect_eq(a->n_calls, calls, "getTun does not ask the core");
	/* name and mtu are omitempty in 0.5.12's GetTUNResponse. */
	ta.info.name[0] = '\0';
	ta.info.mtu = 0;
	got = cap_run_on(NULL, &ta, "{\"request\":\"getTun\"}", NULL);
	cr_expect(strstr(got, "\"response\": {\n    \"enabled\": true\n  }\n"), "%s", got);
	free(got);
	free(want);
	free(raw);
	free(a);
}

/* ---- remote queries: argument errors (checked against a lone 0.5.12) ---- */

Test(admin_cmds, query_argument_errors_are_byte_exact)
{
	static const struct {
		const char *title, *req;
	} v[] = {
		{"getNodeInfo without key", "{\"request\":\"getNodeInfo\"}"},
		{"getNodeInfo odd length",
		 "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"abc\"}}"},
		{"getNodeInfo invalid odd byte",
		 "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"abz\"}}"},
		{"getNodeInfo non-ASCII byte",
		 "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"\\u00e9\"}}"},
		{"getNodeInfo control byte",
		 "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"a\\u0001\"}}"},
		{"getNodeInfo array arguments", "{\"request\":\"getNodeInfo\",\"arguments\":[1]}"},
		{"getTun array arguments", "{\"request\":\"getTun\",\"arguments\":[1]}"},
		{"getSessions array arguments", "{\"request\":\"getSessions\",\"arguments\":[1]}"},
		{"debug_remoteGetSelf without key", "{\"request\":\"debug_remoteGetSelf\"}"},
		{"debug_remoteGetSelf bad hex",
		 "{\"request\":\"debug_remoteGetSelf\",\"arguments\":{\"key\":\"zz\"}}"},
		{"debug_remoteGetSelf odd length",
		 "{\"request\":\"debug_remoteGetSelf\",\"arguments\":{\"key\":\"abc\"}}"},
		{"debug_remoteGetSelf numeric key",
		 "{\"request\":\"debug_remoteGetSelf\",\"arguments\":{\"key\":5}}"},
		{"debug_remoteGetPeers short key",
		 "{\"request\":\"debug_remoteGetPeers\",\"arguments\":{\"key\":\"ab\"}}"},
		{"debug_remoteGetTree array arguments",
		 "{\"request\":\"debug_remoteGetTree\",\"arguments\":[1]}"},
	};
	struct core *c = fake_core_node_a();
	char *raw = cap_load("admin-raw-queries.txt"), *raw1 = cap_load("admin-raw.txt");
	char *want;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		want = cap_section(raw, v[i].title);
		/* Go echoes the argument's escape as sent; jansson writes the character. */
		want = cap_subst(want, "\"\\u00e9\"", "\"\xc3\xa9\"");
		expect_text(c, v[i].req, want);
		free(want);
	}
	want = cap_section(raw1, "getNodeInfo bad key");
	expect_text(c, "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"zz\"}}", want);
	free(want);
	want = cap_section(raw1, "numeric arg where string expected");
	expect_text(c, "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":5}}", want);
	free(want);
	cr_expect_eq(c->n_queries, 0, "no query was sent");
	free(raw);
	free(raw1);
	free(c);
}

/* ---- remote queries: answers ---- */

/*
 * The text after "response": in a reply, and a capture printed by yggdrasilctl -json indented
 * one level deeper, as it sits in the envelope.
 */
static void expect_response_text(const char *reply, const char *file)
{
	const char *at = strstr(reply, "\n  \"response\": ");
	char *cap = cap_load(file), *want;
	size_t n = strlen(cap);

	cr_assert_not_null(at, "%s", reply);
	while (n && cap[n - 1] == '\n')
		cap[--n] = '\0';
	want = cap_subst(cap, "\n", "\n  ");
	cr_expect_eq(strncmp(at + strlen("\n  \"response\": "), want, strlen(want)), 0,
		     "%s:\n%s\nvs\n%s", file, at, want);
	cr_expect_str_eq(at + strlen("\n  \"response\": ") + strlen(want), "\n}\n");
	free(want);
}

/* Runs req against c (whose answer to q was set) and checks the query and the reply. */
static void expect_query(struct core *c, const char *req, enum core_query q, const char *key,
			 const char *file)
{
	unsigned n = c->n_queries;
	uint8_t want_key[32];
	char *got = cap_run(c, req, NULL);
	json_t *g = json_loads(got, 0, NULL), *w;
	char *cap = cap_load(file);

	cr_expect_eq(c->n_queries, n + 1);
	fake_core_key(key, want_key);
	cr_expect_eq(c->queries[0].q, q, "each query ended, so slot 0 is reused");
	cr_expect_eq(memcmp(c->queries[0].key, want_key, 32), 0, "queried %s", key);
	w = json_loads(cap, 0, NULL);
	cr_assert_not_null(g, "%s", got);
	cr_expect_str_eq(json_string_value(json_object_get(g, "status")), "success", "%s", got);
	cap_same_json(json_object_get(g, "response"), w, file, 0);
	expect_response_text(got, file);
	json_decref(g);
	json_decref(w);
	free(cap);
	free(got);
}

Test(admin_cmds, remote_answers_like_captures)
{
	struct core *c = fake_core_node_a();
	uint8_t keys[64];
	char req[256];

	fake_core_set_answer(c, CORE_QUERY_NODEINFO, "{\"location\":\"netns\",\"name\":\"node-B\"}",
			     0);
	snprintf(req, sizeof(req), "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"%s\"}}",
		 FAKE_KEY_B);
	expect_query(c, req, CORE_QUERY_NODEINFO, FAKE_KEY_B, "ctl-A-getNodeInfo-B.json");
	fake_core_set_answer(c, CORE_QUERY_NODEINFO,
			     "{\"buildarch\":\"amd64\",\"buildname\":\"yggdrasil\","
			     "\"buildplatform\":\"linux\",\"buildversion\":\"0.5.12\"}",
			     0);
	snprintf(req, sizeof(req), "{\"request\":\"getnodeinfo\",\"arguments\":{\"key\":\"%s\"}}",
		 FAKE_KEY_C);
	expect_query(c, req, CORE_QUERY_NODEINFO, FAKE_KEY_C, "ctl-A-getNodeInfo-C.json");

	fake_core_set_answer(c, CORE_QUERY_SELF,
			     "{\"key\":\"" FAKE_KEY_C "\",\"routing_entries\":\"2\"}", 0);
	snprintf(req, sizeof(req), "{\"request\":\"debug_remoteGetSelf\",\"arguments\":"
		 "{\"key\":\"%s\"}}", FAKE_KEY_C);
	expect_query(c, req, CORE_QUERY_SELF, FAKE_KEY_C, "ctl-A-debug_remoteGetSelf-C.json");

	fake_core_key(FAKE_KEY_A, keys);
	fake_core_key(FAKE_KEY_C, keys + 32);
	fake_core_set_answer(c, CORE_QUERY_PEERS, keys, 64);
	snprintf(req, sizeof(req), "{\"request\":\"debug_remoteGetPeers\",\"arguments\":"
		 "{\"key\":\"%s\"}}", FAKE_KEY_B);
	expect_query(c, req, CORE_QUERY_PEERS, FAKE_KEY_B, "ctl-A-debug_remoteGetPeers-B.json");

	fake_core_key(FAKE_KEY_C, keys);
	fake_core_key(FAKE_KEY_B, keys + 32);
	fake_core_set_answer(c, CORE_QUERY_TREE, keys, 64);
	snprintf(req, sizeof(req), "{\"request\":\"debug_remoteGetTree\",\"arguments\":"
		 "{\"key\":\"%s\"}}", FAKE_KEY_C);
	expect_query(c, req, CORE_QUERY_TREE, FAKE_KEY_C, "ctl-A-debug_remoteGetTree-C.json");
	free(c);
}

/* A lone 0.5.12 asked about itself: whole envelopes, byte for byte. */
Test(admin_cmds, remote_answers_byte_exact)
{
	static const char k[] = "524263420dc7e3a839bf3931ff024a812d8416d0ad7c329f0e28a5e860b73a17";
	struct core *c = fake_core_new();
	char *raw = cap_load("admin-raw-queries.txt"), *want, req[256];
	uint8_t key[32];

	fake_core_key(k, key);
	fake_core_set_answer(c, CORE_QUERY_PEERS, key, 31); /* less than a key: no "keys" */
	snprintf(req, sizeof(req),
		 "{\"request\":\"debug_remoteGetPeers\",\"arguments\":{\"key\":\"%s\"}}", k);
	want = cap_section(raw, "debug_remoteGetPeers of a node without peers");
	expect_text(c, req, want);
	free(want);

	fake_core_set_answer(c, CORE_QUERY_TREE, key, 32);
	snprintf(req, sizeof(req),
		 "{\"request\":\"debug_remoteGetTree\",\"arguments\":{\"key\":\"%s\"}}", k);
	want = cap_section(raw, "debug_remoteGetTree of a lone node");
	expect_text(c, req, want);
	free(want);

	fake_core_set_answer(c, CORE_QUERY_SELF,
			     "{\"key\":\"524263420dc7e3a839bf3931ff024a812d8416d0ad7c329f0e28a5e86"
			     "0b73a17\",\"routing_entries\":\"1\"}",
			     0);
	snprintf(req, sizeof(req),
		 "{\"request\":\"debug_remoteGetSelf\",\"arguments\":{\"key\":\"%s\"}}",
		 "524263420DC7E3A839BF3931FF024A812D8416D0AD7C329F0E28A5E860B73A17");
	want = cap_section(raw, "debug_remoteGetSelf of itself, key in upper case");
	expect_text(c, req, want);
	free(want);
	cr_expect_eq(c->n_queries, 3);
	free(raw);
	free(c);
}

/*
 * getNodeInfo takes the key as Go's copy() into [32]byte does, and answers with the remote's
 * raw JSON: its number spellings and escapes stay, nil is null, invalid JSON is an error.
 */
Test(admin_cmds, nodeinfo_keys_and_raw_json)
{
	struct core *c = fake_core_new();
	uint8_t zero_pad[32] = {0xab, 0xcd};
	char req[256], *got, long_key[67];

	fake_core_set_answer(c, CORE_QUERY_NODEINFO, "{ \"n\" : 1.50,\"s\":\"<x>\\u00e9\"}", 0);
	got = cap_run(c, "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"ABCD\"}}", NULL);
	cr_expect(strstr(got, "\"response\": {\n    \"abcd\": {\n      \"n\": 1.50,\n      \"s\": "
			      "\"\\u003cx\\u003e\\u00e9\"\n    }\n  }\n}\n"),
		  "short keys are zero-padded, the response key is the hex given, lowercase: %s",
		  got);
	cr_expect_eq(memcmp(c->queries[0].key, zero_pad, 32), 0);
	free(got);

	memset(long_key, 'e', 66);
	long_key[66] = '\0';
	snprintf(req, sizeof(req), "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"%s\"}}",
		 long_key);
	fake_core_set_answer(c, CORE_QUERY_NODEINFO, NULL, 0);
	got = cap_run(c, req, NULL);
	cr_expect(strstr(got, "\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
			      "eeee\": null"),
		  "33 bytes: the first 32 are the key; an empty answer is Go's nil RawMessage: %s",
		  got);
	cr_expect_eq(c->queries[0].key[31], 0xee);
	free(got);

	fake_core_set_answer(c, CORE_QUERY_NODEINFO, "{\"a\":x}", 0);
	got = cap_run(c, req, NULL);
	cr_expect(strstr(got, "\"error\": \"Failed to marshal response: json: error calling "
			      "MarshalJSON for type json.RawMessage: invalid character 'x' looking "
			      "for beginning of value\""),
		  "%s", got);
	cr_expect(strstr(got, "\"response\": null"), "%s", got);
	free(got);
	cr_expect_eq(c->n_queries, 3);
	free(c);
}

static void on_reply(void *ctx, struct admin_reply *r)
{
	*(struct admin_reply *)ctx = *r;
}

/* 64 hex digits nobody answers (admin-raw*.txt). */
#define KEY_AB "abababababababababababababababababababababababababababababababab"
#define KEY_CD "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

/* admin_cmds_run that must leave the request pending. */
static struct admin_pending *run_pending(struct core *c, const char *req, struct admin_reply *r)
{
	struct admin_reply direct = {0};
	struct admin_pending *p = admin_cmds_run(c, NULL, NULL, req, strlen(req), &direct, on_reply, r);

	cr_assert_not_null(p, "%s is pending", req);
	cr_expect_null(direct.text, "no reply while the query is pending");
	return p;
}

Test(admin_cmds, pending_ends_in_answer_expiry_or_cancel)
{
	static const char info[] = "{\"request\":\"getNodeInfo\",\"arguments\":{\"key\":\"" KEY_AB
				   "\"}}";
	static const char info_ka[] = "{\"request\":\"getNodeInfo\",\"keepalive\":true,"
				      "\"arguments\":{\"key\":\"" KEY_AB "\"}}";
	static const char tree[] = "{\"request\":\"debug_remoteGetTree\",\"arguments\":"
				   "{\"key\":\"" KEY_CD "\"}}";
	struct core *c = fake_core_node_a();
	struct admin_reply r = {0}, direct = {0};
	struct admin_pending *p;
	char *raw = cap_load("admin-raw.txt"), *raw2 = cap_load("admin-raw-queries.txt");
	char *want = cap_section(raw, "getNodeInfo unknown (unreachable) key -> timeout after 6 s");
	char *want2 = cap_section(raw2, "debug_remoteGetTree unanswered -> timeout after 6 s");
	/* The echo's fields come in Go's struct order: request, arguments, keepalive. */
	char *want_ka = cap_subst(strdup(want), "\n    }\n  },\n  \"response\"",
				  "\n    },\n    \"keepalive\": true\n  },\n  \"response\"");

	/* Expiry: yggdrasil's timeout texts, byte for byte; the query is cancelled in the core. */
	admin_cmds_expire(run_pending(c, info, &r), &direct);
	cr_expect_str_eq(direct.text, want);
	cr_expect_not(direct.is_keepalive);
	cr_expect_eq(c->n_cancels, 1);
	free(direct.text);
	admin_cmds_expire(run_pending(c, info_ka, &r), &direct);
	cr_expect_str_eq(direct.text, want_ka);
	cr_expect(direct.is_keepalive);
	free(direct.text);
	admin_cmds_expire(run_pending(c, tree, &r), &direct);
	cr_expect_str_eq(direct.text, want2);
	free(direct.text);
	cr_expect_null(r.text, "the done callback never ran");
	cr_expect_eq(c->n_cancels, 3);

	/* The core's own timeout (-ETIMEDOUT) says the same. */
	c->answers[CORE_QUERY_TREE].err = -ETIMEDOUT;
	run_pending(c, tree, &r);
	fake_core_answer(c, fake_core_pending(c));
	cr_expect_str_eq(r.text, want2);
	free(r.text);
	r.text = NULL;

	/* Replaced in the core by a newer query to the same node: wait for the timeout, as Go. */
	c->answers[CORE_QUERY_TREE].err = -ECANCELED;
	p = run_pending(c, tree, &r);
	fake_core_answer(c, fake_core_pending(c));
	cr_expect_null(r.text, "still pending");
	admin_cmds_expire(p, &direct);
	cr_expect_str_eq(direct.text, want2);
	free(direct.text);

	/* Cancel: nothing is written, the core forgets the query. */
	admin_cmds_cancel(run_pending(c, info_ka, &r));
	cr_expect_eq(c->n_cancels, 4, "expiring a query the core dropped cancels nothing");
	cr_expect_null(r.text);

	/* An answer from inside core_query: the reply comes at once, not through the callback. */
	c->answer_delay_ms = 0;
	fake_core_set_answer(c, CORE_QUERY_NODEINFO, "{}", 0);
	cr_expect_null(admin_cmds_run(c, NULL, NULL, info, strlen(info), &direct, on_reply, &r));
	cr_assert_not_null(direct.text);
	cr_expect(strstr(direct.text, "\"" KEY_AB "\": {}\n") != NULL, "%s", direct.text);
	cr_expect_null(r.text);
	free(direct.text);

	/* core_query fails: its errno as the error. */
	c->query_err = -ENOMEM;
	cr_expect_null(admin_cmds_run(c, NULL, NULL, info, strlen(info), &direct, on_reply, &r));
	cr_expect(strstr(direct.text, "\"error\": \"Cannot allocate memory\""), "%s", direct.text);
	free(direct.text);

	/* No core: the node is not running (after the argument checks). */
	cr_expect_null(admin_cmds_run(NULL, NULL, NULL, info, strlen(info), &direct, on_reply, &r));
	cr_expect(strstr(direct.text, "\"error\": \"the node is not running\""), "%s", direct.text);
	free(direct.text);

	free(want);
	free(want_ka);
	free(want2);
	free(raw);
	free(raw2);
	free(c);
}
