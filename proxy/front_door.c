/*
 * DynamoDB's front door: see front_door.h.
 */
#include "proxy/front_door.h"

#include <string.h>
#include <strings.h>

#define ERR_UNKNOWN_OP "com.amazon.coral.service#UnknownOperationException"

/* The operations of the API versions DynamoDB serves (API reference, "Actions"): an unsigned
 * request naming another is refused as an unknown operation before its missing signature. */
static const char *const operations[] = {
	"BatchExecuteStatement", "BatchGetItem", "BatchWriteItem", "CreateBackup",
	"CreateGlobalTable", "CreateTable", "DeleteBackup", "DeleteItem", "DeleteResourcePolicy",
	"DeleteTable", "DescribeBackup", "DescribeContinuousBackups", "DescribeContributorInsights",
	"DescribeEndpoints", "DescribeExport", "DescribeGlobalTable", "DescribeGlobalTableSettings",
	"DescribeImport", "DescribeKinesisStreamingDestination", "DescribeLimits", "DescribeTable",
	"DescribeTableReplicaAutoScaling", "DescribeTimeToLive", "DisableKinesisStreamingDestination",
	"EnableKinesisStreamingDestination", "ExecuteStatement", "ExecuteTransaction",
	"ExportTableToPointInTime", "GetItem", "GetResourcePolicy", "ImportTable", "ListBackups",
	"ListContributorInsights", "ListExports", "ListGlobalTables", "ListImports", "ListTables",
	"ListTagsOfResource", "PutItem", "PutResourcePolicy", "Query", "RestoreTableFromBackup",
	"RestoreTableToPointInTime", "Scan", "TagResource", "TransactGetItems", "TransactWriteItems",
	"UntagResource", "UpdateContinuousBackups", "UpdateContributorInsights", "UpdateGlobalTable",
	"UpdateGlobalTableSettings", "UpdateItem", "UpdateKinesisStreamingDestination", "UpdateTable",
	"UpdateTableReplicaAutoScaling", "UpdateTimeToLive",
};

/* The media type of the Content-Type header (before any ';', spaces trimmed) is one of the
 * two JSON types DynamoDB reads. */
static int json_media_type(const struct http_msg *req)
{
	const struct http_header *h = http_msg_header(req, "content-type");
	const char *v = h != NULL ? h->value : "", *end;

	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strcspn(v, ";");
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return ((size_t)(end - v) == strlen("application/json") &&
		strncasecmp(v, "application/json", (size_t)(end - v)) == 0) ||
	       ((size_t)(end - v) == strlen("application/x-amz-json-1.0") &&
		strncasecmp(v, "application/x-amz-json-1.0", (size_t)(end - v)) == 0);
}

/* Whether the request carries a signature of either kind (header or query string). */
static int signed_request(const struct http_msg *req)
{
	const char *q = req->url != NULL ? strchr(req->url, '?') : NULL;

	return http_msg_header(req, "authorization") != NULL ||
	       (q != NULL && strcasestr(q, "X-Amz-Algorithm") != NULL);
}

/* "DynamoDB_20120810.<Operation>" (or the 2011 API's prefix): the operation known when the
 * request is unsigned, any name otherwise (DynamoDB answers for operations added later). */
static int target_ok(const struct http_msg *req)
{
	const struct http_header *h = http_msg_header(req, "x-amz-target");
	const char *dot, *op;

	if (h == NULL || (dot = strchr(h->value, '.')) == NULL || strchr(dot + 1, '.') != NULL)
		return 0;
	if (!((size_t)(dot - h->value) == strlen("DynamoDB_20120810") &&
	      (strncmp(h->value, "DynamoDB_20120810", 17) == 0 ||
	       strncmp(h->value, "DynamoDB_20111205", 17) == 0)))
		return 0;
	op = dot + 1;
	if (*op == '\0')
		return 0;
	if (signed_request(req))
		return 1;
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
		if (strcmp(operations[i], op) == 0)
			return 1;
	return 0;
}

enum front_answer front_door_check(const struct http_msg *req, const char *body, size_t len,
				   struct ds_error *err)
{
	if (strcmp(req->method, "GET") == 0)
		return FRONT_HEALTH;
	if (strcmp(req->method, "OPTIONS") == 0 && http_msg_header(req, "origin") != NULL)
		return FRONT_CORS_PREFLIGHT;
	if (strcmp(req->method, "POST") != 0 || (len > 0 && !json_media_type(req)))
		return FRONT_NOT_FOUND;
	if (len > 0) {
		/* A body that is no JSON object at all.  One that only cJSON cannot read (a lone
		 * surrogate escape) goes on, to be refused later as unreadable: DynamoDB's reader
		 * takes what cJSON's does not, so only the plain case is DynamoDB's answer here. */
		size_t i = 0;
		while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
			i++;
		if (i == len || body[i] != '{') {
			ds_error_set(err, 400, DS_ERR_SERIALIZATION, "%s", "");
			return FRONT_ERROR;
		}
	}
	if (!target_ok(req)) {
		ds_error_set(err, 400, ERR_UNKNOWN_OP, "%s", "");
		return FRONT_ERROR;
	}
	return FRONT_PASS;
}
