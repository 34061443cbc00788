/*
 * Configuration loading: the top level of the file, defaults, environment overrides and the
 * public entry points (helpers in config_util.c).  Structure after twemproxy's nc_conf: pre-validate (JSON syntax, the shape and type of
 * every key, unknown keys), parse into struct config with defaults, post-validate (cross
 * references between tables and keyrings, the upstream endpoint, environment overrides).
 * Every problem is collected, each naming its key path, so `dynaseal check` shows them all
 * at once instead of one per run.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/base/json_nul.h"
#include "proxy/base/log.h"

/* The keys allowed at each fixed level of the file (README "Configuration"). */
static const char *const top_keys[] = {
	"listen", "admin_listen", "workers", "upstream", "kms", "limits", "keyrings", "cache",
	"tables", "log", "tls", "clients", NULL,
};
static const char *const kms_keys[] = {
	"connect_timeout_ms", "response_timeout_ms", "max_attempts", NULL,
};
static const char *const tls_keys[] = { "cert_file", "key_file", NULL };
static const char *const limits_keys[] = {
	"max_header_bytes", "max_body_bytes", "client_idle_timeout_ms", "client_request_timeout_ms",
	NULL,
};
static const char *const cache_keys[] = { "redis", "ttl_s", "max_entries", NULL };
static const char *const log_keys[] = { "level", "format", "audit", NULL };

/* The values every config starts from (README "Configuration", defaults column). */
static int config_set_defaults(struct config *cfg)
{
	if (config_parse_addr("127.0.0.1:8000", &cfg->listen) != 0 ||
	    config_parse_addr("127.0.0.1:9901", &cfg->admin_listen) != 0)
		return -1;
	cfg->has_admin_listen = 1;
	cfg->workers = 0;
	cfg->upstream_connect_timeout_ms = 3000;
	cfg->upstream_response_timeout_ms = 30000;
	cfg->upstream_pool_size = 64;
	cfg->kms_connect_timeout_ms = 3000;
	cfg->kms_response_timeout_ms = 10000;
	cfg->kms_max_attempts = 3;
	cfg->max_header_bytes = 65536;
	cfg->max_body_bytes = DDB_MAX_REQUEST_BYTES;
	cfg->client_idle_timeout_ms = 60000;
	cfg->client_request_timeout_ms = 30000;
	cfg->cache_ttl_s = 300;
	cfg->cache_max_entries = 10000;
	cfg->log_level = LOG_INFO;
	cfg->log_json = 0;
	return 0;
}

static void parse_limits(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	static const struct cfg_int_field fields[] = {
		CFG_SIZE("max_header_bytes", 1024, 16777216, max_header_bytes),
		CFG_SIZE("max_body_bytes", 1024, 1073741824, max_body_bytes),
		CFG_INT("client_idle_timeout_ms", 1, 86400000, client_idle_timeout_ms),
		CFG_INT("client_request_timeout_ms", 1, 86400000, client_request_timeout_ms),
	};

	cfg_check_keys(ctx, obj, "limits", limits_keys);
	cfg_get_ints(ctx, obj, "limits", fields, sizeof(fields) / sizeof(fields[0]), cfg);
}

/* "kms": how long dynaseal waits for KMS and how often it tries a call that failed in a way
 * worth retrying (throttling, 5xx, no answer). */
static void parse_kms(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	static const struct cfg_int_field fields[] = {
		CFG_INT("connect_timeout_ms", 1, 600000, kms_connect_timeout_ms),
		CFG_INT("response_timeout_ms", 1, 600000, kms_response_timeout_ms),
		CFG_INT("max_attempts", 1, 10, kms_max_attempts),
	};

	cfg_check_keys(ctx, obj, "kms", kms_keys);
	cfg_get_ints(ctx, obj, "kms", fields, sizeof(fields) / sizeof(fields[0]), cfg);
}

static void parse_cache(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	static const struct cfg_int_field fields[] = {
		CFG_INT("ttl_s", 1, 604800, cache_ttl_s),
		CFG_SIZE("max_entries", 1, 100000000, cache_max_entries),
	};
	const char *s;

	cfg_check_keys(ctx, obj, "cache", cache_keys);
	if (cfg_get_string(ctx, obj, "cache", "redis", 0, &s) == CFG_OK)
		cfg_redis_field(ctx, "cache.redis", s, cfg);
	cfg_get_ints(ctx, obj, "cache", fields, sizeof(fields) / sizeof(fields[0]), cfg);
}

/* "tls": the listener serves https with this certificate chain and key (PEM). */
static void parse_tls(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	static const char *const names[2] = { "cert_file", "key_file" };
	char **fields[2] = { &cfg->tls_cert_file, &cfg->tls_key_file };
	char path[64], q[300];
	const char *s;

	cfg_check_keys(ctx, obj, "tls", tls_keys);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "tls.%s", names[i]);
		if (cfg_get_string(ctx, obj, "tls", names[i], 1, &s) != CFG_OK)
			continue;
		*fields[i] = cfg_resolve_path(ctx, s);
		if (*fields[i] != NULL && access(*fields[i], R_OK) != 0) {
			cfg_quote(q, sizeof(q), *fields[i]);
			cfg_problem(ctx, path, "cannot read \"%s\": %s", q, strerror(errno));
		}
	}
}

/* Stores a log level given in the file or in DYNASEAL_LOG_LEVEL. */
static void log_level_field(struct cfg_ctx *ctx, const char *path, int is_env, const char *s,
			    struct config *cfg)
{
	char q[128];
	int level = log_level_parse(s);

	if (level < 0) {
		cfg_quote(q, sizeof(q), s);
		cfg_problem_subject(ctx, path, is_env,
				    "unknown log level \"%s\"; expected error, warn, info or debug", q);
		return;
	}
	cfg->log_level = level;
}

static void parse_log(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	const char *s;
	char q[128];

	cfg_check_keys(ctx, obj, "log", log_keys);
	if (cfg_get_string(ctx, obj, "log", "level", 0, &s) == CFG_OK)
		log_level_field(ctx, "log.level", 0, s, cfg);
	if (cfg_get_string(ctx, obj, "log", "format", 0, &s) == CFG_OK) {
		if (strcmp(s, "text") == 0) {
			cfg->log_json = 0;
		} else if (strcmp(s, "json") == 0) {
			cfg->log_json = 1;
		} else {
			cfg_quote(q, sizeof(q), s);
			cfg_problem(ctx, "log.format", "unknown log format \"%s\"; expected text or json", q);
		}
	}
	/* The audit log is a path like key_file: relative to the config file's folder. */
	if (cfg_get_string(ctx, obj, "log", "audit", 0, &s) == CFG_OK)
		cfg->audit_log = strcmp(s, "-") == 0 ? cfg_strdup(ctx, s) : cfg_resolve_path(ctx, s);
}

/* Reads one environment override: NULL when unset or empty (compose files often set
 * VAR= to mean "not set"). */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * DYNASEAL_* overrides, after the file (README "Environment overrides").  The upstream is
 * never taken from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL: in a shared environment those
 * point at the sidecar itself (DESIGN "Interfaces").
 */
static void apply_env(struct cfg_ctx *ctx, struct config *cfg, const char **endpoint_subject,
		      int *endpoint_is_env)
{
	const char *v;

	if ((v = env_value("DYNASEAL_LISTEN")) != NULL)
		cfg_addr_field(ctx, "DYNASEAL_LISTEN", 1, v, 1, &cfg->listen);
	if ((v = env_value("DYNASEAL_ADMIN_LISTEN")) != NULL) {
		cfg_addr_field(ctx, "DYNASEAL_ADMIN_LISTEN", 1, v, 0, &cfg->admin_listen);
		cfg->has_admin_listen = cfg->admin_listen.port != 0;
	}
	if ((v = env_value("DYNASEAL_UPSTREAM_ENDPOINT")) != NULL) {
		ctx->endpoint_bad = 0;
		cfg_endpoint_field(ctx, "DYNASEAL_UPSTREAM_ENDPOINT", 1, v, cfg);
		*endpoint_subject = "DYNASEAL_UPSTREAM_ENDPOINT";
		*endpoint_is_env = 1;
	}
	if ((v = env_value("DYNASEAL_LOG_LEVEL")) != NULL)
		log_level_field(ctx, "DYNASEAL_LOG_LEVEL", 1, v, cfg);
}

/* Line and column (1-based) of offset in text, for a JSON syntax error. */
static void line_col(const char *text, size_t offset, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Pre-validation and parsing of every top-level key into cfg. */
static void parse_root(struct cfg_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *obj;
	const char *s;
	long long v;

	cfg_check_keys(ctx, root, NULL, top_keys);
	if (cfg_get_string(ctx, root, NULL, "listen", 0, &s) == CFG_OK)
		cfg_addr_field(ctx, "listen", 0, s, 1, &cfg->listen);
	if (cfg_get_string(ctx, root, NULL, "admin_listen", 0, &s) == CFG_OK) {
		cfg_addr_field(ctx, "admin_listen", 0, s, 0, &cfg->admin_listen);
		cfg->has_admin_listen = cfg->admin_listen.port != 0;
	}
	if (cfg_get_int(ctx, root, NULL, "workers", 0, 1024, &v) == CFG_OK)
		cfg->workers = (int)v;
	if ((obj = cfg_get_object(ctx, root, NULL, "upstream")) != NULL)
		cfg_parse_upstream(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "kms")) != NULL)
		parse_kms(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "limits")) != NULL)
		parse_limits(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "cache")) != NULL)
		parse_cache(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "log")) != NULL)
		parse_log(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "tls")) != NULL)
		parse_tls(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "clients")) != NULL)
		cfg_parse_clients(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "keyrings")) != NULL)
		cfg_parse_keyrings(ctx, obj, cfg);
	if ((obj = cfg_get_object(ctx, root, NULL, "tables")) != NULL)
		cfg_parse_tables(ctx, obj, cfg);
}

/* The folder relative paths in the file are taken from: the file's own, made absolute so a
 * later chdir does not change what they mean. */
static char *config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	char *abs;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return NULL;
	abs = realpath(dir, NULL);
	if (abs == NULL)
		return dir;
	free(dir);
	return abs;
}

struct config *config_parse(const char *json, size_t len, const char *path,
			    struct config_problems *problems)
{
	struct config_problems local = { NULL, 0 };
	struct cfg_ctx ctx = { NULL, NULL, 0, 0 };
	struct config *cfg = NULL;
	cJSON *root = NULL;
	const char *end = NULL;
	struct json_nul_scan nul;
	const char *subject = path != NULL ? path : "<config>";
	const char *endpoint_subject = "upstream.endpoint";
	int endpoint_is_env = 0;

	if (problems == NULL)
		problems = &local;
	problems->msgs = NULL;
	problems->len = 0;
	ctx.problems = problems;

	cfg = calloc(1, sizeof(*cfg));
	if (cfg != NULL)
		atomic_init(&cfg->refs, 1);
	if (cfg == NULL || config_set_defaults(cfg) != 0) {
		ctx.oom = 1;
		goto cleanup;
	}
	if (path != NULL) {
		cfg->path = cfg_strdup(&ctx, path);
		ctx.dir = config_dir(path);
		if (ctx.dir == NULL)
			ctx.oom = 1;
	}

	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		size_t off = end != NULL && end >= json && end <= json + len ? (size_t)(end - json) : 0;
		size_t line, col;
		line_col(json, off, &line, &col);
		cfg_problem_at(&ctx, subject, "not valid JSON near line %zu, column %zu", line, col);
		goto cleanup;
	}
	for (; end != NULL && end < json + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			size_t line, col;
			line_col(json, (size_t)(end - json), &line, &col);
			cfg_problem_at(&ctx, subject,
				       "unexpected text after the JSON object at line %zu, column %zu",
				       line, col);
			break;
		}
	}
	json_nul_scan(json, len, &nul);
	if (nul.escapes > 0)
		/* cJSON would cut the string there: a name would silently mean a shorter one. */
		cfg_problem_at(&ctx, subject, "a string holds the escape \\u0000 (U+0000), which no "
			       "name or value of the config may hold");
	if (!cJSON_IsObject(root)) {
		cfg_problem_at(&ctx, subject, "expected a JSON object at the top level, got %s",
			       cfg_type_name(root));
		goto cleanup;
	}

	parse_root(&ctx, root, cfg);
	apply_env(&ctx, cfg, &endpoint_subject, &endpoint_is_env);

	/* Post-validation: everything that needs more than one key. */
	cfg_post_upstream(&ctx, cfg, endpoint_subject, endpoint_is_env);
	if ((cfg->tls_cert_file == NULL) != (cfg->tls_key_file == NULL))
		cfg_problem(&ctx, cfg->tls_cert_file ? "tls.key_file" : "tls.cert_file",
			    "is missing: an https listener needs both tls.cert_file and tls.key_file");
	if (cfg->has_admin_listen && cfg_addr_same(&cfg->listen, &cfg->admin_listen))
		cfg_problem(&ctx, "admin_listen",
			    "same address as \"listen\" (%s:%u); give the admin endpoint its own port",
			    cfg->listen.host, cfg->listen.port);
	cfg_post_tables(&ctx, cfg);

cleanup:
	cJSON_Delete(root);
	free(ctx.dir);
	if (ctx.oom && problems->len == 0)
		cfg_problem_at(&ctx, subject, "out of memory while loading");
	if (ctx.oom || problems->len > 0) {
		config_free(cfg);
		cfg = NULL;
	}
	if (problems == &local)
		config_problems_free(&local);
	return cfg;
}

struct config *config_load(const char *path, struct config_problems *problems)
{
	struct config_problems local = { NULL, 0 };
	struct cfg_ctx ctx = { NULL, NULL, 0, 0 };
	unsigned char *text = NULL;
	size_t len = 0;
	char why[256];

	if (problems == NULL)
		problems = &local;
	problems->msgs = NULL;
	problems->len = 0;
	ctx.problems = problems;
	if (cfg_read_file(path, CFG_FILE_MAX, &text, &len, why, sizeof(why)) != 0) {
		cfg_problem_at(&ctx, path, "cannot read the config file: %s", why);
		if (problems == &local)
			config_problems_free(&local);
		return NULL;
	}
	struct config *cfg = config_parse((const char *)text, len, path, problems);
	free(text);
	return cfg;
}

struct config *config_default(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const char *region = env_value("AWS_REGION");

	if (cfg == NULL)
		return NULL;
	atomic_init(&cfg->refs, 1);
	if (config_set_defaults(cfg) != 0)
		goto fail;
	if (region == NULL)
		region = env_value("AWS_DEFAULT_REGION");
	/* No region: no upstream; callers that need one load a file. */
	if (region != NULL && cfg_region_valid(region)) {
		cfg->upstream_region = strdup(region);
		if (cfg->upstream_region == NULL || cfg_endpoint_from_region(cfg, region) != 0)
			goto fail;
	}
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

struct config *config_hold(struct config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void config_release(struct config *cfg)
{
	if (cfg != NULL && atomic_fetch_sub(&cfg->refs, 1) == 1)
		config_free(cfg);
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->keyrings_len; i++)
		cfg_keyring_cleanup(&cfg->keyrings[i]);
	free(cfg->keyrings);
	for (size_t i = 0; i < cfg->tables_len; i++)
		cfg_table_cleanup(&cfg->tables[i]);
	free(cfg->tables);
	for (size_t i = 0; i < cfg->clients_len; i++)
		cfg_client_cleanup(&cfg->clients[i]);
	free(cfg->clients);
	free(cfg->path);
	free(cfg->upstream_endpoint);
	free(cfg->upstream_region);
	free(cfg->upstream_ca_file);
	free(cfg->tls_cert_file);
	free(cfg->tls_key_file);
	free(cfg->cache_redis);
	free(cfg->audit_log);
	free(cfg);
}
