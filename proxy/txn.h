/*
 * One exchange: a request from an application, its way upstream and the answer back, in one
 * place (txn.c).  The client connection owns the transaction; the rewriting of configured
 * tables (route.h) acts on it and ends it with txn_respond() or txn_fail(), which hand the
 * connection back (client_txn_done).
 */
#ifndef DS_TXN_H
#define DS_TXN_H

#include <time.h>

#include "crypto/aws/sigv4_authz.h"
#include "proxy/base/audit.h"
#include "proxy/base/error.h"
#include "proxy/net/http.h"

struct client_conn;
struct worker;
struct upstream_call;
struct route_state;
struct worker_gen;
struct txn;

/* Where a part's answer goes (txn_new_part): DynamoDB's or dynaseal's answer resp (taken), or
 * dynaseal's error err (valid during the call).  The part is freed when it returns. */
typedef void (*txn_done_cb)(void *arg, struct http_msg *resp, const struct ds_error *err);

struct txn {
	struct client_conn *client;      /* the connection that owns it */
	struct worker *worker;           /* the worker it runs on */
	struct http_msg *req;            /* the application's request */
	struct upstream_call *call;      /* the upstream call in flight, or NULL */
	char op[48];                     /* DynamoDB operation, e.g. "PutItem"; "" if none */
	char table[256];                 /* table named by the request, for logs; "" if none */
	struct timespec start;           /* when the request was complete */
	size_t bytes_in;                 /* request body bytes */
	struct route_state *route;       /* configured tables: what to rewrite, else NULL */
	struct audit_ctx audit;          /* request id and caller, for the access and audit logs */
	struct worker_gen *gen;          /* the config and keyrings this request uses (held) */
	txn_done_cb done;                /* a part of another request: where its answer goes,
					  * instead of to the connection; NULL otherwise */
	void *done_arg;
	/* Last, and not zeroed first: txn_new sets them whole (the parse is large). */
	struct sigv4_authz authz;        /* the application's Authorization header, parsed once */
	char region[64];                 /* the region dynaseal signs for: its own, else the
					  * application's scope */
};

/* A transaction for the complete request req (taken) on connection c of worker w: its
 * Authorization header parsed, its region chosen, the clock started.  NULL when out of memory
 * (req is then the caller's). */
struct txn *txn_new(struct client_conn *c, struct worker *w, struct http_msg *req)
	__attribute__((warn_unused_result));
/*
 * A part of the request parent: the operation op with body[0..len), as if the application had
 * sent it on the same connection (its headers, signature and region; the same config), carried
 * out by txn_forward and answered to cb instead of to the connection (BatchExecuteStatement's
 * statements, route_partiql_batch.c).  The part is the caller's to free (txn_free) until it is
 * answered; it frees itself once cb returns.  NULL when out of memory.
 */
struct txn *txn_new_part(struct txn *parent, const char *op, const char *body, size_t len,
			 txn_done_cb cb, void *arg) __attribute__((warn_unused_result));
/* Checks the request and sends it on; it ends, now or later, with txn_respond or txn_fail. */
void txn_run(struct txn *t);
/* Sends the request upstream: through route.c for configured tables, else relayed as is. */
void txn_forward(struct txn *t);
/* Answers the application with resp, which it takes; body_changed makes the checksum and
 * length be recomputed.  A part hands resp to its callback instead (txn_new_part). */
void txn_respond(struct txn *t, struct http_msg *resp, int body_changed);
/* Answers the application with an error of DynamoDB's shape; a part hands err to its
 * callback instead. */
void txn_fail(struct txn *t, const struct ds_error *err);
/* Frees t and whatever it still holds (an upstream call is cancelled).  NULL is ignored. */
void txn_free(struct txn *t);

#endif
