#include "proxy/base/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "proxy/base/json.h"
#include "proxy/base/log.h"

/* The sink's descriptor, -1 when auditing is off.  Each entry is one write(2) with O_APPEND,
 * so lines from several threads and processes do not interleave. */
static atomic_int audit_fd = -1;

int audit_open(const char *path)
{
	int fd;

	audit_close();
	if (path == NULL)
		return 0;
	if (strcmp(path, "-") == 0) {
		fd = dup(STDERR_FILENO);
	} else {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		log_error("log.audit: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	atomic_store(&audit_fd, fd);
	return 0;
}

void audit_close(void)
{
	int fd = atomic_exchange(&audit_fd, -1);

	if (fd >= 0)
		close(fd);
}

int audit_enabled(void)
{
	return atomic_load(&audit_fd) >= 0;
}

static void field(struct evbuffer *out, const char *name, const char *value)
{
	evbuffer_add_printf(out, ",\"%s\":\"", name);
	json_escape(out, value ? value : "");
	evbuffer_add(out, "\"", 1);
}

void audit_event(const char *event, const char *operation, const char *key,
		 const struct audit_ctx *ctx, const char *outcome)
{
	int fd = atomic_load(&audit_fd);
	struct evbuffer *out;
	struct timespec now;
	struct tm tm;
	char ts[40];
	size_t n;

	if (fd < 0)
		return;
	out = evbuffer_new();
	if (out == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	evbuffer_add_printf(out, "{\"time\":\"%s\"", ts);
	field(out, "event", event);
	field(out, "operation", operation);
	field(out, "key", key);
	field(out, "table", ctx ? ctx->table : NULL);
	field(out, "client", ctx ? ctx->client : NULL);
	field(out, "request_id", ctx ? ctx->request_id : NULL);
	field(out, "outcome", outcome);
	evbuffer_add(out, "}\n", 2);
	n = evbuffer_get_length(out);
	{
		char *line = (char *)evbuffer_pullup(out, -1);
		if (line != NULL && write(fd, line, n) != (ssize_t)n)
			log_warn("log.audit: an entry could not be written in full");
	}
	evbuffer_free(out);
}
