/*
 * capture: test helpers around the replies yggdrasil 0.5.12 gave (tests/data/admin/, copied
 * from spec vectors-core/netns-out, or captured from a lone 0.5.12 in admin-raw-queries.txt):
 * reading them, cutting "### title" sections out of the raw admin-socket transcripts, running a
 * request through admin_cmds_run() (remote queries answered by the fake core), and comparing
 * JSON field by field in order. Failures are Criterion assertions.
 *
 * Every returned string is heap memory the caller frees; cap_subst and cap_ours consume s.
 */
#ifndef YGG64_TESTS_SUPPORT_CAPTURE_H
#define YGG64_TESTS_SUPPORT_CAPTURE_H

#include <jansson.h>
#include <stdbool.h>

struct core;
struct tun;

/* tests/data/admin/<name>, NUL-terminated. */
char *cap_load(const char *name);
/* The body of "### title" in a transcript, up to the next title (blank lines dropped). */
char *cap_section(const char *text, const char *title);
/* s with every from replaced by to. */
char *cap_subst(char *s, const char *from, const char *to);
/* yggdrasil's build name and version in a capture turned into ours. */
char *cap_ours(char *s);
/*
 * admin_cmds_run(c, t, req): the reply text, checked to be one line-terminated object. A remote
 * query that the fake core c has not answered yet is answered at once (fake_core_answer).
 */
char *cap_run_on(struct core *c, const struct tun *t, const char *req, bool *is_keepalive);
/* cap_run_on without a TUN. */
char *cap_run(struct core *c, const char *req, bool *is_keepalive);
/*
 * Asserts that a holds the fields of b in the same order, of the same kinds (integer and real
 * are both numbers) and values; numbers may differ by tol (uptime and last_error_time by our
 * millisecond clock); build_name/build_version values are not compared. path names b.
 */
void cap_same_json(json_t *a, json_t *b, const char *path, double tol);

#endif
