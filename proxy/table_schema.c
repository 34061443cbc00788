/*
 * A table's key schema read from DescribeTable's answer (table_schema.h).
 */
#include "proxy/table_schema.h"

#include <stdlib.h>
#include <string.h>

struct table_schema *table_schema_hold(struct table_schema *s)
{
	if (s != NULL)
		s->refs++;
	return s;
}

void table_schema_release(struct table_schema *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	for (size_t i = 0; i < 2; i++)
		free(s->keys[i]);
	for (size_t i = 0; i < s->indexes_len; i++) {
		free(s->indexes[i].name);
		free(s->indexes[i].keys[0]);
		free(s->indexes[i].keys[1]);
	}
	free(s->indexes);
	free(s->index_keys);
	free(s);
}

static const char *string_of(const cJSON *obj, const char *member)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, member);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The type AttributeDefinitions gives attr: S, N or B, else DDB_T_NONE. */
static enum ddb_type defined_type(const cJSON *defs, const char *attr)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, defs) {
		const char *name = string_of(d, "AttributeName");
		const char *type = string_of(d, "AttributeType");
		enum ddb_type t;

		if (name == NULL || type == NULL || strcmp(name, attr) != 0)
			continue;
		t = ddb_type_named(type, strlen(type));
		return t == DDB_T_S || t == DDB_T_N || t == DDB_T_B ? t : DDB_T_NONE;
	}
	return DDB_T_NONE;
}

/* A KeySchema's partition (HASH) and sort (RANGE) key into keys[] (copies), each of them of a
 * type defs gives.  0, or -1 with err set. */
static int read_key_schema(const cJSON *ks, const cJSON *defs, const char *what, char *keys[2],
			   enum ddb_type types[2], struct ds_error *err)
{
	const cJSON *k;

	if (!cJSON_IsArray(ks) || cJSON_GetArraySize(ks) < 1 || cJSON_GetArraySize(ks) > 2) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "%s: no KeySchema of one or two keys", what);
		return -1;
	}
	cJSON_ArrayForEach(k, ks) {
		const char *name = string_of(k, "AttributeName");
		const char *kind = string_of(k, "KeyType");
		int slot = kind != NULL && strcmp(kind, "HASH") == 0 ? 0 :
			   kind != NULL && strcmp(kind, "RANGE") == 0 ? 1 : -1;
		enum ddb_type t = name != NULL ? defined_type(defs, name) : DDB_T_NONE;

		if (slot < 0 || keys[slot] != NULL || t == DDB_T_NONE) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "%s: a key that is not a HASH or RANGE "
				     "key of a type (S, N or B) in AttributeDefinitions", what);
			return -1;
		}
		if ((keys[slot] = strdup(name)) == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			return -1;
		}
		if (types != NULL)
			types[slot] = t;
	}
	if (keys[0] == NULL) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "%s: no HASH key", what);
		return -1;
	}
	return 0;
}

/* Adds the indexes of list (global or not) to s. */
static int read_indexes(struct table_schema *s, const cJSON *list, int global, const cJSON *defs,
			struct ds_error *err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list) {
		struct table_index *ix = &s->indexes[s->indexes_len];
		const char *name = string_of(it, "IndexName");

		if (name == NULL) {
			ds_error_set(err, 400, DS_ERR_VALIDATION, "an index without IndexName");
			return -1;
		}
		s->indexes_len++;
		ix->global = global;
		if ((ix->name = strdup(name)) == NULL) {
			ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
			return -1;
		}
		if (read_key_schema(cJSON_GetObjectItemCaseSensitive(it, "KeySchema"), defs, name,
				    ix->keys, NULL, err) != 0)
			return -1;
	}
	return 0;
}

/* The index keys writes are checked against, in DynamoDB's order, from s->indexes. */
static int list_index_keys(struct table_schema *s, const cJSON *defs, struct ds_error *err)
{
	s->index_keys = calloc(2 * s->indexes_len + 1, sizeof(*s->index_keys));
	if (s->index_keys == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return -1;
	}
	for (int global = 1; global >= 0; global--) {
		for (size_t i = 0; i < s->indexes_len; i++) {
			const struct table_index *ix = &s->indexes[i];

			if (ix->global != global)
				continue;
			/* A local index shares the table's partition key: its sort key alone. */
			for (size_t k = global ? 0 : 1; k < 2; k++) {
				if (ix->keys[k] == NULL)
					continue;
				s->index_keys[s->index_keys_len].attr = ix->keys[k];
				s->index_keys[s->index_keys_len].type = defined_type(defs, ix->keys[k]);
				s->index_keys[s->index_keys_len].index = ix->name;
				s->index_keys_len++;
			}
		}
	}
	return 0;
}

struct table_schema *table_schema_from_description(const cJSON *table, struct ds_error *err)
{
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(table, "AttributeDefinitions");
	const cJSON *gsis = cJSON_GetObjectItemCaseSensitive(table, "GlobalSecondaryIndexes");
	const cJSON *lsis = cJSON_GetObjectItemCaseSensitive(table, "LocalSecondaryIndexes");
	const char *status = string_of(table, "TableStatus");
	struct table_schema *s;
	size_t n;

	if (!cJSON_IsObject(table)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "no Table in the answer");
		return NULL;
	}
	/* Items of a table being created or deleted are refused as not found: no check of ours
	 * must come first. */
	if (status == NULL || (strcmp(status, "ACTIVE") != 0 && strcmp(status, "UPDATING") != 0)) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "the table is %.32s", status ? status : "of no status");
		return NULL;
	}
	if ((gsis != NULL && !cJSON_IsArray(gsis)) || (lsis != NULL && !cJSON_IsArray(lsis))) {
		ds_error_set(err, 400, DS_ERR_VALIDATION, "indexes that are not lists");
		return NULL;
	}
	n = (size_t)cJSON_GetArraySize(gsis) + (size_t)cJSON_GetArraySize(lsis);
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->indexes = calloc(n + 1, sizeof(*s->indexes))) == NULL) {
		free(s);
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	s->refs = 1;
	if (read_key_schema(cJSON_GetObjectItemCaseSensitive(table, "KeySchema"), defs, "the table",
			    s->keys, s->key_types, err) != 0 ||
	    read_indexes(s, gsis, 1, defs, err) != 0 || read_indexes(s, lsis, 0, defs, err) != 0 ||
	    list_index_keys(s, defs, err) != 0) {
		table_schema_release(s);
		return NULL;
	}
	return s;
}

int table_schema_changing(const cJSON *table)
{
	const char *status = string_of(table, "TableStatus");
	const cJSON *ix;

	if (status == NULL || strcmp(status, "ACTIVE") != 0)
		return 1;
	cJSON_ArrayForEach(ix, cJSON_GetObjectItemCaseSensitive(table, "GlobalSecondaryIndexes")) {
		const char *st = string_of(ix, "IndexStatus");
		if (st != NULL && strcmp(st, "ACTIVE") != 0)
			return 1;
	}
	return 0;
}

int table_schema_key_matches(const struct table_schema *s, const cJSON *key)
{
	int n = 0;

	if (!cJSON_IsObject(key))
		return 0;
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v, *inner;

		if (s->keys[i] == NULL)
			continue;
		n++;
		v = cJSON_GetObjectItemCaseSensitive(key, s->keys[i]);
		if (ddb_value_type(v, &inner) != s->key_types[i])
			return 0;
		if (s->key_types[i] != DDB_T_N && (!cJSON_IsString(inner) || inner->valuestring[0] == '\0'))
			return 0;
	}
	return cJSON_GetArraySize(key) == n;
}

const struct table_index *table_schema_index(const struct table_schema *s, const char *name)
{
	for (size_t i = 0; i < s->indexes_len; i++)
		if (strcmp(s->indexes[i].name, name) == 0)
			return &s->indexes[i];
	return NULL;
}
