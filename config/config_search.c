/*
 * A table's "search" block: the standard beacons dynaseal writes beside encrypted attributes,
 * checked with the DB-ESDK's initialization rules (searchable-encryption/search-config.md and
 * beacons.md) so that a configuration the SDK would refuse is refused at load:
 *
 *   "search": { "keyring": "<an aws-kms-hierarchical keyring>",
 *               "standard_beacons": [ { "name": "email", "length": 16 }, ... ] }
 *
 * at least one standard beacon; names unique; each the name of an ENCRYPT_AND_SIGN attribute
 * (so never a key attribute); lengths 1 to 63 bits; the keyring's key store holds the beacon
 * keys (per tenant when it has a branch_key_id_attribute, which must then not be encrypted).
 * Compound beacons are checked by config_compound.c; virtual fields are not carried out, and
 * are refused by name.
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const search_keys[] = {
	"keyring", "standard_beacons", "compound_beacons", "virtual_fields", NULL,
};
static const char *const beacon_keys[] = { "name", "length", NULL };

void cfg_search_cleanup(struct config_search *s)
{
	if (s == NULL)
		return;
	free(s->keyring);
	for (size_t i = 0; i < s->standard_len; i++)
		free(s->standard[i].name);
	free(s->standard);
	cfg_compound_cleanup(s);
	free(s);
}

static int beacon_cmp(const void *a, const void *b)
{
	return strcmp(((const struct config_beacon *)a)->name, ((const struct config_beacon *)b)->name);
}

static void parse_beacon(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			 const struct config_table *t, struct config_beacon *b)
{
	enum attr_action action;
	long long len;
	const char *s;
	char q[128];

	if (!cJSON_IsObject(obj)) {
		cfg_problem(ctx, path, "expected an object, got %s", cfg_type_name(obj));
		return;
	}
	cfg_check_keys(ctx, obj, path, beacon_keys);
	if (cfg_get_int(ctx, obj, path, "length", 1, 63, &len) == CFG_OK)
		b->length = (unsigned int)len;
	if (cfg_get_string(ctx, obj, path, "name", 1, &s) != CFG_OK)
		return;
	cfg_quote(q, sizeof(q), s);
	if (config_table_action(t, s, strlen(s), &action) != 0 || action != ACTION_ENCRYPT_AND_SIGN) {
		cfg_problem(ctx, path, "beacon \"%s\" must be the name of an ENCRYPT_AND_SIGN attribute "
			    "of the table (a beacon of a signed or unsigned attribute would add "
			    "nothing: search on the attribute itself)", q);
		return;
	}
	b->name = cfg_strdup(ctx, s);
}

void cfg_parse_search(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		      struct config_table *t)
{
	struct config_search *s;
	char kp[CFG_PATH_MAX], bp[CFG_PATH_MAX], idx[24];
	const cJSON *list;
	const char *name;
	size_t n, i = 0;

	if (!cJSON_IsObject(obj)) {
		cfg_problem(ctx, path, "expected an object, got %s", cfg_type_name(obj));
		return;
	}
	cfg_check_keys(ctx, obj, path, search_keys);
	if ((t->search = s = calloc(1, sizeof(*s))) == NULL) {
		ctx->oom = 1;
		return;
	}
	if (cfg_get_string(ctx, obj, path, "keyring", 1, &name) == CFG_OK)
		s->keyring = cfg_strdup(ctx, name);
	if (cfg_member(obj, "virtual_fields") != NULL) {
		cfg_path(kp, sizeof(kp), path, "virtual_fields");
		cfg_problem(ctx, kp, "virtual fields are not carried out by this dynaseal; use "
			    "standard or compound beacons");
	}
	cfg_path(kp, sizeof(kp), path, "standard_beacons");
	list = cfg_member(obj, "standard_beacons");
	if (!cJSON_IsArray(list) || (n = (size_t)cJSON_GetArraySize(list)) == 0) {
		cfg_problem(ctx, kp, list == NULL ? "at least one standard beacon is needed" :
			    "expected a non-empty list of beacons");
		return;
	}
	if ((s->standard = calloc(n, sizeof(*s->standard))) == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *b = list->child; b != NULL; b = b->next) {
		snprintf(idx, sizeof(idx), "%zu", i);
		cfg_path(bp, sizeof(bp), kp, idx);
		parse_beacon(ctx, b, bp, t, &s->standard[i]);
		if (s->standard[i].name != NULL)
			i++;
		else
			free(s->standard[i].name);
	}
	s->standard_len = i;
	qsort(s->standard, s->standard_len, sizeof(*s->standard), beacon_cmp);
	for (i = 1; i < s->standard_len; i++)
		if (strcmp(s->standard[i - 1].name, s->standard[i].name) == 0) {
			char q[128];
			cfg_quote(q, sizeof(q), s->standard[i].name);
			cfg_problem(ctx, kp, "beacon \"%s\" is defined twice", q);
		}
	if (cfg_member(obj, "compound_beacons") != NULL) {
		cfg_path(kp, sizeof(kp), path, "compound_beacons");
		cfg_parse_compound(ctx, cfg_member(obj, "compound_beacons"), kp, t);
	}
}

void cfg_post_search(struct cfg_ctx *ctx, const struct config *cfg, struct config_table *t)
{
	struct config_search *s = t->search;
	char tp[CFG_PATH_MAX], sp[CFG_PATH_MAX], kp[CFG_PATH_MAX], q[128];
	struct config_keyring *kr;

	if (s == NULL || s->keyring == NULL)
		return;
	cfg_path(tp, sizeof(tp), "tables", t->name);
	cfg_path(sp, sizeof(sp), tp, "search");
	cfg_path(kp, sizeof(kp), sp, "keyring");
	cfg_quote(q, sizeof(q), s->keyring);
	kr = cfg_find_keyring(cfg, s->keyring);
	if (kr == NULL)
		cfg_problem(ctx, kp, "keyring \"%s\" is not defined under \"keyrings\"", q);
	else if (kr->type != KEYRING_AWS_KMS_HIERARCHICAL)
		cfg_problem(ctx, kp, "keyring \"%s\" is not an aws-kms-hierarchical keyring; beacon "
			    "keys come from a branch key store", q);
	else
		s->keyring_ref = kr;
	if (s->keyring_ref != NULL && s->keyring_ref->branch_key_id_attribute != NULL) {
		/* search-config.md#beacon-version-initialization: the attribute that chooses the
		 * beacon key must be readable in queries, so never encrypted. */
		const char *attr = s->keyring_ref->branch_key_id_attribute;
		enum attr_action action;
		if (config_table_action(t, attr, strlen(attr), &action) == 0 &&
		    action == ACTION_ENCRYPT_AND_SIGN) {
			cfg_quote(q, sizeof(q), attr);
			cfg_problem(ctx, kp, "attribute \"%s\" chooses the beacon key "
				    "(branch_key_id_attribute of the keyring) and must not be "
				    "ENCRYPT_AND_SIGN", q);
		}
	}
}
