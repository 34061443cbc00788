/*
 * The admin listener (admin_listen): /healthz (alive), /readyz (config loaded, upstream
 * reachable, keyrings built), /metrics (Prometheus text), /loglevel (read or set the log level
 * at run time).  It runs on the main thread's loop, away from request traffic.
 */
#ifndef DS_ADMIN_H
#define DS_ADMIN_H

struct server;
struct admin;

/* Binds admin_listen and starts probing the upstream.  NULL on failure (logged). */
struct admin *admin_start(struct server *srv) __attribute__((warn_unused_result));
void admin_stop(struct admin *a);

#endif
