/*
 * libFuzzer target for the request-rewriting layer as a whole (proxy/route.c, crypt_batch.c
 * and what they call): any DynamoDB request body, for any operation, must end in exactly one
 * of: forwarded untouched (route_request returns 0), refused (txn_fail), answered, or sent
 * upstream rewritten -- with no crash, leak or undefined behaviour, and fail closed:
 *
 *  - a body forwarded untouched names no configured table where DynamoDB reads one for that
 *    operation (on cJSON's reading of it; a body cJSON cannot read may go out unread only on
 *    the single-table path, whose table ddb_sole_table vouches for);
 *  - a body sent upstream carries no value the input gave an ENCRYPT_AND_SIGN attribute of a
 *    configured table ("secret" of table "users"), wherever the input put it (Item, Key,
 *    Expected, AttributeUpdates, batch and transaction items...), unless that value also appears
 *    in the input where it may legitimately go out in plaintext;
 *  - a body sent upstream is JSON text with every NUL escaped, never the stand-in of
 *    proxy/base/json_nul.h (the oracle reads input and output with json_parse, so strings
 *    holding \u0000 are compared whole).
 *
 * Answers too: with the first byte's top bit set, a canned request of the chosen operation
 * on the configured table goes out and the rest of the input is DynamoDB's answer to it
 * (status 400 when bit 6 is set; "@I@" stands for an item dynaseal itself encrypted; after
 * "@B@", the answer to the first BatchGetItem of an index Query's items).  The
 * low 6 bits pick the operation (modulo the list) and, above it, the request's variant: the
 * ReturnValues of PutItem, UpdateItem and DeleteItem, the statements of BatchExecuteStatement
 * (writes: each a request of its own, the first one answered).  Every answer must end in
 * exactly one reply or error, and a reply relayed to the application holds, where an SDK reads
 * items (a batch statement's Item and its Error's Item among them), none dynaseal did not
 * verify: none that is not a map or is still sealed (aws_dbe_head or aws_dbe_foot), none with a
 * signed attribute valued otherwise than in the one item dynaseal sealed, no UPDATED_*
 * Attributes but DO_NOTHING ones, no Attributes where ReturnValues asked for none, and nothing
 * after the JSON value, and no byte 0xFE or 0xFF.
 *
 * Input: the first byte picks the operation (X-Amz-Target), the rest is the body.  The
 * process-wide set-up is one config with a raw-aes keyring; the worker, its generation and
 * the hand-off points to the network (txn_*, forward_send, upstream_call_*) are stood in for
 * by tests/harness/route_stubs.h, so no socket is ever opened: what would go upstream is
 * checked instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "proxy/base/json.h"
#include "proxy/base/json_nul.h"
#include "tests/harness/route_stubs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ops[] = {
	"PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchWriteItem",
	"BatchGetItem", "TransactWriteItems", "TransactGetItems", "ExecuteStatement",
	"BatchExecuteStatement", "ExecuteTransaction", "DescribeTable", "CreateTable", "UpdateTable",
};

static char *stored_item;                /* an item dynaseal encrypted, as DynamoDB JSON */

/* ---- the oracle -------------------------------------------------------------------------- */

static int single_table_op(const char *op)
{
	static const char *const single[] = { "PutItem", "UpdateItem", "DeleteItem", "GetItem",
					      "Query", "Scan", "CreateTable", "UpdateTable",
					      "DescribeTable" };

	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (strcmp(op, single[i]) == 0)
			return 1;
	return 0;
}

/* A table name that means the configured table, as DynamoDB reads it (a name or an ARN). */
static int names_table(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return strcmp(s, TABLE) == 0 ||
	       (n > sizeof(":table/" TABLE) - 1 &&
		strcmp(s + n - (sizeof(":table/" TABLE) - 1), ":table/" TABLE) == 0);
}

static int member_names_table(const cJSON *obj, const char *member)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, member);

	return cJSON_IsString(v) && names_table(v->valuestring);
}

static int ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* A PartiQL statement that mentions the configured table as a word in any letter case (a
 * coarse reading: dynaseal must refuse such a statement, never forward it unread). */
static int statement_names_table(const cJSON *obj)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "Statement");
	const size_t n = sizeof(TABLE) - 1;

	if (!cJSON_IsString(v))
		return 0;
	for (const char *p = v->valuestring; *p != '\0'; p++)
		if (strncasecmp(p, TABLE, n) == 0 && (p == v->valuestring || !ident_char(p[-1])) &&
		    !ident_char(p[n]))
			return 1;
	return 0;
}

/* 1 when a request body of operation op names the configured table where DynamoDB takes
 * the table from for op: the top-level TableName, RequestItems' members, TransactItems'
 * actions, or the PartiQL statements of that operation. */
static int tree_names_table(const char *op, const cJSON *body)
{
	const cJSON *c, *e;
	static const char *const actions[] = { "Put", "Update", "Delete", "ConditionCheck", "Get" };

	if (!cJSON_IsObject(body))
		return 0;
	if (single_table_op(op))
		return member_names_table(body, "TableName");
	if (strcmp(op, "ExecuteStatement") == 0)
		return statement_names_table(body);
	if (strcmp(op, "BatchExecuteStatement") == 0 || strcmp(op, "ExecuteTransaction") == 0) {
		c = cJSON_GetObjectItemCaseSensitive(body, op[0] == 'B' ? "Statements" : "TransactStatements");
		cJSON_ArrayForEach(e, c)
			if (statement_names_table(e))
				return 1;
		return 0;
	}
	if (strncmp(op, "Batch", 5) == 0) {
		c = cJSON_GetObjectItemCaseSensitive(body, "RequestItems");
		if (cJSON_IsObject(c)) {
			cJSON_ArrayForEach(e, c)
				if (names_table(e->string))
					return 1;
		}
		return 0;
	}
	c = cJSON_GetObjectItemCaseSensitive(body, "TransactItems");
	cJSON_ArrayForEach(e, c) {
		for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
			if (member_names_table(cJSON_GetObjectItemCaseSensitive(e, actions[i]), "TableName"))
				return 1;
	}
	return 0;
}

struct strs {
	const char **v;
	size_t len, cap;
};

static void strs_add(struct strs *s, const char *str)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->len++] = str;
}

/* Every string leaf and member name under node. */
static void leaves(const cJSON *node, struct strs *out)
{
	const cJSON *c;

	if (node->string != NULL)
		strs_add(out, node->string);
	if (cJSON_IsString(node))
		strs_add(out, node->valuestring);
	cJSON_ArrayForEach(c, node)
		leaves(c, out);
}

/* Members whose value maps attribute names to values (or to conditions on them). */
static const char *const attribute_maps[] = { "Item", "Key", "ExclusiveStartKey", "Expected",
					      "AttributeUpdates", "KeyConditions", "QueryFilter",
					      "ScanFilter" };

#define MAX_SECRET_NODES 64

struct split {
	struct strs secrets;                     /* the values the input gives "secret" */
	struct strs others;                      /* every other string of the input */
	const cJSON *nodes[MAX_SECRET_NODES];    /* the "secret" members they came from */
	size_t nodes_len;
};

/* "secret" in one attribute map (a member of a request part on the configured table). */
static void take_secret(struct split *sp, const cJSON *map)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(map, "secret");
	const cJSON *d;

	if (m == NULL || sp->nodes_len == MAX_SECRET_NODES)
		return;
	sp->nodes[sp->nodes_len++] = m;
	cJSON_ArrayForEach(d, m)
		leaves(d, &sp->secrets);      /* the attribute's value, not its name */
	if (cJSON_IsString(m))
		strs_add(&sp->secrets, m->valuestring);
}

/* Every attribute map of a request part (a single-table request, a transaction's action). */
static void take_part(struct split *sp, const cJSON *part)
{
	for (size_t i = 0; i < sizeof(attribute_maps) / sizeof(attribute_maps[0]); i++)
		take_secret(sp, cJSON_GetObjectItemCaseSensitive(part, attribute_maps[i]));
}

/* Where DynamoDB reads attribute maps of the configured table, for operation op. */
static void take_request(struct split *sp, const char *op, const cJSON *body)
{
	const cJSON *c, *e, *w;
	static const char *const actions[] = { "Put", "Update", "Delete", "ConditionCheck", "Get" };

	if (strstr(op, "Table") != NULL)
		return;         /* CreateTable, UpdateTable, DescribeTable: DynamoDB reads no item */
	if (single_table_op(op)) {
		if (member_names_table(body, "TableName"))
			take_part(sp, body);
		return;
	}
	if (strncmp(op, "Batch", 5) == 0 && strcmp(op, "BatchExecuteStatement") != 0) {
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(body, "RequestItems")) {
			if (!names_table(c->string))
				continue;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "Keys"))
				take_secret(sp, e);   /* BatchGetItem: each key is a map */
			cJSON_ArrayForEach(w, c) {     /* BatchWriteItem: write requests */
				take_secret(sp, cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(w, "PutRequest"), "Item"));
				take_secret(sp, cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(w, "DeleteRequest"), "Key"));
			}
		}
		return;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "TransactItems")) {
		for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
			const cJSON *part = cJSON_GetObjectItemCaseSensitive(e, actions[i]);
			if (member_names_table(part, "TableName"))
				take_part(sp, part);
		}
	}
}

/* Every string of the input outside the "secret" members taken. */
static void take_others(struct split *sp, const cJSON *node)
{
	const cJSON *c;

	for (size_t i = 0; i < sp->nodes_len; i++)
		if (sp->nodes[i] == node)
			return;
	if (node->string != NULL)
		strs_add(&sp->others, node->string);
	if (cJSON_IsString(node))
		strs_add(&sp->others, node->valuestring);
	cJSON_ArrayForEach(c, node)
		take_others(sp, c);
}

static int contained_in_any(const char *needle, const struct strs *hay)
{
	for (size_t i = 0; i < hay->len; i++)
		if (strstr(hay->v[i], needle) != NULL)
			return 1;
	return 0;
}

/* A plaintext secret of the input in what would go upstream: the bug this target hunts. */
static void check_sent(const char *op, const cJSON *in, const char *out_text)
{
	struct split sp;
	struct strs out_strs = { 0 };
	cJSON *out = json_parse(out_text, strlen(out_text), NULL);

	/* dynaseal sends only what it printed, a NUL as \u0000, never its stand-in. */
	if (out == NULL || memchr(out_text, JSON_NUL, strlen(out_text)) != NULL)
		__builtin_trap();
	memset(&sp, 0, sizeof(sp));
	take_request(&sp, op, in);
	take_others(&sp, in);
	leaves(out, &out_strs);
	for (size_t i = 0; i < sp.secrets.len; i++) {
		const char *v = sp.secrets.v[i];
		/* Short values match by chance, and a value the input also put elsewhere (an
		 * unconfigured attribute, an expression's value) may go out from there. */
		if (strlen(v) < 6 || contained_in_any(v, &sp.others))
			continue;
		if (contained_in_any(v, &out_strs))
			__builtin_trap();
	}
	free(sp.secrets.v);
	free(sp.others.v);
	free(out_strs.v);
	cJSON_Delete(out);
}

/* An item still carrying its aws_dbe_head or aws_dbe_foot: not verified and decrypted. */
static int sealed(const cJSON *item)
{
	return cJSON_IsObject(item) && (cJSON_GetObjectItemCaseSensitive(item, "aws_dbe_head") != NULL ||
					cJSON_GetObjectItemCaseSensitive(item, "aws_dbe_foot") != NULL);
}

static cJSON *genuine;                   /* ITEM, the plaintext of the one sealed item */

/* An item (or NULL: none) where an SDK reads one that dynaseal did not verify: not a map,
 * still sealed, or a signed attribute valued otherwise than in the only item dynaseal sealed
 * (verification would have refused it; the config's signed attributes are these four). */
static int unverified(const cJSON *item)
{
	static const char *const signed_attrs[] = { "pk", "sk", "secret", "note" };

	if (item == NULL)
		return 0;
	if (!cJSON_IsObject(item) || sealed(item))
		return 1;
	for (size_t i = 0; i < sizeof(signed_attrs) / sizeof(signed_attrs[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, signed_attrs[i]);
		if (v != NULL && !cJSON_Compare(v, cJSON_GetObjectItemCaseSensitive(genuine,
										 signed_attrs[i]), 1))
			return 1;
	}
	return 0;
}

/* Each item of a list where an SDK reads items (or NULL: none). */
static int unverified_list(const cJSON *list)
{
	const cJSON *e;

	if (list == NULL)
		return 0;
	if (!cJSON_IsArray(list))
		return 1;
	cJSON_ArrayForEach(e, list)
		if (unverified(e))
			return 1;
	return 0;
}

/* A write's Attributes for what its ReturnValues (rv) asked: a whole verified item for ALL_*,
 * DO_NOTHING attributes ("free") only for UPDATED_*, nothing otherwise. */
static int unverified_attributes(const char *rv, const cJSON *attrs)
{
	const cJSON *a;

	if (attrs == NULL)
		return 0;
	if (strncmp(rv, "ALL_", 4) == 0)
		return unverified(attrs);
	if (!cJSON_IsObject(attrs))
		return 1;
	cJSON_ArrayForEach(a, attrs)
		if (strncmp(rv, "UPDATED_", 8) != 0 || strcmp(a->string, "free") != 0)
			return 1;
	return 0;
}

/* 1 when a reply to op (whose request asked ReturnValues rv) holds, where an SDK reads items
 * for op and status, an item of the configured table dynaseal did not verify and decrypt. */
static int unverified_item(const char *op, const char *rv, int status, const cJSON *doc)
{
	const cJSON *c, *e, *r = cJSON_GetObjectItemCaseSensitive(doc, "Responses");
	int write = strcmp(op, "PutItem") == 0 || strcmp(op, "UpdateItem") == 0 ||
		    strcmp(op, "DeleteItem") == 0;

	if (strcmp(op, "BatchExecuteStatement") == 0 && status == 200) {
		/* Each statement's outcome: the item of a read, or of a failed condition in its
		 * Error. */
		if (r != NULL && !cJSON_IsArray(r))
			return 1;
		cJSON_ArrayForEach(c, r)
			if (unverified(cJSON_GetObjectItemCaseSensitive(c, "Item")) ||
			    unverified(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(c, "Error"), "Item")))
				return 1;
	}
	if (status != 200) {
		/* An SDK fills a modeled error's members by its __type, whatever the operation:
		 * a failed condition's Item and a cancelled transaction's reasons. */
		if (unverified(cJSON_GetObjectItemCaseSensitive(doc, "Item")))
			return 1;
		c = cJSON_GetObjectItemCaseSensitive(doc, "CancellationReasons");
		if (c != NULL && !cJSON_IsArray(c))
			return 1;
		cJSON_ArrayForEach(e, c)
			if (unverified(cJSON_GetObjectItemCaseSensitive(e, "Item")))
				return 1;
		return 0;
	}
	if (strcmp(op, "GetItem") == 0 && unverified(cJSON_GetObjectItemCaseSensitive(doc, "Item")))
		return 1;
	if (write && unverified_attributes(rv, cJSON_GetObjectItemCaseSensitive(doc, "Attributes")))
		return 1;
	if ((strcmp(op, "Query") == 0 || strcmp(op, "Scan") == 0) &&
	    unverified_list(cJSON_GetObjectItemCaseSensitive(doc, "Items")))
		return 1;
	if (strcmp(op, "TransactGetItems") == 0 && r != NULL && !cJSON_IsArray(r))
		return 1;
	if (strcmp(op, "TransactGetItems") == 0)
		cJSON_ArrayForEach(c, r)
			if (unverified(cJSON_GetObjectItemCaseSensitive(c, "Item")))
				return 1;
	if (strcmp(op, "BatchGetItem") == 0 && r != NULL && !cJSON_IsObject(r))
		return 1;
	if (strcmp(op, "BatchGetItem") == 0)
		cJSON_ArrayForEach(c, r)
			if (names_table(c->string) && unverified_list(c))
				return 1;
	if (strcmp(op, "BatchWriteItem") == 0)
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "UnprocessedItems"))
			if (names_table(c->string))
				cJSON_ArrayForEach(e, c)
					if (sealed(cJSON_GetObjectItemCaseSensitive(
						    cJSON_GetObjectItemCaseSensitive(e, "PutRequest"), "Item")))
						return 1;
	return 0;
}

#define ITEM_KEY "{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"}}"
#define ITEM "{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"secret\":{\"S\":\"topsecret-1\"}," \
	"\"note\":{\"S\":\"n\"},\"free\":{\"S\":\"f\"}}"

#define UPDATE(rv) "{\"TableName\":\"users\",\"Key\":" ITEM_KEY ",\"UpdateExpression\":" \
	"\"SET #f = :f\",\"ExpressionAttributeNames\":{\"#f\":\"free\"}," \
	"\"ExpressionAttributeValues\":{\":f\":{\"S\":\"x\"}}," \
	"\"ReturnValues\":\"" rv "\"}"

/* The request each operation's answer is fuzzed against (NULL: not one dynaseal rewrites);
 * variant picks among a write's ReturnValues (modulo those listed for op). */
static const char *canned_request(const char *op, unsigned variant)
{
	static const struct {
		const char *op, *body;
	} variants[] = {
		{ "PutItem", "{\"TableName\":\"users\",\"Item\":" ITEM ",\"ReturnValues\":\"NONE\","
		  "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}" },
		{ "UpdateItem", UPDATE("UPDATED_NEW") },
		{ "UpdateItem", UPDATE("NONE") },
		{ "UpdateItem", UPDATE("ALL_OLD") },
		{ "UpdateItem", UPDATE("UPDATED_OLD") },
		{ "DeleteItem", "{\"TableName\":\"users\",\"Key\":" ITEM_KEY "}" },
		{ "BatchExecuteStatement", "{\"Statements\":[{\"Statement\":\"INSERT INTO users VALUE "
		  "{'pk': 'a', 'sk': 'b', 'secret': 'topsecret-1'}\"}]}" },
		{ "BatchExecuteStatement", "{\"Statements\":[{\"Statement\":\"SELECT * FROM users WHERE "
		  "pk = 'a' AND sk = 'b'\"}]}" },
		{ "Query", "{\"TableName\":\"users\",\"IndexName\":\"by-note\",\"KeyConditionExpression\":"
		  "\"note = :n\",\"ExpressionAttributeValues\":{\":n\":{\"S\":\"n\"}}}" },
	};
	static const struct {
		const char *op, *body;
	} canned[] = {
		{ "PutItem", "{\"TableName\":\"users\",\"Item\":" ITEM ",\"ReturnValues\":\"ALL_OLD\"}" },
		{ "UpdateItem", UPDATE("ALL_NEW") },
		{ "DeleteItem", "{\"TableName\":\"users\",\"Key\":" ITEM_KEY ",\"ReturnValues\":\"ALL_OLD\"}" },
		{ "GetItem", "{\"TableName\":\"users\",\"Key\":" ITEM_KEY "}" },
		{ "Query", "{\"TableName\":\"users\",\"KeyConditionExpression\":\"pk = :p\","
		  "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"a\"}}}" },
		{ "Scan", "{\"TableName\":\"users\"}" },
		{ "BatchWriteItem", "{\"RequestItems\":{\"users\":[{\"PutRequest\":{\"Item\":" ITEM "}}]}}" },
		{ "BatchGetItem", "{\"RequestItems\":{\"users\":{\"Keys\":[" ITEM_KEY "]}}}" },
		{ "TransactWriteItems", "{\"TransactItems\":[{\"Put\":{\"TableName\":\"users\",\"Item\":"
		  ITEM "}}]}" },
		{ "TransactGetItems", "{\"TransactItems\":[{\"Get\":{\"TableName\":\"users\",\"Key\":"
		  ITEM_KEY "}}]}" },
		/* A batch of writes: each statement a request of its own, the answer to the first. */
		{ "BatchExecuteStatement", "{\"ReturnConsumedCapacity\":\"TOTAL\",\"Statements\":["
		  "{\"Statement\":\"DELETE FROM users WHERE pk = 'a' AND sk = 'b'\","
		  "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}]}" },
	};

	const char *found = NULL;
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(canned) / sizeof(canned[0]); i++)
		if (strcmp(canned[i].op, op) == 0)
			found = canned[i].body;
	if (found == NULL)
		return NULL;
	/* Variant 0 is the first request; the others follow in the order listed. */
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		n += strcmp(variants[i].op, op) == 0;
	variant %= n + 1;
	for (size_t i = 0; variant > 0 && i < sizeof(variants) / sizeof(variants[0]); i++)
		if (strcmp(variants[i].op, op) == 0 && --variant == 0)
			found = variants[i].body;
	return found;
}

/* An item encrypted by dynaseal, for answers: the Item of a PutItem it sends. */
static void make_stored_item(void)
{
	const char *body = canned_request("PutItem", 0);
	struct txn t;
	struct http_msg *req = start(&t, "PutItem", (const uint8_t *)body, strlen(body));
	cJSON *doc;

	if (route_request(&t) != 1 || sent != 1)
		abort();
	doc = json_parse(sent_body, strlen(sent_body), NULL);
	stored_item = doc != NULL ? json_print(cJSON_GetObjectItemCaseSensitive(doc, "Item"), NULL)
				  : NULL;
	if (stored_item == NULL)
		abort();
	cJSON_Delete(doc);
	finish(&t, req);
}

/* The answer's bytes with every "@I@" replaced by the stored item. */
static char *expand(const uint8_t *data, size_t size, size_t *out_len)
{
	size_t item_len = strlen(stored_item), n = 0;
	char *out = malloc(size / 3 * item_len + size + 1);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < size;) {
		if (i + 3 <= size && memcmp(data + i, "@I@", 3) == 0) {
			memcpy(out + n, stored_item, item_len);
			n += item_len;
			i += 3;
		} else {
			out[n++] = (char)data[i++];
		}
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

/* The ReturnValues of a canned request ("NONE" when absent). */
static const char *return_values(const char *body)
{
	static char rv[16];
	cJSON *doc = cJSON_Parse(body);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "ReturnValues");

	snprintf(rv, sizeof(rv), "%s", cJSON_IsString(v) ? v->valuestring : "NONE");
	cJSON_Delete(doc);
	return rv;
}

/* Whether a reply holds a byte below 0x20 JSON allows nowhere unescaped (cJSON skips them as
 * whitespace and cuts names at a NUL: a UTF-16 body reads to it as other names). */
static int control_bytes(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return 1;
	return 0;
}

/* Whether a reply begins, past whitespace, NULs and byte order marks, with '{' or '[': JSON
 * to a parser that detects its encoding. */
static int json_like(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '{' || c == '[')
			return 1;
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != 0 && c != 0xEF &&
		    c != 0xBB && c != 0xBF && c != 0xFE && c != 0xFF)
			return 0;
	}
	return 0;
}

/* Answers the call in flight with 200 and body (a further step of the same exchange). */
static void answer_again(const char *body)
{
	harness_answer(200, body, strlen(body));
}

/*
 * An index Query whose answer holds entries without aws_dbe_head: dynaseal reads their items
 * with BatchGetItem (route_index.c), which must ask the configured table by key only.  The
 * first read gets the input after "@B@" (else the sealed item); keys it leaves unprocessed
 * go again after a pause, answered with the sealed item, as is every further batch.  The
 * items are read consistently unless the index answer may have named the index local.
 */
static void answer_index_reads(const uint8_t *data, size_t size, int local)
{
	char *first = data != NULL ? expand(data, size, &(size_t){ 0 }) : NULL;
	char canned[8192];
	int rounds = 0;

	snprintf(canned, sizeof(canned), "{\"Responses\":{\"users\":[%s]}}", stored_item);
	while (failed + responded == 0 && rounds++ < 400) {
		if (sent == 0)
			event_base_loop(wk.base, EVLOOP_ONCE);      /* the pause before a retry */
		if (sent != 1 || strstr(sent_body, "\"RequestItems\":{\"users\":{\"Keys\":[") == NULL ||
		    strstr(sent_body, local ? "\"ConsistentRead\":" : "\"ConsistentRead\":true") == NULL)
			__builtin_trap();       /* the table's items, consistently unless a local index */
		answer_again(first != NULL && rounds == 1 ? first : canned);
	}
	free(first);
}

static void fuzz_answer(const char *op, unsigned variant, int status, const uint8_t *data,
			size_t size)
{
	const void *second;
	const char *body = canned_request(op, variant);
	struct http_msg *req, *resp;
	struct txn t;
	size_t len;
	char *answer;

	if (body == NULL)
		return;
	req = start(&t, op, (const uint8_t *)body, strlen(body));
	if (route_request(&t) != 1 || sent != 1 || sent_cb == NULL)
		__builtin_trap();               /* the canned requests all go out */
	second = memmem(data, size, "@B@", 3);
	answer = expand(data, second != NULL ? (size_t)((const uint8_t *)second - data) : size, &len);
	harness_answer(status, answer, len);
	free(answer);
	if (failed + responded == 0 && sent == 1 && strcmp(op, "UpdateItem") == 0 && status == 400) {
		/* The forwarded update's condition failed: dynaseal reads the item (route_rmw.c)
		 * to tell an upsert from the application's own condition being false.  The read
		 * asks for the key only; answered "no item", the update is carried out as an
		 * upsert, whose write carries the new item sealed. */
		if (strstr(sent_body, "\"ConsistentRead\":true") == NULL)
			__builtin_trap();
		answer_again("{}");
		if (failed + responded == 0 &&
		    (sent != 1 || strstr(sent_body, "aws_dbe_foot") == NULL ||
		     strstr(sent_body, "attribute_not_exists") == NULL))
			__builtin_trap();       /* the write: sealed, and only if still missing */
		if (failed + responded == 0)
			answer_again("{}");
	}
	if (failed + responded == 0 && sent == 1 && strcmp(op, "Query") == 0)
		answer_index_reads(second != NULL ? (const uint8_t *)second + 3 : NULL,
				   second != NULL ? size - (size_t)((const uint8_t *)second + 3 - data) : 0,
				   memmem(data, size, "LocalSecondaryIndexes", 21) != NULL);
	if (failed + responded != 1 || sent != 0)
		__builtin_trap();               /* exactly one ending, no further call */
	if (getenv("FUZZ_ROUTE_SHOW") != NULL)  /* to see what the seeds reach */
		fprintf(stderr, "%s %d: %s\n", op, status, responded ? replied : last_error);
	if (responded && replied != NULL) {
		struct json_read rd = { 0 };
		cJSON *doc = control_bytes(replied, replied_len) ? NULL :
			     json_parse(replied, replied_len, &rd);
		/* A relayed reply holds no unverified item of the configured table, and nothing
		 * after its JSON value.  (An error body that is not JSON to any parser is relayed
		 * as it came; a success, or anything like JSON, that cJSON cannot read exactly is
		 * refused.) */
		if (doc == NULL && (status == 200 || json_like(replied, replied_len)))
			__builtin_trap();
		if (doc != NULL && (rd.trailing || rd.not_utf8 ||
				    unverified_item(op, return_values(body),
						    /* a batch of writes answers 200 whatever its
						     * statements got */
						    strcmp(op, "BatchExecuteStatement") == 0 ? replied_status
											   : status, doc)))
			__builtin_trap();
		cJSON_Delete(doc);
	}
	finish(&t, req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct txn t;
	struct http_msg *req;
	const char *op;
	cJSON *in;
	int rc;

	if (cfg == NULL) {
		setup();
		wk.base = event_base_new();
		if (wk.base == NULL)
			abort();
		make_stored_item();
		genuine = cJSON_Parse(ITEM);
		if (genuine == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		const size_t n = sizeof(ops) / sizeof(ops[0]);
		fuzz_answer(ops[(data[0] & 0x3f) % n], (unsigned)((data[0] & 0x3f) / n),
			    (data[0] & 0x40) ? 400 : 200, data + 1, size - 1);
		return 0;
	}
	op = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))];
	data++;
	size--;
	req = start(&t, op, data, size);

	rc = route_request(&t);
	in = json_parse((const char *)data, size, NULL);
	if (rc == 0) {
		/* Forwarded untouched: it must not concern the configured table (whose search
		 * block has CreateTable, UpdateTable and DescribeTable rewritten too). */
		if (failed || responded || sent)
			__builtin_trap();
		if (in != NULL && tree_names_table(op, in))
			__builtin_trap();
		/* A body cJSON cannot read goes out unread only on the single-table fast path,
		 * where ddb_sole_table vouched for its one table name (fuzzed against cJSON by
		 * fuzz_http); DynamoDB refuses what is not JSON. */
		if (in == NULL && single_table_op(op) == 0)
			__builtin_trap();
	} else {
		if (failed + responded + sent != 1)
			__builtin_trap();       /* exactly one ending */
		if (sent) {
			if (in == NULL)
				__builtin_trap();
			check_sent(op, in, sent_body);
		}
	}
	cJSON_Delete(in);
	finish(&t, req);
	return 0;
}
