/*
 * libFuzzer target for client authorization (proxy/client_auth.c, proxy/ddb/ddb_tables.c) on
 * arbitrary request bodies, signed correctly by a configured client so that every input gets
 * past the signature to the table check.  Fail closed:
 *
 *  - a request allowed for the client limited to table "users" parses as a JSON object, is
 *    not PartiQL, and every table it names where DynamoDB reads one (read here on its own,
 *    without ddb_tables.c: TableName and the other top-level name and ARN members in any letter
 *    case, RequestItems keys, TransactItems[i].<action>.TableName,
 *    TableCreationParameters.TableName) is "users" or an ARN of it; and it names one unless
 *    the operation acts on no table;
 *  - a refusal is a 400 that says why; no input crashes, leaks or reads out of bounds.
 *
 * Input: the first byte picks the operation (X-Amz-Target), the second's low bit the client
 * (limited or "*"), the rest is the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "config/config.h"
#include "crypto/aws/sigv4.h"
#include "proxy/base/json.h"
#include "proxy/client_auth.h"
#include "proxy/net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMITED "AKIDLIMITED000000000"
#define ALL "AKIDALLTABLES0000000"
#define SECRET "fuzz-client-secret"
#define AMZ_DATE "20260101T000000Z"

static const char *const ops[] = {
	"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
	"BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
	"BatchExecuteStatement", "ExecuteTransaction", "CreateTable", "DeleteTable", "DescribeTable",
	"UpdateTable", "ListTables", "DescribeLimits", "DescribeEndpoints", "TagResource",
	"UntagResource", "ListTagsOfResource", "PutResourcePolicy", "GetResourcePolicy",
	"DeleteResourcePolicy", "CreateBackup", "DeleteBackup", "DescribeBackup", "ListBackups",
	"RestoreTableFromBackup", "RestoreTableToPointInTime", "ExportTableToPointInTime",
	"DescribeExport", "ListExports", "ImportTable", "DescribeImport", "ListImports",
	"CreateGlobalTable", "DescribeGlobalTable", "UpdateGlobalTable", "ListGlobalTables",
	"DescribeGlobalTableSettings", "UpdateGlobalTableSettings", "UpdateTimeToLive",
	"DescribeTimeToLive", "DescribeContinuousBackups", "UpdateContributorInsights",
	"ListContributorInsights", "EnableKinesisStreamingDestination", "DescribeStream", "",
};

/* Top-level members that hold one table's name or ARN, for some operation. */
static const char *const name_members[] = {
	"TableName", "TargetTableName", "SourceTableName", "SourceTableArn", "GlobalTableName",
	"ResourceArn", "BackupArn", "TableArn", "ExportArn", "ImportArn",
};

static struct config *cfg;

static void setup(void)
{
	static const char json[] =
		"{\"upstream\": {\"endpoint\": \"http://127.0.0.1:1\", \"region\": \"us-east-1\"},"
		" \"clients\": {\"" LIMITED "\": {\"secret_env\": \"FUZZ_SECRET\", \"tables\": [\"users\"]},"
		"   \"" ALL "\": {\"secret_env\": \"FUZZ_SECRET\", \"tables\": [\"*\"]}},"
		" \"log\": {\"level\": \"error\"}}";
	struct config_problems problems;

	setenv("FUZZ_SECRET", SECRET, 1);
	cfg = config_parse(json, sizeof(json) - 1, NULL, &problems);
	if (cfg == NULL)
		abort();
	config_problems_free(&problems);
}

/* Whether a table name or ARN means table "users" (and nothing else). */
static int is_users(const char *v)
{
	const char *p;

	if (strncmp(v, "arn:", 4) != 0)
		return strcmp(v, "users") == 0;
	p = strstr(v, ":table/");
	if (p == NULL || strstr(p + 1, ":table/") != NULL)
		return 0;
	p += strlen(":table/");
	return strncmp(p, "users", 5) == 0 && (p[5] == '\0' || p[5] == '/');
}

/* Checks every table an allowed request names; returns how many it names. */
static int check_allowed(const char *op, const cJSON *doc)
{
	int named = 0;
	const cJSON *c;

	if (!cJSON_IsObject(doc))
		__builtin_trap();                 /* allowed without being read */
	if (strstr(op, "Statement") != NULL || strcmp(op, "ExecuteTransaction") == 0)
		__builtin_trap();                 /* PartiQL is never allowed to a limited client */
	for (c = doc->child; c != NULL; c = c->next) {
		for (size_t i = 0; i < sizeof(name_members) / sizeof(name_members[0]); i++) {
			if (strcasecmp(c->string, name_members[i]) != 0)
				continue;
			if (!cJSON_IsString(c) || !is_users(c->valuestring))
				__builtin_trap();
			named++;
		}
		if (strcasecmp(c->string, "RequestItems") == 0) {
			const cJSON *t;
			cJSON_ArrayForEach(t, c) {
				if (t->string == NULL || !is_users(t->string))
					__builtin_trap();
				named++;
			}
		}
		if (strcasecmp(c->string, "TransactItems") == 0) {
			const cJSON *e, *a;
			cJSON_ArrayForEach(e, c) {
				cJSON_ArrayForEach(a, e) {
					const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "TableName");
					if (!cJSON_IsString(n) || !is_users(n->valuestring))
						__builtin_trap();
					named++;
				}
			}
		}
		if (strcasecmp(c->string, "TableCreationParameters") == 0) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "TableName");
			if (!cJSON_IsString(n) || !is_users(n->valuestring))
				__builtin_trap();
			named++;
		}
	}
	return named;
}

static int add(struct http_msg *m, const char *name, const char *value)
{
	return http_msg_add_header(m, name, strlen(name), value, strlen(value));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_header hs[4];
	struct sigv4_request sr = { 0 };
	struct sigv4_key key = { 0 };
	struct ds_error err = { 0 };
	struct sigv4_authz parsed;
	struct http_msg *req;
	const char *op, *akid;
	int limited;
	const char *body;
	char target[96], authz[600], sig[SIGV4_HEX_LEN + 1];
	size_t len;
	struct tm tm = { .tm_year = 126, .tm_mon = 0, .tm_mday = 1 };
	int rc;

	if (cfg == NULL)
		setup();
	if (size < 2)
		return 0;
	op = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))];
	limited = !(data[1] & 1);
	akid = limited ? LIMITED : ALL;
	body = (const char *)data + 2;
	len = size - 2;
	snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);

	req = http_msg_new();
	if (req == NULL)
		return 0;
	snprintf(req->method, sizeof(req->method), "POST");
	hs[0] = (struct sigv4_header){ "host", 4, "127.0.0.1:8000", 14 };
	hs[1] = (struct sigv4_header){ "x-amz-date", 10, AMZ_DATE, strlen(AMZ_DATE) };
	hs[2] = (struct sigv4_header){ "x-amz-target", 12, target, strlen(target) };
	hs[3] = (struct sigv4_header){ "content-type", 12, "application/x-amz-json-1.0", 26 };
	sr.method = "POST";
	sr.path = "/";
	sr.path_len = 1;
	sr.headers = hs;
	sr.headers_len = 4;
	sr.payload = (const unsigned char *)body;
	sr.payload_len = len;
	{
		struct sigv4_credentials cr = { akid, SECRET, NULL };
		struct sigv4_scope scope = { "us-east-1", "dynamodb", AMZ_DATE };
		if (sigv4_sign(&sr, &cr, &scope, &key, authz, sizeof(authz), sig) != 0)
			__builtin_trap();
	}
	if (add(req, "Host", "127.0.0.1:8000") != 0 || add(req, "X-Amz-Date", AMZ_DATE) != 0 ||
	    add(req, "X-Amz-Target", target) != 0 ||
	    add(req, "Content-Type", "application/x-amz-json-1.0") != 0 ||
	    add(req, "Authorization", authz) != 0)
		goto cleanup;
	sigv4_authz_parse(authz, &parsed);
	if (!parsed.ok || client_auth_precheck(req, &parsed, &err) != 0)
		__builtin_trap();               /* an SDK-shaped signature passes both */
	rc = client_auth_check(cfg, req, &parsed, op, body, len, timegm(&tm), &err);
	if (rc != 0) {
		if (err.status != 400 || err.message[0] == '\0')
			__builtin_trap();
	} else if (limited) {
		cJSON *doc = json_parse(body, len, NULL);    /* names as DynamoDB reads them, \u0000 and all */
		int named = check_allowed(op, doc);
		int no_table = strcmp(op, "ListTables") == 0 || strcmp(op, "DescribeLimits") == 0 ||
			       strcmp(op, "DescribeEndpoints") == 0;
		if (named == 0 && !no_table)
			__builtin_trap();         /* allowed without naming a table it could check */
		cJSON_Delete(doc);
	}
cleanup:
	http_msg_free(req);
	return 0;
}
