/*
 * Query and Scan of a secondary index that does not project the whole item (KEYS_ONLY,
 * INCLUDE) on a configured table.  An entry of such an index holds the item's keys and the
 * attributes the index projects, but no aws_dbe_head or aws_dbe_foot: nothing in it can be
 * verified, and an encrypted attribute it projects is ciphertext.  So for each such entry
 * dynaseal reads the entry's item from the table by its primary key (the table's key
 * attributes are in every index entry: DynamoDB Developer Guide, "Attribute projections"),
 * with BatchGetItem (ROUTE_INDEX_BATCH keys a call, one call at a time; keys left in
 * UnprocessedKeys sent again after a growing random pause, at most ROUTE_INDEX_ATTEMPTS
 * times), verifies and decrypts it as any item read (route_resp.c), and answers it cut to the
 * attribute names the entry had: an entry's own values are never answered.  The application's
 * projection and a filter dynaseal applies (route_filter.c) then act on that item as they
 * would on the entry.
 *
 * An item gone between the index read and the item read is left out and Count lowered; an
 * item that fails verification refuses the whole answer, as any item read does.  ScannedCount
 * and LastEvaluatedKey stay DynamoDB's.  With plaintext_policy "allow-read" an entry reads as
 * a plaintext item, as every item without aws_dbe_head does, unless it holds an encrypted
 * attribute's ciphertext (a binary value): then it is an encrypted item's entry.
 *
 * A global index lags its table, so its items are read consistently (an eventually consistent
 * read could miss an item the index already shows); a local index's are read as the request
 * asked.  The request does not say which kind its index is.  DynamoDB allows a consistent read
 * on local indexes only; otherwise dynaseal asks for the consumed capacity by index
 * (ReturnConsumedCapacity INDEXES), whose answer names the index under LocalSecondaryIndexes
 * or GlobalSecondaryIndexes, and gives the application back what it asked for (no capacity,
 * or the TOTAL form: the same answer without the per-table and per-index members).
 */
#include "proxy/route_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "crypto/item/beacon.h"
#include "crypto/item/item_crypt.h"
#include "crypto/legacy/legacy_item.h"
#include "proxy/base/metrics.h"
#include "proxy/ddb/crypt_compound.h"
#include "proxy/route_internal.h"
#include "proxy/route_rmw.h"
#include "proxy/worker.h"

/* What the application asked ReturnConsumedCapacity, when dynaseal asks INDEXES instead. */
enum index_capacity {
	CAPACITY_KEPT = 0,          /* the request's own (INDEXES, or a value DynamoDB refuses) */
	CAPACITY_NONE,              /* absent or NONE: the answer has none */
	CAPACITY_TOTAL,             /* TOTAL: the aggregate only */
};

/* An index entry whose item is read from the table. */
struct index_entry {
	cJSON *item;                /* its place in the answer's Items: the entry, then the item */
	cJSON *key;                 /* the item's primary key (owned) */
	cJSON *names;               /* the attribute names the entry had (strings, owned) */
	cJSON *found;               /* the item read (owned until it takes the entry's place) */
};

struct route_index {
	const struct config_table *table;
	char *table_name;           /* TableName as the request gave it */
	char *index_name;           /* IndexName */
	int consistent;             /* the request asked ConsistentRead true */
	enum index_capacity asked;  /* ReturnConsumedCapacity, when dynaseal changed it */
	int read_consistent;        /* the items are read consistently */
	int changed;                /* the answer was changed here */
	cJSON *doc;                 /* DynamoDB's answer while the items are read */
	struct index_entry *entries;
	size_t len;
	size_t start, end;          /* the entries of the read in flight */
	cJSON *keys;                /* the keys of the read in flight (a list, owned) */
	int attempts;               /* answers to this batch that left keys unprocessed */
	struct event *pause;        /* the wait before the unprocessed keys go again */
};

static int oom(struct route_state *st)
{
	return route_oom(st);
}

/* An answer dynaseal cannot read with certainty: refused as the upstream's fault (502). */
static int unreadable(struct route_state *st, const char *what)
{
	ds_error_set(&st->err, 502, DS_ERR_INTERNAL, "table \"%s\": %s; dynaseal cannot verify the "
		     "items of index \"%.64s\"; retry the request", st->idx->table->name, what,
		     st->idx->index_name);
	return -1;
}

void route_index_free(struct route_index *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->len; i++) {
		cJSON_Delete(x->entries[i].key);
		cJSON_Delete(x->entries[i].names);
		cJSON_Delete(x->entries[i].found);
	}
	free(x->entries);
	cJSON_Delete(x->doc);
	cJSON_Delete(x->keys);
	if (x->pause != NULL)
		event_free(x->pause);
	free(x->table_name);
	free(x->index_name);
	free(x);
}

int route_index_changed(const struct route_state *st)
{
	return st->idx != NULL && st->idx->changed;
}

int route_index_prepare(struct route_state *st, const struct config_table *t, cJSON *req)
{
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(req, "IndexName");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "TableName");
	const cJSON *sel = cJSON_GetObjectItemCaseSensitive(req, "Select");
	const cJSON *rcc = cJSON_GetObjectItemCaseSensitive(req, "ReturnConsumedCapacity");
	struct route_index *x;

	/* Without an index, or with Select COUNT (no items), there is nothing to read. */
	if (!cJSON_IsString(index) || !cJSON_IsString(name) ||
	    (cJSON_IsString(sel) && strcmp(sel->valuestring, "COUNT") == 0))
		return 0;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return oom(st);
	st->idx = x;
	x->table = t;
	x->table_name = strdup(name->valuestring);
	x->index_name = strdup(index->valuestring);
	if (x->table_name == NULL || x->index_name == NULL)
		return oom(st);
	x->consistent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "ConsistentRead"));
	x->read_consistent = 1;
	if (x->consistent)
		return 0;       /* a local index: read as asked, consistently */
	if (rcc == NULL || (cJSON_IsString(rcc) && strcmp(rcc->valuestring, "NONE") == 0))
		x->asked = CAPACITY_NONE;
	else if (cJSON_IsString(rcc) && strcmp(rcc->valuestring, "TOTAL") == 0)
		x->asked = CAPACITY_TOTAL;
	else
		return 0;       /* INDEXES already, or a value DynamoDB refuses in its words */
	if (rcc != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(req, "ReturnConsumedCapacity");
	if (cJSON_AddStringToObject(req, "ReturnConsumedCapacity", "INDEXES") == NULL)
		return oom(st);
	return 0;
}

/* The answer's ConsumedCapacity: the index's kind, then the form the application asked. */
static void read_capacity(struct route_index *x, cJSON *doc)
{
	cJSON *cc = cJSON_GetObjectItemCaseSensitive(doc, "ConsumedCapacity");
	const cJSON *lsi = cJSON_GetObjectItemCaseSensitive(cc, "LocalSecondaryIndexes");

	/* Anything but a local index named as such is read consistently. */
	x->read_consistent = x->consistent || !cJSON_IsObject(lsi) ||
			     cJSON_GetObjectItemCaseSensitive(lsi, x->index_name) == NULL;
	if (cc == NULL || x->asked == CAPACITY_KEPT)
		return;
	x->changed = 1;
	if (x->asked == CAPACITY_NONE) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "ConsumedCapacity");
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(cc, "Table");
	cJSON_DeleteItemFromObjectCaseSensitive(cc, "LocalSecondaryIndexes");
	cJSON_DeleteItemFromObjectCaseSensitive(cc, "GlobalSecondaryIndexes");
}

/* Whether an entry of Items is read from the table: an index entry without aws_dbe_head or
 * aws_dbe_foot (not a legacy item, which route_resp.c reads with its own reader). */
static int needs_item(const struct config_table *t, const cJSON *entry)
{
	const cJSON *a;

	if (!cJSON_IsObject(entry) || !item_is_plaintext(entry) || legacy_item_is_legacy(entry))
		return 0;
	if (t->plaintext_policy != PLAINTEXT_ALLOW_READ)
		return 1;
	cJSON_ArrayForEach(a, entry) {
		enum attr_action act;
		if (config_table_action(t, a->string, strlen(a->string), &act) == 0 &&
		    act == ACTION_ENCRYPT_AND_SIGN && cJSON_GetObjectItemCaseSensitive(a, "B") != NULL)
			return 1;
	}
	return 0;
}

/* A key attribute's value as DynamoDB gives one: one S, N or B string. */
static int key_value(const cJSON *av)
{
	const cJSON *v = cJSON_IsObject(av) ? av->child : NULL;

	return v != NULL && v->next == NULL && cJSON_IsString(v) &&
	       (strcmp(v->string, "S") == 0 || strcmp(v->string, "N") == 0 ||
		strcmp(v->string, "B") == 0);
}

/* Fills e from the entry at Items[i]: its item's key and the names it has. */
static int take_entry(struct route_state *st, struct index_entry *e, cJSON *entry, size_t i)
{
	const struct config_table *t = st->idx->table;
	const char *keys[2] = { t->partition_key, t->sort_key };
	const cJSON *a;
	char what[256];

	e->item = entry;
	e->key = cJSON_CreateObject();
	e->names = cJSON_CreateArray();
	if (e->key == NULL || e->names == NULL)
		return oom(st);
	for (size_t k = 0; k < 2 && keys[k] != NULL; k++) {
		const cJSON *av = cJSON_GetObjectItemCaseSensitive(entry, keys[k]);
		cJSON *copy;
		if (!key_value(av)) {
			snprintf(what, sizeof(what), "DynamoDB's answer to %s holds Items[%zu] %s key "
				 "attribute \"%.64s\" (one S, N or B value)", st->t->op, i,
				 av == NULL ? "without the" : "with a malformed", keys[k]);
			return unreadable(st, what);
		}
		copy = cJSON_Duplicate(av, 1);
		if (copy == NULL || !cJSON_AddItemToObject(e->key, keys[k], copy)) {
			cJSON_Delete(copy);
			return oom(st);
		}
	}
	cJSON_ArrayForEach(a, entry) {
		cJSON *s = cJSON_CreateString(a->string);
		if (s == NULL || !cJSON_AddItemToArray(e->names, s)) {
			cJSON_Delete(s);
			return oom(st);
		}
	}
	return 0;
}

/* Whether item has the primary key key (the attributes of key, equal). */
static int has_key(const cJSON *item, const cJSON *key)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, key) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, k->string);
		if (v == NULL || !cJSON_Compare(v, k, 1))
			return 0;
	}
	return 1;
}

static void send_keys(struct route_state *st);
static void read_cb(void *arg, struct http_msg *resp, const struct ds_error *err);

/* The next batch: the entries from x->start holding at most ROUTE_INDEX_BATCH distinct keys
 * (BatchGetItem refuses a key twice; an item twice in Items is read once). */
static int next_batch(struct route_state *st)
{
	struct route_index *x = st->idx;
	size_t n = 0;

	cJSON_Delete(x->keys);
	x->keys = cJSON_CreateArray();
	if (x->keys == NULL)
		return oom(st);
	x->attempts = 0;
	for (x->end = x->start; x->end < x->len; x->end++) {
		const struct index_entry *e = &x->entries[x->end];
		cJSON *copy;
		size_t j;
		for (j = x->start; j < x->end; j++)
			if (has_key(x->entries[j].key, e->key))
				break;
		if (j < x->end)
			continue;
		if (n == ROUTE_INDEX_BATCH)
			break;
		copy = cJSON_Duplicate(e->key, 1);
		if (copy == NULL || !cJSON_AddItemToArray(x->keys, copy)) {
			cJSON_Delete(copy);
			return oom(st);
		}
		n++;
	}
	return 0;
}

/* Sends x->keys: {"RequestItems": {table: {"Keys": [...], "ConsistentRead": ...}}}. */
static void send_keys(struct route_state *st)
{
	struct route_index *x = st->idx;
	cJSON *body = cJSON_CreateObject();
	cJSON *ri = body != NULL ? cJSON_AddObjectToObject(body, "RequestItems") : NULL;
	cJSON *ka = ri != NULL ? cJSON_AddObjectToObject(ri, x->table_name) : NULL;
	cJSON *keys = ka != NULL ? cJSON_Duplicate(x->keys, 1) : NULL;

	if (keys != NULL && !cJSON_AddItemToObject(ka, "Keys", keys)) {
		cJSON_Delete(keys);
		keys = NULL;
	}
	if (keys == NULL || cJSON_AddBoolToObject(ka, "ConsistentRead", x->read_consistent) == NULL) {
		cJSON_Delete(body);
		route_rmw_fail_oom(st);
		return;
	}
	route_send_as(st, "BatchGetItem", body, read_cb);
}

static void pause_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_keys(arg);
}

/* Keys DynamoDB left unprocessed go again after a random pause that grows with the attempts
 * (full jitter, as the SDKs back off); after ROUTE_INDEX_ATTEMPTS answers that left some, a
 * ThrottlingException the SDKs retry. */
static void retry_later(struct route_state *st)
{
	struct route_index *x = st->idx;
	struct timeval tv;
	unsigned int rnd = 0;
	long cap_us = 25000L << (x->attempts < 5 ? x->attempts : 5);
	struct ds_error e;

	if (++x->attempts >= ROUTE_INDEX_ATTEMPTS) {
		ds_error_set(&e, 400, DS_ERR_THROTTLING, "table \"%s\": DynamoDB left items of index "
			     "\"%.64s\" unread %d times in a row while dynaseal read them from the "
			     "table (throughput exceeded); retry the request", x->table->name,
			     x->index_name, x->attempts);
		txn_fail(st->t, &e);
		return;
	}
	if (x->pause == NULL)
		x->pause = evtimer_new(st->t->worker->base, pause_done, st);
	if (x->pause == NULL) {
		route_rmw_fail_oom(st);
		return;
	}
	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	tv.tv_sec = 0;
	tv.tv_usec = (long)(rnd % (unsigned long)cap_us);
	evtimer_add(x->pause, &tv);
}

/* Every item read: each takes its entry's place in Items, an entry whose item is gone leaves;
 * then the answer is verified and decrypted as any (route_answer_items). */
static void finish(struct route_state *st)
{
	struct route_index *x = st->idx;
	cJSON *doc = x->doc;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "Items");
	cJSON *count = cJSON_GetObjectItemCaseSensitive(doc, "Count");
	size_t gone = 0;

	for (size_t i = 0; i < x->len; i++) {
		struct index_entry *e = &x->entries[i];
		if (e->found != NULL && cJSON_ReplaceItemViaPointer(items, e->item, e->found)) {
			e->item = e->found;     /* Items holds it now */
			e->found = NULL;
		} else {
			cJSON_Delete(cJSON_DetachItemViaPointer(items, e->item));
			e->item = NULL;
			gone++;
		}
	}
	/* A filter dynaseal applies counts the items it keeps itself (route_filter.c). */
	if (gone > 0 && st->filter == NULL && cJSON_IsNumber(count))
		cJSON_SetNumberValue(count, count->valuedouble - (double)gone);
	x->doc = NULL;
	x->changed = 1;
	route_answer_items(st, doc, 1);
}

/* The items of one answer to BatchGetItem, to the entries of the batch with their key. */
static int take_items(struct route_state *st, const cJSON *answer)
{
	struct route_index *x = st->idx;
	const cJSON *responses = cJSON_GetObjectItemCaseSensitive(answer, "Responses");
	const cJSON *list, *item;

	if (responses != NULL && !cJSON_IsObject(responses))
		return unreadable(st, "DynamoDB's answer to BatchGetItem holds Responses that is not a "
				  "map of tables");
	/* Only the table asked for is answered; an item no entry has the key of is not used. */
	cJSON_ArrayForEach(list, responses) {
		if (!cJSON_IsArray(list))
			return unreadable(st, "DynamoDB's answer to BatchGetItem holds Responses that is "
					  "not a list of items");
		cJSON_ArrayForEach(item, list) {
			if (!cJSON_IsObject(item))
				return unreadable(st, "DynamoDB's answer to BatchGetItem holds an item that "
						  "is not a map of attributes");
			for (size_t i = x->start; i < x->end; i++) {
				struct index_entry *e = &x->entries[i];
				if (e->found != NULL || !has_key(item, e->key))
					continue;
				e->found = cJSON_Duplicate(item, 1);
				if (e->found == NULL)
					return oom(st);
			}
		}
	}
	return 0;
}

/* The keys DynamoDB left unprocessed (possibly none) become the next call's. */
static int take_unprocessed(struct route_state *st, cJSON *answer)
{
	struct route_index *x = st->idx;
	cJSON *u = cJSON_GetObjectItemCaseSensitive(answer, "UnprocessedKeys");
	cJSON *ka, *keys;

	cJSON_Delete(x->keys);
	x->keys = NULL;
	if (u != NULL && !cJSON_IsObject(u))
		return unreadable(st, "DynamoDB's answer to BatchGetItem holds UnprocessedKeys that is "
				  "not a map of tables");
	cJSON_ArrayForEach(ka, u) {
		keys = cJSON_GetObjectItemCaseSensitive(ka, "Keys");
		if (!cJSON_IsArray(keys))
			return unreadable(st, "DynamoDB's answer to BatchGetItem holds UnprocessedKeys "
					  "without a list of Keys");
		if (cJSON_GetArraySize(keys) == 0)
			continue;
		if (x->keys != NULL)
			return unreadable(st, "DynamoDB's answer to BatchGetItem holds UnprocessedKeys "
					  "of more than the one table asked");
		x->keys = cJSON_DetachItemViaPointer(ka, keys);
	}
	return 0;
}

static void read_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct route_state *st = arg;
	struct route_index *x = st->idx;
	struct txn *t = st->t;
	struct ds_error e = { 0 };
	int sent = cJSON_GetArraySize(x->keys), rc;
	cJSON *answer;

	t->call = NULL;
	if (err != NULL) {
		metrics_inc(&t->worker->metrics.upstream_errors, 1);
		txn_fail(t, err);
		return;
	}
	if (resp->status < 200 || resp->status >= 300) {
		/* DynamoDB refused the read (throughput, access, the table gone): its refusal is
		 * the answer, read as any error answer to the request. */
		http_msg_free(st->resp);
		st->resp = NULL;
		cJSON_Delete(x->doc);
		x->doc = NULL;
		route_response_cb(st, resp, NULL);
		return;
	}
	answer = route_answer_json(resp);
	http_msg_free(resp);
	rc = !cJSON_IsObject(answer) ? unreadable(st, "DynamoDB's answer to BatchGetItem is not a "
						  "JSON object")
				     : take_items(st, answer) != 0 ? -1 : take_unprocessed(st, answer);
	cJSON_Delete(answer);
	if (rc != 0) {
		e = st->err;
		txn_fail(t, &e);
		return;
	}
	if (sent > cJSON_GetArraySize(x->keys))
		metrics_inc(&t->worker->metrics.index_item_reads,
			    (uint64_t)(sent - cJSON_GetArraySize(x->keys)));
	if (x->keys != NULL) {
		retry_later(st);
		return;
	}
	x->start = x->end;
	if (x->start == x->len) {
		finish(st);
		return;
	}
	if (next_batch(st) != 0) {
		e = st->err;
		txn_fail(t, &e);
		return;
	}
	send_keys(st);
}

int route_index_answer(struct route_state *st, cJSON *doc)
{
	struct route_index *x = st->idx;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "Items");
	cJSON *entry;
	size_t n = 0, i = 0;

	if (x == NULL || (st->op != ROUTE_QUERY && st->op != ROUTE_SCAN))
		return 0;
	read_capacity(x, doc);
	if (!cJSON_IsArray(items))
		return 0;       /* none, or not a list: route_resp.c refuses it */
	cJSON_ArrayForEach(entry, items)
		n += needs_item(x->table, entry);
	if (n == 0)
		return 0;
	x->entries = calloc(n, sizeof(*x->entries));
	if (x->entries == NULL)
		return oom(st);
	cJSON_ArrayForEach(entry, items) {
		if (needs_item(x->table, entry) && take_entry(st, &x->entries[x->len++], entry, i) != 0)
			return -1;
		i++;
	}
	if (next_batch(st) != 0)
		return -1;
	x->doc = doc;
	send_keys(st);
	return 1;
}

/* Whether an index entry holding beacon attribute battr (aws_dbe_b_<beacon>) stands for
 * attribute name in a plaintext index: a standard beacon's attribute, or an attribute a
 * compound beacon is made of (the key condition on it is checked on them, route_filter.c). */
static int beacon_stands_for(const struct config_table *t, const char *battr, const char *name)
{
	const size_t p = sizeof(BEACON_ATTR_PREFIX) - 1;
	const struct config_compound *c;

	if (t->search == NULL || strncmp(battr, BEACON_ATTR_PREFIX, p) != 0)
		return 0;
	for (size_t i = 0; i < t->search->standard_len; i++)
		if (strcmp(battr + p, t->search->standard[i].name) == 0)
			return strcmp(name, t->search->standard[i].name) == 0;
	c = crypt_compound_named(t, battr + p);
	for (size_t i = 0; c != NULL && i < c->parts_len; i++)
		if (strcmp(name, c->parts[i].name) == 0)
			return 1;
	return 0;
}

/* Whether an item read for an entry keeps attribute name: the entry had it, or a beacon that
 * stands for it. */
static int kept(const struct config_table *t, const cJSON *names, const char *name)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, names) {
		if (strcmp(n->valuestring, name) == 0 || beacon_stands_for(t, n->valuestring, name))
			return 1;
	}
	return 0;
}

void route_index_cut(struct route_state *st)
{
	struct route_index *x = st->idx;

	for (size_t i = 0; x != NULL && i < x->len; i++) {
		cJSON *item = x->entries[i].item;
		cJSON *a = item != NULL ? item->child : NULL;
		while (a != NULL) {
			cJSON *next = a->next;
			if (!kept(x->table, x->entries[i].names, a->string))
				cJSON_Delete(cJSON_DetachItemViaPointer(item, a));
			a = next;
		}
	}
}
