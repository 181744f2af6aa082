/* cmd_monitor.c -- placeholder, being written (not done) */
#include "pgq.h"
int cmd_dashboard(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_listen(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
