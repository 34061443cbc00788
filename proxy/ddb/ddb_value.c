/*
 * AttributeValues for the expression engine (ddb_value.h).
 */
#include "proxy/ddb/ddb_value.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/base/codec.h"
#include "proxy/base/json_nul.h"
#include "proxy/ddb/ddb_number.h"

static const char *const names[] = {
	[DDB_T_NONE] = "", [DDB_T_S] = "S", [DDB_T_N] = "N", [DDB_T_B] = "B", [DDB_T_BOOL] = "BOOL",
	[DDB_T_NULL] = "NULL", [DDB_T_SS] = "SS", [DDB_T_NS] = "NS", [DDB_T_BS] = "BS",
	[DDB_T_L] = "L", [DDB_T_M] = "M",
};

static int named(const cJSON *c, const char *name, size_t len)
{
	return c->string != NULL && strlen(c->string) == len && memcmp(c->string, name, len) == 0;
}

/* The member before c, or NULL at the first (whose prev is the last). */
static const cJSON *before(const cJSON *c, const cJSON *first)
{
	return c != first ? c->prev : NULL;
}

cJSON *ddb_value_member(const cJSON *obj, const char *name, size_t len, const cJSON **hint)
{
	const cJSON *first = obj != NULL ? obj->child : NULL;
	const cJSON *fwd = hint != NULL && *hint != NULL ? *hint : first;
	const cJSON *back = fwd != NULL ? before(fwd, first) : NULL;
	const cJSON *c;

	/* outward from the hint: a member forward, then one back, in turn */
	for (int turn = 0; fwd != NULL || back != NULL; turn = !turn) {
		if (fwd != NULL && (turn == 0 || back == NULL)) {
			c = fwd;
			fwd = fwd->next;
		} else {
			c = back;
			back = before(back, first);
		}
		if (named(c, name, len)) {
			if (hint != NULL)
				*hint = c;
			return (cJSON *)c;
		}
	}
	return NULL;
}

const char *ddb_type_name(enum ddb_type t)
{
	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "";
}

enum ddb_type ddb_type_named(const char *name, size_t len)
{
	for (size_t t = DDB_T_S; t < sizeof(names) / sizeof(names[0]); t++) {
		if (strlen(names[t]) == len && memcmp(names[t], name, len) == 0)
			return (enum ddb_type)t;
	}
	return DDB_T_NONE;
}

/* Whether every element of a JSON array is a string. */
static int all_strings(const cJSON *arr)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e))
			return 0;
	}
	return 1;
}

enum ddb_type ddb_value_type(const cJSON *av, const cJSON **inner)
{
	const cJSON *m = cJSON_IsObject(av) ? av->child : NULL;
	enum ddb_type t;
	int ok;

	if (inner != NULL)
		*inner = NULL;
	if (m == NULL || m->next != NULL || m->string == NULL)
		return DDB_T_NONE;
	t = ddb_type_named(m->string, strlen(m->string));
	switch (t) {
	case DDB_T_S: case DDB_T_N: case DDB_T_B:
		ok = cJSON_IsString(m);
		break;
	case DDB_T_BOOL:
		ok = cJSON_IsBool(m);
		break;
	case DDB_T_NULL:
		ok = cJSON_IsTrue(m);
		break;
	case DDB_T_SS: case DDB_T_NS: case DDB_T_BS:
		ok = cJSON_IsArray(m) && all_strings(m);
		break;
	case DDB_T_L:
		ok = cJSON_IsArray(m);
		break;
	case DDB_T_M:
		ok = cJSON_IsObject(m);
		break;
	default:
		ok = 0;
		break;
	}
	if (!ok)
		return DDB_T_NONE;
	if (inner != NULL)
		*inner = m;
	return t;
}

/* Orders two number texts; -2 when either is not a number. */
static int order_numbers(const char *a, const char *b)
{
	struct ddb_number x, y;

	if (ddb_number_parse(a, strlen(a), &x) != DDB_NUMBER_OK ||
	    ddb_number_parse(b, strlen(b), &y) != DDB_NUMBER_OK)
		return -2;
	return ddb_number_cmp(&x, &y);
}

/* Orders two base64 texts by their bytes; -2 when either is not base64 (or out of memory). */
static int order_binaries(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char *x = malloc(CODEC_B64_DEC_MAX(la) + 1), *y = malloc(CODEC_B64_DEC_MAX(lb) + 1);
	long nx = -1, ny = -1;
	int c = -2;

	if (x != NULL && y != NULL) {
		nx = codec_b64_decode(a, la, x);
		ny = codec_b64_decode(b, lb, y);
	}
	if (nx >= 0 && ny >= 0) {
		size_t common = (size_t)(nx < ny ? nx : ny);

		c = common > 0 ? memcmp(x, y, common) : 0;
		c = c < 0 ? -1 : c > 0 ? 1 : (nx > ny) - (nx < ny);
	}
	free(x);
	free(y);
	return c;
}

/* UTF-8 byte order of the real strings: a NUL (the tree's stand-in, json_nul.h) first. */
static int order_strings(const char *a, const char *b)
{
	int c = json_nul_cmp(a, b);

	return c < 0 ? -1 : c > 0;
}

/* Orders two scalars of type t (S, N or B); -2 when unreadable. */
static int order_scalar(enum ddb_type t, const char *a, const char *b)
{
	switch (t) {
	case DDB_T_N:
		return order_numbers(a, b);
	case DDB_T_B:
		return order_binaries(a, b);
	default:
		return order_strings(a, b);
	}
}

int ddb_value_order(const cJSON *a, const cJSON *b, int *out)
{
	const cJSON *x, *y;
	enum ddb_type t = ddb_value_type(a, &x);
	int c;

	if ((t != DDB_T_S && t != DDB_T_N && t != DDB_T_B) || ddb_value_type(b, &y) != t)
		return -1;
	c = order_scalar(t, x->valuestring, y->valuestring);
	if (c == -2)
		return -1;
	*out = c;
	return 0;
}

/* Whether every element of set a (elements of type elem) is in set b. */
static int subset(enum ddb_type elem, const cJSON *a, const cJSON *b)
{
	const cJSON *e, *f;

	cJSON_ArrayForEach(e, a) {
		int found = 0;

		cJSON_ArrayForEach(f, b) {
			if (order_scalar(elem, e->valuestring, f->valuestring) == 0) {
				found = 1;
				break;
			}
		}
		if (!found)
			return 0;
	}
	return 1;
}

int ddb_value_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y, *e, *f;
	enum ddb_type t = ddb_value_type(a, &x);

	if (t == DDB_T_NONE || ddb_value_type(b, &y) != t)
		return 0;
	switch (t) {
	case DDB_T_S: case DDB_T_N: case DDB_T_B:
		return order_scalar(t, x->valuestring, y->valuestring) == 0;
	case DDB_T_BOOL:
		return cJSON_IsTrue(x) == cJSON_IsTrue(y);
	case DDB_T_NULL:
		return 1;
	case DDB_T_SS: case DDB_T_NS: case DDB_T_BS: {
		enum ddb_type elem = t == DDB_T_SS ? DDB_T_S : t == DDB_T_NS ? DDB_T_N : DDB_T_B;

		return cJSON_GetArraySize(x) == cJSON_GetArraySize(y) && subset(elem, x, y) &&
		       subset(elem, y, x);
	}
	case DDB_T_L:
		for (e = x->child, f = y->child; e != NULL && f != NULL; e = e->next, f = f->next) {
			if (!ddb_value_equal(e, f))
				return 0;
		}
		return e == NULL && f == NULL;
	case DDB_T_M:
		if (cJSON_GetArraySize(x) != cJSON_GetArraySize(y))
			return 0;
		cJSON_ArrayForEach(e, x) {
			f = cJSON_GetObjectItemCaseSensitive(y, e->string);
			if (f == NULL || !ddb_value_equal(e, f))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

/* The bytes of a base64 text, malloc'd into *out; their length, or -1. */
static long decode(const char *b64, unsigned char **out)
{
	size_t len = strlen(b64);
	long n;

	*out = malloc(CODEC_B64_DEC_MAX(len) + 1);
	if (*out == NULL)
		return -1;
	n = codec_b64_decode(b64, len, *out);
	if (n < 0) {
		free(*out);
		*out = NULL;
	}
	return n;
}

/* Where needle[0..nn) occurs in hay[0..nh) at offset 0 only (prefix) or anywhere. */
static int holds(const unsigned char *hay, size_t nh, const unsigned char *needle, size_t nn,
		 int prefix)
{
	if (nn > nh)
		return 0;
	if (prefix || nn == 0)
		return memcmp(hay, needle, nn) == 0;
	for (size_t i = 0; i + nn <= nh; i++) {
		if (memcmp(hay + i, needle, nn) == 0)
			return 1;
	}
	return 0;
}

/* Strings or binaries x and y: whether y occurs in x (at its start when prefix). */
static int scalar_holds(enum ddb_type t, const cJSON *x, const cJSON *y, int prefix)
{
	unsigned char *a = NULL, *b = NULL;
	long na, nb;
	int r = 0;

	if (t == DDB_T_S)
		return holds((const unsigned char *)x->valuestring, strlen(x->valuestring),
			     (const unsigned char *)y->valuestring, strlen(y->valuestring), prefix);
	na = decode(x->valuestring, &a);
	nb = decode(y->valuestring, &b);
	if (na >= 0 && nb >= 0)
		r = holds(a, (size_t)na, b, (size_t)nb, prefix);
	free(a);
	free(b);
	return r;
}

int ddb_value_begins_with(const cJSON *x, const cJSON *y)
{
	const cJSON *a, *b;
	enum ddb_type t = ddb_value_type(x, &a);

	if ((t != DDB_T_S && t != DDB_T_B) || ddb_value_type(y, &b) != t)
		return 0;
	return scalar_holds(t, a, b, 1);
}

int ddb_value_contains(const cJSON *x, const cJSON *y)
{
	const cJSON *a, *b, *e;
	enum ddb_type t = ddb_value_type(x, &a), u = ddb_value_type(y, &b);

	switch (t) {
	case DDB_T_S: case DDB_T_B:
		return u == t && scalar_holds(t, a, b, 0);
	case DDB_T_SS: case DDB_T_NS: case DDB_T_BS:
		if (u != (t == DDB_T_SS ? DDB_T_S : t == DDB_T_NS ? DDB_T_N : DDB_T_B))
			return 0;
		cJSON_ArrayForEach(e, a) {
			if (order_scalar(u, e->valuestring, b->valuestring) == 0)
				return 1;
		}
		return 0;
	case DDB_T_L:
		cJSON_ArrayForEach(e, a) {
			if (ddb_value_equal(e, y))
				return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* The UTF-16 code units of UTF-8 text: one per character (a NUL's stand-in too), two above
 * U+FFFF. */
static unsigned long utf16_units(const char *s)
{
	unsigned long n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;          /* a continuation byte */
		n += *p >= 0xf0 && *p != JSON_NUL ? 2 : 1;
	}
	return n;
}

int ddb_value_size(const cJSON *av, unsigned long *out)
{
	const cJSON *x;

	switch (ddb_value_type(av, &x)) {
	case DDB_T_S:
		*out = utf16_units(x->valuestring);
		return 0;
	case DDB_T_B: {
		unsigned char *bytes;
		long n = decode(x->valuestring, &bytes);

		free(bytes);
		if (n < 0)
			return -1;
		*out = (unsigned long)n;
		return 0;
	}
	case DDB_T_SS: case DDB_T_NS: case DDB_T_BS: case DDB_T_L: case DDB_T_M:
		*out = (unsigned long)cJSON_GetArraySize(x);
		return 0;
	default:
		return -1;
	}
}
