/*
 * A table's keyring while its items move to it from other keyrings (`read_keyrings`, README
 * "Re-encrypting under another keyring"): writes go to the table's keyring alone; a read tries
 * the table's keyring, then each read keyring in order, until one opens the item.  Unlike the
 * MPL multi-keyring, which wraps each data key under every keyring, new items name only the
 * table's keyring, so retiring a read keyring needs no rewrite of new items.
 */
#ifndef DS_KEYRING_FALLBACK_H
#define DS_KEYRING_FALLBACK_H

#include <stddef.h>

#include "crypto/keyring/keyring.h"

/* A keyring named like primary over primary and then readers[0..n) (borrowed: they must outlive
 * it).  NULL when out of memory. */
struct keyring *keyring_fallback_new(struct keyring *primary, struct keyring *const *readers,
				     size_t n) __attribute__((warn_unused_result));

#endif
