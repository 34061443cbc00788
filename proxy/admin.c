#include "proxy/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cache/cache.h"
#include "crypto/aws/kms_client.h"
#include "proxy/base/log.h"
#include "proxy/base/metrics.h"
#include "proxy/worker.h"

/* How often the upstream is probed for /readyz. */
#define ADMIN_PROBE_INTERVAL_MS 2000

struct admin {
	struct server *srv;              /* what is reported on */
	struct evhttp *http;             /* the admin HTTP server */
	struct evdns_base *dns;          /* for probing the upstream by name */
	struct event *probe_timer;       /* next probe */
	struct bufferevent *probe;       /* the probe connection in progress, or NULL */
	int upstream_ok;                 /* the last probe connected */
	char upstream_why[256];          /* why the last probe failed */
};

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(out, "%s\n", text);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void on_healthz(struct evhttp_request *req, void *arg)
{
	(void)arg;
	reply_text(req, 200, "OK", "ok");
}

static void on_readyz(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	char text[320];

	if (!a->upstream_ok) {
		snprintf(text, sizeof(text), "not ready: upstream %s: %s", a->srv->cfg->upstream_endpoint,
			 a->upstream_why[0] ? a->upstream_why : "not probed yet");
		reply_text(req, 503, "Service Unavailable", text);
		return;
	}
	/* Keyrings are usable unless KMS could not be reached lately and has not answered since. */
	for (int i = 0; i < a->srv->workers_len; i++) {
		const struct worker *w = &a->srv->workers[i];
		const struct kms_stats *k = w->kms ? kms_client_stats(w->kms) : NULL;
		long long bad = k ? atomic_load_explicit(&k->last_unreachable, memory_order_relaxed) : 0;
		long long good = k ? atomic_load_explicit(&k->last_ok, memory_order_relaxed) : 0;
		if (bad > good && (long long)time(NULL) - bad < 30) {
			snprintf(text, sizeof(text), "not ready: KMS at %s could not be reached %llds ago "
				 "and has not answered since", kms_client_endpoint(w->kms),
				 (long long)time(NULL) - bad);
			reply_text(req, 503, "Service Unavailable", text);
			return;
		}
	}
	reply_text(req, 200, "OK", "ready");
}

/* KMS calls by API and key cache hits and misses, summed over the workers. */
static void keys_metrics(struct evbuffer *out, struct server *srv)
{
	static const char *const kms_ops[] = { "GenerateDataKey", "Decrypt", "Encrypt" };
	uint64_t kms[3] = { 0 }, kms_errors = 0;
	uint64_t c[7] = { 0 };

	for (int i = 0; i < srv->workers_len; i++) {
		struct worker *w = &srv->workers[i];
		if (w->kms != NULL) {
			const struct kms_stats *k = kms_client_stats(w->kms);
			kms[0] += atomic_load_explicit(&k->generate_data_key, memory_order_relaxed);
			kms[1] += atomic_load_explicit(&k->decrypt, memory_order_relaxed);
			kms[2] += atomic_load_explicit(&k->encrypt, memory_order_relaxed);
			kms_errors += atomic_load_explicit(&k->errors, memory_order_relaxed);
		}
		if (w->cache != NULL) {
			const struct cache_stats *s = cache_get_stats(w->cache);
			c[0] += cache_stat_read(&s->l1_hits);
			c[1] += cache_stat_read(&s->l1_misses);
			c[2] += cache_stat_read(&s->l2_hits);
			c[3] += cache_stat_read(&s->l2_misses);
			c[4] += cache_stat_read(&s->l2_errors) + cache_stat_read(&s->l2_timeouts);
			c[5] += cache_stat_read(&s->seal_failures);
			c[6] += cache_stat_read(&s->evictions);
		}
	}
	evbuffer_add_printf(out, "# HELP dynaseal_kms_calls_total KMS calls made, by API.\n"
			    "# TYPE dynaseal_kms_calls_total counter\n");
	for (int i = 0; i < 3; i++)
		evbuffer_add_printf(out, "dynaseal_kms_calls_total{api=\"%s\"} %llu\n", kms_ops[i],
				    (unsigned long long)kms[i]);
	evbuffer_add_printf(out, "# HELP dynaseal_kms_errors_total KMS calls that failed.\n"
			    "# TYPE dynaseal_kms_errors_total counter\ndynaseal_kms_errors_total %llu\n",
			    (unsigned long long)kms_errors);
	evbuffer_add_printf(out, "# HELP dynaseal_cache_lookups_total Key cache lookups by layer and result.\n"
			    "# TYPE dynaseal_cache_lookups_total counter\n"
			    "dynaseal_cache_lookups_total{layer=\"l1\",result=\"hit\"} %llu\n"
			    "dynaseal_cache_lookups_total{layer=\"l1\",result=\"miss\"} %llu\n"
			    "dynaseal_cache_lookups_total{layer=\"redis\",result=\"hit\"} %llu\n"
			    "dynaseal_cache_lookups_total{layer=\"redis\",result=\"miss\"} %llu\n"
			    "# HELP dynaseal_cache_redis_errors_total Redis errors and timeouts (each a miss).\n"
			    "# TYPE dynaseal_cache_redis_errors_total counter\ndynaseal_cache_redis_errors_total %llu\n"
			    "# HELP dynaseal_cache_seal_failures_total Redis entries that did not open.\n"
			    "# TYPE dynaseal_cache_seal_failures_total counter\ndynaseal_cache_seal_failures_total %llu\n"
			    "# HELP dynaseal_cache_evictions_total In-process entries evicted by the bounds.\n"
			    "# TYPE dynaseal_cache_evictions_total counter\ndynaseal_cache_evictions_total %llu\n",
			    (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2],
			    (unsigned long long)c[3], (unsigned long long)c[4], (unsigned long long)c[5],
			    (unsigned long long)c[6]);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	struct server *srv = a->srv;
	struct metrics **each = calloc((size_t)srv->workers_len, sizeof(*each));
	struct evbuffer *out = evbuffer_new();

	for (int i = 0; i < srv->workers_len && each != NULL; i++)
		each[i] = &srv->workers[i].metrics;
	if (each != NULL)
		metrics_render(out, each, (size_t)srv->workers_len);
	keys_metrics(out, srv);
	evbuffer_add_printf(out, "# HELP dynaseal_upstream_up Whether the last probe of the upstream "
			    "connected.\n# TYPE dynaseal_upstream_up gauge\ndynaseal_upstream_up %d\n",
			    a->upstream_ok);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	free(each);
}

/* GET /loglevel shows the level; PUT or POST /loglevel with "debug" (etc.) as body sets it. */
static void on_loglevel(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char body[16] = { 0 };
	int level;

	(void)arg;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		reply_text(req, 200, "OK", log_level_name(log_get_level()));
		return;
	}
	evbuffer_copyout(in, body, sizeof(body) - 1);
	body[strcspn(body, " \r\n")] = '\0';
	level = log_level_parse(body);
	if (level < 0) {
		reply_text(req, 400, "Bad Request", "expected one of: error warn info debug");
		return;
	}
	log_set_level((enum log_level)level);
	log_warn("log level set to %s through the admin listener", log_level_name((enum log_level)level));
	reply_text(req, 200, "OK", log_level_name((enum log_level)level));
}

static void probe_schedule(struct admin *a, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(a->probe_timer, &tv);
}

static void probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin *a = arg;
	int was = a->upstream_ok;

	if (what & BEV_EVENT_CONNECTED) {
		a->upstream_ok = 1;
		a->upstream_why[0] = '\0';
	} else {
		int dns = bufferevent_socket_get_dns_error(bev);
		a->upstream_ok = 0;
		snprintf(a->upstream_why, sizeof(a->upstream_why), "%s",
			 dns ? evutil_gai_strerror(dns) :
			 (what & BEV_EVENT_TIMEOUT) ? "connect timed out" :
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	if (was != a->upstream_ok)
		log_msg(a->upstream_ok ? LOG_INFO : LOG_WARN, "upstream %s is %s%s%s",
			a->srv->cfg->upstream_endpoint, a->upstream_ok ? "reachable" : "unreachable",
			a->upstream_ok ? "" : ": ", a->upstream_why);
	bufferevent_free(bev);
	a->probe = NULL;
	probe_schedule(a, ADMIN_PROBE_INTERVAL_MS);
}

/* A TCP connect to the upstream; TLS is left to real requests (which report their errors). */
static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;
	const struct config *cfg = a->srv->cfg;
	struct timeval tv = { cfg->upstream_connect_timeout_ms / 1000,
			      (cfg->upstream_connect_timeout_ms % 1000) * 1000 };

	(void)fd;
	(void)what;
	a->probe = bufferevent_socket_new(a->srv->main_base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (a->probe == NULL) {
		probe_schedule(a, ADMIN_PROBE_INTERVAL_MS);
		return;
	}
	bufferevent_setcb(a->probe, NULL, NULL, probe_event_cb, a);
	bufferevent_set_timeouts(a->probe, NULL, &tv);
	bufferevent_enable(a->probe, EV_WRITE);
	if (bufferevent_socket_connect_hostname(a->probe, a->dns, AF_UNSPEC, cfg->upstream_addr.host,
						cfg->upstream_addr.port) != 0) {
		/* The event callback has run or the bufferevent is still ours. */
		if (a->probe != NULL) {
			bufferevent_free(a->probe);
			a->probe = NULL;
			a->upstream_ok = 0;
			snprintf(a->upstream_why, sizeof(a->upstream_why), "cannot start a connection");
			probe_schedule(a, ADMIN_PROBE_INTERVAL_MS);
		}
	}
}

struct admin *admin_start(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	struct admin *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->srv = srv;
	a->http = evhttp_new(srv->main_base);
	a->dns = evdns_base_new(srv->main_base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (a->dns == NULL)
		a->dns = evdns_base_new(srv->main_base, 0);
	a->probe_timer = evtimer_new(srv->main_base, probe_cb, a);
	if (a->http == NULL || a->dns == NULL || a->probe_timer == NULL)
		goto fail;
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST);
	evhttp_set_cb(a->http, "/healthz", on_healthz, a);
	evhttp_set_cb(a->http, "/readyz", on_readyz, a);
	evhttp_set_cb(a->http, "/metrics", on_metrics, a);
	evhttp_set_cb(a->http, "/loglevel", on_loglevel, a);
	if (evhttp_bind_socket_with_handle(a->http, cfg->admin_listen.host, cfg->admin_listen.port) == NULL) {
		log_error("admin_listen: cannot listen on %s:%u", cfg->admin_listen.host, cfg->admin_listen.port);
		goto fail;
	}
	log_info("admin listener on %s:%u (/healthz /readyz /metrics /loglevel)",
		 cfg->admin_listen.host, cfg->admin_listen.port);
	probe_schedule(a, 0);
	return a;
fail:
	admin_stop(a);
	return NULL;
}

void admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->probe != NULL)
		bufferevent_free(a->probe);
	if (a->probe_timer != NULL)
		event_free(a->probe_timer);
	if (a->http != NULL)
		evhttp_free(a->http);
	if (a->dns != NULL)
		evdns_base_free(a->dns, 0);
	free(a);
}
