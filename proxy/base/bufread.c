#include "proxy/base/bufread.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void bufread_init(struct bufread *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p != NULL ? len : 0;
	r->off = 0;
}

size_t bufread_left(const struct bufread *r)
{
	return r->len - r->off;
}

int bufread_view(struct bufread *r, size_t n, const unsigned char **view)
{
	static const unsigned char nothing[1];

	if (n > bufread_left(r))
		return -1;
	/* An empty buffer may have no address (an empty bufwrite's is NULL): no arithmetic on it. */
	*view = r->p != NULL ? r->p + r->off : nothing;
	r->off += n;
	return 0;
}

/* Reads an n-byte big-endian unsigned integer (n <= 8). */
static int read_be(struct bufread *r, size_t n, uint64_t *v)
{
	const unsigned char *p;
	uint64_t x = 0;

	if (bufread_view(r, n, &p) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | p[i];
	*v = x;
	return 0;
}

int bufread_u8(struct bufread *r, uint8_t *v)
{
	uint64_t x;

	if (read_be(r, 1, &x) != 0)
		return -1;
	*v = (uint8_t)x;
	return 0;
}

int bufread_u16(struct bufread *r, uint16_t *v)
{
	uint64_t x;

	if (read_be(r, 2, &x) != 0)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

int bufread_u32(struct bufread *r, uint32_t *v)
{
	uint64_t x;

	if (read_be(r, 4, &x) != 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int bufread_u64(struct bufread *r, uint64_t *v)
{
	return read_be(r, 8, v);
}

void bufwrite_init(struct bufwrite *w)
{
	memset(w, 0, sizeof(*w));
}

void bufwrite_cleanup(struct bufwrite *w)
{
	if (w->buf != NULL) {
		OPENSSL_cleanse(w->buf, w->cap);
		free(w->buf);
	}
	memset(w, 0, sizeof(*w));
}

int bufwrite_reserve(struct bufwrite *w, size_t n)
{
	size_t want;
	unsigned char *nb;

	if (w->failed)
		return -1;
	if (n <= w->cap - w->len)
		return 0;
	if (n > SIZE_MAX / 2 - w->len) {
		w->failed = 1;
		return -1;
	}
	want = w->cap ? w->cap : 256;
	while (want - w->len < n)
		want *= 2;
	/* Not realloc: the old block may hold key material and must be wiped. */
	nb = malloc(want);
	if (nb == NULL) {
		w->failed = 1;
		return -1;
	}
	if (w->buf != NULL) {
		memcpy(nb, w->buf, w->len);
		OPENSSL_cleanse(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = nb;
	w->cap = want;
	return 0;
}

static void write_be(struct bufwrite *w, uint64_t v, size_t n)
{
	if (bufwrite_reserve(w, n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		w->buf[w->len + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	w->len += n;
}

void bufwrite_u8(struct bufwrite *w, uint8_t v)
{
	write_be(w, v, 1);
}

void bufwrite_u16(struct bufwrite *w, uint16_t v)
{
	write_be(w, v, 2);
}

void bufwrite_u32(struct bufwrite *w, uint32_t v)
{
	write_be(w, v, 4);
}

void bufwrite_u64(struct bufwrite *w, uint64_t v)
{
	write_be(w, v, 8);
}

void bufwrite_bytes(struct bufwrite *w, const void *p, size_t n)
{
	if (n == 0 || bufwrite_reserve(w, n) != 0)
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void bufwrite_put_u32_at(struct bufwrite *w, size_t off, uint32_t v)
{
	if (w->failed || off + 4 > w->len)
		return;
	w->buf[off] = (unsigned char)(v >> 24);
	w->buf[off + 1] = (unsigned char)(v >> 16);
	w->buf[off + 2] = (unsigned char)(v >> 8);
	w->buf[off + 3] = (unsigned char)v;
}
