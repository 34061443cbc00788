/*
 * Logging.  One line per call, written with a single write(2) so lines from several worker
 * threads never interleave.
 */
#include "proxy/base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "proxy/base/json_nul.h"

static atomic_int log_level = LOG_INFO;
static atomic_int log_json = 0;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0)
			return i;
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level & 3];
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

void log_set_json(int json)
{
	atomic_store(&log_json, json ? 1 : 0);
}

/* Appends s to buf as the inside of a JSON string. */
static size_t json_escape(char *buf, size_t cap, size_t len, const char *s)
{
	for (; *s && len + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[len++] = '\\';
			buf[len++] = (char)c;
		} else if (c < 0x20 || c == 0x7f || c == JSON_NUL) {
			len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", json_nul_real(c));
		} else {
			buf[len++] = (char)c;
		}
	}
	return len;
}

/* Appends s to buf with control bytes written as \xNN: a text line stays one line. */
static size_t text_escape(char *buf, size_t cap, size_t len, const char *s)
{
	for (; *s && len + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == JSON_NUL)
			len += (size_t)snprintf(buf + len, cap - len, "\\x%02x", json_nul_real(c));
		else
			buf[len++] = (char)c;
	}
	return len;
}

/* Bytes a value may hold and still be written bare: it then reads as one key=value field. */
static int bare_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("_.:/@+=-", c) != NULL);
}

const char *log_value(const char *s, char *out, size_t cap)
{
	size_t len = 0;
	const char *p;

	if (cap < 8)
		return "-";
	if (s == NULL || *s == '\0')
		return "-";
	for (p = s; *p && bare_byte((unsigned char)*p); p++)
		;
	if (*p == '\0' && (size_t)(p - s) < cap)
		return s;
	out[len++] = '"';
	for (p = s; *p && len + 6 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			out[len++] = '\\';
			out[len++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			len += (size_t)snprintf(out + len, cap - len, "\\x%02x", json_nul_real(c));
		} else {
			out[len++] = (char)c;
		}
	}
	if (*p != '\0' && len + 4 < cap) {
		memcpy(out + len, "...", 3);
		len += 3;
	}
	out[len++] = '"';
	out[len] = '\0';
	return out;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048];
	char line[4608];
	char ts[40];
	struct timespec now;
	struct tm tm;
	size_t len;

	if ((int)level > atomic_load(&log_level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + len, sizeof(ts) - len, ".%03ldZ", now.tv_nsec / 1000000);

	if (atomic_load(&log_json)) {
		len = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
				       ts, level_names[level]);
		len = json_escape(line, sizeof(line), len, msg);
		len += (size_t)snprintf(line + len, sizeof(line) - len, "\"}\n");
	} else {
		len = (size_t)snprintf(line, sizeof(line), "%s %-5s ", ts, level_names[level]);
		len = text_escape(line, sizeof(line), len, msg);
		len += (size_t)snprintf(line + len, sizeof(line) - len, "\n");
	}
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_openssl_errors(enum log_level level, const char *what)
{
	unsigned long e;
	char buf[256];
	int any = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_msg(level, "%s: %s", what, buf);
		any = 1;
	}
	if (!any)
		log_msg(level, "%s: (no OpenSSL error queued)", what);
}

static void libevent_log_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	case EVENT_LOG_WARN:
		log_warn("libevent: %s", msg);
		break;
	default:
		log_error("libevent: %s", msg);
		break;
	}
}

void log_hook_libevent(void)
{
	event_set_log_callback(libevent_log_cb);
}
