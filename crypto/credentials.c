#include "crypto/credentials.h"

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

struct credentials *credentials_new(const char *akid, const char *secret, const char *token,
				    time_t expiration, const char *source)
{
	struct credentials *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->access_key_id = strdup(akid);
	c->secret_access_key = strdup(secret);
	c->session_token = (token != NULL && *token != '\0') ? strdup(token) : NULL;
	c->expiration = expiration;
	snprintf(c->source, sizeof(c->source), "%s", source);
	if (c->access_key_id == NULL || c->secret_access_key == NULL ||
	    (token != NULL && *token != '\0' && c->session_token == NULL)) {
		credentials_unref(c);
		return NULL;
	}
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
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	free(c->access_key_id);
	free_secret(c->secret_access_key);
	free_secret(c->session_token);
	free(c);
}
