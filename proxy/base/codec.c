#include "proxy/base/codec.h"

#include <stdint.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t codec_b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* 1 + the 6-bit value of each base64 character; 0 for every other byte. */
#define B64_RUN4(c, v) [c] = (v) + 1, [c + 1] = (v) + 2, [c + 2] = (v) + 3, [c + 3] = (v) + 4
static const unsigned char b64_values[256] = {
	B64_RUN4('A', 0), B64_RUN4('E', 4), B64_RUN4('I', 8), B64_RUN4('M', 12),
	B64_RUN4('Q', 16), B64_RUN4('U', 20), ['Y'] = 25, ['Z'] = 26,
	B64_RUN4('a', 26), B64_RUN4('e', 30), B64_RUN4('i', 34), B64_RUN4('m', 38),
	B64_RUN4('q', 42), B64_RUN4('u', 46), ['y'] = 51, ['z'] = 52,
	B64_RUN4('0', 52), B64_RUN4('4', 56), ['8'] = 61, ['9'] = 62,
	['+'] = 63, ['/'] = 64,
};
#undef B64_RUN4

/* The 6-bit value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
	return (int)b64_values[c] - 1;
}

long codec_b64_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	size_t pad = 0;
	size_t i = 0;

	if (len % 4 != 0)
		return -1;
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	/* Every quad but the last: no padding allowed, one table look-up per character (values
	 * are stored plus one, so a bad character shows as a wrapped-around 0 - 1). */
	for (; i + 4 < len; i += 4) {
		uint32_t a = (uint32_t)b64_values[p[i]] - 1, b = (uint32_t)b64_values[p[i + 1]] - 1;
		uint32_t c = (uint32_t)b64_values[p[i + 2]] - 1, d = (uint32_t)b64_values[p[i + 3]] - 1;
		uint32_t w;

		if ((a | b | c | d) > 63)
			return -1;
		w = a << 18 | b << 12 | c << 6 | d;
		out[o] = (unsigned char)(w >> 16);
		out[o + 1] = (unsigned char)(w >> 8);
		out[o + 2] = (unsigned char)w;
		o += 3;
	}
	for (; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			unsigned char c = p[i + (size_t)k];
			if (c == '=' && (size_t)k >= 4 - pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_value(c);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (unsigned char)(w >> 16);
		if (pad != 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad == 0)
			out[o++] = (unsigned char)w;
	}
	return (long)o;
}

void codec_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
