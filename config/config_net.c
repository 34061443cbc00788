/*
 * Network values of the config: listen addresses, the upstream endpoint (and its derivation
 * from the region), the Redis URL, and the self-loop check.  The upstream is never read from
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL: applications sharing our environment point
 * those at the sidecar itself (DESIGN "Interfaces that are contracts").
 */
#include "config/config.h"
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const upstream_keys[] = {
	"endpoint", "region", "ca_file", "connect_timeout_ms", "response_timeout_ms",
	"pool_size", NULL,
};

/* Host names and IPv4 literals: letters, digits, '-', '.', '_' (RFC 1123 and a little more). */
static int host_name_valid(const char *h, size_t n)
{
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return 0;
	}
	return 1;
}

/* Parses a decimal port of up to 5 digits; 1 ok, 0 not a number, -1 out of range. */
static int port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9')
			return 0;
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0)
		return 0;
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 1;
}

int cfg_addr_parse(const char *text, struct config_addr *addr, const char **why)
{
	const char *host = text;
	size_t host_len;
	const char *port_text;
	int pr;

	*why = "";
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		char v6[INET6_ADDRSTRLEN + 1];
		struct in6_addr tmp;
		if (close == NULL) {
			*why = "missing ']' after the IPv6 address";
			return CFG_ADDR_BAD;
		}
		host = text + 1;
		host_len = (size_t)(close - host);
		if (host_len == 0 || host_len >= sizeof(v6)) {
			*why = "not an IPv6 address";
			return CFG_ADDR_BAD;
		}
		memcpy(v6, host, host_len);
		v6[host_len] = '\0';
		if (inet_pton(AF_INET6, v6, &tmp) != 1) {
			*why = "not an IPv6 address";
			return CFG_ADDR_BAD;
		}
		if (close[1] != ':') {
			*why = "missing \":port\"";
			return CFG_ADDR_BAD;
		}
		port_text = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon == NULL) {
			*why = "missing \":port\"";
			return CFG_ADDR_BAD;
		}
		host_len = (size_t)(colon - text);
		if (memchr(text, ':', host_len) != NULL) {
			*why = "an IPv6 address needs brackets, e.g. [::1]:8000";
			return CFG_ADDR_BAD;
		}
		if (host_len > 0 && !host_name_valid(text, host_len)) {
			*why = "not a host name or IP address";
			return CFG_ADDR_BAD;
		}
		port_text = colon + 1;
	}
	pr = port_parse(port_text, &addr->port);
	if (pr == 0) {
		*why = "the port is not a number";
		return CFG_ADDR_BAD;
	}
	if (pr < 0)
		return CFG_ADDR_PORT_RANGE;
	/* ":port" listens on every IPv4 interface. */
	if (host_len == 0)
		snprintf(addr->host, sizeof(addr->host), "0.0.0.0");
	else
		snprintf(addr->host, sizeof(addr->host), "%.*s", (int)host_len, host);
	return CFG_ADDR_OK;
}

int config_parse_addr(const char *text, struct config_addr *addr)
{
	struct config_addr tmp;
	const char *why;

	if (text == NULL || cfg_addr_parse(text, &tmp, &why) != CFG_ADDR_OK)
		return -1;
	*addr = tmp;
	return 0;
}

/* host:port for messages, with brackets around an IPv6 host. */
static void addr_format(char *out, size_t size, const struct config_addr *a)
{
	if (strchr(a->host, ':') != NULL)
		snprintf(out, size, "[%s]:%u", a->host, a->port);
	else
		snprintf(out, size, "%s:%u", a->host, a->port);
}

void cfg_addr_field(struct cfg_ctx *ctx, const char *path, int is_env, const char *text,
		    int min_port, struct config_addr *out)
{
	struct config_addr a;
	const char *why;
	char q[128];
	int r = cfg_addr_parse(text, &a, &why);

	cfg_quote(q, sizeof(q), text);
	if (r == CFG_ADDR_BAD) {
		cfg_problem_subject(ctx, path, is_env,
				    "bad address \"%s\" (%s); expected host:port, [IPv6]:port or :port",
				    q, why);
		return;
	}
	if (r == CFG_ADDR_PORT_RANGE || a.port < min_port) {
		cfg_problem_subject(ctx, path, is_env,
				    "port out of range in \"%s\"; expected %d to 65535%s", q, min_port,
				    min_port == 0 ? " (0 turns it off)" : "");
		return;
	}
	*out = a;
}

/*
 * Splits "http[s]://host[:port][/]" into its parts.  Paths, queries and user information are
 * refused: requests are sent to "/" as DynamoDB expects, and a password in a URL would end up
 * in logs.
 */
static int endpoint_parse(const char *text, int *tls, struct config_addr *addr, const char **why)
{
	const char *rest;
	const char *slash;
	size_t auth_len;
	char hostport[300];

	if (strncasecmp(text, "https://", 8) == 0) {
		*tls = 1;
		rest = text + 8;
	} else if (strncasecmp(text, "http://", 7) == 0) {
		*tls = 0;
		rest = text + 7;
	} else {
		*why = "it must start with http:// or https://";
		return CFG_ADDR_BAD;
	}
	if (strpbrk(rest, "?#") != NULL) {
		*why = "it must not have a query or fragment";
		return CFG_ADDR_BAD;
	}
	slash = strchr(rest, '/');
	auth_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (slash != NULL && strcmp(slash, "/") != 0) {
		*why = "it must not have a path other than \"/\"";
		return CFG_ADDR_BAD;
	}
	if (memchr(rest, '@', auth_len) != NULL) {
		*why = "it must not contain a user name or password";
		return CFG_ADDR_BAD;
	}
	if (auth_len == 0 || rest[0] == ':') {
		*why = "the host is missing";
		return CFG_ADDR_BAD;
	}
	if (auth_len > 270) {
		*why = "the host name is too long";
		return CFG_ADDR_BAD;
	}
	/* Without a port, add the scheme's and parse as host:port. */
	const char *close = rest[0] == '[' ? memchr(rest, ']', auth_len) : NULL;
	int has_port = rest[0] == '[' ? close != NULL && (size_t)(close - rest) + 1 < auth_len
		: memchr(rest, ':', auth_len) != NULL;
	snprintf(hostport, sizeof(hostport), "%.*s%s", (int)auth_len, rest,
		 has_port ? "" : *tls ? ":443" : ":80");
	int r = cfg_addr_parse(hostport, addr, why);
	if (r == CFG_ADDR_OK && addr->port == 0)
		return CFG_ADDR_PORT_RANGE;
	return r;
}

int config_addr_equal(const struct config_addr *a, const struct config_addr *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

int config_parse_endpoint(const char *text, int *tls, struct config_addr *addr, const char **why)
{
	return endpoint_parse(text, tls, addr, why) == CFG_ADDR_OK ? 0 : -1;
}

void cfg_endpoint_field(struct cfg_ctx *ctx, const char *path, int is_env, const char *text,
			struct config *cfg)
{
	struct config_addr a;
	const char *why = "";
	char q[128];
	int tls = 0;
	int r = endpoint_parse(text, &tls, &a, &why);
	size_t n;

	/* A URL with '@' may carry a password: describe it without showing it. */
	if (strchr(text, '@') != NULL)
		snprintf(q, sizeof(q), "(value not shown)");
	else
		cfg_quote(q, sizeof(q), text);
	if (r == CFG_ADDR_BAD) {
		cfg_problem_subject(ctx, path, is_env,
				    "bad endpoint \"%s\": %s; expected http://HOST[:PORT] or https://HOST[:PORT]",
				    q, why);
		ctx->endpoint_bad = 1;
		return;
	}
	if (r == CFG_ADDR_PORT_RANGE) {
		cfg_problem_subject(ctx, path, is_env,
				    "port out of range in \"%s\"; expected 1 to 65535", q);
		ctx->endpoint_bad = 1;
		return;
	}
	free(cfg->upstream_endpoint);
	cfg->upstream_endpoint = cfg_strdup(ctx, text);
	if (cfg->upstream_endpoint != NULL) {
		/* Kept without the trailing "/" so callers can append paths uniformly. */
		n = strlen(cfg->upstream_endpoint);
		if (n > 0 && cfg->upstream_endpoint[n - 1] == '/')
			cfg->upstream_endpoint[n - 1] = '\0';
	}
	cfg->upstream_tls = tls;
	cfg->upstream_addr = a;
}

int cfg_region_valid(const char *s)
{
	size_t n = strlen(s);
	int dash = 0;

	if (n < 3 || n > 64 || !islower((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '-')
			dash = 1;
		else if (!islower(c) && !isdigit(c))
			return 0;
	}
	return dash;
}

int cfg_endpoint_from_region(struct config *cfg, const char *region)
{
	char *url = NULL;
	/* China regions live under their own domain. */
	const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";

	if (asprintf(&url, "https://dynamodb.%s.%s", region, suffix) < 0)
		return -1;
	free(cfg->upstream_endpoint);
	cfg->upstream_endpoint = url;
	cfg->upstream_tls = 1;
	snprintf(cfg->upstream_addr.host, sizeof(cfg->upstream_addr.host), "dynamodb.%s.%s",
		 region, suffix);
	cfg->upstream_addr.port = 443;
	return 0;
}

void cfg_parse_upstream(struct cfg_ctx *ctx, const cJSON *up, struct config *cfg)
{
	static const struct cfg_int_field fields[] = {
		CFG_INT("connect_timeout_ms", 1, 600000, upstream_connect_timeout_ms),
		CFG_INT("response_timeout_ms", 1, 3600000, upstream_response_timeout_ms),
		CFG_INT("pool_size", 0, 100000, upstream_pool_size),
	};
	const char *s;
	char q[128];

	cfg_check_keys(ctx, up, "upstream", upstream_keys);
	if (cfg_get_string(ctx, up, "upstream", "endpoint", 0, &s) == CFG_OK)
		cfg_endpoint_field(ctx, "upstream.endpoint", 0, s, cfg);
	if (cfg_get_string(ctx, up, "upstream", "region", 0, &s) == CFG_OK) {
		if (cfg_region_valid(s)) {
			cfg->upstream_region = cfg_strdup(ctx, s);
		} else {
			cfg_quote(q, sizeof(q), s);
			cfg_problem(ctx, "upstream.region",
				    "\"%s\" is not an AWS region name such as us-east-1", q);
			ctx->endpoint_bad = 1;
		}
	}
	if (cfg_get_string(ctx, up, "upstream", "ca_file", 0, &s) == CFG_OK) {
		char *p = cfg_resolve_path(ctx, s);
		if (p != NULL && access(p, R_OK) != 0) {
			cfg_quote(q, sizeof(q), p);
			cfg_problem(ctx, "upstream.ca_file", "cannot read \"%s\": %s", q, strerror(errno));
		}
		cfg->upstream_ca_file = p;
	}
	cfg_get_ints(ctx, up, "upstream", fields, sizeof(fields) / sizeof(fields[0]), cfg);
}

/* Checks "redis://[user:password@]host[:port][/db]" (or rediss://); why never quotes it. */
static int redis_url_valid(const char *text, const char **why)
{
	const char *rest;
	const char *slash;
	const char *at;
	size_t auth_len;
	char hostport[300];
	struct config_addr a;
	const char *addr_why;

	if (strncasecmp(text, "rediss://", 9) == 0) {
		rest = text + 9;
	} else if (strncasecmp(text, "redis://", 8) == 0) {
		rest = text + 8;
	} else {
		*why = "it must start with redis:// or rediss://";
		return 0;
	}
	slash = strchr(rest, '/');
	auth_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	/* The password may itself contain '@': the host starts after the last one. */
	for (at = rest + auth_len; at > rest && at[-1] != '@'; at--)
		;
	auth_len -= (size_t)(at - rest);
	rest = at;
	if (auth_len == 0 || rest[0] == ':') {
		*why = "the host is missing";
		return 0;
	}
	if (auth_len > 270) {
		*why = "the host name is too long";
		return 0;
	}
	if (slash != NULL && slash[1] != '\0') {
		uint16_t db;
		if (port_parse(slash + 1, &db) != 1) {
			*why = "the database after '/' must be a number";
			return 0;
		}
	}
	const char *close = rest[0] == '[' ? memchr(rest, ']', auth_len) : NULL;
	int has_port = rest[0] == '[' ? close != NULL && (size_t)(close - rest) + 1 < auth_len
		: memchr(rest, ':', auth_len) != NULL;
	snprintf(hostport, sizeof(hostport), "%.*s%s", (int)auth_len, rest, has_port ? "" : ":6379");
	int r = cfg_addr_parse(hostport, &a, &addr_why);
	if (r == CFG_ADDR_BAD) {
		*why = addr_why;
		return 0;
	}
	if (r == CFG_ADDR_PORT_RANGE || a.port == 0) {
		*why = "the port is out of range (1 to 65535)";
		return 0;
	}
	return 1;
}

void cfg_redis_field(struct cfg_ctx *ctx, const char *path, const char *text, struct config *cfg)
{
	const char *why = "";

	if (!redis_url_valid(text, &why)) {
		cfg_problem(ctx, path,
			    "not a Redis URL: %s; expected redis://[USER:PASSWORD@]HOST[:PORT][/DB] or "
			    "rediss://... (the value is not shown: it may hold a password)", why);
		return;
	}
	free(cfg->cache_redis);
	cfg->cache_redis = cfg_strdup(ctx, text);
}

static int host_is_loopback(const char *h)
{
	struct in_addr v4;
	struct in6_addr v6;
	size_t n = strlen(h);

	if (strcasecmp(h, "localhost") == 0 || strcasecmp(h, "localhost.") == 0)
		return 1;
	if (n > 10 && strcasecmp(h + n - 10, ".localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, h, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &v6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&v6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
	}
	return 0;
}

int config_host_is_loopback(const char *host)
{
	return host_is_loopback(host);
}

static int host_is_wildcard(const char *h)
{
	return h[0] == '\0' || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 ||
	       strcmp(h, "*") == 0;
}

int cfg_addr_same(const struct config_addr *a, const struct config_addr *b)
{
	int la, lb;

	if (a->port != b->port)
		return 0;
	if (strcasecmp(a->host, b->host) == 0)
		return 1;
	la = host_is_loopback(a->host);
	lb = host_is_loopback(b->host);
	if (la && lb)
		return 1;
	/* A socket bound to every interface also answers on loopback. */
	if (host_is_wildcard(a->host) && (lb || host_is_wildcard(b->host)))
		return 1;
	return host_is_wildcard(b->host) && la;
}

/* Reports the upstream being one of our own sockets: every request would loop forever. */
static void self_loop_check(struct cfg_ctx *ctx, const struct config *cfg, const char *subject,
			    int is_env)
{
	char a[300];

	if (cfg_addr_same(&cfg->upstream_addr, &cfg->listen)) {
		addr_format(a, sizeof(a), &cfg->listen);
		cfg_problem_subject(ctx, subject, is_env,
				    "points at dynaseal's own listen address %s, so every request would "
				    "loop back into the proxy; set it to DynamoDB (e.g. "
				    "https://dynamodb.us-east-1.amazonaws.com) or a local DynamoDB on "
				    "another port", a);
	}
	if (cfg->has_admin_listen && cfg_addr_same(&cfg->upstream_addr, &cfg->admin_listen)) {
		addr_format(a, sizeof(a), &cfg->admin_listen);
		cfg_problem_subject(ctx, subject, is_env,
				    "points at dynaseal's own admin_listen address %s; set it to DynamoDB",
				    a);
	}
}

void cfg_post_upstream(struct cfg_ctx *ctx, struct config *cfg, const char *endpoint_subject,
		       int endpoint_is_env)
{
	const char *region = cfg->upstream_region;
	const char *env_name = NULL;
	char q[128];

	if (cfg->upstream_endpoint == NULL && !ctx->endpoint_bad) {
		if (region == NULL) {
			env_name = "AWS_REGION";
			region = getenv(env_name);
			if (region == NULL || region[0] == '\0') {
				env_name = "AWS_DEFAULT_REGION";
				region = getenv(env_name);
			}
			if (region != NULL && region[0] == '\0')
				region = NULL;
		}
		if (region == NULL) {
			cfg_problem(ctx, "upstream.endpoint",
				    "missing; set upstream.endpoint (e.g. "
				    "\"https://dynamodb.us-east-1.amazonaws.com\") or upstream.region in "
				    "the config file, or AWS_REGION in the environment");
			return;
		}
		if (env_name != NULL && !cfg_region_valid(region)) {
			cfg_quote(q, sizeof(q), region);
			cfg_problem_at(ctx, env_name,
				       "\"%s\" is not an AWS region name such as us-east-1", q);
			return;
		}
		/* The endpoint is regional: requests to it are signed for that region too. */
		if (env_name != NULL && cfg->upstream_region == NULL)
			cfg->upstream_region = cfg_strdup(ctx, region);
		if (cfg_endpoint_from_region(cfg, region) != 0) {
			ctx->oom = 1;
			return;
		}
	}
	if (cfg->upstream_endpoint != NULL)
		self_loop_check(ctx, cfg, endpoint_subject, endpoint_is_env);
}
