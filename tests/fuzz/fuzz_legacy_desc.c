/*
 * libFuzzer target for the legacy material description parser (*amzn-ddb-map-desc*,
 * crypto/legacy/legacy_desc.c), read from every legacy item.  A description that parses is
 * serialized again and parsed again: the same pairs must come back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/legacy/legacy_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct legacy_desc d;
	struct legacy_desc again;
	struct bufwrite w;
	const char *why = NULL;

	if (legacy_desc_parse(data, size, &d, &why) != 0) {
		if (why == NULL)
			abort();
		return 0;
	}
	bufwrite_init(&w);
	legacy_desc_serialize(&d, &w);
	if (w.failed || w.len != size)
		abort();
	if (legacy_desc_parse(w.buf, w.len, &again, &why) != 0 || again.n != d.n)
		abort();
	for (size_t i = 0; i < d.n; i++) {
		const struct legacy_desc_pair *p = legacy_desc_get(&again, d.pairs[i].name);

		if (p == NULL || strcmp(p->value, d.pairs[i].value) != 0)
			abort();
	}
	legacy_desc_cleanup(&again);
	legacy_desc_cleanup(&d);
	bufwrite_cleanup(&w);
	return 0;
}
