/*
 * Requests on configured (encrypted) tables: per DynamoDB operation, what is encrypted on the
 * way up, what is decrypted on the way back, and what is refused because it cannot be done
 * safely.  Requests that touch no configured table are forwarded untouched by forward.c.
 *
 * route_request() decides; it ends the transaction itself (txn_respond / txn_fail) or hands
 * it on to the upstream and then to route_response().
 */
#ifndef DS_ROUTE_H
#define DS_ROUTE_H

#include "proxy/txn.h"

/*
 * Returns 0 when the request concerns no configured table (the caller forwards it as is), or
 * 1 when the route took the transaction over.
 */
int route_request(struct txn *t);
/* Frees the route state of a transaction (client gone or exchange over). */
void route_free(struct txn *t);

#endif
