#include "crypto/aws/aws_request.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

char *aws_json_request(const struct aws_json_service *svc, const char *target,
		       struct credentials *cr, struct sigv4_key *key_cache, const char *body,
		       size_t body_len, size_t *out_len)
{
	const struct cred_values *v = credentials_get(cr);
	struct sigv4_credentials sc = { v->access_key_id, v->secret_access_key, v->session_token };
	char amz_date[SIGV4_AMZ_DATE_LEN + 1], authz[512];
	struct sigv4_header sh[5];
	struct sigv4_request sr = { 0 };
	struct sigv4_scope scope = { svc->region, svc->service, amz_date };
	struct evbuffer *out = NULL;
	char *bytes = NULL;
	size_t n = 0;

	if (sigv4_amz_date(time(NULL), amz_date) != 0)
		return NULL;
	sh[n++] = (struct sigv4_header){ "host", 4, svc->host_header, strlen(svc->host_header) };
	sh[n++] = (struct sigv4_header){ "x-amz-date", 10, amz_date, SIGV4_AMZ_DATE_LEN };
	sh[n++] = (struct sigv4_header){ "x-amz-target", 12, target, strlen(target) };
	sh[n++] = (struct sigv4_header){ "content-type", 12, svc->content_type, strlen(svc->content_type) };
	if (sc.session_token != NULL)
		sh[n++] = (struct sigv4_header){ "x-amz-security-token", 20, sc.session_token,
						 strlen(sc.session_token) };
	sr.method = "POST";
	sr.path = "/";
	sr.path_len = 1;
	sr.headers = sh;
	sr.headers_len = n;
	sr.payload = (const unsigned char *)body;
	sr.payload_len = body_len;
	if (sigv4_sign(&sr, &sc, &scope, key_cache, authz, sizeof(authz), NULL) != 0)
		return NULL;
	out = evbuffer_new();
	if (out == NULL)
		return NULL;
	evbuffer_add_printf(out, "POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Date: %s\r\nX-Amz-Target: %s\r\n"
			    "Content-Type: %s\r\nAccept-Encoding: identity\r\n",
			    svc->host_header, amz_date, target, svc->content_type);
	if (sc.session_token != NULL)
		evbuffer_add_printf(out, "X-Amz-Security-Token: %s\r\n", sc.session_token);
	evbuffer_add_printf(out, "Authorization: %s\r\nContent-Length: %zu\r\n\r\n", authz, body_len);
	evbuffer_add(out, body, body_len);
	*out_len = evbuffer_get_length(out);
	bytes = malloc(*out_len);
	if (bytes != NULL)
		evbuffer_remove(out, bytes, *out_len);
	evbuffer_free(out);
	return bytes;
}
