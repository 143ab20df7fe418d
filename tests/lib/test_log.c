/*
 * Tests for lib/log: level names, filtering (and lazy argument evaluation), the
 * yggdrasil-compatible line format, errno suffixes, sinks, and the token-bucket rate limiter
 * driven by a fake clock.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "support/hex.h"

static FILE *mem;
static char *mbuf;
static size_t msize;

static void setup(void)
{
	mem = open_memstream(&mbuf, &msize);
	cr_assert_not_null(mem);
	log_set_stream(mem);
	log_set_level(LOG_LEVEL_INFO);
}

static void teardown(void)
{
	log_set_stream(NULL);
	fclose(mem);
	free(mbuf);
}

/* What has been logged so far (emit flushes after each line, which updates mbuf). */
static const char *out(void)
{
	fflush(mem);
	return mbuf ? mbuf : "";
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, level_parse_and_names)
{
	static const char *names[] = {"error", "warn", "info", "debug", "trace"};
	enum log_level l;

	for (int i = 0; i < 5; i++) {
		cr_assert(log_level_parse(names[i], &l), "%s", names[i]);
		cr_assert_eq(l, (enum log_level)i);
		cr_assert_str_eq(log_level_name(l), names[i]);
	}
	cr_assert(log_level_parse("WARN", &l));
	cr_assert_eq(l, LOG_LEVEL_WARN);
	cr_assert(log_level_parse("Debug", &l));
	cr_assert_eq(l, LOG_LEVEL_DEBUG);

	l = LOG_LEVEL_TRACE;
	cr_assert_not(log_level_parse("", &l));
	cr_assert_not(log_level_parse("warning", &l));
	cr_assert_not(log_level_parse("info ", &l));
	cr_assert_not(log_level_parse("verbose", &l));
	cr_assert_eq(l, LOG_LEVEL_TRACE, "failed parse leaves *out alone");
	cr_assert_str_eq(log_level_name((enum log_level)42), "?");
}

/* No fixture: the defaults as the daemon starts with them (each test is its own process). */
Test(log_defaults, info_to_stdout)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDOUT_FILENO);
	char line[256] = "";

	cr_assert_eq(log_current_level, LOG_LEVEL_INFO);
	cr_assert_not_null(tmp);
	cr_assert_geq(saved, 0);
	fflush(stdout);
	cr_assert_geq(dup2(fileno(tmp), STDOUT_FILENO), 0);
	log_debug("not at info");
	log_info("default sink");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);

	rewind(tmp);
	cr_assert_not_null(fgets(line, sizeof(line), tmp));
	cr_assert_not_null(strstr(line, " [info] default sink\n"), "got \"%s\"", line);
	cr_assert_null(fgets(line, sizeof(line), tmp), "debug was filtered");
	fclose(tmp);
}

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

Test(log, level_filtering)
{
	log_set_level(LOG_LEVEL_WARN);
	log_info("hidden info %d", side_effect());
	log_debug("hidden debug %d", side_effect());
	log_trace("hidden trace");
	cr_assert_eq(evaluated, 0, "arguments of disabled levels are not evaluated");
	cr_assert_str_eq(out(), "");

	log_warn("shown warn %d", side_effect());
	log_error("shown error");
	cr_assert_eq(evaluated, 1);
	cr_assert_not_null(strstr(out(), "[warn] shown warn 1\n"));
	cr_assert_not_null(strstr(out(), "[error] shown error\n"));
	cr_assert_null(strstr(out(), "hidden"));
	cr_assert_eq(count_lines(out()), 2);

	log_set_level(LOG_LEVEL_TRACE);
	log_trace("now visible");
	cr_assert_not_null(strstr(out(), "[trace] now visible\n"));

	log_set_level(LOG_LEVEL_ERROR);
	log_warn_errno(EIO, "hidden errno warn");
	cr_assert_null(strstr(out(), "hidden errno"));
}

Test(log, line_format)
{
	regex_t re;
	int rc;

	log_warn("hello %s %d", "world", 42);
	/* Go log.LstdFlags, as yggdrasil-go prints: "2006/01/02 15:04:05 [warn] msg". */
	cr_assert_eq(regcomp(&re,
			     "^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} "
			     "\\[warn\\] hello world 42\n$",
			     REG_EXTENDED),
		     0);
	rc = regexec(&re, out(), 0, NULL, 0);
	regfree(&re);
	cr_assert_eq(rc, 0, "line was \"%s\"", out());
}

Test(log, errno_suffix)
{
	log_msg_errno(LOG_LEVEL_WARN, -ENOENT, "open %s", "/nope");
	cr_assert_not_null(strstr(out(), "[warn] open /nope: No such file or directory\n"),
			   "got \"%s\"", out());
	log_error_errno(EACCES, "bind");
	cr_assert_not_null(strstr(out(), "[error] bind: Permission denied\n"), "got \"%s\"", out());
}

Test(log, preserves_errno)
{
	errno = EAGAIN;
	log_info("x");
	log_msg_errno(LOG_LEVEL_INFO, ENOENT, "y");
	cr_assert_eq(errno, EAGAIN);
}

Test(log, long_message_truncated)
{
	char big[5000];
	const char *s;
	size_t n;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	s = out();
	n = strlen(s);
	cr_assert_lt(n, 2100, "line is bounded");
	cr_assert_eq(count_lines(s), 1);
	cr_assert_str_eq(s + n - 5, "a...\n");
}

Test(log, fatalx_exits_1, .exit_code = 1)
{
	fatalx("giving up: %d", 7);
}

Test(log, set_target_file)
{
	char dir[] = "/tmp/test_log.XXXXXX", path[64];
	char *text;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ygg.log", dir);
	cr_assert_eq(log_set_target(path), 0);
	log_warn("to the file");
	cr_assert_eq(log_set_target(path), 0); /* reopen appends */
	log_info("second");
	log_close();

	text = th_read_file(path, NULL);
	cr_assert_not_null(text);
	cr_assert_not_null(strstr(text, "[warn] to the file\n"));
	cr_assert_not_null(strstr(text, "[info] second\n"));
	cr_assert_eq(count_lines(text), 2);
	free(text);
	cr_assert_str_eq(out(), "", "nothing went to the test stream");
	unlink(path);
	rmdir(dir);
}

Test(log, set_target_errors_keep_sink)
{
	cr_assert_eq(log_set_target("/nonexistent-dir/x/y.log"), -ENOENT);
	cr_assert_eq(log_set_target(""), -EINVAL);
	cr_assert_eq(log_set_target(NULL), -EINVAL);
	log_warn("still here");
	cr_assert_not_null(strstr(out(), "[warn] still here\n"));
}

Test(log, set_target_named_sinks)
{
	cr_assert_eq(log_set_target("stderr"), 0);
	cr_assert_eq(log_set_target("stdout"), 0);
	cr_assert_eq(log_set_target("syslog"), 0);
	log_debug("not enabled, never reaches syslog");
	log_close();
	log_set_stream(mem);
	log_warn("back");
	cr_assert_not_null(strstr(out(), "[warn] back\n"));
}

Test(log, ratelimit_burst_then_refill)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(3, 1);
	uint64_t t = 1000000;

	for (int i = 0; i < 3; i++)
		cr_assert(log_ratelimit_ok(&rl, t), "burst message %d", i);
	cr_assert_not(log_ratelimit_ok(&rl, t));
	cr_assert_not(log_ratelimit_ok(&rl, t + 500));
	cr_assert_not(log_ratelimit_ok(&rl, t + 999));
	cr_assert_eq(rl.suppressed, 3);

	cr_assert(log_ratelimit_ok(&rl, t + 1000), "one token per second");
	cr_assert_not(log_ratelimit_ok(&rl, t + 1001));
	cr_assert_eq(rl.suppressed, 4, "suppressed stays until reported");

	/* A long quiet spell refills to burst, never beyond. */
	t += 3600 * 1000;
	for (int i = 0; i < 3; i++)
		cr_assert(log_ratelimit_ok(&rl, t));
	cr_assert_not(log_ratelimit_ok(&rl, t));
}

Test(log, ratelimit_carries_fractions)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 2); /* a token per 500 ms */

	cr_assert(log_ratelimit_ok(&rl, 0));
	cr_assert_not(log_ratelimit_ok(&rl, 300));
	/* 300 ms were not thrown away by the failed call: at 500 a token is there. */
	cr_assert(log_ratelimit_ok(&rl, 500));
	cr_assert_not(log_ratelimit_ok(&rl, 999));
	cr_assert(log_ratelimit_ok(&rl, 1000));
	/* A clock that goes backwards does not mint tokens. */
	cr_assert_not(log_ratelimit_ok(&rl, 10));
	cr_assert_not(log_ratelimit_ok(&rl, 400));
	cr_assert(log_ratelimit_ok(&rl, 510));
}

Test(log, ratelimit_zero_rate_never_refills)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(2, 0);

	cr_assert(log_ratelimit_ok(&rl, 0));
	cr_assert(log_ratelimit_ok(&rl, 0));
	cr_assert_not(log_ratelimit_ok(&rl, UINT64_MAX / 2));
	cr_assert_eq(rl.suppressed, 1);
}

Test(log, ratelimited_macro_reports_suppressed)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(2, 1);

	for (int i = 0; i < 5; i++)
		log_ratelimited(&rl, 0, LOG_LEVEL_WARN, "drop %d", i);
	cr_assert_eq(count_lines(out()), 2);
	cr_assert_not_null(strstr(out(), "drop 1\n"));
	cr_assert_null(strstr(out(), "drop 2"));
	cr_assert_eq(rl.suppressed, 3);

	log_ratelimited(&rl, 1000, LOG_LEVEL_WARN, "drop %d", 5);
	cr_assert_not_null(strstr(out(), "[warn] 3 messages suppressed\n"), "got \"%s\"", out());
	cr_assert_not_null(strstr(out(), "[warn] drop 5\n"));
	cr_assert(strstr(out(), "suppressed") < strstr(out(), "drop 5"), "report comes first");
	cr_assert_eq(rl.suppressed, 0);

	/* A disabled level neither logs nor spends tokens. */
	rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 1);
	log_ratelimited(&rl, 0, LOG_LEVEL_DEBUG, "quiet");
	cr_assert_eq(rl.tokens, 1);
	cr_assert_null(strstr(out(), "quiet"));
}
