/*
 * dynaseal's command line: serve, check, inspect, doctor, migrate, reencrypt, branch-key, --version, --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/opensslv.h>

#include "config/config.h"
#include "proxy/cmd/cmd_branch_key.h"
#include "proxy/cmd/cmd_migrate.h"
#include "proxy/cmd/cmd_tools.h"
#include "proxy/base/log.h"
#include "proxy/server.h"

#define DYNASEAL_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"dynaseal %s — a transparent encrypting proxy for Amazon DynamoDB\n"
		"\n"
		"Usage:\n"
		"  dynaseal serve --config FILE [--workers N]   run the proxy\n"
		"  dynaseal check --config FILE                 validate a config file, print every\n"
		"                                               problem, exit 1 if there is any\n"
		"  dynaseal inspect --config FILE --table T --key JSON\n"
		"                                               an item as stored beside the item as\n"
		"                                               the application sees it\n"
		"  dynaseal doctor --config FILE                checks credentials, the upstream and\n"
		"                                               tables, each keyring and Redis\n"
		"  dynaseal migrate --config FILE --table T [--segments N | --segment I --total-segments N]\n"
		"          [--max-rcu R] [--max-wcu W] [--checkpoint FILE] [--dry-run | --verify]\n"
		"                                               encrypts every plaintext item of a live\n"
		"                                               table in place (README \"Migrating an\n"
		"                                               existing table\")\n"
		"  dynaseal reencrypt --config FILE --table T --to-keyring K [migrate's options]\n"
		"                                               moves every item of a live table to\n"
		"                                               keyring K (README \"Re-encrypting\")\n"
		"  dynaseal branch-key create-store|create|rotate --table T [--kms-key ARN] [--id ID]\n"
		"                                               the aws-kms-hierarchical key store\n"
		"  dynaseal --version | --help\n"
		"\n"
		"The config file may also be given as DYNASEAL_CONFIG.  Environment overrides:\n"
		"DYNASEAL_LISTEN, DYNASEAL_ADMIN_LISTEN, DYNASEAL_UPSTREAM_ENDPOINT, DYNASEAL_LOG_LEVEL.\n"
		"dynaseal's own AWS credentials are found as the AWS SDKs find theirs: the environment\n"
		"(AWS_ACCESS_KEY_ID, ...), web identity (IRSA), AWS_PROFILE, container credentials (ECS\n"
		"task role, EKS Pod Identity), then instance metadata; its region from upstream.region\n"
		"or AWS_REGION.\n"
		"\n"
		"Point applications at it with AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000.\n",
		DYNASEAL_VERSION);
}

/* Options shared by the subcommands. */
struct cli {
	const char *config_path;    /* --config or DYNASEAL_CONFIG */
	int workers;                /* --workers, 0 = from config */
};

static int parse_args(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli->config_path = getenv("DYNASEAL_CONFIG");
	cli->workers = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->config_path = optarg;
			break;
		case 'w': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 256) {
				fprintf(stderr, "dynaseal: --workers takes a number from 1 to 256, not \"%s\"\n", optarg);
				return -1;
			}
			cli->workers = (int)n;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dynaseal: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (cli->config_path == NULL || *cli->config_path == '\0') {
		fprintf(stderr, "dynaseal: no config file: pass --config FILE or set DYNASEAL_CONFIG\n");
		return -1;
	}
	return 0;
}

/* Loads the config, printing every problem.  Returns NULL on any. */
static struct config *load_or_report(const char *path)
{
	struct config_problems problems = { 0 };
	struct config *cfg = config_load(path, &problems);

	if (cfg == NULL) {
		config_print_problems(&problems, stderr);
		fprintf(stderr, "dynaseal: %s: %zu problem%s\n", path, problems.len,
			problems.len == 1 ? "" : "s");
	}
	config_problems_free(&problems);
	return cfg;
}

static int cmd_check(int argc, char **argv)
{
	struct cli cli;
	struct config *cfg;

	if (parse_args(argc, argv, &cli) != 0)
		return 2;
	cfg = load_or_report(cli.config_path);
	if (cfg == NULL)
		return 1;
	printf("%s: OK (%zu table%s, %zu keyring%s)\n", cli.config_path, cfg->tables_len,
	       cfg->tables_len == 1 ? "" : "s", cfg->keyrings_len, cfg->keyrings_len == 1 ? "" : "s");
	config_free(cfg);
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	struct cli cli;
	struct config *cfg;
	int status;

	if (parse_args(argc, argv, &cli) != 0)
		return 2;
	cfg = load_or_report(cli.config_path);
	if (cfg == NULL)
		return 1;
	log_set_level((enum log_level)cfg->log_level);
	log_set_json(cfg->log_json);
	log_info("dynaseal %s starting with %s (libevent %s, %s)", DYNASEAL_VERSION, cli.config_path,
		 event_get_version(), OPENSSL_VERSION_TEXT);
	/* server_run takes the config (a reload may replace it). */
	status = server_run(cfg, cli.workers);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("dynaseal %s\n", DYNASEAL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "inspect") == 0)
		return cmd_inspect(argc - 1, argv + 1);
	if (strcmp(argv[1], "doctor") == 0)
		return cmd_doctor(argc - 1, argv + 1);
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(argv[1], "reencrypt") == 0)
		return cmd_reencrypt(argc - 1, argv + 1);
	if (strcmp(argv[1], "reencrypt") == 0)
		return cmd_reencrypt(argc - 1, argv + 1);
	if (strcmp(argv[1], "branch-key") == 0)
		return cmd_branch_key(argc - 1, argv + 1);
	fprintf(stderr, "dynaseal: unknown command \"%s\"; see dynaseal --help\n", argv[1]);
	return 2;
}
