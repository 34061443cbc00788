/*
 * Bounds-checked cursor over untrusted bytes (bufread) and a growable output buffer
 * (bufwrite), in the manner of s2n's stuffer.  Every DB-ESDK field on the wire is big-endian
 * (structured-encryption/header.md, ddb-attribute-serialization.md), so only big-endian
 * accessors exist.
 */
#ifndef DS_BUFREAD_H
#define DS_BUFREAD_H

#include <stddef.h>
#include <stdint.h>

/* A read cursor over (p, len); reads never go past len. */
struct bufread {
	const unsigned char *p;   /* start of the untrusted bytes */
	size_t len;               /* their length */
	size_t off;               /* bytes consumed so far */
};

void bufread_init(struct bufread *r, const void *p, size_t len);
/* Bytes not consumed yet. */
size_t bufread_left(const struct bufread *r);
/* Each returns 0, or -1 (and consumes nothing) when fewer bytes are left than needed. */
int bufread_u8(struct bufread *r, uint8_t *v) __attribute__((warn_unused_result));
int bufread_u16(struct bufread *r, uint16_t *v) __attribute__((warn_unused_result));
int bufread_u32(struct bufread *r, uint32_t *v) __attribute__((warn_unused_result));
int bufread_u64(struct bufread *r, uint64_t *v) __attribute__((warn_unused_result));
/* A view of the next n bytes (no copy); the view lives as long as the underlying buffer. */
int bufread_view(struct bufread *r, size_t n, const unsigned char **view)
	__attribute__((warn_unused_result));

/*
 * An output buffer that grows on demand.  An allocation failure is sticky (failed != 0) so a
 * serializer can write many fields and check once at the end.  The buffer may hold key
 * material, so cleanup wipes it.
 */
struct bufwrite {
	unsigned char *buf;       /* heap bytes, NULL while empty */
	size_t len;               /* bytes written */
	size_t cap;               /* bytes allocated */
	int failed;               /* an allocation failed: contents are incomplete */
};

void bufwrite_init(struct bufwrite *w);
/* Wipes and frees the buffer; w may be reused after bufwrite_init. */
void bufwrite_cleanup(struct bufwrite *w);
/* Makes room for n more bytes; returns 0 or -1 (and sets failed). */
int bufwrite_reserve(struct bufwrite *w, size_t n) __attribute__((warn_unused_result));
void bufwrite_u8(struct bufwrite *w, uint8_t v);
void bufwrite_u16(struct bufwrite *w, uint16_t v);
void bufwrite_u32(struct bufwrite *w, uint32_t v);
void bufwrite_u64(struct bufwrite *w, uint64_t v);
void bufwrite_bytes(struct bufwrite *w, const void *p, size_t n);
/* Overwrites 4 bytes at offset off (already written) with v, for lengths known later. */
void bufwrite_put_u32_at(struct bufwrite *w, size_t off, uint32_t v);

#endif
