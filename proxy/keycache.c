#include "proxy/keycache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "cache/cache.h"
#include "cache/cache_redis_sync.h"
#include "proxy/base/codec.h"
#include "crypto/keyring/keyring_hierarchy.h"
#include "crypto/aws/kms_client.h"
#include "proxy/base/audit.h"
#include "proxy/base/log.h"
#include "proxy/worker.h"

/* The KMS key that protects the cache key: the first KMS key among the keyrings (the key ARN
 * its alias names, when named by alias). */
static const char *cache_kms_key(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->keyrings_len; i++) {
		if (config_keyring_kms_name(&cfg->keyrings[i]) != NULL)
			return cfg->keyrings[i].kms_arn;
	}
	return NULL;
}

/* The outcome of one KMS call run to completion on a private loop. */
struct kms_wait {
	struct event_base *base;
	int done;
	int ok;
	unsigned char key[32];
	unsigned char *blob;
	size_t blob_len;
	char why[256];
};

static void kms_wait_cb(void *arg, const struct kms_result *res, const struct ds_error *err)
{
	struct kms_wait *kw = arg;

	kw->done = 1;
	if (err != NULL) {
		snprintf(kw->why, sizeof(kw->why), "%s", err->message);
	} else if (res->plaintext_len != sizeof(kw->key)) {
		snprintf(kw->why, sizeof(kw->why), "KMS returned a key of %zu bytes", res->plaintext_len);
	} else {
		memcpy(kw->key, res->plaintext, sizeof(kw->key));
		if (res->ciphertext_len > 0 && (kw->blob = malloc(res->ciphertext_len)) != NULL) {
			memcpy(kw->blob, res->ciphertext, res->ciphertext_len);
			kw->blob_len = res->ciphertext_len;
		}
		kw->ok = 1;
	}
	event_base_loopbreak(kw->base);
}

/* Runs a KMS call on a private loop until it completes. */
static int kms_run(struct server *srv, const char *op, const char *arn, const unsigned char *blob,
		   size_t blob_len, struct kms_wait *kw)
{
	struct event_base *base = event_base_new();
	struct ds_error err = { 0 };
	struct kms_client *kms;
	struct enc_ctx ec;

	memset(kw, 0, sizeof(*kw));
	kw->base = base;
	ec_init(&ec);
	if (base == NULL || ec_put(&ec, "dynaseal-purpose", 16, "redis-cache-key", 15, 0) != 0) {
		snprintf(kw->why, sizeof(kw->why), "out of memory");
		goto done;
	}
	kms = kms_client_new(base, NULL, srv->upstream_ssl, srv->region, srv->creds, &err);
	if (kms == NULL) {
		snprintf(kw->why, sizeof(kw->why), "%s", err.message);
		goto done;
	}
	kms_client_set_limits(kms, srv->kms_connect_timeout_ms, srv->kms_response_timeout_ms,
			      srv->kms_max_attempts);
	/* Audited as dynaseal's own start-up call, not a request's. */
	{
		struct audit_ctx ctx = { "", "dynaseal", "cache-key" };
		if (strcmp(op, "GenerateDataKey") == 0)
			kms_generate_data_key(kms, arn, &ec, 32, &ctx, kms_wait_cb, kw);
		else
			kms_decrypt(kms, arn, blob, blob_len, &ec, &ctx, kms_wait_cb, kw);
	}
	while (!kw->done)
		event_base_dispatch(base);
	kms_client_free(kms);
done:
	ec_cleanup(&ec);
	if (base != NULL)
		event_base_free(base);
	return kw->ok ? 0 : -1;
}

/*
 * Finds or makes the cache key in Redis (the same client as the workers', on a private loop):
 * the name holds the key wrapped by KMS under arn.  Found: unwrapped with KMS.  Missing: a new
 * one from KMS GenerateDataKey, stored with SET NX; when another replica stored one first, that
 * one is read and used, so replicas starting together agree on one key.
 */
static int bootstrap(struct server *srv, const char *url, const char *arn, char *why, size_t cap)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], name[80];
	struct cache_redis_session rs;
	struct kms_wait kw;
	int rc_ok = -1;

	SHA256((const unsigned char *)arn, strlen(arn), h);
	codec_hex_encode(h, 8, hex);
	snprintf(name, sizeof(name), "dynaseal:v1:cache-key:%s", hex);
	if (cache_redis_session_open(&rs, url, srv->upstream_ssl, 2000, why, cap) != 0)
		return -1;
	for (int attempt = 0; attempt < 2 && rc_ok != 0; attempt++) {
		uint8_t *blob = NULL;
		size_t blob_len = 0;
		int found = cache_redis_session_get(&rs, name, &blob, &blob_len, why, cap);
		int stored;

		if (found < 0)
			break;
		if (found) {
			/* Another replica made it: unwrap it. */
			if (kms_run(srv, "Decrypt", arn, blob, blob_len, &kw) == 0) {
				memcpy(srv->cache_key, kw.key, sizeof(srv->cache_key));
				rc_ok = 0;
			} else {
				snprintf(why, cap, "the cache key in Redis does not unwrap with %s: %s",
					 arn, kw.why);
			}
			free(blob);
			OPENSSL_cleanse(kw.key, sizeof(kw.key));
			free(kw.blob);
			break;
		}
		/* None yet: make one, and keep it unless another replica was faster. */
		if (kms_run(srv, "GenerateDataKey", arn, NULL, 0, &kw) != 0) {
			snprintf(why, cap, "KMS GenerateDataKey on %s failed: %s", arn, kw.why);
			break;
		}
		stored = cache_redis_session_set_nx(&rs, name, kw.blob, kw.blob_len, why, cap);
		if (stored == 1) {
			memcpy(srv->cache_key, kw.key, sizeof(srv->cache_key));
			rc_ok = 0;
		}
		OPENSSL_cleanse(kw.key, sizeof(kw.key));
		free(kw.blob);
		if (stored < 0)
			break;
		if (stored == 0)
			snprintf(why, cap, "the cache key in Redis changed while it was read");
	}
	cache_redis_session_close(&rs);
	return rc_ok;
}

/* The thread that looks for the cache key after a failed start-up (keycache.h). */
struct keycache_retry {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;              /* signalled by keycache_retry_stop */
	int stop;
	struct server *srv;
	char *url;                        /* cache.redis at start-up (may hold a password) */
	char arn[2048];
};

static void retry_free(struct keycache_retry *kr)
{
	if (kr->url != NULL) {
		OPENSSL_cleanse(kr->url, strlen(kr->url));
		free(kr->url);
	}
	free(kr);
}

#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 30000

static void *retry_main(void *arg)
{
	struct keycache_retry *kr = arg;
	int delay_ms = RETRY_FIRST_MS;
	unsigned attempts = 0;

	pthread_mutex_lock(&kr->lock);
	while (!kr->stop) {
		struct timespec until;
		char why[400] = "";
		int rc;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += delay_ms / 1000;
		until.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!kr->stop && pthread_cond_timedwait(&kr->wake, &kr->lock, &until) != ETIMEDOUT)
			;
		if (kr->stop)
			break;
		pthread_mutex_unlock(&kr->lock);
		/* Blocking, bounded by the Redis (1 s) and KMS timeouts: this thread's only work. */
		rc = bootstrap(kr->srv, kr->url, kr->arn, why, sizeof(why));
		attempts++;
		pthread_mutex_lock(&kr->lock);
		if (rc == 0) {
			atomic_store_explicit(&kr->srv->cache_key_ok, 1, memory_order_release);
			log_info("cache: shared through Redis from now on (found after %u more attempt%s), "
				 "entries sealed under a cache key protected by %s", attempts,
				 attempts == 1 ? "" : "s", kr->arn);
			server_notify_workers(kr->srv, 'c');
			break;
		}
		/* A line per attempt while retries are frequent, then one every ~5 minutes. */
		if (delay_ms < RETRY_MAX_MS || attempts % 10 == 0)
			log_warn("cache: Redis still not used (%s); retrying in %d s", why,
				 (delay_ms * 2 < RETRY_MAX_MS ? delay_ms * 2 : RETRY_MAX_MS) / 1000);
		delay_ms = delay_ms * 2 < RETRY_MAX_MS ? delay_ms * 2 : RETRY_MAX_MS;
	}
	pthread_mutex_unlock(&kr->lock);
	return NULL;
}

void keycache_retry_start(struct server *srv)
{
	const char *arn = cache_kms_key(srv->cfg);
	struct keycache_retry *kr;

	if (srv->cfg->cache_redis == NULL || arn == NULL ||
	    atomic_load_explicit(&srv->cache_key_ok, memory_order_acquire) || srv->cache_retry != NULL)
		return;
	kr = calloc(1, sizeof(*kr));
	if (kr != NULL)
		kr->url = strdup(srv->cfg->cache_redis);
	if (kr == NULL || kr->url == NULL || strlen(arn) >= sizeof(kr->arn)) {
		if (kr != NULL)
			retry_free(kr);
		log_error("cache: cannot look for Redis again; keys stay cached in each worker only");
		return;
	}
	kr->srv = srv;
	memcpy(kr->arn, arn, strlen(arn) + 1);
	pthread_mutex_init(&kr->lock, NULL);
	pthread_cond_init(&kr->wake, NULL);
	if (pthread_create(&kr->thread, NULL, retry_main, kr) != 0) {
		pthread_cond_destroy(&kr->wake);
		pthread_mutex_destroy(&kr->lock);
		retry_free(kr);
		log_error("cache: cannot look for Redis again; keys stay cached in each worker only");
		return;
	}
	srv->cache_retry = kr;
}

void keycache_retry_stop(struct server *srv)
{
	struct keycache_retry *kr = srv->cache_retry;

	if (kr == NULL)
		return;
	pthread_mutex_lock(&kr->lock);
	kr->stop = 1;
	pthread_cond_signal(&kr->wake);
	pthread_mutex_unlock(&kr->lock);
	/* An attempt under way ends within its timeouts. */
	pthread_join(kr->thread, NULL);
	pthread_cond_destroy(&kr->wake);
	pthread_mutex_destroy(&kr->lock);
	retry_free(kr);
	srv->cache_retry = NULL;
}

int keycache_bootstrap(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	const char *arn = cache_kms_key(cfg);
	char why[400] = "";

	atomic_store(&srv->cache_key_ok, 0);
	if (cfg->cache_redis == NULL)
		return 0;
	if (arn == NULL) {
		log_info("cache: no KMS keyring, so nothing to share in Redis; cache.redis is not used");
		return 0;
	}
	if (bootstrap(srv, cfg->cache_redis, arn, why, sizeof(why)) != 0) {
		log_warn("cache: Redis is not used yet (%s); keys are cached in each worker only, which "
			 "costs more KMS calls, until a retry in the background succeeds", why);
		return 0;
	}
	atomic_store(&srv->cache_key_ok, 1);
	log_info("cache: shared through Redis, entries sealed under a cache key protected by %s", arn);
	return 0;
}

int keycache_worker_init(struct worker *w)
{
	const struct config *cfg = w->server->cfg;
	struct cache_options opts;

	memset(&opts, 0, sizeof(opts));
	opts.max_entries = cfg->cache_max_entries;
	opts.ttl_s = cfg->cache_ttl_s;
	if (atomic_load_explicit(&w->server->cache_key_ok, memory_order_acquire)) {
		opts.redis_url = cfg->cache_redis;
		opts.cache_key = w->server->cache_key;
		opts.redis.dns = w->dns;
		/* rediss:// verifies Redis' certificate against the system store and upstream.ca_file. */
		opts.redis.ssl_ctx = w->server->upstream_ssl;
	}
	w->cache = cache_new(w->base, &opts);
	return w->cache != NULL ? 0 : -1;
}

void keycache_worker_attach(struct worker *w)
{
	struct cache_redis_opts ro;

	if (w->cache == NULL || cache_l2_ready(w->cache) >= 0 ||
	    !atomic_load_explicit(&w->server->cache_key_ok, memory_order_acquire))
		return;
	memset(&ro, 0, sizeof(ro));
	ro.dns = w->dns;
	ro.ssl_ctx = w->server->upstream_ssl;
	/* The worker's own config (the server's may be swapped by a reload meanwhile). */
	if (w->gen == NULL || w->gen->cfg->cache_redis == NULL)
		return;
	if (cache_attach_l2(w->cache, w->gen->cfg->cache_redis, w->server->cache_key, &ro) != 0)
		log_warn("worker %d: the Redis layer could not be added to its key cache", w->id);
}
