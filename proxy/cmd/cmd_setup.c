/* Setting up a worker for the one-shot commands (cmd_setup.h). */
#include "proxy/cmd/cmd_setup.h"

#include <stdio.h>
#include <string.h>

#include "crypto/aws/cred_chain.h"
#include "proxy/base/log.h"
#include "proxy/net/upstream.h"

int cmd_setup_init(struct cmd_setup *tl, const char *path)
{
	struct config_problems problems = { 0 };

	memset(tl, 0, sizeof(*tl));
	tl->srv.cfg = config_load(path, &problems);
	if (tl->srv.cfg == NULL) {
		config_print_problems(&problems, stderr);
		config_problems_free(&problems);
		return -1;
	}
	log_set_level(LOG_ERROR);
	tl->srv.workers = &tl->w;
	tl->srv.workers_len = 1;
	server_pick_region(&tl->srv);
	tl->srv.upstream_ssl = upstream_ssl_ctx_new(tl->srv.cfg->upstream_ca_file);
	if (tl->srv.upstream_ssl == NULL)
		return 0;   /* doctor reports it; the other commands refuse */
	/* The same credential chain as serve: environment, web identity, profile, container, IMDS. */
	tl->srv.creds = cred_chain_once(tl->srv.upstream_ssl, tl->srv.region, &tl->cred_err);
	if (tl->srv.creds == NULL)
		return 0;
	/* Keyrings named by alias are pinned to the keys their aliases name now, as serve does;
	 * doctor reports the ones that cannot be. */
	if (server_resolve_aliases(&tl->srv, tl->srv.cfg, &tl->alias_problems) != 0)
		return 0;
	tl->ready = worker_setup(&tl->srv, &tl->w, 0) == 0;
	return 0;
}

void cmd_setup_cleanup(struct cmd_setup *tl)
{
	if (tl->w.base != NULL)
		worker_cleanup(&tl->w);
	if (tl->srv.upstream_ssl != NULL)
		SSL_CTX_free(tl->srv.upstream_ssl);
	credentials_unref(tl->srv.creds);
	config_problems_free(&tl->alias_problems);
	config_release(tl->srv.cfg);
}
