/*
 * Resolving the KMS aliases of the config (kms_alias.h) with kms:DescribeKey (KMS API
 * reference, DescribeKey: KeyMetadata.Arn, KeyState, KeyUsage).
 */
#include "crypto/aws/kms_alias.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

/* The keys one alias named. */
struct seen_alias {
	char *alias;            /* as the config spells it */
	char **arns;            /* key ARNs, first seen first */
	size_t arns_len;
};

struct kms_alias_seen {
	struct seen_alias *aliases;
	size_t len;
};

struct kms_alias_seen *kms_alias_seen_new(void)
{
	return calloc(1, sizeof(struct kms_alias_seen));
}

void kms_alias_seen_free(struct kms_alias_seen *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->len; i++) {
		for (size_t j = 0; j < s->aliases[i].arns_len; j++)
			free(s->aliases[i].arns[j]);
		free(s->aliases[i].arns);
		free(s->aliases[i].alias);
	}
	free(s->aliases);
	free(s);
}

static struct seen_alias *seen_find(const struct kms_alias_seen *s, const char *alias)
{
	for (size_t i = 0; i < s->len; i++) {
		if (strcmp(s->aliases[i].alias, alias) == 0)
			return &s->aliases[i];
	}
	return NULL;
}

int kms_alias_seen_add(struct kms_alias_seen *s, const char *alias, const char *arn)
{
	struct seen_alias *a = seen_find(s, alias);
	char **grown;

	if (a == NULL) {
		struct seen_alias *more = realloc(s->aliases, (s->len + 1) * sizeof(*more));
		if (more == NULL)
			return -1;
		s->aliases = more;
		a = &s->aliases[s->len];
		memset(a, 0, sizeof(*a));
		if ((a->alias = strdup(alias)) == NULL)
			return -1;
		s->len++;
	}
	for (size_t i = 0; i < a->arns_len; i++) {
		if (strcmp(a->arns[i], arn) == 0)
			return 0;
	}
	grown = realloc(a->arns, (a->arns_len + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	a->arns = grown;
	if ((a->arns[a->arns_len] = strdup(arn)) == NULL)
		return -1;
	a->arns_len++;
	return 0;
}

const char *const *kms_alias_seen_get(const struct kms_alias_seen *s, const char *alias, size_t *n)
{
	const struct seen_alias *a = s != NULL ? seen_find(s, alias) : NULL;

	*n = a != NULL ? a->arns_len : 0;
	return a != NULL ? (const char *const *)a->arns : NULL;
}

int kms_alias_check(const char *alias, const struct kms_result *res, char *why, size_t cap)
{
	const char *arn = res->key_id != NULL ? res->key_id : "";
	const char *state = res->key_state != NULL ? res->key_state : "";

	if (config_kms_ref(arn) != KMS_REF_KEY_ARN) {
		snprintf(why, cap, "alias \"%s\": KMS DescribeKey answered \"%.200s\", which is not a "
			 "key ARN", alias, arn);
		return -1;
	}
	if (strcmp(state, "Enabled") == 0) {
		if (res->key_usage == NULL || strcmp(res->key_usage, "ENCRYPT_DECRYPT") == 0)
			return 0;
		snprintf(why, cap, "alias \"%s\" names %s, a key for %.40s, not ENCRYPT_DECRYPT; point "
			 "the alias at a symmetric encryption key", alias, arn, res->key_usage);
	} else if (strcmp(state, "Disabled") == 0) {
		snprintf(why, cap, "alias \"%s\" names %s, which is disabled; enable the key "
			 "(kms:EnableKey) or point the alias at an enabled one", alias, arn);
	} else if (strcmp(state, "PendingDeletion") == 0) {
		snprintf(why, cap, "alias \"%s\" names %s, which is pending deletion; cancel the "
			 "deletion (kms:CancelKeyDeletion) or point the alias at another key", alias, arn);
	} else {
		snprintf(why, cap, "alias \"%s\" names %s, whose state is %.40s, not Enabled", alias,
			 arn, *state ? state : "(none)");
	}
	return -1;
}

/* One DescribeKey run to completion. */
struct describe_wait {
	struct event_base *base;
	const char *alias;
	int done;
	int ok;
	char arn[512];          /* the key ARN, when ok */
	char why[1024];         /* why not, otherwise */
};

static void described_cb(void *arg, const struct kms_result *res, const struct ds_error *err)
{
	struct describe_wait *dw = arg;

	dw->done = 1;
	if (err != NULL)
		snprintf(dw->why, sizeof(dw->why), "alias \"%s\" cannot be resolved: %s", dw->alias,
			 err->message);
	else if (kms_alias_check(dw->alias, res, dw->why, sizeof(dw->why)) == 0 &&
		 strlen(res->key_id) < sizeof(dw->arn)) {
		snprintf(dw->arn, sizeof(dw->arn), "%s", res->key_id);
		dw->ok = 1;
	} else if (dw->why[0] == '\0') {
		snprintf(dw->why, sizeof(dw->why), "alias \"%s\": the key ARN KMS answered is too long",
			 dw->alias);
	}
	event_base_loopbreak(dw->base);
}

/* The config key a KMS keyring names its key with. */
static const char *kms_field(const struct config_keyring *kr)
{
	return kr->type == KEYRING_AWS_KMS ? "key_id" : "kms_key_id";
}

/* Resolves kr's alias with kms (NULL: setup failed, setup_why says why) and pins kr. */
static int resolve_one(struct config_keyring *kr, struct kms_client *kms, struct event_base *base,
		       const char *setup_why, struct kms_alias_seen *seen,
		       struct config_problems *problems)
{
	const char *alias = config_keyring_kms_name(kr);
	struct describe_wait dw = { base, alias, 0, 0, "", "" };
	const char *const *before;
	size_t nbefore = 0;

	if (kms == NULL) {
		snprintf(dw.why, sizeof(dw.why), "alias \"%s\" cannot be resolved: %s", alias, setup_why);
	} else {
		kms_describe_key(kms, alias, described_cb, &dw);
		/* The loop ends when the call completes; it cannot run dry while the call is pending,
		 * but a loop that does must not spin. */
		while (!dw.done) {
			if (event_base_dispatch(base) != 0 && !dw.done) {
				snprintf(dw.why, sizeof(dw.why), "alias \"%s\" cannot be resolved: the "
					 "DescribeKey call was lost", alias);
				break;
			}
		}
	}
	if (dw.ok && seen != NULL && kms_alias_seen_add(seen, alias, dw.arn) != 0) {
		dw.ok = 0;
		snprintf(dw.why, sizeof(dw.why), "alias \"%s\": out of memory", alias);
	}
	before = kms_alias_seen_get(seen, alias, &nbefore);
	if (dw.ok && config_keyring_pin_kms(kr, dw.arn, before, nbefore) != 0) {
		dw.ok = 0;
		snprintf(dw.why, sizeof(dw.why), "alias \"%s\": out of memory", alias);
	}
	if (dw.ok)
		return 0;
	(void)config_problems_add(problems, "config: \"keyrings.%s.%s\": %s", kr->name,
				  kms_field(kr), dw.why);
	return -1;
}

int kms_alias_resolve(struct config *cfg, const struct kms_alias_env *env,
		      struct kms_alias_seen *seen, struct config_problems *problems)
{
	struct event_base *base = NULL;
	struct evdns_base *dns = NULL;
	struct kms_client *kms = NULL;
	struct ds_error err = { 0 };
	int failed = 0;

	for (size_t i = 0; i < cfg->keyrings_len; i++) {
		struct config_keyring *kr = &cfg->keyrings[i];
		enum config_kms_ref ref = config_kms_ref(config_keyring_kms_name(kr));
		if (ref != KMS_REF_ALIAS_NAME && ref != KMS_REF_ALIAS_ARN)
			continue;
		/* The client is made for the first alias, so a config without one calls nothing. */
		if (base == NULL && err.message[0] == '\0') {
			base = event_base_new();
			dns = base ? evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS) : NULL;
			if (base != NULL && dns == NULL)
				dns = evdns_base_new(base, 0);   /* no resolv.conf: numeric endpoints */
			if (dns == NULL)
				ds_error_set(&err, 500, DS_ERR_INTERNAL, "out of memory");
			else
				kms = kms_client_new(base, dns, env->ssl_ctx, env->region, env->creds, &err);
			if (kms != NULL && env->max_attempts > 0)
				kms_client_set_limits(kms, env->connect_timeout_ms, env->response_timeout_ms,
						      env->max_attempts);
		}
		if (resolve_one(kr, kms, base, err.message, seen, problems) != 0)
			failed = 1;
	}
	kms_client_free(kms);
	if (dns != NULL)
		evdns_base_free(dns, 0);
	if (base != NULL)
		event_base_free(base);
	return failed ? -1 : 0;
}
