/* Operator commands: `dynaseal inspect` and `dynaseal doctor` (see cmd_tools.c). */
#ifndef DS_CMD_TOOLS_H
#define DS_CMD_TOOLS_H

/* argv[0] is the subcommand's name; return the process exit status. */
int cmd_inspect(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
