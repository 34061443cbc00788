/*
 * Reading the legacy DynamoDB Encryption Client's published vectors
 * (../shared/vectors/legacy-ddbec, or $DS_VECTORS_DIR/legacy-ddbec) in the cmocka suites
 * test_legacy_*.c.  Header-only: each suite is one translation unit.
 */
#ifndef DS_TEST_LEGACY_VECTORS_H
#define DS_TEST_LEGACY_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proxy/base/codec.h"

/* The parsed JSON file at legacy-ddbec/<name>; fails the test when it cannot be read. */
static cJSON *legacy_vector_json(const char *name)
{
	const char *base = getenv("DS_VECTORS_DIR");
	char path[1024];
	FILE *fp;
	long n;
	char *buf;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/legacy-ddbec/%s", base != NULL ? base : "../shared/vectors",
		 name);
	fp = fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		assert_non_null(fp);
		return NULL;
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	j = cJSON_Parse(buf);
	free(buf);
	assert_non_null(j);
	return j;
}

/* Decodes base64 text into a new buffer; *len gets its length. */
static unsigned char *legacy_b64(const char *text, size_t *len)
{
	size_t tl = strlen(text);
	unsigned char *out = malloc(CODEC_B64_DEC_MAX(tl) + 1);
	long n;

	assert_non_null(out);
	n = codec_b64_decode(text, tl, out);
	assert_true(n >= 0);
	*len = (size_t)n;
	return out;
}

#endif
