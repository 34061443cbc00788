/*
 * Compound beacons: see crypt_compound.h.
 */
#include "proxy/ddb/crypt_compound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "crypto/item/attr_serial.h"
#include "crypto/item/beacon.h"
#include "proxy/base/json.h"
#include "proxy/base/json_nul.h"

const struct config_compound *crypt_compound_named(const struct config_table *t, const char *name)
{
	for (size_t i = 0; name != NULL && t->search != NULL && i < t->search->compound_len; i++)
		if (strcmp(t->search->compound[i].name, name) == 0)
			return &t->search->compound[i];
	return NULL;
}

static const struct config_beacon *standard_named(const struct config_table *t, const char *name)
{
	for (size_t i = 0; i < t->search->standard_len; i++)
		if (strcmp(t->search->standard[i].name, name) == 0)
			return &t->search->standard[i];
	return NULL;
}

/* prefix + the part value of text (len bytes) into b: the text itself for a signed part, its
 * standard beacon for an encrypted one (with a key). */
static int put_part(const struct config_table *t, const struct config_compound_part *p,
		    const unsigned char *key, size_t key_len, const char *text, size_t len,
		    struct evbuffer *b, struct ds_error *err)
{
	unsigned char hkey[BEACON_KEY_LEN], *bytes = NULL;
	char hex[BEACON_HEX_MAX + 1];
	const struct config_beacon *sb;
	struct bufwrite w;
	int rc = -1;

	evbuffer_add(b, p->prefix, strlen(p->prefix));
	if (!p->encrypted || key == NULL)
		return evbuffer_add(b, text, len);
	/* The beacon of the part's real bytes (a NUL as 0x00, not its stand-in: json_nul.h). */
	bufwrite_init(&w);
	json_nul_write(&w, text, len);
	if (!w.failed)
		bytes = w.buf != NULL ? w.buf : (unsigned char *)"";
	sb = standard_named(t, p->name);
	if (sb == NULL || bytes == NULL || beacon_hmac_key(key, key_len, sb->name, hkey) != 0 ||
	    beacon_hash(hkey, sizeof(hkey), bytes, w.len, sb->length, 0, hex) != 0) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "table \"%s\": the beacon of part \"%s\" "
			     "failed", t->name, p->name);
		goto cleanup;
	}
	rc = evbuffer_add(b, hex, strlen(hex));
cleanup:
	OPENSSL_cleanse(hkey, sizeof(hkey));
	bufwrite_cleanup(&w);
	return rc;
}

/* The string of a part's attribute value av: a string's, a number's normalized (malloc'd
 * into *owned).  NULL with *why otherwise. */
static const char *part_text(const cJSON *av, char **owned, const char **why)
{
	const cJSON *v = cJSON_IsObject(av) ? av->child : NULL;

	*owned = NULL;
	*why = "neither a string nor a number";
	if (v == NULL || v->next != NULL || !cJSON_IsString(v))
		return NULL;
	if (strcmp(v->string, "S") == 0)
		return v->valuestring;
	if (strcmp(v->string, "N") != 0)
		return NULL;
	*owned = attr_normalize_number(v->valuestring, strlen(v->valuestring), why);
	return *owned;
}

/* Constructor k of c on plain into b: 1 built, 0 a part is missing (or, without a key,
 * unusable), -1 with err. */
static int try_constructor(const struct config_table *t, const struct config_compound *c,
			   size_t k, const unsigned char *key, size_t key_len, const cJSON *plain,
			   struct evbuffer *b, struct ds_error *err)
{
	for (size_t i = 0; i < c->constructor_lens[k]; i++) {
		const struct config_compound_part *p = &c->parts[c->constructors[k][i]];
		const cJSON *av = cJSON_GetObjectItemCaseSensitive(plain, p->name);
		const char *why, *text;
		char *owned;
		int rc;

		if (av == NULL)
			return 0;
		if ((text = part_text(av, &owned, &why)) == NULL || strchr(text, c->split) != NULL) {
			free(owned);
			if (key == NULL)
				return 0;
			if (text == NULL)
				ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%s\" is "
					     "a part of compound beacon \"%s\" (search.compound_beacons), "
					     "so it must be a string or number; this item's is %s", t->name,
					     p->name, c->name, why);
			else
				ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": attribute \"%s\" is "
					     "a part of compound beacon \"%s\" (search.compound_beacons), "
					     "so its value must not contain the split character '%c'",
					     t->name, p->name, c->name, c->split);
			return -1;
		}
		if (i > 0)
			evbuffer_add(b, &c->split, 1);
		rc = put_part(t, p, key, key_len, text, strlen(text), b, err);
		free(owned);
		if (rc != 0)
			return -1;
	}
	return 1;
}

int crypt_compound_of(const struct config_table *t, const struct config_compound *c,
		      const unsigned char *beacon_key, size_t key_len, const cJSON *plain, char **out,
		      struct ds_error *err)
{
	struct evbuffer *b = evbuffer_new();
	int rc = -1;

	*out = NULL;
	if (b == NULL)
		goto oom;
	for (size_t k = 0; k < c->constructors_len; k++) {
		evbuffer_drain(b, evbuffer_get_length(b));
		rc = try_constructor(t, c, k, beacon_key, key_len, plain, b, err);
		if (rc != 0)
			break;
	}
	if (rc == 1 && (*out = json_buffer_text(b)) == NULL)
		goto oom;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
	rc = -1;
cleanup:
	if (b != NULL)
		evbuffer_free(b);
	return rc;
}

int crypt_compound_query(const struct config_table *t, const struct config_compound *c,
			 const unsigned char *beacon_key, size_t key_len, cJSON *av, int prefix,
			 struct ds_error *err)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(av, "S");
	struct evbuffer *b = evbuffer_new();
	const char *piece, *end;
	char *text = NULL;
	size_t n = 0;
	cJSON *v;
	int rc = -1;

	if (b == NULL)
		goto oom;
	if (!cJSON_IsString(s) || av->child->next != NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": a value compared with compound "
			     "beacon \"%s\" (search.compound_beacons) must be a string", t->name, c->name);
		goto cleanup;
	}
	for (piece = s->valuestring;; piece = end + 1) {
		const struct config_compound_part *p = NULL;
		size_t len;
		n++;
		end = strchr(piece, c->split);
		len = end != NULL ? (size_t)(end - piece) : strlen(piece);
		for (size_t i = 0; i < c->parts_len && p == NULL; i++)
			if (strlen(c->parts[i].prefix) <= len &&
			    strncmp(piece, c->parts[i].prefix, strlen(c->parts[i].prefix)) == 0)
				p = &c->parts[i];
		if (p == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "table \"%s\": in the value compared with "
				     "compound beacon \"%s\", piece %zu starts with no part's prefix "
				     "(search.compound_beacons)", t->name, c->name, n);
			goto cleanup;
		}
		if (piece != s->valuestring)
			evbuffer_add(b, &c->split, 1);
		if (prefix && end == NULL && len == strlen(p->prefix))
			evbuffer_add(b, piece, len);    /* begins_with "...K-": the prefix alone */
		else if (put_part(t, p, beacon_key, key_len, piece + strlen(p->prefix),
				  len - strlen(p->prefix), b, err) != 0)
			goto cleanup;
		if (end == NULL)
			break;
	}
	if ((text = json_buffer_text(b)) == NULL || (v = cJSON_CreateString(text)) == NULL)
		goto oom;
	while (av->child != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(av, av->child));
	cJSON_AddItemToObject(av, "S", v);
	rc = 0;
	goto cleanup;
oom:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "dynaseal is out of memory");
cleanup:
	free(text);
	if (b != NULL)
		evbuffer_free(b);
	return rc;
}

int crypt_compound_add_virtual(const struct config_table *t, cJSON *item, unsigned char *added)
{
	struct ds_error err = { 0 };

	for (size_t i = 0; t->search != NULL && i < t->search->compound_len; i++) {
		const struct config_compound *c = &t->search->compound[i];
		char *value = NULL;
		cJSON *v;
		int rc;

		added[i] = 0;
		if (cJSON_GetObjectItemCaseSensitive(item, c->name) != NULL)
			continue;
		rc = crypt_compound_of(t, c, NULL, 0, item, &value, &err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		v = cJSON_AddObjectToObject(item, c->name);
		if (v == NULL || cJSON_AddStringToObject(v, "S", value) == NULL) {
			free(value);
			return -1;
		}
		free(value);
		added[i] = 1;
	}
	return 0;
}

void crypt_compound_remove_virtual(const struct config_table *t, cJSON *item,
				   const unsigned char *added)
{
	for (size_t i = 0; t->search != NULL && i < t->search->compound_len; i++)
		if (added[i])
			cJSON_DeleteItemFromObjectCaseSensitive(item, t->search->compound[i].name);
}
