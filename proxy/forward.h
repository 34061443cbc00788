/*
 * Sending an application's request upstream: its signature is replaced by dynaseal's own
 * (SigV4, the sidecar's credentials), Host is set to the upstream, and the response is relayed.
 */
#ifndef DS_FORWARD_H
#define DS_FORWARD_H

#include <stddef.h>

#include "proxy/base/error.h"
#include "proxy/net/http.h"
#include "proxy/net/upstream.h"

struct worker;

/*
 * Builds the upstream request for req with body (body may differ from req->body when it was
 * rewritten) into a malloc'd buffer, signed for region.  identity_only asks the upstream for an
 * unencoded response (a body dynaseal must read).  Returns NULL with err set on failure.
 */
char *forward_build(struct worker *w, const struct http_msg *req, const char *region,
		    const char *body, size_t body_len, int identity_only, size_t *out_len,
		    struct ds_error *err)
	__attribute__((warn_unused_result));

/*
 * forward_build, then the call on w's upstream pool (which takes the bytes): cb gets the
 * answer.  The call, or NULL with err set (the request could not be built, or no connection
 * could be opened: a retryable 503).
 */
struct upstream_call *forward_send(struct worker *w, const struct http_msg *req, const char *region,
				   const char *body, size_t body_len, int identity_only,
				   upstream_done_cb cb, void *arg, struct ds_error *err)
	__attribute__((warn_unused_result));

#endif
