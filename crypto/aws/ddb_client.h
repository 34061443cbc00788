/*
 * A small asynchronous DynamoDB client (JSON 1.0 protocol, SigV4 for service "dynamodb") for
 * dynaseal's own calls: the branch key store reads and writes its table with it.  It is not
 * the proxy path (proxy/forward.c re-signs application requests); it builds requests from cJSON
 * documents and hands back the parsed response.  Each call completes exactly once.
 */
#ifndef DS_DDB_CLIENT_H
#define DS_DDB_CLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/ssl.h>

#include "crypto/aws/credentials.h"
#include "proxy/base/error.h"

struct event_base;
struct evdns_base;
struct upstream_pool;
struct ddb_client;

/*
 * Completion of a call.  On success resp is the parsed response body and err is NULL.  On
 * failure resp is NULL, err says what failed (naming the operation) and error_type is the short
 * DynamoDB error name ("ResourceNotFoundException", "TransactionCanceledException", ...) or ""
 * when DynamoDB could not be reached or answered something that is not JSON.  Both are valid
 * only during the callback.
 */
typedef void (*ddb_done_cb)(void *arg, const cJSON *resp, const char *error_type,
			    const struct ds_error *err);

/*
 * A client with its own connection pool to endpoint ("http[s]://host[:port]"), for the command
 * line.  ssl_ctx is needed for https (shared, not owned); creds is referenced.
 */
struct ddb_client *ddb_client_new(struct event_base *base, struct evdns_base *dns, SSL_CTX *ssl_ctx,
				  const char *endpoint, const char *region, struct credentials *creds,
				  struct ds_error *err) __attribute__((warn_unused_result));
/* A client on an existing pool (a worker's upstream pool on base, not owned). */
struct ddb_client *ddb_client_on_pool(struct event_base *base, struct upstream_pool *pool, const char *region,
				      struct credentials *creds, struct ds_error *err)
	__attribute__((warn_unused_result));
void ddb_client_free(struct ddb_client *c);
/* The event loop the client's calls complete on (for callers' timers). */
struct event_base *ddb_client_base(const struct ddb_client *c);

/* Calls DynamoDB_20120810.<op> with the JSON document req (consumed). */
void ddb_call(struct ddb_client *c, const char *op, cJSON *req, ddb_done_cb cb, void *arg);

/* Maps a DynamoDB error response to (short type, ds_error); for tests.  status is the HTTP
 * status, body the raw response.  Writes the short type into type_out (cap bytes). */
void ddb_client_map_error(const char *op, int status, const char *body, size_t len, char *type_out,
			  size_t cap, struct ds_error *err);

#endif
