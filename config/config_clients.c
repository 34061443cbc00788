/*
 * "clients": the applications allowed to use dynaseal, when it verifies their SigV4 signatures.
 *   "clients": { "AKIDAPP1": { "secret_file": "app1.secret", "tables": ["users"] },
 *                "AKIDAPP2": { "secret_env": "APP2_SECRET", "tables": ["*"] } }
 * Secrets are read here so `check` reports a missing one; they are wiped by config_free.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const char *const client_keys[] = { "secret_file", "secret_env", "tables", NULL };

/* Stores one client's secret from a file (trailing white space dropped) or a variable. */
static void client_secret(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			  struct config_client *c)
{
	const char *file = NULL;
	const char *env = NULL;
	char kp[CFG_PATH_MAX], why[256];

	cfg_get_string(ctx, obj, path, "secret_file", 0, &file);
	cfg_get_string(ctx, obj, path, "secret_env", 0, &env);
	if ((file == NULL) == (env == NULL)) {
		cfg_problem(ctx, path, "needs exactly one of secret_file and secret_env");
		return;
	}
	if (env != NULL) {
		const char *v = getenv(env);
		cfg_path(kp, sizeof(kp), path, "secret_env");
		if (v == NULL || *v == '\0') {
			cfg_problem(ctx, kp, "the environment variable %s is not set", env);
			return;
		}
		c->secret = strdup(v);
	} else {
		unsigned char *data = NULL;
		size_t len = 0;
		char *p = cfg_resolve_path(ctx, file);
		cfg_path(kp, sizeof(kp), path, "secret_file");
		if (p == NULL || cfg_read_file(p, 4096, &data, &len, why, sizeof(why)) != 0) {
			cfg_problem(ctx, kp, "%s", p ? why : "out of memory");
			free(p);
			return;
		}
		free(p);
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
			data[--len] = '\0';
		c->secret = len > 0 ? strndup((const char *)data, len) : NULL;
		OPENSSL_cleanse(data, len);
		free(data);
		if (len == 0) {
			cfg_problem(ctx, kp, "the file is empty");
			return;
		}
	}
	if (c->secret == NULL)
		ctx->oom = 1;
}

void cfg_parse_clients(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	const cJSON *e;
	size_t n = 0;

	cJSON_ArrayForEach(e, obj)
		n++;
	cfg->clients = calloc(n ? n : 1, sizeof(*cfg->clients));
	if (cfg->clients == NULL) {
		ctx->oom = 1;
		return;
	}
	cJSON_ArrayForEach(e, obj) {
		struct config_client *c = &cfg->clients[cfg->clients_len++];
		char path[CFG_PATH_MAX], tp[CFG_PATH_MAX];
		const cJSON *tables;
		const cJSON *t;

		cfg_path(path, sizeof(path), "clients", e->string);
		c->access_key_id = strdup(e->string);
		if (c->access_key_id == NULL) {
			ctx->oom = 1;
			return;
		}
		if (!cJSON_IsObject(e)) {
			cfg_problem(ctx, path, "expected an object with secret_file or secret_env, and tables");
			continue;
		}
		cfg_check_keys(ctx, e, path, client_keys);
		client_secret(ctx, e, path, c);
		cfg_path(tp, sizeof(tp), path, "tables");
		tables = cfg_member(e, "tables");
		if (!cJSON_IsArray(tables)) {
			cfg_problem(ctx, tp, tables ? "expected a list of table names (\"*\" for all)"
						  : "is missing: list the tables this client may use (\"*\" for all)");
			continue;
		}
		c->tables = calloc((size_t)cJSON_GetArraySize(tables) + 1, sizeof(char *));
		if (c->tables == NULL) {
			ctx->oom = 1;
			return;
		}
		cJSON_ArrayForEach(t, tables) {
			if (!cJSON_IsString(t) || *t->valuestring == '\0') {
				cfg_problem(ctx, tp, "every entry must be a table name or \"*\"");
				continue;
			}
			if (strcmp(t->valuestring, "*") == 0)
				c->all_tables = 1;
			else if ((c->tables[c->tables_len++] = strdup(t->valuestring)) == NULL)
				ctx->oom = 1;
		}
	}
}

void cfg_client_cleanup(struct config_client *c)
{
	free(c->access_key_id);
	if (c->secret != NULL) {
		OPENSSL_cleanse(c->secret, strlen(c->secret));
		free(c->secret);
	}
	for (size_t i = 0; i < c->tables_len; i++)
		free(c->tables[i]);
	free(c->tables);
}

const struct config_client *config_find_client(const struct config *cfg, const char *akid, size_t len)
{
	for (size_t i = 0; i < cfg->clients_len; i++) {
		const struct config_client *c = &cfg->clients[i];
		if (strlen(c->access_key_id) == len && memcmp(c->access_key_id, akid, len) == 0)
			return c;
	}
	return NULL;
}

int config_client_may_use(const struct config_client *c, const char *table)
{
	if (table == NULL)
		return 0;
	if (c->all_tables)
		return 1;
	for (size_t i = 0; i < c->tables_len; i++) {
		if (strcmp(c->tables[i], table) == 0)
			return 1;
	}
	return 0;
}
