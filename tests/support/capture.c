/*
 * capture: see capture.h. Owns nothing between calls.
 */
#include "support/capture.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_cmds.h"
#include "support/fake_core.h"
#include "support/hex.h"

#define DATA YGG64_TEST_DATA "/admin/"

char *cap_load(const char *name)
{
	char path[512];
	char *s;

	snprintf(path, sizeof(path), DATA "%s", name);
	s = th_read_file(path, NULL);
	cr_assert_not_null(s, "cannot read %s", path);
	return s;
}

char *cap_section(const char *text, const char *title)
{
	char head[256];
	const char *p, *end;
	char *s;

	snprintf(head, sizeof(head), "### %s\n", title);
	p = strstr(text, head);
	cr_assert_not_null(p, "no section %s", title);
	p += strlen(head);
	end = strstr(p, "\n### ");
	if (!end)
		end = p + strlen(p) - 1;
	while (end > p && end[-1] == '\n')
		end--;
	s = strndup(p, (size_t)(end - p) + 1);
	return s;
}

char *cap_subst(char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	char *out, *o;

	for (const char *p = s; (p = strstr(p, from)); p += nf)
		n++;
	out = o = malloc(strlen(s) + n * (nt + 1) + 1);
	for (const char *p = s, *q; *p; p = q + nf) {
		q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			o += strlen(p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, nt);
		o += nt;
	}
	*o = '\0';
	free(s);
	return out;
}

char *cap_ours(char *s)
{
	s = cap_subst(s, "\"build_name\": \"yggdrasil\"", "\"build_name\": \"ygg64\"");
	return cap_subst(s, "\"build_version\": \"0.5.12\"",
			 "\"build_version\": \"" YGG64_VERSION "\"");
}

static void on_reply(void *ctx, struct admin_reply *r)
{
	*(struct admin_reply *)ctx = *r;
}

char *cap_run_on(struct core *c, const struct tun *t, const char *req, bool *is_keepalive)
{
	struct admin_reply r = {0};
	struct admin_pending *p = admin_cmds_run(c, t, NULL, req, strlen(req), &r, on_reply, &r);

	if (p) {
		/* A remote query: the fake core answers it now. */
		cr_assert_null(r.text);
		fake_core_answer(c, fake_core_pending(c));
	}
	cr_assert_not_null(r.text);
	cr_assert_eq(strlen(r.text), r.len);
	cr_assert_eq(r.text[r.len - 1], '\n', "replies end with a newline");
	if (is_keepalive)
		*is_keepalive = r.is_keepalive;
	return r.text;
}

char *cap_run(struct core *c, const char *req, bool *is_keepalive)
{
	return cap_run_on(c, NULL, req, is_keepalive);
}

/* Per-key tolerances where our clock is coarser than Go's (milliseconds, not nanoseconds). */
static double tolerance(const char *k)
{
	if (!strcmp(k, "uptime"))
		return 0.001;
	if (!strcmp(k, "last_error_time"))
		return 1e6;
	return 0;
}

void cap_same_json(json_t *a, json_t *b, const char *path, double tol)
{
	cr_assert_not_null(a, "%s missing", path);
	if (json_is_number(b)) {
		cr_assert(json_is_number(a), "%s: not a number", path);
		cr_expect(fabs(json_number_value(a) - json_number_value(b)) <= tol,
			  "%s: %.9f vs %.9f", path, json_number_value(a), json_number_value(b));
		return;
	}
	cr_assert_eq(json_typeof(a), json_typeof(b), "%s: kinds differ", path);
	if (json_is_string(b)) {
		if (!strstr(path, "build_"))
			cr_expect_str_eq(json_string_value(a), json_string_value(b), "%s", path);
	} else if (json_is_array(b)) {
		cr_assert_eq(json_array_size(a), json_array_size(b), "%s: lengths differ", path);
		for (size_t i = 0; i < json_array_size(b); i++) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			cap_same_json(json_array_get(a, i), json_array_get(b, i), sub, tol);
		}
	} else if (json_is_object(b)) {
		void *ia = json_object_iter(a), *ib = json_object_iter(b);

		for (; ib; ia = json_object_iter_next(a, ia), ib = json_object_iter_next(b, ib)) {
			const char *kb = json_object_iter_key(ib);
			char sub[256];

			cr_assert_not_null(ia, "%s: %s missing", path, kb);
			cr_assert_str_eq(json_object_iter_key(ia), kb, "%s: field order", path);
			snprintf(sub, sizeof(sub), "%s.%s", path, kb);
			cap_same_json(json_object_iter_value(ia), json_object_iter_value(ib), sub,
				  tolerance(kb));
		}
		cr_assert_null(ia, "%s: extra field %s", path, ia ? json_object_iter_key(ia) : "");
	}
}

