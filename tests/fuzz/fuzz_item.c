/*
 * libFuzzer target for the whole item path as dynaseal runs it on DynamoDB JSON: the
 * attribute-value parser, item_read_header (aws_dbe_head), item_decrypt (values, aws_dbe_foot,
 * commitment, signature) and, for an item with no aws_dbe_* attributes, item_encrypt.
 *
 * Input: a JSON object {"actions": {NAME: ACTION, ...}, "suite": 26368|26369, "item": {...}}
 * (26368 = 0x6700, 26369 = 0x6701; partition key "RecNum", table "GazelleVectorTable").
 * The keyring is the static branch key of the published vectors ($DS_VECTORS_DIR/dbesdk/
 * keys.json, default ../shared/vectors), so `make fuzz` seeds this target with the vectors'
 * items (tests/fuzz/vector_seeds.py) and mutations start from items that decrypt.
 *
 * Contract checked beyond memory safety: a refusal carries a type and a message; an item that
 * encrypts decrypts again, to values equal to the originals.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "crypto/item/item_crypt.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_factory.h"
#include "proxy/base/json.h"
#include "proxy/ddb/ddb.h"

/* Why keyring_new_from_config built no keyring. */
static struct ds_error kr_err;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keyring *fuzz_keyring;

/* The vectors' branch key, or a fixed one when the vectors are not beside the project. */
static void load_keyring(void)
{
	const char *dir = getenv("DS_VECTORS_DIR");
	char path[512], *text = NULL;
	struct config_keyring c;
	cJSON *doc = NULL;
	const cJSON *k;
	FILE *f;
	long n;

	memset(&c, 0, sizeof(c));
	c.name = "fuzz";
	c.type = KEYRING_STATIC_BRANCH_KEY;
	c.has_key_material = 1;
	c.branch_key_id = "fuzz-branch-key";
	c.branch_key_version = "00000000-0000-0000-0000-000000000000";
	memset(c.key_material, 0x42, 32);
	snprintf(path, sizeof(path), "%s/dbesdk/keys.json", dir ? dir : "../shared/vectors");
	if ((f = fopen(path, "rb")) != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(text, 1, (size_t)n, f) == (size_t)n)
		doc = cJSON_Parse(text);
	if (f != NULL)
		fclose(f);
	k = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "keys"),
					     "static-branch-key-1");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(k, "branchKey")) &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(k, "key-id")) &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(k, "branchKeyVersion"))) {
		const char *b64 = cJSON_GetObjectItemCaseSensitive(k, "branchKey")->valuestring;
		unsigned char raw[64];
		if (strlen(b64) <= 64 && codec_b64_decode(b64, strlen(b64), raw) == 32) {
			memcpy(c.key_material, raw, 32);
			c.branch_key_id = cJSON_GetObjectItemCaseSensitive(k, "key-id")->valuestring;
			c.branch_key_version =
				cJSON_GetObjectItemCaseSensitive(k, "branchKeyVersion")->valuestring;
		}
	} else {
		fprintf(stderr, "fuzz_item: %s not read; using a fixed key (vector seeds won't decrypt)\n", path);
	}
	fuzz_keyring = keyring_new_from_config(&c, NULL, &kr_err);
	if (fuzz_keyring == NULL)
		abort();
	cJSON_Delete(doc);
	free(text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	load_keyring();
	return 0;
}

struct done_state {
	int called;
	int rc;
	struct ds_error err;
};

static void on_done(void *arg, int rc, const struct ds_error *err)
{
	struct done_state *d = arg;

	d->called++;
	d->rc = rc;
	if (err != NULL)
		d->err = *err;
}

/* A refusal must say what was refused. */
static void check_error(int rc, const struct ds_error *err)
{
	if (rc != 0 && (err->type == NULL || err->status == 0 || err->message[0] == '\0'))
		abort();
}

static int decrypt(const struct config_table *t, cJSON *item, struct ds_error *err)
{
	struct item_header h;
	struct materials m;
	struct done_state d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_read_header(t, item, &h, err) != 0)
		return -1;
	if (item_decrypt_materials(t, &h, &m, err) != 0)
		goto cleanup;
	keyring_on_decrypt(fuzz_keyring, &m, h.edks, h.edks_len, on_done, &d);
	if (d.called != 1)
		abort();
	if (d.rc != 0) {
		*err = d.err;
		goto cleanup;
	}
	rc = item_decrypt(t, &m, &h, item, err);
cleanup:
	materials_cleanup(&m);
	item_header_cleanup(&h);
	return rc;
}

static int encrypt(const struct config_table *t, cJSON *item, struct ds_error *err)
{
	struct materials m;
	struct done_state d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_encrypt_materials(t, item, &m, err) != 0)
		goto cleanup;
	keyring_on_encrypt(fuzz_keyring, &m, on_done, &d);
	if (d.called != 1 || d.rc != 0)
		abort();
	rc = item_encrypt(t, &m, item, err);
cleanup:
	materials_cleanup(&m);
	return rc;
}

static int parse_action(const char *s, enum attr_action *out)
{
	static const struct { const char *name; enum attr_action a; } names[] = {
		{ "ENCRYPT_AND_SIGN", ACTION_ENCRYPT_AND_SIGN },
		{ "SIGN_ONLY", ACTION_SIGN_ONLY },
		{ "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT", ACTION_SIGN_AND_INCLUDE_IN_EC },
		{ "DO_NOTHING", ACTION_DO_NOTHING },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s != NULL && strcmp(s, names[i].name) == 0) {
			*out = names[i].a;
			return 0;
		}
	return -1;
}

/*
 * What the config loader demands of the key attribute (config/config_tables.c), which a table
 * built here skips: signed, never encrypted; SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT when any
 * attribute is; added with that action when unlisted.  -1 for a table the loader refuses.
 */
static int key_rules(struct config_attr_action *acts, size_t *n, size_t cap)
{
	struct config_attr_action *key = NULL;
	int any_ec = 0;

	for (size_t i = 0; i < *n; i++) {
		if (strcmp(acts[i].name, "RecNum") == 0)
			key = &acts[i];
		if (acts[i].action == ACTION_SIGN_AND_INCLUDE_IN_EC)
			any_ec = 1;
	}
	if (key == NULL) {
		if (*n == cap)
			return -1;
		acts[*n].name = "RecNum";
		acts[(*n)++].action = any_ec ? ACTION_SIGN_AND_INCLUDE_IN_EC : ACTION_SIGN_ONLY;
		return 0;
	}
	if (key->action == ACTION_ENCRYPT_AND_SIGN || key->action == ACTION_DO_NOTHING)
		return -1;
	return any_ec && key->action != ACTION_SIGN_AND_INCLUDE_IN_EC ? -1 : 0;
}

/*
 * Every attribute of want is in got with an equal value, and nothing else is.  A value that is
 * no valid attribute value (possible only where dynaseal never looks: DO_NOTHING) must come
 * back as the very same JSON.
 */
static int same_item(const cJSON *want, const cJSON *got)
{
	const cJSON *a;

	if (cJSON_GetArraySize(want) != cJSON_GetArraySize(got))
		return 0;
	cJSON_ArrayForEach(a, want) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(got, a->string);
		int eq = attr_value_equal(a, b);
		if (eq == -1 && attr_value_equal(a, a) == -1)
			eq = b != NULL && cJSON_Compare(a, b, 1);
		if (eq != 1)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_attr_action acts[16];
	struct config_table t;
	struct ds_error err;
	struct json_read rd;
	cJSON *doc, *item;
	const cJSON *a, *suite;
	size_t n = 0;
	int rc;

	/* Read as dynaseal reads a body: \u0000 as its stand-in, and a raw 0xFE or 0xFF (never
	 * UTF-8) refused before any item is looked at (proxy/base/json_nul.h). */
	doc = json_parse((const char *)data, size, &rd);
	item = cJSON_GetObjectItemCaseSensitive(doc, "item");
	if (!cJSON_IsObject(item) || rd.not_utf8)
		goto done;
	memset(&t, 0, sizeof(t));
	t.name = "GazelleVectorTable";
	t.logical_name = "GazelleVectorTable";
	t.partition_key = "RecNum";
	suite = cJSON_GetObjectItemCaseSensitive(doc, "suite");
	t.algorithm_suite = cJSON_IsNumber(suite) && suite->valueint == SUITE_ID_SYMSIG
		? SUITE_ID_SYMSIG : SUITE_ID_ECDSA_SYMSIG;
	/* The config loader refuses a name listed twice. */
	if (json_duplicate_key(cJSON_GetObjectItemCaseSensitive(doc, "actions")) != NULL)
		goto done;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(doc, "actions")) {
		if (n == sizeof(acts) / sizeof(acts[0]) || a->string == NULL ||
		    parse_action(cJSON_GetStringValue(a), &acts[n].action) != 0)
			goto done;
		acts[n++].name = a->string;
	}
	if (key_rules(acts, &n, sizeof(acts) / sizeof(acts[0])) != 0)
		goto done;
	t.actions = acts;
	t.actions_len = n;

	memset(&err, 0, sizeof(err));
	if (!item_is_plaintext(item)) {
		rc = decrypt(&t, item, &err);
		check_error(rc, &err);
	} else {
		cJSON *orig = cJSON_Duplicate(item, 1);
		if (orig == NULL)
			abort();
		rc = encrypt(&t, item, &err);
		check_error(rc, &err);
		if (rc == 0) {
			/* What dynaseal writes, it reads back unchanged. */
			memset(&err, 0, sizeof(err));
			if (decrypt(&t, item, &err) != 0 || !same_item(orig, item)) {
				char *was = json_print(orig, NULL), *now = json_print(item, NULL);
				fprintf(stderr, "fuzz_item: round trip failed: %s\nwritten: %s\nread: %s\n",
					err.message, was ? was : "?", now ? now : "?");
				abort();
			}
		}
		cJSON_Delete(orig);
	}
done:
	cJSON_Delete(doc);
	return 0;
}
