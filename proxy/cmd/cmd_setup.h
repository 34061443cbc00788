/*
 * What the one-shot commands (inspect, doctor, migrate) run with: the server's shared state
 * and one worker without listeners (loop, upstream pool, KMS client, keyrings), set up from the
 * config as `serve` would, on the main thread.
 */
#ifndef DS_CMD_SETUP_H
#define DS_CMD_SETUP_H

#include "config/config.h"
#include "proxy/base/error.h"
#include "proxy/server.h"
#include "proxy/worker.h"

/* A server and one worker, without listeners. */
struct cmd_setup {
	struct server srv;
	struct worker w;
	int ready;                /* worker_setup succeeded */
	struct ds_error cred_err; /* why no credentials were found */
	struct config_problems alias_problems; /* the KMS aliases that could not be resolved */
};

/*
 * Loads the config at path (its problems printed to stderr: -1) and sets up what it can:
 * credentials, KMS aliases, the worker.  0 even when setup stopped part way: ready says whether
 * the worker is usable, cred_err and alias_problems why not.  Clean up with cmd_setup_cleanup.
 */
int cmd_setup_init(struct cmd_setup *cs, const char *path) __attribute__((warn_unused_result));
void cmd_setup_cleanup(struct cmd_setup *cs);

#endif
