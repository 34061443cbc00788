/*
 * One exchange: a request from an application, its way upstream and the answer back.  The
 * client connection owns the transaction; forwarding and (for configured tables) the rewriting
 * of bodies act on it and end it with txn_respond() or txn_fail().
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
	struct sigv4_authz authz;        /* the application's Authorization header, parsed once */
	char region[64];                 /* the region dynaseal signs for: its own, else the
					  * application's scope */
	struct worker_gen *gen;          /* the config and keyrings this request uses (held) */
};

/* Sends the request upstream (proxy/forward.c). */
void txn_forward(struct txn *t);
/* Answers the application with resp, which it takes; body_changed makes the checksum and
 * length be recomputed (proxy/client.c). */
void txn_respond(struct txn *t, struct http_msg *resp, int body_changed);
/* Answers the application with an error of DynamoDB's shape (proxy/client.c). */
void txn_fail(struct txn *t, const struct ds_error *err);

#endif
