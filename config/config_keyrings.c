/*
 * The "keyrings" object: one named keyring per key, each of a type from the AWS Cryptographic
 * Material Providers Library (raw AES, AWS KMS, AWS KMS hierarchical) or a static branch key
 * (as the published DB-ESDK test vectors use).  Key material named by the file (raw-aes
 * key_file, static-branch-key branch_key) is loaded and length-checked here so `dynaseal
 * check` catches a bad key before the first request does; it is never printed.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proxy/base/codec.h"

/* Keys allowed per keyring type ("type" included). */
static const char *const raw_aes_keys[] = {
	"type", "key_file", "key_namespace", "key_name", NULL,
};
static const char *const kms_keys[] = { "type", "key_id", "previous_key_ids", NULL };
static const char *const hierarchical_keys[] = {
	"type", "key_store_table", "kms_key_id", "previous_key_ids", "branch_key_id",
	"branch_key_id_attribute", "branch_key_ids", "ttl_s", NULL,
};
static const char *const static_keys[] = {
	"type", "branch_key_id", "branch_key_version", "branch_key", NULL,
};

/* A keyring type as spelled in the file, with the keys it accepts. */
struct keyring_kind {
	const char *name;             /* the "type" value */
	enum keyring_type type;
	const char *const *keys;      /* allowed keys */
};

static const struct keyring_kind kinds[] = {
	{ "raw-aes", KEYRING_RAW_AES, raw_aes_keys },
	{ "aws-kms", KEYRING_AWS_KMS, kms_keys },
	{ "aws-kms-hierarchical", KEYRING_AWS_KMS_HIERARCHICAL, hierarchical_keys },
	{ "static-branch-key", KEYRING_STATIC_BRANCH_KEY, static_keys },
};

/* A key file is 32 raw bytes or their base64 with a little white space: anything larger is
 * certainly something else. */
#define KEY_FILE_MAX 4096

static void free_list(char **list, size_t len)
{
	for (size_t i = 0; list != NULL && i < len; i++)
		free(list[i]);
	free(list);
}

void cfg_keyring_cleanup(struct config_keyring *kr)
{
	free(kr->name);
	free(kr->key_file);
	free(kr->key_namespace);
	free(kr->key_name);
	free(kr->key_id);
	free(kr->key_store_table);
	free(kr->kms_key_id);
	free_list(kr->previous_key_ids, kr->previous_key_ids_len);
	free(kr->kms_arn);
	free_list(kr->accept_arns, kr->accept_arns_len);
	free(kr->branch_key_id);
	free(kr->branch_key_id_attribute);
	for (size_t i = 0; i < kr->branch_key_map_len; i++) {
		if (kr->branch_key_map_from != NULL)
			free(kr->branch_key_map_from[i]);
		if (kr->branch_key_map_to != NULL)
			free(kr->branch_key_map_to[i]);
	}
	free(kr->branch_key_map_from);
	free(kr->branch_key_map_to);
	free(kr->branch_key_version);
	OPENSSL_cleanse(kr->key_material, sizeof(kr->key_material));
	kr->has_key_material = 0;
}

/* Decodes base64 text of a 32-byte key into kr.  Returns the decoded length, or -1 when the
 * text is not base64; the key is stored only when the length is 32. */
static long key_from_b64(const char *text, size_t len, struct config_keyring *kr)
{
	unsigned char tmp[CODEC_B64_DEC_MAX(KEY_FILE_MAX)];
	long n;

	if (len > KEY_FILE_MAX)
		return -1;
	n = codec_b64_decode(text, len, tmp);
	if (n == 32) {
		memcpy(kr->key_material, tmp, 32);
		kr->has_key_material = 1;
	}
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return n;
}

/* raw-aes key_file: 32 raw bytes, or their base64 (white space around it is ignored). */
static void load_key_file(struct cfg_ctx *ctx, const char *path, struct config_keyring *kr)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char why[256];
	char q[128];

	cfg_quote(q, sizeof(q), kr->key_file);
	if (cfg_read_file(kr->key_file, KEY_FILE_MAX, &buf, &len, why, sizeof(why)) != 0) {
		cfg_problem(ctx, path, "cannot read key file \"%s\": %s", q, why);
		return;
	}
	if (len == 32) {
		memcpy(kr->key_material, buf, 32);
		kr->has_key_material = 1;
	} else {
		size_t start = 0, end = len;
		while (start < end && isspace(buf[start]))
			start++;
		while (end > start && isspace(buf[end - 1]))
			end--;
		long n = key_from_b64((const char *)buf + start, end - start, kr);
		if (n < 0)
			cfg_problem(ctx, path,
				    "key file \"%s\" holds %zu bytes; expected 32 raw bytes or their "
				    "base64 (44 characters)", q, len);
		else if (n != 32)
			cfg_problem(ctx, path,
				    "key file \"%s\" holds the base64 of %ld bytes; expected 32 raw "
				    "bytes or their base64 (44 characters)", q, n);
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* An alias's name after "alias/": 1 to 250 of A-Z a-z 0-9 / _ - (KMS CreateAlias). */
static int alias_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > 250)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && ch != '/' && ch != '_' && ch != '-')
			return 0;
	}
	return 1;
}

/* The resource of a KMS ARN or an alias name: "key/ID" or "alias/NAME". */
static enum config_kms_ref kms_resource(const char *s, size_t len, int in_arn)
{
	if (in_arn && len > 4 && memcmp(s, "key/", 4) == 0 && memchr(s, ':', len) == NULL)
		return KMS_REF_KEY_ARN;
	if (len > 6 && memcmp(s, "alias/", 6) == 0 && alias_name_valid(s + 6, len - 6))
		return in_arn ? KMS_REF_ALIAS_ARN : KMS_REF_ALIAS_NAME;
	return KMS_REF_INVALID;
}

enum config_kms_ref config_kms_ref(const char *s)
{
	const char *field[6];
	size_t len[6];
	const char *p = s;

	if (s == NULL)
		return KMS_REF_INVALID;
	if (strncmp(s, "arn:", 4) != 0)
		return kms_resource(s, strlen(s), 0);
	/* Five ':' separate six fields; the resource (last) may not contain another ':'. */
	for (int i = 0; i < 6; i++) {
		const char *colon = i < 5 ? strchr(p, ':') : NULL;
		if (i < 5 && colon == NULL)
			return KMS_REF_INVALID;
		field[i] = p;
		len[i] = colon != NULL ? (size_t)(colon - p) : strlen(p);
		p = colon != NULL ? colon + 1 : p + len[i];
	}
	if (len[1] == 0 || len[2] != 3 || memcmp(field[2], "kms", 3) != 0 || len[3] == 0 ||
	    len[4] == 0)
		return KMS_REF_INVALID;
	return kms_resource(field[5], len[5], 1);
}

const char *config_keyring_kms_name(const struct config_keyring *kr)
{
	if (kr->type == KEYRING_AWS_KMS)
		return kr->key_id;
	if (kr->type == KEYRING_AWS_KMS_HIERARCHICAL)
		return kr->kms_key_id;
	return NULL;
}

/* The alias part of an alias name or alias ARN ("alias/NAME"). */
static const char *alias_part(const char *s)
{
	const char *a = strstr(s, "alias/");

	return a != NULL ? a : s;
}

/* key_id / kms_key_id: a key ARN, an alias name or an alias ARN.  The alias is resolved to
 * its key when dynaseal starts (kms_alias.h); items always record the key ARN. */
static void kms_key_field(struct cfg_ctx *ctx, const char *path, const char *s)
{
	enum config_kms_ref ref = config_kms_ref(s);
	char q[128];

	cfg_quote(q, sizeof(q), s);
	if (ref == KMS_REF_INVALID)
		cfg_problem(ctx, path, "\"%s\" is not a KMS key ARN or alias; expected "
			    "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID, alias/NAME or "
			    "arn:aws:kms:REGION:ACCOUNT:alias/NAME", q);
	else if (ref != KMS_REF_KEY_ARN && strncmp(alias_part(s), "alias/aws/", 10) == 0)
		cfg_problem(ctx, path, "\"%s\" names an AWS managed key, which only its AWS service "
			    "may use; create a customer managed key and an alias for it", q);
}

/* "previous_key_ids": key ARNs (not aliases: an alias says which key it names now, not which
 * key an item was written under) whose items reads keep accepting. */
static void parse_previous_key_ids(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
				   struct config_keyring *kr)
{
	const cJSON *list = cfg_member(obj, "previous_key_ids");
	char kp[CFG_PATH_MAX];
	char ip[CFG_PATH_MAX];
	size_t n;
	size_t i = 0;

	if (list == NULL)
		return;
	cfg_path(kp, sizeof(kp), path, "previous_key_ids");
	if (!cJSON_IsArray(list)) {
		cfg_problem(ctx, kp, "expected an array of KMS key ARNs, got %s", cfg_type_name(list));
		return;
	}
	n = (size_t)cJSON_GetArraySize(list);
	if (n == 0)
		return;
	kr->previous_key_ids = calloc(n, sizeof(char *));
	if (kr->previous_key_ids == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *c = list->child; c != NULL; c = c->next, i++) {
		char q[128];
		/* A path cut short still names the array; the message stays readable. */
		if (snprintf(ip, sizeof(ip), "%s[%zu]", kp, i) >= (int)sizeof(ip))
			ip[sizeof(ip) - 1] = '\0';
		if (!cJSON_IsString(c)) {
			cfg_problem(ctx, ip, "expected a string (a KMS key ARN), got %s", cfg_type_name(c));
			continue;
		}
		if (config_kms_ref(c->valuestring) != KMS_REF_KEY_ARN) {
			cfg_quote(q, sizeof(q), c->valuestring);
			cfg_problem(ctx, ip, "\"%s\" is not a KMS key ARN; expected "
				    "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (an alias names the key it "
				    "points at now, not the one an item was written under)", q);
			continue;
		}
		kr->previous_key_ids[kr->previous_key_ids_len] = cfg_strdup(ctx, c->valuestring);
		if (kr->previous_key_ids[kr->previous_key_ids_len] != NULL)
			kr->previous_key_ids_len++;
	}
}

/* Adds arn to list (of *len, room for cap) unless it is there already. */
static int accept_add(char **list, size_t *len, size_t cap, const char *arn)
{
	for (size_t i = 0; i < *len; i++) {
		if (strcmp(list[i], arn) == 0)
			return 0;
	}
	if (*len == cap || (list[*len] = strdup(arn)) == NULL)
		return -1;
	(*len)++;
	return 0;
}

int config_keyring_pin_kms(struct config_keyring *kr, const char *arn, const char *const *seen,
			   size_t nseen)
{
	size_t cap = 1 + kr->previous_key_ids_len + nseen;
	char **list = calloc(cap, sizeof(char *));
	char *pinned = strdup(arn);
	size_t len = 0;
	int rc = list != NULL ? accept_add(list, &len, cap, arn) : -1;

	for (size_t i = 0; rc == 0 && i < kr->previous_key_ids_len; i++)
		rc = accept_add(list, &len, cap, kr->previous_key_ids[i]);
	for (size_t i = 0; rc == 0 && i < nseen; i++)
		rc = accept_add(list, &len, cap, seen[i]);
	if (rc != 0 || pinned == NULL) {
		free_list(list, len);
		free(pinned);
		return -1;
	}
	free(kr->kms_arn);
	free_list(kr->accept_arns, kr->accept_arns_len);
	kr->kms_arn = pinned;
	kr->accept_arns = list;
	kr->accept_arns_len = len;
	return 0;
}

int config_keyring_accepts(const struct config_keyring *kr, const char *arn, size_t len)
{
	for (size_t i = 0; i < kr->accept_arns_len; i++) {
		if (strlen(kr->accept_arns[i]) == len && memcmp(kr->accept_arns[i], arn, len) == 0)
			return 1;
	}
	return 0;
}

/* A UUID in its 36-character text form, as branch key versions are written. */
static int uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Copies a string key into *out when present and valid; required reports it missing. */
static void str_field(struct cfg_ctx *ctx, const cJSON *obj, const char *path, const char *key,
		      int required, char **out)
{
	const char *s;

	if (cfg_get_string(ctx, obj, path, key, required, &s) == CFG_OK)
		*out = cfg_strdup(ctx, s);
}

static void parse_raw_aes(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			  struct config_keyring *kr)
{
	char kp[CFG_PATH_MAX];
	const char *s;
	char q[128];

	if (cfg_get_string(ctx, obj, path, "key_file", 1, &s) == CFG_OK) {
		cfg_path(kp, sizeof(kp), path, "key_file");
		kr->key_file = cfg_resolve_path(ctx, s);
		if (kr->key_file != NULL)
			load_key_file(ctx, kp, kr);
	}
	if (cfg_get_string(ctx, obj, path, "key_namespace", 0, &s) == CFG_OK) {
		/* MPL raw keyrings: the provider id "aws-kms" belongs to the KMS keyrings. */
		if (strncmp(s, "aws-kms", 7) == 0) {
			cfg_quote(q, sizeof(q), s);
			cfg_path(kp, sizeof(kp), path, "key_namespace");
			cfg_problem(ctx, kp, "\"%s\" is reserved for AWS KMS keyrings; choose another "
				    "namespace", q);
		}
		kr->key_namespace = cfg_strdup(ctx, s);
	} else {
		kr->key_namespace = cfg_strdup(ctx, "dynaseal");
	}
	str_field(ctx, obj, path, "key_name", 0, &kr->key_name);
	if (kr->key_name == NULL && kr->name != NULL)
		kr->key_name = cfg_strdup(ctx, kr->name);
}

/* One "branch_key_ids" entry while the map is being sorted. */
struct map_pair {
	char *from;   /* attribute value */
	char *to;     /* branch key id */
};

static int map_pair_cmp(const void *a, const void *b)
{
	const struct map_pair *x = a, *y = b;

	return cfg_name_cmp(x->from, strlen(x->from), y->from, strlen(y->from));
}

/* "branch_key_ids": { "<attribute value>": "<branch key id>", ... }, kept sorted by value. */
static void parse_branch_key_ids(struct cfg_ctx *ctx, const cJSON *ids, const char *path,
				 struct config_keyring *kr)
{
	char kp[CFG_PATH_MAX];
	size_t n = (size_t)cJSON_GetArraySize(ids);
	struct map_pair *pairs = NULL;
	size_t i = 0;

	if (cfg_check_keys(ctx, ids, path, NULL) > 0)
		return;
	if (n == 0) {
		cfg_problem(ctx, path, "must map at least one attribute value to a branch key id");
		return;
	}
	pairs = calloc(n, sizeof(*pairs));
	kr->branch_key_map_from = calloc(n, sizeof(char *));
	kr->branch_key_map_to = calloc(n, sizeof(char *));
	if (pairs == NULL || kr->branch_key_map_from == NULL || kr->branch_key_map_to == NULL) {
		ctx->oom = 1;
		goto cleanup;
	}
	for (const cJSON *c = ids->child; c != NULL; c = c->next, i++) {
		int ok = cJSON_IsString(c) && c->valuestring != NULL;
		cfg_path(kp, sizeof(kp), path, c->string);
		if (c->string[0] == '\0')
			cfg_problem(ctx, kp, "an attribute value must not be empty");
		if (!ok)
			cfg_problem(ctx, kp, "expected a string (a branch key id), got %s",
				    cfg_type_name(c));
		else if (c->valuestring[0] == '\0')
			cfg_problem(ctx, kp, "must not be empty");
		pairs[i].from = cfg_strdup(ctx, c->string);
		pairs[i].to = cfg_strdup(ctx, ok ? c->valuestring : "");
		if (pairs[i].from == NULL || pairs[i].to == NULL)
			goto cleanup;
	}
	qsort(pairs, n, sizeof(*pairs), map_pair_cmp);
	for (i = 0; i < n; i++) {
		kr->branch_key_map_from[i] = pairs[i].from;
		kr->branch_key_map_to[i] = pairs[i].to;
		pairs[i].from = pairs[i].to = NULL;
	}
	kr->branch_key_map_len = n;
cleanup:
	for (i = 0; pairs != NULL && i < n; i++) {
		free(pairs[i].from);
		free(pairs[i].to);
	}
	free(pairs);
}

static void parse_hierarchical(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			       struct config_keyring *kr)
{
	char kp[CFG_PATH_MAX];
	const cJSON *ids = cfg_member(obj, "branch_key_ids");
	long long v;
	char q[128];

	str_field(ctx, obj, path, "key_store_table", 1, &kr->key_store_table);
	if (kr->key_store_table != NULL && !cfg_table_name_valid(kr->key_store_table)) {
		cfg_path(kp, sizeof(kp), path, "key_store_table");
		cfg_quote(q, sizeof(q), kr->key_store_table);
		cfg_problem(ctx, kp, "\"%s\" is not a DynamoDB table name (3 to 255 characters of "
			    "a-z, A-Z, 0-9, '_', '-', '.')", q);
	}
	str_field(ctx, obj, path, "kms_key_id", 1, &kr->kms_key_id);
	if (kr->kms_key_id != NULL) {
		cfg_path(kp, sizeof(kp), path, "kms_key_id");
		kms_key_field(ctx, kp, kr->kms_key_id);
	}
	parse_previous_key_ids(ctx, obj, path, kr);
	str_field(ctx, obj, path, "branch_key_id", 0, &kr->branch_key_id);
	str_field(ctx, obj, path, "branch_key_id_attribute", 0, &kr->branch_key_id_attribute);
	if (kr->branch_key_id_attribute != NULL) {
		cfg_path(kp, sizeof(kp), path, "branch_key_id_attribute");
		cfg_attr_name_check(ctx, kp, kr->branch_key_id_attribute);
	}
	cfg_path(kp, sizeof(kp), path, "branch_key_ids");
	if (ids != NULL && !cJSON_IsObject(ids))
		cfg_problem(ctx, kp, "expected an object, got %s", cfg_type_name(ids));
	else if (ids != NULL)
		parse_branch_key_ids(ctx, ids, kp, kr);

	/* One fixed branch key, or one per item chosen by an attribute: exactly one of them. */
	if (kr->branch_key_id != NULL && (kr->branch_key_id_attribute != NULL || ids != NULL)) {
		cfg_problem(ctx, path, "set branch_key_id for one fixed branch key, or "
			    "branch_key_id_attribute with branch_key_ids, not both");
	} else if (kr->branch_key_id == NULL && kr->branch_key_id_attribute == NULL && ids == NULL &&
		   cfg_member(obj, "branch_key_id") == NULL &&
		   cfg_member(obj, "branch_key_id_attribute") == NULL) {
		cfg_path(kp, sizeof(kp), path, "branch_key_id");
		cfg_problem(ctx, kp, "missing required key; set branch_key_id for one fixed branch "
			    "key, or branch_key_id_attribute with branch_key_ids to pick one per item");
	} else if (kr->branch_key_id_attribute != NULL && ids == NULL) {
		cfg_path(kp, sizeof(kp), path, "branch_key_ids");
		cfg_problem(ctx, kp, "missing required key; branch_key_id_attribute needs "
			    "branch_key_ids, an object mapping each attribute value to a branch key id");
	} else if (ids != NULL && kr->branch_key_id_attribute == NULL &&
		   cfg_member(obj, "branch_key_id_attribute") == NULL) {
		cfg_path(kp, sizeof(kp), path, "branch_key_id_attribute");
		cfg_problem(ctx, kp, "missing required key; branch_key_ids needs "
			    "branch_key_id_attribute, the attribute whose value picks the entry");
	}
	kr->ttl_s = 600;
	if (cfg_get_int(ctx, obj, path, "ttl_s", 1, 604800, &v) == CFG_OK)
		kr->ttl_s = (int)v;
}

static void parse_static(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			 struct config_keyring *kr)
{
	char kp[CFG_PATH_MAX];
	const char *s;
	char q[128];

	str_field(ctx, obj, path, "branch_key_id", 1, &kr->branch_key_id);
	str_field(ctx, obj, path, "branch_key_version", 1, &kr->branch_key_version);
	if (kr->branch_key_version != NULL && !uuid_valid(kr->branch_key_version)) {
		cfg_path(kp, sizeof(kp), path, "branch_key_version");
		cfg_quote(q, sizeof(q), kr->branch_key_version);
		cfg_problem(ctx, kp, "\"%s\" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", q);
	}
	if (cfg_get_string(ctx, obj, path, "branch_key", 1, &s) == CFG_OK) {
		long n = key_from_b64(s, strlen(s), kr);
		cfg_path(kp, sizeof(kp), path, "branch_key");
		if (n < 0)
			cfg_problem(ctx, kp, "not valid base64 (value not shown); expected the base64 "
				    "of 32 bytes (44 characters)");
		else if (n != 32)
			cfg_problem(ctx, kp, "decodes to %ld bytes; expected the base64 of 32 bytes "
				    "(44 characters)", n);
	}
}

/* Parses one keyring object into kr; kr->name is already set. */
static void parse_keyring(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			  struct config_keyring *kr)
{
	const struct keyring_kind *kind = NULL;
	char kp[CFG_PATH_MAX];
	const char *type;
	char q[128];

	if (cfg_get_string(ctx, obj, path, "type", 1, &type) != CFG_OK)
		return;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(type, kinds[i].name) == 0)
			kind = &kinds[i];
	}
	if (kind == NULL) {
		cfg_path(kp, sizeof(kp), path, "type");
		cfg_quote(q, sizeof(q), type);
		cfg_problem(ctx, kp, "unknown keyring type \"%s\"; expected raw-aes, aws-kms, "
			    "aws-kms-hierarchical or static-branch-key", q);
		return;
	}
	kr->type = kind->type;
	cfg_check_keys(ctx, obj, path, kind->keys);
	switch (kind->type) {
	case KEYRING_RAW_AES:
		parse_raw_aes(ctx, obj, path, kr);
		break;
	case KEYRING_AWS_KMS:
		str_field(ctx, obj, path, "key_id", 1, &kr->key_id);
		if (kr->key_id != NULL) {
			cfg_path(kp, sizeof(kp), path, "key_id");
			kms_key_field(ctx, kp, kr->key_id);
		}
		parse_previous_key_ids(ctx, obj, path, kr);
		break;
	case KEYRING_AWS_KMS_HIERARCHICAL:
		parse_hierarchical(ctx, obj, path, kr);
		break;
	case KEYRING_STATIC_BRANCH_KEY:
		parse_static(ctx, obj, path, kr);
		break;
	}
}

static int keyring_cmp(const void *a, const void *b)
{
	const char *x = ((const struct config_keyring *)a)->name;
	const char *y = ((const struct config_keyring *)b)->name;

	x = x != NULL ? x : "";
	y = y != NULL ? y : "";
	return cfg_name_cmp(x, strlen(x), y, strlen(y));
}

void cfg_parse_keyrings(struct cfg_ctx *ctx, const cJSON *obj, struct config *cfg)
{
	char kp[CFG_PATH_MAX];
	size_t n = (size_t)cJSON_GetArraySize(obj);
	size_t i = 0;

	cfg_check_keys(ctx, obj, "keyrings", NULL);
	if (n == 0)
		return;
	cfg->keyrings = calloc(n, sizeof(*cfg->keyrings));
	if (cfg->keyrings == NULL) {
		ctx->oom = 1;
		return;
	}
	cfg->keyrings_len = n;
	for (const cJSON *c = obj->child; c != NULL; c = c->next, i++) {
		struct config_keyring *kr = &cfg->keyrings[i];
		cfg_path(kp, sizeof(kp), "keyrings", c->string);
		if (c->string[0] == '\0') {
			cfg_problem(ctx, kp, "a keyring name must not be empty");
			continue;
		}
		if (!cJSON_IsObject(c)) {
			cfg_problem(ctx, kp, "expected an object, got %s", cfg_type_name(c));
			continue;
		}
		kr->name = cfg_strdup(ctx, c->string);
		parse_keyring(ctx, c, kp, kr);
		/* A key ARN is its own key; an alias is pinned when resolved (kms_alias.h). */
		if (config_kms_ref(config_keyring_kms_name(kr)) == KMS_REF_KEY_ARN &&
		    config_keyring_pin_kms(kr, config_keyring_kms_name(kr), NULL, 0) != 0)
			ctx->oom = 1;
	}
	qsort(cfg->keyrings, cfg->keyrings_len, sizeof(*cfg->keyrings), keyring_cmp);
}

struct config_keyring *cfg_find_keyring(const struct config *cfg, const char *name)
{
	struct config_keyring key;

	if (cfg->keyrings_len == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)name;
	return bsearch(&key, cfg->keyrings, cfg->keyrings_len, sizeof(key), keyring_cmp);
}
