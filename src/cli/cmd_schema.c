/* cmd_schema.c -- placeholder, being written (not done) */
#include "pgq.h"
int cmd_install(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_uninstall(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_upgrade(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_verify(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_durability(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
int cmd_autovac(PgqCli *cli, int argc, char **argv) { pgq_cli_error(cli, "not implemented yet"); return PGQ_EXIT_FAIL; }
