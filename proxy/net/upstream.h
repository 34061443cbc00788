/*
 * Outbound HTTP/1.1 calls on pooled keep-alive connections, plain or TLS, one pool per
 * (worker, endpoint).  Used for DynamoDB and, later, for KMS and STS.  A call sends a complete
 * request and gets back a complete response or an error in DynamoDB's shape.
 */
#ifndef DS_UPSTREAM_H
#define DS_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proxy/base/error.h"
#include "proxy/net/http.h"
#include "proxy/base/metrics.h"

struct event_base;
struct evdns_base;
struct upstream_pool;
struct upstream_call;

/* Where a pool connects and how patient it is. */
struct upstream_target {
	char host[256];               /* name or address; also the SNI and verified host name */
	uint16_t port;
	int tls;                      /* connect with TLS */
	int connect_timeout_ms;       /* TCP + TLS handshake */
	int response_timeout_ms;      /* from the request sent to the response complete */
	int idle_timeout_ms;          /* an idle pooled connection is closed after this */
	int pool_size;                /* idle connections kept at least (more under load) */
	size_t max_response_bytes;    /* a larger response body is an error */
	char authority[300];          /* set by upstream_pool_new: the Host header to send (the
				       * port only when it is not the scheme's default) */
};

/*
 * Called exactly once per call that was not cancelled.  On success resp is the response (the
 * callee owns it) and err is NULL; on failure resp is NULL and err says why (a 5xx the SDKs
 * retry: the upstream could not be reached, timed out or broke the exchange).
 */
typedef void (*upstream_done_cb)(void *arg, struct http_msg *resp, const struct ds_error *err);

/*
 * Creates a pool on a worker's event loop.  ssl_ctx is required when target->tls, and is
 * shared (not owned).  name is used in log lines ("dynamodb", "kms").
 */
struct upstream_pool *upstream_pool_new(struct event_base *base, struct evdns_base *dns,
					SSL_CTX *ssl_ctx, const struct upstream_target *target,
					const char *name) __attribute__((warn_unused_result));
/* Closes idle connections; calls still in flight must have been cancelled or finished. */
void upstream_pool_free(struct upstream_pool *pool);
/* The target the pool was made for. */
const struct upstream_target *upstream_pool_target(const struct upstream_pool *pool);

/*
 * Sends a complete request (request line, headers, body) and calls cb with the response.
 * Takes ownership of request (malloc'd, len bytes).  Returns a handle for cancelling, or NULL
 * when the call could not even be started (then cb is not called; request is freed).
 */
struct upstream_call *upstream_call_start(struct upstream_pool *pool, char *request, size_t len,
					  upstream_done_cb cb, void *arg)
	__attribute__((warn_unused_result));
/* Abandons a call whose caller went away; cb will not be called. */
void upstream_call_cancel(struct upstream_call *call);

/* Counters, for logs and metrics. */
struct upstream_stats {
	uint64_t connects;            /* new connections opened */
	uint64_t reuses;              /* calls served on a pooled connection */
	uint64_t retries;             /* calls retried after a pooled connection was found closed */
	uint64_t errors;              /* calls that ended in an error */
	uint64_t idle;                /* idle connections now */
};
void upstream_pool_stats(const struct upstream_pool *pool, struct upstream_stats *out);

/* Changes the timeouts of the pool's later calls. */
void upstream_pool_set_timeouts(struct upstream_pool *pool, int connect_timeout_ms,
				int response_timeout_ms);
/* Counts the connections the pool opens in c (a worker's metrics counter). */
void upstream_pool_count_opens(struct upstream_pool *pool, metrics_counter *c);

/* A client TLS context: TLS 1.2+, peer verification against the system store and ca_file. */
SSL_CTX *upstream_ssl_ctx_new(const char *ca_file) __attribute__((warn_unused_result));

#endif
