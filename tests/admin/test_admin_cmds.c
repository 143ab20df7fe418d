/*
 * test_admin_cmds: the request layer of the admin socket (src/admin/admin_cmds.c) against a
 * fake core: every reply is compared, byte for byte where our clock allows and otherwise
 * field by field in order, with what yggdrasil 0.5.12 printed (tests/data/admin/, copied from
 * spec vectors-core/netns-out), plus Go's request-decoding rules checked against the real
 * daemon by hand. No sockets, no loop.
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_cmds.h"
#include "support/capture.h"
#include "support/fake_core.h"

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

	cr_assert(json_is_array(gl));
	cr_expect_eq(json_array_size(gl), 7);
	json_array_foreach (gl, i, e) {
		const char *name = json_string_value(json_object_get(e, "command"));
		size_t j;
		json_t *r, *match = NULL;

		cr_expect_gt(strcmp(name, prev), 0, "sorted: %s after %s", name, prev);
		prev = name;
		json_array_foreach (wl, j, r)
			if (!strcmp(json_string_value(json_object_get(r, "command")), name))
				match = r;
		cr_assert_not_null(match, "%s is a 0.5.12 command", name);
		cap_same_json(e, match, name, 0);
	}
	cr_expect_eq(c->n_calls, 0);
	json_decref(g);
	json_decref(w);
	free(got);
	free(want);
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

