/*
 * The "tables" object: which tables are encrypted and how, i.e. the DB-ESDK table encryption
 * config (specification/dynamodb-encryption-client/ddb-table-encryption-config.md) plus the
 * keyring to use.  The rules of the shipped SDK's item encryptor (DynamoDbItemEncryptor
 * initialization) are checked here so that a config the SDK would refuse is refused at load,
 * not on the first write.  Actions and allowed-unsigned names are kept sorted for the binary
 * searches of config_find_table / config_table_action, which run per request and attribute.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const table_keys[] = {
	"keyring", "logical_name", "partition_key", "sort_key", "algorithm_suite",
	"attribute_actions", "allowed_unsigned_attributes", "allowed_unsigned_attribute_prefix",
	"plaintext_policy", "search", "legacy", "read_keyrings", NULL,
};

/* Indexed by enum attr_action. */
static const char *const action_names[] = {
	"ENCRYPT_AND_SIGN", "SIGN_ONLY", "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT", "DO_NOTHING",
};

/* The algorithm suites the DB-ESDK writes (MPL framework/algorithm-suites.md, DBE suites). */
static const struct {
	const char *name;     /* spelled as in the MPL */
	uint16_t id;          /* the suite id in the item header */
} suites[] = {
	{ "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384", 0x6700 },
	{ "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384", 0x6701 },
};

/* DynamoDB's reserved prefix for the item format (aws_dbe_head, aws_dbe_foot) and the
 * DB-ESDK's prefix for encryption context keys; neither may name a configured attribute. */
#define RESERVED_ATTR_PREFIX "aws_dbe_"
#define RESERVED_EC_PREFIX "aws-crypto-"

void cfg_table_cleanup(struct config_table *t)
{
	free(t->name);
	free(t->logical_name);
	free(t->keyring);
	free(t->partition_key);
	free(t->sort_key);
	for (size_t i = 0; i < t->actions_len; i++)
		free(t->actions[i].name);
	free(t->actions);
	for (size_t i = 0; i < t->allowed_unsigned_len; i++)
		free(t->allowed_unsigned[i]);
	free(t->allowed_unsigned);
	free(t->allowed_unsigned_prefix);
	for (size_t i = 0; i < t->read_keyrings_len; i++)
		free(t->read_keyrings[i]);
	free(t->read_keyrings);
	free(t->read_keyring_refs);
	cfg_search_cleanup(t->search);
	cfg_legacy_cleanup(t->legacy);
}

int cfg_table_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return 0;
	}
	return 1;
}

int cfg_attr_name_check(struct cfg_ctx *ctx, const char *path, const char *name)
{
	char q[128];

	cfg_quote(q, sizeof(q), name);
	if (strncmp(name, RESERVED_ATTR_PREFIX, strlen(RESERVED_ATTR_PREFIX)) == 0) {
		cfg_problem(ctx, path, "attribute name \"%s\" starts with \"aws_dbe_\", which is "
			    "reserved for the encryption header and footer; rename the attribute", q);
		return -1;
	}
	if (strncmp(name, RESERVED_EC_PREFIX, strlen(RESERVED_EC_PREFIX)) == 0) {
		cfg_problem(ctx, path, "attribute name \"%s\" starts with \"aws-crypto-\", which is "
			    "reserved for encryption context keys; rename the attribute", q);
		return -1;
	}
	if (strlen(name) > 65535) {
		cfg_problem(ctx, path, "attribute name is longer than DynamoDB's 65535 bytes");
		return -1;
	}
	return 0;
}

/* "algorithm_suite": a suite's name, or its id in hex ("0x6700" or "6700"). */
static void parse_suite(struct cfg_ctx *ctx, const char *path, const char *s, uint16_t *out)
{
	const char *hex = s;
	char q[128];

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (strcmp(s, suites[i].name) == 0) {
			*out = suites[i].id;
			return;
		}
	}
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	if (strlen(hex) == 4 && isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]) &&
	    isxdigit((unsigned char)hex[2]) && isxdigit((unsigned char)hex[3])) {
		uint16_t id = (uint16_t)strtoul(hex, NULL, 16);
		for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
			if (id == suites[i].id) {
				*out = id;
				return;
			}
		}
	}
	cfg_quote(q, sizeof(q), s);
	cfg_problem(ctx, path, "unknown algorithm suite \"%s\"; expected %s (0x6700) or %s (0x6701)",
		    q, suites[0].name, suites[1].name);
}

static int action_cmp(const void *a, const void *b)
{
	const char *x = ((const struct config_attr_action *)a)->name;
	const char *y = ((const struct config_attr_action *)b)->name;

	x = x != NULL ? x : "";
	y = y != NULL ? y : "";
	return cfg_name_cmp(x, strlen(x), y, strlen(y));
}

static int str_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a;
	const char *y = *(char *const *)b;

	x = x != NULL ? x : "";
	y = y != NULL ? y : "";
	return cfg_name_cmp(x, strlen(x), y, strlen(y));
}

/* Binary search of the sorted actions by a (ptr, len) name. */
static const struct config_attr_action *find_action(const struct config_table *t,
						    const char *name, size_t len)
{
	size_t lo = 0, hi = t->actions_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = t->actions[mid].name != NULL ? t->actions[mid].name : "";
		int r = cfg_name_cmp(name, len, m, strlen(m));
		if (r == 0)
			return &t->actions[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* 1 when (name, len) is in the sorted allowed_unsigned list. */
static int find_allowed(const struct config_table *t, const char *name, size_t len)
{
	size_t lo = 0, hi = t->allowed_unsigned_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = t->allowed_unsigned[mid] != NULL ? t->allowed_unsigned[mid] : "";
		int r = cfg_name_cmp(name, len, m, strlen(m));
		if (r == 0)
			return 1;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int has_prefix(const struct config_table *t, const char *name, size_t len)
{
	size_t plen;

	if (t->allowed_unsigned_prefix == NULL)
		return 0;
	plen = strlen(t->allowed_unsigned_prefix);
	return len >= plen && memcmp(name, t->allowed_unsigned_prefix, plen) == 0;
}

/* "attribute_actions": { "<attribute>": "<action>" }.  Room is left for the two key
 * attributes, which are added when not listed. */
static void parse_actions(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			  struct config_table *t)
{
	char kp[CFG_PATH_MAX];
	char q[128];
	size_t n = (size_t)cJSON_GetArraySize(obj);

	cfg_check_keys(ctx, obj, path, NULL);
	t->actions = calloc(n + 2, sizeof(*t->actions));
	if (t->actions == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		struct config_attr_action *a = &t->actions[t->actions_len];
		int action = -1;
		cfg_path(kp, sizeof(kp), path, c->string);
		if (c->string[0] == '\0') {
			cfg_problem(ctx, kp, "an attribute name must not be empty");
			continue;
		}
		if (cfg_attr_name_check(ctx, kp, c->string) != 0)
			continue;
		if (!cJSON_IsString(c) || c->valuestring == NULL) {
			cfg_problem(ctx, kp, "expected a string (an action), got %s", cfg_type_name(c));
			continue;
		}
		for (int i = 0; i < 4; i++) {
			if (strcmp(c->valuestring, action_names[i]) == 0)
				action = i;
		}
		if (action < 0) {
			cfg_quote(q, sizeof(q), c->valuestring);
			cfg_problem(ctx, kp, "unknown action \"%s\"; expected ENCRYPT_AND_SIGN, SIGN_ONLY, "
				    "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT or DO_NOTHING", q);
			continue;
		}
		a->name = cfg_strdup(ctx, c->string);
		if (a->name == NULL)
			return;
		a->action = (enum attr_action)action;
		t->actions_len++;
	}
	qsort(t->actions, t->actions_len, sizeof(*t->actions), action_cmp);
}

/* "read_keyrings": [ "<keyring>", ... ], resolved in cfg_post_tables. */
static void parse_read_keyrings(struct cfg_ctx *ctx, const cJSON *arr, const char *path,
				struct config_table *t)
{
	char kp[CFG_PATH_MAX];
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;

	if (!cJSON_IsArray(arr)) {
		cfg_problem(ctx, path, "expected an array of keyring names, got %s", cfg_type_name(arr));
		return;
	}
	if (n == 0)
		return;
	t->read_keyrings = calloc(n, sizeof(char *));
	t->read_keyring_refs = calloc(n, sizeof(*t->read_keyring_refs));
	if (t->read_keyrings == NULL || t->read_keyring_refs == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *c = arr->child; c != NULL; c = c->next, i++) {
		if (snprintf(kp, sizeof(kp), "%s[%zu]", path, i) >= (int)sizeof(kp))
			kp[sizeof(kp) - 1] = '\0';
		if (!cJSON_IsString(c) || c->valuestring == NULL || c->valuestring[0] == '\0') {
			cfg_problem(ctx, kp, "expected the name of a keyring, got %s", cfg_type_name(c));
			continue;
		}
		if ((t->read_keyrings[t->read_keyrings_len] = cfg_strdup(ctx, c->valuestring)) != NULL)
			t->read_keyrings_len++;
	}
}

/* Resolves t's read_keyrings: each defined, none the table's own keyring. */
static void post_read_keyrings(struct cfg_ctx *ctx, struct config *cfg, struct config_table *t,
			       const char *tp)
{
	char kp[CFG_PATH_MAX], q[128];

	for (size_t i = 0; i < t->read_keyrings_len; i++) {
		if (snprintf(kp, sizeof(kp), "%s.read_keyrings[%zu]", tp, i) >= (int)sizeof(kp))
			kp[sizeof(kp) - 1] = '\0';
		cfg_quote(q, sizeof(q), t->read_keyrings[i]);
		t->read_keyring_refs[i] = cfg_find_keyring(cfg, t->read_keyrings[i]);
		if (t->read_keyring_refs[i] == NULL)
			cfg_problem(ctx, kp, "keyring \"%s\" is not defined under \"keyrings\"", q);
		else if (t->read_keyring_refs[i] == t->keyring_ref)
			cfg_problem(ctx, kp, "keyring \"%s\" is the table's own keyring; list only the "
				    "keyrings items may still be under", q);
	}
}

/* "allowed_unsigned_attributes": [ "<attribute>", ... ]. */
static void parse_allowed(struct cfg_ctx *ctx, const cJSON *arr, const char *path,
			  struct config_table *t)
{
	char kp[CFG_PATH_MAX];
	char q[128];
	size_t n = (size_t)cJSON_GetArraySize(arr);
	size_t i = 0;

	if (!cJSON_IsArray(arr)) {
		cfg_problem(ctx, path, "expected an array of attribute names, got %s",
			    cfg_type_name(arr));
		return;
	}
	if (n == 0)
		return;
	t->allowed_unsigned = calloc(n, sizeof(char *));
	if (t->allowed_unsigned == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *c = arr->child; c != NULL; c = c->next, i++) {
		/* A path cut short still names the array; the message stays readable. */
		if (snprintf(kp, sizeof(kp), "%s[%zu]", path, i) >= (int)sizeof(kp))
			kp[sizeof(kp) - 1] = '\0';
		if (!cJSON_IsString(c) || c->valuestring == NULL) {
			cfg_problem(ctx, kp, "expected a string, got %s", cfg_type_name(c));
			continue;
		}
		if (c->valuestring[0] == '\0') {
			cfg_problem(ctx, kp, "must not be empty");
			continue;
		}
		if (cfg_attr_name_check(ctx, kp, c->valuestring) != 0)
			continue;
		t->allowed_unsigned[t->allowed_unsigned_len] = cfg_strdup(ctx, c->valuestring);
		if (t->allowed_unsigned[t->allowed_unsigned_len] == NULL)
			return;
		t->allowed_unsigned_len++;
	}
	qsort(t->allowed_unsigned, t->allowed_unsigned_len, sizeof(char *), str_cmp);
	for (i = 1; i < t->allowed_unsigned_len; i++) {
		if (strcmp(t->allowed_unsigned[i - 1], t->allowed_unsigned[i]) == 0) {
			cfg_quote(q, sizeof(q), t->allowed_unsigned[i]);
			cfg_problem(ctx, path, "\"%s\" is listed twice", q);
		}
	}
}

/*
 * The rules the DB-ESDK item encryptor applies at initialization: an attribute is either
 * signed (in attribute_actions, not DO_NOTHING) or allowed unsigned, never both; key
 * attributes are signed and not encrypted, with SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT when
 * any attribute uses it (item format version 2), else SIGN_ONLY.  Unlisted keys are added.
 */
static void check_actions(struct cfg_ctx *ctx, const char *path, struct config_table *t)
{
	char kp[CFG_PATH_MAX], ap[CFG_PATH_MAX];
	char q[128], q2[128];
	const char *ec_attr = NULL;
	enum attr_action key_action;
	int added = 0;

	cfg_path(ap, sizeof(ap), path, "attribute_actions");
	for (size_t i = 0; i < t->actions_len; i++) {
		const struct config_attr_action *a = &t->actions[i];
		size_t len = strlen(a->name);
		cfg_path(kp, sizeof(kp), ap, a->name);
		cfg_quote(q, sizeof(q), a->name);
		if (a->action == ACTION_SIGN_AND_INCLUDE_IN_EC && ec_attr == NULL)
			ec_attr = a->name;
		/* DO_NOTHING attributes are unsigned: the DB-ESDK expects them in the allowed list
		 * too (the published vectors do so); a signed one there is a contradiction. */
		if (a->action != ACTION_DO_NOTHING && find_allowed(t, a->name, len)) {
			cfg_problem(ctx, kp, "\"%s\" is %s but also listed in allowed_unsigned_attributes; "
				    "an attribute is either signed or allowed unsigned", q, action_names[a->action]);
		} else if (a->action != ACTION_DO_NOTHING && has_prefix(t, a->name, len)) {
			cfg_quote(q2, sizeof(q2), t->allowed_unsigned_prefix);
			cfg_problem(ctx, kp, "\"%s\" is %s but starts with "
				    "allowed_unsigned_attribute_prefix \"%s\", which makes it unsigned; "
				    "make it DO_NOTHING or change the prefix", q, action_names[a->action], q2);
		}
	}
	key_action = ec_attr != NULL ? ACTION_SIGN_AND_INCLUDE_IN_EC : ACTION_SIGN_ONLY;

	/* Look both keys up before adding either: adding unsorts the array. */
	const char *keys[2] = { t->partition_key, t->sort_key };
	const struct config_attr_action *found[2] = { NULL, NULL };
	for (int k = 0; k < 2; k++) {
		if (keys[k] != NULL)
			found[k] = find_action(t, keys[k], strlen(keys[k]));
	}
	for (int k = 0; k < 2; k++) {
		const char *key = keys[k];
		const char *role = k == 0 ? "partition key" : "sort key";
		const struct config_attr_action *a = found[k];
		if (key == NULL)
			continue;
		cfg_quote(q, sizeof(q), key);
		cfg_path(kp, sizeof(kp), ap, key);
		if (a != NULL && (a->action == ACTION_ENCRYPT_AND_SIGN || a->action == ACTION_DO_NOTHING)) {
			cfg_problem(ctx, kp, "%s \"%s\" must be SIGN_ONLY or "
				    "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, not %s: DynamoDB needs key "
				    "attributes in plaintext, and they are always signed",
				    role, q, action_names[a->action]);
		} else if (a != NULL && a->action != key_action) {
			cfg_quote(q2, sizeof(q2), ec_attr);
			cfg_problem(ctx, kp, "%s \"%s\" must be SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT "
				    "because \"%s\" is: with any such attribute the key attributes take "
				    "that action too", role, q, q2);
		} else if (a == NULL) {
			if (find_allowed(t, key, strlen(key)) || has_prefix(t, key, strlen(key))) {
				cfg_path(kp, sizeof(kp), path, k == 0 ? "partition_key" : "sort_key");
				cfg_problem(ctx, kp, "%s \"%s\" is allowed unsigned by "
					    "allowed_unsigned_attributes or its prefix; key attributes "
					    "are always signed", role, q);
			}
			if (t->actions == NULL)
				return;
			t->actions[t->actions_len].name = cfg_strdup(ctx, key);
			if (t->actions[t->actions_len].name == NULL)
				return;
			t->actions[t->actions_len].action = key_action;
			t->actions_len++;
			added = 1;
		}
	}
	if (added)
		qsort(t->actions, t->actions_len, sizeof(*t->actions), action_cmp);
}

/* Parses one table object into t; t->name is already set. */
static void parse_table(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			struct config_table *t)
{
	char kp[CFG_PATH_MAX];
	const cJSON *item;
	const char *s;
	char q[128];

	cfg_check_keys(ctx, obj, path, table_keys);
	if (cfg_get_string(ctx, obj, path, "keyring", 1, &s) == CFG_OK)
		t->keyring = cfg_strdup(ctx, s);
	if (cfg_get_string(ctx, obj, path, "logical_name", 0, &s) != CFG_OK)
		s = t->name;
	t->logical_name = cfg_strdup(ctx, s);
	if (cfg_get_string(ctx, obj, path, "partition_key", 1, &s) == CFG_OK) {
		cfg_path(kp, sizeof(kp), path, "partition_key");
		if (cfg_attr_name_check(ctx, kp, s) == 0)
			t->partition_key = cfg_strdup(ctx, s);
	}
	if (cfg_get_string(ctx, obj, path, "sort_key", 0, &s) == CFG_OK) {
		cfg_path(kp, sizeof(kp), path, "sort_key");
		if (t->partition_key != NULL && strcmp(s, t->partition_key) == 0)
			cfg_problem(ctx, kp, "the sort key cannot be the partition key");
		else if (cfg_attr_name_check(ctx, kp, s) == 0)
			t->sort_key = cfg_strdup(ctx, s);
	}
	t->algorithm_suite = 0x6700;
	if (cfg_get_string(ctx, obj, path, "algorithm_suite", 0, &s) == CFG_OK) {
		cfg_path(kp, sizeof(kp), path, "algorithm_suite");
		parse_suite(ctx, kp, s, &t->algorithm_suite);
	}
	t->plaintext_policy = PLAINTEXT_FORBID;
	if (cfg_get_string(ctx, obj, path, "plaintext_policy", 0, &s) == CFG_OK) {
		if (strcmp(s, "forbid") == 0) {
			t->plaintext_policy = PLAINTEXT_FORBID;
		} else if (strcmp(s, "allow-read") == 0) {
			t->plaintext_policy = PLAINTEXT_ALLOW_READ;
		} else {
			cfg_path(kp, sizeof(kp), path, "plaintext_policy");
			cfg_quote(q, sizeof(q), s);
			cfg_problem(ctx, kp, "unknown plaintext_policy \"%s\"; expected forbid or "
				    "allow-read", q);
		}
	}
	if (cfg_get_string(ctx, obj, path, "allowed_unsigned_attribute_prefix", 0, &s) == CFG_OK) {
		cfg_path(kp, sizeof(kp), path, "allowed_unsigned_attribute_prefix");
		if (cfg_attr_name_check(ctx, kp, s) == 0)
			t->allowed_unsigned_prefix = cfg_strdup(ctx, s);
	}
	if ((item = cfg_member(obj, "read_keyrings")) != NULL) {
		cfg_path(kp, sizeof(kp), path, "read_keyrings");
		parse_read_keyrings(ctx, item, kp, t);
	}
	if ((item = cfg_member(obj, "allowed_unsigned_attributes")) != NULL) {
		cfg_path(kp, sizeof(kp), path, "allowed_unsigned_attributes");
		parse_allowed(ctx, item, kp, t);
	}
	cfg_path(kp, sizeof(kp), path, "attribute_actions");
	item = cfg_member(obj, "attribute_actions");
	if (item != NULL && !cJSON_IsObject(item)) {
		cfg_problem(ctx, kp, "expected an object, got %s", cfg_type_name(item));
		item = NULL;
	}
	if (item != NULL) {
		parse_actions(ctx, item, kp, t);
	} else {
		t->actions = calloc(2, sizeof(*t->actions));
		if (t->actions == NULL)
			ctx->oom = 1;
	}
	check_actions(ctx, path, t);
	if ((item = cfg_member(obj, "search")) != NULL) {
		cfg_path(kp, sizeof(kp), path, "search");
		cfg_parse_search(ctx, item, kp, t);
	}
	if ((item = cfg_member(obj, "legacy")) != NULL) {
		cfg_path(kp, sizeof(kp), path, "legacy");
		cfg_parse_legacy(ctx, item, kp, t);
	}
}

static int table_cmp(const void *a, const void *b)
{
	const char *x = ((const struct config_table *)a)->name;
	const char *y = ((const struct config_table *)b)->name;

	x = x != NULL ? x : "";
	y = y != NULL ? y : "";
	return cfg_name_cmp(x, strlen(x), y, strlen(y));
}

void cfg_parse_tables(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	char kp[CFG_PATH_MAX];
	char q[128];
	size_t n = (size_t)cJSON_GetArraySize(obj);
	size_t i = 0;

	cfg_check_keys(ctx, obj, "tables", NULL);
	if (n == 0)
		return;
	cfg->tables = calloc(n, sizeof(*cfg->tables));
	if (cfg->tables == NULL) {
		ctx->oom = 1;
		return;
	}
	cfg->tables_len = n;
	for (const cJSON *c = obj->child; c != NULL; c = c->next, i++) {
		cfg_path(kp, sizeof(kp), "tables", c->string);
		if (!cfg_table_name_valid(c->string)) {
			cfg_quote(q, sizeof(q), c->string);
			cfg_problem(ctx, kp, "\"%s\" is not a DynamoDB table name (3 to 255 characters "
				    "of a-z, A-Z, 0-9, '_', '-', '.')", q);
			continue;
		}
		if (!cJSON_IsObject(c)) {
			cfg_problem(ctx, kp, "expected an object, got %s", cfg_type_name(c));
			continue;
		}
		cfg->tables[i].name = cfg_strdup(ctx, c->string);
		if (cfg->tables[i].name == NULL)
			return;
		parse_table(ctx, c, kp, &cfg->tables[i]);
	}
	qsort(cfg->tables, cfg->tables_len, sizeof(*cfg->tables), table_cmp);
}

void cfg_post_tables(struct cfg_ctx *ctx, struct config *cfg)
{
	char tp[CFG_PATH_MAX], kp[CFG_PATH_MAX];
	char q[128], q2[128];

	for (size_t i = 0; i < cfg->tables_len; i++) {
		struct config_table *t = &cfg->tables[i];
		struct config_keyring *kr;
		const struct config_attr_action *a;
		if (t->name == NULL || t->keyring == NULL)
			continue;
		cfg_path(tp, sizeof(tp), "tables", t->name);
		cfg_path(kp, sizeof(kp), tp, "keyring");
		cfg_quote(q, sizeof(q), t->keyring);
		kr = cfg_find_keyring(cfg, t->keyring);
		if (kr == NULL) {
			cfg_problem(ctx, kp, "keyring \"%s\" is not defined under \"keyrings\"", q);
			continue;
		}
		t->keyring_ref = kr;
		post_read_keyrings(ctx, cfg, t, tp);
		cfg_post_search(ctx, cfg, t);
		if (kr->type != KEYRING_AWS_KMS_HIERARCHICAL || kr->branch_key_id_attribute == NULL)
			continue;
		/* On decrypt the branch key id supplier only sees the encryption context: the key
		 * attributes and SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT ones (DB-ESDK
		 * ddb-encryption-branch-key-id-supplier.md). */
		a = find_action(t, kr->branch_key_id_attribute, strlen(kr->branch_key_id_attribute));
		if (a != NULL && (a->action == ACTION_SIGN_AND_INCLUDE_IN_EC ||
				  (t->partition_key != NULL &&
				   strcmp(a->name, t->partition_key) == 0) ||
				  (t->sort_key != NULL && strcmp(a->name, t->sort_key) == 0)))
			continue;
		cfg_quote(q2, sizeof(q2), kr->branch_key_id_attribute);
		cfg_problem(ctx, kp, "keyring \"%s\" picks its branch key from attribute \"%s\", which "
			    "must be the partition key, the sort key or "
			    "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT in attribute_actions so it can be "
			    "read back when decrypting", q, q2);
	}
}

/* A configured table by exact name, or NULL. */
static const struct config_table *find_exact(const struct config *cfg, const char *name, size_t len)
{
	size_t lo = 0, hi = cfg->tables_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = cfg->tables[mid].name != NULL ? cfg->tables[mid].name : "";
		int r = cfg_name_cmp(name, len, m, strlen(m));
		if (r == 0)
			return &cfg->tables[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * DynamoDB takes a table's ARN wherever it takes its name
 * (arn:<partition>:dynamodb:<region>:<account>:table/<name>): the name is what follows
 * ":table/", up to a further "/" if any.  Matching it keeps an ARN from slipping a configured
 * table's items through unencrypted.  Anything with ":table/" in it is read so, ARN or not,
 * and at every ":table/" in it (a table name cannot hold ':'; whatever DynamoDB makes of such
 * a name, a configured table's name in it gets the configured table's treatment).
 */
const struct config_table *config_find_table(const struct config *cfg, const char *name, size_t len)
{
	static const char mark[] = ":table/";
	const char *p = name, *end = name + len;

	if (cfg == NULL || (name == NULL && len > 0))
		return NULL;
	while (name != NULL && (size_t)(end - p) >= sizeof(mark) - 1 &&
	       (p = memmem(p, (size_t)(end - p), mark, sizeof(mark) - 1)) != NULL) {
		const char *n = p + sizeof(mark) - 1;
		const char *slash = memchr(n, '/', (size_t)(end - n));
		const struct config_table *t = find_exact(cfg, n, (size_t)((slash ? slash : end) - n));

		if (t != NULL)
			return t;
		p = n;
	}
	return find_exact(cfg, name, len);
}

int config_table_is_key(const struct config_table *table, const char *attr, size_t len)
{
	const char *keys[] = { table->partition_key, table->sort_key };

	for (size_t i = 0; i < 2; i++)
		if (keys[i] != NULL && strlen(keys[i]) == len && memcmp(keys[i], attr, len) == 0)
			return 1;
	return 0;
}

int config_table_action(const struct config_table *table, const char *attr, size_t len,
			enum attr_action *action)
{
	const struct config_attr_action *a;

	if (table == NULL || (attr == NULL && len > 0))
		return -1;
	a = find_action(table, attr, len);
	if (a != NULL) {
		*action = a->action;
		return 0;
	}
	if (find_allowed(table, attr, len) || has_prefix(table, attr, len)) {
		*action = ACTION_DO_NOTHING;
		return 0;
	}
	return -1;
}
