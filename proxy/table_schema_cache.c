/*
 * Tables' key schemas, learned with DescribeTable in the background (table_schema_cache.h).
 *
 * Each configured table has an entry with its own timer: described at start (spread over the
 * first half second), again every REFRESH_S (a tenth either way, so that workers and replicas
 * drift apart), sooner while the table or an index is changing (1 s, doubling up to a minute),
 * and half a second after a table operation passed through.  One DescribeTable per table is in
 * flight at most; a change seen meanwhile describes it again when the answer is in.
 */
#include "proxy/table_schema_cache.h"

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
	if (!e->tracked) {
		forget(e);              /* no longer configured meanwhile */
		e->again = 0;
		return;
	}
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
