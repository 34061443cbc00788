#include "crypto/legacy/legacy_desc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/legacy/legacy_attr.h"

/* material_description.py: the only version the legacy client writes or reads. */
static const unsigned char desc_version[4] = { 0, 0, 0, 0 };

void legacy_desc_init(struct legacy_desc *d)
{
	memset(d, 0, sizeof(*d));
}

void legacy_desc_cleanup(struct legacy_desc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->pairs[i].name);
		/* A value may be a wrapped key: not secret, but wiped like everything key-related. */
		if (d->pairs[i].value != NULL)
			memset(d->pairs[i].value, 0, d->pairs[i].value_len);
		free(d->pairs[i].value);
	}
	free(d->pairs);
	legacy_desc_init(d);
}

const struct legacy_desc_pair *legacy_desc_get(const struct legacy_desc *d, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < d->n; i++)
		if (d->pairs[i].name_len == len && memcmp(d->pairs[i].name, name, len) == 0)
			return &d->pairs[i];
	return NULL;
}

static char *copy_text(const unsigned char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Appends a copy of (name, value); the caller has checked both. */
static int add_pair(struct legacy_desc *d, const unsigned char *name, size_t name_len,
		    const unsigned char *value, size_t value_len, const char **why)
{
	struct legacy_desc_pair *pr;

	for (size_t i = 0; i < d->n; i++) {
		if (d->pairs[i].name_len == name_len &&
		    memcmp(d->pairs[i].name, name, name_len) == 0) {
			*why = "a name appears twice";
			return -1;
		}
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct legacy_desc_pair *np = realloc(d->pairs, cap * sizeof(*np));

		if (np == NULL) {
			*why = "out of memory";
			return -1;
		}
		d->pairs = np;
		d->cap = cap;
	}
	pr = &d->pairs[d->n];
	pr->name = copy_text(name, name_len);
	pr->value = copy_text(value, value_len);
	if (pr->name == NULL || pr->value == NULL) {
		free(pr->name);
		free(pr->value);
		*why = "out of memory";
		return -1;
	}
	pr->name_len = name_len;
	pr->value_len = value_len;
	d->n++;
	return 0;
}

/* Why a name, or a value, was refused: cut short, past the end, NUL byte, not UTF-8. */
static const char *const name_why[] = {
	"a name's length is cut short", "a name runs past the end",
	"a name contains a NUL byte", "a name is not UTF-8",
};
static const char *const value_why[] = {
	"a value's length is cut short", "a value runs past the end",
	"a value contains a NUL byte", "a value is not UTF-8",
};

/* Reads one length-prefixed text field of a pair; msgs is name_why or value_why. */
static int read_text(struct bufread *r, const unsigned char **p, uint32_t *n,
		     const char *const *msgs, const char **why)
{
	if (bufread_u32(r, n) != 0) {
		*why = msgs[0];
		return -1;
	}
	if (bufread_view(r, *n, p) != 0) {
		*why = msgs[1];
		return -1;
	}
	if (memchr(*p, 0, *n) != NULL) {
		*why = msgs[2];
		return -1;
	}
	if (!legacy_utf8_valid(*p, *n)) {
		*why = msgs[3];
		return -1;
	}
	return 0;
}

int legacy_desc_parse(const unsigned char *p, size_t len, struct legacy_desc *d,
		      const char **why)
{
	struct bufread r;
	const unsigned char *v;

	legacy_desc_init(d);
	bufread_init(&r, p, len);
	if (bufread_view(&r, sizeof(desc_version), &v) != 0) {
		*why = "shorter than its 4-byte version";
		return -1;
	}
	if (memcmp(v, desc_version, sizeof(desc_version)) != 0) {
		*why = "its version is not 0";
		return -1;
	}
	while (bufread_left(&r) > 0) {
		const unsigned char *name;
		const unsigned char *value;
		uint32_t name_len;
		uint32_t value_len;

		if (read_text(&r, &name, &name_len, name_why, why) != 0 ||
		    read_text(&r, &value, &value_len, value_why, why) != 0 ||
		    add_pair(d, name, name_len, value, value_len, why) != 0) {
			legacy_desc_cleanup(d);
			return -1;
		}
	}
	return 0;
}

int legacy_desc_add(struct legacy_desc *d, const char *name, const char *value, const char **why)
{
	return add_pair(d, (const unsigned char *)name, strlen(name),
			(const unsigned char *)value, strlen(value), why);
}

static int pair_cmp(const void *x, const void *y)
{
	const struct legacy_desc_pair *a = *(const struct legacy_desc_pair *const *)x;
	const struct legacy_desc_pair *b = *(const struct legacy_desc_pair *const *)y;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

void legacy_desc_serialize(const struct legacy_desc *d, struct bufwrite *out)
{
	const struct legacy_desc_pair **sorted = NULL;

	bufwrite_bytes(out, desc_version, sizeof(desc_version));
	if (d->n == 0)
		return;
	sorted = malloc(d->n * sizeof(*sorted));
	if (sorted == NULL) {
		out->failed = 1;
		return;
	}
	for (size_t i = 0; i < d->n; i++)
		sorted[i] = &d->pairs[i];
	qsort(sorted, d->n, sizeof(*sorted), pair_cmp);
	for (size_t i = 0; i < d->n; i++) {
		bufwrite_u32(out, (uint32_t)sorted[i]->name_len);
		bufwrite_bytes(out, sorted[i]->name, sorted[i]->name_len);
		bufwrite_u32(out, (uint32_t)sorted[i]->value_len);
		bufwrite_bytes(out, sorted[i]->value, sorted[i]->value_len);
	}
	free(sorted);
}
