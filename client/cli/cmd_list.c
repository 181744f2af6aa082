/*-------------------------------------------------------------------------
 *
 * cmd_list.c
 *		pgq jobs and workers: list the queue with filters, and the workers
 *		that hold jobs now.
 *
 * jobs prints pgqueuer.list_jobs(entrypoints, statuses, ..., max_rows): the
 * most recent jobs in the queue table (queued, picked, held failed),
 * filtered by --status and --entrypoint, shown oldest id first.  workers
 * prints pgqueuer.workers(): one row per worker that holds picked jobs or
 * is connected under libpgqueuer's application name.
 * Like every pgq statement, both are calls of pgqueuer functions with
 * qualified names and no operator.
 *
 * IDENTIFICATION
 *		client/cli/cmd_list.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"
#include "table.h"

/* the labels of pgqueuer_status, in the enum's order */
static const char *const job_statuses[] = {
	"queued", "picked", "successful", "exception", "canceled", "deleted", "failed"};

static void
jobs_help(void)
{
	printf("List the most recent jobs in the queue.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq jobs [-s STATUS]... [-e ENTRYPOINT]... [-n N] [--table-format FORMAT]\n"
		   "\n"
		   "Calls pgqueuer.list_jobs() and prints the N most recent jobs as a table\n"
		   "with the columns ID, Entrypoint, Status, Priority, Attempts, Execute\n"
		   "after, Heartbeat (times YYYY-MM-DD HH:MM:SS+TZ in the session's time\n"
		   "zone), Worker (the queue_manager_id of a picked job) and Payload bytes,\n"
		   "oldest job first, or \"No jobs.\".  The queue holds queued, picked and held (failed) jobs;\n"
		   "finished jobs are in the log (pgq dashboard).\n"
		   "\n"
		   "Options:\n"
		   "  -s, --status STATUS      only jobs with this status (queued, picked or\n"
		   "                           failed); may be repeated (default: all)\n"
		   "  -e, --entrypoint NAME    only jobs of this entrypoint; may be repeated\n"
		   "                           (default: all)\n"
		   "  -n, --limit N            show at most N jobs, 1 to 10000 (default: 100)\n" PGQ_TABLE_FORMAT_HELP
		   "  -h, --help               show this help and exit\n" PGQ_EXIT_STATUS_HELP,
		   pgq_table_format_names());
}

/*
 * parse_status
 *		Check a --status value against pgqueuer_status's labels; a usage
 *		error (printed) returns false.
 */
static bool
parse_status(PgqCli *cli, const char *text)
{
	for (size_t i = 0; i < sizeof(job_statuses) / sizeof(job_statuses[0]); i++)
		if (strcmp(text, job_statuses[i]) == 0)
			return true;
	pgq_cli_usage(cli, "invalid value \"%s\" for --status: choose queued, picked, failed, successful, exception, canceled or deleted",
				  text);
	return false;
}

/*
 * jobs_options
 *		Read pgq jobs' options: --status and --entrypoint values into
 *		statuses and entrypoints (each room for argc), --limit into *limit,
 *		--table-format into *format.  Returns -1 when the command goes on,
 *		else its exit status (help shown, or a usage error printed).
 */
static int
jobs_options(PgqCli *cli, int argc, char **argv,
			 const char **statuses, int *nstatuses,
			 const char **entrypoints, int *nentrypoints,
			 const char **limit, PgqTableFormat *format)
{
	static const struct option options[] = {
		{"status", required_argument, NULL, 's'},
		{"entrypoint", required_argument, NULL, 'e'},
		{"limit", required_argument, NULL, 'n'},
		PGQ_TABLE_OPTIONS,
		{NULL, 0, NULL, 0}};
	const char *format_name = NULL;
	long		lval;
	int			c;
	int			rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":s:e:n:t:h", options, jobs_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 's':
				if (!parse_status(cli, optarg))
					return PGQ_EXIT_USAGE;
				statuses[(*nstatuses)++] = optarg;
				break;
			case 'e':
				entrypoints[(*nentrypoints)++] = optarg;
				break;
			case 'n':
				if (!pgq_cli_parse_int(cli, "--limit", optarg, 1, PGQ_MAX_LIST_ROWS, &lval))
					return PGQ_EXIT_USAGE;
				*limit = optarg;
				break;
			case 't':
				format_name = optarg;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);
	if (!pgq_table_format_choose(cli, format_name, format))
		return PGQ_EXIT_USAGE;
	return -1;
}

/*
 * cmd_jobs
 *		pgq jobs: the queue, filtered.
 */
int
cmd_jobs(PgqCli *cli, int argc, char **argv)
{
	static const char *const headers[] = {
		"ID", "Entrypoint", "Status", "Priority", "Attempts", "Execute after",
		"Heartbeat", "Worker", "Payload bytes"};
	const char	 **statuses;
	const char	 **entrypoints;
	int			   nstatuses = 0;
	int			   nentrypoints = 0;
	const char	  *params[3] = {NULL, NULL, "100"}; /* entrypoints, statuses */
	PgqTableFormat format;
	PGconn		  *conn;
	PGresult	  *res;
	int			   rc;

	statuses = calloc(argc > 0 ? argc : 1, sizeof(char *));
	entrypoints = calloc(argc > 0 ? argc : 1, sizeof(char *));
	if (statuses == NULL || entrypoints == NULL)
	{
		free(statuses);
		free(entrypoints);
		pgq_cli_error(cli, "out of memory");
		return PGQ_EXIT_FAIL;
	}
	rc = jobs_options(cli, argc, argv, statuses, &nstatuses,
					  entrypoints, &nentrypoints, &params[2], &format);
	if (rc >= 0)
		goto done;

	rc = PGQ_EXIT_FAIL;
	if ((nentrypoints > 0 && (params[0] = pgq_cli_text_array(entrypoints, nentrypoints)) == NULL) ||
		(nstatuses > 0 && (params[1] = pgq_cli_text_array(statuses, nstatuses)) == NULL))
	{
		pgq_cli_error(cli, "out of memory");
		goto done;
	}
	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		goto done;
	/* clang-format cannot lay out a macro call inside a string concatenation */
	/* clang-format off */
	res = pgq_cli_exec(cli, conn,
					   "SELECT id, entrypoint, status, priority, attempts,"
					   " " PGQ_SQL_TS("execute_after") ", " PGQ_SQL_TS("heartbeat") ","
					   " COALESCE(queue_manager_id::pg_catalog.text, ''),"
					   " COALESCE(payload_size, 0)"
					   " FROM pgqueuer.list_jobs($1::pg_catalog.text[],"
					   " $2::pgqueuer.pgqueuer_status[], NULL, NULL, $3::pg_catalog.int4)"
					   " ORDER BY id",
					   3, params);
	/* clang-format on */
	rc = pgq_table_finish_listing(conn, res, format, headers, "No jobs.");

done:
	free((char *) params[0]);
	free((char *) params[1]);
	free(statuses);
	free(entrypoints);
	return rc;
}

static void
workers_help(void)
{
	printf("List the workers: those that hold jobs and those connected.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq workers [--table-format FORMAT]\n"
		   "\n"
		   "Calls pgqueuer.workers() and prints a table with the columns Worker (the\n"
		   "queue_manager_id), Jobs (picked jobs it holds), Entrypoints, Oldest\n"
		   "heartbeat, Last heartbeat (session time zone), PID and Client (of its\n"
		   "connection, when it is connected under libpgqueuer's application name\n"
		   "\"pgqueuer worker ID\"), or \"No workers.\".\n"
		   "\n"
		   "Options:\n" PGQ_TABLE_FORMAT_HELP
		   "  -h, --help               show this help and exit\n" PGQ_EXIT_STATUS_HELP,
		   pgq_table_format_names());
}

/*
 * cmd_workers
 *		pgq workers: one row per worker holding picked jobs or connected.
 */
int
cmd_workers(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		PGQ_TABLE_OPTIONS,
		{NULL, 0, NULL, 0}};
	static const char *const headers[] = {
		"Worker", "Jobs", "Entrypoints", "Oldest heartbeat", "Last heartbeat",
		"PID", "Client"};
	const char	  *format_name = NULL;
	PgqTableFormat format;
	PGconn		  *conn;
	PGresult	  *res;
	int			   c;
	int			   rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":t:h", options, workers_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 't':
				format_name = optarg;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	conn = pgq_table_command_connect(cli, argc, argv, format_name, &format, &rc);
	if (conn == NULL)
		return rc;
	/* clang-format cannot lay out a macro call inside a string concatenation */
	/* clang-format off */
	res = pgq_cli_exec(cli, conn,
					   "SELECT queue_manager_id, picked,"
					   " pg_catalog.array_to_string(entrypoints, ', '),"
					   " " PGQ_SQL_TS("oldest_heartbeat") ", " PGQ_SQL_TS("last_heartbeat") ","
					   " COALESCE(pid::pg_catalog.text, ''),"
					   " COALESCE(COALESCE(client_hostname, pg_catalog.host(client_addr)), '')"
					   " FROM pgqueuer.workers()",
					   0, NULL);
	/* clang-format on */
	return pgq_table_finish_listing(conn, res, format, headers,
									"No workers.");
}
