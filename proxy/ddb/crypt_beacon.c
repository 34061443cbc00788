/*
 * Beacons of written items and their removal from read ones: see crypt_beacon.h.
 */
#include "proxy/ddb/crypt_beacon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/item/beacon.h"
#include "proxy/base/json_nul.h"
#include "crypto/item/item_crypt.h"
#include "proxy/ddb/crypt_compound.h"

cJSON *crypt_beacons_of(const struct config_table *t, const unsigned char *beacon_key,
			size_t key_len, const cJSON *plain, struct ds_error *err)
{
	const struct config_search *s = t->search;
	unsigned char hkey[BEACON_KEY_LEN];
	char hex[BEACON_HEX_MAX + 1], name[300];
	cJSON *out = cJSON_CreateObject(), *v;
	const char *why = NULL;

	if (out == NULL)
		goto oom;
	for (size_t i = 0; i < s->standard_len; i++) {
		const struct config_beacon *b = &s->standard[i];
		const cJSON *av = cJSON_GetObjectItemCaseSensitive(plain, b->name);

		if (av == NULL)
			continue;       /* GetEncryptedBeacons: only beacons the item can build */
		if (beacon_hmac_key(beacon_key, key_len, b->name, hkey) != 0) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": deriving the key of beacon "
				     "\"%s\" failed", t->name, b->name);
			goto fail;
		}
		if (beacon_value(hkey, av, b->length, hex, &why) != 0) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%s\" has a "
				     "standard beacon (search.standard_beacons), so it must be a string, "
				     "number or binary; this item's is %s", t->name, b->name, why);
			goto fail;
		}
		snprintf(name, sizeof(name), "%s%s", BEACON_ATTR_PREFIX, b->name);
		if ((v = cJSON_AddObjectToObject(out, name)) == NULL ||
		    cJSON_AddStringToObject(v, "S", hex) == NULL)
			goto oom;
	}
	for (size_t i = 0; i < s->compound_len; i++) {
		const struct config_compound *c = &s->compound[i];
		char *value = NULL;
		int rc = crypt_compound_of(t, c, beacon_key, key_len, plain, &value, err);

		if (rc < 0)
			goto fail;
		if (rc == 0)
			continue;       /* no constructor succeeded: no beacon */
		snprintf(name, sizeof(name), "%s%s", BEACON_ATTR_PREFIX, c->name);
		if ((v = cJSON_AddObjectToObject(out, name)) == NULL ||
		    cJSON_AddStringToObject(v, "S", value) == NULL) {
			free(value);
			goto oom;
		}
		free(value);
	}
	if ((v = cJSON_AddObjectToObject(out, CRYPT_BEACON_VERSION_TAG)) == NULL ||
	    cJSON_AddStringToObject(v, "S", " ") == NULL)
		goto oom;
	OPENSSL_cleanse(hkey, sizeof(hkey));
	return out;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
fail:
	OPENSSL_cleanse(hkey, sizeof(hkey));
	cJSON_Delete(out);
	return NULL;
}

int crypt_beacon_value(const struct config_table *t, const unsigned char *beacon_key, size_t key_len,
		       const char *name, int prefix, cJSON *av, struct ds_error *err)
{
	const struct config_beacon *b = NULL;
	unsigned char hkey[BEACON_KEY_LEN];
	char hex[BEACON_HEX_MAX + 1];
	const char *why = NULL;
	cJSON *s;
	int rc = -1;

	for (size_t i = 0; t->search != NULL && i < t->search->standard_len; i++)
		if (strcmp(t->search->standard[i].name, name) == 0)
			b = &t->search->standard[i];
	if (b == NULL && crypt_compound_named(t, name) != NULL)
		return crypt_compound_query(t, crypt_compound_named(t, name), beacon_key, key_len, av,
					    prefix, err);
	if (b == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": no beacon \"%s\"", t->name, name);
		return -1;
	}
	if (beacon_hmac_key(beacon_key, key_len, b->name, hkey) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": deriving the key of beacon "
			     "\"%s\" failed", t->name, b->name);
		goto cleanup;
	}
	if (beacon_value(hkey, av, b->length, hex, &why) != 0) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": a value compared with \"%s\" "
			     "is found through its beacon (search.standard_beacons), so it must be a "
			     "string, number or binary; this one is %s", t->name, b->name, why);
		goto cleanup;
	}
	if ((s = cJSON_CreateString(hex)) == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
		goto cleanup;
	}
	while (av->child != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(av, av->child));
	cJSON_AddItemToObject(av, "S", s);
	rc = 0;
cleanup:
	OPENSSL_cleanse(hkey, sizeof(hkey));
	return rc;
}

void crypt_beacons_merge(cJSON *item, cJSON *beacons)
{
	cJSON *a;

	while ((a = beacons->child) != NULL) {
		cJSON_DetachItemViaPointer(beacons, a);
		cJSON_DeleteItemFromObjectCaseSensitive(item, a->string);
		cJSON_AddItemToObject(item, a->string, a);
	}
	cJSON_Delete(beacons);
}

void crypt_beacons_strip(cJSON *item)
{
	cJSON *a = item != NULL ? item->child : NULL;

	while (a != NULL) {
		cJSON *next = a->next;
		if (a->string != NULL && strncmp(a->string, ITEM_RESERVED_PREFIX,
						 sizeof(ITEM_RESERVED_PREFIX) - 1) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(item, a));
		a = next;
	}
}

int crypt_beacon_tenant(const struct config_table *t, const char *attr, const cJSON *plain,
			char *out, size_t cap, struct ds_error *err)
{
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(plain, attr);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(av, "S");

	/* A branch key id holding NUL (its stand-in, json_nul.h) is refused as the keyring
	 * refuses it in an encryption context: no key store holds one. */
	if (!cJSON_IsString(s) || strlen(s->valuestring) >= cap ||
	    strchr(s->valuestring, JSON_NUL) != NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": the item's beacon key is chosen "
			     "by attribute \"%s\" (branch_key_id_attribute of keyring \"%s\"), so every "
			     "item must have it as a string of at most %zu bytes without U+0000", t->name,
			     attr, t->search->keyring, cap - 1);
		return -1;
	}
	memcpy(out, s->valuestring, strlen(s->valuestring) + 1);
	return 0;
}
