/*
 * libFuzzer target for the config parser: any bytes must give either a config or a list of
 * problems, never a crash, a leak or undefined behaviour.  Build (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -I. \
 *     $(find config -name '*.c') proxy/base/codec.c proxy/base/log.c proxy/base/error.c tests/fuzz/fuzz_config.c \
 *     $(pkg-config --cflags --libs libcjson openssl libevent) -lm -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=60 config/examples
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_problems problems;
	enum attr_action action;
	struct config *cfg = config_parse((const char *)data, size, NULL, &problems);

	if (cfg != NULL) {
		/* A loaded config must answer lookups for any name, including the input itself. */
		for (size_t i = 0; i < cfg->tables_len; i++) {
			const struct config_table *t = cfg->tables[i].name != NULL
				? config_find_table(cfg, cfg->tables[i].name, strlen(cfg->tables[i].name))
				: NULL;
			if (t != &cfg->tables[i])
				__builtin_trap();
			(void)config_table_action(t, (const char *)data, size, &action);
		}
		(void)config_find_table(cfg, (const char *)data, size);
		config_free(cfg);
	} else if (problems.len == 0) {
		/* A refused config always says why. */
		__builtin_trap();
	}
	config_problems_free(&problems);
	return 0;
}
