/*
 * libFuzzer target for the legacy attribute deserializer (crypto/legacy/legacy_attr.c), which
 * reads every decrypted attribute of a legacy item.  A value that deserializes is serialized
 * again; that must succeed and deserialize to the same value (a second round gives the same
 * bytes: sets and maps come out sorted, numbers normalized).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/item/attr_serial.h"
#include "crypto/legacy/legacy_attr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	cJSON *v = legacy_attr_deserialize(data, size, &why);
	cJSON *v2;
	struct bufwrite w;
	struct bufwrite w2;

	if (v == NULL) {
		if (why == NULL)
			abort();
		return 0;
	}
	bufwrite_init(&w);
	bufwrite_init(&w2);
	/* A set with a member twice is read (the legacy client does not check) but not written. */
	if (legacy_attr_serialize(v, &w, &why) != 0) {
		if (strcmp(why, "a set contains the same member twice") != 0 &&
		    strcmp(why, "a number's exponent is out of range") != 0)
			abort();
		goto done;
	}
	v2 = legacy_attr_deserialize(w.buf, w.len, &why);
	if (v2 == NULL || attr_value_equal(v, v2) != 1)
		abort();
	if (legacy_attr_serialize(v2, &w2, &why) != 0 || w2.len != w.len ||
	    memcmp(w.buf, w2.buf, w.len) != 0)
		abort();
	cJSON_Delete(v2);
done:
	bufwrite_cleanup(&w);
	bufwrite_cleanup(&w2);
	cJSON_Delete(v);
	return 0;
}
