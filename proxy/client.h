/*
 * One application connection: HTTP/1.1 keep-alive, one exchange at a time (pipelined requests
 * wait in the input buffer), limits and timeouts, and the answer written back.
 */
#ifndef DS_CLIENT_H
#define DS_CLIENT_H

#include <sys/socket.h>

#include "proxy/base/error.h"
#include "proxy/net/http.h"

struct worker;
struct client_conn;

/* Takes an accepted socket.  Closes it and returns -1 on failure. */
int client_accept(struct worker *w, int fd, const struct sockaddr *addr, int addrlen)
	__attribute__((warn_unused_result));
/* Closes a connection at once (drain deadline passed). */
void client_close(struct client_conn *c);
/* Closes every connection of the worker that has no request in flight (draining). */
void client_close_idle(struct worker *w);
/* Whether the connection has a request in flight. */
int client_busy(const struct client_conn *c);

/* The connection's side of an exchange, for txn.c. */
struct evbuffer;
/* Where the answer is written, then sent with client_send. */
struct evbuffer *client_output(struct client_conn *c);
void client_send(struct client_conn *c);
/* For log lines: the connection's number and "addr:port". */
unsigned long client_id(const struct client_conn *c);
const char *client_peer(const struct client_conn *c);
/* The exchange ended (its transaction is freed): close, or wait for the next request. */
void client_txn_done(struct client_conn *c, int keep_alive);

#endif
