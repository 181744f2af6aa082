/*-------------------------------------------------------------------------
 *
 * cmd_wait.c
 *		pgq wait: wait until jobs have finished (pgqueuer.wait_for) and
 *		print their outcomes.
 *
 *	pgq wait [--timeout S] ID...
 *
 * The server does the waiting: one statement that returns as soon as the
 * last job has an outcome.  Ctrl-C (or SIGTERM) cancels the statement on
 * the server before pgq exits, so no backend keeps waiting for nobody.
 *
 * IDENTIFICATION
 *		client/cli/cmd_wait.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"

/* wait_for() takes at most this many ids (the server checks it too) */
#define WAIT_MAX_IDS 10000

static const char *const wait_sql =
	"SELECT job_id, status::text FROM pgqueuer.wait_for($1::bigint[],"
	" pg_catalog.make_interval(secs => $2::double precision))";

static void
wait_help(void)
{
	printf("Wait until jobs have finished and print their outcomes.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq wait [--timeout S] ID...\n"
		   "\n"
		   "Calls pgqueuer.wait_for(ARRAY[ID...], TIMEOUT): the server returns as soon\n"
		   "as every job has an outcome (successful, exception, canceled, deleted, or\n"
		   "failed = held), or when the timeout has passed.  Prints one line per job,\n"
		   "\"ID STATUS\", in the order given; jobs the server does not know (never\n"
		   "enqueued, or their history was pruned) get a notice on stderr instead.\n"
		   "\n"
		   "Options:\n"
		   "  --timeout S   seconds to wait at most (default 60; 0 looks once)\n"
		   "  -h, --help    show this help and exit\n"
		   "\n"
		   "Exit status: 0 every job finished, 1 the timeout passed with jobs still\n"
		   "queued or picked (or a connection or server error), 2 usage error.\n");
}

/*
 * run_wait
 *		Send the statement and wait for its result, cancelling it on the
 *		server when SIGINT/SIGTERM arrives.  Returns the result, or NULL
 *		after printing the error.
 */
static PGresult *
run_wait(PgqCli *cli, PGconn *conn, const char *const *params)
{
	PGresult *res = NULL;
	PGresult *r;
	bool	  cancelled = false;

	if (!PQsendQueryParams(conn, wait_sql, 2, NULL, params, NULL, NULL, 0))
		return pgq_cli_check_result(cli, conn, NULL);
	while (PQisBusy(conn))
	{
		struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

		if (pgq_cli_interrupted && !cancelled)
		{
			PGcancel *cancel = PQgetCancel(conn);
			char	  errbuf[256];

			if (cancel != NULL)
			{
				(void) PQcancel(cancel, errbuf, sizeof(errbuf));
				PQfreeCancel(cancel);
			}
			cancelled = true;
		}
		if (poll(&pfd, 1, 200) < 0)
			continue; /* EINTR: look at the flag again */
		if (!PQconsumeInput(conn))
			break;
	}
	/* the last result carries the outcome; drain the others */
	while ((r = PQgetResult(conn)) != NULL)
	{
		PQclear(res);
		res = r;
	}
	return pgq_cli_check_result(cli, conn, res);
}

/*
 * print_outcomes
 *		One line per known job in input order, a notice per unknown id;
 *		returns how many jobs are still queued or picked.
 */
static int
print_outcomes(PgqCli *cli, PGresult *res, char **ids, int nids)
{
	int pending = 0;

	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *status = PQgetvalue(res, r, 1);

		printf("%s %s\n", PQgetvalue(res, r, 0), status);
		if (strcmp(status, "queued") == 0 || strcmp(status, "picked") == 0)
			pending++;
	}
	for (int i = 0; i < nids; i++)
	{
		bool found = false;
		long id = strtol(ids[i], NULL, 10);

		for (int r = 0; r < PQntuples(res) && !found; r++)
			found = strtol(PQgetvalue(res, r, 0), NULL, 10) == id;
		if (!found)
			fprintf(stderr, "pgq %s: notice: job %ld is unknown: it was never enqueued or its history was deleted\n",
					cli->command, id);
	}
	return pending;
}

/*
 * cmd_wait
 *		pgq wait: see wait_help().
 */
int
cmd_wait(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"timeout", required_argument, NULL, 't'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	const char *timeout = "60";
	const char *params[2];
	char	   *array;
	PGconn	   *conn;
	PGresult   *res;
	int			nids;
	int			pending;
	int			c;
	int			rc;
	double		dval;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":t:h", options, wait_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 't':
				if (!pgq_cli_parse_double(cli, "--timeout", optarg, 0, 1e9, &dval))
					return PGQ_EXIT_USAGE;
				timeout = optarg;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	nids = argc - optind;
	if (nids == 0)
		return pgq_cli_usage(cli, "missing argument ID");
	if (nids > WAIT_MAX_IDS)
		return pgq_cli_usage(cli, "too many job ids: at most %d", WAIT_MAX_IDS);
	array = pgq_cli_id_array(cli, argv + optind, nids, NULL, &rc);
	if (array == NULL)
		return rc;

	conn = pgq_cli_connect(cli);
	if (conn == NULL)
	{
		free(array);
		return PGQ_EXIT_FAIL;
	}
	pgq_cli_catch_signals();
	params[0] = array;
	params[1] = timeout;
	res = run_wait(cli, conn, params);
	PQfinish(conn);
	free(array);
	if (res == NULL)
		return PGQ_EXIT_FAIL;
	pending = print_outcomes(cli, res, argv + optind, nids);
	PQclear(res);
	if (pending > 0)
	{
		pgq_cli_error(cli, "timeout: %d job(s) still queued or picked after %s s",
					  pending, timeout);
		return PGQ_EXIT_FAIL;
	}
	return PGQ_EXIT_OK;
}
