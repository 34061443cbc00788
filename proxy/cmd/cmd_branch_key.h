/* `dynaseal branch-key create-store|create|rotate`: the branch key store from the command line
 * (see cmd_branch_key.c). */
#ifndef DS_CMD_BRANCH_KEY_H
#define DS_CMD_BRANCH_KEY_H

/* argv[0] is "branch-key"; returns the process exit status (0, 1 on failure, 2 on usage). */
int cmd_branch_key(int argc, char **argv);

#endif
