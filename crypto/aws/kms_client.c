/*
 * AWS KMS over its JSON 1.1 protocol (KMS API reference: GenerateDataKey, Decrypt, Encrypt;
 * "Common Errors").  Requests are signed with SigV4 for service "kms" and sent on the
 * worker's pooled connections.  Throttled calls are retried after a jittered backoff.
 */
#include "crypto/aws/kms_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "config/config.h"
#include "crypto/aws/aws_request.h"
#include "proxy/base/codec.h"
#include "crypto/aws/sigv4.h"
#include "proxy/base/audit.h"
#include "proxy/base/json.h"
#include "proxy/base/json_nul.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"

/* Attempts for a call that failed in a way worth retrying (config kms.max_attempts). */
#define KMS_ATTEMPTS 3
/* Largest KMS response read. */
#define KMS_MAX_RESPONSE (64 * 1024)

struct kms_client {
	struct event_base *base;
	struct upstream_pool *pool;      /* connections to the KMS endpoint */
	struct credentials *creds;       /* referenced */
	char region[64];
	char endpoint[300];              /* for messages */
	int max_attempts;                /* KMS_ATTEMPTS or kms_client_set_limits */
	struct sigv4_key key_cache;      /* signing key, one derivation a day */
	struct kms_stats stats;
};

/* One call in flight (and its retries). */
struct kms_call {
	struct kms_client *client;
	char op[32];                     /* "Decrypt", ... */
	char *key_id;                    /* for messages and the result */
	char *body;                      /* the JSON request body */
	int attempt;
	struct event *retry_timer;
	kms_done_cb cb;
	void *arg;
	struct audit_ctx audit;          /* who the call is for, copied when it starts */
};

/* What kms_parse_response keeps alive for a kms_result. */
struct kms_parsed {
	unsigned char *plaintext;
	size_t plaintext_len;
	unsigned char *ciphertext;
	size_t ciphertext_len;
	char *key_id;
	char *key_state;                 /* DescribeKey */
	char *key_usage;                 /* DescribeKey */
};

const struct kms_stats *kms_client_stats(const struct kms_client *c)
{
	return &c->stats;
}

const char *kms_client_endpoint(const struct kms_client *c)
{
	return c->endpoint;
}

struct kms_client *kms_client_new(struct event_base *base, struct evdns_base *dns, SSL_CTX *ssl_ctx,
				  const char *region, struct credentials *creds, struct ds_error *err)
{
	struct kms_client *c = calloc(1, sizeof(*c));
	struct upstream_target t = { 0 };
	struct config_addr addr;
	const char *env = getenv("AWS_ENDPOINT_URL_KMS");
	const char *why = NULL;
	int tls = 1;

	if (c == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (region == NULL || *region == '\0') {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "no AWS region for KMS: set upstream.region or AWS_REGION");
		goto fail;
	}
	snprintf(c->region, sizeof(c->region), "%s", region);
	if (env != NULL && *env != '\0')
		snprintf(c->endpoint, sizeof(c->endpoint), "%s", env);
	else
		snprintf(c->endpoint, sizeof(c->endpoint), "https://kms.%s.amazonaws.com", region);
	if (config_parse_endpoint(c->endpoint, &tls, &addr, &why) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "KMS endpoint \"%s\" (AWS_ENDPOINT_URL_KMS): %s",
			     c->endpoint, why);
		goto fail;
	}
	if (tls && ssl_ctx == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "KMS endpoint %s needs TLS, which is not set up",
			     c->endpoint);
		goto fail;
	}
	snprintf(t.host, sizeof(t.host), "%s", addr.host);
	t.port = addr.port;
	t.tls = tls;
	t.connect_timeout_ms = 3000;
	t.response_timeout_ms = 10000;
	t.idle_timeout_ms = 50000;
	t.pool_size = 16;
	t.max_response_bytes = KMS_MAX_RESPONSE;
	c->max_attempts = KMS_ATTEMPTS;
	c->pool = upstream_pool_new(base, dns, ssl_ctx, &t, "kms");
	if (c->pool == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "cannot set up connections to KMS");
		goto fail;
	}
	c->base = base;
	c->creds = credentials_ref(creds);
	return c;
fail:
	free(c);
	return NULL;
}

void kms_client_set_limits(struct kms_client *c, int connect_timeout_ms, int response_timeout_ms,
			   int max_attempts)
{
	upstream_pool_set_timeouts(c->pool, connect_timeout_ms, response_timeout_ms);
	c->max_attempts = max_attempts > 0 ? max_attempts : 1;
}

void kms_client_free(struct kms_client *c)
{
	if (c == NULL)
		return;
	upstream_pool_free(c->pool);
	credentials_unref(c->creds);
	sigv4_key_wipe(&c->key_cache);
	free(c);
}

static void call_free(struct kms_call *call)
{
	if (call->retry_timer != NULL)
		event_free(call->retry_timer);
	if (call->body != NULL) {
		OPENSSL_cleanse(call->body, strlen(call->body));
		free(call->body);
	}
	free(call->key_id);
	free(call);
}

static void call_finish(struct kms_call *call, const struct kms_result *res, const struct ds_error *err)
{
	kms_done_cb cb = call->cb;
	void *arg = call->arg;

	if (err != NULL) {
		const char *t = err->type ? strrchr(err->type, '#') : NULL;
		atomic_fetch_add_explicit(&call->client->stats.errors, 1, memory_order_relaxed);
		if (err->status >= 500)
			atomic_store_explicit(&call->client->stats.last_unreachable, (long long)time(NULL),
					      memory_order_relaxed);
		audit_event("kms", call->op, call->key_id, &call->audit, t ? t + 1 : "error");
	}
	call_free(call);
	cb(arg, res, err);
}

/* Decodes a base64 JSON string member into a fresh buffer. */
static int b64_member(const cJSON *obj, const char *name, unsigned char **out, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t n;
	long got;

	if (!cJSON_IsString(v))
		return -1;
	n = strlen(v->valuestring);
	*out = malloc(CODEC_B64_DEC_MAX(n) + 1);
	if (*out == NULL)
		return -1;
	got = codec_b64_decode(v->valuestring, n, *out);
	if (got < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = (size_t)got;
	return 0;
}

void kms_parsed_free(struct kms_parsed *p)
{
	if (p == NULL)
		return;
	if (p->plaintext != NULL) {
		OPENSSL_cleanse(p->plaintext, p->plaintext_len);
		free(p->plaintext);
	}
	free(p->ciphertext);
	free(p->key_id);
	free(p->key_state);
	free(p->key_usage);
	free(p);
}

/* The short error name of a KMS __type ("com.amazonaws.kms#AccessDeniedException" → the part
 * after '#'). */
static const char *short_type(const char *t)
{
	const char *h = strrchr(t, '#');

	return h ? h + 1 : t;
}

/* The <Code> of an XML error body (what an IAM or signature refusal looks like in front of some
 * KMS endpoints), or "". */
static const char *xml_code(const char *body, size_t len, char *out, size_t cap)
{
	const char *b = memmem(body, len, "<Code>", 6);
	const char *e;

	out[0] = '\0';
	if (b == NULL)
		return out;
	b += 6;
	e = memmem(b, len - (size_t)(b - body), "</Code>", 7);
	if (e != NULL && (size_t)(e - b) < cap) {
		memcpy(out, b, (size_t)(e - b));
		out[e - b] = '\0';
	}
	return out;
}

/* A string member copied, or NULL when absent or null; -1 when it is something else or out of
 * memory. */
static int str_member(const cJSON *obj, const char *name, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || (*out = strdup(v->valuestring)) == NULL)
		return -1;
	return 0;
}

/* DescribeKey's KeyMetadata: Arn and KeyState are needed, KeyUsage is kept when given. */
static int describe_key_members(const cJSON *doc, struct kms_parsed *p)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "KeyMetadata");

	if (!cJSON_IsObject(md) || str_member(md, "Arn", &p->key_id) != 0 ||
	    str_member(md, "KeyState", &p->key_state) != 0 ||
	    str_member(md, "KeyUsage", &p->key_usage) != 0)
		return -1;
	return p->key_id != NULL && p->key_state != NULL ? 0 : -1;
}

struct kms_parsed *kms_parse_response(const char *op, int status, const char *body, size_t len,
				      const char *key_id, struct kms_result *res, struct ds_error *err,
				      int *retryable)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	struct kms_parsed *p = NULL;
	const cJSON *type;
	const cJSON *msg;
	char code[64];

	*retryable = 0;
	if (status != 200) {
		const char *t;
		type = cJSON_GetObjectItemCaseSensitive(doc, "__type");
		msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
		if (!cJSON_IsString(msg))
			msg = cJSON_GetObjectItemCaseSensitive(doc, "Message");
		t = cJSON_IsString(type) ? short_type(type->valuestring) : "";
		if (*t == '\0')
			t = xml_code(body, len, code, sizeof(code));
		if (*t == '\0' && status == 403)
			t = "AccessDeniedException";
		if (strcmp(t, "ThrottlingException") == 0 || strcmp(t, "LimitExceededException") == 0 ||
		    strcmp(t, "KMSInternalException") == 0 || status >= 500) {
			*retryable = 1;
			if (status >= 500 || strcmp(t, "KMSInternalException") == 0)
				ds_error_set(err, 503, DS_ERR_UNAVAILABLE, "KMS answered %d %s to %s on key %s; "
					     "retry the request", status, *t ? t : "(no error type)", op, key_id);
			else
				ds_error_set(err, 400, DS_ERR_THROTTLING, "KMS is throttling %s on key %s; retry "
					     "the request, or raise the KMS request quota or cache keys longer",
					     op, key_id);
		} else if (strcmp(t, "SignatureDoesNotMatch") == 0 || strcmp(t, "InvalidClientTokenId") == 0 ||
			   strcmp(t, "UnrecognizedClientException") == 0 ||
			   strcmp(t, "InvalidSignatureException") == 0 ||
			   strcmp(t, "ExpiredTokenException") == 0) {
			ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "KMS refused dynaseal's own credentials "
				     "for %s on key %s (%s): check the credentials dynaseal runs with (see "
				     "dynaseal doctor)", op, key_id, t);
		} else if (strncmp(t, "AccessDenied", 12) == 0) {
			ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "dynaseal's credentials may not call "
				     "kms:%s on key %s: allow it in the key policy or the IAM policy of "
				     "dynaseal's role (KMS said: %s)", op, key_id,
				     cJSON_IsString(msg) ? msg->valuestring : "access denied");
		} else if (strcmp(t, "InvalidCiphertextException") == 0 ||
			   strcmp(t, "IncorrectKeyException") == 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "KMS refused to decrypt an item's data key "
				     "with key %s (%s): the item was changed outside dynaseal or written "
				     "under another key or encryption context", key_id, t);
		} else {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "KMS %s on key %s failed: %s%s%s", op, key_id,
				     *t ? t : "HTTP error", cJSON_IsString(msg) ? ": " : "",
				     cJSON_IsString(msg) ? msg->valuestring : "");
		}
		goto done;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || doc == NULL) {
		ds_error_set(err, 502, DS_ERR_INTERNAL, "KMS %s on key %s: the response is not JSON", op, key_id);
		goto fail;
	}
	memset(res, 0, sizeof(*res));
	if (strcmp(op, "DescribeKey") == 0) {
		if (describe_key_members(doc, p) != 0) {
			ds_error_set(err, 502, DS_ERR_INTERNAL, "KMS DescribeKey on key %s: the response "
				     "lacks KeyMetadata with string Arn and KeyState", key_id);
			goto fail;
		}
		res->key_id = p->key_id;
		res->key_state = p->key_state;
		res->key_usage = p->key_usage;
		goto done;
	}
	if (cJSON_GetObjectItemCaseSensitive(doc, "Plaintext") != NULL &&
	    b64_member(doc, "Plaintext", &p->plaintext, &p->plaintext_len) != 0)
		goto bad;
	if (cJSON_GetObjectItemCaseSensitive(doc, "CiphertextBlob") != NULL &&
	    b64_member(doc, "CiphertextBlob", &p->ciphertext, &p->ciphertext_len) != 0)
		goto bad;
	type = cJSON_GetObjectItemCaseSensitive(doc, "KeyId");
	if (cJSON_IsString(type) && (p->key_id = strdup(type->valuestring)) == NULL)
		goto bad;
	if ((strcmp(op, "Decrypt") == 0 && p->plaintext == NULL) ||
	    (strcmp(op, "GenerateDataKey") == 0 && (p->plaintext == NULL || p->ciphertext == NULL)) ||
	    (strcmp(op, "Encrypt") == 0 && p->ciphertext == NULL) ||
	    (strcmp(op, "GenerateDataKeyWithoutPlaintext") == 0 && p->ciphertext == NULL) ||
	    (strcmp(op, "ReEncrypt") == 0 && p->ciphertext == NULL))
		goto bad;
	res->plaintext = p->plaintext;
	res->plaintext_len = p->plaintext_len;
	res->ciphertext = p->ciphertext;
	res->ciphertext_len = p->ciphertext_len;
	res->key_id = p->key_id ? p->key_id : key_id;
	goto done;
bad:
	ds_error_set(err, 502, DS_ERR_INTERNAL, "KMS %s on key %s: the response lacks a field or has "
		     "one that is not valid base64", op, key_id);
fail:
	kms_parsed_free(p);
	p = NULL;
done:
	cJSON_Delete(doc);
	return p;
}

static void call_send(struct kms_call *call);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	call_send(arg);
}

static void response_cb(void *arg, struct http_msg *resp, const struct ds_error *uerr)
{
	struct kms_call *call = arg;
	struct kms_client *c = call->client;
	struct ds_error err = { 0 };
	struct kms_result res;
	struct kms_parsed *p;
	int retryable = 1;

	if (uerr != NULL) {
		ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, "KMS at %s could not be reached for %s: %s",
			     c->endpoint, call->op, uerr->message);
	} else {
		size_t len = evbuffer_get_length(resp->body);
		const char *body = (const char *)evbuffer_pullup(resp->body, -1);
		p = kms_parse_response(call->op, resp->status, body ? body : "", len, call->key_id, &res,
				       &err, &retryable);
		/* The body held a plaintext key: wipe it before it is freed. */
		if (body != NULL)
			OPENSSL_cleanse((void *)body, len);
		http_msg_free(resp);
		if (p != NULL) {
			audit_event("kms", call->op, call->key_id, &call->audit, "ok");
			atomic_store_explicit(&c->stats.last_ok, (long long)time(NULL), memory_order_relaxed);
			call->cb(call->arg, &res, NULL);
			call_free(call);
			kms_parsed_free(p);
			return;
		}
	}
	if (retryable && ++call->attempt < call->client->max_attempts) {
		unsigned char r;
		int ms = 50 << call->attempt;
		struct timeval tv;
		if (RAND_bytes(&r, 1) == 1)
			ms += r % ms;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if (err.type != NULL && strcmp(err.type, DS_ERR_THROTTLING) == 0)
			atomic_fetch_add_explicit(&c->stats.throttled, 1, memory_order_relaxed);
		log_debug("kms: %s on %s: %s; retry %d in %d ms", call->op, call->key_id, err.message,
			  call->attempt, ms);
		if (call->retry_timer == NULL)
			call->retry_timer = evtimer_new(c->base, retry_cb, call);
		if (call->retry_timer != NULL && evtimer_add(call->retry_timer, &tv) == 0)
			return;
	}
	log_warn("kms: %s on key %s failed: %s", call->op, call->key_id, err.message);
	call_finish(call, NULL, &err);
}

/* Builds, signs and sends the request for the current attempt. */
static void call_send(struct kms_call *call)
{
	struct kms_client *c = call->client;
	/* Host as signed: the pool's (the port only when not the scheme's default). */
	struct aws_json_service svc = { upstream_pool_target(c->pool)->authority, c->region, "kms",
					 "application/x-amz-json-1.1" };
	struct ds_error err = { 0 };
	char target[64];
	size_t len = 0;
	char *bytes;

	snprintf(target, sizeof(target), "TrentService.%s", call->op);
	bytes = aws_json_request(&svc, target, c->creds, &c->key_cache, call->body, strlen(call->body), &len);
	if (bytes == NULL) {
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal could not build the KMS %s request", call->op);
		call_finish(call, NULL, &err);
		return;
	}
	if (upstream_call_start(c->pool, bytes, len, response_cb, call) == NULL) {
		ds_error_set(&err, 503, DS_ERR_UNAVAILABLE, "cannot open a connection to KMS at %s; retry "
			     "the request", c->endpoint);
		call_finish(call, NULL, &err);
	}
}

/* Adds "<member>": {...} with every pair of ec (all are UTF-8 strings, which may hold NUL:
 * written with the stand-in of json_nul.h, so json_print sends \u0000). */
static int add_context_as(cJSON *req, const char *member, const struct enc_ctx *ec)
{
	const char *why;
	cJSON *o;
	int rc = 0;

	if (ec == NULL || ec->len == 0)
		return 0;
	o = cJSON_AddObjectToObject(req, member);
	if (o == NULL)
		return -1;
	for (size_t i = 0; i < ec->len && rc == 0; i++) {
		const struct ec_entry *e = &ec->entries[i];
		char *k = json_nul_string((const unsigned char *)e->key, e->key_len, &why);
		char *v = json_nul_string((const unsigned char *)e->value, e->value_len, &why);

		if (k == NULL || v == NULL || cJSON_AddStringToObject(o, k, v) == NULL)
			rc = -1;
		free(k);
		free(v);
	}
	return rc;
}

/* Adds "EncryptionContext": {...} with every pair of ec (all are UTF-8 strings). */
static int add_context(cJSON *req, const struct enc_ctx *ec)
{
	return add_context_as(req, "EncryptionContext", ec);
}

static int add_blob(cJSON *req, const char *name, const unsigned char *b, size_t len)
{
	char *text = malloc(CODEC_B64_ENC_LEN(len));
	cJSON *s;

	if (text == NULL)
		return -1;
	codec_b64_encode(b, len, text);
	s = cJSON_AddStringToObject(req, name, text);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return s ? 0 : -1;
}

static void call_start(struct kms_client *c, const char *op, const char *key_id, cJSON *req,
		       const struct audit_ctx *audit, kms_done_cb cb, void *arg)
{
	struct kms_call *call = calloc(1, sizeof(*call));
	struct ds_error err = { 0 };

	if (call == NULL || req == NULL ||
	    (strcmp(op, "ReEncrypt") != 0 && cJSON_AddStringToObject(req, "KeyId", key_id) == NULL) ||
	    (call->body = json_print(req, NULL)) == NULL || (call->key_id = strdup(key_id)) == NULL) {
		if (call != NULL)
			call_free(call);
		cJSON_Delete(req);
		ds_error_set(&err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		cb(arg, NULL, &err);
		return;
	}
	cJSON_Delete(req);
	call->client = c;
	if (audit != NULL)
		call->audit = *audit;
	snprintf(call->op, sizeof(call->op), "%s", op);
	call->cb = cb;
	call->arg = arg;
	call_send(call);
}

void kms_generate_data_key(struct kms_client *c, const char *key_id, const struct enc_ctx *ec,
			   size_t nbytes, const struct audit_ctx *audit, kms_done_cb cb, void *arg)
{
	cJSON *req = cJSON_CreateObject();

	atomic_fetch_add_explicit(&c->stats.generate_data_key, 1, memory_order_relaxed);
	if (req != NULL && (cJSON_AddNumberToObject(req, "NumberOfBytes", (double)nbytes) == NULL ||
			    add_context(req, ec) != 0)) {
		cJSON_Delete(req);
		req = NULL;
	}
	call_start(c, "GenerateDataKey", key_id, req, audit, cb, arg);
}

void kms_decrypt(struct kms_client *c, const char *key_id, const unsigned char *blob, size_t len,
		 const struct enc_ctx *ec, const struct audit_ctx *audit, kms_done_cb cb, void *arg)
{
	cJSON *req = cJSON_CreateObject();

	atomic_fetch_add_explicit(&c->stats.decrypt, 1, memory_order_relaxed);
	if (req != NULL && (add_blob(req, "CiphertextBlob", blob, len) != 0 || add_context(req, ec) != 0)) {
		cJSON_Delete(req);
		req = NULL;
	}
	call_start(c, "Decrypt", key_id, req, audit, cb, arg);
}

void kms_encrypt(struct kms_client *c, const char *key_id, const unsigned char *plaintext, size_t len,
		 const struct enc_ctx *ec, const struct audit_ctx *audit, kms_done_cb cb, void *arg)
{
	cJSON *req = cJSON_CreateObject();

	atomic_fetch_add_explicit(&c->stats.encrypt, 1, memory_order_relaxed);
	if (req != NULL && (add_blob(req, "Plaintext", plaintext, len) != 0 || add_context(req, ec) != 0)) {
		cJSON_Delete(req);
		req = NULL;
	}
	call_start(c, "Encrypt", key_id, req, audit, cb, arg);
}

void kms_generate_data_key_without_plaintext(struct kms_client *c, const char *key_id,
					     const struct enc_ctx *ec, size_t nbytes,
					     const struct audit_ctx *audit, kms_done_cb cb, void *arg)
{
	cJSON *req = cJSON_CreateObject();

	atomic_fetch_add_explicit(&c->stats.generate_data_key_without_plaintext, 1, memory_order_relaxed);
	if (req != NULL && (cJSON_AddNumberToObject(req, "NumberOfBytes", (double)nbytes) == NULL ||
			    add_context(req, ec) != 0)) {
		cJSON_Delete(req);
		req = NULL;
	}
	call_start(c, "GenerateDataKeyWithoutPlaintext", key_id, req, audit, cb, arg);
}

void kms_describe_key(struct kms_client *c, const char *key_id, kms_done_cb cb, void *arg)
{
	call_start(c, "DescribeKey", key_id, cJSON_CreateObject(), NULL, cb, arg);
}

void kms_re_encrypt(struct kms_client *c, const char *source_key_id, const struct enc_ctx *source_ec,
		    const unsigned char *blob, size_t len, const char *dest_key_id,
		    const struct enc_ctx *dest_ec, const struct audit_ctx *audit, kms_done_cb cb,
		    void *arg)
{
	cJSON *req = cJSON_CreateObject();

	atomic_fetch_add_explicit(&c->stats.re_encrypt, 1, memory_order_relaxed);
	if (req != NULL && (add_blob(req, "CiphertextBlob", blob, len) != 0 ||
			    cJSON_AddStringToObject(req, "SourceKeyId", source_key_id) == NULL ||
			    cJSON_AddStringToObject(req, "DestinationKeyId", dest_key_id) == NULL ||
			    add_context_as(req, "SourceEncryptionContext", source_ec) != 0 ||
			    add_context_as(req, "DestinationEncryptionContext", dest_ec) != 0)) {
		cJSON_Delete(req);
		req = NULL;
	}
	/* Messages and the audit log name the destination key. */
	call_start(c, "ReEncrypt", dest_key_id, req, audit, cb, arg);
}
