/*
 * Shared between the config_*.c files only: the loading context, the problem reporter and
 * small typed getters over cJSON.  Not part of the public interface (config/config.h).
 *
 * Every getter reports its own problem, naming the key path, and returns a tri-state so a
 * caller can keep going after a bad key: all problems of a file are reported in one pass
 * (twemproxy's nc_conf does the same: validate everything, then fail).
 */
#ifndef DS_CONFIG_INTERNAL_H
#define DS_CONFIG_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/config.h"

/* Longest key path kept for messages; longer ones are cut with "...". */
#define CFG_PATH_MAX 512
/* After this many problems one more says so and the rest are dropped (a fuzzed or generated
 * file could otherwise produce millions). */
#define CFG_PROBLEMS_MAX 1000
/* Largest config file, key file and CA file we agree to read, in bytes. */
#define CFG_FILE_MAX (4u << 20)

/* Getter results: the key is absent, present and valid, or present and wrong (reported). */
enum cfg_get {
	CFG_ABSENT = 0,
	CFG_OK = 1,
	CFG_BAD = -1,
};

/* State of one load: where problems go and how relative paths resolve. */
struct cfg_ctx {
	struct config_problems *problems; /* never NULL (a local list when the caller gave none) */
	char *dir;                        /* folder of the config file, NULL = current directory */
	int oom;                          /* an allocation failed: the load fails */
	int endpoint_bad;                 /* upstream endpoint was given but wrong: no "missing" */
};

/* Adds `config: "<path>": <reason>`; path is a key path already made printable. */
void cfg_problem(struct cfg_ctx *ctx, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds `config: <subject>: <reason>` for an environment variable or the file itself. */
void cfg_problem_at(struct cfg_ctx *ctx, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports about a value named by path: quoted when it is a key path, bare for an env var. */
void cfg_problem_subject(struct cfg_ctx *ctx, const char *path, int is_env, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Joins parent and key into out with a '.', escaping what a terminal should not see. */
void cfg_path(char *out, size_t size, const char *parent, const char *key);
/* Writes s into out, escaped and cut to a readable length, for quoting a value in a message. */
void cfg_quote(char *out, size_t size, const char *s);
/* strdup that records an allocation failure in ctx. */
char *cfg_strdup(struct cfg_ctx *ctx, const char *s) __attribute__((warn_unused_result));
/* A path from the file taken relative to the config file's folder (absolute ones as is). */
char *cfg_resolve_path(struct cfg_ctx *ctx, const char *p) __attribute__((warn_unused_result));

/*
 * Reads a whole regular file of at most max bytes into *out (NUL-terminated, len without it).
 * On failure returns -1 and writes the reason to why.  The caller frees *out, after wiping it
 * when it may hold a key.
 */
int cfg_read_file(const char *path, size_t max, unsigned char **out, size_t *len,
		  char *why, size_t why_len) __attribute__((warn_unused_result));

/* The name of a JSON value's type for "expected X, got Y". */
const char *cfg_type_name(const cJSON *item);
/*
 * Reports every key of obj not in allowed (a NULL-terminated list; NULL allows any key) and
 * every key that appears twice.  Returns the number of problems found.
 */
int cfg_check_keys(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		   const char *const *allowed);
/* Exact-case member lookup (cJSON_GetObjectItem ignores case, which would accept "Listen"). */
const cJSON *cfg_member(const cJSON *obj, const char *key);
/* obj.key as a non-empty string; required reports a missing key. */
enum cfg_get cfg_get_string(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			    const char *key, int required, const char **out);
/* obj.key as an integer in [min, max]. */
enum cfg_get cfg_get_int(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			 const char *key, long long min, long long max, long long *out);
/* An integer member of a section and the field of struct config it fills. */
struct cfg_int_field {
	const char *key;
	long long min, max;
	size_t offset;               /* offsetof(struct config, field) */
	int is_size;                 /* the field is a size_t (else an int) */
};
#define CFG_INT(key, min, max, field) { key, min, max, offsetof(struct config, field), 0 }
#define CFG_SIZE(key, min, max, field) { key, min, max, offsetof(struct config, field), 1 }
/* Each field's key of obj, in range, into cfg (cfg_get_int for each). */
void cfg_get_ints(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		  const struct cfg_int_field *fields, size_t n, struct config *cfg);
/* obj.key as an object; a wrong type is reported.  Returns NULL when absent or wrong. */
const cJSON *cfg_get_object(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			    const char *key);

/* Compares (a, alen) with (b, blen) bytewise, a shorter prefix first: the order of the
 * sorted name arrays that config_find_table and config_table_action search. */
int cfg_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* config_clients.c: "clients". */
void cfg_parse_clients(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg);
void cfg_client_cleanup(struct config_client *c);

/* config_net.c: addresses, endpoints, URLs. */
enum cfg_addr_err {
	CFG_ADDR_OK = 0,
	CFG_ADDR_BAD = -1,         /* not host:port */
	CFG_ADDR_PORT_RANGE = -2,  /* a number, but not a port */
};
int cfg_addr_parse(const char *text, struct config_addr *addr, const char **why);
/* Parses and stores an address value; reports problems.  min_port is 0 when 0 means "off". */
void cfg_addr_field(struct cfg_ctx *ctx, const char *path, int is_env, const char *text,
		    int min_port, struct config_addr *out);
/* Parses and stores upstream.endpoint (or its environment override) into cfg. */
void cfg_endpoint_field(struct cfg_ctx *ctx, const char *path, int is_env, const char *text,
			struct config *cfg);
/* Parses the "upstream" object. */
void cfg_parse_upstream(struct cfg_ctx *ctx, const cJSON *up, struct config *cfg);
/* Validates a "cache.redis" URL without ever printing it (it may hold a password). */
void cfg_redis_field(struct cfg_ctx *ctx, const char *path, const char *text, struct config *cfg);
/* Derives the endpoint from the region when none was set; reports a self-loop. */
void cfg_post_upstream(struct cfg_ctx *ctx, struct config *cfg, const char *endpoint_subject,
		       int endpoint_is_env);
/* 1 when a and b name the same socket (loopback names and wildcards count as the same). */
int cfg_addr_same(const struct config_addr *a, const struct config_addr *b);
/* 1 when s is a plausible AWS region name such as us-east-1. */
int cfg_region_valid(const char *s);
/* Sets cfg's endpoint to the regional DynamoDB endpoint of region. */
int cfg_endpoint_from_region(struct config *cfg, const char *region)
	__attribute__((warn_unused_result));

/* config_keyrings.c */
void cfg_parse_keyrings(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg);
struct config_keyring *cfg_find_keyring(const struct config *cfg, const char *name);
void cfg_keyring_cleanup(struct config_keyring *kr);

/* config_tables.c */
/* 1 when s is a DynamoDB table name: 3 to 255 of a-z A-Z 0-9 _ - . */
int cfg_table_name_valid(const char *s);
/* Reports an attribute name the DB-ESDK reserves (aws_dbe_, aws-crypto-); 0 when fine. */
int cfg_attr_name_check(struct cfg_ctx *ctx, const char *path, const char *name);
void cfg_parse_tables(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg);
/* Cross-checks tables against keyrings (post-validation). */
void cfg_post_tables(struct cfg_ctx *ctx, struct config *cfg);
void cfg_table_cleanup(struct config_table *t);
/* A table's "search" block (config_search.c), after its attribute_actions; its keyring once
 * the keyrings are known. */
void cfg_parse_search(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		      struct config_table *t);
void cfg_post_search(struct cfg_ctx *ctx, const struct config *cfg, struct config_table *t);
void cfg_search_cleanup(struct config_search *s);
/* A search block's "compound_beacons" (list) into t->search, after its standard beacons. */
void cfg_parse_compound(struct cfg_ctx *ctx, const cJSON *list, const char *path,
			struct config_table *t);
/* Frees s's compound beacons. */
void cfg_compound_cleanup(struct config_search *s);
/* A table's "legacy" block (config_legacy.c), after its keys, plaintext_policy and search. */
void cfg_parse_legacy(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		      struct config_table *t);
void cfg_legacy_cleanup(struct config_legacy *l);

#endif
