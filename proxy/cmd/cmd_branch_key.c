/*
 * dynaseal branch-key: administers the key store of aws-kms-hierarchical keyrings (MPL
 * branch-key-store.md CreateKeyStore, CreateKey, VersionKey).  Runs one operation on a libevent
 * loop on the main thread with dynaseal's own credentials (the environment, as serve), the
 * region of AWS_REGION, DynamoDB at --endpoint or DYNASEAL_UPSTREAM_ENDPOINT (never
 * AWS_ENDPOINT_URL_DYNAMODB, which may point at dynaseal itself) and KMS at
 * AWS_ENDPOINT_URL_KMS.  Prints the result (the new branch key id, the new version) on stdout.
 */
#include "proxy/cmd/cmd_branch_key.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "crypto/keyring/branch_store.h"
#include "crypto/aws/cred_chain.h"
#include "crypto/aws/credentials.h"
#include "crypto/aws/ddb_client.h"
#include "crypto/aws/kms_client.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"

/* What the command line asked for. */
struct bk_args {
	const char *action;     /* "create-store", "create" or "rotate" */
	const char *table;      /* --table */
	const char *kms_key;    /* --kms-key */
	const char *id;         /* --id (rotate) */
	const char *endpoint;   /* --endpoint */
};

/* The outcome, filled by the operation's callback. */
struct bk_result {
	struct event_base *base;
	int done;
	int status;             /* exit status */
};

static void bk_usage(FILE *out)
{
	fprintf(out,
		"Usage:\n"
		"  dynaseal branch-key create-store --table T\n"
		"  dynaseal branch-key create --table T --kms-key ARN        prints the new branch key id\n"
		"  dynaseal branch-key rotate --table T --kms-key ARN --id ID prints the new version\n"
		"Options: --endpoint URL (DynamoDB; default DYNASEAL_UPSTREAM_ENDPOINT, else\n"
		"https://dynamodb.$AWS_REGION.amazonaws.com).  KMS: AWS_ENDPOINT_URL_KMS.\n"
		"Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.\n");
}

static int bk_parse(int argc, char **argv, struct bk_args *a)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "kms-key", required_argument, NULL, 'k' },
		{ "id", required_argument, NULL, 'i' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	if (argc < 2) {
		bk_usage(stderr);
		return -1;
	}
	a->action = argv[1];
	if (strcmp(a->action, "--help") == 0 || strcmp(a->action, "-h") == 0) {
		bk_usage(stdout);
		exit(0);
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "t:k:i:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': a->table = optarg; break;
		case 'k': a->kms_key = optarg; break;
		case 'i': a->id = optarg; break;
		case 'e': a->endpoint = optarg; break;
		case 'h': bk_usage(stdout); exit(0);
		default: bk_usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dynaseal branch-key: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (strcmp(a->action, "create-store") != 0 && strcmp(a->action, "create") != 0 &&
	    strcmp(a->action, "rotate") != 0) {
		fprintf(stderr, "dynaseal branch-key: unknown action \"%s\"; use create-store, create or "
			"rotate\n", a->action);
		return -1;
	}
	if (a->table == NULL || *a->table == '\0') {
		fprintf(stderr, "dynaseal branch-key %s: --table is required\n", a->action);
		return -1;
	}
	if (strcmp(a->action, "create-store") != 0 && (a->kms_key == NULL || *a->kms_key == '\0')) {
		fprintf(stderr, "dynaseal branch-key %s: --kms-key ARN is required\n", a->action);
		return -1;
	}
	if (strcmp(a->action, "rotate") == 0 && (a->id == NULL || *a->id == '\0')) {
		fprintf(stderr, "dynaseal branch-key rotate: --id BRANCH_KEY_ID is required\n");
		return -1;
	}
	return 0;
}

static void bk_done_cb(void *arg, const char *text, const struct ds_error *err)
{
	struct bk_result *r = arg;

	r->done = 1;
	if (err != NULL) {
		fprintf(stderr, "dynaseal branch-key: %s\n", err->message);
		r->status = 1;
	} else {
		printf("%s\n", text);
		fflush(stdout);
		r->status = 0;
	}
	/* Pooled connections keep the loop alive: stop it once the answer is in. */
	event_base_loopbreak(r->base);
}

int cmd_branch_key(int argc, char **argv)
{
	struct bk_args a;
	struct bk_result r = { 0 };
	struct ds_error err = { 0 };
	struct credentials *creds = NULL;
	struct evdns_base *dns = NULL;
	struct kms_client *kms = NULL;
	struct ddb_client *ddb = NULL;
	struct branch_store *store = NULL;
	SSL_CTX *ssl = NULL;
	const char *region = getenv("AWS_REGION");
	const char *env_ep = getenv("DYNASEAL_UPSTREAM_ENDPOINT");
	char endpoint[300];

	if (bk_parse(argc, argv, &a) != 0)
		return 2;
	r.status = 1;
	if (region == NULL || *region == '\0')
		region = getenv("AWS_DEFAULT_REGION");
	if (region == NULL || *region == '\0') {
		fprintf(stderr, "dynaseal branch-key: no AWS region: set AWS_REGION\n");
		return 1;
	}
	if (a.endpoint != NULL)
		snprintf(endpoint, sizeof(endpoint), "%s", a.endpoint);
	else if (env_ep != NULL && *env_ep != '\0')
		snprintf(endpoint, sizeof(endpoint), "%s", env_ep);
	else
		snprintf(endpoint, sizeof(endpoint), "https://dynamodb.%s.amazonaws.com", region);
	ssl = upstream_ssl_ctx_new(NULL);
	if (ssl == NULL)
		return 1;
	/* The same credential chain as serve. */
	creds = cred_chain_once(ssl, region, &err);
	if (creds == NULL) {
		fprintf(stderr, "dynaseal branch-key: %s\n", err.message);
		SSL_CTX_free(ssl);
		return 1;
	}
	r.base = event_base_new();
	if (r.base == NULL)
		goto cleanup;
	dns = evdns_base_new(r.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL)
		dns = evdns_base_new(r.base, 0);
	if (dns == NULL)
		goto cleanup;
	ddb = ddb_client_new(r.base, dns, ssl, endpoint, region, creds, &err);
	if (ddb == NULL) {
		fprintf(stderr, "dynaseal branch-key: %s\n", err.message);
		goto cleanup;
	}
	if (strcmp(a.action, "create-store") != 0) {
		kms = kms_client_new(r.base, dns, ssl, region, creds, &err);
		if (kms == NULL) {
			fprintf(stderr, "dynaseal branch-key: %s\n", err.message);
			goto cleanup;
		}
	}
	store = branch_store_new(ddb, kms, a.table, a.kms_key);
	if (store == NULL)
		goto cleanup;
	if (strcmp(a.action, "create-store") == 0)
		branch_store_create_table(store, bk_done_cb, &r);
	else if (strcmp(a.action, "create") == 0)
		branch_store_create_key(store, bk_done_cb, &r);
	else
		branch_store_version_key(store, a.id, bk_done_cb, &r);
	if (!r.done)
		event_base_dispatch(r.base);
cleanup:
	branch_store_free(store);
	ddb_client_free(ddb);
	kms_client_free(kms);
	if (dns != NULL)
		evdns_base_free(dns, 0);
	if (ssl != NULL)
		SSL_CTX_free(ssl);
	if (r.base != NULL)
		event_base_free(r.base);
	credentials_unref(creds);
	return r.status;
}
