/*
 * The configuration: one JSON file (see README "Configuration"), validated in full before use.
 * Loading is pre-validate (shape and types of every key, unknown keys), parse, post-validate
 * (cross references, defaults), in the manner of twemproxy's nc_conf.  Every problem is
 * reported, each naming its key path, e.g.  config: "tables.users.attribute_actions.ssn":
 * unknown action "ENCRYPT", expected one of ENCRYPT_AND_SIGN, SIGN_ONLY, ...
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

/* The largest request body DynamoDB takes (its HTTP limit): the default of max_body_bytes. */
#define DDB_MAX_REQUEST_BYTES 16777216

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a table's configuration says to do with one attribute (DB-ESDK CryptoAction). */
enum attr_action {
	ACTION_ENCRYPT_AND_SIGN = 0,
	ACTION_SIGN_ONLY,
	ACTION_SIGN_AND_INCLUDE_IN_EC,   /* SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT */
	ACTION_DO_NOTHING,
};

enum keyring_type {
	KEYRING_RAW_AES = 0,
	KEYRING_AWS_KMS,
	KEYRING_AWS_KMS_HIERARCHICAL,
	KEYRING_STATIC_BRANCH_KEY,
};

enum plaintext_policy {
	PLAINTEXT_FORBID = 0,      /* an item without aws_dbe_head is an error */
	PLAINTEXT_ALLOW_READ,      /* returned as stored (migrations) */
};

/* A host and port to listen on or connect to; host is numeric or a name. */
struct config_addr {
	char host[256];          /* without IPv6 brackets */
	uint16_t port;
};

/* One named keyring under "keyrings". */
struct config_keyring {
	char *name;                        /* the key under "keyrings" */
	enum keyring_type type;
	/* raw-aes */
	char *key_file;                    /* path to 32 raw bytes or their base64; a relative path
					    * is taken from the config file's folder */
	char *key_namespace;               /* default "dynaseal" */
	char *key_name;                    /* default the keyring's name */
	/* aws-kms */
	char *key_id;                      /* KMS key ARN, alias name or alias ARN */
	/* aws-kms-hierarchical */
	char *key_store_table;
	char *kms_key_id;                  /* the key store's KMS key: as key_id */
	/* both KMS keyrings */
	char **previous_key_ids;           /* "previous_key_ids": key ARNs reads also accept */
	size_t previous_key_ids_len;
	char *kms_arn;                     /* the key ARN writes use: key_id (kms_key_id) itself, or
					    * the key its alias names once resolved
					    * (config_keyring_pin_kms); NULL while an alias is not */
	char **accept_arns;                /* the key ARNs reads accept: kms_arn, previous_key_ids
					    * and the keys the alias named before in this process */
	size_t accept_arns_len;
	char *branch_key_id;               /* fixed branch key id, or NULL when chosen per item */
	char *branch_key_id_attribute;     /* attribute naming the tenant, with branch_key_ids */
	char **branch_key_map_from;        /* tenant attribute values ... */
	char **branch_key_map_to;          /* ... and the branch key id each maps to */
	size_t branch_key_map_len;
	int ttl_s;                         /* default 600 */
	/* static-branch-key */
	char *branch_key_version;          /* UUID string */
	/* The 32-byte key itself: raw-aes's key_file content (raw or base64), or static-branch-key's
	 * base64 "branch_key".  Loaded and checked by config so `check` reports a bad key; wiped
	 * by config_free. */
	unsigned char key_material[32];
	int has_key_material;
};

/* How a KMS key is named (AWS KMS API reference, "KeyId": key ARN, alias name, alias ARN). */
enum config_kms_ref {
	KMS_REF_INVALID = 0,
	KMS_REF_KEY_ARN,       /* arn:PARTITION:kms:REGION:ACCOUNT:key/ID */
	KMS_REF_ALIAS_NAME,    /* alias/NAME */
	KMS_REF_ALIAS_ARN,     /* arn:PARTITION:kms:REGION:ACCOUNT:alias/NAME */
};

/* What kind of KMS key name s is; KMS_REF_INVALID for anything else (a bare key id too). */
enum config_kms_ref config_kms_ref(const char *s);
/* The KMS key name a KMS keyring is configured with (key_id or kms_key_id), or NULL. */
const char *config_keyring_kms_name(const struct config_keyring *kr);
/*
 * Pins a KMS keyring to the key ARN arn (its key_id itself, or what its alias names now):
 * kms_arn becomes arn and accept_arns arn, previous_key_ids and seen[0..nseen) (the keys the
 * alias named before), each once.  0, or -1 when out of memory (kr unchanged).
 */
int config_keyring_pin_kms(struct config_keyring *kr, const char *arn, const char *const *seen,
			   size_t nseen) __attribute__((warn_unused_result));
/* 1 when reads with kr accept an item whose key names the KMS key ARN arn[0..len). */
int config_keyring_accepts(const struct config_keyring *kr, const char *arn, size_t len);

/* One attribute and its action, as listed under "attribute_actions". */
struct config_attr_action {
	char *name;
	enum attr_action action;
};

/* An application allowed to use dynaseal when client authentication is on ("clients"). */
struct config_client {
	char *access_key_id;                /* the key under "clients" */
	char *secret;                       /* its secret access key; wiped on free */
	char **tables;                      /* tables it may use */
	size_t tables_len;
	int all_tables;                     /* "*" was listed */
};

/* One configured (encrypted) table under "tables". */
/* A standard beacon of a table's "search" block (DB-ESDK searchable encryption). */
struct config_beacon {
	char *name;                         /* the ENCRYPT_AND_SIGN attribute it is made of */
	unsigned int length;                /* bits, 1..63 */
};

/* One part of a compound beacon: an encrypted part (a standard beacon's value) or a signed
 * one (a signed attribute's plaintext), written after its prefix. */
struct config_compound_part {
	char *name;                         /* the standard beacon, or the signed attribute */
	char *prefix;                       /* non-empty; no part's is a prefix of another's */
	int encrypted;                      /* 1: "encrypted" (a standard beacon), 0: "signed" */
};

/* A compound beacon of a table's "search" block (DB-ESDK beacons.md#compound-beacon). */
struct config_compound {
	char *name;                         /* the virtual field's name; not an attribute */
	char split;                         /* the character joining the parts */
	struct config_compound_part *parts; /* the signed parts, then the encrypted ones */
	size_t parts_len;
	size_t **constructors;              /* each a list of indexes into parts, all required;
					     * tried in order, the first the item has wins */
	size_t *constructor_lens;           /* the number of parts of each constructor */
	size_t constructors_len;            /* at least 1 (the default one when none is given) */
};

/* A table's "search" block: the beacons written beside its encrypted attributes. */
struct config_search {
	char *keyring;                      /* an aws-kms-hierarchical keyring: its beacon keys */
	struct config_keyring *keyring_ref; /* resolved by post-validation */
	struct config_beacon *standard;     /* sorted by name */
	size_t standard_len;
	struct config_compound *compound;   /* in configured order */
	size_t compound_len;
};

/* What a table does with items the legacy DynamoDB Encryption Client wrote ("legacy.policy";
 * DB-ESDK ddb-table-encryption-config.md#legacy-policy, without legacy writes). */
enum config_legacy_policy {
	LEGACY_POLICY_FORBID = 0,           /* FORBID_ENCRYPT_FORBID_DECRYPT: refused by name */
	LEGACY_POLICY_ALLOW_READ,           /* FORBID_ENCRYPT_ALLOW_DECRYPT: verified, decrypted */
};

/* The legacy materials provider that wrote a table's legacy items ("legacy.provider.type"). */
enum config_legacy_provider {
	CONFIG_LEGACY_STATIC = 0,           /* an AES content key and a signing key */
	CONFIG_LEGACY_WRAPPED,              /* a key that unwraps the stored content key, a signing key */
	CONFIG_LEGACY_AWS_KMS,              /* keys derived from a KMS data key */
};

/* A key file of a legacy provider, as read and checked at load; wiped by config_free. */
struct config_legacy_key {
	unsigned char *bytes;               /* owned: the symmetric key, or an RSA key's DER */
	size_t len;                         /* bytes; 0 when the key is not set */
	int rsa;                            /* 1: a PEM RSA key (DER kept), 0: a base64 key */
};

/* A table's "legacy" block (config_legacy.c): how to read legacy items. */
struct config_legacy {
	enum config_legacy_policy policy;   /* default forbid */
	int has_provider;                   /* "provider" was given and parsed */
	enum config_legacy_provider provider; /* valid when has_provider */
	struct config_legacy_key content_key; /* static: "encryption_key_file" (AES) */
	struct config_legacy_key wrapping_key; /* wrapped: "wrapping_key_file" (AES or RSA private) */
	struct config_legacy_key signing_key; /* static, wrapped: "signing_key_file" (HMAC key or
					     * RSA public key) */
	char *signing_algorithm;            /* JCE name: "HmacSHA256" (default) or "SHA256withRSA"
					     * (default for an RSA key) and their SHA-224/384/512 kin */
	char *key_id;                       /* aws-kms: the KMS key ARN */
	int has_actions;                    /* "attribute_actions" was given */
	enum attr_action default_action;    /* ENCRYPT_AND_SIGN (default), SIGN_ONLY or DO_NOTHING */
	char **encrypt;                     /* names listed as encrypted and signed */
	size_t encrypt_len;
	char **sign_only;                   /* names listed as signed only */
	size_t sign_only_len;
	char **do_nothing;                  /* names listed as left alone */
	size_t do_nothing_len;
	const char *keys[2];                /* the table's key attributes (borrowed), for the
					     * legacy actions' key rule; [1] NULL without sort key */
	size_t keys_len;                    /* 1 or 2 */
};

struct config_table {
	char *name;                         /* the physical DynamoDB table name */
	char *logical_name;                 /* default: name */
	char *keyring;                      /* a key of "keyrings" */
	struct config_keyring *keyring_ref; /* resolved by post-validation */
	char *partition_key;                /* required */
	char *sort_key;                     /* NULL when the table has none */
	uint16_t algorithm_suite;           /* 0x6700 (default) or 0x6701 */
	struct config_attr_action *actions;
	size_t actions_len;
	char **allowed_unsigned;            /* "allowed_unsigned_attributes" */
	size_t allowed_unsigned_len;
	char *allowed_unsigned_prefix;      /* "allowed_unsigned_attribute_prefix", optional */
	enum plaintext_policy plaintext_policy;
	struct config_search *search;       /* NULL when the table has no beacons */
	struct config_legacy *legacy;       /* NULL when the table has no "legacy" block */
	char **read_keyrings;               /* "read_keyrings": keys of "keyrings" that open the
					     * items the table's keyring does not (a move) */
	struct config_keyring **read_keyring_refs; /* resolved by post-validation */
	size_t read_keyrings_len;
};

struct config {
	char *path;                         /* the file it came from */
	atomic_int refs;                    /* holders (server, workers' generations); see
					     * config_hold/config_release */
	struct config_addr listen;          /* default 127.0.0.1:8000 */
	struct config_addr admin_listen;    /* default 127.0.0.1:9901; port 0 = disabled */
	int has_admin_listen;
	int workers;                        /* 0 = number of cores */

	/* "upstream" */
	char *upstream_endpoint;            /* e.g. https://dynamodb.us-east-1.amazonaws.com */
	int upstream_tls;                   /* derived from the scheme */
	struct config_addr upstream_addr;   /* host and port derived from the endpoint */
	char *upstream_region;              /* NULL: AWS_REGION, else the client's scope */
	char *upstream_ca_file;             /* extra CA bundle, optional */
	int upstream_connect_timeout_ms;    /* default 3000 */
	int upstream_response_timeout_ms;   /* default 30000 */
	int upstream_pool_size;             /* idle connections kept per worker at least, default 64 */

	/* "kms" (the endpoint comes from AWS_ENDPOINT_URL_KMS or the region) */
	int kms_connect_timeout_ms;         /* default 3000 */
	int kms_response_timeout_ms;        /* default 10000 */
	int kms_max_attempts;               /* a call's attempts when retrying helps, default 3 */

	/* "limits" */
	size_t max_header_bytes;            /* default 64 KiB */
	size_t max_body_bytes;              /* default 16 MiB */
	int client_idle_timeout_ms;         /* default 60000 */
	int client_request_timeout_ms;      /* first byte of a request to its last; default 30000 */

	/* "cache" */
	char *cache_redis;                  /* redis:// or rediss:// URL, NULL = in-process only */
	int cache_ttl_s;                    /* default 300 */
	size_t cache_max_entries;           /* default 10000 */

	/* "keyrings" and "tables" */
	struct config_keyring *keyrings;
	size_t keyrings_len;
	struct config_table *tables;
	size_t tables_len;

	/* "clients": when any, every request must be signed by one of them */
	struct config_client *clients;
	size_t clients_len;

	/* "tls": serve https to applications (both set, or neither) */
	char *tls_cert_file;                /* PEM certificate chain */
	char *tls_key_file;                 /* PEM private key */

	/* "log" */
	int log_level;                      /* enum log_level, default info */
	int log_json;                       /* "format": "json" */
	char *audit_log;                    /* "log.audit": a path, "-" for stderr, NULL = off */
};

/* A list of problems found in a config file, one message each. */
struct config_problems {
	char **msgs;
	size_t len;
};

/*
 * Loads and validates the file at path, then applies the environment overrides
 * (DYNASEAL_LISTEN, DYNASEAL_ADMIN_LISTEN, DYNASEAL_UPSTREAM_ENDPOINT, DYNASEAL_LOG_LEVEL).
 * Returns a config on success.  On failure returns NULL and fills problems with every
 * problem found (the caller frees them with config_problems_free).
 */
struct config *config_load(const char *path, struct config_problems *problems)
	__attribute__((warn_unused_result));
/* The same from a JSON text already in memory; path is used in messages only. */
struct config *config_parse(const char *json, size_t len, const char *path,
			    struct config_problems *problems)
	__attribute__((warn_unused_result));
/* The configuration used when no file is given: local defaults, no tables. */
struct config *config_default(void) __attribute__((warn_unused_result));
void config_free(struct config *cfg);
/* Shared ownership between threads: a loaded config has one holder; the last release frees it. */
struct config *config_hold(struct config *cfg);
void config_release(struct config *cfg);
void config_problems_free(struct config_problems *problems);
/* Adds one problem ("config: " is not prefixed).  0, or -1 when out of memory. */
int config_problems_add(struct config_problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints each problem on its own line ("config: ...") to out, for `dynaseal check`.
 * Returns the number printed, or -1 when writing fails. */
int config_print_problems(const struct config_problems *p, FILE *out);

/* Looks up a configured table by its physical name or its ARN (whose ":table/<name>" part is
 * matched); NULL when it passes through. */
const struct config_table *config_find_table(const struct config *cfg, const char *name, size_t len);
/*
 * The action for one attribute of a table (DB-ESDK attributeActionsOnEncrypt): a listed
 * attribute has its action; an unlisted one that is in allowed_unsigned_attributes or starts
 * with allowed_unsigned_prefix is DO_NOTHING; any other returns -1 (the write is refused,
 * naming the attribute).
 */
/* Whether attr (len bytes) is the table's partition or sort key attribute. */
int config_table_is_key(const struct config_table *table, const char *attr, size_t len);
int config_table_action(const struct config_table *table, const char *attr, size_t len,
			enum attr_action *action);

/* Parses an endpoint URL "http[s]://host[:port][/]" (AWS_ENDPOINT_URL_KMS, ...).  Returns 0, or
 * -1 with *why set to a static reason. */
int config_parse_endpoint(const char *text, int *tls, struct config_addr *addr, const char **why)
	__attribute__((warn_unused_result));
/* The client with that access key id, or NULL. */
const struct config_client *config_find_client(const struct config *cfg, const char *akid, size_t len);
/* Whether a client may use a table (by name; NULL is never allowed). */
int config_client_may_use(const struct config_client *c, const char *table);
/* Whether a listen host is loopback only (127.0.0.0/8, ::1, localhost). */
int config_host_is_loopback(const char *host);
/* Whether two addresses are the same host text and port. */
int config_addr_equal(const struct config_addr *a, const struct config_addr *b);
/* Parses "host:port", "[v6]:port" or ":port" into addr.  Returns 0 or -1. */
int config_parse_addr(const char *text, struct config_addr *addr);

#endif
