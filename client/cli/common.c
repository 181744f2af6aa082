/*-------------------------------------------------------------------------
 *
 * common.c
 *		Helpers shared by the pgq commands: connecting, running SQL,
 *		messages, number parsing and signals (see pgq.h).
 *
 * IDENTIFICATION
 *		client/cli/common.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"

volatile int pgq_cli_interrupted = 0;

/*
 * notice_processor
 *		Print server notices as "pgq COMMAND: notice: ...".
 */
static void
notice_processor(void *arg, const char *message)
{
	PgqCli	   *cli = arg;
	size_t		len = strlen(message);

	/* libpq's text starts with "NOTICE:  " and ends with a newline */
	if (strncmp(message, "NOTICE:  ", 9) == 0)
	{
		message += 9;
		len -= 9;
	}
	while (len > 0 && message[len - 1] == '\n')
		len--;
	fprintf(stderr, "pgq %s: notice: %.*s\n", cli->command, (int) len, message);
}

PGconn *
pgq_cli_connect(PgqCli *cli)
{
	PGconn	   *conn = PQconnectdb(cli->dsn ? cli->dsn : "");

	if (conn == NULL)
	{
		pgq_cli_error(cli, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		char	   *msg = PQerrorMessage(conn);
		size_t		len = strlen(msg);

		while (len > 0 && msg[len - 1] == '\n')
			len--;
		pgq_cli_error(cli, "could not connect: %.*s", (int) len, msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_processor, cli);
	return conn;
}

PGresult *
pgq_cli_exec(PgqCli *cli, PGconn *conn, const char *sql,
			 int nparams, const char *const *params)
{
	return pgq_cli_check_result(cli, conn,
								PQexecParams(conn, sql, nparams, NULL, params,
											 NULL, NULL, 0));
}

PGresult *
pgq_cli_check_result(PgqCli *cli, PGconn *conn, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;

	{
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

		if (primary)
			pgq_cli_error(cli, "%s (SQLSTATE %s)%s%s", primary,
						  sqlstate ? sqlstate : "?????",
						  hint ? "\nHint: " : "", hint ? hint : "");
		else
		{
			char	   *msg = PQerrorMessage(conn);
			size_t		len = strlen(msg);

			while (len > 0 && msg[len - 1] == '\n')
				len--;
			pgq_cli_error(cli, "%.*s", (int) len, msg);
		}
	}
	PQclear(res);
	return NULL;
}

void
pgq_cli_error(PgqCli *cli, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "pgq %s: error: ", cli->command ? cli->command : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
pgq_cli_usage(PgqCli *cli, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "pgq %s: error: ", cli->command ? cli->command : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"pgq %s --help\" for more information.\n",
			cli->command ? cli->command : "");
	return PGQ_EXIT_USAGE;
}

/*
 * pgq_cli_option_error
 *		Report a getopt_long failure as a usage error.
 */
int
pgq_cli_option_error(PgqCli *cli, char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return pgq_cli_usage(cli, "option \"%s\" requires an argument", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		return pgq_cli_usage(cli, "unrecognized option \"-%c\"", optopt);
	return pgq_cli_usage(cli, "unrecognized option \"%s\"", arg);
}

bool
pgq_cli_parse_int(PgqCli *cli, const char *what, const char *text,
				  long min, long max, long *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
	{
		pgq_cli_usage(cli, "invalid value \"%s\" for %s: an integer from %ld to %ld is required",
					  text, what, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool
pgq_cli_parse_double(PgqCli *cli, const char *what, const char *text,
					 double min, double max, double *out)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || isnan(v) || v < min || v > max)
	{
		pgq_cli_usage(cli, "invalid value \"%s\" for %s: a number from %g to %g is required",
					  text, what, min, max);
		return false;
	}
	*out = v;
	return true;
}

static void
on_signal(int signo)
{
	pgq_cli_interrupted = signo;
}

void
pgq_cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
