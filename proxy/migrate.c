/* `dynaseal migrate`: the scan, the conditioned write-backs and the checkpoint (migrate.h). */
#include "proxy/migrate.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "crypto/aws/ddb_client.h"
#include "crypto/item/item_crypt.h"
#include "crypto/item/item_header.h"
#include "crypto/legacy/legacy_desc.h"
#include "crypto/legacy/legacy_item.h"
#include "proxy/base/json.h"
#include "proxy/migrate_progress.h"
#include "proxy/migrate_write.h"

#define MAX_CONFLICTS 20        /* re-reads of one item before it counts as failed */
#define MAX_ATTEMPTS 8          /* tries of one call answered "retry" (5xx, throttling) */

struct migrate;
struct mig_seg;

/* A token bucket of capacity units per second; it may go into debt by one call's cost. */
struct bucket {
	double rate;             /* units per second; 0 = unlimited */
	double tokens;           /* at most rate (one second of burst) */
	double last;             /* when tokens was last refilled (monotonic seconds) */
};

/* One page of a segment's scan: finished when its last item is. */
struct mig_page {
	struct mig_seg *seg;
	size_t pending;          /* items not finished, plus one while the page is being started */
	cJSON *next_key;         /* the page's LastEvaluatedKey, NULL at the segment's end (owned) */
};

/* One item on its way. */
struct mig_item {
	struct mig_page *page;
	cJSON *raw;              /* as read (owned) */
	cJSON *enc;              /* as it will be written (owned) */
	int conflicts;           /* condition failures so far */
	int attempts;            /* tries of the current call */
	int op;                  /* the call it waits to make: 'W' write, 'G' re-read */
	int encrypting;          /* its crypt batch encrypts (else it decrypts first) */
	struct event *timer;     /* a retry's wait */
	TAILQ_ENTRY(mig_item) q; /* waiting for a slot or capacity */
};

TAILQ_HEAD(mig_queue, mig_item);

/* A segment being scanned. */
struct mig_seg {
	struct migrate *m;
	int index;               /* the segment's index */
	int attempts;            /* tries of the current Scan */
	int started;             /* its first page was asked for */
	int finished;            /* done, failed or stopped */
	struct event *timer;     /* waits for read capacity or a retry */
};

struct migrate {
	const struct migrate_env *env;
	const struct migrate_opts *opts;
	struct migrate_checkpoint *cp;
	struct migrate_result *res;
	struct mig_seg *segs;
	size_t segs_len;
	size_t active;           /* segments not finished */
	struct bucket rcu, wcu;
	struct mig_queue waiting;   /* items waiting for a slot */
	int in_flight;           /* writes and re-reads in flight */
	struct event *pump_timer;   /* waits for write capacity */
	int stopping;            /* a signal came: no new pages */
	double started;
	struct migrate_progress progress;
};

/* The command messages are signed with. */
static const char *cmd_name(const struct migrate *m)
{
	return m->env->to_keyring != NULL ? "reencrypt" : "migrate";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 0 when a call may start now, else the seconds to wait for the bucket to be positive. */
static double bucket_wait(struct bucket *b)
{
	double t = now_s();

	if (b->rate <= 0)
		return 0;
	b->tokens = fmin(b->rate, b->tokens + (t - b->last) * b->rate);
	b->last = t;
	return b->tokens > 0 ? 0 : (-b->tokens) / b->rate + 0.001;
}

static void bucket_take(struct bucket *b, double units)
{
	if (b->rate > 0)
		b->tokens -= units;
}

static struct timeval tv_of(double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - floor(s)) * 1e6) };
	return tv;
}

/* The capacity a call consumed: ConsumedCapacity.CapacityUnits, or estimate when the
 * endpoint does not say (some emulators do not). */
static double consumed(const cJSON *resp, double estimate)
{
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(resp, "ConsumedCapacity");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(cc, "CapacityUnits");

	return cJSON_IsNumber(u) ? u->valuedouble : estimate;
}

static struct migrate_counts *seg_counts(struct mig_seg *s)
{
	return &migrate_checkpoint_find(s->m->cp, s->index)->counts;
}

static void count(struct mig_seg *s, size_t field_off, uint64_t n)
{
	*(uint64_t *)((char *)&s->m->res->counts + field_off) += n;
	*(uint64_t *)((char *)seg_counts(s) + field_off) += n;
}

#define COUNT(s, field) count((s), offsetof(struct migrate_counts, field), 1)

static void add_capacity(struct mig_seg *s, double rcu, double wcu)
{
	s->m->res->counts.rcu += rcu;
	s->m->res->counts.wcu += wcu;
	seg_counts(s)->rcu += rcu;
	seg_counts(s)->wcu += wcu;
	bucket_take(&s->m->rcu, rcu);
	bucket_take(&s->m->wcu, wcu);
}

static void save_checkpoint(struct migrate *m)
{
	char why[512];

	if (m->opts->checkpoint_path == NULL)
		return;
	if (migrate_checkpoint_write(m->cp, m->opts->checkpoint_path, why, sizeof(why)) != 0 &&
	    m->res->error[0] == '\0')
		snprintf(m->res->error, sizeof(m->res->error), "checkpoint: %s", why);
}

static void seg_scan(struct mig_seg *s);
static void item_start(struct mig_item *it);
static void pump(struct migrate *m);

static void seg_finish(struct mig_seg *s)
{
	struct migrate *m = s->m;

	if (s->finished)
		return;
	s->finished = 1;
	if (migrate_checkpoint_find(m->cp, s->index)->done)
		m->res->segments_done++;
	if (--m->active == 0) {
		event_base_loopbreak(m->env->base);
		return;
	}
	/* The next segment of the share waiting for its turn (--parallel); when stopping, none. */
	for (size_t i = 0; i < m->segs_len; i++) {
		struct mig_seg *next = &m->segs[i];
		if (next->started || next->finished)
			continue;
		next->started = 1;
		if (!m->stopping) {
			seg_scan(next);
			return;
		}
		next->finished = 1;
		if (--m->active == 0) {
			event_base_loopbreak(m->env->base);
			return;
		}
	}
}

static void page_done(struct mig_page *p)
{
	struct mig_seg *s = p->seg;
	struct migrate_segment *cs = migrate_checkpoint_find(s->m->cp, s->index);

	cJSON_Delete(cs->last_key);
	cs->last_key = p->next_key;
	cs->done = p->next_key == NULL;
	free(p);
	save_checkpoint(s->m);
	if (cs->done || s->m->stopping)
		seg_finish(s);
	else
		seg_scan(s);
}

static void item_free(struct mig_item *it)
{
	struct mig_page *p = it->page;

	if (it->timer != NULL)
		event_free(it->timer);
	cJSON_Delete(it->raw);
	cJSON_Delete(it->enc);
	free(it);
	if (--p->pending == 0)
		page_done(p);
}

/* The key of item (its key attributes, copied), or NULL when out of memory. */
static cJSON *item_key(const struct config_table *t, const cJSON *item)
{
	cJSON *key = cJSON_CreateObject();
	const char *names[] = { t->partition_key, t->sort_key };

	for (size_t i = 0; key != NULL && i < 2 && names[i] != NULL; i++) {
		cJSON *v = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(item, names[i]), 1);
		if (v == NULL || !cJSON_AddItemToObject(key, names[i], v)) {
			cJSON_Delete(v);
			cJSON_Delete(key);
			key = NULL;
		}
	}
	return key;
}

/* Names the item by its key: key attributes are stored in plaintext, never encrypted. */
static void report_item(struct mig_item *it, const char *what, const char *why)
{
	const struct config_table *t = it->page->seg->m->env->table;
	cJSON *key = item_key(t, it->raw);
	char *text;

	text = key != NULL ? json_print(key, NULL) : NULL;
	fprintf(stderr, "dynaseal %s: table \"%s\": item %s %s: %s\n", cmd_name(it->page->seg->m),
		t->name, text ? text : "?",
		what, why);
	cJSON_free(text);
	cJSON_Delete(key);
}

static void item_failed(struct mig_item *it, const char *why)
{
	report_item(it, "failed", why);
	COUNT(it->page->seg, failed);
	item_free(it);
}

/* --- The write-back ------------------------------------------------------------------------- */

static void item_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mig_item *it = arg;

	(void)fd;
	(void)what;
	TAILQ_INSERT_HEAD(&it->page->seg->m->waiting, it, q);
	pump(it->page->seg->m);
}

/* Schedules the item's call again after a back-off, or fails it after MAX_ATTEMPTS. */
static void item_retry(struct mig_item *it, const struct ds_error *err)
{
	struct timeval tv;

	if (++it->attempts >= MAX_ATTEMPTS) {
		item_failed(it, err->message);
		return;
	}
	if (it->timer == NULL)
		it->timer = evtimer_new(it->page->seg->m->env->base, item_retry_cb, it);
	if (it->timer == NULL) {
		item_failed(it, "out of memory");
		return;
	}
	tv = tv_of(0.05 * (1 << it->attempts) * (0.5 + (double)rand() / RAND_MAX));
	evtimer_add(it->timer, &tv);
}

static void reread_done(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *err)
{
	struct mig_item *it = arg;
	struct migrate *m = it->page->seg->m;
	const cJSON *item;

	(void)error_type;
	m->in_flight--;
	if (err != NULL) {
		if (err->status >= 500)
			item_retry(it, err);
		else
			item_failed(it, err->message);
		pump(m);
		return;
	}
	add_capacity(it->page->seg, consumed(resp, 1), 0);
	item = cJSON_GetObjectItemCaseSensitive(resp, "Item");
	cJSON_Delete(it->enc);
	it->enc = NULL;
	if (item == NULL) {
		COUNT(it->page->seg, skipped);      /* deleted meanwhile: nothing to convert */
		item_free(it);
	} else {
		cJSON_Delete(it->raw);
		it->raw = cJSON_Duplicate(item, 1);
		it->attempts = 0;
		if (it->raw == NULL)
			item_failed(it, "out of memory");
		else
			item_start(it);
	}
	pump(m);
}

static void write_done(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *err)
{
	struct mig_item *it = arg;
	struct migrate *m = it->page->seg->m;

	m->in_flight--;
	if (err != NULL && strcmp(error_type, "ConditionalCheckFailedException") == 0) {
		add_capacity(it->page->seg, 0, 1);
		COUNT(it->page->seg, conflicts);
		if (++it->conflicts > MAX_CONFLICTS) {
			item_failed(it, "it kept changing while it was being converted");
		} else {
			it->op = 'G';
			it->attempts = 0;
			TAILQ_INSERT_HEAD(&m->waiting, it, q);
		}
	} else if (err != NULL) {
		if (err->status >= 500)
			item_retry(it, err);
		else
			item_failed(it, err->message);
	} else {
		add_capacity(it->page->seg, 0, consumed(resp, 1));
		COUNT(it->page->seg, converted);
		item_free(it);
	}
	pump(m);
}

/* Starts the waiting calls there is room and capacity for. */
static void pump(struct migrate *m)
{
	struct mig_item *it;
	double wait;

	while ((it = TAILQ_FIRST(&m->waiting)) != NULL && m->in_flight < m->opts->concurrency) {
		wait = bucket_wait(it->op == 'W' ? &m->wcu : &m->rcu);
		if (wait > 0) {
			struct timeval tv = tv_of(wait);
			if (!evtimer_pending(m->pump_timer, NULL))
				evtimer_add(m->pump_timer, &tv);
			return;
		}
		TAILQ_REMOVE(&m->waiting, it, q);
		m->in_flight++;
		if (it->op == 'W') {
			cJSON *body = migrate_write_body(m->env->table, it->raw, it->enc);
			if (body == NULL) {
				m->in_flight--;
				item_failed(it, "out of memory");
				continue;
			}
			ddb_call(m->env->ddb, "UpdateItem", body, write_done, it);
		} else {
			cJSON *req = cJSON_CreateObject(), *key = item_key(m->env->table, it->raw);
			if (req == NULL || key == NULL || !cJSON_AddItemToObject(req, "Key", key) ||
			    cJSON_AddStringToObject(req, "TableName", m->env->table->name) == NULL ||
			    cJSON_AddBoolToObject(req, "ConsistentRead", 1) == NULL ||
			    cJSON_AddStringToObject(req, "ReturnConsumedCapacity", "TOTAL") == NULL) {
				if (req == NULL || cJSON_GetObjectItemCaseSensitive(req, "Key") != key)
					cJSON_Delete(key);
				cJSON_Delete(req);
				m->in_flight--;
				item_failed(it, "out of memory");
				continue;
			}
			ddb_call(m->env->ddb, "GetItem", req, reread_done, it);
		}
	}
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

/* --- One item ------------------------------------------------------------------------------- */

static void item_crypt(struct mig_item *it, int encrypt);

static void crypt_done(void *arg, struct crypt_batch *b, const struct ds_error *err)
{
	struct mig_item *it = arg;
	struct migrate *m = it->page->seg->m;

	crypt_batch_free(b);
	if (m->opts->mode == MIGRATE_VERIFY) {
		if (err != NULL) {
			report_item(it, "does not verify", err->message);
			COUNT(it->page->seg, failed);
		} else {
			COUNT(it->page->seg, skipped);
		}
		item_free(it);
		return;
	}
	if (err != NULL) {
		item_failed(it, err->message);
		return;
	}
	if (!it->encrypting) {
		/* Read (a legacy item, or a v3 item being re-encrypted): now the plaintext is
		 * encrypted as a write through dynaseal would. */
		item_crypt(it, 1);
		return;
	}
	it->op = 'W';
	TAILQ_INSERT_TAIL(&m->waiting, it, q);
	pump(m);
}

/* Encrypts (with the keyring items go to) or decrypts (with the table's keyring, or its
 * legacy reader) it->enc, a copy of the item read, in place; crypt_done goes on. */
static void item_crypt(struct mig_item *it, int encrypt)
{
	struct migrate *m = it->page->seg->m;
	const struct migrate_env *env = m->env;
	struct keyring *k = encrypt && env->to_keyring != NULL ? env->to_keyring : env->keyring;
	struct crypt_batch *b = crypt_batch_new(NULL);

	if (it->enc == NULL)
		it->enc = cJSON_Duplicate(it->raw, 1);
	it->encrypting = encrypt;
	if (it->enc == NULL || b == NULL || crypt_batch_add(b, env->table, k, it->enc, encrypt) != 0) {
		crypt_batch_free(b);
		item_failed(it, "out of memory");
		return;
	}
	crypt_batch_set_search_keyring(b, env->search_keyring, env->search_arg);
	crypt_batch_set_legacy_open(b, env->legacy_open, env->legacy_arg);
	crypt_batch_run(b, crypt_done, it);
}

/* 1 when every EDK of the v3 item names keyring k (it is already under k), else 0. */
static int item_is_under(const struct config_table *t, const cJSON *item, const struct keyring *k)
{
	struct item_header h = { 0 };
	struct ds_error err = { 0 };
	int under = 0;

	if (item_read_header(t, item, &h, &err) == 0 && h.edks_len > 0) {
		under = 1;
		for (size_t i = 0; i < h.edks_len; i++)
			if (keyring_names_edk(k, &h.edks[i]) != 1)
				under = 0;
	}
	item_header_cleanup(&h);
	return under;
}

/* Finishes an item that needs nothing: counted in the count at offset field_off. */
static void item_leave(struct mig_item *it, size_t field_off)
{
	count(it->page->seg, field_off, 1);
	item_free(it);
}

#define LEAVE(it, field) item_leave((it), offsetof(struct migrate_counts, field))

/* Decides what the item needs, from what it holds now. */
static void item_start(struct mig_item *it)
{
	struct migrate *m = it->page->seg->m;
	const struct config_table *t = m->env->table;
	int verify = m->opts->mode == MIGRATE_VERIFY, dry = m->opts->mode == MIGRATE_DRY_RUN;

	if (legacy_item_is_legacy(it->raw)) {
		if (verify || t->legacy == NULL || t->legacy->policy != LEGACY_POLICY_ALLOW_READ) {
			if (verify)
				report_item(it, "is not protected by dynaseal", "written by the legacy client");
			LEAVE(it, legacy);
		} else if (dry) {
			LEAVE(it, converted);
		} else {
			item_crypt(it, 0);
		}
		return;
	}
	if (item_is_plaintext(it->raw)) {
		if (verify) {
			report_item(it, "is not protected", "it is stored in plaintext");
			LEAVE(it, unprotected);
		} else if (m->env->to_keyring != NULL) {
			report_item(it, "was left in plaintext", "dynaseal migrate encrypts it");
			LEAVE(it, unprotected);
		} else if (t->plaintext_policy != PLAINTEXT_ALLOW_READ) {
			item_failed(it, "it is stored in plaintext and the table does not read plaintext "
				    "items (plaintext_policy is not \"allow-read\"): anyone who can write "
				    "to the table could have put it there, so dynaseal does not sign it");
		} else if (dry) {
			LEAVE(it, converted);
		} else {
			item_crypt(it, 1);
		}
		return;
	}
	if (verify && m->env->to_keyring != NULL && !item_is_under(t, it->raw, m->env->to_keyring)) {
		report_item(it, "is not under the new keyring", "dynaseal reencrypt moves it");
		LEAVE(it, unprotected);
	} else if (verify) {
		item_crypt(it, 0);
	} else if (m->env->to_keyring == NULL || item_is_under(t, it->raw, m->env->to_keyring)) {
		LEAVE(it, skipped);
	} else if (dry) {
		LEAVE(it, converted);
	} else {
		item_crypt(it, 0);
	}
}

/* --- The scan ------------------------------------------------------------------------------- */

static void seg_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	seg_scan(arg);
}

static void seg_failed(struct mig_seg *s, const char *why)
{
	struct migrate *m = s->m;

	fprintf(stderr, "dynaseal %s: table \"%s\": segment %d stopped: %s\n", cmd_name(m),
		m->env->table->name,
		s->index, why);
	if (m->res->error[0] == '\0')
		snprintf(m->res->error, sizeof(m->res->error), "segment %d: %s", s->index, why);
	m->res->segments_failed++;
	seg_finish(s);
}

static void scan_done(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *err)
{
	struct mig_seg *s = arg;
	const cJSON *items, *lek, *item;
	struct mig_page *p;

	(void)error_type;
	if (err != NULL) {
		struct timeval tv;
		if (err->status < 500 || ++s->attempts >= MAX_ATTEMPTS || s->m->stopping) {
			seg_failed(s, err->message);
			return;
		}
		tv = tv_of(0.05 * (1 << s->attempts));
		evtimer_add(s->timer, &tv);
		return;
	}
	s->attempts = 0;
	items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
	lek = cJSON_GetObjectItemCaseSensitive(resp, "LastEvaluatedKey");
	p = calloc(1, sizeof(*p));
	if (p == NULL || (lek != NULL && (p->next_key = cJSON_Duplicate(lek, 1)) == NULL)) {
		free(p);
		seg_failed(s, "out of memory");
		return;
	}
	p->seg = s;
	p->pending = 1;
	add_capacity(s, consumed(resp, 0.5 * (double)cJSON_GetArraySize(items)), 0);
	cJSON_ArrayForEach(item, items) {
		struct mig_item *it = calloc(1, sizeof(*it));
		COUNT(s, scanned);
		if (it == NULL || (it->raw = cJSON_Duplicate(item, 1)) == NULL) {
			free(it);
			COUNT(s, failed);
			continue;
		}
		it->page = p;
		p->pending++;
		item_start(it);
	}
	if (--p->pending == 0)
		page_done(p);
}

static void seg_scan(struct mig_seg *s)
{
	struct migrate *m = s->m;
	struct migrate_segment *cs = migrate_checkpoint_find(m->cp, s->index);
	double wait;
	cJSON *req;

	if (m->stopping || cs->done) {
		seg_finish(s);
		return;
	}
	wait = bucket_wait(&m->rcu);
	if (wait > 0) {
		struct timeval tv = tv_of(wait);
		evtimer_add(s->timer, &tv);
		return;
	}
	req = cJSON_CreateObject();
	if (req == NULL || cJSON_AddStringToObject(req, "TableName", m->env->table->name) == NULL ||
	    cJSON_AddNumberToObject(req, "Segment", s->index) == NULL ||
	    cJSON_AddNumberToObject(req, "TotalSegments", m->opts->total_segments) == NULL ||
	    cJSON_AddNumberToObject(req, "Limit", m->opts->page_size) == NULL ||
	    cJSON_AddStringToObject(req, "ReturnConsumedCapacity", "TOTAL") == NULL ||
	    (cs->last_key != NULL &&
	     !cJSON_AddItemToObject(req, "ExclusiveStartKey", cJSON_Duplicate(cs->last_key, 1)))) {
		cJSON_Delete(req);
		seg_failed(s, "out of memory");
		return;
	}
	ddb_call(m->env->ddb, "Scan", req, scan_done, s);
}

/* --- The run -------------------------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct migrate *m = arg;

	(void)sig;
	(void)what;
	if (!m->stopping)
		fprintf(stderr, "dynaseal %s: stopping: finishing the pages in flight, then writing "
			"the checkpoint\n", cmd_name(m));
	m->stopping = 1;
	m->res->interrupted = 1;
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
	struct migrate *m = arg;

	(void)fd;
	(void)what;
	migrate_progress_print(&m->progress, &m->res->counts, now_s() - m->started, 0);
}

int migrate_run(const struct migrate_env *env, const struct migrate_opts *opts,
		struct migrate_checkpoint *cp, struct migrate_result *res)
{
	struct migrate m = { 0 };
	struct event *sigterm = NULL, *sigint = NULL, *ticker = NULL;
	struct timeval tick = tv_of(opts->progress_interval_s);
	int rc = -1;

	memset(res, 0, sizeof(*res));
	m.env = env;
	m.opts = opts;
	m.cp = cp;
	m.res = res;
	m.started = now_s();
	m.rcu = (struct bucket){ opts->max_rcu, opts->max_rcu, m.started };
	m.wcu = (struct bucket){ opts->max_wcu, opts->max_wcu, m.started };
	TAILQ_INIT(&m.waiting);
	migrate_progress_init(&m.progress, opts->progress, opts->progress_tty, env->table->name,
			      opts->expected_items);
	m.segs = calloc(opts->segments_len, sizeof(*m.segs));
	m.pump_timer = evtimer_new(env->base, pump_cb, &m);
	sigterm = evsignal_new(env->base, SIGTERM, on_signal, &m);
	sigint = evsignal_new(env->base, SIGINT, on_signal, &m);
	ticker = event_new(env->base, -1, EV_PERSIST, on_progress, &m);
	if (m.segs == NULL || m.pump_timer == NULL || sigterm == NULL || sigint == NULL || ticker == NULL)
		goto cleanup;
	/* Every segment of the share gets its place in the checkpoint. */
	for (size_t i = 0; i < opts->segments_len; i++) {
		if (migrate_checkpoint_find(cp, opts->segments[i]) != NULL)
			continue;
		struct migrate_segment *n = realloc(cp->segs, (cp->len + 1) * sizeof(*n));
		if (n == NULL)
			goto cleanup;
		cp->segs = n;
		memset(&cp->segs[cp->len], 0, sizeof(cp->segs[0]));
		cp->segs[cp->len++].index = opts->segments[i];
	}
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evtimer_add(ticker, &tick);
	for (size_t i = 0; i < opts->segments_len; i++) {
		struct mig_seg *s = &m.segs[m.segs_len++];
		s->m = &m;
		s->index = opts->segments[i];
		s->timer = evtimer_new(env->base, seg_timer_cb, s);
		if (s->timer == NULL)
			goto cleanup;
		if (migrate_checkpoint_find(cp, s->index)->done) {
			res->segments_already_done++;
			res->segments_done++;
			s->finished = 1;
		} else {
			m.active++;
		}
	}
	for (size_t i = 0, n = 0; i < m.segs_len && n < (size_t)opts->parallel; i++)
		if (!m.segs[i].finished && !m.segs[i].started) {
			m.segs[i].started = 1;
			n++;
			seg_scan(&m.segs[i]);
		}
	while (m.active > 0)
		event_base_loop(env->base, EVLOOP_ONCE);
	res->seconds = now_s() - m.started;
	migrate_progress_print(&m.progress, &res->counts, res->seconds, 1);
	rc = 0;
cleanup:
	for (size_t i = 0; i < m.segs_len; i++)
		if (m.segs[i].timer != NULL)
			event_free(m.segs[i].timer);
	free(m.segs);
	if (m.pump_timer)
		event_free(m.pump_timer);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (ticker)
		event_free(ticker);
	return rc;
}
