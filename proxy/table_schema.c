/*
 * Tables' key schemas, learned with DescribeTable in the background (table_schema.h).
 *
 * Each configured table has an entry with its own timer: described at start (spread over the
 * first half second), again every REFRESH_S (a tenth either way, so that workers and replicas
 * drift apart), sooner while the table or an index is changing (1 s, doubling up to a minute),
 * and half a second after a table operation passed through.  One DescribeTable per table is in
 * flight at most; a change seen meanwhile describes it again when the answer is in.
 */
#include "proxy/table_schema.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "crypto/aws/ddb_client.h"
#include "proxy/base/log.h"

#define REFRESH_S 300           /* a learned schema, or a table refused or missing: again */
#define MISSING_S 60            /* a table not found: again, sooner (it may be created) */
#define RETRY_S 30              /* DynamoDB unreachable, throttling or failing */
#define CHANGING_MAX_S 60       /* the longest pause while a table or index is changing */
#define START_SPREAD_MS 500     /* the first descriptions, spread over this */
#define CHANGED_MS 500          /* after a table operation passed through */

/* ---- one schema -------------------------------------------------------------------------- */

struct table_schema *table_schema_hold(struct table_schema *s)
{
	if (s != NULL)
		s->refs++;
	return s;
}

void table_schema_release(struct table_schema *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	for (size_t i = 0; i < 2; i++)
		free(s->keys[i]);
	for (size_t i = 0; i < s->indexes_len; i++) {
		free(s->indexes[i].name);
		free(s->indexes[i].keys[0]);
		free(s->indexes[i].keys[1]);
	}
	free(s->indexes);
	free(s->index_keys);
	free(s);
}

static const char *string_of(const cJSON *obj, const char *member)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, member);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The type AttributeDefinitions gives attr: S, N or B, else DDB_T_NONE. */
static enum ddb_type defined_type(const cJSON *defs, const char *attr)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, defs) {
		const char *name = string_of(d, "AttributeName");
		const char *type = string_of(d, "AttributeType");
		enum ddb_type t;

		if (name == NULL || type == NULL || strcmp(name, attr) != 0)
			continue;
		t = ddb_type_named(type, strlen(type));
		return t == DDB_T_S || t == DDB_T_N || t == DDB_T_B ? t : DDB_T_NONE;
	}
	return DDB_T_NONE;
}

/* A KeySchema's partition (HASH) and sort (RANGE) key into keys[] (copies), each of them of a
 * type defs gives.  0, or -1 with err set. */
static int read_key_schema(const cJSON *ks, const cJSON *defs, const char *what, char *keys[2],
			   enum ddb_type types[2], struct ds_error *err)
{
	const cJSON *k;

	if (!cJSON_IsArray(ks) || cJSON_GetArraySize(ks) < 1 || cJSON_GetArraySize(ks) > 2) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "%s: no KeySchema of one or two keys", what);
		return -1;
	}
	cJSON_ArrayForEach(k, ks) {
		const char *name = string_of(k, "AttributeName");
		const char *kind = string_of(k, "KeyType");
		int slot = kind != NULL && strcmp(kind, "HASH") == 0 ? 0 :
			   kind != NULL && strcmp(kind, "RANGE") == 0 ? 1 : -1;
		enum ddb_type t = name != NULL ? defined_type(defs, name) : DDB_T_NONE;

		if (slot < 0 || keys[slot] != NULL || t == DDB_T_NONE) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "%s: a key that is not a HASH or RANGE "
				     "key of a type (S, N or B) in AttributeDefinitions", what);
			return -1;
		}
		if ((keys[slot] = strdup(name)) == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			return -1;
		}
		if (types != NULL)
			types[slot] = t;
	}
	if (keys[0] == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "%s: no HASH key", what);
		return -1;
	}
	return 0;
}

/* Adds the indexes of list (global or not) to s. */
static int read_indexes(struct table_schema *s, const cJSON *list, int global, const cJSON *defs,
			struct ds_error *err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list) {
		struct table_index *ix = &s->indexes[s->indexes_len];
		const char *name = string_of(it, "IndexName");

		if (name == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "an index without IndexName");
			return -1;
		}
		s->indexes_len++;
		ix->global = global;
		if ((ix->name = strdup(name)) == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			return -1;
		}
		if (read_key_schema(cJSON_GetObjectItemCaseSensitive(it, "KeySchema"), defs, name,
				    ix->keys, NULL, err) != 0)
			return -1;
	}
	return 0;
}

/* The index keys writes are checked against, in DynamoDB's order, from s->indexes. */
static int list_index_keys(struct table_schema *s, const cJSON *defs, struct ds_error *err)
{
	s->index_keys = calloc(2 * s->indexes_len + 1, sizeof(*s->index_keys));
	if (s->index_keys == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return -1;
	}
	for (int global = 1; global >= 0; global--) {
		for (size_t i = 0; i < s->indexes_len; i++) {
			const struct table_index *ix = &s->indexes[i];

			if (ix->global != global)
				continue;
			/* A local index shares the table's partition key: its sort key alone. */
			for (size_t k = global ? 0 : 1; k < 2; k++) {
				if (ix->keys[k] == NULL)
					continue;
				s->index_keys[s->index_keys_len].attr = ix->keys[k];
				s->index_keys[s->index_keys_len].type = defined_type(defs, ix->keys[k]);
				s->index_keys[s->index_keys_len].index = ix->name;
				s->index_keys_len++;
			}
		}
	}
	return 0;
}

struct table_schema *table_schema_from_description(const cJSON *table, struct ds_error *err)
{
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(table, "AttributeDefinitions");
	const cJSON *gsis = cJSON_GetObjectItemCaseSensitive(table, "GlobalSecondaryIndexes");
	const cJSON *lsis = cJSON_GetObjectItemCaseSensitive(table, "LocalSecondaryIndexes");
	const char *status = string_of(table, "TableStatus");
	struct table_schema *s;
	size_t n;

	if (!cJSON_IsObject(table)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "no Table in the answer");
		return NULL;
	}
	/* Items of a table being created or deleted are refused as not found: no check of ours
	 * must come first. */
	if (status == NULL || (strcmp(status, "ACTIVE") != 0 && strcmp(status, "UPDATING") != 0)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "the table is %.32s", status ? status : "of no status");
		return NULL;
	}
	if ((gsis != NULL && !cJSON_IsArray(gsis)) || (lsis != NULL && !cJSON_IsArray(lsis))) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "indexes that are not lists");
		return NULL;
	}
	n = (size_t)cJSON_GetArraySize(gsis) + (size_t)cJSON_GetArraySize(lsis);
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->indexes = calloc(n + 1, sizeof(*s->indexes))) == NULL) {
		free(s);
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	s->refs = 1;
	if (read_key_schema(cJSON_GetObjectItemCaseSensitive(table, "KeySchema"), defs, "the table",
			    s->keys, s->key_types, err) != 0 ||
	    read_indexes(s, gsis, 1, defs, err) != 0 || read_indexes(s, lsis, 0, defs, err) != 0 ||
	    list_index_keys(s, defs, err) != 0) {
		table_schema_release(s);
		return NULL;
	}
	return s;
}

int table_schema_changing(const cJSON *table)
{
	const char *status = string_of(table, "TableStatus");
	const cJSON *ix;

	if (status == NULL || strcmp(status, "ACTIVE") != 0)
		return 1;
	cJSON_ArrayForEach(ix, cJSON_GetObjectItemCaseSensitive(table, "GlobalSecondaryIndexes")) {
		const char *st = string_of(ix, "IndexStatus");
		if (st != NULL && strcmp(st, "ACTIVE") != 0)
			return 1;
	}
	return 0;
}

int table_schema_key_matches(const struct table_schema *s, const cJSON *key)
{
	int n = 0;

	if (!cJSON_IsObject(key))
		return 0;
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v, *inner;

		if (s->keys[i] == NULL)
			continue;
		n++;
		v = cJSON_GetObjectItemCaseSensitive(key, s->keys[i]);
		if (ddb_value_type(v, &inner) != s->key_types[i])
			return 0;
		if (s->key_types[i] != DDB_T_N && (!cJSON_IsString(inner) || inner->valuestring[0] == '\0'))
			return 0;
	}
	return cJSON_GetArraySize(key) == n;
}

const struct table_index *table_schema_index(const struct table_schema *s, const char *name)
{
	for (size_t i = 0; i < s->indexes_len; i++)
		if (strcmp(s->indexes[i].name, name) == 0)
			return &s->indexes[i];
	return NULL;
}

/* ---- the cache --------------------------------------------------------------------------- */

/* One table described. */
struct schema_entry {
	struct table_schemas *cache;
	char *table;                      /* the table's name */
	struct table_schema *schema;      /* as last learned, or NULL */
	struct event *timer;              /* the next description */
	int tracked;                      /* configured now (else no longer described) */
	int inflight;                     /* a DescribeTable is out */
	int again;                        /* described again as soon as it is in */
	int changing_s;                   /* the pause while the table is changing, else 0 */
	int warned;                       /* a refusal was logged (until the next success) */
};

struct table_schemas {
	struct event_base *base;          /* the worker's loop */
	struct ddb_client *client;        /* owned */
	int worker_id;                    /* for log lines */
	struct schema_entry **entries;    /* never removed before the cache is freed, since a
					   * call in flight points at its entry */
	size_t entries_len;
};

struct table_schemas *table_schemas_new(struct event_base *base, struct ddb_client *client,
					int worker_id)
{
	struct table_schemas *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		ddb_client_free(client);
		return NULL;
	}
	c->base = base;
	c->client = client;
	c->worker_id = worker_id;
	return c;
}

void table_schemas_free(struct table_schemas *c)
{
	if (c == NULL)
		return;
	/* Calls in flight are cancelled without their callbacks: the entries may go next. */
	ddb_client_free(c->client);
	for (size_t i = 0; i < c->entries_len; i++) {
		struct schema_entry *e = c->entries[i];
		if (e->timer != NULL)
			event_free(e->timer);
		table_schema_release(e->schema);
		free(e->table);
		free(e);
	}
	free(c->entries);
	free(c);
}

/* Describes e after ms milliseconds (replacing what was planned). */
static void plan(struct schema_entry *e, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (e->timer != NULL)
		evtimer_add(e->timer, &tv);
}

/* s seconds, a tenth either way. */
static long jittered_ms(int s)
{
	unsigned int rnd = 0;
	long span = s * 200L;

	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	return s * 900L + (long)(rnd % (unsigned long)(span + 1));
}

static void forget(struct schema_entry *e)
{
	table_schema_release(e->schema);
	e->schema = NULL;
}

static void described_cb(void *arg, const cJSON *resp, const char *error_type,
			 const struct ds_error *err)
{
	struct schema_entry *e = arg;
	struct table_schemas *c = e->cache;
	const cJSON *table = cJSON_GetObjectItemCaseSensitive(resp, "Table");
	struct ds_error why = { 0 };
	struct table_schema *s;

	e->inflight = 0;
	if (err != NULL) {
		if (err->status >= 500) {
			/* Out of reach for now: what was learned stays. */
			log_debug("worker %d: table \"%s\": %s", c->worker_id, e->table, err->message);
			plan(e, e->again ? CHANGED_MS : jittered_ms(RETRY_S));
		} else {
			forget(e);
			if (strcmp(err->type, DS_ERR_ACCESS_DENIED) == 0 && c->worker_id == 0 && !e->warned)
				log_warn("table \"%s\": %s; without the table's key schema, dynaseal answers "
					 "an update it carries out, a projection it widens or a filter it "
					 "applies without DynamoDB's checks of index keys (README \"IAM "
					 "policy\")", e->table, err->message);
			else
				log_debug("worker %d: table \"%s\": %s", c->worker_id, e->table, err->message);
			e->warned = 1;
			plan(e, e->again ? CHANGED_MS : jittered_ms(strcmp(error_type, "ResourceNotFoundException") == 0
								 ? MISSING_S : REFRESH_S));
		}
		e->again = 0;
		return;
	}
	s = table_schema_from_description(table, &why);
	forget(e);
	e->schema = s;
	e->warned = 0;
	if (s == NULL)
		log_debug("worker %d: table \"%s\": no key schema from DescribeTable: %s", c->worker_id,
			  e->table, why.message);
	else
		log_debug("worker %d: table \"%s\": key schema learned: %zu secondary indexes",
			  c->worker_id, e->table, s->indexes_len);
	if (e->again) {
		e->again = 0;
		plan(e, CHANGED_MS);
	} else if (table == NULL || !table_schema_changing(table)) {
		e->changing_s = 0;
		plan(e, jittered_ms(REFRESH_S));
	} else {
		e->changing_s = e->changing_s == 0 ? 1 :
				e->changing_s * 2 > CHANGING_MAX_S ? CHANGING_MAX_S : e->changing_s * 2;
		plan(e, e->changing_s * 1000L);
	}
}

static void describe(struct schema_entry *e)
{
	cJSON *req;

	if (!e->tracked)
		return;
	if (e->inflight) {
		e->again = 1;
		return;
	}
	req = cJSON_CreateObject();
	if (req == NULL || cJSON_AddStringToObject(req, "TableName", e->table) == NULL) {
		cJSON_Delete(req);
		plan(e, jittered_ms(RETRY_S));
		return;
	}
	e->inflight = 1;
	ddb_call(e->cache->client, "DescribeTable", req, described_cb, e);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	describe(arg);
}

static struct schema_entry *entry_of(const struct table_schemas *c, const char *table)
{
	for (size_t i = 0; i < c->entries_len; i++)
		if (strcmp(c->entries[i]->table, table) == 0)
			return c->entries[i];
	return NULL;
}

/* A new entry for table, described after ms; NULL when out of memory. */
static struct schema_entry *entry_new(struct table_schemas *c, const char *table, long ms)
{
	struct schema_entry *e = calloc(1, sizeof(*e)), **grown = NULL;

	if (e == NULL || (e->table = strdup(table)) == NULL ||
	    (e->timer = evtimer_new(c->base, timer_cb, e)) == NULL ||
	    (grown = realloc(c->entries, (c->entries_len + 1) * sizeof(*grown))) == NULL) {
		if (e != NULL && e->timer != NULL)
			event_free(e->timer);
		if (e != NULL)
			free(e->table);
		free(e);
		return NULL;
	}
	c->entries = grown;
	c->entries[c->entries_len++] = e;
	e->cache = c;
	e->tracked = 1;
	plan(e, ms);
	return e;
}

void table_schemas_track(struct table_schemas *c, const struct config *cfg)
{
	unsigned char *keep = calloc(c->entries_len + 1, 1);
	size_t old_len = c->entries_len;

	if (keep == NULL) {
		log_warn("worker %d: out of memory: the tables described stay as they were", c->worker_id);
		return;
	}
	for (size_t i = 0; i < cfg->tables_len; i++) {
		struct schema_entry *e = entry_of(c, cfg->tables[i].name);
		unsigned short rnd = 0;

		(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
		if (e == NULL) {
			if (entry_new(c, cfg->tables[i].name, rnd % START_SPREAD_MS) == NULL)
				log_warn("worker %d: out of memory: table \"%s\" is not described",
					 c->worker_id, cfg->tables[i].name);
			continue;
		}
		for (size_t j = 0; j < old_len; j++)
			if (c->entries[j] == e)
				keep[j] = 1;
		if (!e->tracked) {
			e->tracked = 1;
			plan(e, rnd % START_SPREAD_MS);
		}
	}
	/* Tables no longer configured: forgotten, and no longer described. */
	for (size_t j = 0; j < old_len; j++) {
		if (!keep[j]) {
			c->entries[j]->tracked = 0;
			forget(c->entries[j]);
		}
	}
	free(keep);
}

struct table_schema *table_schemas_get(const struct table_schemas *c, const char *table)
{
	const struct schema_entry *e = c != NULL && table != NULL ? entry_of(c, table) : NULL;

	return e != NULL && e->tracked ? e->schema : NULL;
}

void table_schemas_changed(struct table_schemas *c, const char *table, int deleted)
{
	struct schema_entry *e = c != NULL ? entry_of(c, table) : NULL;

	if (e == NULL || !e->tracked)
		return;
	if (deleted)
		forget(e);
	e->changing_s = 0;
	if (e->inflight)
		e->again = 1;
	else
		plan(e, CHANGED_MS);
}

void table_schemas_soon(struct table_schemas *c)
{
	for (size_t i = 0; c != NULL && i < c->entries_len; i++) {
		struct schema_entry *e = c->entries[i];

		if (!e->tracked)
			continue;
		e->changing_s = 0;
		if (e->inflight)
			e->again = 1;
		else
			plan(e, CHANGED_MS);
	}
}
