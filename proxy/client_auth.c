/*
 * Verifying an application's own SigV4 signature (AWS "Create a signed AWS API request",
 * recomputed with crypto/sigv4.c from the headers the client says it signed) and its table
 * permissions.
 */
#include "proxy/client_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "crypto/sigv4.h"
#include "proxy/ddb.h"

/* How far a request's X-Amz-Date may be from dynaseal's clock, as AWS allows. */
#define CLIENT_AUTH_SKEW_S 300
/* Headers a client may sign; more is refused as malformed. */
#define CLIENT_AUTH_MAX_HEADERS 32

#define ERR_MISSING "com.amazon.coral.service#MissingAuthenticationTokenException"
#define ERR_INCOMPLETE "com.amazon.coral.service#IncompleteSignatureException"
#define ERR_SIGNATURE "com.amazon.coral.service#InvalidSignatureException"

/* Derived signing keys of recent clients, per worker thread: one derivation a day each. */
static _Thread_local struct sigv4_key key_cache[8];
static _Thread_local unsigned key_cache_next;

/* The parts of an Authorization header. */
struct authz {
	char akid[129];
	char date[9];
	char region[64];
	char service[64];
	char signed_headers[1024];
	char signature[SIGV4_HEX_LEN + 1];
};

/* Copies the value of "name=" from the comma-separated parts of value, up to ',' or the end. */
static int authz_part(const char *value, const char *name, char *out, size_t cap)
{
	const char *p = strstr(value, name);
	size_t n = 0;

	if (p == NULL)
		return -1;
	p += strlen(name);
	while (p[n] && p[n] != ',' && p[n] != ' ')
		n++;
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int parse_authz(const char *value, struct authz *a)
{
	char cred[400];
	char *parts[5];
	char *s;
	int n = 0;

	if (strncmp(value, "AWS4-HMAC-SHA256 ", 17) != 0)
		return -1;
	if (authz_part(value, "Credential=", cred, sizeof(cred)) != 0 ||
	    authz_part(value, "SignedHeaders=", a->signed_headers, sizeof(a->signed_headers)) != 0 ||
	    authz_part(value, "Signature=", a->signature, sizeof(a->signature)) != 0 ||
	    strlen(a->signature) != SIGV4_HEX_LEN)
		return -1;
	for (s = cred; n < 5; n++) {
		parts[n] = s;
		s = strchr(s, '/');
		if (s == NULL)
			break;
		*s++ = '\0';
	}
	if (n != 4 || strcmp(parts[4], "aws4_request") != 0 || strlen(parts[1]) != 8)
		return -1;
	if (snprintf(a->akid, sizeof(a->akid), "%s", parts[0]) >= (int)sizeof(a->akid) ||
	    snprintf(a->region, sizeof(a->region), "%s", parts[2]) >= (int)sizeof(a->region) ||
	    snprintf(a->service, sizeof(a->service), "%s", parts[3]) >= (int)sizeof(a->service))
		return -1;
	memcpy(a->date, parts[1], 9);
	return 0;
}

/* "YYYYMMDDTHHMMSSZ" to seconds since the epoch, or -1. */
static time_t parse_amz_date(const char *s)
{
	struct tm tm = { 0 };

	if (sigv4_check_amz_date(s) != 0 ||
	    sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static struct sigv4_key *cached_key(const char *akid)
{
	for (size_t i = 0; i < sizeof(key_cache) / sizeof(key_cache[0]); i++) {
		if (key_cache[i].valid && strcmp(key_cache[i].access_key_id, akid) == 0)
			return &key_cache[i];
	}
	return &key_cache[key_cache_next++ % (sizeof(key_cache) / sizeof(key_cache[0]))];
}

/* Recomputes the signature over the headers the client listed. */
static int verify_signature(const struct http_msg *req, const struct authz *a, const char *amz_date,
			    const struct config_client *c, const char *body, size_t len, struct ds_error *err)
{
	struct sigv4_header hs[CLIENT_AUTH_MAX_HEADERS];
	struct sigv4_credentials cr = { c->access_key_id, c->secret, NULL };
	struct sigv4_scope scope = { a->region, a->service, amz_date };
	struct sigv4_request sr = { 0 };
	char names[sizeof(a->signed_headers)];
	char authz[600], sig[SIGV4_HEX_LEN + 1];
	const char *url = req->url ? req->url : "/";
	const char *q = strchr(url, '?');
	size_t n = 0;
	char *save = NULL;

	memcpy(names, a->signed_headers, sizeof(names));
	for (char *name = strtok_r(names, ";", &save); name != NULL; name = strtok_r(NULL, ";", &save)) {
		int found = 0;
		for (size_t i = 0; i < req->headers_len; i++) {
			if (strcasecmp(req->headers[i].name, name) != 0)
				continue;
			if (n == CLIENT_AUTH_MAX_HEADERS)
				goto incomplete;
			hs[n++] = (struct sigv4_header){ req->headers[i].name, req->headers[i].name_len,
							 req->headers[i].value, req->headers[i].value_len };
			found = 1;
		}
		if (!found) {
			ds_error_set(err, 400, ERR_SIGNATURE, "The request signature we calculated does not "
				     "match the signature you provided: the signed header %s is missing", name);
			return -1;
		}
	}
	sr.method = req->method;
	sr.path = url;
	sr.path_len = q ? (size_t)(q - url) : strlen(url);
	sr.query = q ? q + 1 : NULL;
	sr.query_len = q ? strlen(q + 1) : 0;
	sr.headers = hs;
	sr.headers_len = n;
	sr.payload = (const unsigned char *)body;
	sr.payload_len = len;
	if (sigv4_sign(&sr, &cr, &scope, cached_key(c->access_key_id), authz, sizeof(authz), sig) != 0)
		goto incomplete;
	if (!sigv4_signature_equal(sig, a->signature)) {
		ds_error_set(err, 400, ERR_SIGNATURE, "The request signature we calculated does not match "
			     "the signature you provided. Check your AWS Secret Access Key and signing method. "
			     "Consult the service documentation for details.");
		return -1;
	}
	return 0;
incomplete:
	ds_error_set(err, 400, ERR_INCOMPLETE, "The request's signature cannot be checked (signed headers "
		     "or scope not usable)");
	return -1;
}

static int deny_table(const struct config_client *c, const char *op, const char *table, struct ds_error *err)
{
	ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: dynamodb:%s "
		     "on resource: table %s, because dynaseal's clients.%s.tables does not list it",
		     c->access_key_id, op, table, c->access_key_id);
	return -1;
}

/* Every table a request names must be allowed. */
static int check_tables(const struct config_client *c, const char *op, const char *body, size_t len,
			struct ds_error *err)
{
	cJSON *doc;
	const cJSON *x;
	const cJSON *name;
	const char *dup;
	int rc = 0;

	if (c->all_tables)
		return 0;
	if (strcmp(op, "ExecuteStatement") == 0 || strcmp(op, "BatchExecuteStatement") == 0 ||
	    strcmp(op, "ExecuteTransaction") == 0) {
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: "
			     "dynamodb:%s: PartiQL statements cannot be checked against clients.%s.tables; "
			     "allow \"*\" or use the table operations", c->access_key_id, op, c->access_key_id);
		return -1;
	}
	doc = cJSON_ParseWithLength(body, len);
	if (doc == NULL)
		return 0;   /* DynamoDB answers a SerializationException; nothing reaches a table */
	if ((dup = ddb_json_duplicate_key(doc)) != NULL) {
		/* The table checked here must be the one DynamoDB acts on. */
		ds_error_set(err, 400, DS_ERR_VALIDATION, "The request body of %s has the key "
			     "\"%.64s\" twice in one object; dynaseal refuses it because JSON parsers "
			     "disagree on which one counts: send each key once", op, dup);
		cJSON_Delete(doc);
		return -1;
	}
	name = cJSON_GetObjectItemCaseSensitive(doc, "TableName");
	if (cJSON_IsString(name) && !config_client_may_use(c, name->valuestring))
		rc = deny_table(c, op, name->valuestring, err);
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "RequestItems")) {
		if (rc == 0 && !config_client_may_use(c, x->string))
			rc = deny_table(c, op, x->string, err);
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "TransactItems")) {
		const cJSON *part;
		cJSON_ArrayForEach(part, x) {
			name = cJSON_GetObjectItemCaseSensitive(part, "TableName");
			if (rc == 0 && cJSON_IsString(name) && !config_client_may_use(c, name->valuestring))
				rc = deny_table(c, op, name->valuestring, err);
		}
	}
	cJSON_Delete(doc);
	return rc;
}

int client_auth_check(const struct config *cfg, const struct http_msg *req, const char *op,
		      const char *body, size_t len, time_t now, struct ds_error *err)
{
	const struct http_header *h;
	const struct http_header *date;
	const struct config_client *c;
	struct authz a;
	time_t when;

	if (cfg->clients_len == 0)
		return 0;
	h = http_msg_header(req, "authorization");
	if (h == NULL) {
		ds_error_set(err, 400, ERR_MISSING, "Request is missing Authentication Token");
		return -1;
	}
	if (parse_authz(h->value, &a) != 0) {
		ds_error_set(err, 400, ERR_INCOMPLETE, "Authorization header requires 'Credential', "
			     "'Signature' and 'SignedHeaders' parameters in AWS4-HMAC-SHA256 form");
		return -1;
	}
	c = config_find_client(cfg, a.akid, strlen(a.akid));
	if (c == NULL) {
		ds_error_set(err, 400, DS_ERR_UNRECOGNIZED_CLIENT, "The security token included in the "
			     "request is invalid.");
		return -1;
	}
	date = http_msg_header(req, "x-amz-date");
	if (date == NULL || (when = parse_amz_date(date->value)) < 0 || strncmp(date->value, a.date, 8) != 0) {
		ds_error_set(err, 400, ERR_INCOMPLETE, "Authorization header requires existence of a valid "
			     "'X-Amz-Date' header matching the credential scope's date");
		return -1;
	}
	if (when < now - CLIENT_AUTH_SKEW_S || when > now + CLIENT_AUTH_SKEW_S) {
		char nowtext[SIGV4_AMZ_DATE_LEN + 1];
		if (sigv4_amz_date(now, nowtext) != 0)
			nowtext[0] = '\0';
		ds_error_set(err, 400, ERR_SIGNATURE, "Signature expired: %s is now earlier than %s (%s - 5 "
			     "min.); check the clock of the application's host", date->value, nowtext, nowtext);
		if (when > now)
			ds_error_set(err, 400, ERR_SIGNATURE, "Signature not yet current: %s is still later "
				     "than %s (%s + 5 min.); check the clock of the application's host",
				     date->value, nowtext, nowtext);
		return -1;
	}
	if (verify_signature(req, &a, date->value, c, body, len, err) != 0)
		return -1;
	return check_tables(c, op, body, len, err);
}
