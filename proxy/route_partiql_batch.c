/*
 * BatchExecuteStatement writes on configured tables (API reference, BatchExecuteStatement and
 * BatchStatementResponse).  DynamoDB carries each statement of a batch out on its own: each
 * succeeds or fails by itself, and the answer (status 200) holds one response per statement,
 * in order -- its TableName, and its Error {Code, Message, Item} when it failed.
 *
 * No classic operation does that with the statements' semantics: BatchWriteItem has no
 * conditions, so an INSERT would overwrite an item where it must fail with DuplicateItem, and
 * an UPDATE of a protected attribute is a read-modify-write (route_rmw.c).  So each statement
 * goes as the ExecuteStatement it is, through the same path as one the application sent
 * (route_partiql.c: checked, translated, encrypted, carried out by dynaseal where it must), as
 * a part of the request (txn_new_part), one after another; each answer becomes that
 * statement's response.  Statements on other tables go the same way (forwarded unread when
 * they name no configured table).
 *
 * What DynamoDB refuses for the whole request is refused whole (route_partiql.c: more than 25
 * statements; here: reads mixed with writes); what dynaseal refuses in one statement is that
 * statement's ValidationError, naming the table and the statement's place.
 */
#include "proxy/route_partiql_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/ddb/ddb_partiql.h"
#include "proxy/net/reply.h"
#include "proxy/route_rmw.h"

/* The statements of one BatchExecuteStatement and their outcomes so far. */
struct route_partiql_batch {
	size_t n;                  /* statements */
	size_t next;               /* the statement in flight, or the next to run */
	char **bodies;             /* per statement: its ExecuteStatement request (JSON text) */
	cJSON *responses;          /* per statement: its BatchStatementResponse, TableName set
				    * beforehand (when the statement reads), Error set for one
				    * refused before it runs */
	cJSON *capacity;           /* ConsumedCapacity summed per table; NULL when not asked */
	struct txn *part;          /* the statement in flight, NULL between statements */
};

void route_partiql_batch_free(struct route_partiql_batch *b)
{
	if (b == NULL)
		return;
	txn_free(b->part);
	for (size_t i = 0; b->bodies != NULL && i < b->n; i++)
		free(b->bodies[i]);
	free(b->bodies);
	cJSON_Delete(b->responses);
	cJSON_Delete(b->capacity);
	free(b);
}

/* Sets the Error of response r; 0 or -1 when out of memory. */
static int set_error(cJSON *r, const char *code, const char *message)
{
	cJSON *e = cJSON_CreateObject();

	if (e == NULL || cJSON_AddStringToObject(e, "Code", code) == NULL ||
	    cJSON_AddStringToObject(e, "Message", message) == NULL || !cJSON_AddItemToObject(r, "Error", e)) {
		cJSON_Delete(e);
		return -1;
	}
	return 0;
}

/* Statement s of the batch req as an ExecuteStatement request, with the batch's
 * ReturnConsumedCapacity: JSON text, or NULL when out of memory. */
static char *statement_body(const cJSON *s, const cJSON *req)
{
	static const char *const members[] = { "Statement", "Parameters", "ConsistentRead",
		"ReturnValuesOnConditionCheckFailure" };
	const cJSON *rcc = cJSON_GetObjectItemCaseSensitive(req, "ReturnConsumedCapacity");
	cJSON *body = cJSON_CreateObject();
	char *text = NULL;

	if (body == NULL)
		return NULL;
	for (size_t m = 0; m < sizeof(members) / sizeof(members[0]); m++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, members[m]);
		if (v != NULL && !cJSON_AddItemToObject(body, members[m], cJSON_Duplicate(v, 1)))
			goto out;
	}
	if (rcc != NULL && !cJSON_AddItemToObject(body, "ReturnConsumedCapacity", cJSON_Duplicate(rcc, 1)))
		goto out;
	text = cJSON_PrintUnformatted(body);
out:
	cJSON_Delete(body);
	return text;
}

/* The batch of the n statements of list, pqs their parses (ok[i] when it parsed). */
static struct route_partiql_batch *batch_new(const cJSON *req, const cJSON *list,
					     const struct ddb_partiql *pqs, const unsigned char *ok,
					     size_t n)
{
	struct route_partiql_batch *b = calloc(1, sizeof(*b));
	const cJSON *rcc = cJSON_GetObjectItemCaseSensitive(req, "ReturnConsumedCapacity");
	int capacity = cJSON_IsString(rcc) && strcmp(rcc->valuestring, "NONE") != 0;
	const cJSON *s = list->child;

	if (b == NULL)
		return NULL;
	b->n = n;
	b->bodies = calloc(n ? n : 1, sizeof(*b->bodies));
	b->responses = cJSON_CreateArray();
	if (capacity)
		b->capacity = cJSON_CreateArray();
	if (b->bodies == NULL || b->responses == NULL || (capacity && b->capacity == NULL))
		goto oom;
	for (size_t i = 0; i < n; i++, s = s->next) {
		cJSON *r = cJSON_CreateObject();
		if (r == NULL || !cJSON_AddItemToArray(b->responses, r)) {
			cJSON_Delete(r);
			goto oom;
		}
		if ((b->bodies[i] = statement_body(s, req)) == NULL)
			goto oom;
		if (!ok[i])
			continue;       /* its own ExecuteStatement says what is wrong with it */
		if (cJSON_AddStringToObject(r, "TableName", pqs[i].table) == NULL)
			goto oom;
		if (pqs[i].returning != NULL) {
			/* A batch statement's response holds no item a write returns. */
			char msg[400];
			snprintf(msg, sizeof(msg), "table \"%.255s\": BatchExecuteStatement Statements[%zu]: "
				 "dynaseal does not carry out RETURNING in a batch; send the statement "
				 "with ExecuteStatement", pqs[i].table, i);
			if (set_error(r, "ValidationError", msg) != 0)
				goto oom;
		}
	}
	return b;
oom:
	route_partiql_batch_free(b);
	return NULL;
}

int route_partiql_batch_prepare(struct route_state *st, const cJSON *req, const cJSON *list)
{
	size_t n = (size_t)cJSON_GetArraySize(list), reads = 0, writes = 0, i = 0;
	struct ddb_partiql *pqs = calloc(n ? n : 1, sizeof(*pqs));
	unsigned char *ok = calloc(n ? n : 1, 1);
	const struct config_table *named = NULL;   /* a configured table a statement mentions */
	const cJSON *s;
	struct ds_error e;
	int rc = -1;

	if (pqs == NULL || ok == NULL) {
		route_oom(st);
		goto out;
	}
	cJSON_ArrayForEach(s, list) {
		const cJSON *stmt = cJSON_GetObjectItemCaseSensitive(s, "Statement");
		if (!cJSON_IsString(stmt)) {
			route_refuse(st, "%s: Statements[%zu].Statement must be a string", st->t->op, i);
			goto out;
		}
		if (named == NULL)
			named = route_partiql_table(st, stmt->valuestring);
		if (ddb_partiql_parse(stmt->valuestring, cJSON_GetObjectItemCaseSensitive(s, "Parameters"),
				      &pqs[i], &e) == 0) {
			ok[i] = 1;
			reads += pqs[i].kind == DDB_PQ_SELECT;
			writes += pqs[i].kind != DDB_PQ_SELECT;
		}
		i++;
	}
	if (named == NULL || writes == 0) {
		rc = 0;         /* reads (route_partiql.c), or DynamoDB's to answer */
		goto out;
	}
	if (reads != 0) {
		/* API reference: the entire batch must consist of reads or of writes. */
		route_refuse(st, "table \"%s\": %s mixes SELECT with writes; a list reads only or writes "
			     "only", named->name, st->t->op);
		goto out;
	}
	st->pq_batch = batch_new(req, list, pqs, ok, n);
	if (st->pq_batch == NULL) {
		route_oom(st);
		goto out;
	}
	st->involved = 1;
	rc = 1;
out:
	for (size_t k = 0; pqs != NULL && k < i; k++)
		ddb_partiql_free(&pqs[k]);
	free(pqs);
	free(ok);
	return rc;
}

/* ---- the answers ------------------------------------------------------------------------- */

/* The BatchStatementError code for an error of DynamoDB's __type (its part after '#'), or NULL
 * when the type has none of its own (BatchStatementError, Code). */
static const char *statement_code(const char *type)
{
	static const char *const codes[][2] = {
		{ "ConditionalCheckFailedException", "ConditionalCheckFailed" },
		{ "DuplicateItemException", "DuplicateItem" },
		{ "ValidationException", "ValidationError" },
		{ "ResourceNotFoundException", "ResourceNotFound" },
		{ "ProvisionedThroughputExceededException", "ProvisionedThroughputExceeded" },
		{ "ThrottlingException", "ThrottlingError" },
		{ "RequestLimitExceeded", "RequestLimitExceeded" },
		{ "TransactionConflictException", "TransactionConflict" },
		{ "ItemCollectionSizeLimitExceededException", "ItemCollectionSizeLimitExceeded" },
		{ "AccessDeniedException", "AccessDenied" },
		{ "InternalServerError", "InternalServerError" },
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(type, codes[i][0]) == 0)
			return codes[i][1];
	return NULL;
}

/*
 * dynaseal's own refusal of statement i ("table \"T\": ExecuteStatement: ..." and the like)
 * names its place in the batch instead; DynamoDB's words (also where dynaseal answers them
 * itself, as DynamoDB would) stay as they are.
 */
static void place_message(char *out, size_t cap, const char *msg, size_t i)
{
	const char *end = strncmp(msg, "table \"", 7) == 0 ? strstr(msg + 7, "\": ") : NULL;
	const char *rest, *sep = "";

	if (end == NULL) {
		snprintf(out, cap, "%s", msg);
		return;
	}
	end += 3;
	rest = end;
	if (strncmp(rest, "ExecuteStatement", 16) == 0 && (rest[16] == ':' || rest[16] == ' '))
		rest += 16;
	else
		sep = ": ";
	snprintf(out, cap, "%.*sBatchExecuteStatement Statements[%zu]%s%s", (int)(end - msg), msg, i,
		 sep, rest);
}

/* Adds the numbers of from to those of to (ConsumedCapacity: CapacityUnits, Table, the
 * indexes...), member by member. */
static void add_numbers(cJSON *to, const cJSON *from)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, from) {
		cJSON *have = cJSON_GetObjectItemCaseSensitive(to, m->string);
		if (have == NULL && (cJSON_IsNumber(m) || cJSON_IsObject(m)))
			cJSON_AddItemToObject(to, m->string, cJSON_Duplicate(m, 1));
		else if (cJSON_IsNumber(m) && cJSON_IsNumber(have))
			cJSON_SetNumberValue(have, have->valuedouble + m->valuedouble);
		else if (cJSON_IsObject(m) && cJSON_IsObject(have))
			add_numbers(have, m);
	}
}

/* A statement's ConsumedCapacity, added to its table's in the batch's. */
static void add_capacity(struct route_partiql_batch *b, const cJSON *cc)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(cc, "TableName");
	cJSON *entry;

	if (b->capacity == NULL || !cJSON_IsString(name))
		return;
	cJSON_ArrayForEach(entry, b->capacity) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(entry, "TableName");
		if (cJSON_IsString(t) && strcmp(t->valuestring, name->valuestring) == 0) {
			add_numbers(entry, cc);
			return;
		}
	}
	cJSON_AddItemToArray(b->capacity, cJSON_Duplicate(cc, 1));
}

/*
 * A statement's answer as JSON, read as strictly as route_resp.c reads DynamoDB's: without
 * control bytes (which cJSON would skip as whitespace) and with nothing after the value.  An
 * answer it would not read was relayed to the statement unread, so nothing may be taken from
 * it (an Item in it was never verified): NULL then.
 */
static cJSON *answer_json(struct http_msg *resp)
{
	size_t len = evbuffer_get_length(resp->body);
	const char *data = (const char *)evbuffer_pullup(resp->body, -1);
	const char *end = NULL;
	cJSON *doc;

	for (size_t i = 0; data != NULL && i < len; i++)
		if ((unsigned char)data[i] < 0x20 && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
			return NULL;
	doc = data != NULL ? cJSON_ParseWithLengthOpts(data, len, &end, 0) : NULL;
	for (; doc != NULL && end < data + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(doc);
			return NULL;
		}
	}
	return doc;
}

/* Statement i's outcome: DynamoDB's (or dynaseal's) answer resp, or dynaseal's error err.
 * 0, or -1 when out of memory. */
static int note_outcome(struct route_partiql_batch *b, size_t i, struct http_msg *resp,
			const struct ds_error *err)
{
	cJSON *r = cJSON_GetArrayItem(b->responses, (int)i);
	cJSON *doc = resp != NULL ? answer_json(resp) : NULL;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "__type");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
	const char *name, *code, *text;
	char message[768];
	cJSON *item;
	int status = resp != NULL ? resp->status : err->status;
	int rc = 0;

	if (resp != NULL)
		add_capacity(b, cJSON_GetObjectItemCaseSensitive(doc, "ConsumedCapacity"));
	if (status == 200)
		goto out;       /* a write: its TableName says it all */
	if (resp != NULL) {
		if (msg == NULL)
			msg = cJSON_GetObjectItemCaseSensitive(doc, "Message");
		name = cJSON_IsString(type) ? type->valuestring : "";
		text = cJSON_IsString(msg) ? msg->valuestring : "";
		if (!cJSON_IsString(type))
			snprintf(message, sizeof(message), "DynamoDB answered the statement with HTTP %d", status);
		else
			snprintf(message, sizeof(message), "%s", text);
	} else {
		name = err->type != NULL ? err->type : "";
		place_message(message, sizeof(message), err->message, i);
	}
	name = strchr(name, '#') != NULL ? strchr(name, '#') + 1 : name;
	code = statement_code(name);
	if (code == NULL && *name != '\0') {
		/* An error with no code of its own: the nearest, its name kept in the message. */
		char copy[sizeof(message)];
		snprintf(copy, sizeof(copy), "%s", message);
		snprintf(message, sizeof(message), "%.64s: %s", name, copy);
	}
	if (code == NULL)
		code = status >= 500 ? "InternalServerError" : "ValidationError";
	if (set_error(r, code, message) != 0) {
		rc = -1;
		goto out;
	}
	/* ReturnValuesOnConditionCheckFailure ALL_OLD: the item, verified and decrypted. */
	item = cJSON_DetachItemFromObjectCaseSensitive(doc, "Item");
	if (item != NULL)
		cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(r, "Error"), "Item", item);
out:
	cJSON_Delete(doc);
	return rc;
}

/* Every statement has its outcome: the answer, {"Responses": [...], "ConsumedCapacity"}. */
static void answer(struct route_state *st)
{
	struct route_partiql_batch *b = st->pq_batch;
	struct txn *t = st->t;
	cJSON *doc = cJSON_CreateObject();
	struct http_msg *resp = http_msg_new();
	const char *ctype = reply_content_type(t->req);
	char *text = NULL;

	if (doc == NULL || resp == NULL || !cJSON_AddItemToObject(doc, "Responses", b->responses))
		goto oom;
	b->responses = NULL;
	if (b->capacity != NULL && cJSON_GetArraySize(b->capacity) > 0) {
		cJSON_AddItemToObject(doc, "ConsumedCapacity", b->capacity);
		b->capacity = NULL;
	}
	text = cJSON_PrintUnformatted(doc);
	if (text == NULL ||
	    http_msg_add_header(resp, "Content-Type", 12, ctype, strlen(ctype)) != 0 ||
	    http_msg_add_header(resp, "x-amzn-RequestId", 16, t->audit.request_id,
				strlen(t->audit.request_id)) != 0 ||
	    evbuffer_add(resp->body, text, strlen(text)) != 0)
		goto oom;
	resp->status = 200;
	cJSON_free(text);
	cJSON_Delete(doc);
	txn_respond(t, resp, 1);
	return;
oom:
	cJSON_free(text);
	cJSON_Delete(doc);
	http_msg_free(resp);
	route_rmw_fail_oom(st);
}

static void part_done(void *arg, struct http_msg *resp, const struct ds_error *err);

/*
 * Runs the next statement that has no outcome yet, or answers when none is left.  A
 * statement may be answered before txn_forward returns (a refusal): part_done then runs the
 * next one, and the batch may be over and freed, so nothing here touches it after the call.
 */
static void run_next(struct route_state *st)
{
	struct route_partiql_batch *b = st->pq_batch;
	struct txn *part;

	for (;;) {
		while (b->next < b->n &&
		       cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(b->responses, (int)b->next),
							"Error") != NULL)
			b->next++;
		if (b->next == b->n) {
			answer(st);
			return;
		}
		part = txn_new_part(st->t, "ExecuteStatement", b->bodies[b->next],
				    strlen(b->bodies[b->next]), part_done, st);
		if (part != NULL)
			break;
		/* This statement is not carried out; the others may be. */
		if (set_error(cJSON_GetArrayItem(b->responses, (int)b->next), "InternalServerError",
			      "dynaseal is out of memory; retry the statement") != 0) {
			route_rmw_fail_oom(st);
			return;
		}
	}
	b->part = part;
	txn_forward(part);
}

/* A statement's outcome (txn_done_cb): noted, and on to the next. */
static void part_done(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_partiql_batch *b = st->pq_batch;
	int rc;

	b->part = NULL;         /* it frees itself */
	rc = note_outcome(b, b->next, resp, err);
	http_msg_free(resp);
	if (rc != 0) {
		route_rmw_fail_oom(st);
		return;
	}
	b->next++;
	run_next(st);
}

void route_partiql_batch_start(struct route_state *st)
{
	run_next(st);
}
