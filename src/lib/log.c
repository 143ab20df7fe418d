/*
 * log: levelled logging to stdout, stderr, syslog or an append-only file (see log.h).
 *
 * Owns: the sink state below, one of the two mutable globals the project allows (STYLE.md §16),
 * plus log_current_level. A file sink's FILE is owned here and closed when the sink changes; a
 * stream given to log_set_stream is borrowed.
 *
 * Line format for stream sinks matches yggdrasil-go, whose logger is Go's log package with
 * LstdFlags: "YYYY/MM/DD HH:MM:SS [level] message", local time, one write per line, flushed at
 * once so that lines are not lost when the daemon dies. Syslog gets only "message" (syslogd
 * adds its own time stamp) under openlog("ygg64", LOG_PID, LOG_DAEMON).
 *
 * Invariants: logging never changes errno, never allocates, and truncates a message that does
 * not fit MSG_MAX bytes, marking it with "...".
 *
 * Timers: none. The rate limiter takes the time as a parameter (STYLE.md §14).
 */
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

enum { MSG_MAX = 2048 };

enum log_level log_current_level = LOG_LEVEL_INFO;

static struct {
	enum log_sink kind;
	FILE *file;   /* LOG_SINK_FILE: owned */
	FILE *stream; /* log_set_stream: borrowed, takes precedence over kind */
} sink = {.kind = LOG_SINK_STDOUT};

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warn",   [LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

/* RFC 5424 §6.2.1 severities: trace has no counterpart and shares LOG_DEBUG. */
static const int level_prio[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,   [LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG, [LOG_LEVEL_TRACE] = LOG_DEBUG,
};

bool log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

const char *log_level_name(enum log_level l)
{
	if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[l];
}

void log_set_level(enum log_level l)
{
	log_current_level = l;
}

/* Releases whatever the current sink holds; the caller chooses the next one. */
static void sink_release(void)
{
	if (sink.kind == LOG_SINK_FILE && sink.file) {
		fclose(sink.file);
		sink.file = NULL;
	}
	if (sink.kind == LOG_SINK_SYSLOG)
		closelog();
	sink.stream = NULL;
}

int log_set_target(const char *target)
{
	enum log_sink kind;
	FILE *f = NULL;

	if (!target || !*target)
		return -EINVAL;
	if (strcmp(target, "stdout") == 0) {
		kind = LOG_SINK_STDOUT;
	} else if (strcmp(target, "stderr") == 0) {
		kind = LOG_SINK_STDERR;
	} else if (strcmp(target, "syslog") == 0) {
		kind = LOG_SINK_SYSLOG;
	} else {
		/* "e": O_CLOEXEC, so the log file does not leak into children. */
		f = fopen(target, "ae");
		if (!f)
			return -errno;
		kind = LOG_SINK_FILE;
	}
	/* Only now that the new sink is ready does the old one go. */
	sink_release();
	sink.kind = kind;
	sink.file = f;
	if (kind == LOG_SINK_SYSLOG)
		openlog("ygg64", LOG_PID, LOG_DAEMON);
	return 0;
}

void log_close(void)
{
	sink_release();
	sink.kind = LOG_SINK_STDERR;
}

void log_set_stream(FILE *f)
{
	sink_release();
	sink.kind = LOG_SINK_STDERR;
	sink.stream = f;
}

static FILE *sink_stream(void)
{
	if (sink.stream)
		return sink.stream;
	switch (sink.kind) {
	case LOG_SINK_STDOUT:
		return stdout;
	case LOG_SINK_FILE:
		if (sink.file)
			return sink.file;
		break;
	case LOG_SINK_STDERR:
	case LOG_SINK_SYSLOG:
		break;
	}
	return stderr;
}

/* Absolute errno value; INT_MIN has none and is passed through (strerror says "Unknown"). */
static int errno_abs(int err)
{
	return err < 0 && err != INT_MIN ? -err : err;
}

static void emit(enum log_level l, const char *msg)
{
	char ts[32];
	struct tm tm;
	time_t t;
	FILE *f;

	if (sink.kind == LOG_SINK_SYSLOG && !sink.stream) {
		syslog(level_prio[l], "%s", msg);
		return;
	}
	t = time(NULL);
	if (!localtime_r(&t, &tm) || !strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", &tm))
		strcpy(ts, "0000/00/00 00:00:00");
	f = sink_stream();
	fprintf(f, "%s [%s] %s\n", ts, level_names[l], msg);
	fflush(f);
}

/* Formats the message (plus ": strerror(err)" when has_err) and sends it to the sink. */
__attribute__((format(printf, 4, 0))) static void vlog(enum log_level l, bool has_err, int err,
						       const char *fmt, va_list ap)
{
	int saved_errno = errno;
	bool is_trunc = false;
	char msg[MSG_MAX];
	size_t len;
	int n;

	if ((unsigned)l > (unsigned)LOG_LEVEL_TRACE)
		l = LOG_LEVEL_ERROR;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0) {
		strcpy(msg, "(log format error)");
		n = (int)strlen(msg);
	}
	len = (size_t)n;
	if (len >= sizeof(msg)) {
		is_trunc = true;
		len = sizeof(msg) - 1;
	}
	if (has_err && !is_trunc) {
		n = snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(errno_abs(err)));
		is_trunc = n > 0 && (size_t)n >= sizeof(msg) - len;
	}
	if (is_trunc)
		memcpy(msg + sizeof(msg) - 4, "...", 3);
	emit(l, msg);
	errno = saved_errno;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(l, false, 0, fmt, ap);
	va_end(ap);
}

void log_msg_errno(enum log_level l, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(l, true, err, fmt, ap);
	va_end(ap);
}

_Noreturn void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, false, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

_Noreturn void fatal(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, true, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Token bucket: up to burst tokens, per_sec tokens per 1000 ms. Whole tokens are added and
 * last_ms advances only by the time they account for, so the fraction of a token earned so far
 * is carried over instead of being lost on frequent calls. per_sec == 0 never refills.
 */
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ms)
{
	if (now_ms < rl->last_ms) {
		rl->last_ms = now_ms; /* clock went back: restart the interval */
	} else if (rl->per_sec && rl->tokens < rl->burst) {
		uint64_t elapsed = now_ms - rl->last_ms;
		uint64_t refill;

		/* Past burst seconds the bucket is full at any rate >= 1/s; also avoids overflow.
		 */
		if (elapsed >= (uint64_t)rl->burst * 1000) {
			refill = rl->burst;
		} else {
			refill = elapsed / 1000 * rl->per_sec + elapsed % 1000 * rl->per_sec / 1000;
		}
		if (refill >= (uint64_t)(rl->burst - rl->tokens)) {
			rl->tokens = rl->burst;
			rl->last_ms = now_ms;
		} else if (refill > 0) {
			rl->tokens += (uint32_t)refill;
			rl->last_ms += refill * 1000 / rl->per_sec;
		}
	} else if (rl->tokens >= rl->burst) {
		/* Full bucket: time spent full earns nothing, so the interval starts now. */
		rl->last_ms = now_ms;
	}

	if (rl->tokens == 0) {
		if (rl->suppressed < UINT32_MAX)
			rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
}

void log_ratelimit_report(struct log_ratelimit *rl, enum log_level l)
{
	if (!rl->suppressed)
		return;
	log_msg(l, "%" PRIu32 " messages suppressed", rl->suppressed);
	rl->suppressed = 0;
}
