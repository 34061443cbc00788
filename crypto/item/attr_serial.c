#include "crypto/item/attr_serial.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/base/codec.h"
#include "proxy/base/json_nul.h"

/* Exponents beyond this are refused (DynamoDB itself allows -130..+126). */
#define ATTR_MAX_EXPONENT 200

char *attr_normalize_number(const char *in, size_t len, const char **why)
{
	size_t i = 0;
	int neg = 0;
	long exp = 0;
	size_t ndigits = 0;
	long point = -1;          /* digits seen before the '.', -1 when there is none */
	char *digits = NULL;
	char *out = NULL;
	size_t lead = 0;
	size_t dlen;
	long pos;
	size_t o = 0;

	while (i < len && in[i] == ' ')
		i++;
	if (i < len && (in[i] == '-' || in[i] == '+'))
		neg = in[i++] == '-';
	digits = malloc(len + 1);
	if (digits == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (; i < len; i++) {
		if (isdigit((unsigned char)in[i])) {
			digits[ndigits++] = in[i];
		} else if (in[i] == '.' && point < 0) {
			point = (long)ndigits;
		} else {
			break;
		}
	}
	if (ndigits == 0) {
		*why = "a number has no digits";
		goto fail;
	}
	if (point < 0)
		point = (long)ndigits;
	if (i < len && (in[i] == 'e' || in[i] == 'E')) {
		int eneg = 0;
		size_t start;

		i++;
		if (i < len && (in[i] == '-' || in[i] == '+'))
			eneg = in[i++] == '-';
		start = i;
		for (; i < len && isdigit((unsigned char)in[i]); i++) {
			exp = exp * 10 + (in[i] - '0');
			if (exp > ATTR_MAX_EXPONENT) {
				*why = "a number's exponent is out of range";
				goto fail;
			}
		}
		if (i == start) {
			*why = "a number's exponent has no digits";
			goto fail;
		}
		if (eneg)
			exp = -exp;
	}
	if (i != len) {
		*why = "a number contains a character that is not part of a number";
		goto fail;
	}
	/* The value is 0.DIGITS * 10^pos once leading zeros are dropped. */
	pos = point + exp;
	while (lead < ndigits && digits[lead] == '0') {
		lead++;
		pos--;
	}
	dlen = ndigits;
	while (dlen > lead && digits[dlen - 1] == '0')
		dlen--;
	out = malloc(dlen - lead + (size_t)labs(pos) + 4);
	if (out == NULL) {
		*why = "out of memory";
		goto fail;
	}
	if (dlen == lead) {
		strcpy(out, "0");
		free(digits);
		return out;
	}
	if (neg)
		out[o++] = '-';
	if (pos <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (long z = 0; z < -pos; z++)
			out[o++] = '0';
		memcpy(out + o, digits + lead, dlen - lead);
		o += dlen - lead;
	} else if ((size_t)pos >= dlen - lead) {
		memcpy(out + o, digits + lead, dlen - lead);
		o += dlen - lead;
		for (size_t z = 0; z < (size_t)pos - (dlen - lead); z++)
			out[o++] = '0';
	} else {
		memcpy(out + o, digits + lead, (size_t)pos);
		o += (size_t)pos;
		out[o++] = '.';
		memcpy(out + o, digits + lead + pos, dlen - lead - (size_t)pos);
		o += dlen - lead - (size_t)pos;
	}
	out[o] = '\0';
	free(digits);
	return out;
fail:
	free(digits);
	free(out);
	return NULL;
}

/* Decodes one UTF-8 code point of a tree string: JSON_NUL is U+0000 (json_nul.h); invalid
 * bytes stand for themselves so ordering stays total. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	uint32_t cp;

	if (c == JSON_NUL) {
		(*i)++;
		return 0;
	}
	if (n == 1 || *i + n > len) {
		(*i)++;
		return c;
	}
	cp = c & (0xFF >> (n + 1));
	for (size_t k = 1; k < n; k++)
		cp = cp << 6 | (s[*i + k] & 0x3F);
	*i += n;
	return cp;
}

/* The first UTF-16 code unit of a code point: supplementary ones start with a high surrogate. */
static uint32_t utf16_first_unit(uint32_t cp)
{
	return cp < 0x10000 ? cp : 0xD800 + ((cp - 0x10000) >> 10);
}

int attr_utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *ua = (const unsigned char *)a;
	const unsigned char *ub = (const unsigned char *)b;
	size_t i = 0;
	size_t j = 0;

	while (i < alen && j < blen) {
		uint32_t ca = utf8_next(ua, alen, &i);
		uint32_t cb = utf8_next(ub, blen, &j);
		uint32_t fa;
		uint32_t fb;

		if (ca == cb)
			continue;
		fa = utf16_first_unit(ca);
		fb = utf16_first_unit(cb);
		if (fa != fb)
			return fa < fb ? -1 : 1;
		return ca < cb ? -1 : 1;   /* same high surrogate: the low ones order like the code points */
	}
	if (i < alen)
		return 1;
	return j < blen ? -1 : 0;
}

/* One serialized set member or map entry, sorted before it is written. */
struct attr_entry {
	const char *key;            /* map key or string member (UTF-8) */
	size_t key_len;
	unsigned char *bytes;       /* owned serialized member (N, B) */
	size_t bytes_len;
	const cJSON *value;         /* map value */
};

static int cmp_key_utf16(const void *x, const void *y)
{
	const struct attr_entry *a = x;
	const struct attr_entry *b = y;

	return attr_utf16_cmp(a->key, a->key_len, b->key, b->key_len);
}

static int cmp_bytes(const void *x, const void *y)
{
	const struct attr_entry *a = x;
	const struct attr_entry *b = y;
	size_t n = a->bytes_len < b->bytes_len ? a->bytes_len : b->bytes_len;
	int c = n ? memcmp(a->bytes, b->bytes, n) : 0;

	if (c != 0)
		return c;
	return a->bytes_len < b->bytes_len ? -1 : a->bytes_len > b->bytes_len;
}

static int serialize_av(const cJSON *av, uint16_t *type_id, struct bufwrite *out, const char **why,
			int depth);

/* Writes a set (ddb-attribute-serialization.md#set): count, then sorted length-prefixed members. */
static int serialize_set(const cJSON *arr, uint16_t type_id, struct bufwrite *out, const char **why)
{
	int n = cJSON_GetArraySize(arr);
	struct attr_entry *e;
	const cJSON *it;
	int i = 0;
	int rc = -1;

	if (n == 0) {
		*why = "a set is empty";
		return -1;
	}
	e = calloc((size_t)n, sizeof(*e));
	if (e == NULL) {
		*why = "out of memory";
		return -1;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it)) {
			*why = "a set member is not a string";
			goto cleanup;
		}
		if (type_id == ATTR_TYPE_SS) {
			e[i].key = it->valuestring;
			e[i].key_len = strlen(it->valuestring);
		} else if (type_id == ATTR_TYPE_NS) {
			e[i].bytes = (unsigned char *)attr_normalize_number(it->valuestring,
				strlen(it->valuestring), why);
			if (e[i].bytes == NULL)
				goto cleanup;
			e[i].bytes_len = strlen((char *)e[i].bytes);
			e[i].key = (const char *)e[i].bytes;
			e[i].key_len = e[i].bytes_len;
		} else {
			size_t tl = strlen(it->valuestring);
			long dl;

			e[i].bytes = malloc(CODEC_B64_DEC_MAX(tl) + 1);
			if (e[i].bytes == NULL) {
				*why = "out of memory";
				goto cleanup;
			}
			dl = codec_b64_decode(it->valuestring, tl, e[i].bytes);
			if (dl < 0) {
				*why = "a binary set member is not valid base64";
				goto cleanup;
			}
			e[i].bytes_len = (size_t)dl;
		}
		i++;
	}
	qsort(e, (size_t)n, sizeof(*e), type_id == ATTR_TYPE_BS ? cmp_bytes : cmp_key_utf16);
	bufwrite_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (i > 0 && (type_id == ATTR_TYPE_BS ? cmp_bytes(&e[i - 1], &e[i])
						      : cmp_key_utf16(&e[i - 1], &e[i])) == 0) {
			*why = "a set contains the same member twice";
			goto cleanup;
		}
		if (type_id == ATTR_TYPE_SS) {
			bufwrite_u32(out, (uint32_t)e[i].key_len);
			json_nul_write(out, e[i].key, e[i].key_len);
		} else {
			bufwrite_u32(out, (uint32_t)e[i].bytes_len);
			bufwrite_bytes(out, e[i].bytes, e[i].bytes_len);
		}
	}
	rc = 0;
cleanup:
	for (int k = 0; k < n; k++)
		free(e[k].bytes);
	free(e);
	return rc;
}

/* Writes a nested value as type, 4-byte length and value (map values and list entries). */
static int serialize_nested(const cJSON *av, struct bufwrite *out, const char **why, int depth)
{
	uint16_t t;
	size_t type_at = out->len;
	size_t len_at;

	bufwrite_u16(out, 0);
	len_at = out->len;
	bufwrite_u32(out, 0);
	if (serialize_av(av, &t, out, why, depth + 1) != 0)
		return -1;
	if (out->failed)
		return 0;
	out->buf[type_at] = (unsigned char)(t >> 8);
	out->buf[type_at + 1] = (unsigned char)t;
	bufwrite_put_u32_at(out, len_at, (uint32_t)(out->len - len_at - 4));
	return 0;
}

static int serialize_map(const cJSON *obj, struct bufwrite *out, const char **why, int depth)
{
	int n = cJSON_GetArraySize(obj);
	struct attr_entry *e = NULL;
	const cJSON *it;
	int i = 0;
	int rc = -1;

	if (n > 0) {
		e = calloc((size_t)n, sizeof(*e));
		if (e == NULL) {
			*why = "out of memory";
			return -1;
		}
	}
	cJSON_ArrayForEach(it, obj) {
		e[i].key = it->string;
		e[i].key_len = strlen(it->string);
		e[i].value = it;
		i++;
	}
	if (n > 0)
		qsort(e, (size_t)n, sizeof(*e), cmp_key_utf16);
	bufwrite_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (i > 0 && cmp_key_utf16(&e[i - 1], &e[i]) == 0) {
			*why = "a map contains the same key twice";
			goto cleanup;
		}
		bufwrite_u16(out, ATTR_TYPE_S);
		bufwrite_u32(out, (uint32_t)e[i].key_len);
		json_nul_write(out, e[i].key, e[i].key_len);
		if (serialize_nested(e[i].value, out, why, depth) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(e);
	return rc;
}

static int serialize_av(const cJSON *av, uint16_t *type_id, struct bufwrite *out, const char **why,
			int depth)
{
	const cJSON *v;
	const char *k;

	if (depth > ATTR_MAX_DEPTH) {
		*why = "a value is nested more than 32 levels deep";
		return -1;
	}
	if (!cJSON_IsObject(av) || cJSON_GetArraySize(av) != 1 || av->child->string == NULL) {
		*why = "a value is not an AttributeValue with exactly one type key";
		return -1;
	}
	v = av->child;
	k = v->string;
	if (strcmp(k, "S") == 0 && cJSON_IsString(v)) {
		*type_id = ATTR_TYPE_S;
		json_nul_write(out, v->valuestring, strlen(v->valuestring));
		return 0;
	}
	if (strcmp(k, "N") == 0 && cJSON_IsString(v)) {
		char *norm = attr_normalize_number(v->valuestring, strlen(v->valuestring), why);

		if (norm == NULL)
			return -1;
		*type_id = ATTR_TYPE_N;
		bufwrite_bytes(out, norm, strlen(norm));
		free(norm);
		return 0;
	}
	if (strcmp(k, "B") == 0 && cJSON_IsString(v)) {
		size_t tl = strlen(v->valuestring);
		long dl;

		if (bufwrite_reserve(out, CODEC_B64_DEC_MAX(tl) + 1) != 0)
			return 0;
		dl = codec_b64_decode(v->valuestring, tl, out->buf + out->len);
		if (dl < 0) {
			*why = "a binary value is not valid base64";
			return -1;
		}
		out->len += (size_t)dl;
		*type_id = ATTR_TYPE_B;
		return 0;
	}
	if (strcmp(k, "BOOL") == 0 && cJSON_IsBool(v)) {
		*type_id = ATTR_TYPE_BOOL;
		bufwrite_u8(out, cJSON_IsTrue(v) ? 1 : 0);
		return 0;
	}
	if (strcmp(k, "NULL") == 0 && cJSON_IsTrue(v)) {
		*type_id = ATTR_TYPE_NULL;
		return 0;
	}
	if (strcmp(k, "SS") == 0 && cJSON_IsArray(v)) {
		*type_id = ATTR_TYPE_SS;
		return serialize_set(v, ATTR_TYPE_SS, out, why);
	}
	if (strcmp(k, "NS") == 0 && cJSON_IsArray(v)) {
		*type_id = ATTR_TYPE_NS;
		return serialize_set(v, ATTR_TYPE_NS, out, why);
	}
	if (strcmp(k, "BS") == 0 && cJSON_IsArray(v)) {
		*type_id = ATTR_TYPE_BS;
		return serialize_set(v, ATTR_TYPE_BS, out, why);
	}
	if (strcmp(k, "M") == 0 && cJSON_IsObject(v)) {
		*type_id = ATTR_TYPE_M;
		return serialize_map(v, out, why, depth);
	}
	if (strcmp(k, "L") == 0 && cJSON_IsArray(v)) {
		const cJSON *it;

		*type_id = ATTR_TYPE_L;
		bufwrite_u32(out, (uint32_t)cJSON_GetArraySize(v));
		cJSON_ArrayForEach(it, v) {
			if (serialize_nested(it, out, why, depth) != 0)
				return -1;
		}
		return 0;
	}
	*why = "a value has an unknown type or a value of the wrong JSON type";
	return -1;
}

int attr_serialize(const cJSON *av, uint16_t *type_id, struct bufwrite *out, const char **why)
{
	return serialize_av(av, type_id, out, why, 1);
}

static cJSON *deserialize_av(uint16_t type_id, struct bufread *r, const char **why, int depth);

/* Reads a string member or key: 4-byte length and bytes, returned as a new tree string
 * (json_nul.h: a NUL held as the stand-in). */
static char *read_str(struct bufread *r, const char **why)
{
	uint32_t n;
	const unsigned char *p;

	if (bufread_u32(r, &n) != 0 || bufread_view(r, n, &p) != 0) {
		*why = "a serialized length runs past the end of the value";
		return NULL;
	}
	return json_nul_string(p, n, why);
}

static cJSON *b64_string(const unsigned char *p, size_t n, const char **why)
{
	char *t = malloc(CODEC_B64_ENC_LEN(n));
	cJSON *s;

	if (t == NULL) {
		*why = "out of memory";
		return NULL;
	}
	codec_b64_encode(p, n, t);
	s = cJSON_CreateString(t);
	free(t);
	if (s == NULL)
		*why = "out of memory";
	return s;
}

static cJSON *deserialize_set(uint16_t type_id, struct bufread *r, const char **why)
{
	uint32_t n;
	cJSON *arr = cJSON_CreateArray();

	if (arr == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (bufread_u32(r, &n) != 0) {
		*why = "a serialized set has no count";
		goto fail;
	}
	for (uint32_t i = 0; i < n; i++) {
		cJSON *m;

		if (type_id == ATTR_TYPE_BS) {
			uint32_t len;
			const unsigned char *p;

			if (bufread_u32(r, &len) != 0 || bufread_view(r, len, &p) != 0) {
				*why = "a serialized length runs past the end of the value";
				goto fail;
			}
			m = b64_string(p, len, why);
		} else {
			char *s = read_str(r, why);

			if (s == NULL)
				goto fail;
			if (type_id == ATTR_TYPE_NS && strchr(s, JSON_NUL) != NULL) {
				*why = "a serialized number contains a NUL byte";
				free(s);
				goto fail;
			}
			m = cJSON_CreateString(s);
			free(s);
			if (m == NULL)
				*why = "out of memory";
		}
		if (m == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

/* Reads one nested (type, length, value) and returns its AttributeValue. */
static cJSON *deserialize_nested(struct bufread *r, const char **why, int depth)
{
	uint16_t t;
	uint32_t len;
	const unsigned char *p;
	struct bufread sub;
	cJSON *v;

	if (bufread_u16(r, &t) != 0 || bufread_u32(r, &len) != 0 || bufread_view(r, len, &p) != 0) {
		*why = "a serialized length runs past the end of the value";
		return NULL;
	}
	bufread_init(&sub, p, len);
	v = deserialize_av(t, &sub, why, depth + 1);
	if (v != NULL && bufread_left(&sub) != 0) {
		*why = "a serialized nested value has trailing bytes";
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

static cJSON *deserialize_av(uint16_t type_id, struct bufread *r, const char **why, int depth)
{
	cJSON *av = NULL;
	cJSON *v = NULL;
	const char *key;
	size_t left = bufread_left(r);
	const unsigned char *p = NULL;

	if (depth > ATTR_MAX_DEPTH) {
		*why = "a serialized value is nested more than 32 levels deep";
		return NULL;
	}
	switch (type_id) {
	case ATTR_TYPE_NULL:
		key = "NULL";
		if (left != 0) {
			*why = "a serialized NULL has a value";
			return NULL;
		}
		v = cJSON_CreateTrue();
		break;
	case ATTR_TYPE_BOOL: {
		uint8_t b;

		key = "BOOL";
		if (left != 1 || bufread_u8(r, &b) != 0 || b > 1) {
			*why = "a serialized boolean is not one byte 0 or 1";
			return NULL;
		}
		v = cJSON_CreateBool(b);
		break;
	}
	case ATTR_TYPE_S: {
		char *s;

		key = "S";
		if (bufread_view(r, left, &p) != 0 || (s = json_nul_string(p, left, why)) == NULL)
			return NULL;
		v = cJSON_CreateString(s);
		free(s);
		break;
	}
	case ATTR_TYPE_N: {
		char *s;

		key = "N";
		if (bufread_view(r, left, &p) != 0 || (left && memchr(p, 0, left) != NULL)) {
			*why = "a serialized number contains a NUL byte";
			return NULL;
		}
		s = malloc(left + 1);
		if (s == NULL)
			break;
		if (left)
			memcpy(s, p, left);
		s[left] = '\0';
		v = cJSON_CreateString(s);
		free(s);
		break;
	}
	case ATTR_TYPE_B:
		key = "B";
		if (bufread_view(r, left, &p) != 0)
			return NULL;
		v = b64_string(p, left, why);
		if (v == NULL)
			return NULL;
		break;
	case ATTR_TYPE_SS:
	case ATTR_TYPE_NS:
	case ATTR_TYPE_BS:
		key = type_id == ATTR_TYPE_SS ? "SS" : type_id == ATTR_TYPE_NS ? "NS" : "BS";
		v = deserialize_set(type_id, r, why);
		if (v == NULL)
			return NULL;
		break;
	case ATTR_TYPE_M: {
		uint32_t n;

		key = "M";
		if (bufread_u32(r, &n) != 0) {
			*why = "a serialized map has no count";
			return NULL;
		}
		v = cJSON_CreateObject();
		if (v == NULL)
			break;
		for (uint32_t i = 0; i < n; i++) {
			uint16_t kt;
			char *name;
			cJSON *mv;

			if (bufread_u16(r, &kt) != 0 || kt != ATTR_TYPE_S) {
				*why = "a serialized map key is not a string";
				goto fail;
			}
			name = read_str(r, why);
			if (name == NULL)
				goto fail;
			if (cJSON_GetObjectItemCaseSensitive(v, name) != NULL) {
				*why = "a serialized map contains the same key twice";
				free(name);
				goto fail;
			}
			mv = deserialize_nested(r, why, depth);
			if (mv == NULL) {
				free(name);
				goto fail;
			}
			cJSON_AddItemToObject(v, name, mv);
			free(name);
		}
		break;
	}
	case ATTR_TYPE_L: {
		uint32_t n;

		key = "L";
		if (bufread_u32(r, &n) != 0) {
			*why = "a serialized list has no count";
			return NULL;
		}
		v = cJSON_CreateArray();
		if (v == NULL)
			break;
		for (uint32_t i = 0; i < n; i++) {
			cJSON *lv = deserialize_nested(r, why, depth);

			if (lv == NULL)
				goto fail;
			cJSON_AddItemToArray(v, lv);
		}
		break;
	}
	default:
		*why = "a serialized value has an unknown type id";
		return NULL;
	}
	if (v == NULL) {
		*why = "out of memory";
		return NULL;
	}
	av = cJSON_CreateObject();
	if (av == NULL) {
		*why = "out of memory";
		goto fail;
	}
	cJSON_AddItemToObject(av, key, v);
	return av;
fail:
	cJSON_Delete(v);
	return NULL;
}

cJSON *attr_deserialize(uint16_t type_id, const unsigned char *p, size_t len, const char **why)
{
	struct bufread r;
	cJSON *v;

	bufread_init(&r, p, len);
	v = deserialize_av(type_id, &r, why, 1);
	if (v != NULL && bufread_left(&r) != 0) {
		*why = "a serialized value has trailing bytes";
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

int attr_value_equal(const cJSON *a, const cJSON *b)
{
	struct bufwrite wa;
	struct bufwrite wb;
	uint16_t ta;
	uint16_t tb;
	const char *why;
	int rc = -1;

	bufwrite_init(&wa);
	bufwrite_init(&wb);
	if (attr_serialize(a, &ta, &wa, &why) != 0 || attr_serialize(b, &tb, &wb, &why) != 0 ||
	    wa.failed || wb.failed)
		goto cleanup;
	rc = ta == tb && wa.len == wb.len && (wa.len == 0 || memcmp(wa.buf, wb.buf, wa.len) == 0);
cleanup:
	bufwrite_cleanup(&wa);
	bufwrite_cleanup(&wb);
	return rc;
}
