/* cmd_run.c -- placeholder, being written (not done) */
#include "pgq.h"
int cmd_run(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
