/* `dynaseal migrate` (cmd_migrate.c; the machinery is proxy/migrate.h). */
#ifndef DS_CMD_MIGRATE_H
#define DS_CMD_MIGRATE_H

/* argv[0] is the subcommand's name; returns the exit status: 0 every item of the share is
 * done, 1 some failed (or, verifying, are not protected), 2 a usage or config error, 3
 * stopped by a signal before the end (run again with the same --checkpoint to resume). */
int cmd_migrate(int argc, char **argv);
/* `dynaseal reencrypt`: the same, moving the table's v3 items to --to-keyring. */
int cmd_reencrypt(int argc, char **argv);

#endif
