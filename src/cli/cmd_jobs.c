/* cmd_jobs.c -- placeholder, being written (not done) */
#include "pgq.h"
int cmd_queue(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_failed(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_requeue(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_schedules(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
