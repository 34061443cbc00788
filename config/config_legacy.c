/*
 * A table's "legacy" block: how to read the items the legacy DynamoDB Encryption Client wrote
 * (DB-ESDK ddb-table-encryption-config.md#legacy-config, with the reading policies only):
 *
 *   "legacy": { "policy": "allow-read" | "forbid",
 *               "provider": { "type": "static", "encryption_key_file": F, "signing_key_file": F }
 *                         | { "type": "wrapped", "wrapping_key_file": F, "signing_key_file": F }
 *                         | { "type": "aws-kms", "key_id": ARN },
 *               "attribute_actions": { "default": "ENCRYPT_AND_SIGN", "encrypt": [...],
 *                                      "sign_only": [...], "do_nothing": [...] } }
 *
 * A symmetric key file holds the key's base64; an RSA key file a PEM key (a private key to
 * unwrap, a public key to verify).  "signing_algorithm" names the signing key's JCE algorithm.
 * Every key is read and checked here so that `dynaseal check` reports a bad one.  As in the
 * DB-ESDK, a legacy block is refused beside plaintext_policy "allow-read" and beside a search
 * block (a legacy item has no beacons: queries on them would silently miss it).
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proxy/base/codec.h"

/* Largest key file: an RSA-4096 private key in PEM is about 3.3 KiB. */
#define LEGACY_KEY_FILE_MAX (16u << 10)
/* Longest HMAC key the legacy client accepts here (a SHA-512 block; legacy_materials.h). */
#define LEGACY_HMAC_KEY_MAX 128

static const char *const legacy_keys[] = { "policy", "provider", "attribute_actions", NULL };
static const char *const action_keys[] = { "default", "encrypt", "sign_only", "do_nothing", NULL };

/* What a key file may hold. */
enum key_kind {
	KEY_AES,                /* base64 of 16, 24 or 32 bytes */
	KEY_AES_OR_RSA_PRIVATE, /* that, or a PEM RSA private key */
	KEY_HMAC_OR_RSA_PUBLIC, /* base64 of 1 to 128 bytes, or a PEM RSA public key */
};

/* One row per key file of a provider: its key, the field it fills, what it may hold. */
struct key_row {
	const char *key;
	size_t offset;          /* offsetof(struct config_legacy, field) */
	enum key_kind kind;
};

/* One row per provider type: its name, its keys ("type" included) and its key files. */
struct provider_row {
	const char *name;
	enum config_legacy_provider type;
	const char *const keys[6];
	struct key_row files[2];
	size_t files_len;
};

static const struct provider_row providers[] = {
	{ "static", CONFIG_LEGACY_STATIC,
	  { "type", "encryption_key_file", "signing_key_file", "signing_algorithm", NULL },
	  { { "encryption_key_file", offsetof(struct config_legacy, content_key), KEY_AES },
	    { "signing_key_file", offsetof(struct config_legacy, signing_key), KEY_HMAC_OR_RSA_PUBLIC } },
	  2 },
	{ "wrapped", CONFIG_LEGACY_WRAPPED,
	  { "type", "wrapping_key_file", "signing_key_file", "signing_algorithm", NULL },
	  { { "wrapping_key_file", offsetof(struct config_legacy, wrapping_key), KEY_AES_OR_RSA_PRIVATE },
	    { "signing_key_file", offsetof(struct config_legacy, signing_key), KEY_HMAC_OR_RSA_PUBLIC } },
	  2 },
	{ "aws-kms", CONFIG_LEGACY_AWS_KMS, { "type", "key_id", NULL }, { { 0 } }, 0 },
};

/* The signing algorithms of the legacy client (JCE names), HMAC first. */
static const char *const sig_algs[] = {
	"HmacSHA224", "HmacSHA256", "HmacSHA384", "HmacSHA512",
	"SHA224withRSA", "SHA256withRSA", "SHA384withRSA", "SHA512withRSA",
};
#define SIG_ALGS_HMAC 4

/* The legacy actions, as "attribute_actions.default" names them. */
static const struct {
	const char *name;
	enum attr_action action;
} action_words[] = {
	{ "ENCRYPT_AND_SIGN", ACTION_ENCRYPT_AND_SIGN },
	{ "SIGN_ONLY", ACTION_SIGN_ONLY },
	{ "DO_NOTHING", ACTION_DO_NOTHING },
};

static void key_cleanup(struct config_legacy_key *k)
{
	if (k->bytes != NULL)
		OPENSSL_cleanse(k->bytes, k->len);
	free(k->bytes);
	k->bytes = NULL;
	k->len = 0;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void cfg_legacy_cleanup(struct config_legacy *l)
{
	if (l == NULL)
		return;
	key_cleanup(&l->content_key);
	key_cleanup(&l->wrapping_key);
	key_cleanup(&l->signing_key);
	free(l->signing_algorithm);
	free(l->key_id);
	names_free(l->encrypt, l->encrypt_len);
	names_free(l->sign_only, l->sign_only_len);
	names_free(l->do_nothing, l->do_nothing_len);
	free(l);
}

/* A PEM RSA key (private when want_private) as DER into k.  0, or -1 with *why set. */
static int rsa_from_pem(const unsigned char *pem, size_t len, int want_private,
			struct config_legacy_key *k, const char **why)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	int n = -1;

	if (bio != NULL)
		pk = want_private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
				  : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	ERR_clear_error();
	BIO_free(bio);
	if (pk == NULL) {
		*why = want_private ? "is PEM but holds no readable private key (PKCS#8 or PKCS#1, "
				      "unencrypted)" : "is PEM but holds no readable public key "
				      "(\"BEGIN PUBLIC KEY\")";
		return -1;
	}
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		*why = "holds a key that is not RSA";
		EVP_PKEY_free(pk);
		return -1;
	}
	n = want_private ? i2d_PrivateKey(pk, &der) : i2d_PUBKEY(pk, &der);
	EVP_PKEY_free(pk);
	if (n <= 0) {
		*why = "holds an RSA key that could not be converted";
		return -1;
	}
	k->bytes = malloc((size_t)n);
	if (k->bytes != NULL) {
		memcpy(k->bytes, der, (size_t)n);
		k->len = (size_t)n;
		k->rsa = 1;
	}
	OPENSSL_clear_free(der, (size_t)n);
	if (k->bytes == NULL) {
		*why = "could not be loaded (out of memory)";
		return -1;
	}
	return 0;
}

/* The base64 text of a symmetric key into k.  0, or -1 with *why set. */
static int sym_from_b64(const unsigned char *text, size_t len, enum key_kind kind,
			struct config_legacy_key *k, const char **why)
{
	unsigned char *raw = malloc(CODEC_B64_DEC_MAX(len) + 1);
	long n;

	if (raw == NULL) {
		*why = "could not be loaded (out of memory)";
		return -1;
	}
	n = codec_b64_decode((const char *)text, len, raw);
	if (n < 0)
		*why = "is neither the base64 of a key nor a PEM key";
	else if (kind == KEY_HMAC_OR_RSA_PUBLIC && (n == 0 || n > LEGACY_HMAC_KEY_MAX))
		*why = "holds the base64 of a key that is not 1 to 128 bytes long";
	else if (kind != KEY_HMAC_OR_RSA_PUBLIC && n != 16 && n != 24 && n != 32)
		*why = "holds the base64 of a key that is not 16, 24 or 32 bytes long (AES)";
	else {
		k->bytes = raw;
		k->len = (size_t)n;
		return 0;
	}
	OPENSSL_cleanse(raw, CODEC_B64_DEC_MAX(len) + 1);
	free(raw);
	return -1;
}

/* Reads the key file named by obj.row->key (a path) into the row's field of l. */
static void load_key(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		     const struct key_row *row, struct config_legacy *l)
{
	struct config_legacy_key *k = (void *)((unsigned char *)l + row->offset);
	char kp[CFG_PATH_MAX], why_read[256], q[128];
	unsigned char *buf = NULL;
	const char *why = NULL;
	size_t len = 0, start = 0, end;
	const char *s;
	char *file;

	if (cfg_get_string(ctx, obj, path, row->key, 1, &s) != CFG_OK)
		return;
	cfg_path(kp, sizeof(kp), path, row->key);
	cfg_quote(q, sizeof(q), s);
	if ((file = cfg_resolve_path(ctx, s)) == NULL)
		return;
	if (cfg_read_file(file, LEGACY_KEY_FILE_MAX, &buf, &len, why_read, sizeof(why_read)) != 0) {
		cfg_problem(ctx, kp, "cannot read key file \"%s\": %s", q, why_read);
		free(file);
		return;
	}
	free(file);
	end = len;
	while (start < end && isspace(buf[start]))
		start++;
	while (end > start && isspace(buf[end - 1]))
		end--;
	if (end - start >= 10 && memcmp(buf + start, "-----BEGIN", 10) == 0) {
		if (row->kind == KEY_AES)
			why = "holds a PEM key; this provider needs an AES key (its base64)";
		else
			(void)rsa_from_pem(buf + start, end - start,
					   row->kind == KEY_AES_OR_RSA_PRIVATE, k, &why);
	} else {
		(void)sym_from_b64(buf + start, end - start, row->kind, k, &why);
	}
	if (k->bytes == NULL)
		cfg_problem(ctx, kp, "key file \"%s\" %s", q, why != NULL ? why : "cannot be used");
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* "signing_algorithm": known, and of the signing key's kind (HMAC or RSA). */
static void parse_signing_alg(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			      struct config_legacy *l)
{
	char kp[CFG_PATH_MAX], q[128];
	const char *s;
	size_t i;
	int rsa;

	if (cfg_get_string(ctx, obj, path, "signing_algorithm", 0, &s) != CFG_OK)
		s = l->signing_key.rsa ? "SHA256withRSA" : "HmacSHA256";
	cfg_path(kp, sizeof(kp), path, "signing_algorithm");
	cfg_quote(q, sizeof(q), s);
	for (i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++)
		if (strcmp(s, sig_algs[i]) == 0)
			break;
	if (i == sizeof(sig_algs) / sizeof(sig_algs[0])) {
		cfg_problem(ctx, kp, "unknown signing algorithm \"%s\"; expected HmacSHA224, "
			    "HmacSHA256, HmacSHA384, HmacSHA512 or SHA224withRSA .. SHA512withRSA", q);
		return;
	}
	rsa = i >= SIG_ALGS_HMAC;
	if (l->signing_key.bytes != NULL && rsa != l->signing_key.rsa) {
		cfg_problem(ctx, kp, "signing algorithm \"%s\" needs %s, but signing_key_file holds "
			    "%s", q, rsa ? "an RSA public key (PEM)" : "an HMAC key (base64)",
			    l->signing_key.rsa ? "an RSA public key" : "a symmetric key");
		return;
	}
	l->signing_algorithm = cfg_strdup(ctx, s);
}

static void parse_provider(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			   struct config_legacy *l)
{
	const struct provider_row *row = NULL;
	char kp[CFG_PATH_MAX], q[128];
	const char *s;

	if (cfg_get_string(ctx, obj, path, "type", 1, &s) != CFG_OK)
		return;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		if (strcmp(s, providers[i].name) == 0)
			row = &providers[i];
	if (row == NULL) {
		cfg_path(kp, sizeof(kp), path, "type");
		cfg_quote(q, sizeof(q), s);
		cfg_problem(ctx, kp, "unknown legacy provider type \"%s\"; expected static, wrapped "
			    "or aws-kms (a most-recent provider's items are not read)", q);
		return;
	}
	cfg_check_keys(ctx, obj, path, row->keys);
	l->provider = row->type;
	l->has_provider = 1;
	for (size_t i = 0; i < row->files_len; i++)
		load_key(ctx, obj, path, &row->files[i], l);
	if (row->type != CONFIG_LEGACY_AWS_KMS) {
		parse_signing_alg(ctx, obj, path, l);
		return;
	}
	if (cfg_get_string(ctx, obj, path, "key_id", 1, &s) != CFG_OK)
		return;
	if (config_kms_ref(s) != KMS_REF_KEY_ARN) {
		cfg_path(kp, sizeof(kp), path, "key_id");
		cfg_quote(q, sizeof(q), s);
		cfg_problem(ctx, kp, "\"%s\" is not a KMS key ARN "
			    "(arn:aws:kms:REGION:ACCOUNT:key/ID); the legacy provider's key is "
			    "named by its ARN", q);
		return;
	}
	l->key_id = cfg_strdup(ctx, s);
}

/* One list of "attribute_actions" ("encrypt", "sign_only", "do_nothing") into names. */
static void parse_names(struct cfg_ctx *ctx, const cJSON *obj, const char *path, const char *key,
			char ***names, size_t *n)
{
	const cJSON *list = cfg_member(obj, key);
	char kp[CFG_PATH_MAX], ip[CFG_PATH_MAX], idx[24];
	size_t i = 0;

	if (list == NULL)
		return;
	cfg_path(kp, sizeof(kp), path, key);
	if (!cJSON_IsArray(list)) {
		cfg_problem(ctx, kp, "expected a list of attribute names, got %s", cfg_type_name(list));
		return;
	}
	if (cJSON_GetArraySize(list) == 0)
		return;
	if ((*names = calloc((size_t)cJSON_GetArraySize(list), sizeof(char *))) == NULL) {
		ctx->oom = 1;
		return;
	}
	for (const cJSON *c = list->child; c != NULL; c = c->next, i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		cfg_path(ip, sizeof(ip), kp, idx);
		if (!cJSON_IsString(c) || c->valuestring == NULL) {
			cfg_problem(ctx, ip, "expected a string, got %s", cfg_type_name(c));
			continue;
		}
		if (c->valuestring[0] == '\0') {
			cfg_problem(ctx, ip, "must not be empty");
			continue;
		}
		if (strcmp(c->valuestring, "*amzn-ddb-map-desc*") == 0 ||
		    strcmp(c->valuestring, "*amzn-ddb-map-sig*") == 0) {
			cfg_problem(ctx, ip, "\"%s\" is the legacy client's own attribute; it takes "
				    "no action", c->valuestring);
			continue;
		}
		if (((*names)[*n] = cfg_strdup(ctx, c->valuestring)) == NULL)
			return;
		(*n)++;
	}
}

/* Where name is listed ("encrypt", ...), from list index from on, or NULL. */
static const char *listed_in(const struct config_legacy *l, const char *name, int from)
{
	char **const lists[] = { l->encrypt, l->sign_only, l->do_nothing };
	const size_t lens[] = { l->encrypt_len, l->sign_only_len, l->do_nothing_len };

	for (int i = from; i < 3; i++)
		for (size_t k = 0; k < lens[i]; k++)
			if (strcmp(lists[i][k], name) == 0)
				return action_keys[i + 1];
	return NULL;
}

static void parse_actions(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
			  struct config_legacy *l)
{
	char **const *lists[] = { &l->encrypt, &l->sign_only, &l->do_nothing };
	const size_t *lens[] = { &l->encrypt_len, &l->sign_only_len, &l->do_nothing_len };
	char kp[CFG_PATH_MAX], q[128];
	const char *s;
	size_t i;

	cfg_check_keys(ctx, obj, path, action_keys);
	l->has_actions = 1;
	l->default_action = ACTION_ENCRYPT_AND_SIGN;
	if (cfg_get_string(ctx, obj, path, "default", 0, &s) == CFG_OK) {
		for (i = 0; i < sizeof(action_words) / sizeof(action_words[0]); i++)
			if (strcmp(s, action_words[i].name) == 0)
				break;
		if (i < sizeof(action_words) / sizeof(action_words[0])) {
			l->default_action = action_words[i].action;
		} else {
			cfg_path(kp, sizeof(kp), path, "default");
			cfg_quote(q, sizeof(q), s);
			cfg_problem(ctx, kp, "unknown legacy action \"%s\"; expected ENCRYPT_AND_SIGN, "
				    "SIGN_ONLY or DO_NOTHING", q);
		}
	}
	parse_names(ctx, obj, path, "encrypt", &l->encrypt, &l->encrypt_len);
	parse_names(ctx, obj, path, "sign_only", &l->sign_only, &l->sign_only_len);
	parse_names(ctx, obj, path, "do_nothing", &l->do_nothing, &l->do_nothing_len);
	/* Each name once in all lists: the first list naming it reports the later ones. */
	for (int li = 0; li < 3; li++) {
		for (i = 0; i < *lens[li]; i++) {
			const char *name = (*lists[li])[i];
			const char *again = NULL;

			for (size_t k = i + 1; k < *lens[li] && again == NULL; k++)
				if (strcmp((*lists[li])[k], name) == 0)
					again = action_keys[li + 1];
			if (again == NULL)
				again = listed_in(l, name, li + 1);
			if (again == NULL)
				continue;
			cfg_path(kp, sizeof(kp), path, action_keys[li + 1]);
			cfg_quote(q, sizeof(q), name);
			cfg_problem(ctx, kp, "\"%s\" is also listed in %s; an attribute has one "
				    "legacy action", q, again);
		}
	}
	/* The legacy client never encrypts key attributes (set_index_keys). */
	for (i = 0; i < l->keys_len; i++) {
		if (listed_in(l, l->keys[i], 0) == action_keys[1]) {
			cfg_path(kp, sizeof(kp), path, "encrypt");
			cfg_quote(q, sizeof(q), l->keys[i]);
			cfg_problem(ctx, kp, "\"%s\" is a key attribute of the table; the legacy client "
				    "signs key attributes but never encrypts them", q);
		}
	}
}

void cfg_parse_legacy(struct cfg_ctx *ctx, const cJSON *obj, const char *path,
		      struct config_table *t)
{
	struct config_legacy *l;
	char kp[CFG_PATH_MAX], q[128];
	const cJSON *sub;
	const char *s;

	if (!cJSON_IsObject(obj)) {
		cfg_problem(ctx, path, "expected an object, got %s", cfg_type_name(obj));
		return;
	}
	cfg_check_keys(ctx, obj, path, legacy_keys);
	if ((t->legacy = l = calloc(1, sizeof(*l))) == NULL) {
		ctx->oom = 1;
		return;
	}
	if (t->partition_key != NULL)
		l->keys[l->keys_len++] = t->partition_key;
	if (t->sort_key != NULL)
		l->keys[l->keys_len++] = t->sort_key;
	if (cfg_get_string(ctx, obj, path, "policy", 1, &s) == CFG_OK) {
		if (strcmp(s, "allow-read") == 0) {
			l->policy = LEGACY_POLICY_ALLOW_READ;
		} else if (strcmp(s, "forbid") != 0) {
			cfg_path(kp, sizeof(kp), path, "policy");
			cfg_quote(q, sizeof(q), s);
			cfg_problem(ctx, kp, "unknown legacy policy \"%s\"; expected allow-read or "
				    "forbid", q);
		}
	}
	cfg_path(kp, sizeof(kp), path, "provider");
	if ((sub = cfg_get_object(ctx, obj, path, "provider")) != NULL)
		parse_provider(ctx, sub, kp, l);
	else if (l->policy == LEGACY_POLICY_ALLOW_READ && cfg_member(obj, "provider") == NULL)
		cfg_problem(ctx, kp, "missing required key: policy allow-read reads legacy items "
			    "with the keys of the provider that wrote them");
	cfg_path(kp, sizeof(kp), path, "attribute_actions");
	if ((sub = cfg_get_object(ctx, obj, path, "attribute_actions")) != NULL)
		parse_actions(ctx, sub, kp, l);
	else if (l->policy == LEGACY_POLICY_ALLOW_READ && cfg_member(obj, "attribute_actions") == NULL)
		cfg_problem(ctx, kp, "missing required key: the legacy signature covers the "
			    "attributes by the actions they were written with");
	/* ddb-table-encryption-config.md#structure: not with a plaintext policy, not with
	 * beacons. */
	if (t->plaintext_policy == PLAINTEXT_ALLOW_READ)
		cfg_problem(ctx, path, "a table reads either legacy items or plaintext items, not "
			    "both: remove plaintext_policy \"allow-read\" (an item stripped of its "
			    "legacy signature would read as plaintext)");
	if (t->search != NULL)
		cfg_problem(ctx, path, "a table with a search block cannot read legacy items: they "
			    "have no beacons, so queries on a beacon would miss them");
}
