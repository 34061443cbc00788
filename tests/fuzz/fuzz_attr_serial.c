/*
 * libFuzzer target for attribute deserialization (ddb-attribute-serialization.md), which
 * reads decrypted bytes, and for number normalization.  Input: 2-byte type id, then the
 * value.  A value that deserializes must serialize and deserialize again to an equal value.
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_attr_serial.c <crypto srcs>
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "crypto/item/attr_serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	cJSON *v;
	struct bufwrite w;
	uint16_t t;
	char *num;

	num = attr_normalize_number((const char *)data, size, &why);
	free(num);
	if (size < 2)
		return 0;
	v = attr_deserialize((uint16_t)(data[0] << 8 | data[1]), data + 2, size - 2, &why);
	if (v == NULL)
		return 0;
	bufwrite_init(&w);
	/* Deserialized sets and maps may hold duplicates or unnormalized numbers, which the
	 * serializer refuses; anything it accepts must read back equal. */
	if (attr_serialize(v, &t, &w, &why) == 0 && !w.failed) {
		cJSON *back = attr_deserialize(t, w.buf, w.len, &why);

		if (back == NULL || attr_value_equal(v, back) != 1)
			abort();
		cJSON_Delete(back);
	}
	bufwrite_cleanup(&w);
	cJSON_Delete(v);
	return 0;
}
