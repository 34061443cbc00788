/*
 * Verifying an application's own SigV4 signature (AWS "Create a signed AWS API request",
 * recomputed with crypto/aws/sigv4.c from the headers the client says it signed) and its table
 * permissions.
 */
#include "proxy/client_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "crypto/aws/sigv4.h"
#include "proxy/base/json.h"
#include "proxy/ddb/ddb.h"
#include "proxy/ddb/ddb_tables.h"

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

/* Whether the query string of url has the parameter name (compared without case): 1, and 2
 * when it also has a value. */
static int query_has(const char *url, const char *name)
{
	const char *q = url != NULL ? strchr(url, '?') : NULL;
	size_t n = strlen(name);

	while (q != NULL) {
		q++;
		if (strncasecmp(q, name, n) == 0 && (q[n] == '=' || q[n] == '&' || q[n] == '\0'))
			return q[n] == '=' && q[n + 1] != '&' && q[n + 1] != '\0' ? 2 : 1;
		q = strchr(q, '&');
	}
	return 0;
}

int client_auth_precheck(const struct http_msg *req, const struct sigv4_authz *a,
			 struct ds_error *err)
{
	static const char *const query_params[] = { "X-Amz-Algorithm", "X-Amz-Credential",
		"X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date" };
	int in_query = query_has(req->url, "X-Amz-Algorithm");
	char msg[sizeof(err->message)];
	size_t used = 0;

	if (a->present && in_query) {
		ds_error_set(err, 400, ERR_SIGNATURE, "Found both 'X-Amz-Algorithm' as a query-string "
			     "param and 'Authorization' as HTTP header.");
		return -1;
	}
	if ((!a->present && !in_query) || (a->present && !a->aws4)) {
		ds_error_set(err, 400, ERR_MISSING, "Request is missing Authentication Token");
		return -1;
	}
	msg[0] = '\0';
	if (a->present) {
		const struct http_header *h = http_msg_header(req, "authorization");
		if (!a->has_credential)
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "Authorization header "
						 "requires 'Credential' parameter. ");
		if (!a->has_signature && used < sizeof(msg))
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "Authorization header "
						 "requires 'Signature' parameter. ");
		if (!a->has_signed_headers && used < sizeof(msg))
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "Authorization header "
						 "requires 'SignedHeaders' parameter. ");
		if (http_msg_header(req, "x-amz-date") == NULL && http_msg_header(req, "date") == NULL &&
		    used < sizeof(msg))
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "Authorization header "
						 "requires existence of either a 'X-Amz-Date' or a "
						 "'Date' header. ");
		if (used > 0 && used < sizeof(msg))
			snprintf(msg + used, sizeof(msg) - used, "Authorization=%s", h->value);
	} else {
		for (size_t i = 0; i < sizeof(query_params) / sizeof(query_params[0]); i++)
			/* An empty parameter is a missing one, as AWS reads them. */
			if (query_has(req->url, query_params[i]) != 2 && used < sizeof(msg))
				used += (size_t)snprintf(msg + used, sizeof(msg) - used, "AWS query-string "
							 "parameters must include '%s'. ",
							 query_params[i]);
		if (used > 0 && used < sizeof(msg))
			snprintf(msg + used, sizeof(msg) - used, "Re-examine the query-string parameters.");
	}
	if (msg[0] != '\0') {
		ds_error_set(err, 400, ERR_INCOMPLETE, "%s", msg);
		return -1;
	}
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

/*
 * The headers a signature must cover, as the SDKs sign them: without host, x-amz-date and
 * x-amz-target a captured request could be sent again to another endpoint, at another time
 * or, worst, as another operation on the same body within the five minutes.
 */
static const char *const required_signed[] = { "host", "x-amz-date", "x-amz-target" };

static int signed_headers_complete(const struct sigv4_authz *a, struct ds_error *err)
{
	for (size_t i = 0; i < sizeof(required_signed) / sizeof(required_signed[0]); i++) {
		const char *want = required_signed[i];
		size_t n = strlen(want);
		const char *p = a->signed_headers;
		int found = 0;

		while (!found && *p != '\0') {
			size_t len = strcspn(p, ";");
			found = len == n && strncasecmp(p, want, n) == 0;
			p += len;
			if (*p == ';')
				p++;
		}
		if (!found) {
			ds_error_set(err, 400, ERR_INCOMPLETE, "'%s' must be a 'SignedHeader' in the AWS "
				     "Authorization: dynaseal requires host, x-amz-date and x-amz-target to "
				     "be signed, as the AWS SDKs sign them", want);
			return -1;
		}
	}
	return 0;
}

/* Recomputes the signature over the headers the client listed. */
static int verify_signature(const struct http_msg *req, const struct sigv4_authz *a,
			    const char *amz_date,
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

static int deny_table(const struct config_client *c, const char *op, const char *table,
		      const char *member, struct ds_error *err)
{
	ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: dynamodb:%s "
		     "on resource: table %s (named in %s), because dynaseal's clients.%s.tables does not "
		     "list it", c->access_key_id, op, table, member, c->access_key_id);
	return -1;
}

/* What check_tables hands to ddb_request_tables' callback. */
struct table_check {
	const struct config_client *client;
	const char *op;
	struct ds_error *err;
};

static int check_one_table(void *arg, const char *table, const char *member)
{
	struct table_check *tc = arg;

	if (config_client_may_use(tc->client, table))
		return 0;
	return deny_table(tc->client, tc->op, table, member, tc->err);
}

/*
 * Every table the request names must be allowed.  Whatever cannot be read with certainty is
 * refused: a body cJSON cannot parse, an operation not known to name its tables (ddb_tables.c),
 * a member of another shape than DynamoDB's, and PartiQL, whose statements name tables in text.
 */
static int check_tables(const struct config_client *c, const char *op, const char *body, size_t len,
			struct ds_error *err)
{
	struct table_check tc = { c, op, err };
	char why[160] = "";
	const char *dup;
	cJSON *doc;
	int rc = -1;

	if (c->all_tables)
		return 0;
	if (strcmp(op, "ExecuteStatement") == 0 || strcmp(op, "BatchExecuteStatement") == 0 ||
	    strcmp(op, "ExecuteTransaction") == 0) {
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: "
			     "dynamodb:%s: PartiQL statements cannot be checked against clients.%s.tables; "
			     "allow \"*\" or use the table operations", c->access_key_id, op, c->access_key_id);
		return -1;
	}
	/* Read as the route reads it: names holding \u0000 are not cut (json_nul.h). */
	doc = json_parse(body, len, NULL);
	if (doc == NULL) {
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: "
			     "dynamodb:%s: dynaseal cannot read the request body as JSON (a lone UTF-16 "
			     "surrogate escape such as \\ud800 is one cause), so it cannot check the tables "
			     "it names against clients.%s.tables", c->access_key_id, op[0] ? op : "(none)",
			     c->access_key_id);
		return -1;
	}
	if ((dup = json_duplicate_key(doc)) != NULL) {
		/* The table checked here must be the one DynamoDB acts on. */
		ds_error_set(err, 400, DS_ERR_VALIDATION, "The request body of %s has the key "
			     "\"%.64s\" twice in one object; dynaseal refuses it because JSON parsers "
			     "disagree on which one counts: send each key once", op, dup);
		goto cleanup;
	}
	switch (ddb_request_tables(op, doc, check_one_table, &tc, why, sizeof(why))) {
	case DDB_TABLES_OK:
		rc = 0;
		break;
	case DDB_TABLES_STOPPED:
		break;      /* check_one_table set err */
	case DDB_TABLES_UNKNOWN_OP:
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: "
			     "dynamodb:%s: dynaseal does not know which tables that operation acts on, so "
			     "a client limited by clients.%s.tables may not use it; allow \"*\" for this "
			     "client to permit it", c->access_key_id, op[0] ? op : "(no X-Amz-Target)",
			     c->access_key_id);
		break;
	case DDB_TABLES_UNREADABLE:
		ds_error_set(err, 400, DS_ERR_ACCESS_DENIED, "User: %s is not authorized to perform: "
			     "dynamodb:%s: dynaseal cannot tell which tables the request names, because %s; "
			     "the tables must be checked against clients.%s.tables", c->access_key_id, op,
			     why[0] ? why : "it is not of DynamoDB's shape", c->access_key_id);
		break;
	}
cleanup:
	cJSON_Delete(doc);
	return rc;
}

int client_auth_check(const struct config *cfg, const struct http_msg *req,
		      const struct sigv4_authz *a, const char *op, const char *body, size_t len,
		      time_t now, struct ds_error *err)
{
	const struct http_header *date;
	const struct config_client *c;
	time_t when;

	if (cfg->clients_len == 0)
		return 0;
	if (!a->present) {
		ds_error_set(err, 400, ERR_MISSING, "Request is missing Authentication Token");
		return -1;
	}
	if (!a->ok) {
		ds_error_set(err, 400, ERR_INCOMPLETE, "Authorization header requires 'Credential', "
			     "'Signature' and 'SignedHeaders' parameters in AWS4-HMAC-SHA256 form");
		return -1;
	}
	c = config_find_client(cfg, a->akid, strlen(a->akid));
	if (c == NULL) {
		ds_error_set(err, 400, DS_ERR_UNRECOGNIZED_CLIENT, "The security token included in the "
			     "request is invalid.");
		return -1;
	}
	date = http_msg_header(req, "x-amz-date");
	if (date == NULL || (when = parse_amz_date(date->value)) < 0 || strncmp(date->value, a->date, 8) != 0) {
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
	if (signed_headers_complete(a, err) != 0 ||
	    verify_signature(req, a, date->value, c, body, len, err) != 0)
		return -1;
	return check_tables(c, op, body, len, err);
}
