/*
 * libFuzzer target for the aws_dbe_head parser (structured-encryption/header.md), the first
 * thing dynaseal reads from an item coming back from DynamoDB.  A header that parses is
 * re-serialized and must give back the same bytes.
 *   clang -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_item_header.c <crypto srcs>
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/item/item_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct item_header h;
	struct materials m;
	struct bufwrite w;
	const char *why = NULL;

	if (item_header_parse(data, size, &h, &why) != 0) {
		if (why == NULL)
			abort();
		return 0;
	}
	/* Round trip: the stored context and EDKs serialize back to the input bytes. */
	materials_init(&m, h.suite);
	bufwrite_init(&w);
	if (ec_copy(&m.ec, &h.ec) != 0)
		abort();
	m.edks = h.edks;
	m.edks_len = h.edks_len;
	item_header_write_partial(h.version, &m, h.message_id, h.legend, h.legend_len, &w);
	bufwrite_bytes(&w, h.commitment, sizeof(h.commitment));
	if (w.failed || w.len != size || memcmp(w.buf, data, size) != 0)
		abort();
	m.edks = NULL;
	m.edks_len = 0;
	bufwrite_cleanup(&w);
	materials_cleanup(&m);
	item_header_cleanup(&h);
	return 0;
}
