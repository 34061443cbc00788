#include "crypto/legacy/legacy_attr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "proxy/base/json_nul.h"

int legacy_utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t more;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i - 1 < more)
			return 0;
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += more + 1;
	}
	return 1;
}

/* One set member or map entry while it is sorted: its bytes, and for a map its value. */
struct member {
	unsigned char *own;       /* bytes allocated for this member (decoded B, number), or NULL */
	const unsigned char *p;   /* the bytes that are written and compared */
	size_t len;
	const cJSON *value;       /* a map entry's value; NULL for a set member */
};

/* Byte order, a shorter prefix first: how Python sorts bytes. */
static int member_cmp(const void *x, const void *y)
{
	const struct member *a = x;
	const struct member *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->p, b->p, n) : 0;

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static void members_free(struct member *m, size_t n)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(m[i].own);
	free(m);
}

static void write_tag(struct bufwrite *out, unsigned char tag)
{
	bufwrite_u8(out, 0);
	bufwrite_u8(out, tag);
}

static void write_value(struct bufwrite *out, const void *p, size_t n)
{
	bufwrite_u32(out, (uint32_t)n);
	bufwrite_bytes(out, p, n);
}

/* The bytes a B value or BS member stands for; m->own holds them. */
static int binary_member(const cJSON *s, struct member *m, const char **why)
{
	size_t tl;
	long dl;

	if (!cJSON_IsString(s)) {
		*why = "a binary value is not a string";
		return -1;
	}
	tl = strlen(s->valuestring);
	m->own = malloc(CODEC_B64_DEC_MAX(tl) + 1);
	if (m->own == NULL) {
		*why = "out of memory";
		return -1;
	}
	dl = codec_b64_decode(s->valuestring, tl, m->own);
	if (dl < 0) {
		*why = "a binary value is not valid base64";
		return -1;
	}
	m->p = m->own;
	m->len = (size_t)dl;
	return 0;
}

/* The normalized text of an N value or NS member; m->own holds it. */
static int number_member(const cJSON *s, struct member *m, const char **why)
{
	if (!cJSON_IsString(s)) {
		*why = "a number is not a string";
		return -1;
	}
	m->own = (unsigned char *)attr_normalize_number(s->valuestring, strlen(s->valuestring), why);
	if (m->own == NULL)
		return -1;
	m->p = m->own;
	m->len = strlen((char *)m->own);
	return 0;
}

/* The real bytes of a tree string (json_nul.h): the string itself, or a copy in m->own with
 * each stand-in as the NUL it is. */
static int text_member(const char *s, struct member *m, const char **why)
{
	m->p = (const unsigned char *)s;
	m->len = strlen(s);
	if (memchr(s, JSON_NUL, m->len) == NULL)
		return 0;
	m->own = json_nul_bytes(s, &m->len);
	if (m->own == NULL) {
		*why = "out of memory";
		return -1;
	}
	m->p = m->own;
	return 0;
}

static int string_member(const cJSON *s, struct member *m, const char **why)
{
	if (!cJSON_IsString(s)) {
		*why = "a string is not a string";
		return -1;
	}
	return text_member(s->valuestring, m, why);
}

/* A set: count, then its members' (length, bytes) sorted by their bytes. */
static int serialize_set(const cJSON *arr, unsigned char tag, struct bufwrite *out,
			 const char **why)
{
	int n = cJSON_GetArraySize(arr);
	struct member *m;
	const cJSON *it;
	size_t i = 0;
	int rc = -1;

	if (!cJSON_IsArray(arr)) {
		*why = "a set is not an array";
		return -1;
	}
	if (n == 0) {
		*why = "a set is empty";
		return -1;
	}
	m = calloc((size_t)n, sizeof(*m));
	if (m == NULL) {
		*why = "out of memory";
		return -1;
	}
	cJSON_ArrayForEach(it, arr) {
		int r = tag == LEGACY_TAG_BS ? binary_member(it, &m[i], why)
			: tag == LEGACY_TAG_NS ? number_member(it, &m[i], why)
			: string_member(it, &m[i], why);

		i++;
		if (r != 0)
			goto cleanup;
	}
	qsort(m, (size_t)n, sizeof(*m), member_cmp);
	write_tag(out, tag);
	bufwrite_u32(out, (uint32_t)n);
	for (i = 0; i < (size_t)n; i++) {
		if (i > 0 && member_cmp(&m[i - 1], &m[i]) == 0) {
			*why = "a set contains the same member twice";
			goto cleanup;
		}
		write_value(out, m[i].p, m[i].len);
	}
	rc = 0;
cleanup:
	members_free(m, (size_t)n);
	return rc;
}

static int serialize_av(const cJSON *av, struct bufwrite *out, const char **why, int depth);

static int serialize_list(const cJSON *arr, struct bufwrite *out, const char **why, int depth)
{
	const cJSON *it;

	if (!cJSON_IsArray(arr)) {
		*why = "a list is not an array";
		return -1;
	}
	write_tag(out, LEGACY_TAG_L);
	bufwrite_u32(out, (uint32_t)cJSON_GetArraySize(arr));
	cJSON_ArrayForEach(it, arr) {
		if (serialize_av(it, out, why, depth + 1) != 0)
			return -1;
	}
	return 0;
}

/* A map: count, then (key as an S value, value) sorted by the key's UTF-8 bytes. */
static int serialize_map(const cJSON *obj, struct bufwrite *out, const char **why, int depth)
{
	int n = cJSON_GetArraySize(obj);
	struct member *m = NULL;
	const cJSON *it;
	size_t i = 0;
	int rc = -1;

	if (!cJSON_IsObject(obj)) {
		*why = "a map is not an object";
		return -1;
	}
	if (n > 0) {
		m = calloc((size_t)n, sizeof(*m));
		if (m == NULL) {
			*why = "out of memory";
			return -1;
		}
	}
	cJSON_ArrayForEach(it, obj) {
		m[i].value = it;
		if (text_member(it->string, &m[i++], why) != 0)
			goto cleanup;
	}
	if (n > 0)
		qsort(m, (size_t)n, sizeof(*m), member_cmp);
	write_tag(out, LEGACY_TAG_M);
	bufwrite_u32(out, (uint32_t)n);
	for (i = 0; i < (size_t)n; i++) {
		if (i > 0 && member_cmp(&m[i - 1], &m[i]) == 0) {
			*why = "a map has the same key twice";
			goto cleanup;
		}
		write_tag(out, LEGACY_TAG_S);
		write_value(out, m[i].p, m[i].len);
		if (serialize_av(m[i].value, out, why, depth + 1) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	members_free(m, (size_t)n);
	return rc;
}

static int serialize_av(const cJSON *av, struct bufwrite *out, const char **why, int depth)
{
	const cJSON *v;
	struct member one = { 0 };
	int rc;

	if (depth > LEGACY_ATTR_MAX_DEPTH) {
		*why = "a value is nested more than 32 levels deep";
		return -1;
	}
	if (!cJSON_IsObject(av) || cJSON_GetArraySize(av) != 1) {
		*why = "an attribute value is not an object with exactly one type";
		return -1;
	}
	v = av->child;
	if (strcmp(v->string, "NULL") == 0) {
		if (!cJSON_IsTrue(v)) {
			*why = "a NULL value is not true";
			return -1;
		}
		write_tag(out, LEGACY_TAG_NULL);
		return 0;
	}
	if (strcmp(v->string, "BOOL") == 0) {
		if (!cJSON_IsBool(v)) {
			*why = "a BOOL value is not true or false";
			return -1;
		}
		write_tag(out, LEGACY_TAG_BOOL);
		bufwrite_u8(out, cJSON_IsTrue(v) ? 1 : 0);
		return 0;
	}
	if (strcmp(v->string, "S") == 0 || strcmp(v->string, "N") == 0 ||
	    strcmp(v->string, "B") == 0) {
		unsigned char tag = v->string[0] == 'S' ? LEGACY_TAG_S
				    : v->string[0] == 'N' ? LEGACY_TAG_N : LEGACY_TAG_B;

		rc = tag == LEGACY_TAG_S ? string_member(v, &one, why)
		     : tag == LEGACY_TAG_N ? number_member(v, &one, why)
		     : binary_member(v, &one, why);
		if (rc == 0) {
			write_tag(out, tag);
			write_value(out, one.p, one.len);
		}
		free(one.own);
		return rc;
	}
	if (strcmp(v->string, "SS") == 0)
		return serialize_set(v, LEGACY_TAG_SS, out, why);
	if (strcmp(v->string, "NS") == 0)
		return serialize_set(v, LEGACY_TAG_NS, out, why);
	if (strcmp(v->string, "BS") == 0)
		return serialize_set(v, LEGACY_TAG_BS, out, why);
	if (strcmp(v->string, "L") == 0)
		return serialize_list(v, out, why, depth);
	if (strcmp(v->string, "M") == 0)
		return serialize_map(v, out, why, depth);
	*why = "an attribute value has an unknown type";
	return -1;
}

int legacy_attr_serialize(const cJSON *av, struct bufwrite *out, const char **why)
{
	return serialize_av(av, out, why, 1);
}

/* --- Deserialization of untrusted bytes ------------------------------------------------ */

static cJSON *deserialize_av(struct bufread *r, const char **why, int depth);

/* A length-prefixed value: a view of its bytes. */
static int read_value(struct bufread *r, const unsigned char **p, uint32_t *n, const char **why)
{
	if (bufread_u32(r, n) != 0) {
		*why = "a length is cut short";
		return -1;
	}
	if (bufread_view(r, *n, p) != 0) {
		*why = "a value runs past the end";
		return -1;
	}
	return 0;
}

/* The JSON string of serialized bytes: base64 for B, checked text for S, normalized N. */
static cJSON *member_json(unsigned char tag, const unsigned char *p, size_t n, const char **why)
{
	char *s = NULL;
	cJSON *j;

	if (tag == LEGACY_TAG_B || tag == LEGACY_TAG_BS) {
		s = malloc(CODEC_B64_ENC_LEN(n));
		if (s != NULL)
			codec_b64_encode(p, n, s);
	} else {
		if (!legacy_utf8_valid(p, n)) {
			*why = "a string is not UTF-8";
			return NULL;
		}
		if (tag == LEGACY_TAG_N || tag == LEGACY_TAG_NS) {
			if (memchr(p, 0, n) != NULL) {
				*why = "a number contains a NUL byte";
				return NULL;
			}
			s = attr_normalize_number((const char *)p, n, why);
			if (s == NULL)
				return NULL;
		} else if ((s = json_nul_string(p, n, why)) == NULL) {
			return NULL;         /* a NUL is held as the stand-in (json_nul.h) */
		}
	}
	if (s == NULL) {
		*why = "out of memory";
		return NULL;
	}
	j = cJSON_CreateString(s);
	free(s);
	if (j == NULL)
		*why = "out of memory";
	return j;
}

static cJSON *deserialize_set(unsigned char tag, struct bufread *r, const char **why)
{
	uint32_t count;
	cJSON *arr;

	if (bufread_u32(r, &count) != 0) {
		*why = "a set's count is cut short";
		return NULL;
	}
	if (count == 0) {
		*why = "a set is empty";
		return NULL;
	}
	arr = cJSON_CreateArray();
	if (arr == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *p;
		uint32_t n;
		cJSON *m;

		if (read_value(r, &p, &n, why) != 0 || (m = member_json(tag, p, n, why)) == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
}

static cJSON *deserialize_list(struct bufread *r, const char **why, int depth)
{
	uint32_t count;
	cJSON *arr;

	if (bufread_u32(r, &count) != 0) {
		*why = "a list's count is cut short";
		return NULL;
	}
	arr = cJSON_CreateArray();
	if (arr == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		cJSON *m = deserialize_av(r, why, depth + 1);

		if (m == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
}

static int key_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* 1 (with *why set) when two of obj's n keys are equal; sorting keeps it O(n log n) for
 * maps of many thousand keys. */
static int has_duplicate_key(const cJSON *obj, uint32_t n, const char **why)
{
	const char **keys;
	const cJSON *it;
	size_t i = 0;
	int dup = 0;

	if (n < 2)
		return 0;
	keys = malloc((size_t)n * sizeof(*keys));
	if (keys == NULL) {
		*why = "out of memory";
		return 1;
	}
	cJSON_ArrayForEach(it, obj)
		keys[i++] = it->string;
	qsort(keys, i, sizeof(*keys), key_cmp);
	for (size_t k = 1; k < i && !dup; k++)
		dup = strcmp(keys[k - 1], keys[k]) == 0;
	free(keys);
	if (dup)
		*why = "a map has the same key twice";
	return dup;
}

static cJSON *deserialize_map(struct bufread *r, const char **why, int depth)
{
	uint32_t count;
	cJSON *obj;

	if (bufread_u32(r, &count) != 0) {
		*why = "a map's count is cut short";
		return NULL;
	}
	obj = cJSON_CreateObject();
	if (obj == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint8_t reserved;
		uint8_t tag;
		const unsigned char *p;
		uint32_t n;
		char *key = NULL;
		cJSON *v;

		if (bufread_u8(r, &reserved) != 0 || bufread_u8(r, &tag) != 0) {
			*why = "a map key's tag is cut short";
			goto fail;
		}
		if (reserved != 0 || tag != LEGACY_TAG_S) {
			*why = "a map key is not a string";
			goto fail;
		}
		if (read_value(r, &p, &n, why) != 0)
			goto fail;
		if (!legacy_utf8_valid(p, n)) {
			*why = "a map key is not UTF-8 text";
			goto fail;
		}
		if ((key = json_nul_string(p, n, why)) == NULL)
			goto fail;
		v = deserialize_av(r, why, depth + 1);
		if (v == NULL) {
			free(key);
			goto fail;
		}
		cJSON_AddItemToObject(obj, key, v);
		free(key);
	}
	if (has_duplicate_key(obj, count, why))
		goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

/* The DynamoDB type name of each tag, for the AttributeValue built. */
static const char *type_name(unsigned char tag)
{
	switch (tag) {
	case LEGACY_TAG_NULL: return "NULL";
	case LEGACY_TAG_BOOL: return "BOOL";
	case LEGACY_TAG_N: return "N";
	case LEGACY_TAG_S: return "S";
	case LEGACY_TAG_B: return "B";
	case LEGACY_TAG_NS: return "NS";
	case LEGACY_TAG_SS: return "SS";
	case LEGACY_TAG_BS: return "BS";
	case LEGACY_TAG_L: return "L";
	case LEGACY_TAG_M: return "M";
	default: return NULL;
	}
}

static cJSON *deserialize_av(struct bufread *r, const char **why, int depth)
{
	uint8_t reserved;
	uint8_t tag;
	const char *name;
	cJSON *v = NULL;
	cJSON *av;

	if (depth > LEGACY_ATTR_MAX_DEPTH) {
		*why = "a value is nested more than 32 levels deep";
		return NULL;
	}
	if (bufread_u8(r, &reserved) != 0 || bufread_u8(r, &tag) != 0) {
		*why = "a tag is cut short";
		return NULL;
	}
	if (reserved != 0) {
		*why = "a tag's reserved byte is not 0";
		return NULL;
	}
	name = type_name(tag);
	if (name == NULL) {
		*why = "a tag names no known type";
		return NULL;
	}
	switch (tag) {
	case LEGACY_TAG_NULL:
		v = cJSON_CreateTrue();
		break;
	case LEGACY_TAG_BOOL: {
		uint8_t b;

		if (bufread_u8(r, &b) != 0) {
			*why = "a BOOL value is cut short";
			return NULL;
		}
		if (b > 1) {
			*why = "a BOOL value is neither 0 nor 1";
			return NULL;
		}
		v = cJSON_CreateBool(b);
		break;
	}
	case LEGACY_TAG_N:
	case LEGACY_TAG_S:
	case LEGACY_TAG_B: {
		const unsigned char *p;
		uint32_t n;

		if (read_value(r, &p, &n, why) != 0)
			return NULL;
		v = member_json(tag, p, n, why);
		if (v == NULL)
			return NULL;
		break;
	}
	case LEGACY_TAG_NS:
	case LEGACY_TAG_SS:
	case LEGACY_TAG_BS:
		v = deserialize_set(tag, r, why);
		break;
	case LEGACY_TAG_L:
		v = deserialize_list(r, why, depth);
		break;
	default:
		v = deserialize_map(r, why, depth);
		break;
	}
	if (v == NULL) {
		if (tag == LEGACY_TAG_NULL || tag == LEGACY_TAG_BOOL)
			*why = "out of memory";
		return NULL;
	}
	av = cJSON_CreateObject();
	if (av == NULL) {
		cJSON_Delete(v);
		*why = "out of memory";
		return NULL;
	}
	cJSON_AddItemToObject(av, name, v);
	return av;
}

cJSON *legacy_attr_deserialize(const unsigned char *p, size_t len, const char **why)
{
	struct bufread r;
	cJSON *v;

	bufread_init(&r, p, len);
	v = deserialize_av(&r, why, 1);
	if (v != NULL && bufread_left(&r) != 0) {
		*why = "trailing bytes follow the value";
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}
