/*-------------------------------------------------------------------------
 *
 * cmd_migrate.c
 *		pgq migrate: adopt an existing PgQueuer installation.
 *
 *	pgq migrate [--schema S] [--dry-run] [--drop-old] [--requeue-picked]
 *
 * One transaction: when PgQueuer's tables sit in schema pgqueuer (where
 * the extension must live) that schema is renamed to pgqueuer_old first;
 * CREATE EXTENSION pgqueuer when it is not installed; then
 * pgqueuer.migrate() moves jobs, schedules, log and statistics and
 * compares the counts.  --dry-run does all of it and rolls back, so what
 * it prints is exactly what a real run would do.
 *
 * IDENTIFICATION
 *		client/cli/cmd_migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"

/* where PgQueuer's own schema "pgqueuer" goes before CREATE EXTENSION */
#define RENAMED_SCHEMA "pgqueuer_old"

static void
migrate_help(void)
{
	printf("Move an existing PgQueuer installation into the pgqueuer extension.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq migrate [--schema S] [--dry-run] [--drop-old] [--requeue-picked]\n"
		   "\n"
		   "In one transaction: renames schema pgqueuer to " RENAMED_SCHEMA " when PgQueuer's\n"
		   "tables are there, runs CREATE EXTENSION pgqueuer unless installed, then\n"
		   "pgqueuer.migrate(): every queued, deferred and held job (ids, priority,\n"
		   "execute_after, attempts, dedupe keys, headers, payload unchanged), the\n"
		   "schedules, the log and the statistics move; counts are compared before\n"
		   "the commit; the old tables are renamed to NAME_migrated.  Prints one line\n"
		   "per step, \"STEP: ROWS\".  Refuses while picked jobs belong to running\n"
		   "workers (heartbeat within pgqueuer.lease_timeout) and names them.\n"
		   "\n"
		   "Options:\n"
		   "  --schema S         schema of PgQueuer's tables (default public)\n"
		   "  --dry-run          do everything, print it, then roll back\n"
		   "  --drop-old         drop the old tables instead of renaming them\n"
		   "  --requeue-picked   put jobs picked by running workers back in the queue\n"
		   "  -h, --help         show this help and exit\n"
		   "\n"
		   "Exit status: 0 success, 1 failure (nothing changed), 2 usage error.\n");
}

/*
 * exec_ok
 *		Run a statement without parameters; false after printing the error.
 */
static bool
exec_ok(PgqCli *cli, PGconn *conn, const char *sql)
{
	PGresult *res = pgq_cli_exec(cli, conn, sql, 0, NULL);

	PQclear(res);
	return res != NULL;
}

/*
 * prepare_extension
 *		Inside the transaction: move PgQueuer's schema "pgqueuer" out of the
 *		way and install the extension when needed.  *schema may change.
 */
static bool
prepare_extension(PgqCli *cli, PGconn *conn, const char **schema)
{
	PGresult *res;
	bool	  installed;

	res = pgq_cli_exec(cli, conn,
					   "SELECT count(*) > 0 FROM pg_catalog.pg_extension WHERE extname = 'pgqueuer'",
					   0, NULL);
	if (res == NULL)
		return false;
	installed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);

	if (strcmp(*schema, "pgqueuer") == 0)
	{
		if (installed)
		{
			pgq_cli_error(cli, "schema pgqueuer holds the extension, not a PgQueuer installation");
			return false;
		}
		if (!exec_ok(cli, conn, "ALTER SCHEMA pgqueuer RENAME TO " RENAMED_SCHEMA))
			return false;
		printf("rename schema pgqueuer to " RENAMED_SCHEMA "\n");
		*schema = RENAMED_SCHEMA;
	}
	if (!installed)
	{
		if (!exec_ok(cli, conn, "CREATE EXTENSION pgqueuer"))
			return false;
		printf("create extension pgqueuer\n");
	}
	return true;
}

/*
 * cmd_migrate
 *		pgq migrate: see migrate_help().
 */
int
cmd_migrate(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"schema", required_argument, NULL, 's'},
		{"dry-run", no_argument, NULL, 'n'},
		{"drop-old", no_argument, NULL, 'D'},
		{"requeue-picked", no_argument, NULL, 'R'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	const char *schema = "public";
	bool		dry_run = false;
	bool		drop_old = false;
	bool		requeue = false;
	const char *params[4];
	PGconn	   *conn;
	PGresult   *res;
	int			c;
	int			rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":s:h", options, migrate_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 's':
				schema = optarg;
				break;
			case 'n':
				dry_run = true;
				break;
			case 'D':
				drop_old = true;
				break;
			case 'R':
				requeue = true;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);

	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		return PGQ_EXIT_FAIL;
	if (!exec_ok(cli, conn, "BEGIN") || !prepare_extension(cli, conn, &schema))
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	params[0] = schema;
	params[1] = dry_run ? "true" : "false";
	params[2] = drop_old ? "true" : "false";
	params[3] = requeue ? "true" : "false";
	res = pgq_cli_exec(cli, conn,
					   "SELECT step, rows FROM pgqueuer.migrate($1, $2::boolean, $3::boolean, $4::boolean)",
					   4, params);
	if (res == NULL)
	{
		PQfinish(conn); /* the transaction rolls back */
		return PGQ_EXIT_FAIL;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		if (PQgetisnull(res, r, 1))
			printf("%s\n", PQgetvalue(res, r, 0));
		else
			printf("%s: %s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
	}
	PQclear(res);
	if (!exec_ok(cli, conn, dry_run ? "ROLLBACK" : "COMMIT"))
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	printf(dry_run ? "Dry run: nothing was changed.\n" : "Migration committed.\n");
	PQfinish(conn);
	return PGQ_EXIT_OK;
}
