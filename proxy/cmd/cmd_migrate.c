/*
 * dynaseal migrate --config FILE --table T [--segments N | --segment I --total-segments N]
 *     [--max-rcu R] [--max-wcu W] [--checkpoint FILE] [--progress-interval S]
 *     [--page-size N] [--concurrency N] [--parallel N] [--dry-run | --verify]
 *
 * Sets up a worker as `serve` would (cmd_setup.h), checks the table against the config and
 * DynamoDB, loads the checkpoint, runs migrate_run (proxy/migrate.h) and prints the final
 * report as one JSON object on stdout.
 */
#include "proxy/cmd/cmd_migrate.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "crypto/aws/ddb_client.h"
#include "proxy/base/json.h"
#include "proxy/cmd/cmd_setup.h"
#include "proxy/migrate.h"

/* Messages start with the command's name: "dynaseal migrate" or "dynaseal reencrypt". */
static const char *prog = "dynaseal migrate";
#define ERR(fmt, ...) fprintf(stderr, "%s: " fmt, prog, ##__VA_ARGS__)

#define ITEMS_PER_SEGMENT 50000   /* the default --segments: one per this many items */
#define DEFAULT_MAX_SEGMENTS 16

/* The command line. */
struct migrate_cli {
	const char *config;
	const char *table;
	const char *checkpoint;
	const char *to_keyring;  /* reencrypt's --to-keyring; NULL for migrate */
	int reencrypt;           /* run as `dynaseal reencrypt` */
	int segments;            /* --segments, 0 = by table size */
	int segment;             /* --segment, -1 = every segment */
	int total_segments;      /* --total-segments, 0 = not given */
	struct migrate_opts opts;
};

static int number_arg(const char *flag, const char *arg, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (*arg == '\0' || *end != '\0' || errno != 0 || !(v >= lo && v <= hi)) {
		ERR("%s takes a number from %g to %g, not \"%s\"\n", flag, lo,
			hi, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int int_arg(const char *flag, const char *arg, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		ERR("%s takes a whole number from %d to %d, not \"%s\"\n",
			flag, lo, hi, arg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s --config FILE --table T%s [--segments N | --segment I ", prog,
		strcmp(prog, "dynaseal reencrypt") == 0 ? " --to-keyring K" : "");
	fprintf(stderr, "--total-segments N]\n"
		"         [--max-rcu R] [--max-wcu W] [--checkpoint FILE] [--progress-interval S]\n"
		"         [--page-size N] [--concurrency N] [--parallel N] [--dry-run | --verify]\n");
}

static int parse(int argc, char **argv, struct migrate_cli *c, int reencrypt)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "table", required_argument, NULL, 't' },
		{ "segments", required_argument, NULL, 's' },
		{ "segment", required_argument, NULL, 'i' },
		{ "total-segments", required_argument, NULL, 'n' },
		{ "max-rcu", required_argument, NULL, 'r' },
		{ "max-wcu", required_argument, NULL, 'w' },
		{ "checkpoint", required_argument, NULL, 'k' },
		{ "progress-interval", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'l' },
		{ "concurrency", required_argument, NULL, 'y' },
		{ "parallel", required_argument, NULL, 'P' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "verify", no_argument, NULL, 'v' },
		{ "to-keyring", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, dry = 0, verify = 0;

	memset(c, 0, sizeof(*c));
	c->reencrypt = reencrypt;
	c->config = getenv("DYNASEAL_CONFIG");
	c->segment = -1;
	c->opts.page_size = 100;
	c->opts.concurrency = 16;
	c->opts.parallel = DEFAULT_MAX_SEGMENTS;
	c->opts.progress_interval_s = 5;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case 'c': c->config = optarg; break;
		case 't': c->table = optarg; break;
		case 'k': c->checkpoint = optarg; break;
		case 'd': dry = 1; break;
		case 'v': verify = 1; break;
		case 'K':
			if (!reencrypt) {
				ERR("--to-keyring belongs to dynaseal reencrypt\n");
				return -1;
			}
			c->to_keyring = optarg;
			break;
		case 's': bad = int_arg("--segments", optarg, 1, MIGRATE_MAX_SEGMENTS, &c->segments); break;
		case 'i': bad = int_arg("--segment", optarg, 0, MIGRATE_MAX_SEGMENTS - 1, &c->segment); break;
		case 'n': bad = int_arg("--total-segments", optarg, 1, MIGRATE_MAX_SEGMENTS, &c->total_segments); break;
		case 'r': bad = number_arg("--max-rcu", optarg, 0.5, 1e9, &c->opts.max_rcu); break;
		case 'w': bad = number_arg("--max-wcu", optarg, 0.5, 1e9, &c->opts.max_wcu); break;
		case 'p': bad = number_arg("--progress-interval", optarg, 0.1, 3600, &c->opts.progress_interval_s); break;
		case 'l': bad = int_arg("--page-size", optarg, 1, 1000, &c->opts.page_size); break;
		case 'y': bad = int_arg("--concurrency", optarg, 1, 256, &c->opts.concurrency); break;
		case 'P': bad = int_arg("--parallel", optarg, 1, 1000, &c->opts.parallel); break;
		default:
			ERR("unknown option \"%s\"\n", argv[optind - 1]);
			usage();
			return -1;
		}
		if (bad)
			return -1;
	}
	if (optind < argc) {
		ERR("unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (c->config == NULL || *c->config == '\0') {
		ERR("no config file: pass --config FILE or set DYNASEAL_CONFIG\n");
		return -1;
	}
	if (c->table == NULL || *c->table == '\0') {
		ERR("--table is required: the table to migrate\n");
		return -1;
	}
	if (reencrypt && (c->to_keyring == NULL || *c->to_keyring == '\0')) {
		ERR("--to-keyring is required: the keyring (under \"keyrings\") to move the "
		    "table's items to\n");
		return -1;
	}
	if (dry && verify) {
		ERR("--dry-run and --verify cannot be used together\n");
		return -1;
	}
	if (c->segments != 0 && (c->segment >= 0 || c->total_segments != 0)) {
		ERR("--segments cannot be used with --segment or "
			"--total-segments: use --total-segments N alone to scan all N segments here\n");
		return -1;
	}
	if (c->segment >= 0 && c->total_segments == 0) {
		ERR("--segment needs --total-segments (how many shares "
			"the table is cut into)\n");
		return -1;
	}
	if (c->segment >= c->total_segments && c->segment >= 0) {
		ERR("--segment %d is not below --total-segments %d (segments "
			"are numbered from 0)\n", c->segment, c->total_segments);
		return -1;
	}
	c->opts.mode = dry ? MIGRATE_DRY_RUN : verify ? MIGRATE_VERIFY : MIGRATE_ENCRYPT;
	c->opts.checkpoint_path = c->checkpoint;
	return 0;
}

static struct keyring *search_keyring(void *gen, const struct config_table *t)
{
	return worker_gen_search_keyring(gen, t);
}

static const char *mode_name(const struct migrate_cli *c)
{
	enum migrate_mode m = c->opts.mode;

	if (c->reencrypt)
		return m == MIGRATE_DRY_RUN ? "reencrypt-dry-run" :
		       m == MIGRATE_VERIFY ? "reencrypt-verify" : "reencrypt";
	return m == MIGRATE_DRY_RUN ? "dry-run" : m == MIGRATE_VERIFY ? "verify" : "migrate";
}

static int legacy_open(void *gen, const struct config_table *t, const cJSON *item,
		       const struct audit_ctx *audit, legacy_reader_done_cb cb, void *cb_arg)
{
	return worker_gen_legacy_open(gen, t, item, audit, cb, cb_arg);
}

/*
 * Finds --to-keyring (its index in cfg->keyrings into *to) and checks that the table writes
 * with it: so nothing written during the run lands under the old key, and the table's
 * read_keyrings open the items not moved yet (README "Re-encrypting under another keyring").
 * 0, or -1 (reported).
 */
static int check_to_keyring(const struct migrate_cli *c, const struct config *cfg,
			    const struct config_table *t, size_t *to)
{
	for (*to = 0; *to < cfg->keyrings_len; (*to)++)
		if (strcmp(cfg->keyrings[*to].name, c->to_keyring) == 0)
			break;
	if (*to == cfg->keyrings_len) {
		ERR("keyring \"%s\" is not defined under \"keyrings\" in %s\n", c->to_keyring,
		    c->config);
		return -1;
	}
	if (t->keyring_ref != &cfg->keyrings[*to]) {
		ERR("table \"%s\" writes with keyring \"%s\", not \"%s\": make \"%s\" the table's "
		    "keyring and list the keyrings its items are under now in \"read_keyrings\" (and "
		    "reload dynaseal), so that new items are written under \"%s\" and both are read "
		    "while the items move\n", c->table, t->keyring, c->to_keyring, c->to_keyring,
		    c->to_keyring);
		return -1;
	}
	return 0;
}

/* The end of the one DescribeTable call. */
struct describe {
	int done;
	cJSON *table;            /* the "Table" object (owned), or NULL */
	char error_type[96];
	char message[512];
};

static void describe_done(void *arg, const cJSON *resp, const char *error_type, const struct ds_error *err)
{
	struct describe *d = arg;

	d->done = 1;
	if (err != NULL) {
		snprintf(d->error_type, sizeof(d->error_type), "%s", error_type);
		snprintf(d->message, sizeof(d->message), "%s", err->message);
		return;
	}
	d->table = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(resp, "Table"), 1);
}

/* Loads the checkpoint if the file exists and checks it is this run's.  0, -1 (reported). */
static int load_checkpoint(const struct migrate_cli *c, struct migrate_checkpoint *cp)
{
	FILE *f = fopen(c->checkpoint, "rb");
	char why[512], *data = NULL;
	long len;
	int rc = -1;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		ERR("cannot read checkpoint %s: %s\n", c->checkpoint, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > 64L * 1024 * 1024 ||
	    fseek(f, 0, SEEK_SET) != 0 || (data = malloc((size_t)len + 1)) == NULL ||
	    fread(data, 1, (size_t)len, f) != (size_t)len) {
		ERR("cannot read checkpoint %s\n", c->checkpoint);
		goto cleanup;
	}
	if (migrate_checkpoint_parse(data, (size_t)len, cp, why, sizeof(why)) != 0) {
		ERR("checkpoint %s is not one: %s\n", c->checkpoint, why);
		goto cleanup;
	}
	if (strcmp(cp->table, c->table) != 0)
		ERR("checkpoint %s is of table \"%s\", not \"%s\"\n",
			c->checkpoint, cp->table, c->table);
	else if (strcmp(cp->mode, mode_name(c)) != 0)
		ERR("checkpoint %s is of a %s run, not of a %s run\n",
			c->checkpoint, cp->mode, mode_name(c));
	else if (cp->total_segments != c->opts.total_segments)
		ERR("checkpoint %s cuts the table into %d segments, not %d: "
			"run with --total-segments %d, or remove the checkpoint to start over\n",
			c->checkpoint, cp->total_segments, c->opts.total_segments, cp->total_segments);
	else
		rc = 0;
	if (rc != 0)
		migrate_checkpoint_cleanup(cp);
cleanup:
	fclose(f);
	free(data);
	return rc;
}

static void print_report(const struct migrate_cli *c, const struct migrate_checkpoint *cp,
			 const struct migrate_result *res, const char *status)
{
	const struct migrate_counts *n = &res->counts;
	cJSON *o = cJSON_CreateObject(), *totals;
	struct migrate_counts sum = { 0 };
	char *text;

	if (o == NULL)
		return;
	cJSON_AddStringToObject(o, "table", c->table);
	cJSON_AddStringToObject(o, "mode", mode_name(c));
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddNumberToObject(o, "total_segments", c->opts.total_segments);
	cJSON_AddNumberToObject(o, "segments", (double)c->opts.segments_len);
	cJSON_AddNumberToObject(o, "segments_done", (double)res->segments_done);
	cJSON_AddNumberToObject(o, "segments_already_done", (double)res->segments_already_done);
	cJSON_AddNumberToObject(o, "segments_failed", (double)res->segments_failed);
	cJSON_AddNumberToObject(o, "scanned", (double)n->scanned);
	if (c->opts.mode == MIGRATE_VERIFY) {
		cJSON_AddNumberToObject(o, "protected", (double)n->skipped);
		cJSON_AddNumberToObject(o, "unprotected", (double)(n->unprotected + n->legacy));
		cJSON_AddNumberToObject(o, "legacy", (double)n->legacy);
		cJSON_AddNumberToObject(o, "failed", (double)n->failed);
	} else {
		cJSON_AddNumberToObject(o, c->opts.mode == MIGRATE_DRY_RUN ? "would_convert" : "converted",
					(double)n->converted);
		cJSON_AddNumberToObject(o, "skipped", (double)n->skipped);
		cJSON_AddNumberToObject(o, "legacy", (double)n->legacy);
		if (c->reencrypt)
			cJSON_AddNumberToObject(o, "unprotected", (double)n->unprotected);
		cJSON_AddNumberToObject(o, "failed", (double)n->failed);
		cJSON_AddNumberToObject(o, "conflicts", (double)n->conflicts);
	}
	cJSON_AddNumberToObject(o, "consumed_rcu", round(n->rcu * 10) / 10);
	cJSON_AddNumberToObject(o, "consumed_wcu", round(n->wcu * 10) / 10);
	cJSON_AddNumberToObject(o, "seconds", round(res->seconds * 100) / 100);
	cJSON_AddNumberToObject(o, "items_per_second",
				res->seconds > 0 ? round((double)n->scanned / res->seconds) : 0);
	/* Every run of the share's segments, as the checkpoint counts them. */
	for (size_t i = 0; i < c->opts.segments_len; i++)
		for (size_t j = 0; j < cp->len; j++)
			if (cp->segs[j].index == c->opts.segments[i])
				migrate_counts_add(&sum, &cp->segs[j].counts);
	totals = migrate_counts_json(&sum);
	if (totals != NULL)
		cJSON_AddItemToObject(o, "all_runs", totals);
	if (c->checkpoint != NULL)
		cJSON_AddStringToObject(o, "checkpoint", c->checkpoint);
	if (res->error[0] != '\0')
		cJSON_AddStringToObject(o, "error", res->error);
	text = json_print(o, NULL);
	if (text != NULL)
		printf("%s\n", text);
	fflush(stdout);
	cJSON_free(text);
	cJSON_Delete(o);
}

static int run(int argc, char **argv, int reencrypt)
{
	struct migrate_cli c;
	struct cmd_setup cs;
	struct migrate_checkpoint cp = { 0 };
	struct migrate_result res;
	struct migrate_env env = { 0 };
	struct describe d = { 0 };
	struct ds_error err = { 0 };
	const struct config_table *t;
	const cJSON *count;
	const char *status;
	int rc = 2, setup = 0;
	size_t to = 0;

	prog = reencrypt ? "dynaseal reencrypt" : "dynaseal migrate";
	if (parse(argc, argv, &c, reencrypt) != 0)
		return 2;
	if (cmd_setup_init(&cs, c.config) != 0) {
		ERR("%s has problems (above)\n", c.config);
		return 2;
	}
	setup = 1;
	t = config_find_table(cs.srv.cfg, c.table, strlen(c.table));
	if (t == NULL) {
		ERR("table \"%s\" is not configured in %s: add it under "
			"\"tables\" with its keyring and attribute actions\n", c.table, c.config);
		goto cleanup;
	}
	if (c.opts.mode == MIGRATE_ENCRYPT && !c.reencrypt && t->plaintext_policy != PLAINTEXT_ALLOW_READ &&
	    (t->legacy == NULL || t->legacy->policy != LEGACY_POLICY_ALLOW_READ)) {
		ERR("table \"%s\" does not have \"plaintext_policy\": "
			"\"allow-read\" (or a legacy block with policy \"allow-read\"): set it in %s (and "
			"reload dynaseal) so that dynaseal serves the table's items while they are "
			"migrated\n", c.table, c.config);
		goto cleanup;
	}
	if (c.reencrypt && check_to_keyring(&c, cs.srv.cfg, t, &to) != 0)
		goto cleanup;
	if (!cs.ready) {
		ERR("cannot set up: %s (see dynaseal doctor)\n",
			cs.cred_err.message[0] ? cs.cred_err.message : "no credentials, region or keyrings");
		goto cleanup;
	}
	env.base = cs.w.base;
	env.table = t;
	env.keyring = worker_gen_keyring(cs.w.gen, t);
	env.search_keyring = search_keyring;
	env.search_arg = cs.w.gen;
	env.to_keyring = c.reencrypt ? cs.w.gen->keyrings[to] : NULL;
	env.legacy_open = legacy_open;
	env.legacy_arg = cs.w.gen;
	env.ddb = ddb_client_on_pool(cs.w.base, cs.w.dynamodb, cs.srv.region, cs.srv.creds, &err);
	if (env.ddb == NULL) {
		ERR("%s\n", err.message);
		goto cleanup;
	}
	{
		cJSON *req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "TableName", c.table);
		ddb_call(env.ddb, "DescribeTable", req, describe_done, &d);
		while (!d.done)
			event_base_loop(cs.w.base, EVLOOP_ONCE);
	}
	if (d.table == NULL) {
		if (strcmp(d.error_type, "ResourceNotFoundException") == 0)
			ERR("table \"%s\" does not exist at %s\n", c.table,
				cs.srv.cfg->upstream_endpoint);
		else
			ERR("DescribeTable %s: %s\n", c.table, d.message);
		goto cleanup;
	}
	count = cJSON_GetObjectItemCaseSensitive(d.table, "ItemCount");
	if (c.total_segments == 0) {
		double items = cJSON_IsNumber(count) ? count->valuedouble : 0;
		c.total_segments = c.segments != 0 ? c.segments :
			(int)fmin(DEFAULT_MAX_SEGMENTS, fmax(1, ceil(items / ITEMS_PER_SEGMENT)));
	}
	c.opts.total_segments = c.total_segments;
	c.opts.segments_len = c.segment >= 0 ? 1 : (size_t)c.total_segments;
	c.opts.segments = calloc(c.opts.segments_len, sizeof(int));
	if (c.opts.segments == NULL)
		goto cleanup;
	for (size_t i = 0; i < c.opts.segments_len; i++)
		c.opts.segments[i] = c.segment >= 0 ? c.segment : (int)i;
	if (cJSON_IsNumber(count))
		c.opts.expected_items = count->valuedouble * (double)c.opts.segments_len / c.total_segments;
	if (c.checkpoint != NULL && load_checkpoint(&c, &cp) != 0)
		goto cleanup;
	if (cp.table == NULL && ((cp.table = strdup(c.table)) == NULL ||
				 (cp.mode = strdup(mode_name(&c))) == NULL))
		goto cleanup;
	cp.total_segments = c.total_segments;
	c.opts.progress = stderr;
	c.opts.progress_tty = isatty(STDERR_FILENO);
	if (migrate_run(&env, &c.opts, &cp, &res) != 0) {
		ERR("out of memory\n");
		rc = 1;
		goto cleanup;
	}
	if (res.interrupted && res.segments_done < c.opts.segments_len) {
		status = "interrupted";
		rc = 3;
	} else if (res.counts.failed > 0 || res.segments_failed > 0 || res.error[0] != '\0' ||
		   (c.opts.mode == MIGRATE_ENCRYPT && res.counts.legacy > 0) ||
		   /* reencrypt leaves plaintext items (unprotected): not done either */
		   ((c.opts.mode == MIGRATE_VERIFY || c.reencrypt) &&
		    res.counts.unprotected + res.counts.legacy > 0)) {
		status = "incomplete";
		rc = 1;
	} else {
		status = "done";
		rc = 0;
	}
	if (c.opts.mode == MIGRATE_ENCRYPT && res.counts.legacy > 0)
		ERR("table \"%s\": %llu item(s) of the legacy DynamoDB "
			"Encryption Client were left as they are: the table has no legacy block with "
			"policy \"allow-read\"\n",
			c.table, (unsigned long long)res.counts.legacy);
	print_report(&c, &cp, &res, status);
cleanup:
	free(c.opts.segments);
	migrate_checkpoint_cleanup(&cp);
	cJSON_Delete(d.table);
	ddb_client_free(env.ddb);
	if (setup)
		cmd_setup_cleanup(&cs);
	return rc;
}

int cmd_migrate(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_reencrypt(int argc, char **argv)
{
	return run(argc, argv, 1);
}
