/*
 * Text encodings of bytes: base64 (RFC 4648, with padding) and lower-case hex.
 * Decoders take untrusted (ptr, len) views and never read past them.
 */
#ifndef DS_CODEC_H
#define DS_CODEC_H

#include <stddef.h>

/* Bytes needed to hold the base64 text of n bytes, including the NUL. */
#define CODEC_B64_ENC_LEN(n) ((((n) + 2) / 3) * 4 + 1)
/* Upper bound of the bytes decoded from len characters of base64. */
#define CODEC_B64_DEC_MAX(len) (((len) + 3) / 4 * 3)

/* Writes the NUL-terminated base64 of in[0..n) to out (CODEC_B64_ENC_LEN(n) bytes). */
size_t codec_b64_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decodes base64 text (padding required when the length is not a multiple of 4, no white
 * space) into out (CODEC_B64_DEC_MAX(len) bytes).  Returns the decoded length, or -1 when the
 * text is not valid base64.
 */
long codec_b64_decode(const char *in, size_t len, unsigned char *out) __attribute__((warn_unused_result));
/* Writes the NUL-terminated lower-case hex of in[0..n) to out (2n+1 bytes). */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
