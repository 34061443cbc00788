#include "crypto/aws/credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Frees a string that held a secret, wiping it first. */
static void free_secret(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static void values_free(struct cred_values *v)
{
	if (v == NULL)
		return;
	free(v->access_key_id);
	free_secret(v->secret_access_key);
	free_secret(v->session_token);
	free(v);
}

static struct cred_values *values_new(const char *akid, const char *secret, const char *token,
				      time_t expiration)
{
	struct cred_values *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->access_key_id = strdup(akid);
	v->secret_access_key = strdup(secret);
	v->session_token = (token != NULL && *token != '\0') ? strdup(token) : NULL;
	v->expiration = expiration;
	if (v->access_key_id == NULL || v->secret_access_key == NULL ||
	    (token != NULL && *token != '\0' && v->session_token == NULL)) {
		values_free(v);
		return NULL;
	}
	return v;
}

struct credentials *credentials_new(const char *akid, const char *secret, const char *token,
				    time_t expiration, const char *source)
{
	struct credentials *c = calloc(1, sizeof(*c));
	struct cred_values *v = values_new(akid, secret, token, expiration);

	if (c == NULL || v == NULL) {
		free(c);
		values_free(v);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	atomic_init(&c->current, v);
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->source, sizeof(c->source), "%s", source);
	return c;
}

struct credentials *credentials_from_env(void)
{
	const char *akid = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");

	if (akid == NULL || *akid == '\0')
		akid = getenv("AWS_ACCESS_KEY");
	if (secret == NULL || *secret == '\0')
		secret = getenv("AWS_SECRET_KEY");
	if (akid == NULL || *akid == '\0' || secret == NULL || *secret == '\0')
		return NULL;
	return credentials_new(akid, secret, getenv("AWS_SESSION_TOKEN"), 0, "environment");
}

struct credentials *credentials_ref(struct credentials *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void credentials_unref(struct credentials *c)
{
	struct cred_values *v;

	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	values_free(atomic_load(&c->current));
	while ((v = c->retired) != NULL) {
		c->retired = v->next;
		values_free(v);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const struct cred_values *credentials_get(struct credentials *c)
{
	return atomic_load_explicit(&c->current, memory_order_acquire);
}

int credentials_replace(struct credentials *c, const char *akid, const char *secret,
			const char *token, time_t expiration)
{
	struct cred_values *v = values_new(akid, secret, token, expiration);
	struct cred_values *old;
	struct cred_values **p;
	time_t now = time(NULL);

	if (v == NULL)
		return -1;
	pthread_mutex_lock(&c->lock);
	old = atomic_exchange_explicit(&c->current, v, memory_order_acq_rel);
	old->retired_at = now;
	old->next = c->retired;
	c->retired = old;
	/* Values replaced more than the grace period ago can no longer be in use. */
	for (p = &c->retired; *p != NULL;) {
		if (now - (*p)->retired_at > CRED_GRACE_S) {
			struct cred_values *gone = *p;
			*p = gone->next;
			values_free(gone);
		} else {
			p = &(*p)->next;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}
