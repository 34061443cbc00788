/*
 * Standard beacons: see beacon.h.
 */
#include "crypto/item/beacon.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/item/attr_serial.h"
#include "crypto/item/suite.h"
#include "proxy/base/codec.h"
#include "proxy/base/json_nul.h"

#define BEACON_INFO "AWS_DBE_SCAN_BEACON"

int beacon_hmac_key(const unsigned char *beacon_key, size_t key_len, const char *name,
		    unsigned char out[BEACON_KEY_LEN])
{
	size_t prefix = strlen(BEACON_INFO), n = strlen(name);
	unsigned char *info = malloc(prefix + n);
	int rc;

	if (info == NULL)
		return -1;
	memcpy(info, BEACON_INFO, prefix);
	memcpy(info + prefix, name, n);
	rc = suite_hkdf_sha512(beacon_key, key_len, info, prefix + n, out, BEACON_KEY_LEN);
	free(info);
	return rc;
}

int beacon_hash(const unsigned char *key, size_t key_len, const unsigned char *data, size_t len,
		unsigned int length, uint8_t partition, char out[BEACON_HEX_MAX + 1])
{
	unsigned char mac[48], *msg;
	uint64_t v = 0;
	unsigned int digits;
	int rc;

	if (length < 1 || length > BEACON_MAX_LENGTH)
		return -1;
	msg = malloc(len + 1);
	if (msg == NULL)
		return -1;
	if (len > 0)
		memcpy(msg, data, len);
	if (partition != 0)
		msg[len++] = partition;
	rc = suite_hmac(suite_sha384(), key, key_len, msg, len, mac);
	free(msg);
	if (rc != 0)
		return -1;
	/* The first 8 bytes, big-endian; their rightmost `length` bits. */
	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | mac[i];
	OPENSSL_cleanse(mac, sizeof(mac));
	v &= (UINT64_C(1) << length) - 1;
	digits = (length + 3) / 4;
	for (unsigned int i = 0; i < digits; i++)
		out[digits - 1 - i] = "0123456789abcdef"[(v >> (4 * i)) & 0xf];
	out[digits] = '\0';
	return 0;
}

int beacon_value(const unsigned char key[BEACON_KEY_LEN], const cJSON *av, unsigned int length,
		 char out[BEACON_HEX_MAX + 1], const char **why)
{
	const cJSON *v = cJSON_IsObject(av) ? av->child : NULL;
	unsigned char *bytes = NULL;
	char *num = NULL;
	size_t n;
	int rc;

	if (v == NULL || v->next != NULL || !cJSON_IsString(v)) {
		*why = "not a string, number or binary attribute value";
		return -1;
	}
	if (strcmp(v->string, "S") == 0) {
		/* Over the string's real bytes: a NUL is 0x00, not its stand-in (json_nul.h). */
		bytes = json_nul_bytes(v->valuestring, &n);
		if (bytes == NULL) {
			*why = "out of memory";
			return -1;
		}
		rc = beacon_hash(key, BEACON_KEY_LEN, bytes, n, length, 0, out);
		free(bytes);
	} else if (strcmp(v->string, "N") == 0) {
		/* Numbers are normalized first: "1.230" and "1.23" have one beacon. */
		num = attr_normalize_number(v->valuestring, strlen(v->valuestring), why);
		if (num == NULL)
			return -1;
		rc = beacon_hash(key, BEACON_KEY_LEN, (const unsigned char *)num, strlen(num), length, 0, out);
		free(num);
	} else if (strcmp(v->string, "B") == 0) {
		n = strlen(v->valuestring);
		bytes = malloc(CODEC_B64_DEC_MAX(n) + 1);
		long got = bytes != NULL ? codec_b64_decode(v->valuestring, n, bytes) : -1;
		if (got < 0) {
			free(bytes);
			*why = "a binary value that is not base64";
			return -1;
		}
		rc = beacon_hash(key, BEACON_KEY_LEN, bytes, (size_t)got, length, 0, out);
		free(bytes);
	} else {
		*why = "a beacon is made of a string, number or binary";
		return -1;
	}
	if (rc != 0)
		*why = "the HMAC failed";
	return rc;
}
