/*
 * A stand-in for the network around proxy/route*.c, for tests that drive the rewriting of
 * configured tables without a socket: the hand-off points (txn_*, forward_send,
 * upstream_call_*, worker_gen_*) are defined here and record what the route did; what would
 * go upstream is kept in sent_body, its answer is given back through sent_cb.
 *
 * The parts a request is carried out in (txn_new_part: BatchExecuteStatement's statements) run
 * here as txn.c runs them, their outcomes handed to the request they belong to; only that
 * request's ending is recorded.
 *
 * The table's key schema, as a worker would have learned it, is harness_schema: its keys, a
 * global index "by-note" keyed by note and "by-secret" keyed by secret's beacon attribute.
 *
 * Definitions, not only declarations: include it in exactly one file of a test program that
 * links the library as an archive (so these stand in for txn.o, forward.o, upstream.o and
 * worker.o), as tests/fuzz/fuzz_route.c and tests/unit/test_refusals.c do.
 */
#ifndef DS_TESTS_ROUTE_STUBS_H
#define DS_TESTS_ROUTE_STUBS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "config/config.h"
#include "crypto/keyring/keyring.h"
#include "proxy/ddb/ddb.h"
#include "proxy/forward.h"
#include "proxy/net/upstream.h"
#include "proxy/route.h"
#include "proxy/table_schema.h"
#include "proxy/txn.h"
#include "proxy/worker.h"

#define TABLE "users"

static struct config *cfg;
static struct worker_gen gen;
static struct worker wk;
static struct table_schema *harness_schema;   /* TABLE's, as DescribeTable described it */

/* What the route did with the current input. */
static int failed, responded, sent;
static char *sent_body;
static upstream_done_cb sent_cb;         /* where the answer to what was sent goes */
static void *sent_arg;
static char *replied;                    /* the body of the last reply, NUL-terminated */
static size_t replied_len;               /* its length (it may hold NUL bytes too) */
static int replied_status;               /* its status */
static char last_error[600];             /* "<status> <message>" of the last txn_fail */
static const char *last_type;            /* its __type */

/* Answers the call in flight with status and body[0..len), as DynamoDB would. */
static inline void harness_answer(int status, const char *body, size_t len)
{
	struct http_msg *resp = http_msg_new();

	if (resp == NULL)
		abort();
	resp->status = status;
	resp->http_major = resp->http_minor = 1;
	evbuffer_add(resp->body, body, len);
	sent = 0;
	sent_cb(sent_arg, resp, NULL);
}

/* ---- the hand-off points, defined here instead of txn.c / forward.c / upstream.c ------- */

static void part_free(struct txn *t);

void txn_fail(struct txn *t, const struct ds_error *err)
{
	if (err == NULL || err->status < 400 || err->message[0] == '\0')
		abort();                        /* a refusal always says why */
	if (t->done != NULL) {
		/* A part's outcome goes to the request it is a part of, as txn.c hands it. */
		struct ds_error copy = *err;
		t->done(t->done_arg, NULL, &copy);
		part_free(t);
		return;
	}
	snprintf(last_error, sizeof(last_error), "%d %s", err->status, err->message);
	last_type = err->type;
	failed++;
}

void txn_respond(struct txn *t, struct http_msg *resp, int body_changed)
{
	size_t n = evbuffer_get_length(resp->body);

	(void)body_changed;
	if (t->done != NULL) {
		t->done(t->done_arg, resp, NULL);
		part_free(t);
		return;
	}
	free(replied);
	replied = malloc(n + 1);
	if (replied == NULL)
		abort();
	evbuffer_copyout(resp->body, replied, n);
	replied[n] = '\0';
	replied_len = n;
	replied_status = resp->status;
	http_msg_free(resp);
	responded++;
}

/* A part forwarded as it is: its answer relayed to it. */
static void part_relay_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct txn *t = arg;

	t->call = NULL;
	if (err != NULL)
		txn_fail(t, err);
	else
		txn_respond(t, resp, 0);
}

/* route.c never forwards a request by itself; the parts it makes (txn_new_part) go as txn.c
 * sends them: through route_request, else as they are. */
void txn_forward(struct txn *t)
{
	struct ds_error err = { 0 };
	size_t len;
	const char *body;

	if (t->done == NULL)
		abort();
	if (route_request(t))
		return;
	len = evbuffer_get_length(t->req->body);
	body = (const char *)evbuffer_pullup(t->req->body, -1);
	t->call = forward_send(t->worker, t->req, t->region, body != NULL ? body : "", len, 0,
			       part_relay_cb, t, &err);
	if (t->call == NULL)
		txn_fail(t, &err);
}

struct txn *txn_new_part(struct txn *parent, const char *op, const char *body, size_t len,
			 txn_done_cb cb, void *arg)
{
	struct http_msg *req = http_msg_new();
	struct txn *t = malloc(sizeof(*t));
	char target[80];
	int n = snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);

	if (req == NULL || t == NULL)
		abort();
	snprintf(req->method, sizeof(req->method), "POST");
	req->url = strdup("/");
	if (req->url == NULL || http_msg_add_header(req, "X-Amz-Target", 12, target, (size_t)n) != 0)
		abort();
	evbuffer_add(req->body, body, len);
	*t = *parent;
	t->req = req;
	t->call = NULL;
	t->route = NULL;
	t->gen = worker_gen_hold(parent->gen);
	t->done = cb;
	t->done_arg = arg;
	snprintf(t->op, sizeof(t->op), "%s", op);
	ddb_peek_table(body, len, t->table, sizeof(t->table));
	return t;
}

static void part_free(struct txn *t)
{
	route_free(t);
	worker_gen_release(t->gen);
	http_msg_free(t->req);
	free(t);
}

/* The route frees only the parts it made (a request's own txn is its connection's). */
void txn_free(struct txn *t)
{
	if (t == NULL)
		return;
	if (t->done == NULL)
		abort();
	upstream_call_cancel(t->call);
	part_free(t);
}

/* What forward.c would build is the body itself here: what would reach DynamoDB. */
struct upstream_call *forward_send(struct worker *w, const struct http_msg *req, const char *region,
				   const char *body, size_t body_len, int identity_only,
				   upstream_done_cb cb, void *arg, struct ds_error *err)
{
	char *copy = malloc(body_len + 1);

	(void)req;
	(void)region;
	(void)identity_only;
	(void)err;
	if (copy == NULL)
		abort();
	memcpy(copy, body, body_len);
	copy[body_len] = '\0';
	return upstream_call_start(w->dynamodb, copy, body_len, cb, arg);
}

struct upstream_call *upstream_call_start(struct upstream_pool *pool, char *request, size_t len,
					  upstream_done_cb cb, void *arg)
{
	(void)pool;
	(void)len;
	free(sent_body);
	sent_body = request;                    /* what would reach DynamoDB */
	sent_cb = cb;
	sent_arg = arg;
	sent++;
	return (struct upstream_call *)&sent;  /* a handle the answer (if any) comes back on */
}

void upstream_call_cancel(struct upstream_call *call)
{
	(void)call;
}

struct worker_gen *worker_gen_hold(struct worker_gen *g)
{
	g->refs++;
	return g;
}

void worker_gen_release(struct worker_gen *g)
{
	if (--g->refs < 1)
		abort();                        /* the harness holds one for good */
}

struct keyring *worker_gen_keyring(const struct worker_gen *g, const struct config_table *t)
{
	size_t i = (size_t)(t->keyring_ref - g->cfg->keyrings);

	return i < g->keyrings_len ? g->keyrings[i] : NULL;
}

struct keyring *worker_gen_search_keyring(const struct worker_gen *g, const struct config_table *t)
{
	size_t i;

	if (t->search == NULL)
		return NULL;
	i = (size_t)(t->search->keyring_ref - g->cfg->keyrings);
	return i < g->keyrings_len ? g->keyrings[i] : NULL;
}

struct table_schema *worker_table_schema(const struct worker *w, const char *table)
{
	(void)w;
	return strcmp(table, TABLE) == 0 ? harness_schema : NULL;
}

/* The route suites' tables read no legacy items. */
int worker_gen_legacy_open(const struct worker_gen *g, const struct config_table *t,
			   const cJSON *item, const struct audit_ctx *audit, legacy_reader_done_cb cb,
			   void *arg)
{
	(void)g;
	(void)t;
	(void)item;
	(void)audit;
	(void)cb;
	(void)arg;
	return -1;
}

/* The beacon keys of the table's search block: one fixed key, given at once (the key store's
 * reads are not what the harness exercises). */
static void stub_beacon_key(struct keyring *k, const char *tenant, const struct audit_ctx *audit,
			    keyring_beacon_cb cb, void *arg)
{
	static const unsigned char key[32] = { 7, 1, 4, 1, 5, 9, 2, 6 };

	(void)k;
	(void)tenant;
	(void)audit;
	cb(arg, key, sizeof(key), "stub", NULL);
}

static const struct keyring_ops stub_beacon_ops = {
	.type = "stub-beacons",
	.beacon_key = stub_beacon_key,
};

/*
 * The process-wide config: a raw-aes keyring "local" (a fixed key) and table TABLE ("users"):
 * pk and sk its keys, secret ENCRYPT_AND_SIGN (with a 63-bit standard beacon, whose key comes
 * from the stand-in "beacons"), note SIGN_ONLY, free DO_NOTHING; the compound beacon "ref" is
 * "N-<note>.S-<secret's beacon>".
 */
static void setup(void)
{
	char dir[] = "/tmp/route_stubs.XXXXXX", key[64], json[4096];
	struct config_problems problems;
	unsigned char k[32];
	FILE *f;
	int n;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(key, sizeof(key), "%s/key", dir);
	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(i * 37 + 11);
	f = fopen(key, "wb");
	if (f == NULL || fwrite(k, 1, sizeof(k), f) != sizeof(k) || fclose(f) != 0)
		abort();
	n = snprintf(json, sizeof(json),
		     "{\"upstream\": {\"endpoint\": \"http://127.0.0.1:1\", \"region\": \"us-east-1\"},"
		     " \"keyrings\": {\"local\": {\"type\": \"raw-aes\", \"key_file\": \"%s\","
		     "   \"key_namespace\": \"fuzz\", \"key_name\": \"k\"},"
		     "  \"beacons\": {\"type\": \"aws-kms-hierarchical\", \"key_store_table\": \"keys\","
		     "   \"kms_key_id\": \"arn:aws:kms:us-east-1:111122223333:key/k\","
		     "   \"branch_key_id\": \"b\"}},"
		     " \"tables\": {\"" TABLE "\": {\"keyring\": \"local\", \"partition_key\": \"pk\","
		     "   \"sort_key\": \"sk\", \"attribute_actions\": {\"pk\": \"SIGN_ONLY\","
		     "   \"sk\": \"SIGN_ONLY\", \"secret\": \"ENCRYPT_AND_SIGN\", \"note\": \"SIGN_ONLY\","
		     "   \"free\": \"DO_NOTHING\"}, \"search\": {\"keyring\": \"beacons\","
		     "   \"standard_beacons\": [{\"name\": \"secret\", \"length\": 63}],"
		     "   \"compound_beacons\": [{\"name\": \"ref\", \"split\": \".\","
		     "    \"encrypted\": [{\"name\": \"secret\", \"prefix\": \"S-\"}],"
		     "    \"signed\": [{\"name\": \"note\", \"prefix\": \"N-\"}]}]}}},"
		     " \"log\": {\"level\": \"error\"}}", key);
	cfg = config_parse(json, (size_t)n, NULL, &problems);
	if (cfg == NULL)
		abort();
	config_problems_free(&problems);
	gen.cfg = cfg;
	gen.keyrings_len = cfg->keyrings_len;
	gen.keyrings = calloc(cfg->keyrings_len, sizeof(*gen.keyrings));
	for (size_t i = 0; i < cfg->keyrings_len; i++)
		if ((gen.keyrings[i] = cfg->keyrings[i].type == KEYRING_AWS_KMS_HIERARCHICAL
				       ? keyring_new(&stub_beacon_ops, cfg->keyrings[i].name, NULL)
				       : keyring_raw_aes_new(&cfg->keyrings[i])) == NULL)
			abort();
	gen.refs = 1;
	unlink(key);
	rmdir(dir);
	{
		static const char described[] =
			"{\"TableStatus\":\"ACTIVE\",\"AttributeDefinitions\":["
			"{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},{\"AttributeName\":\"sk\",\"AttributeType\":\"S\"},"
			"{\"AttributeName\":\"note\",\"AttributeType\":\"S\"},"
			"{\"AttributeName\":\"aws_dbe_b_secret\",\"AttributeType\":\"S\"}],"
			"\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
			"\"GlobalSecondaryIndexes\":[{\"IndexName\":\"by-note\",\"KeySchema\":["
			"{\"AttributeName\":\"note\",\"KeyType\":\"HASH\"}]},{\"IndexName\":\"by-secret\",\"KeySchema\":["
			"{\"AttributeName\":\"aws_dbe_b_secret\",\"KeyType\":\"HASH\"}]}]}";
		cJSON *doc = cJSON_Parse(described);
		struct ds_error err;

		harness_schema = table_schema_from_description(doc, &err);
		cJSON_Delete(doc);
		if (harness_schema == NULL)
			abort();
	}
}

/* A request as a client connection hands it over; *t refers to it. */
static struct http_msg *start(struct txn *t, const char *op, const uint8_t *body, size_t len)
{
	struct http_msg *req = http_msg_new();
	char target[64];
	int n = snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);

	if (req == NULL)
		abort();
	snprintf(req->method, sizeof(req->method), "POST");
	req->url = strdup("/");
	if (http_msg_add_header(req, "X-Amz-Target", 12, target, (size_t)n) != 0)
		abort();
	evbuffer_add(req->body, body, len);
	memset(t, 0, sizeof(*t));
	t->worker = &wk;
	t->req = req;
	t->gen = &gen;
	snprintf(t->op, sizeof(t->op), "%s", op);
	ddb_peek_table((const char *)body, len, t->table, sizeof(t->table));
	failed = responded = sent = 0;
	sent_cb = NULL;
	last_error[0] = '\0';
	last_type = NULL;
	return req;
}

static void finish(struct txn *t, struct http_msg *req)
{
	route_free(t);
	http_msg_free(req);
	free(sent_body);
	sent_body = NULL;
	free(replied);
	replied = NULL;
	if (gen.refs != 1)
		abort();                        /* every hold was released */
}

#endif
