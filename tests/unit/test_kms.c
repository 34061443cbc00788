/*
 * The KMS client (crypto/aws/kms_client.h) and the aws-kms keyring (crypto/keyring/keyring_aws_kms.h)
 * against real peers on loopback, on a real event loop:
 * - moto_server's KMS with SigV4 and IAM checks switched on after set-up (moto's
 *   /moto-api/reset-auth), so every call the client makes must carry a signature moto accepts;
 *   keys and IAM users are made by boto3 in a python3 subprocess;
 * - a closed port (KMS down) and an in-process libevent HTTP server that answers what moto
 *   never does (throttling, 5xx, oversized and malformed bodies).
 * Every error case checks the exact DynamoDB-style type, status and what the message names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/aws/credentials.h"
#include "crypto/keyring/keyring.h"
#include "crypto/keyring/keyring_aws_kms.h"
#include "crypto/aws/kms_client.h"
#include "crypto/item/materials.h"
#include "crypto/item/suite.h"
#include "proxy/base/error.h"

/* Longest wait for one asynchronous call (the client retries with backoff). */
#define TEST_CALL_TIMEOUT_MS 20000
/* Longest wait for moto_server to answer on its port. */
#define TEST_MOTO_START_MS 30000
/* A well-formed key ARN no key has. */
#define MISSING_ARN "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"

/*
 * Makes two IAM users (one allowed kms:*, one without kms:Decrypt) and two keys, then switches
 * moto's signature and policy checks on (reset-auth 0: every later call is checked).  Prints
 * one JSON line for the test to read.
 */
static const char helper_py[] =
	"import json, sys, urllib.request, boto3\n"
	"url = sys.argv[1]\n"
	"def c(svc):\n"
	"    return boto3.client(svc, endpoint_url=url, region_name='us-east-1',\n"
	"                        aws_access_key_id='AKIDSETUP', aws_secret_access_key='setup')\n"
	"iam = c('iam')\n"
	"out = {}\n"
	"for name, actions in (('full', ['kms:*']), ('weak', ['kms:GenerateDataKey', 'kms:Encrypt'])):\n"
	"    iam.create_user(UserName=name)\n"
	"    k = iam.create_access_key(UserName=name)['AccessKey']\n"
	"    iam.put_user_policy(UserName=name, PolicyName='p', PolicyDocument=json.dumps({\n"
	"        'Version': '2012-10-17',\n"
	"        'Statement': [{'Effect': 'Allow', 'Action': actions, 'Resource': '*'}]}))\n"
	"    out[name] = [k['AccessKeyId'], k['SecretAccessKey']]\n"
	"kms = c('kms')\n"
	"out['arn'] = kms.create_key()['KeyMetadata']['Arn']\n"
	"out['arn2'] = kms.create_key()['KeyMetadata']['Arn']\n"
	"urllib.request.urlopen(urllib.request.Request(url + '/moto-api/reset-auth', data=b'0',\n"
	"    method='POST', headers={'Content-Type': 'text/plain'}), timeout=10).read()\n"
	"print(json.dumps(out))\n";

/* The moto peer and what set-up made in it; shared by every test of the group. */
struct moto_peer {
	pid_t pid;                 /* moto_server's process (and process group) */
	char dir[64];              /* scratch folder: helper script and moto's log */
	char url[64];              /* http://127.0.0.1:PORT */
	char arn[256];             /* a key the tests use */
	char arn2[256];            /* a second key, for EDKs that belong to another keyring */
	char full_akid[64];        /* IAM user allowed kms:* */
	char full_secret[128];
	char weak_akid[64];        /* IAM user without kms:Decrypt */
	char weak_secret[128];
};

static struct moto_peer moto;

/* One test's loop and client. */
struct fixture {
	struct event_base *base;         /* the test's event loop */
	struct kms_client *kms;          /* signs as the IAM user allowed kms:* */
};

/* What one KMS call's callback saw. */
struct outcome {
	int calls;                        /* times the callback ran: must end at exactly 1 */
	int ok;                           /* res was given */
	struct ds_error err;              /* copy of err when not ok */
	unsigned char plaintext[64];      /* copy of res->plaintext (wiped by the test) */
	size_t plaintext_len;
	unsigned char ciphertext[2048];   /* copy of res->ciphertext */
	size_t ciphertext_len;
	char key_id[256];                 /* res->key_id */
};

/* What a keyring's done callback saw. */
struct kr_outcome {
	int calls;                        /* must end at exactly 1 */
	int rc;
	struct ds_error err;
};

/*
 * port 0: a port nothing listens on right now (bound to 0, read back, closed), or -1.
 * Otherwise: 1 when a TCP connect to 127.0.0.1:port succeeds, else 0.
 */
static int loopback_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rc = port == 0 ? -1 : 0;

	if (fd < 0)
		return rc;
	if (port != 0)
		rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	else if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		 getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		rc = ntohs(a.sin_port);
	close(fd);
	return rc;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies the string v into out; -1 when v is not a string or too long. */
static int json_copy(const cJSON *v, char *out, size_t cap)
{
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
		return -1;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* Runs the set-up script against moto and reads the users and keys it made. */
static int moto_provision(void)
{
	char path[128], cmd[320], out[4096];
	cJSON *doc = NULL;
	const cJSON *full, *weak;
	size_t n;
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/helper.py", moto.dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(helper_py, f);
	fclose(f);
	/* python's stderr is the test's, so a failed set-up explains itself. */
	snprintf(cmd, sizeof(cmd), "python3 %s %s </dev/null", path, moto.url);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	if (pclose(f) != 0) {
		fprintf(stderr, "test_kms: the boto3 set-up script against %s failed\n", moto.url);
		goto cleanup;
	}
	doc = cJSON_Parse(out);
	full = cJSON_GetObjectItemCaseSensitive(doc, "full");
	weak = cJSON_GetObjectItemCaseSensitive(doc, "weak");
	if (json_copy(cJSON_GetObjectItemCaseSensitive(doc, "arn"), moto.arn, sizeof(moto.arn)) != 0 ||
	    json_copy(cJSON_GetObjectItemCaseSensitive(doc, "arn2"), moto.arn2, sizeof(moto.arn2)) != 0 ||
	    json_copy(cJSON_GetArrayItem(full, 0), moto.full_akid, sizeof(moto.full_akid)) != 0 ||
	    json_copy(cJSON_GetArrayItem(full, 1), moto.full_secret, sizeof(moto.full_secret)) != 0 ||
	    json_copy(cJSON_GetArrayItem(weak, 0), moto.weak_akid, sizeof(moto.weak_akid)) != 0 ||
	    json_copy(cJSON_GetArrayItem(weak, 1), moto.weak_secret, sizeof(moto.weak_secret)) != 0) {
		fprintf(stderr, "test_kms: unexpected set-up output: %s\n", out);
		goto cleanup;
	}
	rc = 0;
cleanup:
	cJSON_Delete(doc);
	return rc;
}

static void moto_stop(void)
{
	char path[128];
	int status;

	if (moto.pid > 0) {
		kill(-moto.pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(moto.pid, &status, WNOHANG) == 0; i++)
			usleep(100 * 1000);
		if (waitpid(moto.pid, &status, WNOHANG) == 0) {
			kill(-moto.pid, SIGKILL);
			waitpid(moto.pid, &status, 0);
		}
		moto.pid = 0;
	}
	if (moto.dir[0] != '\0') {
		const char *files[] = { "helper.py", "moto.log" };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", moto.dir, files[i]);
			unlink(path);
		}
		rmdir(moto.dir);
		moto.dir[0] = '\0';
	}
}

/* Starts moto_server on a free port in its own process group and provisions it. */
static int group_setup(void **state)
{
	char port_s[16], log_path[128];
	int port = loopback_port(0);
	int status;
	long deadline;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(moto.dir, sizeof(moto.dir), "/tmp/test_kms.XXXXXX");
	if (port < 0 || mkdtemp(moto.dir) == NULL) {
		moto.dir[0] = '\0';
		return -1;
	}
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(moto.url, sizeof(moto.url), "http://127.0.0.1:%d", port);
	snprintf(log_path, sizeof(log_path), "%s/moto.log", moto.dir);
	moto.pid = fork();
	if (moto.pid < 0)
		return -1;
	if (moto.pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int in = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		/* A test that aborts (a sanitizer, a crash) takes moto with it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (in >= 0)
			dup2(in, 0);
		execlp("moto_server", "moto_server", "-H", "127.0.0.1", "-p", port_s, (char *)NULL);
		dprintf(2, "exec moto_server: %s\n", strerror(errno));
		_exit(127);
	}
	setpgid(moto.pid, moto.pid);
	deadline = now_ms() + TEST_MOTO_START_MS;
	while (!loopback_port(port)) {
		if (waitpid(moto.pid, &status, WNOHANG) == moto.pid || now_ms() > deadline) {
			char line[256];
			FILE *log = fopen(log_path, "r");
			fprintf(stderr, "test_kms: moto_server did not start on port %d (is moto installed? "
				"see deploy/install-deps.sh); its log:\n", port);
			while (log != NULL && fgets(line, sizeof(line), log) != NULL)
				fputs(line, stderr);
			if (log != NULL)
				fclose(log);
			moto_stop();
			return -1;
		}
		usleep(100 * 1000);
	}
	if (moto_provision() != 0) {
		moto_stop();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	moto_stop();
	return 0;
}

/* Breaks the loop when a call took too long, so a lost callback fails the test, not CI. */
static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs base until *done is non-zero; returns 0, or -1 after timeout_ms. */
static int run_until(struct event_base *base, const int *done, int timeout_ms)
{
	int timed_out = 0;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct event *guard = evtimer_new(base, guard_cb, &timed_out);

	assert_non_null(guard);
	assert_int_equal(evtimer_add(guard, &tv), 0);
	while (*done == 0 && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	return *done ? 0 : -1;
}

static void kms_cb(void *arg, const struct kms_result *res, const struct ds_error *err)
{
	struct outcome *o = arg;

	o->calls++;
	if (err != NULL) {
		o->err = *err;
		return;
	}
	o->ok = 1;
	if (res->plaintext_len > 0 && res->plaintext_len <= sizeof(o->plaintext)) {
		memcpy(o->plaintext, res->plaintext, res->plaintext_len);
		o->plaintext_len = res->plaintext_len;
	}
	if (res->ciphertext_len > 0 && res->ciphertext_len <= sizeof(o->ciphertext)) {
		memcpy(o->ciphertext, res->ciphertext, res->ciphertext_len);
		o->ciphertext_len = res->ciphertext_len;
	}
	snprintf(o->key_id, sizeof(o->key_id), "%s", res->key_id ? res->key_id : "");
}

static void kr_cb(void *arg, int rc, const struct ds_error *err)
{
	struct kr_outcome *o = arg;

	o->calls++;
	o->rc = rc;
	if (err != NULL)
		o->err = *err;
}

/* Waits for o's callback and checks it ran exactly once, even after the loop goes on. */
static void wait_once(struct event_base *base, struct outcome *o)
{
	assert_int_equal(run_until(base, &o->calls, TEST_CALL_TIMEOUT_MS), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(o->calls, 1);
}

/* A client for endpoint (AWS_ENDPOINT_URL_KMS) signing with (akid, secret); the credentials
 * slot is handed to *keep when keep is not NULL (the caller unrefs it). */
static struct kms_client *client_for(struct event_base *base, const char *endpoint, const char *akid,
				     const char *secret, struct credentials **keep)
{
	struct credentials *cr = credentials_new(akid, secret, NULL, 0, "test");
	struct ds_error err = { 0 };
	struct kms_client *c;

	assert_non_null(cr);
	assert_int_equal(setenv("AWS_ENDPOINT_URL_KMS", endpoint, 1), 0);
	c = kms_client_new(base, NULL, NULL, "us-east-1", cr, &err);
	if (keep != NULL)
		*keep = cr;
	else
		credentials_unref(cr);
	if (c == NULL)
		fail_msg("kms_client_new: %s", err.message);
	assert_string_equal(kms_client_endpoint(c), endpoint);
	return c;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->base = event_base_new()) == NULL) {
		free(f);
		return -1;
	}
	f->kms = client_for(f->base, moto.url, moto.full_akid, moto.full_secret, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kms_client_free(f->kms);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* The encryption context of the tests' items. */
static void ec_fill(struct enc_ctx *ec, const char *table)
{
	ec_init(ec);
	assert_int_equal(ec_put(ec, "aws-crypto-table-name", 21, table, strlen(table), 0), 0);
	assert_int_equal(ec_put(ec, "aws-crypto-partition-name", 25, "pk", 2, 0), 0);
}

/* GenerateDataKey then Decrypt with the same context gives the same 32 bytes back; Encrypt
 * then Decrypt too; the stats count each API once. */
static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct outcome gen = { 0 }, dec = { 0 }, enc = { 0 }, dec2 = { 0 };
	static const unsigned char secret[32] = "0123456789abcdef0123456789abcdef";
	const struct kms_stats *st = kms_client_stats(f->kms);
	struct enc_ctx ec;

	ec_fill(&ec, "users");
	kms_generate_data_key(f->kms, moto.arn, &ec, 32, NULL, kms_cb, &gen);
	wait_once(f->base, &gen);
	if (!gen.ok)
		fail_msg("GenerateDataKey: %s", gen.err.message);
	assert_int_equal(gen.plaintext_len, 32);
	assert_true(gen.ciphertext_len > 32);
	assert_string_equal(gen.key_id, moto.arn);

	kms_decrypt(f->kms, moto.arn, gen.ciphertext, gen.ciphertext_len, &ec, NULL, kms_cb, &dec);
	wait_once(f->base, &dec);
	if (!dec.ok)
		fail_msg("Decrypt: %s", dec.err.message);
	assert_int_equal(dec.plaintext_len, 32);
	assert_memory_equal(dec.plaintext, gen.plaintext, 32);

	kms_encrypt(f->kms, moto.arn, secret, sizeof(secret), &ec, NULL, kms_cb, &enc);
	wait_once(f->base, &enc);
	assert_true(enc.ok);
	assert_int_equal(enc.plaintext_len, 0);
	assert_true(enc.ciphertext_len > 0);
	kms_decrypt(f->kms, moto.arn, enc.ciphertext, enc.ciphertext_len, &ec, NULL, kms_cb, &dec2);
	wait_once(f->base, &dec2);
	assert_true(dec2.ok);
	assert_memory_equal(dec2.plaintext, secret, sizeof(secret));

	assert_int_equal(atomic_load(&st->generate_data_key), 1);
	assert_int_equal(atomic_load(&st->decrypt), 2);
	assert_int_equal(atomic_load(&st->encrypt), 1);
	assert_int_equal(atomic_load(&st->errors), 0);
	OPENSSL_cleanse(&gen, sizeof(gen));
	OPENSSL_cleanse(&dec, sizeof(dec));
	OPENSSL_cleanse(&dec2, sizeof(dec2));
	ec_cleanup(&ec);
}

/* A blob made under one context does not decrypt under another: InvalidCiphertextException
 * becomes a ValidationException naming the key, not retried. */
static void test_decrypt_other_context(void **state)
{
	struct fixture *f = *state;
	struct outcome gen = { 0 }, dec = { 0 };
	struct enc_ctx ec, other;

	ec_fill(&ec, "users");
	ec_fill(&other, "orders");
	kms_generate_data_key(f->kms, moto.arn, &ec, 32, NULL, kms_cb, &gen);
	wait_once(f->base, &gen);
	assert_true(gen.ok);
	kms_decrypt(f->kms, moto.arn, gen.ciphertext, gen.ciphertext_len, &other, NULL, kms_cb, &dec);
	wait_once(f->base, &dec);
	assert_false(dec.ok);
	assert_int_equal(dec.err.status, 400);
	assert_string_equal(dec.err.type, DS_ERR_VALIDATION);
	assert_non_null(strstr(dec.err.message, "InvalidCiphertextException"));
	assert_non_null(strstr(dec.err.message, moto.arn));
	assert_non_null(strstr(dec.err.message, "encryption context"));
	assert_int_equal(atomic_load(&kms_client_stats(f->kms)->errors), 1);
	assert_int_equal(atomic_load(&kms_client_stats(f->kms)->throttled), 0);
	OPENSSL_cleanse(&gen, sizeof(gen));
	ec_cleanup(&ec);
	ec_cleanup(&other);
}

/* A key that does not exist: NotFoundException, named with KMS's own words and the ARN. */
static void test_unknown_key(void **state)
{
	struct fixture *f = *state;
	struct outcome gen = { 0 };

	kms_generate_data_key(f->kms, MISSING_ARN, NULL, 32, NULL, kms_cb, &gen);
	wait_once(f->base, &gen);
	assert_false(gen.ok);
	assert_int_equal(gen.err.status, 400);
	assert_string_equal(gen.err.type, DS_ERR_VALIDATION);
	assert_non_null(strstr(gen.err.message, "NotFoundException"));
	assert_non_null(strstr(gen.err.message, "GenerateDataKey"));
	assert_non_null(strstr(gen.err.message, MISSING_ARN));
	assert_non_null(strstr(gen.err.message, "does not exist"));
}

/* IAM (moto checks policies after set-up): a user without kms:Decrypt may GenerateDataKey but
 * its Decrypt is an AccessDeniedException naming kms:Decrypt and the key ARN; a wrong secret's
 * SignatureDoesNotMatch reaches the caller by name. */
static void test_access_denied(void **state)
{
	struct fixture *f = *state;
	struct kms_client *weak = client_for(f->base, moto.url, moto.weak_akid, moto.weak_secret, NULL);
	struct kms_client *bad = client_for(f->base, moto.url, moto.full_akid, "not-the-secret", NULL);
	struct outcome gen = { 0 }, dec = { 0 }, bad_gen = { 0 };

	kms_generate_data_key(weak, moto.arn, NULL, 32, NULL, kms_cb, &gen);
	wait_once(f->base, &gen);
	if (!gen.ok)
		fail_msg("GenerateDataKey with kms:GenerateDataKey allowed: %s", gen.err.message);
	kms_decrypt(weak, moto.arn, gen.ciphertext, gen.ciphertext_len, NULL, NULL, kms_cb, &dec);
	wait_once(f->base, &dec);
	assert_false(dec.ok);
	assert_int_equal(dec.err.status, 400);
	assert_string_equal(dec.err.type, DS_ERR_ACCESS_DENIED);
	assert_non_null(strstr(dec.err.message, "may not call kms:Decrypt on key"));
	assert_non_null(strstr(dec.err.message, moto.arn));
	/* Not retried: one Decrypt counted, one error. */
	assert_int_equal(atomic_load(&kms_client_stats(weak)->decrypt), 1);
	assert_int_equal(atomic_load(&kms_client_stats(weak)->errors), 1);
	OPENSSL_cleanse(&gen, sizeof(gen));
	kms_client_free(weak);

	kms_generate_data_key(bad, moto.arn, NULL, 32, NULL, kms_cb, &bad_gen);
	wait_once(f->base, &bad_gen);
	assert_false(bad_gen.ok);
	assert_int_equal(bad_gen.err.status, 400);
	assert_non_null(strstr(bad_gen.err.message, "SignatureDoesNotMatch"));
	assert_non_null(strstr(bad_gen.err.message, moto.arn));
	kms_client_free(bad);
}

/* The client reads its credentials slot on every call: values published by a refresh
 * (credentials_replace) sign the next call, here turning an AccessDenied into a success. */
static void test_credentials_refreshed(void **state)
{
	struct fixture *f = *state;
	struct credentials *cr;
	struct kms_client *c = client_for(f->base, moto.url, moto.weak_akid, moto.weak_secret, &cr);
	struct outcome gen = { 0 }, denied = { 0 }, dec = { 0 };

	kms_generate_data_key(c, moto.arn, NULL, 32, NULL, kms_cb, &gen);
	wait_once(f->base, &gen);
	assert_true(gen.ok);
	kms_decrypt(c, moto.arn, gen.ciphertext, gen.ciphertext_len, NULL, NULL, kms_cb, &denied);
	wait_once(f->base, &denied);
	assert_string_equal(denied.err.type, DS_ERR_ACCESS_DENIED);
	assert_int_equal(credentials_replace(cr, moto.full_akid, moto.full_secret, NULL, 0), 0);
	kms_decrypt(c, moto.arn, gen.ciphertext, gen.ciphertext_len, NULL, NULL, kms_cb, &dec);
	wait_once(f->base, &dec);
	if (!dec.ok)
		fail_msg("Decrypt after the refresh: %s", dec.err.message);
	assert_memory_equal(dec.plaintext, gen.plaintext, 32);
	OPENSSL_cleanse(&gen, sizeof(gen));
	OPENSSL_cleanse(&dec, sizeof(dec));
	kms_client_free(c);
	credentials_unref(cr);
}

/* Nothing listens: after its retries the call ends in a retryable 503 naming KMS's endpoint. */
static void test_kms_down(void **state)
{
	struct fixture *f = *state;
	char url[64];
	struct kms_client *down;
	struct outcome gen = { 0 };
	int port = loopback_port(0);

	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	down = client_for(f->base, url, moto.full_akid, moto.full_secret, NULL);
	kms_generate_data_key(down, moto.arn, NULL, 32, NULL, kms_cb, &gen);
	wait_once(f->base, &gen);
	assert_false(gen.ok);
	assert_int_equal(gen.err.status, 503);
	assert_string_equal(gen.err.type, DS_ERR_UNAVAILABLE);
	assert_non_null(strstr(gen.err.message, "could not be reached"));
	assert_non_null(strstr(gen.err.message, url));
	assert_non_null(strstr(gen.err.message, "GenerateDataKey"));
	assert_int_equal(atomic_load(&kms_client_stats(down)->errors), 1);
	kms_client_free(down);
}

/* An in-process HTTP peer for answers moto never gives. */
struct stand_in {
	struct evhttp *http;
	int port;
	int requests;              /* requests answered */
	int status;                /* status of every answer */
	const char *body;          /* body of every answer, or NULL for big_len filler bytes */
	size_t big_len;            /* bytes of filler when body is NULL */
	char target[64];           /* X-Amz-Target of the last request */
	long elapsed_ms;           /* from the call to its callback */
	uint64_t throttled;        /* the client's stats after the call */
	uint64_t errors;
};

static void stand_in_cb(struct evhttp_request *req, void *arg)
{
	struct stand_in *s = arg;
	struct evbuffer *out = evbuffer_new();
	const char *t = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Amz-Target");

	s->requests++;
	snprintf(s->target, sizeof(s->target), "%s", t ? t : "");
	if (s->body != NULL) {
		evbuffer_add(out, s->body, strlen(s->body));
	} else {
		evbuffer_add_printf(out, "{\"KeyId\":\"");
		for (size_t i = 0; i < s->big_len; i++)
			evbuffer_add(out, "A", 1);
		evbuffer_add_printf(out, "\"}");
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-amz-json-1.1");
	evhttp_send_reply(req, s->status, "x", out);
	evbuffer_free(out);
}

static void stand_in_start(struct event_base *base, struct stand_in *s)
{
	struct evhttp_bound_socket *h;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	s->http = evhttp_new(base);
	assert_non_null(s->http);
	evhttp_set_gencb(s->http, stand_in_cb, s);
	h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(h);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
}

/* Calls GenerateDataKey against a fresh stand-in answering every request with status and
 * body (or big_len filler bytes when body is NULL); returns the outcome, s says what happened. */
static struct outcome stand_in_call(struct fixture *f, struct stand_in *s, int status,
				    const char *body, size_t big_len)
{
	char url[64];
	struct kms_client *c;
	struct outcome o = { 0 };
	long t0;

	memset(s, 0, sizeof(*s));
	s->status = status;
	s->body = body;
	s->big_len = big_len;
	stand_in_start(f->base, s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	c = client_for(f->base, url, "AKIDSTANDIN", "secret", NULL);
	t0 = now_ms();
	kms_generate_data_key(c, moto.arn, NULL, 32, NULL, kms_cb, &o);
	wait_once(f->base, &o);
	s->elapsed_ms = now_ms() - t0;
	s->throttled = atomic_load(&kms_client_stats(c)->throttled);
	s->errors = atomic_load(&kms_client_stats(c)->errors);
	kms_client_free(c);
	evhttp_free(s->http);
	return o;
}

/* Throttling is retried after a jittered backoff (100-200 ms, then 200-400 ms), three attempts
 * in all, then answered as ThrottlingException (which the SDKs retry). */
static void test_throttling_retried(void **state)
{
	struct fixture *f = *state;
	struct stand_in s;
	struct outcome o = stand_in_call(f, &s, 400, "{\"__type\":\"ThrottlingException\",\"message\":"
					 "\"Rate exceeded\"}", 0);

	assert_false(o.ok);
	assert_int_equal(s.requests, 3);
	assert_string_equal(s.target, "TrentService.GenerateDataKey");
	assert_true(s.elapsed_ms >= 300);
	assert_int_equal(o.err.status, 400);
	assert_string_equal(o.err.type, DS_ERR_THROTTLING);
	assert_non_null(strstr(o.err.message, "throttling GenerateDataKey"));
	assert_int_equal(s.throttled, 2);
	assert_int_equal(s.errors, 1);

	/* LimitExceededException is KMS's other throttle. */
	o = stand_in_call(f, &s, 400, "{\"__type\":\"com.amazonaws.kms#LimitExceededException\"}", 0);
	assert_int_equal(s.requests, 3);
	assert_string_equal(o.err.type, DS_ERR_THROTTLING);
}

/* A 5xx is retried like throttling, then a 503; a body over the bound and a 200 that is not
 * KMS's JSON are errors, never a result. */
static void test_server_errors_and_bad_bodies(void **state)
{
	struct fixture *f = *state;
	struct stand_in s;
	struct outcome o = stand_in_call(f, &s, 500, "{\"__type\":\"KMSInternalException\"}", 0);

	assert_int_equal(s.requests, 3);
	assert_int_equal(o.err.status, 503);
	assert_string_equal(o.err.type, DS_ERR_UNAVAILABLE);
	assert_non_null(strstr(o.err.message, "KMSInternalException"));

	/* 100 KiB: over the client's 64 KiB bound. */
	o = stand_in_call(f, &s, 200, NULL, 100 * 1024);
	assert_false(o.ok);
	assert_true(o.err.status >= 500);

	o = stand_in_call(f, &s, 200, "<html>not KMS</html>", 0);
	assert_false(o.ok);
	assert_int_equal(s.requests, 1);
	assert_int_equal(o.err.status, 502);
	assert_non_null(strstr(o.err.message, "not JSON"));

	o = stand_in_call(f, &s, 200, "{\"CiphertextBlob\":\"AQID\"}", 0);
	assert_false(o.ok);
	assert_non_null(strstr(o.err.message, "lacks a field"));
}

/* A keyring for arn named "kms". */
static struct keyring *keyring_for(struct kms_client *kms, const char *arn)
{
	struct config_keyring c = { 0 };
	struct keyring *k;

	c.name = "kms";
	c.type = KEYRING_AWS_KMS;
	c.key_id = (char *)arn;
	assert_int_equal(config_keyring_pin_kms(&c, arn, NULL, 0), 0);
	k = keyring_aws_kms_new(&c, kms);
	assert_non_null(k);
	free(c.kms_arn);
	for (size_t i = 0; i < c.accept_arns_len; i++)
		free(c.accept_arns[i]);
	free(c.accept_arns);
	return k;
}

/* Runs OnEncrypt for suite id into m (initialized here with the tests' context). */
static void encrypt_materials(struct fixture *f, struct keyring *k, uint16_t id, struct materials *m)
{
	struct kr_outcome o = { 0 };

	materials_init(m, suite_by_id(id));
	ec_cleanup(&m->ec);
	ec_fill(&m->ec, "users");
	keyring_on_encrypt(k, m, kr_cb, &o);
	assert_int_equal(run_until(f->base, &o.calls, TEST_CALL_TIMEOUT_MS), 0);
	assert_int_equal(o.calls, 1);
	if (o.rc != 0)
		fail_msg("on_encrypt: %s", o.err.message);
}

/* Runs OnDecrypt of edks into dec (initialized here for suite id and table's context). */
static struct kr_outcome decrypt_materials(struct fixture *f, struct keyring *k, uint16_t id,
					   const char *table, const struct edk *edks, size_t n,
					   struct materials *dec)
{
	struct kr_outcome o = { 0 };

	materials_init(dec, suite_by_id(id));
	ec_cleanup(&dec->ec);
	ec_fill(&dec->ec, table);
	keyring_on_decrypt(k, dec, edks, n, kr_cb, &o);
	assert_int_equal(run_until(f->base, &o.calls, TEST_CALL_TIMEOUT_MS), 0);
	assert_int_equal(o.calls, 1);
	return o;
}

/* MPL aws-kms keyring with intermediate key wrapping (algorithm-suites.md): OnEncrypt makes
 * one "aws-kms" EDK naming the key ARN whose ciphertext is the 48-byte wrapped data key then
 * KMS's blob; OnDecrypt of those EDKs gives back the same data key and signing key. */
static void test_keyring_round_trip(void **state)
{
	static const uint16_t suites[] = { 0x6700, 0x6701 };
	struct fixture *f = *state;
	struct keyring *k = keyring_for(f->kms, moto.arn);

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		struct materials enc, dec;
		struct kr_outcome o;

		assert_non_null(suite_by_id(suites[i]));
		encrypt_materials(f, k, suites[i], &enc);
		assert_true(enc.has_data_key);
		assert_int_equal(enc.edks_len, 1);
		assert_int_equal(enc.signing_keys_len, 1);
		assert_int_equal(enc.edks[0].provider_id_len, 7);
		assert_memory_equal(enc.edks[0].provider_id, "aws-kms", 7);
		assert_int_equal(enc.edks[0].provider_info_len, strlen(moto.arn));
		assert_memory_equal(enc.edks[0].provider_info, moto.arn, strlen(moto.arn));
		assert_true(enc.edks[0].ciphertext_len > SUITE_KEY_LEN + SUITE_TAG_LEN);

		o = decrypt_materials(f, k, suites[i], "users", enc.edks, enc.edks_len, &dec);
		if (o.rc != 0)
			fail_msg("on_decrypt: %s", o.err.message);
		assert_true(dec.has_data_key);
		assert_memory_equal(dec.data_key, enc.data_key, SUITE_KEY_LEN);
		assert_int_equal(dec.signing_keys_len, 1);
		assert_memory_equal(dec.signing_keys[0], enc.signing_keys[0], SUITE_KEY_LEN);
		/* The signing key is derived, not the data key itself. */
		assert_memory_not_equal(dec.signing_keys[0], dec.data_key, SUITE_KEY_LEN);
		materials_cleanup(&dec);
		materials_cleanup(&enc);
	}
	keyring_free(k);
}

/* The item's context is bound twice (KMS and the wrapping AAD): another context fails; so does
 * a tampered wrapped data key, whose KMS blob still opens. */
static void test_keyring_other_context(void **state)
{
	struct fixture *f = *state;
	struct keyring *k = keyring_for(f->kms, moto.arn);
	struct materials enc, dec;
	struct kr_outcome o;

	encrypt_materials(f, k, 0x6700, &enc);
	o = decrypt_materials(f, k, 0x6700, "orders", enc.edks, enc.edks_len, &dec);
	assert_int_not_equal(o.rc, 0);
	assert_int_equal(o.err.status, 400);
	assert_string_equal(o.err.type, DS_ERR_VALIDATION);
	assert_non_null(strstr(o.err.message, moto.arn));
	assert_false(dec.has_data_key);
	materials_cleanup(&dec);

	enc.edks[0].ciphertext[3] ^= 0x01;
	o = decrypt_materials(f, k, 0x6700, "users", enc.edks, enc.edks_len, &dec);
	assert_int_not_equal(o.rc, 0);
	assert_string_equal(o.err.type, DS_ERR_VALIDATION);
	assert_non_null(strstr(o.err.message, "changed outside dynaseal"));
	assert_false(dec.has_data_key);
	materials_cleanup(&dec);
	materials_cleanup(&enc);
	keyring_free(k);
}

/* EDKs made for another key ARN (and one of another provider) are refused without a KMS call,
 * with a message naming the configured key ARN and the keyring. */
static void test_keyring_edk_for_other_key(void **state)
{
	struct fixture *f = *state;
	struct keyring *k1 = keyring_for(f->kms, moto.arn);
	struct keyring *k2 = keyring_for(f->kms, moto.arn2);
	struct materials enc, dec;
	struct edk edks[2] = { { 0 } };
	struct kr_outcome o;
	uint64_t decrypts;

	encrypt_materials(f, k1, 0x6700, &enc);
	assert_int_equal(edk_set(&edks[0], "raw-aes", 7, "dynaseal", 8, "0123456789", 10), 0);
	assert_int_equal(edk_set(&edks[1], enc.edks[0].provider_id, enc.edks[0].provider_id_len,
				 enc.edks[0].provider_info, enc.edks[0].provider_info_len,
				 enc.edks[0].ciphertext, enc.edks[0].ciphertext_len), 0);
	decrypts = atomic_load(&kms_client_stats(f->kms)->decrypt);
	o = decrypt_materials(f, k2, 0x6700, "users", edks, 2, &dec);
	assert_int_not_equal(o.rc, 0);
	assert_int_equal(o.err.status, 400);
	assert_string_equal(o.err.type, DS_ERR_VALIDATION);
	assert_non_null(strstr(o.err.message, moto.arn2));
	assert_non_null(strstr(o.err.message, "\"kms\""));
	assert_non_null(strstr(o.err.message, "no matching aws-kms encrypted data key"));
	assert_int_equal(atomic_load(&kms_client_stats(f->kms)->decrypt), decrypts);
	assert_false(dec.has_data_key);

	/* The keyring of the right key, given the same two EDKs, skips the foreign one. */
	materials_cleanup(&dec);
	o = decrypt_materials(f, k1, 0x6700, "users", edks, 2, &dec);
	assert_int_equal(o.rc, 0);
	assert_memory_equal(dec.data_key, enc.data_key, SUITE_KEY_LEN);
	edk_cleanup(&edks[0]);
	edk_cleanup(&edks[1]);
	materials_cleanup(&dec);
	materials_cleanup(&enc);
	keyring_free(k1);
	keyring_free(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decrypt_other_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_refreshed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kms_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttling_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_errors_and_bad_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyring_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyring_other_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyring_edk_for_other_key, setup, teardown),
	};
	return cmocka_run_group_tests_name("kms", tests, group_setup, group_teardown);
}
