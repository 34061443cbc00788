/*
 * Micro-benchmark of one item's encrypt and decrypt (crypto/item/item_crypt.h with the table and
 * raw-aes keyring of a dynaseal config) beside the raw cost of the primitives the DB-ESDK v3
 * format needs for the same bytes (structured-encryption/encrypt-structure.md,
 * decrypt-structure.md, MPL intermediate key wrapping):
 *   - AES-256-GCM: the raw-aes keyring's wrap of the intermediate key, the intermediate key
 *     wrap of the data key (32 bytes each, AAD = serialized encryption context) and each
 *     ENCRYPT_AND_SIGN value (its serialized bytes, AAD = its path);
 *   - HKDF-SHA512 (RFC 5869 on HMAC-SHA512): the two intermediate key wrapping keys, the commit
 *     key, the field root key;
 *   - AES-256-CTR: 44 bytes of key and nonce per encrypted field;
 *   - HMAC-SHA512: the header commitment;
 *   - SHA-384 over the canonical record, then HMAC-SHA384 of that hash (the footer tag).
 * The primitives are timed twice: "floor" with algorithms fetched once and contexts reused
 * (what OpenSSL 3 can do at best), and "suite" through crypto/item/suite.h, the one-shot wrappers
 * the product calls.  The gap item - suite is dynaseal's own work (JSON, serialization,
 * allocation); suite - floor is OpenSSL's per-call fetch and context setup.
 *
 * Usage: item_bench CONFIG TABLE ITEM_JSON_FILE [ITERATIONS]
 * Prints human-readable lines and one machine-readable "ITEM_BENCH key=value ..." line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "config/config.h"
#include "crypto/item/attr_serial.h"
#include "proxy/base/codec.h"
#include "crypto/item/item_crypt.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_factory.h"
#include "crypto/item/suite.h"

/* Why keyring_new_from_config built no keyring. */
static struct ds_error kr_err;

/* Batches per measurement; the fastest batch is kept (least disturbed by the shared CPU). */
#define BENCH_BATCHES 5
/* Most ENCRYPT_AND_SIGN fields this benchmark models. */
#define BENCH_MAX_FIELDS 64

/* The shape of one item as the primitives see it. */
struct item_shape {
	size_t ec_aad_len;                    /* serialized encryption context (keyring AAD) */
	size_t header_len;                    /* aws_dbe_head bytes */
	size_t canon_len;                     /* canonical record hashed for the footer */
	size_t nfields;                       /* ENCRYPT_AND_SIGN attributes */
	size_t field_len[BENCH_MAX_FIELDS];   /* serialized plaintext bytes of each */
	size_t path_len[BENCH_MAX_FIELDS];    /* their path bytes (GCM AAD) */
};

/* Algorithms fetched once and contexts reused: the floor OpenSSL 3 allows. */
struct floor_ctx {
	EVP_CIPHER *gcm;           /* AES-256-GCM */
	EVP_CIPHER *ctr;           /* AES-256-CTR */
	EVP_CIPHER_CTX *gcm_enc;   /* AES-256-GCM encryption, cipher set once, re-keyed per call */
	EVP_CIPHER_CTX *gcm_dec;   /* AES-256-GCM decryption, same */
	EVP_CIPHER_CTX *ctr_ctx;   /* AES-256-CTR, same */
	EVP_MAC_CTX *hmac384;      /* HMAC-SHA384, re-keyed per call */
	EVP_MAC_CTX *hmac512;      /* HMAC-SHA512, re-keyed per call */
	EVP_MD *sha384;            /* SHA-384 */
	EVP_MD_CTX *mdctx;         /* reused for the canonical hash */
};

/* Buffers the primitive loops work on, sized for the largest item. */
struct prim_bufs {
	unsigned char *in;         /* plaintext (also stands in for header and canonical bytes) */
	unsigned char *ct;         /* in encrypted under key and iv (decrypt direction input) */
	unsigned char *out;        /* output */
	unsigned char *aad;        /* AAD bytes (zeros: content does not change the cost) */
	size_t cap;                /* bytes in each of the above */
	unsigned char tags[BENCH_MAX_FIELDS][16]; /* valid GCM tags of each field under key */
	unsigned char key_ct[32];  /* key encrypted under itself (the key wraps' input) */
	unsigned char key_tag[16]; /* its valid tag */
	unsigned char key[32];     /* any key: the cost does not depend on it */
	unsigned char iv[16];      /* any IV */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char *read_file(const char *path, size_t *len_out) __attribute__((warn_unused_result));
static char *read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto cleanup;
	buf = malloc((size_t)n + 1);
	if (buf == NULL)
		goto cleanup;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto cleanup;
	}
	buf[n] = '\0';
	*len_out = (size_t)n;
cleanup:
	fclose(f);
	return buf;
}

/* Calls the keyring's completion into a plain struct (raw-aes completes synchronously). */
struct done_state {
	int called;            /* times the callback ran */
	int rc;                /* its rc */
	struct ds_error err;   /* its error, when rc != 0 */
};

static void on_done(void *arg, int rc, const struct ds_error *err)
{
	struct done_state *d = arg;

	d->called++;
	d->rc = rc;
	if (err != NULL)
		d->err = *err;
}

/* encrypt-item.md: materials, keyring OnEncrypt, then the item itself. */
static int bench_encrypt(const struct config_table *t, struct keyring *kr, cJSON *item,
			 struct ds_error *err) __attribute__((warn_unused_result));
static int bench_encrypt(const struct config_table *t, struct keyring *kr, cJSON *item,
			 struct ds_error *err)
{
	struct materials m;
	struct done_state d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_encrypt_materials(t, item, &m, err) != 0)
		goto cleanup;
	keyring_on_encrypt(kr, &m, on_done, &d);
	if (d.called != 1 || d.rc != 0) {
		*err = d.err;
		goto cleanup;
	}
	rc = item_encrypt(t, &m, item, err);
cleanup:
	materials_cleanup(&m);
	return rc;
}

/* decrypt-item.md: header, materials, keyring OnDecrypt, then the item itself. */
static int bench_decrypt(const struct config_table *t, struct keyring *kr, cJSON *item,
			 struct ds_error *err) __attribute__((warn_unused_result));
static int bench_decrypt(const struct config_table *t, struct keyring *kr, cJSON *item,
			 struct ds_error *err)
{
	struct item_header h;
	struct materials m;
	struct done_state d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if (item_read_header(t, item, &h, err) != 0)
		return -1;
	if (item_decrypt_materials(t, &h, &m, err) != 0)
		goto cleanup;
	keyring_on_decrypt(kr, &m, h.edks, h.edks_len, on_done, &d);
	if (d.called != 1 || d.rc != 0) {
		*err = d.err;
		goto cleanup;
	}
	rc = item_decrypt(t, &m, &h, item, err);
cleanup:
	materials_cleanup(&m);
	item_header_cleanup(&h);
	return rc;
}

/* The shape the primitives need, from the plaintext item and its encrypted form. */
static int shape_of(const struct config_table *t, const cJSON *plain, const cJSON *enc,
		    struct item_shape *s) __attribute__((warn_unused_result));
static int shape_of(const struct config_table *t, const cJSON *plain, const cJSON *enc,
		    struct item_shape *s)
{
	const cJSON *hv = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(enc, ITEM_HEAD_ATTR), "B");
	struct enc_ctx ec;
	struct ds_error err;
	struct bufwrite w;
	const cJSON *a;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	ec_init(&ec);
	bufwrite_init(&w);
	ds_error_clear(&err);
	if (hv == NULL || !cJSON_IsString(hv))
		goto cleanup;
	s->header_len = (strlen(hv->valuestring) / 4) * 3;
	if (item_encryption_context(t, plain, &ec, &err) != 0)
		goto cleanup;
	ec_serialize(&ec, 0, 1, &w);
	if (w.failed)
		goto cleanup;
	s->ec_aad_len = w.len;
	/* Canonical record (footer.md): header, 8-byte length + context, then per signed
	 * attribute its path, 8 + 9 (+2) framing bytes and its stored value. */
	s->canon_len = s->header_len + 8 + w.len;
	cJSON_ArrayForEach(a, plain) {
		enum attr_action act = ACTION_DO_NOTHING;
		struct bufwrite v;
		const char *why = NULL;
		uint16_t type_id = 0;
		size_t path_len = strlen(a->string) + 16;   /* list of one "M" segment: name + framing */

		if (config_table_action(t, a->string, strlen(a->string), &act) != 0 ||
		    act == ACTION_DO_NOTHING)
			continue;
		bufwrite_init(&v);
		if (attr_serialize(a, &type_id, &v, &why) != 0 || v.failed) {
			bufwrite_cleanup(&v);
			goto cleanup;
		}
		if (act == ACTION_ENCRYPT_AND_SIGN) {
			if (s->nfields == BENCH_MAX_FIELDS) {
				bufwrite_cleanup(&v);
				goto cleanup;
			}
			s->field_len[s->nfields] = v.len;
			s->path_len[s->nfields] = path_len;
			s->nfields++;
			s->canon_len += path_len + 17 + 2 + v.len + 16;
		} else {
			s->canon_len += path_len + 19 + v.len;
		}
		bufwrite_cleanup(&v);
	}
	rc = 0;
cleanup:
	bufwrite_cleanup(&w);
	ec_cleanup(&ec);
	return rc;
}

static int floor_init(struct floor_ctx *f) __attribute__((warn_unused_result));
static int floor_init(struct floor_ctx *f)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM p384[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA384", 0),
			      OSSL_PARAM_construct_end() };
	OSSL_PARAM p512[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA512", 0),
			      OSSL_PARAM_construct_end() };
	int rc = -1;

	memset(f, 0, sizeof(*f));
	f->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	f->ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	f->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	f->gcm_enc = EVP_CIPHER_CTX_new();
	f->gcm_dec = EVP_CIPHER_CTX_new();
	f->ctr_ctx = EVP_CIPHER_CTX_new();
	f->mdctx = EVP_MD_CTX_new();
	if (mac == NULL || f->gcm == NULL || f->ctr == NULL || f->sha384 == NULL ||
	    f->gcm_enc == NULL || f->gcm_dec == NULL || f->ctr_ctx == NULL || f->mdctx == NULL ||
	    EVP_CipherInit_ex2(f->gcm_enc, f->gcm, NULL, NULL, 1, NULL) != 1 ||
	    EVP_CipherInit_ex2(f->gcm_dec, f->gcm, NULL, NULL, 0, NULL) != 1 ||
	    EVP_CipherInit_ex2(f->ctr_ctx, f->ctr, NULL, NULL, 1, NULL) != 1)
		goto cleanup;
	f->hmac384 = EVP_MAC_CTX_new(mac);
	f->hmac512 = EVP_MAC_CTX_new(mac);
	if (f->hmac384 == NULL || f->hmac512 == NULL ||
	    EVP_MAC_CTX_set_params(f->hmac384, p384) != 1 ||
	    EVP_MAC_CTX_set_params(f->hmac512, p512) != 1)
		goto cleanup;
	rc = 0;
cleanup:
	EVP_MAC_free(mac);
	return rc;
}

static void floor_free(struct floor_ctx *f)
{
	EVP_CIPHER_free(f->gcm);
	EVP_CIPHER_free(f->ctr);
	EVP_MD_free(f->sha384);
	EVP_CIPHER_CTX_free(f->gcm_enc);
	EVP_CIPHER_CTX_free(f->gcm_dec);
	EVP_CIPHER_CTX_free(f->ctr_ctx);
	EVP_MD_CTX_free(f->mdctx);
	EVP_MAC_CTX_free(f->hmac384);
	EVP_MAC_CTX_free(f->hmac512);
}

/* The floor's primitives; each returns 0 or -1. */
static int floor_gcm(struct floor_ctx *f, int enc, const unsigned char *key,
		     const unsigned char *iv, const unsigned char *aad, size_t aad_len,
		     const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
	__attribute__((warn_unused_result));
static int floor_gcm(struct floor_ctx *f, int enc, const unsigned char *key,
		     const unsigned char *iv, const unsigned char *aad, size_t aad_len,
		     const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *c = enc ? f->gcm_enc : f->gcm_dec;
	int n = 0;

	if (EVP_CipherInit_ex2(c, NULL, key, iv, enc, NULL) != 1 ||
	    (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1) ||
	    (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1))
		return -1;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return -1;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		return -1;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return -1;
	return 0;
}

static int floor_ctr(struct floor_ctx *f, const unsigned char *key, const unsigned char *iv,
		     unsigned char *out, size_t len) __attribute__((warn_unused_result));
static int floor_ctr(struct floor_ctx *f, const unsigned char *key, const unsigned char *iv,
		     unsigned char *out, size_t len)
{
	int n = 0;

	memset(out, 0, len);
	return EVP_EncryptInit_ex2(f->ctr_ctx, NULL, key, iv, NULL) == 1 &&
	       EVP_EncryptUpdate(f->ctr_ctx, out, &n, out, (int)len) == 1 ? 0 : -1;
}

static int floor_hmac(EVP_MAC_CTX *c, const unsigned char *key, size_t key_len,
		      const unsigned char *msg, size_t len, unsigned char *out)
	__attribute__((warn_unused_result));
static int floor_hmac(EVP_MAC_CTX *c, const unsigned char *key, size_t key_len,
		      const unsigned char *msg, size_t len, unsigned char *out)
{
	size_t n = 0;

	return EVP_MAC_init(c, key, key_len, NULL) == 1 && EVP_MAC_update(c, msg, len) == 1 &&
	       EVP_MAC_final(c, out, &n, 64) == 1 ? 0 : -1;
}

/* RFC 5869 HKDF-SHA512 without salt, 32 bytes out, on the reused HMAC-SHA512 context:
 * extract PRK = HMAC(0^64, ikm), expand T(1) = HMAC(PRK, info || 0x01).  (OpenSSL's own
 * EVP_KDF "HKDF" costs several times more per call: it sets up HMAC contexts each time.) */
static int floor_hkdf(struct floor_ctx *f, const unsigned char *ikm, size_t info_len,
		      unsigned char *out) __attribute__((warn_unused_result));
static int floor_hkdf(struct floor_ctx *f, const unsigned char *ikm, size_t info_len,
		      unsigned char *out)
{
	static const unsigned char zeros[64];
	static unsigned char info[65];
	unsigned char prk[64], t[64];
	size_t n = 0;
	int rc = -1;

	info[info_len] = 0x01;
	if (floor_hmac(f->hmac512, zeros, sizeof(zeros), ikm, 32, prk) != 0 ||
	    EVP_MAC_init(f->hmac512, prk, sizeof(prk), NULL) != 1 ||
	    EVP_MAC_update(f->hmac512, info, info_len + 1) != 1 ||
	    EVP_MAC_final(f->hmac512, t, &n, sizeof(t)) != 1)
		goto cleanup;
	memcpy(out, t, 32);
	rc = 0;
cleanup:
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

static int floor_sha384(struct floor_ctx *f, const unsigned char *msg, size_t len,
			unsigned char *out) __attribute__((warn_unused_result));
static int floor_sha384(struct floor_ctx *f, const unsigned char *msg, size_t len,
			unsigned char *out)
{
	unsigned int n = 0;

	return EVP_DigestInit_ex2(f->mdctx, f->sha384, NULL) == 1 &&
	       EVP_DigestUpdate(f->mdctx, msg, len) == 1 &&
	       EVP_DigestFinal_ex(f->mdctx, out, &n) == 1 ? 0 : -1;
}

/* One item's primitives, floor version; enc selects the write direction. */
static int floor_item(struct floor_ctx *f, struct prim_bufs *b, const struct item_shape *s,
		      int enc) __attribute__((warn_unused_result));
static int floor_item(struct floor_ctx *f, struct prim_bufs *b, const struct item_shape *s,
		      int enc)
{
	unsigned char k[64], k2[64], h[64], rnd[128];
	int bad = 0;

	if (enc)
		bad |= RAND_bytes(rnd, 32 + 32 + 12 + 32) != 1;   /* data key, IKM, IV, message id */
	/* keyring: raw AES-GCM of the intermediate key, then IKW (2 HKDF + GCM of the data key) */
	bad |= floor_gcm(f, enc, b->key, b->iv, b->aad, s->ec_aad_len, enc ? b->key : b->key_ct,
			 32, k, enc ? k2 : b->key_tag);
	bad |= floor_hkdf(f, b->key, 32, k);
	bad |= floor_hkdf(f, b->key, 32, k2);
	bad |= floor_gcm(f, enc, b->key, b->iv, b->aad, s->ec_aad_len, enc ? b->key : b->key_ct,
			 32, k, enc ? k2 : b->key_tag);
	/* header commitment: HKDF then HMAC-SHA512 over the header before the commitment */
	bad |= floor_hkdf(f, b->key, 18 + 32, k);
	bad |= floor_hmac(f->hmac512, k, 32, b->in, s->header_len > 32 ? s->header_len - 32 : 0, h);
	/* field root key, then per field: 44 bytes of CTR and the value's GCM */
	bad |= floor_hkdf(f, b->key, 18 + 32, k);
	for (size_t i = 0; i < s->nfields; i++) {
		bad |= floor_ctr(f, b->key, b->iv, k, 44);
		bad |= floor_gcm(f, enc, b->key, b->iv, b->aad, s->path_len[i],
				 enc ? b->in : b->ct, s->field_len[i], b->out,
				 enc ? k2 : b->tags[i]);
	}
	/* footer: SHA-384 of the canonical record, HMAC-SHA384 of the hash */
	bad |= floor_sha384(f, b->in, s->canon_len, h);
	bad |= floor_hmac(f->hmac384, b->key, 32, h, 48, k);
	return bad ? -1 : 0;
}

/* The same primitives through crypto/item/suite.h, as the product calls them. */
static int suite_item(struct prim_bufs *b, const struct item_shape *s, int enc)
	__attribute__((warn_unused_result));
static int suite_item(struct prim_bufs *b, const struct item_shape *s, int enc)
{
	static const unsigned char info[64];
	unsigned char k[64], k2[64], h[64], rnd[128];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int bad = md == NULL;

	if (enc)
		bad |= suite_random(rnd, 32 + 32 + 12 + 32) != 0;
	for (int w = 0; w < 2; w++)
		bad |= enc ? suite_gcm_encrypt(b->key, b->iv, 12, b->aad, s->ec_aad_len, b->key, 32,
					       k, k2) != 0
			   : suite_gcm_decrypt(b->key, b->iv, 12, b->aad, s->ec_aad_len, b->key_ct,
					       32, b->key_tag, k) != 0;
	bad |= suite_hkdf_sha512(b->key, 32, info, 32, k, 32) != 0;
	bad |= suite_hkdf_sha512(b->key, 32, info, 32, k2, 32) != 0;
	bad |= suite_hkdf_sha512(b->key, 32, info, 18 + 32, k, 32) != 0;
	bad |= suite_hmac(EVP_sha512(), k, 32, b->in, s->header_len > 32 ? s->header_len - 32 : 0,
			  h) != 0;
	bad |= suite_hkdf_sha512(b->key, 32, info, 18 + 32, k, 32) != 0;
	for (size_t i = 0; i < s->nfields; i++) {
		bad |= suite_ctr_stream(b->key, b->iv, k, 44) != 0;
		bad |= enc ? suite_gcm_encrypt(b->key, b->iv, 12, b->aad, s->path_len[i], b->in,
					       s->field_len[i], b->out, k2) != 0
			   : suite_gcm_decrypt(b->key, b->iv, 12, b->aad, s->path_len[i], b->ct,
					       s->field_len[i], b->tags[i], b->out) != 0;
	}
	/* item_footer.c hashes with a fresh EVP_MD_CTX and EVP_sha384() per item */
	bad |= !bad && (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 ||
			EVP_DigestUpdate(md, b->in, s->canon_len) != 1 ||
			EVP_DigestFinal_ex(md, h, &n) != 1);
	bad |= suite_hmac(EVP_sha384(), b->key, 32, h, 48, k) != 0;
	EVP_MD_CTX_free(md);
	return bad ? -1 : 0;
}

/* Plaintext, its ciphertext and valid tags, so the decrypt direction authenticates: GCM is a
 * counter mode, so a prefix of the ciphertext of b->in is the ciphertext of that prefix. */
static int bufs_init(struct prim_bufs *b, const struct item_shape *s)
	__attribute__((warn_unused_result));
static int bufs_init(struct prim_bufs *b, const struct item_shape *s)
{
	unsigned char tag[16];

	memset(b, 0, sizeof(*b));
	b->cap = s->canon_len + 64;
	for (size_t i = 0; i < s->nfields; i++)
		if (s->field_len[i] + 64 > b->cap)
			b->cap = s->field_len[i] + 64;
	if (s->ec_aad_len + 64 > b->cap)
		b->cap = s->ec_aad_len + 64;
	b->in = calloc(1, b->cap);
	b->ct = calloc(1, b->cap);
	b->out = calloc(1, b->cap);
	b->aad = calloc(1, b->cap);
	if (b->in == NULL || b->ct == NULL || b->out == NULL || b->aad == NULL)
		return -1;
	if (RAND_bytes(b->key, sizeof(b->key)) != 1 || RAND_bytes(b->iv, sizeof(b->iv)) != 1 ||
	    RAND_bytes(b->in, (int)b->cap) != 1)
		return -1;
	if (suite_gcm_encrypt(b->key, b->iv, 12, b->aad, s->ec_aad_len, b->key, 32, b->key_ct,
			      b->key_tag) != 0 ||
	    suite_gcm_encrypt(b->key, b->iv, 12, NULL, 0, b->in, b->cap, b->ct, tag) != 0)
		return -1;
	for (size_t i = 0; i < s->nfields; i++)
		if (suite_gcm_encrypt(b->key, b->iv, 12, b->aad, s->path_len[i], b->in,
				      s->field_len[i], b->out, b->tags[i]) != 0)
			return -1;
	return 0;
}

static void bufs_free(struct prim_bufs *b)
{
	free(b->in);
	free(b->ct);
	free(b->out);
	free(b->aad);
}

/* What one run measures, in microseconds per item. */
struct bench_result {
	double enc_us;          /* item_encrypt_materials + keyring + item_encrypt */
	double dec_us;          /* item_read_header + materials + keyring + item_decrypt */
	double floor_enc_us;    /* the write's primitives, fetched once, contexts reused */
	double floor_dec_us;    /* the read's primitives, same */
	double suite_enc_us;    /* the write's primitives through crypto/item/suite.h */
	double suite_dec_us;    /* the read's primitives through crypto/item/suite.h */
	double parse_us;        /* cJSON_Parse of the stored item's JSON */
	double print_us;        /* cJSON_PrintUnformatted of the decrypted item */
};

/* Fastest batch mean of item encrypts (enc) or decrypts; a fresh copy each, not timed. */
static int time_item(const struct config_table *t, struct keyring *kr, const cJSON *src,
		     int enc, int iters, double *us) __attribute__((warn_unused_result));
static int time_item(const struct config_table *t, struct keyring *kr, const cJSON *src,
		     int enc, int iters, double *us)
{
	struct ds_error err;

	*us = 1e30;
	ds_error_clear(&err);
	for (int b = 0; b < BENCH_BATCHES; b++) {
		double sum = 0;

		for (int i = 0; i < iters; i++) {
			cJSON *item = cJSON_Duplicate(src, 1);
			double t0;
			int rc;

			if (item == NULL)
				return -1;
			t0 = now_us();
			rc = enc ? bench_encrypt(t, kr, item, &err) : bench_decrypt(t, kr, item, &err);
			sum += now_us() - t0;
			cJSON_Delete(item);
			if (rc != 0) {
				fprintf(stderr, "item_bench: %s failed: %s\n", enc ? "encrypt" : "decrypt",
					err.message);
				return -1;
			}
		}
		if (sum / iters < *us)
			*us = sum / iters;
	}
	return 0;
}

/* Fastest batch mean of one item's primitives: floor (use_floor) or through suite.h. */
static int time_prims(struct floor_ctx *f, struct prim_bufs *b, const struct item_shape *s,
		      int use_floor, int enc, int iters, double *us)
	__attribute__((warn_unused_result));
static int time_prims(struct floor_ctx *f, struct prim_bufs *b, const struct item_shape *s,
		      int use_floor, int enc, int iters, double *us)
{
	*us = 1e30;
	for (int r = 0; r < BENCH_BATCHES; r++) {
		double t0 = now_us();

		for (int i = 0; i < iters; i++)
			if ((use_floor ? floor_item(f, b, s, enc) : suite_item(b, s, enc)) != 0) {
				fprintf(stderr, "item_bench: a primitive failed\n");
				return -1;
			}
		t0 = (now_us() - t0) / iters;
		if (t0 < *us)
			*us = t0;
	}
	return 0;
}

/* Per-primitive floor costs (decrypt direction), so the report can name what dominates. */
static int floor_breakdown(struct floor_ctx *f, struct prim_bufs *b, const struct item_shape *s,
			   int iters) __attribute__((warn_unused_result));
static int floor_breakdown(struct floor_ctx *f, struct prim_bufs *b, const struct item_shape *s,
			   int iters)
{
	static const char *names[] = { "AES-256-GCM open, 32-byte key + AAD", "HKDF-SHA512, 32 bytes",
				       "HMAC-SHA512 of the header", "AES-256-CTR, 44 bytes",
				       "AES-256-GCM open, first field", "SHA-384 of the canonical record",
				       "HMAC-SHA384 of the hash" };
	unsigned char k[64], h[64];

	for (int op = 0; op < 7; op++) {
		double t0 = now_us();
		int bad = 0;

		for (int i = 0; i < iters; i++) {
			switch (op) {
			case 0:
				bad |= floor_gcm(f, 0, b->key, b->iv, b->aad, s->ec_aad_len, b->key_ct,
						 32, k, b->key_tag);
				break;
			case 1:
				bad |= floor_hkdf(f, b->key, 50, k);
				break;
			case 2:
				bad |= floor_hmac(f->hmac512, b->key, 32, b->in, s->header_len - 32, h);
				break;
			case 3:
				bad |= floor_ctr(f, b->key, b->iv, k, 44);
				break;
			case 4:
				bad |= s->nfields ? floor_gcm(f, 0, b->key, b->iv, b->aad, s->path_len[0],
							      b->ct, s->field_len[0], b->out,
							      b->tags[0])
						  : 0;
				break;
			case 5:
				bad |= floor_sha384(f, b->in, s->canon_len, h);
				break;
			default:
				bad |= floor_hmac(f->hmac384, b->key, 32, h, 48, k);
				break;
			}
		}
		if (bad)
			return -1;
		printf("    floor %-38s %7.3f us each\n", names[op], (now_us() - t0) / iters);
	}
	return 0;
}

/* Fastest batch mean of parsing the stored item's JSON and printing the plaintext item. */
static int time_json(const char *stored, const cJSON *plain, int iters, struct bench_result *r)
	__attribute__((warn_unused_result));
static int time_json(const char *stored, const cJSON *plain, int iters, struct bench_result *r)
{
	r->parse_us = r->print_us = 1e30;
	for (int b = 0; b < BENCH_BATCHES; b++) {
		double t0 = now_us(), t1;

		for (int i = 0; i < iters; i++) {
			cJSON *j = cJSON_Parse(stored);

			if (j == NULL)
				return -1;
			cJSON_Delete(j);
		}
		t1 = now_us();
		for (int i = 0; i < iters; i++) {
			char *s = cJSON_PrintUnformatted(plain);

			if (s == NULL)
				return -1;
			free(s);
		}
		if ((t1 - t0) / iters < r->parse_us)
			r->parse_us = (t1 - t0) / iters;
		if ((now_us() - t1) / iters < r->print_us)
			r->print_us = (now_us() - t1) / iters;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config_problems problems;
	struct config *cfg = NULL;
	const struct config_table *t;
	struct keyring *kr = NULL;
	struct floor_ctx f;
	struct prim_bufs b;
	struct item_shape s;
	struct bench_result r;
	struct ds_error err;
	cJSON *plain = NULL, *enc = NULL;
	char *text = NULL, *stored = NULL;
	size_t text_len = 0;
	int iters = argc > 4 ? atoi(argv[4]) : 2000;
	int rc = 1;

	memset(&problems, 0, sizeof(problems));
	memset(&f, 0, sizeof(f));
	memset(&b, 0, sizeof(b));
	ds_error_clear(&err);
	if (argc < 4 || iters <= 0) {
		fprintf(stderr, "usage: item_bench CONFIG TABLE ITEM_JSON_FILE [ITERATIONS]\n");
		return 2;
	}
	cfg = config_load(argv[1], &problems);
	if (cfg == NULL) {
		fprintf(stderr, "item_bench: %s does not load:\n", argv[1]);
		(void)config_print_problems(&problems, stderr);
		goto cleanup;
	}
	t = config_find_table(cfg, argv[2], strlen(argv[2]));
	if (t == NULL || t->keyring_ref == NULL ||
	    (kr = keyring_new_from_config(t->keyring_ref, NULL, &kr_err)) == NULL) {
		fprintf(stderr, "item_bench: table %s with a raw-aes keyring is not in %s\n", argv[2],
			argv[1]);
		goto cleanup;
	}
	text = read_file(argv[3], &text_len);
	if (text == NULL || (plain = cJSON_Parse(text)) == NULL ||
	    (enc = cJSON_Duplicate(plain, 1)) == NULL) {
		fprintf(stderr, "item_bench: %s is not an item in DynamoDB JSON\n", argv[3]);
		goto cleanup;
	}
	if (bench_encrypt(t, kr, enc, &err) != 0) {
		fprintf(stderr, "item_bench: encrypt: %s\n", err.message);
		goto cleanup;
	}
	if ((stored = cJSON_PrintUnformatted(enc)) == NULL || shape_of(t, plain, enc, &s) != 0 ||
	    floor_init(&f) != 0 || bufs_init(&b, &s) != 0) {
		fprintf(stderr, "item_bench: setup failed\n");
		goto cleanup;
	}
	/* warm caches and OpenSSL's provider lookups once */
	if (time_item(t, kr, plain, 1, iters / 10 + 1, &r.enc_us) != 0 ||
	    time_item(t, kr, plain, 1, iters, &r.enc_us) != 0 ||
	    time_item(t, kr, enc, 0, iters, &r.dec_us) != 0 ||
	    time_prims(&f, &b, &s, 1, 1, iters, &r.floor_enc_us) != 0 ||
	    time_prims(&f, &b, &s, 1, 0, iters, &r.floor_dec_us) != 0 ||
	    time_prims(&f, &b, &s, 0, 1, iters, &r.suite_enc_us) != 0 ||
	    time_prims(&f, &b, &s, 0, 0, iters, &r.suite_dec_us) != 0 ||
	    time_json(stored, plain, iters, &r) != 0)
		goto cleanup;

	printf("item: %zu bytes as JSON in, %zu stored; %zu encrypted fields (%zu serialized bytes "
	       "in the first), header %zu bytes, canonical record %zu bytes, context AAD %zu bytes\n",
	       text_len, strlen(stored), s.nfields, s.nfields ? s.field_len[0] : 0, s.header_len,
	       s.canon_len, s.ec_aad_len);
	printf("  %-44s %9.2f us\n", "item encrypt (item_crypt.h, raw-aes)", r.enc_us);
	printf("  %-44s %9.2f us\n", "  its primitives via crypto/item/suite.h", r.suite_enc_us);
	printf("  %-44s %9.2f us\n", "  its primitives, floor (fetched once)", r.floor_enc_us);
	printf("  %-44s %9.2f us\n", "item decrypt (item_crypt.h, raw-aes)", r.dec_us);
	printf("  %-44s %9.2f us\n", "  its primitives via crypto/item/suite.h", r.suite_dec_us);
	printf("  %-44s %9.2f us\n", "  its primitives, floor (fetched once)", r.floor_dec_us);
	if (floor_breakdown(&f, &b, &s, iters) != 0)
		goto cleanup;
	printf("  %-44s %9.2f us\n", "cJSON_Parse of the stored item", r.parse_us);
	printf("  %-44s %9.2f us\n", "cJSON_PrintUnformatted of the plain item", r.print_us);
	printf("  decrypt/floor = %.2fx, encrypt/floor = %.2fx\n", r.dec_us / r.floor_dec_us,
	       r.enc_us / r.floor_enc_us);
	printf("ITEM_BENCH bytes=%zu enc_us=%.2f dec_us=%.2f suite_enc_us=%.2f suite_dec_us=%.2f "
	       "floor_enc_us=%.2f floor_dec_us=%.2f parse_us=%.2f print_us=%.2f "
	       "dec_ratio=%.2f enc_ratio=%.2f\n",
	       text_len, r.enc_us, r.dec_us, r.suite_enc_us, r.suite_dec_us, r.floor_enc_us,
	       r.floor_dec_us, r.parse_us, r.print_us, r.dec_us / r.floor_dec_us,
	       r.enc_us / r.floor_enc_us);
	rc = 0;
cleanup:
	bufs_free(&b);
	floor_free(&f);
	cJSON_Delete(plain);
	cJSON_Delete(enc);
	free(text);
	free(stored);
	keyring_free(kr);
	if (cfg != NULL)
		config_free(cfg);
	config_problems_free(&problems);
	return rc;
}
