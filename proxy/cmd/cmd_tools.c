/*
 * One-shot commands for operators, run on the main thread with a worker's machinery (loop,
 * upstream pool, KMS client, keyrings) set up from the config, as `serve` would:
 *   dynaseal inspect --config FILE --table T --key JSON
 *       the item as DynamoDB stores it beside the item as the application sees it;
 *   dynaseal doctor --config FILE
 *       one line per check: credentials, the upstream and each table's key schema, each
 *       keyring (a KMS round trip for KMS ones), Redis.  Exit 1 when a check fails.
 */
#include "proxy/cmd/cmd_tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "cache/cache_redis_sync.h"
#include "crypto/aws/cred_chain.h"
#include "proxy/ddb/crypt_batch.h"
#include "proxy/forward.h"
#include "proxy/base/json.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"
#include "proxy/worker.h"
#include "proxy/cmd/cmd_setup.h"

/* The end of one asynchronous step, for the loop to stop on. */
struct wait {
	struct event_base *base;
	int done;
	int rc;
	struct http_msg *resp;
	struct ds_error err;
};

static void ddb_done(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct wait *wt = arg;

	wt->done = 1;
	wt->resp = resp;
	if (err != NULL)
		wt->err = *err;
	event_base_loopbreak(wt->base);
}

/* Sends one DynamoDB call signed with dynaseal's credentials; returns the parsed body or NULL
 * (with why). */
static cJSON *ddb_call(struct cmd_setup *tl, const char *op, const char *body, int *status, char *why, size_t cap)
{
	struct http_msg *req = http_msg_new();
	struct wait wt = { tl->w.base, 0, 0, NULL, { 0 } };
	char target[64];
	size_t len = 0;
	char *bytes;
	cJSON *doc = NULL;

	*status = 0;
	snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);
	if (req == NULL || (req->url = strdup("/")) == NULL ||
	    http_msg_add_header(req, "X-Amz-Target", 12, target, strlen(target)) != 0 ||
	    http_msg_add_header(req, "Content-Type", 12, "application/x-amz-json-1.0", 26) != 0) {
		snprintf(why, cap, "out of memory");
		goto done;
	}
	snprintf(req->method, sizeof(req->method), "POST");
	bytes = forward_build(&tl->w, req, tl->srv.region, body, strlen(body), 1, &len, &wt.err);
	if (bytes == NULL) {
		snprintf(why, cap, "%s", wt.err.message);
		goto done;
	}
	if (upstream_call_start(tl->w.dynamodb, bytes, len, ddb_done, &wt) == NULL) {
		snprintf(why, cap, "cannot connect to %s", tl->srv.cfg->upstream_endpoint);
		goto done;
	}
	while (!wt.done)
		event_base_dispatch(tl->w.base);
	if (wt.resp == NULL) {
		snprintf(why, cap, "%s", wt.err.message);
		goto done;
	}
	*status = wt.resp->status;
	doc = json_parse((const char *)evbuffer_pullup(wt.resp->body, -1),
			 evbuffer_get_length(wt.resp->body), NULL);
	if (doc == NULL)
		snprintf(why, cap, "%s answered %d with a body that is not JSON",
			 tl->srv.cfg->upstream_endpoint, wt.resp->status);
	else if (wt.resp->status != 200) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "__type");
		snprintf(why, cap, "%s: %s", cJSON_IsString(t) ? t->valuestring : "error",
			 cJSON_IsString(m) ? m->valuestring : "");
	}
	http_msg_free(wt.resp);
done:
	http_msg_free(req);
	return doc;
}

/* inspect reads a legacy item with the reader of the tool's generation. */
static int tool_legacy_open(void *gen, const struct config_table *t, const cJSON *item,
			    const struct audit_ctx *audit, legacy_reader_done_cb cb, void *cb_arg)
{
	return worker_gen_legacy_open(gen, t, item, audit, cb, cb_arg);
}

static void batch_done(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct wait *wt = arg;

	(void)b;
	wt->done = 1;
	wt->rc = err ? -1 : 0;
	if (err != NULL)
		wt->err = *err;
	event_base_loopbreak(wt->base);
}

/* Prints one value compactly, cut to width. */
static void print_cell(const cJSON *v, int width)
{
	char *s = v ? json_print(v, NULL) : NULL;
	int n = s ? (int)strlen(s) : 1;

	if (s == NULL)
		printf("%-*s", width, "-");
	else if (n > width)
		printf("%.*s...", width - 3, s);
	else
		printf("%-*s", width, s);
	cJSON_free(s);
}

static int parse_opts(int argc, char **argv, const char **config, const char **table, const char **key)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "table", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*config = getenv("DYNASEAL_CONFIG");
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:k:", opts, NULL)) != -1) {
		if (c == 'c')
			*config = optarg;
		else if (c == 't' && table != NULL)
			*table = optarg;
		else if (c == 'k' && key != NULL)
			*key = optarg;
		else
			return -1;
	}
	if (*config == NULL || **config == '\0') {
		fprintf(stderr, "dynaseal: no config file: pass --config FILE or set DYNASEAL_CONFIG\n");
		return -1;
	}
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	const char *config = NULL, *table = NULL, *key = NULL;
	struct cmd_setup tl;
	const struct config_table *t;
	cJSON *keyj = NULL, *req = NULL, *resp = NULL, *stored = NULL, *app = NULL;
	struct crypt_batch *b = NULL;
	char why[600], *body = NULL;
	int status, rc = 1;

	if (parse_opts(argc, argv, &config, &table, &key) != 0 || table == NULL || key == NULL) {
		fprintf(stderr, "usage: dynaseal inspect --config FILE --table TABLE --key '{\"pk\":{\"S\":\"...\"}}'\n");
		return 2;
	}
	if (cmd_setup_init(&tl, config) != 0)
		return 1;
	if (!tl.ready) {
		fprintf(stderr, "dynaseal inspect: cannot set up (credentials in the environment? see dynaseal doctor)\n");
		goto done;
	}
	keyj = json_parse(key, strlen(key), NULL);
	if (!cJSON_IsObject(keyj)) {
		fprintf(stderr, "dynaseal inspect: --key is not a JSON object of DynamoDB attribute values\n");
		goto done;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "TableName", table);
	cJSON_AddItemToObject(req, "Key", keyj);
	keyj = NULL;
	cJSON_AddBoolToObject(req, "ConsistentRead", 1);
	body = json_print(req, NULL);
	resp = ddb_call(&tl, "GetItem", body, &status, why, sizeof(why));
	if (resp == NULL || status != 200) {
		fprintf(stderr, "dynaseal inspect: GetItem on %s: %s\n", table, resp ? why : why);
		goto done;
	}
	stored = cJSON_GetObjectItemCaseSensitive(resp, "Item");
	if (stored == NULL) {
		fprintf(stderr, "dynaseal inspect: table %s has no item with that key\n", table);
		goto done;
	}
	app = cJSON_Duplicate(stored, 1);
	t = config_find_table(tl.srv.cfg, table, strlen(table));
	if (t != NULL) {
		struct keyring *k = worker_gen_keyring(tl.w.gen, t);
		struct wait wt = { tl.w.base, 0, 0, NULL, { 0 } };
		b = crypt_batch_new(NULL);
		if (b == NULL || crypt_batch_add(b, t, k, app, 0) != 0)
			goto done;
		crypt_batch_set_legacy_open(b, tool_legacy_open, tl.w.gen);
		crypt_batch_run(b, batch_done, &wt);
		while (!wt.done)
			event_base_dispatch(tl.w.base);
		if (wt.rc != 0) {
			fprintf(stderr, "dynaseal inspect: the item does not decrypt: %s\n", wt.err.message);
			cJSON_Delete(app);
			app = NULL;
		}
	}
	printf("table %s (%s)\n\n%-24s %-44s %s\n", table,
	       t ? "encrypted by dynaseal" : "not configured: passes through", "attribute",
	       "as stored in DynamoDB", "as the application sees it");
	for (const cJSON *a = stored->child; a != NULL; a = a->next) {
		printf("%-24.24s ", a->string);
		print_cell(a, 44);
		printf(" ");
		print_cell(app ? cJSON_GetObjectItemCaseSensitive(app, a->string) : NULL, 44);
		printf("\n");
	}
	rc = app != NULL ? 0 : 1;
done:
	crypt_batch_free(b);
	cJSON_Delete(app);
	cJSON_Delete(resp);
	cJSON_Delete(req);
	cJSON_Delete(keyj);
	cJSON_free(body);
	cmd_setup_cleanup(&tl);
	return rc;
}

/* One doctor line; counts failures. */
static void check_line(int *failures, int ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check_line(int *failures, int ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("%-5s %s: ", ok ? "ok" : "FAIL", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		(*failures)++;
}

/* A keyring's data key round trip: wrap and unwrap a data key for a made-up item context. */
static void keyring_done(void *arg, int rc, const struct ds_error *err)
{
	struct wait *wt = arg;

	wt->done = 1;
	wt->rc = rc;
	if (err != NULL)
		wt->err = *err;
	event_base_loopbreak(wt->base);
}

static void doctor_keyring(struct cmd_setup *tl, size_t i, int *failures)
{
	const struct config_keyring *c = &tl->srv.cfg->keyrings[i];
	struct keyring *k = tl->w.gen->keyrings[i];
	struct materials enc, dec;
	struct wait wt = { tl->w.base, 0, 0, NULL, { 0 } };
	char what[300];

	snprintf(what, sizeof(what), "keyring %s (%s)", c->name, k->ops->type);
	materials_init(&enc, suite_by_id(0x6700));
	materials_init(&dec, suite_by_id(0x6700));
	if (ec_put(&enc.ec, "aws-crypto-table-name", 21, "dynaseal-doctor", 15, 0) != 0 ||
	    ec_copy(&dec.ec, &enc.ec) != 0) {
		check_line(failures, 0, what, "out of memory");
		goto done;
	}
	keyring_on_encrypt(k, &enc, keyring_done, &wt);
	while (!wt.done)
		event_base_dispatch(tl->w.base);
	if (wt.rc != 0) {
		check_line(failures, 0, what, "cannot wrap a data key: %s", wt.err.message);
		goto done;
	}
	wt.done = 0;
	keyring_on_decrypt(k, &dec, enc.edks, enc.edks_len, keyring_done, &wt);
	while (!wt.done)
		event_base_dispatch(tl->w.base);
	if (wt.rc != 0 || !dec.has_data_key || memcmp(dec.data_key, enc.data_key, sizeof(enc.data_key)) != 0) {
		check_line(failures, 0, what, "cannot unwrap the data key it wrapped: %s", wt.err.message);
		goto done;
	}
	check_line(failures, 1, what, "wraps and unwraps a data key%s%s",
		   c->type == KEYRING_AWS_KMS ? " with KMS key " : "",
		   c->type == KEYRING_AWS_KMS ? c->kms_arn : "");
done:
	materials_cleanup(&enc);
	materials_cleanup(&dec);
}

static void doctor_table(struct cmd_setup *tl, const struct config_table *t, int *failures)
{
	char body[400], why[600], what[300];
	const cJSON *ks;
	const cJSON *e;
	const char *pk = NULL, *sk = NULL;
	int status;
	cJSON *doc;

	snprintf(what, sizeof(what), "table %s", t->name);
	snprintf(body, sizeof(body), "{\"TableName\":\"%s\"}", t->name);
	doc = ddb_call(tl, "DescribeTable", body, &status, why, sizeof(why));
	if (doc == NULL || status != 200) {
		check_line(failures, 0, what, "DescribeTable failed: %s", why);
		cJSON_Delete(doc);
		return;
	}
	ks = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "Table"), "KeySchema");
	cJSON_ArrayForEach(e, ks) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "AttributeName");
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "KeyType");
		if (!cJSON_IsString(n) || !cJSON_IsString(k))
			continue;
		if (strcmp(k->valuestring, "HASH") == 0)
			pk = n->valuestring;
		else if (strcmp(k->valuestring, "RANGE") == 0)
			sk = n->valuestring;
	}
	if (pk == NULL || strcmp(pk, t->partition_key) != 0)
		check_line(failures, 0, what, "its partition key is \"%s\" but the config says \"%s\"",
			   pk ? pk : "?", t->partition_key);
	else if ((sk == NULL) != (t->sort_key == NULL) || (sk != NULL && strcmp(sk, t->sort_key) != 0))
		check_line(failures, 0, what, "its sort key is \"%s\" but the config says \"%s\"",
			   sk ? sk : "(none)", t->sort_key ? t->sort_key : "(none)");
	else
		check_line(failures, 1, what, "reachable; key schema %s%s%s matches", pk, sk ? ", " : "", sk ? sk : "");
	cJSON_Delete(doc);
}

/* What each KMS alias of the config names (DescribeKey), and the ones that cannot be used. */
static void doctor_aliases(struct cmd_setup *tl, int *failures)
{
	const struct config *cfg = tl->srv.cfg;
	char what[300];

	for (size_t i = 0; i < cfg->keyrings_len; i++) {
		const struct config_keyring *kr = &cfg->keyrings[i];
		const char *name = config_keyring_kms_name(kr);
		enum config_kms_ref ref = config_kms_ref(name);
		if ((ref != KMS_REF_ALIAS_NAME && ref != KMS_REF_ALIAS_ARN) || kr->kms_arn == NULL)
			continue;
		snprintf(what, sizeof(what), "keyring %s alias", kr->name);
		check_line(failures, 1, what, "%s resolves to %s (enabled); reads accept %zu key(s)",
			   name, kr->kms_arn, kr->accept_arns_len);
	}
	for (size_t i = 0; i < tl->alias_problems.len; i++)
		check_line(failures, 0, "kms alias", "%s", tl->alias_problems.msgs[i]);
}

/* cache.redis: connected, authenticated, database selected and PING answered, by the same
 * client the workers use (rediss:// verified like theirs). */
static void doctor_redis(struct cmd_setup *tl, const char *url, int *failures)
{
	struct cache_redis_session rs;
	char why[400];

	if (cache_redis_session_open(&rs, url, tl->srv.upstream_ssl, 2000, why, sizeof(why)) != 0) {
		check_line(failures, 0, "redis", "%s", why);
		return;
	}
	check_line(failures, 1, "redis", "%s answers PING (%s, after AUTH and SELECT as configured)",
		   rs.where, strncmp(url, "rediss://", 9) == 0 ? "TLS, certificate verified" : "plain TCP");
	cache_redis_session_close(&rs);
}

int cmd_doctor(int argc, char **argv)
{
	const char *config = NULL;
	struct cmd_setup tl;
	int failures = 0;

	if (parse_opts(argc, argv, &config, NULL, NULL) != 0) {
		fprintf(stderr, "usage: dynaseal doctor --config FILE\n");
		return 2;
	}
	if (cmd_setup_init(&tl, config) != 0) {
		printf("FAIL  config: %s has problems (above)\n", config);
		return 1;
	}
	check_line(&failures, 1, "config", "%s: %zu table(s), %zu keyring(s)", config, tl.srv.cfg->tables_len,
		   tl.srv.cfg->keyrings_len);
	if (tl.srv.creds == NULL)
		check_line(&failures, 0, "credentials", "%s", tl.cred_err.message[0] ? tl.cred_err.message :
			   "none: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role");
	else
		check_line(&failures, 1, "credentials", "from the %s (access key %.4s...)", tl.srv.creds->source,
			   credentials_get(tl.srv.creds)->access_key_id);
	check_line(&failures, tl.srv.region[0] != '\0', "region", "%s",
		   tl.srv.region[0] ? tl.srv.region : "none: set upstream.region or AWS_REGION");
	doctor_aliases(&tl, &failures);
	if (!tl.ready) {
		check_line(&failures, 0, "setup", "dynaseal could not set up its upstream and keyrings "
			   "(see the lines above)");
		goto done;
	}
	if (tl.srv.cfg->tables_len == 0) {
		char why[600];
		int status;
		cJSON *doc = ddb_call(&tl, "ListTables", "{\"Limit\":1}", &status, why, sizeof(why));
		check_line(&failures, doc != NULL && status == 200, "upstream", "%s %s",
			   tl.srv.cfg->upstream_endpoint, doc != NULL && status == 200 ? "answers ListTables" : why);
		cJSON_Delete(doc);
	}
	for (size_t i = 0; i < tl.srv.cfg->tables_len; i++)
		doctor_table(&tl, &tl.srv.cfg->tables[i], &failures);
	for (size_t i = 0; i < tl.srv.cfg->keyrings_len; i++)
		doctor_keyring(&tl, i, &failures);
	if (tl.srv.cfg->cache_redis != NULL)
		doctor_redis(&tl, tl.srv.cfg->cache_redis, &failures);
done:
	printf("%d problem%s found\n", failures, failures == 1 ? "" : "s");
	cmd_setup_cleanup(&tl);
	return failures ? 1 : 0;
}
