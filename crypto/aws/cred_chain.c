/*
 * The credential chain (see cred_chain.h).  Network sources are fetched with plain HTTP/1.1
 * requests on the upstream pool (proxy/net/upstream.h); their answers are small and parsed here.
 */
#include "crypto/aws/cred_chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "config/config.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"

enum cred_source {
	SRC_ENV = 0,
	SRC_WEB_IDENTITY,
	SRC_PROFILE,
	SRC_CONTAINER,
	SRC_IMDS,
};

static const char *const source_names[] = {
	"environment", "web identity (STS)", "shared credentials file", "container endpoint",
	"EC2 instance metadata",
};

/* One endpoint: where and on which connections. */
struct endpoint {
	struct upstream_pool *pool;
	char path[512];
};

struct cred_chain {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	char region[64];
	enum cred_source source;
	struct credentials *creds;       /* the slot every signer reads */
	struct endpoint ep;              /* the network source's endpoint */
	struct endpoint ep2;             /* IMDS: the same host; unused otherwise */
	struct event *timer;             /* next refresh */
	int fetching;                    /* a fetch is in flight */
	int first_done;                  /* the first fetch ended */
	int first_ok;
	char why[300];                   /* why the last fetch failed */
	char imds_token[128];            /* IMDSv2 session token */
	char imds_role[256];             /* the instance profile's role */
	int imds_step;                   /* 0 token, 1 role, 2 credentials */
};

/* --- parsers --- */

void cred_parsed_free(struct cred_parsed *p)
{
	free(p->access_key_id);
	if (p->secret_access_key != NULL) {
		OPENSSL_cleanse(p->secret_access_key, strlen(p->secret_access_key));
		free(p->secret_access_key);
	}
	if (p->session_token != NULL) {
		OPENSSL_cleanse(p->session_token, strlen(p->session_token));
		free(p->session_token);
	}
	memset(p, 0, sizeof(*p));
}

time_t cred_parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static int take(char **dst, const char *src)
{
	if (src == NULL || *src == '\0')
		return -1;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

int cred_parse_json(const char *body, size_t len, struct cred_parsed *out)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *t;
	int rc = -1;

	memset(out, 0, sizeof(out[0]));
	if (doc == NULL)
		return -1;
	t = cJSON_GetObjectItemCaseSensitive(doc, "Token");
	if (take(&out->access_key_id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "AccessKeyId"))) != 0 ||
	    take(&out->secret_access_key,
		 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "SecretAccessKey"))) != 0)
		goto done;
	/* An empty Token means long-term keys (some endpoints send ""). */
	if (cJSON_IsString(t) && *t->valuestring != '\0' && take(&out->session_token, t->valuestring) != 0)
		goto done;
	t = cJSON_GetObjectItemCaseSensitive(doc, "Expiration");
	out->expiration = cJSON_IsString(t) ? cred_parse_time(t->valuestring) : 0;
	if (out->expiration < 0)
		goto done;
	rc = 0;
done:
	if (rc != 0)
		cred_parsed_free(out);
	cJSON_Delete(doc);
	return rc;
}

/* The text of <tag>...</tag> in body, copied (NUL-terminated) or NULL. */
static char *xml_text(const char *body, size_t len, const char *tag)
{
	char open[64], close[64];
	const char *b, *e;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	b = memmem(body, len, open, strlen(open));
	if (b == NULL)
		return NULL;
	b += strlen(open);
	e = memmem(b, len - (size_t)(b - body), close, strlen(close));
	return e ? strndup(b, (size_t)(e - b)) : NULL;
}

int cred_parse_sts_xml(const char *body, size_t len, struct cred_parsed *out)
{
	char *exp;

	memset(out, 0, sizeof(out[0]));
	out->access_key_id = xml_text(body, len, "AccessKeyId");
	out->secret_access_key = xml_text(body, len, "SecretAccessKey");
	out->session_token = xml_text(body, len, "SessionToken");
	exp = xml_text(body, len, "Expiration");
	out->expiration = exp ? cred_parse_time(exp) : -1;
	free(exp);
	if (out->access_key_id == NULL || out->secret_access_key == NULL || out->session_token == NULL ||
	    out->expiration < 0) {
		cred_parsed_free(out);
		return -1;
	}
	return 0;
}

/* Trims white space at both ends, in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int cred_parse_profile(const char *text, const char *profile, struct cred_parsed *out)
{
	char *copy = strdup(text);
	char *save = NULL;
	int in = 0;

	memset(out, 0, sizeof(out[0]));
	if (copy == NULL)
		return -1;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line);
		char *eq;
		if (*l == '#' || *l == ';' || *l == '\0')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (end != NULL) {
				*end = '\0';
				in = strcmp(trim(l + 1), profile) == 0;
			}
			continue;
		}
		if (!in || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		l = trim(l);
		if (strcmp(l, "aws_access_key_id") == 0 && out->access_key_id == NULL)
			out->access_key_id = strdup(trim(eq + 1));
		else if (strcmp(l, "aws_secret_access_key") == 0 && out->secret_access_key == NULL)
			out->secret_access_key = strdup(trim(eq + 1));
		else if (strcmp(l, "aws_session_token") == 0 && out->session_token == NULL)
			out->session_token = strdup(trim(eq + 1));
	}
	OPENSSL_cleanse(copy, strlen(text));
	free(copy);
	if (out->access_key_id == NULL || out->secret_access_key == NULL ||
	    *out->access_key_id == '\0' || *out->secret_access_key == '\0') {
		cred_parsed_free(out);
		return -1;
	}
	return 0;
}

/* --- fetching --- */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Parses "http[s]://host[:port]/path" into an endpoint with its pool.  0 or -1 (why set). */
static int endpoint_open(struct cred_chain *c, struct endpoint *ep, const char *url, const char *name)
{
	struct upstream_target t = { 0 };
	struct config_addr addr;
	char base[300];
	const char *why = NULL;
	const char *p = strstr(url, "://");
	const char *slash = p ? strchr(p + 3, '/') : NULL;
	int tls = 0;

	snprintf(base, sizeof(base), "%.*s", slash ? (int)(slash - url) : (int)strlen(url), url);
	if (config_parse_endpoint(base, &tls, &addr, &why) != 0) {
		snprintf(c->why, sizeof(c->why), "%s: %s", url, why);
		return -1;
	}
	snprintf(ep->path, sizeof(ep->path), "%s", slash ? slash : "/");
	snprintf(t.host, sizeof(t.host), "%s", addr.host);
	t.port = addr.port;
	t.tls = tls;
	t.connect_timeout_ms = 1000;
	t.response_timeout_ms = 5000;
	t.idle_timeout_ms = 1000;
	t.pool_size = 1;
	t.max_response_bytes = 64 * 1024;
	ep->pool = upstream_pool_new(c->base, c->dns, tls ? c->ssl_ctx : NULL, &t, name);
	if (ep->pool == NULL) {
		snprintf(c->why, sizeof(c->why), "%s needs TLS, which is not set up", url);
		return -1;
	}
	return 0;
}

static void schedule(struct cred_chain *c, int seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(c->timer, &tv);
}

/* A fetch ended: publish the values or keep the old ones. */
static void fetched(struct cred_chain *c, struct cred_parsed *p, const char *why)
{
	time_t now = time(NULL);
	int ok = 0;

	c->fetching = 0;
	if (p != NULL) {
		if (c->creds == NULL) {
			c->creds = credentials_new(p->access_key_id, p->secret_access_key, p->session_token,
						   p->expiration, source_names[c->source]);
			ok = c->creds != NULL;
		} else {
			ok = credentials_replace(c->creds, p->access_key_id, p->secret_access_key,
						 p->session_token, p->expiration) == 0;
		}
		if (ok && c->first_done)
			log_info("credentials: refreshed from the %s (access key %.4s..., valid %lds)",
				 source_names[c->source], p->access_key_id,
				 p->expiration ? (long)(p->expiration - now) : -1L);
		if (ok && p->expiration > 0) {
			long left = (long)(p->expiration - now);
			long ahead = left / 2 < 300 ? left / 2 : 300;
			schedule(c, left - ahead > 1 ? (int)(left - ahead) : 1);
		}
		cred_parsed_free(p);
	}
	if (!ok) {
		snprintf(c->why, sizeof(c->why), "%s", why ? why : "out of memory");
		if (c->first_done)
			log_warn("credentials: refreshing from the %s failed (%s); retrying in 10 s",
				 source_names[c->source], c->why);
		schedule(c, 10);
	}
	if (!c->first_done) {
		c->first_done = 1;
		c->first_ok = ok;
		event_base_loopbreak(c->base);
	}
}

static void fetch(struct cred_chain *c);

static void response_cb(void *arg, struct http_msg *resp, const struct ds_error *err)
{
	struct cred_chain *c = arg;
	struct cred_parsed p;
	char why[300];
	size_t len;
	const char *body;
	int rc;

	if (err != NULL) {
		fetched(c, NULL, err->message);
		return;
	}
	len = evbuffer_get_length(resp->body);
	body = (const char *)evbuffer_pullup(resp->body, -1);
	if (resp->status != 200) {
		snprintf(why, sizeof(why), "the %s answered HTTP %d: %.*s", source_names[c->source],
			 resp->status, (int)(len < 160 ? len : 160), body ? body : "");
		http_msg_free(resp);
		fetched(c, NULL, why);
		return;
	}
	if (c->source == SRC_IMDS && c->imds_step < 2) {
		/* The token, then the role name; then the credentials. */
		char *dst = c->imds_step == 0 ? c->imds_token : c->imds_role;
		size_t cap = c->imds_step == 0 ? sizeof(c->imds_token) : sizeof(c->imds_role);
		size_t n = len < cap - 1 ? len : cap - 1;
		memcpy(dst, body ? body : "", n);
		dst[n] = '\0';
		if (c->imds_step == 1)
			dst[strcspn(dst, "\r\n")] = '\0';
		c->imds_step++;
		http_msg_free(resp);
		fetch(c);
		return;
	}
	rc = c->source == SRC_WEB_IDENTITY ? cred_parse_sts_xml(body ? body : "", len, &p)
					   : cred_parse_json(body ? body : "", len, &p);
	if (body != NULL)
		OPENSSL_cleanse((void *)body, len);
	http_msg_free(resp);
	if (rc != 0) {
		snprintf(why, sizeof(why), "the %s answered with no usable credentials", source_names[c->source]);
		fetched(c, NULL, why);
		return;
	}
	fetched(c, &p, NULL);
}

/* Appends s form-urlencoded. */
static void form_escape(struct evbuffer *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			evbuffer_add(out, s, 1);
		else
			evbuffer_add_printf(out, "%%%02X", ch);
	}
}

/* Reads a whole file of at most 64 KiB into a fresh NUL-terminated string, or NULL. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = malloc(65537);
	n = buf ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf == NULL)
		return NULL;
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The first line of a small file (a token), or NULL. */
static char *read_small(const char *path)
{
	size_t n;
	char *buf = read_all(path, &n);

	if (buf != NULL)
		buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

/* Sends the next request of the current source. */
static void fetch(struct cred_chain *c)
{
	struct evbuffer *req = evbuffer_new();
	struct evbuffer *body = evbuffer_new();
	struct endpoint *ep = &c->ep;
	char *bytes;
	size_t len;

	c->fetching = 1;
	if (req == NULL || body == NULL)
		goto oom;
	switch (c->source) {
	case SRC_WEB_IDENTITY: {
		char *token = read_small(env("AWS_WEB_IDENTITY_TOKEN_FILE"));
		const char *session = env("AWS_ROLE_SESSION_NAME");
		if (token == NULL) {
			evbuffer_free(req);
			evbuffer_free(body);
			fetched(c, NULL, "cannot read AWS_WEB_IDENTITY_TOKEN_FILE");
			return;
		}
		evbuffer_add_printf(body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
		form_escape(body, env("AWS_ROLE_ARN"));
		evbuffer_add_printf(body, "&RoleSessionName=");
		form_escape(body, session ? session : "dynaseal");
		evbuffer_add_printf(body, "&WebIdentityToken=");
		form_escape(body, token);
		OPENSSL_cleanse(token, strlen(token));
		free(token);
		evbuffer_add_printf(req, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
				    "application/x-www-form-urlencoded; charset=utf-8\r\nAccept: */*\r\n"
				    "Content-Length: %zu\r\n\r\n", ep->path, upstream_pool_target(ep->pool)->authority,
				    evbuffer_get_length(body));
		evbuffer_add_buffer(req, body);
		break;
	}
	case SRC_CONTAINER: {
		const char *auth = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		char *auth_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
					  ? read_small(env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) : NULL;
		evbuffer_add_printf(req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n", ep->path,
				    upstream_pool_target(ep->pool)->authority);
		if (auth_file != NULL || auth != NULL)
			evbuffer_add_printf(req, "Authorization: %s\r\n", auth_file ? auth_file : auth);
		evbuffer_add_printf(req, "\r\n");
		if (auth_file != NULL) {
			OPENSSL_cleanse(auth_file, strlen(auth_file));
			free(auth_file);
		}
		break;
	}
	case SRC_IMDS:
		if (c->imds_step == 0)
			evbuffer_add_printf(req, "PUT /latest/api/token HTTP/1.1\r\nHost: %s\r\n"
					    "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n",
					    upstream_pool_target(ep->pool)->authority);
		else
			evbuffer_add_printf(req, "GET /latest/meta-data/iam/security-credentials/%s HTTP/1.1\r\n"
					    "Host: %s\r\nX-aws-ec2-metadata-token: %s\r\n\r\n",
					    c->imds_step == 1 ? "" : c->imds_role, upstream_pool_target(ep->pool)->authority, c->imds_token);
		break;
	default:
		evbuffer_free(req);
		evbuffer_free(body);
		c->fetching = 0;
		return;
	}
	evbuffer_free(body);
	len = evbuffer_get_length(req);
	bytes = malloc(len);
	if (bytes == NULL)
		goto oom;
	evbuffer_remove(req, bytes, len);
	evbuffer_free(req);
	if (upstream_call_start(ep->pool, bytes, len, response_cb, c) == NULL)
		fetched(c, NULL, "cannot open a connection");
	return;
oom:
	if (req != NULL)
		evbuffer_free(req);
	if (body != NULL)
		evbuffer_free(body);
	fetched(c, NULL, "out of memory");
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cred_chain *c = arg;

	(void)fd;
	(void)what;
	if (c->fetching)
		return;
	c->imds_step = 0;
	fetch(c);
}

/* Picks the source, as the SDKs' default chain does.  Returns 0, or -1 with c->why. */
static int choose(struct cred_chain *c)
{
	char url[600];
	const char *home = env("HOME");
	const char *file = env("AWS_SHARED_CREDENTIALS_FILE");
	char path[512];
	struct cred_parsed p;
	char *text;
	size_t n = 0;

	if ((c->creds = credentials_from_env()) != NULL) {
		c->source = SRC_ENV;
		return 1;
	}
	if (env("AWS_WEB_IDENTITY_TOKEN_FILE") && env("AWS_ROLE_ARN")) {
		c->source = SRC_WEB_IDENTITY;
		if (env("AWS_ENDPOINT_URL_STS"))
			snprintf(url, sizeof(url), "%s", env("AWS_ENDPOINT_URL_STS"));
		else
			snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com/", c->region);
		return endpoint_open(c, &c->ep, url, "sts");
	}
	snprintf(path, sizeof(path), "%s", file ? file : "");
	if (file == NULL && home != NULL)
		snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	if (path[0] != '\0' && (text = read_all(path, &n)) != NULL) {
		const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
		int found = cred_parse_profile(text, profile, &p) == 0;
		OPENSSL_cleanse(text, n);
		free(text);
		if (found) {
			c->source = SRC_PROFILE;
			c->creds = credentials_new(p.access_key_id, p.secret_access_key, p.session_token, 0,
						   source_names[SRC_PROFILE]);
			cred_parsed_free(&p);
			return c->creds ? 1 : -1;
		}
	}
	if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
		c->source = SRC_CONTAINER;
		snprintf(url, sizeof(url), "http://169.254.170.2%s", env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
		return endpoint_open(c, &c->ep, url, "container-credentials");
	}
	if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
		c->source = SRC_CONTAINER;
		return endpoint_open(c, &c->ep, env("AWS_CONTAINER_CREDENTIALS_FULL_URI"), "container-credentials");
	}
	if (env("AWS_EC2_METADATA_DISABLED") && strcasecmp(env("AWS_EC2_METADATA_DISABLED"), "true") == 0) {
		snprintf(c->why, sizeof(c->why), "no credentials in the environment, no web identity, no "
			 "profile, no container endpoint, and instance metadata is disabled");
		return -1;
	}
	c->source = SRC_IMDS;
	return endpoint_open(c, &c->ep, env("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?
			     env("AWS_EC2_METADATA_SERVICE_ENDPOINT") : "http://169.254.169.254", "imds");
}

struct cred_chain *cred_chain_start(struct event_base *base, struct evdns_base *dns, SSL_CTX *ssl_ctx,
				    const char *region, struct ds_error *err)
{
	struct cred_chain *c = calloc(1, sizeof(*c));
	int r;

	if (c == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	c->base = base;
	c->dns = dns;
	c->ssl_ctx = ssl_ctx;
	snprintf(c->region, sizeof(c->region), "%s", region && *region ? region : "us-east-1");
	c->timer = evtimer_new(base, refresh_cb, c);
	if (c->timer == NULL)
		goto fail;
	r = choose(c);
	if (r < 0)
		goto fail;
	if (r == 1)
		return c;   /* static credentials: nothing to fetch or refresh */
	fetch(c);
	while (!c->first_done)
		event_base_loop(base, EVLOOP_ONCE);
	if (!c->first_ok)
		goto fail;
	return c;
fail:
	ds_error_set(err, 500, DS_ERR_INTERNAL, "no AWS credentials for dynaseal itself: %s (%s)",
		     c->why[0] ? c->why : "nothing applies", source_names[c->source]);
	cred_chain_free(c);
	return NULL;
}

struct credentials *cred_chain_once(SSL_CTX *ssl_ctx, const char *region, struct ds_error *err)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = base ? evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS) : NULL;
	struct credentials *creds = NULL;
	struct cred_chain *c;

	if (base != NULL && dns == NULL)
		dns = evdns_base_new(base, 0);
	if (dns == NULL) {
		ds_error_set(err, 500, DS_ERR_INTERNAL, "out of memory");
		goto done;
	}
	c = cred_chain_start(base, dns, ssl_ctx, region, err);
	if (c != NULL) {
		creds = credentials_ref(cred_chain_credentials(c));
		cred_chain_free(c);
	}
done:
	if (dns != NULL)
		evdns_base_free(dns, 0);
	if (base != NULL)
		event_base_free(base);
	return creds;
}

struct credentials *cred_chain_credentials(struct cred_chain *c)
{
	return c->creds;
}

void cred_chain_free(struct cred_chain *c)
{
	if (c == NULL)
		return;
	if (c->timer != NULL)
		event_free(c->timer);
	upstream_pool_free(c->ep.pool);
	credentials_unref(c->creds);
	free(c);
}
