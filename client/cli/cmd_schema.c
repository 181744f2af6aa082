/*-------------------------------------------------------------------------
 *
 * cmd_schema.c
 *		pgq install, uninstall, upgrade, verify, durability and autovac:
 *		the commands that manage the pgqueuer extension itself.
 *
 * install, uninstall and upgrade run CREATE EXTENSION, DROP EXTENSION and
 * ALTER EXTENSION UPDATE (plus pgqueuer.set_durability() when a level is
 * given, in the same transaction); with --dry-run they print those
 * statements without connecting.  durability and autovac call the
 * extension's set_durability() and autovac(), whose dry_run mode returns
 * the statements they would run.  verify reports the problems found by
 * pgqueuer.verify(), or with --expect absent the pgqueuer objects that are
 * still there.  Confirmations go to stderr as in PgQueuer; stdout carries
 * only SQL (dry runs) or verify's report.
 *
 * IDENTIFICATION
 *		client/cli/cmd_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"

static const char *const durability_levels[] = {"volatile", "balanced", "durable"};

/*
 * parse_level
 *		Check a durability level; prints a usage error and returns NULL if
 *		it is not one.
 */
static const char *
parse_level(PgqCli *cli, const char *what, const char *text)
{
	for (size_t i = 0; i < sizeof(durability_levels) / sizeof(durability_levels[0]); i++)
	{
		if (strcmp(text, durability_levels[i]) == 0)
			return durability_levels[i];
	}
	pgq_cli_usage(cli, "invalid value \"%s\" for %s: choose volatile, balanced or durable",
				  text, what);
	return NULL;
}

/* Print SQL statements, one per line, each ending with a semicolon. */
static void
print_statements(const char *const *stmts, int n)
{
	for (int i = 0; i < n; i++)
		printf("%s;\n", stmts[i]);
}

/*
 * run_statements
 *		Run the statements in order, in one transaction when there are
 *		several.  False (after printing the error) if one fails.
 */
static bool
run_statements(PgqCli *cli, PGconn *conn, const char *const *stmts, int n)
{
	PGresult *res;

	for (int i = 0; i < n; i++)
	{
		res = pgq_cli_exec(cli, conn, stmts[i], 0, NULL);
		if (res == NULL)
			return false;
		PQclear(res);
	}
	return true;
}

/*
 * extension_script
 *		Build the statements of install or upgrade: the extension statement,
 *		then set_durability() when a level is given, wrapped in BEGIN and
 *		COMMIT when there are two.  Returns their number.
 */
static int
extension_script(const char *ext_stmt, const char *level, char *durability_stmt,
				 size_t stmt_size, const char **stmts)
{
	int n = 0;

	if (level == NULL)
	{
		stmts[n++] = ext_stmt;
		return n;
	}
	snprintf(durability_stmt, stmt_size,
			 "SELECT pgqueuer.set_durability('%s')", level);
	stmts[n++] = "BEGIN";
	stmts[n++] = ext_stmt;
	stmts[n++] = durability_stmt;
	stmts[n++] = "COMMIT";
	return n;
}

/*
 * current_durability
 *		The stored durability level (pgqueuer.current_durability(): durable
 *		when none is stored); NULL
 *		after printing the error if it cannot be read.
 */
static char *
current_durability(PgqCli *cli, PGconn *conn)
{
	PGresult *res;
	char	 *level;

	res = pgq_cli_exec(cli, conn, "SELECT pgqueuer.current_durability()", 0, NULL);
	if (res == NULL)
		return NULL;
	level = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return level;
}

/* --durability and --dry-run, shared by install and upgrade. */
typedef struct ExtensionOptions
{
	const char *level; /* NULL: not given */
	bool		dry_run;
} ExtensionOptions;

/*
 * parse_extension_options
 *		Options of install and upgrade.  Returns -1 to go on, else the exit
 *		status (help printed or usage error).
 */
static int
parse_extension_options(PgqCli *cli, int argc, char **argv,
						void (*help)(void), bool with_durability,
						ExtensionOptions *opts)
{
	static const struct option options[] = {
		{"durability", required_argument, NULL, 'd'},
		{"dry-run", no_argument, NULL, 'n'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	static const struct option options_no_durability[] = {
		{"dry-run", no_argument, NULL, 'n'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	int c;
	int rc;

	opts->level = NULL;
	opts->dry_run = false;
	while ((c = pgq_cli_getopt(cli, argc, argv, with_durability ? ":d:h" : ":h",
							   with_durability ? options : options_no_durability,
							   help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'd':
				opts->level = parse_level(cli, "--durability", optarg);
				if (opts->level == NULL)
					return PGQ_EXIT_USAGE;
				break;
			case 'n':
				opts->dry_run = true;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);
	return -1;
}

/*
 * extension_command
 *		Body of install and upgrade: run (or print) the script, then confirm
 *		on stderr with "<done>." or, with show_level, "<done> (durability=
 *		<level>)." naming the level now stored.
 */
static int
extension_command(PgqCli *cli, const char *ext_stmt, const ExtensionOptions *opts,
				  const char *done, bool show_level)
{
	const char *stmts[4];
	char		durability_stmt[128];
	int			n;
	PGconn	   *conn;
	char	   *level = NULL;

	n = extension_script(ext_stmt, opts->level, durability_stmt,
						 sizeof(durability_stmt), stmts);
	if (opts->dry_run)
	{
		print_statements(stmts, n);
		return PGQ_EXIT_OK;
	}
	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		return PGQ_EXIT_FAIL;
	if (!run_statements(cli, conn, stmts, n) ||
		(show_level && (level = current_durability(cli, conn)) == NULL))
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	if (show_level)
		fprintf(stderr, "%s (durability=%s).\n", done, level);
	else
		fprintf(stderr, "%s.\n", done);
	free(level);
	PQfinish(conn);
	return PGQ_EXIT_OK;
}

static void
install_help(void)
{
	printf("Install the pgqueuer extension in the database.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq install [--durability LEVEL] [--dry-run]\n"
		   "\n"
		   "Runs CREATE EXTENSION IF NOT EXISTS pgqueuer, then, when --durability is\n"
		   "given, SELECT pgqueuer.set_durability(LEVEL), in one transaction.\n"
		   "Prints \"Installed PgQueuer schema (durability=LEVEL).\" on stderr.\n"
		   "\n"
		   "Options:\n"
		   "  -d, --durability LEVEL  volatile (all tables unlogged), balanced (log and\n"
		   "                          statistics unlogged) or durable (all logged);\n"
		   "                          default: leave the level as it is (durable on a\n"
		   "                          new installation)\n"
		   "      --dry-run           print the SQL statements, one per line, and exit\n"
		   "                          without connecting\n"
		   "  -h, --help              show this help and exit\n" PGQ_EXIT_STATUS_HELP);
}

/*
 * cmd_install
 *		pgq install: CREATE EXTENSION, plus set_durability() when asked.
 */
int
cmd_install(PgqCli *cli, int argc, char **argv)
{
	ExtensionOptions opts;
	int				 rc = parse_extension_options(cli, argc, argv, install_help, true, &opts);

	if (rc >= 0)
		return rc;
	return extension_command(cli, "CREATE EXTENSION IF NOT EXISTS pgqueuer", &opts,
							 "Installed PgQueuer schema", true);
}

static void
uninstall_help(void)
{
	printf("Remove the pgqueuer extension, its tables and their jobs.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq uninstall [--dry-run]\n"
		   "\n"
		   "Runs DROP EXTENSION IF EXISTS pgqueuer (succeeds when it is not installed),\n"
		   "then DROP SCHEMA IF EXISTS pgqueuer, which the extension created but does\n"
		   "not drop (a schema still holding other objects is kept, with a notice),\n"
		   "and prints \"Uninstalled PgQueuer schema.\" on stderr.  The roles\n"
		   "pgqueuer_producer, pgqueuer_worker and pgqueuer_admin are cluster-wide\n"
		   "and stay.\n"
		   "\n"
		   "Options:\n"
		   "      --dry-run   print the SQL statements and exit without connecting\n"
		   "  -h, --help      show this help and exit\n" PGQ_EXIT_STATUS_HELP);
}

/*
 * drop_schema
 *		DROP SCHEMA IF EXISTS pgqueuer, which CREATE EXTENSION made but
 *		DROP EXTENSION leaves behind.  A schema still holding other objects
 *		is kept with a notice.  False after another error.
 */
static bool
drop_schema(PgqCli *cli, PGconn *conn, const char *stmt)
{
	PGresult   *res = PQexec(conn, stmt);
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		sqlstate != NULL && strcmp(sqlstate, "2BP01") == 0)
	{
		fprintf(stderr, "pgq %s: notice: schema \"pgqueuer\" kept: it holds objects that are not part of the extension\n",
				cli->command);
		PQclear(res);
		return true;
	}
	PQclear(res);
	/* any other failure: run it again through the reporting path */
	if (sqlstate != NULL)
	{
		res = pgq_cli_exec(cli, conn, stmt, 0, NULL);
		if (res == NULL)
			return false;
		PQclear(res);
	}
	return true;
}

/*
 * cmd_uninstall
 *		pgq uninstall: DROP EXTENSION, then the schema it leaves behind.
 */
int
cmd_uninstall(PgqCli *cli, int argc, char **argv)
{
	static const char *const stmts[] = {
		"DROP EXTENSION IF EXISTS pgqueuer",
		"DROP SCHEMA IF EXISTS pgqueuer"};
	ExtensionOptions opts;
	int				 rc = parse_extension_options(cli, argc, argv, uninstall_help, false, &opts);
	PGconn			*conn;

	if (rc >= 0)
		return rc;
	if (opts.dry_run)
	{
		print_statements(stmts, 2);
		return PGQ_EXIT_OK;
	}
	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		return PGQ_EXIT_FAIL;
	if (!run_statements(cli, conn, stmts, 1) || !drop_schema(cli, conn, stmts[1]))
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	PQfinish(conn);
	fprintf(stderr, "Uninstalled PgQueuer schema.\n");
	return PGQ_EXIT_OK;
}

static void
upgrade_help(void)
{
	printf("Upgrade the pgqueuer extension to the version installed on the server.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq upgrade [--durability LEVEL] [--dry-run]\n"
		   "\n"
		   "Runs ALTER EXTENSION pgqueuer UPDATE, then, when --durability is given,\n"
		   "SELECT pgqueuer.set_durability(LEVEL), in one transaction.  Prints\n"
		   "\"Upgraded PgQueuer schema.\" on stderr.  Fails when the extension is\n"
		   "not installed.\n"
		   "\n"
		   "Options:\n"
		   "  -d, --durability LEVEL  volatile, balanced or durable (default: keep the\n"
		   "                          current level)\n"
		   "      --dry-run           print the SQL statements, one per line, and exit\n"
		   "                          without connecting\n"
		   "  -h, --help              show this help and exit\n" PGQ_EXIT_STATUS_HELP);
}

/*
 * cmd_upgrade
 *		pgq upgrade: ALTER EXTENSION UPDATE, plus set_durability() when asked.
 */
int
cmd_upgrade(PgqCli *cli, int argc, char **argv)
{
	ExtensionOptions opts;
	int				 rc = parse_extension_options(cli, argc, argv, upgrade_help, true, &opts);

	if (rc >= 0)
		return rc;
	return extension_command(cli, "ALTER EXTENSION pgqueuer UPDATE", &opts,
							 "Upgraded PgQueuer schema", false);
}

/*
 * The objects PgQueuer's own verify looks for, plus the extension and its
 * schema: one row (kind, name, exists) each, in a fixed order.  This is the
 * one statement of pgq that reads the catalog instead of calling a
 * pgqueuer function: it must also work (and say what is missing or left
 * over) when the extension is not installed.  Catalog names, functions and
 * operators are schema-qualified, like every statement pgq sends, because
 * the session's search_path may list a schema where another role planted
 * look-alikes.
 */
static const char *const objects_sql =
	"SELECT o.kind, o.name, o.present FROM ("
	" SELECT 1 AS ord, 'extension'::pg_catalog.text AS kind,"
	"  'pgqueuer'::pg_catalog.text AS name,"
	"  EXISTS (SELECT 1 FROM pg_catalog.pg_extension AS e"
	"   WHERE e.extname OPERATOR(pg_catalog.=) 'pgqueuer'::pg_catalog.name) AS present"
	" UNION ALL"
	" SELECT 2, 'schema', 'pgqueuer',"
	"  EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n"
	"   WHERE n.nspname OPERATOR(pg_catalog.=) 'pgqueuer'::pg_catalog.name)"
	" UNION ALL"
	" SELECT 2 OPERATOR(pg_catalog.+) t.n::pg_catalog.int4, 'table', t.name,"
	"  pg_catalog.to_regclass(t.name) IS NOT NULL"
	" FROM pg_catalog.unnest('{pgqueuer.pgqueuer,pgqueuer.pgqueuer_log,"
	"pgqueuer.pgqueuer_statistics,pgqueuer.pgqueuer_schedules}'::pg_catalog.text[])"
	"  WITH ORDINALITY AS t(name, n)"
	" UNION ALL"
	" SELECT 10, 'function', 'pgqueuer.fn_pgqueuer_changed',"
	"  pg_catalog.to_regproc('pgqueuer.fn_pgqueuer_changed'::pg_catalog.text) IS NOT NULL"
	" UNION ALL"
	" SELECT 11, 'trigger', 'tg_pgqueuer_changed',"
	"  EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS g"
	"   WHERE g.tgname OPERATOR(pg_catalog.=) 'tg_pgqueuer_changed'::pg_catalog.name"
	"   AND g.tgrelid OPERATOR(pg_catalog.=)"
	"    pg_catalog.to_regclass('pgqueuer.pgqueuer'::pg_catalog.text)::pg_catalog.oid)"
	") AS o ORDER BY o.ord";

static void
verify_help(void)
{
	printf("Check that the pgqueuer objects are present (or absent).\n"
		   "\n"
		   "Usage:\n"
		   "  pgq verify [--expect present|absent]\n"
		   "  pgq verify --repair [--dry-run]\n"
		   "\n"
		   "present: when the extension is installed, prints every problem found by\n"
		   "SELECT * FROM pgqueuer.verify() (missing or altered tables, columns,\n"
		   "indexes, triggers, functions, settings), one per line; when it is not,\n"
		   "prints \"missing extension 'pgqueuer'\" and each missing table, function\n"
		   "and trigger.  absent: prints \"unexpected KIND 'NAME'\" for the\n"
		   "extension, the schema pgqueuer, PgQueuer's four tables, the function\n"
		   "fn_pgqueuer_changed and the trigger tg_pgqueuer_changed that exist.\n"
		   "Without problems prints \"All required PgQueuer database objects are\n"
		   "present.\" or \"No PgQueuer database objects found\".\n"
		   "\n"
		   "--repair first runs SELECT * FROM pgqueuer.repair(), which restores the\n"
		   "extension's objects that differ from what its install and update\n"
		   "scripts created (a replaced trigger function, a dropped index, an\n"
		   "altered column or function setting), and prints each statement it ran;\n"
		   "then checks as above.  With --dry-run the statements are printed and\n"
		   "not run.  Needs the extension and a role allowed to run repair()\n"
		   "(pgqueuer_admin).\n"
		   "\n"
		   "Options:\n"
		   "  --expect STATE  present or absent (default: present)\n"
		   "  --repair        restore the extension's objects first\n"
		   "  -n, --dry-run   with --repair: print the statements only\n"
		   "  -h, --help      show this help and exit\n"
		   "\n"
		   "Exit status: 0 as expected, 1 a mismatch (or a connection or server\n"
		   "error), 2 usage error.\n");
}

/*
 * verify_objects
 *		Print "missing/unexpected KIND 'NAME'" for each basic object whose
 *		existence differs from expect_present.  Returns the number printed,
 *		or -1 after an error.  *extension_present tells whether the
 *		extension is installed.
 */
static int
verify_objects(PgqCli *cli, PGconn *conn, bool expect_present,
			   bool *extension_present)
{
	PGresult *res = pgq_cli_exec(cli, conn, objects_sql, 0, NULL);
	int		  problems = 0;

	if (res == NULL)
		return -1;
	*extension_present = false;
	for (int i = 0; i < PQntuples(res); i++)
	{
		bool present = strcmp(PQgetvalue(res, i, 2), "t") == 0;

		if (i == 0)
			*extension_present = present;
		if (present != expect_present)
		{
			printf("%s %s '%s'\n", expect_present ? "missing" : "unexpected",
				   PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
			problems++;
		}
	}
	PQclear(res);
	return problems;
}

/*
 * print_lines
 *		Run sql (with nparams text parameters) and print the first column of
 *		each row on a line of its own.  Returns the number of rows, or -1
 *		after an error (reported).
 */
static int
print_lines(PgqCli *cli, PGconn *conn, const char *sql, int nparams,
			const char *const *params)
{
	PGresult *res = pgq_cli_exec(cli, conn, sql, nparams, params);
	int		  n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		printf("%s\n", PQgetvalue(res, i, 0));
	PQclear(res);
	return n;
}

/*
 * run_repair
 *		SELECT * FROM pgqueuer.repair(dry_run): print each statement it ran
 *		(or would run).  Returns the number of lines, or -1 after an error
 *		(reported; the server rolled the whole repair back).
 */
static int
run_repair(PgqCli *cli, PGconn *conn, bool dry_run)
{
	const char *params[1] = {dry_run ? "true" : "false"};

	return print_lines(cli, conn,
					   "SELECT * FROM pgqueuer.repair(dry_run => $1::pg_catalog.bool)",
					   1, params);
}

/*
 * run_verify
 *		SELECT * FROM pgqueuer.verify(): print each problem it finds (the
 *		basic objects verify_objects looks for are all part of its check).
 *		Returns the number of problems, or -1 after an error.
 */
static int
run_verify(PgqCli *cli, PGconn *conn)
{
	return print_lines(cli, conn, "SELECT * FROM pgqueuer.verify()", 0, NULL);
}

/*
 * cmd_verify
 *		pgq verify: report missing (or, with --expect absent, remaining)
 *		objects; exit 1 on any.
 */
int
cmd_verify(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"expect", required_argument, NULL, 'e'},
		{"repair", no_argument, NULL, 'r'},
		{"dry-run", no_argument, NULL, 'n'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	bool	expect_present = true;
	bool	repair = false;
	bool	dry_run = false;
	bool	extension_present;
	int		problems;
	PGconn *conn;
	int		c;
	int		rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":hn", options, verify_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'r':
				repair = true;
				break;
			case 'n':
				dry_run = true;
				break;
			case 'e':
				if (strcmp(optarg, "present") == 0)
					expect_present = true;
				else if (strcmp(optarg, "absent") == 0)
					expect_present = false;
				else
					return pgq_cli_usage(cli, "invalid value \"%s\" for --expect: choose present or absent",
										 optarg);
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);
	if (dry_run && !repair)
		return pgq_cli_usage(cli, "--dry-run needs --repair");
	if (repair && !expect_present)
		return pgq_cli_usage(cli, "--repair cannot be combined with --expect absent");

	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		return PGQ_EXIT_FAIL;

	if (repair && run_repair(cli, conn, dry_run) < 0)
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}

	/* present and installed: the extension's own, thorough check */
	problems = verify_objects(cli, conn, expect_present, &extension_present);
	if (problems >= 0 && expect_present && extension_present)
		problems = run_verify(cli, conn);
	PQfinish(conn);
	if (problems < 0)
		return PGQ_EXIT_FAIL;
	if (problems > 0)
		return PGQ_EXIT_FAIL;
	if (expect_present)
		printf("All required PgQueuer database objects are present.\n");
	else
		printf("No PgQueuer database objects found\n");
	return PGQ_EXIT_OK;
}

/*
 * server_statements
 *		Run a query returning statements (set_durability, autovac) and, for
 *		a dry run, print them.  Returns the number of statements, or -1
 *		after an error.
 */
static int
server_statements(PgqCli *cli, const char *sql, int nparams,
				  const char *const *params, bool print)
{
	PGconn	 *conn = pgq_cli_connect(cli);
	PGresult *res;
	int		  n;

	if (conn == NULL)
		return -1;
	res = pgq_cli_exec(cli, conn, sql, nparams, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return -1;
	}
	n = PQntuples(res);
	if (print)
	{
		for (int i = 0; i < n; i++)
			printf("%s;\n", PQgetvalue(res, i, 0));
	}
	PQclear(res);
	PQfinish(conn);
	return n;
}

static void
durability_help(void)
{
	printf("Change the durability level of the pgqueuer tables without data loss.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq durability LEVEL [--dry-run]\n"
		   "\n"
		   "LEVEL: volatile (all four tables unlogged), balanced (the queue and the\n"
		   "schedules logged, the log and the statistics unlogged) or durable\n"
		   "(all logged).  Calls pgqueuer.set_durability(LEVEL)\n"
		   "and prints \"Set PgQueuer durability to LEVEL.\" on stderr.\n"
		   "\n"
		   "Options:\n"
		   "      --dry-run   print the ALTER TABLE statements that would run, one per\n"
		   "                  line (none when the tables are already at LEVEL), and\n"
		   "                  change nothing; needs the extension installed\n"
		   "  -h, --help      show this help and exit\n" PGQ_EXIT_STATUS_HELP);
}

/*
 * cmd_durability
 *		pgq durability LEVEL: pgqueuer.set_durability(), or its statements.
 */
int
cmd_durability(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"dry-run", no_argument, NULL, 'n'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	bool		dry_run = false;
	const char *level;
	const char *params[2];
	int			c;
	int			rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":h", options, durability_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'n':
				dry_run = true;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind >= argc)
		return pgq_cli_usage(cli, "missing argument LEVEL (volatile, balanced or durable)");
	if (optind + 1 < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind + 1]);
	level = parse_level(cli, "LEVEL", argv[optind]);
	if (level == NULL)
		return PGQ_EXIT_USAGE;

	params[0] = level;
	params[1] = dry_run ? "true" : "false";
	if (server_statements(cli, "SELECT * FROM pgqueuer.set_durability($1::pg_catalog.text, dry_run => $2::pg_catalog.bool)",
						  2, params, dry_run) < 0)
		return PGQ_EXIT_FAIL;
	if (!dry_run)
		fprintf(stderr, "Set PgQueuer durability to %s.\n", level);
	return PGQ_EXIT_OK;
}

static void
autovac_help(void)
{
	printf("Apply (or roll back) the recommended autovacuum settings of the pgqueuer tables.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq autovac [--rollback] [--dry-run]\n"
		   "\n"
		   "Calls pgqueuer.autovac(): the queue and the schedules get aggressive\n"
		   "autovacuum and fillfactor 70, the log and the statistics append-only\n"
		   "tuning.  Prints \"Applied recommended autovacuum settings.\"\n"
		   "(or \"Reset autovacuum settings to defaults.\") on stderr.\n"
		   "\n"
		   "Options:\n"
		   "      --rollback  RESET those storage parameters to the server's defaults\n"
		   "      --dry-run   print the ALTER TABLE statements, one per line, and\n"
		   "                  change nothing; needs the extension installed\n"
		   "  -h, --help      show this help and exit\n" PGQ_EXIT_STATUS_HELP);
}

/*
 * cmd_autovac
 *		pgq autovac: pgqueuer.autovac(), or its statements.
 */
int
cmd_autovac(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"rollback", no_argument, NULL, 'r'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	bool		dry_run = false;
	bool		rollback = false;
	const char *params[2];
	int			c;
	int			rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":h", options, autovac_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'n':
				dry_run = true;
				break;
			case 'r':
				rollback = true;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);

	params[0] = rollback ? "true" : "false";
	params[1] = dry_run ? "true" : "false";
	if (server_statements(cli, "SELECT * FROM pgqueuer.autovac($1::pg_catalog.bool, dry_run => $2::pg_catalog.bool)",
						  2, params, dry_run) < 0)
		return PGQ_EXIT_FAIL;
	if (!dry_run)
		fprintf(stderr, "%s\n", rollback ? "Reset autovacuum settings to defaults." : "Applied recommended autovacuum settings.");
	return PGQ_EXIT_OK;
}
