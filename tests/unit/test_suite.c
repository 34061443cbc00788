/* suite.h primitives against OpenSSL's own one-shot implementations: HKDF-SHA512 (one and
 * several output blocks, the shared-extract pair), HMAC with keys longer than a block,
 * AES-256-GCM with the default and another nonce length, AES-256-CTR, and the same results
 * from a second thread (each thread keeps its own contexts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "crypto/item/suite.h"

static void fill(unsigned char *b, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + 7 * i);
}

/* HKDF-SHA512 with no salt through EVP_PKEY, the reference. */
static void ref_hkdf(const unsigned char *ikm, size_t ikm_len, const unsigned char *info,
		     size_t info_len, unsigned char *out, size_t out_len)
{
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);

	assert_non_null(p);
	assert_int_equal(EVP_PKEY_derive_init(p), 1);
	assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha512()), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(p, ikm, (int)ikm_len), 1);
	assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(p, info, (int)info_len), 1);
	assert_int_equal(EVP_PKEY_derive(p, out, &out_len), 1);
	EVP_PKEY_CTX_free(p);
}

static void test_hkdf(void **state)
{
	unsigned char ikm[40], info[60], got[200], want[200], a[32], b[32], wa[32], wb[32];
	static const size_t lens[] = { 1, 32, 64, 65, 128, 200 };

	(void)state;
	fill(ikm, sizeof(ikm), 1);
	fill(info, sizeof(info), 2);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(got, 0, sizeof(got));
		ref_hkdf(ikm, 32, info, 50, want, lens[i]);
		assert_int_equal(suite_hkdf_sha512(ikm, 32, info, 50, got, lens[i]), 0);
		assert_memory_equal(got, want, lens[i]);
	}
	/* an IKM of another length and an empty info */
	ref_hkdf(ikm, sizeof(ikm), info, 0, want, 32);
	assert_int_equal(suite_hkdf_sha512(ikm, sizeof(ikm), info, 0, got, 32), 0);
	assert_memory_equal(got, want, 32);
	/* the pair equals two single derivations */
	ref_hkdf(ikm, 32, info, 18, wa, 32);
	ref_hkdf(ikm, 32, info + 10, 50, wb, 32);
	assert_int_equal(suite_hkdf_sha512_pair(ikm, 32, info, 18, a, info + 10, 50, b, 32), 0);
	assert_memory_equal(a, wa, 32);
	assert_memory_equal(b, wb, 32);
	assert_int_equal(suite_hkdf_sha512(ikm, 32, info, 1, got, 255 * 64 + 1), -1);
}

static void test_hmac(void **state)
{
	unsigned char key[300], msg[500], got[64], want[64];
	const EVP_MD *mds[3] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	static const size_t key_lens[] = { 0, 32, 64, 127, 128, 129, 300 };
	unsigned int n = 0;

	(void)state;
	fill(key, sizeof(key), 3);
	fill(msg, sizeof(msg), 4);
	for (size_t d = 0; d < 3; d++)
		for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
			assert_non_null(HMAC(mds[d], key, (int)key_lens[k], msg, sizeof(msg), want, &n));
			assert_int_equal(suite_hmac(mds[d], key, key_lens[k], msg, sizeof(msg), got), 0);
			assert_memory_equal(got, want, n);
		}
	assert_int_equal(suite_hmac(EVP_sha1(), key, 32, msg, 10, got), -1);
}

/* AES-256-GCM through EVP, the reference. */
static void ref_gcm(const unsigned char *key, const unsigned char *iv, int iv_len,
		    const unsigned char *aad, int aad_len, const unsigned char *in, int len,
		    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, iv_len, NULL), 1);
	assert_int_equal(EVP_EncryptInit_ex(c, NULL, NULL, key, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, aad, aad_len), 1);
	assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(c);
}

static void test_gcm_ctr(void **state)
{
	unsigned char key[32], iv[16], aad[40], pt[100], ct[100], tag[16], want[100], wtag[16];
	unsigned char back[100], stream[44], zero[44];
	static const size_t iv_lens[] = { 12, 16, 8 };
	EVP_CIPHER_CTX *c;
	int n = 0;

	(void)state;
	fill(key, sizeof(key), 5);
	fill(iv, sizeof(iv), 6);
	fill(aad, sizeof(aad), 7);
	fill(pt, sizeof(pt), 8);
	for (size_t i = 0; i < sizeof(iv_lens) / sizeof(iv_lens[0]); i++) {
		ref_gcm(key, iv, (int)iv_lens[i], aad, sizeof(aad), pt, sizeof(pt), want, wtag);
		assert_int_equal(suite_gcm_encrypt(key, iv, iv_lens[i], aad, sizeof(aad), pt,
						   sizeof(pt), ct, tag), 0);
		assert_memory_equal(ct, want, sizeof(ct));
		assert_memory_equal(tag, wtag, sizeof(tag));
		assert_int_equal(suite_gcm_decrypt(key, iv, iv_lens[i], aad, sizeof(aad), ct,
						   sizeof(ct), tag, back), 0);
		assert_memory_equal(back, pt, sizeof(pt));
		tag[0] ^= 1;
		assert_int_equal(suite_gcm_decrypt(key, iv, iv_lens[i], aad, sizeof(aad), ct,
						   sizeof(ct), tag, back), -1);
		/* a failed open leaves no plaintext behind */
		memset(want, 0, sizeof(want));
		assert_memory_equal(back, want, sizeof(back));
	}
	/* the CTR keystream is AES-256-CTR of zeros */
	memset(zero, 0, sizeof(zero));
	c = EVP_CIPHER_CTX_new();
	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(c, want, &n, zero, sizeof(zero)), 1);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal(suite_ctr_stream(key, iv, stream, sizeof(stream)), 0);
	assert_memory_equal(stream, want, sizeof(stream));
}

/* Runs the three tests on another thread: its contexts are its own, freed when it exits. */
static void *thread_main(void *arg)
{
	test_hkdf(arg);
	test_hmac(arg);
	test_gcm_ctr(arg);
	return NULL;
}

/* The kept per-thread digest contexts give OpenSSL's one-shot digests, stay usable after a
 * hash is abandoned, and refuse a second open hash of the same digest. */
static void test_digest(void **state)
{
	const EVP_MD *mds[3] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	unsigned char msg[300], want[64], got[64];
	unsigned int wn = 0, gn = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7 + 1);
	for (int m = 0; m < 3; m++) {
		for (size_t len = 0; len <= sizeof(msg); len += 150) {
			EVP_MD_CTX *ctx;

			assert_int_equal(EVP_Digest(msg, len, want, &wn, mds[m], NULL), 1);
			assert_int_equal(suite_digest(mds[m], msg, len, got), 0);
			assert_memory_equal(got, want, wn);
			/* Streamed in two parts, with the same digest refused while it is open. */
			ctx = suite_digest_begin(mds[m]);
			assert_non_null(ctx);
			assert_null(suite_digest_begin(mds[m]));
			assert_int_equal(EVP_DigestUpdate(ctx, msg, len / 2), 1);
			assert_int_equal(EVP_DigestUpdate(ctx, msg + len / 2, len - len / 2), 1);
			assert_int_equal(suite_digest_end(ctx, got, &gn), 0);
			assert_int_equal(gn, wn);
			assert_memory_equal(got, want, wn);
			/* Abandoned half-way: the next hash starts clean. */
			ctx = suite_digest_begin(mds[m]);
			assert_int_equal(EVP_DigestUpdate(ctx, "junk", 4), 1);
			assert_int_equal(suite_digest_end(ctx, NULL, NULL), -1);
			assert_int_equal(suite_digest(mds[m], msg, len, got), 0);
			assert_memory_equal(got, want, wn);
		}
	}
	assert_null(suite_digest_begin(EVP_md5()));
	assert_int_equal(suite_digest_end(NULL, got, &gn), -1);
}

static void test_other_thread(void **state)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, thread_main, state), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

int main(void)
{
	/* GCM first: a process whose first primitive is a cipher must fetch it (a bug once). */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_ctr),
		cmocka_unit_test(test_hkdf),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_other_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
